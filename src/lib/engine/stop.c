/* stop, kill, restart, rm, pause and unpause of a container (container.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "engine/container.h"
#include "engine/healthpriv.h"
#include "spec/spec.h"
#include "util/xalloc.h"

/* A stop by the user: marked, so that the restart policy leaves it; one
 * waiting out its back-off is then let go (its monitor sees the mark) and
 * the status taken again (*docp replaced). */
static const char *user_stop(eng *g, const char *id, const char *s, json_object **docp)
{
	eng_manual_stop_mark(g, id);
	if (!s || strcmp(s, "restarting"))
		return s;
	json_object_put(*docp);
	*docp = NULL;
	eng_container_wait_monitor(g, id, 5000);
	return eng_container_status(g, id, docp);
}

int eng_container_stop(eng *g, const char *id, int timeout_s, int sig, int *code, berr *e)
{
	json_object *doc = NULL;
	const char *s = eng_container_status(g, id, &doc);
	if (!s)
		return berr_set(e, ENOENT, "no such container: %.12s", id);
	s = user_stop(g, id, s, &doc);
	if (!s)
		return berr_set(e, ENOENT, "no such container: %.12s", id);
	if (!eng_status_live(s)) {
		if (code)
			*code = (int)eng_doc_int(doc, "State.ExitCode");
		json_object_put(doc);
		return 0;
	}
	if (sig <= 0) {
		const char *ss = eng_doc_str(doc, "Config.StopSignal");
		sig = ss ? spec_signal_from_name(ss) : SIGTERM;
		if (sig <= 0)
			sig = SIGTERM;
	}
	json_object_put(doc);
	berr ig;
	if (!strcmp(s, "paused"))
		rt_pause(&g->rt, id, false, &ig);
	rt_kill(&g->rt, id, sig, false, &ig);
	int r = 0;
	if (eng_container_wait(g, id, timeout_s * 1000, &r, &ig) < 0) {
		rt_kill(&g->rt, id, SIGKILL, false, &ig);
		if (eng_container_wait(g, id, 10000, &r, &ig) < 0)
			r = -1;
	}
	if (code)
		*code = r;
	/* and its clean-up (runtime delete, unmount) is done when we return */
	eng_container_wait_monitor(g, id, 10000);
	return 0;
}

int eng_container_stop_many(eng *g, char *const *ids, int timeout_s)
{
	berr ig;
	for (char *const *i = ids; *i; i++) {
		json_object *doc = NULL;
		const char *s = eng_container_status(g, *i, &doc);
		s = user_stop(g, *i, s, &doc);
		if (eng_status_live(s)) {
			const char *ss = eng_doc_str(doc, "Config.StopSignal");
			int sig = ss ? spec_signal_from_name(ss) : SIGTERM;
			if (!strcmp(s, "paused"))
				rt_pause(&g->rt, *i, false, &ig);
			rt_kill(&g->rt, *i, sig > 0 ? sig : SIGTERM, false, &ig);
		}
		json_object_put(doc);
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (char *const *i = ids; *i; i++) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		long left = timeout_s * 1000L - spent;
		int code;
		if (eng_container_wait(g, *i, left > 0 ? (int)left : 0, &code, &ig) < 0) {
			rt_kill(&g->rt, *i, SIGKILL, false, &ig);
			eng_container_wait(g, *i, 10000, &code, &ig);
		}
		eng_container_wait_monitor(g, *i, 10000);
	}
	return 0;
}

int eng_container_kill(eng *g, const char *id, int sig, berr *e)
{
	json_object *doc = NULL;
	const char *s = eng_container_status(g, id, &doc);
	char name[128];
	eng_doc_name(doc, id, name);
	const char *ss = eng_doc_str(doc, "Config.StopSignal");
	int stopsig = ss ? spec_signal_from_name(ss) : SIGTERM;
	json_object_put(doc);
	if (s && !strcmp(s, "restarting"))
		return berr_set(e, EINVAL,
				"cannot kill container %s: container is restarting, wait until "
				"the container is running",
				name);
	if (!eng_status_live(s))
		return berr_set(e, EINVAL, "cannot kill container %s: container is not running",
				name);
	/* Docker: the stop signal or SIGKILL is a stop the policy obeys */
	if (sig == SIGKILL || sig == (stopsig > 0 ? stopsig : SIGTERM))
		eng_manual_stop_mark(g, id);
	return rt_kill(&g->rt, id, sig, false, e);
}

int eng_container_restart(eng *g, const char *id, int timeout_s, const eng_start_opts *o,
			  eng_start_result *r, berr *e)
{
	berr ig;
	eng_container_stop(g, id, timeout_s, 0, NULL, &ig);
	eng_container_wait_monitor(g, id, 5000);
	return eng_container_start(g, id, o, r, e);
}

int eng_container_rm(eng *g, const char *id, const eng_rm_opts *o, berr *e)
{
	json_object *doc = NULL;
	const char *s = eng_container_status(g, id, &doc);
	if (o->force)
		s = user_stop(g, id, s, &doc);
	char name[128];
	eng_doc_name(doc, id, name);
	json_object_put(doc);
	if (eng_status_live(s) || (s && !strcmp(s, "restarting"))) {
		if (!o->force)
			return berr_set(e, EBUSY,
					"cannot remove container \"%s\": container is %s: stop "
					"the container before removing or force remove",
					name, s);
		berr ig;
		int code;
		if (!strcmp(s, "paused"))
			rt_pause(&g->rt, id, false, &ig);
		rt_kill(&g->rt, id, SIGKILL, false, &ig);
		eng_container_wait(g, id, 10000, &code, &ig);
	}
	eng_container_wait_monitor(g, id, 10000);
	return eng_remove(g, id, o->volumes, e);
}

int eng_container_pause(eng *g, const char *id, bool pause, berr *e)
{
	return rt_pause(&g->rt, id, pause, e);
}

char **eng_container_prune(eng *g)
{
	char **ids = eng_list(g), **removed = NULL;
	berr ig;
	for (char **p = ids; *p; p++) {
		const char *s = eng_container_status(g, *p, NULL);
		if (s && (!strcmp(s, "exited") || !strcmp(s, "created") || !strcmp(s, "dead"))) {
			eng_container_wait_monitor(g, *p, 5000);
			if (eng_remove(g, *p, false, &ig) == 0)
				strv_push(&removed, *p);
		}
	}
	strv_free(ids);
	if (!removed)
		removed = xzalloc(sizeof(char *));
	return removed;
}
