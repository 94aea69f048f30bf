/* Waiting for the container's process while forwarding the signals the
 * runtime receives, as runc run does; and the holder that takes the
 * teardown of the container's mount namespace off that wait. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const int forwarded[] = {SIGINT,	 SIGTERM,  SIGHUP,  SIGQUIT, SIGUSR1,
				SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};

void wait_block_forwarded(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

int wait_forwarding(pid_t pid, int pidfd, int *status, berr *e)
{
	sigset_t set, old;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	int ret = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN}};
		if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = berr_sys(e, "poll");
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0);
		}
		if (p[0].revents & POLLIN) {
			if (waitpid(pid, status, 0) < 0)
				ret = berr_sys(e, "wait for container process");
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

int status_to_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* do_exit() drops the init's namespaces before it tells the parent: when the
 * init holds the last reference to its mount namespace, the parent's wait
 * includes the unmounting of every mount in it and an RCU grace period
 * (namespace_unlock). The holder is a process of the runtime's own, out of
 * the container and its cgroup, that keeps an nsfs fd of the mount
 * namespace open until the init is gone, then closes it, so that work
 * happens in the holder, after the runtime reported the exit. It keeps
 * nothing else (stdio on /dev/null, every other fd closed) and ends once
 * the init did: nothing is left behind. Nobody waits for it: it is orphaned
 * when the runtime exits, and a zombie of it until then costs nothing.
 * ns_hold_open takes the reference right after the clone, while the init
 * sets up its root (a quick process may be gone, namespaces and all, right
 * after its execve), and the holder is forked then, off the path;
 * ns_holder_start forks the holder with it and closes the caller's copy.
 * A failure only means the caller waits for the teardown, as before. */
int ns_hold_open(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

void ns_holder_trash_name(pid_t holder, char *buf, size_t size)
{
	snprintf(buf, size, ".gone.%d", (int)holder);
}

pid_t ns_holder_start(int nsfd, int pidfd, int rootfd, int *order_fd)
{
	*order_fd = -1;
	if (nsfd < 0)
		return -1;
	int order[2] = {-1, -1};
	/* a socket, not a pipe: the runtime's send to a holder that was killed
	 * fails with EPIPE (MSG_NOSIGNAL), no SIGPIPE */
	pid_t h = pidfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, order) < 0
		      ? -1
		      : fork();
	if (h != 0) {
		close(nsfd); /* the holder has its copy (or there is none) */
		if (order[0] >= 0)
			close(order[0]);
		if (h > 0)
			*order_fd = order[1];
		else if (order[1] >= 0)
			close(order[1]);
		return h;
	}
	/* above stdio, which goes to /dev/null: the caller's pipes are not
	 * kept open */
	int keep[4] = {fcntl(nsfd, F_DUPFD_CLOEXEC, 3), fcntl(pidfd, F_DUPFD_CLOEXEC, 3),
		       rootfd >= 0 ? fcntl(rootfd, F_DUPFD_CLOEXEC, 3) : -1,
		       fcntl(order[0], F_DUPFD_CLOEXEC, 3)};
	if (keep[0] < 0 || keep[1] < 0 || keep[3] < 0)
		_exit(0);
	setsid(); /* out of the caller's process group: a ^C is for the runtime */
	/* background work: at nice 19 its wake-ups (the init's exit, the
	 * "g") do not preempt the runtime on its way out */
	setpriority(PRIO_PROCESS, 0, 19);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && nul >= 0; fd++)
		dup2(nul, fd);
	fs_close_all_but(keep, 4);
	struct pollfd p = {.fd = keep[1], .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR) {
	}
	close(keep[0]); /* the last reference: the teardown is here */
	/* "g": the runtime has renamed the state directory for us to delete */
	char c;
	ssize_t n;
	while ((n = read(keep[3], &c, 1)) < 0 && errno == EINTR) {
	}
	if (n == 1 && keep[2] >= 0) {
		char name[32];
		berr ig;
		ns_holder_trash_name(getpid(), name, sizeof(name));
		fs_rm_rf_at(keep[2], name, &ig);
	}
	_exit(0);
}
