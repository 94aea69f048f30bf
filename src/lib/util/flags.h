/* Command-line flags in the style runc and docker users type: --name value,
 * --name=value, -n value, single-dash long names (-bundle), bool flags with
 * an optional =true/=false, repeatable string lists, and bundled short flags
 * as Docker groups them (-af, -it, -dp 80: bools, the last one may take a
 * value, from the rest of the word or the next one). Parsing stops at the
 * first positional argument (or "--"), so `exec ID cmd --flag` keeps the
 * command's own flags.
 *
 * A command's table is the one source of its parser, its --help, its
 * completion and its man page (src/cmd/common/cli_help.h): each entry
 * carries the help text with it. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

enum flag_type { FLAG_BOOL, FLAG_STRING, FLAG_INT, FLAG_LIST };

typedef struct flag_def {
	const char *name; /* long name without dashes */
	char short_name;  /* 0 if none */
	enum flag_type type;
	void *ptr;	  /* bool*, const char**, int*, char*** (strv, appended) */
	const char *help; /* one line for --help and the man page */
	const char *arg;  /* the value's name in help ("NAME"); NULL: from the type */
	const char *def;  /* the default shown in help; NULL: none shown */
} flag_def;

/* flags_parse's answer when it meets --help or -h that the table does not
 * define itself (`run -h` is --hostname, as in Docker). */
#define FLAGS_HELP (-2)

/* Returns the index of the first positional argument in argv (argc if none),
 * FLAGS_HELP, or -1 with e set ("unknown flag: --x", "flag --pid-file needs
 * a value"). */
int flags_parse(const flag_def *defs, int argc, char **argv, int start, berr *e);

/* The entry a word names (--name, --name=v, -n, -name), NULL if none; for a
 * bundle (-dp) the entry of its last letter. *inline_value is set when the
 * word carries the value itself (--name=v, -nvalue). */
const flag_def *flags_lookup(const flag_def *defs, const char *word, bool *inline_value);

/* The value's name shown in help: d->arg, or one from the type. */
const char *flags_arg_name(const flag_def *d);
