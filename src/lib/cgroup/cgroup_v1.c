/* linux.resources -> cgroup v1 files (v1 and hybrid modes). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *need(const cgroup *cg, unsigned ctrl, const char *name, berr *e)
{
	const char *d = cg_v1_dir(cg, ctrl);
	if (!d)
		berr_set(e, ENOTSUP, "cgroup: %s controller is not mounted (linux.resources.%s)",
			 name, name);
	return d;
}

static void warn(char ***w, const char *msg)
{
	if (w)
		strv_push(w, msg);
}

static int v1_memory(const cgroup *cg, const spec_resources *r, char ***w, berr *e)
{
	const __typeof__(r->memory) *m = &r->memory;
	if (m->kernel.set)
		warn(w, "linux.resources.memory.kernel is deprecated: ignored");
	if (m->kernel_tcp.set)
		warn(w, "linux.resources.memory.kernelTCP is deprecated: ignored");
	if (!m->limit.set && !m->reservation.set && !m->swap.set && !m->swappiness.set &&
	    !m->disable_oom_killer)
		return 0;
	const char *d = need(cg, CG_MEMORY, "memory", e);
	if (!d)
		return -1;
	int64_t limit = m->limit.set ? m->limit.v : 0;
	int64_t swap = m->swap.set ? m->swap.v : 0;
	if (m->check_before_update && cg_check_usage(d, "memory.usage_in_bytes", limit, e) < 0)
		return -1;
	/* Unlimited memory with swap unset means both unlimited (runc). */
	if (limit == -1 && swap == 0)
		swap = -1;
	bool memsw = cg_exists(d, "memory.memsw.limit_in_bytes");
	if (swap != 0 && !memsw) {
		if (m->swap.set)
			warn(w,
			     "linux.resources.memory.swap: swap accounting is disabled: ignored");
		swap = 0;
	}
	/* The kernel wants memory <= memory+swap at every step: when raising,
	 * write memsw first. */
	if (limit != 0 && swap != 0) {
		_cleanup_free_ char *cur = cg_read(d, "memory.limit_in_bytes", e);
		if (!cur)
			return -1;
		uint64_t c = strtoull(cur, NULL, 10);
		if (swap == -1 || c < (uint64_t)swap) {
			if (cg_writef(d, "memory.memsw.limit_in_bytes", e, "%" PRId64, swap) < 0 ||
			    cg_writef(d, "memory.limit_in_bytes", e, "%" PRId64, limit) < 0)
				return -1;
			limit = swap = 0;
		}
	}
	if (limit != 0 && cg_writef(d, "memory.limit_in_bytes", e, "%" PRId64, limit) < 0)
		return -1;
	if (swap != 0 && cg_writef(d, "memory.memsw.limit_in_bytes", e, "%" PRId64, swap) < 0)
		return -1;
	if (m->reservation.set &&
	    cg_writef(d, "memory.soft_limit_in_bytes", e, "%" PRId64, m->reservation.v) < 0)
		return -1;
	if (m->swappiness.set) {
		if (m->swappiness.v > 100)
			return berr_set(e, EINVAL,
					"linux.resources.memory.swappiness: %" PRIu64
					" is above 100",
					m->swappiness.v);
		if (cg_writef(d, "memory.swappiness", e, "%" PRIu64, m->swappiness.v) < 0)
			return -1;
	}
	if (m->disable_oom_killer && cg_write(d, "memory.oom_control", "1", e) < 0)
		return -1;
	return 0;
}

static int v1_cpu(const cgroup *cg, const spec_resources *r, berr *e)
{
	const __typeof__(r->cpu) *c = &r->cpu;
	if (c->shares.set || c->period.set || c->quota.set || c->burst.set ||
	    c->realtime_period.set || c->realtime_runtime.set || c->idle.set) {
		const char *d = need(cg, CG_CPU, "cpu", e);
		if (!d)
			return -1;
		if (c->shares.set && cg_writef(d, "cpu.shares", e, "%" PRIu64, c->shares.v) < 0)
			return -1;
		if (c->period.set &&
		    cg_writef(d, "cpu.cfs_period_us", e, "%" PRIu64, c->period.v) < 0)
			return -1;
		if (c->quota.set && cg_writef(d, "cpu.cfs_quota_us", e, "%" PRId64, c->quota.v) < 0)
			return -1;
		if (c->burst.set && cg_writef(d, "cpu.cfs_burst_us", e, "%" PRIu64, c->burst.v) < 0)
			return -1;
		if (c->realtime_period.set &&
		    cg_writef(d, "cpu.rt_period_us", e, "%" PRIu64, c->realtime_period.v) < 0)
			return -1;
		if (c->realtime_runtime.set &&
		    cg_writef(d, "cpu.rt_runtime_us", e, "%" PRId64, c->realtime_runtime.v) < 0)
			return -1;
		if (c->idle.set && cg_writef(d, "cpu.idle", e, "%" PRId64, c->idle.v) < 0)
			return -1;
	}
	if (c->cpus || c->mems) {
		const char *d = need(cg, CG_CPUSET, "cpuset", e);
		if (!d)
			return -1;
		if (c->cpus && cg_write(d, "cpuset.cpus", c->cpus, e) < 0)
			return -1;
		if (c->mems && cg_write(d, "cpuset.mems", c->mems, e) < 0)
			return -1;
	}
	return 0;
}

static int v1_pids(const cgroup *cg, const spec_resources *r, berr *e)
{
	if (!r->pids_limit.set)
		return 0;
	const char *d = need(cg, CG_PIDS, "pids", e);
	if (!d)
		return -1;
	if (r->pids_limit.v <= 0)
		return cg_write(d, "pids.max", "max", e);
	return cg_writef(d, "pids.max", e, "%" PRId64, r->pids_limit.v);
}

static const char *const throttle_v1[] = {
    "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
    "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};

static int v1_blkio(const cgroup *cg, const spec_resources *r, char ***w, berr *e)
{
	const __typeof__(r->block_io) *b = &r->block_io;
	size_t nt = 0;
	for (int k = 0; k < 4; k++)
		nt += b->n_throttle[k];
	if (!b->weight.set && !b->leaf_weight.set && !b->n_weight_device && !nt)
		return 0;
	const char *d = need(cg, CG_BLKIO, "blkio", e);
	if (!d)
		return -1;
	/* Kernels without CFQ only have the BFQ files. */
	bool bfq = !cg_exists(d, "blkio.weight") && cg_exists(d, "blkio.bfq.weight");
	const char *wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
	const char *wdfile = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
	if (b->weight.set && cg_writef(d, wfile, e, "%" PRIu64, b->weight.v) < 0)
		return -1;
	if (b->leaf_weight.set) {
		if (cg_exists(d, "blkio.leaf_weight")) {
			if (cg_writef(d, "blkio.leaf_weight", e, "%" PRIu64, b->leaf_weight.v) < 0)
				return -1;
		} else {
			warn(w, "linux.resources.blockIO.leafWeight: not supported by this kernel: "
				"ignored");
		}
	}
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const spec_weight_device *wd = &b->weight_device[i];
		if (wd->weight.set && cg_writef(d, wdfile, e, "%" PRId64 ":%" PRId64 " %" PRIu64,
						wd->major, wd->minor, wd->weight.v) < 0)
			return -1;
		if (wd->leaf_weight.set) {
			if (!cg_exists(d, "blkio.leaf_weight_device"))
				warn(w, "linux.resources.blockIO.weightDevice.leafWeight: not "
					"supported by this kernel: ignored");
			else if (cg_writef(d, "blkio.leaf_weight_device", e,
					   "%" PRId64 ":%" PRId64 " %" PRIu64, wd->major, wd->minor,
					   wd->leaf_weight.v) < 0)
				return -1;
		}
	}
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < b->n_throttle[k]; i++) {
			const spec_throttle_device *t = &b->throttle[k][i];
			if (cg_writef(d, throttle_v1[k], e, "%" PRId64 ":%" PRId64 " %" PRIu64,
				      t->major, t->minor, t->rate) < 0)
				return -1;
		}
	return 0;
}

static int v1_hugetlb(const cgroup *cg, const spec_resources *r, berr *e)
{
	if (!r->n_hugepages)
		return 0;
	const char *d = need(cg, CG_HUGETLB, "hugetlb", e);
	if (!d)
		return -1;
	for (size_t i = 0; i < r->n_hugepages; i++) {
		const char *ps = r->hugepages[i].page_size;
		if (!ps || !*ps || strchr(ps, '/') || strchr(ps, '.'))
			return berr_set(e, EINVAL,
					"linux.resources.hugepageLimits[%zu]: bad pageSize", i);
		_cleanup_free_ char *f = xasprintf("hugetlb.%s.limit_in_bytes", ps);
		if (cg_writef(d, f, e, "%" PRIu64, r->hugepages[i].limit) < 0)
			return -1;
	}
	return 0;
}

static int v1_network(const cgroup *cg, const spec_resources *r, char ***w, berr *e)
{
	if (r->network.class_id.set) {
		const char *d = cg_v1_dir(cg, CG_NET_CLS);
		if (!d)
			warn(w, "linux.resources.network.classID: net_cls is not mounted: ignored");
		else if (cg_writef(d, "net_cls.classid", e, "%" PRIu64, r->network.class_id.v) < 0)
			return -1;
	}
	if (r->network.n_priorities) {
		const char *d = cg_v1_dir(cg, CG_NET_PRIO);
		if (!d) {
			warn(w, "linux.resources.network.priorities: net_prio is not mounted: "
				"ignored");
			return 0;
		}
		for (size_t i = 0; i < r->network.n_priorities; i++)
			if (cg_writef(d, "net_prio.ifpriomap", e, "%s %s",
				      r->network.priorities[i].key,
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
	    v1_blkio(cg, r, w, e) < 0 || v1_hugetlb(cg, r, e) < 0 || v1_network(cg, r, w, e) < 0 ||
	    cg_v1_devices(cg, r, e) < 0)
		return -1;
	return 0;
}
