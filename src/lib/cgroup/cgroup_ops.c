/* Lifecycle of one cgroup: create, enter, freeze, kill, destroy, and the
 * state.json form. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* ---- file helpers --------------------------------------------------------- */

int cg_write(const char *dir, const char *file, const char *val, berr *e)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "cgroup %s: write %s", p, val);
	_cleanup_free_ char *line = xasprintf("%s\n", val);
	ssize_t n;
	do
		n = write(fd, line, strlen(line));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return berr_sys(e, "cgroup %s: write %s", p, val);
	return 0;
}

/* The value a cg_*f call writes (allocation failure aborts, as xmalloc). */
__attribute__((format(printf, 1, 0))) static char *vfmt(const char *fmt, va_list ap)
{
	char *v = NULL;
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	return v;
}

int cg_writef(const char *dir, const char *file, berr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *v = vfmt(fmt, ap);
	va_end(ap);
	return cg_write(dir, file, v, e);
}

int cg_set(const char *dir, const char *file, const char *field, const char *val, berr *e)
{
	if (cg_write(dir, file, val, e) == 0)
		return 0;
	/* The cgroup is there but the file is not: the controller does not
	 * offer this knob (kernel config, I/O scheduler, page size). */
	if (e->errnum == ENOENT && access(dir, F_OK) == 0) {
		char cause[sizeof(e->msg)];
		snprintf(cause, sizeof(cause), "%s", e->msg);
		berr_set(e, ENOENT, "%s (%s: this host's cgroup controller has no such file)",
			 cause, field);
	}
	return -1;
}

int cg_setf(const char *dir, const char *file, const char *field, berr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *v = vfmt(fmt, ap);
	va_end(ap);
	return cg_set(dir, file, field, v, e);
}

char *cg_read(const char *dir, const char *file, berr *e)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	char *out = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, p, &out, &len, e) < 0) {
		berr_ctx(e, "cgroup %s", p);
		return NULL;
	}
	return out;
}

bool cg_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

int cg_hugetlb_limits(const char *dir, const spec_resources *r, const char *limit, berr *e)
{
	for (size_t i = 0; i < r->n_hugepages; i++) {
		const char *ps = r->hugepages[i].page_size;
		if (!ps || !*ps || strchr(ps, '/') || strchr(ps, '.'))
			return berr_set(e, EINVAL,
					"linux.resources.hugepageLimits[%zu]: bad pageSize", i);
		_cleanup_free_ char *f = xasprintf("hugetlb.%s.%s", ps, limit);
		_cleanup_free_ char *rsvd = xasprintf("hugetlb.%s.rsvd.%s", ps, limit);
		uint64_t v = r->hugepages[i].limit;
		if (cg_setf(dir, f, "linux.resources.hugepageLimits", e, "%" PRIu64, v) < 0)
			return -1;
		if (cg_exists(dir, rsvd) &&
		    cg_setf(dir, rsvd, "linux.resources.hugepageLimits", e, "%" PRIu64, v) < 0)
			return -1;
	}
	return 0;
}

bool cg_kv(const char *text, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == ' ') {
			*v = strtoull(l + kl + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

int cg_check_usage(const char *dir, const char *file, int64_t limit, berr *e)
{
	if (limit <= 0)
		return 0;
	_cleanup_free_ char *s = cg_read(dir, file, e);
	if (!s)
		return -1;
	uint64_t u = strtoull(s, NULL, 10);
	if (u > (uint64_t)limit)
		return berr_set(e, EBUSY,
				"linux.resources.memory.limit: %" PRId64
				" is below the current usage %" PRIu64 " (checkBeforeUpdate)",
				limit, u);
	return 0;
}

const char *cg_v1_dir(const cgroup *cg, unsigned ctrl)
{
	for (size_t i = 0; i < cg->n_v1; i++)
		if (cg->v1[i].ctrl & ctrl)
			return cg->v1[i].path;
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- create ----------------------------------------------------------------- */

/* v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks;
 * copy the parent's values down (runc's ensureParent). */
static int cpuset_fill(const char *dir, berr *e)
{
	_cleanup_free_ char *parent = xstrdup(dir);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *cur = cg_read(dir, files[i], e);
		if (!cur)
			return -1;
		if (strspn(cur, " \n") != strlen(cur))
			continue;
		_cleanup_free_ char *pv = cg_read(parent, files[i], e);
		if (!pv)
			return -1;
		pv[strcspn(pv, "\n")] = '\0';
		if (cg_write(dir, files[i], pv, e) < 0)
			return -1;
	}
	return 0;
}

/* v2: enable in `dir`'s cgroup.subtree_control what its cgroup.controllers
 * offers. Controllers the kernel refuses are skipped: a limit on them then
 * fails when written, naming the missing file. */
static void v2_enable_controllers(const char *dir)
{
	berr e;
	_cleanup_free_ char *avail = cg_read(dir, "cgroup.controllers", &e);
	if (!avail)
		return;
	char *save = NULL;
	for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save))
		cg_writef(dir, "cgroup.subtree_control", &e, "+%s", c);
}

/* mkdir -p, recording how many trailing components were new. */
int cg_mkdir_tracked(const char *path, bool cpuset, const char *v2_root, size_t *n_created, berr *e)
{
	_cleanup_free_ char *p = xstrdup(path);
	*n_created = 0;
	/* Walk up to the deepest existing ancestor. */
	while (access(p, F_OK) < 0) {
		if (errno != ENOENT)
			return berr_sys(e, "cgroup: access %s", p);
		char *s = strrchr(p, '/');
		if (!s || s == p)
			return berr_set(e, ENOENT, "cgroup: no existing parent for %s", path);
		*s = '\0';
	}
	/* v2: controllers must be enabled top-down, from the hierarchy root
	 * through every existing ancestor. */
	size_t rl = v2_root ? strlen(v2_root) : 0;
	if (v2_root && !strncmp(p, v2_root, rl) && (p[rl] == '/' || !p[rl])) {
		_cleanup_free_ char *a = xstrdup(p);
		for (size_t i = rl; a[i]; i++) {
			if (a[i] != '/')
				continue;
			a[i] = '\0';
			v2_enable_controllers(a);
			a[i] = '/';
		}
	}
	size_t len = strlen(path);
	for (size_t cut = strlen(p); cut < len;) {
		if (v2_root)
			v2_enable_controllers(p);
		size_t next = cut + 1;
		while (next < len && path[next] != '/')
			next++;
		memcpy(p, path, next);
		p[next] = '\0';
		if (mkdir(p, 0755) < 0)
			return berr_sys(e, "cgroup: mkdir %s", p);
		(*n_created)++;
		if (cpuset && cpuset_fill(p, e) < 0)
			return -1;
		cut = next;
	}
	if (*n_created == 0 && cpuset && cpuset_fill(p, e) < 0)
		return -1;
	return 0;
}

/* Remove the `n` trailing components of `path` that create() made. */
void cg_rmdir_created(const char *path, size_t n)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (size_t i = 0; i < n; i++) {
		rmdir(p);
		char *s = strrchr(p, '/');
		if (!s)
			break;
		*s = '\0';
	}
}

int cgroup_create_part(cgroup *cg, unsigned parts, berr *e)
{
	size_t done = 0;
	bool v1 = parts & CG_PART_V1, v2 = (parts & CG_PART_V2) && cg->v2;
	for (; v1 && done < cg->n_v1; done++) {
		cgroup_dir *d = &cg->v1[done];
		if (cg_mkdir_tracked(d->path, d->ctrl & CG_CPUSET, NULL, &d->n_created, e) < 0)
			goto fail;
	}
	/* hybrid: the v2 tree only tracks processes, no controllers there */
	const char *enable = cg->mode == CGROUP_V2 ? cg->v2_root : NULL;
	if (v2 && cg_mkdir_tracked(cg->v2, false, enable, &cg->v2_created, e) < 0)
		goto fail;
	return 0;
fail:
	/* The failing mkdir_tracked may have made some levels: its count is
	 * up to date, so include it. */
	if (v2)
		cg_rmdir_created(cg->v2, cg->v2_created);
	for (size_t i = 0; v1 && i <= done && i < cg->n_v1; i++)
		cg_rmdir_created(cg->v1[i].path, cg->v1[i].n_created);
	return -1;
}

int cgroup_create(cgroup *cg, berr *e)
{
	return cgroup_create_part(cg, CG_PART_V1 | CG_PART_V2, e);
}

int cgroup_enter(const cgroup *cg, pid_t pid, berr *e)
{
	for (size_t i = 0; i < cg->n_v1; i++)
		if (cg_writef(cg->v1[i].path, "cgroup.procs", e, "%d", (int)pid) < 0)
			return -1;
	return cgroup_enter_v2(cg, pid, e);
}

int cgroup_enter_v2(const cgroup *cg, pid_t pid, berr *e)
{
	return cg->v2 ? cg_writef(cg->v2, "cgroup.procs", e, "%d", (int)pid) : 0;
}

int cgroup_join_open_part(const cgroup *cg, cgroup_join *j, unsigned parts, berr *e)
{
	*j = (cgroup_join){.v2_dir = -1};
	size_t n = (parts & CG_PART_V1) ? cg->n_v1 : 0;
	j->v1_tasks = xreallocarray(NULL, n ? n : 1, sizeof(int));
	for (; j->n_v1 < n; j->n_v1++) {
		_cleanup_free_ char *p = xasprintf("%s/tasks", cg->v1[j->n_v1].path);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			berr_sys(e, "cgroup %s: open", p);
			cgroup_join_close(j);
			return -1;
		}
		j->v1_tasks[j->n_v1] = fd;
	}
	if ((parts & CG_PART_V2) && cg->v2 && (j->v2_dir = cgroup_v2_dir_fd(cg, e)) < 0) {
		cgroup_join_close(j);
		return -1;
	}
	return 0;
}

int cgroup_join_open(const cgroup *cg, cgroup_join *j, berr *e)
{
	return cgroup_join_open_part(cg, j, CG_PART_V1 | CG_PART_V2, e);
}

int cgroup_join_self_v1_at(const cgroup *cg, int hostroot, berr *e)
{
	for (size_t i = 0; i < cg->n_v1; i++) {
		const char *path = cg->v1[i].path;
		if (path[0] != '/')
			return berr_set(e, EINVAL, "cgroup %s: not an absolute path", path);
		_cleanup_free_ char *rel = xasprintf("%s/tasks", path + 1);
		_cleanup_close_ int fd = openat(hostroot, rel, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return berr_sys(e, "cgroup %s/tasks: open", path);
		if (write(fd, "0", 1) != 1)
			return berr_sys(e, "cgroup %s/tasks: write 0", path);
	}
	return 0;
}

int cgroup_join_self(const cgroup *cg, cgroup_join *j, berr *e)
{
	int r = 0;
	for (size_t i = 0; i < j->n_v1; i++) {
		if (r == 0 && write(j->v1_tasks[i], "0", 1) != 1)
			r = berr_sys(e, "cgroup %s/tasks: write 0", cg->v1[i].path);
		close(j->v1_tasks[i]);
		j->v1_tasks[i] = -1;
	}
	j->n_v1 = 0;
	return r;
}

void cgroup_join_close(cgroup_join *j)
{
	for (size_t i = 0; i < j->n_v1; i++)
		if (j->v1_tasks[i] >= 0)
			close(j->v1_tasks[i]);
	free(j->v1_tasks);
	if (j->v2_dir >= 0)
		close(j->v2_dir);
	*j = (cgroup_join){.v2_dir = -1};
}

int cgroup_v2_dir_fd(const cgroup *cg, berr *e)
{
	if (!cg->v2)
		return berr_set(e, ENOTSUP, "cgroup: no cgroup v2 directory in v1 mode");
	int fd = open(cg->v2, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "cgroup: open %s", cg->v2);
	return fd;
}

/* v2 for the unified mode; v1 and hybrid put every limit in v1. */
int cgroup_apply(const cgroup *cg, const spec_resources *r, char ***warn_out, berr *e)
{
	if (!r)
		return 0;
	if (cg->mode == CGROUP_V2)
		return cg_apply_v2(cg, r, warn_out, e);
	return cg_apply_v1(cg, r, warn_out, e);
}

/* ---- freeze ----------------------------------------------------------------- */

static int v1_freezer_state(const char *dir, char *buf, size_t n, berr *e)
{
	_cleanup_free_ char *s = cg_read(dir, "freezer.state", e);
	if (!s)
		return -1;
	s[strcspn(s, "\n")] = '\0';
	snprintf(buf, n, "%s", s);
	return 0;
}

int cgroup_freeze(const cgroup *cg, bool frozen, berr *e)
{
	const char *fz = cg_v1_dir(cg, CG_FREEZER);
	if (cg->mode != CGROUP_V2 && fz) {
		const char *want = frozen ? "FROZEN" : "THAWED";
		/* Freezing can stall in FREEZING (a task in an uninterruptible
		 * sleep); re-writing the state retries, as runc does. */
		for (int i = 0; i < 1000; i++) {
			if (i % 10 == 0 && cg_write(fz, "freezer.state", want, e) < 0)
				return -1;
			char st[32];
			if (v1_freezer_state(fz, st, sizeof(st), e) < 0)
				return -1;
			if (!strcmp(st, want))
				return 0;
			sleep_ms(i < 10 ? 1 : 10);
		}
		if (frozen)
			cg_write(fz, "freezer.state", "THAWED", e);
		return berr_set(e, ETIMEDOUT, "cgroup %s: freezer.state did not reach %s", fz,
				want);
	}
	if (!cg->v2)
		return berr_set(e, ENOTSUP, "cgroup: no freezer controller");
	if (cg_write(cg->v2, "cgroup.freeze", frozen ? "1" : "0", e) < 0)
		return -1;
	for (int i = 0; i < 500; i++) {
		bool now;
		if (cgroup_is_frozen(cg, &now, e) < 0)
			return -1;
		if (now == frozen)
			return 0;
		sleep_ms(i < 10 ? 1 : 10);
	}
	return berr_set(e, ETIMEDOUT, "cgroup %s: cgroup.events did not report frozen %d", cg->v2,
			frozen);
}

int cgroup_is_frozen(const cgroup *cg, bool *frozen, berr *e)
{
	const char *fz = cg_v1_dir(cg, CG_FREEZER);
	if (cg->mode != CGROUP_V2 && fz) {
		char st[32];
		if (v1_freezer_state(fz, st, sizeof(st), e) < 0)
			return -1;
		*frozen = !strcmp(st, "FROZEN");
		return 0;
	}
	if (!cg->v2)
		return berr_set(e, ENOTSUP, "cgroup: no freezer controller");
	_cleanup_free_ char *ev = cg_read(cg->v2, "cgroup.events", e);
	if (!ev)
		return -1;
	uint64_t v = 0;
	cg_kv(ev, "frozen", &v);
	*frozen = v == 1;
	return 0;
}

/* ---- processes -------------------------------------------------------------- */

static const char *tracking_dir(const cgroup *cg)
{
	if (cg->v2)
		return cg->v2;
	const char *d = cg_v1_dir(cg, CG_PIDS);
	if (!d)
		d = cg_v1_dir(cg, CG_FREEZER);
	return d ? d : cg->n_v1 ? cg->v1[0].path : NULL;
}

/* Walk `dir` and its sub-cgroups (a container may make its own): count the
 * processes, collect them into *out when given, signal them when sig != 0.
 * A directory vanishing under us counts as empty. */
static int walk_pids(const char *dir, int sig, pid_t **out, size_t *n, int depth, berr *e)
{
	if (depth > 64)
		return berr_set(e, ELOOP, "cgroup %s: nested too deep", dir);
	_cleanup_free_ char *s = cg_read(dir, "cgroup.procs", e);
	if (!s)
		return e->errnum == ENOENT || e->errnum == ENODEV ? 0 : -1;
	char *save = NULL;
	for (char *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)strtol(t, NULL, 10);
		if (pid <= 0)
			continue;
		if (sig && kill(pid, sig) < 0 && errno != ESRCH)
			return berr_sys(e, "cgroup %s: kill %d", dir, (int)pid);
		if (out) {
			*out = xreallocarray(*out, *n + 1, sizeof(**out));
			(*out)[*n] = pid;
		}
		(*n)++;
	}
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : berr_sys(e, "cgroup: open %s", dir);
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		r = walk_pids(sub, sig, out, n, depth + 1, e);
	}
	closedir(d);
	return r;
}

int cgroup_pids(const cgroup *cg, pid_t **pids, size_t *n, berr *e)
{
	const char *d = tracking_dir(cg);
	*pids = NULL;
	*n = 0;
	if (!d)
		return berr_set(e, 0, "cgroup: no hierarchy");
	if (walk_pids(d, 0, pids, n, 0, e) < 0) {
		free(*pids);
		*pids = NULL;
		return -1;
	}
	return 0;
}

static int signal_dir(const char *dir, int sig, size_t *left, berr *e)
{
	*left = 0;
	return walk_pids(dir, sig, NULL, left, 0, e);
}

int cgroup_signal_all(const cgroup *cg, int sig, berr *e)
{
	const char *d = tracking_dir(cg);
	size_t n;
	if (!d)
		return berr_set(e, 0, "cgroup: no hierarchy");
	return signal_dir(d, sig, &n, e);
}

static int wait_empty(const char *dir, int timeout_ms, berr *e)
{
	for (int waited = 0;; waited += 10) {
		size_t n = 0;
		if (walk_pids(dir, 0, NULL, &n, 0, e) < 0)
			return -1;
		if (n == 0)
			return 0;
		if (waited >= timeout_ms)
			return berr_set(e, EBUSY, "cgroup %s: %zu processes left after kill", dir,
					n);
		sleep_ms(10);
	}
}

int cgroup_kill_all(const cgroup *cg, berr *e)
{
	const char *d = tracking_dir(cg);
	if (!d)
		return berr_set(e, 0, "cgroup: no hierarchy");
	if (cg->v2 && cg_exists(cg->v2, "cgroup.kill")) {
		if (cg_write(cg->v2, "cgroup.kill", "1", e) < 0)
			return e->errnum == ENOENT ? 0 : -1;
		return wait_empty(cg->v2, 5000, e);
	}
	/* Freeze first so nothing forks between reading the list and the
	 * signal; a frozen task only dies once thawed. */
	bool can_freeze = cg_v1_dir(cg, CG_FREEZER) || cg->v2;
	for (int round = 0; round < 50; round++) {
		if (can_freeze && cgroup_freeze(cg, true, e) < 0) {
			if (e->errnum != ENOENT)
				return -1;
			return 0;
		}
		size_t left = 0;
		int r = signal_dir(d, SIGKILL, &left, e);
		if (can_freeze && cgroup_freeze(cg, false, e) < 0 && r == 0)
			return -1;
		if (r < 0)
			return -1;
		if (left == 0)
			return 0;
		if (wait_empty(d, 100, e) == 0)
			return 0;
	}
	return berr_set(e, EBUSY, "cgroup %s: processes survive SIGKILL", d);
}

/* ---- destroy --------------------------------------------------------------- */

/* rmdir `path` and its sub-cgroups, deepest first. EBUSY (still populated,
 * or the kernel not done with exiting tasks) is retried after a kill. */
static int rm_cgroup_tree(const char *path, int depth, berr *e)
{
	if (depth > 64)
		return berr_set(e, ELOOP, "cgroup %s: nested too deep", path);
	DIR *dir = opendir(path);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		return berr_sys(e, "cgroup: open %s", path);
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
		if ((r = rm_cgroup_tree(sub, depth + 1, e)) < 0)
			break;
	}
	closedir(dir);
	if (r < 0)
		return -1;
	for (int i = 0;; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i >= 200)
			return berr_sys(e, "cgroup: rmdir %s", path);
		size_t left;
		if (signal_dir(path, SIGKILL, &left, e) < 0)
			return -1;
		sleep_ms(10);
	}
}

/* The usual case: the container's processes are gone and it made no
 * sub-cgroups, so one rmdir per hierarchy does it. Anything else (EBUSY,
 * ENOTEMPTY) takes the thaw-kill-retry path. */
static bool rmdir_all_empty(const cgroup *cg)
{
	bool ok = true;
	for (size_t i = 0; i < cg->n_v1; i++)
		if (rmdir(cg->v1[i].path) < 0 && errno != ENOENT)
			ok = false;
	if (cg->v2 && rmdir(cg->v2) < 0 && errno != ENOENT)
		ok = false;
	return ok;
}

int cgroup_destroy(const cgroup *cg, berr *e)
{
	if (rmdir_all_empty(cg))
		return 0;
	int r = 0;
	berr first = {0};
	/* Thaw first: a frozen v1 cgroup's tasks cannot die. */
	const char *fz = cg_v1_dir(cg, CG_FREEZER);
	if (fz && cg_exists(fz, "freezer.state"))
		cg_write(fz, "freezer.state", "THAWED", e);
	if (cg->v2 && cg_exists(cg->v2, "cgroup.freeze"))
		cg_write(cg->v2, "cgroup.freeze", "0", e);
	if (cg->v2 && cg_exists(cg->v2, "cgroup.kill"))
		cg_write(cg->v2, "cgroup.kill", "1", e);
	for (size_t i = 0; i < cg->n_v1; i++)
		if (rm_cgroup_tree(cg->v1[i].path, 0, e) < 0 && r == 0) {
			first = *e;
			r = -1;
		}
	if (cg->v2 && rm_cgroup_tree(cg->v2, 0, e) < 0 && r == 0) {
		first = *e;
		r = -1;
	}
	if (r < 0)
		*e = first;
	return r;
}

/* ---- state.json ------------------------------------------------------------ */

char *cgroup_serialize(const cgroup *cg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "mode", json_object_new_string(cgroup_mode_name(cg->mode)));
	json_object_object_add(o, "path", json_object_new_string(cg->path));
	json_object *dirs = json_object_new_object();
	for (size_t i = 0; i < cg->n_v1; i++)
		json_object_object_add(dirs, cg->v1[i].name,
				       json_object_new_string(cg->v1[i].path));
	if (cg->v2)
		json_object_object_add(dirs, "", json_object_new_string(cg->v2));
	json_object_object_add(o, "dirs", dirs);
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static unsigned name_bits(const char *name)
{
	static const struct {
		const char *n;
		unsigned b;
	} t[] = {{"cpu", CG_CPU},	  {"cpuacct", CG_CPUACCT},   {"cpuset", CG_CPUSET},
		 {"memory", CG_MEMORY},	  {"devices", CG_DEVICES},   {"freezer", CG_FREEZER},
		 {"blkio", CG_BLKIO},	  {"pids", CG_PIDS},	     {"hugetlb", CG_HUGETLB},
		 {"net_cls", CG_NET_CLS}, {"net_prio", CG_NET_PRIO}, {"perf_event", CG_PERF_EVENT},
		 {"rdma", CG_RDMA},	  {"misc", CG_MISC}};
	unsigned bits = 0;
	_cleanup_free_ char *s = xstrdup(name);
	char *save = NULL;
	for (char *c = strtok_r(s, ",", &save); c; c = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < ARRAY_SIZE(t); i++)
			if (!strcmp(c, t[i].n))
				bits |= t[i].b;
	return bits ? bits : CG_NAMED;
}

cgroup *cgroup_deserialize(const char *json, berr *e)
{
	json_object *o = json_tokener_parse(json);
	json_object *mode, *path, *dirs;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "mode", &mode) ||
	    !json_object_object_get_ex(o, "path", &path) ||
	    !json_object_object_get_ex(o, "dirs", &dirs) ||
	    !json_object_is_type(dirs, json_type_object)) {
		json_object_put(o);
		berr_set(e, EINVAL, "cgroup state: malformed");
		return NULL;
	}
	cgroup *cg = xzalloc(sizeof(*cg));
	const char *m = json_object_get_string(mode);
	cg->mode = !strcmp(m, "v2") ? CGROUP_V2 : !strcmp(m, "hybrid") ? CGROUP_HYBRID : CGROUP_V1;
	cg->path = xstrdup(json_object_get_string(path));
	json_object_object_foreach(dirs, k, v)
	{
		const char *p = json_object_get_string(v);
		if (!p || p[0] != '/' || strstr(p, "/../") ||
		    (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/.."))) {
			berr_set(e, EINVAL, "cgroup state: dirs.%s: not an absolute path", k);
			cgroup_free(cg);
			json_object_put(o);
			return NULL;
		}
		if (!*k) {
			free(cg->v2);
			cg->v2 = xstrdup(p);
			continue;
		}
		cg->v1 = xreallocarray(cg->v1, cg->n_v1 + 1, sizeof(*cg->v1));
		cg->v1[cg->n_v1++] =
		    (cgroup_dir){.name = xstrdup(k), .ctrl = name_bits(k), .path = xstrdup(p)};
	}
	json_object_put(o);
	return cg;
}
