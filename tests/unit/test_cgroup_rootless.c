/* Rootless cgroups (issue #14): the delegated root found in fake v1/v2
 * trees (engine/cgparent.c), and the partial create that keeps only the
 * hierarchies the caller may write (cgroup_rootless.c). Ownership is what
 * marks a delegation, so the trees are chowned: those cases need root. */
#include <sys/wait.h>

#include "check.h"
#include "engine/cgparent.h"
#include "test_cgroup_helpers.h"

#define OTHER 4242 /* owns what is not delegated */

static bool need_root(void)
{
	if (geteuid() != 0) {
		printf("skip: chown of the fake tree needs root\n");
		return false;
	}
	return true;
}

/* root/rel: a cgroup directory with cgroup.procs, owned by uid. */
static void cgdir(const char *root, const char *rel, uid_t uid)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", rel);
	tf_put(root, procs, "");
	_cleanup_free_ char *d = xasprintf("%s/%s", root, rel);
	_cleanup_free_ char *p = xasprintf("%s/%s", root, procs);
	if (chown(d, uid, uid) < 0 || chown(p, uid, uid) < 0)
		abort();
}

static cgroup_ctx *ctx_for(cgroup_ctx *ctx, enum cgroup_mode m, const char *root, const char *self)
{
	berr e;
	if (cgroup_ctx_init(ctx, m, root, &e) < 0)
		return NULL;
	tf_put(root, "self-cgroup", self);
	free(ctx->proc_cgroup);
	ctx->proc_cgroup = xasprintf("%s/self-cgroup", root);
	return ctx;
}

/* systemd's user@UID.service delegation on v2: the caller sits in a leaf
 * below the delegated root; containers go right under the root. */
static void test_v2_systemd_delegation(void)
{
	if (!need_root())
		return;
	char *root = tf_mkdtemp();
	cgdir(root, "user.slice", OTHER);
	cgdir(root, "user.slice/user-1000.slice", OTHER);
	cgdir(root, "user.slice/user-1000.slice/user@1000.service", 0);
	cgdir(root, "user.slice/user-1000.slice/user@1000.service/app.slice", 0);
	cgdir(root, "user.slice/user-1000.slice/user@1000.service/app.slice/term.scope", 0);
	cgroup_ctx ctx;
	CHECK(ctx_for(&ctx, CGROUP_V2, root,
		      "0::/user.slice/user-1000.slice/user@1000.service/app.slice/term.scope\n"));
	char *p = eng_cgroup_parent(&ctx, 0, "abc");
	bool ok = p && !strcmp(p, "/user.slice/user-1000.slice/user@1000.service/berth-abc");
	if (!ok)
		fprintf(stderr, "got %s\n", p ? p : "(null)");
	free(p);
	/* someone else's uid: nothing is delegated to it */
	char *q = eng_cgroup_parent(&ctx, 777, "abc");
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(ok);
	CHECK(!q);
	free(q);
}

/* A directory owned by the caller whose cgroup.procs is not (a chown of
 * the directory alone) is no delegation. */
static void test_v2_procs_not_owned(void)
{
	if (!need_root())
		return;
	char *root = tf_mkdtemp();
	cgdir(root, "a", OTHER);
	cgdir(root, "a/b", 0);
	_cleanup_free_ char *procs = xasprintf("%s/a/b/cgroup.procs", root);
	CHECK(chown(procs, OTHER, OTHER) == 0);
	cgroup_ctx ctx;
	CHECK(ctx_for(&ctx, CGROUP_V2, root, "0::/a/b\n"));
	char *p = eng_cgroup_parent(&ctx, 0, "x");
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(!p);
}

/* Hybrid: v1 directories chowned to the caller, at different paths; the
 * path is relative to the caller's own cgroups; the unified tree (not
 * delegated) does not matter. */
static void test_hybrid_v1_delegation(void)
{
	if (!need_root())
		return;
	char *root = tf_mkdtemp();
	cgdir(root, "memory", OTHER);
	cgdir(root, "memory/deleg", 0);
	cgdir(root, "pids", OTHER);
	cgdir(root, "pids/elsewhere", OTHER);
	cgdir(root, "pids/elsewhere/deleg", 0);
	cgdir(root, "cpu,cpuacct", OTHER);
	cgdir(root, "cpu,cpuacct/other", OTHER);
	cgdir(root, "unified", OTHER);
	cgdir(root, "unified/u", OTHER);
	cgroup_ctx ctx;
	CHECK(ctx_for(&ctx, CGROUP_HYBRID, root,
		      "5:pids:/elsewhere/deleg\n4:memory:/deleg\n3:cpu,cpuacct:/other\n0::/u\n"));
	char *p = eng_cgroup_parent(&ctx, 0, "id1");
	bool ok = p && !strcmp(p, "berth-id1");
	free(p);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(ok);
}

/* Nothing delegated anywhere: NULL (the runtime then warns). */
static void test_v1_nothing_delegated(void)
{
	if (!need_root())
		return;
	char *root = tf_mkdtemp();
	cgdir(root, "memory", OTHER);
	cgdir(root, "memory/u", OTHER);
	cgroup_ctx ctx;
	CHECK(ctx_for(&ctx, CGROUP_V1, root, "4:memory:/u\n"));
	char *p = eng_cgroup_parent(&ctx, 0, "id1");
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(!p);
}

static void test_asked_and_names(void)
{
	spec_resources r = {0};
	CHECK(cgroup_asked(&r) == 0);
	r.memory.limit = (opt_i64){.set = true, .v = 64 << 20};
	r.pids_limit = (opt_i64){.set = true, .v = 10};
	r.cpu.quota = (opt_i64){.set = true, .v = 50000};
	r.cpu.period = (opt_u64){.set = true, .v = 100000};
	r.block_io.weight = (opt_u64){.set = true, .v = 0}; /* Docker's "unset" */
	CHECK(cgroup_asked(&r) == (CG_MEMORY | CG_PIDS | CG_CPU));
	char *n = cgroup_limit_names(CG_MEMORY | CG_PIDS);
	bool ok = !strcmp(n, "memory, pids");
	free(n);
	CHECK(ok);
	cgroup_unask(&r, CG_PIDS | CG_CPU);
	CHECK(cgroup_asked(&r) == CG_MEMORY);
	CHECK(r.memory.limit.v == 64 << 20);
}

/* As an unprivileged uid: memory delegated, cpu not, devices never made. */
static void test_create_partial_v1(void)
{
	if (!need_root())
		return;
	char *root = tf_mkdtemp();
	CHECK(chmod(root, 0755) == 0);
	cgdir(root, "memory", 0);
	cgdir(root, "memory/deleg", OTHER);
	cgdir(root, "cpu,cpuacct", 0);
	cgdir(root, "cpu,cpuacct/deleg", 0);
	cgdir(root, "devices", 0);
	cgdir(root, "devices/deleg", OTHER);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setresgid(OTHER, OTHER, OTHER) < 0 || setresuid(OTHER, OTHER, OTHER) < 0)
			_exit(90);
		cgroup_ctx ctx;
		berr e;
		if (cgroup_ctx_init(&ctx, CGROUP_V1, root, &e) < 0)
			_exit(91);
		cgroup *cg = cgroup_resolve(&ctx, "/deleg/berth-x", "x", false, &e);
		unsigned missing = 0;
		if (!cg || cgroup_create_rootless(cg, &missing, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			_exit(92);
		}
		if (!(missing & CG_CPU) || !(missing & CG_DEVICES) || (missing & CG_MEMORY))
			_exit(93);
		if (cg->n_v1 != 1 || !cg_v1_dir(cg, CG_MEMORY))
			_exit(94);
		if (cgroup_destroy(cg, &e) < 0)
			_exit(95);
		cgroup_free(cg);
		cgroup_ctx_clear(&ctx);
		_exit(0);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	_cleanup_free_ char *made = xasprintf("%s/memory/deleg/berth-x", root);
	_cleanup_free_ char *dev = xasprintf("%s/devices/deleg/berth-x", root);
	bool gone = access(made, F_OK) < 0 && access(dev, F_OK) < 0;
	tf_rm(root);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "child status %d\n", WEXITSTATUS(st));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(gone);
}

/* Nothing writable at all: an EACCES error, nothing left. */
static void test_create_nothing_writable(void)
{
	if (!need_root())
		return;
	char *root = tf_mkdtemp();
	CHECK(chmod(root, 0755) == 0);
	cgdir(root, "memory", 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setresgid(OTHER, OTHER, OTHER) < 0 || setresuid(OTHER, OTHER, OTHER) < 0)
			_exit(90);
		cgroup_ctx ctx;
		berr e;
		if (cgroup_ctx_init(&ctx, CGROUP_V1, root, &e) < 0)
			_exit(91);
		cgroup *cg = cgroup_resolve(&ctx, "/berth/x", "x", false, &e);
		unsigned missing = 0;
		if (!cg || cgroup_create_rootless(cg, &missing, &e) == 0 || e.errnum != EACCES)
			_exit(92);
		cgroup_free(cg);
		cgroup_ctx_clear(&ctx);
		_exit(0);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	tf_rm(root);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Pure v2: the controllers absent from the new cgroup.controllers are
 * reported missing (the delegation did not enable them). */
static void test_create_v2_missing_controllers(void)
{
	char *root = tf_mkdtemp();
	tf_put(root, "cgroup.controllers", "cpu memory pids io\n");
	tf_put(root, "deleg/cgroup.controllers", "memory pids\n");
	tf_put(root, "deleg/berth-x/cgroup.controllers", "memory pids\n");
	cgroup_ctx ctx;
	berr e;
	CHECK(cgroup_ctx_init(&ctx, CGROUP_V2, root, &e) == 0);
	cgroup *cg = cgroup_resolve(&ctx, "/deleg/berth-x", "x", false, &e);
	unsigned missing = 0;
	int r = cg ? cgroup_create_rootless(cg, &missing, &e) : -1;
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(r == 0);
	CHECK(missing & CG_CPU);
	CHECK(!(missing & (CG_MEMORY | CG_PIDS)));
}

CHECK_MAIN(test_v2_systemd_delegation, test_v2_procs_not_owned, test_hybrid_v1_delegation,
	   test_v1_nothing_delegated, test_asked_and_names, test_create_partial_v1,
	   test_create_nothing_writable, test_create_v2_missing_controllers)
