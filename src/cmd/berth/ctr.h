/* Shared helpers of the container commands (cmd_container*.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "cli.h"
#include "engine/engine.h"

eng *ctr_open(cli *c, berr *e);
static inline void ctr_closep(eng **g)
{
	eng_close(*g);
}
#define _cleanup_eng_ __attribute__((cleanup(ctr_closep)))
/* Start a created/exited container under a new berth-monitor; with attach,
 * relay stdio until it exits and return its status (and clean up / remove
 * it). Without attach returns 0 once it runs. Exit codes as Docker. */
int ctr_launch(cli *c, eng *g, const char *id, bool attach, bool interactive);
/* The attach protocol's client (relay.c). ctr_attach_sock connects to the
 * container's monitor; ctr_relay relays stdio until the exit frame and
 * returns the container's status, or one of CTR_RELAY_*. */
enum { CTR_RELAY_GONE = -1, CTR_RELAY_DETACHED = -2, CTR_RELAY_BUSY = -3 };
typedef struct ctr_relay_opts {
	eng *g; /* non-NULL: proxy our signals to the container id */
	const char *id;
	bool in;		/* forward our stdin */
	bool tty;		/* raw terminal, send the window size */
	bool eof_closes;	/* our stdin's end closes the container's stdin */
	unsigned char keys[16]; /* detach sequence, nkeys 0: none */
	size_t nkeys;
} ctr_relay_opts;
int ctr_attach_sock(eng *g, const char *id, berr *e);
int ctr_relay(int sock, const ctr_relay_opts *o);
void ctr_send_frame(int fd, int type, const void *d, uint32_t len);
int ctr_parse_detach_keys(const char *s, unsigned char out[16], size_t *n, berr *e);
/* Attach to a running container (cmd_attach.c); returns the exit status as
 * docker attach (0 after detaching, 125 not running / refused). */
typedef struct ctr_attach_opts {
	bool no_stdin, sig_proxy;
	const char *detach_keys; /* NULL: ctrl-p,ctrl-q */
} ctr_attach_opts;
int ctr_attach(eng *g, const char *ref, const char *id, const ctr_attach_opts *a);
/* Wait until the container is exited (timeout_ms < 0: forever); returns the
 * exit code or -1 on timeout. */
int ctr_wait_exit(eng *g, const char *id, int timeout_ms);
/* Stop a running or paused container as `stop -t` does (its stop signal,
 * SIGKILL after timeout_s) and wait for its clean-up; not running: 0. */
int ctr_stop(eng *g, const char *id, int timeout_s);
/* The same for many (NULL-terminated), sharing one timeout. */
int ctr_stop_many(eng *g, char *const *ids, int timeout_s);
/* "N units ago" of doc's Created, as ps prints it ("" without one). */
void ctr_created_ago(json_object *doc, char *out, size_t sz);
/* JSON helpers */
const char *ctr_str(json_object *o, const char *path); /* "State.Status" */
int64_t ctr_int(json_object *o, const char *path);
bool ctr_bool(json_object *o, const char *path);
/* Which containers a command acts on: the names given, or with all every
 * container (running ones only if running), with latest the newest one
 * (Podman's --all, --latest). Returns a strv: argv[0], then the references;
 * or NULL with *status after printing an error (both, or with names). */
typedef struct ctr_sel {
	bool all, latest, running;
} ctr_sel;
char **ctr_select(cli *c, const ctr_sel *s, int argc, char **argv, int i, int *status);
/* For a command on one container: with latest, *argv becomes {argv[0], the
 * newest container's id} (kept in one and id), *argc 2, *i 1. 0, or -1 with
 * *status after printing an error. */
int ctr_select_one(cli *c, const ctr_sel *s, int *argc, char ***argv, int *i, char *one[3],
		   char id[65], int *status);
/* "0.0.0.0:8080->80/tcp, ..." for ps (cmd_network.c), malloc'ed */
char *ctr_ports_text(json_object *doc);
