/* linux.resources -> cgroup v2 files (unified mode). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void warn(char ***w, const char *msg)
{
	if (w)
		strv_push(w, msg);
}

/* runc: shares 2..262144 map linearly onto weight 1..10000. */
uint64_t cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

/* runc: blkio weight 10..1000 onto io.weight 1..10000. */
uint64_t cgroup_blkio_to_io_weight(uint64_t w)
{
	if (w == 0)
		return 0;
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + (w - 10) * 9999 / 990;
}

/* runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is memory+swap
 * (v1 semantics); v2's memory.swap.max is swap alone. In: 0 = unset. */
int cgroup_swap_v2(int64_t swap, int64_t limit, int64_t *out, berr *e)
{
	if (limit == -1 && swap == 0) {
		*out = -1;
		return 0;
	}
	if (swap == -1 || swap == 0) {
		*out = swap;
		return 0;
	}
	if (limit == 0 || limit == -1)
		return berr_set(e, EINVAL,
				"linux.resources.memory.swap: cannot set a swap limit without a "
				"memory limit");
	if (limit < 0)
		return berr_set(e, EINVAL, "linux.resources.memory.limit: invalid %" PRId64, limit);
	if (swap < limit)
		return berr_set(e, EINVAL,
				"linux.resources.memory.swap: %" PRId64
				" is below the memory limit %" PRId64 " (swap is memory+swap)",
				swap, limit);
	*out = swap - limit;
	return 0;
}

/* 0 = leave unset, -1 = "max". */
static int write_num(const char *d, const char *file, const char *field, int64_t v, berr *e)
{
	if (v == 0)
		return 0;
	if (v < 0)
		return cg_set(d, file, field, "max", e);
	return cg_setf(d, file, field, e, "%" PRId64, v);
}

static int v2_memory(const char *d, const spec_resources *r, char ***w, berr *e)
{
	const __typeof__(r->memory) *m = &r->memory;
	/* runc ignores kernel memory on v2, crun refuses it; v2 has no such
	 * limit, and the kernel memory is charged to memory.max anyway */
	if (cg_i64_given(m->kernel))
		warn(w, "linux.resources.memory.kernel is deprecated: ignored");
	/* v2 has no TCP buffer limit apart from memory.max: refused, as crun */
	if (cg_i64_given(m->kernel_tcp))
		return berr_set(e, ENOTSUP,
				"linux.resources.memory.kernelTCP: cgroup v2 has no kernel TCP "
				"memory limit (memory.kmem.tcp.limit_in_bytes is cgroup v1)");
	if (m->swappiness.set)
		warn(w, "linux.resources.memory.swappiness is not supported on cgroup v2: ignored");
	if (m->disable_oom_killer)
		warn(w, "linux.resources.memory.disableOOMKiller is not supported on cgroup v2: "
			"ignored");
	int64_t limit = cg_i64_given(m->limit) ? m->limit.v : 0;
	int64_t swap = cg_i64_given(m->swap) ? m->swap.v : 0, sw;
	int64_t low = cg_i64_given(m->reservation) ? m->reservation.v : 0;
	if (!limit && !swap && !low)
		return 0;
	if (cgroup_swap_v2(swap, limit, &sw, e) < 0)
		return -1;
	if (m->check_before_update && cg_check_usage(d, "memory.current", limit, e) < 0)
		return -1;
	/* runc: without swap accounting, "max" and "0" are dropped silently;
	 * a real swap limit gets a warning here (runc fails, crun is silent). */
	if (sw != 0 || swap > 0) {
		if (!cg_exists(d, "memory.swap.max")) {
			if (sw > 0)
				warn(w, "linux.resources.memory.swap: swap accounting is disabled: "
					"ignored");
		} else if (sw == 0 ? cg_set(d, "memory.swap.max", "linux.resources.memory.swap",
					    "0", e) < 0
				   : write_num(d, "memory.swap.max", "linux.resources.memory.swap",
					       sw, e) < 0) {
			return -1;
		}
	}
	if (write_num(d, "memory.max", "linux.resources.memory.limit", limit, e) < 0)
		return -1;
	if (write_num(d, "memory.low", "linux.resources.memory.reservation", low, e) < 0)
		return -1;
	return 0;
}

static int v2_cpu(const char *d, const spec_resources *r, char ***w, berr *e)
{
	const __typeof__(r->cpu) *c = &r->cpu;
	if (cg_u64_given(c->realtime_period) || cg_i64_given(c->realtime_runtime))
		warn(w, "linux.resources.cpu.realtimeRuntime/realtimePeriod are not supported on "
			"cgroup v2: ignored");
	if (c->idle.set &&
	    cg_setf(d, "cpu.idle", "linux.resources.cpu.idle", e, "%" PRId64, c->idle.v) < 0)
		return -1;
	if (cg_u64_given(c->shares) &&
	    cg_setf(d, "cpu.weight", "linux.resources.cpu.shares", e, "%" PRIu64,
		    cgroup_shares_to_weight(c->shares.v)) < 0)
		return -1;
	int64_t quota = c->quota.set ? c->quota.v : 0;
	uint64_t period = c->period.set ? c->period.v : 0;
	if (quota != 0 || period != 0) {
		char buf[64];
		if (quota > 0)
			snprintf(buf, sizeof(buf), "%" PRId64, quota);
		else
			strcpy(buf, "max");
		if (period)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %" PRIu64, period);
		if (cg_set(d, "cpu.max", "linux.resources.cpu.quota", buf, e) < 0)
			return -1;
	}
	if (c->burst.set &&
	    cg_setf(d, "cpu.max.burst", "linux.resources.cpu.burst", e, "%" PRIu64, c->burst.v) < 0)
		return -1;
	if (cg_str_given(c->cpus) &&
	    cg_set(d, "cpuset.cpus", "linux.resources.cpu.cpus", c->cpus, e) < 0)
		return -1;
	if (cg_str_given(c->mems) &&
	    cg_set(d, "cpuset.mems", "linux.resources.cpu.mems", c->mems, e) < 0)
		return -1;
	return 0;
}

static const char *const io_keys[] = {"rbps", "wbps", "riops", "wiops"};

/* Per-device weights: BFQ's io.bfq.weight, else io.weight (blk-iocost);
 * with neither, a warning (runc skips them silently). */
static int v2_io_weight_devices(const char *d, const spec_resources *r, bool bfq, char ***w,
				berr *e)
{
	const __typeof__(r->block_io) *b = &r->block_io;
	bool iow = cg_exists(d, "io.weight"), warned = false;
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const spec_weight_device *wd = &b->weight_device[i];
		if (cg_u64_given(wd->leaf_weight))
			warn(w, "linux.resources.blockIO.weightDevice.leafWeight is not supported "
				"on cgroup v2: ignored");
		if (!cg_u64_given(wd->weight))
			continue;
		if (!bfq && !iow) {
			if (!warned)
				warn(w, "linux.resources.blockIO.weightDevice: no io.bfq.weight or "
					"io.weight here (no BFQ or iocost): ignored");
			warned = true;
			continue;
		}
		if (bfq ? cg_setf(d, "io.bfq.weight", "linux.resources.blockIO.weightDevice", e,
				  "%" PRId64 ":%" PRId64 " %" PRIu64, wd->major, wd->minor,
				  wd->weight.v) < 0
			: cg_setf(d, "io.weight", "linux.resources.blockIO.weightDevice", e,
				  "%" PRId64 ":%" PRId64 " %" PRIu64, wd->major, wd->minor,
				  cgroup_blkio_to_io_weight(wd->weight.v)) < 0)
			return -1;
	}
	return 0;
}

static int v2_io(const char *d, const spec_resources *r, char ***w, berr *e)
{
	const __typeof__(r->block_io) *b = &r->block_io;
	bool bfq = cg_exists(d, "io.bfq.weight");
	if (cg_u64_given(b->leaf_weight))
		warn(w,
		     "linux.resources.blockIO.leafWeight is not supported on cgroup v2: ignored");
	/* a weight with neither file is an error naming io.weight, as runc */
	if (cg_u64_given(b->weight)) {
		if (bfq ? cg_setf(d, "io.bfq.weight", "linux.resources.blockIO.weight", e,
				  "%" PRIu64, b->weight.v) < 0
			: cg_setf(d, "io.weight", "linux.resources.blockIO.weight", e,
				  "default %" PRIu64, cgroup_blkio_to_io_weight(b->weight.v)) < 0)
			return -1;
	}
	if (v2_io_weight_devices(d, r, bfq, w, e) < 0)
		return -1;
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < b->n_throttle[k]; i++) {
			const spec_throttle_device *t = &b->throttle[k][i];
			char val[32];
			if (t->rate)
				snprintf(val, sizeof(val), "%" PRIu64, t->rate);
			else
				strcpy(val, "max");
			if (cg_setf(d, "io.max", "linux.resources.blockIO", e,
				    "%" PRId64 ":%" PRId64 " %s=%s", t->major, t->minor, io_keys[k],
				    val) < 0)
				return -1;
		}
	return 0;
}

/* hugetlb.<size>.max, and .rsvd.max where the kernel has it (runc). */
static int v2_hugetlb(const char *d, const spec_resources *r, berr *e)
{
	return cg_hugetlb_limits(d, r, "max", e);
}

/* A unified key names a file in the cgroup directory and nothing else. */
static int unified_key_ok(const char *k, berr *e)
{
	if (!k || !*k || strchr(k, '/') || !strcmp(k, ".") || !strcmp(k, "..") || k[0] == '.')
		return berr_set(e, EINVAL, "linux.resources.unified: invalid key \"%s\"",
				k ? k : "");
	return 0;
}

int cg_apply_v2(const cgroup *cg, const spec_resources *r, char ***w, berr *e)
{
	const char *d = cg->v2;
	if (!d)
		return berr_set(e, EINVAL, "cgroup: no v2 directory");
	for (size_t i = 0; i < r->n_unified; i++)
		if (unified_key_ok(r->unified[i].key, e) < 0)
			return -1;
	if (v2_memory(d, r, w, e) < 0 || v2_cpu(d, r, w, e) < 0)
		return -1;
	/* 0 is unset (runc 1.1, crun); a negative limit lifts it */
	if (cg_i64_given(r->pids_limit)) {
		int rc = r->pids_limit.v < 0
			     ? cg_set(d, "pids.max", "linux.resources.pids.limit", "max", e)
			     : cg_setf(d, "pids.max", "linux.resources.pids.limit", e, "%" PRId64,
				       r->pids_limit.v);
		if (rc < 0)
			return -1;
	}
	if (v2_io(d, r, w, e) < 0 || v2_hugetlb(d, r, e) < 0)
		return -1;
	if (cg_u64_given(r->network.class_id) || r->network.n_priorities)
		warn(w, "linux.resources.network is not supported on cgroup v2: ignored");
	for (size_t i = 0; i < r->n_unified; i++) {
		const spec_kv *kv = &r->unified[i];
		/* crun: an empty value asks for nothing */
		if (!cg_str_given(kv->value))
			continue;
		if (!cg_exists(d, kv->key))
			return berr_set(
			    e, ENOENT,
			    "linux.resources.unified: %s: no such file in %s (controller "
			    "not enabled?)",
			    kv->key, d);
		if (cg_write(d, kv->key, kv->value, e) < 0)
			return -1;
	}
	if (r->n_devices && cgroup_bpf_devices_apply(d, r->devices, r->n_devices, e) < 0)
		return -1;
	return 0;
}
