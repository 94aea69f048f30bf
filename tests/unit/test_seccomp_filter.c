/* seccomp_compile + seccomp_install: every action, operator, flag; notify. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "test_seccomp_child.h"
#include "util/cleanup.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS */
#endif

#define NAMES(...)     ((char *[]){__VA_ARGS__, NULL})
#define RULE(act, ...) ((spec_seccomp_rule){.names = NAMES(__VA_ARGS__), .action = (act)})
/* ASan calls these before a noreturn call (__asan_handle_no_return). */
#define ASAN_NEEDS   "sigaltstack", "gettid"
#define ERRNO_RET(x) ((opt_u64){.set = true, .v = (x)})

static spec_seccomp profile(enum spec_seccomp_action def, spec_seccomp_rule *rules, size_t n)
{
	return (spec_seccomp){.present = true, .default_action = def, .rules = rules, .n_rules = n};
}

/* Compile or fail the test (and print why). */
static int compile_ok(const spec_seccomp *s, seccomp_prog *p)
{
	berr e;
	if (seccomp_compile(s, p, &e) < 0) {
		fprintf(stderr, "seccomp_compile: %s\n", e.msg);
		return 0;
	}
	return 1;
}

static long raw_getcwd(void)
{
	char buf[256];
	return syscall(SYS_getcwd, buf, sizeof(buf));
}

/* ---- errno ------------------------------------------------------------ */

static void child_errno_rule(void *arg)
{
	child_install(arg);
	if (raw_getcwd() != -1 || errno != EACCES)
		child_exit(1);
	if (syscall(SYS_getpid) <= 0)
		child_exit(2);
	child_exit(0);
}

static void test_errno_rule_default_allow(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ERRNO, "getcwd");
	r.errno_ret = ERRNO_RET(EACCES);
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	CHECK(p.len > 0 && !p.notify && p.flags == 0);
	CHECK(exited_with(run_child(child_errno_rule, &p), 0));
	seccomp_prog_free(&p);
}

struct expect_errno {
	seccomp_prog *p;
	int getcwd_errno, mkdirat_errno;
};

static void child_allowlist(void *arg)
{
	struct expect_errno *x = arg;
	child_install(x->p);
	if (syscall(SYS_getpid) <= 0)
		child_exit(1);
	if (raw_getcwd() != -1 || errno != x->getcwd_errno)
		child_exit(2);
	/* mkdirat (258) is above every syscall the profile names (exit_group,
	 * 231): newer than the profile, so ENOSYS (runc's behaviour). */
	if (syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-berth/x", 0700) != -1 ||
	    errno != x->mkdirat_errno)
		child_exit(3);
	child_exit(0);
}

static void test_errno_default_with_allowlist(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ALLOW, "getpid", "exit_group", "exit", ASAN_NEEDS);
	spec_seccomp s = profile(SECCOMP_ACT_ERRNO, &r, 1);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	struct expect_errno x = {&p, EPERM, ENOSYS}; /* errnoRet unset: EPERM */
	CHECK(exited_with(run_child(child_allowlist, &x), 0));
	seccomp_prog_free(&p);

	s.default_errno_ret = ERRNO_RET(EXDEV);
	CHECK(compile_ok(&s, &p));
	x = (struct expect_errno){&p, EXDEV, ENOSYS};
	CHECK(exited_with(run_child(child_allowlist, &x), 0));
	seccomp_prog_free(&p);

	/* defaultErrnoRet ENOSYS (38): no separate stub needed, same answer. */
	s.default_errno_ret = ERRNO_RET(ENOSYS);
	CHECK(compile_ok(&s, &p));
	x = (struct expect_errno){&p, ENOSYS, ENOSYS};
	CHECK(exited_with(run_child(child_allowlist, &x), 0));
	seccomp_prog_free(&p);
}

/* ---- kill, trap, trace, log -------------------------------------------- */

static void child_call_getcwd(void *arg)
{
	child_install(arg);
	raw_getcwd();
	child_exit(0);
}

static void test_kill_process_and_kill(void)
{
	enum spec_seccomp_action acts[] = {SECCOMP_ACT_KILL_PROCESS, SECCOMP_ACT_KILL,
					   SECCOMP_ACT_KILL_THREAD};
	for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
		spec_seccomp_rule r = RULE(acts[i], "getcwd");
		spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
		seccomp_prog p;
		CHECK(compile_ok(&s, &p));
		/* single-threaded: even kill_thread takes the process */
		CHECK(killed_by(run_child(child_call_getcwd, &p), SIGSYS));
		seccomp_prog_free(&p);
	}
}

static void *survivor(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 300 * 1000 * 1000};
	nanosleep(&ts, NULL);
	child_exit(42);
}

static void child_two_threads(void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, survivor, NULL))
		child_exit(99);
	child_install(arg); /* this thread only (no TSYNC) */
	raw_getcwd();
	syscall(SYS_exit, 0); /* not reached with either kill */
	child_exit(98);
}

static void test_kill_thread_vs_kill_process(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_KILL_THREAD, "getcwd");
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	/* Only the filtered thread dies: the other one exits the process. */
	CHECK(exited_with(run_child(child_two_threads, &p), 42));
	seccomp_prog_free(&p);

	r.action = SECCOMP_ACT_KILL_PROCESS;
	CHECK(compile_ok(&s, &p));
	CHECK(killed_by(run_child(child_two_threads, &p), SIGSYS));
	seccomp_prog_free(&p);
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	child_exit(si->si_code == SYS_SECCOMP && si->si_syscall == SYS_getcwd ? 42 : 43);
}

static void child_trap(void *arg)
{
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	sigaction(SIGSYS, &sa, NULL);
	child_install(arg);
	raw_getcwd();
	child_exit(0);
}

static void test_trap(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_TRAP, "getcwd");
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	CHECK(exited_with(run_child(child_trap, &p), 42));
	seccomp_prog_free(&p);
}

static void child_expect_getcwd(void *arg)
{
	struct expect_errno *x = arg;
	child_install(x->p);
	long r = raw_getcwd();
	if (x->getcwd_errno == 0)
		child_exit(r > 0 ? 0 : 1);
	child_exit(r == -1 && errno == x->getcwd_errno ? 0 : 2);
}

static void test_trace_without_tracer_and_log(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_TRACE, "getcwd");
	r.errno_ret = ERRNO_RET(7);
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	/* the trace value is in the action word; no tracer: ENOSYS */
	bool found = false;
	for (size_t i = 0; i < p.len; i++)
		found = found || (p.insns[i].code == (BPF_RET | BPF_K) &&
				  p.insns[i].k == (SECCOMP_RET_TRACE | 7));
	CHECK(found);
	struct expect_errno x = {&p, ENOSYS, 0};
	CHECK(exited_with(run_child(child_expect_getcwd, &x), 0));
	seccomp_prog_free(&p);

	r.action = SECCOMP_ACT_LOG;
	CHECK(compile_ok(&s, &p));
	x = (struct expect_errno){&p, 0, 0};
	CHECK(exited_with(run_child(child_expect_getcwd, &x), 0));
	seccomp_prog_free(&p);
}

/* ---- notify ------------------------------------------------------------- */

struct notify_ctx {
	seccomp_prog *p;
	int sock;
};

static int send_fd(int sock, int fd)
{
	char c = 'x';
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl = {0};
	struct iovec iov = {&c, 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock, char *buf, size_t len, ssize_t *n)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl = {0};
	struct iovec iov = {buf, len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b)};
	*n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (*n <= 0 || !cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void child_notify(void *arg)
{
	struct notify_ctx *c = arg;
	berr e;
	int listener = -1;
	if (seccomp_install(c->p, 0, &listener, &e) < 0)
		child_exit(100 + (e.errnum & 0x1f));
	if (listener < 0 || send_fd(c->sock, listener) < 0)
		child_exit(3);
	syscall(SYS_close, listener);
	if (raw_getcwd() != -1 || errno != EXDEV) /* the agent's answer */
		child_exit(4);
	child_exit(0);
}

static void test_notify(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_NOTIFY, "getcwd");
	char *flags[] = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC",
			 NULL};
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	s.flags = flags;
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	CHECK(p.notify);
	CHECK(p.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
	CHECK(p.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	CHECK(p.flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH);

	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	struct notify_ctx c = {&p, sv[1]};
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		child_notify(&c);
	}
	close(sv[1]);
	char b[4];
	ssize_t n;
	_cleanup_close_ int listener = recv_fd(sv[0], b, sizeof(b), &n);
	close(sv[0]);
	int ok = listener >= 0;
	struct seccomp_notif req;
	memset(&req, 0, sizeof(req));
	if (ok)
		ok = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0;
	if (ok)
		ok = req.data.nr == SYS_getcwd && (pid_t)req.pid == pid &&
		     req.data.arch == AUDIT_ARCH_X86_64;
	if (ok) {
		struct seccomp_notif_resp resp = {.id = req.id, .error = -EXDEV};
		ok = ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
	}
	if (!ok)
		kill(pid, SIGKILL);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(ok);
	CHECK(exited_with(st, 0));
	seccomp_prog_free(&p);
}

static void test_notify_refused_for_write_and_default(void)
{
	berr e;
	seccomp_prog p;
	spec_seccomp_rule r = RULE(SECCOMP_ACT_NOTIFY, "read", "write");
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	CHECK(seccomp_compile(&s, &p, &e) == -1);
	CHECK_CONTAINS(e.msg, "write");
	s = profile(SECCOMP_ACT_NOTIFY, NULL, 0);
	CHECK(seccomp_compile(&s, &p, &e) == -1);
	CHECK_CONTAINS(e.msg, "default action");
}

/* ---- argument conditions ---------------------------------------------- */

/* getpid ignores its arguments, but seccomp sees the registers: a perfect
 * probe. Each case: arguments and whether the EACCES rule must match. */
struct argcase {
	uint64_t a0, a1;
	bool match;
};
struct argtest {
	seccomp_prog *p;
	const struct argcase *cases;
	size_t n;
};

static void child_args(void *arg)
{
	struct argtest *t = arg;
	child_install(t->p);
	for (size_t i = 0; i < t->n; i++) {
		long r = syscall(SYS_getpid, t->cases[i].a0, t->cases[i].a1, 0, 0, 0, 0);
		bool matched = r == -1 && errno == EACCES;
		if (matched != t->cases[i].match)
			child_exit(10 + (int)i);
	}
	child_exit(0);
}

static int check_args(spec_seccomp_arg *args, size_t nargs, const struct argcase *cases, size_t n)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ERRNO, "getpid");
	r.errno_ret = ERRNO_RET(EACCES);
	r.args = args;
	r.n_args = nargs;
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	seccomp_prog p;
	if (!compile_ok(&s, &p))
		return 0;
	struct argtest t = {&p, cases, n};
	int ok = exited_with(run_child(child_args, &t), 0);
	seccomp_prog_free(&p);
	return ok;
}

#define ARGS(...)  ((spec_seccomp_arg[]){__VA_ARGS__})
#define CASES(...) ((const struct argcase[]){__VA_ARGS__})
#define CHECK_ARGS(args, cases)                                                                    \
	CHECK(check_args(args, sizeof(args) / sizeof(spec_seccomp_arg), cases,                     \
			 sizeof(cases) / sizeof(struct argcase)))

static void test_arg_operators(void)
{
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_NE, .value = 5}),
		   CASES({5, 0, false}, {6, 0, true}, {0, 0, true}));
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_LT, .value = 5}),
		   CASES({4, 0, true}, {5, 0, false}, {6, 0, false}));
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_LE, .value = 5}),
		   CASES({4, 0, true}, {5, 0, true}, {6, 0, false}));
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_EQ, .value = 5}),
		   CASES({5, 0, true}, {4, 0, false}, {0x100000005ULL, 0, false}));
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_GE, .value = 5}),
		   CASES({5, 0, true}, {6, 0, true}, {4, 0, false}));
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_GT, .value = 5}),
		   CASES({6, 0, true}, {5, 0, false}, {0x100000000ULL, 0, true}));
	/* MASKED_EQ: value is the mask, valueTwo the expected bits. */
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_MASKED_EQ, .value = 0xf0, .value_two = 0x20}),
		   CASES({0x2f, 0, true}, {0x20, 0, true}, {0x3f, 0, false}, {0x0f, 0, false}));
	/* 64-bit values compare in full */
	CHECK_ARGS(ARGS({.index = 1, .op = SECCOMP_OP_EQ, .value = 0xdeadbeef00000001ULL}),
		   CASES({0, 0xdeadbeef00000001ULL, true}, {0, 1, false}));
}

static void test_arg_combinations(void)
{
	/* different indexes: AND */
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_EQ, .value = 1},
			{.index = 1, .op = SECCOMP_OP_EQ, .value = 2}),
		   CASES({1, 2, true}, {1, 3, false}, {0, 2, false}));
	/* same index twice: each condition its own rule (OR), as runc/crun */
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_EQ, .value = 1},
			{.index = 0, .op = SECCOMP_OP_EQ, .value = 2}),
		   CASES({1, 0, true}, {2, 0, true}, {3, 0, false}));
	/* ... and then ALL conditions are ORed, the other index's too */
	CHECK_ARGS(ARGS({.index = 0, .op = SECCOMP_OP_EQ, .value = 1},
			{.index = 0, .op = SECCOMP_OP_EQ, .value = 2},
			{.index = 1, .op = SECCOMP_OP_EQ, .value = 7}),
		   CASES({3, 7, true}, {1, 0, true}, {3, 0, false}));

	berr e;
	seccomp_prog p;
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ERRNO, "getpid");
	r.args = ARGS({.index = 6, .op = SECCOMP_OP_EQ});
	r.n_args = 1;
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	CHECK(seccomp_compile(&s, &p, &e) == -1);
	CHECK_CONTAINS(e.msg, "linux.seccomp: syscalls[0]: syscall getpid: args[0].index 6");
}

/* ---- architectures, flags, names --------------------------------------- */

static long int80(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
	return ret;
}

#define I386_GETCWD 183

static void child_int80(void *arg)
{
	if (arg)
		child_install(arg);
	long r = int80(I386_GETCWD, 0, 0);
	child_exit(r == -EACCES ? 0 : r == -ENOSYS ? 2 : 1);
}

static void test_architectures(void)
{
	char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ERRNO, "getcwd");
	r.errno_ret = ERRNO_RET(EACCES);
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	s.architectures = arches;
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	bool i386 = false, x86_64 = false;
	for (size_t i = 0; i < p.len; i++) {
		i386 = i386 || p.insns[i].k == AUDIT_ARCH_I386;
		x86_64 = x86_64 || p.insns[i].k == AUDIT_ARCH_X86_64;
	}
	CHECK(i386 && x86_64);
	/* The 64-bit syscall is filtered ... */
	struct expect_errno x = {&p, EACCES, 0};
	CHECK(exited_with(run_child(child_expect_getcwd, &x), 0));

	/* ... and, if this kernel runs i386 syscalls, the 32-bit one too. */
	int probe = run_child(child_int80, NULL);
	if (WIFSIGNALED(probe) || (WIFEXITED(probe) && WEXITSTATUS(probe) == 2)) {
		printf("skip: i386 syscalls (int 0x80) unavailable on this kernel (no IA32 "
		       "emulation)\n");
	} else {
		CHECK(exited_with(run_child(child_int80, &p), 0));
		/* Without SCMP_ARCH_X86 the i386 call is a bad arch: killed. */
		seccomp_prog p64;
		s.architectures = NULL;
		CHECK(compile_ok(&s, &p64));
		CHECK(killed_by(run_child(child_int80, &p64), SIGSYS));
		seccomp_prog_free(&p64);
	}
	seccomp_prog_free(&p);

	berr e;
	char *bad[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX", NULL};
	s.architectures = bad;
	CHECK(seccomp_compile(&s, &p, &e) == -1);
	CHECK_STREQ(e.msg,
		    "linux.seccomp: architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
}

static void test_flags(void)
{
	char *flags[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
			 "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
			 NULL};
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ERRNO, "getcwd");
	r.errno_ret = ERRNO_RET(EACCES);
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	s.flags = flags;
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	CHECK(p.flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
			  SECCOMP_FILTER_FLAG_TSYNC));
	/* WAIT_KILLABLE_RECV needs a listener: dropped with a warning */
	CHECK(p.warnings && p.warnings[0] && !p.warnings[1]);
	CHECK_CONTAINS(p.warnings[0], "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored");
	struct expect_errno x = {&p, EACCES, 0};
	CHECK(exited_with(run_child(child_expect_getcwd, &x), 0)); /* the kernel took them */
	seccomp_prog_free(&p);

	berr e;
	char *bad[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS", NULL};
	s.flags = bad;
	CHECK(seccomp_compile(&s, &p, &e) == -1);
	CHECK_STREQ(e.msg, "linux.seccomp: flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"");
}

static void test_unknown_syscall_is_a_warning(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ERRNO, "no_such_syscall_xyz", "getcwd");
	r.errno_ret = ERRNO_RET(EACCES);
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	CHECK(p.warnings && !p.warnings[1]);
	CHECK_STREQ(p.warnings[0], "unknown syscall \"no_such_syscall_xyz\" ignored");
	struct expect_errno x = {&p, EACCES, 0}; /* the rest of the rule applies */
	CHECK(exited_with(run_child(child_expect_getcwd, &x), 0));
	seccomp_prog_free(&p);
}

static void test_rule_equal_to_default_is_skipped(void)
{
	/* ERRNO without errnoRet is ERRNO(EPERM): the same as the default. */
	spec_seccomp_rule rules[] = {RULE(SECCOMP_ACT_ERRNO, "getcwd"),
				     RULE(SECCOMP_ACT_ALLOW, "getpid", "exit_group", ASAN_NEEDS)};
	spec_seccomp s = profile(SECCOMP_ACT_ERRNO, rules, 2);
	s.default_errno_ret = ERRNO_RET(EPERM);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	CHECK(p.warnings == NULL);
	struct expect_errno x = {&p, EPERM, ENOSYS};
	CHECK(exited_with(run_child(child_allowlist, &x), 0));
	seccomp_prog_free(&p);

	/* absent profile: empty program, install is a no-op */
	spec_seccomp none = {0};
	CHECK(compile_ok(&none, &p));
	CHECK(p.len == 0 && p.insns == NULL);
	int l = 7;
	berr e;
	CHECK(seccomp_install(&p, 0, &l, &e) == 0 && l == -1);
}

/* Without CAP_SYS_ADMIN a filter needs no_new_privs (hence runc's ordering:
 * install before dropping capabilities unless noNewPrivileges is set). */
static void child_needs_nnp(void *arg)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {0};
	if (syscall(SYS_capget, &h, d) < 0)
		child_exit(1);
	d[0].effective &= ~(1U << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d) < 0)
		child_exit(2);
	berr e;
	if (seccomp_install(arg, 0, NULL, &e) != -1 || e.errnum != EACCES ||
	    !strstr(e.msg, "needs no_new_privs or CAP_SYS_ADMIN"))
		child_exit(3);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_exit(4);
	child_install(arg);
	child_exit(raw_getcwd() == -1 && errno == EACCES ? 0 : 5);
}

static void test_install_needs_nnp_without_cap_sys_admin(void)
{
	spec_seccomp_rule r = RULE(SECCOMP_ACT_ERRNO, "getcwd");
	r.errno_ret = ERRNO_RET(EACCES);
	spec_seccomp s = profile(SECCOMP_ACT_ALLOW, &r, 1);
	seccomp_prog p;
	CHECK(compile_ok(&s, &p));
	CHECK(exited_with(run_child(child_needs_nnp, &p), 0));
	seccomp_prog_free(&p);
}

CHECK_MAIN(test_errno_rule_default_allow, test_errno_default_with_allowlist,
	   test_kill_process_and_kill, test_kill_thread_vs_kill_process, test_trap,
	   test_trace_without_tracer_and_log, test_notify,
	   test_notify_refused_for_write_and_default, test_arg_operators, test_arg_combinations,
	   test_architectures, test_flags, test_unknown_syscall_is_a_warning,
	   test_rule_equal_to_default_is_skipped, test_install_needs_nnp_without_cap_sys_admin)
