/* berth pod create|ls|inspect|rm|prune|start|stop|kill|restart|pause|unpause
 * (top|stats|logs: cmd_pod_extra.c), as Podman's (the engine's side: src/lib/engine/pod.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_pod.h"
#include "ctr.h"
#include "engine/pod.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

#define POD_OPEN(c, g)                                                                             \
	berr e;                                                                                    \
	_cleanup_eng_ eng *g = ctr_open(c, &e);                                                    \
	if (!g)                                                                                    \
		return cli_fail(125, &e);

static int pod_create(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod create",
	    "[OPTIONS] [NAME]",
	    "Create a new empty pod",
	    "An infra container (berth-pause, from the local image " ENG_PAUSE_IMAGE
	    ", made on first use) holds the namespaces the pod's containers share: ipc, net and "
	    "uts unless --share says otherwise. The pod's network and published ports are set "
	    "here; `berth run --pod NAME` adds containers. Prints the pod's ID.",
	    "berth pod create --name web -p 8080:80\nberth run -d --pod web IMAGE httpd -f\n"
	    "berth pod create --share ipc,net,uts,pid --name p2",
	    CLI_ARGS_NONE};
	eng_pod_opts o = {0};
	bool infra = true, no_infra = false;
	char **labels = NULL;
	const flag_def defs[] = {
	    {"name", 'n', FLAG_STRING, &o.name, "Assign a name to the pod", "string"},
	    {"hostname", 0, FLAG_STRING, &o.hostname, "The pod's host name (default: its name)",
	     "string"},
	    {"share", 0, FLAG_STRING, &o.share,
	     "Namespaces the containers share: ipc, net, uts, pid, or none", "list", "ipc,net,uts"},
	    {"infra", 0, FLAG_BOOL, &infra, "Create an infra container (--infra=false: none)"},
	    {"no-infra", 0, FLAG_BOOL, &no_infra, "The same as --infra=false"},
	    {"label", 'l', FLAG_LIST, &labels, "A label (repeatable)", "KEY=VALUE"},
	    {"network", 0, FLAG_STRING, &o.network, "The pod's network: bridge, NAME, none, host",
	     "string", "bridge"},
	    {"publish", 'p', FLAG_LIST, &o.publish, "Publish a port of the pod (repeatable)",
	     "[IP:][HOSTPORT:]PORT[/PROTO]"},
	    {"ip", 0, FLAG_STRING, &o.ip, "IPv4 address on the network", "IP"},
	    {"mac-address", 0, FLAG_STRING, &o.mac, "MAC address on the network", "MAC"},
	    {"network-alias", 0, FLAG_LIST, &o.net_aliases, "Another name on the network", "NAME"},
	    {"dns", 0, FLAG_LIST, &o.dns, "DNS server (repeatable)", "IP"},
	    {"dns-search", 0, FLAG_LIST, &o.dns_search, "DNS search domain (repeatable)", "DOMAIN"},
	    {"dns-option", 0, FLAG_LIST, &o.dns_opts, "DNS resolver option (repeatable)", "OPT"},
	    {"add-host", 0, FLAG_LIST, &o.add_hosts, "A line in /etc/hosts (repeatable)",
	     "NAME:IP"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	int rc = 0;
	if (i < 0) {
		rc = st;
		goto out;
	}
	if (argc - i > 1 || (argc - i == 1 && o.name)) {
		rc = cli_failf(125, "usage: berth pod create [OPTIONS] [NAME] (the name once)");
		goto out;
	}
	if (argc - i == 1)
		o.name = argv[i];
	o.no_infra = no_infra || !infra;
	o.labels = labels;
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g) {
		rc = cli_fail(125, &e);
		goto out;
	}
	char id[65];
	bool missing = false;
	int r = eng_pod_create(g, &o, &missing, id, &e);
	if (r < 0 && missing) { /* the infra image, made once (berth-xfer links libarchive) */
		_cleanup_free_ char *sd = cli_self_dir();
		_cleanup_free_ char *pause = xasprintf("%s/berth-pause", sd);
		const char *args[] = {"pause-image", pause, NULL};
		if ((rc = cli_xfer_run(c, args)) != 0) {
			eng_close(g);
			goto out;
		}
		missing = false;
		r = eng_pod_create(g, &o, &missing, id, &e);
	}
	rc = r < 0 ? cli_fail(125, &e) : (printf("%s\n", id), 0);
	eng_close(g);
out:
	strv_free(labels);
	strv_free(o.publish);
	strv_free(o.net_aliases);
	strv_free(o.dns);
	strv_free(o.dns_search);
	strv_free(o.dns_opts);
	strv_free(o.add_hosts);
	return rc;
}

/* The record plus what inspect and ls show: State, the containers. */
static json_object *pod_view(eng *g, const char *id, berr *e)
{
	json_object *rec = eng_pod_load(g, id, e);
	if (!rec)
		return NULL;
	char status[16];
	eng_pod_status(g, id, status);
	json_object_object_add(rec, "State", json_object_new_string(status));
	_cleanup_strv_ char **ms = eng_pod_members(g, id);
	json_object *arr = json_object_new_array();
	for (char **m = ms; *m; m++) {
		berr ig;
		json_object *d = eng_load(g, *m, &ig);
		if (!d)
			continue;
		const char *s = eng_reconcile(g, *m, d);
		const char *nm = eng_doc_str(d, "Name");
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Id", json_object_new_string(*m));
		json_object_object_add(o, "Name",
				       json_object_new_string(nm && nm[0] == '/' ? nm + 1
							      : nm		 ? nm
										 : ""));
		json_object_object_add(o, "State", json_object_new_string(s));
		json_object_array_add(arr, o);
		json_object_put(d);
	}
	json_object_object_add(rec, "NumContainers",
			       json_object_new_int((int)json_object_array_length(arr)));
	json_object_object_add(rec, "Containers", arr);
	return rec;
}

/* oldest first, as Podman lists them */
static int by_created(const void *a, const void *b)
{
	int64_t x = eng_time_parse(eng_doc_str(*(json_object *const *)a, "Created"));
	int64_t y = eng_time_parse(eng_doc_str(*(json_object *const *)b, "Created"));
	return x < y ? -1 : x > y;
}

static int pod_ls(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"pod ls",	    "[OPTIONS]",
				    "List pods",    "Oldest first; STATUS as Podman derives it.",
				    "berth pod ls", CLI_ARGS_NONE};
	bool quiet = false, notrunc = false;
	const char *format = NULL;
	const flag_def defs[] = {{"quiet", 'q', FLAG_BOOL, &quiet, "Only display pod IDs"},
				 {"no-trunc", 0, FLAG_BOOL, &notrunc, "Do not truncate pod IDs"},
				 {"format", 0, FLAG_STRING, &format,
				  "Format: table, json, or a Go template", "string", "table"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i < argc)
		return cli_failf(125, "\"pod ls\" accepts no arguments");
	POD_OPEN(c, g);
	_cleanup_strv_ char **ids = eng_pod_list(g);
	json_object *arr = json_object_new_array();
	for (char **p = ids; *p; p++) {
		json_object *v = pod_view(g, *p, &e);
		if (v)
			json_object_array_add(arr, v);
	}
	json_object_array_sort(arr, by_created);
	int rc = 0;
	bool table = !format || !strcmp(format, "table");
	if (quiet || table) {
		if (!quiet)
			printf("%-14s %-20s %-9s %-26s %-14s %s\n", "POD ID", "NAME", "STATUS",
			       "CREATED", "INFRA ID", "# OF CONTAINERS");
		for (size_t k = 0; k < json_object_array_length(arr); k++) {
			json_object *v = json_object_array_get_idx(arr, k);
			const char *id = eng_doc_str(v, "Id");
			if (quiet) {
				printf("%.*s\n", notrunc ? 64 : 12, id);
				continue;
			}
			char ago[80];
			ctr_created_ago(v, ago, sizeof(ago));
			printf("%-14.*s %-20s %-9s %-26s %-14.12s %d\n", notrunc ? 64 : 12, id,
			       eng_doc_str(v, "Name"), eng_doc_str(v, "State"), ago,
			       eng_doc_str(v, "InfraContainerID"),
			       (int)eng_doc_int(v, "NumContainers"));
		}
	} else if (!strcmp(format, "json")) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_SPACED));
	} else if (tmpl_print_array(format, arr, 0, &e) < 0) {
		rc = cli_fail(125, &e);
	}
	json_object_put(arr);
	return rc;
}

static int pod_inspect(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"pod inspect",
				    "[OPTIONS] POD [POD...]",
				    "Display detailed information on one or more pods",
				    NULL,
				    "berth pod inspect web\nberth pod inspect -f '{{.State}}' web",
				    CLI_ARGS_NONE};
	const char *format = NULL;
	const flag_def defs[] = {
	    {"format", 'f', FLAG_STRING, &format, "Format the output with a Go template", "string"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"pod inspect\" requires at least 1 argument");
	POD_OPEN(c, g);
	json_object *arr = json_object_new_array();
	int rc = 0;
	for (; i < argc; i++) {
		char id[65];
		json_object *v =
		    eng_pod_lookup(g, argv[i], id, &e) < 0 ? NULL : pod_view(g, id, &e);
		if (!v) {
			rc = cli_fail(125, &e);
			continue;
		}
		json_object_array_add(arr, v);
	}
	if (tmpl_print_array(format, arr, 0, &e) < 0)
		rc = cli_fail(125, &e);
	json_object_put(arr);
	return rc;
}

/* Remove a pod: its containers (-f: running ones too, the infra last),
 * then the record and its cgroup. */
static int remove_pod(eng *g, const char *id, bool force, berr *e)
{
	_cleanup_strv_ char **ms = eng_pod_members(g, id);
	size_t n = strv_len(ms);
	for (size_t k = 0; k < n && !force; k++) {
		json_object *d = eng_load(g, ms[k], e);
		if (!d)
			return -1;
		const char *s = eng_reconcile(g, ms[k], d);
		bool live = !strcmp(s, "running") || !strcmp(s, "paused") || !strcmp(s, "creating");
		json_object_put(d);
		if (live)
			return berr_set(e, EBUSY,
					"pod %.12s: container %.12s is %s (pod rm -f stops it)", id,
					ms[k], s);
	}
	if (force) /* SIGKILL to all at once (timeout 0) */
		eng_container_stop_many(g, ms, 0);
	/* the infra (first) goes last: the members leave its namespaces first */
	for (size_t k = n; k-- > 0;)
		if (eng_remove(g, ms[k], false, e) < 0)
			return -1;
	return eng_pod_remove(g, id, e);
}

static int pod_rm(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"pod rm",
				    "[OPTIONS] POD [POD...]",
				    "Remove one or more stopped pods and their containers",
				    "-f: running ones too (their containers are killed).",
				    "berth pod rm web\nberth pod rm -f web",
				    CLI_ARGS_NONE};
	bool force = false, all = false;
	const flag_def defs[] = {{"force", 'f', FLAG_BOOL, &force, "Stop and remove running pods"},
				 {"all", 'a', FLAG_BOOL, &all, "Remove every pod"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc && !all)
		return cli_failf(125, "\"pod rm\" requires at least 1 argument (or --all)");
	POD_OPEN(c, g);
	_cleanup_strv_ char **ids = all ? eng_pod_list(g) : NULL;
	int rc = 0;
	for (size_t k = 0; all ? ids[k] != NULL : i + (int)k < argc; k++) {
		char id[65];
		const char *ref = all ? ids[k] : argv[i + k];
		if (eng_pod_lookup(g, ref, id, &e) < 0 || remove_pod(g, id, force, &e) < 0) {
			rc = cli_fail(1, &e);
			continue;
		}
		printf("%s\n", id);
	}
	return rc;
}

/* Podman's: every pod none of whose containers runs. */
static int pod_prune(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod prune", "[OPTIONS]",	    "Remove every pod with no running container",
	    NULL,	 "berth pod prune", CLI_ARGS_NONE};
	bool force = false;
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation (berth never does)"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i < argc)
		return cli_failf(125, "\"pod prune\" accepts no arguments");
	POD_OPEN(c, g);
	_cleanup_strv_ char **ids = eng_pod_list(g);
	int rc = 0;
	for (char **p = ids; *p; p++) {
		char status[16];
		eng_pod_status(g, *p, status);
		if (!strcmp(status, "Running") || !strcmp(status, "Degraded") ||
		    !strcmp(status, "Paused"))
			continue;
		if (remove_pod(g, *p, false, &e) < 0)
			rc = cli_fail(1, &e);
		else
			printf("%s\n", *p);
	}
	return rc;
}

int cmd_pod(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {
	    {"create", pod_create, "Create a new empty pod"},
	    {"ls", pod_ls, "List pods"},
	    {"list", pod_ls, "List pods"},
	    {"ps", pod_ls, "List pods"},
	    {"inspect", pod_inspect, "Display detailed information on pods"},
	    {"rm", pod_rm, "Remove pods and their containers"},
	    {"prune", pod_prune, "Remove every pod with no running container"},
	    {"start", pod_start, "Start pods (the infra first)"},
	    {"stop", pod_stop, "Stop pods (the infra last)"},
	    {"kill", pod_kill, "Send a signal to the containers of pods"},
	    {"restart", pod_restart, "Restart pods"},
	    {"pause", pod_pause, "Pause the containers of pods"},
	    {"unpause", pod_unpause, "Unpause the containers of pods"},
	    {"top", pod_top, "Display the running processes of a pod's containers"},
	    {"stats", pod_stats, "Display resource usage of pods' containers"},
	    {"logs", pod_logs, "Fetch the logs of a pod's containers"},
	};
	static const cli_doc doc = {"pod",
				    "COMMAND",
				    "Manage pods",
				    "Containers that share namespaces (ipc, net, uts; pid on "
				    "request) and a cgroup, as Podman's pods.",
				    "berth pod create --name web -p 8080:80\nberth pod ls",
				    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
