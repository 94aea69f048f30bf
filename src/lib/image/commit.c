/* image_commit: record an image whose manifest, config and layer blobs are
 * in the store, unpacking its layers (so it links libarchive: apart from
 * image.c, which the container commands use). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

int image_prepare(img_store *s, const char *manifest, img_rec *out, berr *e)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	size_t mlen, clen;
	img_manifest m = {0};
	img_config c = {0};
	img_rec rec = {0};
	int ret = -1;
	memset(out, 0, sizeof(*out));
	if (store_blob_read(s, manifest, &mbuf, &mlen, e) < 0 ||
	    manifest_parse(mbuf, mlen, NULL, &m, e) < 0)
		goto out;
	if (m.is_index) {
		berr_set(e, EINVAL, "manifest %s: is an index, not an image manifest", manifest);
		goto out;
	}
	if (m.n_layers > IMG_MAX_LAYERS) {
		berr_set(e, EINVAL, "manifest %s: %zu layers, more than the limit of %d", manifest,
			 m.n_layers, IMG_MAX_LAYERS);
		goto out;
	}
	if (store_blob_read(s, m.config.digest.s, &cbuf, &clen, e) < 0 ||
	    config_parse(cbuf, clen, &c, e) < 0)
		goto out;
	if (c.n_diff_ids != m.n_layers) {
		berr_set(e, EINVAL,
			 "image config has %zu rootfs.diff_ids but the manifest lists %zu layers",
			 c.n_diff_ids, m.n_layers);
		goto out;
	}
	rec.id = m.config.digest;
	strcpy(rec.manifest.s, manifest);
	rec.manifest_mt = xstrdup(m.media_type);
	rec.config_size = (long long)clen;
	rec.size = (long long)clen;
	rec.created = c.created ? xstrdup(c.created) : NULL;
	rec.layers = xzalloc(sizeof(img_layer_rec) * (m.n_layers ? m.n_layers : 1));
	for (size_t i = 0; i < m.n_layers; i++) {
		img_layer_rec *l = &rec.layers[i];
		rec.n_layers++;
		l->digest = m.layers[i].digest;
		strcpy(l->diff_id.s, c.diff_ids[i]);
		l->media_type = m.layers[i].media_type ? xstrdup(m.layers[i].media_type) : NULL;
		/* what is on disk, not what the manifest claims */
		_cleanup_close_ int fd = store_blob_open(s, l->digest.s, e);
		struct stat st;
		if (fd < 0)
			goto out;
		if (fstat(fd, &st) < 0) {
			berr_sys(e, "stat blob %s", l->digest.s);
			goto out;
		}
		l->size = (long long)st.st_size;
		rec.size += l->size;
		if (store_layer_unpack(s, l->digest.s, l->diff_id.s, e) < 0)
			goto out;
	}
	*out = rec;
	memset(&rec, 0, sizeof(rec));
	ret = 0;
out:
	rec_free(&rec);
	manifest_free(&m);
	config_free(&c);
	return ret;
}

int image_commit(img_store *s, const char *manifest, const char *name, const char *repo_digest,
		 dg_str *id, berr *e)
{
	img_rec rec;
	if (image_prepare(s, manifest, &rec, e) < 0)
		return -1;
	if (id)
		*id = rec.id;
	return index_add(s, &rec, name, repo_digest, e);
}
