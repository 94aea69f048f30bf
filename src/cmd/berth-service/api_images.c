/* GET /images/{name}/json, /history, POST /images/create (pull), /tag,
 * DELETE /images/{name}: the image store in Docker's shapes (the list and
 * prune: api_images_list.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "image/image.h"
#include "image/image_commit.h"
#include "image/index.h"
#include "registry/registry.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

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

/* POST /images/create?fromSrc=-&repo=R[&tag=T]: docker import, the body a
 * root filesystem tar made a one-layer image (image_import); answered
 * {"status": ID} as Docker. A URL source, changes and platform refused. */
static void import(req *q, resp *r, const char *src)
{
	if (strcmp(src, "-")) {
		resp_error(r, 400, "fromSrc %s: only - (the request body) is supported by berth",
			   src);
		return;
	}
	static const char *const refused[] = {"changes", "platform", NULL};
	for (const char *const *k = refused; *k; k++) {
		const char *v = req_arg(q, *k);
		if (v && *v) {
			resp_error(r, 400, "import: %s not supported by berth", *k);
			return;
		}
	}
	if (q->body_fd < 0 || !q->body_size) {
		resp_error(r, 400,
			   "import: the request body is empty: a root filesystem tar is "
			   "expected");
		return;
	}
	const char *repo = req_arg(q, "repo"), *tag = req_arg(q, "tag");
	_cleanup_free_ char *name =
	    repo && *repo ? (tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo)) : NULL;
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	dg_str id;
	if (!s || image_import(s, q->body_fd, name, &id, &e) < 0) {
		berr_ctx(&e, "import");
		resp_error(r,
			   e.errnum == ENOMEM || e.errnum == ENOSPC || e.errnum == EIO ? 500 : 400,
			   "%s", e.msg);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(id.s));
	r->text = xasprintf("%s\r\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	r->content_type = "application/json";
}

/* POST /images/create?fromImage=X[&tag=T]: a pull, answered as Docker's
 * progress stream (JSON lines; an error is a line too, status 200). */
void api_images_create(req *q, resp *r)
{
	const char *from = req_arg(q, "fromImage"), *tag = req_arg(q, "tag");
	const char *src = req_arg(q, "fromSrc");
	if (src && *src) {
		import(q, r, src);
		return;
	}
	if (!from || !*from) {
		resp_error(r, 400, "fromImage: required");
		return;
	}
	/* tag may be a tag or a digest; fromImage may carry either already */
	const char *last = strrchr(from, '/');
	bool has = strchr(from, '@') || strchr(last ? last : from, ':');
	_cleanup_free_ char *ref =
	    tag && *tag && !has
		? xasprintf("%s%s%s", from, tag[0] == 's' && strchr(tag, ':') ? "@" : ":", tag)
		: xstrdup(from);
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	reg_opts ro = {.tls_verify = -1};
	dg_str id, digest;
	json_object *lines = json_object_new_array();
	json_object *l = json_object_new_object();
	json_object_object_add(l, "status", json_object_new_string("Pulling from"));
	json_object_object_add(l, "id", json_object_new_string(ref));
	json_object_array_add(lines, l);
	l = json_object_new_object();
	if (!s || registry_pull(s, ref, &ro, &id, &digest, &e) < 0) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "message", json_object_new_string(e.msg));
		json_object_object_add(l, "errorDetail", d);
		json_object_object_add(l, "error", json_object_new_string(e.msg));
	} else {
		char *st = xasprintf("Digest: %s", digest.s);
		json_object_object_add(l, "status", json_object_new_string(st));
		free(st);
		json_object_array_add(lines, l);
		l = json_object_new_object();
		st = xasprintf("Status: Image is up to date for %s", ref);
		json_object_object_add(l, "status", json_object_new_string(st));
		free(st);
	}
	json_object_array_add(lines, l);
	/* JSON lines, as Docker streams them */
	size_t n = json_object_array_length(lines), len = 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(json_object_to_json_string_ext(json_object_array_get_idx(lines, i),
							     JSON_C_TO_STRING_PLAIN)) +
		       2;
	char *text = xzalloc(len + 1), *w = text;
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s\r\n",
			     json_object_to_json_string_ext(json_object_array_get_idx(lines, i),
							    JSON_C_TO_STRING_PLAIN));
	json_object_put(lines);
	r->text = text;
	r->content_type = "application/json";
}

/* DELETE /images/{name}[?force=1]: [{"Untagged": x}, {"Deleted": id}] */
void api_image_remove(req *q, resp *r)
{
	_cleanup_free_ char *name = req_join(q, 1, 0);
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	char **out = NULL;
	if (!s || image_remove(s, name, req_arg_bool(q, "force"), &out, &e) < 0) {
		strv_free(out);
		if (e.errnum == ENOENT)
			resp_error(r, 404, "No such image: %s", name);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return;
	}
	json_object *arr = json_object_new_array();
	for (char **l = out; l && *l; l++) {
		const char *colon = strchr(*l, ':');
		if (!colon)
			continue;
		json_object *o = json_object_new_object();
		_cleanup_free_ char *k = xstrndup(*l, (size_t)(colon - *l));
		json_object_object_add(
		    o, k, json_object_new_string(colon + 2 <= *l + strlen(*l) ? colon + 2 : ""));
		json_object_array_add(arr, o);
	}
	strv_free(out);
	r->json = arr;
}

/* POST /images/{name}/tag?repo=R&tag=T: 201 */
void api_image_tag(req *q, resp *r)
{
	_cleanup_free_ char *name = req_join(q, 1, 1);
	const char *repo = req_arg(q, "repo"), *tag = req_arg(q, "tag");
	if (!repo || !*repo) {
		resp_error(r, 400, "repo: required");
		return;
	}
	_cleanup_free_ char *dst = xasprintf("%s:%s", repo, tag && *tag ? tag : "latest");
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	if (!s || image_tag(s, name, dst, &e) < 0) {
		if (e.errnum == ENOENT)
			resp_error(r, 404, "No such image: %s", name);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return;
	}
	r->status = 201;
}

/* GET /images/{name}/history */
void api_image_history(req *q, resp *r)
{
	_cleanup_free_ char *name = req_join(q, 1, 1);
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	img_hist *h = NULL;
	size_t n = 0;
	if (!s || image_history(s, name, &h, &n, &e) < 0) {
		if (e.errnum == ENOENT)
			resp_error(r, 404, "No such image: %s", name);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return;
	}
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Id",
				       json_object_new_string(h[i].id ? h[i].id : "<missing>"));
		json_object_object_add(
		    o, "Created",
		    json_object_new_int64(h[i].created ? eng_time_parse(h[i].created) / 1000000000
						       : 0));
		json_object_object_add(
		    o, "CreatedBy", json_object_new_string(h[i].created_by ? h[i].created_by : ""));
		json_object_object_add(o, "Tags", NULL);
		json_object_object_add(o, "Size", json_object_new_int64(h[i].size));
		json_object_object_add(o, "Comment",
				       json_object_new_string(h[i].comment ? h[i].comment : ""));
		json_object_array_add(arr, o);
	}
	image_history_free(h, n);
	r->json = arr;
}
