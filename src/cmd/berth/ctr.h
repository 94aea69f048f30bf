/* Shared helpers of the container commands (cmd_container*.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "cli.h"
#include "engine/container.h"

static inline eng *ctr_open(cli *c, berr *e)
{
	return eng_open(c->root, c->run_root, e);
}
static inline void ctr_closep(eng **g)
{
	eng_close(*g);
}
#define _cleanup_eng_ __attribute__((cleanup(ctr_closep)))
/* The front end's side of start and attach (relay.c): this terminal and
 * these signals around the engine's relay, and the printing. */
typedef struct ctr_io {
	bool in;	  /* forward our stdin */
	bool tty;	  /* raw terminal (with in), send the window size */
	bool eof_closes;  /* our stdin's end closes the container's stdin */
	bool sig_proxy;	  /* the signals we get go to the container */
	const char *keys; /* detach sequence, NULL: none */
} ctr_io;
/* Relay on sock (an attached start's) until the exit: the container's
 * status or ENG_ATTACH_*. */
int ctr_relay(eng *g, const char *id, int sock, const ctr_io *io);
/* Start a created/exited container (eng_container_start); with attach,
 * relay stdio until it exits and return its status. Without attach returns
 * 0 once it runs. Prints warnings and errors; exit codes as Docker. */
int ctr_start(eng *g, const char *id, bool attach, bool interactive);
/* What a start's result says (warnings, a failed attach), printed. */
void ctr_start_report(const eng_start_result *r);
/* Attach to a running container; returns the exit status as docker
 * attach (0 after detaching, 125 not running / refused). */
typedef struct ctr_attach_opts {
	bool no_stdin, sig_proxy;
	const char *detach_keys; /* NULL: ctrl-p,ctrl-q */
} ctr_attach_opts;
int ctr_attach(eng *g, const char *ref, const char *id, const ctr_attach_opts *a);
/* "N units ago" of doc's Created, as ps prints it ("" without one). */
void ctr_created_ago(json_object *doc, char *out, size_t sz);
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
/* berth stats' and berth pod stats' table (or --format json/template, one
 * object a line) of ids, sampled 200 ms apart, every second unless
 * no_stream; pods (NULL: none) the pod of each, a POD column. Returns the
 * exit status (an error printed). */
int ctr_stats_show(eng *g, char **ids, char **pods, bool no_stream, const char *format);
/* "0.0.0.0:8080->80/tcp, ..." for ps (cmd_network.c), malloc'ed */
char *ctr_ports_text(json_object *doc);
