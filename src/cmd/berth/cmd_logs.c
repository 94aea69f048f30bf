/* berth logs [-f] [--tail N] [--timestamps]: the json-file log the monitor
 * writes, rotated files first (ctr.log.N-1 ... ctr.log.1, then ctr.log).
 * -f reads on from the live file until the container has exited, and
 * follows a rotation (a new ctr.log under the same name). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctr.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void emit_line(const char *line, bool ts)
{
	json_object *o = json_tokener_parse(line);
	if (!o)
		return;
	const char *log = ctr_str(o, "log"), *stream = ctr_str(o, "stream"),
		   *t = ctr_str(o, "time");
	FILE *f = stream && !strcmp(stream, "stderr") ? stderr : stdout;
	if (ts && t)
		fprintf(f, "%s ", t);
	if (log)
		fwrite(log, 1, (size_t)json_object_get_string_len(json_object_object_get(o, "log")),
		       f);
	fflush(f);
	json_object_put(o);
}

/* Emit the complete lines of buf[0..*have), keep the partial last one. */
static void emit_lines(char *buf, size_t *have, bool ts)
{
	buf[*have] = 0;
	char *l = buf, *nl;
	while ((nl = strchr(l, '\n'))) {
		*nl = 0;
		emit_line(l, ts);
		l = nl + 1;
	}
	*have -= (size_t)(l - buf);
	memmove(buf, l, *have);
}

/* ctr.log for k 0, the rotated ctr.log.K otherwise */
static char *log_path(eng *g, const char *id, int k)
{
	_cleanup_free_ char *name = k ? xasprintf("ctr.log.%d", k) : xstrdup("ctr.log");
	return eng_path(g, id, name);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

/* Where the file st is named now: its name can only have moved up (k to
 * k+1) since it was seen at `from`. -1 when it is gone. */
static int log_locate(eng *g, const char *id, int max_file, const struct stat *st, int from)
{
	for (int k = from; k < max_file; k++) {
		_cleanup_free_ char *p = log_path(g, id, k);
		struct stat now;
		if (stat(p, &now) == 0 && same_file(&now, st))
			return k;
	}
	return -1;
}

static bool log_exists(eng *g, const char *id, int k)
{
	_cleanup_free_ char *p = log_path(g, id, k);
	return access(p, F_OK) == 0;
}

/* The rotated files, oldest first, then ctr.log (kept open in *fd), as one
 * unbroken run while the monitor rotates. From the newest file, each next
 * older one is the name after the current file's: it is opened, then the
 * current file is checked to be still where it was (the monitor renames
 * from the oldest down, so the older name held the older file until the
 * current one moves); if a rotation moved it, it is looked up again. A
 * missing older name with one beyond it is a rename in progress. Reads
 * come after the opens; the newest file goes on in *fd for -f. */
static char *read_all(eng *g, const char *id, int max_file, int *fd, size_t *live_len)
{
	_cleanup_free_ int *fds = xreallocarray(NULL, (size_t)max_file, sizeof(int));
	int n_fds = 0, at = 0;
	struct stat cur;
	for (int k = 0; k < 2 && k < max_file && !n_fds; k++) {
		_cleanup_free_ char *p = log_path(g, id, k);
		int f = open(p, O_RDONLY | O_CLOEXEC);
		if (f >= 0 && fstat(f, &cur) == 0) {
			fds[n_fds++] = f;
			at = k;
		} else if (f >= 0) {
			close(f);
		}
	}
	for (int budget = 4 * max_file + 64; n_fds && n_fds < max_file && budget > 0; budget--) {
		if ((at = log_locate(g, id, max_file, &cur, at)) < 0 || at + 1 >= max_file)
			break;
		_cleanup_free_ char *p = log_path(g, id, at + 1);
		int f = open(p, O_RDONLY | O_CLOEXEC);
		if (f < 0) {
			if (errno == ENOENT && log_exists(g, id, at + 2))
				continue; /* being renamed: look again */
			break;
		}
		struct stat st;
		if (fstat(f, &st) < 0 || log_locate(g, id, at + 1, &cur, at) != at) {
			close(f);
			continue;
		}
		fds[n_fds++] = f;
		cur = st;
		at++;
	}
	char *all = xstrdup("");
	size_t n = 0;
	*fd = n_fds ? fds[0] : -1;
	*live_len = 0;
	for (int k = n_fds - 1; k >= 0; k--) {
		char *txt = NULL;
		size_t len = 0;
		berr ig;
		if (fs_read_fd(fds[k], &txt, &len, &ig) == 0) {
			all = xrealloc(all, n + len + 1);
			memcpy(all + n, txt, len);
			n += len;
			all[n] = 0;
		}
		free(txt);
		if (k == 0)
			*live_len = len;
		else
			close(fds[k]);
	}
	return all;
}

/* The file that came after the one open in fd: with fd now ctr.log.K,
 * ctr.log.K-1 (ctr.log for K = 1). The monitor renames the oldest first,
 * so while fd's inode is still named ctr.log.K, ctr.log.K-1 is its successor:
 * the name is opened, then checked to be still there, and looked up again
 * if a rotation moved it meanwhile. When fd's file is gone (more rotations
 * than max-file while the reader slept), every file left is newer: the
 * oldest of them is next. -1 when ctr.log has not been rotated since. */
static int next_log_fd(eng *g, const char *id, int max_file, int fd)
{
	struct stat cur;
	if (fd >= 0 && fstat(fd, &cur) < 0)
		return -1;
	for (int tries = 0; tries < 100; tries++) {
		int at = -1, oldest = -1;
		struct stat st;
		for (int k = 0; k < max_file; k++) {
			_cleanup_free_ char *p = log_path(g, id, k);
			if (stat(p, &st) < 0)
				continue;
			oldest = k;
			if (fd >= 0 && same_file(&st, &cur))
				at = k;
		}
		if (at == 0 || oldest < 0)
			return -1; /* not rotated, or no file yet */
		int want = at > 0 ? at - 1 : oldest;
		_cleanup_free_ char *wp = log_path(g, id, want);
		int nfd = open(wp, O_RDONLY | O_CLOEXEC);
		if (at < 0)
			return nfd;
		_cleanup_free_ char *ap = log_path(g, id, at);
		if (nfd >= 0 && stat(ap, &st) == 0 && same_file(&st, &cur))
			return nfd;
		if (nfd >= 0)
			close(nfd);
	}
	return -1;
}

static void follow(eng *g, const char *id, int max_file, int fd, bool ts)
{
	enum { BUFSZ = 65536 };
	_cleanup_free_ char *buf = xmalloc(BUFSZ);
	size_t have = 0;
	for (bool last = false;;) {
		ssize_t n = fd >= 0 ? read(fd, buf + have, BUFSZ - 1 - have) : 0;
		if (n > 0) {
			have += (size_t)n;
			emit_lines(buf, &have, ts);
			continue;
		}
		if (last)
			break;
		/* rotated: the rest of the old file is read, go on in the next */
		int nfd = next_log_fd(g, id, max_file, fd);
		if (nfd >= 0) {
			if (fd >= 0)
				close(fd);
			fd = nfd;
			have = 0;
			continue;
		}
		berr e;
		json_object *doc = eng_load(g, id, &e);
		const char *s = doc ? eng_reconcile(g, id, doc) : "exited";
		/* a last read after the exit */
		last = !strcmp(s, "exited") || !strcmp(s, "dead");
		json_object_put(doc);
		if (!last) {
			struct timespec t = {0, 50000000};
			nanosleep(&t, NULL);
		}
	}
	if (fd >= 0)
		close(fd);
}

static const cli_doc logs_doc = {
    "logs",
    "[OPTIONS] CONTAINER",
    "Fetch the logs of a container",
    "What the container wrote to stdout and stderr, from its json-file log (rotated "
    "files included).",
    "berth logs web\nberth logs -f --tail 10 web\nberth logs -l",
    CLI_ARGS_CONTAINERS};

int cmd_logs(cli *c, int argc, char **argv)
{
	bool follow_ = false, ts = false;
	const char *tail = "all";
	ctr_sel sel = {0};
	const flag_def defs[] = {
	    {"follow", 'f', FLAG_BOOL, &follow_, "Follow the log output"},
	    {"timestamps", 't', FLAG_BOOL, &ts, "Show timestamps"},
	    {"tail", 'n', FLAG_STRING, &tail, "Number of lines to show from the end", "string",
	     "all"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest container"},
	    {0}};
	berr e;
	char *one[3], lid[65];
	int st, i = cli_flags(c, &logs_doc, defs, argc, argv, &st);
	if (i < 0 || ctr_select_one(c, &sel, &argc, &argv, &i, one, lid, &st) < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"logs\" requires exactly 1 argument");
	long want = -1;
	if (strcmp(tail, "all")) {
		char *end;
		want = strtol(tail, &end, 10);
		if (*end || want < 0)
			return cli_failf(125, "invalid --tail \"%s\"", tail);
	}
	eng *g = ctr_open(c, &e);
	char id[65];
	json_object *doc = NULL;
	if (!g || eng_lookup(g, argv[i], id, &e) < 0 || !(doc = eng_load(g, id, &e))) {
		eng_close(g);
		return cli_fail(125, &e);
	}
	eng_log_cfg log;
	eng_log_cfg_of(doc, &log);
	json_object_put(doc);
	if (log.none) {
		eng_close(g);
		return cli_failf(1, "configured logging driver does not support reading");
	}
	int fd = -1;
	size_t live_len = 0;
	char *txt = read_all(g, id, log.max_file, &fd, &live_len);
	size_t len = strlen(txt);
	/* a last line without its newline yet is printed by -f, once whole */
	const char *lastnl = strrchr(txt, '\n');
	size_t partial = len - (lastnl ? (size_t)(lastnl - txt) + 1 : 0);
	long skip = 0;
	if (want >= 0) {
		long lines = 0;
		for (size_t k = 0; k < len; k++)
			lines += txt[k] == '\n';
		skip = lines > want ? lines - want : 0;
	}
	for (char *l = txt, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
		*nl = 0;
		if (skip > 0)
			skip--;
		else
			emit_line(l, ts);
	}
	free(txt);
	if (follow_) {
		if (fd >= 0)
			lseek(fd, (off_t)(live_len > partial ? live_len - partial : 0), SEEK_SET);
		follow(g, id, log.max_file, fd, ts);
	} else if (fd >= 0) {
		close(fd);
	}
	eng_close(g);
	return 0;
}
