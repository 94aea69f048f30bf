/* image_history: `docker history` from an image config's history array. A
 * line's IMAGE is a local image whose config has exactly this prefix of the
 * history and of the layers (the parent an image was committed on), else
 * <missing>, as Docker prints for layers that are not images themselves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_commit.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static size_t hist_len(img_store *s, const img_rec *r)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	berr ig;
	if (store_blob_read(s, r->id.s, &buf, &len, &ig) < 0)
		return 0;
	json_object *c = json_tokener_parse(buf), *h;
	size_t n = c && json_object_object_get_ex(c, "history", &h) &&
			   json_object_is_type(h, json_type_array)
		       ? json_object_array_length(h)
		       : 0;
	json_object_put(c);
	return n;
}

/* A local image with nl layers equal to rec's first nl and nh history
 * entries, its ID malloc'ed; NULL if none. */
static char *image_at(img_store *s, const img_index *x, const img_rec *rec, size_t nl, size_t nh)
{
	for (size_t i = 0; i < x->n; i++) {
		const img_rec *r = &x->v[i];
		if (r->n_layers != nl || !strcmp(r->id.s, rec->id.s))
			continue;
		bool same = true;
		for (size_t j = 0; j < nl && same; j++)
			same = !strcmp(r->layers[j].diff_id.s, rec->layers[j].diff_id.s);
		if (same && hist_len(s, r) == nh)
			return xstrdup(r->id.s);
	}
	return NULL;
}

int image_history(img_store *s, const char *ref, img_hist **out, size_t *n, berr *e)
{
	*out = NULL;
	*n = 0;
	img_index x = {0};
	_cleanup_free_ char *def = store_default_registry(s);
	if (index_load(s, &x, e) < 0)
		return -1;
	int at = index_find(&x, ref, def, e);
	if (at < 0) {
		index_free(&x);
		return -1;
	}
	const img_rec *rec = &x.v[at];
	_cleanup_free_ char *buf = NULL;
	size_t len;
	json_object *c = NULL, *h = NULL;
	int ret = -1;
	if (store_blob_read(s, rec->id.s, &buf, &len, e) < 0)
		goto out;
	c = json_tokener_parse(buf);
	if (!c || !json_object_is_type(c, json_type_object)) {
		berr_set(e, EINVAL, "image %s: config is not a JSON object", rec->id.s);
		goto out;
	}
	size_t nh =
	    json_object_object_get_ex(c, "history", &h) && json_object_is_type(h, json_type_array)
		? json_object_array_length(h)
		: 0;
	size_t total = nh ? nh : rec->n_layers;
	img_hist *v = xzalloc(sizeof(img_hist) * (total ? total : 1));
	size_t layer = 0;
	for (size_t k = 0; k < total; k++) {
		img_hist *it = &v[total - 1 - k]; /* newest first */
		json_object *ent = nh ? json_object_array_get_idx(h, k) : NULL, *emp;
		if (ent && json_object_is_type(ent, json_type_object)) {
			it->created = jstr(ent, "created");
			it->created_by = jstr(ent, "created_by");
			it->comment = jstr(ent, "comment");
			it->empty_layer = json_object_object_get_ex(ent, "empty_layer", &emp) &&
					  json_object_get_boolean(emp);
		} else {
			it->created = jstr(c, "created");
		}
		if (!it->empty_layer && layer < rec->n_layers)
			it->size = rec->layers[layer++].size;
		it->id = k + 1 == total ? xstrdup(rec->id.s) : image_at(s, &x, rec, layer, k + 1);
	}
	*out = v;
	*n = total;
	ret = 0;
out:
	json_object_put(c);
	index_free(&x);
	return ret;
}

void image_history_free(img_hist *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].id);
		free(h[i].created);
		free(h[i].created_by);
		free(h[i].comment);
	}
	free(h);
}
