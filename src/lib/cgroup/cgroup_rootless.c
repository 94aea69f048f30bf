/* Rootless cgroups: make what the caller was delegated, drop the rest.
 *
 * A rootless caller (issue #14) may own a subtree in some hierarchies only
 * (v1: the directories root chowned to it; v2: a delegated subtree whose
 * cgroup.subtree_control offers some controllers). cgroup_create_rootless()
 * keeps the hierarchies where the mkdir worked and reports, as CG_* bits,
 * the controllers it could not get; the runtime then removes the limits of
 * those controllers from what it writes and warns once, naming them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const struct {
	unsigned bit;
	const char *v2;	   /* controller name in cgroup.controllers */
	const char *limit; /* how the warning names the limits */
} ctrl_names[] = {
    {CG_MEMORY, "memory", "memory"},	   {CG_CPU, "cpu", "cpu"},
    {CG_CPUSET, "cpuset", "cpuset"},	   {CG_PIDS, "pids", "pids"},
    {CG_BLKIO, "io", "blockIO"},	   {CG_HUGETLB, "hugetlb", "hugepageLimits"},
    {CG_NET_CLS, NULL, "network.classID"}, {CG_NET_PRIO, NULL, "network.priorities"},
};

static bool cpu_given(const spec_resources *r)
{
	return cg_u64_given(r->cpu.shares) || cg_u64_given(r->cpu.period) ||
	       cg_i64_given(r->cpu.quota) || r->cpu.burst.set || r->cpu.idle.set ||
	       cg_u64_given(r->cpu.realtime_period) || cg_i64_given(r->cpu.realtime_runtime);
}

static bool blkio_given(const spec_resources *r)
{
	if (cg_u64_given(r->block_io.weight) || cg_u64_given(r->block_io.leaf_weight) ||
	    r->block_io.n_weight_device)
		return true;
	for (size_t i = 0; i < 4; i++)
		if (r->block_io.n_throttle[i])
			return true;
	return false;
}

unsigned cgroup_asked(const spec_resources *r)
{
	unsigned m = 0;
	if (cg_i64_given(r->memory.limit) || cg_i64_given(r->memory.reservation) ||
	    cg_i64_given(r->memory.swap) || cg_i64_given(r->memory.kernel_tcp) ||
	    r->memory.swappiness.set || r->memory.disable_oom_killer)
		m |= CG_MEMORY;
	if (cpu_given(r))
		m |= CG_CPU;
	if (cg_str_given(r->cpu.cpus) || cg_str_given(r->cpu.mems))
		m |= CG_CPUSET;
	if (cg_i64_given(r->pids_limit))
		m |= CG_PIDS;
	if (blkio_given(r))
		m |= CG_BLKIO;
	if (r->n_hugepages)
		m |= CG_HUGETLB;
	if (cg_u64_given(r->network.class_id))
		m |= CG_NET_CLS;
	if (r->network.n_priorities)
		m |= CG_NET_PRIO;
	return m;
}

void cgroup_unask(spec_resources *r, unsigned ctrl)
{
	if (ctrl & CG_MEMORY)
		memset(&r->memory, 0, sizeof(r->memory));
	if (ctrl & CG_CPU) {
		char *cpus = r->cpu.cpus, *mems = r->cpu.mems;
		memset(&r->cpu, 0, sizeof(r->cpu));
		r->cpu.cpus = cpus;
		r->cpu.mems = mems;
	}
	if (ctrl & CG_CPUSET)
		r->cpu.cpus = r->cpu.mems = NULL;
	if (ctrl & CG_PIDS)
		r->pids_limit = (opt_i64){0};
	if (ctrl & CG_BLKIO)
		memset(&r->block_io, 0, sizeof(r->block_io));
	if (ctrl & CG_HUGETLB)
		r->n_hugepages = 0;
	if (ctrl & CG_NET_CLS)
		r->network.class_id = (opt_u64){0};
	if (ctrl & CG_NET_PRIO)
		r->network.n_priorities = 0;
}

char *cgroup_limit_names(unsigned ctrl)
{
	char *out = xstrdup("");
	for (size_t i = 0; i < sizeof(ctrl_names) / sizeof(ctrl_names[0]); i++) {
		if (!(ctrl & ctrl_names[i].bit))
			continue;
		char *n = xasprintf("%s%s%s", out, *out ? ", " : "", ctrl_names[i].limit);
		free(out);
		out = n;
	}
	return out;
}

static bool refused(int err)
{
	return err == EACCES || err == EPERM || err == EROFS;
}

/* Pure v2: the controllers the new directory did not get. */
static unsigned v2_missing(const char *dir)
{
	berr e;
	_cleanup_free_ char *have = cg_read(dir, "cgroup.controllers", &e);
	unsigned m = 0;
	for (size_t i = 0; i < sizeof(ctrl_names) / sizeof(ctrl_names[0]); i++) {
		const char *n = ctrl_names[i].v2;
		if (!n) {
			m |= ctrl_names[i].bit; /* v1 only */
			continue;
		}
		bool found = false;
		size_t l = strlen(n);
		for (const char *p = have; p && *p && !found;) {
			p += strspn(p, " \n");
			size_t w = strcspn(p, " \n");
			found = w == l && !strncmp(p, n, l);
			p += w;
		}
		if (!found)
			m |= ctrl_names[i].bit;
	}
	return m;
}

int cgroup_create_rootless(cgroup *cg, unsigned *missing, berr *e)
{
	*missing = 0;
	berr first = {0};
	size_t keep = 0;
	for (size_t i = 0; i < cg->n_v1; i++) {
		cgroup_dir d = cg->v1[i];
		/* Device rules need CAP_SYS_ADMIN in the host's namespace: a
		 * rootless container gets only the nodes bind mounted for it. */
		bool ok = !(d.ctrl & CG_DEVICES);
		if (ok && cg_mkdir_tracked(d.path, d.ctrl & CG_CPUSET, NULL, &d.n_created, e) < 0) {
			if (!refused(e->errnum)) {
				cg->v1[keep++] = d; /* its partial count included */
				for (size_t j = i + 1; j < cg->n_v1; j++)
					cg->v1[keep++] = cg->v1[j];
				cg->n_v1 = keep;
				goto fail;
			}
			if (!first.errnum)
				first = *e;
			ok = false;
		}
		if (!ok) {
			*missing |= d.ctrl;
			free(d.name);
			free(d.path);
			continue;
		}
		cg->v1[keep++] = d;
	}
	cg->n_v1 = keep;
	if (cg->v2) {
		const char *enable = cg->mode == CGROUP_V2 ? cg->v2_root : NULL;
		if (cg_mkdir_tracked(cg->v2, false, enable, &cg->v2_created, e) < 0) {
			if (!refused(e->errnum))
				goto fail;
			if (!first.errnum)
				first = *e;
			/* hybrid: the v2 tree only tracks processes, the v1
			 * hierarchies do that too */
			free(cg->v2);
			cg->v2 = NULL;
		} else if (cg->mode == CGROUP_V2) {
			*missing |= v2_missing(cg->v2);
		}
	}
	if (!cg->n_v1 && !cg->v2) {
		*e = first;
		return -1;
	}
	return 0;
fail:
	if (cg->v2)
		cg_rmdir_created(cg->v2, cg->v2_created);
	for (size_t i = 0; i < cg->n_v1; i++)
		cg_rmdir_created(cg->v1[i].path, cg->v1[i].n_created);
	return -1;
}
