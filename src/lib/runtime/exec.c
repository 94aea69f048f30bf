/* exec: a new process in a running container's namespaces. The runtime
 * forks, joins the namespaces (user first), forks again so the pid
 * namespace applies, and the grandchild (a child of the runtime thanks to
 * CLONE_PARENT) sets its identity and calls execve. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int flag;
} ns_files[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
    {"time", CLONE_NEWTIME}, {"mnt", CLONE_NEWNS},
};
#define N_NS (sizeof(ns_files) / sizeof(ns_files[0]))

typedef struct exec_ctx {
	spec_process proc;
	int nsfd[N_NS]; /* -1 where the container shares our namespace */
	int rootfd;	/* the init's root, when it shares our mount namespace */
	int sync[2];
	int console_fd;
	bool send_pty;
	bool joins_user;
	int preserve_fds;
	const int *stdio; /* rt_exec_opts.stdio */
	seccomp_prog sec;
	lsm_host lsm;
	spec listener;	 /* only linux.seccomp.listenerPath/-Metadata, for notify */
	cgroup *cg;	 /* the container's cgroup, or NULL */
	cgroup_join cgj; /* how the first child joins it */
} exec_ctx;

static int open_init_root(exec_ctx *x, pid_t pid, berr *e)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	x->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return x->rootfd < 0 ? berr_sys(e, "open %s", path) : 0;
}

static int open_namespaces(exec_ctx *x, pid_t pid, berr *e)
{
	for (size_t i = 0; i < N_NS; i++) {
		char path[64], self[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_files[i].name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_files[i].name);
		struct stat a, b;
		if (stat(path, &a) < 0) {
			if (errno == ENOENT)
				continue; /* kernel without this namespace type */
			return berr_sys(e, "stat %s", path);
		}
		if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			/* our mount namespace: the init's root is a chroot */
			if (ns_files[i].flag == CLONE_NEWNS && open_init_root(x, pid, e) < 0)
				return -1;
			continue;
		}
		x->nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (x->nsfd[i] < 0)
			return berr_sys(e, "open %s", path);
		if (ns_files[i].flag == CLONE_NEWUSER)
			x->joins_user = true;
	}
	return 0;
}

static void env_set(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; *env && (*env)[i]; i++) {
		if (!strncmp((*env)[i], kv, klen) && (*env)[i][klen] == '=') {
			free((*env)[i]);
			(*env)[i] = xstrdup(kv);
			return;
		}
	}
	strv_push(env, kv);
}

/* The process to run: --process FILE, or the container's process with the
 * command line's overrides, as runc exec builds it. */
static int build_process(rt_ctx *c, container *k, const rt_exec_opts *o, exec_ctx *x, berr *e)
{
	spec_process *p = &x->proc;
	_cleanup_free_ char *text = NULL;
	size_t len;
	spec *sp = container_config(k, &text, e);
	if (!sp)
		return berr_ctx(e, "container \"%s\"", k->r.id);
	/* the container's seccomp profile applies to exec'd processes too */
	if (compile_seccomp(c, &sp->linux_.seccomp, text, &x->sec, e) < 0) {
		spec_free(sp);
		return berr_ctx(e, "container \"%s\"", k->r.id);
	}
	spec_seccomp *ls = &x->listener.linux_.seccomp;
	ls->listener_path = take_ptr(sp->linux_.seccomp.listener_path);
	ls->listener_metadata = take_ptr(sp->linux_.seccomp.listener_metadata);
	if (o->process_file) {
		spec_free(sp);
		_cleanup_free_ char *ptext = NULL;
		if (fs_read_file_at(AT_FDCWD, o->process_file, &ptext, &len, e) < 0)
			return berr_ctx(e, "--process");
		return spec_parse_process(ptext, len, o->process_file, p, e);
	}
	if (!o->args || !o->args[0]) {
		spec_free(sp);
		return berr_set(e, EINVAL, "exec: a command is required");
	}
	*p = sp->process;
	memset(&sp->process, 0, sizeof(sp->process));
	spec_free(sp);
	strv_free(p->args);
	p->args = strv_dup(o->args);
	for (size_t i = 0; o->env && o->env[i]; i++)
		env_set(&p->env, o->env[i]);
	if (o->cwd) {
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	if (o->user) {
		char *end;
		unsigned long uid = strtoul(o->user, &end, 10);
		if (end == o->user || (*end && *end != ':'))
			return berr_set(e, EINVAL, "--user %s: expected uid[:gid]", o->user);
		p->user.uid = (uid_t)uid;
		if (*end == ':') {
			const char *g = end + 1;
			unsigned long gid = strtoul(g, &end, 10);
			if (end == g || *end)
				return berr_set(e, EINVAL, "--user %s: expected uid[:gid]",
						o->user);
			p->user.gid = (gid_t)gid;
		}
	}
	for (size_t i = 0; o->additional_gids && o->additional_gids[i]; i++) {
		p->user.additional_gids = xreallocarray(
		    p->user.additional_gids, p->user.n_additional_gids + 1, sizeof(gid_t));
		p->user.additional_gids[p->user.n_additional_gids++] =
		    (gid_t)strtoul(o->additional_gids[i], NULL, 10);
	}
	for (size_t i = 0; o->cap_add && o->cap_add[i]; i++) {
		int cap = spec_cap_from_name(o->cap_add[i]);
		if (cap < 0)
			return berr_set(e, EINVAL, "--cap %s: unknown capability", o->cap_add[i]);
		uint64_t bit = 1ULL << cap;
		p->caps.bounding |= bit;
		p->caps.effective |= bit;
		p->caps.permitted |= bit;
		/* never inheritable: a setuid or file-capability binary run by
		 * this process must not gain it (CVE-2022-29162) */
		p->has_caps = true;
	}
	if (o->tty)
		p->terminal = true;
	if (o->no_new_privs)
		p->no_new_privileges = true;
	return 0;
}

static _Noreturn void fail(int fd, berr *e)
{
	sync_send_error(fd, e);
	_exit(1);
}

static _Noreturn void exec_grandchild(exec_ctx *x)
{
	berr e;
	int fd = x->sync[1];
	const spec_process *p = &x->proc;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (x->joins_user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		berr_sys(&e, "become root in the container's user namespace");
		fail(fd, &e);
	}
	/* this process is a private copy of the config: fill in HOME */
	process_default_home((spec_process *)p);
	char exe[4096];
	if (process_lookup_exe(p, exe, sizeof(exe), &e) < 0)
		fail(fd, &e);
	if (p->terminal) {
		if (setsid() < 0) {
			berr_sys(&e, "setsid");
			fail(fd, &e);
		}
		int slave = -1;
		int master = term_open_pty(p, &slave, &e);
		if (master < 0)
			fail(fd, &e);
		if (term_send_master(x->console_fd >= 0 ? x->console_fd : fd, master, &e) < 0)
			fail(fd, &e);
		close(master);
		if (term_make_controlling(slave, false, &e) < 0)
			fail(fd, &e);
		close(slave);
	}
	if (process_apply_rlimits(p, &e) < 0 || process_set_oom_score(p, &e) < 0)
		fail(fd, &e);
	/* It survives execve: clear it, or exec --detach dies with us. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	sync_send(fd, SYNC_READY, 0, NULL, -1);
	sync_msg m;
	if (sync_recv(fd, &m, NULL, &e) <= 0 || m.type != SYNC_GO)
		_exit(1);
	if (process_finish(p, &x->sec, &x->lsm, fd, &e) < 0)
		fail(fd, &e);
	execve(exe, p->args, p->env);
	berr_sys(&e, "exec %s", exe);
	fail(fd, &e);
}

/* The caller's three fds onto 0..2 (in the child): through copies above
 * them first, as one may be another's target (stdio[1] == 0). */
static int give_stdio(const int *stdio, berr *e)
{
	int tmp[3];
	for (int i = 0; i < 3; i++)
		if ((tmp[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return berr_sys(e, "exec: fd %d for the process's fd %d", stdio[i], i);
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			return berr_sys(e, "exec: dup2 onto fd %d", i);
	for (int i = 0; i < 3; i++)
		close(tmp[i]);
	return 0;
}

static _Noreturn void exec_child(exec_ctx *x)
{
	berr e;
	/* Into the container's cgroup first: the grandchild inherits it. */
	if (x->cg && cgroup_join_self(x->cg, &x->cgj, &e) < 0)
		fail(x->sync[1], &e);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Never openable through /proc/<pid>/exe from inside (CVE-2019-5736). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (x->stdio && give_stdio(x->stdio, &e) < 0)
		fail(x->sync[1], &e);
	/* Before the container's /proc replaces ours and before its filter. */
	if (process_prepare_fds(x->preserve_fds, &e) < 0)
		fail(x->sync[1], &e);
	for (size_t i = 0; i < N_NS; i++) {
		if (x->nsfd[i] >= 0 && setns(x->nsfd[i], ns_files[i].flag) < 0) {
			berr_sys(&e, "join the container's %s namespace", ns_files[i].name);
			fail(x->sync[1], &e);
		}
	}
	if (x->rootfd >= 0 && (fchdir(x->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)) {
		berr_sys(&e, "enter the container's root (a chroot)");
		fail(x->sync[1], &e);
	}
	pid_t pid = ns_clone(CLONE_PARENT, NULL);
	if (pid < 0) {
		berr_sys(&e, "clone");
		fail(x->sync[1], &e);
	}
	if (pid == 0)
		exec_grandchild(x);
	sync_send(x->sync[1], SYNC_CHILD_PID, pid, NULL, -1);
	_exit(0);
}

/* Until the grandchild is READY and its pid is known: the two come from
 * different processes over one socket, in either order. */
static int serve(exec_ctx *x, pid_t *pid, int *pty, berr *e)
{
	*pid = -1;
	bool ready = false;
	while (!ready || *pid < 0) {
		sync_msg m;
		int fd;
		int r = sync_recv(x->sync[0], &m, &fd, e);
		if (r < 0)
			return -1;
		if (r == 0)
			return berr_set(e, EPIPE, "exec: process setup exited unexpectedly");
		if (m.type == SYNC_ERROR)
			return berr_set(e, m.value, "%s", m.text);
		if (m.type == SYNC_CHILD_PID)
			*pid = m.value;
		else if (m.type == SYNC_PTY)
			*pty = fd;
		else if (m.type == SYNC_READY)
			ready = true;
		else if (fd >= 0)
			close(fd);
	}
	return 0;
}

int rt_exec(rt_ctx *c, const char *id, const rt_exec_opts *o, int *exit_status, berr *e)
{
	container k;
	*exit_status = 0;
	if (container_open(c, id, &k, e) < 0)
		return -1;
	exec_ctx x = {.sync = {-1, -1},
		      .rootfd = -1,
		      .console_fd = -1,
		      .preserve_fds = o->preserve_fds,
		      .stdio = o->stdio,
		      .cgj = {.v2_dir = -1}};
	for (size_t i = 0; i < N_NS; i++)
		x.nsfd[i] = -1;
	int ret = -1, pidfd = -1, pty = -1;
	pid_t pid = -1;
	if (k.status != RT_RUNNING && k.status != RT_CREATED) {
		berr_set(e, EINVAL, "cannot exec in container \"%s\": it is %s", id,
			 rt_status_name(k.status));
		goto out;
	}
	if (build_process(c, &k, o, &x, e) < 0)
		goto out;
	lsm_detect(&x.lsm);
	if (x.proc.terminal && !o->console_socket && o->detach) {
		berr_set(e, EINVAL, "exec: --tty with --detach needs --console-socket");
		goto out;
	}
	x.send_pty = x.proc.terminal && !o->console_socket;
	if (o->console_socket && x.proc.terminal) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o->console_socket);
		x.console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (x.console_fd < 0 ||
		    connect(x.console_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			berr_sys(e, "--console-socket %s", o->console_socket);
			goto out;
		}
	}
	if (open_namespaces(&x, k.r.pid, e) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x.sync) < 0) {
		berr_sys(e, "socketpair");
		goto out;
	}
	x.cg = container_cgroup(&k);
	if (x.cg && cgroup_join_open(x.cg, &x.cgj, e) < 0)
		goto out;
	bool in_v2 = false;
	pid_t child = ns_clone_into(0, NULL, x.cgj.v2_dir, &in_v2);
	if (child < 0) {
		berr_sys(e, "fork");
		goto out;
	}
	if (child == 0) {
		close(x.sync[0]);
		exec_child(&x);
	}
	close(x.sync[1]);
	x.sync[1] = -1;
	cgroup_join_close(&x.cgj);
	int r = serve(&x, &pid, &pty, e);
	waitpid(child, NULL, 0);
	if (r < 0)
		goto out;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		berr_sys(e, "pidfd_open");
		goto out;
	}
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		if (fs_write_atomic(o->pid_file, buf, (size_t)n, 0644, false, e) < 0) {
			berr_ctx(e, "--pid-file");
			goto out;
		}
	}
	if (x.cg && !in_v2 && cgroup_enter_v2(x.cg, pid, e) < 0)
		goto out;
	{
		_cleanup_free_ char *st = st_spec_state_json(&k.r, k.status);
		r = release_init(x.sync[0], &x.listener, st, e);
		if (r < 0)
			goto out;
	}
	if (o->detach) {
		pid = -1;
		ret = 0;
		goto out;
	}
	if (o->started) {
		*o->started =
		    (rt_exec_started){.pid = pid, .shown = pid, .pidfd = pidfd, .pty = pty};
		pid = -1;
		pidfd = pty = -1;
		ret = 0;
		goto out;
	}
	int status = 0;
	r = pty >= 0 ? term_attach_and_wait(pty, pid, pidfd, &status, e)
		     : wait_forwarding(pid, pidfd, &status, e);
	pid = -1;
	if (r == 0) {
		*exit_status = status_to_exit_code(status);
		ret = 0;
	}
out:
	if (ret < 0 && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	int fds[] = {x.sync[0], x.sync[1], x.console_fd, pidfd, pty, x.rootfd};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (size_t i = 0; i < N_NS; i++)
		if (x.nsfd[i] >= 0)
			close(x.nsfd[i]);
	cgroup_join_close(&x.cgj);
	cgroup_free(x.cg);
	spec_process_clear(&x.proc);
	seccomp_prog_free(&x.sec);
	free(x.listener.linux_.seccomp.listener_path);
	free(x.listener.linux_.seccomp.listener_metadata);
	container_close(&k);
	return ret;
}
