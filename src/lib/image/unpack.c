#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/xalloc.h"

#define BUF_SIZE  (1 << 20)
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* ---- the decompressed stream: reader A (raw format + filters) ---- */

typedef struct stream {
	struct archive *a;
	dg_hasher *h;
	char *buf;
	berr *e;
	unsigned long long max; /* uncompressed bytes allowed, 0: no limit */
	bool failed;
	bool eof; /* an empty stream: no data to read */
} stream;

static int stream_open(stream *st, int fd, unsigned long long max, berr *e)
{
	memset(st, 0, sizeof(*st));
	st->e = e;
	st->max = max;
	st->a = archive_read_new();
	archive_read_support_filter_gzip(st->a);
	archive_read_support_filter_zstd(st->a);
	archive_read_support_filter_xz(st->a);
	archive_read_support_filter_bzip2(st->a);
	archive_read_support_format_raw(st->a);
	archive_read_support_format_empty(st->a);
	st->h = dg_new();
	st->buf = xmalloc(BUF_SIZE);
	struct archive_entry *ent;
	if (archive_read_open_fd(st->a, fd, BUF_SIZE) != ARCHIVE_OK)
		return berr_set(e, EIO, "open stream: %s", archive_error_string(st->a));
	int r = archive_read_next_header(st->a, &ent);
	if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
		return berr_set(e, EIO, "decompress: %s", archive_error_string(st->a));
	st->eof = r == ARCHIVE_EOF;
	return 0;
}

static void stream_close(stream *st)
{
	if (st->a)
		archive_read_free(st->a);
	dg_free(st->h);
	free(st->buf);
}

static ssize_t stream_read(stream *st, const void **out)
{
	if (st->eof)
		return 0;
	la_ssize_t n = archive_read_data(st->a, st->buf, BUF_SIZE);
	if (n < 0) {
		st->failed = true;
		berr_set(st->e, EIO, "decompress: %s", archive_error_string(st->a));
		return -1;
	}
	dg_update(st->h, st->buf, (size_t)n);
	if (st->max && dg_count(st->h) > st->max) {
		st->failed = true;
		berr_set(st->e, EFBIG,
			 "uncompressed size exceeds the limit of %llu bytes (--max-layer-size, "
			 "max_layer_size in storage.json)",
			 st->max);
		return -1;
	}
	*out = st->buf;
	return n;
}

/* ---- the pump: decompression and diffID hashing on their own thread ----
 *
 * Inflating and hashing cost about as much CPU as creating the files, so a
 * second thread does them and hands the plain tar to the extractor through a
 * socketpair (send with MSG_NOSIGNAL: no SIGPIPE if the extractor gives up).
 *
 * Some producers (umoci insert, Go programs that forget tar.Writer.Close)
 * end the stream right after the last file's data, without its block padding
 * and the end-of-archive blocks. Go's tar reader, hence containerd and
 * podman, accept that; so do we: the pump sends zero blocks after the real
 * end. They are not hashed: the diffID covers the real bytes only. */

typedef struct pump {
	int in, out;
	unsigned long long max;
	berr err;
	bool failed, consumer_gone;
	dg_str digest;
} pump;

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void *pump_main(void *arg)
{
	pump *p = arg;
	stream st;
	static const char zeros[512 * 3];
	if (stream_open(&st, p->in, p->max, &p->err) < 0) {
		p->failed = true;
		goto out;
	}
	const void *buf;
	ssize_t n;
	while ((n = stream_read(&st, &buf)) > 0)
		if (send_all(p->out, buf, (size_t)n) < 0) {
			p->consumer_gone = true;
			goto out;
		}
	if (n < 0) {
		p->failed = true;
		goto out;
	}
	p->digest = dg_final(st.h);
	/* the extractor may have stopped at the end-of-archive marker already */
	send_all(p->out, zeros, (512 - dg_count(st.h) % 512) % 512 + 1024);
out:
	stream_close(&st);
	shutdown(p->out, SHUT_WR);
	return NULL;
}

int unpack_decompress(int in, int out, dg_str *digest, unsigned long long *size, berr *e)
{
	return unpack_decompress_max(in, out, 0, digest, size, e);
}

int unpack_decompress_max(int in, int out, unsigned long long max, dg_str *digest,
			  unsigned long long *size, berr *e)
{
	stream st;
	int ret = -1;
	if (stream_open(&st, in, max, e) < 0)
		goto done;
	const void *p;
	ssize_t n;
	while ((n = stream_read(&st, &p)) > 0)
		if (out >= 0 && fs_write_all(out, p, (size_t)n) < 0) {
			berr_sys(e, "write");
			goto done;
		}
	if (n < 0)
		goto done;
	if (size)
		*size = dg_count(st.h);
	*digest = dg_final(st.h);
	ret = 0;
done:
	stream_close(&st);
	return ret;
}

/* ---- extraction ---- */

typedef struct dirtime {
	char *path;
	struct timespec ts[2];
} dirtime;

typedef struct ux {
	int root;	  /* O_RDONLY fd of the layer root */
	char *cache_path; /* parent dir of the last entry ... */
	int cache_fd;	  /* ... and its O_PATH fd */
	dirtime **dirs;	  /* directory mtimes, applied at the end ... */
	size_t n_dirs, cap_dirs;
	void *dir_tree;	    /* ... and the same by path (tsearch: a balanced tree) */
	bool cache_stale;   /* an rm -rf may have removed the cached dir */
	bool is_root;	    /* can chown / mknod */
	bool archive;	    /* an image archive: files, dirs and links only */
	idmap *uids, *gids; /* in a user namespace: what it maps (else NULL) */
	unpack_stats st;
} ux;

/* The owner to give an entry: its own, or 0 when the user namespace we are
 * in does not map it (counted). */
static void entry_owner(ux *u, struct archive_entry *ent, uid_t *uid, gid_t *gid)
{
	la_int64_t ou = archive_entry_uid(ent), og = archive_entry_gid(ent);
	*uid = (uid_t)ou;
	*gid = (gid_t)og;
	if (!u->uids)
		return;
	bool bad = false;
	if (ou < 0 || ou > UINT32_MAX || !idmap_maps(u->uids, (uint32_t)ou)) {
		*uid = 0;
		bad = true;
	}
	if (og < 0 || og > UINT32_MAX || !idmap_maps(u->gids, (uint32_t)og)) {
		*gid = 0;
		bad = true;
	}
	u->st.remapped += bad;
}

static int own_at(ux *u, int parent, const char *name, struct archive_entry *ent)
{
	uid_t uid;
	gid_t gid;
	entry_owner(u, ent, &uid, &gid);
	return fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

static void cache_drop(ux *u)
{
	if (u->cache_fd >= 0 && u->cache_fd != u->root)
		close(u->cache_fd);
	u->cache_fd = -1;
	free(u->cache_path);
	u->cache_path = NULL;
}

/* Normalise an entry name: drop "/", "." and empty components; refuse "..". */
static int clean_path(const char *in, char **out, berr *e)
{
	size_t n = strlen(in);
	char *r = xmalloc(n + 1);
	size_t k = 0;
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(r);
			return berr_set(e, EPERM, "entry \"%s\": path escapes the layer (\"..\")",
					in);
		}
		if (len && !(len == 1 && *p == '.')) {
			if (k)
				r[k++] = '/';
			memcpy(r + k, p, len);
			k += len;
		}
		p = end;
	}
	r[k] = '\0';
	*out = r;
	return 0;
}

/* O_PATH fd of directory `dir` (relative, cleaned) inside the layer root,
 * created if missing; borrowed (cached) fd. */
static int get_parent(ux *u, const char *dir, berr *e)
{
	if (!*dir)
		return u->root;
	if (u->cache_path && !u->cache_stale && !strcmp(u->cache_path, dir))
		return u->cache_fd;
	u->cache_stale = false;
	cache_drop(u);
	berr tmp;
	int fd = fs_open_in_root(u->root, dir, O_PATH | O_DIRECTORY, 0, &tmp);
	if (fd < 0 && tmp.errnum == ENOENT)
		fd = fs_mkdir_in_root(u->root, dir, 0755, e);
	else if (fd < 0)
		*e = tmp;
	if (fd < 0)
		return -1;
	u->cache_path = xstrdup(dir);
	u->cache_fd = fd;
	return fd;
}

/* Remove whatever is at parent/name unless both are directories. */
static int clear_slot(ux *u, int parent, const char *name, bool want_dir, berr *e)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "stat %s", name);
	if (want_dir && S_ISDIR(st.st_mode))
		return 0;
	if (S_ISDIR(st.st_mode)) {
		u->cache_stale = true; /* the cached parent may live below it */
		return fs_rm_rf_at(parent, name, e);
	}
	if (unlinkat(parent, name, 0) < 0)
		return berr_sys(e, "unlink %s", name);
	return 0;
}

/* overlayfs metadata (opaque, redirect, metacopy, origin...) only ever comes
 * from our own whiteout handling, never from the tar. */
static bool xattr_allowed(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) != 0 &&
	       strncmp(name, "user.overlay.", 13) != 0 &&
	       strncmp(name, "user.fuseoverlayfs.", 19) != 0;
}

static void set_xattrs_fd(int fd, struct archive_entry *ent)
{
	const char *name;
	const void *val;
	size_t size;
	archive_entry_xattr_reset(ent);
	while (archive_entry_xattr_next(ent, &name, &val, &size) == ARCHIVE_OK)
		if (xattr_allowed(name))
			fsetxattr(fd, name, val, size, 0); /* best effort, like tar(1) */
}

static void set_xattrs_path(const char *path, struct archive_entry *ent)
{
	const char *name;
	const void *val;
	size_t size;
	archive_entry_xattr_reset(ent);
	while (archive_entry_xattr_next(ent, &name, &val, &size) == ARCHIVE_OK)
		if (xattr_allowed(name))
			lsetxattr(path, name, val, size, 0);
}

static void entry_times(struct archive_entry *ent, struct timespec ts[2])
{
	ts[0].tv_sec =
	    archive_entry_atime_is_set(ent) ? archive_entry_atime(ent) : archive_entry_mtime(ent);
	ts[0].tv_nsec = archive_entry_atime_is_set(ent) ? archive_entry_atime_nsec(ent) : 0;
	ts[1].tv_sec = archive_entry_mtime(ent);
	ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
}

static int own_fd(ux *u, int fd, struct archive_entry *ent, const char *path, berr *e)
{
	uid_t uid;
	gid_t gid;
	entry_owner(u, ent, &uid, &gid);
	if (u->is_root && fchown(fd, uid, gid) < 0)
		return berr_sys(e, "chown %s", path);
	if (fchmod(fd, archive_entry_perm(ent)) < 0)
		return berr_sys(e, "chmod %s", path);
	set_xattrs_fd(fd, ent);
	return 0;
}

static int write_file(ux *u, int parent, const char *name, const char *path, struct archive *b,
		      struct archive_entry *ent, berr *e)
{
	_cleanup_close_ int fd =
	    openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_sys(e, "create %s", path);
	const void *buf;
	size_t size;
	la_int64_t off, end = 0;
	int r;
	while ((r = archive_read_data_block(b, &buf, &size, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (size > 0) {
			ssize_t w = pwrite(fd, p, size, off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return berr_sys(e, "write %s", path);
			p += w;
			off += w;
			size -= (size_t)w;
		}
		end = off;
	}
	if (r != ARCHIVE_EOF)
		return berr_set(e, EIO, "%s: %s", path, archive_error_string(b));
	if (archive_entry_size_is_set(ent) && archive_entry_size(ent) > end &&
	    ftruncate(fd, archive_entry_size(ent)) < 0) /* sparse tail */
		return berr_sys(e, "truncate %s", path);
	if (own_fd(u, fd, ent, path, e) < 0)
		return -1;
	struct timespec ts[2];
	entry_times(ent, ts);
	if (futimens(fd, ts) < 0)
		return berr_sys(e, "utimens %s", path);
	return 0;
}

static int make_hardlink(ux *u, int parent, const char *name, const char *path, const char *target,
			 berr *e)
{
	_cleanup_free_ char *t = NULL;
	if (clean_path(target, &t, e) < 0)
		return -1;
	/* Resolved inside the layer; the last component is not followed, so a
	 * link to a symlink links the symlink itself, as tar does. */
	_cleanup_close_ int tfd = fs_open_in_root(u->root, t, O_PATH | O_NOFOLLOW, 0, e);
	if (tfd < 0)
		return berr_ctx(e, "hard link %s -> %s: target not in this layer", path, target);
	struct stat st;
	if (fstat(tfd, &st) < 0)
		return berr_sys(e, "stat %s", target);
	if (S_ISDIR(st.st_mode))
		return berr_set(e, EPERM, "hard link %s -> %s: target is a directory", path,
				target);
	if (linkat(tfd, "", parent, name, AT_EMPTY_PATH) == 0)
		return 0;
	/* Without CAP_DAC_READ_SEARCH: through /proc (still this inode). */
	fs_fdpath fp = fs_fd_path(tfd);
	if (linkat(AT_FDCWD, fp.s, parent, name, AT_SYMLINK_FOLLOW) < 0)
		return berr_sys(e, "link %s -> %s", path, target);
	return 0;
}

static int dirtime_cmp(const void *a, const void *b)
{
	return strcmp(((const dirtime *)a)->path, ((const dirtime *)b)->path);
}

static void dirtime_free(void *p)
{
	dirtime *d = p;
	free(d->path);
	free(d);
}

/* Remember a directory's times (applied at the end, once its entries are
 * in); a directory listed twice keeps the last times. O(log n) per entry
 * whatever the names: a layer may list hundreds of thousands of
 * directories, and a balanced tree cannot be flooded as a hash with a known
 * function can. */
static int record_dir(ux *u, const char *path, struct archive_entry *ent)
{
	dirtime *d = xzalloc(sizeof(*d));
	d->path = xstrdup(path);
	dirtime **slot = tsearch(d, &u->dir_tree, dirtime_cmp);
	if (!slot)
		abort();  /* out of memory, as xmalloc */
	if (*slot != d) { /* listed before */
		free(d->path);
		free(d);
		entry_times(ent, (*slot)->ts);
		return 0;
	}
	entry_times(ent, d->ts);
	if (u->n_dirs == u->cap_dirs) {
		u->cap_dirs = u->cap_dirs ? 2 * u->cap_dirs : 64;
		u->dirs = xreallocarray(u->dirs, u->cap_dirs, sizeof(*u->dirs));
	}
	u->dirs[u->n_dirs++] = d;
	return 0;
}

static int make_dir(ux *u, int parent, const char *name, const char *path,
		    struct archive_entry *ent, berr *e)
{
	if (clear_slot(u, parent, name, true, e) < 0)
		return -1;
	if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
		return berr_sys(e, "mkdir %s", path);
	_cleanup_close_ int fd =
	    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", path);
	if (own_fd(u, fd, ent, path, e) < 0)
		return -1;
	return record_dir(u, path, ent);
}

static int make_special(ux *u, int parent, const char *name, const char *path,
			struct archive_entry *ent, berr *e)
{
	mode_t type = archive_entry_filetype(ent);
	dev_t dev = 0;
	if (type == AE_IFCHR || type == AE_IFBLK)
		dev = makedev(archive_entry_rdevmajor(ent), archive_entry_rdevminor(ent));
	if (mknodat(parent, name, type | 0600, dev) < 0) {
		if (errno == EPERM && u->uids && type != AE_IFIFO) {
			u->st.devices++; /* no mknod in a user namespace: skipped */
			return 0;
		}
		return berr_sys(e, "mknod %s", path);
	}
	_cleanup_free_ char *pp = xasprintf("%s/%s", fs_fd_path(parent).s, name);
	if (u->is_root && own_at(u, parent, name, ent) < 0)
		return berr_sys(e, "chown %s", path);
	if (fchmodat(parent, name, archive_entry_perm(ent), 0) < 0)
		return berr_sys(e, "chmod %s", path);
	set_xattrs_path(pp, ent);
	struct timespec ts[2];
	entry_times(ent, ts);
	if (utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "utimens %s", path);
	return 0;
}

static int make_symlink(ux *u, int parent, const char *name, const char *path,
			struct archive_entry *ent, berr *e)
{
	const char *target = archive_entry_symlink(ent);
	if (!target)
		return berr_set(e, EINVAL, "symlink %s: no target", path);
	if (symlinkat(target, parent, name) < 0)
		return berr_sys(e, "symlink %s", path);
	if (u->is_root && own_at(u, parent, name, ent) < 0)
		return berr_sys(e, "lchown %s", path);
	_cleanup_free_ char *pp = xasprintf("%s/%s", fs_fd_path(parent).s, name);
	set_xattrs_path(pp, ent);
	struct timespec ts[2];
	entry_times(ent, ts);
	if (utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "utimens %s", path);
	return 0;
}

static int whiteout(ux *u, int parent, const char *name, const char *path,
		    struct archive_entry *ent, berr *e)
{
	if (!strcmp(name, WH_OPAQUE)) {
		_cleanup_close_ int d = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d < 0)
			return berr_sys(e, "open directory of %s", path);
		/* in a user namespace: the names the kernel's overlay (userxattr)
		 * and fuse-overlayfs read there */
		if (u->uids) {
			if (fsetxattr(d, "user.overlay.opaque", "y", 1, 0) < 0 ||
			    fsetxattr(d, "user.fuseoverlayfs.opaque", "y", 1, 0) < 0)
				return berr_sys(e, "set opaque xattr for %s", path);
		} else if (fsetxattr(d, "trusted.overlay.opaque", "y", 1, 0) < 0) {
			return berr_sys(e, "set opaque xattr for %s", path);
		}
		return 0;
	}
	if (!strncmp(name, WH_PREFIX WH_PREFIX, 8))
		return 0; /* other .wh..wh. metadata (aufs): ignored */
	const char *victim = name + strlen(WH_PREFIX);
	if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
		return berr_set(e, EINVAL, "entry \"%s\": invalid whiteout", path);
	if (clear_slot(u, parent, victim, false, e) < 0)
		return -1;
	if (mknodat(parent, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
		return berr_sys(e, "mknod whiteout for %s", path);
	if (u->is_root && own_at(u, parent, victim, ent) < 0)
		return berr_sys(e, "chown whiteout %s", path);
	return 0;
}

static int apply_entry(ux *u, struct archive *b, struct archive_entry *ent, berr *e)
{
	const char *raw = archive_entry_pathname(ent);
	if (!raw)
		return berr_set(e, EINVAL, "entry without a name");
	_cleanup_free_ char *path = NULL;
	if (clean_path(raw, &path, e) < 0)
		return -1;
	mode_t type = archive_entry_filetype(ent);
	const char *hl = archive_entry_hardlink(ent);
	if (!*path) { /* "./": the layer root itself */
		if (type == AE_IFDIR && !hl) {
			if (own_fd(u, u->root, ent, ".", e) < 0)
				return -1;
			return record_dir(u, "", ent);
		}
		return berr_set(e, EINVAL, "entry \"%s\": not a directory", raw);
	}
	char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	_cleanup_free_ char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	if (u->archive && !hl && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return berr_set(e, EINVAL,
				"entry \"%s\": not a regular file, directory or link (an image "
				"archive holds no FIFOs, devices or sockets)",
				raw);
	int parent = get_parent(u, dir, e);
	if (parent < 0)
		return berr_ctx(e, "entry \"%s\"", raw);
	if (!u->archive && !strncmp(name, WH_PREFIX, strlen(WH_PREFIX)))
		return whiteout(u, parent, name, path, ent, e);
	if (hl) {
		if (clear_slot(u, parent, name, false, e) < 0)
			return -1;
		return make_hardlink(u, parent, name, path, hl, e);
	}
	if (type == AE_IFDIR)
		return make_dir(u, parent, name, path, ent, e);
	if (clear_slot(u, parent, name, false, e) < 0)
		return -1;
	switch (type) {
	case AE_IFREG:
		return write_file(u, parent, name, path, b, ent, e);
	case AE_IFLNK:
		return make_symlink(u, parent, name, path, ent, e);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return make_special(u, parent, name, path, ent, e);
	default:
		return 0; /* sockets and unknown types are skipped */
	}
}

static void apply_dir_times(ux *u)
{
	for (size_t i = u->n_dirs; i-- > 0;) {
		berr ignore;
		int fd = *u->dirs[i]->path
			     ? fs_open_in_root(u->root, u->dirs[i]->path,
					       O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &ignore)
			     : dup(u->root);
		if (fd >= 0) {
			futimens(fd, u->dirs[i]->ts);
			close(fd);
		}
	}
}

static int unpack_tree(int fd, int dirfd, bool archive, unsigned long long max, dg_str *diff_id,
		       unpack_stats *st, berr *e)
{
	ux u = {
	    .root = -1, .cache_fd = -1, .is_root = !archive && geteuid() == 0, .archive = archive};
	if (u.is_root && idmap_in_userns()) {
		u.uids = xzalloc(sizeof(*u.uids));
		u.gids = xzalloc(sizeof(*u.gids));
		if (idmap_read_self("uid", u.uids, e) < 0 ||
		    idmap_read_self("gid", u.gids, e) < 0) {
			free(u.uids);
			free(u.gids);
			return -1;
		}
	}
	struct archive *b = NULL;
	int ret = -1, sv[2] = {-1, -1};
	pump p = {.in = fd, .max = max};
	pthread_t th;
	bool started = false;
	u.root = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.root < 0) {
		berr_sys(e, "open layer directory");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		berr_sys(e, "socketpair");
		goto out;
	}
	int sz = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	p.out = sv[1];
	int perr = pthread_create(&th, NULL, pump_main, &p);
	if (perr) {
		berr_errno(e, perr, "pthread_create");
		goto out;
	}
	started = true;
	b = archive_read_new();
	archive_read_support_format_tar(b);
	archive_read_support_format_gnutar(b);
	archive_read_support_format_empty(b);
	if (archive_read_open_fd(b, sv[0], BUF_SIZE) != ARCHIVE_OK) {
		berr_set(e, EIO, "not a tar archive: %s", archive_error_string(b));
		goto out;
	}
	struct archive_entry *ent;
	for (;;) {
		int r = archive_read_next_header(b, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			berr_set(e, EIO, "corrupt tar: %s", archive_error_string(b));
			goto out;
		}
		if (apply_entry(&u, b, ent, e) < 0)
			goto out;
	}
	/* let the pump hash the rest of the stream */
	char sink[65536];
	ssize_t n;
	while ((n = read(sv[0], sink, sizeof(sink))) > 0 || (n < 0 && errno == EINTR))
		;
	apply_dir_times(&u);
	ret = 0;
out:
	if (sv[0] >= 0)
		close(sv[0]); /* unblocks the pump if we stopped early */
	if (started)
		pthread_join(th, NULL);
	if (sv[1] >= 0)
		close(sv[1]);
	if (started && p.failed) {
		*e = p.err; /* the root cause: bad compression or a read error */
		ret = -1;
	}
	if (ret == 0)
		*diff_id = p.digest;
	if (st) {
		st->remapped += u.st.remapped;
		st->devices += u.st.devices;
	}
	free(u.uids);
	free(u.gids);
	if (b)
		archive_read_free(b);
	cache_drop(&u);
	tdestroy(u.dir_tree, dirtime_free); /* every u.dirs[i], once */
	free(u.dirs);
	if (u.root >= 0)
		close(u.root);
	return ret;
}

int unpack_layer(int fd, int dirfd, dg_str *diff_id, berr *e)
{
	return unpack_tree(fd, dirfd, false, 0, diff_id, NULL, e);
}

int unpack_layer_max(int fd, int dirfd, unsigned long long max, dg_str *diff_id, berr *e)
{
	return unpack_tree(fd, dirfd, false, max, diff_id, NULL, e);
}

int unpack_layer_stats(int fd, int dirfd, unsigned long long max, dg_str *diff_id, unpack_stats *st,
		       berr *e)
{
	return unpack_tree(fd, dirfd, false, max, diff_id, st, e);
}

int unpack_archive(int fd, int dirfd, berr *e)
{
	dg_str ignored;
	return unpack_tree(fd, dirfd, true, 0, &ignored, NULL, e);
}
