/* cgroup writers against fake cgroupfs trees in /tmp: the exact files and
 * values written for a full linux.resources, per mode; path resolution;
 * state round trip; cleanup when create fails half-way. */
#include <poll.h>

#include "check.h"
#include "test_cgroup_helpers.h"

#define V2_KNOBS                                                                                   \
	"cpu.max", "cpu.weight", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",        \
	    "memory.max", "memory.low", "memory.swap.max", "memory.high", "pids.max", "io.weight", \
	    "io.max", "hugetlb.2MB.max", "cgroup.procs"

/* A fake v2 tree with /berth/x and its knob files; returns the cgroup. */
static cgroup *fake_v2(char **root, cgroup_ctx *ctx)
{
	*root = tf_mkdtemp();
	tf_put(*root, "cgroup.controllers", "cpu memory io pids hugetlb\n");
	tf_put(*root, "cgroup.subtree_control", "");
	tf_put(*root, "berth/cgroup.controllers", "cpu memory io pids hugetlb\n");
	tf_put(*root, "berth/cgroup.subtree_control", "");
	static const char *const knobs[] = {V2_KNOBS};
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		char *rel = xasprintf("berth/x/%s", knobs[i]);
		tf_put(*root, rel, "");
		free(rel);
	}
	berr e;
	if (cgroup_ctx_init(ctx, CGROUP_V2, *root, &e) < 0)
		return NULL;
	return cgroup_resolve(ctx, NULL, "x", false, &e);
}

static void v2_full_body(const char *root, cgroup *cg)
{
	char *want_dir = xasprintf("%s/berth/x", root);
	bool dir_ok = !strcmp(cg->v2, want_dir);
	free(want_dir);
	CHECK(dir_ok);
	berr e;
	char **warn = NULL;
	spec_resources *r = tf_full_resources();
	static spec_kv unified[] = {{"memory.high", "300000000"}};
	r->unified = unified;
	r->n_unified = 1;
	int rc = cgroup_apply(cg, r, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	EXPECT_FILE(root, "berth/x/cpu.max", "50000 100000\n");
	EXPECT_FILE(root, "berth/x/cpu.weight", "39\n");
	EXPECT_FILE(root, "berth/x/cpu.max.burst", "1000\n");
	EXPECT_FILE(root, "berth/x/cpu.idle", "0\n");
	EXPECT_FILE(root, "berth/x/cpuset.cpus", "1\n");
	EXPECT_FILE(root, "berth/x/cpuset.mems", "0\n");
	EXPECT_FILE(root, "berth/x/memory.max", "268435456\n");
	EXPECT_FILE(root, "berth/x/memory.low", "134217728\n");
	/* memory+swap 512M with memory 256M: swap alone is 256M */
	EXPECT_FILE(root, "berth/x/memory.swap.max", "268435456\n");
	EXPECT_FILE(root, "berth/x/memory.high", "300000000\n");
	EXPECT_FILE(root, "berth/x/pids.max", "100\n");
	/* blkio weight 500 -> io.weight 4950; 300 -> 2930 */
	EXPECT_FILE(root, "berth/x/io.weight", "default 4950\n8:0 2930\n");
	EXPECT_FILE(root, "berth/x/io.max", "8:0 rbps=1048576\n8:16 wiops=100\n");
	EXPECT_FILE(root, "berth/x/hugetlb.2MB.max", "4194304\n");
	/* v1-only fields come back as warnings, not errors */
	size_t nw = strv_len(warn);
	bool swappiness = false, oom = false, rt = false, kernel = false;
	for (size_t i = 0; i < nw; i++) {
		swappiness |= strstr(warn[i], "swappiness") != NULL;
		oom |= strstr(warn[i], "disableOOMKiller") != NULL;
		rt |= strstr(warn[i], "realtime") != NULL;
		kernel |= strstr(warn[i], "memory.kernel is deprecated") != NULL;
	}
	strv_free(warn);
	CHECK(swappiness && oom && rt && kernel);
}

static void test_v2_full(void)
{
	char *root;
	cgroup_ctx ctx;
	cgroup *cg = fake_v2(&root, &ctx);
	CHECK(cg);
	v2_full_body(root, cg);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
}

static void v2_edge_body(const char *root, cgroup *cg)
{
	berr e;
	/* unlimited everything: memory -1 with swap unset -> both "max" */
	spec_resources r = {0};
	r.memory.limit = (opt_i64){true, -1};
	r.pids_limit = (opt_i64){true, -1};
	r.cpu.quota = (opt_i64){true, -1};
	CHECK(cgroup_apply(cg, &r, NULL, &e) == 0);
	EXPECT_FILE(root, "berth/x/memory.max", "max\n");
	EXPECT_FILE(root, "berth/x/memory.swap.max", "max\n");
	EXPECT_FILE(root, "berth/x/pids.max", "max\n");
	EXPECT_FILE(root, "berth/x/cpu.max", "max\n");

	/* a unified key escaping the directory is refused before any write */
	spec_resources bad = {0};
	bad.memory.limit = (opt_i64){true, 1000000};
	static spec_kv kv[] = {{"../x", "1"}};
	bad.unified = kv;
	bad.n_unified = 1;
	CHECK(cgroup_apply(cg, &bad, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "invalid key \"../x\"");
	EXPECT_FILE(root, "berth/x/memory.max", "max\n");
	static spec_kv kv2[] = {{"a/b", "1"}};
	bad.unified = kv2;
	CHECK(cgroup_apply(cg, &bad, NULL, &e) < 0);
	/* a key naming no file says so */
	static spec_kv kv3[] = {{"memory.nosuch", "1"}};
	bad.unified = kv3;
	bad.memory.limit.set = false;
	CHECK(cgroup_apply(cg, &bad, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "memory.nosuch");

	/* memory+swap equal to memory: no swap at all */
	spec_resources ns = {0};
	ns.memory.limit = (opt_i64){true, 1000000};
	ns.memory.swap = (opt_i64){true, 1000000};
	CHECK(cgroup_apply(cg, &ns, NULL, &e) == 0);
	EXPECT_FILE(root, "berth/x/memory.swap.max", "max\n0\n");
	EXPECT_FILE(root, "berth/x/memory.max", "max\n1000000\n");

	/* checkBeforeUpdate refuses a limit below the usage */
	tf_put(root, "berth/x/memory.current", "5000\n");
	spec_resources cb = {0};
	cb.memory.limit = (opt_i64){true, 4096};
	cb.memory.check_before_update = true;
	CHECK(cgroup_apply(cg, &cb, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "below the current usage 5000");
	cb.memory.limit.v = 8192;
	CHECK(cgroup_apply(cg, &cb, NULL, &e) == 0);

	/* swap below memory is an error naming the field */
	spec_resources sw = {0};
	sw.memory.limit = (opt_i64){true, 2000};
	sw.memory.swap = (opt_i64){true, 1000};
	CHECK(cgroup_apply(cg, &sw, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "linux.resources.memory.swap");

	/* a write error names the file and the value */
	char *procs = xasprintf("%s/berth/x/cpu.weight", root);
	unlink(procs);
	CHECK(mkdir(procs, 0755) == 0);
	spec_resources sh = {0};
	sh.cpu.shares = (opt_u64){true, 2};
	CHECK(cgroup_apply(cg, &sh, NULL, &e) < 0);
	char *want = xasprintf("cgroup %s: write 1: Is a directory", procs);
	CHECK_CONTAINS(e.msg, want);
	free(want);
	rmdir(procs);
	free(procs);
}

static void test_v2_edges(void)
{
	char *root;
	cgroup_ctx ctx;
	cgroup *cg = fake_v2(&root, &ctx);
	CHECK(cg);
	v2_edge_body(root, cg);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
}

static void test_conversions(void)
{
	CHECK(cgroup_shares_to_weight(2) == 1);
	CHECK(cgroup_shares_to_weight(1024) == 39);
	CHECK(cgroup_shares_to_weight(262144) == 10000);
	CHECK(cgroup_blkio_to_io_weight(10) == 1);
	CHECK(cgroup_blkio_to_io_weight(1000) == 10000);
	int64_t out;
	berr e;
	CHECK(cgroup_swap_v2(0, 0, &out, &e) == 0 && out == 0);
	CHECK(cgroup_swap_v2(-1, 100, &out, &e) == 0 && out == -1);
	CHECK(cgroup_swap_v2(0, -1, &out, &e) == 0 && out == -1);
	CHECK(cgroup_swap_v2(300, 100, &out, &e) == 0 && out == 200);
	CHECK(cgroup_swap_v2(100, 100, &out, &e) == 0 && out == 0);
	CHECK(cgroup_swap_v2(100, 0, &out, &e) < 0);
	CHECK(cgroup_swap_v2(50, 100, &out, &e) < 0);
}

/* ---- v1 ---------------------------------------------------------------- */

static const char *const v1_hiers[] = {"cpu",	  "cpuacct", "cpuset", "memory", "devices",
				       "freezer", "blkio",   "pids",   "hugetlb"};

static void fake_v1_tree(const char *root)
{
	static const char *const knobs[] = {
	    "cpu/berth/x/cpu.shares",
	    "cpu/berth/x/cpu.cfs_period_us",
	    "cpu/berth/x/cpu.cfs_quota_us",
	    "cpu/berth/x/cpu.cfs_burst_us",
	    "cpu/berth/x/cpu.rt_period_us",
	    "cpu/berth/x/cpu.rt_runtime_us",
	    "cpu/berth/x/cpu.idle",
	    "cpuset/berth/x/cpuset.cpus",
	    "cpuset/berth/x/cpuset.mems",
	    "memory/berth/x/memory.limit_in_bytes",
	    "memory/berth/x/memory.memsw.limit_in_bytes",
	    "memory/berth/x/memory.soft_limit_in_bytes",
	    "memory/berth/x/memory.swappiness",
	    "memory/berth/x/memory.oom_control",
	    "devices/berth/x/devices.allow",
	    "devices/berth/x/devices.deny",
	    "blkio/berth/x/blkio.weight",
	    "blkio/berth/x/blkio.weight_device",
	    "blkio/berth/x/blkio.throttle.read_bps_device",
	    "blkio/berth/x/blkio.throttle.write_iops_device",
	    "pids/berth/x/pids.max",
	    "hugetlb/berth/x/hugetlb.2MB.limit_in_bytes",
	};
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++)
		tf_put(root, knobs[i], "");
	for (size_t i = 0; i < ARRAY_SIZE(v1_hiers); i++) {
		char *rel = xasprintf("%s/berth/x/cgroup.procs", v1_hiers[i]);
		tf_put(root, rel, "");
		free(rel);
	}
	tf_put(root, "cpuset/berth/cpuset.cpus", "0-1\n");
	tf_put(root, "cpuset/berth/cpuset.mems", "0\n");
}

static void v1_full_body(const char *root, cgroup *cg)
{
	berr e;
	CHECK(cg->n_v1 == ARRAY_SIZE(v1_hiers) && !cg->v2);
	/* create on the existing leaf still fills its empty cpuset from the parent */
	int rc = cgroup_create(cg, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	EXPECT_FILE(root, "cpuset/berth/x/cpuset.cpus", "0-1\n");
	size_t nd;
	spec_resources *r = tf_full_resources();
	r->devices = tf_default_rules(&nd);
	r->n_devices = nd;
	char **warn = NULL;
	rc = cgroup_apply(cg, r, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	/* raising: memory+swap first, then memory */
	EXPECT_FILE(root, "memory/berth/x/memory.memsw.limit_in_bytes", "536870912\n");
	EXPECT_FILE(root, "memory/berth/x/memory.limit_in_bytes", "268435456\n");
	EXPECT_FILE(root, "memory/berth/x/memory.soft_limit_in_bytes", "134217728\n");
	EXPECT_FILE(root, "memory/berth/x/memory.swappiness", "60\n");
	EXPECT_FILE(root, "memory/berth/x/memory.oom_control", "1\n");
	EXPECT_FILE(root, "cpu/berth/x/cpu.shares", "1024\n");
	EXPECT_FILE(root, "cpu/berth/x/cpu.cfs_period_us", "100000\n");
	EXPECT_FILE(root, "cpu/berth/x/cpu.cfs_quota_us", "50000\n");
	EXPECT_FILE(root, "cpu/berth/x/cpu.cfs_burst_us", "1000\n");
	EXPECT_FILE(root, "cpu/berth/x/cpu.rt_period_us", "1000000\n");
	EXPECT_FILE(root, "cpu/berth/x/cpu.rt_runtime_us", "950000\n");
	EXPECT_FILE(root, "cpuset/berth/x/cpuset.cpus", "0-1\n1\n");
	EXPECT_FILE(root, "cpuset/berth/x/cpuset.mems", "0\n0\n");
	EXPECT_FILE(root, "pids/berth/x/pids.max", "100\n");
	EXPECT_FILE(root, "blkio/berth/x/blkio.weight", "500\n");
	EXPECT_FILE(root, "blkio/berth/x/blkio.weight_device", "8:0 300\n");
	EXPECT_FILE(root, "blkio/berth/x/blkio.throttle.read_bps_device", "8:0 1048576\n");
	EXPECT_FILE(root, "blkio/berth/x/blkio.throttle.write_iops_device", "8:16 100\n");
	EXPECT_FILE(root, "hugetlb/berth/x/hugetlb.2MB.limit_in_bytes", "4194304\n");
	EXPECT_FILE(root, "devices/berth/x/devices.deny", "a\na\nc 5:1 w\n");
	EXPECT_FILE(root, "devices/berth/x/devices.allow",
		    "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\n"
		    "c 1:9 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n");
	bool kernel = false;
	for (size_t i = 0; warn && warn[i]; i++)
		kernel |= strstr(warn[i], "memory.kernel") != NULL;
	strv_free(warn);
	CHECK(kernel);

	/* an "all" rule narrower than everything becomes one rule per type */
	spec_dev_rule narrow[] = {{true, 'a', -1, -1, "r"}, {false, 'a', 4, -1, "w"}};
	spec_resources dv = {0};
	dv.devices = narrow;
	dv.n_devices = 2;
	CHECK(cgroup_apply(cg, &dv, NULL, &e) == 0);
	char *allow = tf_get(root, "devices/berth/x/devices.allow");
	char *deny = tf_get(root, "devices/berth/x/devices.deny");
	bool narrow_ok = strstr(allow, "c 10:200 rwm\nc *:* r\nb *:* r\n") &&
			 strstr(deny, "c 5:1 w\na\nc 4:* w\nb 4:* w\n");
	if (!narrow_ok)
		fprintf(stderr, "allow:\n%sdeny:\n%s", allow, deny);
	free(allow);
	free(deny);
	CHECK(narrow_ok);

	/* unified keys are v2 only */
	spec_resources u = {0};
	static spec_kv kv[] = {{"memory.high", "1"}};
	u.unified = kv;
	u.n_unified = 1;
	CHECK(cgroup_apply(cg, &u, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "requires cgroup v2");
	/* pids 0 is unset (runc 1.1, crun); -1 lifts the limit */
	spec_resources p = {0};
	p.pids_limit = (opt_i64){true, 0};
	CHECK(cgroup_apply(cg, &p, NULL, &e) == 0);
	EXPECT_FILE(root, "pids/berth/x/pids.max", "100\n");
	p.pids_limit = (opt_i64){true, -1};
	CHECK(cgroup_apply(cg, &p, NULL, &e) == 0);
	EXPECT_FILE(root, "pids/berth/x/pids.max", "100\nmax\n");
}

static void test_v1_full(void)
{
	char *root = tf_mkdtemp();
	fake_v1_tree(root);
	cgroup_ctx ctx;
	berr e;
	CHECK(cgroup_ctx_init(&ctx, CGROUP_V1, root, &e) == 0);
	cgroup *cg = cgroup_resolve(&ctx, "/berth/x", "ignored", false, &e);
	if (cg)
		v1_full_body(root, cg);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(cg);
}

/* ---- paths ------------------------------------------------------------- */

static void paths_body(const char *root, cgroup_ctx *ctx)
{
	berr e;
	/* relative: under the caller's cgroup of each hierarchy */
	cgroup *cg = cgroup_resolve(ctx, "a/b", "id", false, &e);
	CHECK(cg);
	char *want_mem = xasprintf("%s/memory/own/mem/a/b", root);
	char *want_cpu = xasprintf("%s/cpu,cpuacct/a/b", root);
	char *want_sd = xasprintf("%s/systemd/sd/a/b", root);
	char *want_v2 = xasprintf("%s/unified/u2/a/b", root);
	bool ok = cg_v1_dir(cg, CG_MEMORY) && !strcmp(cg_v1_dir(cg, CG_MEMORY), want_mem) &&
		  cg_v1_dir(cg, CG_CPUACCT) && !strcmp(cg_v1_dir(cg, CG_CPUACCT), want_cpu) &&
		  cg_v1_dir(cg, CG_NAMED) && !strcmp(cg_v1_dir(cg, CG_NAMED), want_sd) && cg->v2 &&
		  !strcmp(cg->v2, want_v2);
	if (!ok)
		fprintf(stderr, "mem=%s cpu=%s v2=%s\n", cg_v1_dir(cg, CG_MEMORY),
			cg_v1_dir(cg, CG_CPUACCT), cg->v2);
	free(want_mem);
	free(want_cpu);
	free(want_sd);
	free(want_v2);

	/* state round trip */
	char *s = cgroup_serialize(cg);
	cgroup *back = cgroup_deserialize(s, &e);
	free(s);
	bool same = back && back->mode == CGROUP_HYBRID && back->n_v1 == cg->n_v1 &&
		    !strcmp(back->v2, cg->v2) &&
		    !strcmp(cg_v1_dir(back, CG_MEMORY), cg_v1_dir(cg, CG_MEMORY)) &&
		    !strcmp(cg_v1_dir(back, CG_CPU), cg_v1_dir(cg, CG_CPU));
	cgroup_free(back);
	cgroup_free(cg);
	CHECK(ok);
	CHECK(same);
	CHECK(!cgroup_deserialize(
	    "{\"mode\":\"v1\",\"path\":\"x\",\"dirs\":{\"memory\":\"/a/../etc\"}}", &e));
	CHECK(!cgroup_deserialize("{\"mode\":\"v1\",\"path\":\"x\",\"dirs\":{\"memory\":\"rel\"}}",
				  &e));

	/* absolute and the default */
	cg = cgroup_resolve(ctx, NULL, "c1", false, &e);
	CHECK(cg);
	char *want = xasprintf("%s/memory/berth/c1", root);
	ok = !strcmp(cg_v1_dir(cg, CG_MEMORY), want);
	free(want);
	cgroup_free(cg);
	CHECK(ok);
	/* ".." never escapes */
	CHECK(!cgroup_resolve(ctx, "/a/../../etc", "x", false, &e));
	CHECK_CONTAINS(e.msg, "\"..\" not allowed");
	/* systemd without systemd */
	if (!ctx->systemd_running) {
		CHECK(!cgroup_resolve(ctx, "system.slice:berth:x", "x", true, &e));
		CHECK_STREQ(e.msg, "systemd cgroup driver requested but systemd is not running");
	}
}

static void test_paths(void)
{
	char *root = tf_mkdtemp();
	tf_put(root, "memory/own/mem/.keep", "");
	tf_put(root, "cpu,cpuacct/.keep", "");
	tf_put(root, "systemd/.keep", "");
	tf_put(root, "unified/.keep", "");
	char *alias = xasprintf("%s/cpu", root);
	CHECK(symlink("cpu,cpuacct", alias) == 0); /* an alias: skipped */
	free(alias);
	tf_put(root, "self-cgroup",
	       "3:memory:/own/mem\n2:cpu,cpuacct:/\n1:name=systemd:/sd\n0::/u2\n");
	cgroup_ctx ctx;
	berr e;
	CHECK(cgroup_ctx_init(&ctx, CGROUP_HYBRID, root, &e) == 0);
	free(ctx.proc_cgroup);
	ctx.proc_cgroup = xasprintf("%s/self-cgroup", root);
	paths_body(root, &ctx);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
}

static void test_systemd_path(void)
{
	berr e;
	char *p = cgroup_systemd_path("machine.slice:libpod:abc", "id", &e);
	CHECK_STREQ(p, "/machine.slice/libpod-abc.scope");
	free(p);
	p = cgroup_systemd_path("a-b-c.slice:pre:", "id", &e);
	CHECK_STREQ(p, "/a.slice/a-b.slice/a-b-c.slice/pre-id.scope");
	free(p);
	p = cgroup_systemd_path(":p:n", "id", &e);
	CHECK_STREQ(p, "/system.slice/p-n.scope");
	free(p);
	CHECK(!cgroup_systemd_path("bad", "id", &e));
	CHECK(!cgroup_systemd_path("a--b.slice:p:n", "id", &e));
}

/* create fails on the last hierarchy: nothing it made stays behind. */
static void test_create_cleanup(void)
{
	char *root = tf_mkdtemp();
	tf_put(root, "memory/.keep", "");
	tf_put(root, "pids/.keep", "");
	tf_put(root, "freezer/.keep", "");
	tf_put(root, "unified/berth", "a file where a directory must go");
	cgroup_ctx ctx;
	berr e;
	CHECK(cgroup_ctx_init(&ctx, CGROUP_HYBRID, root, &e) == 0);
	cgroup *cg = cgroup_resolve(&ctx, "/berth/deep/x", "x", false, &e);
	bool failed = cg && cgroup_create(cg, &e) < 0;
	char *m = tf_get(root, "memory/berth/.keep");
	bool gone = true;
	static const char *const h[] = {"memory", "pids", "freezer"};
	for (size_t i = 0; i < ARRAY_SIZE(h); i++) {
		char *p = xasprintf("%s/%s/berth", root, h[i]);
		gone &= access(p, F_OK) < 0 && errno == ENOENT;
		free(p);
	}
	free(m);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(failed);
	CHECK_CONTAINS(e.msg, "unified/berth");
	CHECK(gone);
}

/* ---- v2: create, stats, OOM, freeze ------------------------------------ */

static void test_v2_create_enables_controllers(void)
{
	char *root = tf_mkdtemp();
	tf_put(root, "cgroup.controllers", "cpu memory pids\n");
	tf_put(root, "cgroup.subtree_control", "");
	/* an existing level from an earlier run, not yet enabled */
	tf_put(root, "pre/cgroup.controllers", "cpu memory\n");
	tf_put(root, "pre/cgroup.subtree_control", "");
	cgroup_ctx ctx;
	berr e;
	CHECK(cgroup_ctx_init(&ctx, CGROUP_V2, root, &e) == 0);
	cgroup *cg = cgroup_resolve(&ctx, "/pre/berth/new", "x", false, &e);
	int rc = cg ? cgroup_create(cg, &e) : -1;
	char *sc = tf_get(root, "cgroup.subtree_control");
	char *pre = tf_get(root, "pre/cgroup.subtree_control");
	bool pre_ok = !strcmp(pre, "+cpu\n+memory\n");
	free(pre);
	char *leaf = xasprintf("%s/pre/berth/new", root);
	bool made = access(leaf, F_OK) == 0 && cg && cg->v2_created == 2 && cg->n_v1 == 0;
	free(leaf);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	bool sc_ok = !strcmp(sc, "+cpu\n+memory\n+pids\n");
	free(sc);
	CHECK(rc == 0 && made);
	CHECK(sc_ok);
	CHECK(pre_ok);
}

static const char *const v2_stats_files[][2] = {
    {"cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\n"
		 "nr_throttled 3\nthrottled_usec 200\n"},
    {"memory.current", "4096\n"},
    {"memory.peak", "8192\n"},
    {"memory.max", "max\n"},
    {"memory.swap.current", "0\n"},
    {"memory.swap.max", "max\n"},
    {"memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n"},
    {"memory.stat", "anon 100\nfile 200\n"},
    {"pids.current", "3\n"},
    {"pids.max", "max\n"},
    {"io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"},
    {"hugetlb.2MB.current", "0\n"},
    {"hugetlb.2MB.max", "max\n"},
    {"hugetlb.2MB.events", "max 0\n"},
    {"cgroup.events", "populated 1\nfrozen 1\n"},
    {"cgroup.freeze", ""},
};

/* runc's types.Stats JSON for the files above, byte for byte (Go's
 * omitempty drops zero scalars, never the nested objects). */
static const char v2_stats_json[] =
    "{\"type\":\"stats\",\"id\":\"c1\",\"data\":{"
    "\"cpu\":{\"usage\":{\"total\":1500000,\"kernel\":500000,\"user\":1000000},"
    "\"throttling\":{\"periods\":10,\"throttledPeriods\":3,\"throttledTime\":200000}},"
    "\"cpuset\":{},"
    "\"memory\":{\"cache\":200,"
    "\"usage\":{\"limit\":18446744073709551615,\"usage\":4096,\"max\":8192,\"failcnt\":7},"
    "\"swap\":{\"limit\":18446744073709551615,\"failcnt\":0},"
    "\"kernel\":{\"limit\":0,\"failcnt\":0},\"kernelTCP\":{\"limit\":0,\"failcnt\":0},"
    "\"raw\":{\"anon\":100,\"file\":200}},"
    "\"pids\":{\"current\":3},"
    "\"blkio\":{\"ioServiceBytesRecursive\":[{\"major\":8,\"op\":\"Read\",\"value\":4096},"
    "{\"major\":8,\"op\":\"Write\",\"value\":8192}],"
    "\"ioServicedRecursive\":[{\"major\":8,\"op\":\"Read\",\"value\":1},"
    "{\"major\":8,\"op\":\"Write\",\"value\":2}]},"
    "\"hugetlb\":{\"2MB\":{\"max\":18446744073709551615,\"failcnt\":0}},"
    "\"intel_rdt\":{},\"network_interfaces\":null}}";

static void v2_misc_body(const char *root, cgroup *cg)
{
	berr e;
	cgroup_stats st;
	CHECK(cgroup_stats_read(cg, &st, &e) == 0);
	char *js = cgroup_stats_json(&st, "c1");
	cgroup_stats_clear(&st);
	bool same = !strcmp(js, v2_stats_json);
	if (!same)
		fprintf(stderr, "got  %s\nwant %s\n", js, v2_stats_json);
	free(js);
	CHECK(same);

	/* OOM: inotify on memory.events, counter deltas */
	cgroup_oom o;
	CHECK(cgroup_oom_open(cg, &o, &e) == 0);
	CHECK(o.inotify && o.seen == 1);
	tf_put(root, "berth/x/memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 3\n");
	struct pollfd p = {.fd = o.fd, .events = POLLIN};
	int pr = poll(&p, 1, 2000);
	uint64_t n = 0, n2 = 9;
	int r1 = cgroup_oom_read(&o, &n, &e);
	int r2 = cgroup_oom_read(&o, &n2, &e);
	cgroup_oom_close(&o);
	CHECK(pr == 1);
	CHECK(r1 == 0 && n == 2);
	CHECK(r2 == 0 && n2 == 0);

	/* freeze writes cgroup.freeze and waits for cgroup.events */
	CHECK(cgroup_freeze(cg, true, &e) == 0);
	EXPECT_FILE(root, "berth/x/cgroup.freeze", "1\n");
	bool fz = false;
	CHECK(cgroup_is_frozen(cg, &fz, &e) == 0 && fz);
}

static void test_v2_stats_oom_freeze(void)
{
	char *root = tf_mkdtemp();
	for (size_t i = 0; i < ARRAY_SIZE(v2_stats_files); i++) {
		char *rel = xasprintf("berth/x/%s", v2_stats_files[i][0]);
		tf_put(root, rel, v2_stats_files[i][1]);
		free(rel);
	}
	cgroup_ctx ctx;
	berr e;
	CHECK(cgroup_ctx_init(&ctx, CGROUP_V2, root, &e) == 0);
	cgroup *cg = cgroup_resolve(&ctx, "/berth/x", "x", false, &e);
	if (cg)
		v2_misc_body(root, cg);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(cg);
}

CHECK_MAIN(test_v2_full, test_v2_edges, test_conversions, test_v1_full, test_paths,
	   test_systemd_path, test_create_cleanup, test_v2_create_enables_controllers,
	   test_v2_stats_oom_freeze)
