/* User namespace id maps (/proc/PID/uid_map, gid_map) as data.
 *
 * A process is "rootless" for berth when it runs in a user namespace other
 * than the initial one (its uid_map is not "0 0 4294967295"): uid 0 there
 * holds capabilities over its own namespaces and the ids mapped into it,
 * and nothing else (a cgroup owned by the host's root, a device node).
 * The runtime, the image unpacker and the engine ask this, never geteuid()
 * alone: a rootless berth runs as uid 0 of its user's namespace. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define IDMAP_MAX 340 /* the kernel's limit on lines in uid_map (since 4.15) */

typedef struct idmap_range {
	uint32_t inside, outside, count;
} idmap_range;

typedef struct idmap {
	idmap_range r[IDMAP_MAX];
	size_t n;
} idmap;

/* Parse a uid_map/gid_map text: lines "INSIDE OUTSIDE COUNT". Bad lines,
 * a zero count, a range that wraps or more than IDMAP_MAX lines: EINVAL
 * naming the line. */
int idmap_parse(const char *text, idmap *m, berr *e);
/* Read /proc/self/uid_map ("uid") or gid_map ("gid"). */
int idmap_read_self(const char *which, idmap *m, berr *e);
/* The initial namespace's map: one range 0 0 4294967295. */
bool idmap_is_initial(const idmap *m);
/* Is the id (as seen inside) mapped? */
bool idmap_maps(const idmap *m, uint32_t inside);
/* How many ids are mapped (saturating at UINT32_MAX). */
uint32_t idmap_size(const idmap *m);

/* Not in the initial user namespace (reads /proc/self/uid_map; a process
 * that cannot read it is taken as initial). */
bool idmap_in_userns(void);
