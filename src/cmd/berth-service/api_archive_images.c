/* GET /images/{name}/get, GET /images/get?names=A&names=B: a docker-archive
 * tar (image_save, what `berth save` writes), streamed; POST /images/load: a
 * docker-archive or oci-archive body (streamed to a temp file first,
 * api_body.c) through image_load, all or nothing, answered with
 * {"stream": "Loaded image: X\n"} lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define SAVE_MAX_NAMES 1024

typedef struct save_job {
	svc_job j;
	char **refs;
} save_job;

static void save_destroy(svc_job *j)
{
	strv_free(((save_job *)j)->refs);
	svc_job_free(j);
}

static void *save_thread(void *arg)
{
	save_job *sj = arg;
	berr e;
	_cleanup_store_ img_store *s = store_open(sj->j.root, &e);
	/* an error after the headers can only cut the tar short: the client
	 * sees a truncated archive, as with Docker */
	if (s && image_save(s, sj->refs, sj->j.fd, SAVE_DOCKER_ARCHIVE, &e) < 0)
		fprintf(stderr, "berth-service: save: %s\n", e.msg);
	close(sj->j.fd);
	strv_free(sj->refs);
	svc_job_free(&sj->j);
	return NULL;
}

/* Every name resolved first: an unknown one is a 404 before any byte. */
static void save(req *q, resp *r, char **refs)
{
	if (!refs || !*refs) {
		strv_free(refs);
		resp_error(r, 400, "names: at least one image is required");
		return;
	}
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	for (size_t i = 0; s && refs[i]; i++) {
		img_image im;
		if (image_resolve(s, refs[i], &im, &e) < 0) {
			if (e.errnum == ENOENT)
				resp_error(r, 404, "No such image: %s", refs[i]);
			else
				resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
			strv_free(refs);
			return;
		}
		image_free(&im);
	}
	if (!s) {
		strv_free(refs);
		resp_error(r, 500, "%s", e.msg);
		return;
	}
	save_job *sj = xzalloc(sizeof(*sj));
	sj->refs = refs;
	sj->j.destroy = save_destroy;
	svc_stream(q, r, &sj->j, save_thread, "application/x-tar");
}

void api_image_get(req *q, resp *r)
{
	_cleanup_free_ char *name = req_join(q, 1, 1);
	char **refs = NULL;
	strv_push(&refs, name);
	save(q, r, refs);
}

void api_images_get(req *q, resp *r)
{
	bool over;
	char **refs = req_args(q, "names", SAVE_MAX_NAMES, &over);
	if (over) {
		strv_free(refs);
		resp_error(r, 400, "names: at most %d images", SAVE_MAX_NAMES);
		return;
	}
	save(q, r, refs);
}

void api_images_load(req *q, resp *r)
{
	if (q->body_fd < 0) {
		resp_error(r, 500, "the request body: no temp file");
		return;
	}
	if (!q->body_size) {
		resp_error(r, 400,
			   "the request body is empty: a docker-archive or oci-archive "
			   "tar is expected");
		return;
	}
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	char **out = NULL;
	if (!s || image_load(s, q->body_fd, NULL, &out, &e) < 0) {
		strv_free(out);
		berr_ctx(&e, "load");
		resp_error(r,
			   e.errnum == ENOMEM || e.errnum == ENOSPC || e.errnum == EIO ? 500 : 400,
			   "%s", e.msg);
		return;
	}
	strv_builder lines = {0};
	size_t len = 1;
	for (size_t i = 0; out && out[i]; i++) {
		json_object *o = json_object_new_object();
		_cleanup_free_ char *st = xasprintf(
		    "Loaded image%s: %s\n", strncmp(out[i], "sha256:", 7) ? "" : " ID", out[i]);
		json_object_object_add(o, "stream", json_object_new_string(st));
		strvb_push_take(&lines, xasprintf("%s\r\n", json_object_to_json_string_ext(
								o, JSON_C_TO_STRING_PLAIN)));
		len += strlen(lines.v[lines.n - 1]);
		json_object_put(o);
	}
	strv_free(out);
	char *text = xzalloc(len), *w = text;
	for (size_t i = 0; i < lines.n; i++)
		w = stpcpy(w, lines.v[i]);
	strvb_free(&lines);
	r->text = text;
	r->content_type = "application/json";
}
