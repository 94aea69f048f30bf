/* Container lifecycle commands: stop, kill, rm, wait, restart, pause,
 * unpause, inspect, exec, prune and the monitor's `container cleanup`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctr.h"
#include "template.h"
#include "image/image.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static const char *status_of(eng *g, const char *id, json_object **docp)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return NULL;
	const char *s = eng_reconcile(g, id, doc);
	if (docp)
		*docp = doc;
	else
		json_object_put(doc);
	return s;
}

/* Poll steps of 1, 2, 4 .. 20 ms: a killed container is gone in about a
 * millisecond, and `rm -f` of many running ones waits for each in turn. */
static int backoff(int step)
{
	return step >= 10 ? 20 : step * 2;
}

int ctr_wait_exit(eng *g, const char *id, int timeout_ms)
{
	for (int waited = 0, step = 1;; waited += step, step = backoff(step)) {
		json_object *doc = NULL;
		const char *s = status_of(g, id, &doc);
		if (!s)
			return 255;
		if (!strcmp(s, "exited") || !strcmp(s, "created") || !strcmp(s, "dead")) {
			int code = (int)ctr_int(doc, "State.ExitCode");
			json_object_put(doc);
			return code;
		}
		json_object_put(doc);
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return -1;
		sleep_ms(step);
	}
}

/* The monitor process (and the cleanup it execs into) is gone. */
static void wait_monitor(eng *g, const char *id, int timeout_ms)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return;
	pid_t m = (pid_t)ctr_int(doc, "State.MonitorPid");
	unsigned long long st = (unsigned long long)ctr_int(doc, "State.MonitorStart");
	json_object_put(doc);
	for (int w = 0, step = 1; m > 0 && st && eng_proc_start(m) == st && w < timeout_ms;
	     w += step, step = backoff(step))
		sleep_ms(step);
}

static int stop_one(eng *g, const char *id, int timeout_s, int *code)
{
	json_object *doc = NULL;
	const char *s = status_of(g, id, &doc);
	if (!s)
		return -1;
	if (strcmp(s, "running") && strcmp(s, "paused")) {
		json_object_put(doc);
		return 0;
	}
	const char *ss = ctr_str(doc, "Config.StopSignal");
	int sig = ss ? spec_signal_from_name(ss) : SIGTERM;
	if (sig <= 0)
		sig = SIGTERM;
	json_object_put(doc);
	berr e;
	if (!strcmp(s, "paused"))
		rt_pause(&g->rt, id, false, &e);
	rt_kill(&g->rt, id, sig, false, &e);
	int r = ctr_wait_exit(g, id, timeout_s * 1000);
	if (r < 0) {
		rt_kill(&g->rt, id, SIGKILL, false, &e);
		r = ctr_wait_exit(g, id, 10000);
	}
	if (code)
		*code = r;
	/* and its clean-up (runtime delete, unmount) is done when we return */
	wait_monitor(g, id, 10000);
	return 0;
}

static int for_each(cli *c, int argc, char **argv, int i,
		    int (*fn)(eng *, const char *id, const char *ref, void *arg), void *arg)
{
	berr e;
	if (i >= argc)
		return cli_failf(125, "\"%s\" requires at least 1 argument", argv[0]);
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	int rc = 0;
	/* many refs: the store is listed once, not once per ref */
	eng_ids *ids = argc - i > 1 ? eng_ids_load(g) : NULL;
	for (; i < argc; i++) {
		char id[65];
		if (eng_lookup_in(g, ids, argv[i], id, &e) < 0) {
			rc = cli_fail(125, &e);
			continue;
		}
		int r = fn(g, id, argv[i], arg);
		if (r)
			rc = r;
	}
	eng_ids_free(ids);
	eng_close(g);
	return rc;
}

static int do_stop(eng *g, const char *id, const char *ref, void *arg)
{
	if (stop_one(g, id, *(int *)arg, NULL) < 0)
		return cli_failf(125, "no such container: %s", ref);
	printf("%s\n", ref);
	return 0;
}

int cmd_stop(cli *c, int argc, char **argv)
{
	int t = 10;
	const flag_def defs[] = {{"time", 't', FLAG_INT, &t}, {"timeout", 0, FLAG_INT, &t}, {0}};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return cli_fail(125, &e);
	return for_each(c, argc, argv, i, do_stop, &t);
}

static int do_restart(eng *g, const char *id, const char *ref, void *arg)
{
	cli *c = ((void **)arg)[0];
	int t = *(int *)((void **)arg)[1];
	stop_one(g, id, t, NULL);
	wait_monitor(g, id, 5000);
	int r = ctr_launch(c, g, id, false, false);
	if (!r)
		printf("%s\n", ref);
	return r;
}

int cmd_restart(cli *c, int argc, char **argv)
{
	int t = 10;
	const flag_def defs[] = {{"time", 't', FLAG_INT, &t}, {"timeout", 0, FLAG_INT, &t}, {0}};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return cli_fail(125, &e);
	void *arg[2] = {c, &t};
	return for_each(c, argc, argv, i, do_restart, arg);
}

static int do_kill(eng *g, const char *id, const char *ref, void *arg)
{
	const char *s = status_of(g, id, NULL);
	if (!s || (strcmp(s, "running") && strcmp(s, "paused")))
		return cli_failf(125, "cannot kill container %s: container is not running", ref);
	berr e;
	if (rt_kill(&g->rt, id, *(int *)arg, false, &e) < 0)
		return cli_fail(125, &e);
	printf("%s\n", ref);
	return 0;
}

int cmd_kill(cli *c, int argc, char **argv)
{
	const char *sig = "KILL";
	const flag_def defs[] = {{"signal", 's', FLAG_STRING, &sig}, {0}};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return cli_fail(125, &e);
	int n = spec_signal_from_name(sig);
	if (n <= 0)
		return cli_failf(125, "invalid signal: %s", sig);
	return for_each(c, argc, argv, i, do_kill, &n);
}

typedef struct rm_args {
	bool force, volumes, quiet;
} rm_args;

static int do_rm(eng *g, const char *id, const char *ref, void *arg)
{
	rm_args *a = arg;
	const char *s = status_of(g, id, NULL);
	if (s && (!strcmp(s, "running") || !strcmp(s, "paused"))) {
		if (!a->force)
			return cli_failf(
			    125,
			    "cannot remove container \"%s\": container is %s: stop the "
			    "container before removing or force remove",
			    ref, s);
		berr e;
		if (!strcmp(s, "paused"))
			rt_pause(&g->rt, id, false, &e);
		rt_kill(&g->rt, id, SIGKILL, false, &e);
		ctr_wait_exit(g, id, 10000);
	}
	wait_monitor(g, id, 10000);
	berr e;
	if (eng_remove(g, id, a->volumes, &e) < 0)
		return cli_fail(125, &e);
	if (!a->quiet)
		printf("%s\n", ref);
	return 0;
}

int cmd_rm(cli *c, int argc, char **argv)
{
	rm_args a = {0};
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &a.force}, {"volumes", 'v', FLAG_BOOL, &a.volumes}, {0}};
	char **av = ctr_expand_short(argc, argv, "fv");
	berr e;
	int ac = (int)strv_len(av);
	int i = flags_parse(defs, ac, av, 1, &e);
	int rc = i < 0 ? cli_fail(125, &e) : for_each(c, ac, av, i, do_rm, &a);
	strv_free(av);
	return rc;
}

static int do_wait(eng *g, const char *id, const char *ref, void *arg)
{
	(void)ref;
	(void)arg;
	printf("%d\n", ctr_wait_exit(g, id, -1));
	fflush(stdout);
	return 0;
}

int cmd_wait(cli *c, int argc, char **argv)
{
	return for_each(c, argc, argv, 1, do_wait, NULL);
}

static int do_pause(eng *g, const char *id, const char *ref, void *arg)
{
	berr e;
	if (rt_pause(&g->rt, id, *(bool *)arg, &e) < 0)
		return cli_fail(125, &e);
	printf("%s\n", ref);
	return 0;
}

int cmd_pause(cli *c, int argc, char **argv)
{
	bool p = true;
	return for_each(c, argc, argv, 1, do_pause, &p);
}

int cmd_unpause(cli *c, int argc, char **argv)
{
	bool p = false;
	return for_each(c, argc, argv, 1, do_pause, &p);
}

/* inspect: containers first, then images (as Docker). */
int cmd_container_inspect(cli *c, int argc, char **argv)
{
	const char *type = NULL, *format = NULL;
	const flag_def defs[] = {
	    {"type", 0, FLAG_STRING, &type}, {"format", 'f', FLAG_STRING, &format}, {0}};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return cli_fail(125, &e);
	if (type && !strcmp(type, "image"))
		return cmd_inspect(c, argc, argv);
	if (i >= argc)
		return cli_failf(125, "\"inspect\" requires at least 1 argument");
	eng *g = ctr_open(c, &e);
	if (!g)
		return cmd_inspect(c, argc, argv);
	json_object *arr = json_object_new_array();
	bool all = true;
	for (int k = i; k < argc; k++) {
		char id[65];
		json_object *doc = NULL;
		if (eng_lookup(g, argv[k], id, &e) == 0 && (doc = eng_load(g, id, &e))) {
			eng_reconcile(g, id, doc);
			json_object *st;
			if (json_object_object_get_ex(doc, "State", &st)) {
				json_object_object_del(st, "MonitorStart");
			}
			json_object_array_add(arr, doc);
		} else {
			all = false;
		}
	}
	eng_close(g);
	if (!all || (type && strcmp(type, "container"))) {
		json_object_put(arr);
		if (type && !strcmp(type, "container"))
			return cli_failf(125, "no such container: %s", argv[i]);
		return cmd_inspect(c, argc, argv);
	}
	int rc = 0;
	if (format) {
		for (size_t k = 0; k < json_object_array_length(arr) && rc == 0; k++) {
			if (tmpl_render(format, json_object_array_get_idx(arr, k), stdout, &e) < 0)
				rc = cli_fail(125, &e);
			else
				putchar('\n');
		}
	} else {
		printf("%s\n", json_object_to_json_string_ext(
				   arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(arr);
	return rc;
}

/* berth container cleanup [--rm|--] ID: run by the monitor after the exit. */
static int cmd_cleanup(cli *c, int argc, char **argv)
{
	if (argc < 3)
		return 125;
	bool rm = !strcmp(argv[1], "--rm");
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	/* --rm: anonymous volumes go too, as with docker run --rm */
	int r = rm ? eng_remove(g, argv[2], true, &e) : eng_cleanup(g, argv[2], &e);
	eng_close(g);
	return r < 0 ? 125 : 0;
}

static int cmd_prune(cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	char **ids = eng_list(g);
	for (char **p = ids; *p; p++) {
		const char *s = status_of(g, *p, NULL);
		if (s && (!strcmp(s, "exited") || !strcmp(s, "created") || !strcmp(s, "dead"))) {
			wait_monitor(g, *p, 5000);
			if (eng_remove(g, *p, false, &e) == 0)
				printf("%s\n", *p);
		}
	}
	strv_free(ids);
	eng_close(g);
	return 0;
}

int cmd_exec(cli *c, int argc, char **argv)
{
	bool inter = false, tty = false, detach = false;
	char **env = NULL;
	const char *user = NULL, *wd = NULL;
	const flag_def defs[] = {{"interactive", 'i', FLAG_BOOL, &inter},
				 {"tty", 't', FLAG_BOOL, &tty},
				 {"detach", 'd', FLAG_BOOL, &detach},
				 {"env", 'e', FLAG_LIST, &env},
				 {"user", 'u', FLAG_STRING, &user},
				 {"workdir", 'w', FLAG_STRING, &wd},
				 {0}};
	char **av = ctr_expand_short(argc, argv, "itd");
	int ac = (int)strv_len(av);
	berr e;
	int rc = 125;
	eng *g = NULL;
	int i = flags_parse(defs, ac, av, 1, &e);
	if (i < 0) {
		rc = cli_fail(125, &e);
		goto out;
	}
	if (i + 1 >= ac) {
		rc = cli_failf(125, "\"exec\" requires at least 2 arguments");
		goto out;
	}
	g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_lookup(g, av[i], id, &e) < 0) {
		rc = cli_fail(125, &e);
		goto out;
	}
	const char *s = status_of(g, id, NULL);
	if (!s || strcmp(s, "running")) {
		rc = cli_failf(125, "container %s is not running", av[i]);
		goto out;
	}
	char *u = NULL;
	if (user) {
		_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
		int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		uid_t uid;
		gid_t gid;
		gid_t *groups;
		size_t ng;
		char *home;
		if (rfd < 0 ||
		    eng_resolve_user(rfd, user, &uid, &gid, &groups, &ng, &home, &e) < 0) {
			if (rfd >= 0)
				close(rfd);
			rc = cli_fail(125, &e);
			goto out;
		}
		close(rfd);
		free(groups);
		free(home);
		u = xasprintf("%u:%u", uid, gid);
	}
	rt_exec_opts o = {
	    .args = av + i + 1, .env = env, .cwd = wd, .user = u, .tty = tty, .detach = detach};
	int status = 0;
	/* -d: the process gets no stdio of ours (as Docker: a caller reading
	 * our output must not wait for the detached process to end) */
	int saved[3] = {-1, -1, -1};
	if (detach) {
		fflush(NULL);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3 && nul >= 0; fd++) {
			saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			dup2(nul, fd);
		}
		if (nul >= 0)
			close(nul);
	}
	int er = rt_exec(&g->rt, id, &o, &status, &e);
	for (int fd = 0; fd < 3; fd++)
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
		}
	if (er < 0) {
		rc = strstr(e.msg, "executable file not found") ? 127
		     : strstr(e.msg, "permission denied")	? 126
								: 125;
		cli_fail(rc, &e);
	} else {
		rc = status;
	}
	free(u);
out:
	eng_close(g);
	strv_free(env);
	strv_free(av);
	return rc;
}

int cmd_ps(cli *c, int argc, char **argv);
int cmd_logs(cli *c, int argc, char **argv);

int cmd_container(cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		cli_cmd_fn fn;
	} sub[] = {{"run", cmd_run},	     {"create", cmd_create},
		   {"start", cmd_start},     {"stop", cmd_stop},
		   {"restart", cmd_restart}, {"kill", cmd_kill},
		   {"rm", cmd_rm},	     {"wait", cmd_wait},
		   {"attach", cmd_attach},   {"pause", cmd_pause},
		   {"unpause", cmd_unpause}, {"inspect", cmd_container_inspect},
		   {"exec", cmd_exec},	     {"ps", cmd_ps},
		   {"ls", cmd_ps},	     {"list", cmd_ps},
		   {"logs", cmd_logs},	     {"prune", cmd_prune},
		   {"cleanup", cmd_cleanup}, {"stats", cmd_stats},
		   {"top", cmd_top},	     {"cp", cmd_cp}};
	if (argc < 2)
		return cli_failf(125, "usage: berth container COMMAND");
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++)
		if (!strcmp(sub[i].name, argv[1]))
			return sub[i].fn(c, argc - 1, argv + 1);
	return cli_failf(125, "unknown container command \"%s\"", argv[1]);
}
