/* stats and top of a container (container.h): a usage sample from the
 * runtime's cgroup statistics, the processes from /proc. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "util/xalloc.h"

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int eng_container_stats(eng *g, const char *id, eng_stats *s, berr *e)
{
	char *js = NULL;
	/* The usage is read somewhere inside rt_stats_json: the middle of the
	 * call is its best time stamp (a busy host preempting us between the
	 * read and a clock taken after it made a busy loop read as 108%). */
	int64_t before = mono_ns();
	if (rt_stats_json(&g->rt, id, &js, e) < 0)
		return -1;
	s->mono_ns = before + (mono_ns() - before) / 2;
	json_object *o = json_tokener_parse(js);
	free(js);
	if (!o)
		return berr_set(e, EINVAL, "container \"%s\": stats are not JSON", id);
	s->cpu_ns = (uint64_t)eng_doc_int(o, "data.cpu.usage.total");
	s->mem = (uint64_t)eng_doc_int(o, "data.memory.usage.usage");
	s->mem_limit = (uint64_t)eng_doc_int(o, "data.memory.usage.limit");
	s->pids = (uint64_t)eng_doc_int(o, "data.pids.current");
	json_object_put(o);
	return 0;
}

/* One process from /proc (false when it is gone). */
static bool proc_read(pid_t pid, eng_proc *p)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return false;
	buf[r] = 0;
	for (ssize_t q = 0; q + 1 < r; q++)
		if (!buf[q])
			buf[q] = ' ';
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	unsigned uid = 0, ppid = 0;
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "Uid: %u", &uid);
		sscanf(line, "PPid: %u", &ppid);
	}
	if (f)
		fclose(f);
	*p = (eng_proc){.pid = pid, .ppid = (pid_t)ppid, .uid = (uid_t)uid, .cmd = xstrdup(buf)};
	return true;
}

int eng_container_top(eng *g, const char *id, eng_proc **procs, size_t *n, berr *e)
{
	pid_t *pids = NULL;
	size_t np = 0;
	*procs = NULL;
	*n = 0;
	if (rt_pids(&g->rt, id, &pids, &np, e) < 0)
		return berr_set(e, EINVAL, "container %.12s is not running", id);
	eng_proc *out = xreallocarray(NULL, np ? np : 1, sizeof(*out));
	size_t k = 0;
	for (size_t i = 0; i < np; i++)
		if (proc_read(pids[i], &out[k]))
			k++;
	free(pids);
	*procs = out;
	*n = k;
	return 0;
}

void eng_procs_free(eng_proc *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].cmd);
	free(p);
}
