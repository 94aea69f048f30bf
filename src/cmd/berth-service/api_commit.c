/* POST /commit?container=C&repo=R&tag=T&comment=&author=&pause=&changes=:
 * eng_commit (`berth commit`'s call), 201 {"Id": ...}. changes: Dockerfile
 * instructions, repeated or one per line. A config in the body (Docker's
 * container config overrides) is refused unless every field is empty. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/commit.h"
#include "engine/engine.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define COMMIT_MAX_CHANGES 256

static const char *body_field(const req *q, resp *r)
{
	if (!q->body || !q->body_len)
		return NULL;
	enum json_tokener_error err;
	json_object *b = json_tokener_parse_verbose(q->body, &err);
	if (err != json_tokener_success) {
		resp_error(r, 400, "the request body is not a JSON object");
		return "";
	}
	const char *bad = NULL;
	if (b && json_object_is_type(b, json_type_object)) {
		json_object_object_foreach(b, k, v)
		{
			if (!svc_json_unset(v)) {
				resp_error(r, 400,
					   "%s: not supported by berth in a commit's config (use "
					   "changes)",
					   k);
				bad = "";
				break;
			}
		}
	}
	json_object_put(b);
	return bad;
}

void api_commit(req *q, resp *r)
{
	const char *ctr = req_arg(q, "container"), *repo = req_arg(q, "repo"),
		   *tag = req_arg(q, "tag"), *pause_s = req_arg(q, "pause");
	if (!ctr || !*ctr) {
		resp_error(r, 400, "container: required");
		return;
	}
	if (body_field(q, r))
		return;
	bool over;
	_cleanup_strv_ char **given = req_args(q, "changes", COMMIT_MAX_CHANGES, &over);
	strv_builder ch = {0};
	/* one instruction per line, too (Docker's form) */
	for (char **g = given; g && *g && ch.n <= COMMIT_MAX_CHANGES; g++) {
		_cleanup_free_ char *v = xstrdup(*g);
		char *sv = NULL;
		for (char *l = strtok_r(v, "\n", &sv); l && ch.n <= COMMIT_MAX_CHANGES;
		     l = strtok_r(NULL, "\n", &sv))
			strvb_push(&ch, l);
	}
	if (over || ch.n > COMMIT_MAX_CHANGES) {
		strvb_free(&ch);
		resp_error(r, 400, "changes: at most %d", COMMIT_MAX_CHANGES);
		return;
	}
	_cleanup_free_ char *name =
	    repo && *repo ? xasprintf("%s:%s", repo, tag && *tag ? tag : "latest") : NULL;
	bool pause = !pause_s || req_arg_bool(q, "pause");
	berr e;
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	img_commit_opts o = {.name = name,
			     .author = req_arg(q, "author"),
			     .comment = req_arg(q, "comment"),
			     .changes = ch.v,
			     .compression = 1,
			     .stubs = ld_engine_stubs};
	dg_str id;
	char *warn = NULL;
	if (!g || eng_commit(g, ctr, &o, pause, &id, &warn, &e) < 0) {
		if (e.errnum == ENOENT && g)
			resp_error(r, 404, "No such container: %s", ctr);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
	} else {
		if (warn)
			fprintf(stderr, "berth-service: commit: %s\n", warn);
		r->status = 201;
		r->json = json_object_new_object();
		json_object_object_add(r->json, "Id", json_object_new_string(id.s));
	}
	free(warn);
	eng_close(g);
	strvb_free(&ch);
}
