#include "image/manifest.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static char *dupn(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void desc_free(img_desc *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->ref_name);
	memset(d, 0, sizeof(*d));
}

void manifest_free(img_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	desc_free(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		desc_free(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		desc_free(&m->manifests[i]);
	free(m->manifests);
	memset(m, 0, sizeof(*m));
}

static int parse_desc(json_object *o, const char *where, img_desc *d, berr *e)
{
	memset(d, 0, sizeof(*d));
	if (!json_object_is_type(o, json_type_object))
		return berr_set(e, EINVAL, "%s: not an object", where);
	const char *dg = jstr(o, "digest");
	if (dg_validate(dg, e) < 0)
		return berr_ctx(e, "%s.digest", where);
	strcpy(d->digest.s, dg);
	json_object *sz;
	if (!json_object_object_get_ex(o, "size", &sz) || !json_object_is_type(sz, json_type_int) ||
	    json_object_get_int64(sz) < 0)
		return berr_set(e, EINVAL, "%s.size: missing or invalid", where);
	d->size = json_object_get_int64(sz);
	d->media_type = dupn(jstr(o, "mediaType"));
	json_object *p, *ann;
	if (json_object_object_get_ex(o, "platform", &p)) {
		d->os = dupn(jstr(p, "os"));
		d->arch = dupn(jstr(p, "architecture"));
		d->variant = dupn(jstr(p, "variant"));
	}
	if (json_object_object_get_ex(o, "annotations", &ann)) {
		const char *rn = jstr(ann, "io.containerd.image.name");
		if (!rn)
			rn = jstr(ann, "org.opencontainers.image.ref.name");
		d->ref_name = dupn(rn);
	}
	return 0;
}

static int parse_array(json_object *root, const char *key, img_desc **out, size_t *n, berr *e)
{
	json_object *arr;
	if (!json_object_object_get_ex(root, key, &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return berr_set(e, EINVAL, "%s: missing or not an array", key);
	size_t len = json_object_array_length(arr);
	*out = xzalloc(sizeof(img_desc) * (len ? len : 1));
	*n = 0;
	for (size_t i = 0; i < len; i++) {
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (parse_desc(json_object_array_get_idx(arr, i), where, &(*out)[i], e) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

bool mt_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST) ||
		      !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

int manifest_parse(const char *buf, size_t len, const char *content_type, img_manifest *m, berr *e)
{
	memset(m, 0, sizeof(*m));
	if (len > INT_MAX) /* json-c takes an int length */
		return berr_set(e, EFBIG, "manifest: %zu bytes is too large", len);
	json_tokener *tok = json_tokener_new();
	json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		return berr_set(e, EINVAL, "manifest: invalid JSON: %s",
				json_tokener_error_desc(jerr));
	}
	int ret = -1;
	if (!json_object_is_type(root, json_type_object)) {
		berr_set(e, EINVAL, "manifest: not a JSON object");
		goto out;
	}
	json_object *sv;
	if (json_object_object_get_ex(root, "schemaVersion", &sv) && json_object_get_int(sv) != 2) {
		berr_set(e, EINVAL, "manifest: unsupported schemaVersion %d",
			 json_object_get_int(sv));
		goto out;
	}
	const char *mt = jstr(root, "mediaType");
	if (!mt && content_type && mt_is_manifest(content_type))
		mt = content_type;
	json_object *tmp;
	if (!mt) /* OCI allows omitting mediaType: guess from the shape */
		mt = json_object_object_get_ex(root, "manifests", &tmp) ? MT_OCI_INDEX
									: MT_OCI_MANIFEST;
	if (!mt_is_manifest(mt)) {
		berr_set(e, EINVAL, "manifest: unsupported media type \"%s\"", mt);
		goto out;
	}
	m->media_type = xstrdup(mt);
	m->is_index = !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST);
	if (m->is_index) {
		if (parse_array(root, "manifests", &m->manifests, &m->n_manifests, e) < 0)
			goto out_ctx;
	} else {
		if (!json_object_object_get_ex(root, "config", &tmp)) {
			berr_set(e, EINVAL, "manifest: config: missing");
			goto out;
		}
		if (parse_desc(tmp, "config", &m->config, e) < 0)
			goto out_ctx;
		if (parse_array(root, "layers", &m->layers, &m->n_layers, e) < 0)
			goto out_ctx;
		for (size_t i = 0; i < m->n_layers; i++) {
			const char *lmt = m->layers[i].media_type;
			if (lmt && mt_layer_compression(lmt) < 0) {
				berr_set(e, EINVAL,
					 "manifest: layers[%zu]: unsupported media type \"%s\"", i,
					 lmt);
				goto out;
			}
		}
	}
	ret = 0;
	goto out;
out_ctx:
	berr_ctx(e, "manifest");
out:
	json_object_put(root);
	if (ret < 0)
		manifest_free(m);
	return ret;
}

int manifest_pick(const img_manifest *idx, const char *os, const char *arch, berr *e)
{
	if (!os)
		os = "linux";
	if (!arch)
		arch = "amd64";
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const img_desc *d = &idx->manifests[i];
		if (d->os && d->arch && !strcmp(d->os, os) && !strcmp(d->arch, arch))
			return (int)i;
	}
	return berr_set(e, ENOENT, "no image for platform %s/%s in the manifest list", os, arch);
}

int mt_layer_compression(const char *mt)
{
	if (!mt) /* a descriptor without mediaType (manifest_parse allows it) */
		return -1;
	if (!strcmp(mt, MT_OCI_LAYER) || !strcmp(mt, MT_DOCKER_LAYER))
		return 0;
	if (!strcmp(mt, MT_OCI_LAYER_GZIP) || !strcmp(mt, MT_DOCKER_LAYER_GZIP))
		return 1;
	if (!strcmp(mt, MT_OCI_LAYER_ZSTD))
		return 2;
	/* non-distributable variants carry the same data */
	if (!strncmp(mt, "application/vnd.oci.image.layer.nondistributable.v1.tar", 55) ||
	    !strcmp(mt, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"))
		return 1;
	return -1;
}

static json_object *desc_json(const img_desc *d)
{
	json_object *o = json_object_new_object();
	if (d->media_type) /* optional in what manifest_parse accepts */
		json_object_object_add(o, "mediaType", json_object_new_string(d->media_type));
	json_object_object_add(o, "digest", json_object_new_string(d->digest.s));
	json_object_object_add(o, "size", json_object_new_int64(d->size));
	return o;
}

char *manifest_build_oci(const img_desc *config, const img_desc *layers, size_t n)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "schemaVersion", json_object_new_int(2));
	json_object_object_add(root, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
	json_object_object_add(root, "config", desc_json(config));
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, desc_json(&layers[i]));
	json_object_object_add(root, "layers", arr);
	char *s = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return s;
}
