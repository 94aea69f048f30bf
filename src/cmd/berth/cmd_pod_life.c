/* berth pod start|stop|kill|restart|pause|unpause: each acts on the pod's
 * containers in the order the namespaces need, the infra first up and last
 * down (engine/pod.h), and prints the pod's ID as Podman does. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd_pod.h"
#include "ctr.h"
#include "engine/pod.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

typedef enum { OP_START, OP_STOP, OP_KILL, OP_RESTART, OP_PAUSE, OP_UNPAUSE } pod_op;

typedef struct op_args {
	pod_op op;
	int timeout, sig;
} op_args;

static const char *status_of(eng *g, const char *id)
{
	berr ig;
	json_object *d = eng_load(g, id, &ig);
	if (!d)
		return "gone";
	const char *s = eng_reconcile(g, id, d); /* static strings */
	json_object_put(d);
	return s;
}

static bool status_of_infra(eng *g, const char *id)
{
	berr ig;
	json_object *d = eng_load(g, id, &ig);
	json_object *v = d ? json_object_object_get(d, "IsInfra") : NULL;
	bool r = v && json_object_get_boolean(v);
	json_object_put(d);
	return r;
}

static bool live(const char *s)
{
	return !strcmp(s, "running") || !strcmp(s, "paused");
}

static int start_all(cli *c, eng *g, char **ms, berr *e)
{
	(void)c;
	for (char **m = ms; *m; m++) {
		const char *s = status_of(g, *m);
		if (live(s))
			continue;
		if (ctr_start(g, *m, false, false) != 0)
			return berr_set(e, EIO, "container %.12s did not start", *m);
	}
	return 0;
}

/* The members together, then the infra (first in ms): its namespaces stay
 * until the others are down. */
static int stop_all(eng *g, char **ms, int timeout, berr *e)
{
	(void)e;
	bool infra = ms[0] && ms[1] && status_of_infra(g, ms[0]);
	eng_container_stop_many(g, infra ? ms + 1 : ms, timeout);
	if (infra)
		eng_container_stop(g, ms[0], timeout, 0, NULL, e);
	return 0;
}

static int one_pod(cli *c, eng *g, const char *id, const op_args *a, berr *e)
{
	_cleanup_strv_ char **ms = eng_pod_members(g, id);
	if (!*ms)
		return berr_set(e, ENOENT, "pod %.12s has no containers", id);
	switch (a->op) {
	case OP_START:
		return start_all(c, g, ms, e);
	case OP_STOP:
		return stop_all(g, ms, a->timeout, e);
	case OP_RESTART:
		if (stop_all(g, ms, a->timeout, e) < 0)
			return -1;
		return start_all(c, g, ms, e);
	case OP_KILL: {
		bool any = false;
		for (size_t k = strv_len(ms); k-- > 0;) {
			if (!live(status_of(g, ms[k])))
				continue;
			if (rt_kill(&g->rt, ms[k], a->sig, false, e) < 0)
				return -1;
			any = true;
		}
		return any ? 0 : berr_set(e, EINVAL, "pod %.12s: no container is running", id);
	}
	case OP_PAUSE:
	case OP_UNPAUSE:
		for (char **m = ms; *m; m++) {
			const char *s = status_of(g, *m);
			if (strcmp(s, a->op == OP_PAUSE ? "running" : "paused"))
				continue;
			if (rt_pause(&g->rt, *m, a->op == OP_PAUSE, e) < 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

static int run_op(cli *c, const cli_doc *doc, const flag_def *defs, int argc, char **argv,
		  op_args *a, const char *sig_name, bool *all)
{
	int st, i = cli_flags(c, doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (sig_name && (a->sig = spec_signal_from_name(sig_name)) <= 0)
		return cli_failf(125, "invalid signal: %s", sig_name);
	if (i >= argc && !*all)
		return cli_failf(125, "\"%s\" requires at least 1 argument (or --all)", doc->name);
	berr e;
	_cleanup_eng_ eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	_cleanup_strv_ char **ids = *all ? eng_pod_list(g) : NULL;
	int rc = 0;
	for (size_t k = 0; *all ? ids[k] != NULL : i + (int)k < argc; k++) {
		char id[65];
		const char *ref = *all ? ids[k] : argv[i + k];
		if (eng_pod_lookup(g, ref, id, &e) < 0 || one_pod(c, g, id, a, &e) < 0) {
			rc = cli_fail(125, &e);
			continue;
		}
		printf("%s\n", id);
	}
	return rc;
}

#define ALL_FLAG(p)                                                                                \
	{                                                                                          \
		"all", 'a', FLAG_BOOL, (p), "Act on every pod"                                     \
	}

int pod_start(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod start",
	    "[OPTIONS] POD [POD...]",
	    "Start one or more pods",
	    "The infra container first, then the others that are not running.",
	    "berth pod start web",
	    CLI_ARGS_NONE};
	bool all = false;
	const flag_def defs[] = {ALL_FLAG(&all), {0}};
	op_args a = {OP_START, 0, 0};
	return run_op(c, &doc, defs, argc, argv, &a, NULL, &all);
}

int pod_stop(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"pod stop",
				    "[OPTIONS] POD [POD...]",
				    "Stop one or more pods",
				    "Each container as `berth stop` does, the infra last.",
				    "berth pod stop web\nberth pod stop -t 0 web",
				    CLI_ARGS_NONE};
	bool all = false;
	op_args a = {OP_STOP, 10, 0};
	const flag_def defs[] = {{"time", 't', FLAG_INT, &a.timeout,
				  "Seconds to wait before killing a container", "int", "10"},
				 ALL_FLAG(&all),
				 {0}};
	return run_op(c, &doc, defs, argc, argv, &a, NULL, &all);
}

int pod_restart(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod restart", "[OPTIONS] POD [POD...]", "Restart one or more pods",
	    NULL,	   "berth pod restart web",  CLI_ARGS_NONE};
	bool all = false;
	op_args a = {OP_RESTART, 10, 0};
	const flag_def defs[] = {{"time", 't', FLAG_INT, &a.timeout,
				  "Seconds to wait before killing a container", "int", "10"},
				 ALL_FLAG(&all),
				 {0}};
	return run_op(c, &doc, defs, argc, argv, &a, NULL, &all);
}

int pod_kill(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"pod kill",
				    "[OPTIONS] POD [POD...]",
				    "Send a signal to the running containers of pods",
				    "SIGKILL, or the signal --signal names.",
				    "berth pod kill web\nberth pod kill -s HUP web",
				    CLI_ARGS_NONE};
	bool all = false;
	const char *sig = "KILL";
	op_args a = {OP_KILL, 0, SIGKILL};
	const flag_def defs[] = {
	    {"signal", 's', FLAG_STRING, &sig, "Signal to send", "string", "KILL"},
	    ALL_FLAG(&all),
	    {0}};
	return run_op(c, &doc, defs, argc, argv, &a, sig, &all);
}

int pod_pause(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod pause", "[OPTIONS] POD [POD...]", "Pause the running containers of pods",
	    NULL,	 "berth pod pause web",	   CLI_ARGS_NONE};
	bool all = false;
	const flag_def defs[] = {ALL_FLAG(&all), {0}};
	op_args a = {OP_PAUSE, 0, 0};
	return run_op(c, &doc, defs, argc, argv, &a, NULL, &all);
}

int pod_unpause(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pod unpause", "[OPTIONS] POD [POD...]", "Unpause the paused containers of pods",
	    NULL,	   "berth pod unpause web",  CLI_ARGS_NONE};
	bool all = false;
	const flag_def defs[] = {ALL_FLAG(&all), {0}};
	op_args a = {OP_UNPAUSE, 0, 0};
	return run_op(c, &doc, defs, argc, argv, &a, NULL, &all);
}
