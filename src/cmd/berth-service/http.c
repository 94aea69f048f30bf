/* The HTTP side of berth-service: who may connect (SO_PEERCRED), the
 * version prefix, routing, request bodies, and turning a handler's answer
 * into a response with Docker's headers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/engine.h"
#include "service.h"
#include "util/fs.h"
#include "util/version.h"
#include "util/xalloc.h"

static const api_route routes[] = {
    {"GET", "/_ping", api_ping},
    {"HEAD", "/_ping", api_ping},
    {"GET", "/version", api_version},
    {"GET", "/info", api_info},
    {"GET", "/containers/json", api_containers_list},
    {"GET", "/containers/*/json", api_container_inspect},
    {"POST", "/containers/create", api_container_create},
    {"POST", "/containers/prune", api_containers_prune},
    {"POST", "/containers/*/start", api_container_start},
    {"POST", "/containers/*/stop", api_container_stop},
    {"POST", "/containers/*/restart", api_container_restart},
    {"POST", "/containers/*/kill", api_container_kill},
    {"POST", "/containers/*/wait", api_container_wait},
    {"POST", "/containers/*/pause", api_container_pause},
    {"POST", "/containers/*/unpause", api_container_unpause},
    {"GET", "/containers/*/logs", api_container_logs},
    {"POST", "/containers/*/attach", api_container_attach},
    {"POST", "/containers/*/exec", api_exec_create},
    {"POST", "/exec/*/start", api_exec_start},
    {"POST", "/exec/*/resize", api_exec_resize},
    {"GET", "/exec/*/json", api_exec_inspect},
    {"GET", "/containers/*/top", api_container_top},
    {"GET", "/containers/*/stats", api_container_stats},
    {"POST", "/containers/*/rename", api_container_rename},
    {"POST", "/containers/*/update", api_container_update},
    {"POST", "/containers/*/resize", api_container_resize},
    {"HEAD", "/containers/*/archive", api_container_archive_head},
    {"GET", "/containers/*/archive", api_container_archive_get},
    {"PUT", "/containers/*/archive", api_container_archive_put},
    {"GET", "/containers/*/export", api_container_export},
    {"GET", "/containers/*/changes", api_container_changes},
    {"DELETE", "/containers/*", api_container_remove},
    {"GET", "/images/json", api_images_list},
    {"GET", "/images/**/json", api_image_inspect},
    {"POST", "/images/create", api_images_create},
    {"GET", "/images/**/history", api_image_history},
    {"POST", "/images/prune", api_images_prune},
    {"POST", "/images/load", api_images_load},
    {"GET", "/images/get", api_images_get},
    {"GET", "/images/**/get", api_image_get},
    {"POST", "/images/**/push", api_image_push},
    {"POST", "/build", api_build},
    {"POST", "/commit", api_commit},
    {"GET", "/system/df", api_system_df},
    {"POST", "/images/**/tag", api_image_tag},
    {"DELETE", "/images/**", api_image_remove},
    {"GET", "/volumes", api_volumes_list},
    {"POST", "/volumes/create", api_volume_create},
    {"POST", "/volumes/prune", api_volumes_prune},
    {"GET", "/volumes/*", api_volume_inspect},
    {"DELETE", "/volumes/*", api_volume_remove},
    {"GET", "/networks", api_networks_list},
    {"POST", "/networks/create", api_network_create},
    {"GET", "/networks/*", api_network_inspect},
    {"POST", "/networks/*/connect", api_network_connect},
    {"POST", "/networks/*/disconnect", api_network_disconnect},
    {"GET", "/events", api_events},
    {"DELETE", "/networks/*", api_network_remove},
};

void resp_error(resp *r, unsigned status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	json_object_put(r->json);
	r->json = json_object_new_object();
	json_object_object_add(r->json, "message", json_object_new_string(m ? m : "error"));
	free(m);
	r->status = status;
}

unsigned status_of_errno(int errnum)
{
	switch (errnum) {
	case ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case EEXIST:
	case EBUSY:
		return MHD_HTTP_CONFLICT;
	case EINVAL:
		return MHD_HTTP_BAD_REQUEST;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

const char *req_arg(const req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool req_arg_bool(const req *q, const char *name)
{
	const char *v = req_arg(q, name);
	return v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
}

struct eng *svc_open_ctr(req *q, resp *r, char id[65])
{
	berr e;
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	if (!g) {
		resp_error(r, 500, "%s", e.msg);
		return NULL;
	}
	if (eng_lookup(g, q->words[1], id, &e) < 0) {
		if (e.errnum == ENOENT)
			resp_error(r, 404, "No such container: %s", q->words[1]);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		eng_close(g);
		return NULL;
	}
	return g;
}

void svc_job_free(svc_job *j)
{
	if (j->client_fd >= 0)
		close(j->client_fd);
	free(j->root);
	free(j->run_root);
	free(j);
}

bool svc_job_gone(const svc_job *j)
{
	struct pollfd pf[2] = {{.fd = j->fd, .events = 0}, {.fd = j->client_fd, .events = 0}};
	return poll(pf, j->client_fd >= 0 ? 2 : 1, 0) > 0 &&
	       ((pf[0].revents | pf[1].revents) & (POLLERR | POLLHUP));
}

struct svc_gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
};

void svc_job_ready(svc_job *j)
{
	struct svc_gate *g = j->gate;
	if (!g)
		return;
	j->gate = NULL;
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

void svc_stream(req *q, resp *r, svc_job *job, void *(*fn)(void *), const char *content_type)
{
	struct svc_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
	bool gated = job->gated; /* job is the thread's once it runs */
	job->gate = gated ? &gate : NULL;
	job->client_fd = -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		job->destroy ? job->destroy(job) : svc_job_free(job);
		resp_error(r, 500, "pipe: %s", strerror(errno));
		return;
	}
	job->fd = p[1];
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	job->client_fd = ci ? fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 3) : -1;
	job->root = xstrdup(q->s->c->root);
	job->run_root = xstrdup(q->s->c->run_root);
	pthread_t t;
	if (pthread_create(&t, NULL, fn, job) != 0) {
		close(p[0]);
		close(p[1]);
		job->destroy ? job->destroy(job) : svc_job_free(job);
		resp_error(r, 500, "pthread_create failed");
		return;
	}
	pthread_detach(t);
	if (gated) {
		pthread_mutex_lock(&gate.mu);
		while (!gate.open)
			pthread_cond_wait(&gate.cv, &gate.mu);
		pthread_mutex_unlock(&gate.mu);
	}
	/* a client gone closes the read end: the writer then fails (EPIPE) */
	r->raw = MHD_create_response_from_pipe(p[0]);
	r->status = 200;
	r->content_type = content_type;
}

/* Tags in the connection's socket context: whether its peer is admitted. */
static const char peer_ok = 1, peer_refused = 2;

void svc_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
		    enum MHD_ConnectionNotificationCode toe)
{
	svc *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct ucred cr;
		socklen_t len = sizeof(cr);
		bool ok = ci &&
			  getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
			  (cr.uid == 0 || cr.uid == s->owner);
		*socket_context = (void *)(ok ? &peer_ok : &peer_refused);
	}
	pthread_mutex_lock(&s->mu);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		s->active++;
	} else {
		s->active--;
		clock_gettime(CLOCK_MONOTONIC, &s->last);
	}
	pthread_mutex_unlock(&s->mu);
}

/* "/v1.41/containers/json" -> "/containers/json"; 0, or -1 when the
 * client asks for a version newer than ours (Docker's 400). */
static int strip_version(const char *url, const char **path, char *ver, size_t vsz)
{
	*path = url;
	ver[0] = 0;
	if (url[0] != '/' || url[1] != 'v')
		return 0;
	const char *p = url + 2;
	unsigned maj, min;
	int n = 0;
	if (sscanf(p, "%u.%u%n", &maj, &min, &n) != 2 || p[n] != '/')
		return 0;
	snprintf(ver, vsz, "%u.%u", maj, min);
	*path = p + n;
	return maj > 1 || (maj == 1 && min > 41) ? -1 : 0;
}

static void split(req *q)
{
	char *t = xstrdup(q->path), *sv = NULL;
	for (char *w = strtok_r(t, "/", &sv); w; w = strtok_r(NULL, "/", &sv)) {
		if (q->n_words == REQ_MAX_WORDS) {
			q->n_words = REQ_MAX_WORDS + 1; /* matches no route */
			break;
		}
		q->words[q->n_words++] = xstrdup(w);
	}
	free(t);
}

/* Pattern words: a name, "*" (any one word) or "**" (one or more: an image
 * name has slashes), matched against the request's words. */
static bool matches(const api_route *rt, const req *q)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "%s", rt->pattern);
	char *pw[REQ_MAX_WORDS], *sv = NULL;
	size_t np = 0;
	for (char *w = strtok_r(pat, "/", &sv); w && np < REQ_MAX_WORDS;
	     w = strtok_r(NULL, "/", &sv))
		pw[np++] = w;
	if (q->n_words > REQ_MAX_WORDS)
		return false;
	size_t n = 0;
	for (size_t i = 0; i < np; i++) {
		if (!strcmp(pw[i], "**")) {
			size_t rest = np - i - 1;
			if (q->n_words < n + 1 + rest)
				return false;
			n = q->n_words - rest;
			continue;
		}
		if (n >= q->n_words || (strcmp(pw[i], "*") && strcmp(pw[i], q->words[n])))
			return false;
		n++;
	}
	return n == q->n_words;
}

char *req_join(const req *q, size_t from, size_t drop_last)
{
	size_t len = 1;
	for (size_t i = from; i + drop_last < q->n_words; i++)
		len += strlen(q->words[i]) + 1;
	char *s = xzalloc(len), *w = s;
	for (size_t i = from; i + drop_last < q->n_words; i++)
		w += sprintf(w, "%s%s", i > from ? "/" : "", q->words[i]);
	return s;
}

static void route(req *q, resp *r)
{
	bool path_known = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
		if (!matches(&routes[i], q))
			continue;
		path_known = true;
		if (!strcmp(routes[i].method, q->method)) {
			routes[i].fn(q, r);
			return;
		}
	}
	if (path_known)
		resp_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "%s %s: method not allowed", q->method,
			   q->path);
	else {
		/* told on the service's stderr: what a client wanted that berth
		 * does not serve */
		fprintf(stderr, "berth-service: %s %s: no such endpoint\n", q->method, q->path);
		resp_error(r, MHD_HTTP_NOT_FOUND, "page not found");
	}
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, resp *r, bool head)
{
	const char *body = "";
	size_t len = 0;
	if (r->json) {
		body = json_object_to_json_string_ext(r->json, JSON_C_TO_STRING_PLAIN);
		len = strlen(body);
	} else if (r->text) {
		body = r->text;
		len = strlen(body);
	}
	struct MHD_Response *mr = r->raw ? r->raw
					 : MHD_create_response_from_buffer(
					       head ? 0 : len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!mr)
		return MHD_NO;
	r->raw = NULL;
	MHD_add_response_header(mr, "Content-Type",
				r->content_type ? r->content_type
				: r->json	? "application/json"
						: "text/plain; charset=utf-8");
	MHD_add_response_header(mr, "Api-Version", API_VERSION);
	MHD_add_response_header(mr, "Docker-Experimental", "false");
	MHD_add_response_header(mr, "Ostype", "linux");
	MHD_add_response_header(mr, "Server", "berth/" BERTH_VERSION " (linux)");
	enum MHD_Result ret = MHD_queue_response(conn, r->status ? r->status : MHD_HTTP_OK, mr);
	MHD_destroy_response(mr);
	return ret;
}

enum MHD_Result svc_handle(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload,
			   size_t *upload_size, void **con_cls)
{
	(void)version;
	svc *s = cls;
	req *q = *con_cls;
	if (!q) { /* the headers: the request starts */
		q = xzalloc(sizeof(*q));
		q->s = s;
		q->conn = conn;
		/* a tar body goes to a file: only for a peer admitted */
		const union MHD_ConnectionInfo *pi =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		bool tar = svc_body_is_file(method, url) && pi && pi->socket_context == &peer_ok;
		q->body_fd = tar ? svc_body_file(s) : -1;
		if (tar && q->body_fd < 0)
			q->body_errno = errno ? errno : EIO;
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size && svc_body_is_file(method, url)) { /* a tar body: to its file */
		if (q->body_size + *upload_size > BODY_FILE_MAX)
			q->too_big = true;
		else if (q->body_fd >= 0 && !q->body_errno &&
			 fs_write_all(q->body_fd, upload, *upload_size) < 0)
			q->body_errno = errno;
		q->body_size += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) { /* a chunk of the body */
		if (q->body_len + *upload_size > BODY_MAX) {
			q->too_big = true;
		} else {
			q->body = xrealloc(q->body, q->body_len + *upload_size + 1);
			memcpy(q->body + q->body_len, upload, *upload_size);
			q->body_len += *upload_size;
			q->body[q->body_len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	resp r = {0};
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	char ver[32];
	q->method = method;
	if (!ci || ci->socket_context != &peer_ok) {
		resp_error(&r, MHD_HTTP_FORBIDDEN,
			   "this socket admits only its owner (uid %u) and root", s->owner);
	} else if (q->too_big) {
		resp_error(&r, MHD_HTTP_CONTENT_TOO_LARGE, "request body larger than %llu bytes",
			   q->body_fd >= 0 ? BODY_FILE_MAX : (unsigned long long)BODY_MAX);
	} else if (q->body_errno) {
		resp_error(&r, 500, "the request body: a temp file in %s/image/tmp: %s", s->c->root,
			   strerror(q->body_errno));
	} else if (strip_version(url, &q->path, ver, sizeof(ver)) < 0) {
		resp_error(
		    &r, MHD_HTTP_BAD_REQUEST,
		    "client version %s is too new. Maximum supported API version is " API_VERSION,
		    ver);
	} else if (q->body_fd >= 0 && lseek(q->body_fd, 0, SEEK_SET) < 0) {
		resp_error(&r, 500, "the request body: lseek: %s", strerror(errno));
	} else {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		split(q);
		route(q, &r);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (s->trace) /* the handler's time: a stream's goes on after */
			fprintf(stderr, "berth-service: %s %s -> %d in %.2f ms\n", method, url,
				r.status ? r.status : 200,
				(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	enum MHD_Result ret = send_resp(conn, &r, !strcmp(method, "HEAD"));
	json_object_put(r.json);
	free(r.text);
	return ret;
}

void svc_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	req *q = *con_cls;
	if (!q)
		return;
	for (size_t i = 0; i < q->n_words && i < REQ_MAX_WORDS; i++)
		free(q->words[i]);
	free(q->body);
	if (q->body_fd >= 0)
		close(q->body_fd);
	free(q);
	*con_cls = NULL;
}
