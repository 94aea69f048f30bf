/* Garbage collection of the image store: runs under the exclusive store
 * lock, so no pull, load or import is half-way and whatever sits in tmp/
 * or is not referenced by the index (or held by a container) is garbage. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/gc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

void refset_build(img_store *s, const img_index *x, refset *rs)
{
	memset(rs, 0, sizeof(*rs));
	strv_builder blobs = {0};
	strv_builder layers = strvb_from(image_held_layers(s)); /* containers' layers stay */
	for (size_t i = 0; i < x->n; i++) {
		const img_rec *r = &x->v[i];
		strvb_push(&blobs, dg_hex(r->id.s));
		strvb_push(&blobs, dg_hex(r->manifest.s));
		for (size_t k = 0; k < r->n_layers; k++) {
			strvb_push(&blobs, dg_hex(r->layers[k].digest.s));
			strvb_push(&layers, dg_hex(r->layers[k].diff_id.s));
		}
	}
	rs->n_blobs = blobs.n;
	rs->n_layers = layers.n;
	rs->blobs = strvb_take(&blobs);
	rs->layers = strvb_take(&layers);
	strv_sort(rs->blobs, rs->n_blobs);
	strv_sort(rs->layers, rs->n_layers);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), strp_cmp);
}

bool strv_sorted_has(char *const *v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof(*v), strp_cmp) != NULL;
}

void refset_free(refset *rs)
{
	strv_free(rs->blobs);
	strv_free(rs->layers);
}

static int remove_blob(int bfd, const char *hex, strv_builder *log, berr *e)
{
	if (unlinkat(bfd, hex, 0) < 0 && errno != ENOENT)
		return berr_sys(e, "remove blob %s", hex);
	if (log)
		strvb_push_take(log, xasprintf("removed unreferenced blob sha256:%s", hex));
	return 0;
}

static int remove_layer(int lfd, int tfd, const char *hex, strv_builder *log, berr *e)
{
	/* out of layers/ in one rename first: a half-deleted tree must never
	 * pass for an unpacked layer after a crash */
	_cleanup_free_ char *g = xasprintf("gc-%s-%d", hex, (int)getpid());
	if (renameat(lfd, hex, tfd, g) < 0) {
		if (errno == ENOENT)
			return 0;
		return berr_sys(e, "move layer %s out of layers/", hex);
	}
	if (fs_rm_rf_at(tfd, g, e) < 0)
		return -1;
	if (log)
		strvb_push_take(log, xasprintf("removed unreferenced layer %s", hex));
	return 0;
}

static int open_dirs(img_store *s, int *bfd, int *lfd, int *tfd, berr *e)
{
	*bfd = openat(store_fd(s), "blobs/sha256", O_PATH | O_DIRECTORY | O_CLOEXEC);
	*lfd = openat(store_fd(s), "layers", O_PATH | O_DIRECTORY | O_CLOEXEC);
	*tfd = openat(store_fd(s), "tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*bfd < 0 || *lfd < 0 || *tfd < 0)
		return berr_sys(e, "open store directories");
	return 0;
}

int gc_locked(img_store *s, const img_index *x, strv_builder *log, berr *e)
{
	refset rs;
	refset_build(s, x, &rs);
	int ret = -1;
	_cleanup_close_ int bfd = -1, lfd = -1, tfd = -1;
	char **blobs = fs_list_at(store_fd(s), "blobs/sha256", e);
	char **layers = blobs ? fs_list_at(store_fd(s), "layers", e) : NULL;
	if (!blobs || !layers || open_dirs(s, &bfd, &lfd, &tfd, e) < 0)
		goto out;
	for (size_t i = 0; blobs[i]; i++)
		if (!strv_sorted_has(rs.blobs, rs.n_blobs, blobs[i]) &&
		    remove_blob(bfd, blobs[i], log, e) < 0)
			goto out;
	for (size_t i = 0; layers[i]; i++)
		if (!strv_sorted_has(rs.layers, rs.n_layers, layers[i]) &&
		    remove_layer(lfd, tfd, layers[i], log, e) < 0)
			goto out;
	ret = 0;
out:
	strv_free(blobs);
	strv_free(layers);
	refset_free(&rs);
	return ret;
}

int store_discard(img_store *s, char *const *blobs, size_t nb, char *const *layers, size_t nl,
		  berr *e)
{
	if (!nb && !nl)
		return 0;
	if (store_lock_exclusive(s, e) < 0)
		return -1;
	img_index x;
	refset rs = {0};
	int ret = -1;
	_cleanup_close_ int bfd = -1, lfd = -1, tfd = -1;
	if (index_load(s, &x, e) < 0)
		goto out_unlock;
	refset_build(s, &x, &rs);
	if (open_dirs(s, &bfd, &lfd, &tfd, e) < 0)
		goto out;
	for (size_t i = 0; i < nb; i++)
		if (!strv_sorted_has(rs.blobs, rs.n_blobs, blobs[i]) &&
		    remove_blob(bfd, blobs[i], NULL, e) < 0)
			goto out;
	for (size_t i = 0; i < nl; i++)
		if (!strv_sorted_has(rs.layers, rs.n_layers, layers[i]) &&
		    remove_layer(lfd, tfd, layers[i], NULL, e) < 0)
			goto out;
	ret = 0;
out:
	refset_free(&rs);
	index_free(&x);
out_unlock:
	store_unlock(s);
	return ret;
}

int store_gc(img_store *s, berr *e)
{
	if (store_lock_exclusive(s, e) < 0)
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

int store_prune(img_store *s, char ***log, berr *e)
{
	if (store_lock_exclusive(s, e) < 0)
		return -1;
	img_index x;
	int ret = -1;
	char **tmp = NULL;
	strv_builder b = strvb_from(*log);
	if (index_load(s, &x, e) < 0)
		goto out_unlock;
	if (gc_locked(s, &x, &b, e) < 0 || !(tmp = fs_list_at(store_fd(s), "tmp", e)))
		goto out;
	for (size_t i = 0; tmp[i]; i++) {
		_cleanup_free_ char *rel = xasprintf("tmp/%s", tmp[i]);
		if (fs_rm_rf_at(store_fd(s), rel, e) < 0)
			goto out;
		strvb_push_take(&b, xasprintf("removed %s", rel));
	}
	ret = 0;
out:
	strv_free(tmp);
	index_free(&x);
out_unlock:
	*log = strvb_take(&b);
	store_unlock(s);
	return ret;
}
