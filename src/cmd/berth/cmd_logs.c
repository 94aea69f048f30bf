/* berth logs [-f] [--tail N] [--timestamps] [--since T] [--until T]: flags and output of the
 * engine's eng_container_logs (logs.c: the json-file log, rotated files,
 * follow): stdout's entries to stdout, stderr's to stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctr.h"
#include "util/flags.h"

static int print_entry(void *arg, const eng_log_entry *en)
{
	bool ts = *(bool *)arg;
	FILE *f = en->stream == 2 ? stderr : stdout;
	if (ts && en->time)
		fprintf(f, "%s ", en->time);
	fwrite(en->bytes, 1, en->len, f);
	fflush(f);
	return 0;
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
	const char *tail = "all", *since = NULL, *until = NULL;
	ctr_sel sel = {0};
	const flag_def defs[] = {
	    {"follow", 'f', FLAG_BOOL, &follow_, "Follow the log output"},
	    {"timestamps", 't', FLAG_BOOL, &ts, "Show timestamps"},
	    {"tail", 'n', FLAG_STRING, &tail, "Number of lines to show from the end", "string",
	     "all"},
	    {"since", 0, FLAG_STRING, &since,
	     "Show logs since a time (2013-01-02T13:23:37Z), Unix seconds, or a duration "
	     "before now (42m)",
	     "string"},
	    {"until", 0, FLAG_STRING, &until,
	     "Show logs until a time, Unix seconds, or a duration before now", "string"},
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
	eng_logs_opts o = {.follow = follow_, .tail = want, .write = print_entry, .arg = &ts};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if ((since && eng_logs_time_parse("--since", since, now_ns, &o.since_ns, &e) < 0) ||
	    (until && eng_logs_time_parse("--until", until, now_ns, &o.until_ns, &e) < 0))
		return cli_fail(125, &e);
	eng *g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_lookup(g, argv[i], id, &e) < 0) {
		eng_close(g);
		return cli_fail(125, &e);
	}
	int r = eng_container_logs(g, id, &o, &e);
	eng_close(g);
	if (r < 0)
		return cli_fail(e.errnum == ENOTSUP ? 1 : 125, &e);
	return 0;
}
