/* Waiting for a container's exit and for its monitor's end, and the API's wait
 * with its conditions (container.h).
 * The status is read from the store (eng_reconcile), polled in steps of 1,
 * 2, 4 .. 20 ms: a killed container is gone in about a millisecond, and
 * `rm -f` of many running ones waits for each in turn. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/healthpriv.h"
#include "util/cleanup.h"
#include "util/fs.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int backoff(int step)
{
	return step >= 10 ? 20 : step * 2;
}

/* Exited, but its monitor lives on under a restart policy: it may yet
 * start it again (`wait` returns at the final exit). */
static bool monitor_alive(json_object *doc)
{
	pid_t m = (pid_t)eng_doc_int(doc, "State.MonitorPid");
	unsigned long long st = (unsigned long long)eng_doc_int(doc, "State.MonitorStart");
	return m > 0 && st && eng_proc_start(m) == st;
}

static bool restart_pending(json_object *doc)
{
	eng_restart_policy pol;
	eng_restart_of(doc, &pol);
	return pol.kind != ENG_RESTART_NO && monitor_alive(doc);
}

int eng_container_wait(eng *g, const char *id, int timeout_ms, int *code, berr *e)
{
	for (int waited = 0, step = 1;; waited += step, step = backoff(step)) {
		json_object *doc = NULL;
		const char *s = eng_container_status(g, id, &doc);
		if (!s) {
			*code = 255;
			return 0;
		}
		/* "created" with a live monitor: being (re)started */
		if ((!strcmp(s, "exited") && !restart_pending(doc)) ||
		    (!strcmp(s, "created") && !restart_pending(doc)) || !strcmp(s, "dead")) {
			*code = (int)eng_doc_int(doc, "State.ExitCode");
			json_object_put(doc);
			return 0;
		}
		json_object_put(doc);
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return berr_set(e, ETIMEDOUT, "container %.12s: still running after %d ms",
					id, timeout_ms);
		sleep_ms(step);
	}
}

void eng_container_wait_monitor(eng *g, const char *id, int timeout_ms)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return;
	pid_t m = (pid_t)eng_doc_int(doc, "State.MonitorPid");
	unsigned long long st = (unsigned long long)eng_doc_int(doc, "State.MonitorStart");
	json_object_put(doc);
	for (int w = 0, step = 1; m > 0 && st && eng_proc_start(m) == st && w < timeout_ms;
	     w += step, step = backoff(step))
		sleep_ms(step);
}

/* ---- the API's wait (conditions, a reader that may leave) ---------- */

/* The exit file's code ("STATUS FINISHED_NS", the monitor's), read through
 * the container's directory fd: that still works once an --rm container's
 * directory went to .trash, until it is purged. */
static bool exit_code_at(int dfd, int *code)
{
	_cleanup_free_ char *ex = NULL;
	size_t len;
	berr e;
	if (dfd < 0 || fs_read_file_at(dfd, "exit", &ex, &len, &e) < 0)
		return false;
	return sscanf(ex, "%d", code) == 1;
}

int eng_container_wait_for(eng *g, const char *id, const eng_wait_opts *o, int *code, berr *e)
{
	bool next = o->cond == ENG_WAIT_NEXT_EXIT, removed = o->cond == ENG_WAIT_REMOVED;
	*code = 255;
	/* the directory, watched: the monitor renames "exit" into it at the
	 * exit, and the wait wakes then rather than at its next poll (an --rm
	 * container is gone a few ms later, its code with it) */
	_cleanup_free_ char *dir = eng_path(g, id, "");
	_cleanup_close_ int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino >= 0 && dfd >= 0) {
		char pp[64];
		snprintf(pp, sizeof(pp), "/proc/self/fd/%d", dfd);
		inotify_add_watch(ino, pp,
				  IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
	}
	/* next-exit / removed of a created container: the exit after its start */
	json_object *doc = NULL;
	const char *st = eng_container_status(g, id, &doc);
	if (doc)
		*code = (int)eng_doc_int(doc, "State.ExitCode");
	bool seen_start = st && eng_status_live(st), from_file = false;
	json_object_put(doc);
	bool gone = false;
	for (int step = 1;;) {
		doc = NULL;
		st = eng_container_status(g, id, &doc);
		if (!st) { /* removed: its code from the exit file if still there */
			if (!from_file)
				exit_code_at(dfd, code);
			break;
		}
		if (eng_status_live(st))
			seen_start = true;
		/* the exit file's code, once read, is the truth: a record read
		 * while an --rm container's directory moves away reconciles
		 * as a lost container (255) */
		if (!from_file)
			*code = (int)eng_doc_int(doc, "State.ExitCode");
		bool stopped = !eng_status_live(st) && strcmp(st, "creating");
		bool waiting_start = (next || removed) && !seen_start && !strcmp(st, "created");
		json_object_put(doc);
		if (stopped && !waiting_start && !removed)
			break;
		if (o->gone && o->gone(o->arg)) {
			gone = true;
			break;
		}
		struct pollfd pf = {.fd = ino, .events = POLLIN};
		if (poll(&pf, ino >= 0 ? 1 : 0, step) > 0) {
			char buf[4096];
			while (read(ino, buf, sizeof(buf)) > 0)
				;
			/* an exit written now: it ran, however short (it may
			 * have started and ended between two looks) */
			if (exit_code_at(dfd, code)) {
				seen_start = from_file = true;
				if (!removed)
					break;
			}
		}
		step = step < 16 ? step * 2 : 20;
	}
	return gone ? berr_set(e, EPIPE, "wait for %.12s: the reader went away", id) : 0;
}
