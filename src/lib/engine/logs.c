/* A container's logs (container.h): the json-file log the monitor writes,
 * rotated files first (ctr.log.N-1 ... ctr.log.1, then ctr.log), each line
 * parsed into an entry for the caller's writer. follow reads on from the
 * live file until the container has exited, and follows a rotation (a new
 * ctr.log under the same name). */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int eng_log_parse(const char *line, eng_log_entry *out)
{
	*out = (eng_log_entry){0};
	json_object *o = json_tokener_parse(line);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -1;
	}
	json_object *log = NULL, *stream = NULL, *t = NULL;
	json_object_object_get_ex(o, "log", &log);
	json_object_object_get_ex(o, "stream", &stream);
	json_object_object_get_ex(o, "time", &t);
	if (!log || !json_object_is_type(log, json_type_string)) {
		json_object_put(o);
		return -1;
	}
	const char *s = stream ? json_object_get_string(stream) : NULL;
	out->stream = s && !strcmp(s, "stderr") ? 2 : 1;
	out->time =
	    t && json_object_is_type(t, json_type_string) ? json_object_get_string(t) : NULL;
	out->time_ns = out->time ? eng_time_parse(out->time) : 0;
	out->bytes = json_object_get_string(log);
	out->len = (size_t)json_object_get_string_len(log);
	out->obj_ = o;
	return 0;
}

void eng_log_entry_free(eng_log_entry *en)
{
	json_object_put(en->obj_);
	en->obj_ = NULL;
}

bool eng_logs_want(const eng_logs_opts *o, const eng_log_entry *en)
{
	if ((en->stream == 1 && o->no_stdout) || (en->stream == 2 && o->no_stderr))
		return false;
	if (o->since_ns && en->time_ns < o->since_ns)
		return false;
	if (o->until_ns && en->time_ns > o->until_ns)
		return false;
	return true;
}

/* A decimal "123" or "123.456" at *p (advanced): value * scale_ns. */
static bool decimal(const char **p, int64_t scale_ns, int64_t *out)
{
	const char *s = *p;
	int64_t whole = 0, frac = 0;
	int digits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (whole > (INT64_MAX / 10 - 9) / (scale_ns ? scale_ns : 1))
			return false;
		whole = whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		int64_t f = scale_ns;
		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			f /= 10;
			frac += (*s - '0') * f;
		}
	}
	if (!digits)
		return false;
	*out = whole * scale_ns + frac;
	*p = s;
	return true;
}

int eng_logs_time_parse(const char *flag, const char *s, int64_t now_ns, int64_t *out, berr *e)
{
	if (!s || !*s || strlen(s) > 64)
		return berr_set(e, EINVAL, "invalid %s \"%s\"", flag, s ? s : "");
	if (strchr(s, 'T') && strchr(s, '-')) {
		int64_t t = eng_time_parse(s);
		if (!t || strlen(s) < 20 || s[strlen(s) - 1] != 'Z')
			return berr_set(e, EINVAL,
					"invalid %s \"%s\": a time is YYYY-MM-DDTHH:MM:SS[.frac]Z",
					flag, s);
		*out = t;
		return 0;
	}
	const char *p = s;
	int64_t v;
	if (decimal(&p, 1000000000, &v) && !*p) { /* Unix seconds */
		*out = v;
		return 0;
	}
	/* a duration: NUMBER UNIT ..., units h m s */
	int64_t total = 0;
	for (p = s; *p;) {
		if (!decimal(&p, 1000000000, &v))
			return berr_set(e, EINVAL, "invalid %s \"%s\"", flag, s);
		int64_t mul = *p == 'h' ? 3600 : *p == 'm' ? 60 : *p == 's' ? 1 : 0;
		if (!mul || v > INT64_MAX / mul - total)
			return berr_set(e, EINVAL,
					"invalid %s \"%s\": a time, Unix seconds or a duration "
					"(42m, 1h30m, 10s)",
					flag, s);
		total += v * mul;
		p++;
	}
	*out = now_ns - total;
	return 0;
}

/* One line to the writer if it passes the filters; < 0: the writer stops. */
static int emit_line(const eng_logs_opts *o, const char *line)
{
	eng_log_entry en;
	if (eng_log_parse(line, &en) < 0)
		return 0;
	int r = eng_logs_want(o, &en) ? o->write(o->arg, &en) : 0;
	eng_log_entry_free(&en);
	return r;
}

/* Emit the complete lines of buf[0..*have), keep the partial last one. */
static int emit_lines(const eng_logs_opts *o, char *buf, size_t *have)
{
	buf[*have] = 0;
	char *l = buf, *nl;
	int r = 0;
	while (r >= 0 && (nl = strchr(l, '\n'))) {
		*nl = 0;
		r = emit_line(o, l);
		l = nl + 1;
	}
	*have -= (size_t)(l - buf);
	memmove(buf, l, *have);
	return r;
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

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int follow(eng *g, const char *id, const eng_logs_opts *o, int max_file, int fd)
{
	enum { BUFSZ = 65536 };
	_cleanup_free_ char *buf = xmalloc(BUFSZ);
	size_t have = 0;
	int r = 0;
	for (bool last = false; r >= 0;) {
		ssize_t n = fd >= 0 ? read(fd, buf + have, BUFSZ - 1 - have) : 0;
		if (n > 0) {
			have += (size_t)n;
			r = emit_lines(o, buf, &have);
			if (have == BUFSZ - 1)
				have = 0; /* no line is this long: not a log line */
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
		const char *s = eng_container_status(g, id, NULL);
		/* a last read after the exit (or after until) */
		last = !s || !strcmp(s, "exited") || !strcmp(s, "dead") ||
		       (o->until_ns && now_ns() > o->until_ns);
		if (!last && o->gone && o->gone(o->arg)) {
			r = -1;
			break;
		}
		if (!last) {
			struct timespec t = {0, 50000000};
			nanosleep(&t, NULL);
		}
	}
	if (fd >= 0)
		close(fd);
	return r;
}

static int logs(eng *g, const char *id, const eng_logs_opts *o, bool *told, berr *e);

int eng_container_logs(eng *g, const char *id, const eng_logs_opts *o, berr *e)
{
	bool told = false;
	int r = logs(g, id, o, &told, e);
	if (o->opened && !told) /* it failed before the log was open */
		o->opened(o->arg);
	return r;
}

static int logs(eng *g, const char *id, const eng_logs_opts *o, bool *told, berr *e)
{
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	eng_log_cfg log;
	eng_log_cfg_of(doc, &log);
	json_object_put(doc);
	if (log.none)
		return berr_set(e, ENOTSUP, "configured logging driver does not support reading");
	int fd = -1;
	size_t live_len = 0;
	char *txt = read_all(g, id, log.max_file, &fd, &live_len);
	if (o->opened)
		o->opened(o->arg);
	*told = true;
	size_t len = strlen(txt);
	/* a last line without its newline yet is given by follow, once whole */
	const char *lastnl = strrchr(txt, '\n');
	size_t partial = len - (lastnl ? (size_t)(lastnl - txt) + 1 : 0);
	long skip = 0;
	if (o->tail >= 0) {
		long lines = 0;
		for (size_t k = 0; k < len; k++)
			lines += txt[k] == '\n';
		skip = lines > o->tail ? lines - o->tail : 0;
	}
	int r = 0;
	for (char *l = txt, *nl; r >= 0 && (nl = strchr(l, '\n')); l = nl + 1) {
		*nl = 0;
		if (skip > 0)
			skip--;
		else
			r = emit_line(o, l);
	}
	free(txt);
	if (r >= 0 && o->follow) {
		if (fd >= 0)
			lseek(fd, (off_t)(live_len > partial ? live_len - partial : 0), SEEK_SET);
		r = follow(g, id, o, log.max_file, fd);
	} else if (fd >= 0) {
		close(fd);
	}
	if (r < 0)
		return berr_set(e, EPIPE, "logs of %.12s: the reader went away", id);
	return 0;
}
