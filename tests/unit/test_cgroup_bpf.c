/* The eBPF device filter generator: programs for realistic rule lists load
 * into this kernel (the verifier accepts them). Enforcement is tested on a
 * real cgroup in test_cgroup_live.c. */
#include <linux/bpf.h>

#include "check.h"
#include "test_cgroup_helpers.h"

static bool can_load(void)
{
	if (geteuid() != 0) {
		printf("skipped: BPF_PROG_LOAD needs root\n");
		return false;
	}
	return true;
}

static int load(const spec_dev_rule *rules, size_t n, size_t *n_insns)
{
	struct bpf_insn *insns = NULL;
	berr e;
	if (cgroup_bpf_devices_prog(rules, n, &insns, n_insns, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	static char log[65536];
	int fd = cgroup_bpf_load(insns, *n_insns, log, sizeof(log), &e);
	if (fd < 0)
		fprintf(stderr, "%s\n%s\n", e.msg, log);
	free(insns);
	return fd;
}

static void test_runc_default_rules_load(void)
{
	size_t n, ni;
	spec_dev_rule *rules = tf_default_rules(&n);
	if (!can_load())
		return;
	int fd = load(rules, n, &ni);
	CHECK(fd >= 0);
	close(fd);
	/* prologue 6 + per rule (type, access x3, major, minor, ret, exit) - the
	 * first rule (deny all) is a catch-all: no trailing default. */
	CHECK(ni > 6 + 2 * n && ni < 6 + 8 * n + 2);
}

static void test_catch_all_and_empty(void)
{
	if (!can_load())
		return;
	size_t ni;
	/* allow everything: a single unconditional return, nothing after it */
	spec_dev_rule all[] = {{true, 'a', -1, -1, "rwm"}};
	int fd = load(all, 1, &ni);
	CHECK(fd >= 0);
	close(fd);
	CHECK(ni == 8);
	/* rules after a catch-all (in evaluation order) are dropped, else the
	 * verifier rejects unreachable code */
	spec_dev_rule two[] = {{true, 'c', 1, 3, "rw"}, {false, 'a', -1, -1, ""}};
	fd = load(two, 2, &ni);
	CHECK(fd >= 0);
	close(fd);
	CHECK(ni == 8);
	/* no rules: deny everything */
	fd = load(NULL, 0, &ni);
	CHECK(fd >= 0);
	close(fd);
	CHECK(ni == 8);
}

static void test_bad_rules(void)
{
	struct bpf_insn *insns = NULL;
	size_t ni;
	berr e;
	spec_dev_rule bad_acc[] = {{true, 'c', 1, 3, "rx"}};
	CHECK(cgroup_bpf_devices_prog(bad_acc, 1, &insns, &ni, &e) < 0);
	CHECK_CONTAINS(e.msg, "devices[0]: bad access");
	spec_dev_rule bad_type[] = {{true, 'c', 1, 3, "r"}, {true, 'x', 1, 3, "r"}};
	CHECK(cgroup_bpf_devices_prog(bad_type, 2, &insns, &ni, &e) < 0);
	CHECK_CONTAINS(e.msg, "devices[1]: bad type");
}

/* The instruction stream for one rule, checked field by field. */
static void test_insn_shape(void)
{
	spec_dev_rule r[] = {{true, 'c', 1, 3, "rw"}};
	struct bpf_insn *p = NULL;
	size_t ni;
	berr e;
	CHECK(cgroup_bpf_devices_prog(r, 1, &p, &ni, &e) == 0);
	/* 6 prologue + type + 3 access + major + minor + mov + exit + 2 default */
	bool ok = ni == 16 && p[6].code == (BPF_JMP | BPF_JNE | BPF_K) &&
		  p[6].imm == BPF_DEVCG_DEV_CHAR && p[6].off == 7 &&
		  p[8].imm == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE) && p[9].off == 4 &&
		  p[10].imm == 1 && p[10].off == 3 && p[11].imm == 3 && p[11].off == 2 &&
		  p[12].imm == 1 && p[13].code == (BPF_JMP | BPF_EXIT) && p[14].imm == 0;
	free(p);
	CHECK(ok);
}

CHECK_MAIN(test_runc_default_rules_load, test_catch_all_and_empty, test_bad_rules, test_insn_shape)
