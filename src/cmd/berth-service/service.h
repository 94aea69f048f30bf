/* berth-service: the Docker Engine API on a unix socket (`berth system
 * service`), HTTP by libmicrohttpd, JSON by json-c, the work by the engine
 * library. This header is what its files share: the server, one request
 * and the handlers' table (api_*.c). */
#pragma once

#include <json-c/json.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cli_common.h"
#include "util/xalloc.h"

#define API_VERSION	"1.41"
#define API_MIN_VERSION "1.24"
#define BODY_MAX	(16 << 20) /* a JSON request body */
/* a tar body (POST /images/load, /build): into an unlinked file in the
 * store's tmp/, never memory */
#define BODY_FILE_MAX (8ULL << 30)

/* An upgraded connection's socket made blocking: MHD hands it over
 * non-blocking, and a relay's write to a client slower than the container
 * (EAGAIN) ended the stream early, output lost. */
void svc_sock_blocking(int sock);

typedef struct svc {
	cli *c; /* --root, run root */
	pthread_mutex_t mu;
	int active;		/* open connections */
	struct timespec last;	/* when the last one closed (CLOCK_MONOTONIC) */
	uid_t owner;		/* who may connect: this uid (and root) */
	struct pend *pending;	/* attaches waiting for their container's start (mu) */
	pthread_cond_t started; /* a pending attach got its socket */
	struct xrec **execs;	/* exec instances (api_exec.c; mu) */
	size_t n_execs;
	unsigned long exec_seq;
	bool trace; /* BERTH_API_TRACE=1: each request's time on stderr */
} svc;
typedef struct xrec xrec;
/* The exec instances, at the service's end (api_exec.c). */
void svc_execs_free(svc *s);
/* One chunk of a container's output to fd: Docker's 8-byte frame header
 * first when mux (stream 1 stdout, 2 stderr) (api_attach.c). */
int svc_write_frame(int fd, bool mux, int stream, const void *b, size_t n);

/* attach's logs=1: the log so far (stdout and/or stderr) written to fd,
 * framed when mux (api_attach_logs.c). */
struct eng;
void svc_attach_logs(struct eng *g, const char *id, int fd, bool mux, bool out, bool err);

/* An attach that came before the start (docker run's order): the start
 * connects to the monitor for it (so no output is lost) and hands the
 * socket over (api_attach.c). */
typedef struct pend {
	struct pend *next;
	char id[65];
	bool ready, failed;
	int attach_fd;
	bool auto_remove, tty;
} pend;
/* The start handler's side: the pending attach of id, or NULL (under mu). */
pend *svc_pending_find(svc *s, const char *id);

/* One request: the path without its /vX.Y prefix, split in words. */
#define REQ_MAX_WORDS 8
typedef struct req {
	svc *s;
	struct MHD_Connection *conn;
	const char *method, *path;
	char *words[REQ_MAX_WORDS];
	size_t n_words;
	char *body;
	size_t body_len;
	bool too_big;
	/* a tar body: in body_fd (-1: none; rewound for the handler) */
	int body_fd;
	unsigned long long body_size;
	int body_errno; /* a write of it failed */
} req;
/* api_body.c: whether method + url (version prefix included) take a tar
 * body; and the unlinked temp file in the store for it (-1, errno). */
bool svc_body_is_file(const char *method, const char *url);
int svc_body_file(const svc *s);

/* What a handler answers: a status and a JSON body (owned), or a text body. */
typedef struct resp {
	unsigned status;
	json_object *json;
	char *text; /* malloc'ed, used when json is NULL */
	const char *content_type;
	struct MHD_Response *raw; /* instead: a stream or an upgrade (status given) */
} resp;

/* Docker's error body {"message": ...} with status. */
void resp_error(resp *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The status Docker gives an engine error: 404 ENOENT, 409 EEXIST/EBUSY,
 * 400 EINVAL, else 500. */
unsigned status_of_errno(int errnum);
/* A query argument, or NULL. */
const char *req_arg(const req *q, const char *name);
/* words[from .. n - drop_last - 1] joined by "/" (malloc'ed): an image name. */
char *req_join(const req *q, size_t from, size_t drop_last);
/* The store and the container the path's second word names (id filled):
 * NULL after answering 404 (no such container) or the error's status. */
struct eng;
struct eng *svc_open_ctr(req *q, resp *r, char id[65]);

/* A body a detached thread writes (logs, wait): fn(job) gets the pipe's
 * write end in job->fd, closes it and frees the job (svc_job_free); the
 * read end is the response, so the headers go out at once. A job type
 * starts with an svc_job. On failure (answered 500) the job is freed here. */
typedef struct svc_job {
	char *root, *run_root; /* the store, for the thread's own eng_open */
	char id[65];
	int fd;
	/* a dup of the client's socket (or -1), only polled: libmicrohttpd
	 * notices a client gone only when it has something to send, and a
	 * wait or a followed log may have nothing to send for hours */
	int client_fd;
	/* set by the handler: svc_stream returns (the response's headers go
	 * out) only once the thread has called svc_job_ready, e.g. when a log
	 * is open: a client may remove the container as soon as it has them */
	bool gated;
	struct svc_gate *gate;
	/* may be NULL: frees what a job type adds (svc_stream's failures call
	 * it instead of svc_job_free; the thread frees its job itself) */
	void (*destroy)(struct svc_job *j);
} svc_job;
void svc_stream(req *q, resp *r, svc_job *job, void *(*fn)(void *), const char *content_type);
/* The thread's word that svc_stream may return (once; also when it fails). */
void svc_job_ready(svc_job *j);
void svc_job_free(svc_job *j);
/* The job's reader went away: the client closed its connection, or the
 * response pipe's reader is gone. */
bool svc_job_gone(const svc_job *j);
/* Docker's booleans in queries: 1, true, True. */
bool req_arg_bool(const req *q, const char *name);

typedef void (*api_fn)(req *q, resp *r);
typedef struct api_route {
	const char *method;
	const char *pattern; /* "/containers/STAR/json": words; a word "*" matches any one */
	api_fn fn;
} api_route;

/* api_filters.c: the filters argument as "KEY=VALUE" strings (NULL: none),
 * keys other than allowed (NULL-terminated) refused; -1 after answering
 * 400. filters_match: a network or volume record (name, id, label, driver;
 * other keys asked of fn). */
int req_filters(const req *q, resp *r, const char *const *allowed, char ***out);
/* Every non-empty value of a repeated query argument (t=a&t=b), at most
 * max (*over set when there were more); never NULL. */
char **req_args(const req *q, const char *name, size_t max, bool *over);
bool filters_match(char **specs, json_object *rec, bool (*fn)(void *, const char *, const char *),
		   void *arg);

/* api_system.c */
void api_ping(req *q, resp *r);
void api_version(req *q, resp *r);
void api_info(req *q, resp *r);
/* api_containers.c */
void api_containers_list(req *q, resp *r);
void api_container_inspect(req *q, resp *r);
void api_container_create(req *q, resp *r); /* api_create.c */
/* api_json.c: o's field k as a string (NULL when absent or not a string),
 * as a boolean (false when absent), as it is (NULL); an array of strings
 * pushed onto b (absent or null: nothing), else 400 "WHEREk: not a list of
 * strings" and -1. */
const char *svc_jstr(json_object *o, const char *k);
bool svc_jbool(json_object *o, const char *k);
json_object *svc_jget(json_object *o, const char *k);
int svc_jstrs(json_object *o, const char *k, strv_builder *b, resp *r, const char *where);
/* null, false, 0, "", [] and {}: a field a client sent but did not set */
bool svc_json_unset(json_object *v);
/* The keys of o other than known (NULL-terminated) must be unset (null,
 * false, 0, "", [], {}): else 400 "WHEREKEY: not supported by berth", -1. */
int svc_known_only(json_object *o, const char *const *known, const char *where, resp *r);
/* api_stats.c, api_update.c, api_archive.c */
void api_container_stats(req *q, resp *r);
void api_container_rename(req *q, resp *r);
void api_container_update(req *q, resp *r);
void api_container_resize(req *q, resp *r);
void api_container_archive_head(req *q, resp *r);
void api_container_archive_get(req *q, resp *r);
void api_container_archive_put(req *q, resp *r);
void api_container_export(req *q, resp *r);
void api_container_changes(req *q, resp *r);
/* api_images.c */
void api_images_list(req *q, resp *r);
void api_image_inspect(req *q, resp *r);
void api_images_create(req *q, resp *r); /* a pull */
void api_image_remove(req *q, resp *r);
void api_image_tag(req *q, resp *r);
void api_image_history(req *q, resp *r);
void api_images_prune(req *q, resp *r); /* api_images_list.c */
void api_image_push(req *q, resp *r);	/* api_push.c */
/* api_archive_images.c */
void api_image_get(req *q, resp *r);
void api_images_get(req *q, resp *r);
void api_images_load(req *q, resp *r);
/* api_stream.c: one JSON line of a progress stream to fd (o put); an
 * error line. -1 when the write failed (the client is gone). */
int svc_put_line(int fd, json_object *o);
int svc_put_error(int fd, const char *msg);
/* api_build.c */
void api_build(req *q, resp *r);
/* `berth-service __build-child ...`: the build in a fresh process. */
_Noreturn void api_build_child(int argc, char **argv);
void api_commit(req *q, resp *r); /* api_commit.c */
/* api_df.c */
void api_system_df(req *q, resp *r);

/* api_objects.c */
void api_volumes_list(req *q, resp *r);
void api_volume_create(req *q, resp *r);
void api_volume_inspect(req *q, resp *r);
void api_volume_remove(req *q, resp *r);
void api_volumes_prune(req *q, resp *r);
void api_networks_list(req *q, resp *r);
void api_network_inspect(req *q, resp *r);
void api_network_remove(req *q, resp *r);
void api_network_create(req *q, resp *r);

/* api_life.c */
void api_container_start(req *q, resp *r);
void api_container_stop(req *q, resp *r);
void api_container_restart(req *q, resp *r);
void api_container_kill(req *q, resp *r);
void api_container_wait(req *q, resp *r);
void api_container_remove(req *q, resp *r);
void api_container_pause(req *q, resp *r);
void api_container_unpause(req *q, resp *r);
void api_containers_prune(req *q, resp *r);
void api_container_top(req *q, resp *r);
/* api_attach.c */
void api_container_logs(req *q, resp *r);
void api_container_attach(req *q, resp *r);
void api_network_connect(req *q, resp *r);
void api_network_disconnect(req *q, resp *r);
void api_events(req *q, resp *r);
/* api_exec.c */
void api_exec_create(req *q, resp *r);
void api_exec_start(req *q, resp *r);
void api_exec_inspect(req *q, resp *r);
void api_exec_resize(req *q, resp *r);

/* The routes (http.c) and the request handler libmicrohttpd calls. */
enum MHD_Result svc_handle(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload,
			   size_t *upload_size, void **con_cls);
void svc_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe);
void svc_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
		    enum MHD_ConnectionNotificationCode toe);
