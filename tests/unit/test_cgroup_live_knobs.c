/* Knobs whose handling depends on the kernel, on this host's real cgroup
 * v1 controllers (v1 or hybrid, root), each in a fresh cgroup removed
 * afterwards: kernelTCP lands in memory.kmem.tcp.limit_in_bytes (-1 lifts
 * it), and cpu.shares the kernel clamps is refused, as runc does. Skips
 * where the v1 hierarchy is not mounted. */
#include "check.h"
#include "test_cgroup_helpers.h"

static uint64_t read_u64(const char *dir, const char *file)
{
	berr e;
	char *s = cg_read(dir, file, &e);
	uint64_t v = s ? strtoull(s, NULL, 10) : 0;
	free(s);
	return v;
}

static void tcp_body(const cgroup *cg, const char *mem)
{
	berr e;
	spec_resources r = {0};
	r.memory.kernel_tcp = (opt_i64){true, 16 << 20};
	int rc = cgroup_apply(cg, &r, NULL, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	if (!cg_exists(mem, "memory.kmem.tcp.limit_in_bytes")) {
		/* a kernel without kmem accounting: refused, naming the field */
		CHECK(rc < 0);
		CHECK_CONTAINS(e.msg, "linux.resources.memory.kernelTCP");
		return;
	}
	CHECK(rc == 0);
	CHECK(read_u64(mem, "memory.kmem.tcp.limit_in_bytes") == 16u << 20);
	r.memory.kernel_tcp.v = -1;
	CHECK(cgroup_apply(cg, &r, NULL, &e) == 0);
	CHECK(read_u64(mem, "memory.kmem.tcp.limit_in_bytes") > (uint64_t)1 << 62);
	/* 0 means unset: the limit stays as it is */
	r.memory.kernel_tcp = (opt_i64){true, 8 << 20};
	CHECK(cgroup_apply(cg, &r, NULL, &e) == 0);
	r.memory.kernel_tcp.v = 0;
	CHECK(cgroup_apply(cg, &r, NULL, &e) == 0);
	CHECK(read_u64(mem, "memory.kmem.tcp.limit_in_bytes") == 8u << 20);
}

/* A fresh cgroup with v1 controller `ctrl`, body(cg, dir), then removal. */
static void with_live_cgroup(const char *tag, unsigned ctrl, const char *ctrl_name,
			     void (*body)(const cgroup *, const char *))
{
	if (geteuid() != 0) {
		printf("skip: %s live: needs root\n", tag);
		return;
	}
	cgroup_ctx ctx;
	berr e;
	if (cgroup_ctx_detect(&ctx, NULL, &e) < 0) {
		printf("skip: %s live: %s\n", tag, e.msg);
		return;
	}
	char name[64];
	snprintf(name, sizeof(name), "berth-test-%s-%d", tag, (int)getpid());
	cgroup *cg = ctx.mode == CGROUP_V2 ? NULL : cgroup_resolve(&ctx, name, "x", false, &e);
	const char *dir = cg ? cg_v1_dir(cg, ctrl) : NULL;
	if (!dir) {
		printf("skip: %s live: no cgroup v1 %s hierarchy\n", tag, ctrl_name);
		cgroup_free(cg);
		cgroup_ctx_clear(&ctx);
		return;
	}
	bool made = cgroup_create(cg, &e) == 0;
	if (!made)
		fprintf(stderr, "create: %s\n", e.msg);
	if (made)
		body(cg, dir);
	bool destroyed = !made || cgroup_destroy(cg, &e) == 0;
	bool gone = access(dir, F_OK) < 0;
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	CHECK(made);
	CHECK(destroyed && gone);
}

static void test_kernel_tcp_live(void)
{
	with_live_cgroup("tcp", CG_MEMORY, "memory", tcp_body);
}

static void shares_body(const cgroup *cg, const char *cpu)
{
	berr e;
	spec_resources r = {0};
	r.cpu.shares = (opt_u64){true, 512};
	CHECK(cgroup_apply(cg, &r, NULL, &e) == 0);
	CHECK(read_u64(cpu, "cpu.shares") == 512);
	r.cpu.shares.v = 1;
	CHECK(cgroup_apply(cg, &r, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "linux.resources.cpu.shares: 1 is below the minimum allowed, 2");
	r.cpu.shares.v = 1u << 20;
	CHECK(cgroup_apply(cg, &r, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "is above the maximum allowed, 262144");
}

static void test_cpu_shares_clamped_live(void)
{
	with_live_cgroup("shares", CG_CPU, "cpu", shares_body);
}

CHECK_MAIN(test_kernel_tcp_live, test_cpu_shares_clamped_live)
