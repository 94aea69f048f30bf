/* The detailed usage sample (container.h, eng_container_stats_full): the
 * runtime's cgroup statistics in full, the host's CPU time (/proc/stat, so
 * that a front end can give a share of the host as Docker does) and the
 * container's network interfaces (its init's /proc/PID/net/dev). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "util/xalloc.h"

#define MAX_NETS 64

/* The host's CPU time in ns: user, nice, system, idle, iowait, irq,
 * softirq of /proc/stat's first line (what Docker sums). */
static int host_cpu_ns(uint64_t *out, berr *e)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return berr_sys(e, "open /proc/stat");
	unsigned long long v[7] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6]);
	fclose(f);
	if (n != 7)
		return berr_set(e, EINVAL, "/proc/stat: no cpu line");
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	unsigned long long t = 0;
	for (int i = 0; i < 7; i++)
		t += v[i];
	*out = (uint64_t)(t * (1000000000ULL / (unsigned long long)hz));
	return 0;
}

/* The interfaces of the network namespace of pid, lo left out (as Docker). */
static void read_nets(pid_t pid, eng_stats_full *s)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->n_nets < MAX_NETS) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue; /* the two header lines */
		*colon = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		if (!strcmp(name, "lo") || strlen(name) >= sizeof(s->nets[0].name))
			continue;
		eng_net_stats n = {0};
		unsigned long long v[16];
		if (sscanf(colon + 1,
			   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
			   "%llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
			   &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) != 16)
			continue;
		memcpy(n.name, name, strlen(name) + 1); /* shorter, checked above */
		n.rx_bytes = v[0];
		n.rx_packets = v[1];
		n.rx_errors = v[2];
		n.rx_dropped = v[3];
		n.tx_bytes = v[8];
		n.tx_packets = v[9];
		n.tx_errors = v[10];
		n.tx_dropped = v[11];
		s->nets = xreallocarray(s->nets, s->n_nets + 1, sizeof(*s->nets));
		s->nets[s->n_nets++] = n;
	}
	fclose(f);
}

static json_object *take(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && v ? json_object_get(v) : NULL;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int eng_container_stats_full(eng *g, const char *id, eng_stats_full *s, berr *e)
{
	*s = (eng_stats_full){0};
	json_object *doc = NULL;
	const char *st = eng_container_status(g, id, &doc);
	if (!st)
		return berr_set(e, ENOENT, "no such container: %.12s", id);
	pid_t pid = (pid_t)eng_doc_int(doc, "State.Pid");
	json_object_put(doc);
	if (!eng_status_live(st))
		return berr_set(e, EINVAL, "container %.12s is not running", id);
	char *js = NULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (host_cpu_ns(&s->system_ns, e) < 0 || rt_stats_json(&g->rt, id, &js, e) < 0)
		return -1;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->base.mono_ns = ((int64_t)t0.tv_sec * 1000000000 + t0.tv_nsec +
			   (int64_t)t1.tv_sec * 1000000000 + t1.tv_nsec) /
			  2;
	s->real_ns = realtime_ns();
	json_object *o = json_tokener_parse(js);
	free(js);
	json_object *data = NULL;
	if (!o || !json_object_object_get_ex(o, "data", &data)) {
		json_object_put(o);
		return berr_set(e, EINVAL, "container \"%.12s\": stats are not JSON", id);
	}
	s->base.cpu_ns = (uint64_t)eng_doc_int(data, "cpu.usage.total");
	s->cpu_user_ns = (uint64_t)eng_doc_int(data, "cpu.usage.user");
	s->cpu_kernel_ns = (uint64_t)eng_doc_int(data, "cpu.usage.kernel");
	json_object *cpu = NULL, *usage = NULL;
	if (json_object_object_get_ex(data, "cpu", &cpu) &&
	    json_object_object_get_ex(cpu, "usage", &usage))
		s->percpu = take(usage, "percpu");
	s->periods = (uint64_t)eng_doc_int(data, "cpu.throttling.periods");
	s->throttled_periods = (uint64_t)eng_doc_int(data, "cpu.throttling.throttledPeriods");
	s->throttled_ns = (uint64_t)eng_doc_int(data, "cpu.throttling.throttledTime");
	long on = sysconf(_SC_NPROCESSORS_ONLN);
	s->online_cpus = on > 0 ? (unsigned)on : 1;
	s->base.mem = (uint64_t)eng_doc_int(data, "memory.usage.usage");
	s->base.mem_limit = (uint64_t)eng_doc_int(data, "memory.usage.limit");
	s->mem_max = (uint64_t)eng_doc_int(data, "memory.usage.max");
	s->mem_failcnt = (uint64_t)eng_doc_int(data, "memory.usage.failcnt");
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t host = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
	if (host && (!s->base.mem_limit || s->base.mem_limit > host))
		s->base.mem_limit = host; /* no limit: the host's memory, as Docker */
	s->base.pids = (uint64_t)eng_doc_int(data, "pids.current");
	s->pids_limit = (uint64_t)eng_doc_int(data, "pids.limit");
	json_object *mem = NULL, *blk = NULL;
	if (json_object_object_get_ex(data, "memory", &mem))
		s->mem_stat = take(mem, "raw");
	if (json_object_object_get_ex(data, "blkio", &blk)) {
		s->blk_bytes = take(blk, "ioServiceBytesRecursive");
		s->blk_ios = take(blk, "ioServicedRecursive");
	}
	json_object_put(o);
	if (pid > 0)
		read_nets(pid, s);
	return 0;
}

void eng_stats_full_free(eng_stats_full *s)
{
	json_object_put(s->percpu);
	json_object_put(s->mem_stat);
	json_object_put(s->blk_bytes);
	json_object_put(s->blk_ios);
	free(s->nets);
	*s = (eng_stats_full){0};
}
