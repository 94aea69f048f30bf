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

/* The rotated files, oldest first, then ctr.log (kept open in *fd). */
static char *read_all(eng *g, const char *id, int max_file, int *fd, size_t *live_len)
{
	char *all = xstrdup("");
	size_t n = 0;
	for (int k = max_file - 1; k >= 0; k--) {
		_cleanup_free_ char *name = k ? xasprintf("ctr.log.%d", k) : xstrdup("ctr.log");
		_cleanup_free_ char *p = eng_path(g, id, name);
		int f = open(p, O_RDONLY | O_CLOEXEC);
		char *txt = NULL;
		size_t len = 0;
		berr ig;
		if (f >= 0 && fs_read_fd(f, &txt, &len, &ig) == 0) {
			all = xrealloc(all, n + len + 1);
			memcpy(all + n, txt, len);
			n += len;
			all[n] = 0;
		}
		free(txt);
		if (k == 0) {
			*fd = f;
			*live_len = len;
		} else if (f >= 0) {
			close(f);
		}
	}
	return all;
}

static void follow(eng *g, const char *id, int fd, bool ts)
{
	_cleanup_free_ char *path = eng_path(g, id, "ctr.log");
	static char buf[65536];
	size_t have = 0;
	for (bool last = false;;) {
		ssize_t n = fd >= 0 ? read(fd, buf + have, sizeof(buf) - 1 - have) : 0;
		if (n > 0) {
			have += (size_t)n;
			emit_lines(buf, &have, ts);
			continue;
		}
		if (last)
			break;
		/* rotated: the rest of the old file is read, go on in the new */
		struct stat a, b;
		if (stat(path, &a) == 0 &&
		    (fd < 0 || (fstat(fd, &b) == 0 && a.st_ino != b.st_ino))) {
			if (fd >= 0)
				close(fd);
			fd = open(path, O_RDONLY | O_CLOEXEC);
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

int cmd_logs(cli *c, int argc, char **argv)
{
	bool follow_ = false, ts = false;
	const char *tail = "all";
	const flag_def defs[] = {{"follow", 'f', FLAG_BOOL, &follow_},
				 {"timestamps", 't', FLAG_BOOL, &ts},
				 {"tail", 'n', FLAG_STRING, &tail},
				 {0}};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return cli_fail(125, &e);
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
		follow(g, id, fd, ts);
	} else if (fd >= 0) {
		close(fd);
	}
	eng_close(g);
	return 0;
}
