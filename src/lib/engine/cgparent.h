/* Where a rootless caller's containers get their cgroup (issue #14).
 *
 * A rootless caller can only write the cgroups delegated to it: directories
 * (with their cgroup.procs) that root chowned to it (v1: one per controller;
 * v2: a subtree, as systemd's user@UID.service delegation makes). Its own
 * cgroup (/proc/self/cgroup) is in that subtree or below it; the delegated
 * root is the highest ancestor of it, walking up, still owned by the caller.
 * Containers go right under it, "<delegated>/berth-<id>", so that no process
 * of the caller sits in a cgroup between them (v2's no-internal-processes
 * rule applies to the container's parent only) and rm leaves nothing behind.
 *
 * cgroupsPath is one path for every hierarchy (runc). On v2 it is the
 * absolute "<delegated>/berth-<id>". On v1/hybrid the delegated directories
 * may sit at different paths in each hierarchy (root chowned them under
 * wherever the caller was) and v1 has no internal-process rule, so it is the
 * relative "berth-<id>": under the caller's own cgroup in every hierarchy,
 * chosen when the caller owns its own cgroup in one of memory, pids, cpu,
 * cpuset, blkio, hugetlb; else the v2 tree's delegated root as on v2. A
 * hierarchy not delegated is refused at mkdir and its limits are warned
 * about by the runtime (cgroup_create_rootless()); in hybrid the unified
 * tree is usually not writable and then only v1 tracks the processes.
 */
#pragma once

#include <sys/types.h>

#include "cgroup/cgroup.h"

/* "<delegated>/berth-<id>" or "berth-<id>" (malloc'ed), or NULL when the caller owns no
 * cgroup of its own in any hierarchy of ctx (ctx->proc_cgroup is read). */
char *eng_cgroup_parent(const cgroup_ctx *ctx, uid_t owner, const char *id);
/* The same for this process on the host's tree (NULL on any error). */
char *eng_cgroup_parent_self(const char *id);
