/* eng_container_start: a container's launch under berth-monitor (see
 * src/cmd/berth-monitor/main.c for the monitor's side, docs/engine.md for
 * the protocol). The caller forks a child M that becomes the monitor: M
 * creates the container (its init is M's child), reports on a pipe and
 * execs berth-monitor; the caller records M, connects to the attach socket
 * (attached starts) and starts the container. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/healthpriv.h"
#include "engine/network.h"
#include "engine/nsmode.h"
#include "engine/pod.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/xalloc.h"

static int recv_fd(int sock)
{
	char b;
	struct iovec io = {.iov_base = &b, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} u;
	struct msghdr m = {
	    .msg_iov = &io, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A listening socket <dirfd>/<name> (the attach and console sockets; the
 * client side is eng_attach_connect()). */
static int unix_listen_at(int dirfd, const char *name, berr *e)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return berr_sys(e, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	unlinkat(dirfd, name, 0);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0) {
		berr_sys(e, "listen on %s", name);
		close(s);
		return -1;
	}
	return s;
}

/* The monitor-to-be: create the container (its init becomes our child),
 * put its stdio on fds 3..6 and exec berth-monitor. Reports "OK pid" or
 * "E errnum message" on the status pipe. */
static _Noreturn void monitor_child(eng *g, const char *id, json_object *doc, bool tty,
				    bool interactive, bool rm, const eng_log_cfg *log,
				    int status_fd, const char *helper_dir)
{
	berr e;
	char msg[1200];
	/* out of the way of fds 3..7 set up below */
	int hi_status = fcntl(status_fd, F_DUPFD_CLOEXEC, 30);
	if (hi_status >= 0) {
		close(status_fd);
		status_fd = hi_status;
	}
	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	_cleanup_free_ char *dir = eng_path(g, id, "");
	_cleanup_free_ char *mon = NULL, *berth = NULL; /* before any goto (clang) */
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
	int console = -1, lsock;
	if (dfd < 0 || nul < 0)
		goto fail_sys;
	/* the log made now, not by the monitor after its exec: a follower
	 * started right after the start (docker-py's run, logs -f) has it open
	 * before the container can end and an --rm take its directory away.
	 * (Here, while dfd is still dfd: fds 3..6 are replaced below.) */
	if (!log->none) {
		int lf = openat(dfd, "ctr.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (lf < 0)
			goto fail_sys;
		close(lf);
	}
	if (tty) {
		console = unix_listen_at(dfd, "console.sock", &e);
		if (console < 0)
			goto fail;
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	} else {
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
			goto fail_sys;
		if (interactive && pipe2(in, O_CLOEXEC) < 0)
			goto fail_sys;
		dup2(interactive ? in[0] : nul, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[1]);
		close(err[1]);
		if (in[0] >= 0)
			close(in[0]);
	}
	lsock = unix_listen_at(dfd, "attach.sock", &e);
	if (lsock < 0)
		goto fail;
	char cs[64];
	snprintf(cs, sizeof(cs), "/proc/self/fd/%d/console.sock", dfd);
	pid_t pid = 0;
	rt_create_opts o = {.bundle = dir, .console_socket = tty ? cs : NULL, .pid_out = &pid};
	if (rt_create(&g->rt, id, &o, &e) < 0)
		goto fail;
	/* the runtime's warnings (limits a rootless container cannot have, ...)
	 * go to the caller as "W ..." lines before the status line */
	for (size_t i = 0; g->rt.warnings && g->rt.warnings[i]; i++) {
		snprintf(msg, sizeof(msg) - 1, "W %s", g->rt.warnings[i]);
		for (char *p = msg; *p; p++)
			if (*p == '\n')
				*p = ' ';
		strcat(msg, "\n");
		fs_write_all(status_fd, msg, strlen(msg));
	}
	int master = -1;
	if (tty) {
		int cfd = accept4(console, NULL, NULL, SOCK_CLOEXEC);
		master = cfd < 0 ? -1 : recv_fd(cfd);
		if (master < 0) {
			berr_sys(&e, "receive the pty master");
			goto fail_kill;
		}
		close(cfd);
		close(console);
		unlinkat(dfd, "console.sock", 0);
	}
	/* networks between create and start; the published ports' sockets
	 * stay open in the monitor (above fd 8, inherited) while it runs */
	eng_net_hold hold;
	if (eng_net_attach(g, id, doc, pid, &hold, &e) < 0)
		goto fail_kill;
	for (size_t i = 0; i < hold.n; i++)
		if (fcntl(hold.fds[i], F_DUPFD, 64) < 0)
			goto fail_sys_kill;
	/* fds 3..6, via high numbers so nothing overlaps */
	int fds[4] = {tty ? master : out[0], tty ? -1 : err[0], tty ? -1 : in[1], lsock};
	int hi[4];
	for (int i = 0; i < 4; i++)
		hi[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 20) : -1;
	for (int i = 0; i < 4; i++)
		if (hi[i] >= 0 ? dup2(hi[i], 3 + i) < 0 : dup2(nul, 3 + i) < 0)
			goto fail_sys_kill;
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	mon = xasprintf("%s/berth-monitor", helper_dir);
	berth = xasprintf("%s/berth", helper_dir);
	char pids[32], flags[64];
	snprintf(pids, sizeof(pids), "%d", pid);
	/* letters, then the log rotation as @MAXBYTES,FILES (see berth-monitor) */
	int fl = snprintf(flags, sizeof(flags), "-%s%s%s%s", tty ? "t" : "", interactive ? "i" : "",
			  rm ? "r" : "", log->none ? "n" : "");
	if (log->max_size)
		snprintf(flags + fl, sizeof(flags) - (size_t)fl, "@%lld,%d",
			 (long long)log->max_size, log->max_file);
	/* OK now, before the exec of berth-monitor: berth attaches and starts
	 * the container while the exec runs (glibc's start-up alone is most of
	 * a millisecond on a VM, where its cpuid probing traps). SIGCHLD is
	 * blocked first, and stays so across the exec: the init's exit waits,
	 * pending, for the monitor's signalfd. The monitor accepts berth's
	 * attach before it pumps any output (berth-monitor main). Its own "OK"
	 * on fd 7 goes to /dev/null. */
	if (access(mon, X_OK) < 0) {
		berr_sys(&e, "%s", mon);
		goto fail_kill;
	}
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (fs_write_all(status_fd, "OK\n", 3) < 0 || dup2(nul, 7) < 0)
		goto fail_sys_kill;
	/* fd 8: the container's mount namespace, held by the monitor past the
	 * init's exit so its teardown is not in the wait (berth-monitor) */
	char nsp[64];
	snprintf(nsp, sizeof(nsp), "/proc/%d/ns/mnt", (int)pid);
	int mnt = open(nsp, O_RDONLY | O_CLOEXEC);
	if (mnt < 0)
		mnt = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (mnt < 0 || (mnt == 8 ? fcntl(8, F_SETFD, 0) : dup2(mnt, 8)) < 0)
		goto fail_sys_kill;
	char *argv[] = {mon,	    dir,     pids,	  flags,     berth,
			"--root",   g->root, "container", "cleanup", rm ? "--rm" : "--",
			(char *)id, NULL};
	execv(mon, argv);
	berr_sys(&e, "exec %s", mon);
fail_kill : {
	berr ig;
	rt_kill(&g->rt, id, SIGKILL, false, &ig);
	waitpid(-1, NULL, 0);
	rt_delete(&g->rt, id, true, &ig);
}
	goto fail;
fail_sys_kill:
	berr_sys(&e, "dup2");
	goto fail_kill;
fail_sys:
	berr_sys(&e, "monitor setup");
fail:
	snprintf(msg, sizeof(msg), "E %d %s\n", e.errnum, e.msg);
	fs_write_all(status_fd, msg, strlen(msg));
	_exit(1);
}

/* A threaded caller (the API service) must not run monitor_child in its
 * fork: other threads may hold locks (the sanitizer's allocator's was seen)
 * that the child then waits on forever. Its child execs at once
 * `berth container monitor-child`, a fresh process that forks the
 * monitor-to-be (whose first line is "P pid") and exits; the monitor is then
 * init's (or the nearest subreaper's), and nobody leaves a zombie in the
 * service. */
int eng_monitor_launch(eng *g, const char *id, bool interactive, int status_fd,
		       const char *helper_dir, berr *e)
{
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	bool tty = eng_doc_bool(doc, "Config.Tty");
	bool rm = eng_doc_bool(doc, "HostConfig.AutoRemove");
	eng_log_cfg log;
	eng_log_cfg_of(doc, &log);
	pid_t m = fork();
	if (m < 0) {
		json_object_put(doc);
		return berr_sys(e, "fork the container monitor");
	}
	if (m == 0) {
		/* the monitor-to-be tells its pid itself: its lines stay in order */
		char line[32];
		snprintf(line, sizeof(line), "P %d\n", (int)getpid());
		if (fs_write_all(status_fd, line, strlen(line)) < 0)
			_exit(1);
		monitor_child(g, id, doc, tty, interactive, rm, &log, status_fd, helper_dir);
	}
	json_object_put(doc);
	return 0;
}

/* The first line of a fresh launcher: "P pid", or "E errno msg" when it
 * failed before the fork, EOF when it could not even exec. Read a byte at
 * a time: what follows is read_status's. */
static pid_t read_monitor_pid(int fd, berr *e)
{
	char line[1300];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		ssize_t k = read(fd, line + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	int pid = 0, errnum = 0, off = 0;
	if (sscanf(line, "P %d", &pid) == 1 && pid > 0)
		return pid;
	if (sscanf(line, "E %d %n", &errnum, &off) >= 1)
		return berr_set(e, errnum, "%s", line + off);
	return berr_set(e, EIO,
			"the container monitor's launcher (berth container monitor-child) "
			"ended without starting it");
}

/* Until process pid is gone: a child is reaped; the fresh launcher's monitor
 * is not ours, so its pidfd tells. */
static void wait_gone(pid_t pid, bool ours)
{
	if (ours) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
		}
		return;
	}
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return;
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR) {
	}
	close(pfd);
}

/* Docker's status for a failed start: the command cannot be run (126) or
 * is not found (127), else the engine's 125. */
static int exec_status(const berr *e)
{
	if (strstr(e->msg, "exec: \"") || strstr(e->msg, "exec "))
		return e->errnum == ENOENT ? 127 : 126;
	return 125;
}

/* "W msg" lines (r->warnings), then one status line: "OK" from the
 * monitor's child just before it execs berth-monitor, or "E errno msg"
 * (not EOF: the container's init holds a copy until it execs). 0 on OK. */
static int read_status(int fd, eng_start_result *r, berr *e)
{
	char msg[1300];
	size_t got = 0;
	for (;;) {
		char *nl = memchr(msg, '\n', got);
		if (nl && got >= 2 && msg[0] == 'W' && msg[1] == ' ') {
			char *w = xstrndup(msg + 2, (size_t)(nl - msg - 2));
			strv_push(&r->warnings, w);
			free(w);
			got -= (size_t)(nl + 1 - msg);
			memmove(msg, nl + 1, got);
			continue;
		}
		if (nl || got >= sizeof(msg) - 1)
			break;
		ssize_t n = read(fd, msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	msg[got] = 0;
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = 0;
	if (!strcmp(msg, "OK"))
		return 0;
	int errnum = 0, off = 0;
	if (sscanf(msg, "E %d %n", &errnum, &off) < 1)
		return berr_set(e, 0, "the container monitor failed to start");
	return berr_set(e, errnum, "%s", msg + off);
}

/* The infra container of pod, started (detached) unless it runs; its
 * warnings join r's. */
static int start_infra(eng *g, const char *pod, const eng_start_opts *o, eng_start_result *r,
		       berr *e)
{
	json_object *rec = eng_pod_load(g, pod, e);
	if (!rec)
		return -1;
	const char *iid = eng_doc_str(rec, "InfraContainerID");
	_cleanup_free_ char *infra = xstrdup(iid ? iid : "");
	json_object_put(rec);
	if (!*infra)
		return 0;
	json_object *d = eng_load(g, infra, e);
	if (!d)
		return -1;
	bool up = eng_status_live(eng_reconcile(g, infra, d));
	json_object_put(d);
	if (up)
		return 0;
	eng_start_opts io = {.helper_dir = o->helper_dir};
	eng_start_result ir;
	int rc = eng_container_start(g, infra, &io, &ir, e);
	for (size_t i = 0; ir.warnings && ir.warnings[i]; i++)
		strv_push(&r->warnings, ir.warnings[i]);
	r->exit_code = ir.exit_code;
	eng_start_result_free(&ir);
	return rc < 0 ? berr_ctx(e, "the infra container of pod %.12s", pod) : 0;
}

void eng_start_result_free(eng_start_result *r)
{
	strv_free(r->warnings);
	r->warnings = NULL;
	if (r->attach_fd >= 0)
		close(r->attach_fd);
	r->attach_fd = -1;
}

int eng_container_start(eng *g, const char *id, const eng_start_opts *o, eng_start_result *r,
			berr *e)
{
	*r = (eng_start_result){.attach_fd = -1, .exit_code = 125};
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	const char *status = eng_reconcile(g, id, doc);
	if (strcmp(status, "created") && strcmp(status, "exited")) {
		char name[128];
		eng_doc_name(doc, id, name);
		json_object_put(doc);
		if (!strcmp(status, "dead"))
			return berr_set(e, EINVAL,
					"container %s is dead (its creation was interrupted): "
					"remove it",
					name);
		return berr_set(e, EALREADY, "container %s is already %s", name, status);
	}
	bool tty = eng_doc_bool(doc, "Config.Tty");
	bool rm = eng_doc_bool(doc, "HostConfig.AutoRemove");
	r->auto_remove = rm;
	eng_restart_policy pol;
	eng_restart_of(doc, &pol);
	r->restart_policy = pol.kind != ENG_RESTART_NO;
	if (!o->policy_restart)
		eng_manual_stop_clear(g, id);
	r->tty = tty;
	/* created with -i: the container's stdin stays open for later
	 * attaches, also when nobody is attached now (docker run -di) */
	bool open_stdin = o->interactive || eng_doc_bool(doc, "Config.OpenStdin");
	_cleanup_free_ char *exitp = eng_path(g, id, "exit");
	unlink(exitp);
	berr ig;
	rt_delete(&g->rt, id, true, &ig); /* leftovers of a previous run */
	/* a pod's container needs its infra up: the namespaces it joins */
	const char *pod = eng_doc_str(doc, "Pod");
	if (pod && !eng_doc_bool(doc, "IsInfra") && start_infra(g, pod, o, r, e) < 0) {
		json_object_put(doc);
		return -1;
	}
	r->exit_code = 125;
	if (eng_mount_rootfs(g, id, doc, e) < 0 || eng_net_prepare(g, id, doc, e) < 0 ||
	    eng_ns_prepare(g, id, doc, e) < 0) {
		json_object_put(doc);
		return -1;
	}
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0) {
		json_object_put(doc);
		return berr_sys(e, "pipe");
	}
	/* a threaded caller's child only execs (eng_monitor_launch): its
	 * argv is made before the fork */
	bool fresh = proc_is_threaded();
	/* which reads the record from the store: what the preparations above
	 * put in it (the network's addresses, ports) must be there first */
	if (fresh && eng_save(g, id, doc, e) < 0) {
		close(sp[0]);
		close(sp[1]);
		eng_cleanup(g, id, &ig);
		json_object_put(doc);
		return -1;
	}
	_cleanup_free_ char *self = xasprintf("%s/berth", o->helper_dir);
	char fdarg[16];
	snprintf(fdarg, sizeof(fdarg), "%d", sp[1]);
	char *largv[] = {self,	      "--root",	       g->root,
			 "container", "monitor-child", open_stdin ? "-i" : "--",
			 (char *)id,  fdarg,	       NULL};
	/* the child must not write out what the caller's stdio buffers hold */
	fflush(NULL);
	pid_t m = fork();
	if (m < 0) {
		close(sp[0]);
		close(sp[1]);
		json_object_put(doc);
		return berr_sys(e, "fork");
	}
	if (m == 0 && fresh) {
		if (fcntl(sp[1], F_SETFD, 0) == 0)
			execv(self, largv);
		_exit(127);
	}
	if (m == 0) {
		close(sp[0]);
		eng_log_cfg log;
		eng_log_cfg_of(doc, &log);
		monitor_child(g, id, doc, tty, open_stdin, rm, &log, sp[1], o->helper_dir);
	}
	close(sp[1]);
	if (fresh) {
		pid_t l = m;
		m = read_monitor_pid(sp[0], e);
		wait_gone(l, true);
		if (m < 0) {
			close(sp[0]);
			eng_cleanup(g, id, &ig);
			if (rm)
				eng_remove(g, id, true, &ig);
			json_object_put(doc);
			return -1;
		}
	}
	r->monitor = m;
	/* recorded while the monitor's child creates the container */
	json_object *st;
	json_object_object_get_ex(doc, "State", &st);
	json_object_object_add(st, "MonitorPid", json_object_new_int(m));
	json_object_object_add(st, "MonitorStart",
			       json_object_new_int64((int64_t)eng_proc_start(m)));
	json_object_object_add(st, "Status", json_object_new_string("created"));
	json_object_object_add(st, "FinishedAt", json_object_new_string("0001-01-01T00:00:00Z"));
	json_object_object_add(st, "ExitCode", json_object_new_int(0));
	bool saved = eng_save(g, id, doc, &ig) == 0;
	if (!saved)
		strv_push(&r->warnings, ig.msg);
	int st_rc = read_status(sp[0], r, e);
	close(sp[0]);
	if (st_rc < 0) {
		wait_gone(m, !fresh);
		r->exit_code = exec_status(e);
		eng_cleanup(g, id, &ig);
		if (rm)
			eng_remove(g, id, true, &ig);
		json_object_put(doc);
		return -1;
	}
	if (o->attach && (r->attach_fd = eng_attach_connect(g, id, &r->attach_err)) < 0)
		r->attach_lost = true;
	/* taken before the start: a quick process may be reaped (FinishedAt)
	 * before rt_start returns */
	_cleanup_free_ char *started = eng_time_now();
	if (rt_start(&g->rt, id, e) < 0) {
		r->exit_code = exec_status(e);
		rt_kill(&g->rt, id, SIGKILL, false, &ig);
		if (r->attach_fd >= 0) {
			/* what it wrote is dropped; the exit frame ends it */
			eng_attach_opts ao = {
			    .in_fd = -1, .out_fd = -1, .err_fd = -1, .event_fd = -1, .hup_fd = -1};
			eng_attach_relay(g, id, r->attach_fd, &ao);
			eng_attach_send(r->attach_fd, ENG_FRAME_CLEANUP, NULL, 0);
			close(r->attach_fd);
			r->attach_fd = -1;
		}
		wait_gone(m, !fresh);
		if (rm)
			eng_remove(g, id, true, &ig);
		json_object_put(doc);
		return -1;
	}
	json_object_object_add(st, "StartedAt", json_object_new_string(started));
	json_object_object_add(st, "Status", json_object_new_string("running"));
	json_object_object_add(st, "Restarting", json_object_new_boolean(0));
	if (eng_lock(g, true, &ig) == 0) {
		/* a concurrent rm has moved the directory away: no record
		 * comes back (eng_save opens the directory by id) */
		eng_save(g, id, doc, &ig);
		eng_unlock(g);
	}
	/* the probes' state afresh, and their prober */
	eng_health_started(g, id, doc, o->helper_dir);
	json_object_put(doc);
	/* run --rm: the sweeper of the removal is forked now, while the
	 * container runs, not after its exit */
	if (r->attach_fd >= 0 && rm)
		eng_trash_prefork(g);
	r->exit_code = 0;
	return 0;
}

int eng_container_release(eng *g, const char *id, eng_start_result *r, int status)
{
	int rc = status;
	if (status == ENG_ATTACH_DETACHED) {
		rc = 0;
	} else if (status < 0) {
		/* the monitor went away: it cleans up, if anyone */
		rc = 125;
	} else if (r->attach_fd >= 0 && r->restart_policy) {
		/* the monitor cleans up and applies the policy: no frame 5 */
		close(r->attach_fd);
		r->attach_fd = -1;
	} else if (r->attach_fd >= 0) {
		berr ig;
		eng_attach_send(r->attach_fd, ENG_FRAME_CLEANUP, NULL, 0);
		close(r->attach_fd);
		r->attach_fd = -1;
		if (r->auto_remove)
			eng_remove(g, id, true, &ig);
		else
			eng_cleanup(g, id, &ig);
		/* the monitor's last act, after frame 5, is closing the mount
		 * namespace (its teardown): not waited for; it is reaped as an
		 * orphan once the caller exits */
		waitpid(r->monitor, NULL, WNOHANG);
	}
	eng_start_result_free(r);
	return rc;
}
