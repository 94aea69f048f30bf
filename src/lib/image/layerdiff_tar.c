/* ld_tar: a tree (an upper directory as an OCI layer, or a whole root
 * filesystem) as a pax tar, hashed while it is written.
 *
 * Two libarchive writers in a row: the tar writer's output is hashed (the
 * diffID) and, compressed, goes through a raw writer with the gzip or zstd
 * filter whose output is hashed again (the blob digest) and handed to the
 * sink. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/layerdiff.h"
#include "util/xalloc.h"

#define BUF_SIZE  (1 << 16)
#define XATTR_MAX (64 << 10)
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

typedef struct link_ent {
	dev_t dev;
	ino_t ino;
	char *path; /* 0: empty slot */
} link_ent;

typedef struct tctx {
	const ld_tar_opts *o;
	const ld_sink *sink;
	struct archive *tar, *z; /* z: the compressor (NULL without compression) */
	dg_hasher *raw, *out;
	unsigned long long raw_n, out_n;
	berr *e;
	bool failed; /* e set by a callback */
	link_ent *links;
	size_t nlinks, cap;
	char *buf;
	char *names; /* XATTR_MAX: an xattr name list */
} tctx;

int ld_sink_fd(void *ctx, const void *buf, size_t len, berr *e)
{
	int fd = *(int *)ctx;
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "write");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int to_sink(tctx *t, const void *buf, size_t n)
{
	if (t->failed)
		return -1;
	dg_update(t->out, buf, n);
	t->out_n += n;
	if (t->sink->write(t->sink->ctx, buf, n, t->e) < 0) {
		t->failed = true;
		return -1;
	}
	return 0;
}

static la_ssize_t z_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	tctx *t = ctx;
	if (to_sink(t, buf, n) < 0) {
		archive_set_error(a, EIO, "%s", t->e->msg);
		return -1;
	}
	return (la_ssize_t)n;
}

static la_ssize_t tar_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	tctx *t = ctx;
	dg_update(t->raw, buf, n);
	t->raw_n += n;
	int r = 0;
	if (!t->z) {
		r = to_sink(t, buf, n);
	} else if (archive_write_data(t->z, buf, n) != (la_ssize_t)n) {
		if (!t->failed) {
			berr_set(t->e, EIO, "compress: %s", archive_error_string(t->z));
			t->failed = true;
		}
		r = -1;
	}
	if (r < 0) {
		archive_set_error(a, EIO, "%s", t->e->msg);
		return -1;
	}
	return (la_ssize_t)n;
}

static size_t link_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static link_ent *link_slot(tctx *t, dev_t dev, ino_t ino)
{
	size_t i = link_hash(dev, ino, t->cap);
	while (t->links[i].path && (t->links[i].dev != dev || t->links[i].ino != ino))
		i = (i + 1) & (t->cap - 1);
	return &t->links[i];
}

/* The first path seen for a file with several names, or NULL (then this
 * one is remembered). */
static const char *link_first(tctx *t, const struct stat *st, const char *path)
{
	if (t->nlinks * 2 >= t->cap) {
		size_t ocap = t->cap;
		link_ent *old = t->links;
		t->cap = ocap ? ocap * 2 : 64;
		t->links = xzalloc(t->cap * sizeof(link_ent));
		for (size_t i = 0; i < ocap; i++)
			if (old[i].path)
				*link_slot(t, old[i].dev, old[i].ino) = old[i];
		free(old);
	}
	link_ent *s = link_slot(t, st->st_dev, st->st_ino);
	if (s->path)
		return s->path;
	*s = (link_ent){.dev = st->st_dev, .ino = st->st_ino, .path = xstrdup(path)};
	t->nlinks++;
	return NULL;
}

static bool xattr_kept(const char *name)
{
	return strncmp(name, "trusted.", 8) && strncmp(name, "user.overlay.", 13) &&
	       strncmp(name, "user.fuseoverlayfs.", 19);
}

static int add_xattrs(tctx *t, struct archive_entry *ent, int fd, const char *path)
{
	char *list = t->names;
	ssize_t n = flistxattr(fd, list, XATTR_MAX);
	if (n < 0) {
		if (errno == ENOTSUP)
			return 0;
		return berr_sys(t->e, "list xattrs of %s", path);
	}
	for (char *k = list; k < list + n; k += strlen(k) + 1) {
		if (!xattr_kept(k))
			continue;
		ssize_t v = fgetxattr(fd, k, t->buf, BUF_SIZE);
		if (v < 0) {
			if (errno == ENODATA)
				continue;
			return berr_sys(t->e, "read xattr %s of %s", k, path);
		}
		archive_entry_xattr_add_entry(ent, k, t->buf, (size_t)v);
	}
	return 0;
}

static int header(tctx *t, struct archive_entry *ent, const char *path)
{
	if (archive_write_header(t->tar, ent) != ARCHIVE_OK) {
		if (!t->failed)
			berr_set(t->e, EIO, "tar %s: %s", path, archive_error_string(t->tar));
		return -1;
	}
	return 0;
}

static int copy_data(tctx *t, int fd, long long size, const char *path)
{
	long long left = size;
	while (left > 0) {
		size_t want = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
		ssize_t n = read(fd, t->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(t->e, "read %s", path);
		if (n == 0)
			break; /* shrank while read: the rest is zeros (the header is out) */
		if (archive_write_data(t->tar, t->buf, (size_t)n) != n) {
			if (!t->failed)
				berr_set(t->e, EIO, "tar %s: %s", path,
					 archive_error_string(t->tar));
			return -1;
		}
		left -= n;
	}
	return 0;
}

/* A host id as the container sees it (no map: as is). */
static unsigned long map_id(const ld_idmap *m, size_t n, unsigned long id)
{
	if (!n)
		return id;
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].host && id - m[i].host < m[i].size)
			return m[i].container + (id - m[i].host);
	return 65534;
}

static void set_owner(tctx *t, struct archive_entry *ent, const struct stat *st)
{
	archive_entry_set_uid(ent, (la_int64_t)map_id(t->o->uids, t->o->n_uids, st->st_uid));
	archive_entry_set_gid(ent, (la_int64_t)map_id(t->o->gids, t->o->n_gids, st->st_gid));
}

/* An empty regular file entry (whiteouts). */
static int marker(tctx *t, const char *path, const struct stat *st, time_t mtime)
{
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, path);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0);
	set_owner(t, ent, st);
	archive_entry_set_mtime(ent, mtime, 0);
	archive_entry_set_size(ent, 0);
	int r = header(t, ent, path);
	archive_entry_free(ent);
	return r;
}

static char *sibling(const ld_node *n, const char *prefix, const char *name)
{
	size_t plen = (size_t)(n->name - n->path);
	return xasprintf("%.*s%s%s", (int)plen, n->path, prefix, name);
}

static int visit(void *ctx, const ld_node *n, bool *skip, berr *e)
{
	tctx *t = ctx;
	const struct stat *st = n->st;
	(void)e;
	time_t mtime = st->st_mtim.tv_sec;
	if (t->o->clamp && mtime > t->o->epoch)
		mtime = (time_t)t->o->epoch;
	if (S_ISSOCK(st->st_mode) || ld_is_stub(n, t->o->stubs))
		return 0;
	/* /etc copied up only to hold the mount points: not a change (as `diff` says) */
	if (S_ISDIR(st->st_mode) && !n->opaque && ld_only_stubs(n, t->o->stubs))
		return 0;
	if (t->o->layer && n->whiteout) {
		char *p = sibling(n, WH_PREFIX, n->name);
		int r = marker(t, p, st, mtime);
		free(p);
		return r;
	}
	struct archive_entry *ent = archive_entry_new();
	int ret = -1;
	char *dirpath = NULL;
	archive_entry_set_pathname(ent, n->path);
	archive_entry_set_mode(ent, st->st_mode);
	set_owner(t, ent, st);
	archive_entry_set_mtime(ent, mtime, 0);
	const char *first = NULL;
	if (S_ISREG(st->st_mode) && st->st_nlink > 1)
		first = link_first(t, st, n->path);
	if (first) {
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_hardlink(ent, first);
		archive_entry_set_size(ent, 0);
	} else if (S_ISREG(st->st_mode)) {
		archive_entry_set_size(ent, st->st_size);
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t l = readlinkat(n->dirfd, n->name, t->buf, BUF_SIZE - 1);
		if (l < 0) {
			berr_sys(t->e, "readlink %s", n->path);
			goto out;
		}
		t->buf[l] = 0;
		archive_entry_set_symlink(ent, t->buf);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdev(ent, st->st_rdev);
	} else if (S_ISDIR(st->st_mode)) {
		dirpath = xasprintf("%s/", n->path);
		archive_entry_set_pathname(ent, dirpath);
	}
	if (n->fd >= 0 && !first && add_xattrs(t, ent, n->fd, n->path) < 0)
		goto out;
	if (header(t, ent, n->path) < 0)
		goto out;
	if (S_ISREG(st->st_mode) && !first && copy_data(t, n->fd, st->st_size, n->path) < 0)
		goto out;
	if (S_ISDIR(st->st_mode) && t->o->layer && n->opaque) {
		char *p = xasprintf("%s/" WH_OPAQUE, n->path);
		int r = marker(t, p, st, mtime);
		free(p);
		if (r < 0)
			goto out;
	}
	ret = 0;
out:
	free(dirpath);
	archive_entry_free(ent);
	(void)skip;
	return ret;
}

static int open_z(tctx *t, berr *e)
{
	if (!t->o->compression)
		return 0;
	t->z = archive_write_new();
	archive_write_set_format_raw(t->z);
	int r = t->o->compression == 2 ? archive_write_add_filter_zstd(t->z)
				       : archive_write_add_filter_gzip(t->z);
	if (r != ARCHIVE_OK)
		return berr_set(e, ENOTSUP, "compression: %s", archive_error_string(t->z));
	if (t->o->compression == 1)
		archive_write_set_filter_option(t->z, "gzip", "timestamp", NULL);
	archive_write_set_bytes_in_last_block(t->z, 1);
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, "layer.tar");
	archive_entry_set_filetype(ent, AE_IFREG);
	r = archive_write_open(t->z, t, NULL, z_cb, NULL);
	if (r == ARCHIVE_OK)
		r = archive_write_header(t->z, ent);
	archive_entry_free(ent);
	if (r != ARCHIVE_OK && !t->failed)
		berr_set(e, EIO, "compress: %s", archive_error_string(t->z));
	return r == ARCHIVE_OK ? 0 : -1;
}

/* ld_tar_entry's names: the walk's under `as`. */
typedef struct under_ctx {
	tctx *t;
	const char *as;
} under_ctx;

static int visit_under(void *ctx, const ld_node *n, bool *skip, berr *e)
{
	under_ctx *u = ctx;
	ld_node m = *n;
	size_t al = strlen(u->as);
	char *path = xasprintf("%s/%s", u->as, n->path);
	m.path = path;
	m.name = path + al + 1 + (size_t)(n->name - n->path);
	int r = visit(u->t, &m, skip, e);
	free(path);
	return r;
}

/* ld_tar_entry's first entry (fd: O_PATH, not followed), then the tree
 * below it when it is a directory. */
static int tar_top(tctx *t, int fd, const char *as, unsigned flags, berr *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "stat %s", as);
	int data = -1;
	if (S_ISDIR(st.st_mode))
		data = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (S_ISREG(st.st_mode)) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		data = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if ((S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) && data < 0)
		return berr_sys(e, "open %s", as);
	bool skip = false;
	/* name: the empty string at the path's end (readlinkat(fd, "")) */
	ld_node top = {.path = as, .name = as + strlen(as), .dirfd = fd, .fd = data, .st = &st};
	int r = visit(t, &top, &skip, e);
	if (r == 0 && S_ISDIR(st.st_mode)) {
		under_ctx u = {.t = t, .as = as};
		ld_visitor v = {.visit = visit_under, .ctx = &u};
		r = ld_walk(data, flags, &v, e);
	}
	if (data >= 0)
		close(data);
	return r;
}

/* The tar of root's tree (as NULL), or of the one entry fd named as (a
 * directory: with its tree under that name). */
static int tar_run(int root, int fd, const char *as, const ld_tar_opts *o, const ld_sink *sink,
		   ld_tar_result *res, berr *e)
{
	tctx t = {.o = o, .sink = sink, .e = e};
	int ret = -1;
	t.raw = dg_new();
	t.out = dg_new();
	t.buf = xmalloc(BUF_SIZE);
	t.names = xmalloc(XATTR_MAX);
	if (open_z(&t, e) < 0)
		goto out;
	t.tar = archive_write_new();
	archive_write_set_format_pax_restricted(t.tar);
	archive_write_set_bytes_in_last_block(t.tar, 1);
	if (archive_write_open(t.tar, &t, NULL, tar_cb, NULL) != ARCHIVE_OK) {
		berr_set(e, EIO, "tar: %s", archive_error_string(t.tar));
		goto out;
	}
	unsigned flags = LD_WALK_OPEN_FILES | (o->layer ? LD_WALK_UPPER : 0) |
			 (o->one_filesystem ? LD_WALK_ONE_FS : 0);
	if (!as) {
		ld_visitor v = {.visit = visit, .ctx = &t};
		if (ld_walk(root, flags, &v, e) < 0)
			goto out;
	} else if (tar_top(&t, fd, as, flags, e) < 0) {
		goto out;
	}
	if (archive_write_close(t.tar) != ARCHIVE_OK) {
		if (!t.failed)
			berr_set(e, EIO, "tar: %s", archive_error_string(t.tar));
		goto out;
	}
	if (t.z && archive_write_close(t.z) != ARCHIVE_OK) {
		if (!t.failed)
			berr_set(e, EIO, "compress: %s", archive_error_string(t.z));
		goto out;
	}
	if (res) {
		res->diff_id = dg_final(t.raw);
		res->digest = dg_final(t.out);
		res->size = t.out_n;
		res->tar_size = t.raw_n;
	}
	ret = 0;
out:
	if (t.tar)
		archive_write_free(t.tar);
	if (t.z)
		archive_write_free(t.z);
	dg_free(t.raw);
	dg_free(t.out);
	for (size_t i = 0; i < t.cap; i++)
		free(t.links[i].path);
	free(t.links);
	free(t.buf);
	free(t.names);
	return ret;
}

int ld_tar(int root, const ld_tar_opts *o, const ld_sink *sink, ld_tar_result *res, berr *e)
{
	return tar_run(root, -1, NULL, o, sink, res, e);
}

int ld_tar_entry(int fd, const char *as, const ld_tar_opts *o, const ld_sink *sink, berr *e)
{
	return tar_run(-1, fd, as, o, sink, NULL, e);
}
