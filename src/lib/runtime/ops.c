/* Operations on an existing container: start, state, list, kill, delete,
 * and the pids that belong to it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

void container_close(container *k)
{
	if (k->dirfd >= 0)
		close(k->dirfd);
	if (k->rootfd >= 0)
		close(k->rootfd);
	st_record_clear(&k->r);
}

int container_open(rt_ctx *c, const char *id, container *k, berr *e)
{
	memset(k, 0, sizeof(*k));
	k->rootfd = k->dirfd = -1;
	if (rt_validate_id(id, e) < 0)
		return -1;
	k->rootfd = st_open_root(c->state_root, false, e);
	if (k->rootfd < 0) {
		if (e->errnum == ENOENT)
			berr_set(e, ENOENT, "container \"%s\" does not exist", id);
		return -1;
	}
	/* a failure leaves nothing open: the callers return at once */
	k->dirfd = st_open_dir(k->rootfd, id, e);
	if (k->dirfd < 0) {
		container_close(k);
		k->rootfd = k->dirfd = -1;
		return -1;
	}
	int r = st_read(k->dirfd, &k->r, e);
	if (r < 0) {
		container_close(k);
		k->rootfd = k->dirfd = -1;
		return berr_ctx(e, "container \"%s\"", id);
	}
	k->have = r == 1;
	if (!k->have) {
		k->r.id = xstrdup(id);
		k->r.bundle = xstrdup("");
	}
	k->status = st_status(k->dirfd, &k->r, k->have);
	if (k->status == RT_RUNNING && k->r.cgroup) {
		cgroup *cg = container_cgroup(k);
		bool frozen = false;
		berr ignore;
		if (cg && cgroup_is_frozen(cg, &frozen, &ignore) == 0 && frozen)
			k->status = RT_PAUSED;
		cgroup_free(cg);
	}
	return 0;
}

cgroup *container_cgroup(const container *k)
{
	berr ignore;
	if (k->r.cgroup)
		return cgroup_deserialize(k->r.cgroup, &ignore);
	_cleanup_free_ char *text = NULL;
	if (fs_read_file_at(k->dirfd, CGROUP_FILE, &text, NULL, &ignore) < 0)
		return NULL;
	return cgroup_deserialize(text, &ignore);
}

/* A pidfd for the recorded process, checked against its start time after
 * opening so a recycled pid is never signalled. */
int container_pidfd(const st_record *r)
{
	int fd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	if (fd < 0)
		return -1;
	if (!st_process_alive(r)) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

spec *container_config(const container *k, char **text_out, berr *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	spec *sp = NULL;
	if (fs_read_file_at(k->dirfd, CONFIG_COPY, &text, &len, e) < 0 ||
	    spec_parse(text, len, CONFIG_COPY, &sp, e) < 0)
		return NULL;
	if (text_out)
		*text_out = take_ptr(text);
	return sp;
}

static int start_container(rt_ctx *c, container *k, const char *id, berr *e)
{
	if (k->status != RT_CREATED)
		return berr_set(e, EINVAL, "cannot start container \"%s\": it is %s, not created",
				id, rt_status_name(k->status));
	/* parsed only when start has a use for it: most have none */
	spec *sp = NULL;
	if (k->r.start_config && !(sp = container_config(k, NULL, e)))
		return berr_ctx(e, "container \"%s\"", id);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", k->dirfd, EXEC_SOCK);
	int ret = -1;
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		berr_sys(e, "start container \"%s\": connect to its init", id);
	/* Only one start may win: the socket file goes first. */
	else if (unlinkat(k->dirfd, EXEC_SOCK, 0) < 0)
		berr_sys(e, "start container \"%s\"", id);
	else {
		_cleanup_free_ char *created = st_spec_state_json(&k->r, RT_CREATED);
		ret = release_init(s, sp, created, e);
	}
	if (ret == 0 && sp && sp->hooks.n[HOOK_POSTSTART]) {
		/* a failure is a warning: the lifecycle goes on (runtime-spec) */
		_cleanup_free_ char *st = st_spec_state_json(&k->r, RT_RUNNING);
		hooks_run_all(sp, HOOK_POSTSTART, st, &c->warnings);
	}
	spec_free(sp);
	return ret;
}

int rt_start(rt_ctx *c, const char *id, berr *e)
{
	container k;
	if (container_open(c, id, &k, e) < 0)
		return -1;
	int ret = start_container(c, &k, id, e);
	container_close(&k);
	return ret;
}

int rt_info_get(rt_ctx *c, const char *id, rt_info *out, berr *e)
{
	container k;
	if (container_open(c, id, &k, e) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->id = xstrdup(id);
	out->status = k.status;
	out->pid = k.status == RT_STOPPED ? 0 : k.r.pid;
	out->bundle = xstrdup(k.r.bundle ? k.r.bundle : "");
	out->rootfs = xstrdup(k.r.rootfs ? k.r.rootfs : "");
	out->created = xstrdup(k.r.created ? k.r.created : "");
	out->owner = xstrdup(k.r.owner ? k.r.owner : "");
	out->annotations = strv_dup(k.r.annotations);
	container_close(&k);
	return 0;
}

void rt_info_clear(rt_info *i)
{
	free(i->id);
	free(i->bundle);
	free(i->rootfs);
	free(i->created);
	free(i->owner);
	strv_free(i->annotations);
	memset(i, 0, sizeof(*i));
}

int rt_state_json(rt_ctx *c, const char *id, char **json, berr *e)
{
	container k;
	if (container_open(c, id, &k, e) < 0)
		return -1;
	*json = st_spec_state_json(&k.r, k.status);
	container_close(&k);
	return 0;
}

/* A state directory `run` renamed for its holder to delete (wait.c), left
 * there because the holder was killed first: deleted now. */
static void sweep_gone(int rootfd, const char *name)
{
	if (strncmp(name, ".gone.", 6))
		return;
	char *end;
	long pid = strtol(name + 6, &end, 10);
	if (*end || pid <= 0 || pid > INT_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return;
	berr ig;
	fs_rm_rf_at(rootfd, name, &ig);
}

int rt_list(rt_ctx *c, rt_info **out, size_t *n, berr *e)
{
	*out = NULL;
	*n = 0;
	int fd = open(c->state_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "open %s", c->state_root);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_sys(e, "fdopendir %s", c->state_root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.') {
			sweep_gone(fd, de->d_name);
			continue;
		}
		rt_info i;
		berr ignore;
		if (rt_info_get(c, de->d_name, &i, &ignore) < 0)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof(rt_info));
		(*out)[(*n)++] = i;
	}
	closedir(d);
	return 0;
}

static bool same_pidns(pid_t pid, const struct stat *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
}

static int pids_of(const container *k, pid_t **pids, size_t *n, berr *e)
{
	*pids = NULL;
	*n = 0;
	if (k->status == RT_STOPPED || !k->have)
		return 0;
	cgroup *cg = container_cgroup(k);
	if (cg) {
		int r = cgroup_pids(cg, pids, n, e);
		cgroup_free(cg);
		return r;
	}
	if (!k->r.own_pidns) {
		*pids = xmalloc(sizeof(pid_t));
		(*pids)[(*n)++] = k->r.pid;
		return 0;
	}
	char path[64];
	struct stat ns;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)k->r.pid);
	if (stat(path, &ns) < 0)
		return 0;
	DIR *d = opendir("/proc");
	if (!d)
		return berr_sys(e, "open /proc");
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long p = strtol(de->d_name, &end, 10);
		if (*end || p <= 0)
			continue;
		if (same_pidns((pid_t)p, &ns)) {
			*pids = xreallocarray(*pids, *n + 1, sizeof(pid_t));
			(*pids)[(*n)++] = (pid_t)p;
		}
	}
	closedir(d);
	return 0;
}

int rt_pids(rt_ctx *c, const char *id, pid_t **pids, size_t *n, berr *e)
{
	container k;
	if (container_open(c, id, &k, e) < 0)
		return -1;
	int r = pids_of(&k, pids, n, e);
	container_close(&k);
	return r;
}

int rt_kill(rt_ctx *c, const char *id, int sig, bool all, berr *e)
{
	container k;
	if (container_open(c, id, &k, e) < 0)
		return -1;
	int ret = 0;
	if (k.status != RT_CREATED && k.status != RT_RUNNING && k.status != RT_PAUSED) {
		/* runc's words at the end: containerd's runc shim (the kubelet's
		 * StopContainer of an exited container) treats a kill error
		 * containing them as "already finished", anything else as failed */
		ret = berr_set(e, ESRCH, "container \"%s\" is not running (container not running)",
			       id);
		goto out;
	}
	cgroup *cg = all ? container_cgroup(&k) : NULL;
	if (cg) {
		ret = cgroup_signal_all(cg, sig, e);
		cgroup_free(cg);
		goto out;
	}
	if (all) {
		pid_t *pids = NULL;
		size_t n = 0;
		if (pids_of(&k, &pids, &n, e) < 0) {
			ret = -1;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			kill(pids[i], sig);
		free(pids);
		goto out;
	}
	int pfd = container_pidfd(&k.r);
	if (pfd < 0 || syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
		ret = berr_sys(e, "kill container \"%s\"", id);
	if (pfd >= 0)
		close(pfd);
out:
	container_close(&k);
	return ret;
}

static void kill_and_wait(const container *k)
{
	int pfd = container_pidfd(&k->r);
	if (pfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	poll(&p, 1, 5000);
	close(pfd);
	/* the process may be a zombie of a parent that already exited; wait
	 * until it is gone from our view */
	for (int i = 0; i < 500 && st_process_alive(&k->r); i++)
		usleep(1000);
}

int rt_delete(rt_ctx *c, const char *id, bool force, berr *e)
{
	container k;
	if (container_open(c, id, &k, e) < 0)
		return -1;
	int ret = 0;
	if ((k.status == RT_RUNNING || k.status == RT_PAUSED || k.status == RT_CREATING) &&
	    !force) {
		ret = berr_set(e, EBUSY, "cannot delete container \"%s\": it is %s (use --force)",
			       id, rt_status_name(k.status));
		goto out;
	}
	berr ignore;
	cgroup *cg = container_cgroup(&k);
	if (cg && k.status == RT_PAUSED)
		cgroup_freeze(cg, false, &ignore); /* a frozen process cannot die */
	if (k.have && k.status != RT_STOPPED)
		kill_and_wait(&k);
	if (cg) {
		/* whatever the init left behind (with its own pid namespace the
		 * kernel already killed them; without one they may linger) */
		if (cgroup_kill_all(cg, &ignore) < 0 || cgroup_destroy(cg, e) < 0) {
			cgroup_free(cg);
			ret = berr_ctx(e, "delete container \"%s\"", id);
			goto out;
		}
		cgroup_free(cg);
	}
	spec *sp = k.have ? container_config(&k, NULL, &ignore) : NULL;
	if (sp) {
		if (sp->hooks.n[HOOK_POSTSTOP]) {
			_cleanup_free_ char *st = st_spec_state_json(&k.r, RT_STOPPED);
			hooks_run_all(sp, HOOK_POSTSTOP, st, &c->warnings);
		}
		spec_free(sp);
	}
	if (st_remove_dir(k.rootfd, id, e) < 0)
		ret = -1;
out:
	container_close(&k);
	return ret;
}
