/* berth stats, top, cp. */
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

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct sample {
	uint64_t cpu, mem, limit, pids;
	int64_t t;
} sample;

static int take(eng *g, const char *id, sample *s, berr *err)
{
	berr e;
	char *js = NULL;
	/* The usage is read somewhere inside rt_stats_json: the middle of the
	 * call is its best time stamp (a busy host preempting us between the
	 * read and a clock taken after it made a busy loop read as 108%). */
	int64_t before = mono_ns();
	if (rt_stats_json(&g->rt, id, &js, &e) < 0) {
		*err = e;
		return -1;
	}
	s->t = before + (mono_ns() - before) / 2;
	json_object *o = json_tokener_parse(js);
	free(js);
	if (!o)
		return berr_set(err, EINVAL, "container \"%s\": stats are not JSON", id);
	s->cpu = (uint64_t)ctr_int(o, "data.cpu.usage.total");
	s->mem = (uint64_t)ctr_int(o, "data.memory.usage.usage");
	s->limit = (uint64_t)ctr_int(o, "data.memory.usage.limit");
	s->pids = (uint64_t)ctr_int(o, "data.pids.current");
	json_object_put(o);
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
	size_t n = strv_len(ids);
	int rc = 0;
	sample *a = xzalloc((n + 1) * sizeof(sample)), *b = xzalloc((n + 1) * sizeof(sample));
	unsigned char *told = xzalloc(n + 1); /* warned once that it has no stats */
	for (;;) {
		for (size_t k = 0; k < n; k++)
			take(g, ids[k], &a[k], &e);
		struct timespec ts = {0, 200000000};
		nanosleep(&ts, NULL);
		if (!format)
			printf("%-15s %-20s %-8s %-22s %-8s %s\n", "CONTAINER ID", "NAME", "CPU %",
			       "MEM USAGE / LIMIT", "MEM %", "PIDS");
		for (size_t k = 0; k < n; k++) {
			json_object *d = eng_load(g, ids[k], &e);
			const char *nm = d ? ctr_str(d, "Name") : "/?";
			double cpu = 0, memp = 0;
			berr why;
			bool have = take(g, ids[k], &b[k], &why) == 0;
			/* a rootless container without a cgroup: said, not zeros alone */
			if (!have && !told[k]) {
				told[k] = 1;
				fprintf(stderr, "berth: warning: %s: no statistics\n", why.msg);
			}
			if (have && b[k].t > a[k].t)
				cpu = (double)(b[k].cpu - a[k].cpu) / (double)(b[k].t - a[k].t) *
				      100.0;
			uint64_t lim = b[k].limit;
			if (!lim || lim > (1ULL << 62)) {
				long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
				lim = (uint64_t)pages * (uint64_t)psz;
			}
			memp = lim ? (double)b[k].mem / (double)lim * 100.0 : 0;
			char mu[32], ml[32];
			human_bytes(b[k].mem, mu, sizeof(mu));
			human_bytes(lim, ml, sizeof(ml));
			char both[80];
			snprintf(both, sizeof(both), "%s / %s", mu, ml);
			if (format) {
				/* docker stats --format: its field names, its strings */
				json_object *o = json_object_new_object();
				char v[64];
				snprintf(v, sizeof(v), "%.12s", ids[k]);
				json_object_object_add(o, "ID", json_object_new_string(v));
				json_object_object_add(o, "Container", json_object_new_string(v));
				json_object_object_add(
				    o, "Name", json_object_new_string(nm[0] == '/' ? nm + 1 : nm));
				snprintf(v, sizeof(v), "%.2f%%", cpu);
				json_object_object_add(o, "CPUPerc", json_object_new_string(v));
				json_object_object_add(o, "MemUsage", json_object_new_string(both));
				snprintf(v, sizeof(v), "%.2f%%", memp);
				json_object_object_add(o, "MemPerc", json_object_new_string(v));
				snprintf(v, sizeof(v), "%llu", (unsigned long long)b[k].pids);
				json_object_object_add(o, "PIDs", json_object_new_string(v));
				int r = !strcmp(format, "json")
					    ? (fputs(json_object_to_json_string_ext(
							 o, JSON_C_TO_STRING_PLAIN),
						     stdout),
					       0)
					    : tmpl_render(format, o, stdout, &e);
				json_object_put(o);
				if (r < 0) {
					json_object_put(d);
					no_stream = true;
					rc = cli_fail(125, &e);
					break;
				}
				putchar('\n');
			} else {
				printf("%-15.12s %-20s %-8.2f %-22s %-8.2f %llu\n", ids[k],
				       nm[0] == '/' ? nm + 1 : nm, cpu, both, memp,
				       (unsigned long long)b[k].pids);
			}
			json_object_put(d);
		}
		fflush(stdout);
		if (no_stream)
			break;
		sleep(1);
	}
	free(a);
	free(b);
	free(told);
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
	pid_t *pids = NULL;
	size_t n = 0;
	if (rt_pids(&g->rt, id, &pids, &n, &e) < 0) {
		eng_close(g);
		return cli_failf(125, "container %s is not running", argv[i]);
	}
	printf("%-8s %-8s %-8s %s\n", "UID", "PID", "PPID", "CMD");
	for (size_t k = 0; k < n; k++) {
		char p[64], buf[4096];
		snprintf(p, sizeof(p), "/proc/%d/cmdline", pids[k]);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (r < 0)
			continue;
		buf[r] = 0;
		for (ssize_t q = 0; q + 1 < r; q++)
			if (!buf[q])
				buf[q] = ' ';
		snprintf(p, sizeof(p), "/proc/%d/status", pids[k]);
		FILE *f = fopen(p, "re");
		unsigned uid = 0, ppid = 0;
		char line[256];
		while (f && fgets(line, sizeof(line), f)) {
			sscanf(line, "Uid: %u", &uid);
			sscanf(line, "PPid: %u", &ppid);
		}
		if (f)
			fclose(f);
		printf("%-8u %-8d %-8u %s\n", uid, pids[k], ppid, buf);
	}
	free(pids);
	eng_close(g);
	return 0;
}

/* ---- cp ---- */

/* Docker's cp: the copy is merged into an existing directory, replaces
 * existing files, and the files get the caller's owner (no -a). */
#define CP_FLAGS (FS_COPY_REPLACE | FS_COPY_NO_OWNER)

static char *base_name(const char *p)
{
	_cleanup_free_ char *c = xstrdup(p);
	size_t l = strlen(c);
	while (l > 1 && c[l - 1] == '/')
		c[--l] = 0;
	char *s = strrchr(c, '/');
	return xstrdup(s ? s + 1 : c);
}

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
	json_object *doc = eng_load(g, id, &e);
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	struct stat a, b2;
	_cleanup_free_ char *cdir = eng_path(g, id, ".");
	bool was_mounted = stat(rootfs, &a) == 0 && stat(cdir, &b2) == 0 && a.st_dev != b2.st_dev;
	int rc = 125;
	if (!doc || eng_mount_rootfs(g, id, doc, &e) < 0) {
		cli_fail(125, &e);
		goto out;
	}
	int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		cli_failf(125, "open %s: %s", rootfs, strerror(errno));
		goto umount;
	}
	if (colon_s) {
		/* container -> host (a fifo is not waited on: it is skipped) */
		int in = fs_open_in_root(rfd, cpath, O_RDONLY | O_NONBLOCK, 0, &e);
		if (in < 0) {
			cli_fail(125, &e);
			goto close_root;
		}
		struct stat ds;
		_cleanup_free_ char *bn = base_name(cpath);
		int r;
		if (stat(dst, &ds) == 0 && S_ISDIR(ds.st_mode)) {
			int d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			r = d < 0 ? berr_sys(&e, "open %s", dst)
				  : fs_copy_at(in, d, bn, CP_FLAGS, &e);
			if (d >= 0)
				close(d);
		} else {
			_cleanup_free_ char *parent = xstrdup(dst);
			char *sl = strrchr(parent, '/');
			_cleanup_free_ char *dbn = base_name(dst);
			int d = open(sl ? (sl == parent ? "/" : (*sl = 0, parent)) : ".",
				     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			r = d < 0 ? berr_sys(&e, "open the parent of %s", dst)
				  : fs_copy_at(in, d, dbn, CP_FLAGS, &e);
			if (d >= 0)
				close(d);
		}
		close(in);
		rc = r < 0 ? cli_fail(125, &e) : 0;
	} else {
		/* host -> container */
		int in = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (in < 0) {
			cli_failf(125, "open %s: %s", src, strerror(errno));
			goto close_root;
		}
		_cleanup_free_ char *bn = base_name(src);
		int d = fs_open_in_root(rfd, cpath, O_RDONLY | O_DIRECTORY, 0, &e);
		int r;
		if (d >= 0) {
			r = fs_copy_at(in, d, bn, CP_FLAGS, &e);
			close(d);
		} else {
			char name[256];
			int pd = fs_parent_in_root(rfd, cpath, name, sizeof(name), false, &e);
			int pdir =
			    pd < 0 ? -1 : openat(pd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (pd >= 0 && pdir < 0)
				berr_sys(&e, "open the parent of %s", cpath);
			r = pdir < 0 ? -1 : fs_copy_at(in, pdir, name, CP_FLAGS, &e);
			if (pd >= 0)
				close(pd);
			if (pdir >= 0)
				close(pdir);
		}
		close(in);
		rc = r < 0 ? cli_fail(125, &e) : 0;
	}
close_root:
	close(rfd);
umount:
	if (!was_mounted)
		umount2(rootfs, MNT_DETACH);
out:
	json_object_put(doc);
	eng_close(g);
	return rc;
}
