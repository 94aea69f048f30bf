/* The OCI mount of type "cgroup" inside the container. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define PASS_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME | MS_STRICTATIME)

static int sub_dir(int parent, const char *name, berr *e)
{
	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		return berr_sys(e, "cgroup mount: mkdir %s", name);
	int fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "cgroup mount: open %s", name);
	return fd;
}

/* Bind-mounting onto an O_PATH fd's /proc path mounts on the directory; a
 * remount must then name the mount itself, so reopen after mounting. */
static int reopen(int dirfd, const char *name, berr *e)
{
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "cgroup mount: reopen %s", name);
	return fd;
}

static int mount_one(int tfd, const char *name, const char *fstype, const char *opts,
		     const char *bind_src, unsigned long flags, berr *e)
{
	_cleanup_close_ int d = sub_dir(tfd, name, e);
	if (d < 0)
		return -1;
	fs_fdpath p = fs_fd_path(d);
	if (bind_src) {
		if (mount(bind_src, p.s, NULL, MS_BIND, NULL) < 0)
			return berr_sys(e, "cgroup mount: bind %s on %s", bind_src, name);
		if (flags & MS_RDONLY) {
			_cleanup_close_ int m = reopen(tfd, name, e);
			if (m < 0)
				return -1;
			fs_fdpath mp = fs_fd_path(m);
			if (mount(NULL, mp.s, NULL,
				  MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & PASS_FLAGS),
				  NULL) < 0)
				return berr_sys(e, "cgroup mount: remount %s read-only", name);
		}
		return 0;
	}
	if (mount("cgroup", p.s, fstype, (flags & (PASS_FLAGS | MS_RDONLY)), opts) < 0)
		return berr_sys(e, "cgroup mount: mount %s -o %s on %s", fstype, opts ? opts : "",
				name);
	return 0;
}

int cgroup_mount_setup(const cgroup *cg, int rootfd, const char *dest, unsigned long flags,
		       bool own_cgroupns, berr *e)
{
	flags |= MS_NOSUID | MS_NODEV | MS_NOEXEC;
	_cleanup_close_ int dfd = fs_mkdir_in_root(rootfd, dest, 0755, e);
	if (dfd < 0)
		return berr_ctx(e, "cgroup mount %s", dest);
	fs_fdpath dp = fs_fd_path(dfd);
	if (cg->mode == CGROUP_V2) {
		if (own_cgroupns) {
			if (mount("cgroup2", dp.s, "cgroup2", flags & (PASS_FLAGS | MS_RDONLY),
				  NULL) < 0)
				return berr_sys(e, "cgroup mount %s: mount cgroup2", dest);
			return 0;
		}
		if (mount(cg->v2, dp.s, NULL, MS_BIND, NULL) < 0)
			return berr_sys(e, "cgroup mount %s: bind %s", dest, cg->v2);
		if (flags & MS_RDONLY) {
			_cleanup_close_ int m =
			    fs_open_in_root(rootfd, dest, O_PATH | O_DIRECTORY, 0, e);
			if (m < 0)
				return -1;
			fs_fdpath mp = fs_fd_path(m);
			if (mount(NULL, mp.s, NULL,
				  MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & PASS_FLAGS),
				  NULL) < 0)
				return berr_sys(e, "cgroup mount %s: remount read-only", dest);
		}
		return 0;
	}
	if (mount("tmpfs", dp.s, "tmpfs", flags & PASS_FLAGS, "mode=755") < 0)
		return berr_sys(e, "cgroup mount %s: mount tmpfs", dest);
	/* dfd names the directory under the tmpfs: work in the tmpfs. */
	_cleanup_close_ int tfd = fs_open_in_root(rootfd, dest, O_RDONLY | O_DIRECTORY, 0, e);
	if (tfd < 0)
		return berr_ctx(e, "cgroup mount %s", dest);
	for (size_t i = 0; i < cg->n_v1; i++) {
		const cgroup_dir *d = &cg->v1[i];
		_cleanup_free_ char *opts =
		    d->ctrl == CG_NAMED ? xasprintf("none,name=%s", d->name) : xstrdup(d->name);
		if (mount_one(tfd, d->name, "cgroup", opts, own_cgroupns ? NULL : d->path, flags,
			      e) < 0)
			return berr_ctx(e, "cgroup mount %s", dest);
		/* cpu,cpuacct: also reachable as cpu and cpuacct. */
		if (strchr(d->name, ',')) {
			_cleanup_free_ char *names = xstrdup(d->name);
			char *save = NULL;
			for (char *c = strtok_r(names, ",", &save); c;
			     c = strtok_r(NULL, ",", &save))
				if (symlinkat(d->name, tfd, c) < 0 && errno != EEXIST)
					return berr_sys(e, "cgroup mount %s: symlink %s", dest, c);
		}
	}
	if (cg->mode == CGROUP_HYBRID && cg->v2 &&
	    mount_one(tfd, "unified", "cgroup2", NULL, own_cgroupns ? NULL : cg->v2, flags, e) < 0)
		return berr_ctx(e, "cgroup mount %s", dest);
	if (flags & MS_RDONLY) {
		fs_fdpath tp = fs_fd_path(tfd);
		if (mount(NULL, tp.s, NULL, MS_REMOUNT | MS_RDONLY | (flags & PASS_FLAGS),
			  "mode=755") < 0)
			return berr_sys(e, "cgroup mount %s: remount tmpfs read-only", dest);
	}
	return 0;
}
