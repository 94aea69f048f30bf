#include "image/store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/xalloc.h"

struct img_store {
	char *root;  /* the berth root */
	char *path;  /* <root>/image */
	int fd;	     /* <root>/image */
	int blobfd;  /* blobs/sha256 */
	int tmpfd;   /* tmp */
	int layerfd; /* layers */
	int lockfd;  /* lock */
	int locked;  /* 0, LOCK_SH or LOCK_EX */
	/* largest uncompressed layer (0: no limit); from storage.json unless set */
	unsigned long long max_layer_size;
	bool max_layer_size_set;
	/* what unpacks in a user namespace changed (layer_unpack.c; pulls
	 * unpack from several threads) */
	_Atomic unsigned long remapped, devices;
};

void store_unpack_counts(img_store *s, unsigned long remapped, unsigned long devices)
{
	s->remapped += remapped;
	s->devices += devices;
}

char *store_unpack_warning(img_store *s)
{
	unsigned long r = s->remapped, d = s->devices;
	if (!r && !d)
		return NULL;
	if (r && d)
		return xasprintf("%lu files of ids this user's namespace does not map now belong "
				 "to you (single-uid mode: see /etc/subuid), %lu device nodes "
				 "skipped (no mknod in a user namespace)",
				 r, d);
	if (r)
		return xasprintf("%lu files of ids this user's namespace does not map now belong "
				 "to you (single-uid mode: see /etc/subuid)",
				 r);
	return xasprintf("%lu device nodes skipped (no mknod in a user namespace)", d);
}

struct blob_writer {
	img_store *s;
	int fd;
	char tmpname[96];
	dg_str expect;
	bool has_expect, done;
	dg_hasher *h;
	unsigned long long offset;
	unsigned long long flushed; /* write-behind started up to here */
};

/* Start writeback every 8 MiB while a blob streams in, so the fsync at the
 * commit finds little left to write. */
#define WRITE_BEHIND (8ull << 20)

static int open_dir(int at, const char *name, berr *e)
{
	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		return berr_sys(e, "mkdir %s", name);
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berr_sys(e, "open %s", name);
	return fd;
}

int store_check_owner(const char *root, berr *e)
{
	struct stat st;
	if (stat(root, &st) < 0)
		return berr_sys(e, "stat %s", root);
	if (st.st_uid == geteuid())
		return 0;
	if (idmap_in_userns())
		return berr_set(e, EPERM,
				"%s belongs to a uid outside this user's namespace (shown as %u): "
				"root and rootless stores never mix; give another --root",
				root, (unsigned)st.st_uid);
	return berr_set(e, EPERM,
			"%s belongs to uid %u (a rootless store?): root and rootless stores "
			"never mix; run berth as that user or give another --root",
			root, (unsigned)st.st_uid);
}

img_store *store_open(const char *root, berr *e)
{
	_cleanup_close_ int blobs = -1;
	img_store *s = xzalloc(sizeof(*s));
	s->fd = s->blobfd = s->tmpfd = s->layerfd = s->lockfd = -1;
	s->root = xstrdup(root);
	s->path = xasprintf("%s/image", root);
	if (fs_mkdir_p(s->path, 0700, e) < 0 || store_check_owner(root, e) < 0)
		goto fail;
	s->fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0) {
		berr_sys(e, "open %s", s->path);
		goto fail;
	}
	blobs = open_dir(s->fd, "blobs", e);
	if (blobs < 0 || (s->blobfd = open_dir(blobs, "sha256", e)) < 0 ||
	    (s->tmpfd = open_dir(s->fd, "tmp", e)) < 0 ||
	    (s->layerfd = open_dir(s->fd, "layers", e)) < 0)
		goto fail_ctx;
	s->lockfd = openat(s->fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		berr_sys(e, "open lock");
		goto fail_ctx;
	}
	return s;
fail_ctx:
	berr_ctx(e, "image store %s", s->path);
fail:
	store_close(s);
	return NULL;
}

void store_close(img_store *s)
{
	if (!s)
		return;
	int fds[] = {s->fd, s->blobfd, s->tmpfd, s->layerfd, s->lockfd};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(s->root);
	free(s->path);
	free(s);
}

int store_fd(const img_store *s)
{
	return s->fd;
}

const char *store_path(const img_store *s)
{
	return s->path;
}

const char *store_root(const img_store *s)
{
	return s->root;
}

static int do_lock(img_store *s, int op, berr *e)
{
	if (s->locked == op)
		return 0;
	while (flock(s->lockfd, op) < 0)
		if (errno != EINTR)
			return berr_sys(e, "flock %s/lock", s->path);
	s->locked = op;
	return 0;
}

int store_lock_shared(img_store *s, berr *e)
{
	return do_lock(s, LOCK_SH, e);
}

int store_lock_exclusive(img_store *s, berr *e)
{
	return do_lock(s, LOCK_EX, e);
}

int store_lock_try_exclusive(img_store *s)
{
	if (s->locked == LOCK_EX)
		return 0;
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0)
		return -1;
	s->locked = LOCK_EX;
	return 0;
}

void store_unlock(img_store *s)
{
	if (s->locked)
		flock(s->lockfd, LOCK_UN);
	s->locked = 0;
}

/* ---- blobs ---- */

bool store_blob_exists(img_store *s, const char *digest)
{
	struct stat st;
	return dg_valid(digest) &&
	       fstatat(s->blobfd, dg_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

char *store_blob_path(const img_store *s, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", s->path, dg_hex(digest));
}

int store_blob_open(img_store *s, const char *digest, berr *e)
{
	if (dg_validate(digest, e) < 0)
		return -1;
	int fd = openat(s->blobfd, dg_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berr_sys(e, "blob %s", digest);
	return fd;
}

int store_blob_read(img_store *s, const char *digest, char **buf, size_t *len, berr *e)
{
	_cleanup_close_ int fd = store_blob_open(s, digest, e);
	if (fd < 0)
		return -1;
	if (fs_read_fd(fd, buf, len, e) < 0)
		return berr_ctx(e, "blob %s", digest);
	dg_str got = dg_of_buf(*buf, *len);
	if (strcmp(got.s, digest)) {
		free(*buf);
		*buf = NULL;
		return berr_set(e, EIO, "blob %s: content has digest %s (corrupt store?)", digest,
				got.s);
	}
	return 0;
}

blob_writer *blob_begin(img_store *s, const char *expect, berr *e)
{
	blob_writer *w = xzalloc(sizeof(*w));
	w->s = s;
	w->fd = -1;
	if (expect) {
		if (dg_validate(expect, e) < 0)
			goto fail;
		w->has_expect = true;
		strcpy(w->expect.s, expect);
		snprintf(w->tmpname, sizeof(w->tmpname), "%s.partial", dg_hex(expect));
		w->fd =
		    openat(s->tmpfd, w->tmpname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd < 0) {
			berr_sys(e, "create tmp/%s", w->tmpname);
			goto fail;
		}
		while (flock(w->fd, LOCK_EX) < 0)
			if (errno != EINTR) {
				berr_sys(e, "flock tmp/%s", w->tmpname);
				goto fail;
			}
		if (store_blob_exists(s, expect)) {
			/* Someone else finished it while we waited. Remove the
			 * partial name only if it is still our (new) file. */
			struct stat a, b;
			if (fstat(w->fd, &a) == 0 &&
			    fstatat(s->tmpfd, w->tmpname, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
			    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
				unlinkat(s->tmpfd, w->tmpname, 0);
			w->done = true;
			return w;
		}
		w->h = dg_new();
		/* Resume: hash what an earlier attempt left. */
		char *buf = xmalloc(1 << 20);
		for (;;) {
			ssize_t r = read(w->fd, buf, 1 << 20);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r < 0) {
					free(buf);
					berr_sys(e, "read tmp/%s", w->tmpname);
					goto fail;
				}
				break;
			}
			dg_update(w->h, buf, (size_t)r);
		}
		free(buf);
		w->offset = dg_count(w->h);
		w->flushed = w->offset;
	} else {
		snprintf(w->tmpname, sizeof(w->tmpname), "blob-%d-XXXXXX", (int)getpid());
		/* mkostemp needs a path; build it against the tmp dir. */
		_cleanup_free_ char *p = xasprintf("%s/tmp/%s", s->path, w->tmpname);
		w->fd = mkostemp(p, O_CLOEXEC);
		if (w->fd < 0) {
			berr_sys(e, "create %s", p);
			goto fail;
		}
		snprintf(w->tmpname, sizeof(w->tmpname), "%s", strrchr(p, '/') + 1);
		w->h = dg_new();
	}
	return w;
fail:
	blob_abort(w, true);
	return NULL;
}

bool blob_done(const blob_writer *w)
{
	return w->done;
}

unsigned long long blob_offset(const blob_writer *w)
{
	return w->offset;
}

int blob_restart(blob_writer *w, berr *e)
{
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return berr_sys(e, "truncate tmp/%s", w->tmpname);
	dg_free(w->h);
	w->h = dg_new();
	w->offset = 0;
	w->flushed = 0;
	return 0;
}

int blob_write(blob_writer *w, const void *buf, size_t len, berr *e)
{
	dg_update(w->h, buf, len);
	if (fs_write_all(w->fd, buf, len) < 0)
		return berr_sys(e, "write tmp/%s", w->tmpname);
	unsigned long long pos = dg_count(w->h);
	if (pos - w->flushed >= WRITE_BEHIND) {
		sync_file_range(w->fd, (off64_t)w->flushed, (off64_t)(pos - w->flushed),
				SYNC_FILE_RANGE_WRITE);
		w->flushed = pos;
	}
	return 0;
}

int blob_commit(blob_writer *w, dg_str *out, berr *e)
{
	int ret = -1;
	if (w->done) {
		if (out)
			*out = w->expect;
		blob_abort(w, true);
		return 0;
	}
	dg_str got = dg_final(w->h);
	if (w->has_expect && strcmp(got.s, w->expect.s)) {
		berr_set(e, EIO, "digest mismatch: expected %s, got %s", w->expect.s, got.s);
		/* the partial content is wrong: never resume from it */
		unlinkat(w->s->tmpfd, w->tmpname, 0);
		blob_abort(w, true);
		return -1;
	}
	if (fsync(w->fd) < 0) {
		berr_sys(e, "fsync tmp/%s", w->tmpname);
		goto out;
	}
	if (renameat(w->s->tmpfd, w->tmpname, w->s->blobfd, dg_hex(got.s)) < 0) {
		berr_sys(e, "rename tmp/%s into blobs", w->tmpname);
		goto out;
	}
	if (fsync(w->s->blobfd) < 0) {
		berr_sys(e, "fsync blobs/sha256");
		goto out;
	}
	if (out)
		*out = got;
	ret = 0;
out:
	blob_abort(w, ret == 0);
	return ret;
}

void blob_abort(blob_writer *w, bool keep_partial)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		/* an empty partial file resumes nothing: never keep one */
		bool empty = !w->done && w->h && dg_count(w->h) == 0;
		if (!keep_partial || !w->has_expect || empty)
			unlinkat(w->s->tmpfd, w->tmpname, 0);
		close(w->fd); /* releases the flock */
	}
	dg_free(w->h);
	free(w);
}

int store_blob_put(img_store *s, const void *buf, size_t len, const char *expect, dg_str *out,
		   berr *e)
{
	dg_str d = dg_of_buf(buf, len);
	if (expect && strcmp(expect, d.s))
		return berr_set(e, EIO, "digest mismatch: expected %s, got %s", expect, d.s);
	if (out)
		*out = d;
	if (store_blob_exists(s, d.s))
		return 0;
	blob_writer *w = blob_begin(s, NULL, e);
	if (!w)
		return -1;
	if (blob_write(w, buf, len, e) < 0) {
		blob_abort(w, false);
		return -1;
	}
	return blob_commit(w, NULL, e);
}

int store_blob_put_fd(img_store *s, int fd, const char *expect, dg_str *out,
		      unsigned long long *size, berr *e)
{
	blob_writer *w = blob_begin(s, NULL, e);
	if (!w)
		return -1;
	char *buf = xmalloc(1 << 20);
	for (;;) {
		ssize_t r = read(fd, buf, 1 << 20);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			blob_abort(w, false);
			return berr_sys(e, "read");
		}
		if (r == 0)
			break;
		if (blob_write(w, buf, (size_t)r, e) < 0) {
			free(buf);
			blob_abort(w, false);
			return -1;
		}
	}
	free(buf);
	if (size)
		*size = dg_count(w->h);
	dg_str got;
	/* the temp name is not a resumable one: compare after the commit */
	if (blob_commit(w, &got, e) < 0)
		return -1;
	if (expect && strcmp(expect, got.s)) {
		unlinkat(s->blobfd, dg_hex(got.s), 0);
		return berr_set(e, EIO, "digest mismatch: expected %s, got %s", expect, got.s);
	}
	if (out)
		*out = got;
	return 0;
}

/* ---- layers ---- */

char *store_layer_path(const img_store *s, const char *diff_id)
{
	return xasprintf("%s/layers/%s", s->path, dg_hex(diff_id));
}

bool store_layer_exists(img_store *s, const char *diff_id)
{
	struct stat st;
	return dg_valid(diff_id) &&
	       fstatat(s->layerfd, dg_hex(diff_id), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* Unpack directories of this layer left by killed processes: we hold the
 * layer's unpack lock, so no live process is using them. */
int store_tmp_fd(const img_store *s)
{
	return s->tmpfd;
}

int store_layers_fd(const img_store *s)
{
	return s->layerfd;
}

/* ---- settings ---- */

int store_parse_size(const char *s, unsigned long long *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	const char *units = "kmgtp", *u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
	if (u) {
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if (*end == 'i' || *end == 'I') /* KiB */
			end++;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (shift && v > (~0ull >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

void store_set_max_layer_size(img_store *s, unsigned long long max)
{
	s->max_layer_size = max;
	s->max_layer_size_set = true;
}

int store_max_layer_size(img_store *s, unsigned long long *max, berr *e)
{
	if (s->max_layer_size_set) {
		*max = s->max_layer_size;
		return 0;
	}
	*max = 0;
	_cleanup_free_ char *p = xasprintf("%s/storage.json", s->root);
	_cleanup_free_ char *buf = NULL;
	berr re;
	if (fs_read_file_at(AT_FDCWD, p, &buf, NULL, &re) < 0) {
		if (re.errnum == ENOENT)
			return 0; /* no settings: no limit */
		*e = re;
		return -1;
	}
	json_object *o = json_tokener_parse(buf), *v;
	int ret = 0;
	if (!o || !json_object_is_type(o, json_type_object)) {
		ret = berr_set(e, EINVAL, "%s: not a JSON object", p);
	} else if (json_object_object_get_ex(o, "max_layer_size", &v)) {
		const char *str = json_object_get_string(v);
		if ((!json_object_is_type(v, json_type_int) &&
		     !json_object_is_type(v, json_type_string)) ||
		    store_parse_size(str, max) < 0)
			ret = berr_set(e, EINVAL,
				       "%s: max_layer_size: invalid size \"%s\" (bytes, or with a "
				       "k/m/g/t suffix; 0 for no limit)",
				       p, str ? str : "");
	}
	json_object_put(o);
	return ret; /* not cached: unpacker threads call this at once */
}

char *store_default_registry(img_store *s)
{
	_cleanup_free_ char *p = xasprintf("%s/registries.json", s->root);
	_cleanup_free_ char *buf = NULL;
	berr e;
	if (fs_read_file_at(AT_FDCWD, p, &buf, NULL, &e) < 0)
		return xstrdup("docker.io");
	json_object *o = json_tokener_parse(buf), *v;
	char *r = NULL;
	if (o && json_object_object_get_ex(o, "default_registry", &v) &&
	    json_object_is_type(v, json_type_string) && *json_object_get_string(v))
		r = xstrdup(json_object_get_string(v));
	json_object_put(o);
	return r ? r : xstrdup("docker.io");
}
