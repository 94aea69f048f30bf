/* The Dockerfile (Containerfile) parser: bytes in, an in-memory model out.
 *
 * Follows the Dockerfile reference (docs.docker.com/reference/dockerfile) and
 * BuildKit's parser: parser directives at the top (syntax, escape, check),
 * line continuations with the escape character (comment and empty lines
 * inside a continued instruction skipped), here-documents for RUN, COPY and
 * ADD (an ONBUILD trigger's too), the JSON (exec) form parsed strictly with json-c (an invalid
 * array falls back to the shell form), ENV/LABEL pairs and their legacy `ENV k v` form, ONBUILD
 * wrapping one instruction.
 *
 * Nothing is expanded here: words keep their quotes and `$VAR`s, and the
 * executor passes them through build/subst.h (df_kind_expands says which
 * instructions get substitution). Errors name the file and the line:
 *   Dockerfile:7: unknown instruction "RUNN"
 * Input is bounded (DF_MAX_BYTES, DF_MAX_INSTRUCTIONS, DF_MAX_LINE).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define DF_MAX_BYTES	    (16u << 20)
#define DF_MAX_INSTRUCTIONS 10000u
#define DF_MAX_LINE	    (1u << 20)

typedef enum df_kind {
	DF_FROM,
	DF_RUN,
	DF_CMD,
	DF_ENTRYPOINT,
	DF_COPY,
	DF_ADD,
	DF_ENV,
	DF_ARG,
	DF_WORKDIR,
	DF_USER,
	DF_EXPOSE,
	DF_VOLUME,
	DF_LABEL,
	DF_STOPSIGNAL,
	DF_HEALTHCHECK,
	DF_SHELL,
	DF_ONBUILD,
	DF_MAINTAINER,
	DF_KIND_COUNT
} df_kind;

/* A flag (`--from=build`: key "from", value "build"; `--link`: value NULL)
 * or a pair (ENV/LABEL `k=v`: value the raw word; ARG `name` without a
 * default: value NULL). Pair keys and values are raw words, quotes and
 * escapes still in them (`LABEL "a.b"="x y"`): subst_word gives the final
 * text. Flag values have their quotes removed (as BuildKit's flag reader). */
typedef struct df_kv {
	char *key;
	char *value;
} df_kv;

typedef struct df_heredoc {
	char *name;	 /* the delimiter, quotes removed */
	char *content;	 /* the body, each line ending in '\n' (tabs stripped for <<-) */
	bool expand;	 /* false when the delimiter was quoted (<<"EOF", <<'EOF') */
	bool strip_tabs; /* <<-EOF */
	int fd;		 /* 3<<EOF: 3; -1 when not given */
} df_heredoc;

typedef struct df_instr {
	df_kind kind;
	size_t line;	 /* 1-based, of the instruction's first line */
	size_t end_line; /* its last line (heredoc bodies included) */
	char *original;	 /* the instruction as one line (continuations joined) */
	df_kv *flags;
	size_t n_flags;
	/* json: the exec form, args are the array's strings.
	 * Otherwise (the shell form) RUN/CMD/ENTRYPOINT and USER/WORKDIR/
	 * STOPSIGNAL/MAINTAINER have one arg (the rest of the line; SHELL must
	 * be json); HEALTHCHECK has
	 * "NONE", or "CMD" followed by the command (json or one string);
	 * FROM/COPY/ADD/EXPOSE/VOLUME have the white-space separated words;
	 * ENV/LABEL/ARG have no args but pairs. */
	bool json;
	char **args; /* NULL-terminated (never NULL itself) */
	size_t n_args;
	df_kv *pairs;
	size_t n_pairs;
	df_heredoc *heredocs;
	size_t n_heredocs;
	struct df_instr *onbuild; /* ONBUILD: the wrapped instruction */
} df_instr;

typedef struct df_stage {
	char *image;	  /* FROM's image reference, unexpanded */
	char *name;	  /* `AS name`, lower-cased; NULL without one */
	char *platform;	  /* --platform=..., NULL without one */
	df_instr *instrs; /* instrs[0] is the FROM itself */
	size_t n_instrs;
} df_stage;

typedef struct df_file {
	char escape;	       /* '\\' or '`' */
	char *syntax, *check;  /* the directives' values, NULL when absent */
	df_instr *global_args; /* the ARGs before the first FROM */
	size_t n_global_args;
	df_stage *stages;
	size_t n_stages;
	size_t n_instructions; /* all of them, global ARGs included */
} df_file;

/* Parse len bytes (need not be NUL-terminated). name is the file's name in
 * error messages ("Dockerfile", "Containerfile"). NULL on error. */
df_file *df_parse(const char *data, size_t len, const char *name, berr *e);
void df_free(df_file *f);

/* "RUN", "COPY", ... */
const char *df_kind_name(df_kind k);
/* Whether the instruction's words get variable substitution (the
 * Dockerfile reference's "Environment replacement" list). */
bool df_kind_expands(df_kind k);
/* The stage named name (case-insensitive) or, when name is a number, the
 * stage with that index; NULL if none. */
const df_stage *df_stage_find(const df_file *f, const char *name);
