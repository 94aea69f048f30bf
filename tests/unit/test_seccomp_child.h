/* Helpers for the seccomp unit tests: filters are installed only in forked
 * children (the test process itself stays unfiltered). After installing, a
 * child makes raw syscalls only and leaves with exit_group, so sanitizer
 * interceptors cannot trip over the filter. */
#pragma once

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp/seccomp.h"

static inline __attribute__((noreturn)) void child_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_unreachable();
}

/* The kernel's own signal default for a fault signal, set with the raw
 * syscall: a sanitizer's sigaction interceptor may keep its own handler,
 * which turns a fault into a report and exit(1) (an ASan build would then
 * read "int $0x80 faulted" as "int $0x80 works"). */
static inline void child_default_fault_signals(void)
{
	struct kernel_sigaction {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} dfl = {.handler = SIG_DFL};
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (syscall(SYS_rt_sigaction, sigs[i], &dfl, NULL, sizeof dfl.mask) != 0)
			child_exit(121);
}

/* Run fn(arg) in a child that never dumps core (SIGSYS deaths would
 * otherwise leave core files in the cwd) and dies of a fault signal the way
 * the kernel delivers it, in every build. Returns the wait status. */
static inline int run_child(void (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 0);
		child_default_fault_signals();
		fn(arg);
		child_exit(120);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static inline int exited_with(int st, int code)
{
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == code))
		fprintf(stderr, "child status 0x%x (exit %d sig %d), want exit %d\n", st,
			WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : -1,
			code);
	return WIFEXITED(st) && WEXITSTATUS(st) == code;
}

static inline int killed_by(int st, int sig)
{
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == sig))
		fprintf(stderr, "child status 0x%x, want signal %d\n", st, sig);
	return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

/* Install or leave with 100 + errno. */
static inline void child_install(const seccomp_prog *p)
{
	berr e;
	if (seccomp_install(p, 0, NULL, &e) < 0)
		child_exit(100 + (e.errnum & 0x1f));
}
