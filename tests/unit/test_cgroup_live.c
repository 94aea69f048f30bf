/* cgroup behaviour on this host's real cgroups (v1 or hybrid; root).
 *
 * Each test makes its own cgroup under the test process's own cgroup
 * (relative cgroupsPath "berth-test-<pid>-<tag>"), forks helper processes
 * into it, measures, and removes it again even when a check fails: the test
 * body runs in a function of its own and the wrapper always tears down. */
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "test_cgroup_helpers.h"

static cgroup_ctx g_ctx;
static int g_state; /* 0 unknown, 1 live, -1 skip */

static bool live(void)
{
	if (g_state)
		return g_state > 0;
	berr e;
	g_state = -1;
	if (geteuid() != 0)
		printf("skipped: needs root\n");
	else if (cgroup_ctx_detect(&g_ctx, NULL, &e) < 0)
		printf("skipped: %s\n", e.msg);
	else if (g_ctx.mode == CGROUP_V2)
		printf("skipped: pure cgroup v2 host (these tests drive v1/hybrid)\n");
	else
		g_state = 1;
	return g_state > 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static cgroup *mk(const char *tag)
{
	char name[96];
	snprintf(name, sizeof(name), "berth-test-%d-%s", (int)getpid(), tag);
	berr e;
	cgroup *cg = cgroup_resolve(&g_ctx, name, "x", false, &e);
	if (!cg || cgroup_create(cg, &e) < 0) {
		fprintf(stderr, "%s: %s\n", tag, e.msg);
		cgroup_free(cg);
		return NULL;
	}
	return cg;
}

static bool all_gone(const cgroup *cg)
{
	bool gone = true;
	for (size_t i = 0; i < cg->n_v1; i++)
		if (access(cg->v1[i].path, F_OK) == 0) {
			fprintf(stderr, "left behind: %s\n", cg->v1[i].path);
			gone = false;
		}
	if (cg->v2 && access(cg->v2, F_OK) == 0) {
		fprintf(stderr, "left behind: %s\n", cg->v2);
		gone = false;
	}
	return gone;
}

/* Kill, reap our children, remove; returns false if anything remains. */
static bool teardown(cgroup *cg)
{
	if (!cg)
		return true;
	berr e;
	if (cgroup_kill_all(cg, &e) < 0)
		fprintf(stderr, "kill_all: %s\n", e.msg);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	bool ok = cgroup_destroy(cg, &e) == 0;
	if (!ok)
		fprintf(stderr, "destroy: %s\n", e.msg);
	ok &= all_gone(cg);
	cgroup_free(cg);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return ok;
}

#define LIVE_TEST(name, tag)                                                                       \
	static void name##_body(cgroup *cg);                                                       \
	static void name(void)                                                                     \
	{                                                                                          \
		if (!live())                                                                       \
			return;                                                                    \
		cgroup *cg = mk(tag);                                                              \
		CHECK(cg);                                                                         \
		name##_body(cg);                                                                   \
		CHECK(teardown(cg));                                                               \
	}                                                                                          \
	static void name##_body(cgroup *cg)

typedef int (*child_fn)(void *arg);

/* Fork a helper that joins the cgroup, then runs fn. */
static pid_t spawn(const cgroup *cg, child_fn fn, void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		berr e;
		if (cgroup_enter(cg, getpid(), &e) < 0) {
			fprintf(stderr, "enter: %s\n", e.msg);
			_exit(120);
		}
		_exit(fn(arg));
	}
	return pid;
}

/* waitpid with a bound; kills the child on timeout. */
static int wait_child(pid_t pid, int timeout_ms, int *status)
{
	for (long end = now_ms() + timeout_ms;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -1;
		}
		msleep(5);
	}
}

static int apply(const cgroup *cg, const spec_resources *r)
{
	berr e;
	char **warn = NULL;
	int rc = cgroup_apply(cg, r, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "apply: %s\n", e.msg);
	strv_free(warn);
	return rc;
}

static uint64_t read_num(const char *dir, const char *file)
{
	berr e;
	char *s = cg_read(dir, file, &e);
	uint64_t v = s ? strtoull(s, NULL, 10) : UINT64_MAX;
	free(s);
	return v;
}

/* ---- helper process bodies --------------------------------------------- */

static int fn_eat_memory(void *arg)
{
	size_t sz = (size_t)(uintptr_t)arg;
	char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < sz; i += 4096)
		p[i] = 1;
	return 0; /* survived: the limit did not hold */
}

/* Fork up to 200 children that block on a pipe; exit code = how many forks
 * succeeded, +100 if the failure was not EAGAIN. */
static int fn_fork_many(void *arg)
{
	(void)arg;
	int pfd[2];
	if (pipe(pfd) < 0)
		return 250;
	int n = 0, err = 0;
	for (int i = 0; i < 200; i++) {
		pid_t c = fork();
		if (c == 0) {
			char b;
			close(pfd[1]);
			while (read(pfd[0], &b, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		if (c < 0) {
			err = errno;
			break;
		}
		n++;
	}
	close(pfd[1]);
	while (wait(NULL) > 0)
		;
	return n + (err == EAGAIN ? 0 : 100);
}

static int fn_spin(void *arg)
{
	(void)arg;
	long end = now_ms() + 10000;
	volatile unsigned long x = 0;
	while (now_ms() < end)
		for (int i = 0; i < 100000; i++)
			x++;
	return 0;
}

static int fn_count(void *arg)
{
	volatile unsigned long *c = arg;
	long end = now_ms() + 20000;
	while (now_ms() < end)
		(*c)++;
	return 0;
}

static int fn_sleep(void *arg)
{
	(void)arg;
	msleep(20000);
	return 0;
}

static int fn_family(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		if (fork() == 0) {
			msleep(20000);
			_exit(0);
		}
	msleep(20000);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

LIVE_TEST(test_oom_kill_reported, "oom")
{
	spec_resources r = {0};
	r.memory.limit = (opt_i64){true, 32 << 20};
	r.memory.swap = (opt_i64){true, 32 << 20};
	CHECK(apply(cg, &r) == 0);
	berr e;
	cgroup_oom o;
	CHECK(cgroup_oom_open(cg, &o, &e) == 0);
	pid_t pid = spawn(cg, fn_eat_memory, (void *)(uintptr_t)(256u << 20));
	int st = 0;
	int w = wait_child(pid, 20000, &st);
	struct pollfd p = {.fd = o.fd, .events = POLLIN};
	int pr = poll(&p, 1, 3000);
	uint64_t n = 0, count = 0;
	int rr = cgroup_oom_read(&o, &n, &e);
	int rc = cgroup_oom_count(cg, &count, &e);
	cgroup_oom_close(&o);
	CHECK(w == 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK(pr == 1 && (p.revents & POLLIN));
	CHECK(rr == 0 && n >= 1);
	CHECK(rc == 0 && count >= 1);
}

LIVE_TEST(test_pids_limit_stops_fork_bomb, "pids")
{
	spec_resources r = {0};
	r.pids_limit = (opt_i64){true, 10};
	CHECK(apply(cg, &r) == 0);
	int st;
	pid_t pid = spawn(cg, fn_fork_many, NULL);
	CHECK(wait_child(pid, 20000, &st) == 0);
	CHECK(WIFEXITED(st));
	/* the helper itself is one of the 10 */
	if (WEXITSTATUS(st) != 9)
		fprintf(stderr, "forks: %d\n", WEXITSTATUS(st));
	CHECK(WEXITSTATUS(st) == 9);
}

LIVE_TEST(test_cpu_quota_half_core, "cpu")
{
	spec_resources r = {0};
	r.cpu.quota = (opt_i64){true, 50000};
	r.cpu.period = (opt_u64){true, 100000};
	/* top weight, so other work on this shared host does not starve the
	 * spinner: what holds it at half a core is then the quota alone */
	r.cpu.shares = (opt_u64){true, 262144};
	CHECK(apply(cg, &r) == 0);
	const char *acct = cg_v1_dir(cg, CG_CPUACCT);
	CHECK(acct);
	pid_t pid = spawn(cg, fn_spin, NULL);
	msleep(300);
	long t0 = now_ms();
	uint64_t u0 = read_num(acct, "cpuacct.usage");
	msleep(1500);
	long t1 = now_ms();
	uint64_t u1 = read_num(acct, "cpuacct.usage");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	double share = (double)(u1 - u0) / ((double)(t1 - t0) * 1e6);
	printf("cpu share under a 0.5 quota: %.3f\n", share);
	CHECK(share > 0.35 && share < 0.65);
	/* and the kernel says it throttled the cgroup */
	berr e;
	cgroup_stats s;
	CHECK(cgroup_stats_read(cg, &s, &e) == 0);
	uint64_t thr = s.cpu.throttled_periods;
	printf("periods %" PRIu64 " throttled %" PRIu64 "\n", s.cpu.periods,
	       s.cpu.throttled_periods);
	cgroup_stats_clear(&s);
	CHECK(thr > 0);
}

LIVE_TEST(test_update_live_limits, "update")
{
	const char *mem = cg_v1_dir(cg, CG_MEMORY);
	CHECK(mem);
	spec_resources r = {0};
	r.memory.limit = (opt_i64){true, 64 << 20};
	r.pids_limit = (opt_i64){true, 20};
	CHECK(apply(cg, &r) == 0);
	CHECK(read_num(mem, "memory.limit_in_bytes") == 64u << 20);
	pid_t sleeper = spawn(cg, fn_sleep, NULL);
	/* update while a process lives in it */
	spec_resources u = {0};
	u.memory.limit = (opt_i64){true, 48 << 20};
	u.pids_limit = (opt_i64){true, 5};
	CHECK(apply(cg, &u) == 0);
	CHECK(read_num(mem, "memory.limit_in_bytes") == 48u << 20);
	CHECK(read_num(cg_v1_dir(cg, CG_PIDS), "pids.max") == 5);
	int st;
	pid_t pid = spawn(cg, fn_fork_many, NULL);
	CHECK(wait_child(pid, 20000, &st) == 0);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	/* memory+swap up and down again: the write order keeps memory <=
	 * memory+swap at every step, else the kernel says EINVAL */
	spec_resources sw = {0};
	sw.memory.limit = (opt_i64){true, 32 << 20};
	sw.memory.swap = (opt_i64){true, 32 << 20};
	spec_resources up = {0};
	up.memory.limit = (opt_i64){true, 96 << 20};
	up.memory.swap = (opt_i64){true, 128 << 20};
	bool has_memsw = cg_exists(mem, "memory.memsw.limit_in_bytes");
	if (has_memsw) {
		CHECK(apply(cg, &sw) == 0);
		CHECK(apply(cg, &up) == 0);
		CHECK(read_num(mem, "memory.memsw.limit_in_bytes") == 128u << 20);
		CHECK(read_num(mem, "memory.limit_in_bytes") == 96u << 20);
		CHECK(apply(cg, &sw) == 0);
		CHECK(read_num(mem, "memory.memsw.limit_in_bytes") == 32u << 20);
	}
	/* 5 = sleeper + helper + 3 forks */
	if (WEXITSTATUS(st) != 3)
		fprintf(stderr, "forks: %d\n", WEXITSTATUS(st));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
}

LIVE_TEST(test_freeze_thaw, "freeze")
{
	volatile unsigned long *c =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(c != MAP_FAILED);
	pid_t pid = spawn(cg, fn_count, (void *)c);
	while (*c == 0)
		msleep(1);
	berr e;
	bool frozen = false;
	int fr = cgroup_freeze(cg, true, &e);
	int fs = cgroup_is_frozen(cg, &frozen, &e);
	unsigned long a = *c;
	msleep(250);
	unsigned long b = *c;
	int th = cgroup_freeze(cg, false, &e);
	msleep(100);
	unsigned long d = *c;
	bool after = true;
	cgroup_is_frozen(cg, &after, &e);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	munmap((void *)c, 4096);
	CHECK(fr == 0 && fs == 0 && frozen);
	CHECK(a == b);
	CHECK(th == 0 && !after);
	CHECK(d > b);
}

/* Opens zero/null device nodes in dir; exit code bit 0: zero denied with
 * EPERM, bit 1: null opened, bit 2: zero opened read-only. */
struct devpaths {
	char zero[128], null_[128];
	int zero_flags;
};

static int fn_open_devices(void *arg)
{
	struct devpaths *d = arg;
	int rc = 0;
	int fd = open(d->zero, d->zero_flags | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		rc |= 1;
	if (fd >= 0)
		close(fd), rc |= 4;
	fd = open(d->null_, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		close(fd), rc |= 2;
	return rc;
}

static bool make_nodes(struct devpaths *d, char **dir)
{
	*dir = tf_mkdtemp();
	snprintf(d->zero, sizeof(d->zero), "%s/zero", *dir);
	snprintf(d->null_, sizeof(d->null_), "%s/null", *dir);
	d->zero_flags = O_RDONLY;
	return mknod(d->zero, S_IFCHR | 0666, makedev(1, 5)) == 0 &&
	       mknod(d->null_, S_IFCHR | 0666, makedev(1, 3)) == 0;
}

static int run_open(const cgroup *cg, struct devpaths *d)
{
	int st;
	pid_t pid = spawn(cg, fn_open_devices, d);
	if (wait_child(pid, 10000, &st) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

LIVE_TEST(test_devices_v1_deny_all_allow_null, "dev1")
{
	struct devpaths d;
	char *dir;
	bool made = make_nodes(&d, &dir);
	spec_dev_rule rules[] = {{true, 'c', 1, 3, "rwm"}};
	spec_resources r = {0};
	r.devices = rules;
	r.n_devices = 1;
	int ap = made ? apply(cg, &r) : -1;
	berr e;
	char *list = cg_read(cg_v1_dir(cg, CG_DEVICES), "devices.list", &e);
	int rc = ap == 0 ? run_open(cg, &d) : -1;
	tf_rm(dir);
	bool list_ok = list && !strcmp(list, "c 1:3 rwm\n");
	if (!list_ok)
		fprintf(stderr, "devices.list: %s\n", list ? list : "(null)");
	free(list);
	CHECK(made && ap == 0);
	CHECK(list_ok);
	CHECK(rc == 3); /* zero: EPERM; null: opened */
}

/* Opens the null node in a loop for ~1.5 s; exit code = EPERM failures
 * (capped), 250 if it never opened at all. */
static int fn_open_loop(void *arg)
{
	struct devpaths *d = arg;
	int fails = 0, ok = 0;
	for (long end = now_ms() + 1500; now_ms() < end;) {
		int fd = open(d->null_, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			ok++;
		} else if (errno == EPERM) {
			fails++;
		}
	}
	return ok == 0 ? 250 : fails > 200 ? 200 : fails;
}

/* update on a running container: devices that stay allowed never flicker
 * (v1 writes only the difference instead of "deny a" + replay). */
LIVE_TEST(test_devices_v1_update_no_gap, "dev1u")
{
	struct devpaths d;
	char *dir;
	bool made = make_nodes(&d, &dir);
	size_t n;
	spec_resources r = {0};
	r.devices = tf_default_rules(&n);
	r.n_devices = n;
	int a0 = made ? apply(cg, &r) : -1;
	pid_t pid = a0 == 0 ? spawn(cg, fn_open_loop, &d) : -1;
	spec_dev_rule fewer[] = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, "rwm"}};
	spec_resources r2 = {0};
	r2.devices = fewer;
	r2.n_devices = 2;
	int bad = 0;
	msleep(50);
	for (int i = 0; pid > 0 && i < 40; i++) {
		bad += apply(cg, &r) != 0;
		bad += apply(cg, i % 2 ? &r2 : &r) != 0;
	}
	int st = 0;
	int w = pid > 0 ? wait_child(pid, 10000, &st) : -1;
	/* the last update left only null */
	bad += apply(cg, &r2) != 0;
	berr e;
	char *list = cg_read(cg_v1_dir(cg, CG_DEVICES), "devices.list", &e);
	bool list_ok = list && !strcmp(list, "c 1:3 rwm\n");
	if (!list_ok)
		fprintf(stderr, "devices.list: %s\n", list ? list : "(null)");
	free(list);
	int rc = run_open(cg, &d);
	tf_rm(dir);
	CHECK(made && a0 == 0 && bad == 0);
	CHECK(w == 0 && WIFEXITED(st));
	if (WEXITSTATUS(st))
		fprintf(stderr, "EPERM on null during updates: %d\n", WEXITSTATUS(st));
	CHECK(WEXITSTATUS(st) == 0);
	CHECK(list_ok);
	CHECK(rc == 3);
}

/* The generated eBPF program enforcing on the v2 cgroup (hybrid tree), and
 * an update replacing (not stacking on) the old program. */
LIVE_TEST(test_devices_bpf_enforced_and_replaced, "dev2")
{
	if (!cg->v2) {
		printf("skipped: no cgroup2 tree for the eBPF device test\n");
		return;
	}
	struct devpaths d;
	char *dir;
	bool made = make_nodes(&d, &dir);
	berr e;
	spec_dev_rule rules[] = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, "rwm"}};
	int a1 = cgroup_bpf_devices_apply(cg->v2, rules, 2, &e);
	if (a1 < 0)
		fprintf(stderr, "%s\n", e.msg);
	int rc1 = a1 == 0 ? run_open(cg, &d) : -1;
	spec_dev_rule rules2[] = {{true, 'c', 1, 3, "rwm"}, {true, 'c', 1, 5, "r"}};
	int a2 = cgroup_bpf_devices_apply(cg->v2, rules2, 2, &e);
	int rc2 = a2 == 0 ? run_open(cg, &d) : -1;
	d.zero_flags = O_WRONLY;
	int rc3 = a2 == 0 ? run_open(cg, &d) : -1;
	tf_rm(dir);
	CHECK(made && a1 == 0 && a2 == 0);
	CHECK(rc1 == 3); /* zero denied, null allowed */
	CHECK(rc2 == 6); /* zero readable now: the old program is gone */
	CHECK(rc3 == 3); /* but not writable */
}

static size_t count_pids(const cgroup *cg)
{
	pid_t *p = NULL;
	size_t n = 0;
	berr e;
	if (cgroup_pids(cg, &p, &n, &e) < 0)
		return (size_t)-1;
	free(p);
	return n;
}

static bool wait_pids(const cgroup *cg, size_t want)
{
	for (int i = 0; i < 400; i++) {
		if (count_pids(cg) == want)
			return true;
		msleep(5);
	}
	return false;
}

LIVE_TEST(test_kill_all, "kill")
{
	pid_t pid = spawn(cg, fn_family, NULL);
	CHECK(wait_pids(cg, 5));
	berr e;
	int rc = cgroup_kill_all(cg, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	int st;
	waitpid(pid, &st, 0);
	CHECK(rc == 0);
	CHECK(count_pids(cg) == 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* A pure v1 view of this host: the hierarchies detection finds mounted
 * (not every directory under the root: a stray empty one is no hierarchy). */
static int v1_view_ctx(cgroup_ctx *v1, berr *e)
{
	if (cgroup_ctx_detect(v1, g_ctx.root, e) < 0)
		return -1;
	v1->mode = CGROUP_V1;
	return 0;
}

/* Without cgroup.kill (a pure v1 view of the same host): freeze, SIGKILL
 * every pid, thaw, repeat. */
LIVE_TEST(test_kill_all_v1_fallback, "kill1")
{
	cgroup_ctx v1;
	berr e;
	CHECK(v1_view_ctx(&v1, &e) == 0);
	cgroup *view = cgroup_resolve(&v1, cg->path, "x", false, &e);
	cgroup_ctx_clear(&v1);
	if (!view)
		fprintf(stderr, "v1 view of %s: %s\n", cg->path, e.msg);
	CHECK(view && !view->v2);
	/* a sub-cgroup the container made, with a process of its own */
	char *inner_path = xasprintf("%s/inner", cg->path);
	CHECK(v1_view_ctx(&v1, &e) == 0);
	cgroup *inner = cgroup_resolve(&v1, inner_path, "x", false, &e);
	cgroup_ctx_clear(&v1);
	free(inner_path);
	bool inner_ok = inner && cgroup_create(inner, &e) == 0;
	pid_t ipid = inner_ok ? spawn(inner, fn_sleep, NULL) : -1;
	cgroup_free(inner);
	pid_t pid = spawn(cg, fn_family, NULL);
	bool five = wait_pids(view, inner_ok ? 6 : 5);
	int rc = cgroup_kill_all(view, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	size_t left = count_pids(view);
	cgroup_free(view);
	waitpid(pid, NULL, 0);
	if (ipid > 0)
		waitpid(ipid, NULL, 0);
	CHECK(inner_ok);
	CHECK(five);
	CHECK(rc == 0 && left == 0);
}

LIVE_TEST(test_stats_json, "stats")
{
	spec_resources r = {0};
	r.memory.limit = (opt_i64){true, 64 << 20};
	r.pids_limit = (opt_i64){true, 50};
	CHECK(apply(cg, &r) == 0);
	pid_t pid = spawn(cg, fn_spin, NULL);
	msleep(300);
	berr e;
	cgroup_stats s;
	int rc = cgroup_stats_read(cg, &s, &e);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(rc == 0);
	char *js = cgroup_stats_json(&s, "ctr");
	cgroup_stats_clear(&s);
	json_object *o = json_tokener_parse(js);
	free(js);
	CHECK(o);
	json_object *data, *x;
	bool ok = json_object_object_get_ex(o, "data", &data) &&
		  json_object_object_get_ex(o, "type", &x) &&
		  !strcmp(json_object_get_string(x), "stats") &&
		  json_object_object_get_ex(o, "id", &x) &&
		  !strcmp(json_object_get_string(x), "ctr");
	uint64_t total = 0, limit = 0, cur = 0, plim = 0;
	size_t npercpu = 0;
	bool raw = false, thr = false, kern = false;
	if (ok) {
		json_object *cpu, *usage, *mem, *pids, *mu;
		ok = json_object_object_get_ex(data, "cpu", &cpu) &&
		     json_object_object_get_ex(cpu, "usage", &usage) &&
		     json_object_object_get_ex(data, "memory", &mem) &&
		     json_object_object_get_ex(mem, "usage", &mu) &&
		     json_object_object_get_ex(data, "pids", &pids) &&
		     json_object_object_get_ex(data, "blkio", &x) &&
		     json_object_object_get_ex(data, "hugetlb", &x);
		if (ok) {
			if (json_object_object_get_ex(usage, "total", &x))
				total = json_object_get_uint64(x);
			if (json_object_object_get_ex(usage, "percpu", &x))
				npercpu = json_object_array_length(x);
			kern = json_object_object_get_ex(usage, "kernel", &x) &&
			       json_object_object_get_ex(usage, "user", &x);
			thr = json_object_object_get_ex(cpu, "throttling", &x);
			if (json_object_object_get_ex(mu, "limit", &x))
				limit = json_object_get_uint64(x);
			raw = json_object_object_get_ex(mem, "raw", &x) &&
			      json_object_object_get_ex(x, "cache", &x);
			if (json_object_object_get_ex(pids, "current", &x))
				cur = json_object_get_uint64(x);
			if (json_object_object_get_ex(pids, "limit", &x))
				plim = json_object_get_uint64(x);
		}
	}
	json_object_put(o);
	CHECK(ok);
	CHECK(total > 0);
	CHECK(npercpu == (size_t)sysconf(_SC_NPROCESSORS_CONF));
	CHECK(kern && thr && raw);
	CHECK(limit == 64u << 20);
	CHECK(cur >= 1 && plim == 50);
}

/* hugetlb limits and stats, when this host mounts the v1 controller. */
LIVE_TEST(test_hugetlb_limit, "huge")
{
	const char *h = cg_v1_dir(cg, CG_HUGETLB);
	if (!h || !cg_exists(h, "hugetlb.2MB.limit_in_bytes")) {
		printf("skipped: no v1 hugetlb controller with 2MB pages mounted\n");
		return;
	}
	spec_hugepage hp[] = {{.page_size = "2MB", .limit = 4u << 20}};
	spec_resources r = {0};
	r.hugepages = hp;
	r.n_hugepages = 1;
	CHECK(apply(cg, &r) == 0);
	CHECK(read_num(h, "hugetlb.2MB.limit_in_bytes") == 4u << 20);
	berr e;
	cgroup_stats st;
	CHECK(cgroup_stats_read(cg, &st, &e) == 0);
	bool found = false;
	for (size_t i = 0; i < st.n_hugetlb; i++)
		found |= !strcmp(st.hugetlb[i].size, "2MB");
	cgroup_stats_clear(&st);
	CHECK(found);
	/* a page size that is no file name */
	spec_hugepage bad[] = {{.page_size = "../2MB", .limit = 1}};
	r.hugepages = bad;
	CHECK(cgroup_apply(cg, &r, NULL, &e) < 0);
}

/* Destroy from state.json alone (as `delete` after the runtime was killed):
 * live processes and a sub-cgroup the container made are removed too. */
LIVE_TEST(test_destroy_from_state, "destroy")
{
	pid_t pid = spawn(cg, fn_sleep, NULL);
	CHECK(wait_pids(cg, 1));
	char *sub = xasprintf("%s/inner", cg_v1_dir(cg, CG_MEMORY));
	int mk_sub = mkdir(sub, 0755);
	free(sub);
	char *state = cgroup_serialize(cg);
	berr e;
	cgroup *back = cgroup_deserialize(state, &e);
	free(state);
	CHECK(back);
	int d1 = cgroup_destroy(back, &e);
	if (d1 < 0)
		fprintf(stderr, "%s\n", e.msg);
	int d2 = cgroup_destroy(back, &e); /* idempotent */
	bool gone = all_gone(back);
	cgroup_free(back);
	int st;
	waitpid(pid, &st, 0);
	CHECK(mk_sub == 0);
	CHECK(d1 == 0 && d2 == 0);
	CHECK(gone);
	CHECK(WIFSIGNALED(st));
}

/* ---- the in-container mount --------------------------------------------- */

struct mount_arg {
	const cgroup *cg;
	const char *root;
	bool cgns;
};

/* In a private mount namespace (and a cgroup namespace when asked): set up
 * the mount and check what the container would see. Exit code = failing
 * step. */
static int fn_mount(void *arg)
{
	struct mount_arg *m = arg;
	berr e;
	if (unshare(CLONE_NEWNS | (m->cgns ? CLONE_NEWCGROUP : 0)) < 0)
		return 10;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 11;
	int rootfd = open(m->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return 12;
	unsigned long fl = m->cgns ? 0 : MS_RDONLY;
	if (cgroup_mount_setup(m->cg, rootfd, "/sys/fs/cgroup", fl, m->cgns, &e) < 0) {
		fprintf(stderr, "mount setup: %s\n", e.msg);
		return 13;
	}
	char *base = xasprintf("%s/sys/fs/cgroup", m->root);
	char *memdir = xasprintf("%s/memory", base);
	/* the container's own limit is what it sees at the top */
	if (read_num(memdir, "memory.limit_in_bytes") != 40u << 20)
		return 14;
	char *cpu = xasprintf("%s/cpu/cpu.cfs_quota_us", base);
	if (access(cpu, F_OK) < 0)
		return 15;
	if (m->cg->v2) {
		char *u = xasprintf("%s/unified/cgroup.procs", base);
		if (access(u, F_OK) < 0)
			return 16;
	}
	if (!m->cgns) {
		/* read-only: neither the knobs nor the tmpfs can be written */
		if (cg_write(memdir, "memory.limit_in_bytes", "1000000", &e) == 0 ||
		    e.errnum != EROFS)
			return 17;
		char *x = xasprintf("%s/newdir", base);
		if (mkdir(x, 0755) == 0 || errno != EROFS)
			return 18;
	}
	return 0;
}

static void mount_case(cgroup *cg, bool cgns)
{
	spec_resources r = {0};
	r.memory.limit = (opt_i64){true, 40 << 20};
	CHECK(apply(cg, &r) == 0);
	char *root = tf_mkdtemp();
	struct mount_arg m = {cg, root, cgns};
	int st;
	pid_t pid = spawn(cg, fn_mount, &m);
	int w = wait_child(pid, 10000, &st);
	tf_rm(root);
	CHECK(w == 0 && WIFEXITED(st));
	if (WEXITSTATUS(st))
		fprintf(stderr, "mount check failed at step %d\n", WEXITSTATUS(st));
	CHECK(WEXITSTATUS(st) == 0);
}

LIVE_TEST(test_mount_bind_readonly, "mnt")
{
	mount_case(cg, false);
}

LIVE_TEST(test_mount_own_cgroupns, "mntns")
{
	mount_case(cg, true);
}

/* ---- the v2 code paths on the real cgroup2 tree -------------------------
 * On a hybrid host, /sys/fs/cgroup/unified is a real cgroup2 mount with no
 * controllers: driving it as a CGROUP_V2 root exercises the v2 freezer,
 * cgroup.kill, cpu.stat, the eBPF device filter through cgroup_apply() and
 * the v2 mounts for real. The directory is made by hand so that create()
 * does not enable controllers in the host's root subtree_control. */

static cgroup *mk_v2view(const char *tag)
{
	cgroup_ctx v;
	berr e;
	if (cgroup_ctx_init(&v, CGROUP_V2, "/sys/fs/cgroup/unified", &e) < 0)
		return NULL;
	char name[96];
	snprintf(name, sizeof(name), "berth-test-%d-%s", (int)getpid(), tag);
	cgroup *cg = cgroup_resolve(&v, name, "x", false, &e);
	cgroup_ctx_clear(&v);
	if (!cg)
		return NULL;
	/* no v2 root: create() then enables no controllers anywhere */
	free(cg->v2_root);
	cg->v2_root = NULL;
	if (mkdir(cg->v2, 0755) < 0 || cgroup_create(cg, &e) < 0) {
		fprintf(stderr, "%s: %s\n", cg->v2, strerror(errno));
		rmdir(cg->v2);
		cgroup_free(cg);
		return NULL;
	}
	return cg;
}

#define V2VIEW_TEST(name, tag)                                                                     \
	static void name##_body(cgroup *cg);                                                       \
	static void name(void)                                                                     \
	{                                                                                          \
		if (!live())                                                                       \
			return;                                                                    \
		if (g_ctx.mode != CGROUP_HYBRID) {                                                 \
			printf("skipped: %s needs a cgroup2 tree\n", #name);                       \
			return;                                                                    \
		}                                                                                  \
		cgroup *cg = mk_v2view(tag);                                                       \
		CHECK(cg);                                                                         \
		CHECK(cg->mode == CGROUP_V2 && cg->n_v1 == 0);                                     \
		name##_body(cg);                                                                   \
		CHECK(teardown(cg));                                                               \
	}                                                                                          \
	static void name##_body(cgroup *cg)

V2VIEW_TEST(test_v2_freeze_stats_kill, "v2fz")
{
	volatile unsigned long *c =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(c != MAP_FAILED);
	pid_t pid = spawn(cg, fn_count, (void *)c);
	for (int i = 0; i < 2000 && *c == 0; i++)
		msleep(1);
	berr e;
	bool frozen = false, after = true;
	int fr = cgroup_freeze(cg, true, &e);
	int fs = cgroup_is_frozen(cg, &frozen, &e);
	unsigned long a = *c;
	msleep(250);
	unsigned long b = *c;
	int th = cgroup_freeze(cg, false, &e);
	msleep(100);
	unsigned long d = *c;
	cgroup_is_frozen(cg, &after, &e);
	cgroup_stats st;
	int sr = cgroup_stats_read(cg, &st, &e);
	uint64_t total = sr == 0 ? st.cpu.total : 0, user = sr == 0 ? st.cpu.user : 0;
	if (sr == 0)
		cgroup_stats_clear(&st);
	/* cgroup.kill */
	int kr = cgroup_kill_all(cg, &e);
	int status = 0;
	waitpid(pid, &status, 0);
	munmap((void *)c, 4096);
	CHECK(fr == 0 && fs == 0 && frozen);
	CHECK(a == b);
	CHECK(th == 0 && !after && d > b);
	CHECK(sr == 0 && total > 0 && user > 0);
	CHECK(kr == 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(count_pids(cg) == 0);
}

V2VIEW_TEST(test_v2_devices_through_apply, "v2dev")
{
	struct devpaths d;
	char *dir;
	bool made = make_nodes(&d, &dir);
	size_t n;
	spec_resources r = {0};
	r.devices = tf_default_rules(&n); /* runc's defaults: zero allowed */
	r.n_devices = n;
	int a1 = apply(cg, &r);
	int rc1 = a1 == 0 ? run_open(cg, &d) : -1;
	spec_dev_rule only_null[] = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, "rwm"}};
	r.devices = only_null;
	r.n_devices = 2;
	int a2 = apply(cg, &r); /* update: replaces the program */
	int rc2 = a2 == 0 ? run_open(cg, &d) : -1;
	tf_rm(dir);
	CHECK(made && a1 == 0 && a2 == 0);
	CHECK(rc1 == 6); /* zero and null both open */
	CHECK(rc2 == 3); /* zero EPERM, null opens */
}

struct v2mount_arg {
	const cgroup *cg;
	const char *root;
	bool cgns;
};

/* The container sees its own cgroup at the top of the mount, with itself
 * in cgroup.procs; read-only when asked. */
static int fn_mount_v2(void *arg)
{
	struct v2mount_arg *m = arg;
	berr e;
	if (unshare(CLONE_NEWNS | (m->cgns ? CLONE_NEWCGROUP : 0)) < 0)
		return 10;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 11;
	int rootfd = open(m->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return 12;
	if (cgroup_mount_setup(m->cg, rootfd, "/sys/fs/cgroup", m->cgns ? 0 : MS_RDONLY, m->cgns,
			       &e) < 0) {
		fprintf(stderr, "mount setup: %s\n", e.msg);
		return 13;
	}
	char *base = xasprintf("%s/sys/fs/cgroup", m->root);
	char *procs = cg_read(base, "cgroup.procs", &e);
	if (!procs)
		return 14;
	char me[32];
	snprintf(me, sizeof(me), "%d\n", (int)getpid());
	if (strcmp(procs, me))
		return 15;
	struct statfs sf;
	if (statfs(base, &sf) < 0 || sf.f_type != 0x63677270)
		return 16;
	if (!m->cgns && (cg_write(base, "cgroup.procs", me, &e) == 0 || e.errnum != EROFS))
		return 17;
	return 0;
}

static void v2mount_case(cgroup *cg, bool cgns)
{
	char *root = tf_mkdtemp();
	struct v2mount_arg m = {cg, root, cgns};
	int st;
	pid_t pid = spawn(cg, fn_mount_v2, &m);
	int w = wait_child(pid, 10000, &st);
	tf_rm(root);
	CHECK(w == 0 && WIFEXITED(st));
	if (WEXITSTATUS(st))
		fprintf(stderr, "v2 mount check failed at step %d\n", WEXITSTATUS(st));
	CHECK(WEXITSTATUS(st) == 0);
}

V2VIEW_TEST(test_v2_mount_bind_readonly, "v2mnt")
{
	v2mount_case(cg, false);
}

V2VIEW_TEST(test_v2_mount_own_cgroupns, "v2mntns")
{
	v2mount_case(cg, true);
}

/* clone3(CLONE_INTO_CGROUP) with the fd puts the child straight into the
 * cgroup (v2 tree; in hybrid that is the tracking tree). */
LIVE_TEST(test_clone_into_cgroup_fd, "fd")
{
	berr e;
	int fd = cgroup_v2_dir_fd(cg, &e);
	if (!cg->v2) {
		CHECK(fd < 0);
		return;
	}
	CHECK(fd >= 0);
	int fl = fcntl(fd, F_GETFD);
	struct clone_args args = {
	    .flags = CLONE_INTO_CGROUP,
	    .exit_signal = SIGCHLD,
	    .cgroup = (uint64_t)fd,
	};
	fflush(NULL);
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		for (;;)
			pause();
	}
	close(fd);
	pid_t *pids = NULL;
	size_t n = 0;
	int rc = pid > 0 ? cgroup_pids(cg, &pids, &n, &e) : -1;
	bool found = rc == 0 && n == 1 && pids[0] == pid;
	free(pids);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CHECK(fl & FD_CLOEXEC);
	CHECK(pid > 0);
	CHECK(found);
}

/* Detection against an independent look at the mounts. */
static void test_detect_mode(void)
{
	if (!live())
		return;
	struct statfs u;
	bool unified = statfs("/sys/fs/cgroup/unified", &u) == 0 && u.f_type == 0x63677270;
	CHECK(g_ctx.mode == (unified ? CGROUP_HYBRID : CGROUP_V1));
	bool mem = false;
	for (size_t i = 0; i < g_ctx.n_hier; i++)
		mem |= g_ctx.hier[i].ctrl == CG_MEMORY && !strcmp(g_ctx.hier[i].name, "memory");
	CHECK(mem);
	CHECK_STREQ(g_ctx.root, "/sys/fs/cgroup");
}

CHECK_MAIN(test_detect_mode, test_oom_kill_reported, test_pids_limit_stops_fork_bomb,
	   test_cpu_quota_half_core, test_update_live_limits, test_freeze_thaw,
	   test_devices_v1_deny_all_allow_null, test_devices_v1_update_no_gap,
	   test_devices_bpf_enforced_and_replaced, test_kill_all, test_kill_all_v1_fallback,
	   test_stats_json, test_hugetlb_limit, test_destroy_from_state, test_mount_bind_readonly,
	   test_mount_own_cgroupns, test_clone_into_cgroup_fd, test_v2_freeze_stats_kill,
	   test_v2_devices_through_apply, test_v2_mount_bind_readonly, test_v2_mount_own_cgroupns)
