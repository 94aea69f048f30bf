/* linux.resources.memory.kernelTCP on this host's real cgroup v1 memory
 * controller (v1 or hybrid, root): the limit lands in
 * memory.kmem.tcp.limit_in_bytes, -1 lifts it, and the cgroup is gone
 * afterwards. Skips where no v1 memory hierarchy is mounted. */
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

static void test_kernel_tcp_live(void)
{
	if (geteuid() != 0) {
		printf("skip: kernelTCP live: needs root\n");
		return;
	}
	cgroup_ctx ctx;
	berr e;
	if (cgroup_ctx_detect(&ctx, NULL, &e) < 0) {
		printf("skip: kernelTCP live: %s\n", e.msg);
		return;
	}
	char name[64];
	snprintf(name, sizeof(name), "berth-test-tcp-%d", (int)getpid());
	cgroup *cg = ctx.mode == CGROUP_V2 ? NULL : cgroup_resolve(&ctx, name, "x", false, &e);
	const char *mem = cg ? cg_v1_dir(cg, CG_MEMORY) : NULL;
	if (!mem) {
		printf("skip: kernelTCP live: no cgroup v1 memory hierarchy\n");
		cgroup_free(cg);
		cgroup_ctx_clear(&ctx);
		return;
	}
	bool made = cgroup_create(cg, &e) == 0;
	if (!made)
		fprintf(stderr, "create: %s\n", e.msg);
	if (made)
		tcp_body(cg, mem);
	bool destroyed = !made || cgroup_destroy(cg, &e) == 0;
	bool gone = access(mem, F_OK) < 0;
	cgroup_free(cg);
	cgroup_ctx_clear(&ctx);
	CHECK(made);
	CHECK(destroyed && gone);
}

CHECK_MAIN(test_kernel_tcp_live)
