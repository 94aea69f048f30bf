/* Copying a directory tree from one directory fd to another: regular files,
 * directories and symlinks (as links, never followed) with their modes and
 * owners; devices, fifos and sockets are skipped. Used for tmpcopyup mounts
 * and for a new volume's first content (Docker copies the image's files at
 * the mount point into it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, berr *e)
{
	_cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return berr_sys(e, "open %s", name);
	_cleanup_close_ int out = openat(
	    ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return berr_sys(e, "create %s", name);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "read %s", name);
		if (n == 0)
			break;
		if (fs_write_all(out, buf, (size_t)n) < 0)
			return berr_sys(e, "write %s", name);
	}
	return 0;
}

/* depth bounds recursion on hostile images */
static int copy_dir(int sdir, int ddir, int depth, berr *e)
{
	if (depth > 64)
		return berr_set(e, ELOOP, "directories nested too deep");
	int dup_fd = fcntl(sdir, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return berr_sys(e, "dup");
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return berr_sys(e, "opendir");
	}
	rewinddir(d);
	int ret = 0;
	struct dirent *de;
	while (ret == 0 && (de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st;
		if (fstatat(sdir, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = berr_sys(e, "stat %s", n);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(ddir, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
				ret = berr_sys(e, "mkdir %s", n);
				break;
			}
			_cleanup_close_ int s2 =
			    openat(sdir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int d2 =
			    openat(ddir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				ret = berr_sys(e, "open %s", n);
			else
				ret = copy_dir(s2, d2, depth + 1, e);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlinkat(sdir, n, target, sizeof(target) - 1);
			if (len < 0) {
				ret = berr_sys(e, "readlink %s", n);
				break;
			}
			target[len] = '\0';
			if (symlinkat(target, ddir, n) < 0)
				ret = berr_sys(e, "symlink %s", n);
		} else if (S_ISREG(st.st_mode)) {
			ret = copy_file(sdir, ddir, n, &st, e);
		} else {
			continue; /* devices, fifos, sockets: not copied */
		}
		if (ret == 0 && fchownat(ddir, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno != EPERM)
			ret = berr_sys(e, "chown %s", n);
	}
	closedir(d);
	return ret;
}

int fs_copy_tree(int src_dirfd, int dst_dirfd, berr *e)
{
	/* the destination keeps the mode and owner of the directory copied */
	struct stat st;
	if (fstat(src_dirfd, &st) < 0)
		return berr_sys(e, "stat");
	if (fchmod(dst_dirfd, st.st_mode & 07777) < 0)
		return berr_sys(e, "chmod");
	if (fchown(dst_dirfd, st.st_uid, st.st_gid) < 0 && errno != EPERM)
		return berr_sys(e, "chown");
	return copy_dir(src_dirfd, dst_dirfd, 0, e);
}
