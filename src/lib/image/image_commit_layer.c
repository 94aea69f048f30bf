/* image_commit_layer: a container's upper directory as a new image on its
 * parent (see image_commit.h). The order makes it crash safe: blobs first
 * (each temp + rename), the index last (image_commit), so a kill -9 before
 * the end leaves blobs nothing references and no half image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/gc.h"
#include "image/image_commit.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

static int blob_sink(void *ctx, const void *buf, size_t len, berr *e)
{
	return blob_write(ctx, buf, len, e);
}

static const char *layer_mt(int compression)
{
	return compression == 2	  ? MT_OCI_LAYER_ZSTD
	       : compression == 1 ? MT_OCI_LAYER_GZIP
				  : MT_OCI_LAYER;
}

/* The new config document: the parent's with the layer, history and
 * changes (malloc'ed JSON), or NULL with e. */
static char *new_config(img_store *s, const img_commit_opts *o, const img_image *parent,
			const dg_str *diff_id, berr *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (store_blob_read(s, parent->rec.id.s, &buf, &len, e) < 0)
		return NULL;
	json_object *c = json_tokener_parse(buf);
	if (!c || !json_object_is_type(c, json_type_object)) {
		json_object_put(c);
		berr_set(e, EINVAL, "image %s: config is not a JSON object", parent->rec.id.s);
		return NULL;
	}
	char *created = time_rfc3339(o->clamp ? (time_t)o->epoch : time(NULL));
	json_object *cfg, *rootfs, *ids, *hist;
	if (!json_object_object_get_ex(c, "config", &cfg) ||
	    !json_object_is_type(cfg, json_type_object)) {
		cfg = json_object_new_object();
		json_object_object_add(c, "config", cfg);
	}
	char *ret = NULL;
	if (image_config_changes(cfg, o->changes, e) < 0)
		goto out;
	json_object_object_add(c, "created", json_object_new_string(created));
	if (o->author)
		json_object_object_add(c, "author", json_object_new_string(o->author));
	if (!json_object_object_get_ex(c, "rootfs", &rootfs) ||
	    !json_object_object_get_ex(rootfs, "diff_ids", &ids) ||
	    !json_object_is_type(ids, json_type_array)) {
		berr_set(e, EINVAL, "image %s: config has no rootfs.diff_ids", parent->rec.id.s);
		goto out;
	}
	if (diff_id)
		json_object_array_add(ids, json_object_new_string(diff_id->s));
	if (!json_object_object_get_ex(c, "history", &hist) ||
	    !json_object_is_type(hist, json_type_array)) {
		hist = json_object_new_array();
		json_object_object_add(c, "history", hist);
	}
	json_object *h = json_object_new_object();
	json_object_object_add(h, "created", json_object_new_string(created));
	if (o->author)
		json_object_object_add(h, "author", json_object_new_string(o->author));
	if (o->created_by)
		json_object_object_add(h, "created_by", json_object_new_string(o->created_by));
	if (o->comment)
		json_object_object_add(h, "comment", json_object_new_string(o->comment));
	json_object_array_add(hist, h);
	ret = xstrdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	free(created);
	json_object_put(c);
	return ret;
}

int image_doc_blob(img_store *s, const char *buf, const char *mt, img_desc *d, char ***wrote,
		   berr *e)
{
	memset(d, 0, sizeof(*d));
	if (store_blob_put(s, buf, strlen(buf), NULL, &d->digest, e) < 0)
		return -1;
	strv_push(wrote, dg_hex(d->digest.s));
	d->media_type = xstrdup(mt);
	d->size = (long long)strlen(buf);
	return 0;
}

int image_layer_blob(img_store *s, int upper, const ld_tar_opts *t, const char *what, img_desc *d,
		     dg_str *diff_id, berr *e)
{
	blob_writer *w = blob_begin(s, NULL, e);
	if (!w)
		return -1;
	ld_sink sink = {.write = blob_sink, .ctx = w};
	ld_tar_result r;
	if (ld_tar(upper, t, &sink, &r, e) < 0) {
		blob_abort(w, false);
		return berr_ctx(e, "%s", what);
	}
	if (blob_commit(w, &d->digest, e) < 0)
		return -1;
	d->size = (long long)r.size;
	d->media_type = xstrdup(layer_mt(t->compression));
	*diff_id = r.diff_id;
	return 0;
}

int image_write_rest(img_store *s, const img_image *parent, const char *config,
		     const img_desc *layer, const char *name, dg_str *id, char ***wrote, berr *e)
{
	size_t n = parent ? parent->rec.n_layers : 0;
	img_desc *descs = xzalloc(sizeof(img_desc) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		const img_layer_rec *l = &parent->rec.layers[i];
		descs[i].digest = l->digest;
		descs[i].size = l->size;
		descs[i].media_type = l->media_type ? l->media_type : (char *)MT_OCI_LAYER_GZIP;
	}
	if (layer)
		descs[n++] = *layer;
	img_desc cd = {0}, md = {0};
	char *man = NULL;
	int r = -1;
	if (image_doc_blob(s, config, MT_OCI_CONFIG, &cd, wrote, e) < 0)
		goto out;
	man = manifest_build_oci(&cd, descs, n);
	if (image_doc_blob(s, man, MT_OCI_MANIFEST, &md, wrote, e) < 0 ||
	    image_commit(s, md.digest.s, name, NULL, id, e) < 0)
		goto out;
	r = 0;
out:
	free(man);
	free(descs);
	desc_free(&cd);
	desc_free(&md);
	return r;
}

static int write_layer(img_store *s, const img_commit_opts *o, img_desc *d, dg_str *diff_id,
		       berr *e)
{
	ld_tar_opts t = {.compression = o->compression,
			 .layer = true,
			 .clamp = o->clamp,
			 .epoch = o->epoch,
			 .stubs = o->stubs,
			 .uids = o->uids,
			 .gids = o->gids,
			 .n_uids = o->n_uids,
			 .n_gids = o->n_gids};
	return image_layer_blob(s, o->upper, &t, "the container's changes", d, diff_id, e);
}

int image_commit_layer(img_store *s, const img_commit_opts *o, dg_str *id, berr *e)
{
	_cleanup_free_ char *name = NULL;
	if (o->name && image_tag_name(s, o->name, &name, e) < 0)
		return -1;
	if (store_lock_shared(s, e) < 0)
		return -1;
	img_image parent = {0};
	img_desc layer = {0};
	char **wrote = NULL, **layers = NULL;
	char *cfg = NULL;
	dg_str diff_id;
	int ret = -1;
	if (image_resolve(s, o->parent, &parent, e) < 0)
		goto out;
	/* the changes are checked before anything is written */
	if (!(cfg = new_config(s, o, &parent, NULL, e)))
		goto out;
	free(cfg);
	if (write_layer(s, o, &layer, &diff_id, e) < 0)
		goto out;
	strv_push(&wrote, dg_hex(layer.digest.s));
	strv_push(&layers, dg_hex(diff_id.s));
	if (!(cfg = new_config(s, o, &parent, &diff_id, e)) ||
	    image_write_rest(s, &parent, cfg, &layer, name, id, &wrote, e) < 0)
		goto out;
	ret = 0;
out:
	free(cfg);
	desc_free(&layer);
	image_free(&parent);
	store_unlock(s);
	if (ret < 0) {
		berr ig;
		store_discard(s, wrote, strv_len(wrote), layers, strv_len(layers), &ig);
	}
	strv_free(wrote);
	strv_free(layers);
	return ret;
}
