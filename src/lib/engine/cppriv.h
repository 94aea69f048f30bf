/* What cp.c and cp_archive.c share. */
#pragma once

#include <stdbool.h>

#include "engine/engine.h"

/* The last component of p (trailing slashes dropped; malloc'ed). */
char *eng_cp_base_name(const char *p);
/* Where a container path is copied: the host directory of the bind or
 * volume mount holding it (the longest Destination above the path, ".."
 * taken lexically; a symlink into a mount is not followed there), else the
 * container's root, mounted for the copy if it is not. */
typedef struct eng_cp_at {
	int rootfd;	   /* O_PATH of that directory */
	char *rel;	   /* the path to resolve in it (RESOLVE_IN_ROOT) */
	bool in_mount;	   /* a bind or volume */
	bool read_only;	   /* the mount's, or the container's --read-only */
	bool mounted_here; /* eng_cp_root_close unmounts the root */
} eng_cp_at;
int eng_cp_root_open(eng *g, const char *id, const char *cpath, eng_cp_at *at, berr *e);
void eng_cp_root_close(eng *g, const char *id, eng_cp_at *at);
