/* A container's life, one call per operation: what `berth` (src/cmd/berth)
 * and an API service both call. Every call takes the store (eng_open), a
 * full container id (eng_lookup), returns 0 or -1 with *e set, never
 * prints, never exits and installs no signal handler: where a front end
 * wants signals (SIGWINCH, a proxied ^C) it handles them itself and passes
 * an fd the relay polls (eng_attach_opts.event_fd).
 *
 *   start     launch.c  runtime create under a forked berth-monitor, start
 *   attach    attach.c  the relay of the monitor's attach socket
 *   wait      wait.c    the exit code; the monitor's end
 *   stop ...  stop.c    stop, kill, restart, rm, pause/unpause
 *   exec      exec.c    a process in a running container
 *   logs      logs.c    the json-file log, rotated files, follow
 *   stats top stats.c   a usage sample, the processes
 *   cp        cp.c      files in and out of the container's root, as tars too
 *   update    update.c  resource limits and restart policy changed
 *   rename    rename.c  a new name
 *
 * Exit codes are Docker's where a call reports one: 125 the engine failed,
 * 126 the command cannot be run, 127 it was not found. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"

/* ---- the record (doc.c) ---------------------------------------------- */

/* A field of container.json by a dotted path ("State.Status"): NULL, 0 or
 * false when missing. */
const char *eng_doc_str(json_object *doc, const char *path);
int64_t eng_doc_int(json_object *doc, const char *path);
bool eng_doc_bool(json_object *doc, const char *path);
/* The record's name without the leading '/' (the id's 12 digits without
 * one); for messages. */
void eng_doc_name(json_object *doc, const char *id, char out[128]);
/* The reconciled status (eng_reconcile, static string), NULL without a
 * record; with docp the loaded record too (the caller puts it). */
const char *eng_container_status(eng *g, const char *id, json_object **docp);
/* running or paused: a container with processes */
bool eng_status_live(const char *status);

/* ---- start (launch.c) ----------------------------------------------- */

typedef struct eng_start_opts {
	/* where berth-monitor and berth (whose `container cleanup` the
	 * monitor execs after the exit) are */
	const char *helper_dir;
	/* connect to the monitor before the container starts, so no output
	 * is missed: the socket is r->attach_fd, for eng_attach_relay */
	bool attach;
	/* keep the container's stdin open (run -i, start -i; a container
	 * created with -i keeps it anyway) */
	bool interactive;
	/* the restart policy's start (eng_restart_after_exit): a stop by the
	 * user (health.h) is not forgotten, as a user's start forgets it */
	bool policy_restart;
} eng_start_opts;

typedef struct eng_start_result {
	char **warnings;  /* the runtime's warnings (strv, the caller frees) */
	int attach_fd;	  /* with attach: the attach socket, else -1 */
	bool attach_lost; /* with attach: the connect failed (attach_err) */
	berr attach_err;
	bool auto_remove; /* run --rm */
	bool tty;	  /* created with -t */
	pid_t monitor;
	int exit_code; /* when the call fails: 125, 126 or 127 */
	/* a restart policy other than no: the monitor, not an attached
	 * client, cleans up after the exit (and restarts) */
	bool restart_policy;
} eng_start_result;

/* Start a created or exited container under a new berth-monitor (the
 * monitor protocol: docs/engine.md); a pod's container after its pod's
 * infra container (started too when it is not running). A running, paused
 * or creating one is refused (EALREADY), a dead one too (EINVAL). Failing
 * after that, it cleans up (and removes an --rm container) itself. With
 * attach and --rm, the removal's sweeper is forked now
 * (eng_trash_prefork). */
int eng_container_start(eng *g, const char *id, const eng_start_opts *o, eng_start_result *r,
			berr *e);
/* The fresh process a threaded caller's start execs (`berth container
 * monitor-child`): forks the container's monitor-to-be, which reports on
 * status_fd as under eng_container_start, after a first line "P pid". */
int eng_monitor_launch(eng *g, const char *id, bool interactive, int status_fd,
		       const char *helper_dir, berr *e);
/* After an attached start and its relay (status: eng_attach_relay's):
 * with an exit status, tell the monitor we clean up (frame 5) and do it
 * (runtime delete and unmount, or the removal with --rm); closes
 * r->attach_fd and frees r->warnings. Returns docker run's exit status: the
 * container's, 0 when detached, 125 when the monitor went away. */
int eng_container_release(eng *g, const char *id, eng_start_result *r, int status);
/* Free what a result holds (r->warnings, r->attach_fd). */
void eng_start_result_free(eng_start_result *r);

/* ---- attach (attach.c): the monitor's attach protocol, client side ---- */

/* Frames [type u8][len u32 LE][data]. */
enum {
	ENG_FRAME_STDIN = 0,
	ENG_FRAME_STDOUT = 1,
	ENG_FRAME_STDERR = 2,
	ENG_FRAME_EXIT = 3,
	ENG_FRAME_RESIZE = 4,
	ENG_FRAME_CLEANUP = 5, /* "I clean up" */
	ENG_FRAME_BUSY = 6,
};
/* eng_attach_relay's results other than an exit status */
enum { ENG_ATTACH_GONE = -1, ENG_ATTACH_DETACHED = -2, ENG_ATTACH_BUSY = -3 };

typedef struct eng_attach_event {
	int signal;  /* to proxy to the container, 0: none */
	bool resize; /* the terminal's size is now rows x cols */
	uint16_t rows, cols;
} eng_attach_event;

typedef struct eng_attach_opts {
	int in_fd;	    /* the container's input, -1: none */
	int out_fd, err_fd; /* where its stdout and stderr go (unless write) */
	/* instead of out_fd/err_fd: stream 1 stdout, 2 stderr; < 0 ends the
	 * relay (ENG_ATTACH_GONE) */
	int (*write)(void *arg, int stream, const void *buf, size_t n);
	bool eof_closes;	/* in_fd's end closes the container's stdin */
	unsigned char keys[16]; /* the detach sequence (nkeys 0: none) */
	size_t nkeys;
	uint16_t rows, cols; /* a size sent first (tty containers), 0: none */
	/* -1, or an fd (signalfd, self-pipe, eventfd) that is readable when
	 * on_event has something to tell: a signal, a resize */
	int event_fd;
	void (*on_event)(void *arg, eng_attach_event *ev);
	bool sig_proxy; /* an event's signal goes to the container */
	/* -1, or an fd whose hangup ends the relay as a detach (the client's
	 * connection: its going away leaves the container running) */
	int hup_fd;
	void *arg; /* for write and on_event */
} eng_attach_opts;

/* Docker's detach keys: "ctrl-p,ctrl-q", "ctrl-a,x" ... (at most 16). */
int eng_parse_detach_keys(const char *s, unsigned char out[16], size_t *n, berr *e);
/* Connect to the container's monitor (its attach.sock). */
int eng_attach_connect(eng *g, const char *id, berr *e);
int eng_attach_send(int sock, int type, const void *d, uint32_t len);
/* Relay until the exit frame: returns the container's exit status, or one
 * of ENG_ATTACH_* (the sequence typed, the monitor busy with another
 * client, the connection lost). Never sends frame 5 (eng_container_release
 * does). */
int eng_attach_relay(eng *g, const char *id, int sock, const eng_attach_opts *o);
/* Attach to a running container: refused (EINVAL) with Docker's messages
 * when it is stopped or paused; *status as eng_attach_relay, except that a
 * lost connection gives the recorded exit code (ENG_ATTACH_GONE only when
 * there is none yet). The monitor cleans up after the exit. */
int eng_container_attach(eng *g, const char *id, const eng_attach_opts *o, int *status, berr *e);

/* ---- wait (wait.c) -------------------------------------------------- */

/* Until the container is not running (timeout_ms < 0: forever): 0 with
 * its exit code (255 when the record is gone), or -1 ETIMEDOUT. */
int eng_container_wait(eng *g, const char *id, int timeout_ms, int *code, berr *e);
/* Until the monitor (and the cleanup it execs into) is gone, at most
 * timeout_ms. */
void eng_container_wait_monitor(eng *g, const char *id, int timeout_ms);
/* Docker's wait conditions: not-running (an exit, or not running now),
 * next-exit (the exit after the next start), removed (the record gone).
 * The container's directory is watched (inotify): the code is read from
 * the monitor's exit file as it appears, even when an --rm container's
 * record goes a moment later. gone (may be NULL) ends it: EPIPE. */
typedef enum { ENG_WAIT_NOT_RUNNING, ENG_WAIT_NEXT_EXIT, ENG_WAIT_REMOVED } eng_wait_cond;
typedef struct eng_wait_opts {
	eng_wait_cond cond;
	bool (*gone)(void *arg);
	void *arg;
} eng_wait_opts;
int eng_container_wait_for(eng *g, const char *id, const eng_wait_opts *o, int *code, berr *e);

/* ---- stop, kill, restart, rm, pause (stop.c) ------------------------ */

/* The stop signal (sig 0: the image's StopSignal, else SIGTERM), SIGKILL
 * after timeout_s; returns when the cleanup is done. A container that is
 * not running is left as it is. *code (may be NULL): the exit code. */
int eng_container_stop(eng *g, const char *id, int timeout_s, int sig, int *code, berr *e);
/* The same for many (NULL-terminated): the stop signals all go out first,
 * so that the containers wait out one timeout together, not one each. */
int eng_container_stop_many(eng *g, char *const *ids, int timeout_s);
/* A signal to a running container (else EINVAL "... is not running"). */
int eng_container_kill(eng *g, const char *id, int sig, berr *e);
/* Stop (if running) and start again, detached. */
int eng_container_restart(eng *g, const char *id, int timeout_s, const eng_start_opts *o,
			  eng_start_result *r, berr *e);
typedef struct eng_rm_opts {
	bool force;   /* kill a running one (else EBUSY) */
	bool volumes; /* its anonymous volumes too */
} eng_rm_opts;
int eng_container_rm(eng *g, const char *id, const eng_rm_opts *o, berr *e);
int eng_container_pause(eng *g, const char *id, bool pause, berr *e);
/* Remove every stopped container (exited, created, dead; their anonymous
 * volumes stay): the ids removed (strv, empty when none). */
char **eng_container_prune(eng *g);

/* ---- exec (exec.c) -------------------------------------------------- */

typedef struct eng_exec_opts {
	char **args;
	char **env;
	const char *cwd;
	const char *user; /* "user[:group]" resolved in the container's root */
	bool tty, detach;
	/* the process's stdin, stdout, stderr (-1: the caller's own fd 0, 1,
	 * 2), given to it in the runtime's child (the caller's fds are never
	 * swapped: threads may exec at once); detach without them gives it
	 * /dev/null (a reader of our output must not wait for it) */
	int stdio[3];
	/* NULL: wait for the process (a tty relayed to the caller's stdio).
	 * Else return once it runs: its pid (the caller's child: the caller
	 * reaps it), pidfd and the tty's master (-1 without tty). */
	rt_exec_started *started;
} eng_exec_opts;
/* *status: the process's exit status; failing, Docker's (125, 126, 127). */
int eng_container_exec(eng *g, const char *id, const eng_exec_opts *o, int *status, berr *e);
/* `berth container exec-child SOCK ...`: a threaded caller's exec, run
 * here (exec.c); returns the status to exit with. */
int eng_exec_child(eng *g, int sock, int argc, char **argv);

/* ---- logs (logs.c) -------------------------------------------------- */

/* One json-file line: {"log": BYTES, "stream": "stdout"|"stderr", "time"}. */
typedef struct eng_log_entry {
	int stream; /* 1 stdout, 2 stderr */
	const char *time;
	int64_t time_ns;
	const char *bytes;
	size_t len;
	json_object *obj_; /* owns the strings */
} eng_log_entry;
int eng_log_parse(const char *line, eng_log_entry *out); /* 0, or -1: not a log line */
void eng_log_entry_free(eng_log_entry *en);

typedef struct eng_logs_opts {
	bool follow;		    /* on until the container has exited */
	long tail;		    /* the last lines only, -1: all */
	int64_t since_ns, until_ns; /* CLOCK_REALTIME ns bounds, 0: none */
	bool no_stdout, no_stderr;
	/* each entry; < 0 stops (the call then fails, EPIPE) */
	int (*write)(void *arg, const eng_log_entry *en);
	/* may be NULL: follow ends (EPIPE) when it says the reader left */
	bool (*gone)(void *arg);
	/* may be NULL: called once, when the log is read and its live file
	 * held open (or the call fails before): from then on a removal of the
	 * container takes nothing from the reader */
	void (*opened)(void *arg);
	void *arg;
} eng_logs_opts;
/* Docker's --since/--until: an RFC 3339 time ("2013-01-02T13:23:37Z",
 * UTC, fraction optional), Unix seconds ("1700000000", "1700000000.5"), or
 * a duration before now_ns ("42m", "1h30m", "10s", "1.5h"). EINVAL names
 * what (flag) was given. */
int eng_logs_time_parse(const char *flag, const char *s, int64_t now_ns, int64_t *out, berr *e);
/* ENOTSUP "configured logging driver does not support reading" with
 * --log-driver none. */
int eng_container_logs(eng *g, const char *id, const eng_logs_opts *o, berr *e);
/* Whether an entry passes the options' filters (since, until, streams). */
bool eng_logs_want(const eng_logs_opts *o, const eng_log_entry *en);

/* ---- stats, top (stats.c) ------------------------------------------- */

typedef struct eng_stats {
	uint64_t cpu_ns; /* total CPU time */
	uint64_t mem, mem_limit, pids;
	int64_t mono_ns; /* CLOCK_MONOTONIC time of the sample */
} eng_stats;
int eng_container_stats(eng *g, const char *id, eng_stats *s, berr *e);
/* One network interface of the container's (its /proc/PID/net/dev). */
typedef struct eng_net_stats {
	char name[32];
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
} eng_net_stats;
/* The sample in full (stats_detail.c): what Docker's stats API tells. */
typedef struct eng_stats_full {
	eng_stats base; /* mem_limit: the host's memory when there is no limit */
	uint64_t cpu_user_ns, cpu_kernel_ns;
	json_object *percpu; /* [ns of each CPU], or NULL */
	uint64_t system_ns;  /* the host's CPU time, all CPUs (/proc/stat) */
	unsigned online_cpus;
	uint64_t periods, throttled_periods, throttled_ns;
	uint64_t mem_max, mem_failcnt, pids_limit;
	json_object *mem_stat;		  /* memory.stat {key: value}, or NULL */
	json_object *blk_bytes, *blk_ios; /* [{major, minor, op, value}], or NULL */
	eng_net_stats *nets;		  /* lo left out */
	size_t n_nets;
	int64_t real_ns; /* CLOCK_REALTIME of the sample */
} eng_stats_full;
/* A running or paused container's sample (else EINVAL "... is not
 * running"); eng_stats_full_free after. */
int eng_container_stats_full(eng *g, const char *id, eng_stats_full *s, berr *e);
void eng_stats_full_free(eng_stats_full *s);
typedef struct eng_proc {
	pid_t pid, ppid;
	uid_t uid;
	char *cmd; /* its command line, spaces between the arguments */
} eng_proc;
/* The container's processes (EINVAL "... is not running"). */
int eng_container_top(eng *g, const char *id, eng_proc **procs, size_t *n, berr *e);
void eng_procs_free(eng_proc *p, size_t n);

/* ---- cp (cp.c): Docker's cp semantics (merge into a directory, replace
 * files, the caller's owner); the container's root is mounted for the
 * copy if it is not (a stopped container) and unmounted again. ---- */

/* The container's cpath (in-root resolution) to the host's dst (into it
 * when it is a directory). */
int eng_container_copy_out(eng *g, const char *id, const char *cpath, const char *dst, berr *e);
/* The host's src into the container's cpath. */
int eng_container_copy_in(eng *g, const char *id, const char *src, const char *cpath, berr *e);
/* The Docker API's archive. The entry at cpath, its last component not
 * followed (ENOENT "Could not find the file ..."). */
typedef struct eng_path_stat {
	char name[256]; /* the base name */
	int64_t size;
	mode_t mode; /* st_mode */
	int64_t mtime_ns;
	char *link_target; /* a symlink's (malloc'ed), else NULL */
} eng_path_stat;
int eng_container_path_stat(eng *g, const char *id, const char *cpath, eng_path_stat *st, berr *e);
void eng_path_stat_free(eng_path_stat *st);
/* cpath as a plain tar written to fd, named by its base name (a directory
 * with its tree under that name). */
int eng_container_archive_out(eng *g, const char *id, const char *cpath, int fd, berr *e);
/* A tar read from fd (seekable with no_overwrite_dir_non_dir, which first
 * checks that no entry replaces a directory with a non-directory or the
 * reverse: EEXIST) unpacked into the directory cpath (EINVAL when it is
 * not one), merged: files replaced, owned by the caller. A container made
 * --read-only is refused (EROFS). */
int eng_container_archive_in(eng *g, const char *id, const char *cpath, int fd,
			     bool no_overwrite_dir_non_dir, berr *e);

/* The container's whole filesystem (its image and its changes, no other
 * mounts) as a plain tar to fd, owners as the container sees them. */
int eng_container_export(eng *g, const char *id, int fd, berr *e);

/* The container's changes to its image (changes.c): sorted, kind 'A'
 * added, 'C' changed, 'D' deleted (image/layerdiff.h; ld_changes_free). */
struct ld_changes;
int eng_container_changes(eng *g, const char *id, struct ld_changes *out, berr *e);

/* A running tty container's terminal size (resize.c): EBUSY when it is
 * not running, EINVAL without a tty. */
int eng_container_resize(eng *g, const char *id, unsigned rows, unsigned cols, berr *e);

/* ---- update (update.c), rename (rename.c) ---------------------------- */

/* docker update's fields; 0 (NULL) leaves one as it is. */
typedef struct eng_update_opts {
	int64_t memory;	      /* bytes, at least 6 MiB */
	int64_t memory_swap;  /* memory + swap, -1 unlimited */
	int64_t nano_cpus;    /* 1e9 per CPU (not with quota or period) */
	int64_t cpu_quota;    /* µs per period, -1 unlimited */
	int64_t cpu_period;   /* µs */
	int64_t cpu_shares;   /* 2 .. 262144 */
	int64_t pids_limit;   /* -1 unlimited */
	int64_t blkio_weight; /* 10 .. 1000 */
	const char *restart;  /* a restart policy: "on-failure:3" ... */
} eng_update_opts;
/* Applied to a running (or paused) container's cgroup first (a refusal
 * changes nothing), then recorded in its config.json and container.json. */
int eng_container_update(eng *g, const char *id, const eng_update_opts *o, berr *e);
/* A new name (Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+, a leading '/' dropped):
 * EEXIST when another container has it, EINVAL when it is the same. */
int eng_container_rename(eng *g, const char *id, const char *name, berr *e);
