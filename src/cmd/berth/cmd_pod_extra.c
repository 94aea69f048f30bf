/* berth pod top|stats|logs: Podman's commands over a pod's members
 * (eng_pod_members: the infra first, then by creation), with the container
 * commands' engine calls (stats.c's sample, logs.c's reader, top's /proc
 * walk). pod stats lists a row per running member, as Podman's does (the
 * sum is the pod's cgroup, which an autoscaler reads through the CRI). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd_pod.h"
#include "ctr.h"
#include "engine/pod.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

/* The pod's display name (its Name, else its short id), malloc'ed. */
static char *pod_name(eng *g, const char *id)
{
	berr ig;
	json_object *rec = eng_pod_load(g, id, &ig);
	const char *n = rec ? eng_doc_str(rec, "Name") : NULL;
	char *out = n && *n ? xstrdup(n) : xstrndup(id, 12);
	json_object_put(rec);
	return out;
}

/* A member's name without Docker's leading '/', malloc'ed. */
static char *member_name(eng *g, const char *id)
{
	berr ig;
	json_object *d = eng_load(g, id, &ig);
	const char *n = d ? eng_doc_str(d, "Name") : NULL;
	char *out = n && *n ? xstrdup(n[0] == '/' ? n + 1 : n) : xstrndup(id, 12);
	json_object_put(d);
	return out;
}

static bool member_running(eng *g, const char *id)
{
	berr ig;
	json_object *d = eng_load(g, id, &ig);
	bool r = d && !strcmp(eng_reconcile(g, id, d), "running");
	json_object_put(d);
	return r;
}

int pod_stats(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod stats",
	    "[OPTIONS] [POD...]",
	    "Display a live stream of resource usage of pods' containers",
	    "A row per running container of the pods (the infra included), as Podman's; "
	    "without POD every pod. --format json: one object a line with Pod, Name, "
	    "CPUPerc, CPUNano (total CPU time), MemUsage, MemBytes, PIDs.",
	    "berth pod stats --no-stream web\nberth pod stats --no-stream --format json",
	    CLI_ARGS_NONE};
	bool no_stream = false, all = false;
	const char *format = NULL;
	const flag_def defs[] = {
	    {"no-stream", 0, FLAG_BOOL, &no_stream, "Print the first result only"},
	    {"format", 0, FLAG_STRING, &format, "Format: table, json or a Go template", "string",
	     "table"},
	    {"all", 'a', FLAG_BOOL, &all, "Every pod (the default without POD)"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	berr e;
	_cleanup_eng_ eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	_cleanup_strv_ char **pods = NULL;
	if (i >= argc) {
		pods = eng_pod_list(g);
	} else {
		for (; i < argc; i++) {
			char id[65];
			if (eng_pod_lookup(g, argv[i], id, &e) < 0)
				return cli_fail(125, &e);
			strv_push(&pods, id);
		}
	}
	_cleanup_strv_ char **ids = NULL, **names = NULL;
	for (char **p = pods; p && *p; p++) {
		_cleanup_strv_ char **ms = eng_pod_members(g, *p);
		_cleanup_free_ char *pn = pod_name(g, *p);
		for (char **m = ms; *m; m++)
			if (member_running(g, *m)) {
				strv_push(&ids, *m);
				strv_push(&names, pn);
			}
	}
	if (!ids)
		ids = xzalloc(sizeof(char *));
	return ctr_stats_show(g, ids, names ? names : ids, no_stream, format);
}

int pod_top(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"pod top",
				    "POD",
				    "Display the running processes of a pod's containers",
				    "Each running container's processes (the infra's pause too).",
				    "berth pod top web",
				    CLI_ARGS_NONE};
	int st, i = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 1)
		return cli_failf(125, "\"pod top\" requires exactly 1 argument");
	berr e;
	_cleanup_eng_ eng *g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_pod_lookup(g, argv[i], id, &e) < 0)
		return cli_fail(125, &e);
	_cleanup_strv_ char **ms = eng_pod_members(g, id);
	bool any = false;
	for (char **m = ms; *m; m++) {
		eng_proc *procs = NULL;
		size_t n = 0;
		if (!member_running(g, *m) || eng_container_top(g, *m, &procs, &n, &e) < 0)
			continue;
		_cleanup_free_ char *nm = member_name(g, *m);
		if (!any)
			printf("%-20s %-8s %-8s %-8s %s\n", "CONTAINER", "UID", "PID", "PPID",
			       "CMD");
		any = true;
		for (size_t k = 0; k < n; k++)
			printf("%-20s %-8u %-8d %-8d %s\n", nm, (unsigned)procs[k].uid,
			       procs[k].pid, procs[k].ppid, procs[k].cmd);
		eng_procs_free(procs, n);
	}
	if (!any)
		return cli_failf(125, "pod %s has no running container", argv[i]);
	return 0;
}

/* ---- logs ---- */

typedef struct log_out {
	const char *name;
	bool ts;
} log_out;

/* One entry, "NAME " first, in one write: followed members print at once
 * (a process each) and a line of one must not split a line of another. */
static int print_prefixed(void *arg, const eng_log_entry *en)
{
	const log_out *o = arg;
	size_t nl = strlen(o->name), tl = o->ts && en->time ? strlen(en->time) + 1 : 0;
	char *buf = xmalloc(nl + 1 + tl + en->len);
	memcpy(buf, o->name, nl);
	buf[nl] = ' ';
	if (tl) {
		memcpy(buf + nl + 1, en->time, tl - 1);
		buf[nl + tl] = ' ';
	}
	memcpy(buf + nl + 1 + tl, en->bytes, en->len);
	FILE *f = en->stream == 2 ? stderr : stdout;
	size_t len = nl + 1 + tl + en->len;
	bool ok = fwrite(buf, 1, len, f) == len && fflush(f) == 0;
	free(buf);
	return ok ? 0 : -1;
}

/* The members whose logs are read: the one asked for, else all but the
 * infra (the pause writes nothing and keeps no log). */
static char **log_members(eng *g, const char *pod, const char *only, berr *e)
{
	char **ms = eng_pod_members(g, pod), **out = NULL;
	json_object *rec = eng_pod_load(g, pod, e);
	const char *infra = rec ? eng_doc_str(rec, "InfraContainerID") : "";
	char want[65] = "";
	if (only && eng_lookup(g, only, want, e) < 0) {
		json_object_put(rec);
		strv_free(ms);
		return NULL;
	}
	for (char **m = ms; *m; m++)
		if (only ? !strcmp(*m, want) : strcmp(*m, infra ? infra : ""))
			strv_push(&out, *m);
	json_object_put(rec);
	strv_free(ms);
	if (only && !out)
		berr_set(e, ENOENT, "container %s is not in pod %.12s", only, pod);
	else if (!out)
		out = xzalloc(sizeof(char *));
	return out;
}

int pod_logs(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod logs",
	    "[OPTIONS] POD",
	    "Fetch the logs of a pod's containers",
	    "Each container's log (not the infra's), every line after the container's name; "
	    "with -f all of them followed at once until they exit. --tail counts per container.",
	    "berth pod logs web\nberth pod logs -f --tail 10 web\nberth pod logs -c srv web",
	    CLI_ARGS_NONE};
	bool follow = false, ts = false;
	const char *tail = "all", *only = NULL;
	const flag_def defs[] = {
	    {"follow", 'f', FLAG_BOOL, &follow, "Follow the log output"},
	    {"timestamps", 't', FLAG_BOOL, &ts, "Show timestamps"},
	    {"tail", 'n', FLAG_STRING, &tail, "Number of lines to show from the end", "string",
	     "all"},
	    {"container", 'c', FLAG_STRING, &only, "Only this container of the pod", "string"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 1)
		return cli_failf(125, "\"pod logs\" requires exactly 1 argument");
	long want = -1;
	if (strcmp(tail, "all")) {
		char *end;
		errno = 0;
		want = strtol(tail, &end, 10);
		if (*end || !*tail || want < 0 || errno)
			return cli_failf(125, "invalid --tail \"%s\"", tail);
	}
	berr e;
	_cleanup_eng_ eng *g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_pod_lookup(g, argv[i], id, &e) < 0)
		return cli_fail(125, &e);
	_cleanup_strv_ char **ms = log_members(g, id, only, &e);
	if (!ms)
		return cli_fail(125, &e);
	size_t n = strv_len(ms);
	pid_t *kids = xzalloc((n + 1) * sizeof(pid_t));
	int rc = 0;
	fflush(stdout);
	for (size_t k = 0; k < n; k++) {
		_cleanup_free_ char *nm = member_name(g, ms[k]);
		log_out lo = {.name = nm, .ts = ts};
		eng_logs_opts o = {
		    .follow = follow, .tail = want, .write = print_prefixed, .arg = &lo};
		if (follow && n > 1) { /* one reader each, all at once */
			kids[k] = fork();
			if (kids[k] < 0) {
				rc = cli_failf(125, "pod logs: fork: %s", strerror(errno));
				break;
			}
			if (kids[k] > 0)
				continue;
			berr ce;
			int r = eng_container_logs(g, ms[k], &o, &ce);
			if (r < 0)
				cli_fail(1, &ce);
			fflush(NULL);
			_exit(r < 0 ? 1 : 0);
		}
		if (eng_container_logs(g, ms[k], &o, &e) < 0)
			rc = cli_fail(e.errnum == ENOTSUP ? 1 : 125, &e);
	}
	for (size_t k = 0; k < n; k++) {
		if (kids[k] <= 0)
			continue;
		if (rc)
			kill(kids[k], SIGTERM);
		int ws = 0;
		pid_t w;
		do
			w = waitpid(kids[k], &ws, 0);
		while (w < 0 && errno == EINTR);
		if (!rc && (w < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws)))
			rc = 1;
	}
	free(kids);
	return rc;
}
