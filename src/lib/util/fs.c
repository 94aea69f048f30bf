#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

static int sys_openat2(int dirfd, const char *path, int flags, mode_t mode, unsigned long resolve)
{
	struct open_how how = {
	    .flags = (unsigned long)(flags | O_CLOEXEC),
	    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
	    .resolve = resolve,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	return fd;
}

int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode, berr *e)
{
	int fd = sys_openat2(rootfd, path, flags, mode, RESOLVE_FLAGS);
	if (fd < 0)
		return berr_sys(e, "open %s in root", path);
	return fd;
}

fs_fdpath fs_fd_path(int fd)
{
	fs_fdpath p;
	snprintf(p.s, sizeof(p.s), "/proc/self/fd/%d", fd);
	return p;
}

int fs_mkdir_in_root(int rootfd, const char *path, mode_t mode, berr *e)
{
	_cleanup_free_ char *buf = xstrdup(path);
	_cleanup_close_ int cur = sys_openat2(rootfd, "/", O_PATH | O_DIRECTORY, 0, RESOLVE_FLAGS);
	if (cur < 0)
		return berr_sys(e, "open root");
	/* Walk component by component; each prefix is resolved from the root
	 * again, so a symlink planted mid-way still resolves inside it. */
	size_t len = strlen(buf);
	for (size_t i = 0; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		size_t start = i;
		while (start > 0 && buf[start - 1] != '/')
			start--;
		if (start == i)
			continue; /* empty component */
		char saved = buf[i];
		buf[i] = '\0';
		const char *comp = buf + start;
		int fd = sys_openat2(rootfd, buf, O_PATH | O_DIRECTORY, 0, RESOLVE_FLAGS);
		if (fd < 0 && errno == ENOENT && strcmp(comp, "..") && strcmp(comp, ".")) {
			if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
				return berr_sys(e, "mkdir %s in root", buf);
			fd = sys_openat2(rootfd, buf, O_PATH | O_DIRECTORY, 0, RESOLVE_FLAGS);
		}
		if (fd < 0)
			return berr_sys(e, "open directory %s in root", buf);
		close(cur);
		cur = fd;
		buf[i] = saved;
	}
	return take_fd(&cur);
}

int fs_parent_in_root(int rootfd, const char *path, char *name, size_t namesz, bool create, berr *e)
{
	_cleanup_free_ char *dir = xstrdup(path);
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : dir;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return berr_set(e, EINVAL, "%s: not a path to a file", path);
	if (strlen(base) >= namesz)
		return berr_set(e, ENAMETOOLONG, "%s: name too long", path);
	strcpy(name, base);
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, "/");
	if (create)
		return fs_mkdir_in_root(rootfd, dir, 0755, e);
	return fs_open_in_root(rootfd, dir, O_PATH | O_DIRECTORY, 0, e);
}

int fs_mkfile_in_root(int rootfd, const char *path, mode_t mode, berr *e)
{
	int fd = sys_openat2(rootfd, path, O_PATH, 0, RESOLVE_FLAGS);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return berr_sys(e, "open %s in root", path);
	char name[256];
	_cleanup_close_ int parent = fs_parent_in_root(rootfd, path, name, sizeof(name), true, e);
	if (parent < 0)
		return -1;
	/* O_PATH parents cannot be used to create files; reopen as a directory. */
	_cleanup_close_ int dirfd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return berr_sys(e, "open parent of %s", path);
	int f = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
	if (f < 0 && errno != EEXIST)
		return berr_sys(e, "create %s in root", path);
	if (f >= 0)
		close(f);
	return fs_open_in_root(rootfd, path, O_PATH, 0, e);
}

int fs_read_fd(int fd, char **out, size_t *len, berr *e)
{
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return berr_sys(e, "read");
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int fs_read_file_at(int dirfd, const char *path, char **out, size_t *len, berr *e)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", path);
	if (fs_read_fd(fd, out, len, e) < 0)
		return berr_ctx(e, "%s", path);
	return 0;
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t fs_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int fs_write_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
		       bool durable, berr *e)
{
	char tmp[512];
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, (int)getpid()) >= (int)sizeof(tmp))
		return berr_set(e, ENAMETOOLONG, "%s: name too long", name);
	_cleanup_close_ int fd =
	    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return berr_sys(e, "create %s", tmp);
	if (fs_write_all(fd, buf, len) < 0 || (durable && fsync(fd) < 0)) {
		berr_sys(e, "write %s", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		berr_sys(e, "rename %s to %s", tmp, name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (durable && fsync(dirfd) < 0 && errno != EINVAL && errno != EBADF)
		return berr_sys(e, "fsync directory of %s", name);
	return 0;
}

int fs_write_atomic(const char *path, const void *buf, size_t len, mode_t mode, bool durable,
		    berr *e)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return fs_write_atomic_at(AT_FDCWD, path, buf, len, mode, durable, e);
	_cleanup_free_ char *dir =
	    slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "open directory %s", dir);
	if (fs_write_atomic_at(dfd, slash + 1, buf, len, mode, durable, e) < 0)
		return berr_ctx(e, "%s", path);
	return 0;
}

int fs_write_str_at(int dirfd, const char *path, const char *s, berr *e)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berr_sys(e, "open %s", path);
	size_t len = strlen(s);
	ssize_t w;
	do
		w = write(fd, s, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return berr_sys(e, "write %s to %s", s, path);
	return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, berr *e)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return berr_sys(e, "mkdir %s", p);
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

char **fs_list_at(int at, const char *name, berr *e)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		berr_sys(e, "open %s", name);
		return NULL;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		berr_sys(e, "fdopendir %s", name);
		return NULL;
	}
	strv_builder v = strvb_from(xzalloc(sizeof(char *)));
	struct dirent *de;
	for (;;) {
		errno = 0;
		if (!(de = readdir(d)))
			break;
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvb_push(&v, de->d_name);
	}
	int err = errno;
	closedir(d);
	char **names = strvb_take(&v);
	if (err) {
		strv_free(names);
		errno = err;
		berr_sys(e, "read directory %s", name);
		return NULL;
	}
	return names;
}

static bool kept(const int *keep, size_t n, long fd)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

void fs_close_all_but(const int *keep, size_t n)
{
	/* ascending, the negatives and stdio out: a handful at most */
	int k[16];
	size_t m = 0;
	for (size_t i = 0; i < n && m < ARRAY_SIZE(k); i++) {
		if (keep[i] < 3)
			continue;
		size_t j = m++;
		for (; j > 0 && k[j - 1] > keep[i]; j--)
			k[j] = k[j - 1];
		k[j] = keep[i];
	}
	unsigned lo = 3;
	bool ok = true;
	for (size_t i = 0; i < m && ok; i++) {
		if ((unsigned)k[i] > lo)
			ok = syscall(SYS_close_range, lo, (unsigned)k[i] - 1, 0U) == 0;
		lo = (unsigned)k[i] + 1;
	}
	if (ok && syscall(SYS_close_range, lo, ~0U, 0U) == 0)
		return;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *de;
	/* closing while listing: what was read is not revisited */
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd < 3 || fd == self || kept(keep, n, fd))
			continue;
		close((int)fd);
	}
	closedir(d);
}
