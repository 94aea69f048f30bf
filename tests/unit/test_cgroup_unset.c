/* Values that mean "unset" and knobs the host's controllers do not offer,
 * against fake cgroupfs trees (v1, v2, hybrid): the resources Docker sends
 * for every container and every `docker update` write nothing they do not
 * mean, a missing file is an error only when the config asks for that knob
 * (named in the message), and kernelTCP goes to v1's
 * memory.kmem.tcp.limit_in_bytes. */
#include "check.h"
#include "test_cgroup_helpers.h"

#define EXPECT_MISSING(root, rel)                                                                  \
	do {                                                                                       \
		char *_p = xasprintf("%s/%s", root, rel);                                          \
		int _gone = access(_p, F_OK) < 0;                                                  \
		if (!_gone)                                                                        \
			fprintf(stderr, "%s exists\n", _p);                                        \
		free(_p);                                                                          \
		CHECK(_gone);                                                                      \
	} while (0)

/* A v1 tree like this host's: blkio without CFQ/BFQ (no blkio.weight), no
 * net_cls/net_prio/hugetlb hierarchy, no cpu.cfs_burst_us. */
static void host_like_v1(const char *root)
{
	static const char *const knobs[] = {
	    "cpu,cpuacct/docker/x/cpu.shares",
	    "cpu,cpuacct/docker/x/cpu.cfs_period_us",
	    "cpu,cpuacct/docker/x/cpu.cfs_quota_us",
	    "cpu,cpuacct/docker/x/cpu.rt_period_us",
	    "cpu,cpuacct/docker/x/cpu.rt_runtime_us",
	    "cpuset/docker/x/cpuset.cpus",
	    "cpuset/docker/x/cpuset.mems",
	    "memory/docker/x/memory.limit_in_bytes",
	    "memory/docker/x/memory.memsw.limit_in_bytes",
	    "memory/docker/x/memory.soft_limit_in_bytes",
	    "memory/docker/x/memory.swappiness",
	    "memory/docker/x/memory.oom_control",
	    "memory/docker/x/memory.kmem.tcp.limit_in_bytes",
	    "devices/docker/x/devices.allow",
	    "devices/docker/x/devices.deny",
	    "blkio/docker/x/blkio.throttle.read_bps_device",
	    "blkio/docker/x/blkio.throttle.write_bps_device",
	    "pids/docker/x/pids.max",
	    "freezer/docker/x/freezer.state",
	};
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++)
		tf_put(root, knobs[i], "");
}

static cgroup *open_fake(const char *root, enum cgroup_mode mode, cgroup_ctx *ctx)
{
	berr e;
	if (cgroup_ctx_init(ctx, mode, root, &e) < 0)
		return NULL;
	return cgroup_resolve(ctx, "/docker/x", "x", false, &e);
}

/* What Docker 20.10 puts in config.json for `docker run IMG`. */
static spec_resources docker_create(void)
{
	static spec_dev_rule deny_all[] = {{false, 'a', -1, -1, "rwm"}};
	spec_resources r = {0};
	r.present = true;
	r.devices = deny_all;
	r.n_devices = 1;
	r.cpu.shares = (opt_u64){true, 0};
	r.block_io.weight = (opt_u64){true, 0};
	return r;
}

/* Every field present with the value that means unset. */
static spec_resources all_unset(void)
{
	static spec_weight_device wd[] = {{.major = 8, .minor = 0}};
	wd[0].weight = (opt_u64){true, 0};
	wd[0].leaf_weight = (opt_u64){true, 0};
	spec_resources r = {0};
	r.present = true;
	r.memory.limit = (opt_i64){true, 0};
	r.memory.reservation = (opt_i64){true, 0};
	r.memory.swap = (opt_i64){true, 0};
	r.memory.kernel = (opt_i64){true, 0};
	r.memory.kernel_tcp = (opt_i64){true, 0};
	r.cpu.shares = (opt_u64){true, 0};
	r.cpu.quota = (opt_i64){true, 0};
	r.cpu.period = (opt_u64){true, 0};
	r.cpu.realtime_period = (opt_u64){true, 0};
	r.cpu.realtime_runtime = (opt_i64){true, 0};
	r.cpu.cpus = "";
	r.cpu.mems = "";
	r.pids_limit = (opt_i64){true, 0};
	r.block_io.weight = (opt_u64){true, 0};
	r.block_io.leaf_weight = (opt_u64){true, 0};
	r.block_io.weight_device = wd;
	r.block_io.n_weight_device = 1;
	r.network.class_id = (opt_u64){true, 0};
	return r;
}

/* The failure: blockIO.weight 0 on a blkio without blkio.weight. */
static void v1_docker_create_body(const char *root, cgroup *cg)
{
	berr e;
	char **warn = NULL;
	spec_resources r = docker_create();
	int rc = cgroup_apply(cg, &r, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	CHECK(strv_len(warn) == 0);
	strv_free(warn);
	EXPECT_FILE(root, "cpu,cpuacct/docker/x/cpu.shares", "");
	EXPECT_MISSING(root, "blkio/docker/x/blkio.weight");
	EXPECT_FILE(root, "devices/docker/x/devices.deny", "a\na\n"); /* reset, then the rule */
}

/* What `docker update --memory 64m --memory-swap 128m --pids-limit 50
 * --cpus 0.5` sends: every limit it does not change is 0. */
static void v1_docker_update_body(const char *root, cgroup *cg)
{
	berr e;
	char **warn = NULL;
	spec_resources u = {0};
	u.memory.limit = (opt_i64){true, 64 << 20};
	u.memory.reservation = (opt_i64){true, 0};
	u.memory.swap = (opt_i64){true, 128 << 20};
	u.memory.kernel = (opt_i64){true, 0};
	u.cpu.shares = (opt_u64){true, 0};
	u.cpu.quota = (opt_i64){true, 50000};
	u.cpu.period = (opt_u64){true, 100000};
	u.pids_limit = (opt_i64){true, 50};
	u.block_io.weight = (opt_u64){true, 0};
	tf_put(root, "memory/docker/x/memory.limit_in_bytes", "9223372036854771712\n");
	int rc = cgroup_apply(cg, &u, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	CHECK(strv_len(warn) == 0); /* kernel 0 is no deprecated field in use */
	strv_free(warn);
	EXPECT_FILE(root, "memory/docker/x/memory.limit_in_bytes",
		    "9223372036854771712\n67108864\n");
	EXPECT_FILE(root, "memory/docker/x/memory.memsw.limit_in_bytes", "134217728\n");
	EXPECT_FILE(root, "memory/docker/x/memory.soft_limit_in_bytes", "");
	EXPECT_FILE(root, "cpu,cpuacct/docker/x/cpu.shares", "");
	EXPECT_FILE(root, "cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
	EXPECT_FILE(root, "cpu,cpuacct/docker/x/cpu.cfs_quota_us", "50000\n");
	EXPECT_FILE(root, "pids/docker/x/pids.max", "50\n");
}

static void v1_unset_body(const char *root, cgroup *cg)
{
	berr e;
	char **warn = NULL;
	spec_resources r = all_unset();
	int rc = cgroup_apply(cg, &r, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	CHECK(strv_len(warn) == 0);
	strv_free(warn);
	static const char *const untouched[] = {
	    "cpu,cpuacct/docker/x/cpu.shares",
	    "cpu,cpuacct/docker/x/cpu.cfs_period_us",
	    "cpu,cpuacct/docker/x/cpu.cfs_quota_us",
	    "cpu,cpuacct/docker/x/cpu.rt_period_us",
	    "cpu,cpuacct/docker/x/cpu.rt_runtime_us",
	    "cpuset/docker/x/cpuset.cpus",
	    "cpuset/docker/x/cpuset.mems",
	    "memory/docker/x/memory.limit_in_bytes",
	    "memory/docker/x/memory.memsw.limit_in_bytes",
	    "memory/docker/x/memory.soft_limit_in_bytes",
	    "memory/docker/x/memory.kmem.tcp.limit_in_bytes",
	    "pids/docker/x/pids.max",
	};
	for (size_t i = 0; i < ARRAY_SIZE(untouched); i++)
		EXPECT_FILE(root, untouched[i], "");
}

static void run_v1(void (*body)(const char *, cgroup *))
{
	char *root = tf_mkdtemp();
	host_like_v1(root);
	cgroup_ctx ctx;
	cgroup *cg = open_fake(root, CGROUP_V1, &ctx);
	if (cg)
		body(root, cg);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(cg);
}

static void test_v1_docker_create(void)
{
	run_v1(v1_docker_create_body);
}

static void test_v1_docker_update(void)
{
	run_v1(v1_docker_update_body);
}

static void test_v1_all_unset(void)
{
	run_v1(v1_unset_body);
}

/* With no hierarchy mounted at all, unset values need no controller. */
static void test_v1_unset_needs_no_controller(void)
{
	char *root = tf_mkdtemp();
	cgroup_ctx ctx;
	cgroup *cg = open_fake(root, CGROUP_V1, &ctx);
	berr e;
	spec_resources r = all_unset();
	int rc = cg ? cgroup_apply(cg, &r, NULL, &e) : -1;
	if (rc < 0 && cg)
		fprintf(stderr, "%s\n", e.msg);
	spec_resources p = {0};
	p.pids_limit = (opt_i64){true, 10};
	int rc2 = cg ? cgroup_apply(cg, &p, NULL, &e) : 0;
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(rc == 0);
	/* a real limit still needs its controller */
	CHECK(rc2 < 0);
	CHECK_CONTAINS(e.msg, "pids controller is not mounted");
}

/* A value the config asks for, in a file the controller does not offer. */
static void v1_missing_body(const char *root, cgroup *cg)
{
	berr e;
	char **warn = NULL;
	spec_resources w = {0};
	w.block_io.weight = (opt_u64){true, 500};
	CHECK(cgroup_apply(cg, &w, &warn, &e) < 0);
	CHECK_CONTAINS(e.msg, "blkio/docker/x/blkio.weight: write 500: No such file or directory");
	CHECK_CONTAINS(e.msg, "linux.resources.blockIO.weight: this host's cgroup controller has "
			      "no such file");
	/* BFQ's file when that is what the kernel offers */
	tf_put(root, "blkio/docker/x/blkio.bfq.weight", "");
	CHECK(cgroup_apply(cg, &w, &warn, &e) == 0);
	EXPECT_FILE(root, "blkio/docker/x/blkio.bfq.weight", "500\n");
	/* leafWeight needs CFQ, gone since 5.0: an error, as in runc and crun */
	spec_resources lw = {0};
	lw.block_io.leaf_weight = (opt_u64){true, 300};
	CHECK(cgroup_apply(cg, &lw, &warn, &e) < 0);
	CHECK_CONTAINS(e.msg, "linux.resources.blockIO.leafWeight");
	/* a 1GB page size this host lacks: no hugetlb hierarchy at all here */
	static spec_hugepage hp[] = {{.page_size = "1GB", .limit = 0}};
	spec_resources h = {0};
	h.hugepages = hp;
	h.n_hugepages = 1;
	CHECK(cgroup_apply(cg, &h, &warn, &e) < 0);
	CHECK_CONTAINS(e.msg, "hugetlb controller is not mounted");
	/* net_cls not mounted: an error when a class is asked for */
	spec_resources n = {0};
	n.network.class_id = (opt_u64){true, 0x100001};
	CHECK(cgroup_apply(cg, &n, &warn, &e) < 0);
	CHECK_CONTAINS(e.msg, "net_cls controller is not mounted");
	/* cpu.cfs_burst_us is skipped where the kernel has none (runc) */
	spec_resources b = {0};
	b.cpu.burst = (opt_u64){true, 1000};
	CHECK(cgroup_apply(cg, &b, &warn, &e) == 0);
	EXPECT_MISSING(root, "cpu,cpuacct/docker/x/cpu.cfs_burst_us");
	CHECK(strv_len(warn) == 0);
	strv_free(warn);
}

static void test_v1_missing_files(void)
{
	run_v1(v1_missing_body);
}

/* kernelTCP on v1: memory.kmem.tcp.limit_in_bytes, as crun; -1 lifts it;
 * a kernel without the file makes it an error naming the field. */
static void v1_kernel_tcp_body(const char *root, cgroup *cg)
{
	berr e;
	char **warn = NULL;
	spec_resources t = {0};
	t.memory.kernel_tcp = (opt_i64){true, 16 << 20};
	int rc = cgroup_apply(cg, &t, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	t.memory.kernel_tcp.v = -1;
	CHECK(cgroup_apply(cg, &t, &warn, &e) == 0);
	EXPECT_FILE(root, "memory/docker/x/memory.kmem.tcp.limit_in_bytes", "16777216\n-1\n");
	bool deprecated = false;
	for (size_t i = 0; warn && warn[i]; i++)
		deprecated |= strstr(warn[i], "kernelTCP") != NULL;
	strv_free(warn);
	CHECK(!deprecated);
	char *f = xasprintf("%s/memory/docker/x/memory.kmem.tcp.limit_in_bytes", root);
	unlink(f);
	free(f);
	CHECK(cgroup_apply(cg, &t, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "memory.kmem.tcp.limit_in_bytes: write -1");
	CHECK_CONTAINS(e.msg, "linux.resources.memory.kernelTCP");
}

static void test_v1_kernel_tcp(void)
{
	run_v1(v1_kernel_tcp_body);
}

/* The v1 reservation limit of hugetlb (.rsvd) gets the limit where the
 * kernel has it. */
static void test_v1_hugetlb_rsvd(void)
{
	char *root = tf_mkdtemp();
	tf_put(root, "hugetlb/docker/x/hugetlb.2MB.limit_in_bytes", "");
	tf_put(root, "hugetlb/docker/x/hugetlb.2MB.rsvd.limit_in_bytes", "");
	cgroup_ctx ctx;
	cgroup *cg = open_fake(root, CGROUP_V1, &ctx);
	static spec_hugepage hp[] = {{.page_size = "2MB", .limit = 0}};
	spec_resources h = {0};
	h.hugepages = hp;
	h.n_hugepages = 1;
	berr e;
	int rc = cg ? cgroup_apply(cg, &h, NULL, &e) : -1;
	char *lim = tf_get(root, "hugetlb/docker/x/hugetlb.2MB.limit_in_bytes");
	char *rsvd = tf_get(root, "hugetlb/docker/x/hugetlb.2MB.rsvd.limit_in_bytes");
	bool ok = !strcmp(lim, "0\n") && !strcmp(rsvd, "0\n");
	free(lim);
	free(rsvd);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(rc == 0);
	CHECK(ok);
}

/* ---- v2 ---------------------------------------------------------------- */

/* A v2 cgroup with memory, cpu and pids but no io weight files (no BFQ, no
 * iocost) and no swap accounting. */
static void host_like_v2(const char *root)
{
	static const char *const knobs[] = {
	    "cpu.max",	   "cpu.weight",      "cpu.max.burst",	      "cpuset.cpus",
	    "cpuset.mems", "memory.max",      "memory.low",	      "pids.max",
	    "io.max",	   "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "memory.high",
	    "cgroup.procs"};
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		char *rel = xasprintf("docker/x/%s", knobs[i]);
		tf_put(root, rel, "");
		free(rel);
	}
}

static void v2_body(const char *root, cgroup *cg)
{
	berr e;
	char **warn = NULL;
	spec_resources r = docker_create();
	r.n_devices = 0; /* the eBPF device filter needs a real kernel */
	int rc = cgroup_apply(cg, &r, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	spec_resources u = all_unset();
	u.network.class_id.set = false;
	rc = cgroup_apply(cg, &u, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	CHECK(strv_len(warn) == 0);
	static const char *const untouched[] = {"cpu.max",     "cpu.weight", "cpuset.cpus",
						"cpuset.mems", "memory.max", "memory.low",
						"pids.max"};
	for (size_t i = 0; i < ARRAY_SIZE(untouched); i++) {
		char *rel = xasprintf("docker/x/%s", untouched[i]);
		EXPECT_FILE(root, rel, "");
		free(rel);
	}
	EXPECT_MISSING(root, "docker/x/io.weight");
	EXPECT_MISSING(root, "docker/x/memory.swap.max");

	/* unlimited memory without swap accounting: no swap file, no warning */
	spec_resources m = {0};
	m.memory.limit = (opt_i64){true, -1};
	CHECK(cgroup_apply(cg, &m, &warn, &e) == 0);
	EXPECT_FILE(root, "docker/x/memory.max", "max\n");
	CHECK(strv_len(warn) == 0);

	/* a weight with neither io.bfq.weight nor io.weight: an error */
	spec_resources w = {0};
	w.block_io.weight = (opt_u64){true, 500};
	CHECK(cgroup_apply(cg, &w, &warn, &e) < 0);
	CHECK_CONTAINS(e.msg, "io.weight: write default 4950: No such file or directory");
	CHECK_CONTAINS(e.msg, "linux.resources.blockIO.weight");
	/* per-device weights there: a warning */
	static spec_weight_device wd[] = {{.major = 8, .minor = 0, .weight = {true, 300}}};
	spec_resources d = {0};
	d.block_io.weight_device = wd;
	d.block_io.n_weight_device = 1;
	CHECK(cgroup_apply(cg, &d, &warn, &e) == 0);
	CHECK(strv_len(warn) == 1 && strstr(warn[0], "weightDevice"));
	strv_free(warn);
	warn = NULL;

	/* kernelTCP: no such limit on v2 (crun refuses it); 0 asks nothing */
	spec_resources t = {0};
	t.memory.kernel_tcp = (opt_i64){true, 1 << 20};
	CHECK(cgroup_apply(cg, &t, &warn, &e) < 0);
	CHECK_CONTAINS(e.msg, "linux.resources.memory.kernelTCP: cgroup v2 has no");
	t.memory.kernel_tcp.v = 0;
	CHECK(cgroup_apply(cg, &t, &warn, &e) == 0);

	/* an empty unified value asks nothing (crun); hugetlb .rsvd.max too */
	static spec_kv kv[] = {{"memory.high", ""}, {"memory.nosuch", ""}};
	static spec_hugepage hp[] = {{.page_size = "2MB", .limit = 4194304}};
	spec_resources x = {0};
	x.unified = kv;
	x.n_unified = 2;
	x.hugepages = hp;
	x.n_hugepages = 1;
	rc = cgroup_apply(cg, &x, &warn, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(rc == 0);
	EXPECT_FILE(root, "docker/x/memory.high", "");
	EXPECT_FILE(root, "docker/x/hugetlb.2MB.max", "4194304\n");
	EXPECT_FILE(root, "docker/x/hugetlb.2MB.rsvd.max", "4194304\n");
	CHECK(strv_len(warn) == 0);
	strv_free(warn);
}

static void test_v2_unset_and_missing(void)
{
	char *root = tf_mkdtemp();
	host_like_v2(root);
	cgroup_ctx ctx;
	cgroup *cg = open_fake(root, CGROUP_V2, &ctx);
	if (cg)
		v2_body(root, cg);
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(cg);
}

/* Hybrid: every limit goes to v1, the v2 tree only tracks processes. */
static void test_hybrid_docker_create_and_tcp(void)
{
	char *root = tf_mkdtemp();
	host_like_v1(root);
	tf_put(root, "unified/docker/x/cgroup.procs", "");
	cgroup_ctx ctx;
	cgroup *cg = open_fake(root, CGROUP_HYBRID, &ctx);
	berr e;
	spec_resources r = docker_create();
	r.memory.kernel_tcp = (opt_i64){true, 8 << 20};
	int rc = cg ? cgroup_apply(cg, &r, NULL, &e) : -1;
	if (rc < 0 && cg)
		fprintf(stderr, "%s\n", e.msg);
	char *tcp = tf_get(root, "memory/docker/x/memory.kmem.tcp.limit_in_bytes");
	bool tcp_ok = !strcmp(tcp, "8388608\n");
	free(tcp);
	bool v2 = cg && cg->v2;
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	tf_rm(root);
	CHECK(v2);
	CHECK(rc == 0);
	CHECK(tcp_ok);
}

CHECK_MAIN(test_v1_docker_create, test_v1_docker_update, test_v1_all_unset,
	   test_v1_unset_needs_no_controller, test_v1_missing_files, test_v1_kernel_tcp,
	   test_v1_hugetlb_rsvd, test_v2_unset_and_missing, test_hybrid_docker_create_and_tcp)
