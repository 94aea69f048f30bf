/* Probes (health.h): the record's probes (Config.Healthcheck and berth's
 * Probes), health.json (the prober's results, read-modify-write under
 * health.lock), what inspect and ps show of it, readiness, and the start of
 * the prober. The probes themselves run in probe_run.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/healthpriv.h"
#include "engine/probe.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char *const role_names[] = {"health", "liveness", "readiness", "startup"};
static const char *const kind_names[] = {"exec", "http", "tcp"};

static json_object *jstrv_of(char *const *v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static int64_t iget(json_object *o, const char *k)
{
	json_object *v = get(o, k);
	return v ? json_object_get_int64(v) : 0;
}

char **eng_shell_argv(const char *line)
{
	char **v = NULL;
	strv_push(&v, "/bin/sh");
	strv_push(&v, "-c");
	strv_push(&v, line ? line : "");
	return v;
}

/* The image's Healthcheck.Test as argv ("CMD" args, "CMD-SHELL" s -> sh -c
 * s); NULL for none or ["NONE"]. */
static char **test_argv(json_object *test)
{
	size_t n =
	    test && json_object_is_type(test, json_type_array) ? json_object_array_length(test) : 0;
	if (n < 2)
		return NULL;
	const char *k = json_object_get_string(json_object_array_get_idx(test, 0));
	char **v = NULL;
	if (k && !strcmp(k, "CMD-SHELL")) {
		v = eng_shell_argv(json_object_get_string(json_object_array_get_idx(test, 1)));
	} else if (k && !strcmp(k, "CMD")) {
		for (size_t i = 1; i < n; i++)
			strv_push(&v, json_object_get_string(json_object_array_get_idx(test, i)));
	}
	return v;
}

static int check_probe(const eng_probe *p, berr *e)
{
	const char *r = (unsigned)p->role < 4 ? role_names[p->role] : "?";
	if ((unsigned)p->role > ENG_PROBE_STARTUP || (unsigned)p->kind > ENG_PROBE_TCP)
		return berr_set(e, EINVAL, "probe: unknown role or kind");
	if (p->kind == ENG_PROBE_EXEC && p->role != ENG_PROBE_HEALTH && (!p->cmd || !p->cmd[0]))
		return berr_set(e, EINVAL, "%s probe: exec needs a command", r);
	if (p->kind != ENG_PROBE_EXEC && (p->port < 1 || p->port > 65535))
		return berr_set(e, EINVAL, "%s probe: port %d is not in 1..65535", r, p->port);
	if (p->http_path && p->http_path[0] != '/')
		return berr_set(e, EINVAL, "%s probe: path \"%s\" must start with /", r,
				p->http_path);
	if (p->http_path && strpbrk(p->http_path, " \r\n"))
		return berr_set(e, EINVAL, "%s probe: path has a space or line break", r);
	if (p->interval_ns < 0 || p->timeout_ns < 0 || p->start_period_ns < 0 ||
	    p->initial_delay_ns < 0)
		return berr_set(e, EINVAL, "%s probe: a negative duration", r);
	if ((p->interval_ns && p->interval_ns < 1000000) ||
	    (p->timeout_ns && p->timeout_ns < 1000000))
		return berr_set(e, EINVAL, "%s probe: interval and timeout must be at least 1ms",
				r);
	if (p->failure_threshold < 0 || p->success_threshold < 0)
		return berr_set(e, EINVAL, "%s probe: a negative threshold", r);
	return 0;
}

static json_object *probe_json(const eng_probe *p, char *const *cmd)
{
	bool health = p->role == ENG_PROBE_HEALTH;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Role", json_object_new_string(role_names[p->role]));
	json_object_object_add(o, "Kind", json_object_new_string(kind_names[p->kind]));
	if (p->kind == ENG_PROBE_EXEC)
		json_object_object_add(o, "Cmd", jstrv_of(cmd));
	else
		json_object_object_add(o, "Port", json_object_new_int(p->port));
	if (p->kind == ENG_PROBE_HTTP)
		json_object_object_add(o, "Path",
				       json_object_new_string(p->http_path ? p->http_path : "/"));
	/* Docker's defaults for the health check, Kubernetes' for the others */
	int64_t iv = p->interval_ns ? p->interval_ns
		     : health	    ? ENG_HEALTH_INTERVAL_NS
				    : 10000000000;
	int64_t to = p->timeout_ns ? p->timeout_ns : health ? ENG_HEALTH_TIMEOUT_NS : 1000000000;
	json_object_object_add(o, "Interval", json_object_new_int64(iv));
	json_object_object_add(o, "Timeout", json_object_new_int64(to));
	json_object_object_add(o, "StartPeriod", json_object_new_int64(p->start_period_ns));
	json_object_object_add(o, "InitialDelay", json_object_new_int64(p->initial_delay_ns));
	json_object_object_add(
	    o, "FailureThreshold",
	    json_object_new_int(p->failure_threshold ? p->failure_threshold : 3));
	json_object_object_add(
	    o, "SuccessThreshold",
	    json_object_new_int(p->success_threshold ? p->success_threshold : 1));
	return o;
}

/* The health check: the image's Healthcheck with the options' over it. */
static int health_probe(const eng_run_opts *o, json_object *image_raw, json_object *cf,
			json_object *probes, berr *e)
{
	const eng_probe *opt = NULL;
	for (size_t i = 0; i < o->n_probes; i++)
		if (o->probes[i].role == ENG_PROBE_HEALTH)
			opt = &o->probes[i];
	json_object *ih = get(get(image_raw, "config"), "Healthcheck");
	if (o->no_healthcheck) {
		if (opt)
			return berr_set(e, EINVAL,
					"--no-healthcheck conflicts with --health-* options");
		json_object *h = json_object_new_object();
		json_object_object_add(h, "Test", jstrv_of((char *const[]){"NONE", NULL}));
		json_object_object_add(cf, "Healthcheck", h);
		return 0;
	}
	eng_probe p = {.role = ENG_PROBE_HEALTH, .kind = ENG_PROBE_EXEC};
	if (opt)
		p = *opt;
	_cleanup_strv_ char **icmd = test_argv(get(ih, "Test"));
	char **cmd = opt && opt->cmd ? opt->cmd : icmd;
	if (p.kind == ENG_PROBE_EXEC && !cmd)
		return 0; /* none (or NONE), or --health-interval alone */
	if (!p.interval_ns)
		p.interval_ns = iget(ih, "Interval");
	if (!p.timeout_ns)
		p.timeout_ns = iget(ih, "Timeout");
	if (!p.start_period_ns)
		p.start_period_ns = iget(ih, "StartPeriod");
	if (!p.failure_threshold)
		p.failure_threshold = (int)iget(ih, "Retries");
	if (check_probe(&p, e) < 0)
		return -1;
	json_object *pj = probe_json(&p, cmd);
	json_object_array_add(probes, pj);
	if (p.kind == ENG_PROBE_EXEC) { /* Docker's shape */
		json_object *h = json_object_new_object();
		json_object *t = json_object_new_array();
		bool shell =
		    strv_len(cmd) == 3 && !strcmp(cmd[0], "/bin/sh") && !strcmp(cmd[1], "-c");
		json_object_array_add(t, json_object_new_string(shell ? "CMD-SHELL" : "CMD"));
		for (char **c = cmd + (shell ? 2 : 0); *c; c++)
			json_object_array_add(t, json_object_new_string(*c));
		json_object_object_add(h, "Test", t);
		static const char *const ks[][2] = {{"Interval", "Interval"},
						    {"Timeout", "Timeout"},
						    {"StartPeriod", "StartPeriod"},
						    {"Retries", "FailureThreshold"}};
		for (size_t k = 0; k < 4; k++)
			json_object_object_add(h, ks[k][0],
					       json_object_new_int64(iget(pj, ks[k][1])));
		json_object_object_add(cf, "Healthcheck", h);
	}
	return 0;
}

int eng_health_record(const eng_run_opts *o, json_object *image_raw, json_object *doc, berr *e)
{
	eng_restart_policy pol;
	if (eng_restart_check_opts(o, &pol, e) < 0)
		return -1;
	static const char *const names[] = {"no", "always", "on-failure", "unless-stopped"};
	json_object *hc = get(doc, "HostConfig"), *cf = get(doc, "Config");
	if (!hc || !cf)
		return berr_set(e, EINVAL, "the record has no HostConfig or Config");
	json_object *rp = json_object_new_object();
	json_object_object_add(rp, "Name", json_object_new_string(names[pol.kind]));
	json_object_object_add(rp, "MaximumRetryCount", json_object_new_int(pol.max_retries));
	json_object_object_add(hc, "RestartPolicy", rp);
	json_object_object_add(doc, "RestartCount", json_object_new_int(0));
	json_object *probes = json_object_new_array();
	if (health_probe(o, image_raw, cf, probes, e) < 0) {
		json_object_put(probes);
		return -1;
	}
	bool seen[4] = {false};
	for (size_t i = 0; i < o->n_probes; i++) {
		const eng_probe *p = &o->probes[i];
		if (p->role == ENG_PROBE_HEALTH)
			continue;
		if (check_probe(p, e) < 0 || ((unsigned)p->role < 4 && seen[p->role])) {
			if (seen[p->role])
				berr_set(e, EINVAL, "more than one %s probe", role_names[p->role]);
			json_object_put(probes);
			return -1;
		}
		seen[p->role] = true;
		json_object_array_add(probes, probe_json(p, p->cmd));
	}
	json_object_object_add(doc, "Probes", probes);
	if (o->readiness_hook && o->readiness_hook[0])
		json_object_object_add(doc, "ReadinessHook", jstrv_of(o->readiness_hook));
	return 0;
}

/* ---- the record's probes ---- */

void eng_probes_free(eng_probe *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		strv_free(p[i].cmd);
		free(p[i].http_path);
	}
	free(p);
}

size_t eng_probes_of(json_object *doc, eng_probe **out)
{
	json_object *a = get(doc, "Probes");
	size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	if (n > 8)
		n = 8; /* at most one per role (and a health one): bounded */
	eng_probe *v = xzalloc((n ? n : 1) * sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		const char *r = json_object_get_string(get(o, "Role"));
		const char *kd = json_object_get_string(get(o, "Kind"));
		eng_probe p = {0};
		int role = -1, kind = -1;
		for (int j = 0; j < 4; j++)
			if (r && !strcmp(r, role_names[j]))
				role = j;
		for (int j = 0; j < 3; j++)
			if (kd && !strcmp(kd, kind_names[j]))
				kind = j;
		if (role < 0 || kind < 0)
			continue;
		p.role = (eng_probe_role)role;
		p.kind = (eng_probe_kind)kind;
		json_object *c = get(o, "Cmd");
		for (size_t j = 0; c && j < json_object_array_length(c); j++)
			strv_push(&p.cmd, json_object_get_string(json_object_array_get_idx(c, j)));
		if (p.kind == ENG_PROBE_EXEC && !p.cmd)
			continue;
		const char *path = json_object_get_string(get(o, "Path"));
		p.http_path = path ? xstrdup(path) : NULL;
		p.port = (int)iget(o, "Port");
		p.interval_ns = iget(o, "Interval");
		p.timeout_ns = iget(o, "Timeout");
		p.start_period_ns = iget(o, "StartPeriod");
		p.initial_delay_ns = iget(o, "InitialDelay");
		p.failure_threshold = (int)iget(o, "FailureThreshold");
		p.success_threshold = (int)iget(o, "SuccessThreshold");
		if (p.interval_ns < 1000000)
			p.interval_ns = 1000000;
		if (p.timeout_ns < 1000000)
			p.timeout_ns = 1000000;
		if (p.failure_threshold < 1)
			p.failure_threshold = 1;
		if (p.success_threshold < 1)
			p.success_threshold = 1;
		v[k++] = p;
	}
	*out = v;
	return k;
}

static bool has_role(json_object *doc, const char *role)
{
	json_object *a = get(doc, "Probes");
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		const char *r =
		    json_object_get_string(get(json_object_array_get_idx(a, i), "Role"));
		if (r && !strcmp(r, role))
			return true;
	}
	return false;
}

/* ---- health.json ---- */

int eng_health_lock(eng *g, const char *id, berr *e)
{
	_cleanup_free_ char *p = xasprintf("%s/health.lock", id);
	int fd = openat(g->ctrs_fd, p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_sys(e, "open %s", p);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			berr_sys(e, "flock %s", p);
			close(fd);
			return -1;
		}
	return fd;
}

json_object *eng_health_load(eng *g, const char *id)
{
	_cleanup_free_ char *p = xasprintf("%s/health.json", id);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	berr ig;
	json_object *o = NULL;
	if (fs_read_file_at(g->ctrs_fd, p, &buf, &len, &ig) == 0)
		o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = json_object_new_object();
	}
	return o;
}

int eng_health_save(eng *g, const char *id, json_object *h, berr *e)
{
	int dfd = openat(g->ctrs_fd, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "open the directory of container %.12s", id);
	const char *s = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
	int r = fs_write_atomic_at(dfd, "health.json", s, strlen(s), 0600, false, e);
	close(dfd);
	return r;
}

void eng_health_attach(eng *g, const char *id, json_object *doc)
{
	if (!has_role(doc, "health"))
		return;
	json_object *h = eng_health_load(g, id);
	json_object *st = get(doc, "State");
	if (!st) {
		json_object_put(h);
		return;
	}
	json_object *out = json_object_new_object();
	json_object *v = get(h, "Status");
	json_object_object_add(out, "Status",
			       json_object_new_string(v ? json_object_get_string(v) : "starting"));
	json_object_object_add(out, "FailingStreak",
			       json_object_new_int((int)iget(h, "FailingStreak")));
	json_object *log = get(h, "Log");
	json_object_object_add(out, "Log", log ? json_object_get(log) : json_object_new_array());
	json_object_object_add(st, "Health", out);
	json_object_put(h);
}

int eng_health_read(eng *g, const char *id, eng_health_state *out, berr *e)
{
	*out = (eng_health_state){0};
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	const char *s = eng_reconcile(g, id, doc);
	bool running = !strcmp(s, "running");
	json_object *h = eng_health_load(g, id);
	if (has_role(doc, "health")) {
		const char *hs = json_object_get_string(get(h, "Status"));
		snprintf(out->status, sizeof(out->status), "%s", hs && *hs ? hs : "starting");
		out->failing_streak = (int)iget(h, "FailingStreak");
	}
	json_object *rd = get(h, "Ready");
	out->ready = running && (has_role(doc, "readiness")
				     ? rd && json_object_get_boolean(rd)
				     : !has_role(doc, "startup") ||
					   json_object_get_boolean(get(h, "StartupDone")));
	json_object_put(h);
	json_object_put(doc);
	return 0;
}

int eng_health_wait_ready(eng *g, const char *id, int timeout_ms, berr *e)
{
	for (int waited = 0;; waited += 100) {
		eng_health_state hs;
		if (eng_health_read(g, id, &hs, e) < 0)
			return -1;
		if (hs.ready)
			return 0;
		const char *s = eng_container_status(g, id, NULL);
		if (!s || (strcmp(s, "running") && strcmp(s, "restarting") && strcmp(s, "created")))
			return berr_set(e, EINVAL, "container %.12s is not running", id);
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return berr_set(e, ETIMEDOUT, "container %.12s: not ready after %d ms", id,
					timeout_ms);
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
	}
}

void eng_health_started(eng *g, const char *id, json_object *doc, const char *helper_dir)
{
	json_object *a = get(doc, "Probes");
	if (!a || !json_object_array_length(a))
		return;
	berr ig;
	int lk = eng_health_lock(g, id, &ig);
	json_object *h = json_object_new_object();
	if (has_role(doc, "health"))
		json_object_object_add(h, "Status", json_object_new_string("starting"));
	json_object_object_add(h, "FailingStreak", json_object_new_int(0));
	json_object_object_add(h, "Log", json_object_new_array());
	json_object_object_add(h, "Ready", json_object_new_boolean(0));
	eng_health_save(g, id, h, &ig);
	json_object_put(h);
	if (lk >= 0)
		close(lk);
	if (!helper_dir)
		return;
	/* the prober: `berth container probe ID`, detached */
	_cleanup_free_ char *berth = xasprintf("%s/berth", helper_dir);
	char *argv[] = {berth, "--root", g->root, "container", "probe", (char *)id, NULL};
	eng_spawn_detached(argv);
}

void eng_spawn_detached(char *const *argv)
{
	fflush(NULL);
	pid_t c = fork();
	if (c < 0)
		return;
	if (c == 0) {
		/* its own session, reparented to init or the nearest subreaper,
		 * stdio /dev/null, nothing else of ours open */
		setsid();
		pid_t gc = fork();
		if (gc != 0)
			_exit(0);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0)
			for (int fd = 0; fd < 3; fd++)
				dup2(nul, fd);
		fs_close_all_but(NULL, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {
	}
}
