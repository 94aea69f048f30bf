/* Waiting for a container's exit and for its monitor's end (container.h).
 * The status is read from the store (eng_reconcile), polled in steps of 1,
 * 2, 4 .. 20 ms: a killed container is gone in about a millisecond, and
 * `rm -f` of many running ones waits for each in turn. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "engine/container.h"
#include "engine/healthpriv.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int backoff(int step)
{
	return step >= 10 ? 20 : step * 2;
}

/* Exited, but its monitor lives on under a restart policy: it may yet
 * start it again (`wait` returns at the final exit). */
static bool monitor_alive(json_object *doc)
{
	pid_t m = (pid_t)eng_doc_int(doc, "State.MonitorPid");
	unsigned long long st = (unsigned long long)eng_doc_int(doc, "State.MonitorStart");
	return m > 0 && st && eng_proc_start(m) == st;
}

static bool restart_pending(json_object *doc)
{
	eng_restart_policy pol;
	eng_restart_of(doc, &pol);
	return pol.kind != ENG_RESTART_NO && monitor_alive(doc);
}

int eng_container_wait(eng *g, const char *id, int timeout_ms, int *code, berr *e)
{
	for (int waited = 0, step = 1;; waited += step, step = backoff(step)) {
		json_object *doc = NULL;
		const char *s = eng_container_status(g, id, &doc);
		if (!s) {
			*code = 255;
			return 0;
		}
		/* "created" with a live monitor: being (re)started */
		if ((!strcmp(s, "exited") && !restart_pending(doc)) ||
		    (!strcmp(s, "created") && !restart_pending(doc)) || !strcmp(s, "dead")) {
			*code = (int)eng_doc_int(doc, "State.ExitCode");
			json_object_put(doc);
			return 0;
		}
		json_object_put(doc);
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return berr_set(e, ETIMEDOUT, "container %.12s: still running after %d ms",
					id, timeout_ms);
		sleep_ms(step);
	}
}

void eng_container_wait_monitor(eng *g, const char *id, int timeout_ms)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return;
	pid_t m = (pid_t)eng_doc_int(doc, "State.MonitorPid");
	unsigned long long st = (unsigned long long)eng_doc_int(doc, "State.MonitorStart");
	json_object_put(doc);
	for (int w = 0, step = 1; m > 0 && st && eng_proc_start(m) == st && w < timeout_ms;
	     w += step, step = backoff(step))
		sleep_ms(step);
}
