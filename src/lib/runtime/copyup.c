/* tmpcopyup (runc and crun's mount extension, used by Podman for --read-only
 * tmpfs mounts): the image's content at a tmpfs mount point is copied into
 * the new tmpfs. Works on fds only: the source is the directory as it was
 * before the mount (an fd opened first), the destination the new mount;
 * symlinks are copied as links, never followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, berr *e)
{
	_cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return berr_sys(e, "tmpcopyup: open %s", name);
	_cleanup_close_ int out = openat(
	    ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return berr_sys(e, "tmpcopyup: create %s", name);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "tmpcopyup: read %s", name);
		if (n == 0)
			break;
		if (fs_write_all(out, buf, (size_t)n) < 0)
			return berr_sys(e, "tmpcopyup: write %s", name);
	}
	return 0;
}

/* depth bounds recursion on hostile images */
static int copy_dir(int sdir, int ddir, int depth, berr *e)
{
	if (depth > 64)
		return berr_set(e, ELOOP, "tmpcopyup: directories nested too deep");
	int dup_fd = fcntl(sdir, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return berr_sys(e, "tmpcopyup: dup");
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return berr_sys(e, "tmpcopyup: opendir");
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
			ret = berr_sys(e, "tmpcopyup: stat %s", n);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(ddir, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
				ret = berr_sys(e, "tmpcopyup: mkdir %s", n);
				break;
			}
			_cleanup_close_ int s2 =
			    openat(sdir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int d2 =
			    openat(ddir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				ret = berr_sys(e, "tmpcopyup: open %s", n);
			else
				ret = copy_dir(s2, d2, depth + 1, e);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlinkat(sdir, n, target, sizeof(target) - 1);
			if (len < 0) {
				ret = berr_sys(e, "tmpcopyup: readlink %s", n);
				break;
			}
			target[len] = '\0';
			if (symlinkat(target, ddir, n) < 0)
				ret = berr_sys(e, "tmpcopyup: symlink %s", n);
		} else if (S_ISREG(st.st_mode)) {
			ret = copy_file(sdir, ddir, n, &st, e);
		} else {
			continue; /* devices, fifos, sockets: not copied */
		}
		if (ret == 0 && fchownat(ddir, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno != EPERM)
			ret = berr_sys(e, "tmpcopyup: chown %s", n);
	}
	closedir(d);
	return ret;
}

int mount_copy_up(int src_dirfd, int dst_dirfd, berr *e)
{
	/* the mount point keeps the mode and owner of the directory it covers */
	struct stat st;
	if (fstat(src_dirfd, &st) < 0)
		return berr_sys(e, "tmpcopyup: stat");
	if (fchmod(dst_dirfd, st.st_mode & 07777) < 0)
		return berr_sys(e, "tmpcopyup: chmod");
	if (fchown(dst_dirfd, st.st_uid, st.st_gid) < 0 && errno != EPERM)
		return berr_sys(e, "tmpcopyup: chown");
	return copy_dir(src_dirfd, dst_dirfd, 0, e);
}
