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

static int parse_int(const char *flag, const char *s, int *out, berr *e)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 1000000)
		return berr_set(e, EINVAL, "invalid %s \"%s\": a number, 0 or more", flag, s);
	*out = (int)v;
	return 0;
}

/* One KEY=VALUE of --probe into p (owned strings go to *own). */
static int probe_key(const char *pspec, const char *k, const char *v, eng_probe *p, char ***own,
		     bool *kind, berr *e)
{
	int64_t *dur = !strcmp(k, "interval")	     ? &p->interval_ns
		       : !strcmp(k, "timeout")	     ? &p->timeout_ns
		       : !strcmp(k, "initial-delay") ? &p->initial_delay_ns
		       : !strcmp(k, "start-period")  ? &p->start_period_ns
						     : NULL;
	if (dur)
		return eng_duration_parse(k, v, dur, e) < 0 ? berr_ctx(e, "--probe") : 0;
	if (!strcmp(k, "role")) {
		static const char *const roles[] = {"health", "liveness", "readiness", "startup"};
		for (int r = 0; r < 4; r++)
			if (!strcmp(v, roles[r])) {
				p->role = (eng_probe_role)r;
				return 0;
			}
		return berr_set(
		    e, EINVAL,
		    "--probe: unknown role \"%s\" (health, liveness, readiness, startup)", v);
	}
	if (!strcmp(k, "exec")) {
		p->kind = ENG_PROBE_EXEC;
		*own = eng_shell_argv(v);
		p->cmd = *own;
		*kind = true;
		return 0;
	}
	if (!strcmp(k, "http") || !strcmp(k, "tcp")) {
		p->kind = !strcmp(k, "http") ? ENG_PROBE_HTTP : ENG_PROBE_TCP;
		const char *slash = p->kind == ENG_PROBE_HTTP ? strchr(v, '/') : NULL;
		_cleanup_free_ char *port = slash ? xstrndup(v, (size_t)(slash - v)) : xstrdup(v);
		if (parse_int("--probe port", port, &p->port, e) < 0)
			return -1;
		if (slash) {
			strv_push(own, slash);
			p->http_path = (*own)[0];
		}
		*kind = true;
		return 0;
	}
	if (!strcmp(k, "failure-threshold"))
		return parse_int("--probe failure-threshold", v, &p->failure_threshold, e);
	if (!strcmp(k, "success-threshold"))
		return parse_int("--probe success-threshold", v, &p->success_threshold, e);
	return berr_set(e, EINVAL, "--probe \"%s\": unknown key \"%s\"", pspec, k);
}

/* --probe role=R,exec=LINE | http=PORT[/PATH] | tcp=PORT, and the timing
 * keys; exec= takes the rest of the pspec, commas included. */
static int parse_probe(const char *pspec, eng_probe *p, char ***own, berr *e)
{
	*p = (eng_probe){.role = ENG_PROBE_LIVENESS, .kind = ENG_PROBE_TCP};
	bool kind = false;
	_cleanup_free_ char *s = xstrdup(pspec);
	for (char *f = s, *next; f && *f; f = next) {
		char *eq = strchr(f, '=');
		if (!eq)
			return berr_set(e, EINVAL, "--probe \"%s\": \"%s\" is not KEY=VALUE", pspec,
					f);
		*eq = 0;
		next = NULL;
		if (strcmp(f, "exec") && (next = strchr(eq + 1, ',')))
			*next++ = 0;
		if (probe_key(pspec, f, eq + 1, p, own, &kind, e) < 0)
			return -1;
	}
	if (!kind)
		return berr_set(e, EINVAL, "--probe \"%s\": exec=, http= or tcp= is missing",
				pspec);
	return 0;
}

void health_flags_free(health_flags *h)
{
	for (size_t i = 0; i < sizeof(h->argvs) / sizeof(*h->argvs); i++)
		strv_free(h->argvs[i]);
	strv_free(h->probe_specs);
}

int health_flags_apply(health_flags *h, eng_run_opts *o, berr *e)
{
	eng_probe *p = &h->probes[0];
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
		if (parse_int("--health-retries", h->retries, &p->failure_threshold, e) < 0)
			return -1;
		any = true;
	}
	if (h->cmd) { /* Docker: --health-cmd is a shell line (CMD-SHELL) */
		h->argvs[0] = eng_shell_argv(h->cmd);
		p->cmd = h->argvs[0];
		any = true;
	}
	h->n = any ? 1 : 0;
	for (char **s = h->probe_specs; s && *s; s++) {
		if (h->n >= 5)
			return berr_set(e, EINVAL, "--probe: at most 4, one per role");
		if (parse_probe(*s, &h->probes[h->n], &h->argvs[h->n + 1], e) < 0)
			return -1;
		h->n++;
	}
	if (h->n) {
		o->probes = h->probes;
		o->n_probes = h->n;
	}
	if (h->hook) {
		h->hook_argv[0] = "/bin/sh";
		h->hook_argv[1] = "-c";
		h->hook_argv[2] = (char *)h->hook;
		h->hook_argv[3] = NULL;
		o->readiness_hook = h->hook_argv;
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
