/* runtime/process.c process_prepare_fds: every fd from 3 + preserve_fds is
 * marked close-on-exec, the preserved ones are kept, also where close_range
 * is refused (a seccomp filter the runtime itself runs under: EPERM, or
 * ENOSYS as a profile that predates it answers). Each case runs in a forked
 * child, which installs a filter refusing close_range only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "runtime/internal.h"

static int refuse_close_range(int errnum)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errnum),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static bool cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	return fl >= 0 && (fl & FD_CLOEXEC);
}

/* Child: fd 3 (preserved) and a higher fd, both open without CLOEXEC;
 * exit 0 if process_prepare_fds(1) kept 3 and marked the other. */
static int child(int errnum)
{
	int p[2];
	if (pipe(p) < 0)
		return 10;
	int a = fcntl(p[0], F_DUPFD, 40), high = fcntl(p[1], F_DUPFD, 40);
	close(p[0]);
	close(p[1]);
	if (a < 0 || high < 0 || dup2(a, 3) < 0)
		return 11;
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0) /* preserved: must come out cleared */
		return 12;
	if (errnum && refuse_close_range(errnum) < 0)
		return 13;
	if (errnum && syscall(SYS_close_range, 50, 60, 0) == 0)
		return 14; /* the filter is not in */
	berr e;
	if (process_prepare_fds(1, &e) < 0) {
		fprintf(stderr, "process_prepare_fds: %s\n", e.msg);
		return 15;
	}
	if (cloexec(3))
		return 16;
	if (!cloexec(high) || !cloexec(a))
		return 17;
	return 0;
}

static int run_case(int errnum)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(child(errnum));
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st))
		fprintf(stderr, "errnum %d: child exited %d\n", errnum, WEXITSTATUS(st));
	return WEXITSTATUS(st);
}

static void test_close_range_available(void)
{
	CHECK(run_case(0) == 0);
}

static void test_close_range_refused_eperm(void)
{
	CHECK(run_case(EPERM) == 0);
}

static void test_close_range_refused_enosys(void)
{
	CHECK(run_case(ENOSYS) == 0);
}

CHECK_MAIN(test_close_range_available, test_close_range_refused_eperm,
	   test_close_range_refused_enosys)
