/* Redirect-proof access to procfs (see procfs.h). */
#include "lsm/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

#define PROC_ROOT_INO 1
#define PROCFS_RESOLVE                                                                             \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static bool on_procfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/* The fd must be the root directory of a procfs instance. */
static int verify_root(int fd, const char *what, berr *e)
{
	struct statfs sf;
	struct stat st;
	if (fstatfs(fd, &sf) < 0)
		return berr_sys(e, "fstatfs %s", what);
	if (sf.f_type != PROC_SUPER_MAGIC)
		return berr_set(e, EXDEV, "%s is not a procfs (filesystem magic 0x%lx)", what,
				(unsigned long)sf.f_type);
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "fstat %s", what);
	if (st.st_ino != PROC_ROOT_INO || !S_ISDIR(st.st_mode))
		return berr_set(e, EXDEV, "%s is not the root of a procfs", what);
	return 0;
}

static int fresh_procfs(void)
{
	_cleanup_close_ int fs = fsopen("proc", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return fsmount(fs, FSMOUNT_CLOEXEC,
		       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

int procfs_root_at(const char *proc_path, berr *e)
{
	_cleanup_close_ int fd = open(proc_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", proc_path);
	if (verify_root(fd, proc_path, e) < 0)
		return -1;
	/* A non-recursive detached clone has none of the submounts (masked
	 * paths, or an attacker's bind mounts). Without the privilege for it,
	 * keep the fd: RESOLVE_NO_XDEV still refuses to cross onto a mount. */
	int clone = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (clone >= 0) {
		close(fd);
		fd = clone;
		if (verify_root(fd, proc_path, e) < 0)
			return -1;
	}
	return take_fd(&fd);
}

int procfs_root_open(berr *e)
{
	_cleanup_close_ int fd = fresh_procfs();
	if (fd >= 0) {
		if (verify_root(fd, "new procfs instance", e) < 0)
			return -1;
		return take_fd(&fd);
	}
	return procfs_root_at("/proc", e);
}

/* "self" -> "1234", "thread-self" -> "1234/task/1235", read on the trusted
 * root; anything but digits and "/task/" is refused. */
static int resolve_self(int procfd, const char *link, char *out, size_t outsz, berr *e)
{
	ssize_t n = readlinkat(procfd, link, out, outsz - 1);
	if (n < 0)
		return berr_sys(e, "readlink /proc/%s", link);
	out[n] = '\0';
	for (ssize_t i = 0; i < n; i++) {
		if ((out[i] < '0' || out[i] > '9') && strncmp(out + i, "/task/", 6))
			return berr_set(e, EXDEV, "/proc/%s points to unexpected \"%s\"", link,
					out);
		if (out[i] == '/')
			i += 5;
	}
	return n > 0 ? 0 : berr_set(e, EXDEV, "/proc/%s is empty", link);
}

int procfs_openat(int procfd, const char *subpath, int flags, berr *e)
{
	char path[4096], self[64];
	const char *rest = subpath;
	const char *prefix = NULL;
	if (!strncmp(subpath, "self", 4) && (subpath[4] == '/' || !subpath[4])) {
		prefix = "self";
		rest = subpath + 4;
	} else if (!strncmp(subpath, "thread-self", 11) && (subpath[11] == '/' || !subpath[11])) {
		prefix = "thread-self";
		rest = subpath + 11;
	}
	if (prefix) {
		if (resolve_self(procfd, prefix, self, sizeof(self), e) < 0)
			return -1;
		if ((size_t)snprintf(path, sizeof(path), "%s%s", self, rest) >= sizeof(path))
			return berr_set(e, ENAMETOOLONG, "/proc/%s: path too long", subpath);
	} else if ((size_t)snprintf(path, sizeof(path), "%s", subpath) >= sizeof(path)) {
		return berr_set(e, ENAMETOOLONG, "/proc/%s: path too long", subpath);
	}

	struct open_how how = {.flags = (unsigned long)(flags | O_CLOEXEC | O_NOFOLLOW),
			       .resolve = PROCFS_RESOLVE};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, procfd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	if (fd < 0)
		return berr_sys(e, "open /proc/%s", subpath);
	if (!on_procfs(fd)) {
		close(fd);
		return berr_set(e, EXDEV, "open /proc/%s: not on procfs", subpath);
	}
	return fd;
}

int procfs_open(const char *subpath, int flags, berr *e)
{
	_cleanup_close_ int root = procfs_root_open(e);
	if (root < 0)
		return -1;
	return procfs_openat(root, subpath, flags, e);
}

int procfs_write_at(int procfd, const char *subpath, const char *value, berr *e)
{
	_cleanup_close_ int fd = procfs_openat(procfd, subpath, O_WRONLY, e);
	if (fd < 0)
		return -1;
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return berr_sys(e, "write /proc/%s", subpath);
	if ((size_t)n != len)
		return berr_set(e, EIO, "write /proc/%s: short write (%zd of %zu bytes)", subpath,
				n, len);
	return 0;
}

int procfs_write(const char *subpath, const char *value, berr *e)
{
	_cleanup_close_ int root = procfs_root_open(e);
	if (root < 0)
		return -1;
	return procfs_write_at(root, subpath, value, e);
}
