#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

int image_normalize(img_store *s, const char *ref, img_ref *out, berr *e)
{
	_cleanup_free_ char *dom = store_default_registry(s);
	return ref_parse(ref, dom, out, e);
}

int image_tag_name(img_store *s, const char *ref, char **out, berr *e)
{
	img_ref r;
	*out = NULL;
	if (image_normalize(s, ref, &r, e) < 0)
		return -1;
	*out = r.digest ? NULL : ref_tagged(&r);
	ref_free(&r);
	if (!*out)
		return berr_set(e, EINVAL, "invalid reference \"%s\": a name needs a tag here",
				ref);
	return 0;
}

static int find(img_store *s, const img_index *x, const char *ref, berr *e)
{
	_cleanup_free_ char *dom = store_default_registry(s);
	return index_find(x, ref, dom, e);
}

void image_free(img_image *im)
{
	if (!im)
		return;
	rec_free(&im->rec);
	config_free(&im->config);
	strv_free(im->layer_dirs);
	memset(im, 0, sizeof(*im));
}

int image_resolve(img_store *s, const char *ref, img_image *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	img_index x;
	if (index_load(s, &x, e) < 0)
		return -1;
	int i = find(s, &x, ref, e);
	if (i < 0) {
		index_free(&x);
		return -1;
	}
	rec_copy(&out->rec, &x.v[i]);
	index_free(&x);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (store_blob_read(s, out->rec.id.s, &buf, &len, e) < 0 ||
	    config_parse(buf, len, &out->config, e) < 0)
		goto fail;
	out->layer_dirs = xzalloc(sizeof(char *) * (out->rec.n_layers + 1));
	for (size_t k = 0; k < out->rec.n_layers; k++) {
		const char *d = out->rec.layers[k].diff_id.s;
		if (!store_layer_exists(s, d)) {
			berr_set(e, EUCLEAN,
				 "layer %s is missing (run berth system check --repair)", d);
			goto fail;
		}
		out->layer_dirs[k] = store_layer_path(s, d);
		out->n_layers++;
	}
	return 0;
fail:
	berr_ctx(e, "image %s", ref);
	image_free(out);
	return -1;
}

char *image_lowerdir(const img_image *im)
{
	size_t len = 1;
	for (size_t i = 0; i < im->n_layers; i++)
		len += strlen(im->layer_dirs[i]) + 1;
	char *r = xzalloc(len);
	for (size_t i = im->n_layers; i-- > 0;) {
		strcat(r, im->layer_dirs[i]);
		if (i)
			strcat(r, ":");
	}
	return r;
}

int image_tag(img_store *s, const char *src, const char *dst, berr *e)
{
	img_ref r;
	if (image_normalize(s, dst, &r, e) < 0)
		return -1;
	_cleanup_free_ char *name = ref_tagged(&r);
	bool has_digest = r.digest != NULL;
	ref_free(&r);
	if (has_digest || !name)
		return berr_set(e, EINVAL, "invalid tag \"%s\": a tag cannot carry a digest", dst);
	img_index x;
	if (index_load(s, &x, e) < 0)
		return -1;
	int i = find(s, &x, src, e);
	if (i < 0) {
		index_free(&x);
		return -1;
	}
	img_rec rec;
	rec_copy(&rec, &x.v[i]);
	index_free(&x);
	return index_add(s, &rec, name, NULL, e);
}

static void remove_at(img_index *x, size_t i)
{
	rec_free(&x->v[i]);
	memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(img_rec));
	x->n--;
}

int image_remove(img_store *s, const char *ref, bool force, char ***out, berr *e)
{
	int lfd = index_lock(s, e);
	if (lfd < 0)
		return -1;
	img_index x;
	int ret = -1;
	bool deleted = false;
	_cleanup_free_ char *dom = store_default_registry(s);
	_cleanup_free_ char *tagged = NULL, *holder = NULL;
	if (index_load(s, &x, e) < 0)
		goto unlock;
	int i = find(s, &x, ref, e);
	if (i < 0)
		goto free;
	img_rec *r = &x.v[i];
	img_ref pr;
	bool by_name = false;
	if (ref_parse(ref, dom, &pr, e) == 0) {
		tagged = ref_tagged(&pr);
		by_name = tagged && strv_contains(r->names, tagged);
		ref_free(&pr);
	}
	/* deleting (not just untagging) an image a container uses needs force */
	bool would_delete = by_name ? strv_len(r->names) == 1 : true;
	holder = would_delete && !force ? image_holder(s, r->id.s) : NULL;
	if (holder) {
		berr_set(
		    e, EBUSY,
		    "conflict: unable to remove image \"%s\" (must force) - container %.12s is "
		    "using its referenced image %.12s",
		    ref, holder, dg_hex(r->id.s));
		goto free;
	}
	if (by_name) {
		strv_remove(r->names, tagged);
		_cleanup_free_ char *fam = ref_familiar(tagged);
		_cleanup_free_ char *uline = xasprintf("Untagged: %s", fam);
		strv_push(out, uline);
		if (strv_len(r->names) == 0) {
			for (size_t k = 0; r->repo_digests && r->repo_digests[k]; k++) {
				_cleanup_free_ char *f = ref_familiar(r->repo_digests[k]);
				_cleanup_free_ char *line = xasprintf("Untagged: %s", f);
				strv_push(out, line);
			}
			_cleanup_free_ char *line = xasprintf("Deleted: %s", r->id.s);
			strv_push(out, line);
			remove_at(&x, (size_t)i);
			deleted = true;
		}
	} else {
		if (strv_len(r->names) > 1 && !force) {
			berr_set(e, EBUSY,
				 "conflict: unable to delete %.12s (must be forced) - image is "
				 "referenced in multiple repositories",
				 dg_hex(r->id.s));
			goto free;
		}
		for (size_t k = 0; r->names && r->names[k]; k++) {
			_cleanup_free_ char *f = ref_familiar(r->names[k]);
			_cleanup_free_ char *line = xasprintf("Untagged: %s", f);
			strv_push(out, line);
		}
		_cleanup_free_ char *line = xasprintf("Deleted: %s", r->id.s);
		strv_push(out, line);
		remove_at(&x, (size_t)i);
		deleted = true;
	}
	ret = index_save(s, &x, e);
free:
	index_free(&x);
unlock:
	index_unlock(lfd);
	if (ret == 0 && deleted)
		ret = store_gc(s, e);
	return ret;
}

int image_prune(img_store *s, char ***out, berr *e)
{
	int lfd = index_lock(s, e);
	if (lfd < 0)
		return -1;
	img_index x;
	int ret = -1;
	char *holder = NULL;
	if (index_load(s, &x, e) == 0) {
		for (size_t i = x.n; i-- > 0; free(holder), holder = NULL)
			if (strv_len(x.v[i].names) == 0 && strv_len(x.v[i].repo_digests) == 0 &&
			    !(holder = image_holder(s, x.v[i].id.s))) {
				_cleanup_free_ char *line = xasprintf("Deleted: %s", x.v[i].id.s);
				strv_push(out, line);
				remove_at(&x, i);
			}
		ret = index_save(s, &x, e);
		index_free(&x);
	}
	index_unlock(lfd);
	if (ret == 0)
		ret = store_gc(s, e);
	return ret;
}

static json_object *strv_json(char *const *v, bool familiar)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++) {
		char *f = familiar ? ref_familiar(v[i]) : xstrdup(v[i]);
		json_object_array_add(a, json_object_new_string(f));
		free(f);
	}
	return a;
}

json_object *image_inspect(img_store *s, const char *ref, berr *e)
{
	img_image im;
	if (image_resolve(s, ref, &im, e) < 0)
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Id", json_object_new_string(im.rec.id.s));
	json_object_object_add(o, "RepoTags", strv_json(im.rec.names, true));
	json_object_object_add(o, "RepoDigests", strv_json(im.rec.repo_digests, true));
	json_object_object_add(o, "Parent", json_object_new_string(""));
	json_object_object_add(o, "Created",
			       json_object_new_string(im.config.created ? im.config.created : ""));
	json_object *cfg = NULL;
	if (json_object_object_get_ex(im.config.raw, "config", &cfg))
		json_object_object_add(o, "Config", json_object_get(cfg));
	else
		json_object_object_add(o, "Config", json_object_new_object());
	json_object_object_add(o, "Author",
			       json_object_new_string(im.config.author ? im.config.author : ""));
	json_object_object_add(
	    o, "Architecture",
	    json_object_new_string(im.config.architecture ? im.config.architecture : ""));
	if (im.config.variant)
		json_object_object_add(o, "Variant", json_object_new_string(im.config.variant));
	json_object_object_add(o, "Os", json_object_new_string(im.config.os ? im.config.os : ""));
	json_object_object_add(o, "Size", json_object_new_int64(im.rec.size));
	json_object *gd = json_object_new_object(), *data = json_object_new_object();
	_cleanup_free_ char *lower = image_lowerdir(&im);
	json_object_object_add(data, "LowerDir", json_object_new_string(lower));
	json_object_object_add(gd, "Data", data);
	json_object_object_add(gd, "Name", json_object_new_string("overlay"));
	json_object_object_add(o, "GraphDriver", gd);
	json_object *rootfs = json_object_new_object();
	json_object_object_add(rootfs, "Type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "Layers", strv_json(im.config.diff_ids, false));
	json_object_object_add(o, "RootFS", rootfs);
	json_object *meta = json_object_new_object();
	json_object_object_add(meta, "Manifest", json_object_new_string(im.rec.manifest.s));
	json_object_object_add(
	    meta, "ManifestMediaType",
	    json_object_new_string(im.rec.manifest_mt ? im.rec.manifest_mt : ""));
	json_object_object_add(o, "Metadata", meta);
	image_free(&im);
	return o;
}
