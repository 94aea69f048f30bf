/* A container's mounts as `berth run` takes them: -v, --mount and --tmpfs
 * (volspec.c), checked and collected before anything is made.
 *
 *   -v SRC:DST[:ro|rw]     SRC absolute: a bind mount; else a named volume
 *   -v DST                 an anonymous volume
 *   --mount type=bind|volume|tmpfs,source=,target=,readonly[,tmpfs-size=,tmpfs-mode=]
 *   --tmpfs DST[:OPTS]     OPTS: size=, mode= (octal), nr_inodes=, uid=, gid=,
 *                          rw|ro, exec|noexec, suid|nosuid, dev|nodev
 *                          (Docker's defaults: rw,noexec,nosuid,nodev)
 * Two mounts on one destination are refused ("duplicate mount point"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

typedef struct eng_vol {
	char *type; /* "bind", "volume" or "tmpfs" */
	char *name; /* volume name (NULL: anonymous, or not a volume) */
	char *src, *dst;
	bool ro;
	char **opts; /* tmpfs: the mount options (strv) */
} eng_vol;

typedef struct eng_vols {
	eng_vol *v;
	size_t n;
} eng_vols;

/* One mount of the type; vspec is what the user wrote (for messages). */
int eng_vols_add(eng *g, eng_vols *l, const char *type, const char *src, const char *dst, bool ro,
		 const char *vspec, berr *e);
int eng_vols_add_volume(eng *g, eng_vols *l, const char *vs, berr *e); /* -v */
int eng_vols_add_mount(eng *g, eng_vols *l, const char *vs, berr *e);  /* --mount */
int eng_vols_add_tmpfs(eng_vols *l, const char *vs, berr *e);	       /* --tmpfs */
/* Is a mount on dst already there? */
bool eng_vols_has(const eng_vols *l, const char *dst);
void eng_vols_free(eng_vols *l);
