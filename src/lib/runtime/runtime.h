/* berth's OCI runtime: bundles (rootfs + config.json) into isolated processes,
 * with the lifecycle of the OCI runtime spec (create, start, state, kill,
 * delete) and runc's extras (run, exec, list, ps).
 *
 * State lives in <state_root>/<id>/ (default /run/berth-runtime): state.json
 * (written atomically once the container is created), a copy of config.json
 * (for delete's poststop hooks), and exec.sock while the container waits for
 * `start`. Status is derived, never trusted from disk: the pid and its start
 * time say whether the process still exists, exec.sock says created/running. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec/spec.h"
#include "util/error.h"

typedef struct rt_ctx {
	const char *state_root; /* --root */
	bool systemd_cgroup;	/* --systemd-cgroup */
	/* Warnings for the front end to print (unknown capabilities, skipped
	 * limits, ...): NULL-terminated, owned by the caller (strv_free). */
	char **warnings;
} rt_ctx;

typedef struct rt_create_opts {
	const char *bundle;	    /* default "." */
	const char *pid_file;	    /* NULL = none */
	const char *console_socket; /* NULL = none */
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	pid_t *pid_out; /* if set: the init's pid, once created */
} rt_create_opts;

enum rt_status { RT_CREATING, RT_CREATED, RT_RUNNING, RT_STOPPED, RT_PAUSED };

typedef struct rt_info {
	char *id;
	pid_t pid; /* 0 when stopped */
	enum rt_status status;
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char *owner;
	char **annotations; /* "key=value" */
} rt_info;

const char *rt_status_name(enum rt_status s);

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 1024 bytes. */
int rt_validate_id(const char *id, berr *e);

int rt_create(rt_ctx *c, const char *id, const rt_create_opts *o, berr *e);
int rt_start(rt_ctx *c, const char *id, berr *e);

/* create + start + wait for the process; *exit_status is its status (128+N
 * for signal N). With detach, returns after start with *exit_status 0.
 * Without a console socket and with process.terminal, the caller's terminal
 * is attached. The container is deleted afterwards unless detach. */
int rt_run(rt_ctx *c, const char *id, const rt_create_opts *o, bool detach, int *exit_status,
	   berr *e);

/* The runtime spec's state JSON (malloc'ed). */
int rt_state_json(rt_ctx *c, const char *id, char **json, berr *e);
int rt_info_get(rt_ctx *c, const char *id, rt_info *out, berr *e);
void rt_info_clear(rt_info *i);
int rt_list(rt_ctx *c, rt_info **out, size_t *n, berr *e);

int rt_kill(rt_ctx *c, const char *id, int sig, bool all, berr *e);
int rt_delete(rt_ctx *c, const char *id, bool force, berr *e);

/* Pids (host view) of the processes in the container. */
int rt_pids(rt_ctx *c, const char *id, pid_t **pids, size_t *n, berr *e);

typedef struct rt_exec_opts {
	const char *process_file; /* --process: a process JSON; else the fields below */
	char **args;
	char **env; /* added to / overriding the container's env */
	const char *cwd;
	const char *user; /* "uid[:gid]" */
	char **additional_gids;
	char **cap_add;
	bool tty;
	bool no_new_privs;
	bool detach;
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
	/* NULL: the process gets this process's fds 0..2; else these three
	 * (put in place in the forked child: the caller's own fds are never
	 * touched, so a threaded caller may exec from several threads) */
	const int *stdio;
	/* NULL: wait for the process, relaying a tty to our stdio, forwarding
	 * signals. Else rt_exec returns once the process runs, with *started
	 * filled: the caller relays (pty) and reaps it (waitpid; it is this
	 * process's child) and installs nothing process-wide for it. */
	struct rt_exec_started *started;
} rt_exec_opts;

typedef struct rt_exec_started {
	pid_t pid;
	pid_t shown; /* the process's own pid when pid is a helper's (engine/exec.c), else pid */
	int pidfd;   /* the caller closes it */
	int pty;     /* the terminal's master with tty, else -1; the caller closes it */
} rt_exec_started;

int rt_exec(rt_ctx *c, const char *id, const rt_exec_opts *o, int *exit_status, berr *e);

/* cgroup-backed operations (resources.c) */
int rt_pause(rt_ctx *c, const char *id, bool pause, berr *e); /* pause=false resumes */
int rt_update(rt_ctx *c, const char *id, const spec_resources *r, berr *e);
/* runc's `events --stats` JSON (type "stats"). */
int rt_stats_json(rt_ctx *c, const char *id, char **json, berr *e);
bool rt_is_running(rt_ctx *c, const char *id);

typedef struct rt_oom_watch {
	int fd; /* poll for POLLIN, then rt_oom_read */
	void *impl;
} rt_oom_watch;
int rt_oom_open(rt_ctx *c, const char *id, rt_oom_watch *w, berr *e);
/* OOM kills since the last read (or the open). */
int rt_oom_read(rt_oom_watch *w, uint64_t *count, berr *e);
void rt_oom_close(rt_oom_watch *w);
