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

/* images (cmd_image.c, cmd_registry.c) */
int cmd_images(cli *c, int argc, char **argv);
int cmd_image(cli *c, int argc, char **argv);
int cmd_inspect(cli *c, int argc, char **argv);
int cmd_tag(cli *c, int argc, char **argv);
int cmd_rmi(cli *c, int argc, char **argv);
int cmd_import(cli *c, int argc, char **argv);
int cmd_load(cli *c, int argc, char **argv);
int cmd_save(cli *c, int argc, char **argv);
int cmd_system(cli *c, int argc, char **argv);
int cmd_pull(cli *c, int argc, char **argv);
int cmd_push(cli *c, int argc, char **argv);
int cmd_login(cli *c, int argc, char **argv);
int cmd_logout(cli *c, int argc, char **argv);

/* containers (cmd_run.c, cmd_container.c, cmd_ps.c) */
int cmd_run(cli *c, int argc, char **argv);
int cmd_create(cli *c, int argc, char **argv);
int cmd_start(cli *c, int argc, char **argv);
int cmd_stop(cli *c, int argc, char **argv);
int cmd_restart(cli *c, int argc, char **argv);
int cmd_kill(cli *c, int argc, char **argv);
int cmd_rm(cli *c, int argc, char **argv);
int cmd_wait(cli *c, int argc, char **argv);
int cmd_pause(cli *c, int argc, char **argv);
int cmd_unpause(cli *c, int argc, char **argv);
int cmd_exec(cli *c, int argc, char **argv);
int cmd_ps(cli *c, int argc, char **argv);
int cmd_logs(cli *c, int argc, char **argv);
int cmd_container(cli *c, int argc, char **argv);
int cmd_container_inspect(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_top(cli *c, int argc, char **argv);
int cmd_cp(cli *c, int argc, char **argv);
