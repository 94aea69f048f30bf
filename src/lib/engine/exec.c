/* exec: a process in a running container (container.h), through the
 * runtime's rt_exec; the caller's stdio choice (opts.stdio) is given to the
 * process by the runtime's child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/proc.h"
#include "util/xalloc.h"

static int exec_fresh(eng *g, const char *id, const eng_exec_opts *o, int *status, berr *e);

/* "uid:gid" of a user spec in the container's root (malloc'ed). */
static char *resolve_user(eng *g, const char *id, const char *user, berr *e)
{
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		berr_sys(e, "open %s", rootfs);
		return NULL;
	}
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ng;
	char *home;
	int r = eng_resolve_user(rfd, user, &uid, &gid, &groups, &ng, &home, e);
	close(rfd);
	if (r < 0)
		return NULL;
	free(groups);
	free(home);
	return xasprintf("%u:%u", uid, gid);
}

int eng_container_exec(eng *g, const char *id, const eng_exec_opts *o, int *status, berr *e)
{
	*status = 125;
	const char *s = eng_container_status(g, id, NULL);
	if (!s || strcmp(s, "running"))
		return berr_set(e, EINVAL, "container %.12s is not running", id);
	/* the runtime's children do much before their exec: not in the fork
	 * of a threaded caller (the API service), whose other threads may hold
	 * a lock the child would wait on forever */
	if (o->started && proc_is_threaded())
		return exec_fresh(g, id, o, status, e);
	_cleanup_free_ char *u = NULL;
	if (o->user && !(u = resolve_user(g, id, o->user, e)))
		return -1;
	int fds[3], nul = -1;
	for (int fd = 0; fd < 3; fd++) {
		fds[fd] = o->stdio[fd] >= 0 ? o->stdio[fd] : fd;
		/* as Docker: a caller reading our output must not wait for the
		 * detached process to end */
		if (o->detach && o->stdio[fd] < 0) {
			if (nul < 0 && (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				return berr_sys(e, "open /dev/null");
			fds[fd] = nul;
		}
	}
	rt_exec_opts ro = {.args = o->args,
			   .env = o->env,
			   .cwd = o->cwd,
			   .user = u,
			   .tty = o->tty,
			   .detach = o->detach,
			   .stdio = fds,
			   .started = o->started};
	fflush(NULL); /* nothing buffered goes out on the process's fds */
	int er = rt_exec(&g->rt, id, &ro, status, e);
	if (nul >= 0)
		close(nul);
	if (er < 0) {
		/* Docker's: not found (by $PATH or at its path) 127, not runnable 126 */
		bool missing = strstr(e->msg, "executable file not found") ||
			       (!strncmp(e->msg, "exec: \"", 7) &&
				strstr(e->msg, "No such file or directory"));
		*status = missing ? 127 : strstr(e->msg, "permission denied") ? 126 : 125;
		return -1;
	}
	return 0;
}

/* ---- a threaded caller's exec: through a fresh `berth container
 * exec-child` process, whose fork only execs. The child runs the exec
 * with its own fds 0..2 (the caller's stdio choice), tells the pid and
 * passes the tty's master on a socket, lets go of the stdio, waits for the
 * process and ends as it did (its exit code, or the same signal): the
 * caller's started.pid is the child's, whose status is the process's. */

typedef struct exec_report {
	int ok;
	int status; /* failing: Docker's 125, 126, 127 */
	int errnum;
	pid_t pid; /* the process's */
	char msg[1024];
} exec_report;

#define EXEC_ENV_MAX  65536
#define EXEC_ARGS_MAX 65536

static int exec_fresh(eng *g, const char *id, const eng_exec_opts *o, int *status, berr *e)
{
	char self[4096];
	if (!proc_sibling("berth", self, sizeof(self)))
		return berr_sys(e, "exec: readlink /proc/self/exe");
	int sk[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk) < 0)
		return berr_sys(e, "exec: socketpair");
	size_t n_env = 0, n_args = 0;
	while (o->env && o->env[n_env])
		n_env++;
	while (o->args && o->args[n_args])
		n_args++;
	strv_builder v = {0};
	strvb_push(&v, self);
	strvb_push(&v, "--root");
	strvb_push(&v, g->root);
	strvb_push(&v, "container");
	strvb_push(&v, "exec-child");
	strvb_push(&v, "--"); /* what follows is positional, whatever it looks like */
	strvb_push_take(&v, xasprintf("%d", sk[1]));
	strvb_push_take(&v, xasprintf("-%s%s", o->tty ? "t" : "", o->detach ? "d" : ""));
	strvb_push(&v, o->user ? o->user : "");
	strvb_push(&v, o->cwd ? o->cwd : "");
	strvb_push_take(&v, xasprintf("%zu", n_env));
	for (size_t i = 0; i < n_env; i++)
		strvb_push(&v, o->env[i]);
	strvb_push(&v, id);
	for (size_t i = 0; i < n_args; i++)
		strvb_push(&v, o->args[i]);
	char **argv = strvb_take(&v);
	int src[3];
	for (int i = 0; i < 3; i++)
		src[i] = o->stdio[i] >= 0 ? o->stdio[i] : i;
	pid_t c = fork();
	if (c == 0) { /* async-signal-safe calls only, up to the exec */
		int tmp[3];
		for (int i = 0; i < 3; i++)
			if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
				_exit(127);
		for (int i = 0; i < 3; i++)
			if (dup2(tmp[i], i) < 0)
				_exit(127);
		if (fcntl(sk[1], F_SETFD, 0) == 0)
			execv(self, argv);
		_exit(127);
	}
	int fork_errno = errno;
	strv_free(argv);
	close(sk[1]);
	if (c < 0) {
		close(sk[0]);
		errno = fork_errno;
		return berr_sys(e, "exec: fork");
	}
	exec_report rep = {0};
	int pty = -1;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} u;
	struct iovec io = {.iov_base = &rep, .iov_len = sizeof(rep)};
	struct msghdr m = {
	    .msg_iov = &io, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t got;
	while ((got = recvmsg(sk[0], &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
	}
	close(sk[0]);
	struct cmsghdr *cm = got > 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&pty, CMSG_DATA(cm), sizeof(int));
	if (got != (ssize_t)sizeof(rep) || !rep.ok) {
		if (pty >= 0)
			close(pty);
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {
		}
		if (got != (ssize_t)sizeof(rep))
			return berr_set(e, EIO,
					"exec: its helper (berth container exec-child) "
					"ended without a word");
		rep.msg[sizeof(rep.msg) - 1] = 0;
		*status = rep.status;
		return berr_set(e, rep.errnum, "%s", rep.msg);
	}
	int pidfd = (int)syscall(SYS_pidfd_open, c, 0);
	if (pidfd < 0) {
		berr_sys(e, "exec: pidfd_open");
		if (pty >= 0)
			close(pty);
		kill(c, SIGKILL);
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {
		}
		return -1;
	}
	*o->started = (rt_exec_started){.pid = c, .shown = rep.pid, .pidfd = pidfd, .pty = pty};
	return 0;
}

int eng_exec_child(eng *g, int sock, int argc, char **argv)
{
	exec_report rep = {.status = 125};
	/* FLAGS USER CWD N_ENV ENV... ID ARGS... */
	size_t n_env = 0;
	char *end = NULL;
	if (argc >= 4)
		n_env = strtoul(argv[3], &end, 10);
	if (argc < 4 || !end || *end || n_env > EXEC_ENV_MAX || (size_t)argc < 5 + n_env ||
	    (size_t)argc - 5 - n_env > EXEC_ARGS_MAX) {
		snprintf(rep.msg, sizeof(rep.msg), "exec-child: bad arguments");
		send(sock, &rep, sizeof(rep), MSG_NOSIGNAL);
		return 125;
	}
	char **env = xreallocarray(NULL, n_env + 1, sizeof(char *));
	for (size_t i = 0; i < n_env; i++)
		env[i] = argv[4 + i];
	env[n_env] = NULL;
	const char *id = argv[4 + n_env];
	rt_exec_started p = {.pid = -1, .pidfd = -1, .pty = -1};
	eng_exec_opts o = {.args = argv + 5 + n_env,
			   .env = env,
			   .cwd = *argv[2] ? argv[2] : NULL,
			   .user = *argv[1] ? argv[1] : NULL,
			   .tty = strchr(argv[0], 't'),
			   .detach = strchr(argv[0], 'd'),
			   .stdio = {-1, -1, -1},
			   .started = &p};
	berr e;
	int status = 125;
	int r = eng_container_exec(g, id, &o, &status, &e);
	free(env);
	if (r < 0) {
		rep.status = status;
		rep.errnum = e.errnum;
		snprintf(rep.msg, sizeof(rep.msg), "%s", e.msg);
		send(sock, &rep, sizeof(rep), MSG_NOSIGNAL);
		return status;
	}
	rep.ok = 1;
	rep.pid = p.pid;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec io = {.iov_base = &rep, .iov_len = sizeof(rep)};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
	if (p.pty >= 0) {
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &p.pty, sizeof(int));
	}
	bool told = sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(rep);
	close(sock);
	if (p.pty >= 0)
		close(p.pty);
	/* the process's stdio is its own now: the caller sees its pipes end
	 * when it (and what it started) lets go, not when we do */
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && nul >= 0; fd++)
		dup2(nul, fd);
	if (!told)
		kill(p.pid, SIGKILL);
	int wst = 0;
	while (waitpid(p.pid, &wst, 0) < 0 && errno == EINTR) {
	}
	close(p.pidfd);
	if (WIFSIGNALED(wst)) { /* end as it did: the caller reads the same */
		signal(WTERMSIG(wst), SIG_DFL);
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		raise(WTERMSIG(wst));
	}
	return WIFEXITED(wst) ? WEXITSTATUS(wst) : 255;
}
