/* The probes at work (health.h): one probe run in a forked child (exec in
 * the container through the engine's exec, or a TCP connect / HTTP GET
 * from inside the container's network namespace), the health check's
 * result recorded as Docker does, and the prober's schedule
 * (eng_probe_loop), which also acts on liveness, readiness and startup. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/healthpriv.h"
#include "engine/probe.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	nanosleep(&ts, NULL);
}

/* In the child: a TCP connect (and for HTTP a GET) to the container's
 * loopback from inside its network namespace; exit 0 passed, 1 failed. */
static _Noreturn void net_child(pid_t init_pid, const eng_probe *p, int out)
{
	char nsp[64], msg[512];
	snprintf(nsp, sizeof(nsp), "/proc/%d/ns/net", (int)init_pid);
	int ns = open(nsp, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		int n = snprintf(msg, sizeof(msg), "join the network namespace %s: %s", nsp,
				 strerror(errno));
		fs_write_all(out, msg, (size_t)n);
		_exit(1);
	}
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)p->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int n = snprintf(msg, sizeof(msg), "connect to 127.0.0.1:%d: %s", p->port,
				 strerror(errno));
		fs_write_all(out, msg, (size_t)n);
		_exit(1);
	}
	if (p->kind == ENG_PROBE_TCP) {
		int n = snprintf(msg, sizeof(msg), "connected to 127.0.0.1:%d", p->port);
		fs_write_all(out, msg, (size_t)n);
		_exit(0);
	}
	char req[1200];
	int rl = snprintf(req, sizeof(req),
			  "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nUser-Agent: berth-probe/1.0\r\n"
			  "Accept: */*\r\nConnection: close\r\n\r\n",
			  p->http_path ? p->http_path : "/", p->port);
	if (rl >= (int)sizeof(req) || fs_write_all(s, req, (size_t)rl) < 0)
		_exit(1);
	char head[512];
	size_t got = 0;
	for (ssize_t n; got < sizeof(head) - 1 && !memchr(head, '\n', got) &&
			(n = read(s, head + got, sizeof(head) - 1 - got)) > 0;)
		got += (size_t)n;
	head[got] = 0;
	int code = 0;
	if (sscanf(head, "HTTP/%*d.%*d %d", &code) != 1)
		code = 0;
	char *nl = strpbrk(head, "\r\n");
	if (nl)
		*nl = 0;
	fs_write_all(out, head, strlen(head));
	_exit(code >= 200 && code < 400 ? 0 : 1);
}

static _Noreturn void exec_child(eng *g, const char *id, const eng_probe *p, int out)
{
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	eng_exec_opts xo = {.args = p->cmd, .stdio = {nul, out, out}};
	int status = 125;
	berr e;
	if (eng_container_exec(g, id, &xo, &status, &e) < 0) {
		fs_write_all(out, e.msg, strlen(e.msg));
		_exit(status > 0 && status < 256 ? status : 125);
	}
	_exit(status & 0xff);
}

void eng_probe_run(eng *g, const char *id, pid_t init_pid, const eng_probe *p, eng_probe_result *r)
{
	*r = (eng_probe_result){.code = 1, .start_ns = clock_ns(CLOCK_REALTIME)};
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0) {
		snprintf(r->out, sizeof(r->out), "pipe: %s", strerror(errno));
		r->end_ns = clock_ns(CLOCK_REALTIME);
		return;
	}
	fflush(NULL);
	pid_t c = fork();
	if (c == 0) {
		close(pp[0]);
		setpgid(0, 0); /* the whole group goes at the timeout */
		if (p->kind == ENG_PROBE_EXEC)
			exec_child(g, id, p, pp[1]);
		net_child(init_pid, p, pp[1]);
	}
	close(pp[1]);
	if (c < 0) {
		close(pp[0]);
		snprintf(r->out, sizeof(r->out), "fork: %s", strerror(errno));
		r->end_ns = clock_ns(CLOCK_REALTIME);
		return;
	}
	setpgid(c, c);
	int64_t deadline = clock_ns(CLOCK_MONOTONIC) + p->timeout_ns;
	size_t got = 0;
	bool timed_out = false;
	int st = 0;
	for (;;) {
		int64_t left = deadline - clock_ns(CLOCK_MONOTONIC);
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pf = {.fd = pp[0], .events = POLLIN};
		int pr = poll(&pf, 1, (int)(left / 1000000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(pp[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the output is complete */
		size_t take =
		    (size_t)n < sizeof(r->out) - 1 - got ? (size_t)n : sizeof(r->out) - 1 - got;
		memcpy(r->out + got, buf, take);
		got += take;
	}
	close(pp[0]);
	r->out[got] = 0;
	/* the child's exit, within the deadline too (a process it left
	 * behind may hold the pipe: EOF came, the exit not yet) */
	while (!timed_out) {
		pid_t w = waitpid(c, &st, WNOHANG);
		if (w == c)
			break;
		if (w < 0 && errno != EINTR) {
			st = 1 << 8;
			break;
		}
		if (clock_ns(CLOCK_MONOTONIC) >= deadline)
			timed_out = true;
		else
			sleep_ns(2000000);
	}
	if (timed_out) {
		kill(-c, SIGKILL);
		kill(c, SIGKILL);
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {
		}
		r->code = -1;
		char d[32];
		snprintf(d, sizeof(d), "%.3gs", (double)p->timeout_ns / 1e9);
		snprintf(r->out, sizeof(r->out), "Health check exceeded timeout (%s)", d);
	} else {
		r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	r->end_ns = clock_ns(CLOCK_REALTIME);
}

/* Docker's rules: a pass makes it healthy; a failure counts unless the
 * container is still starting within its start period; retries failures
 * in a row make it unhealthy; the last 5 results are kept. */
static int record_health(eng *g, const char *id, const eng_probe *p, const eng_probe_result *r,
			 int64_t started_ns, bool *healthy, berr *e)
{
	int lk = eng_health_lock(g, id, e);
	if (lk < 0)
		return -1;
	json_object *h = eng_health_load(g, id);
	json_object *v;
	const char *cur =
	    json_object_object_get_ex(h, "Status", &v) ? json_object_get_string(v) : "starting";
	_cleanup_free_ char *status = xstrdup(cur && *cur ? cur : "starting");
	int streak = json_object_object_get_ex(h, "FailingStreak", &v) ? json_object_get_int(v) : 0;
	bool in_start = r->start_ns - started_ns < p->start_period_ns;
	if (r->code == 0) {
		streak = 0;
		free(status);
		status = xstrdup("healthy");
	} else if (!(in_start && !strcmp(status, "starting"))) {
		streak++;
		if (streak >= p->failure_threshold) {
			free(status);
			status = xstrdup("unhealthy");
		}
	}
	json_object_object_add(h, "Status", json_object_new_string(status));
	json_object_object_add(h, "FailingStreak", json_object_new_int(streak));
	json_object *log;
	if (!json_object_object_get_ex(h, "Log", &log) ||
	    !json_object_is_type(log, json_type_array)) {
		log = json_object_new_array();
		json_object_object_add(h, "Log", log);
	}
	json_object *en = json_object_new_object();
	char *t = eng_time_ns(r->start_ns);
	json_object_object_add(en, "Start", json_object_new_string(t));
	free(t);
	t = eng_time_ns(r->end_ns);
	json_object_object_add(en, "End", json_object_new_string(t));
	free(t);
	json_object_object_add(en, "ExitCode", json_object_new_int(r->code));
	json_object_object_add(en, "Output", json_object_new_string(r->out));
	json_object_array_add(log, en);
	size_t n = json_object_array_length(log);
	if (n > 5)
		json_object_array_del_idx(log, 0, n - 5);
	int rc = eng_health_save(g, id, h, e);
	json_object_put(h);
	close(lk);
	*healthy = !strcmp(status, "healthy");
	return rc;
}

/* One field of health.json set (Ready, StartupDone). */
static void health_flag(eng *g, const char *id, const char *k, bool v)
{
	berr ig;
	int lk = eng_health_lock(g, id, &ig);
	if (lk < 0)
		return;
	json_object *h = eng_health_load(g, id);
	json_object_object_add(h, k, json_object_new_boolean(v));
	eng_health_save(g, id, h, &ig);
	json_object_put(h);
	close(lk);
}

int eng_health_run_once(eng *g, const char *id, bool *healthy, berr *e)
{
	*healthy = false;
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	char name[128];
	eng_doc_name(doc, id, name);
	int rc = -1;
	eng_probe *ps = NULL;
	size_t n = eng_probes_of(doc, &ps);
	const eng_probe *p = NULL;
	for (size_t i = 0; i < n; i++)
		if (ps[i].role == ENG_PROBE_HEALTH)
			p = &ps[i];
	if (strcmp(eng_reconcile(g, id, doc), "running")) {
		berr_set(e, EINVAL, "container %s is not running", name);
	} else if (!p) {
		berr_set(e, EINVAL, "container %s has no defined healthcheck", name);
	} else {
		eng_probe_result r;
		eng_probe_run(g, id, (pid_t)eng_doc_int(doc, "State.Pid"), p, &r);
		rc = record_health(g, id, p, &r,
				   eng_time_parse(eng_doc_str(doc, "State.StartedAt")), healthy, e);
		if (rc == 0)
			*healthy = r.code == 0;
	}
	eng_probes_free(ps, n);
	json_object_put(doc);
	return rc;
}

/* A failed liveness or startup probe: the stop signal, SIGKILL after 10 s
 * (Docker's stop timeout); not a stop by the user, so the restart policy
 * applies to the exit. */
static void kill_for_restart(eng *g, const char *id, json_object *doc)
{
	const char *ss = eng_doc_str(doc, "Config.StopSignal");
	int sig = ss ? spec_signal_from_name(ss) : SIGTERM;
	berr ig;
	rt_kill(&g->rt, id, sig > 0 ? sig : SIGTERM, false, &ig);
	/* the exit file, not eng_container_wait: that waits through the
	 * restart the policy makes */
	_cleanup_free_ char *exitp = xasprintf("%s/exit", id);
	for (int ms = 0; faccessat(g->ctrs_fd, exitp, F_OK, 0) < 0; ms += 20) {
		if (ms >= 10000) {
			rt_kill(&g->rt, id, SIGKILL, false, &ig);
			break;
		}
		sleep_ns(20000000);
	}
}

static void run_hook(json_object *doc, const char *id)
{
	json_object *a;
	if (!json_object_object_get_ex(doc, "ReadinessHook", &a) ||
	    !json_object_is_type(a, json_type_array) || !json_object_array_length(a))
		return;
	char **argv = NULL;
	for (size_t i = 0; i < json_object_array_length(a) && i < 64; i++)
		strv_push(&argv, json_object_get_string(json_object_array_get_idx(a, i)));
	strv_push(&argv, id);
	eng_spawn_detached(argv);
	strv_free(argv);
}

typedef struct sched {
	int64_t next; /* CLOCK_MONOTONIC */
	int fails, succs;
} sched;

int eng_probe_loop(eng *g, const char *id, berr *e)
{
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	if (strcmp(eng_reconcile(g, id, doc), "running")) {
		json_object_put(doc);
		return 0;
	}
	pid_t mpid = (pid_t)eng_doc_int(doc, "State.MonitorPid");
	unsigned long long mstart = (unsigned long long)eng_doc_int(doc, "State.MonitorStart");
	pid_t init = (pid_t)eng_doc_int(doc, "State.Pid");
	int64_t started = eng_time_parse(eng_doc_str(doc, "State.StartedAt"));
	eng_probe *ps = NULL;
	size_t n = eng_probes_of(doc, &ps);
	sched sc[8] = {0};
	bool has_startup = false, has_readiness = false, startup_done = false, ready = false;
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	for (size_t i = 0; i < n; i++) {
		/* Docker's first check after one interval; Kubernetes' after
		 * the initial delay */
		sc[i].next = t0 + (ps[i].role == ENG_PROBE_HEALTH ? ps[i].interval_ns
								  : ps[i].initial_delay_ns);
		has_startup |= ps[i].role == ENG_PROBE_STARTUP;
		has_readiness |= ps[i].role == ENG_PROBE_READINESS;
	}
	_cleanup_free_ char *exitp = xasprintf("%s/exit", id);
	while (n) {
		if (faccessat(g->ctrs_fd, exitp, F_OK, 0) == 0 || mpid <= 0 ||
		    eng_proc_start(mpid) != mstart)
			break; /* exited (or its monitor is gone, or it was removed) */
		int64_t now = clock_ns(CLOCK_MONOTONIC);
		size_t k = 0;
		for (size_t i = 1; i < n; i++)
			if (sc[i].next < sc[k].next)
				k = i;
		if (sc[k].next > now) {
			int64_t d = sc[k].next - now;
			sleep_ns(d < 200000000 ? d : 200000000);
			continue;
		}
		const eng_probe *p = &ps[k];
		sc[k].next = now + p->interval_ns;
		bool held = (p->role == ENG_PROBE_LIVENESS || p->role == ENG_PROBE_READINESS) &&
			    has_startup && !startup_done;
		if (held || (p->role == ENG_PROBE_STARTUP && startup_done))
			continue;
		eng_probe_result r;
		eng_probe_run(g, id, init, p, &r);
		bool ok = r.code == 0;
		sc[k].fails = ok ? 0 : sc[k].fails + 1;
		sc[k].succs = ok ? sc[k].succs + 1 : 0;
		bool healthy;
		berr ig;
		switch (p->role) {
		case ENG_PROBE_HEALTH:
			record_health(g, id, p, &r, started, &healthy, &ig);
			break;
		case ENG_PROBE_STARTUP:
			if (ok) {
				startup_done = true;
				health_flag(g, id, "StartupDone", true);
			} else if (sc[k].fails >= p->failure_threshold) {
				kill_for_restart(g, id, doc);
			}
			break;
		case ENG_PROBE_LIVENESS:
			if (!ok && sc[k].fails >= p->failure_threshold)
				kill_for_restart(g, id, doc);
			break;
		case ENG_PROBE_READINESS:
			if (!ready && ok && sc[k].succs >= p->success_threshold) {
				ready = true;
				health_flag(g, id, "Ready", true);
				run_hook(doc, id);
			} else if (ready && !ok && sc[k].fails >= p->failure_threshold) {
				ready = false;
				health_flag(g, id, "Ready", false);
				run_hook(doc, id);
			}
			break;
		}
	}
	/* no longer ready once it exited: the hook is told */
	if (has_readiness && ready) {
		health_flag(g, id, "Ready", false);
		run_hook(doc, id);
	}
	eng_probes_free(ps, n);
	json_object_put(doc);
	return 0;
}
