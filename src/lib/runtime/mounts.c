/* One OCI mount into the container's root, resolved in the root and done
 * through /proc/self/fd of the resolved target (never a joined string). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

/* The remount as mount_setattr on the fd itself, for when no /proc is
 * there to name it (after pivot_root into a root without /proc): the same
 * per-mount flags, set and cleared. */
static int remount_by_fd(int target_fd, unsigned long f, berr *e)
{
	struct mount_attr attr = {
	    .attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR__ATIME,
	};
	static const struct {
		unsigned long ms;
		uint64_t attr;
	} map[] = {
	    {MS_RDONLY, MOUNT_ATTR_RDONLY},
	    {MS_NOSUID, MOUNT_ATTR_NOSUID},
	    {MS_NODEV, MOUNT_ATTR_NODEV},
	    {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
	    {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
	    {MS_NOATIME, MOUNT_ATTR_NOATIME},
	    {MS_STRICTATIME, MOUNT_ATTR_STRICTATIME},
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (f & map[i].ms)
			attr.attr_set |= map[i].attr;
	if (syscall(SYS_mount_setattr, target_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return berr_sys(e, "remount (mount_setattr)");
	return 0;
}

/* No /proc to name fds by (after pivot_root into a root without one):
 * the mount calls that take fds instead. */
static bool no_proc_fds(void)
{
	return faccessat(AT_FDCWD, "/proc/self/fd", F_OK, 0) < 0;
}

static int move_onto(int mnt_fd, int dst_fd, berr *e)
{
	int r = (int)syscall(SYS_move_mount, mnt_fd, "", dst_fd, "",
			     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	int err = errno;
	close(mnt_fd);
	errno = err;
	return r < 0 ? berr_sys(e, "move_mount") : 0;
}

int mount_bind_fd(int src_fd, int dst_fd, bool recursive, berr *e)
{
	fs_fdpath sp = fs_fd_path(src_fd), dp = fs_fd_path(dst_fd);
	if (mount(sp.s, dp.s, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) == 0)
		return 0;
	if (errno != ENOENT || !no_proc_fds())
		return berr_sys(e, "bind");
	unsigned fl =
	    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	int t = (int)syscall(SYS_open_tree, src_fd, "", fl);
	if (t < 0)
		return berr_sys(e, "bind (open_tree)");
	return move_onto(t, dst_fd, e);
}

int mount_mask_dir(int dst_fd, berr *e)
{
	const unsigned long ms = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount("tmpfs", fs_fd_path(dst_fd).s, "tmpfs", ms, "size=0,mode=0") == 0)
		return 0;
	if (errno != ENOENT || !no_proc_fds())
		return berr_sys(e, "mount tmpfs");
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return berr_sys(e, "fsopen tmpfs");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return berr_sys(e, "fsconfig tmpfs");
	int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				 MOUNT_ATTR_NOEXEC);
	if (m < 0)
		return berr_sys(e, "fsmount tmpfs");
	return move_onto(m, dst_fd, e);
}

int mount_remount_bind(int target_fd, unsigned long flags, berr *e)
{
	struct statvfs sv;
	if (fstatvfs(target_fd, &sv) < 0)
		return berr_sys(e, "statvfs");
	/* Flags a user namespace locked on the source cannot be cleared. */
	unsigned long keep = 0;
	if (sv.f_flag & ST_NOSUID)
		keep |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		keep |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		keep |= MS_NOEXEC;
	if (!(flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))) {
		if (sv.f_flag & ST_NOATIME)
			keep |= MS_NOATIME;
		if (sv.f_flag & ST_RELATIME)
			keep |= MS_RELATIME;
	}
	if (!(flags & MS_NODIRATIME) && (sv.f_flag & ST_NODIRATIME))
		keep |= MS_NODIRATIME;
	unsigned long f = (flags & ~(MS_REC | PROPAGATION_FLAGS | MS_BIND | MS_REMOUNT)) | keep;
	fs_fdpath p = fs_fd_path(target_fd);
	if (mount(NULL, p.s, NULL, MS_BIND | MS_REMOUNT | f, NULL) == 0)
		return 0;
	if (errno == ENOENT && no_proc_fds())
		return remount_by_fd(target_fd, f, e);
	return berr_sys(e, "remount");
}

static int set_recursive_ro(int target_fd, berr *e)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	if (syscall(SYS_mount_setattr, target_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
		    sizeof(attr)) < 0)
		return berr_sys(e, "mount_setattr rro");
	return 0;
}

/* /proc may only receive mounts over a few files (runc's list; CVE-2019-16884). */
static bool proc_target_allowed(const char *dest)
{
	static const char *const ok[] = {"/proc/cpuinfo", "/proc/diskstats",
					 "/proc/meminfo", "/proc/stat",
					 "/proc/swaps",	  "/proc/uptime",
					 "/proc/loadavg", "/proc/slabinfo",
					 "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcmp(dest, ok[i]))
			return true;
	return false;
}

static int check_target_fs(int fd, const spec_mount *m, berr *e)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return berr_sys(e, "statfs");
	if (sf.f_type == PROC_SUPER_MAGIC && !proc_target_allowed(m->destination))
		return berr_set(e, EPERM, "%s is inside /proc: mounting over it is not allowed",
				m->destination);
	return 0;
}

/* Source of a bind mount: relative paths are relative to the bundle. */
static char *bind_source(const rt_launch *l, const spec_mount *m)
{
	if (!m->source || !*m->source)
		return NULL;
	if (m->source[0] == '/')
		return xstrdup(m->source);
	return xasprintf("%s/%s", l->bundle, m->source);
}

static int do_bind(const rt_launch *l, int rootfd, const spec_mount *m, berr *e)
{
	_cleanup_free_ char *src = bind_source(l, m);
	if (!src)
		return berr_set(e, EINVAL, "source: required for a bind mount");
	_cleanup_close_ int sfd = open(src, O_PATH | O_CLOEXEC);
	if (sfd < 0)
		return berr_sys(e, "source %s", src);
	struct stat st;
	if (fstat(sfd, &st) < 0)
		return berr_sys(e, "stat %s", src);
	_cleanup_close_ int tfd = S_ISDIR(st.st_mode)
				      ? fs_mkdir_in_root(rootfd, m->destination, 0755, e)
				      : fs_mkfile_in_root(rootfd, m->destination, 0644, e);
	if (tfd < 0)
		return -1;
	if (check_target_fs(tfd, m, e) < 0)
		return -1;
	fs_fdpath sp = fs_fd_path(sfd), tp = fs_fd_path(tfd);
	if (mount(sp.s, tp.s, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
		return berr_sys(e, "bind %s", src);
	unsigned long extra = m->flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS);
	if (extra || m->rro || m->propagation) {
		/* The fd still names the covered directory: reopen the new mount. */
		_cleanup_close_ int nfd = fs_open_in_root(rootfd, m->destination, O_PATH, 0, e);
		if (nfd < 0)
			return -1;
		if (extra && mount_remount_bind(nfd, m->flags, e) < 0)
			return -1;
		if (m->rro && set_recursive_ro(nfd, e) < 0)
			return -1;
		if (m->propagation &&
		    mount(NULL, fs_fd_path(nfd).s, NULL, m->propagation, NULL) < 0)
			return berr_sys(e, "set propagation");
	}
	return 0;
}

/* The "cgroup" type: the container's own cgroup, never the host's tree
 * writable (CVE-2023-25809). */
static int do_cgroup(const rt_launch *l, int rootfd, const spec_mount *m, berr *e)
{
	bool own_ns = l->s->linux_.ns[NS_CGROUP].present;
	if (l->cg)
		return cgroup_mount_setup(l->cg, rootfd, m->destination, m->flags, own_ns, e);
	/* rootless without a cgroup: the host's tree, read-only */
	_cleanup_close_ int tfd = fs_mkdir_in_root(rootfd, m->destination, 0755, e);
	if (tfd < 0)
		return -1;
	if (mount("/sys/fs/cgroup", fs_fd_path(tfd).s, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berr_sys(e, "bind /sys/fs/cgroup");
	_cleanup_close_ int nfd = fs_open_in_root(rootfd, m->destination, O_PATH, 0, e);
	if (nfd < 0)
		return -1;
	return set_recursive_ro(nfd, e);
}

/* data without the options that start with `prefix` */
static char *strip_option(const char *data, const char *prefix)
{
	char *out = xzalloc(strlen(data) + 1);
	_cleanup_free_ char *copy = xstrdup(data);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strncmp(t, prefix, strlen(prefix)))
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, t);
	}
	return out;
}

static bool has_option(const char *data, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = data; p && (p = strstr(p, opt)); p += n)
		if ((p == data || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* proc and sysfs go on a real directory only: an image that makes /proc a
 * symlink would otherwise steer later /proc writes (CVE-2019-19921). */
static int check_plain_dir(int rootfd, const spec_mount *m, berr *e)
{
	if (strcmp(m->type, "proc") && strcmp(m->type, "sysfs"))
		return 0;
	char name[256];
	_cleanup_close_ int parent =
	    fs_parent_in_root(rootfd, m->destination, name, sizeof(name), true, e);
	if (parent < 0)
		return -1;
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		return berr_set(e, EPERM,
				"filesystem \"%s\" must be mounted on an ordinary directory",
				m->type);
	return 0;
}

static int do_plain(const rt_launch *l, int rootfd, const spec_mount *m, berr *e)
{
	if (check_plain_dir(rootfd, m, e) < 0)
		return -1;
	_cleanup_close_ int tfd = fs_mkdir_in_root(rootfd, m->destination, 0755, e);
	if (tfd < 0)
		return -1;
	if (check_target_fs(tfd, m, e) < 0)
		return -1;
	fs_fdpath tp = fs_fd_path(tfd);
	const char *src = m->source && *m->source ? m->source : m->type;
	unsigned long flags = m->flags & ~(MS_REC | PROPAGATION_FLAGS);
	const char *data = m->data;
	_cleanup_free_ char *without_copyup = NULL;
	_cleanup_close_ int below = -1; /* the directory the tmpfs will cover */
	if (has_option(data, "tmpcopyup")) {
		if (strcmp(m->type, "tmpfs"))
			return berr_set(e, EINVAL, "tmpcopyup: only for tmpfs mounts");
		without_copyup = strip_option(data, "tmpcopyup");
		data = *without_copyup ? without_copyup : NULL;
		below = fs_open_in_root(rootfd, m->destination, O_RDONLY | O_DIRECTORY, 0, e);
		if (below < 0)
			return -1;
	}
	_cleanup_free_ char *labeled = NULL;
	if (l->lsm.selinux && l->s->linux_.mount_label && *l->s->linux_.mount_label &&
	    strcmp(m->type, "proc") && strcmp(m->type, "sysfs") && strcmp(m->type, "mqueue")) {
		labeled = xasprintf("%s%scontext=\"%s\"", data ? data : "", data ? "," : "",
				    l->s->linux_.mount_label);
		data = labeled;
	}
	if (mount(src, tp.s, m->type, flags, data) < 0) {
		int err = errno;
		/* In a user namespace devpts may refuse a gid that is not mapped. */
		if (!strcmp(m->type, "devpts") && err == EINVAL && data && strstr(data, "gid=")) {
			_cleanup_free_ char *d = strip_option(data, "gid=");
			if (mount(src, tp.s, m->type, flags, d) == 0)
				goto mounted;
		}
		/* sysfs needs a network namespace of our own; bind the host's. */
		if (!strcmp(m->type, "sysfs") && (err == EPERM || err == EBUSY)) {
			if (mount("/sys", tp.s, NULL, MS_BIND | MS_REC, NULL) == 0) {
				_cleanup_close_ int nfd =
				    fs_open_in_root(rootfd, m->destination, O_PATH, 0, e);
				if (nfd < 0)
					return -1;
				if (mount_remount_bind(nfd, flags, e) < 0)
					return -1;
				goto mounted;
			}
		}
		errno = err;
		return berr_sys(e, "mount %s", m->type);
	}
mounted:
	if (below >= 0) {
		_cleanup_close_ int top =
		    fs_open_in_root(rootfd, m->destination, O_RDONLY | O_DIRECTORY, 0, e);
		if (top < 0 || mount_copy_up(below, top, e) < 0)
			return -1;
	}
	if (m->propagation || m->rro || !strcmp(m->type, "proc")) {
		_cleanup_close_ int nfd = fs_open_in_root(rootfd, m->destination, O_PATH, 0, e);
		if (nfd < 0)
			return -1;
		if (!strcmp(m->type, "proc")) {
			struct statfs sf;
			if (fstatfs(nfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
				return berr_set(e, EPERM, "%s is not procfs after mounting",
						m->destination);
		}
		if (m->rro && set_recursive_ro(nfd, e) < 0)
			return -1;
		if (m->propagation &&
		    mount(NULL, fs_fd_path(nfd).s, NULL, m->propagation, NULL) < 0)
			return berr_sys(e, "set propagation");
	}
	return 0;
}

int mount_one(const rt_launch *l, int rootfd, const spec_mount *m, size_t idx, berr *e)
{
	int r;
	bool cgroup_fs = m->type && (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2"));
	if (cgroup_fs && !m->bind && launch_join_late(l, e) < 0)
		r = -1;
	else if (m->bind)
		r = do_bind(l, rootfd, m, e);
	else if (m->type && !strcmp(m->type, "cgroup"))
		r = do_cgroup(l, rootfd, m, e);
	else if (!m->type)
		r = berr_set(e, EINVAL, "type: required unless the mount is a bind mount");
	else
		r = do_plain(l, rootfd, m, e);
	if (r < 0)
		return berr_ctx(e, "mounts[%zu] (%s)", idx, m->destination);
	return 0;
}
