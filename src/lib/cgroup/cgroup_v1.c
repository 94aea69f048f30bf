/* linux.resources -> cgroup v1 files (v1 and hybrid modes).
 *
 * As runc's libcontainer/cgroups/fs: a value that means unset (0, absent,
 * "") is never written, and a controller or file the host lacks is only an
 * error when the config really asks for something there. The table of what
 * each field does when its file is missing is in docs/engine.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *need(const cgroup *cg, unsigned ctrl, const char *name, const char *field,
			berr *e)
{
	const char *d = cg_v1_dir(cg, ctrl);
	if (!d)
		berr_set(e, ENOTSUP, "cgroup: %s controller is not mounted (linux.resources.%s)",
			 name, field);
	return d;
}

static void warn(char ***w, const char *msg)
{
	if (w)
		strv_push(w, msg);
}

#define F_LIMIT "linux.resources.memory.limit"
#define F_SWAP	"linux.resources.memory.swap"

/* memory.limit_in_bytes and memory.memsw.limit_in_bytes; 0 = leave as is.
 * The kernel wants memory <= memory+swap at every step: when raising,
 * memsw goes first (runc's setMemoryAndSwap). */
static int v1_memory_swap(const char *d, int64_t limit, int64_t swap, berr *e)
{
	if (limit != 0 && swap != 0) {
		_cleanup_free_ char *cur = cg_read(d, "memory.limit_in_bytes", e);
		if (!cur)
			return -1;
		uint64_t c = strtoull(cur, NULL, 10);
		if (swap == -1 || c < (uint64_t)swap) {
			if (cg_setf(d, "memory.memsw.limit_in_bytes", F_SWAP, e, "%" PRId64, swap) <
				0 ||
			    cg_setf(d, "memory.limit_in_bytes", F_LIMIT, e, "%" PRId64, limit) < 0)
				return -1;
			return 0;
		}
	}
	if (limit != 0 && cg_setf(d, "memory.limit_in_bytes", F_LIMIT, e, "%" PRId64, limit) < 0)
		return -1;
	if (swap != 0 && cg_setf(d, "memory.memsw.limit_in_bytes", F_SWAP, e, "%" PRId64, swap) < 0)
		return -1;
	return 0;
}

static int v1_memory(const cgroup *cg, const spec_resources *r, char ***w, berr *e)
{
	const __typeof__(r->memory) *m = &r->memory;
	/* runc ignores kernel memory; kernels since 5.16 refuse the limit */
	if (cg_i64_given(m->kernel))
		warn(w, "linux.resources.memory.kernel is deprecated: ignored");
	int64_t limit = cg_i64_given(m->limit) ? m->limit.v : 0;
	int64_t swap = cg_i64_given(m->swap) ? m->swap.v : 0;
	bool reservation = cg_i64_given(m->reservation), tcp = cg_i64_given(m->kernel_tcp);
	if (!limit && !swap && !reservation && !tcp && !m->swappiness.set && !m->disable_oom_killer)
		return 0;
	const char *d = need(cg, CG_MEMORY, "memory", "memory", e);
	if (!d)
		return -1;
	if (m->check_before_update && cg_check_usage(d, "memory.usage_in_bytes", limit, e) < 0)
		return -1;
	bool memsw = cg_exists(d, "memory.memsw.limit_in_bytes");
	/* Unlimited memory with swap unset means both unlimited (runc), where
	 * swap is accounted at all. */
	if (limit == -1 && swap == 0 && memsw)
		swap = -1;
	if (swap != 0 && !memsw) {
		warn(w, "linux.resources.memory.swap: swap accounting is disabled: ignored");
		swap = 0;
	}
	if (v1_memory_swap(d, limit, swap, e) < 0)
		return -1;
	if (reservation &&
	    cg_setf(d, "memory.soft_limit_in_bytes", "linux.resources.memory.reservation", e,
		    "%" PRId64, m->reservation.v) < 0)
		return -1;
	if (m->swappiness.set) {
		if (m->swappiness.v > 100)
			return berr_set(e, EINVAL,
					"linux.resources.memory.swappiness: %" PRIu64
					" is above 100",
					m->swappiness.v);
		if (cg_setf(d, "memory.swappiness", "linux.resources.memory.swappiness", e,
			    "%" PRIu64, m->swappiness.v) < 0)
			return -1;
	}
	if (m->disable_oom_killer &&
	    cg_set(d, "memory.oom_control", "linux.resources.memory.disableOOMKiller", "1", e) < 0)
		return -1;
	/* crun applies kernelTCP (runc 1.1 did too); -1 lifts the limit */
	if (tcp && cg_setf(d, "memory.kmem.tcp.limit_in_bytes", "linux.resources.memory.kernelTCP",
			   e, "%" PRId64, m->kernel_tcp.v) < 0)
		return -1;
	return 0;
}

/* A write the kernel may refuse with EINVAL until a companion value is in
 * place (cfs period before quota, rt period before runtime, burst before
 * quota): runc and crun then write it again after the companion. */
static int write_or_defer(const char *d, const char *file, const char *field, const char *val,
			  bool companion, bool *deferred, berr *e)
{
	*deferred = false;
	if (cg_set(d, file, field, val, e) == 0)
		return 0;
	if (e->errnum == EINVAL && companion) {
		*deferred = true;
		return 0;
	}
	return -1;
}

static int v1_cfs(const char *d, const __typeof__(((spec_resources *)0)->cpu) *c, berr *e)
{
	bool quota = cg_i64_given(c->quota);
	char period_s[32] = "", burst_s[32] = "";
	bool period_later = false, burst_later = false;
	if (cg_u64_given(c->period)) {
		snprintf(period_s, sizeof(period_s), "%" PRIu64, c->period.v);
		if (write_or_defer(d, "cpu.cfs_period_us", "linux.resources.cpu.period", period_s,
				   quota, &period_later, e) < 0)
			return -1;
	}
	/* cpu.cfs_burst_us is new (5.14): runc skips it where it is missing */
	if (c->burst.set && cg_exists(d, "cpu.cfs_burst_us")) {
		snprintf(burst_s, sizeof(burst_s), "%" PRIu64, c->burst.v);
		if (write_or_defer(d, "cpu.cfs_burst_us", "linux.resources.cpu.burst", burst_s,
				   quota, &burst_later, e) < 0)
			return -1;
	}
	if (quota) {
		if (cg_setf(d, "cpu.cfs_quota_us", "linux.resources.cpu.quota", e, "%" PRId64,
			    c->quota.v) < 0)
			return -1;
		if (period_later &&
		    cg_set(d, "cpu.cfs_period_us", "linux.resources.cpu.period", period_s, e) < 0)
			return -1;
		if (burst_later &&
		    cg_set(d, "cpu.cfs_burst_us", "linux.resources.cpu.burst", burst_s, e) < 0)
			return -1;
	}
	return 0;
}

static int v1_rt(const char *d, const __typeof__(((spec_resources *)0)->cpu) *c, berr *e)
{
	bool runtime = cg_i64_given(c->realtime_runtime), later = false;
	char period_s[32] = "";
	if (cg_u64_given(c->realtime_period)) {
		snprintf(period_s, sizeof(period_s), "%" PRIu64, c->realtime_period.v);
		if (write_or_defer(d, "cpu.rt_period_us", "linux.resources.cpu.realtimePeriod",
				   period_s, runtime, &later, e) < 0)
			return -1;
	}
	if (runtime) {
		if (cg_setf(d, "cpu.rt_runtime_us", "linux.resources.cpu.realtimeRuntime", e,
			    "%" PRId64, c->realtime_runtime.v) < 0)
			return -1;
		if (later && cg_set(d, "cpu.rt_period_us", "linux.resources.cpu.realtimePeriod",
				    period_s, e) < 0)
			return -1;
	}
	return 0;
}

/* The kernel clamps cpu.shares to 2..262144 without an error: read it
 * back and refuse a value it did not take, as runc does. */
static int v1_shares(const char *d, uint64_t shares, berr *e)
{
	if (cg_setf(d, "cpu.shares", "linux.resources.cpu.shares", e, "%" PRIu64, shares) < 0)
		return -1;
	_cleanup_free_ char *back = cg_read(d, "cpu.shares", e);
	if (!back)
		return -1;
	/* the last line: a fake tree in the unit tests keeps every write */
	size_t n = strlen(back);
	while (n && back[n - 1] == '\n')
		back[--n] = '\0';
	const char *last = strrchr(back, '\n') ? strrchr(back, '\n') + 1 : back;
	uint64_t got = strtoull(last, NULL, 10);
	if (got != shares)
		return berr_set(
		    e, EINVAL, "linux.resources.cpu.shares: %" PRIu64 " is %s allowed, %" PRIu64,
		    shares, shares > got ? "above the maximum" : "below the minimum", got);
	return 0;
}

static int v1_cpu(const cgroup *cg, const spec_resources *r, berr *e)
{
	const __typeof__(r->cpu) *c = &r->cpu;
	if (cg_u64_given(c->shares) || cg_u64_given(c->period) || cg_i64_given(c->quota) ||
	    c->burst.set || cg_u64_given(c->realtime_period) || cg_i64_given(c->realtime_runtime) ||
	    c->idle.set) {
		const char *d = need(cg, CG_CPU, "cpu", "cpu", e);
		if (!d)
			return -1;
		if (cg_u64_given(c->shares) && v1_shares(d, c->shares.v, e) < 0)
			return -1;
		if (v1_cfs(d, c, e) < 0)
			return -1;
		if (c->idle.set && cg_setf(d, "cpu.idle", "linux.resources.cpu.idle", e, "%" PRId64,
					   c->idle.v) < 0)
			return -1;
		if (v1_rt(d, c, e) < 0)
			return -1;
	}
	if (cg_str_given(c->cpus) || cg_str_given(c->mems)) {
		const char *d = need(cg, CG_CPUSET, "cpuset", "cpu", e);
		if (!d)
			return -1;
		if (cg_str_given(c->cpus) &&
		    cg_set(d, "cpuset.cpus", "linux.resources.cpu.cpus", c->cpus, e) < 0)
			return -1;
		if (cg_str_given(c->mems) &&
		    cg_set(d, "cpuset.mems", "linux.resources.cpu.mems", c->mems, e) < 0)
			return -1;
	}
	return 0;
}

/* 0 is unset (runc 1.1, crun); a negative limit lifts it. */
static int v1_pids(const cgroup *cg, const spec_resources *r, berr *e)
{
	if (!cg_i64_given(r->pids_limit))
		return 0;
	const char *d = need(cg, CG_PIDS, "pids", "pids", e);
	if (!d)
		return -1;
	if (r->pids_limit.v < 0)
		return cg_set(d, "pids.max", "linux.resources.pids.limit", "max", e);
	return cg_setf(d, "pids.max", "linux.resources.pids.limit", e, "%" PRId64, r->pids_limit.v);
}

static const char *const throttle_v1[] = {
    "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
    "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
static const char *const throttle_field[] = {"linux.resources.blockIO.throttleReadBpsDevice",
					     "linux.resources.blockIO.throttleWriteBpsDevice",
					     "linux.resources.blockIO.throttleReadIOPSDevice",
					     "linux.resources.blockIO.throttleWriteIOPSDevice"};

static bool blkio_given(const spec_resources *r)
{
	const __typeof__(r->block_io) *b = &r->block_io;
	if (cg_u64_given(b->weight) || cg_u64_given(b->leaf_weight))
		return true;
	for (int k = 0; k < 4; k++)
		if (b->n_throttle[k])
			return true;
	for (size_t i = 0; i < b->n_weight_device; i++)
		if (cg_u64_given(b->weight_device[i].weight) ||
		    cg_u64_given(b->weight_device[i].leaf_weight))
			return true;
	return false;
}

static int v1_blkio(const cgroup *cg, const spec_resources *r, berr *e)
{
	const __typeof__(r->block_io) *b = &r->block_io;
	if (!blkio_given(r))
		return 0;
	const char *d = need(cg, CG_BLKIO, "blkio", "blockIO", e);
	if (!d)
		return -1;
	/* Kernels without CFQ (5.0+) only have BFQ's files, and only with BFQ
	 * as a device's scheduler; with neither, a weight is an error, as in
	 * runc and crun (the message names the field). */
	bool bfq = !cg_exists(d, "blkio.weight") && cg_exists(d, "blkio.bfq.weight");
	const char *wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
	const char *wdfile = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
	if (cg_u64_given(b->weight) &&
	    cg_setf(d, wfile, "linux.resources.blockIO.weight", e, "%" PRIu64, b->weight.v) < 0)
		return -1;
	if (cg_u64_given(b->leaf_weight) &&
	    cg_setf(d, "blkio.leaf_weight", "linux.resources.blockIO.leafWeight", e, "%" PRIu64,
		    b->leaf_weight.v) < 0)
		return -1;
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const spec_weight_device *wd = &b->weight_device[i];
		if (cg_u64_given(wd->weight) &&
		    cg_setf(d, wdfile, "linux.resources.blockIO.weightDevice.weight", e,
			    "%" PRId64 ":%" PRId64 " %" PRIu64, wd->major, wd->minor,
			    wd->weight.v) < 0)
			return -1;
		if (cg_u64_given(wd->leaf_weight) &&
		    cg_setf(d, "blkio.leaf_weight_device",
			    "linux.resources.blockIO.weightDevice.leafWeight", e,
			    "%" PRId64 ":%" PRId64 " %" PRIu64, wd->major, wd->minor,
			    wd->leaf_weight.v) < 0)
			return -1;
	}
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < b->n_throttle[k]; i++) {
			const spec_throttle_device *t = &b->throttle[k][i];
			if (cg_setf(d, throttle_v1[k], throttle_field[k], e,
				    "%" PRId64 ":%" PRId64 " %" PRIu64, t->major, t->minor,
				    t->rate) < 0)
				return -1;
		}
	return 0;
}

/* A limit of 0 pages is a limit. The reservation limit (.rsvd, 5.7+) gets
 * the same value where the kernel has it, as runc does. */
static int v1_hugetlb(const cgroup *cg, const spec_resources *r, berr *e)
{
	if (!r->n_hugepages)
		return 0;
	const char *d = need(cg, CG_HUGETLB, "hugetlb", "hugepageLimits", e);
	if (!d)
		return -1;
	return cg_hugetlb_limits(d, r, "limit_in_bytes", e);
}

/* classID 0 is unset; a class or priorities with net_cls/net_prio not
 * mounted is an error, as in runc and crun. */
static int v1_network(const cgroup *cg, const spec_resources *r, berr *e)
{
	if (cg_u64_given(r->network.class_id)) {
		const char *d = need(cg, CG_NET_CLS, "net_cls", "network.classID", e);
		if (!d || cg_setf(d, "net_cls.classid", "linux.resources.network.classID", e,
				  "%" PRIu64, r->network.class_id.v) < 0)
			return -1;
	}
	if (r->network.n_priorities) {
		const char *d = need(cg, CG_NET_PRIO, "net_prio", "network.priorities", e);
		if (!d)
			return -1;
		for (size_t i = 0; i < r->network.n_priorities; i++)
			if (cg_setf(d, "net_prio.ifpriomap", "linux.resources.network.priorities",
				    e, "%s %s", r->network.priorities[i].key,
				    r->network.priorities[i].value) < 0)
				return -1;
	}
	return 0;
}

int cg_apply_v1(const cgroup *cg, const spec_resources *r, char ***w, berr *e)
{
	if (r->n_unified)
		return berr_set(e, ENOTSUP,
				"linux.resources.unified requires cgroup v2 (this host is %s)",
				cgroup_mode_name(cg->mode));
	if (v1_memory(cg, r, w, e) < 0 || v1_cpu(cg, r, e) < 0 || v1_pids(cg, r, e) < 0 ||
	    v1_blkio(cg, r, e) < 0 || v1_hugetlb(cg, r, e) < 0 || v1_network(cg, r, e) < 0 ||
	    cg_v1_devices(cg, r, e) < 0)
		return -1;
	return 0;
}
