/* The container's root: propagation, the bind of the rootfs onto itself,
 * the config's mounts and devices, pivot_root, and what follows it
 * (read-only root, masked and read-only paths, sysctls). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/sysctl.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* The container's root is a directory of the runtime's own mount table: no
 * mount at all (create refused the fields that would need one), only the
 * working directory as runc makes it; sysctls while /proc is still the
 * host's, which shows the container's namespaces to their member. */
static int prepare_shared_mntns(const rt_launch *l, int *rootfd_out, berr *e)
{
	const spec *s = l->s;
	_cleanup_close_ int rootfd = open(l->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berr_sys(e, "root.path: open %s", l->rootfs);
	if (s->has_process && s->process.cwd) {
		int cfd = fs_mkdir_in_root(rootfd, s->process.cwd, 0755, e);
		if (cfd < 0)
			return berr_ctx(e, "process.cwd");
		close(cfd);
	}
	if (sysctl_apply(s, e) < 0)
		return -1;
	*rootfd_out = take_fd(&rootfd);
	return 0;
}

static bool own_mntns(const spec *s)
{
	return s->linux_.ns[NS_MNT].present;
}

int rootfs_prepare(const rt_launch *l, int *rootfd_out, berr *e)
{
	const spec *s = l->s;
	if (!own_mntns(s))
		return prepare_shared_mntns(l, rootfd_out, e);
	/* Cut propagation to the host first, always recursively, whatever
	 * rootfsPropagation says: a shared (or, non-recursive, a shared
	 * submount's) peer would copy the binds below onto the host. Private
	 * and unbindable start private; the rest start as runc's default,
	 * rslave. The configured value goes on the new / after pivot_root
	 * (rootfs_finish), as runc applies it. */
	unsigned long prop = s->linux_.rootfs_propagation;
	unsigned long first =
	    (prop & (MS_PRIVATE | MS_UNBINDABLE)) ? (MS_PRIVATE | MS_REC) : (MS_SLAVE | MS_REC);
	if (mount(NULL, "/", NULL, first, NULL) < 0)
		return berr_sys(e, "make / %s", (first & MS_PRIVATE) ? "rprivate" : "rslave");
	/* Not made private after: / is now nowhere shared (pivot_root's
	 * condition), and the root stays a slave of the host's mount under
	 * rslave and slave. */
	if (mount(l->rootfs, l->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berr_sys(e, "root.path: bind %s", l->rootfs);
	int rootfd = open(l->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berr_sys(e, "root.path: open %s", l->rootfs);
	for (size_t i = 0; i < s->n_mounts; i++) {
		if (mount_one(l, rootfd, &s->mounts[i], i, e) < 0) {
			close(rootfd);
			return -1;
		}
	}
	if (devices_create(l, rootfd, e) < 0) {
		close(rootfd);
		return -1;
	}
	/* runc creates a missing working directory */
	if (s->has_process && s->process.cwd) {
		int cfd = fs_mkdir_in_root(rootfd, s->process.cwd, 0755, e);
		if (cfd < 0) {
			close(rootfd);
			return berr_ctx(e, "process.cwd");
		}
		close(cfd);
	}
	*rootfd_out = rootfd;
	return 0;
}

int rootfs_pivot(const rt_launch *l, berr *e)
{
	if (chdir(l->rootfs) < 0)
		return berr_sys(e, "chdir %s", l->rootfs);
	/* As runc and crun: no mount namespace of its own, a chroot. */
	if (!own_mntns(l->s)) {
		if (chroot(".") < 0)
			return berr_sys(e, "root.path: chroot %s", l->rootfs);
		return chdir("/") < 0 ? berr_sys(e, "chdir /") : 0;
	}
	if (l->no_pivot) {
		if (mount(l->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return berr_sys(e, "move %s to /", l->rootfs);
		if (chroot(".") < 0)
			return berr_sys(e, "chroot");
		return chdir("/") < 0 ? berr_sys(e, "chdir /") : 0;
	}
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		return berr_sys(e, "open /");
	/* pivot_root(".", "."): the old root is stacked under the new one and
	 * detached right away; no directory for it is needed in the image. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return berr_sys(e, "pivot_root");
	if (fchdir(oldroot) < 0)
		return berr_sys(e, "fchdir to old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return berr_sys(e, "make old root slave");
	if (umount2(".", MNT_DETACH) < 0)
		return berr_sys(e, "detach old root");
	if (chdir("/") < 0)
		return berr_sys(e, "chdir /");
	return 0;
}

/* The container's /dev/null, opened without following symlinks and checked
 * to be the null device, so a symlink or another node planted there cannot
 * redirect masking (CVE-2025-31133). */
static int open_devnull(int rootfd, berr *e)
{
	int fd = fs_open_in_root(rootfd, "/dev/null", O_PATH | O_NOFOLLOW, 0, e);
	if (fd < 0)
		return berr_ctx(e, "masking needs /dev/null");
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		return berr_set(e, EPERM, "/dev/null is not the null device");
	}
	return fd;
}

static int mask_path(int rootfd, int *devnull, const char *path, berr *e)
{
	_cleanup_close_ int fd = fs_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0, e);
	if (fd < 0)
		return e->errnum == ENOENT ? 0 : -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "stat %s", path);
	if (S_ISDIR(st.st_mode))
		return mount_mask_dir(fd, e) < 0 ? berr_ctx(e, "mask %s", path) : 0;
	if (S_ISLNK(st.st_mode))
		return 0; /* a symlink points elsewhere; masking it would follow it */
	if (*devnull < 0 && (*devnull = open_devnull(rootfd, e)) < 0)
		return -1;
	if (mount_bind_fd(*devnull, fd, false, e) < 0)
		return berr_ctx(e, "mask %s", path);
	return 0;
}

static int readonly_path(int rootfd, const char *path, berr *e)
{
	_cleanup_close_ int fd = fs_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0, e);
	if (fd < 0)
		return e->errnum == ENOENT ? 0 : -1;
	if (mount_bind_fd(fd, fd, true, e) < 0)
		return berr_ctx(e, "%s", path);
	_cleanup_close_ int nfd = fs_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0, e);
	if (nfd < 0)
		return -1;
	if (mount_remount_bind(nfd, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, e) < 0)
		return berr_ctx(e, "%s", path);
	return 0;
}

int rootfs_finish(const rt_launch *l, berr *e)
{
	const spec *s = l->s;
	if (!own_mntns(s))
		return 0;
	_cleanup_close_ int devnull = -1;
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berr_sys(e, "open /");
	/* runc's order: sysctls, then read-only and masked paths (which may
	 * cover /proc/sys) */
	if (sysctl_apply(s, e) < 0)
		return -1;
	for (size_t i = 0; s->linux_.readonly_paths && s->linux_.readonly_paths[i]; i++)
		if (readonly_path(rootfd, s->linux_.readonly_paths[i], e) < 0)
			return berr_ctx(e, "linux.readonlyPaths[%zu]", i);
	for (size_t i = 0; s->linux_.masked_paths && s->linux_.masked_paths[i]; i++)
		if (mask_path(rootfd, &devnull, s->linux_.masked_paths[i], e) < 0)
			return berr_ctx(e, "linux.maskedPaths[%zu]", i);
	if (s->root_readonly && mount_remount_bind(rootfd, MS_RDONLY, e) < 0)
		return berr_ctx(e, "root.readonly");
	/* Last: the binds above (read-only paths, /dev/null over masked
	 * files) are refused from an unbindable mount. */
	if (s->linux_.rootfs_propagation &&
	    mount(NULL, "/", NULL, s->linux_.rootfs_propagation, NULL) < 0)
		return berr_sys(e, "linux.rootfsPropagation");
	return 0;
}
