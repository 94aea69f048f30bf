/* The engine's own side of restart policies and probes (health.h): what
 * create, start, stop and reconcile call. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "engine/health.h"

/* --restart parsed and checked against --rm (Docker's "Conflicting
 * options"), before anything is made. */
int eng_restart_check_opts(const eng_run_opts *o, eng_restart_policy *out, berr *e);
/* The record's HostConfig.RestartPolicy, RestartCount, Config.Healthcheck
 * (the image's under --health-*), and berth's Probes and ReadinessHook. */
int eng_health_record(const eng_run_opts *o, json_object *image_raw, json_object *doc, berr *e);
/* HostConfig.RestartPolicy of a record (ENG_RESTART_NO when missing). */
void eng_restart_of(json_object *doc, eng_restart_policy *out);

/* A stop by the user (stop, kill with the stop signal or SIGKILL, rm -f):
 * <ctrdir>/stopped, which the restart policy obeys (Docker's
 * HasBeenManuallyStopped) until the next start by the user. */
void eng_manual_stop_mark(eng *g, const char *id);
void eng_manual_stop_clear(eng *g, const char *id);
bool eng_manual_stop_marked(eng *g, const char *id);

/* After a start: a fresh health.json and, with probes, the prober
 * (`berth container probe`) detached. */
void eng_health_started(eng *g, const char *id, json_object *doc, const char *helper_dir);
/* reconcile: State.Health (Docker's) of a running container with a health
 * probe, from health.json. */
void eng_health_attach(eng *g, const char *id, json_object *doc);
