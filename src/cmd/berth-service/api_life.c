/* A container's life over the API: start, stop, restart, kill, wait,
 * remove, pause, unpause, prune, top; each one call of the engine
 * (engine/container.h), the same the CLI makes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "service.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int arg_int(req *q, resp *r, const char *name, int dflt, int *out)
{
	const char *v = req_arg(q, name);
	*out = dflt;
	if (!v || !*v)
		return 0;
	char *end;
	long n = strtol(v, &end, 10);
	if (*end || n < -1 || n > 86400 * 365) {
		resp_error(r, 400, "invalid %s \"%s\"", name, v);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static char *helper_dir(void)
{
	return cli_self_dir();
}

pend *svc_pending_find(svc *s, const char *id)
{
	for (pend *p = s->pending; p; p = p->next)
		if (!strcmp(p->id, id) && !p->ready && !p->failed)
			return p;
	return NULL;
}

void api_container_start(req *q, resp *r)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	const char *st = eng_container_status(g, id, NULL);
	if (st && eng_status_live(st)) {
		r->status = 304; /* Docker: already started */
		eng_close(g);
		return;
	}
	_cleanup_free_ char *hd = helper_dir();
	svc *s = q->s;
	pthread_mutex_lock(&s->mu);
	pend *p = svc_pending_find(s, id);
	pthread_mutex_unlock(&s->mu);
	eng_start_opts so = {.helper_dir = hd, .attach = p != NULL, .interactive = false};
	eng_start_result res = {.attach_fd = -1};
	berr e;
	int rc = eng_container_start(g, id, &so, &res, &e);
	if (p) { /* hand the monitor's socket to the waiting attach */
		pthread_mutex_lock(&s->mu);
		if (rc == 0 && !res.attach_lost) {
			p->attach_fd = res.attach_fd;
			p->auto_remove = res.auto_remove;
			p->tty = res.tty;
			p->ready = true;
			res.attach_fd = -1;
		} else {
			p->failed = true;
		}
		pthread_cond_broadcast(&s->started);
		pthread_mutex_unlock(&s->mu);
	}
	eng_start_result_free(&res);
	eng_close(g);
	if (rc < 0)
		resp_error(r, e.errnum == EALREADY ? 304 : status_of_errno(e.errnum), "%s", e.msg);
	else
		r->status = 204;
}

static int stop_signal(req *q, resp *r, int *sig)
{
	const char *s = req_arg(q, "signal");
	*sig = 0;
	if (s && *s && (*sig = spec_signal_from_name(s)) <= 0) {
		resp_error(r, 400, "invalid signal: %s", s);
		return -1;
	}
	return 0;
}

void api_container_stop(req *q, resp *r)
{
	int t, sig;
	if (arg_int(q, r, "t", 10, &t) < 0 || stop_signal(q, r, &sig) < 0)
		return;
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	const char *st = eng_container_status(g, id, NULL);
	berr e;
	if (!st || !eng_status_live(st))
		r->status = 304; /* Docker: already stopped */
	else if (eng_container_stop(g, id, t < 0 ? 10 : t, sig, NULL, &e) < 0)
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
	else
		r->status = 204;
	eng_close(g);
}

void api_container_restart(req *q, resp *r)
{
	int t;
	if (arg_int(q, r, "t", 10, &t) < 0)
		return;
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	_cleanup_free_ char *hd = helper_dir();
	eng_start_opts so = {.helper_dir = hd};
	eng_start_result res = {.attach_fd = -1};
	berr e;
	if (eng_container_restart(g, id, t < 0 ? 10 : t, &so, &res, &e) < 0)
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
	else
		r->status = 204;
	eng_start_result_free(&res);
	eng_close(g);
}

void api_container_kill(req *q, resp *r)
{
	int sig;
	if (stop_signal(q, r, &sig) < 0)
		return;
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	berr e;
	if (eng_container_kill(g, id, sig ? sig : SIGKILL, &e) < 0)
		resp_error(r, e.errnum == EINVAL ? 409 : status_of_errno(e.errnum),
			   "Container %s is not running", q->words[1]);
	else
		r->status = 204;
	eng_close(g);
}

typedef struct wait_job {
	svc_job base; /* the answer goes into base.fd */
	bool next, removed;
} wait_job;

static bool wait_gone(void *arg)
{
	wait_job *j = arg;
	return svc_job_gone(&j->base);
}

static void *wait_thread(void *arg)
{
	wait_job *j = arg;
	berr e;
	int code = 255;
	eng *g = eng_open(j->base.root, j->base.run_root, &e);
	eng_wait_opts o = {.cond = j->removed ? ENG_WAIT_REMOVED
				   : j->next  ? ENG_WAIT_NEXT_EXIT
					      : ENG_WAIT_NOT_RUNNING,
			   .gone = wait_gone,
			   .arg = j};
	if (g)
		eng_container_wait_for(g, j->base.id, &o, &code, &e);
	eng_close(g);
	char out[64];
	int n = snprintf(out, sizeof(out), "{\"StatusCode\":%d,\"Error\":null}\n", code);
	fs_write_all(j->base.fd, out, (size_t)n);
	close(j->base.fd);
	svc_job_free(&j->base);
	return NULL;
}

/* condition: not-running (the default), next-exit, removed. The headers go
 * out at once and the body when the condition is met (a client, docker run,
 * starts the container only once it has the headers). The exit code is
 * read while the record is there; with removed the wait goes on until the
 * record is gone (an --rm container's monitor removes it). */
void api_container_wait(req *q, resp *r)
{
	const char *cond = req_arg(q, "condition");
	if (cond && *cond && strcmp(cond, "not-running") && strcmp(cond, "next-exit") &&
	    strcmp(cond, "removed")) {
		resp_error(r, 400, "invalid condition: \"%s\"", cond);
		return;
	}
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	eng_close(g);
	wait_job *j = xzalloc(sizeof(*j));
	snprintf(j->base.id, sizeof(j->base.id), "%s", id);
	j->next = cond && !strcmp(cond, "next-exit");
	j->removed = cond && !strcmp(cond, "removed");
	svc_stream(q, r, &j->base, wait_thread, "application/json");
}

void api_container_remove(req *q, resp *r)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	eng_rm_opts o = {.force = req_arg_bool(q, "force"), .volumes = req_arg_bool(q, "v")};
	berr e;
	if (eng_container_rm(g, id, &o, &e) < 0)
		resp_error(r, e.errnum == EBUSY ? 409 : status_of_errno(e.errnum), "%s", e.msg);
	else
		r->status = 204;
	eng_close(g);
}

static void pause_or_not(req *q, resp *r, bool p)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	berr e;
	if (eng_container_pause(g, id, p, &e) < 0)
		resp_error(r, e.errnum == EINVAL ? 409 : status_of_errno(e.errnum), "%s", e.msg);
	else
		r->status = 204;
	eng_close(g);
}

void api_container_pause(req *q, resp *r)
{
	pause_or_not(q, r, true);
}

void api_container_unpause(req *q, resp *r)
{
	pause_or_not(q, r, false);
}

void api_containers_prune(req *q, resp *r)
{
	berr e;
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	if (!g) {
		resp_error(r, 500, "%s", e.msg);
		return;
	}
	_cleanup_strv_ char **gone = eng_container_prune(g);
	eng_close(g);
	json_object *arr = json_object_new_array();
	for (char **i = gone; i && *i; i++)
		json_object_array_add(arr, json_object_new_string(*i));
	r->json = json_object_new_object();
	json_object_object_add(r->json, "ContainersDeleted", arr);
	json_object_object_add(r->json, "SpaceReclaimed", json_object_new_int(0));
}

void api_container_top(req *q, resp *r)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	eng_proc *ps = NULL;
	size_t n = 0;
	berr e;
	if (eng_container_top(g, id, &ps, &n, &e) < 0) {
		resp_error(r, e.errnum == EINVAL ? 409 : status_of_errno(e.errnum), "%s", e.msg);
		eng_close(g);
		return;
	}
	eng_close(g);
	json_object *titles = json_object_new_array(), *procs = json_object_new_array();
	const char *const t[] = {"UID", "PID", "PPID", "CMD"};
	for (size_t k = 0; k < 4; k++)
		json_object_array_add(titles, json_object_new_string(t[k]));
	for (size_t i = 0; i < n; i++) {
		json_object *row = json_object_new_array();
		char b[32];
		snprintf(b, sizeof(b), "%u", (unsigned)ps[i].uid);
		json_object_array_add(row, json_object_new_string(b));
		snprintf(b, sizeof(b), "%d", (int)ps[i].pid);
		json_object_array_add(row, json_object_new_string(b));
		snprintf(b, sizeof(b), "%d", (int)ps[i].ppid);
		json_object_array_add(row, json_object_new_string(b));
		json_object_array_add(row, json_object_new_string(ps[i].cmd ? ps[i].cmd : ""));
		json_object_array_add(procs, row);
	}
	eng_procs_free(ps, n);
	r->json = json_object_new_object();
	json_object_object_add(r->json, "Titles", titles);
	json_object_object_add(r->json, "Processes", procs);
}
