/* Shared helpers of the container commands (cmd_container*.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "cli.h"
#include "engine/engine.h"

eng *ctr_open(cli *c, berr *e);
/* Start a created/exited container under a new berth-monitor; with attach,
 * relay stdio until it exits and return its status (and clean up / remove
 * it). Without attach returns 0 once it runs. Exit codes as Docker. */
int ctr_launch(cli *c, eng *g, const char *id, bool attach, bool interactive);
/* Wait until the container is exited (timeout_ms < 0: forever); returns the
 * exit code or -1 on timeout. */
int ctr_wait_exit(eng *g, const char *id, int timeout_ms);
/* JSON helpers */
const char *ctr_str(json_object *o, const char *path); /* "State.Status" */
int64_t ctr_int(json_object *o, const char *path);
bool ctr_bool(json_object *o, const char *path);
/* Expand -it / -dit into separate flags (returns a new argv, strv). */
char **ctr_expand_short(int argc, char **argv, const char *bools);
