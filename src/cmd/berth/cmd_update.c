/* berth update (resource limits and the restart policy of containers) and
 * berth rename: flags and printing; the work is the engine's
 * (eng_container_update, eng_container_rename), as for the API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctr.h"

/* A size flag ("512m"), or "-1" (unlimited) when allow_unlimited. */
static int size_flag(const char *flag, const char *v, bool allow_unlimited, int64_t *out)
{
	if (!v)
		return 0;
	if (allow_unlimited && !strcmp(v, "-1")) {
		*out = -1;
		return 0;
	}
	if (eng_parse_size(v, out) < 0 || *out <= 0)
		return cli_failf(125, "invalid --%s \"%s\"", flag, v);
	return 0;
}

static int int_flag(const char *flag, const char *v, int64_t min, int64_t *out)
{
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min)
		return cli_failf(125, "invalid --%s \"%s\"", flag, v);
	*out = n;
	return 0;
}

int cmd_update(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "update",
	    "[OPTIONS] CONTAINER [CONTAINER...]",
	    "Update the resource limits and the restart policy of containers",
	    "A running container's cgroup is changed at once; the new values are also kept "
	    "for its next start.",
	    "berth update --memory 256m --cpus 1.5 web\nberth update --restart on-failure:3 web",
	    CLI_ARGS_CONTAINERS};
	const char *mem = NULL, *swap = NULL, *cpus = NULL, *shares = NULL, *quota = NULL,
		   *period = NULL, *pids = NULL, *blkio = NULL, *restart = NULL;
	const flag_def defs[] = {
	    {"memory", 'm', FLAG_STRING, &mem, "Memory limit", "BYTES"},
	    {"memory-swap", 0, FLAG_STRING, &swap, "Memory plus swap (-1: unlimited)", "BYTES"},
	    {"cpus", 0, FLAG_STRING, &cpus, "Number of CPUs", "DECIMAL"},
	    {"cpu-shares", 'c', FLAG_STRING, &shares, "CPU shares (relative weight)", "INT"},
	    {"cpu-quota", 0, FLAG_STRING, &quota, "CFS quota in µs (-1: unlimited)", "INT"},
	    {"cpu-period", 0, FLAG_STRING, &period, "CFS period in µs", "INT"},
	    {"pids-limit", 0, FLAG_STRING, &pids, "Process limit (-1: unlimited)", "INT"},
	    {"blkio-weight", 0, FLAG_STRING, &blkio, "Block IO weight (10 to 1000)", "INT"},
	    {"restart", 0, FLAG_STRING, &restart, "Restart policy", "POLICY"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"update\" requires at least 1 argument");
	eng_update_opts o = {.restart = restart};
	if (size_flag("memory", mem, false, &o.memory) ||
	    size_flag("memory-swap", swap, true, &o.memory_swap) ||
	    int_flag("cpu-shares", shares, 0, &o.cpu_shares) ||
	    int_flag("cpu-quota", quota, -1, &o.cpu_quota) ||
	    int_flag("cpu-period", period, 0, &o.cpu_period) ||
	    int_flag("pids-limit", pids, -1, &o.pids_limit) ||
	    int_flag("blkio-weight", blkio, 0, &o.blkio_weight))
		return 125;
	if (cpus) {
		char *end;
		double n = strtod(cpus, &end);
		if (end == cpus || *end || !(n > 0) || n > 1024)
			return cli_failf(125, "invalid --cpus \"%s\"", cpus);
		o.nano_cpus = (int64_t)(n * 1e9 + 0.5);
	}
	if (!mem && !swap && !cpus && !shares && !quota && !period && !pids && !blkio && !restart)
		return cli_failf(125, "you must provide one or more flags when using this command");
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	int rc = 0;
	for (; i < argc; i++) {
		char id[65];
		if (eng_lookup(g, argv[i], id, &e) < 0 || eng_container_update(g, id, &o, &e) < 0)
			rc = cli_fail(125, &e);
		else
			printf("%s\n", argv[i]);
	}
	eng_close(g);
	return rc;
}

int cmd_rename(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"rename", "CONTAINER NEW_NAME",	  "Rename a container",
				    NULL,     "berth rename web web-old", CLI_ARGS_CONTAINERS};
	const flag_def defs[] = {{0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 2)
		return cli_failf(125,
				 "\"rename\" requires exactly 2 arguments: usage: berth rename "
				 "CONTAINER NEW_NAME");
	berr e;
	eng *g = ctr_open(c, &e);
	char id[65];
	int rc = !g || eng_lookup(g, argv[i], id, &e) < 0 ||
			 eng_container_rename(g, id, argv[i + 1], &e) < 0
		     ? cli_fail(125, &e)
		     : 0;
	eng_close(g);
	return rc;
}
