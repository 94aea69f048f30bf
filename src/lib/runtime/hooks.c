/* OCI hooks: each one a process given the container's state on stdin,
 * bounded by its timeout. The first failure stops the sequence. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char *const kind_names[HOOK_KINDS] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *hooks_kind_name(enum spec_hook_kind kind)
{
	return kind_names[kind];
}

static int run_one(const spec_hook *h, const char *state, berr *e)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return berr_sys(e, "pipe");
	int pidfd = -1;
	pid_t pid = ns_clone(0, &pidfd);
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return berr_sys(e, "fork");
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		char *const fallback[] = {h->path, NULL};
		char *const empty[] = {NULL};
		execve(h->path, h->args ? h->args : fallback, h->env ? h->env : empty);
		_exit(127);
	}
	close(in[0]);
	/* A hook that does not read its stdin must not block us. */
	signal(SIGPIPE, SIG_IGN);
	fs_write_all(in[1], state, strlen(state));
	close(in[1]);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int ret = 0;
	for (;;) {
		int timeout_ms = -1;
		if (h->timeout > 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long elapsed = (now.tv_sec - start.tv_sec) * 1000 +
				       (now.tv_nsec - start.tv_nsec) / 1000000;
			timeout_ms = h->timeout * 1000 - (int)elapsed;
			if (timeout_ms <= 0) {
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
				waitpid(pid, NULL, 0);
				ret = berr_set(e, ETIMEDOUT, "%s: timed out after %ds", h->path,
					       h->timeout);
				break;
			}
		}
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = berr_sys(e, "poll");
			break;
		}
		if (r == 0)
			continue;
		int status;
		if (waitpid(pid, &status, 0) < 0) {
			ret = berr_sys(e, "wait for hook");
			break;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			ret = berr_set(e, ENOENT, "%s: could not be executed", h->path);
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			ret = berr_set(e, EIO, "%s: exited with status %d", h->path,
				       WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			ret =
			    berr_set(e, EIO, "%s: killed by signal %d", h->path, WTERMSIG(status));
		break;
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
