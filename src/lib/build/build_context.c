/* The build context: the directory (or a tar on stdin) copied into the
 * build's temp dir without what .dockerignore / .containerignore exclude,
 * so COPY and ADD see exactly the files Docker would send to its daemon
 * (and resolve their sources inside that copy only). Also ADD's check for
 * a local tar. Trees are walked with ld_walk (no symlink followed); tar
 * entries are written with in-root resolution (fs.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_priv.h"
#include "build/ignore.h"
#include "image/layerdiff.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

typedef struct fcopy {
	const ignore_matcher *m;
	int root; /* the destination */
	char *buf;
} fcopy;

static int copy_data(int in, int out, char *buf, berr *e)
{
	for (;;) {
		ssize_t n = read(in, buf, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "read");
		if (n == 0)
			return 0;
		if (fs_write_all(out, buf, (size_t)n) < 0)
			return berr_sys(e, "write");
	}
}

static int fcopy_visit(void *ctx, const ld_node *n, bool *skip, berr *e)
{
	fcopy *c = ctx;
	int parent = n->parent_data ? *(int *)n->parent_data : c->root;
	bool dir = S_ISDIR(n->st->st_mode);
	bool excluded = ignore_match(c->m, n->path, dir);
	mode_t mode = n->st->st_mode & 07777;
	if (dir) {
		if (excluded && !ignore_may_include_below(c->m, n->path)) {
			*skip = true;
			return 0;
		}
		if (mkdirat(parent, n->name, 0700) < 0)
			return berr_sys(e, "mkdir %s", n->path);
		int fd = openat(parent, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return berr_sys(e, "open %s", n->path);
		if (fchmod(fd, mode) < 0) {
			close(fd);
			return berr_sys(e, "chmod %s", n->path);
		}
		int *p = xmalloc(sizeof(int));
		*p = fd;
		*n->child_data = p;
		return 0;
	}
	if (excluded)
		return 0;
	if (S_ISLNK(n->st->st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlinkat(n->dirfd, n->name, target, sizeof(target) - 1);
		if (len < 0)
			return berr_sys(e, "readlink %s", n->path);
		target[len] = '\0';
		if (symlinkat(target, parent, n->name) < 0)
			return berr_sys(e, "symlink %s", n->path);
		return 0;
	}
	if (!S_ISREG(n->st->st_mode))
		return 0; /* devices, fifos, sockets: not sent, as Docker */
	int out =
	    openat(parent, n->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return berr_sys(e, "create %s", n->path);
	int r = copy_data(n->fd, out, c->buf, e);
	struct timespec ts[2] = {n->st->st_atim, n->st->st_mtim};
	if (r == 0 && (fchmod(out, mode) < 0 || futimens(out, ts) < 0))
		r = berr_sys(e, "set the mode of %s", n->path);
	close(out);
	return r < 0 ? berr_ctx(e, "%s", n->path) : 0;
}

static void fcopy_free(void *ctx, void *data)
{
	(void)ctx;
	close(*(int *)data);
	free(data);
}

int bctx_filter_copy(int src, const ignore_matcher *m, int dst, berr *e)
{
	fcopy c = {.m = m, .root = dst, .buf = xmalloc(65536)};
	ld_visitor v = {.visit = fcopy_visit, .free_data = fcopy_free, .ctx = &c};
	int r = ld_walk(src, LD_WALK_OPEN_FILES, &v, e);
	free(c.buf);
	return r;
}

bool bctx_is_tar(int fd)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	struct archive_entry *ent;
	bool tar = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK &&
		   archive_read_next_header(a, &ent) == ARCHIVE_OK;
	archive_read_free(a);
	lseek(fd, 0, SEEK_SET);
	return tar;
}

/* An entry's name made relative and checked: no `..` component. */
static int entry_path(const char *name, char **out, berr *e)
{
	while (*name == '/')
		name++;
	_cleanup_free_ char *p = xstrdup(name);
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		p[--n] = '\0';
	for (char *c = p; c && *c;) {
		char *sl = strchr(c, '/');
		size_t len = sl ? (size_t)(sl - c) : strlen(c);
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return berr_set(e, EINVAL, "tar entry %s: a path outside the directory",
					name);
		c = sl ? sl + 1 : NULL;
	}
	*out = take_ptr(p);
	return 0;
}

/* The entry's parent made in the root, as a directory fd; *base its name. */
static int parent_dir(int root, const char *path, char base[256], berr *e)
{
	_cleanup_close_ int p = fs_parent_in_root(root, path, base, 256, true, e);
	if (p < 0)
		return -1;
	int d = openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return d < 0 ? berr_sys(e, "open the parent of %s", path) : d;
}

static int write_entry(struct archive *a, struct archive_entry *ent, int root, const char *path,
		       unsigned long long *total, unsigned long long max, berr *e)
{
	mode_t type = archive_entry_filetype(ent);
	mode_t mode = archive_entry_perm(ent) & 07777;
	if (type == AE_IFDIR) {
		int fd = fs_mkdir_in_root(root, path, 0755, e);
		if (fd < 0)
			return -1;
		int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if (d < 0 || fchmod(d, mode | S_IRWXU) < 0) {
			if (d >= 0)
				close(d);
			return berr_sys(e, "mkdir %s", path);
		}
		close(d);
		return 0;
	}
	char base[256];
	_cleanup_close_ int dir = parent_dir(root, path, base, e);
	if (dir < 0)
		return -1;
	if (unlinkat(dir, base, 0) < 0 && errno != ENOENT && errno != EISDIR)
		return berr_sys(e, "replace %s", path);
	const char *hl = archive_entry_hardlink(ent);
	if (hl) {
		_cleanup_free_ char *hp = NULL;
		if (entry_path(hl, &hp, e) < 0)
			return -1;
		_cleanup_close_ int src = fs_open_in_root(root, hp, O_PATH | O_NOFOLLOW, 0, e);
		if (src < 0)
			return -1;
		if (linkat(src, "", dir, base, AT_EMPTY_PATH) < 0)
			return berr_sys(e, "link %s", path);
		return 0;
	}
	if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(ent);
		if (symlinkat(t ? t : "", dir, base) < 0)
			return berr_sys(e, "symlink %s", path);
		return 0;
	}
	if (type != AE_IFREG)
		return 0; /* devices and fifos: skipped */
	int out = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return berr_sys(e, "create %s", path);
	const void *buf;
	size_t len;
	la_int64_t off;
	int r, ret = 0;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		*total += len;
		if (max && *total > max) {
			ret = berr_set(e, EFBIG, "more than %llu bytes", max);
			break;
		}
		if (pwrite(out, buf, len, (off_t)off) != (ssize_t)len) {
			ret = berr_sys(e, "write %s", path);
			break;
		}
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = berr_set(e, EIO, "read %s: %s", path, archive_error_string(a));
	struct timespec ts[2] = {{.tv_sec = archive_entry_mtime(ent)},
				 {.tv_sec = archive_entry_mtime(ent)}};
	if (ret == 0 && (fchmod(out, mode) < 0 || futimens(out, ts) < 0))
		ret = berr_sys(e, "chmod %s", path);
	close(out);
	return ret;
}

int build_context_untar(int in_fd, int dirfd, unsigned long long max_bytes, berr *e)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	int ret = 0;
	unsigned long long total = 0;
	if (archive_read_open_fd(a, in_fd, 65536) != ARCHIVE_OK) {
		ret = berr_set(e, EINVAL, "not a tar: %s", archive_error_string(a));
		goto out;
	}
	struct archive_entry *ent;
	int r;
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		_cleanup_free_ char *path = NULL;
		const char *name = archive_entry_pathname(ent);
		if (entry_path(name ? name : "", &path, e) < 0) {
			ret = -1;
			break;
		}
		if (!*path || !strcmp(path, "."))
			continue;
		if (write_entry(a, ent, dirfd, path, &total, max_bytes, e) < 0) {
			ret = berr_ctx(e, "%s", path);
			break;
		}
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = berr_set(e, EIO, "read the tar: %s", archive_error_string(a));
out:
	archive_read_free(a);
	return ret;
}

static int null_sink(void *ctx, const void *buf, size_t len, berr *e)
{
	(void)ctx, (void)buf, (void)len, (void)e;
	return 0;
}

int bx_tree_digest(int dirfd, dg_str *d, berr *e)
{
	ld_tar_opts t = {.layer = true, .clamp = true, .epoch = 0};
	ld_sink sink = {.write = null_sink};
	ld_tar_result tr;
	if (ld_tar(dirfd, &t, &sink, &tr, e) < 0)
		return -1;
	*d = tr.diff_id;
	return 0;
}
