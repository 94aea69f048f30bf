/* The container side of create/run: runs in the new namespaces as a copy of
 * the runtime (never a re-exec of the host binary: CVE-2019-5736), marked
 * non-dumpable so nothing in the container can open /proc/<pid>/exe, and
 * ends in execve of the user's process. Errors go back to the parent (or,
 * after `create` returned, to `start`) over a socket, then the process exits. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/idmap.h"
#include "runtime/internal.h"
#include "runtime/sync.h"
#include "util/cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static _Noreturn void fail(int report_fd, berr *e)
{
	sync_send_error(report_fd, e);
	_exit(1);
}

static int wait_go(int fd, berr *e)
{
	sync_msg m;
	int r = sync_recv(fd, &m, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0 || m.type != SYNC_GO)
		return berr_set(e, EPIPE, "runtime went away during setup");
	return 0;
}

/* First thing in the first process made for the container (the init, or
 * stage 1, whose children inherit the cgroup). The state directory's lock
 * is the parent's: `state` says "creating" while that fd is open anywhere. */
static void join_cgroup(rt_launch *l)
{
	berr e;
	for (int i = 0; i < 2; i++)
		if (l->state_fds[i] >= 0) {
			close(l->state_fds[i]);
			l->state_fds[i] = -1;
		}
	if (l->cgj && cgroup_join_self(l->cg, l->cgj, &e) < 0)
		fail(l->sync_fd, &e);
	l->cgj = NULL;
}

static int own_cgroupns(const spec *s, berr *e)
{
	if (s->linux_.ns[NS_CGROUP].present && !s->linux_.ns[NS_CGROUP].path &&
	    unshare(CLONE_NEWCGROUP) < 0)
		return berr_sys(e, "unshare cgroup namespace");
	return 0;
}

int launch_join_late(const rt_launch *l, berr *e)
{
	launch_cg_late *late = l->cg_late;
	if (!late || !late->pending)
		return 0;
	late->pending = false;
	sync_msg m;
	int r = sync_recv(l->sync_fd, &m, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0 || m.type != SYNC_CG_READY)
		return berr_set(e, EPIPE, "runtime went away during setup");
	r = cgroup_join_self_v1_at(l->cg, late->hostroot, e);
	close(late->hostroot);
	late->hostroot = -1;
	return r < 0 ? -1 : own_cgroupns(l->s, e);
}

_Noreturn void rt_stage1_main(rt_launch *l, uint64_t new_flags)
{
	berr e;
	join_cgroup(l);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (ns_join_paths(l->s, &e) < 0)
		fail(l->sync_fd, &e);
	if (new_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0) {
			berr_sys(&e, "unshare user namespace");
			fail(l->sync_fd, &e);
		}
		sync_send(l->sync_fd, SYNC_NEED_MAPS, getpid(), NULL, -1);
		if (wait_go(l->sync_fd, &e) < 0)
			fail(l->sync_fd, &e);
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			berr_sys(&e, "become root in the user namespace");
			fail(l->sync_fd, &e);
		}
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	uint64_t rest = new_flags & ~(uint64_t)CLONE_NEWUSER;
	if (rest && unshare((int)rest) < 0) {
		berr_sys(&e, "unshare namespaces");
		fail(l->sync_fd, &e);
	}
	if ((rest & CLONE_NEWTIME) && ns_write_time_offsets(l->s, &e) < 0)
		fail(l->sync_fd, &e);
	/* CLONE_PARENT: the init becomes the runtime's child, so `run` can
	 * wait for it like any other. */
	pid_t pid = ns_clone(CLONE_PARENT, NULL);
	if (pid < 0) {
		berr_sys(&e, "clone container init");
		fail(l->sync_fd, &e);
	}
	if (pid == 0) {
		rt_init_main(l);
	}
	sync_send(l->sync_fd, SYNC_CHILD_PID, pid, NULL, -1);
	_exit(0);
}

static int set_names(const spec *s, berr *e)
{
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return berr_sys(e, "hostname: sethostname");
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return berr_sys(e, "domainname: setdomainname");
	return 0;
}

static int setup_terminal(rt_launch *l, berr *e)
{
	int slave = -1;
	_cleanup_close_ int master = term_open_pty(&l->s->process, &slave, e);
	if (master < 0)
		return -1;
	_cleanup_close_ int s = slave; /* closes slave on return (dup2ed onto 0-2 by then) */
	(void)s;		       /* only its cleanup uses it (clang: -Wunused-variable) */
	int r = 0;
	if (l->console_fd >= 0)
		r = term_send_master(l->console_fd, master, e);
	else if (l->send_pty)
		r = term_send_master(l->sync_fd, master, e);
	if (r < 0)
		return -1;
	return term_make_controlling(slave, true, e);
}

/* create mode: block until `start` connects to exec.sock; it becomes the
 * channel for errors from here on. */
static int wait_start(rt_launch *l, berr *e)
{
	int conn;
	do
		conn = accept4(l->exec_listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0)
		return berr_sys(e, "wait for start");
	sync_msg m;
	int r = sync_recv(conn, &m, NULL, e);
	if (r <= 0 || m.type != SYNC_GO) {
		close(conn);
		return berr_set(e, EPIPE, "start went away");
	}
	return conn;
}

_Noreturn void rt_init_main(rt_launch *l)
{
	berr e;
	const spec *s = l->s;
	const spec_process *p = &s->process;
	int report = l->sync_fd;
	join_cgroup(l);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (l->unshare_first && unshare((int)l->unshare_first) < 0) {
		berr_sys(&e, "unshare network namespace");
		fail(report, &e);
	}
	if (l->wait_go && wait_go(l->sync_fd, &e) < 0)
		fail(report, &e);
	/* Non-dumpable from here on (nothing else is in the container yet);
	 * not before: an unprivileged parent must still write our id maps.
	 * A rootless container in its caller's user namespace stays dumpable
	 * while it waits for `start`: the engine's rootless network tool
	 * (pasta, slirp4netns) must open /proc/PID/ns/net then, which the
	 * kernel hides for a non-dumpable process from an unprivileged user. */
	bool late_nodump = !s->linux_.ns[NS_USER].present && l->exec_listen_fd >= 0 &&
			   (geteuid() != 0 || idmap_in_userns());
	if (!late_nodump)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Now inside the container's cgroup (unless its v1 part comes late):
	 * a new cgroup namespace is rooted there. */
	if (!(l->cg_late && l->cg_late->pending) && own_cgroupns(s, &e) < 0)
		fail(report, &e);
	if (s->linux_.ns[NS_USER].present && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		berr_sys(&e, "linux.uidMappings: become root in the user namespace (is 0 mapped?)");
		fail(report, &e);
	}
	if (setsid() < 0) {
		berr_sys(&e, "setsid");
		fail(report, &e);
	}
	if (set_names(s, &e) < 0)
		fail(report, &e);
	if (process_set_oom_score(p, &e) < 0)
		fail(report, &e);
	/* While /proc is still the host's and no filter is in: the
	 * container's profile may refuse close_range, and its root may have
	 * no /proc to walk. */
	if (process_prepare_fds(l->preserve_fds, &e) < 0)
		fail(report, &e);
	int rootfd = -1;
	if (rootfs_prepare(l, &rootfd, &e) < 0 || launch_join_late(l, &e) < 0)
		fail(report, &e);
	close(rootfd);
	pid_t host_pid = 0;
	if (launch_has_hooks(s)) {
		/* The parent runs prestart/createRuntime and tells us our pid
		 * as the host sees it, for the state the hooks get. */
		sync_send(l->sync_fd, SYNC_HOOKS, 0, NULL, -1);
		sync_msg m;
		int r = sync_recv(l->sync_fd, &m, NULL, &e);
		if (r <= 0 || m.type != SYNC_GO) {
			if (r == 0 || m.type != SYNC_GO)
				berr_set(&e, EPIPE, "runtime went away during setup");
			fail(report, &e);
		}
		host_pid = m.value;
		if (s->hooks.n[HOOK_CREATE_CONTAINER]) {
			_cleanup_free_ char *st = launch_state_json(l, host_pid, "created");
			if (hooks_run(s, HOOK_CREATE_CONTAINER, st, &e) < 0)
				fail(report, &e);
		}
	}
	if (rootfs_pivot(l, &e) < 0 || rootfs_finish(l, &e) < 0)
		fail(report, &e);
	if (s->linux_.has_personality && personality(s->linux_.personality) < 0) {
		berr_sys(&e, "linux.personality");
		fail(report, &e);
	}
	if (!l->no_new_keyring &&
	    syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0 && errno != ENOSYS &&
	    errno != EPERM && errno != EACCES) {
		berr_sys(&e, "join a new session keyring");
		fail(report, &e);
	}
	/* this process is a private copy of the config: fill in HOME */
	process_default_home((spec_process *)p);
	char exe[4096];
	if (process_lookup_exe(p, exe, sizeof(exe), &e) < 0)
		fail(report, &e);
	if (p->terminal && setup_terminal(l, &e) < 0)
		fail(report, &e);
	if (l->console_fd >= 0)
		close(l->console_fd);
	if (process_apply_rlimits(p, &e) < 0)
		fail(report, &e);
	/* From here the runtime may exit (create): do not die with it. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	sync_send(l->sync_fd, SYNC_READY, 0, NULL, -1);
	if (l->exec_listen_fd >= 0) {
		report = wait_start(l, &e);
		if (report < 0)
			_exit(1);
		close(l->exec_listen_fd);
		close(l->sync_fd);
		if (late_nodump)
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	} else if (wait_go(l->sync_fd, &e) < 0) {
		fail(report, &e);
	}
	if (s->hooks.n[HOOK_START_CONTAINER]) {
		_cleanup_free_ char *st = launch_state_json(l, host_pid, "created");
		if (hooks_run(s, HOOK_START_CONTAINER, st, &e) < 0)
			fail(report, &e);
	}
	if (process_finish(p, l->sec, &l->lsm, report, &e) < 0)
		fail(report, &e);
	execve(exe, p->args, p->env);
	berr_sys(&e, "exec %s", exe);
	fail(report, &e);
}
