/* GET /images/json and /images/{name}/json: the image store's index in
 * Docker's shapes. */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"
#include "image/image.h"
#include "image/index.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static json_object *strs(char *const *v, bool digests)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		if (!strchr(*v, '@') != digests)
			json_object_array_add(a, json_object_new_string(*v));
	return a;
}

void api_images_list(req *q, resp *r)
{
	const char *filters = req_arg(q, "filters");
	if (filters && strcmp(filters, "{}") && *filters) {
		resp_error(r, 400, "filters are not supported yet (got %s)", filters);
		return;
	}
	bool all = req_arg_bool(q, "all");
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	img_index x;
	if (!s || index_load(s, &x, &e) < 0) {
		resp_error(r, 500, "%s", e.msg);
		return;
	}
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < x.n; i++) {
		const img_rec *rec = &x.v[i];
		if (!all && !rec->names) /* dangling: docker images -a */
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Id", json_object_new_string(rec->id.s));
		json_object_object_add(o, "ParentId", json_object_new_string(""));
		json_object *tags = strs(rec->names, false);
		if (!json_object_array_length(tags)) {
			json_object_array_add(tags, json_object_new_string("<none>:<none>"));
		}
		json_object_object_add(o, "RepoTags", tags);
		json_object_object_add(o, "RepoDigests", strs(rec->repo_digests, true));
		json_object_object_add(
		    o, "Created",
		    json_object_new_int64(rec->created ? eng_time_parse(rec->created) / 1000000000
						       : rec->added));
		json_object_object_add(o, "Size", json_object_new_int64(rec->size));
		json_object_object_add(o, "VirtualSize", json_object_new_int64(rec->size));
		json_object_object_add(o, "SharedSize", json_object_new_int(-1));
		json_object_object_add(o, "Labels", json_object_new_object());
		json_object_object_add(o, "Containers", json_object_new_int(-1));
		json_object_array_add(arr, o);
	}
	index_free(&x);
	r->json = arr;
}

void api_image_inspect(req *q, resp *r)
{
	berr e;
	_cleanup_free_ char *name = req_join(q, 1, 1);
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	json_object *o = s ? image_inspect(s, name, &e) : NULL;
	if (!o) {
		if (e.errnum == ENOENT)
			resp_error(r, 404, "No such image: %s", name);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return;
	}
	r->json = o;
}
