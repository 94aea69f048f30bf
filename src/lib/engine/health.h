/* Restart policies and probes (health checks, Kubernetes' liveness,
 * readiness and startup probes) of a container: what Docker's daemon and
 * the kubelet do, done without a daemon by the container's monitor.
 *
 * Interface only so far (issue #13 part 4, #18 part 2): health.c and
 * restart.c implement it. The options go into eng_run_opts (restart,
 * probes); the record keeps them (HostConfig.RestartPolicy,
 * Config.Healthcheck, and berth's own fields for the other probe roles),
 * and the state of the probes is <ctrdir>/health.json, written atomically. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* --restart no|always|on-failure[:MAX]|unless-stopped (Docker's names). */
typedef enum eng_restart_kind {
	ENG_RESTART_NO,
	ENG_RESTART_ALWAYS,
	ENG_RESTART_ON_FAILURE,
	ENG_RESTART_UNLESS_STOPPED,
} eng_restart_kind;

typedef struct eng_restart_policy {
	eng_restart_kind kind;
	int max_retries; /* on-failure:N; 0 = no limit */
} eng_restart_policy;

/* "on-failure:3" -> policy; a bad name or count is one line naming it. */
int eng_restart_parse(const char *s, eng_restart_policy *out, berr *e);

typedef enum eng_probe_role {
	ENG_PROBE_HEALTH,    /* Docker's HEALTHCHECK: State.Health, ps "(healthy)" */
	ENG_PROBE_LIVENESS,  /* failing: the container is killed; its restart policy applies */
	ENG_PROBE_READINESS, /* the container's readiness (health.json "Ready") */
	ENG_PROBE_STARTUP,   /* holds liveness and readiness until it succeeded once */
} eng_probe_role;

typedef enum eng_probe_kind {
	ENG_PROBE_EXEC, /* argv run inside the container (exec) */
	ENG_PROBE_HTTP, /* GET http://<container ip>:port/path, 200-399 passes */
	ENG_PROBE_TCP,	/* connect to <container ip>:port */
} eng_probe_kind;

typedef struct eng_probe {
	eng_probe_role role;
	eng_probe_kind kind;
	char **cmd;	 /* EXEC: argv (Docker's ["CMD-SHELL", s] is given as sh -c s) */
	char *http_path; /* HTTP: "/" if NULL */
	int port;	 /* HTTP, TCP: 1..65535 */
	int64_t interval_ns, timeout_ns, start_period_ns, initial_delay_ns;
	int failure_threshold; /* Docker's retries */
	int success_threshold;
} eng_probe;

/* The probes' state, from <ctrdir>/health.json. */
typedef struct eng_health_state {
	char status[16]; /* "" (no health probe), starting, healthy, unhealthy */
	int failing_streak;
	bool ready; /* readiness: true without a readiness probe once running */
} eng_health_state;

/* ---- implementation (restart.c, health.c, probe_run.c) ---------------- */

typedef struct eng eng; /* engine.h */

/* Go durations ("30s", "1m30s", "500ms", "1.5h", "0"), as Docker's
 * --health-* flags take them, in ns; negative, empty or out of range
 * values are refused naming flag (which may be NULL). */
int eng_duration_parse(const char *flag, const char *s, int64_t *ns, berr *e);
/* Docker's CMD-SHELL line as argv: {"/bin/sh", "-c", line} (strv_free). */
char **eng_shell_argv(const char *line);

/* Docker's defaults for a HEALTHCHECK field left 0. */
#define ENG_HEALTH_INTERVAL_NS (30LL * 1000000000)
#define ENG_HEALTH_TIMEOUT_NS  (30LL * 1000000000)
#define ENG_HEALTH_RETRIES     3

/* An ENG_PROBE_HEALTH probe in eng_run_opts.probes with cmd NULL overrides
 * only the fields it gives (non-zero) of the image's HEALTHCHECK (docker
 * run --health-interval without --health-cmd). */

/* The probes' state now: status "" when the container has no health probe;
 * ready false unless the container is running and its readiness probe (if
 * any) passed. ENOENT: no such container. */
int eng_health_read(eng *g, const char *id, eng_health_state *out, berr *e);
/* Until eng_health_read says ready (polled every 100 ms), at most
 * timeout_ms (< 0: forever): ETIMEDOUT "container X: not ready after N ms";
 * EINVAL when the container is not running (exited, removed). */
int eng_health_wait_ready(eng *g, const char *id, int timeout_ms, berr *e);
/* `berth healthcheck run`: the health probe once, now, its result recorded
 * as the prober's are; *healthy its outcome. EINVAL: not running, or no
 * health check configured. */
int eng_health_run_once(eng *g, const char *id, bool *healthy, berr *e);
/* The prober (`berth container probe ID`, started detached by
 * eng_container_start when the container has probes): runs each probe on
 * its schedule until the container exits; returns then. */
int eng_probe_loop(eng *g, const char *id, berr *e);
/* The monitor's last step (`berth container cleanup`, after the runtime
 * delete and unmount): apply the restart policy (back-off, RestartCount,
 * State.Restarting, then a new start under a new monitor). 0 also when
 * the policy says no; *restarted says whether it started the container. */
int eng_restart_after_exit(eng *g, const char *id, const char *helper_dir, bool *restarted,
			   berr *e);
