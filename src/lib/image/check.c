/* Garbage collection and `berth system check`. Both run under the exclusive
 * store lock: no pull, load or import is half-way, so whatever sits in tmp/
 * and whatever the index does not reference is garbage. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

typedef struct refset {
	char **blobs;  /* hex */
	char **layers; /* hex */
} refset;

static void refset_build(img_store *s, const img_index *x, refset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->layers = image_held_layers(s); /* containers' layers stay */
	for (size_t i = 0; i < x->n; i++) {
		const img_rec *r = &x->v[i];
		strv_push(&rs->blobs, dg_hex(r->id.s));
		strv_push(&rs->blobs, dg_hex(r->manifest.s));
		for (size_t k = 0; k < r->n_layers; k++) {
			strv_push(&rs->blobs, dg_hex(r->layers[k].digest.s));
			strv_push(&rs->layers, dg_hex(r->layers[k].diff_id.s));
		}
	}
}

static void refset_free(refset *rs)
{
	strv_free(rs->blobs);
	strv_free(rs->layers);
}

/* Names in a directory (without . and ..). */
static char **list_dir(int at, const char *name, berr *e)
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
	char **v = xzalloc(sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&v, de->d_name);
	closedir(d);
	return v;
}

static int with_exclusive(img_store *s, berr *e)
{
	return store_lock_exclusive(s, e);
}

static int gc_locked(img_store *s, const img_index *x, char ***log, berr *e)
{
	refset rs;
	refset_build(s, x, &rs);
	int ret = -1;
	_cleanup_close_ int bfd =
	    openat(store_fd(s), "blobs/sha256", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int lfd = openat(store_fd(s), "layers", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int tfd = openat(store_fd(s), "tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char **blobs = list_dir(store_fd(s), "blobs/sha256", e);
	char **layers = blobs ? list_dir(store_fd(s), "layers", e) : NULL;
	if (!blobs || !layers || bfd < 0 || lfd < 0 || tfd < 0) {
		if (blobs && layers)
			berr_sys(e, "open store directories");
		goto out;
	}
	for (size_t i = 0; blobs[i]; i++)
		if (!strv_contains(rs.blobs, blobs[i])) {
			if (unlinkat(bfd, blobs[i], 0) < 0 && errno != ENOENT) {
				berr_sys(e, "remove blob %s", blobs[i]);
				goto out;
			}
			if (log) {
				_cleanup_free_ char *l =
				    xasprintf("removed unreferenced blob sha256:%s", blobs[i]);
				strv_push(log, l);
			}
		}
	for (size_t i = 0; layers[i]; i++)
		if (!strv_contains(rs.layers, layers[i])) {
			/* out of layers/ in one rename first: a half-deleted tree
			 * must never pass for an unpacked layer after a crash */
			_cleanup_free_ char *g = xasprintf("gc-%s-%d", layers[i], (int)getpid());
			if (renameat(lfd, layers[i], tfd, g) < 0) {
				berr_sys(e, "move layer %s out of layers/", layers[i]);
				goto out;
			}
			if (fs_rm_rf_at(tfd, g, e) < 0)
				goto out;
			if (log) {
				_cleanup_free_ char *l =
				    xasprintf("removed unreferenced layer %s", layers[i]);
				strv_push(log, l);
			}
		}
	ret = 0;
out:
	strv_free(blobs);
	strv_free(layers);
	refset_free(&rs);
	return ret;
}

int store_gc(img_store *s, berr *e)
{
	if (with_exclusive(s, e) < 0)
		return -1;
	img_index x;
	int ret = -1;
	if (index_load(s, &x, e) == 0) {
		ret = gc_locked(s, &x, NULL, e);
		index_free(&x);
	}
	store_unlock(s);
	return ret;
}

void store_gc_if_idle(img_store *s)
{
	if (store_lock_try_exclusive(s) < 0)
		return;
	berr ig;
	store_gc(s, &ig);
}

void store_report_free(store_report *r)
{
	strv_free(r->garbage);
	strv_free(r->problems);
	strv_free(r->repaired);
	memset(r, 0, sizeof(*r));
}

__attribute__((format(printf, 2, 3))) static void add(char ***v, const char *fmt, ...)
{
	char *l = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&l, fmt, ap) < 0)
		abort();
	va_end(ap);
	strv_push(v, l);
	free(l);
}

/* Verify every blob's digest; returns the hex names of bad ones. */
static char **bad_blobs(img_store *s, store_report *r, bool repair, berr *e)
{
	char **names = list_dir(store_fd(s), "blobs/sha256", e);
	if (!names)
		return NULL;
	char **bad = xzalloc(sizeof(char *));
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *d = xasprintf("sha256:%s", names[i]);
		bool ok = false;
		dg_str got = {{0}};
		if (dg_valid(d)) {
			_cleanup_close_ int fd = store_blob_open(s, d, e);
			struct stat st;
			if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    dg_of_fd(fd, &got, NULL, e) == 0)
				ok = !strcmp(got.s, d);
		}
		if (ok)
			continue;
		add(&r->problems, "blob %s: content does not match its digest%s", d,
		    got.s[0] ? "" : " (unreadable or not a file)");
		strv_push(&bad, names[i]);
		if (repair) {
			_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", names[i]);
			berr ig;
			fs_rm_rf_at(store_fd(s), rel, &ig);
			add(&r->repaired, "removed corrupt blob %s", d);
		}
	}
	strv_free(names);
	return bad;
}

int store_check(img_store *s, bool repair, store_report *r, berr *e)
{
	memset(r, 0, sizeof(*r));
	if (with_exclusive(s, e) < 0)
		return -1;
	int ret = -1;
	img_index x = {0};
	char **bad = NULL;
	char **tmp = list_dir(store_fd(s), "tmp", e);
	if (!tmp)
		goto out;
	for (size_t i = 0; tmp[i]; i++) {
		add(&r->garbage, "tmp/%s: left over by an interrupted operation%s", tmp[i],
		    strstr(tmp[i], ".partial") ? " (a resumable download)" : "");
		if (repair) {
			_cleanup_free_ char *rel = xasprintf("tmp/%s", tmp[i]);
			if (fs_rm_rf_at(store_fd(s), rel, e) < 0)
				goto out;
			add(&r->repaired, "removed tmp/%s", tmp[i]);
		}
	}
	if (index_load(s, &x, e) < 0) {
		add(&r->problems, "%s", e->msg);
		ret = 0;
		goto out;
	}
	bad = bad_blobs(s, r, repair, e);
	if (!bad)
		goto out;
	bool changed = false;
	for (size_t i = x.n; i-- > 0;) {
		img_rec *im = &x.v[i];
		bool broken = false;
		const char *need[] = {im->manifest.s, im->id.s};
		for (size_t k = 0; k < 2; k++)
			if (!store_blob_exists(s, need[k]) || strv_contains(bad, dg_hex(need[k]))) {
				add(&r->problems, "image %s: blob %s is missing", im->id.s,
				    need[k]);
				broken = true;
			}
		for (size_t k = 0; k < im->n_layers; k++) {
			const char *bd = im->layers[k].digest.s, *dd = im->layers[k].diff_id.s;
			bool blob_ok = store_blob_exists(s, bd) && !strv_contains(bad, dg_hex(bd));
			if (!blob_ok) {
				add(&r->problems, "image %s: layer blob %s is missing", im->id.s,
				    bd);
				broken = true;
			}
			if (!store_layer_exists(s, dd)) {
				add(&r->problems, "image %s: unpacked layer %s is missing",
				    im->id.s, dd);
				if (repair && blob_ok) {
					berr ue;
					if (store_layer_unpack(s, bd, dd, &ue) == 0)
						add(&r->repaired, "unpacked layer %s again", dd);
					else
						broken = true;
				} else {
					broken = true;
				}
			}
		}
		if (broken && repair) {
			add(&r->repaired, "removed image %s (its data is lost: pull it again)",
			    im->id.s);
			rec_free(im);
			memmove(&x.v[i], &x.v[i + 1], (x.n - i - 1) * sizeof(img_rec));
			x.n--;
			changed = true;
		}
	}
	if (changed && index_save(s, &x, e) < 0)
		goto out;
	/* unreferenced data: garbage */
	refset rs;
	refset_build(s, &x, &rs);
	char **blobs = list_dir(store_fd(s), "blobs/sha256", e);
	char **layers = blobs ? list_dir(store_fd(s), "layers", e) : NULL;
	for (size_t i = 0; blobs && blobs[i]; i++)
		if (!strv_contains(rs.blobs, blobs[i]))
			add(&r->garbage, "blob sha256:%s: not referenced by any image", blobs[i]);
	for (size_t i = 0; layers && layers[i]; i++)
		if (!strv_contains(rs.layers, layers[i]))
			add(&r->garbage, "layer %s: not referenced by any image", layers[i]);
	strv_free(blobs);
	strv_free(layers);
	refset_free(&rs);
	if (repair && gc_locked(s, &x, &r->repaired, e) < 0)
		goto out;
	ret = 0;
out:
	strv_free(tmp);
	strv_free(bad);
	index_free(&x);
	store_unlock(s);
	return ret;
}
