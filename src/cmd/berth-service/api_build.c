/* POST /build: a tar context body (streamed to a temp file, api_body.c)
 * built by build_run (src/lib/build), Docker's classic builder's answer:
 * {"stream": ...} lines (the steps, RUN's output), then {"aux": {"ID"}},
 * "Successfully built", "Successfully tagged"; a failure is a line with
 * errorDetail (status 200, as Docker) and no image is named.
 *
 * Query: t (repeated), dockerfile (a path in the context), buildargs and
 * labels (JSON objects), target, nocache, q, pull, networkmode (default and
 * none: none, host), rm/forcerm (berth always removes a step's container).
 * remote, squash, extrahosts and a BuildKit session are refused by name.
 *
 * RUN steps write to the builder's stdout and stderr, and signals stop a
 * build: so the build runs in a child process of the service, whose output
 * the thread turns into stream lines; a client that goes away stops it
 * (SIGTERM: build_opts.cancel) and it cleans up as `berth build` does. The
 * child is a fresh process (`berth-service __build-child ...`, the job in
 * its argv): the fork of a threaded process may wait forever on a lock
 * another thread held, so the fork only execs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build/build.h"
#include "build/dockerfile.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define BUILD_MAX_TAGS 64
#define BUILD_MAX_KV   1024 /* buildargs, labels */
#define STREAM_CHUNK   16384

typedef struct build_job {
	svc_job j;
	int body_fd;
	char **tags, **args, **labels;
	char *dockerfile, *target;
	bool nocache, quiet, pull, host_net;
	bool failed; /* a write to the client failed */
} build_job;

static void job_free(build_job *b)
{
	if (b->body_fd >= 0)
		close(b->body_fd);
	strv_free(b->tags);
	strv_free(b->args);
	strv_free(b->labels);
	free(b->dockerfile);
	free(b->target);
	svc_job_free(&b->j);
}

static void put_line(build_job *b, json_object *o)
{
	if (b->failed)
		json_object_put(o);
	else if (svc_put_line(b->j.fd, o) < 0)
		b->failed = true;
}

static void put_stream(build_job *b, const char *s, size_t n)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "stream", json_object_new_string_len(s, (int)n));
	put_line(b, o);
}

static void put_error(build_job *b, const char *msg)
{
	if (!b->failed && svc_put_error(b->j.fd, msg) < 0)
		b->failed = true;
}

static void build_destroy(svc_job *j)
{
	job_free((build_job *)j);
}

/* ---- the child: build_run with its output on fd 1 ---- */

static volatile sig_atomic_t cancelled;

static void on_term(int sig)
{
	(void)sig;
	cancelled = 1;
}

/* berth's progress lines in the classic builder's words: "STEP 2/5: RUN x"
 * -> "Step 2/5 : RUN x", " --> ID" -> " ---> ID" */
static void child_progress(void *ctx, const char *line)
{
	(void)ctx;
	char *l;
	unsigned a, b;
	int n = 0;
	if (sscanf(line, "STEP %u/%u:%n", &a, &b, &n) == 2 && n > 0)
		l = xasprintf("Step %u/%u :%s\n", a, b, line + n);
	else if (!strncmp(line, " --> ", 5))
		l = xasprintf(" ---> %s\n", line + 5);
	else
		l = xasprintf("%s\n", line);
	fs_write_all(1, l, strlen(l));
	free(l);
}

/* The Dockerfile named in the context, read inside it (no way out by .. or
 * a symlink); NULL with e. */
static char *read_dockerfile(int ctx_fd, const char *name, size_t *len, berr *e)
{
	int fd = fs_open_in_root(ctx_fd, name, O_RDONLY | O_NONBLOCK, 0, e);
	if (fd < 0) {
		berr_ctx(e, "dockerfile %s", name);
		return NULL;
	}
	char *data = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DF_MAX_BYTES) {
		berr_set(e, EINVAL, "dockerfile %s: not a regular file of at most %u bytes", name,
			 DF_MAX_BYTES);
	} else if (fs_read_fd(fd, &data, len, e) < 0) {
		berr_ctx(e, "dockerfile %s", name);
		data = NULL;
	}
	close(fd);
	return data;
}

static _Noreturn void child_main(build_job *b, int out, int res, const char *ctx_dir, int ctx_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	int keep[3] = {out, res, ctx_fd};
	fs_close_all_but(keep, 3);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(120);
	if (b->quiet)
		dup2(nul, 1), dup2(nul, 2);
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	berr e;
	char *df = NULL;
	size_t df_len = 0;
	dg_str id = {0};
	int r = 0;
	if (b->dockerfile && !(df = read_dockerfile(ctx_fd, b->dockerfile, &df_len, &e)))
		r = -1;
	_cleanup_free_ char *initp = NULL;
	char *sd = cli_self_dir();
	initp = sd ? xasprintf("%s/berth-init", sd) : NULL;
	free(sd);
	build_opts o = {.root = b->j.root,
			.run_root = b->j.run_root,
			.context = ctx_dir,
			.file_data = df,
			.file_len = df_len,
			.build_args = b->args,
			.labels = b->labels,
			.tags = b->tags,
			.target = b->target,
			.no_cache = b->nocache,
			.pull = b->pull ? BUILD_PULL_ALWAYS : BUILD_PULL_MISSING,
			.host_network = b->host_net,
			.progress = b->quiet ? NULL : child_progress,
			.cancel = (const volatile int *)&cancelled,
			.init_path = initp && access(initp, X_OK) == 0 ? initp : NULL};
	if (r == 0)
		r = build_run(&o, &id, &e);
	for (size_t k = 0; o.warnings && o.warnings[k]; k++) {
		char *w = xasprintf("[Warning] %s\n", o.warnings[k]);
		fs_write_all(1, w, strlen(w));
		free(w);
	}
	char *msg = r == 0 ? xasprintf("0%s", id.s) : xasprintf("1%s", e.msg);
	fs_write_all(res, msg, strlen(msg));
	_exit(0);
}

/* The job as the fresh child's argv: ROOT RUN_ROOT CTX_DIR CTX_FD OUT RES
 * DOCKERFILE TARGET FLAGS, then -t TAG, -a ARG, -l LABEL pairs. */
static char **child_argv(const build_job *b, const char *self, const build_tar_ctx *tc, int out,
			 int res)
{
	strv_builder v = {0};
	strvb_push(&v, self);
	strvb_push(&v, "__build-child");
	strvb_push(&v, b->j.root);
	strvb_push(&v, b->j.run_root);
	strvb_push(&v, tc->dir);
	strvb_push_take(&v, xasprintf("%d", tc->fd));
	strvb_push_take(&v, xasprintf("%d", out));
	strvb_push_take(&v, xasprintf("%d", res));
	strvb_push(&v, b->dockerfile ? b->dockerfile : "");
	strvb_push(&v, b->target ? b->target : "");
	strvb_push_take(&v, xasprintf("-%s%s%s%s", b->nocache ? "n" : "", b->pull ? "p" : "",
				      b->host_net ? "h" : "", b->quiet ? "q" : ""));
	const struct {
		const char *flag;
		char **list;
	} lists[] = {{"-t", b->tags}, {"-a", b->args}, {"-l", b->labels}};
	for (size_t k = 0; k < sizeof(lists) / sizeof(*lists); k++)
		for (size_t i = 0; lists[k].list && lists[k].list[i]; i++) {
			strvb_push(&v, lists[k].flag);
			strvb_push(&v, lists[k].list[i]);
		}
	return strvb_take(&v);
}

static int fd_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *end || end == s || v < 3 || v > 65535 ? -1 : (int)v;
}

void api_build_child(int argc, char **argv)
{
	if (argc < 9)
		_exit(120);
	build_job b = {.body_fd = -1, .j = {.client_fd = -1, .fd = -1}};
	b.j.root = argv[0];
	b.j.run_root = argv[1];
	int ctx_fd = fd_arg(argv[3]), out = fd_arg(argv[4]), res = fd_arg(argv[5]);
	if (ctx_fd < 0 || out < 0 || res < 0)
		_exit(120);
	b.dockerfile = *argv[6] ? argv[6] : NULL;
	b.target = *argv[7] ? argv[7] : NULL;
	b.nocache = strchr(argv[8], 'n');
	b.pull = strchr(argv[8], 'p');
	b.host_net = strchr(argv[8], 'h');
	b.quiet = strchr(argv[8], 'q');
	strv_builder t = {0}, a = {0}, l = {0};
	for (int i = 9; i + 1 < argc; i += 2)
		strvb_push(!strcmp(argv[i], "-t")   ? &t
			   : !strcmp(argv[i], "-a") ? &a
						    : &l,
			   argv[i + 1]);
	b.tags = strvb_take(&t);
	b.args = strvb_take(&a);
	b.labels = strvb_take(&l);
	child_main(&b, out, res, argv[2], ctx_fd);
}

/* ---- the request's thread ---- */

static void *build_thread(void *arg)
{
	build_job *b = arg;
	berr e;
	build_tar_ctx tc = {.fd = -1};
	int out[2] = {-1, -1}, res[2] = {-1, -1};
	pid_t pid = -1;
	if (build_tar_context(b->j.root, b->body_fd, BODY_FILE_MAX, &tc, &e) < 0) {
		berr_ctx(&e, "build");
		put_error(b, e.msg);
		goto done;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
		put_error(b, "build: pipe failed");
		goto done;
	}
	char self[4096];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sn <= 0) {
		put_error(b, "build: readlink /proc/self/exe failed");
		goto done;
	}
	self[sn] = 0;
	char **av = child_argv(b, self, &tc, out[1], res[1]);
	pid = fork();
	if (pid < 0) {
		strv_free(av);
		put_error(b, "build: fork failed");
		goto done;
	}
	if (pid == 0) { /* async-signal-safe calls only, up to the exec */
		prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		if (fcntl(tc.fd, F_SETFD, 0) == 0 && fcntl(out[1], F_SETFD, 0) == 0 &&
		    fcntl(res[1], F_SETFD, 0) == 0)
			execv(self, av);
		_exit(127);
	}
	strv_free(av);
	close(out[1]);
	close(res[1]);
	out[1] = res[1] = -1;
	char *buf = xzalloc(STREAM_CHUNK);
	size_t have = 0;
	bool killed = false;
	for (;;) {
		struct pollfd pf = {.fd = out[0], .events = POLLIN};
		int pr = poll(&pf, 1, 500);
		if (!killed && (b->failed || svc_job_gone(&b->j))) {
			kill(pid, SIGTERM); /* the client went away: stop after this step */
			killed = true;
		}
		if (pr <= 0)
			continue;
		ssize_t n = read(out[0], buf + have, STREAM_CHUNK - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		/* whole lines out; a line longer than the buffer in pieces */
		char *nl = memrchr(buf, '\n', have);
		size_t cut = nl ? (size_t)(nl - buf) + 1 : have == STREAM_CHUNK ? have : 0;
		if (cut) {
			put_stream(b, buf, cut);
			memmove(buf, buf + cut, have - cut);
			have -= cut;
		}
	}
	if (have)
		put_stream(b, buf, have);
	free(buf);
	char *msg = NULL;
	size_t len = 0;
	int st = 0;
	waitpid(pid, &st, 0);
	pid = -1;
	if (fs_read_fd(res[0], &msg, &len, &e) < 0 || len < 1) {
		put_error(b, "build: the builder process ended without a result");
	} else if (msg[0] == '1') {
		_cleanup_free_ char *m = xasprintf("build: %s", msg + 1);
		put_error(b, m);
	} else {
		json_object *o = json_object_new_object(), *aux = json_object_new_object();
		json_object_object_add(aux, "ID", json_object_new_string(msg + 1));
		json_object_object_add(o, "aux", aux);
		put_line(b, o);
		const char *hex = strchr(msg + 1, ':') ? strchr(msg + 1, ':') + 1 : msg + 1;
		_cleanup_free_ char *s = b->quiet ? xasprintf("%s\n", msg + 1)
						  : xasprintf("Successfully built %.12s\n", hex);
		put_stream(b, s, strlen(s));
		for (size_t i = 0; !b->quiet && b->tags && b->tags[i]; i++) {
			_cleanup_free_ char *t = xasprintf("Successfully tagged %s\n", b->tags[i]);
			put_stream(b, t, strlen(t));
		}
	}
	free(msg);
done:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	build_tar_context_done(&tc);
	close(b->j.fd);
	job_free(b);
	return NULL;
}

/* ---- the request ---- */

/* buildargs / labels: a JSON object of strings -> "K=V" (a null value: K
 * left out, as Docker); -1 after answering 400. */
static int kv_arg(req *q, resp *r, const char *name, char ***out)
{
	*out = NULL;
	const char *v = req_arg(q, name);
	if (!v || !*v)
		return 0;
	json_object *o = json_tokener_parse(v);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) > BUILD_MAX_KV) {
		json_object_put(o);
		resp_error(r, 400, "%s: not a JSON object of at most %d strings", name,
			   BUILD_MAX_KV);
		return -1;
	}
	strv_builder b = {0};
	json_object_object_foreach(o, k, val)
	{
		if (!val)
			continue;
		strvb_push_take(&b, xasprintf("%s=%s", k, json_object_get_string(val)));
	}
	json_object_put(o);
	*out = strvb_take(&b);
	return 0;
}

void api_build(req *q, resp *r)
{
	static const char *const refused[] = {"remote", "extrahosts", "session", "outputs", NULL};
	for (const char *const *k = refused; *k; k++) {
		const char *v = req_arg(q, *k);
		if (v && *v && strcmp(v, "[]") && strcmp(v, "{}")) {
			resp_error(r, 400, "%s: not supported by berth", *k);
			return;
		}
	}
	if (req_arg_bool(q, "squash")) {
		resp_error(r, 400, "squash: not supported by berth");
		return;
	}
	const char *ver = req_arg(q, "version");
	if (ver && !strcmp(ver, "2")) {
		resp_error(r, 400,
			   "version 2 (BuildKit): not supported by berth, the classic "
			   "builder is (DOCKER_BUILDKIT=0)");
		return;
	}
	const char *net = req_arg(q, "networkmode");
	if (net && *net && strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host")) {
		resp_error(r, 400, "networkmode %s: only default (none), none and host", net);
		return;
	}
	if (q->body_fd < 0 || !q->body_size) {
		resp_error(r, 400,
			   "the request body is empty: a tar of the build context is "
			   "expected");
		return;
	}
	bool over;
	char **tags = req_args(q, "t", BUILD_MAX_TAGS, &over);
	if (over) {
		strv_free(tags);
		resp_error(r, 400, "t: at most %d tags", BUILD_MAX_TAGS);
		return;
	}
	build_job *b = xzalloc(sizeof(*b));
	b->body_fd = -1;
	b->j.client_fd = -1;
	b->tags = tags;
	if (kv_arg(q, r, "buildargs", &b->args) < 0 || kv_arg(q, r, "labels", &b->labels) < 0) {
		job_free(b);
		return;
	}
	const char *df = req_arg(q, "dockerfile"), *target = req_arg(q, "target");
	b->dockerfile = df && *df ? xstrdup(df) : NULL;
	b->target = target && *target ? xstrdup(target) : NULL;
	b->nocache = req_arg_bool(q, "nocache");
	b->quiet = req_arg_bool(q, "q");
	b->pull = req_arg_bool(q, "pull");
	b->host_net = net && !strcmp(net, "host");
	b->body_fd = fcntl(q->body_fd, F_DUPFD_CLOEXEC, 3);
	if (b->body_fd < 0) {
		job_free(b);
		resp_error(r, 500, "dup the body: %s", strerror(errno));
		return;
	}
	b->j.destroy = build_destroy;
	svc_stream(q, r, &b->j, build_thread, "application/json");
}
