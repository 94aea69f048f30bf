/* berth ps and berth logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctr.h"
#include "engine/pod.h"
#include "engine/summary.h"
#include "engine/ctr_filter.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int newest_first(const void *a, const void *b)
{
	int64_t x =
	    json_object_get_int64(json_object_object_get(*(json_object *const *)a, "_created"));
	int64_t y =
	    json_object_get_int64(json_object_object_get(*(json_object *const *)b, "_created"));
	return x < y ? 1 : x > y ? -1 : 0;
}

/* "POD ID  PODNAME" of a member, from the pod records (cached in pods). */
static void pod_cols(eng *g, json_object *d, json_object *pods, char id[13], const char **name)
{
	const char *p = eng_doc_str(d, "Pod");
	*id = 0;
	*name = "";
	if (!p)
		return;
	snprintf(id, 13, "%.12s", p);
	json_object *n = json_object_object_get(pods, p);
	if (!n) {
		berr ig;
		json_object *rec = eng_pod_load(g, p, &ig);
		json_object *nm = rec ? json_object_object_get(rec, "Name") : NULL;
		n = json_object_new_string(nm ? json_object_get_string(nm) : "");
		json_object_put(rec);
		json_object_object_add(pods, p, n);
	}
	*name = json_object_get_string(n);
}

/* A field a record may lack ("" then): a create killed before it filled
 * the record in leaves only Id, Name and State. */
static const char *str_or_empty(json_object *doc, const char *path)
{
	const char *v = eng_doc_str(doc, path);
	return v ? v : "";
}

/* "N units ago", or "" when the record has no creation time */
void ctr_created_ago(json_object *doc, char *out, size_t sz)
{
	int64_t t = eng_time_parse(eng_doc_str(doc, "Created"));
	char ago[64];
	if (t <= 0) {
		if (sz)
			out[0] = 0;
		return;
	}
	eng_human_duration(now_ns() - t, ago, sizeof(ago));
	snprintf(out, sz, "%s ago", ago);
}

/* {{.ID}} {{.Names}} ... */
static void print_format(const char *fmt, json_object *doc, const char *status, const char *st)
{
	_cleanup_free_ char *cmd = eng_command_text(doc);
	const char *name = eng_doc_str(doc, "Name");
	if (name && name[0] == '/')
		name++;
	char created[80];
	ctr_created_ago(doc, created, sizeof(created));
	for (const char *p = fmt; *p;) {
		if (!strncmp(p, "{{", 2)) {
			const char *e = strstr(p, "}}");
			if (!e)
				break;
			char key[64];
			snprintf(key, sizeof(key), "%.*s", (int)(e - p - 2), p + 2);
			char *k = key;
			while (*k == ' ')
				k++;
			char *end = k + strlen(k);
			while (end > k && end[-1] == ' ')
				*--end = 0;
			const char *v = "";
			char idb[16];
			if (!strcmp(k, ".ID")) {
				snprintf(idb, sizeof(idb), "%.12s", eng_doc_str(doc, "Id"));
				v = idb;
			} else if (!strcmp(k, ".Names"))
				v = name;
			else if (!strcmp(k, ".Image"))
				v = str_or_empty(doc, "Config.Image");
			else if (!strcmp(k, ".Command"))
				v = cmd;
			else if (!strcmp(k, ".Status"))
				v = status;
			else if (!strcmp(k, ".State"))
				v = st;
			else if (!strcmp(k, ".CreatedAt"))
				v = str_or_empty(doc, "Created");
			else if (!strcmp(k, ".RunningFor"))
				v = created;
			fputs(v ? v : "", stdout);
			p = e + 2;
		} else if (!strncmp(p, "\\t", 2)) {
			putchar('\t');
			p += 2;
		} else {
			putchar(*p++);
		}
	}
	putchar('\n');
}

int cmd_ps(cli *c, int argc, char **argv)
{
	bool all = false, quiet = false, notrunc = false, show_pod = false;
	const char *format = NULL;
	char **filters = NULL;
	static const cli_doc doc = {
	    "ps",
	    "[OPTIONS]",
	    "List containers",
	    "Running ones, newest first; --all: every one. Filters: status=, name=, id=, label=, "
	    "ancestor=, exited=, pod= (repeatable; the same key ORs, different keys AND).",
	    "berth ps -a\nberth ps -aq\nberth ps -f status=exited -f name=web\nberth ps --format "
	    "json\nberth ps --format '{{.ID}} {{.Names}}'",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {
	    {"all", 'a', FLAG_BOOL, &all, "Show all containers (default shows just running)"},
	    {"filter", 'f', FLAG_LIST, &filters, "Filter output based on conditions (repeatable)",
	     "KEY=VALUE"},
	    {"quiet", 'q', FLAG_BOOL, &quiet, "Only display container IDs"},
	    {"no-trunc", 0, FLAG_BOOL, &notrunc, "Do not truncate output"},
	    {"format", 0, FLAG_STRING, &format, "Format: table, json, or a Go template", "string",
	     "table"},
	    {"pod", 'p', FLAG_BOOL, &show_pod, "Show the pod of each container (POD ID, PODNAME)"},
	    {0}};
	berr e;
	int status, i = cli_flags(c, &doc, defs, argc, argv, &status);
	if (i < 0) {
		strv_free(filters);
		return status;
	}
	if (i < argc) {
		strv_free(filters);
		return cli_failf(125, "\"ps\" accepts no arguments");
	}
	ps_filter *pf = NULL;
	if (filters && !(pf = ps_filter_parse(filters, c->root, &e))) {
		strv_free(filters);
		return cli_fail(125, &e);
	}
	strv_free(filters);
	if (ps_filter_shows_stopped(pf))
		all = true; /* docker ps -f status=exited needs no -a */
	eng *g = ctr_open(c, &e);
	if (!g) {
		ps_filter_free(pf);
		return cli_fail(125, &e);
	}
	char **ids = eng_list(g);
	json_object **docs = xzalloc((strv_len(ids) + 1) * sizeof(*docs));
	size_t n = 0;
	for (char **p = ids; *p; p++) {
		json_object *d = eng_load(g, *p, &e);
		if (!d)
			continue;
		const char *s = eng_reconcile(g, *p, d);
		if (!strcmp(s, "creating")) {
			json_object_put(d);
			continue;
		}
		if ((!all && strcmp(s, "running") && strcmp(s, "paused") &&
		     strcmp(s, "restarting")) ||
		    !ps_filter_match(pf, g, d, s)) {
			json_object_put(d);
			continue;
		}
		json_object_object_add(d, "_status", json_object_new_string(s));
		docs[n++] = d;
	}
	/* newest first (the time parsed once per record) */
	for (size_t k = 0; k < n; k++)
		json_object_object_add(
		    docs[k], "_created",
		    json_object_new_int64(eng_time_parse(eng_doc_str(docs[k], "Created"))));
	qsort(docs, n, sizeof(*docs), newest_first);
	bool json = format && !strcmp(format, "json");
	if (!quiet && !json && (!format || !strcmp(format, "table")))
		printf("%-15s %-20s %-22s %-16s %-26s %-10s %s%s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "PORTS",
		       show_pod ? "NAMES                "
				  "POD ID        "
				: "NAMES",
		       show_pod ? "PODNAME" : "");
	else if (format && !strncmp(format, "table ", 6)) {
		printf("%s\n", format + 6); /* header: the template itself */
		format += 6;
	}
	json_object *arr = json ? json_object_new_array() : NULL;
	json_object *pods = json_object_new_object(); /* pod id -> name */
	for (size_t k = 0; k < n; k++) {
		json_object *d = docs[k];
		const char *s = eng_doc_str(d, "_status");
		_cleanup_free_ char *st = eng_status_text(d, s);
		const char *id = eng_doc_str(d, "Id");
		if (quiet) {
			printf("%.*s\n", notrunc ? 64 : 12, id);
		} else if (json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "Id", json_object_new_string(id));
			json_object_object_add(
			    o, "Image", json_object_new_string(str_or_empty(d, "Config.Image")));
			_cleanup_free_ char *cmd = eng_command_text(d);
			json_object_object_add(o, "Command", json_object_new_string(cmd));
			json_object_object_add(o, "Created",
					       json_object_new_string(str_or_empty(d, "Created")));
			json_object_object_add(o, "State", json_object_new_string(s));
			json_object_object_add(o, "Status", json_object_new_string(st));
			json_object_object_add(
			    o, "ExitCode",
			    json_object_new_int((int)eng_doc_int(d, "State.ExitCode")));
			const char *nm = eng_doc_str(d, "Name");
			json_object *names = json_object_new_array();
			json_object_array_add(names,
					      json_object_new_string(nm[0] == '/' ? nm + 1 : nm));
			json_object_object_add(o, "Names", names);
			json_object_object_add(
			    o, "Pid", json_object_new_int((int)eng_doc_int(d, "State.Pid")));
			if (eng_doc_str(d, "Pod")) { /* Podman's ps --format json */
				char pid[13];
				const char *pname;
				pod_cols(g, d, pods, pid, &pname);
				json_object_object_add(
				    o, "Pod", json_object_new_string(eng_doc_str(d, "Pod")));
				json_object_object_add(o, "PodName", json_object_new_string(pname));
			}
			json_object_array_add(arr, o);
		} else if (format && strcmp(format, "table")) {
			print_format(format, d, st, s);
		} else {
			_cleanup_free_ char *cmd = eng_command_text(d);
			char qc[32];
			snprintf(qc, sizeof(qc), "\"%.19s%s\"", cmd, strlen(cmd) > 19 ? "…" : "");
			char created[80];
			ctr_created_ago(d, created, sizeof(created));
			const char *nm = eng_doc_str(d, "Name");
			_cleanup_free_ char *ports = !strcmp(s, "running") || !strcmp(s, "paused")
							 ? ctr_ports_text(d)
							 : xstrdup("");
			printf("%-15.12s %-20s %-22s %-16s %-26s %-10s ", id,
			       str_or_empty(d, "Config.Image"), qc, created, st, ports);
			if (show_pod) {
				char pid[13];
				const char *pname;
				pod_cols(g, d, pods, pid, &pname);
				printf("%-20s %-13s %s\n", nm[0] == '/' ? nm + 1 : nm, pid, pname);
			} else {
				printf("%s\n", nm[0] == '/' ? nm + 1 : nm);
			}
		}
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_SPACED));
		json_object_put(arr);
	}
	for (size_t k = 0; k < n; k++)
		json_object_put(docs[k]);
	json_object_put(pods);
	free(docs);
	strv_free(ids);
	ps_filter_free(pf);
	eng_close(g);
	return 0;
}
