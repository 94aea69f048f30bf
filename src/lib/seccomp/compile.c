/* linux.seccomp -> classic BPF, with libseccomp, in the runtime parent. */
#include "seccomp/seccomp.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define MAX_ARGS 6
/* Above this many syscalls libseccomp's binary-tree layout is shorter and
 * faster than its linear one (runc uses the same threshold). */
#define OPTIMIZE_MIN_RULES 32

const char *seccomp_action_name(enum spec_seccomp_action a)
{
	switch (a) {
	case SECCOMP_ACT_KILL:
		return "SCMP_ACT_KILL";
	case SECCOMP_ACT_KILL_PROCESS:
		return "SCMP_ACT_KILL_PROCESS";
	case SECCOMP_ACT_KILL_THREAD:
		return "SCMP_ACT_KILL_THREAD";
	case SECCOMP_ACT_TRAP:
		return "SCMP_ACT_TRAP";
	case SECCOMP_ACT_ERRNO:
		return "SCMP_ACT_ERRNO";
	case SECCOMP_ACT_TRACE:
		return "SCMP_ACT_TRACE";
	case SECCOMP_ACT_ALLOW:
		return "SCMP_ACT_ALLOW";
	case SECCOMP_ACT_LOG:
		return "SCMP_ACT_LOG";
	case SECCOMP_ACT_NOTIFY:
		return "SCMP_ACT_NOTIFY";
	}
	return "SCMP_ACT_?";
}

const char *seccomp_op_name(enum spec_seccomp_op op)
{
	switch (op) {
	case SECCOMP_OP_NE:
		return "SCMP_CMP_NE";
	case SECCOMP_OP_LT:
		return "SCMP_CMP_LT";
	case SECCOMP_OP_LE:
		return "SCMP_CMP_LE";
	case SECCOMP_OP_EQ:
		return "SCMP_CMP_EQ";
	case SECCOMP_OP_GE:
		return "SCMP_CMP_GE";
	case SECCOMP_OP_GT:
		return "SCMP_CMP_GT";
	case SECCOMP_OP_MASKED_EQ:
		return "SCMP_CMP_MASKED_EQ";
	}
	return "SCMP_CMP_?";
}

/* The libseccomp action word; errno/trace carry errnoRet (EPERM by default). */
static int scmp_action(enum spec_seccomp_action a, opt_u64 ret, uint32_t *out, berr *e)
{
	uint32_t r = ret.set ? (uint32_t)ret.v : EPERM;
	if (ret.set && ret.v > 0xffff)
		return berr_set(e, 0, "errnoRet %llu out of range (0-65535)",
				(unsigned long long)ret.v);
	switch (a) {
	case SECCOMP_ACT_KILL:
	case SECCOMP_ACT_KILL_THREAD:
		*out = SCMP_ACT_KILL_THREAD;
		return 0;
	case SECCOMP_ACT_KILL_PROCESS:
		*out = SCMP_ACT_KILL_PROCESS;
		return 0;
	case SECCOMP_ACT_TRAP:
		*out = SCMP_ACT_TRAP;
		return 0;
	case SECCOMP_ACT_ERRNO:
		*out = SCMP_ACT_ERRNO(r);
		return 0;
	case SECCOMP_ACT_TRACE:
		*out = SCMP_ACT_TRACE(r);
		return 0;
	case SECCOMP_ACT_ALLOW:
		*out = SCMP_ACT_ALLOW;
		return 0;
	case SECCOMP_ACT_LOG:
		*out = SCMP_ACT_LOG;
		return 0;
	case SECCOMP_ACT_NOTIFY:
		*out = SCMP_ACT_NOTIFY;
		return 0;
	}
	return berr_set(e, 0, "unknown action %d", (int)a);
}

static int scmp_op(enum spec_seccomp_op op, enum scmp_compare *out)
{
	static const enum scmp_compare map[] = {
	    [SECCOMP_OP_NE] = SCMP_CMP_NE,
	    [SECCOMP_OP_LT] = SCMP_CMP_LT,
	    [SECCOMP_OP_LE] = SCMP_CMP_LE,
	    [SECCOMP_OP_EQ] = SCMP_CMP_EQ,
	    [SECCOMP_OP_GE] = SCMP_CMP_GE,
	    [SECCOMP_OP_GT] = SCMP_CMP_GT,
	    [SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};
	if ((unsigned)op >= ARRAY_SIZE(map))
		return -1;
	*out = map[op];
	return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token (its names are the lower-case
 * suffix: "x86_64", "aarch64", "mipsel64n32", ...). 0 if unknown. */
static uint32_t arch_token(const char *name)
{
	const char *p = name;
	if (!strncmp(p, "SCMP_ARCH_", 10))
		p += 10;
	char low[32];
	size_t n = strlen(p);
	if (n == 0 || n >= sizeof(low))
		return 0;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)p[i]);
	return seccomp_arch_resolve_name(low);
}

static const struct {
	const char *name;
	unsigned bit;
} flag_names[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static void warn(seccomp_prog *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(seccomp_prog *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strv_push(&p->warnings, buf);
}

static void release_ctx(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}

/* Add one spec rule for one syscall number (runc's matchCall). */
static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const char *name,
		    const spec_seccomp_rule *r, berr *e)
{
	struct scmp_arg_cmp cmp[MAX_ARGS];
	unsigned count[MAX_ARGS] = {0};
	bool same_index = false;
	if (r->n_args > MAX_ARGS)
		return berr_set(e, 0, "syscall %s: %zu argument conditions (at most %d)", name,
				r->n_args, MAX_ARGS);
	for (size_t i = 0; i < r->n_args; i++) {
		const spec_seccomp_arg *a = &r->args[i];
		enum scmp_compare op;
		if (a->index >= MAX_ARGS)
			return berr_set(e, 0, "syscall %s: args[%zu].index %u out of range (0-5)",
					name, i, a->index);
		if (scmp_op(a->op, &op) < 0)
			return berr_set(e, 0, "syscall %s: args[%zu]: unknown operator %d", name, i,
					(int)a->op);
		/* OCI: value, valueTwo; for MASKED_EQ value is the mask and
		 * valueTwo the expected result, as libseccomp's datum_a/datum_b. */
		cmp[i] = (struct scmp_arg_cmp){
		    .arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two};
		if (++count[a->index] > 1)
			same_index = true;
	}
	int rc;
	if (!same_index) {
		rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)r->n_args, cmp);
	} else {
		/* Two conditions on one argument cannot be ANDed usefully by
		 * libseccomp; like runc and crun, make each its own rule (OR). */
		rc = 0;
		for (size_t i = 0; i < r->n_args && rc == 0; i++)
			rc = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
	}
	if (rc < 0)
		return berr_errno(e, -rc, "syscall %s: adding rule", name);
	return 0;
}

/* seccomp_export_bpf() writes to an fd (libseccomp 2.5 has no _mem variant):
 * use a memfd and read it back. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **insns, size_t *len, berr *e)
{
	_cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "memfd_create");
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return berr_errno(e, -rc, "seccomp_export_bpf");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "fstat seccomp memfd");
	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter))
		return berr_set(e, 0, "seccomp_export_bpf: odd program size %zu", size);
	struct sock_filter *buf = xmalloc(size);
	if (pread(fd, buf, size, 0) != (ssize_t)size) {
		free(buf);
		return berr_sys(e, "read seccomp memfd");
	}
	*insns = buf;
	*len = size / sizeof(struct sock_filter);
	return 0;
}

/* runc's "patchbpf" in small: on the native architecture, a syscall numbered
 * above every syscall the profile names is newer than the profile, so answer
 * ENOSYS (programs then fall back, e.g. clone3 -> clone, fchmodat2 ->
 * fchmodat) instead of the default EPERM/kill. Prepended to the program; BPF
 * jumps are relative, so libseccomp's program is unchanged after it. */
static void prepend_enosys_stub(seccomp_prog *p, int max_nr)
{
	uint32_t native = seccomp_arch_native();
	struct sock_filter stub[6];
	size_t n = 0;
	stub[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native, 0, 0);
	stub[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	if (native == AUDIT_ARCH_X86_64) /* x32 syscalls share the arch, bit 30 set */
		stub[n++] =
		    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 2, 0);
	stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max_nr, 0, 1);
	stub[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	stub[1].jf = (uint8_t)(n - 2); /* not native: go to the first libseccomp insn */
	struct sock_filter *all = xreallocarray(NULL, p->len + n, sizeof(*all));
	memcpy(all, stub, n * sizeof(*all));
	memcpy(all + n, p->insns, p->len * sizeof(*all));
	free(p->insns);
	p->insns = all;
	p->len += n;
}

static int compile(const spec_seccomp *s, seccomp_prog *p, berr *e)
{
	uint32_t def;
	if (s->default_action == SECCOMP_ACT_NOTIFY)
		return berr_set(e, 0,
				"defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	if (scmp_action(s->default_action, s->default_errno_ret, &def, e) < 0)
		return berr_ctx(e, "defaultAction");

	__attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return berr_set(e, 0, "seccomp_init: default action %s rejected",
				seccomp_action_name(s->default_action));
	/* We install with seccomp(2) ourselves; these only shape the program. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	size_t n_names = 0;
	for (size_t i = 0; i < s->n_rules; i++)
		n_names += s->rules[i].names ? strv_len(s->rules[i].names) : 0;
	if (n_names > OPTIMIZE_MIN_RULES)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); /* best effort */

	for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
		const char *name = s->architectures[i];
		uint32_t tok = arch_token(name);
		if (!tok)
			return berr_set(e, 0, "architectures[%zu]: unknown architecture \"%s\"", i,
					name);
		int rc = seccomp_arch_add(ctx, tok);
		if (rc < 0 && rc != -EEXIST) /* the native one is always there */
			return berr_errno(e, -rc, "architectures[%zu]: adding %s", i, name);
	}

	for (size_t i = 0; i < s->n_rules; i++) {
		const spec_seccomp_rule *r = &s->rules[i];
		if (r->action == SECCOMP_ACT_NOTIFY)
			p->notify = true;
	}

	for (size_t i = 0; s->flags && s->flags[i]; i++) {
		size_t k = 0;
		while (k < ARRAY_SIZE(flag_names) && strcmp(flag_names[k].name, s->flags[i]))
			k++;
		if (k == ARRAY_SIZE(flag_names))
			return berr_set(e, 0, "flags[%zu]: unknown flag \"%s\"", i, s->flags[i]);
		if (flag_names[k].bit == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !p->notify) {
			/* The kernel rejects it without a listener (libseccomp
			 * likewise applies it only with notify rules). */
			warn(p, "seccomp flag %s ignored: no rule uses SCMP_ACT_NOTIFY",
			     s->flags[i]);
			continue;
		}
		p->flags |= flag_names[k].bit;
	}
	if (p->notify)
		p->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	if (p->notify && (p->flags & SECCOMP_FILTER_FLAG_TSYNC))
		p->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH; /* else the two exclude */

	int max_nr = -1;
	for (size_t i = 0; i < s->n_rules; i++) {
		const spec_seccomp_rule *r = &s->rules[i];
		uint32_t act;
		if (scmp_action(r->action, r->errno_ret, &act, e) < 0)
			return berr_ctx(e, "syscalls[%zu].action", i);
		bool skip = act == def; /* libseccomp rejects it; it changes nothing */
		for (size_t j = 0; r->names && r->names[j]; j++) {
			const char *name = r->names[j];
			if (r->action == SECCOMP_ACT_NOTIFY && !strcmp(name, "write"))
				return berr_set(e, 0,
						"syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used "
						"for the write syscall",
						i);
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR) {
				warn(p, "unknown syscall \"%s\" ignored", name);
				continue;
			}
			if (nr > max_nr)
				max_nr = nr;
			if (skip)
				continue;
			if (add_rule(ctx, act, nr, name, r, e) < 0)
				return berr_ctx(e, "syscalls[%zu]", i);
		}
	}

	if (export_bpf(ctx, &p->insns, &p->len, e) < 0)
		return -1;
	bool permissive = s->default_action == SECCOMP_ACT_ALLOW ||
			  s->default_action == SECCOMP_ACT_LOG ||
			  (s->default_action == SECCOMP_ACT_ERRNO && s->default_errno_ret.set &&
			   s->default_errno_ret.v == ENOSYS);
	if (!permissive && max_nr >= 0)
		prepend_enosys_stub(p, max_nr);
	if (p->len > BPF_MAXINSNS)
		return berr_set(e, 0, "filter has %zu instructions (the kernel takes %d)", p->len,
				BPF_MAXINSNS);
	return 0;
}

int seccomp_compile(const spec_seccomp *s, seccomp_prog *out, berr *e)
{
	seccomp_prog p = {0};
	if (!s->present) {
		*out = p;
		return 0;
	}
	if (compile(s, &p, e) < 0) {
		seccomp_prog_free(&p);
		return berr_ctx(e, "linux.seccomp");
	}
	*out = p;
	return 0;
}

void seccomp_prog_free(seccomp_prog *p)
{
	free(p->insns);
	strv_free(p->warnings);
	*p = (seccomp_prog){0};
}
