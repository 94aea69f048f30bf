/* The `berth` engine CLI: global options and the command table. Each command
 * lives in its own cmd_*.c and returns the process exit status. Commands
 * print; the library they call does not. */
#pragma once

#include <stdbool.h>

#include "cli_common.h"

/* Image transfer commands (pull, push, login, logout, import, load, save)
 * run in the berth-xfer binary next to this one: only it links libcurl and
 * libarchive, whose ~40 shared objects would otherwise cost every berth
 * command several milliseconds of dynamic loading. cli_xfer() execs it with
 * the whole command line (cli.argv); cli_xfer_pull() runs `berth-xfer pull`
 * for `run`/`create` (its progress goes to stderr) and returns its status;
 * cli_xfer_run() any berth-xfer command so (args NULL-terminated, at most 16). */
int cli_xfer(cli *c, int argc, char **argv);
int cli_xfer_pull(cli *c, const char *ref);
int cli_xfer_run(cli *c, const char *const *args);

int cmd_vm(cli *c, int argc, char **argv);
int cmd_version(cli *c, int argc, char **argv);
int cmd_info(cli *c, int argc, char **argv); /* cmd_info.c */

/* `berth completion SHELL`, and the store's names for the completion of
 * arguments (cli_complete_fn; opaque is the cli). */
int cmd_completion(cli *c, int argc, char **argv);
void cli_complete_store(void *opaque, enum cli_args kind, const char *cur);

/* images (cmd_image.c, cmd_registry.c) */
int cmd_images(cli *c, int argc, char **argv);
int cmd_image(cli *c, int argc, char **argv);
int cmd_inspect(cli *c, int argc, char **argv);
int cmd_tag(cli *c, int argc, char **argv);
int cmd_rmi(cli *c, int argc, char **argv);
/* Docker's SIZE ("5.6MB") and CREATED ("2 hours ago") columns (cmd_image.c). */
void cli_human_size(long long n, char *buf, size_t sz);
void cli_human_age(const char *created, char *buf, size_t sz);
/* diff, history (cmd_changes.c); commit and export are berth-xfer's */
int cmd_diff(cli *c, int argc, char **argv);
int cmd_history(cli *c, int argc, char **argv);

/* containers (cmd_run.c, cmd_container.c, cmd_ps.c) */
int cmd_run(cli *c, int argc, char **argv);
int cmd_create(cli *c, int argc, char **argv);
int cmd_start(cli *c, int argc, char **argv);
int cmd_attach(cli *c, int argc, char **argv);
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
int cmd_healthcheck(cli *c, int argc, char **argv); /* cmd_health.c */
int cmd_probe(cli *c, int argc, char **argv);
int cmd_container_inspect(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_top(cli *c, int argc, char **argv);
int cmd_update(cli *c, int argc, char **argv); /* cmd_update.c */
int cmd_rename(cli *c, int argc, char **argv);
int cmd_cp(cli *c, int argc, char **argv);
int cmd_volume(cli *c, int argc, char **argv);
int cmd_pod(cli *c, int argc, char **argv);
int cmd_network(cli *c, int argc, char **argv);
int cmd_port(cli *c, int argc, char **argv);
