/* Walking directory trees: copy and remove (fs_tree.c).
 *
 * One iterative walker: an explicit heap-allocated stack, no recursion, and
 * one open directory per side at a time (the walk goes down by name with
 * O_NOFOLLOW|O_DIRECTORY and back up through "..", whose identity is checked
 * against the directory it came from), so depth is bounded by memory only,
 * never by the stack or RLIMIT_NOFILE. Every name is one component taken
 * from readdir and resolved relative to a directory fd: no symlink is ever
 * followed, neither in the source nor in the destination, and a directory
 * moved away while it is walked stops the walk with an error. */
#pragma once

#include <sys/types.h>

#include "util/error.h"

/* Flags of fs_copy_at. */
enum {
	/* replace a non-directory already at a destination name (unlinked
	 * first, never written through); without it that is an error */
	FS_COPY_REPLACE = 1 << 0,
	/* keep the caller's owner (berth cp, like docker cp without -a) */
	FS_COPY_NO_OWNER = 1 << 1,
};

/* Copy what src_fd is (a regular file opened for reading, or a directory,
 * any fd of it, O_PATH too) to `name` under dst_dirfd: directories (merged
 * into an existing one), regular files, symlinks as links, hard links
 * between the files copied (for the first 128 files with several names;
 * later ones are copied); modes, owners (EPERM ignored), access and
 * modification times; devices, fifos and sockets are skipped (a top-level
 * one copies nothing). A failed copy of a new name removes what it made. */
int fs_copy_at(int src_fd, int dst_dirfd, const char *name, unsigned flags, berr *e);

/* Copy the tree under src_dirfd into the directory dst_dirfd, which gets
 * the source's mode, owner and times (volume copy-up, tmpcopyup). */
int fs_copy_tree(int src_dirfd, int dst_dirfd, berr *e);

/* Owners rewritten by a copy: map() gets each source (uid, gid) and
 * changes it in place. */
typedef struct fs_owner_map {
	void (*map)(void *arg, uid_t *uid, gid_t *gid);
	void *arg;
} fs_owner_map;
/* fs_copy_tree with every owner passed through owners->map; a chown the
 * kernel refuses is an error here (never a file left with a wrong owner). */
int fs_copy_tree_owners(int src_dirfd, int dst_dirfd, const fs_owner_map *owners, berr *e);

/* rm -rf of `name` under dirfd; never follows symlinks; mount points are
 * not avoided (callers own these trees). ENOENT is success. */
int fs_rm_rf_at(int dirfd, const char *name, berr *e);
