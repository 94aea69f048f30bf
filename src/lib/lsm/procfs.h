/* Opening files under /proc so that nobody can redirect the access.
 *
 * CVE-2025-52881 (and CVE-2019-16884 before it): while the runtime sets up a
 * container, the container's mount namespace (built from a bundle the user
 * controls) can have bind mounts or symlinks over /proc files, so a write
 * meant for /proc/self/attr/exec or /proc/self/oom_score_adj lands in, say,
 * /proc/sys/kernel/core_pattern. Checking that the target is on procfs is not
 * enough (the redirected target is on procfs too). So every access here:
 *   1. starts from a procfs root we trust: preferably a FRESH, detached procfs
 *      instance (fsopen("proc") + fsmount), which has no overmounts at all;
 *      else a detached non-recursive clone of /proc (open_tree
 *      OPEN_TREE_CLONE: the clone carries no submounts); else /proc itself.
 *      The root is verified: fstatfs == PROC_SUPER_MAGIC and inode 1;
 *   2. resolves the subpath with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
 *      | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): no "..", no symlink of any
 *      kind, no crossing onto a mount (so an overmount is refused even in the
 *      last fallback). "self" and "thread-self" (symlinks) are resolved by
 *      reading them on the trusted root ("1234", "1234/task/1235");
 *   3. checks the opened file with fstatfs again.
 * The runtime uses this for attr/exec (LSM labels), oom_score_adj, sysctls,
 * setgroups and uid_map/gid_map writes. */
#pragma once

#include "util/error.h"

/* A verified procfs root fd (O_CLOEXEC), trying the three sources above in
 * order. Costs a mount instance when fsopen works: open it once per setup
 * step and reuse it with procfs_openat(), then close it. */
int procfs_root_open(berr *e);

/* A verified procfs root from a given mount path (testability, or a caller
 * that holds /proc from before pivot_root). Refuses a path that is not the
 * root of a procfs. Returns a detached clone when open_tree allows it. */
int procfs_root_at(const char *proc_path, berr *e);

/* Open `subpath` ("self/attr/exec", "sys/kernel/hostname", "1234/uid_map")
 * below a root from the functions above. flags: O_RDONLY/O_WRONLY/O_RDWR/
 * O_PATH/O_DIRECTORY; O_CLOEXEC and O_NOFOLLOW are added. */
int procfs_openat(int procfd, const char *subpath, int flags, berr *e);

/* procfs_root_open + procfs_openat. */
int procfs_open(const char *subpath, int flags, berr *e);

/* Write a string (whole, one write(2) as procfs wants) to subpath. */
int procfs_write_at(int procfd, const char *subpath, const char *value, berr *e);
int procfs_write(const char *subpath, const char *value, berr *e);
