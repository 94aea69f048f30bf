/* Restart policies and probes at the front end: run/create's --restart and
 * --health-* flags made into eng_run_opts, `berth healthcheck run`
 * (podman's), and the monitor's `berth container probe` (the prober). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr.h"
#include "engine/health.h"
#include "health_flags.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

int health_flags_apply(health_flags *h, eng_run_opts *o, berr *e)
{
	eng_probe *p = &h->probe;
	*p = (eng_probe){.role = ENG_PROBE_HEALTH, .kind = ENG_PROBE_EXEC};
	bool any = false;
	const struct {
		const char *flag, *val;
		int64_t *out;
	} durs[] = {{"--health-interval", h->interval, &p->interval_ns},
		    {"--health-timeout", h->timeout, &p->timeout_ns},
		    {"--health-start-period", h->start_period, &p->start_period_ns}};
	for (size_t i = 0; i < 3; i++)
		if (durs[i].val) {
			if (eng_duration_parse(durs[i].flag, durs[i].val, durs[i].out, e) < 0)
				return -1;
			any = true;
		}
	if (h->retries) {
		char *end;
		long v = strtol(h->retries, &end, 10);
		if (!*h->retries || *end || v < 0 || v > 1000000)
			return berr_set(e, EINVAL,
					"invalid --health-retries \"%s\": a number, 0 or more",
					h->retries);
		p->failure_threshold = (int)v;
		any = true;
	}
	if (h->cmd) {
		/* Docker: --health-cmd is a shell command (CMD-SHELL) */
		h->argv[0] = "/bin/sh";
		h->argv[1] = "-c";
		h->argv[2] = (char *)h->cmd;
		h->argv[3] = NULL;
		p->cmd = h->argv;
		any = true;
	}
	if (any) {
		o->probes = p;
		o->n_probes = 1;
	}
	o->no_healthcheck = h->none;
	o->restart = h->restart;
	return 0;
}

/* berth healthcheck run CONTAINER */
static int cmd_hc_run(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"healthcheck run",
				    "CONTAINER",
				    "Run a container's health check once, now",
				    "Exit status 0: healthy, 1: unhealthy, 125: no such container, "
				    "not running or no health check. The result goes into its "
				    "State.Health as the scheduled checks' do.",
				    "berth healthcheck run web",
				    CLI_ARGS_CONTAINERS};
	const flag_def defs[] = {{0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i + 1 != argc)
		return cli_failf(125, "\"healthcheck run\" requires exactly 1 argument");
	berr e;
	_cleanup_eng_ eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	char id[65];
	if (eng_lookup(g, argv[i], id, &e) < 0)
		return cli_fail(125, &e);
	bool healthy;
	if (eng_health_run_once(g, id, &healthy, &e) < 0)
		return cli_fail(125, &e);
	if (!healthy) {
		printf("unhealthy\n");
		return 1;
	}
	printf("healthy\n");
	return 0;
}

int cmd_healthcheck(cli *c, int argc, char **argv)
{
	static const cli_cmd sub[] = {{"run", cmd_hc_run, "Run a container's health check now"}};
	static const cli_doc doc = {
	    "healthcheck", "COMMAND", "Manage health checks", NULL, "berth healthcheck run web",
	    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, sub, ARRAY_SIZE(sub), argc, argv);
}

/* berth container probe ID: the prober, started detached by the start */
int cmd_probe(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"container probe",
				    "CONTAINER",
				    "Run a container's probes until it exits (started by berth)",
				    NULL,
				    NULL,
				    CLI_ARGS_CONTAINERS};
	const flag_def defs[] = {{0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i + 1 != argc)
		return 125;
	berr e;
	_cleanup_eng_ eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	return eng_probe_loop(g, argv[i], &e) < 0 ? 125 : 0;
}
