/* GET /system/df: what the store holds and its sizes, Docker's shape
 * (`docker system df`): LayersSize (each layer blob once), Images (with how
 * many containers use each), Containers (SizeRw: the bytes of the files in
 * the container's upper directory, SizeRootFs with the image), Volumes
 * (UsageData: Size, RefCount), BuildCache (berth keeps its build cache as
 * images: none listed here). Sizes are the files' apparent sizes, walked
 * with fts (no recursion), hard links counted once per name. */
#include <errno.h>
#include <fts.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"
#include "image/image.h"
#include "image/index.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* Apparent size of the regular files and symlinks under path (0 if none). */
static long long tree_size(const char *path)
{
	char *const paths[2] = {(char *)path, NULL};
	FTS *f = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
	if (!f)
		return 0;
	long long n = 0;
	for (FTSENT *e; (e = fts_read(f));)
		if ((e->fts_info == FTS_F || e->fts_info == FTS_SL) && e->fts_statp)
			n += e->fts_statp->st_size;
	fts_close(f);
	return n;
}

static const char *str_at(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* Containers, and per image ID how many use it (users: "id" -> count). */
static json_object *containers(eng *g, json_object *users)
{
	json_object *arr = json_object_new_array();
	_cleanup_strv_ char **ids = eng_list(g);
	for (char **p = ids; *p; p++) {
		berr ig;
		json_object *d = eng_load(g, *p, &ig);
		if (!d)
			continue;
		const char *st = eng_reconcile(g, *p, d);
		json_object *o = json_object_new_object(), *cfg = NULL, *state = NULL;
		json_object_object_get_ex(d, "Config", &cfg);
		json_object_object_get_ex(d, "State", &state);
		const char *image = str_at(d, "Image"), *name = str_at(d, "Name");
		json_object_object_add(o, "Id", json_object_new_string(*p));
		json_object *names = json_object_new_array();
		if (name)
			json_object_array_add(names, json_object_new_string(name));
		json_object_object_add(o, "Names", names);
		const char *iname = str_at(cfg, "Image");
		json_object_object_add(o, "Image", json_object_new_string(iname ? iname : ""));
		json_object_object_add(o, "ImageID", json_object_new_string(image ? image : ""));
		const char *created = str_at(d, "Created");
		json_object_object_add(
		    o, "Created",
		    json_object_new_int64(created ? eng_time_parse(created) / 1000000000 : 0));
		json_object_object_add(o, "State", json_object_new_string(st));
		json_object_object_add(o, "Status", json_object_new_string(st));
		_cleanup_free_ char *upper = eng_path(g, *p, "upper");
		long long rw = tree_size(upper);
		json_object_object_add(o, "SizeRw", json_object_new_int64(rw));
		json_object_object_add(o, "SizeRootFs", json_object_new_int64(rw));
		json_object_object_add(o, "Mounts", json_object_new_array());
		json_object_array_add(arr, o);
		if (image) {
			json_object *c;
			int n = json_object_object_get_ex(users, image, &c) ? json_object_get_int(c)
									    : 0;
			json_object_object_add(users, image, json_object_new_int(n + 1));
		}
		json_object_put(d);
	}
	return arr;
}

static json_object *volumes(eng *g)
{
	json_object *arr = json_object_new_array();
	_cleanup_strv_ char **names = eng_volume_list(g);
	for (char **n = names; *n; n++) {
		berr ig;
		json_object *v = eng_volume_inspect(g, *n, &ig);
		if (!v)
			continue;
		json_object_object_del(v, "Anonymous");
		_cleanup_free_ char *data = eng_volume_data(g, *n);
		char id[65];
		json_object *u = json_object_new_object();
		json_object_object_add(u, "Size",
				       json_object_new_int64(data ? tree_size(data) : 0));
		json_object_object_add(u, "RefCount",
				       json_object_new_int(eng_volume_user(g, *n, id) ? 1 : 0));
		json_object_object_add(v, "UsageData", u);
		json_object_array_add(arr, v);
	}
	return arr;
}

static json_object *images(img_store *s, const img_index *x, json_object *users,
			   long long *layers_size)
{
	json_object *arr = json_object_new_array();
	/* each layer blob once: LayersSize and what images share */
	json_object *seen = json_object_new_object();
	for (size_t i = 0; i < x->n; i++)
		for (size_t k = 0; k < x->v[i].n_layers; k++) {
			const img_layer_rec *l = &x->v[i].layers[k];
			json_object *c;
			int n = json_object_object_get_ex(seen, l->digest.s, &c)
				    ? json_object_get_int(c)
				    : 0;
			if (!n)
				*layers_size += l->size;
			json_object_object_add(seen, l->digest.s, json_object_new_int(n + 1));
		}
	for (size_t i = 0; i < x->n; i++) {
		const img_rec *rec = &x->v[i];
		long long shared = 0;
		for (size_t k = 0; k < rec->n_layers; k++) {
			json_object *c;
			if (json_object_object_get_ex(seen, rec->layers[k].digest.s, &c) &&
			    json_object_get_int(c) > 1)
				shared += rec->layers[k].size;
		}
		json_object *o = json_object_new_object(), *c;
		json_object_object_add(o, "Id", json_object_new_string(rec->id.s));
		json_object_object_add(o, "ParentId", json_object_new_string(""));
		json_object *tags = json_object_new_array(), *digs = json_object_new_array();
		for (char **n = rec->names; n && *n; n++)
			json_object_array_add(tags, json_object_new_string(*n));
		for (char **n = rec->repo_digests; n && *n; n++)
			json_object_array_add(digs, json_object_new_string(*n));
		json_object_object_add(o, "RepoTags", tags);
		json_object_object_add(o, "RepoDigests", digs);
		json_object_object_add(
		    o, "Created",
		    json_object_new_int64(rec->created ? eng_time_parse(rec->created) / 1000000000
						       : rec->added));
		json_object_object_add(o, "Size", json_object_new_int64(rec->size));
		json_object_object_add(o, "VirtualSize", json_object_new_int64(rec->size));
		json_object_object_add(o, "SharedSize", json_object_new_int64(shared));
		json_object_object_add(o, "Labels", json_object_new_object());
		int n =
		    json_object_object_get_ex(users, rec->id.s, &c) ? json_object_get_int(c) : 0;
		/* a container held by no record (its hold only) still counts */
		_cleanup_free_ char *holder = n ? NULL : image_holder(s, rec->id.s);
		json_object_object_add(o, "Containers",
				       json_object_new_int(n	    ? n
							   : holder ? 1
								    : 0));
		json_object_array_add(arr, o);
	}
	json_object_put(seen);
	return arr;
}

void api_system_df(req *q, resp *r)
{
	berr e;
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	if (!g) {
		resp_error(r, 500, "%s", e.msg);
		return;
	}
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	img_index x;
	if (!s || index_load(s, &x, &e) < 0) {
		eng_close(g);
		resp_error(r, 500, "%s", e.msg);
		return;
	}
	json_object *users = json_object_new_object();
	long long layers = 0;
	json_object *ctrs = containers(g, users);
	json_object *imgs = images(s, &x, users, &layers);
	json_object *vols = volumes(g);
	eng_close(g);
	index_free(&x);
	json_object_put(users);
	r->json = json_object_new_object();
	json_object_object_add(r->json, "LayersSize", json_object_new_int64(layers));
	json_object_object_add(r->json, "Images", imgs);
	json_object_object_add(r->json, "Containers", ctrs);
	json_object_object_add(r->json, "Volumes", vols);
	json_object_object_add(r->json, "BuildCache", json_object_new_array());
}
