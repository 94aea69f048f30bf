/* berth run / create / start: the container front door and the monitor
 * launch (see src/cmd/berth-monitor/main.c for the monitor's side). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ctr.h"
#include "engine/network.h"
#include "engine/nsmode.h"
#include "engine/pod.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

eng *ctr_open(cli *c, berr *e)
{
	return eng_open(c->root, c->run_root, e);
}

static json_object *walk(json_object *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = buf, *sv; o && (t = strtok_r(t == buf ? buf : NULL, ".", &sv)); t = NULL) {
		json_object *v = NULL;
		if (!json_object_object_get_ex(o, t, &v))
			return NULL;
		o = v;
		if (t != buf)
			continue;
	}
	return o;
}
const char *ctr_str(json_object *o, const char *path)
{
	json_object *v = walk(o, path);
	return v ? json_object_get_string(v) : NULL;
}
int64_t ctr_int(json_object *o, const char *path)
{
	json_object *v = walk(o, path);
	return v ? json_object_get_int64(v) : 0;
}
bool ctr_bool(json_object *o, const char *path)
{
	json_object *v = walk(o, path);
	return v && json_object_get_boolean(v);
}

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
 * client side is ctr_attach_sock()). */
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
				    int status_fd, const char *root)
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
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
	int console = -1, lsock;
	if (dfd < 0 || nul < 0)
		goto fail_sys;
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
	_cleanup_free_ char *sd = cli_self_dir();
	_cleanup_free_ char *mon = xasprintf("%s/berth-monitor", sd);
	_cleanup_free_ char *berth = xasprintf("%s/berth", sd);
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
	char *argv[] = {mon,	    dir,	  pids,	       flags,	  berth,
			"--root",   (char *)root, "container", "cleanup", rm ? "--rm" : "--",
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

static int exec_status(const berr *e)
{
	if (strstr(e->msg, "exec: \"") || strstr(e->msg, "exec "))
		return e->errnum == ENOENT ? 127 : e->errnum == EACCES ? 126 : 126;
	return 125;
}

/* The infra container of pod, started unless it runs. */
static int start_infra(cli *c, eng *g, const char *pod)
{
	berr e;
	json_object *rec = eng_pod_load(g, pod, &e);
	if (!rec)
		return cli_fail(125, &e);
	_cleanup_free_ char *infra =
	    xstrdup(ctr_str(rec, "InfraContainerID") ? ctr_str(rec, "InfraContainerID") : "");
	json_object_put(rec);
	if (!*infra)
		return 0;
	json_object *d = eng_load(g, infra, &e);
	if (!d)
		return cli_fail(125, &e);
	const char *s = eng_reconcile(g, infra, d);
	bool up = !strcmp(s, "running") || !strcmp(s, "paused");
	json_object_put(d);
	return up ? 0 : ctr_launch(c, g, infra, false, false);
}

int ctr_launch(cli *c, eng *g, const char *id, bool attach, bool interactive)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return cli_fail(125, &e);
	bool tty = ctr_bool(doc, "Config.Tty");
	bool rm = ctr_bool(doc, "HostConfig.AutoRemove");
	/* created with -i: the container's stdin stays open for later
	 * attaches, also when nobody is attached now (docker run -di) */
	bool open_stdin = interactive || ctr_bool(doc, "Config.OpenStdin");
	_cleanup_free_ char *exitp = eng_path(g, id, "exit");
	unlink(exitp);
	berr ig;
	rt_delete(&g->rt, id, true, &ig); /* leftovers of a previous run */
	/* a pod's container needs its infra up: the namespaces it joins */
	const char *pod = ctr_str(doc, "Pod");
	if (pod && !ctr_bool(doc, "IsInfra")) {
		int rc = start_infra(c, g, pod);
		if (rc) {
			json_object_put(doc);
			return rc;
		}
	}
	if (eng_mount_rootfs(g, id, doc, &e) < 0 || eng_net_prepare(g, id, doc, &e) < 0 ||
	    eng_ns_prepare(g, id, doc, &e) < 0) {
		json_object_put(doc);
		return cli_fail(125, &e);
	}
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0) {
		json_object_put(doc);
		return cli_failf(125, "pipe: %s", strerror(errno));
	}
	fflush(stdout);
	fflush(stderr);
	pid_t m = fork();
	if (m < 0) {
		json_object_put(doc);
		return cli_failf(125, "fork: %s", strerror(errno));
	}
	if (m == 0) {
		close(sp[0]);
		eng_log_cfg log;
		eng_log_cfg_of(doc, &log);
		monitor_child(g, id, doc, tty, open_stdin, rm, &log, sp[1], c->root);
	}
	close(sp[1]);
	/* recorded while the monitor's child creates the container */
	json_object *st;
	json_object_object_get_ex(doc, "State", &st);
	json_object_object_add(st, "MonitorPid", json_object_new_int(m));
	json_object_object_add(st, "MonitorStart",
			       json_object_new_int64((int64_t)eng_proc_start(m)));
	json_object_object_add(st, "Status", json_object_new_string("created"));
	json_object_object_add(st, "FinishedAt", json_object_new_string("0001-01-01T00:00:00Z"));
	json_object_object_add(st, "ExitCode", json_object_new_int(0));
	if (eng_save(g, id, doc, &e) < 0)
		cli_fail(0, &e);
	/* "W msg" lines (warnings, printed), then one status line: "OK" from the
	 * monitor's child just before it execs berth-monitor, or "E errno msg"
	 * (not EOF: the container's init holds a copy until it execs) */
	char msg[1300];
	size_t got = 0;
	for (;;) {
		char *nl = memchr(msg, '\n', got);
		if (nl && got >= 2 && msg[0] == 'W' && msg[1] == ' ') {
			fprintf(stderr, "berth: warning: %.*s\n", (int)(nl - msg - 2), msg + 2);
			got -= (size_t)(nl + 1 - msg);
			memmove(msg, nl + 1, got);
			continue;
		}
		if (nl || got >= sizeof(msg) - 1)
			break;
		ssize_t n = read(sp[0], msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(sp[0]);
	msg[got] = 0;
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = 0;
	int rc = 0;
	if (strcmp(msg, "OK")) {
		int errnum = 0, off = 0;
		if (sscanf(msg, "E %d %n", &errnum, &off) < 1)
			snprintf(e.msg, sizeof(e.msg), "the container monitor failed to start");
		else
			snprintf(e.msg, sizeof(e.msg), "%s", msg + off);
		e.errnum = errnum;
		waitpid(m, NULL, 0);
		rc = exec_status(&e);
		cli_fail(0, &e);
		eng_cleanup(g, id, &ig);
		if (rm)
			eng_remove(g, id, true, &ig);
		json_object_put(doc);
		return rc;
	}
	int sock = -1;
	if (attach && (sock = ctr_attach_sock(g, id, &e)) < 0)
		cli_fail(0, &e);
	/* taken before the start: a quick process may be reaped (FinishedAt)
	 * before rt_start returns */
	_cleanup_free_ char *started = eng_time_now();
	if (rt_start(&g->rt, id, &e) < 0) {
		rc = exec_status(&e);
		cli_fail(0, &e);
		rt_kill(&g->rt, id, SIGKILL, false, &ig);
		if (sock >= 0) {
			ctr_relay_opts ro = {.id = id};
			ctr_relay(sock, &ro);
			ctr_send_frame(sock, 5, NULL, 0);
			close(sock);
		}
		waitpid(m, NULL, 0);
		if (rm)
			eng_remove(g, id, true, &ig);
		json_object_put(doc);
		return rc;
	}
	json_object_object_add(st, "StartedAt", json_object_new_string(started));
	json_object_object_add(st, "Status", json_object_new_string("running"));
	if (eng_lock(g, true, &ig) == 0) {
		/* a concurrent rm has moved the directory away: no record
		 * comes back (eng_save opens the directory by id) */
		eng_save(g, id, doc, &ig);
		eng_unlock(g);
	}
	json_object_put(doc);
	if (!attach || sock < 0) {
		close(sock);
		return 0;
	}
	/* run --rm: the sweeper of the removal is forked now, while the
	 * container runs, not after its exit */
	if (rm)
		eng_trash_prefork(g);
	/* docker run -it: ctrl-p,ctrl-q detaches (the monitor then cleans up) */
	ctr_relay_opts ro = {.g = g, .id = id, .in = interactive, .tty = tty, .eof_closes = true};
	if (interactive && tty)
		ctr_parse_detach_keys("ctrl-p,ctrl-q", ro.keys, &ro.nkeys, &ig);
	int status = ctr_relay(sock, &ro);
	if (status == CTR_RELAY_DETACHED) {
		close(sock);
		return 0;
	}
	if (status < 0) {
		/* the monitor went away: the recorded status, if any */
		close(sock);
		return 125;
	}
	ctr_send_frame(sock, 5, NULL, 0);
	close(sock);
	if (rm)
		eng_remove(g, id, true, &ig);
	else
		eng_cleanup(g, id, &ig);
	/* the monitor's last act, after frame 5, is closing the mount
	 * namespace (its teardown): not waited for; it is reaped as an orphan
	 * once berth exits */
	waitpid(m, NULL, WNOHANG);
	return status;
}

/* ---- run / create / start ---- */

typedef struct run_flags {
	eng_run_opts o;
	const char *entrypoint;
	char **network;
	const char *net;
	const char *pull; /* missing (default), always, never */
} run_flags;

static const cli_doc run_doc = {
    "run",
    "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create and run a new container from an image",
    "A missing image is pulled first (--pull). Without -d the container's output is "
    "relayed and its exit status is berth's; 125 when berth fails, 126/127 when the "
    "command cannot be run or is not found.",
    "berth run --rm -it localhost/busybox sh\n"
    "berth run -d --name web -m 256m --cpus 0.5 IMAGE CMD\n"
    "berth run --rm -v data:/var/lib/app IMAGE CMD",
    CLI_ARGS_IMAGE_CMD};
static const cli_doc create_doc = {"create",
				   "[OPTIONS] IMAGE [COMMAND] [ARG...]",
				   "Create a new container",
				   "As run, without starting it: `berth start` does.",
				   "berth create --name web IMAGE CMD\nberth start -a web",
				   CLI_ARGS_IMAGE_CMD};

static int parse_run(cli *c, const cli_doc *doc, int argc, char **argv, run_flags *f, int *first,
		     int *status)
{
	memset(f, 0, sizeof(*f));
	f->o.entrypoint = NULL;
	const flag_def defs[] = {
	    {"detach", 'd', FLAG_BOOL, &f->o.detach, "Run in the background, print the ID"},
	    {"interactive", 'i', FLAG_BOOL, &f->o.interactive, "Keep STDIN open"},
	    {"tty", 't', FLAG_BOOL, &f->o.tty, "Allocate a pseudo-TTY"},
	    {"rm", 0, FLAG_BOOL, &f->o.rm, "Remove the container when it exits"},
	    {"name", 0, FLAG_STRING, &f->o.name, "Assign a name to the container", "string"},
	    {"env", 'e', FLAG_LIST, &f->o.env, "Set an environment variable (repeatable)",
	     "NAME=VALUE"},
	    {"env-file", 0, FLAG_LIST, &f->o.env_files, "Read environment variables from a file",
	     "FILE"},
	    {"workdir", 'w', FLAG_STRING, &f->o.workdir, "Working directory inside the container",
	     "DIR"},
	    {"user", 'u', FLAG_STRING, &f->o.user, "Run as this user", "USER[:GROUP]"},
	    {"entrypoint", 0, FLAG_STRING, &f->entrypoint, "Overwrite the image's ENTRYPOINT",
	     "string"},
	    {"volume", 'v', FLAG_LIST, &f->o.volumes, "Bind mount or volume (repeatable)",
	     "[SRC:]DST[:OPTS]"},
	    {"tmpfs", 0, FLAG_LIST, &f->o.tmpfs,
	     "A tmpfs mount: DST[:size=,mode=,ro,exec,...] (default rw,noexec,nosuid,nodev)",
	     "DST[:OPTS]"},
	    {"mount", 0, FLAG_LIST, &f->o.mounts, "Mount: type=bind|volume|tmpfs,... (repeatable)",
	     "SPEC"},
	    {"read-only", 0, FLAG_BOOL, &f->o.read_only, "Mount the root filesystem read-only"},
	    {"hostname", 'h', FLAG_STRING, &f->o.hostname, "Container host name", "string"},
	    {"memory", 'm', FLAG_STRING, &f->o.memory, "Memory limit (k, m, g)", "bytes"},
	    {"cpus", 0, FLAG_STRING, &f->o.cpus, "Number of CPUs", "decimal"},
	    {"pids-limit", 0, FLAG_STRING, &f->o.pids_limit, "Limit the number of processes",
	     "int"},
	    {"cap-add", 0, FLAG_LIST, &f->o.cap_add, "Add a Linux capability (repeatable)", "CAP"},
	    {"cap-drop", 0, FLAG_LIST, &f->o.cap_drop, "Drop a Linux capability (repeatable)",
	     "CAP"},
	    {"privileged", 0, FLAG_BOOL, &f->o.privileged, "Give extended privileges"},
	    {"security-opt", 0, FLAG_LIST, &f->o.security_opt,
	     "Security option: seccomp=FILE|unconfined, no-new-privileges, ...", "OPT"},
	    {"network", 0, FLAG_STRING, &f->net,
	     "Network: bridge (the default network), NAME, none, host, container:ID", "string",
	     "bridge"},
	    {"net", 0, FLAG_STRING, &f->net, "The same as --network", "string", "bridge"},
	    {"publish", 'p', FLAG_LIST, &f->o.publish, "Publish a port (repeatable)",
	     "[IP:][HOSTPORT:]PORT[/PROTO]"},
	    {"publish-all", 'P', FLAG_BOOL, &f->o.publish_all,
	     "Publish every exposed port to a free host port"},
	    {"expose", 0, FLAG_LIST, &f->o.expose, "Expose a port (repeatable)", "PORT[/PROTO]"},
	    {"ip", 0, FLAG_STRING, &f->o.ip, "IPv4 address on the network", "IP"},
	    {"ip6", 0, FLAG_STRING, &f->o.ip6, "IPv6 address on the network (--ipv6 ones)", "IP"},
	    {"mac-address", 0, FLAG_STRING, &f->o.mac, "MAC address on the network", "MAC"},
	    {"network-alias", 0, FLAG_LIST, &f->o.net_aliases,
	     "Another name on the network (repeatable)", "NAME"},
	    {"dns", 0, FLAG_LIST, &f->o.dns, "DNS server (repeatable)", "IP"},
	    {"dns-search", 0, FLAG_LIST, &f->o.dns_search, "DNS search domain (repeatable)",
	     "DOMAIN"},
	    {"dns-option", 0, FLAG_LIST, &f->o.dns_opts, "DNS resolver option (repeatable)", "OPT"},
	    {"add-host", 0, FLAG_LIST, &f->o.add_hosts,
	     "A line in /etc/hosts (repeatable; IP host-gateway: the network's gateway)",
	     "NAME:IP"},
	    {"init", 0, FLAG_BOOL, &f->o.init, "Run an init (berth-init) as PID 1"},
	    {"ulimit", 0, FLAG_LIST, &f->o.ulimits, "Resource limit (repeatable)",
	     "NAME=SOFT[:HARD]"},
	    {"pull", 0, FLAG_STRING, &f->pull, "Pull the image: missing, always, never", "string",
	     "missing"},
	    {"log-driver", 0, FLAG_STRING, &f->o.log_driver, "Logging driver: json-file or none",
	     "string", "json-file"},
	    {"log-opt", 0, FLAG_LIST, &f->o.log_opts, "Log driver option: max-size, max-file",
	     "KEY=VALUE"},
	    {"ipc", 0, FLAG_STRING, &f->o.ipc,
	     "IPC namespace: private, shareable, none, host, container:NAME|ID", "mode", "private"},
	    {"pid", 0, FLAG_STRING, &f->o.pid, "PID namespace: private, host, container:NAME|ID",
	     "mode", "private"},
	    {"uts", 0, FLAG_STRING, &f->o.uts, "UTS namespace: private, host, container:NAME|ID",
	     "mode", "private"},
	    {"cgroup-parent", 0, FLAG_STRING, &f->o.cgroup_parent,
	     "The cgroup the container's cgroup goes under", "path"},
	    {"label", 'l', FLAG_LIST, &f->o.labels, "Set a label on the container (repeatable)",
	     "KEY[=VALUE]"},
	    {"pod", 0, FLAG_STRING, &f->o.pod,
	     "Put the container into this pod (its namespaces, network, cgroup)", "NAME|ID"},
	    {"userns", 0, FLAG_STRING, &f->o.userns,
	     "User namespace: host (shared), keep-id[:uid=U,gid=G] (rootless: you inside)", "mode",
	     "host"},
	    {"uidmap", 0, FLAG_LIST, &f->o.uidmaps,
	     "A uid range of a new user namespace (repeatable; rootless: ids of your namespace)",
	     "CONTAINER:HOST:SIZE"},
	    {"gidmap", 0, FLAG_LIST, &f->o.gidmaps,
	     "A gid range of a new user namespace (repeatable; default: --uidmap's)",
	     "CONTAINER:HOST:SIZE"},
	    {0},
	};
	int i = cli_flags(c, doc, defs, argc, argv, status);
	if (i < 0)
		return -1;
	for (int k = 1; k < i; k++)
		if (!strcmp(argv[k], "--entrypoint") || !strncmp(argv[k], "--entrypoint=", 13))
			f->o.entrypoint_set = true;
	f->o.entrypoint = f->entrypoint;
	f->o.network = f->net;
	if (i >= argc) {
		*status = cli_failf(125, "\"%s\" requires at least 1 argument (an image)", argv[0]);
		cli_see_help(stderr, c->ui.prog, doc);
		return -1;
	}
	f->o.image = argv[i];
	f->o.command = i + 1 < argc ? argv + i + 1 : NULL;
	*first = i;
	return 0;
}

static void free_run(run_flags *f)
{
	strv_free(f->o.env);
	strv_free(f->o.env_files);
	strv_free(f->o.volumes);
	strv_free(f->o.mounts);
	strv_free(f->o.cap_add);
	strv_free(f->o.cap_drop);
	strv_free(f->o.security_opt);
	strv_free(f->o.ulimits);
	strv_free(f->o.log_opts);
	strv_free(f->o.uidmaps);
	strv_free(f->o.tmpfs);
	strv_free(f->o.gidmaps);
	strv_free(f->o.labels);
}

static int run_or_create(cli *c, int argc, char **argv, bool run)
{
	run_flags f;
	berr e;
	int first;
	int rc = 125;
	eng *g = NULL;
	char *sd = NULL, *initp = NULL, *warning = NULL;
	if (parse_run(c, run ? &run_doc : &create_doc, argc, argv, &f, &first, &rc) < 0)
		goto out;
	if (f.o.detach && f.o.rm && !run) {
		/* fine: create --rm */
	}
	g = ctr_open(c, &e);
	if (!g) {
		rc = cli_fail(125, &e);
		goto out;
	}
	sd = cli_self_dir();
	initp = xasprintf("%s/berth-init", sd);
	char id[65];
	/* Docker's --pull: missing (pull when not in the store), always, never */
	const char *pull = f.pull ? f.pull : "missing";
	if (strcmp(pull, "missing") && strcmp(pull, "always") && strcmp(pull, "never")) {
		rc = cli_failf(125, "--pull: invalid value \"%s\" (missing, always, never)", pull);
		goto out;
	}
	if (!strcmp(pull, "always") && (rc = cli_xfer_pull(c, f.o.image)) != 0) {
		rc = 125;
		goto out;
	}
	bool missing = false;
	f.o.image_missing = &missing;
	f.o.warning = &warning;
	int made = eng_create(g, &f.o, initp, id, &e);
	if (made < 0 && missing && !strcmp(pull, "missing")) {
		fprintf(stderr, "Unable to find image '%s' locally\n", f.o.image);
		if (cli_xfer_pull(c, f.o.image) != 0) {
			rc = 125;
			goto out;
		}
		made = eng_create(g, &f.o, initp, id, &e);
	}
	if (made < 0) {
		rc = cli_fail(125, &e);
		goto out;
	}
	if (warning)
		fprintf(stderr, "berth: warning: %s\n", warning);
	if (!run) {
		printf("%s\n", id);
		rc = 0;
		goto out;
	}
	if (f.o.detach) {
		rc = ctr_launch(c, g, id, false, false);
		if (rc == 0)
			printf("%s\n", id);
		else {
			berr ig;
			eng_remove(g, id, true, &ig);
		}
	} else {
		rc = ctr_launch(c, g, id, true, f.o.interactive);
	}
out:
	free(sd);
	free(initp);
	free(warning);
	eng_close(g);
	free_run(&f);
	return rc;
}

int cmd_run(cli *c, int argc, char **argv)
{
	return run_or_create(c, argc, argv, true);
}

int cmd_create(cli *c, int argc, char **argv)
{
	return run_or_create(c, argc, argv, false);
}

static const cli_doc start_doc = {
    "start", "[OPTIONS] CONTAINER [CONTAINER...]",   "Start one or more stopped containers",
    NULL,    "berth start web\nberth start -ai web", CLI_ARGS_CONTAINERS};

int cmd_start(cli *c, int argc, char **argv)
{
	bool attach = false, inter = false;
	const flag_def defs[] = {
	    {"attach", 'a', FLAG_BOOL, &attach, "Attach STDOUT/STDERR and forward signals"},
	    {"interactive", 'i', FLAG_BOOL, &inter, "Attach the container's STDIN"},
	    {0}};
	berr e;
	int st, i = cli_flags(c, &start_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"start\" requires at least 1 argument");
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	int rc = 0;
	for (; i < argc; i++) {
		char id[65];
		if (eng_lookup(g, argv[i], id, &e) < 0) {
			rc = cli_fail(125, &e);
			continue;
		}
		json_object *doc = eng_load(g, id, &e);
		const char *s = doc ? eng_reconcile(g, id, doc) : "exited";
		bool running = !strcmp(s, "running") || !strcmp(s, "paused");
		bool dead = !strcmp(s, "dead");
		json_object_put(doc);
		if (dead) {
			rc = cli_failf(125,
				       "container %s is dead (its creation was interrupted): "
				       "remove it",
				       argv[i]);
			continue;
		}
		if (running) {
			/* docker start -a on a running container attaches */
			if (attach) {
				ctr_attach_opts ao = {.sig_proxy = true, .no_stdin = !inter};
				rc = ctr_attach(g, argv[i], id, &ao);
			} else {
				printf("%s\n", argv[i]);
			}
			continue;
		}
		int r = ctr_launch(c, g, id, attach, inter);
		if (attach)
			rc = r;
		else if (r)
			rc = r;
		else
			printf("%s\n", argv[i]);
	}
	eng_close(g);
	return rc;
}
