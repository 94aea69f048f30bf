/* cgroup v2 device control: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program
 * generated from linux.resources.devices, as runc and crun do.
 *
 * The program sees struct bpf_cgroup_dev_ctx { u32 access_type (access << 16
 * | type); u32 major; u32 minor; } in r1 and returns 1 (allow) or 0 (deny).
 * Rules are checked last to first, the first match decides (so the last
 * matching rule in the OCI list wins, as with v1 devices.allow/deny writes);
 * nothing matching means deny. An allow rule matches when it covers every
 * requested access bit; a deny rule when it covers any of them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define AND32_K(d, i)  INSN(BPF_ALU | BPF_AND | BPF_K, d, 0, 0, i)
#define RSH32_K(d, i)  INSN(BPF_ALU | BPF_RSH | BPF_K, d, 0, 0, i)
#define MOV32_X(d, s)  INSN(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_K(d, i)  INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define JNE_K(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define JEQ_K(d, i, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JNE_X(d, s, o) INSN(BPF_JMP | BPF_JNE | BPF_X, d, s, o, 0)
#define EXIT()	       INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int rule_access(const spec_dev_rule *r)
{
	int a = 0;
	const char *s = r->access[0] ? r->access : "rwm";
	for (; *s; s++)
		a |= *s == 'r'	 ? BPF_DEVCG_ACC_READ
		     : *s == 'w' ? BPF_DEVCG_ACC_WRITE
		     : *s == 'm' ? BPF_DEVCG_ACC_MKNOD
				 : 0x100;
	return a;
}

int cgroup_bpf_devices_prog(const spec_dev_rule *rules, size_t n, struct bpf_insn **out,
			    size_t *n_out, berr *e)
{
	const int all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
	size_t cap = 6 + n * 8 + 2, k = 0;
	struct bpf_insn *p = xmalloc(cap * sizeof(*p));
	p[k++] = LDX_W(BPF_REG_2, BPF_REG_1, 0); /* r2 = type */
	p[k++] = AND32_K(BPF_REG_2, 0xffff);
	p[k++] = LDX_W(BPF_REG_3, BPF_REG_1, 0); /* r3 = access */
	p[k++] = RSH32_K(BPF_REG_3, 16);
	p[k++] = LDX_W(BPF_REG_4, BPF_REG_1, 4); /* r4 = major */
	p[k++] = LDX_W(BPF_REG_5, BPF_REG_1, 8); /* r5 = minor */
	bool catch_all = false;
	for (size_t j = n; j-- > 0 && !catch_all;) {
		const spec_dev_rule *r = &rules[j];
		int acc = rule_access(r);
		if (acc & 0x100) {
			free(p);
			return berr_set(e, EINVAL,
					"linux.resources.devices[%zu]: bad access \"%s\"", j,
					r->access);
		}
		if (r->type != 'a' && r->type != 'c' && r->type != 'b') {
			free(p);
			return berr_set(e, EINVAL, "linux.resources.devices[%zu]: bad type '%c'", j,
					r->type);
		}
		if (r->major > 0x7fffffff || r->minor > 0x7fffffff) {
			free(p);
			return berr_set(e, EINVAL, "linux.resources.devices[%zu]: number too large",
					j);
		}
		bool has_type = r->type != 'a';
		bool has_acc = acc != all;
		bool has_major = r->major >= 0;
		bool has_minor = r->minor >= 0;
		int len = has_type + 3 * has_acc + has_major + has_minor + 2;
		size_t start = k;
		/* Offsets jump to the next block: target - (insn index + 1). */
#define TO_NEXT() ((short)(start + (size_t)len - (k + 1)))
		if (has_type) {
			int t = r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
			p[k] = JNE_K(BPF_REG_2, t, 0);
			p[k].off = TO_NEXT();
			k++;
		}
		if (has_acc) {
			p[k++] = MOV32_X(BPF_REG_1, BPF_REG_3);
			p[k++] = AND32_K(BPF_REG_1, acc);
			if (r->allow) /* every requested bit covered */
				p[k] = JNE_X(BPF_REG_1, BPF_REG_3, 0);
			else /* any requested bit covered */
				p[k] = JEQ_K(BPF_REG_1, 0, 0);
			p[k].off = TO_NEXT();
			k++;
		}
		if (has_major) {
			p[k] = JNE_K(BPF_REG_4, (int)r->major, 0);
			p[k].off = TO_NEXT();
			k++;
		}
		if (has_minor) {
			p[k] = JNE_K(BPF_REG_5, (int)r->minor, 0);
			p[k].off = TO_NEXT();
			k++;
		}
#undef TO_NEXT
		p[k++] = MOV64_K(BPF_REG_0, r->allow ? 1 : 0);
		p[k++] = EXIT();
		/* A rule with no condition matches everything: what follows would
		 * be unreachable, which the verifier rejects. */
		catch_all = len == 2;
	}
	if (!catch_all) {
		p[k++] = MOV64_K(BPF_REG_0, 0);
		p[k++] = EXIT();
	}
	*out = p;
	*n_out = k;
	return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int cgroup_bpf_load(const struct bpf_insn *insns, size_t n, char *log, size_t logsz, berr *e)
{
	static const char license[] = "GPL";
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t)license;
	if (log && logsz) {
		log[0] = '\0';
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)logsz;
		attr.log_level = 1;
	}
	int fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return berr_sys(e, "bpf(BPF_PROG_LOAD) device filter (%zu insns)", n);
	/* bpf fds are created O_CLOEXEC by the kernel. */
	return fd;
}

static int prog_id(int fd, uint32_t *id)
{
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
		return -1;
	*id = info.id;
	return 0;
}

int cgroup_bpf_devices_apply(const char *dir, const spec_dev_rule *rules, size_t n, berr *e)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t ni;
	if (cgroup_bpf_devices_prog(rules, n, &insns, &ni, e) < 0)
		return -1;
	_cleanup_close_ int prog = cgroup_bpf_load(insns, ni, NULL, 0, e);
	if (prog < 0)
		return -1;
	_cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return berr_sys(e, "cgroup: open %s", dir);
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return berr_sys(e, "cgroup %s: bpf(BPF_PROG_ATTACH) device filter", dir);
	/* Replace, not stack: detach the device programs attached before. */
	uint32_t mine;
	if (prog_id(prog, &mine) < 0)
		return berr_sys(e, "bpf(BPF_OBJ_GET_INFO_BY_FD)");
	uint32_t ids[64];
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = ARRAY_SIZE(ids);
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return berr_sys(e, "cgroup %s: bpf(BPF_PROG_QUERY)", dir);
	uint32_t cnt =
	    attr.query.prog_cnt < ARRAY_SIZE(ids) ? attr.query.prog_cnt : ARRAY_SIZE(ids);
	for (uint32_t i = 0; i < cnt; i++) {
		if (ids[i] == mine)
			continue;
		union bpf_attr a2;
		memset(&a2, 0, sizeof(a2));
		a2.prog_id = ids[i];
		_cleanup_close_ int old = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a2);
		if (old < 0)
			return berr_sys(e, "bpf(BPF_PROG_GET_FD_BY_ID %u)", ids[i]);
		memset(&a2, 0, sizeof(a2));
		a2.target_fd = (uint32_t)cgfd;
		a2.attach_bpf_fd = (uint32_t)old;
		a2.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &a2) < 0 && errno != ENOENT)
			return berr_sys(e, "cgroup %s: bpf(BPF_PROG_DETACH %u)", dir, ids[i]);
	}
	return 0;
}
