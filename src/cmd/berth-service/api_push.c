/* POST /images/{name}/push?tag=T: registry_push, answered as Docker's
 * progress stream (JSON lines: "The push refers to repository [R]", one
 * line per layer step, "T: digest: D", the aux {Tag, Digest}); an error is
 * a line with errorDetail, status 200, as Docker does. No tag: every tag of
 * the repository the store holds (docker push --all-tags). X-Registry-Auth
 * (base64url JSON {username, password}) is used instead of the auth file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/index.h"
#include "registry/registry.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define PUSH_MAX_TAGS 1024

typedef struct push_job {
	svc_job j;
	char *repo;  /* as the client named it */
	char **refs; /* what to push: repo:tag each */
	char *user, *pass;
	bool failed; /* a write to the client failed: it is gone */
} push_job;

static void push_destroy(svc_job *j)
{
	push_job *p = (push_job *)j;
	free(p->repo);
	strv_free(p->refs);
	if (p->pass)
		explicit_bzero(p->pass, strlen(p->pass));
	free(p->user);
	free(p->pass);
	svc_job_free(&p->j);
}

/* One JSON line to the client (frees o). */
static void put_line(push_job *p, json_object *o)
{
	if (p->failed)
		json_object_put(o);
	else if (svc_put_line(p->j.fd, o) < 0)
		p->failed = true;
}

static void put_status(push_job *p, const char *status, const char *id)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(status));
	if (id) {
		json_object_object_add(o, "progressDetail", json_object_new_object());
		json_object_object_add(o, "id", json_object_new_string(id));
	}
	put_line(p, o);
}

static void put_error(push_job *p, const char *msg)
{
	if (!p->failed && svc_put_error(p->j.fd, msg) < 0)
		p->failed = true;
}

static void on_progress(void *ctx, const char *digest, const char *status, unsigned long long done,
			unsigned long long total)
{
	push_job *p = ctx;
	const char *hex = strchr(digest, ':') ? strchr(digest, ':') + 1 : digest;
	char id[13];
	snprintf(id, sizeof(id), "%.12s", hex);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object *d = json_object_new_object();
	if (!strcmp(status, "Pushing")) {
		json_object_object_add(d, "current", json_object_new_int64((long long)done));
		if (total)
			json_object_object_add(d, "total", json_object_new_int64((long long)total));
	}
	json_object_object_add(o, "progressDetail", d);
	json_object_object_add(o, "id", json_object_new_string(id));
	put_line(p, o);
}

static void *push_thread(void *arg)
{
	push_job *p = arg;
	berr e;
	_cleanup_store_ img_store *s = store_open(p->j.root, &e);
	_cleanup_free_ char *head = xasprintf("The push refers to repository [%s]", p->repo);
	put_status(p, head, NULL);
	if (!s)
		put_error(p, e.msg);
	reg_opts ro = {.tls_verify = -1,
		       .user = p->user,
		       .pass = p->pass,
		       .progress = on_progress,
		       .progress_ctx = p};
	for (size_t i = 0; s && p->refs[i] && !p->failed; i++) {
		dg_str dig;
		if (registry_push(s, p->refs[i], NULL, &ro, &dig, &e) < 0) {
			put_error(p, e.msg);
			break;
		}
		const char *tag = strrchr(p->refs[i], ':');
		tag = tag ? tag + 1 : "latest";
		_cleanup_free_ char *st = xasprintf("%s: digest: %s", tag, dig.s);
		put_status(p, st, NULL);
		json_object *o = json_object_new_object(), *aux = json_object_new_object();
		json_object_object_add(aux, "Tag", json_object_new_string(tag));
		json_object_object_add(aux, "Digest", json_object_new_string(dig.s));
		json_object_object_add(o, "progressDetail", json_object_new_object());
		json_object_object_add(o, "aux", aux);
		put_line(p, o);
	}
	close(p->j.fd);
	push_destroy(&p->j);
	return NULL;
}

/* X-Registry-Auth: base64url (or plain base64) of a JSON object; 0 with
 * user/pass set (or left NULL: none given), -1 after answering 400. */
static int registry_auth(req *q, resp *r, char **user, char **pass)
{
	*user = *pass = NULL;
	const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "X-Registry-Auth");
	if (!h || !*h)
		return 0;
	size_t n = strlen(h);
	if (n > 64 * 1024) {
		resp_error(r, 400, "X-Registry-Auth: longer than 64 KiB");
		return -1;
	}
	/* base64url -> base64, padded */
	_cleanup_free_ char *b = xzalloc(n + 4);
	for (size_t i = 0; i < n; i++)
		b[i] = h[i] == '-' ? '+' : h[i] == '_' ? '/' : h[i];
	while (n % 4)
		b[n++] = '=';
	size_t len = 0;
	_cleanup_free_ char *js = b64_decode(b, &len);
	json_object *o = js ? json_tokener_parse(js) : NULL;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		resp_error(r, 400, "X-Registry-Auth: not base64url of a JSON object");
		return -1;
	}
	json_object *u, *pw;
	if (json_object_object_get_ex(o, "username", &u) && json_object_get_string_len(u)) {
		*user = xstrdup(json_object_get_string(u));
		*pass = xstrdup(json_object_object_get_ex(o, "password", &pw)
				    ? json_object_get_string(pw)
				    : "");
	}
	if (js)
		explicit_bzero(js, strlen(js));
	json_object_put(o);
	return 0;
}

/* The refs to push: name:tag, or every stored tag of the repository. */
static char **push_refs(req *q, resp *r, const char *name, const char *tag)
{
	char **refs = NULL;
	if (tag && *tag) {
		_cleanup_free_ char *ref = xasprintf("%s:%s", name, tag);
		strv_push(&refs, ref);
		return refs;
	}
	const char *last = strrchr(name, '/');
	if (strchr(last ? last : name, ':') || strchr(name, '@')) {
		strv_push(&refs, name);
		return refs;
	}
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	_cleanup_free_ char *probe = xasprintf("%s:latest", name), *full = NULL;
	img_index x = {0};
	if (!s || image_tag_name(s, probe, &full, &e) < 0 || index_load(s, &x, &e) < 0) {
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return NULL;
	}
	size_t plen = strlen(full) - strlen("latest"); /* "R:" */
	for (size_t i = 0; i < x.n; i++)
		for (char **nm = x.v[i].names; nm && *nm; nm++)
			if (!strncmp(*nm, full, plen) && !strchr(*nm + plen, '/') &&
			    strv_len(refs) < PUSH_MAX_TAGS) {
				_cleanup_free_ char *ref = xasprintf("%s:%s", name, *nm + plen);
				strv_push(&refs, ref);
			}
	index_free(&x);
	if (!refs)
		resp_error(r, 404, "An image does not exist locally with the tag: %s", name);
	return refs;
}

void api_image_push(req *q, resp *r)
{
	_cleanup_free_ char *name = req_join(q, 1, 1);
	char *user, *pass;
	if (registry_auth(q, r, &user, &pass) < 0)
		return;
	char **refs = push_refs(q, r, name, req_arg(q, "tag"));
	if (!refs) {
		free(user);
		free(pass);
		return;
	}
	push_job *p = xzalloc(sizeof(*p));
	p->repo = xstrdup(name);
	p->refs = refs;
	p->user = user;
	p->pass = pass;
	p->j.destroy = push_destroy;
	svc_stream(q, r, &p->j, push_thread, "application/json");
}
