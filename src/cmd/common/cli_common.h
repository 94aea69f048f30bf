/* What every berth front end shares: the global options, "berth: <msg>"
 * errors, and finding the sibling helper binaries. Compiled into libcli.a
 * (src/cmd/common), linked into each binary that uses it. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util/error.h"

typedef struct cli {
	const char *root;     /* store root: --root, $BERTH_ROOT, /var/lib/berth */
	const char *run_root; /* runtime state: $BERTH_RUNROOT, /run/berth */
	bool debug;
	char **argv; /* the whole command line, for handing a command on */
} cli;

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
 * (--root DIR, --root=DIR, --debug). Returns the index of the first other
 * argument (the command, or an unknown/--help/--version flag). */
int cli_globals(cli *c, int argc, char **argv);

/* Run `name` from `cmds` (n entries); 125 with a message if unknown. */
int cli_dispatch(cli *c, const cli_cmd *cmds, size_t n, int argc, char **argv);

/* Directory of the running binary (malloc'ed; "." if unknown). The helper
 * binaries (berth-monitor, berth-init, berth-xfer) live next to it. */
char *cli_self_dir(void);
