/* The container's streams over the API: GET /containers/{id}/logs (the
 * json-file log, followed with follow=1) and POST /containers/{id}/attach
 * (the connection upgraded to a raw stream, Docker's "hijack"). Without a
 * tty both use Docker's multiplexed format: each chunk is an 8-byte header
 * [stream (1 stdout, 2 stderr), 0, 0, 0, size u32 big-endian] and the bytes;
 * with a tty the bytes as they are. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

typedef struct sink {
	int fd;
	bool mux, timestamps;
} sink;

static int put(int fd, const void *b, size_t n)
{
	return fs_write_all(fd, b, n) < 0 ? -1 : 0;
}

int svc_write_frame(int fd, bool mux, int stream, const void *b, size_t n)
{
	if (mux) {
		unsigned char h[8] = {(unsigned char)stream,
				      0,
				      0,
				      0,
				      (unsigned char)(n >> 24),
				      (unsigned char)(n >> 16),
				      (unsigned char)(n >> 8),
				      (unsigned char)n};
		if (put(fd, h, sizeof(h)) < 0)
			return -1;
	}
	return put(fd, b, n);
}

void svc_sock_blocking(int sock)
{
	int fl = fcntl(sock, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
}

static int sink_write(sink *k, int stream, const void *b, size_t n)
{
	return svc_write_frame(k->fd, k->mux, stream, b, n);
}

/* ---- logs ---- */

typedef struct logs_job {
	svc_job base;
	eng_logs_opts o;
	sink k; /* k.fd: base.fd */
} logs_job;

static int log_entry(void *arg, const eng_log_entry *en)
{
	logs_job *j = arg;
	if (!j->k.timestamps)
		return sink_write(&j->k, en->stream, en->bytes, en->len);
	/* "TIME BYTES" as one chunk, as Docker */
	size_t tl = strlen(en->time);
	char *b = xmalloc(tl + 1 + en->len);
	memcpy(b, en->time, tl);
	b[tl] = ' ';
	memcpy(b + tl + 1, en->bytes, en->len);
	int r = sink_write(&j->k, en->stream, b, tl + 1 + en->len);
	free(b);
	return r;
}

static bool logs_gone(void *arg)
{
	logs_job *j = arg;
	return svc_job_gone(&j->base);
}

static void logs_opened(void *arg)
{
	logs_job *j = arg;
	svc_job_ready(&j->base);
}

static void *logs_thread(void *arg)
{
	logs_job *j = arg;
	berr e;
	j->k.fd = j->base.fd;
	eng *g = eng_open(j->base.root, j->base.run_root, &e);
	if (g) {
		eng_container_logs(g, j->base.id, &j->o, &e);
		eng_close(g);
	}
	svc_job_ready(&j->base); /* if not yet (no store) */
	close(j->base.fd);
	svc_job_free(&j->base);
	return NULL;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void api_container_logs(req *q, resp *r)
{
	berr e;
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	json_object *doc = NULL;
	eng_container_status(g, id, &doc);
	bool tty = doc && eng_doc_bool(doc, "Config.Tty");
	json_object_put(doc);
	eng_close(g);
	bool out = req_arg_bool(q, "stdout"), err = req_arg_bool(q, "stderr");
	if (!out && !err) {
		resp_error(r, 400, "you must choose at least one stream");
		return;
	}
	logs_job *j = xzalloc(sizeof(*j));
	snprintf(j->base.id, sizeof(j->base.id), "%s", id);
	j->o = (eng_logs_opts){.follow = req_arg_bool(q, "follow"),
			       .tail = -1,
			       .no_stdout = !out,
			       .no_stderr = !err,
			       .write = log_entry,
			       .gone = logs_gone,
			       .opened = logs_opened,
			       .arg = j};
	const char *tail = req_arg(q, "tail"), *since = req_arg(q, "since"),
		   *until = req_arg(q, "until");
	int64_t now = now_ns();
	if (tail && *tail && strcmp(tail, "all")) {
		char *end;
		j->o.tail = strtol(tail, &end, 10);
		if (*end || j->o.tail < 0) {
			free(j);
			resp_error(r, 400, "invalid tail \"%s\"", tail);
			return;
		}
	}
	if ((since && *since && strcmp(since, "0") &&
	     eng_logs_time_parse("since", since, now, &j->o.since_ns, &e) < 0) ||
	    (until && *until && strcmp(until, "0") &&
	     eng_logs_time_parse("until", until, now, &j->o.until_ns, &e) < 0)) {
		free(j);
		resp_error(r, 400, "%s", e.msg);
		return;
	}
	j->k.mux = !tty;
	j->k.timestamps = req_arg_bool(q, "timestamps");
	j->base.gated = true; /* docker-py's run: logs, wait, remove, then reads */
	svc_stream(q, r, &j->base, logs_thread,
		   tty ? "application/vnd.docker.raw-stream"
		       : "application/vnd.docker.multiplexed-stream");
}

/* ---- attach ---- */

typedef struct att {
	svc *s;
	char id[65];
	bool in, out, err, running, tty;
	pend *p; /* not running yet: registered before the 101 goes out */
	/* logs=1: the log first (api_attach_logs.c); with stream=0 alone */
	bool logs, logs_only;
} att;

static int att_write(void *arg, int stream, const void *b, size_t n)
{
	sink *k = arg;
	return sink_write(k, stream, b, n);
}

/* Wait for the start to hand over the monitor's socket (docker run attaches
 * first), or for the client to go away. */
static int wait_handover(att *a, int sock, pend *p, bool *auto_remove, bool *tty)
{
	svc *s = a->s;
	int fd = -1;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (p->ready) {
			fd = p->attach_fd;
			*auto_remove = p->auto_remove;
			*tty = p->tty;
			break;
		}
		if (p->failed)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->started, &s->mu, &until);
		/* the client left: POLLHUP, not POLLRDHUP, since a client without
		 * stdin half-closes its side at once (the docker CLI does) */
		struct pollfd pf = {.fd = sock, .events = 0};
		if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR)))
			break;
	}
	/* unlink it */
	for (pend **pp = &s->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&s->mu);
	return fd;
}

static void upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
		     size_t extra_n, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)conn;
	(void)con_cls;
	(void)extra;
	(void)extra_n; /* a client sends its stdin only after the 101 */
	att *a = cls;
	berr e;
	svc_sock_blocking(sock);
	sink k = {.fd = sock, .mux = !a->tty};
	eng_attach_opts o = {.in_fd = a->in ? sock : -1,
			     .out_fd = -1,
			     .err_fd = -1,
			     .write = att_write,
			     .eof_closes = true,
			     .event_fd = -1,
			     .hup_fd = sock,
			     .arg = &k};
	eng *g = eng_open(a->s->c->root, a->s->c->run_root, &e);
	if (g && a->logs)
		svc_attach_logs(g, a->id, sock, !a->tty, a->out, a->err);
	if (g && a->logs_only) {
		/* the log was all that was asked */
	} else if (g && a->running) {
		int status;
		eng_container_attach(g, a->id, &o, &status, &e);
	} else if (g) {
		pend *p = a->p;
		bool auto_remove = false, tty = false;
		int fd = wait_handover(a, sock, p, &auto_remove, &tty);
		if (fd >= 0) {
			k.mux = !tty;
			int status = eng_attach_relay(g, a->id, fd, &o);
			eng_start_result res = {
			    .attach_fd = fd, .auto_remove = auto_remove, .tty = tty};
			eng_container_release(g, a->id, &res, status);
		}
		free(p);
	}
	if (!g && a->p) { /* no store: take the registration back */
		bool ar, tt;
		pthread_mutex_lock(&a->s->mu);
		a->p->failed = true;
		pthread_mutex_unlock(&a->s->mu);
		wait_handover(a, sock, a->p, &ar, &tt);
		free(a->p);
	}
	eng_close(g);
	free(a);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

void api_container_attach(req *q, resp *r)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	json_object *doc = NULL;
	const char *st = eng_container_status(g, id, &doc);
	bool tty = doc && eng_doc_bool(doc, "Config.Tty");
	json_object_put(doc);
	eng_close(g);
	if (!st || (!eng_status_live(st) && strcmp(st, "created") && strcmp(st, "exited"))) {
		resp_error(r, 409, "container %s is %s", q->words[1], st ? st : "gone");
		return;
	}
	if (st && !strcmp(st, "paused")) {
		resp_error(r, 409, "You cannot attach to a paused container, unpause it first");
		return;
	}
	att *a = xzalloc(sizeof(*a));
	a->s = q->s;
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->in = req_arg_bool(q, "stdin");
	a->out = req_arg_bool(q, "stdout");
	a->err = req_arg_bool(q, "stderr");
	a->running = eng_status_live(st);
	a->tty = tty;
	a->logs = req_arg_bool(q, "logs");
	a->logs_only = a->logs && req_arg(q, "stream") && !req_arg_bool(q, "stream");
	if (!a->running && !a->logs_only) { /* a start from now on connects for this attach */
		a->p = xzalloc(sizeof(*a->p));
		snprintf(a->p->id, sizeof(a->p->id), "%s", id);
		a->p->attach_fd = -1;
		pthread_mutex_lock(&q->s->mu);
		a->p->next = q->s->pending;
		q->s->pending = a->p;
		pthread_mutex_unlock(&q->s->mu);
	}
	r->raw = MHD_create_response_for_upgrade(upgraded, a);
	if (!r->raw) {
		if (a->p) {
			pthread_mutex_lock(&q->s->mu);
			for (pend **pp = &q->s->pending; *pp; pp = &(*pp)->next)
				if (*pp == a->p) {
					*pp = a->p->next;
					break;
				}
			pthread_mutex_unlock(&q->s->mu);
			free(a->p);
		}
		free(a);
		resp_error(r, 500, "upgrade response failed");
		return;
	}
	MHD_add_response_header(r->raw, MHD_HTTP_HEADER_UPGRADE, "tcp");
	r->status = MHD_HTTP_SWITCHING_PROTOCOLS;
	r->content_type =
	    tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
}
