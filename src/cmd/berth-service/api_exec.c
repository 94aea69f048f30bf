/* exec over the API: POST /containers/{id}/exec makes an exec instance (kept
 * in the service's memory, as dockerd keeps them), POST /exec/{id}/start
 * runs it (the connection upgraded to a raw stream when the client asks, as
 * the docker CLI and docker-py do; else the output as the response body;
 * Detach: in the background), GET /exec/{id}/json tells its state and exit
 * code, POST /exec/{id}/resize sizes its tty.
 *
 * The process is started by the engine with its stdio given to it (pipes,
 * or a tty whose master the service keeps): the service's own fds are never
 * touched, so any number of execs run at once, each relayed by its
 * connection's thread, which also reaps it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define EXEC_MAX 1024 /* instances the service keeps; finished ones go first */

struct xrec {
	char id[65], ctr[65];
	char **cmd, **env;
	char *user, *workdir;
	bool in, out, err, tty;
	bool started, running;
	int exit_code; /* -1 until it ended */
	pid_t pid;
	int pty; /* -1, or the tty's master while it runs */
	unsigned short rows, cols;
	unsigned long seq;
};

static void json_putp(json_object **o)
{
	json_object_put(*o);
}

static void xrec_free(xrec *x)
{
	strv_free(x->cmd);
	strv_free(x->env);
	free(x->user);
	free(x->workdir);
	free(x);
}

void svc_execs_free(svc *s)
{
	/* a detached exec's thread still uses its record: left to the exit */
	bool busy = false;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n_execs; i++)
		busy = busy || s->execs[i]->running;
	if (!busy) {
		for (size_t i = 0; i < s->n_execs; i++)
			xrec_free(s->execs[i]);
		free(s->execs);
		s->execs = NULL;
		s->n_execs = 0;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Under mu. */
static xrec *find(svc *s, const char *id)
{
	for (size_t i = 0; i < s->n_execs; i++)
		if (!strcmp(s->execs[i]->id, id))
			return s->execs[i];
	return NULL;
}

/* Under mu: room for one more, by dropping the oldest finished instance. */
static bool make_room(svc *s)
{
	if (s->n_execs < EXEC_MAX)
		return true;
	size_t old = s->n_execs;
	for (size_t i = 0; i < s->n_execs; i++)
		if (!s->execs[i]->running && s->execs[i]->started &&
		    (old == s->n_execs || s->execs[i]->seq < s->execs[old]->seq))
			old = i;
	if (old == s->n_execs)
		return false;
	xrec_free(s->execs[old]);
	s->execs[old] = s->execs[--s->n_execs];
	return true;
}

void api_exec_create(req *q, resp *r)
{
	char cid[65];
	eng *g = svc_open_ctr(q, r, cid);
	if (!g)
		return;
	const char *st = eng_container_status(g, cid, NULL);
	bool running = st && !strcmp(st, "running");
	bool paused = st && !strcmp(st, "paused");
	eng_close(g);
	if (paused) {
		resp_error(r, 409, "Container %s is paused, unpause the container before exec",
			   q->words[1]);
		return;
	}
	if (!running) {
		resp_error(r, 409, "Container %s is not running", q->words[1]);
		return;
	}
	__attribute__((cleanup(json_putp))) json_object *body =
	    q->body && q->body_len ? json_tokener_parse(q->body) : NULL;
	if (!body || !json_object_is_type(body, json_type_object)) {
		resp_error(r, 400, "exec: the body is not a JSON object");
		return;
	}
	static const char
	    *const known[] = {"AttachStdin", "AttachStdout", "AttachStderr", "Tty",
			      "Cmd",	     "Env",	     "WorkingDir",   "User",
			      "Privileged",  "DetachKeys",   "ConsoleSize",  "Detach",
			      "Container" /* docker-py sends the container id again */};
	json_object_object_foreach(body, k, v)
	{
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
			ok = ok || !strcmp(k, known[i]);
		if (!ok && !json_object_is_type(v, json_type_null)) {
			resp_error(r, 400, "%s: not supported by berth", k);
			return;
		}
	}
	if (svc_jbool(body, "Privileged")) {
		resp_error(r, 400, "Privileged: not supported by berth");
		return;
	}
	const char *dk = svc_jstr(body, "DetachKeys");
	if (dk && *dk) {
		resp_error(r, 400, "DetachKeys: not supported by berth");
		return;
	}
	xrec *x = xzalloc(sizeof(*x));
	x->exit_code = -1;
	x->pty = -1;
	strv_builder cmd = {0}, env = {0};
	int ok =
	    svc_jstrs(body, "Cmd", &cmd, r, "") == 0 && svc_jstrs(body, "Env", &env, r, "") == 0;
	x->cmd = strvb_take(&cmd);
	x->env = strvb_take(&env);
	if (!ok) {
		xrec_free(x);
		return;
	}
	if (!x->cmd || !x->cmd[0]) {
		xrec_free(x);
		resp_error(r, 400, "No exec command specified");
		return;
	}
	for (char **e = x->env; e && *e; e++)
		if (!strchr(*e, '=') || **e == '=') {
			resp_error(r, 400, "Env: \"%s\" is not NAME=VALUE", *e);
			xrec_free(x);
			return;
		}
	const char *u = svc_jstr(body, "User"), *w = svc_jstr(body, "WorkingDir");
	x->user = u && *u ? xstrdup(u) : NULL;
	x->workdir = w && *w ? xstrdup(w) : NULL;
	if (x->workdir && x->workdir[0] != '/') {
		resp_error(r, 400, "WorkingDir: \"%s\" is not an absolute path", x->workdir);
		xrec_free(x);
		return;
	}
	x->in = svc_jbool(body, "AttachStdin");
	x->out = svc_jbool(body, "AttachStdout");
	x->err = svc_jbool(body, "AttachStderr");
	x->tty = svc_jbool(body, "Tty");
	snprintf(x->ctr, sizeof(x->ctr), "%s", cid);
	eng_new_id(x->id);
	svc *s = q->s;
	pthread_mutex_lock(&s->mu);
	bool room = make_room(s);
	if (room) {
		x->seq = ++s->exec_seq;
		s->execs = xreallocarray(s->execs, s->n_execs + 1, sizeof(*s->execs));
		s->execs[s->n_execs++] = x;
	}
	pthread_mutex_unlock(&s->mu);
	if (!room) {
		xrec_free(x);
		resp_error(r, 500, "too many exec instances running (%d)", EXEC_MAX);
		return;
	}
	r->status = 201;
	r->json = json_object_new_object();
	json_object_object_add(r->json, "Id", json_object_new_string(x->id));
}

/* ---- running one ---- */

typedef struct xrun {
	svc *s;
	xrec *x;   /* owned by s->execs; its fields read-only once started */
	int sock;  /* the client: output goes here (upgraded), or -1 */
	int out;   /* or here: the response pipe (not upgraded), or -1 */
	bool mux;  /* Docker's frames (no tty) */
	bool gone; /* the client left: output dropped */
} xrun;

static void emit(xrun *u, int stream, const char *b, size_t n)
{
	int fd = u->sock >= 0 ? u->sock : u->out;
	if (u->gone || fd < 0)
		return;
	if (svc_write_frame(fd, u->mux, stream, b, n) < 0)
		u->gone = true;
}

static void finish(xrun *u, int code, pid_t pid)
{
	pthread_mutex_lock(&u->s->mu);
	u->x->exit_code = code;
	u->x->running = false;
	u->x->pid = pid;
	if (u->x->pty >= 0)
		close(u->x->pty);
	u->x->pty = -1;
	pthread_mutex_unlock(&u->s->mu);
}

/* Read what fd has (non-blocking); false at its end. */
static bool pump(xrun *u, int fd, int stream, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);
	if (n > 0) {
		emit(u, stream, buf, (size_t)n);
		return true;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR);
}

static void close_ends(int ofd, int efd, int ifd, int pty)
{
	int fds[] = {ofd, efd, ifd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++)
		if (fds[i] >= 0 && fds[i] != pty)
			close(fds[i]);
}

static int code_of(int wst)
{
	return WIFEXITED(wst) ? WEXITSTATUS(wst) : WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : 255;
}

typedef struct reaper {
	xrun u;
	pid_t pid;
	int pidfd;
} reaper;

static void *reaper_thread(void *arg)
{
	reaper *r = arg;
	int wst = 0;
	waitpid(r->pid, &wst, 0);
	close(r->pidfd);
	finish(&r->u, code_of(wst), r->pid);
	free(r);
	return NULL;
}

static void reap_later(xrun *u, pid_t pid, int pidfd)
{
	reaper *r = xzalloc(sizeof(*r));
	*r = (reaper){.u = *u, .pid = pid, .pidfd = pidfd};
	r->u.gone = true;
	pthread_t t;
	if (pthread_create(&t, NULL, reaper_thread, r) != 0) {
		/* no thread: it is not waited for (the service reaps nothing
		 * else by pid); its record says it ended */
		close(pidfd);
		finish(u, 255, pid);
		free(r);
		return;
	}
	pthread_detach(t);
}

/* Start the process and relay until it ended; its exit code into the
 * instance. detach: start it and return, a thread of its own reaps it. */
static void xrun_go(xrun *u, bool detach)
{
	xrec *x = u->x;
	berr e;
	int code = 125;
	eng *g = eng_open(u->s->c->root, u->s->c->run_root, &e);
	if (!g) {
		emit(u, 2, e.msg, strlen(e.msg));
		finish(u, code, 0);
		return;
	}
	/* the process's ends and ours: -1 where nothing is attached */
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	bool want_in = x->in && u->sock >= 0 && !detach;
	bool ok = nul >= 0;
	if (!x->tty && ok) {
		if (want_in)
			ok = pipe2(in, O_CLOEXEC) == 0;
		if (ok && x->out && !detach)
			ok = pipe2(out, O_CLOEXEC) == 0;
		if (ok && x->err && !detach)
			ok = pipe2(err, O_CLOEXEC) == 0;
	}
	rt_exec_started p = {.pid = -1, .pidfd = -1, .pty = -1};
	eng_exec_opts o = {.args = x->cmd,
			   .env = x->env,
			   .cwd = x->workdir,
			   .user = x->user,
			   .tty = x->tty,
			   .stdio = {in[0] >= 0 ? in[0] : nul, out[1] >= 0 ? out[1] : nul,
				     err[1] >= 0 ? err[1] : nul},
			   .started = &p};
	int status = 125;
	if (!ok) {
		berr_sys(&e, "exec: pipe");
	} else if (eng_container_exec(g, x->ctr, &o, &status, &e) < 0) {
		ok = false;
		code = status;
	}
	eng_close(g);
	int ends[] = {in[0], out[1], err[1], nul};
	for (size_t i = 0; i < sizeof(ends) / sizeof(*ends); i++)
		if (ends[i] >= 0)
			close(ends[i]);
	if (!ok) {
		emit(u, 2, e.msg, strlen(e.msg));
		emit(u, 2, "\n", 1);
		if (in[1] >= 0)
			close(in[1]);
		if (out[0] >= 0)
			close(out[0]);
		if (err[0] >= 0)
			close(err[0]);
		finish(u, code, 0);
		return;
	}
	pthread_mutex_lock(&u->s->mu);
	x->pid = p.shown > 0 ? p.shown : p.pid; /* what ExecInspect shows */
	x->pty = p.pty;
	if (p.pty >= 0 && (x->rows || x->cols)) {
		struct winsize ws = {.ws_row = x->rows, .ws_col = x->cols};
		ioctl(p.pty, TIOCSWINSZ, &ws);
	}
	pthread_mutex_unlock(&u->s->mu);
	int ofd = x->tty ? (detach ? -1 : p.pty) : out[0], efd = err[0];
	int ifd = x->tty ? (want_in ? p.pty : -1) : in[1];
	_cleanup_free_ char *buf = xmalloc(65536);
	bool exited = false, sock_in = want_in;
	int wst = 0, after = 0;
	/* after the exit: what is left in the pipes (a bounded number of
	 * reads), not what a background child that kept them open writes */
	while ((ofd >= 0 || efd >= 0 || !exited) && after < 256) {
		after += exited;
		struct pollfd pf[5] = {{.fd = ofd, .events = POLLIN},
				       {.fd = efd, .events = POLLIN},
				       {.fd = exited ? -1 : p.pidfd, .events = POLLIN},
				       {.fd = sock_in ? u->sock : -1, .events = POLLIN},
				       {.fd = u->sock, .events = 0}};
		int pr = poll(pf, 5, exited ? 0 : -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		if (!exited && (pf[4].revents & (POLLHUP | POLLERR))) {
			/* the client left: the process goes on (as with dockerd),
			 * reaped by a thread of its own, and this connection ends */
			close_ends(ofd, efd, ifd, p.pty);
			reap_later(u, p.pid, p.pidfd);
			return;
		}
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !pump(u, ofd, 1, buf, 65536)) {
			if (ofd != p.pty)
				close(ofd);
			ofd = -1;
		}
		if ((pf[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !pump(u, efd, 2, buf, 65536)) {
			close(efd);
			efd = -1;
		}
		if (pf[3].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(u->sock, buf, 65536);
			if (n > 0 && ifd >= 0) {
				if (fs_write_all(ifd, buf, (size_t)n) < 0 && ifd != p.pty) {
					close(ifd);
					ifd = -1;
				}
			} else if (n <= 0 && !(n < 0 && errno == EINTR)) {
				sock_in = false; /* the client's stdin ended */
				if (ifd >= 0 && ifd != p.pty)
					close(ifd);
				else if (ifd >= 0) {
					char eot = 4; /* a tty's end of input: ^D */
					fs_write_all(ifd, &eot, 1);
				}
				ifd = -1;
			}
		}
		if (pf[2].revents & POLLIN) {
			pid_t w = waitpid(p.pid, &wst, 0);
			if (w == p.pid || (w < 0 && errno == ECHILD)) {
				/* ECHILD: reaped elsewhere; its code is unknown */
				if (w < 0)
					wst = 255 << 8;
				exited = true;
			}
		}
	}
	if (!exited && waitpid(p.pid, &wst, 0) < 0)
		wst = 255 << 8;
	close_ends(ofd, efd, ifd, p.pty);
	close(p.pidfd);
	finish(u, code_of(wst), p.pid); /* closes the pty */
}

static void *detached_thread(void *arg)
{
	xrun *u = arg;
	xrun_go(u, true);
	free(u);
	return NULL;
}

static void upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
		     size_t extra_n, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)conn;
	(void)con_cls;
	(void)extra;
	(void)extra_n;
	xrun *u = cls;
	u->sock = sock;
	svc_sock_blocking(sock);
	xrun_go(u, false);
	free(u);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

typedef struct xjob {
	svc_job base;
	xrun u;
} xjob;

static void *piped_thread(void *arg)
{
	xjob *j = arg;
	j->u.out = j->base.fd;
	xrun_go(&j->u, false);
	close(j->base.fd);
	svc_job_free(&j->base);
	return NULL;
}

void api_exec_start(req *q, resp *r)
{
	svc *s = q->s;
	__attribute__((cleanup(json_putp))) json_object *body =
	    q->body && q->body_len ? json_tokener_parse(q->body) : NULL;
	if (q->body && q->body_len && !body) {
		resp_error(r, 400, "exec start: the body is not JSON");
		return;
	}
	bool detach = svc_jbool(body, "Detach");
	pthread_mutex_lock(&s->mu);
	xrec *x = find(s, q->words[1]);
	bool again = x && x->started;
	if (x && !again)
		x->started = x->running = true;
	pthread_mutex_unlock(&s->mu);
	if (!x) {
		resp_error(r, 404, "No such exec instance: %s", q->words[1]);
		return;
	}
	if (again) {
		resp_error(r, 409, "Exec %s has already run", q->words[1]);
		return;
	}
	xrun *u = xzalloc(sizeof(*u));
	*u = (xrun){.s = s, .x = x, .sock = -1, .out = -1, .mux = !x->tty};
	if (detach) {
		pthread_t t;
		if (pthread_create(&t, NULL, detached_thread, u) != 0) {
			free(u);
			finish(&(xrun){.s = s, .x = x}, 125, 0);
			resp_error(r, 500, "pthread_create failed");
			return;
		}
		pthread_detach(t);
		r->status = 200;
		r->text = xstrdup("");
		return;
	}
	const char *up = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Upgrade");
	const char *ct = x->tty ? "application/vnd.docker.raw-stream"
				: "application/vnd.docker.multiplexed-stream";
	if (!up) { /* the output as the body: no stdin then */
		xjob *j = xzalloc(sizeof(*j));
		j->u = *u;
		free(u);
		svc_stream(q, r, &j->base, piped_thread, ct);
		if (!r->raw)
			finish(&(xrun){.s = s, .x = x}, 125, 0);
		return;
	}
	r->raw = MHD_create_response_for_upgrade(upgraded, u);
	if (!r->raw) {
		free(u);
		finish(&(xrun){.s = s, .x = x}, 125, 0);
		resp_error(r, 500, "upgrade response failed");
		return;
	}
	MHD_add_response_header(r->raw, MHD_HTTP_HEADER_UPGRADE, "tcp");
	r->status = MHD_HTTP_SWITCHING_PROTOCOLS;
	r->content_type = ct;
}

void api_exec_inspect(req *q, resp *r)
{
	svc *s = q->s;
	pthread_mutex_lock(&s->mu);
	xrec *x = find(s, q->words[1]);
	if (!x) {
		pthread_mutex_unlock(&s->mu);
		resp_error(r, 404, "No such exec instance: %s", q->words[1]);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ID", json_object_new_string(x->id));
	json_object_object_add(o, "Running", json_object_new_boolean(x->running));
	json_object_object_add(o, "ExitCode",
			       x->exit_code >= 0 ? json_object_new_int(x->exit_code) : NULL);
	json_object *pc = json_object_new_object();
	json_object_object_add(pc, "tty", json_object_new_boolean(x->tty));
	json_object_object_add(pc, "entrypoint", json_object_new_string(x->cmd[0]));
	json_object *args = json_object_new_array();
	for (char **a = x->cmd + 1; *a; a++)
		json_object_array_add(args, json_object_new_string(*a));
	json_object_object_add(pc, "arguments", args);
	json_object_object_add(pc, "privileged", json_object_new_boolean(false));
	json_object_object_add(pc, "user", json_object_new_string(x->user ? x->user : ""));
	json_object_object_add(o, "ProcessConfig", pc);
	json_object_object_add(o, "OpenStdin", json_object_new_boolean(x->in));
	json_object_object_add(o, "OpenStdout", json_object_new_boolean(x->out));
	json_object_object_add(o, "OpenStderr", json_object_new_boolean(x->err));
	json_object_object_add(o, "CanRemove", json_object_new_boolean(false));
	json_object_object_add(o, "ContainerID", json_object_new_string(x->ctr));
	json_object_object_add(o, "DetachKeys", json_object_new_string(""));
	json_object_object_add(o, "Pid", json_object_new_int(x->running ? x->pid : 0));
	pthread_mutex_unlock(&s->mu);
	r->status = 200;
	r->json = o;
}

static int dim(const req *q, const char *k, unsigned short *out, resp *r)
{
	const char *v = req_arg(q, k);
	char *end;
	long n = v ? strtol(v, &end, 10) : -1;
	if (!v || !*v || *end || n < 0 || n > 65535) {
		resp_error(r, 400, "%s: \"%s\" is not a size", k, v ? v : "");
		return -1;
	}
	*out = (unsigned short)n;
	return 0;
}

void api_exec_resize(req *q, resp *r)
{
	unsigned short h, w;
	if (dim(q, "h", &h, r) < 0 || dim(q, "w", &w, r) < 0)
		return;
	svc *s = q->s;
	pthread_mutex_lock(&s->mu);
	xrec *x = find(s, q->words[1]);
	if (x) {
		x->rows = h;
		x->cols = w;
		if (x->pty >= 0) {
			struct winsize ws = {.ws_row = h, .ws_col = w};
			ioctl(x->pty, TIOCSWINSZ, &ws);
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!x) {
		resp_error(r, 404, "No such exec instance: %s", q->words[1]);
		return;
	}
	r->status = 200;
	r->text = xstrdup("");
}
