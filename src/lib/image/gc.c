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

int gc_locked(img_store *s, const img_index *x, strv_builder *log, berr *e)
{
	refset rs;
	refset_build(s, x, &rs);
	int ret = -1;
	_cleanup_close_ int bfd =
	    openat(store_fd(s), "blobs/sha256", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int lfd = openat(store_fd(s), "layers", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int tfd = openat(store_fd(s), "tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char **blobs = fs_list_at(store_fd(s), "blobs/sha256", e);
	char **layers = blobs ? fs_list_at(store_fd(s), "layers", e) : NULL;
	if (!blobs || !layers || bfd < 0 || lfd < 0 || tfd < 0) {
		if (blobs && layers)
			berr_sys(e, "open store directories");
		goto out;
	}
	for (size_t i = 0; blobs[i]; i++)
		if (!strv_sorted_has(rs.blobs, rs.n_blobs, blobs[i])) {
			if (unlinkat(bfd, blobs[i], 0) < 0 && errno != ENOENT) {
				berr_sys(e, "remove blob %s", blobs[i]);
				goto out;
			}
			if (log)
				strvb_push_take(
				    log,
				    xasprintf("removed unreferenced blob sha256:%s", blobs[i]));
		}
	for (size_t i = 0; layers[i]; i++)
		if (!strv_sorted_has(rs.layers, rs.n_layers, layers[i])) {
			/* out of layers/ in one rename first: a half-deleted tree
			 * must never pass for an unpacked layer after a crash */
			_cleanup_free_ char *g = xasprintf("gc-%s-%d", layers[i], (int)getpid());
			if (renameat(lfd, layers[i], tfd, g) < 0) {
				berr_sys(e, "move layer %s out of layers/", layers[i]);
				goto out;
			}
			if (fs_rm_rf_at(tfd, g, e) < 0)
				goto out;
			if (log)
				strvb_push_take(
				    log, xasprintf("removed unreferenced layer %s", layers[i]));
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
