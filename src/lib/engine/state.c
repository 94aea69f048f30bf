/* Container status derived on every read, and the removal path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/healthpriv.h"
#include "engine/network.h"
#include "engine/nsmode.h"
#include "engine/pod.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/xalloc.h"

#define TRASH ".trash"

static json_object *obj(json_object *o, const char *k)
{
	json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_object))
		return v;
	v = json_object_new_object();
	json_object_object_add(o, k, v);
	return v;
}

static int64_t int_field(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void set_exited(json_object *st, int code, int64_t fin_ns)
{
	json_object_object_add(st, "Status", json_object_new_string("exited"));
	json_object_object_add(st, "Running", json_object_new_boolean(0));
	json_object_object_add(st, "Paused", json_object_new_boolean(0));
	json_object_object_add(st, "ExitCode", json_object_new_int(code));
	json_object_object_add(st, "Pid", json_object_new_int(0));
	if (fin_ns) {
		char *t = eng_time_ns(fin_ns);
		json_object_object_add(st, "FinishedAt", json_object_new_string(t));
		free(t);
	}
}

/* After an exit with a restart policy: the monitor (now `container
 * cleanup`, eng_restart_after_exit) waits out the back-off. Docker's
 * "restarting": Running and Restarting true. A killed monitor leaves it
 * exited. */
static const char *exited_or_restarting(json_object *st)
{
	pid_t mpid = (pid_t)int_field(st, "MonitorPid");
	unsigned long long mstart = (unsigned long long)int_field(st, "MonitorStart");
	bool restarting =
	    int_field(st, "Restarting") && mpid > 0 && mstart && eng_proc_start(mpid) == mstart;
	json_object_object_add(st, "Restarting", json_object_new_boolean(restarting));
	if (!restarting)
		return "exited";
	json_object_object_add(st, "Status", json_object_new_string("restarting"));
	json_object_object_add(st, "Running", json_object_new_boolean(1));
	return "restarting";
}

static const char *reconcile(eng *g, const char *id, json_object *doc);

const char *eng_reconcile(eng *g, const char *id, json_object *doc)
{
	const char *s = reconcile(g, id, doc);
	if (!strcmp(s, "running"))
		eng_health_attach(g, id, doc);
	return s;
}

static const char *reconcile(eng *g, const char *id, json_object *doc)
{
	json_object *st = obj(doc, "State");
	json_object *v;
	const char *status =
	    json_object_object_get_ex(st, "Status", &v) ? json_object_get_string(v) : "created";
	char p[80];
	snprintf(p, sizeof(p), "%s/exit", id);
	_cleanup_free_ char *ex = NULL;
	size_t len;
	berr e;
	if (fs_read_file_at(g->ctrs_fd, p, &ex, &len, &e) == 0) {
		int code = 255;
		long long fin = 0;
		sscanf(ex, "%d %lld", &code, &fin);
		set_exited(st, code, fin);
		return exited_or_restarting(st);
	}
	if (!strcmp(status, "creating")) {
		pid_t cpid = (pid_t)int_field(st, "CreatorPid");
		unsigned long long cstart = (unsigned long long)int_field(st, "CreatorStart");
		if (cpid > 0 && cstart && eng_proc_start(cpid) == cstart)
			return "creating";
		/* its creator was killed half-way: Docker's "dead" */
		json_object_object_add(st, "Status", json_object_new_string("dead"));
		json_object_object_add(st, "Dead", json_object_new_boolean(1));
		return "dead";
	}
	if (strcmp(status, "running") && strcmp(status, "paused") && strcmp(status, "created"))
		return "exited";
	if (!strcmp(status, "created") && !int_field(st, "MonitorPid"))
		return "created";
	/* the monitor must be alive (same start time) */
	pid_t mpid = (pid_t)int_field(st, "MonitorPid");
	unsigned long long mstart = (unsigned long long)int_field(st, "MonitorStart");
	rt_info info;
	bool rt_ok = rt_info_get(&g->rt, id, &info, &e) == 0;
	bool alive = mpid > 0 && eng_proc_start(mpid) == mstart && mstart != 0;
	if (alive && (!rt_ok || info.status == RT_STOPPED)) {
		/* The monitor lives: the container is being started (no runtime
		 * state yet: "created") or its process has just ended and the monitor is
		 * draining the output into the log before it writes the exit
		 * file, a bounded moment. It is not exited until that file says
		 * so: `wait` would read no status, `logs -f` would stop before
		 * the last lines. */
		if (rt_ok)
			rt_info_clear(&info);
		_cleanup_free_ char *ex1 = NULL;
		if (fs_read_file_at(g->ctrs_fd, p, &ex1, &len, &e) == 0) {
			int code = 255;
			long long fin = 0;
			sscanf(ex1, "%d %lld", &code, &fin);
			set_exited(st, code, fin);
			return "exited";
		}
		/* starting: not running until the runtime has it */
		return rt_ok ? "running" : "created";
	}
	if (!alive || !rt_ok || info.status == RT_STOPPED) {
		if (rt_ok)
			rt_info_clear(&info);
		/* the monitor may just have written the exit file */
		_cleanup_free_ char *ex2 = NULL;
		if (fs_read_file_at(g->ctrs_fd, p, &ex2, &len, &e) == 0) {
			int code = 255;
			long long fin = 0;
			sscanf(ex2, "%d %lld", &code, &fin);
			set_exited(st, code, fin);
		} else {
			set_exited(st, 255, 0);
		}
		return "exited";
	}
	const char *s = info.status == RT_PAUSED    ? "paused"
			: info.status == RT_CREATED ? "created"
						    : "running";
	json_object_object_add(st, "Status", json_object_new_string(s));
	json_object_object_add(st, "Running", json_object_new_boolean(info.status != RT_CREATED));
	json_object_object_add(st, "Paused", json_object_new_boolean(info.status == RT_PAUSED));
	json_object_object_add(st, "Pid", json_object_new_int(info.pid));
	rt_info_clear(&info);
	return s;
}

int eng_cleanup(eng *g, const char *id, berr *e)
{
	berr ig;
	json_object *doc = eng_load(g, id, &ig);
	if (doc && eng_net_detach(g, id, doc, e) < 0) {
		json_object_put(doc);
		return -1;
	}
	json_object_put(doc);
	if (rt_delete(&g->rt, id, true, &ig) < 0 && ig.errnum != ENOENT) {
		/* not fatal for removal: the state may already be gone */
	}
	_cleanup_free_ char *dir = eng_path(g, id, ".");
	if (eng_shm_unmount(dir, e) < 0) /* --ipc shareable's */
		return -1;
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return berr_sys(e, "unmount %s", rootfs);
	return 0;
}

/* A removed container's directory goes to .trash/ in one rename (from then
 * on it is gone for every command); what takes time (its runtime state and
 * cgroups, the rootfs unmount, whose RCU grace period is milliseconds, and
 * the files) is left to one detached child per berth process, forked by
 * eng_close, so `rm` of many containers and `run --rm` wait for none of it.
 * The child also purges whatever an earlier one, killed, left in .trash/. */
static bool hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

int eng_trash_purge(eng *g, int tfd, const char *name, berr *e)
{
	berr ig;
	if (hex64(name) && rt_delete(&g->rt, name, true, &ig) < 0 && ig.errnum != ENOENT)
		return berr_set(e, ig.errnum, "%s", ig.msg);
	_cleanup_free_ char *dir = xasprintf("%s/" TRASH "/%s", g->ctrs, name);
	if (hex64(name)) { /* a pod member: the pod's cgroup parent, if the pod is gone */
		_cleanup_free_ char *rp = xasprintf("%s/container.json", dir);
		json_object *doc = json_object_from_file(rp);
		json_object *pv;
		if (doc && json_object_object_get_ex(doc, "Pod", &pv) &&
		    json_object_is_type(pv, json_type_string))
			eng_pod_cgroup_gc(g, json_object_get_string(pv));
		json_object_put(doc);
	}
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
	/* never delete through a mount: a rootfs (or shm) still mounted stays */
	if (eng_shm_unmount(dir, e) < 0)
		return -1;
	if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return berr_sys(e, "unmount %s", rootfs);
	return fs_rm_rf_at(tfd, name, e);
}

static void trash_sweep(eng *g)
{
	berr ig;
	int tfd = openat(g->ctrs_fd, TRASH, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char **names = tfd < 0 ? NULL : fs_list_at(tfd, ".", &ig);
	for (char **n = names; n && *n; n++)
		eng_trash_purge(g, tfd, *n, &ig);
	strv_free(names);
	if (tfd >= 0)
		close(tfd);
}

/* In a fresh child: stdio on /dev/null (no copy of the caller's stdout
 * keeps a pipe open for whoever reads it), its own session. */
static void sweeper_detach(void)
{
	/* background work: at nice 19 its wake-up does not preempt the
	 * command that woke it on its way out (2 CPUs: it did, by ~0.5 ms) */
	setpriority(PRIO_PROCESS, 0, 19);
	setsid();
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && nul >= 0; fd++)
		dup2(nul, fd);
}

static void trash_hold(eng *g);

void eng_trash_sweep(eng *g)
{
	trash_sweep(g);
}

/* A threaded caller's sweep (the API service): its fork only execs
 * `berth container sweep` (the child of a threaded process may wait
 * forever on a lock another thread held), twice forked so that no zombie
 * stays with the caller; the lock goes with it, open across the exec. */
static void trash_spawn(eng *g)
{
	char exe[4096];
	if (!proc_sibling("berth", exe, sizeof(exe))) {
		trash_sweep(g); /* here, then */
		return;
	}
	char *argv[] = {exe, "--root", g->root, "container", "sweep", NULL};
	pid_t pid = fork();
	if (pid < 0) {
		trash_sweep(g);
		return;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		sweeper_detach();
		if (g->trash_lock >= 0)
			fcntl(g->trash_lock, F_SETFD, 0);
		execv(exe, argv);
		_exit(127);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
}

void eng_trash_flush(eng *g)
{
	if (g->sweeper_fd >= 0) {
		/* 'g': sweep; EOF: nothing to do */
		if (g->trash_pending && send(g->sweeper_fd, "g", 1, MSG_NOSIGNAL) != 1)
			trash_sweep(g); /* it was killed: sweep here */
		close(g->sweeper_fd);
		g->sweeper_fd = -1;
		g->trash_pending = false;
		return;
	}
	if (!g->trash_pending)
		return;
	g->trash_pending = false;
	if (proc_is_threaded()) {
		trash_spawn(g);
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		trash_sweep(g);
		return;
	}
	if (pid == 0) {
		/* not waited for (berth exits right after a removal, and init
		 * reaps the child then) */
		sweeper_detach();
		trash_sweep(g);
		_exit(0);
	}
}

void eng_trash_prefork(eng *g)
{
	if (g->sweeper_fd >= 0 || proc_is_threaded())
		return; /* a threaded caller's is spawned by the flush */
	trash_hold(g);	/* the child's copy keeps the lock until it is done */
	int p[2];	/* a socket: a send to a killed sweeper is EPIPE, not SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return; /* eng_trash_flush forks then */
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		sweeper_detach();
		/* only what a sweep uses: the containers dir, the lock, the pipe
		 * (not the caller's attach socket, terminal, ...) */
		int keep[3] = {g->ctrs_fd, g->trash_lock, p[0]};
		close(p[1]);
		fs_close_all_but(keep, 3);
		char c;
		ssize_t n;
		while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR) {
		}
		if (n == 1)
			trash_sweep(g);
		_exit(0);
	}
	close(p[0]);
	g->sweeper_fd = p[1];
}

/* The remover holds .trash.lock shared from before its first rename into
 * .trash until its detached sweeper is done (the child inherits the lock);
 * system check, which tries it exclusively, then knows that what .trash
 * holds is on its way out and not what a killed remover left. */
static void trash_hold(eng *g)
{
	if (g->trash_lock >= 0)
		return;
	int fd = openat(g->ctrs_fd, TRASH ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return; /* then check may list the sweep in progress: harmless */
	while (flock(fd, LOCK_SH) < 0)
		if (errno != EINTR) {
			close(fd);
			return;
		}
	g->trash_lock = fd;
}

bool eng_trash_busy(eng *g)
{
	int fd = openat(g->ctrs_fd, TRASH ".lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	bool busy = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd); /* drops the lock if we got it */
	return busy;
}

static int trash(eng *g, const char *id, berr *e)
{
	char dst[96];
	snprintf(dst, sizeof(dst), TRASH "/%s", id);
	trash_hold(g);
	if ((mkdirat(g->ctrs_fd, TRASH, 0700) < 0 && errno != EEXIST) ||
	    renameat(g->ctrs_fd, id, g->ctrs_fd, dst) < 0) {
		if (errno == ENOENT)
			return 0;
		/* the slow way */
		return eng_cleanup(g, id, e) < 0 ? -1 : fs_rm_rf_at(g->ctrs_fd, id, e);
	}
	g->trash_pending = true;
	return 0;
}

/* rm -v, run --rm: the anonymous volumes the container mounted */
static void remove_anonymous_volumes(eng *g, json_object *doc)
{
	json_object *ms, *t, *n;
	if (!doc || !json_object_object_get_ex(doc, "Mounts", &ms))
		return;
	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *m = json_object_array_get_idx(ms, i);
		berr ig;
		if (json_object_object_get_ex(m, "Type", &t) &&
		    !strcmp(json_object_get_string(t), "volume") &&
		    json_object_object_get_ex(m, "Name", &n) &&
		    eng_volume_anonymous(g, json_object_get_string(n)))
			eng_volume_remove(g, json_object_get_string(n), &ig);
	}
}

int eng_remove(eng *g, const char *id, bool volumes, berr *e)
{
	berr ig;
	json_object *doc = eng_load(g, id, &ig);
	/* the image hold and the name go now (an rmi or a new container of
	 * that name may follow at once); the rest goes with the trash */
	img_store *s = store_open(g->root, e);
	if (s) {
		image_release(s, id, &ig);
		store_close(s);
	}
	json_object *n;
	if (doc && json_object_object_get_ex(doc, "Name", &n)) {
		const char *name = json_object_get_string(n);
		eng_name_drop(g, name[0] == '/' ? name + 1 : name, id);
	}
	if (doc)
		eng_net_forget(g, id, doc, &ig);
	int r = trash(g, id, e);
	if (r == 0 && volumes)
		remove_anonymous_volumes(g, doc);
	json_object_put(doc);
	if (r < 0)
		return -1;
	return 0;
}

int eng_mount_rootfs(eng *g, const char *id, json_object *doc, berr *e)
{
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	_cleanup_free_ char *upper = eng_path(g, id, "upper");
	_cleanup_free_ char *work = eng_path(g, id, "work");
	struct stat a, b;
	_cleanup_free_ char *parent = eng_path(g, id, ".");
	if (stat(rootfs, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev)
		return 0; /* mounted */
	json_object *gd, *l;
	if (!json_object_object_get_ex(doc, "GraphDriver", &gd) ||
	    !json_object_object_get_ex(gd, "LowerDir", &l))
		return berr_set(e, EINVAL, "container %s: no GraphDriver.LowerDir", id);
	return eng_overlay_mount(json_object_get_string(l), upper, work, rootfs, e);
}
