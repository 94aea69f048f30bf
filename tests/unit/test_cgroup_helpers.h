/* Helpers shared by the cgroup unit tests (fake trees and small files). */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Create root/rel (parents too) with `content`. */
static inline void tf_put(const char *root, const char *rel, const char *content)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	berr e;
	if (fs_mkdir_p(p, 0755, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		abort();
	}
	*slash = '/';
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
	free(p);
}

/* Content of root/rel, malloc'ed; "(missing)" if absent. */
static inline char *tf_get(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *out = NULL;
	size_t len;
	berr e;
	if (fs_read_file_at(AT_FDCWD, p, &out, &len, &e) < 0)
		out = xstrdup("(missing)");
	free(p);
	return out;
}

static inline char *tf_mkdtemp(void)
{
	char *t = xstrdup("/tmp/berth-cgtest-XXXXXX");
	if (!mkdtemp(t))
		abort();
	return t;
}

static inline void tf_rm(char *dir)
{
	berr e;
	fs_rm_rf_at(AT_FDCWD, dir, &e);
	free(dir);
}

/* A full spec_resources in static storage. */
static inline spec_resources *tf_full_resources(void)
{
	static spec_weight_device wd[] = {
	    {.major = 8, .minor = 0, .weight = {true, 300}},
	};
	static spec_throttle_device rbps[] = {{.major = 8, .minor = 0, .rate = 1048576}};
	static spec_throttle_device wiops[] = {{.major = 8, .minor = 16, .rate = 100}};
	static spec_hugepage hp[] = {{.page_size = "2MB", .limit = 4194304}};
	static spec_resources r;
	memset(&r, 0, sizeof(r));
	r.present = true;
	r.memory.limit = (opt_i64){true, 268435456};
	r.memory.reservation = (opt_i64){true, 134217728};
	r.memory.swap = (opt_i64){true, 536870912};
	r.memory.swappiness = (opt_u64){true, 60};
	r.memory.kernel = (opt_i64){true, 1000000};
	r.memory.disable_oom_killer = true;
	r.cpu.shares = (opt_u64){true, 1024};
	r.cpu.quota = (opt_i64){true, 50000};
	r.cpu.period = (opt_u64){true, 100000};
	r.cpu.burst = (opt_u64){true, 1000};
	r.cpu.realtime_period = (opt_u64){true, 1000000};
	r.cpu.realtime_runtime = (opt_i64){true, 950000};
	r.cpu.idle = (opt_i64){true, 0};
	r.cpu.cpus = "1";
	r.cpu.mems = "0";
	r.pids_limit = (opt_i64){true, 100};
	r.block_io.weight = (opt_u64){true, 500};
	r.block_io.weight_device = wd;
	r.block_io.n_weight_device = 1;
	r.block_io.throttle[THROTTLE_READ_BPS] = rbps;
	r.block_io.n_throttle[THROTTLE_READ_BPS] = 1;
	r.block_io.throttle[THROTTLE_WRITE_IOPS] = wiops;
	r.block_io.n_throttle[THROTTLE_WRITE_IOPS] = 1;
	r.hugepages = hp;
	r.n_hugepages = 1;
	return &r;
}

/* runc's default device rules (libcontainer/specconv AllowedDevices plus
 * the deny-all that starts the list). */
static inline spec_dev_rule *tf_default_rules(size_t *n)
{
	static spec_dev_rule rules[] = {
	    {false, 'a', -1, -1, "rwm"}, /* deny all */
	    {true, 'c', -1, -1, "m"},	 /* mknod any char */
	    {true, 'b', -1, -1, "m"},	 /* mknod any block */
	    {true, 'c', 1, 3, "rwm"},	 /* /dev/null */
	    {true, 'c', 1, 8, "rwm"},	 /* /dev/random */
	    {true, 'c', 1, 7, "rwm"},	 /* /dev/full */
	    {true, 'c', 5, 0, "rwm"},	 /* /dev/tty */
	    {true, 'c', 1, 5, "rwm"},	 /* /dev/zero */
	    {true, 'c', 1, 9, "rwm"},	 /* /dev/urandom */
	    {true, 'c', 136, -1, "rwm"}, /* /dev/pts/N */
	    {true, 'c', 5, 2, "rwm"},	 /* /dev/ptmx */
	    {true, 'c', 10, 200, "rwm"}, /* /dev/net/tun */
	    {false, 'c', 5, 1, "w"},	 /* a deny with partial access */
	};
	*n = sizeof(rules) / sizeof(rules[0]);
	return rules;
}

/* CHECK that root/rel holds exactly `want` (the difference printed). */
#define EXPECT_FILE(root, rel, want)                                                               \
	do {                                                                                       \
		char *_g = tf_get(root, rel);                                                      \
		int _ok = !strcmp(_g, want);                                                       \
		if (!_ok)                                                                          \
			fprintf(stderr, "%s: got \"%s\" want \"%s\"\n", rel, _g, want);            \
		free(_g);                                                                          \
		CHECK(_ok);                                                                        \
	} while (0)
