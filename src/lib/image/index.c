#include "image/index.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

void strv_remove(char **v, const char *s)
{
	size_t k = 0;
	for (size_t i = 0; v && v[i]; i++) {
		if (!strcmp(v[i], s))
			free(v[i]);
		else
			v[k++] = v[i];
	}
	if (v)
		v[k] = NULL;
}

void rec_free(img_rec *r)
{
	if (!r)
		return;
	free(r->manifest_mt);
	strv_free(r->names);
	strv_free(r->repo_digests);
	for (size_t i = 0; i < r->n_layers; i++)
		free(r->layers[i].media_type);
	free(r->layers);
	free(r->created);
	memset(r, 0, sizeof(*r));
}

void rec_copy(img_rec *d, const img_rec *s)
{
	*d = *s;
	d->manifest_mt = s->manifest_mt ? xstrdup(s->manifest_mt) : NULL;
	d->names = s->names ? strv_dup(s->names) : NULL;
	d->repo_digests = s->repo_digests ? strv_dup(s->repo_digests) : NULL;
	d->created = s->created ? xstrdup(s->created) : NULL;
	d->layers = xzalloc(sizeof(img_layer_rec) * (s->n_layers ? s->n_layers : 1));
	for (size_t i = 0; i < s->n_layers; i++) {
		d->layers[i] = s->layers[i];
		d->layers[i].media_type =
		    s->layers[i].media_type ? xstrdup(s->layers[i].media_type) : NULL;
	}
}

void index_free(img_index *x)
{
	for (size_t i = 0; i < x->n; i++)
		rec_free(&x->v[i]);
	free(x->v);
	x->v = NULL;
	x->n = 0;
}

int index_lock(img_store *s, berr *e)
{
	int fd = openat(store_fd(s), "index.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return berr_sys(e, "open index.lock");
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return berr_sys(e, "flock index.lock");
		}
	return fd;
}

void index_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static const char *js(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long ji(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static char **jstrv(json_object *o, const char *k)
{
	json_object *v;
	strv_builder r = {0};
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *s = json_object_array_get_idx(v, i);
		if (json_object_is_type(s, json_type_string))
			strvb_push(&r, json_object_get_string(s));
	}
	return strvb_take(&r);
}

static int digest_field(json_object *o, const char *k, dg_str *out, berr *e)
{
	const char *d = js(o, k);
	if (dg_validate(d, e) < 0)
		return berr_ctx(e, "%s", k);
	strcpy(out->s, d);
	return 0;
}

static int parse_rec(json_object *o, img_rec *r, berr *e)
{
	memset(r, 0, sizeof(*r));
	if (digest_field(o, "id", &r->id, e) < 0 ||
	    digest_field(o, "manifest", &r->manifest, e) < 0)
		return -1;
	const char *mt = js(o, "manifest_media_type");
	r->manifest_mt = mt ? xstrdup(mt) : NULL;
	r->names = jstrv(o, "names");
	r->repo_digests = jstrv(o, "repo_digests");
	r->config_size = ji(o, "config_size");
	r->size = ji(o, "size");
	r->added = ji(o, "added");
	const char *c = js(o, "created");
	r->created = c ? xstrdup(c) : NULL;
	json_object *ls;
	if (!json_object_object_get_ex(o, "layers", &ls) ||
	    !json_object_is_type(ls, json_type_array))
		return berr_set(e, EINVAL, "layers: missing");
	size_t n = json_object_array_length(ls);
	r->layers = xzalloc(sizeof(img_layer_rec) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(ls, i);
		img_layer_rec *lr = &r->layers[i];
		r->n_layers++;
		if (digest_field(l, "digest", &lr->digest, e) < 0 ||
		    digest_field(l, "diff_id", &lr->diff_id, e) < 0)
			return berr_ctx(e, "layers[%zu]", i);
		const char *lmt = js(l, "media_type");
		lr->media_type = lmt ? xstrdup(lmt) : NULL;
		lr->size = ji(l, "size");
	}
	return 0;
}

int index_load(img_store *s, img_index *x, berr *e)
{
	memset(x, 0, sizeof(*x));
	_cleanup_free_ char *buf = NULL;
	size_t len;
	berr tmp;
	if (fs_read_file_at(store_fd(s), "index.json", &buf, &len, &tmp) < 0) {
		if (tmp.errnum == ENOENT)
			return 0;
		*e = tmp;
		return -1;
	}
	json_object *root = json_tokener_parse(buf), *imgs;
	if (!root || !json_object_object_get_ex(root, "images", &imgs) ||
	    !json_object_is_type(imgs, json_type_array)) {
		json_object_put(root);
		return berr_set(e, EINVAL, "%s/index.json: invalid", store_path(s));
	}
	size_t n = json_object_array_length(imgs);
	x->v = xzalloc(sizeof(img_rec) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		x->n++;
		if (parse_rec(json_object_array_get_idx(imgs, i), &x->v[i], e) < 0) {
			berr_ctx(e, "%s/index.json: images[%zu]", store_path(s), i);
			json_object_put(root);
			index_free(x);
			return -1;
		}
	}
	json_object_put(root);
	return 0;
}

static json_object *strv_json(char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int index_save(img_store *s, const img_index *x, berr *e)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object *imgs = json_object_new_array();
	for (size_t i = 0; i < x->n; i++) {
		const img_rec *r = &x->v[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(r->id.s));
		json_object_object_add(o, "manifest", json_object_new_string(r->manifest.s));
		if (r->manifest_mt)
			json_object_object_add(o, "manifest_media_type",
					       json_object_new_string(r->manifest_mt));
		json_object_object_add(o, "names", strv_json(r->names));
		json_object_object_add(o, "repo_digests", strv_json(r->repo_digests));
		json_object *ls = json_object_new_array();
		for (size_t k = 0; k < r->n_layers; k++) {
			json_object *l = json_object_new_object();
			json_object_object_add(l, "digest",
					       json_object_new_string(r->layers[k].digest.s));
			json_object_object_add(l, "diff_id",
					       json_object_new_string(r->layers[k].diff_id.s));
			if (r->layers[k].media_type)
				json_object_object_add(
				    l, "media_type",
				    json_object_new_string(r->layers[k].media_type));
			json_object_object_add(l, "size", json_object_new_int64(r->layers[k].size));
			json_object_array_add(ls, l);
		}
		json_object_object_add(o, "layers", ls);
		json_object_object_add(o, "config_size", json_object_new_int64(r->config_size));
		json_object_object_add(o, "size", json_object_new_int64(r->size));
		if (r->created)
			json_object_object_add(o, "created", json_object_new_string(r->created));
		json_object_object_add(o, "added", json_object_new_int64(r->added));
		json_object_array_add(imgs, o);
	}
	json_object_object_add(root, "images", imgs);
	const char *txt = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = fs_write_atomic_at(store_fd(s), "index.json", txt, strlen(txt), 0600, true, e);
	json_object_put(root);
	return r;
}

static bool hex_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n < 4 || n > DG_HEX_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int index_find(const img_index *x, const char *ref, const char *default_domain, berr *e)
{
	/* IDs first: "sha256:<hex>" or a hex prefix */
	const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
	if (hex_prefix(hex)) {
		int found = -1;
		for (size_t i = 0; i < x->n; i++)
			if (!strncmp(dg_hex(x->v[i].id.s), hex, strlen(hex))) {
				if (found >= 0)
					return berr_set(e, EINVAL,
							"image ID prefix \"%s\" is ambiguous", ref);
				found = (int)i;
			}
		if (found >= 0)
			return found;
	}
	img_ref r;
	berr pe;
	int parsed = ref_parse(ref, default_domain, &r, &pe);
	/* not an ID either: the reference's own error */
	if (parsed < 0 && !hex_prefix(hex)) {
		if (e)
			*e = pe;
		return -1;
	}
	if (parsed == 0) {
		_cleanup_free_ char *name = ref_name(&r);
		_cleanup_free_ char *tagged = ref_tagged(&r);
		int found = -1;
		for (size_t i = 0; i < x->n && found < 0; i++) {
			if (r.digest) {
				_cleanup_free_ char *byd = xasprintf("%s@%s", name, r.digest);
				if (strv_contains(x->v[i].repo_digests, byd) ||
				    (!strcmp(x->v[i].manifest.s, r.digest) &&
				     (!tagged || strv_contains(x->v[i].names, tagged))))
					found = (int)i;
			} else if (tagged && strv_contains(x->v[i].names, tagged)) {
				found = (int)i;
			}
		}
		ref_free(&r);
		if (found >= 0)
			return found;
	}
	return berr_set(e, ENOENT, "image \"%s\" not found", ref);
}

int index_add(img_store *s, img_rec *rec, const char *name, const char *repo_digest, berr *e)
{
	int lfd = index_lock(s, e);
	if (lfd < 0)
		return -1;
	img_index x;
	int ret = -1;
	if (index_load(s, &x, e) < 0)
		goto out_unlock;
	/* already so (a cached build's tag, a repeated tag): no rewrite, no fsync */
	for (size_t i = 0; i < x.n; i++)
		if (!strcmp(x.v[i].id.s, rec->id.s) &&
		    (!name || strv_contains(x.v[i].names, name)) &&
		    (!repo_digest || strv_contains(x.v[i].repo_digests, repo_digest))) {
			rec_free(rec);
			index_free(&x);
			ret = 0;
			goto out_unlock;
		}
	img_rec *target = NULL;
	for (size_t i = 0; i < x.n; i++) {
		if (name)
			strv_remove(x.v[i].names, name);
		if (!strcmp(x.v[i].id.s, rec->id.s))
			target = &x.v[i];
	}
	if (!target) {
		x.v = xreallocarray(x.v, x.n + 1, sizeof(img_rec));
		target = &x.v[x.n++];
		*target = *rec;
		memset(rec, 0, sizeof(*rec));
		strv_free(target->names);
		target->names = NULL;
		strv_free(target->repo_digests);
		target->repo_digests = NULL;
		if (!target->added)
			target->added = (long long)time(NULL);
	} else {
		rec_free(rec);
	}
	if (name && !strv_contains(target->names, name))
		strv_push(&target->names, name);
	if (repo_digest && !strv_contains(target->repo_digests, repo_digest))
		strv_push(&target->repo_digests, repo_digest);
	ret = index_save(s, &x, e);
	index_free(&x);
out_unlock:
	index_unlock(lfd);
	return ret;
}

int index_add_all(img_store *s, img_rec *recs, char *const *const *names, size_t n, berr *e)
{
	int ret = -1;
	img_index x = {0};
	int lfd = index_lock(s, e);
	if (lfd < 0)
		goto out_free;
	if (index_load(s, &x, e) < 0)
		goto out_unlock;
	for (size_t i = 0; i < n; i++) {
		img_rec *rec = &recs[i];
		size_t t = x.n;
		for (size_t k = 0; k < x.n; k++)
			if (!strcmp(x.v[k].id.s, rec->id.s))
				t = k;
		if (t == x.n) {
			x.v = xreallocarray(x.v, x.n + 1, sizeof(img_rec));
			x.v[x.n] = *rec;
			memset(rec, 0, sizeof(*rec));
			strv_free(x.v[x.n].names);
			x.v[x.n].names = NULL;
			strv_free(x.v[x.n].repo_digests);
			x.v[x.n].repo_digests = NULL;
			if (!x.v[x.n].added)
				x.v[x.n].added = (long long)time(NULL);
			x.n++;
		}
		for (size_t j = 0; names && names[i] && names[i][j]; j++) {
			for (size_t k = 0; k < x.n; k++)
				if (k != t)
					strv_remove(x.v[k].names, names[i][j]);
			if (!strv_contains(x.v[t].names, names[i][j]))
				strv_push(&x.v[t].names, names[i][j]);
		}
	}
	ret = index_save(s, &x, e);
	index_free(&x);
out_unlock:
	index_unlock(lfd);
out_free:
	for (size_t i = 0; i < n; i++)
		rec_free(&recs[i]);
	return ret;
}
