/* berth-runtime: the OCI runtime command line, as runc offers it. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "runtime/runtime.h"
#include "util/error.h"

typedef struct rcli {
	rt_ctx ctx;
	const char *log_path;
	const char *log_format; /* "text" or "json" */
	bool debug;
} rcli;

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
