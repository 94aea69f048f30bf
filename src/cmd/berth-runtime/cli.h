/* berth-runtime: the OCI runtime command line, as runc offers it. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "cli_help.h"
#include "runtime/runtime.h"
#include "util/error.h"

typedef struct rcli {
	rt_ctx ctx;
	const char *log_path;
	const char *log_format; /* "text" or "json" */
	bool debug;
	cli_ui ui; /* the mode: run, help, complete, man, parse (cli_help.h) */
} rcli;

/* The flags of a command in c->ui.mode (cli_leaf): the index of its first
 * positional argument; CLI_DONE when the help (or the mode's answer) is
 * printed: exit 0; -1 with e set after a wrong flag (the message names
 * `berth-runtime CMD --help`). */
int rcli_flags(rcli *c, const cli_doc *d, const flag_def *defs, int argc, char **argv, berr *e);

/* The message "usage: berth-runtime NAME USAGE" of d. */
int rcli_usage(const cli_doc *d, berr *e);

/* Print the error (stderr and --log) and return 1. */
int rcli_fail(rcli *c, const berr *e);
void rcli_warnings(rcli *c);

int cmd_create(rcli *c, int argc, char **argv);
int cmd_start(rcli *c, int argc, char **argv);
int cmd_run(rcli *c, int argc, char **argv);
int cmd_state(rcli *c, int argc, char **argv);
int cmd_kill(rcli *c, int argc, char **argv);
int cmd_delete(rcli *c, int argc, char **argv);
int cmd_exec(rcli *c, int argc, char **argv);
int cmd_list(rcli *c, int argc, char **argv);
int cmd_ps(rcli *c, int argc, char **argv);
int cmd_spec(rcli *c, int argc, char **argv);
int cmd_features(rcli *c, int argc, char **argv);
int cmd_pause(rcli *c, int argc, char **argv);
int cmd_resume(rcli *c, int argc, char **argv);
int cmd_update(rcli *c, int argc, char **argv);
int cmd_events(rcli *c, int argc, char **argv);
