/* The `berth` engine CLI: global options and the command table. Each command
 * lives in its own cmd_*.c and returns the process exit status. Commands
 * print; the library they call does not. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

typedef struct cli {
	const char *root;     /* store root: --root, $BERTH_ROOT, /var/lib/berth */
	const char *run_root; /* runtime state: /run/berth */
	bool debug;
} cli;

typedef int (*cli_cmd_fn)(cli *c, int argc, char **argv);

/* Print "berth: <msg>" to stderr and return status (125 for engine errors,
 * as Docker does). */
int cli_fail(int status, const berr *e);
int cli_failf(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_vm(cli *c, int argc, char **argv);
