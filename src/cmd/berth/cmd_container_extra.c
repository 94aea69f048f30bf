/* berth stats, top, cp: flags and output; the sampling, the process list
 * and the copy are the engine's (stats.c, cp.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctr.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* What the table needs of a sample (eng_container_stats). */
typedef struct sample {
	uint64_t cpu, mem, limit, pids;
	int64_t t;
} sample;

static int take(eng *g, const char *id, sample *s, berr *e)
{
	eng_stats st;
	if (eng_container_stats(g, id, &st, e) < 0)
		return -1;
	*s = (sample){.cpu = st.cpu_ns,
		      .mem = st.mem,
		      .limit = st.mem_limit,
		      .pids = st.pids,
		      .t = st.mono_ns};
	return 0;
}

static void human_bytes(uint64_t b, char *out, size_t sz)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, sz, "%.4g%s", v, u[i]);
}

/* One row of stats: ids[k]'s name (and pod) and usage between a and b. */
static int stats_row(eng *g, const char *id, const char *pod, const sample *a, const sample *b,
		     bool have, const char *format, berr *e)
{
	json_object *d = eng_load(g, id, e);
	const char *nm = d ? eng_doc_str(d, "Name") : "/?";
	nm = nm[0] == '/' ? nm + 1 : nm;
	double cpu = 0, memp = 0;
	if (have && b->t > a->t)
		cpu = (double)(b->cpu - a->cpu) / (double)(b->t - a->t) * 100.0;
	uint64_t lim = b->limit;
	if (!lim || lim > (1ULL << 62)) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		lim = (uint64_t)pages * (uint64_t)psz;
	}
	memp = lim ? (double)b->mem / (double)lim * 100.0 : 0;
	char mu[32], ml[32];
	human_bytes(b->mem, mu, sizeof(mu));
	human_bytes(lim, ml, sizeof(ml));
	char both[80];
	snprintf(both, sizeof(both), "%s / %s", mu, ml);
	int r = 0;
	if (format) {
		/* docker stats --format: its field names, its strings; Podman's
		 * CPUNano (the total CPU time, what an autoscaler differentiates)
		 * and, for pod stats, Pod */
		json_object *o = json_object_new_object();
		char v[64];
		snprintf(v, sizeof(v), "%.12s", id);
		json_object_object_add(o, "ID", json_object_new_string(v));
		json_object_object_add(o, "Container", json_object_new_string(v));
		json_object_object_add(o, "Name", json_object_new_string(nm));
		if (pod)
			json_object_object_add(o, "Pod", json_object_new_string(pod));
		snprintf(v, sizeof(v), "%.2f%%", cpu);
		json_object_object_add(o, "CPUPerc", json_object_new_string(v));
		json_object_object_add(o, "CPUNano", json_object_new_uint64(b->cpu));
		json_object_object_add(o, "MemUsage", json_object_new_string(both));
		json_object_object_add(o, "MemBytes", json_object_new_uint64(b->mem));
		snprintf(v, sizeof(v), "%.2f%%", memp);
		json_object_object_add(o, "MemPerc", json_object_new_string(v));
		snprintf(v, sizeof(v), "%llu", (unsigned long long)b->pids);
		json_object_object_add(o, "PIDs", json_object_new_string(v));
		r = !strcmp(format, "json")
			? (fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), stdout),
			   0)
			: tmpl_render(format, o, stdout, e);
		json_object_put(o);
		if (r == 0)
			putchar('\n');
	} else if (pod) {
		printf("%-15.12s %-15.12s %-20s %-8.2f %-22s %-8.2f %llu\n", pod, id, nm, cpu, both,
		       memp, (unsigned long long)b->pids);
	} else {
		printf("%-15.12s %-20s %-8.2f %-22s %-8.2f %llu\n", id, nm, cpu, both, memp,
		       (unsigned long long)b->pids);
	}
	json_object_put(d);
	return r;
}

int ctr_stats_show(eng *g, char **ids, char **pods, bool no_stream, const char *format)
{
	size_t n = strv_len(ids);
	int rc = 0;
	berr e;
	sample *a = xzalloc((n + 1) * sizeof(sample)), *b = xzalloc((n + 1) * sizeof(sample));
	unsigned char *told = xzalloc(n + 1); /* warned once that it has no stats */
	for (;;) {
		for (size_t k = 0; k < n; k++)
			take(g, ids[k], &a[k], &e);
		struct timespec ts = {0, 200000000};
		nanosleep(&ts, NULL);
		if (!format && pods)
			printf("%-15s %-15s %-20s %-8s %-22s %-8s %s\n", "POD", "CID", "NAME",
			       "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS");
		else if (!format)
			printf("%-15s %-20s %-8s %-22s %-8s %s\n", "CONTAINER ID", "NAME", "CPU %",
			       "MEM USAGE / LIMIT", "MEM %", "PIDS");
		for (size_t k = 0; k < n; k++) {
			berr why;
			bool have = take(g, ids[k], &b[k], &why) == 0;
			/* a rootless container without a cgroup: said, not zeros alone */
			if (!have && !told[k]) {
				told[k] = 1;
				fprintf(stderr, "berth: warning: %s: no statistics\n", why.msg);
			}
			if (stats_row(g, ids[k], pods ? pods[k] : NULL, &a[k], &b[k], have, format,
				      &e) < 0) {
				no_stream = true;
				rc = cli_fail(125, &e);
				break;
			}
		}
		fflush(stdout);
		if (no_stream)
			break;
		sleep(1);
	}
	free(a);
	free(b);
	free(told);
	return rc;
}

int cmd_stats(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "stats",
	    "[OPTIONS] [CONTAINER...]",
	    "Display a live stream of container(s) resource usage statistics",
	    "Without CONTAINER: every running container.",
	    "berth stats --no-stream\nberth stats --format json web",
	    CLI_ARGS_CONTAINERS};
	bool no_stream = false;
	const char *format = NULL;
	ctr_sel sel = {.running = true};
	const flag_def defs[] = {
	    {"no-stream", 0, FLAG_BOOL, &no_stream, "Print the first result only"},
	    {"format", 0, FLAG_STRING, &format, "Format: table or json", "string", "table"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest running container"},
	    {0}};
	berr e;
	char *one[3], lid[65];
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0 || ctr_select_one(c, &sel, &argc, &argv, &i, one, lid, &st) < 0)
		return st;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	char **ids = NULL;
	if (i >= argc) {
		char **all = eng_list(g);
		for (char **p = all; *p; p++) {
			json_object *d = eng_load(g, *p, &e);
			if (d && !strcmp(eng_reconcile(g, *p, d), "running"))
				strv_push(&ids, *p);
			json_object_put(d);
		}
		strv_free(all);
	} else {
		for (; i < argc; i++) {
			char id[65];
			if (eng_lookup(g, argv[i], id, &e) < 0) {
				strv_free(ids);
				eng_close(g);
				return cli_fail(125, &e);
			}
			strv_push(&ids, id);
		}
	}
	int rc = ctr_stats_show(g, ids, NULL, no_stream, format);
	strv_free(ids);
	eng_close(g);
	return rc;
}

int cmd_top(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "top", "[OPTIONS] CONTAINER",	  "Display the running processes of a container",
	    NULL,  "berth top web\nberth top -l", CLI_ARGS_CONTAINERS};
	ctr_sel sel = {.running = true};
	const flag_def defs[] = {
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest running container"}, {0}};
	berr e;
	char *one[3], lid[65];
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0 || ctr_select_one(c, &sel, &argc, &argv, &i, one, lid, &st) < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"top\" requires 1 argument");
	eng *g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_lookup(g, argv[i], id, &e) < 0) {
		eng_close(g);
		return cli_fail(125, &e);
	}
	eng_proc *procs = NULL;
	size_t n = 0;
	if (eng_container_top(g, id, &procs, &n, &e) < 0) {
		eng_close(g);
		return cli_failf(125, "container %s is not running", argv[i]);
	}
	printf("%-8s %-8s %-8s %s\n", "UID", "PID", "PPID", "CMD");
	for (size_t k = 0; k < n; k++)
		printf("%-8u %-8d %-8d %s\n", (unsigned)procs[k].uid, procs[k].pid, procs[k].ppid,
		       procs[k].cmd);
	eng_procs_free(procs, n);
	eng_close(g);
	return 0;
}

/* ---- cp ---- */

int cmd_cp(cli *c, int argc, char **argv)
{
	static const cli_doc cp_doc = {
	    "cp",
	    "CONTAINER:SRC_PATH DEST_PATH | SRC_PATH CONTAINER:DEST_PATH",
	    "Copy files/folders between a container and the local filesystem",
	    NULL,
	    "berth cp web:/etc/hosts .\nberth cp ./app.conf web:/etc/app.conf",
	    CLI_ARGS_FILES};
	berr e;
	int st, i = cli_flags(c, &cp_doc, NULL, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 2)
		return cli_failf(125, "usage: berth cp CONTAINER:SRC DST | SRC CONTAINER:DST");
	const char *src = argv[i], *dst = argv[i + 1];
	const char *colon_s = src[0] != '/' && src[0] != '.' ? strchr(src, ':') : NULL;
	const char *colon_d = dst[0] != '/' && dst[0] != '.' ? strchr(dst, ':') : NULL;
	if (!!colon_s == !!colon_d)
		return cli_failf(125, "cp: exactly one of SRC and DST must be CONTAINER:PATH");
	const char *ref_end = colon_s ? colon_s : colon_d;
	const char *ref_start = colon_s ? src : dst;
	_cleanup_free_ char *ref = xstrndup(ref_start, (size_t)(ref_end - ref_start));
	const char *cpath = ref_end + 1;
	eng *g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_lookup(g, ref, id, &e) < 0) {
		eng_close(g);
		return cli_fail(125, &e);
	}
	int r = colon_s ? eng_container_copy_out(g, id, cpath, dst, &e)
			: eng_container_copy_in(g, id, src, cpath, &e);
	eng_close(g);
	return r < 0 ? cli_fail(125, &e) : 0;
}
