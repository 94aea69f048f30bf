/* A container's files over the API (docker cp): HEAD, GET and PUT
 * /containers/{id}/archive, GET /containers/{id}/export and /changes. The
 * work is the engine's (cp_archive.c, changes.c): paths resolved in the
 * container's root, a stopped container's root mounted for the copy. The
 * path's stat goes in X-Docker-Container-Path-Stat (base64 of JSON, mode
 * as Go's os.FileMode), as Docker's. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "image/layerdiff.h"
#include "service.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* st_mode as Go's os.FileMode (what the docker CLI reads) */
static uint32_t go_mode(mode_t m)
{
	uint32_t g = (uint32_t)(m & 0777);
	if (S_ISDIR(m))
		g |= 1u << 31;
	else if (S_ISLNK(m))
		g |= 1u << 27;
	else if (S_ISFIFO(m))
		g |= 1u << 25;
	else if (S_ISSOCK(m))
		g |= 1u << 24;
	else if (S_ISCHR(m))
		g |= (1u << 26) | (1u << 21);
	else if (S_ISBLK(m))
		g |= 1u << 26;
	if (m & S_ISUID)
		g |= 1u << 23;
	if (m & S_ISGID)
		g |= 1u << 22;
	if (m & S_ISVTX)
		g |= 1u << 20;
	return g;
}

/* The stat header's value (malloc'ed). */
static char *stat_header(const eng_path_stat *st)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(st->name));
	json_object_object_add(o, "size", json_object_new_int64(st->size));
	json_object_object_add(o, "mode", json_object_new_int64(go_mode(st->mode)));
	char *t = eng_time_ns(st->mtime_ns);
	json_object_object_add(o, "mtime", json_object_new_string(t));
	free(t);
	json_object_object_add(o, "linkTarget",
			       json_object_new_string(st->link_target ? st->link_target : ""));
	const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(js);
	char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)js, (int)n);
	json_object_put(o);
	return b64;
}

/* The path argument and the store (id filled); NULL after answering. */
static eng *open_path(req *q, resp *r, char id[65], const char **path)
{
	*path = req_arg(q, "path");
	if (!*path || !**path) {
		resp_error(r, 400, "the query parameter path is required");
		return NULL;
	}
	return svc_open_ctr(q, r, id);
}

/* The stat of path: 0 with *hdr, or -1 after answering (404 when missing). */
static int path_stat(eng *g, const char *id, const char *path, resp *r, char **hdr)
{
	eng_path_stat st;
	berr e;
	if (eng_container_path_stat(g, id, path, &st, &e) < 0) {
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return -1;
	}
	*hdr = stat_header(&st);
	eng_path_stat_free(&st);
	return 0;
}

void api_container_archive_head(req *q, resp *r)
{
	char id[65];
	const char *path;
	eng *g = open_path(q, r, id, &path);
	if (!g)
		return;
	char *hdr = NULL;
	if (path_stat(g, id, path, r, &hdr) == 0) {
		r->raw = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (r->raw)
			MHD_add_response_header(r->raw, "X-Docker-Container-Path-Stat", hdr);
		r->status = 200;
	}
	free(hdr);
	eng_close(g);
}

typedef struct tar_job {
	svc_job base;
	char *path; /* NULL: the whole filesystem (export) */
} tar_job;

static void tar_destroy(svc_job *b)
{
	free(((tar_job *)b)->path);
	svc_job_free(b);
}

static void *tar_main(void *arg)
{
	tar_job *j = arg;
	berr e;
	eng *g = eng_open(j->base.root, j->base.run_root, &e);
	if (g) {
		/* the headers are out: a failure can only cut the tar short */
		int r = j->path ? eng_container_archive_out(g, j->base.id, j->path, j->base.fd, &e)
				: eng_container_export(g, j->base.id, j->base.fd, &e);
		if (r < 0 && e.errnum != EPIPE)
			fprintf(stderr, "berth-service: tar of %.12s: %s\n", j->base.id, e.msg);
		eng_close(g);
	}
	close(j->base.fd);
	free(j->path);
	svc_job_free(&j->base);
	return NULL;
}

void api_container_archive_get(req *q, resp *r)
{
	char id[65];
	const char *path;
	eng *g = open_path(q, r, id, &path);
	if (!g)
		return;
	char *hdr = NULL;
	int rc = path_stat(g, id, path, r, &hdr);
	eng_close(g);
	if (rc < 0)
		return;
	tar_job *j = xzalloc(sizeof(*j));
	memcpy(j->base.id, id, sizeof(j->base.id));
	j->path = xstrdup(path);
	j->base.destroy = tar_destroy;
	svc_stream(q, r, &j->base, tar_main, "application/x-tar");
	if (r->raw)
		MHD_add_response_header(r->raw, "X-Docker-Container-Path-Stat", hdr);
	free(hdr);
}

void api_container_export(req *q, resp *r)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	berr e;
	json_object *doc = eng_load(g, id, &e);
	bool layered = doc && eng_doc_str(doc, "GraphDriver.UpperDir");
	json_object_put(doc);
	eng_close(g);
	if (!layered) {
		resp_error(r, 400, "container %.12s has no filesystem layer (a VM container)", id);
		return;
	}
	tar_job *j = xzalloc(sizeof(*j));
	memcpy(j->base.id, id, sizeof(j->base.id));
	j->base.destroy = tar_destroy;
	svc_stream(q, r, &j->base, tar_main, "application/x-tar");
}

/* The tar body is in q->body_fd (http.c streams it to an unlinked temp
 * file in the store as it comes: api_body.c), else in q->body. */
void api_container_archive_put(req *q, resp *r)
{
	char id[65];
	const char *path;
	eng *g = open_path(q, r, id, &path);
	if (!g)
		return;
	int fd = -1;
	berr e;
	if (req_arg_bool(q, "copyUIDGID")) {
		/* the owners are the service's user's, never the tar's */
		resp_error(r, 400, "copyUIDGID: not supported by berth");
	} else if (q->body_fd < 0 && (fd = memfd_create("berth-archive", MFD_CLOEXEC)) < 0) {
		resp_error(r, 500, "memfd_create: %s", strerror(errno));
	} else if (fd >= 0 && q->body_len && fs_write_all(fd, q->body, q->body_len) < 0) {
		resp_error(r, 500, "write the archive: %s", strerror(errno));
	} else if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0) {
		resp_error(r, 500, "seek the archive: %s", strerror(errno));
	} else if (eng_container_archive_in(g, id, path, fd >= 0 ? fd : q->body_fd,
					    req_arg_bool(q, "noOverwriteDirNonDir"), &e) < 0) {
		/* a type clash is the request's fault, as a path that is not a
		 * directory; a read-only root: Docker's 403 */
		resp_error(r,
			   e.errnum == EEXIST  ? 400
			   : e.errnum == EROFS ? 403
					       : status_of_errno(e.errnum),
			   "%s", e.msg);
	} else {
		r->status = 200;
	}
	if (fd >= 0)
		close(fd);
	eng_close(g);
}

void api_container_changes(req *q, resp *r)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	ld_changes ch = {0};
	berr e;
	if (eng_container_changes(g, id, &ch, &e) < 0) {
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		eng_close(g);
		return;
	}
	eng_close(g);
	r->json = json_object_new_array();
	for (size_t k = 0; k < ch.n; k++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Path", json_object_new_string(ch.v[k].path));
		int kind = ch.v[k].kind == 'C' ? 0 : ch.v[k].kind == 'A' ? 1 : 2;
		json_object_object_add(o, "Kind", json_object_new_int(kind));
		json_object_array_add(r->json, o);
	}
	ld_changes_free(&ch);
}
