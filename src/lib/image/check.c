/* `berth system check [--repair]`: under the exclusive store lock (no pull,
 * load or import is half-way), verify every blob, the index's references
 * and the unpacked layers; repair unpacks layers again (libarchive) and
 * collects garbage (gc.c). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/gc.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

void store_report_free(store_report *r)
{
	strv_free(r->garbage);
	strv_free(r->problems);
	strv_free(r->repaired);
	memset(r, 0, sizeof(*r));
}

/* The report's lines while they are collected (a store may hold hundreds of
 * thousands of garbage files: appends in O(1)). */
typedef struct report_b {
	strv_builder garbage, problems, repaired;
} report_b;

__attribute__((format(printf, 2, 3))) static void add(strv_builder *v, const char *fmt, ...)
{
	char *l = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&l, fmt, ap) < 0)
		abort();
	va_end(ap);
	strvb_push_take(v, l);
}

/* Verify every blob's digest; returns the hex names of bad ones, sorted
 * (*n_bad of them). */
static char **bad_blobs(img_store *s, report_b *rb, bool repair, size_t *n_bad, berr *e)
{
	char **names = fs_list_at(store_fd(s), "blobs/sha256", e);
	if (!names)
		return NULL;
	strv_builder bad = strvb_from(xzalloc(sizeof(char *)));
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
		add(&rb->problems, "blob %s: content does not match its digest%s", d,
		    got.s[0] ? "" : " (unreadable or not a file)");
		strvb_push(&bad, names[i]);
		if (repair) {
			_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", names[i]);
			berr ig;
			fs_rm_rf_at(store_fd(s), rel, &ig);
			add(&rb->repaired, "removed corrupt blob %s", d);
		}
	}
	strv_free(names);
	*n_bad = bad.n;
	strv_sort(bad.v, bad.n);
	return strvb_take(&bad);
}

int store_check(img_store *s, bool repair, store_report *r, berr *e)
{
	memset(r, 0, sizeof(*r));
	if (store_lock_exclusive(s, e) < 0)
		return -1;
	int ret = -1;
	img_index x = {0};
	char **bad = NULL;
	size_t n_bad = 0;
	report_b rb = {0};
	char **tmp = fs_list_at(store_fd(s), "tmp", e);
	if (!tmp)
		goto out;
	for (size_t i = 0; tmp[i]; i++) {
		add(&rb.garbage, "tmp/%s: left over by an interrupted operation%s", tmp[i],
		    strstr(tmp[i], ".partial") ? " (a resumable download)" : "");
		if (repair) {
			_cleanup_free_ char *rel = xasprintf("tmp/%s", tmp[i]);
			if (fs_rm_rf_at(store_fd(s), rel, e) < 0)
				goto out;
			add(&rb.repaired, "removed tmp/%s", tmp[i]);
		}
	}
	if (index_load(s, &x, e) < 0) {
		add(&rb.problems, "%s", e->msg);
		ret = 0;
		goto out;
	}
	bad = bad_blobs(s, &rb, repair, &n_bad, e);
	if (!bad)
		goto out;
	bool changed = false;
	for (size_t i = x.n; i-- > 0;) {
		img_rec *im = &x.v[i];
		bool broken = false;
		const char *need[] = {im->manifest.s, im->id.s};
		for (size_t k = 0; k < 2; k++)
			if (!store_blob_exists(s, need[k]) ||
			    strv_sorted_has(bad, n_bad, dg_hex(need[k]))) {
				add(&rb.problems, "image %s: blob %s is missing", im->id.s,
				    need[k]);
				broken = true;
			}
		for (size_t k = 0; k < im->n_layers; k++) {
			const char *bd = im->layers[k].digest.s, *dd = im->layers[k].diff_id.s;
			bool blob_ok =
			    store_blob_exists(s, bd) && !strv_sorted_has(bad, n_bad, dg_hex(bd));
			if (!blob_ok) {
				add(&rb.problems, "image %s: layer blob %s is missing", im->id.s,
				    bd);
				broken = true;
			}
			if (!store_layer_exists(s, dd)) {
				add(&rb.problems, "image %s: unpacked layer %s is missing",
				    im->id.s, dd);
				if (repair && blob_ok) {
					berr ue;
					if (store_layer_unpack(s, bd, dd, &ue) == 0)
						add(&rb.repaired, "unpacked layer %s again", dd);
					else
						broken = true;
				} else {
					broken = true;
				}
			}
		}
		if (broken && repair) {
			add(&rb.repaired, "removed image %s (its data is lost: pull it again)",
			    im->id.s);
			rec_free(im);
			memmove(&x.v[i], &x.v[i + 1], (x.n - i - 1) * sizeof(img_rec));
			x.n--;
			changed = true;
		}
	}
	if (changed && index_save(s, &x, e) < 0)
		goto out;
	/* unreferenced data: garbage, listed (a failed command removes what it
	 * wrote, so these were left by a killed one), removed by --repair and
	 * system prune. The store is still consistent: kill -9 at any moment
	 * may leave garbage, never an inconsistency. */
	refset rs;
	refset_build(s, &x, &rs);
	char **blobs = fs_list_at(store_fd(s), "blobs/sha256", e);
	char **layers = blobs ? fs_list_at(store_fd(s), "layers", e) : NULL;
	for (size_t i = 0; blobs && blobs[i]; i++)
		if (!strv_sorted_has(rs.blobs, rs.n_blobs, blobs[i]) &&
		    !strv_sorted_has(bad, n_bad, blobs[i]))
			add(&rb.garbage,
			    "blob sha256:%s: not referenced by any image (left by an interrupted "
			    "command; --repair or system prune removes it)",
			    blobs[i]);
	for (size_t i = 0; layers && layers[i]; i++)
		if (!strv_sorted_has(rs.layers, rs.n_layers, layers[i]))
			add(&rb.garbage, "layer %s: not referenced by any image", layers[i]);
	strv_free(blobs);
	strv_free(layers);
	refset_free(&rs);
	if (repair && gc_locked(s, &x, &rb.repaired, e) < 0)
		goto out;
	ret = 0;
out:
	strv_free(tmp);
	strv_free(bad);
	r->garbage = strvb_take(&rb.garbage);
	r->problems = strvb_take(&rb.problems);
	r->repaired = strvb_take(&rb.repaired);
	index_free(&x);
	store_unlock(s);
	return ret;
}
