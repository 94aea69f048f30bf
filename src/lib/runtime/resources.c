/* Operations on a live container's cgroup: pause/resume, update, stats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"
#include "util/xalloc.h"

static cgroup *live_cgroup(rt_ctx *c, const char *id, container *k, berr *e)
{
	if (container_open(c, id, k, e) < 0)
		return NULL;
	if (k->status == RT_STOPPED) {
		berr_set(e, ESRCH, "container \"%s\" is not running", id);
		container_close(k);
		return NULL;
	}
	cgroup *cg = container_cgroup(k);
	if (!cg) {
		berr_set(e, ENOENT, "container \"%s\" has no cgroup", id);
		container_close(k);
	}
	return cg;
}

int rt_pause(rt_ctx *c, const char *id, bool pause, berr *e)
{
	container k;
	cgroup *cg = live_cgroup(c, id, &k, e);
	if (!cg)
		return -1;
	int r = 0;
	if (pause && k.status != RT_RUNNING)
		r = berr_set(e, EINVAL, "cannot pause container \"%s\": it is %s", id,
			     rt_status_name(k.status));
	else if (!pause && k.status != RT_PAUSED)
		r = berr_set(e, EINVAL, "cannot resume container \"%s\": it is %s", id,
			     rt_status_name(k.status));
	else
		r = cgroup_freeze(cg, pause, e);
	cgroup_free(cg);
	container_close(&k);
	return r;
}

int rt_update(rt_ctx *c, const char *id, const spec_resources *r, berr *e)
{
	container k;
	cgroup *cg = live_cgroup(c, id, &k, e);
	if (!cg)
		return -1;
	int ret = cgroup_apply(cg, r, &c->warnings, e);
	cgroup_free(cg);
	container_close(&k);
	return ret;
}

int rt_stats_json(rt_ctx *c, const char *id, char **json, berr *e)
{
	container k;
	cgroup *cg = live_cgroup(c, id, &k, e);
	if (!cg)
		return -1;
	cgroup_stats st;
	memset(&st, 0, sizeof(st));
	int r = cgroup_stats_read(cg, &st, e);
	if (r == 0)
		*json = cgroup_stats_json(&st, id);
	cgroup_stats_clear(&st);
	cgroup_free(cg);
	container_close(&k);
	return r;
}

int rt_oom_open(rt_ctx *c, const char *id, rt_oom_watch *w, berr *e)
{
	container k;
	cgroup *cg = live_cgroup(c, id, &k, e);
	if (!cg)
		return -1;
	w->impl = xzalloc(sizeof(cgroup_oom));
	int r = cgroup_oom_open(cg, w->impl, e);
	if (r < 0) {
		free(w->impl);
		w->impl = NULL;
	} else {
		w->fd = ((cgroup_oom *)w->impl)->fd;
	}
	cgroup_free(cg);
	container_close(&k);
	return r;
}

int rt_oom_read(rt_oom_watch *w, uint64_t *count, berr *e)
{
	return cgroup_oom_read(w->impl, count, e);
}

void rt_oom_close(rt_oom_watch *w)
{
	if (w->impl) {
		cgroup_oom_close(w->impl);
		free(w->impl);
	}
	w->impl = NULL;
	w->fd = -1;
}

bool rt_is_running(rt_ctx *c, const char *id)
{
	container k;
	berr e;
	if (container_open(c, id, &k, &e) < 0)
		return false;
	bool alive = k.status != RT_STOPPED;
	container_close(&k);
	return alive;
}
