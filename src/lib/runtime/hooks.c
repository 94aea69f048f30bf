/* OCI hooks: each one a process given the container's state on stdin,
 * bounded by its timeout (which covers writing the state too: a hook that
 * never reads a large state must not block us).
 *
 * What a failure means depends on the kind (runtime-spec, "Lifecycle"):
 * prestart, createRuntime, createContainer and startContainer fail the
 * operation, so the first failure stops the sequence (hooks_run);
 * poststart and poststop failures are warnings and every hook still runs
 * (hooks_run_all). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char *const kind_names[HOOK_KINDS] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *hooks_kind_name(enum spec_hook_kind kind)
{
	return kind_names[kind];
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int exit_error(const spec_hook *h, int status, berr *e)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return berr_set(e, ENOENT, "%s: could not be executed", h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return berr_set(e, EIO, "%s: exited with status %d", h->path, WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return berr_set(e, EIO, "%s: killed by signal %d", h->path, WTERMSIG(status));
	return 0;
}

/* Feeds the state to the hook's stdin (non-blocking) while waiting for it
 * to exit, until the deadline (-1: none). The pipe is closed here. */
static int feed_and_wait(const spec_hook *h, pid_t pid, int pidfd, int in, const char *state,
			 long long deadline, berr *e)
{
	size_t len = strlen(state), off = 0;
	for (;;) {
		int timeout_ms = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				if (in >= 0)
					close(in);
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
				waitpid(pid, NULL, 0);
				return berr_set(e, ETIMEDOUT, "%s: timed out after %ds", h->path,
						h->timeout);
			}
			timeout_ms = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
				      {.fd = in, .events = POLLOUT}};
		int r = poll(p, in >= 0 ? 2 : 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = berr_sys(e, "poll");
			if (in >= 0)
				close(in);
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			waitpid(pid, NULL, 0);
			return err;
		}
		if (in >= 0 && p[1].revents) {
			/* POLLERR or EPIPE: the hook closed its stdin, which it may */
			bool done = !(p[1].revents & POLLOUT);
			if (!done) {
				ssize_t w = write(in, state + off, len - off);
				if (w > 0)
					off += (size_t)w;
				else if (w < 0 && errno != EAGAIN && errno != EINTR)
					done = true;
				done = done || off == len;
			}
			if (done) {
				close(in);
				in = -1;
			}
		}
		if (p[0].revents & POLLIN) {
			int status;
			if (in >= 0)
				close(in);
			if (waitpid(pid, &status, 0) < 0)
				return berr_sys(e, "wait for hook");
			return exit_error(h, status, e);
		}
	}
}

static int run_one(const spec_hook *h, const char *state, berr *e)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return berr_sys(e, "pipe");
	int pidfd = -1;
	pid_t parent = getpid();
	pid_t pid = ns_clone(0, &pidfd);
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return berr_sys(e, "fork");
	}
	if (pid == 0) {
		/* a runtime killed meanwhile takes its hook along (what the
		 * hook starts in the background is its own business) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(127);
		dup2(in[0], STDIN_FILENO);
		signal(SIGPIPE, SIG_DFL); /* ignored by us, not by the hook */
		sigset_t none;		  /* blocked by rt_run for its wait, not by the hook */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *const fallback[] = {h->path, NULL};
		char *const empty[] = {NULL};
		execve(h->path, h->args && h->args[0] ? h->args : fallback,
		       h->env ? h->env : empty);
		_exit(127);
	}
	close(in[0]);
	/* A hook that does not read its stdin must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	int ret;
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0) {
		ret = berr_sys(e, "hook stdin");
		close(in[1]);
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		waitpid(pid, NULL, 0);
	} else {
		long long deadline = h->timeout > 0 ? now_ms() + (long long)h->timeout * 1000 : -1;
		ret = feed_and_wait(h, pid, pidfd, in[1], state, deadline, e);
	}
	close(pidfd);
	return ret;
}

int hooks_run(const spec *s, enum spec_hook_kind kind, const char *state_json, berr *e)
{
	for (size_t i = 0; i < s->hooks.n[kind]; i++)
		if (run_one(&s->hooks.list[kind][i], state_json, e) < 0)
			return berr_ctx(e, "hooks.%s[%zu]", kind_names[kind], i);
	return 0;
}

size_t hooks_run_all(const spec *s, enum spec_hook_kind kind, const char *state_json,
		     char ***warnings)
{
	size_t failed = 0;
	strv_builder b = strvb_from(*warnings);
	for (size_t i = 0; i < s->hooks.n[kind]; i++) {
		berr e;
		if (run_one(&s->hooks.list[kind][i], state_json, &e) == 0)
			continue;
		berr_ctx(&e, "hooks.%s[%zu]", kind_names[kind], i);
		strvb_push(&b, e.msg);
		failed++;
	}
	*warnings = strvb_take(&b);
	return failed;
}
