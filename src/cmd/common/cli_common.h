/* What every berth front end shares: the global options, "berth: <msg>"
 * errors, and finding the sibling helper binaries. Compiled into libcli.a
 * (src/cmd/common), linked into each binary that uses it. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "cli_help.h"
#include "util/error.h"

typedef struct cli {
	const char *root;     /* store root: --root, $BERTH_ROOT, /var/lib/berth */
	const char *run_root; /* runtime state: $BERTH_RUNROOT, /run/berth */
	bool rootless;	      /* an unprivileged caller (defaults below are the user's) */
	char root_buf[4096], run_buf[4096];
	bool debug;
	bool version;	    /* --version/-v before the command */
	bool help;	    /* --help/-h before the command, or `help` alone */
	bool commands_only; /* `__commands WORDS...`: completion without the store's names */
	char **argv;	    /* the whole command line, for handing a command on */
	cli_ui ui;	    /* the mode (run, help, complete, man, parse) and how to complete */
} cli;

/* The program berth and berth-xfer are: help as Docker prints it, man
 * pages in section 1. */
extern const cli_prog cli_berth_prog;

/* The global options (--root, --debug, --version), bound to c: the table
 * cli_front parses and the top-level help shows. */
#define CLI_NGLOBAL 4
void cli_global_defs(cli *c, flag_def defs[CLI_NGLOBAL]);

typedef int (*cli_cmd_fn)(cli *c, int argc, char **argv);

typedef struct cli_cmd {
	const char *name;
	cli_cmd_fn fn;
	const char *help;
} cli_cmd;

/* Print "berth: <msg>" to stderr and return status (125 for engine errors,
 * as Docker does). The message is printed with cli_print_clean. */
int cli_fail(int status, const berr *e);
int cli_failf(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print text that may come from outside (a registry's error message, an
 * image's config) so that it cannot drive the terminal: C0 and C1 controls,
 * ESC and DEL and bytes that are no UTF-8 are written escaped (\x1b, \n,
 * \u009b); printable text, UTF-8 included, as it is. */
void cli_print_clean(FILE *f, const char *s);

/* Defaults from the environment, then the global options before the command
 * (cli_global_defs) and a meta word that sets c->ui.mode: `help [CMD]`,
 * `__complete WORDS...` (global options may follow it), `__man [CMD]`,
 * `__parse CMD FLAGS...`, `__commands WORDS...` (completion that lists no
 * containers or images: the man page generator's). Returns the index of the command (argc if none;
 * c->help set for --help or `help` alone), or -1 after reporting a wrong
 * global flag (exit 125). */
int cli_front(cli *c, int argc, char **argv);

/* Rootless (cli_rootless.c): for an unprivileged caller, the store under
 * $XDG_DATA_HOME/berth (~/.local/share/berth) and run state under
 * $XDG_RUNTIME_DIR/berth (else /tmp/berth-run-UID, with a warning), unless
 * --root/$BERTH_ROOT/$BERTH_RUNROOT say otherwise; called by cli_front. */
void cli_rootless_defaults(cli *c);
/* Before a command touches the store: export the paths to the helpers it
 * runs and enter the user's namespace (engine/userns.h). Prints the
 * warnings; 125 after an error, else 0. A no-op for root. */
int cli_enter_store(cli *c);

/* Run `name` from `cmds` (n entries); 125 with a message if unknown. */
int cli_dispatch(cli *c, const cli_cmd *cmds, size_t n, int argc, char **argv);

/* The flags of a berth command in c->ui.mode (cli_leaf): the index of its
 * first positional argument, or -1 with *status its exit status: 0 after
 * --help or another mode's answer, 125 after a wrong flag reported as
 * Docker does ("berth: unknown flag: --x", "See 'berth rm --help'."). */
int cli_flags(cli *c, const cli_doc *d, const flag_def *defs, int argc, char **argv, int *status);

/* A command that only dispatches to cmds (cli_parent): runs the
 * subcommand argv[1], or answers --help, completion, man. */
int cli_subcommands(cli *c, const cli_doc *d, const cli_cmd *cmds, size_t n, int argc, char **argv);

/* Completion of image references from the store under root (one a line,
 * those starting with cur); cli_complete_images_only is that as a
 * cli_complete_fn (opaque: the cli) for the images kind only. */
void cli_complete_images(const char *root, const char *cur);
void cli_complete_images_only(void *opaque, enum cli_args kind, const char *cur);

/* The names and summaries of cmds as cli_subs (n <= CLI_MAX_SUBS). */
size_t cli_subs_of(const cli_cmd *cmds, size_t n, cli_sub out[CLI_MAX_SUBS]);

/* Directory of the running binary (malloc'ed; "." if unknown). The helper
 * binaries (berth-monitor, berth-init, berth-xfer) live next to it. */
char *cli_self_dir(void);
