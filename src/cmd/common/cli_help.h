/* What a command says about itself, from one descriptor and its flag table:
 * the flag parse, --help/-h, `PROG help CMD`, the shell completion's answers
 * (`PROG __complete WORDS...`) and the man page (`PROG __man CMD`). A
 * command calls cli_leaf (through its front end's wrapper) in every mode, so
 * the help, the completion and the man page are made from the very table
 * the parser reads and cannot drift from it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"
#include "util/flags.h"

/* What a command invocation is asked to do. */
enum cli_mode {
	CLI_RUN,      /* parse the flags and run */
	CLI_HELP,     /* `PROG help CMD`: print the help, run nothing */
	CLI_COMPLETE, /* `PROG __complete WORDS... CUR`: print candidates for CUR */
	CLI_MAN,      /* `PROG __man CMD`: print the man page (roff) */
	CLI_PARSE,    /* `PROG __parse CMD FLAGS...`: parse only, run nothing */
};

/* What a command's positional arguments are, for completion. */
enum cli_args {
	CLI_ARGS_NONE,
	CLI_ARGS_CONTAINERS,	/* containers, any number */
	CLI_ARGS_CONTAINER_CMD, /* one container, then a command */
	CLI_ARGS_IMAGES,	/* images, any number */
	CLI_ARGS_IMAGE_CMD,	/* one image, then a command */
	CLI_ARGS_VOLUMES,
	CLI_ARGS_FILES,
};

typedef struct cli_prog {
	const char *name;  /* "berth", "berth-runtime" */
	const char *title; /* the man pages' header: "berth Manual" */
	int man_section;   /* 1 or 8 */
	bool runc_style;   /* help as runc prints it: NAME, USAGE, DESCRIPTION, OPTIONS */
} cli_prog;

/* A subcommand: its name and one line (the function is the front end's). */
typedef struct cli_sub {
	const char *name;
	const char *summary;
} cli_sub;

typedef struct cli_doc {
	const char *name;	 /* the words after the program: "rm", "volume rm" */
	const char *usage;	 /* what follows them: "[OPTIONS] CONTAINER [CONTAINER...]" */
	const char *summary;	 /* one line, no final period */
	const char *description; /* more text ('\n' ends a paragraph), or NULL */
	const char *examples;	 /* command lines, '\n'-separated, or NULL */
	enum cli_args args;
} cli_doc;

/* The most subcommands one command may have (a front end copies its table's
 * names and summaries into a cli_sub array of this size). */
#define CLI_MAX_SUBS 64

/* Prints the candidates of one kind of argument that start with cur. */
typedef void (*cli_complete_fn)(void *opaque, enum cli_args kind, const char *cur);

typedef struct cli_ui {
	const cli_prog *prog;
	enum cli_mode mode;
	cli_complete_fn complete; /* NULL: no argument completion */
	void *opaque;
} cli_ui;

#define CLI_BAD	 (-1) /* a wrong flag: e is set */
#define CLI_DONE (-3) /* the mode's answer is printed: exit 0 */

/* The flags of a command (argv[0] is its last name word) in u->mode:
 * CLI_RUN parses and returns the index of the first positional argument, or
 * CLI_DONE after printing the help for --help/-h, or CLI_BAD. Every other
 * mode prints its answer and returns CLI_DONE (CLI_PARSE: CLI_BAD on a
 * wrong flag). defs may be NULL (no flags). */
int cli_leaf(const cli_ui *u, const cli_doc *d, const flag_def *defs, int argc, char **argv,
	     berr *e);

/* A command with subcommands, argv[0] its name: returns the index of the
 * subcommand to run (1), or CLI_DONE after printing what the mode asks for
 * (help for --help/-h or none given in CLI_HELP/CLI_MAN, the subcommands
 * for completion), or CLI_BAD with e set (none given, or an unknown one). */
int cli_parent(const cli_ui *u, const cli_doc *d, const cli_sub *subs, size_t nsubs, int argc,
	       char **argv, berr *e);

/* "See 'berth rm --help'." */
void cli_see_help(FILE *f, const cli_prog *p, const cli_doc *d);

/* The help (usage, description, subcommands, flags with their defaults,
 * examples); defs and subs may be NULL. */
void cli_print_help(FILE *f, const cli_prog *p, const cli_doc *d, const flag_def *defs,
		    const cli_sub *subs, size_t nsubs);

/* The man page in roff: PROG-NAME(section) (PROG(section) for a doc named ""). */
void cli_print_man(FILE *f, const cli_prog *p, const cli_doc *d, const flag_def *defs,
		   const cli_sub *subs, size_t nsubs);

/* Completion: every flag of defs (and --help) starting with cur, one a line. */
void cli_complete_flags(FILE *f, const flag_def *defs, const char *cur);
/* Every name of subs starting with cur, one a line. */
void cli_complete_subs(FILE *f, const cli_sub *subs, size_t n, const char *cur);
