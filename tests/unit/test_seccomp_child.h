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

/* Run fn(arg) in a child that never dumps core (SIGSYS deaths would
 * otherwise leave core files in the cwd). Returns the wait status. */
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
