/* The engine's probe machinery shared by health.c and probe_run.c. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "engine/health.h"

/* The record's Probes (at most 8), defaults filled in; eng_probes_free. */
size_t eng_probes_of(json_object *doc, eng_probe **out);
void eng_probes_free(eng_probe *p, size_t n);

/* health.json: the lock (an fd to close), its document (an empty object
 * when missing), its atomic write. */
int eng_health_lock(eng *g, const char *id, berr *e);
json_object *eng_health_load(eng *g, const char *id);
int eng_health_save(eng *g, const char *id, json_object *h, berr *e);

/* argv run detached (own session, stdio /dev/null), not waited for. */
void eng_spawn_detached(char *const *argv);

/* One probe's outcome (Docker's Log entry). */
typedef struct eng_probe_result {
	int code;		  /* 0 passed; -1 timed out */
	int64_t start_ns, end_ns; /* CLOCK_REALTIME */
	char out[4097];		  /* its output (Docker keeps 4096 bytes) */
} eng_probe_result;
/* Run p once against the container (init_pid: its init, for the network
 * namespace of HTTP and TCP probes). */
void eng_probe_run(eng *g, const char *id, pid_t init_pid, const eng_probe *p, eng_probe_result *r);
