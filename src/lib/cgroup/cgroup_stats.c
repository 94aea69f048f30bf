/* Statistics for `events --stats` (runc's types.Stats) and OOM events. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* Read a single number; "max" reads as UINT64_MAX; missing file as 0. */
static uint64_t read_u64(const char *dir, const char *file)
{
	if (!dir)
		return 0;
	berr e;
	_cleanup_free_ char *s = cg_read(dir, file, &e);
	if (!s)
		return 0;
	if (!strncmp(s, "max", 3))
		return UINT64_MAX;
	return strtoull(s, NULL, 10);
}

static void raw_stats(cgroup_stats *st, const char *text)
{
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		const char *sp = memchr(l, ' ', len);
		if (sp) {
			st->memory.raw = xreallocarray(st->memory.raw, st->memory.n_raw + 1,
						       sizeof(*st->memory.raw));
			st->memory.raw[st->memory.n_raw++] = (cgroup_stat_kv){
			    .key = xstrndup(l, (size_t)(sp - l)),
			    .value = strtoull(sp + 1, NULL, 10),
			};
		}
		l = nl ? nl + 1 : NULL;
	}
}

static void push_blkio(cgroup_blkio_entry **v, size_t *n, uint64_t maj, uint64_t min,
		       const char *op, uint64_t val)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = (cgroup_blkio_entry){.major = maj, .minor = min, .op = op, .value = val};
}

static const char *blkio_op(const char *s)
{
	static const char *const ops[] = {"Read", "Write", "Sync", "Async", "Discard", "Total"};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(s, ops[i]))
			return ops[i];
	return NULL;
}

/* "8:0 Read 4096" lines (v1 blkio). */
static void v1_blkio_file(const char *dir, const char *file, cgroup_blkio_entry **v, size_t *n)
{
	berr e;
	_cleanup_free_ char *s = cg_read(dir, file, &e);
	if (!s)
		return;
	char *save = NULL;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long maj, min, val;
		char op[16];
		if (sscanf(l, "%llu:%llu %15s %llu", &maj, &min, op, &val) == 4 && blkio_op(op))
			push_blkio(v, n, maj, min, blkio_op(op), val);
	}
}

/* hugetlb.<size>.<suffix> files present in dir. */
static void hugetlb_sizes(cgroup_stats *st, const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	size_t sl = strlen(suffix);
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		size_t l = strlen(nm);
		if (strncmp(nm, "hugetlb.", 8) || l <= 8 + sl || strcmp(nm + l - sl, suffix))
			continue;
		size_t szl = l - 8 - sl;
		if (szl == 0 || szl >= sizeof(st->hugetlb[0].size))
			continue;
		st->hugetlb = xreallocarray(st->hugetlb, st->n_hugetlb + 1, sizeof(*st->hugetlb));
		cgroup_hugetlb_stat *h = &st->hugetlb[st->n_hugetlb++];
		*h = (cgroup_hugetlb_stat){0};
		memcpy(h->size, nm + 8, szl);
	}
	closedir(d);
}

static void percpu(cgroup_stats *st, const char *text)
{
	char *end;
	for (const char *p = text;; p = end) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		uint64_t v = strtoull(p, &end, 10);
		if (end == p)
			break;
		st->cpu.percpu =
		    xreallocarray(st->cpu.percpu, st->cpu.n_percpu + 1, sizeof(uint64_t));
		st->cpu.percpu[st->cpu.n_percpu++] = v;
	}
}

int cg_stats_v1(const cgroup *cg, cgroup_stats *st, berr *e)
{
	(void)e;
	const char *acct = cg_v1_dir(cg, CG_CPUACCT);
	if (acct) {
		st->cpu.total = read_u64(acct, "cpuacct.usage");
		_cleanup_free_ char *pc = cg_read(acct, "cpuacct.usage_percpu", e);
		if (pc)
			percpu(st, pc);
		_cleanup_free_ char *cs = cg_read(acct, "cpuacct.stat", e);
		long tck = sysconf(_SC_CLK_TCK);
		uint64_t u = 0, s = 0;
		if (cs && tck > 0) {
			cg_kv(cs, "user", &u);
			cg_kv(cs, "system", &s);
			st->cpu.user = u * (1000000000ull / (uint64_t)tck);
			st->cpu.kernel = s * (1000000000ull / (uint64_t)tck);
		}
	}
	const char *cpu = cg_v1_dir(cg, CG_CPU);
	if (cpu) {
		_cleanup_free_ char *s = cg_read(cpu, "cpu.stat", e);
		if (s) {
			cg_kv(s, "nr_periods", &st->cpu.periods);
			cg_kv(s, "nr_throttled", &st->cpu.throttled_periods);
			cg_kv(s, "throttled_time", &st->cpu.throttled_time);
		}
	}
	const char *mem = cg_v1_dir(cg, CG_MEMORY);
	if (mem) {
		static const char *const pre[] = {"memory.", "memory.memsw.", "memory.kmem.",
						  "memory.kmem.tcp."};
		cgroup_mem_entry *ent[] = {&st->memory.usage, &st->memory.swap, &st->memory.kernel,
					   &st->memory.kernel_tcp};
		for (size_t i = 0; i < ARRAY_SIZE(pre); i++) {
			char f[64];
			snprintf(f, sizeof(f), "%susage_in_bytes", pre[i]);
			ent[i]->usage = read_u64(mem, f);
			snprintf(f, sizeof(f), "%smax_usage_in_bytes", pre[i]);
			ent[i]->max = read_u64(mem, f);
			snprintf(f, sizeof(f), "%slimit_in_bytes", pre[i]);
			ent[i]->limit = read_u64(mem, f);
			snprintf(f, sizeof(f), "%sfailcnt", pre[i]);
			ent[i]->failcnt = read_u64(mem, f);
		}
		_cleanup_free_ char *s = cg_read(mem, "memory.stat", e);
		if (s) {
			raw_stats(st, s);
			cg_kv(s, "cache", &st->memory.cache);
		}
	}
	const char *pids = cg_v1_dir(cg, CG_PIDS);
	if (pids) {
		st->pids.current = read_u64(pids, "pids.current");
		st->pids.limit = read_u64(pids, "pids.max");
		if (st->pids.limit == UINT64_MAX)
			st->pids.limit = 0;
	}
	const char *blk = cg_v1_dir(cg, CG_BLKIO);
	if (blk) {
		v1_blkio_file(blk, "blkio.io_service_bytes_recursive", &st->blkio.service_bytes,
			      &st->blkio.n_service_bytes);
		if (!st->blkio.n_service_bytes)
			v1_blkio_file(blk, "blkio.throttle.io_service_bytes_recursive",
				      &st->blkio.service_bytes, &st->blkio.n_service_bytes);
		v1_blkio_file(blk, "blkio.io_serviced_recursive", &st->blkio.serviced,
			      &st->blkio.n_serviced);
		if (!st->blkio.n_serviced)
			v1_blkio_file(blk, "blkio.throttle.io_serviced_recursive",
				      &st->blkio.serviced, &st->blkio.n_serviced);
	}
	const char *huge = cg_v1_dir(cg, CG_HUGETLB);
	if (huge) {
		hugetlb_sizes(st, huge, ".usage_in_bytes");
		for (size_t i = 0; i < st->n_hugetlb; i++) {
			cgroup_hugetlb_stat *h = &st->hugetlb[i];
			char f[64];
			snprintf(f, sizeof(f), "hugetlb.%s.usage_in_bytes", h->size);
			h->usage = read_u64(huge, f);
			snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", h->size);
			h->max = read_u64(huge, f);
			snprintf(f, sizeof(f), "hugetlb.%s.failcnt", h->size);
			h->failcnt = read_u64(huge, f);
		}
	}
	return 0;
}

int cg_stats_v2(const cgroup *cg, cgroup_stats *st, berr *e)
{
	const char *d = cg->v2;
	_cleanup_free_ char *cs = cg_read(d, "cpu.stat", e);
	if (!cs)
		return -1;
	uint64_t v;
	if (cg_kv(cs, "usage_usec", &v))
		st->cpu.total = v * 1000;
	if (cg_kv(cs, "user_usec", &v))
		st->cpu.user = v * 1000;
	if (cg_kv(cs, "system_usec", &v))
		st->cpu.kernel = v * 1000;
	cg_kv(cs, "nr_periods", &st->cpu.periods);
	cg_kv(cs, "nr_throttled", &st->cpu.throttled_periods);
	if (cg_kv(cs, "throttled_usec", &v))
		st->cpu.throttled_time = v * 1000;
	st->memory.usage.usage = read_u64(d, "memory.current");
	st->memory.usage.max = read_u64(d, "memory.peak");
	st->memory.usage.limit = read_u64(d, "memory.max");
	st->memory.swap.usage = read_u64(d, "memory.swap.current");
	st->memory.swap.max = read_u64(d, "memory.swap.peak");
	st->memory.swap.limit = read_u64(d, "memory.swap.max");
	{
		_cleanup_free_ char *ev = cg_read(d, "memory.events", e);
		if (ev)
			cg_kv(ev, "max", &st->memory.usage.failcnt);
		_cleanup_free_ char *s = cg_read(d, "memory.stat", e);
		if (s) {
			raw_stats(st, s);
			cg_kv(s, "file", &st->memory.cache);
		}
	}
	st->pids.current = read_u64(d, "pids.current");
	st->pids.limit = read_u64(d, "pids.max");
	if (st->pids.limit == UINT64_MAX)
		st->pids.limit = 0;
	_cleanup_free_ char *io = cg_read(d, "io.stat", e);
	char *save = NULL;
	for (char *l = io ? strtok_r(io, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long maj, min;
		int off = 0;
		if (sscanf(l, "%llu:%llu%n", &maj, &min, &off) != 2)
			continue;
		uint64_t rb = 0, wb = 0, ri = 0, wi = 0;
		char *save2 = NULL;
		for (char *t = strtok_r(l + off, " ", &save2); t; t = strtok_r(NULL, " ", &save2)) {
			char *eq = strchr(t, '=');
			if (!eq)
				continue;
			*eq = '\0';
			uint64_t x = strtoull(eq + 1, NULL, 10);
			if (!strcmp(t, "rbytes"))
				rb = x;
			else if (!strcmp(t, "wbytes"))
				wb = x;
			else if (!strcmp(t, "rios"))
				ri = x;
			else if (!strcmp(t, "wios"))
				wi = x;
		}
		push_blkio(&st->blkio.service_bytes, &st->blkio.n_service_bytes, maj, min, "Read",
			   rb);
		push_blkio(&st->blkio.service_bytes, &st->blkio.n_service_bytes, maj, min, "Write",
			   wb);
		push_blkio(&st->blkio.serviced, &st->blkio.n_serviced, maj, min, "Read", ri);
		push_blkio(&st->blkio.serviced, &st->blkio.n_serviced, maj, min, "Write", wi);
	}
	hugetlb_sizes(st, d, ".current");
	for (size_t i = 0; i < st->n_hugetlb; i++) {
		cgroup_hugetlb_stat *h = &st->hugetlb[i];
		char f[64];
		snprintf(f, sizeof(f), "hugetlb.%s.current", h->size);
		h->usage = read_u64(d, f);
		snprintf(f, sizeof(f), "hugetlb.%s.max", h->size);
		h->max = read_u64(d, f);
		snprintf(f, sizeof(f), "hugetlb.%s.events", h->size);
		_cleanup_free_ char *ev = cg_read(d, f, e);
		if (ev)
			cg_kv(ev, "max", &h->failcnt);
	}
	return 0;
}

int cgroup_stats_read(const cgroup *cg, cgroup_stats *st, berr *e)
{
	*st = (cgroup_stats){0};
	int r = cg->mode == CGROUP_V2 ? cg_stats_v2(cg, st, e) : cg_stats_v1(cg, st, e);
	if (r < 0)
		cgroup_stats_clear(st);
	return r;
}

void cgroup_stats_clear(cgroup_stats *st)
{
	free(st->cpu.percpu);
	for (size_t i = 0; i < st->memory.n_raw; i++)
		free(st->memory.raw[i].key);
	free(st->memory.raw);
	free(st->blkio.service_bytes);
	free(st->blkio.serviced);
	free(st->hugetlb);
	*st = (cgroup_stats){0};
}

/* ---- JSON in runc's shape (Go omitempty rules kept) ---------------------- */

static void add_u64(json_object *o, const char *k, uint64_t v, bool omitempty)
{
	if (!v && omitempty)
		return;
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static json_object *mem_entry(const cgroup_mem_entry *m)
{
	json_object *o = json_object_new_object();
	add_u64(o, "limit", m->limit, false);
	add_u64(o, "usage", m->usage, true);
	add_u64(o, "max", m->max, true);
	add_u64(o, "failcnt", m->failcnt, false);
	return o;
}

static void blkio_list(json_object *parent, const char *k, const cgroup_blkio_entry *v, size_t n)
{
	if (!n)
		return;
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		add_u64(o, "major", v[i].major, true);
		add_u64(o, "minor", v[i].minor, true);
		if (v[i].op && *v[i].op)
			json_object_object_add(o, "op", json_object_new_string(v[i].op));
		add_u64(o, "value", v[i].value, true);
		json_object_array_add(a, o);
	}
	json_object_object_add(parent, k, a);
}

char *cgroup_stats_json(const cgroup_stats *st, const char *id)
{
	json_object *data = json_object_new_object();

	json_object *cpu = json_object_new_object(), *usage = json_object_new_object();
	add_u64(usage, "total", st->cpu.total, true);
	if (st->cpu.n_percpu) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < st->cpu.n_percpu; i++)
			json_object_array_add(a, json_object_new_uint64(st->cpu.percpu[i]));
		json_object_object_add(usage, "percpu", a);
	}
	add_u64(usage, "kernel", st->cpu.kernel, false);
	add_u64(usage, "user", st->cpu.user, false);
	json_object_object_add(cpu, "usage", usage);
	json_object *thr = json_object_new_object();
	add_u64(thr, "periods", st->cpu.periods, true);
	add_u64(thr, "throttledPeriods", st->cpu.throttled_periods, true);
	add_u64(thr, "throttledTime", st->cpu.throttled_time, true);
	json_object_object_add(cpu, "throttling", thr);
	json_object_object_add(data, "cpu", cpu);
	json_object_object_add(data, "cpuset", json_object_new_object());

	json_object *mem = json_object_new_object();
	add_u64(mem, "cache", st->memory.cache, true);
	json_object_object_add(mem, "usage", mem_entry(&st->memory.usage));
	json_object_object_add(mem, "swap", mem_entry(&st->memory.swap));
	json_object_object_add(mem, "kernel", mem_entry(&st->memory.kernel));
	json_object_object_add(mem, "kernelTCP", mem_entry(&st->memory.kernel_tcp));
	if (st->memory.n_raw) {
		json_object *raw = json_object_new_object();
		for (size_t i = 0; i < st->memory.n_raw; i++)
			json_object_object_add(raw, st->memory.raw[i].key,
					       json_object_new_uint64(st->memory.raw[i].value));
		json_object_object_add(mem, "raw", raw);
	}
	json_object_object_add(data, "memory", mem);

	json_object *pids = json_object_new_object();
	add_u64(pids, "current", st->pids.current, true);
	add_u64(pids, "limit", st->pids.limit, true);
	json_object_object_add(data, "pids", pids);

	json_object *blk = json_object_new_object();
	blkio_list(blk, "ioServiceBytesRecursive", st->blkio.service_bytes,
		   st->blkio.n_service_bytes);
	blkio_list(blk, "ioServicedRecursive", st->blkio.serviced, st->blkio.n_serviced);
	json_object_object_add(data, "blkio", blk);

	json_object *huge = json_object_new_object();
	for (size_t i = 0; i < st->n_hugetlb; i++) {
		json_object *h = json_object_new_object();
		add_u64(h, "usage", st->hugetlb[i].usage, true);
		add_u64(h, "max", st->hugetlb[i].max, true);
		add_u64(h, "failcnt", st->hugetlb[i].failcnt, false);
		json_object_object_add(huge, st->hugetlb[i].size, h);
	}
	json_object_object_add(data, "hugetlb", huge);
	json_object_object_add(data, "intel_rdt", json_object_new_object());
	json_object_object_add(data, "network_interfaces", NULL);

	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "type", json_object_new_string("stats"));
	json_object_object_add(ev, "id", json_object_new_string(id ? id : ""));
	json_object_object_add(ev, "data", data);
	char *s = xstrdup(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
	json_object_put(ev);
	return s;
}

/* ---- OOM ------------------------------------------------------------------ */

int cgroup_oom_count(const cgroup *cg, uint64_t *count, berr *e)
{
	const char *d = cg->mode == CGROUP_V2 ? cg->v2 : cg_v1_dir(cg, CG_MEMORY);
	if (!d)
		return berr_set(e, ENOTSUP, "cgroup: no memory controller");
	const char *f = cg->mode == CGROUP_V2 ? "memory.events" : "memory.oom_control";
	_cleanup_free_ char *s = cg_read(d, f, e);
	if (!s)
		return -1;
	*count = 0;
	if (!cg_kv(s, "oom_kill", count))
		return berr_set(e, ENOTSUP, "cgroup %s/%s: no oom_kill counter", d, f);
	return 0;
}

int cgroup_oom_open(const cgroup *cg, cgroup_oom *o, berr *e)
{
	*o = (cgroup_oom){.fd = -1};
	const char *d = cg->mode == CGROUP_V2 ? cg->v2 : cg_v1_dir(cg, CG_MEMORY);
	if (!d)
		return berr_set(e, ENOTSUP, "cgroup: no memory controller");
	if (cgroup_oom_count(cg, &o->seen, e) < 0)
		return -1;
	if (cg->mode == CGROUP_V2) {
		_cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (fd < 0)
			return berr_sys(e, "inotify_init1");
		_cleanup_free_ char *p = xasprintf("%s/memory.events", d);
		if (inotify_add_watch(fd, p, IN_MODIFY) < 0)
			return berr_sys(e, "inotify_add_watch %s", p);
		o->fd = take_fd(&fd);
		o->inotify = true;
		o->events = xasprintf("%s/memory.events", d);
		return 0;
	}
	/* v1: eventfd registered on memory.oom_control via cgroup.event_control. */
	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return berr_sys(e, "eventfd");
	_cleanup_free_ char *oc = xasprintf("%s/memory.oom_control", d);
	_cleanup_close_ int ofd = open(oc, O_RDONLY | O_CLOEXEC);
	if (ofd < 0)
		return berr_sys(e, "cgroup %s: open", oc);
	if (cg_writef(d, "cgroup.event_control", e, "%d %d", efd, ofd) < 0)
		return -1;
	o->fd = take_fd(&efd);
	o->events = take_ptr(oc);
	return 0;
}

int cgroup_oom_read(cgroup_oom *o, uint64_t *n, berr *e)
{
	*n = 0;
	uint64_t notified = 0;
	if (o->inotify) {
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(o->fd, buf, sizeof(buf)) > 0)
			;
	} else {
		/* v1 signals when the cgroup goes under OOM, which can be before
		 * the kill is counted in oom_kill: the notification is the event
		 * (as runc counts it), or a kill counted a moment later would be
		 * reported by no one */
		uint64_t v = 0;
		ssize_t got = read(o->fd, &v, sizeof(v));
		if (got < 0 && errno != EAGAIN)
			return berr_sys(e, "read oom eventfd");
		if (got == (ssize_t)sizeof(v))
			notified = v;
	}
	_cleanup_close_ int fd = open(o->events, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "cgroup %s: open", o->events);
	char buf[4096];
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	if (r < 0)
		return berr_sys(e, "cgroup %s: read", o->events);
	buf[r] = '\0';
	uint64_t c = 0;
	cg_kv(buf, "oom_kill", &c);
	if (c > o->seen)
		*n = c - o->seen;
	if (notified > *n)
		*n = notified;
	o->seen = c;
	return 0;
}

void cgroup_oom_close(cgroup_oom *o)
{
	if (o->fd >= 0)
		close(o->fd);
	free(o->events);
	*o = (cgroup_oom){.fd = -1};
}
