/* Rootless berth: one user namespace per user, held by a pause process.
 *
 * An unprivileged caller cannot mount an overlay, chown a layer's files to
 * uid 33 or make a container's namespaces in the host's user namespace. As
 * Podman does, the first berth command of a user makes a user namespace (the
 * caller as root; the subordinate ranges of /etc/subuid and /etc/subgid as
 * ids 1..N, written by the setuid helpers newuidmap/newgidmap) with a mount
 * namespace of its own, and leaves a pause process holding both; every
 * later berth command joins both with setns(2) before it touches the store,
 * so what one mounts (a container's rootfs) the next one sees. Without
 * ranges the namespace maps the caller alone (single-uid mode): files that
 * an image gives to other ids become the caller's.
 *
 * Under <run_root> (the user's $XDG_RUNTIME_DIR/berth):
 *   pause.pid   "PID STARTTICKS USERNS-INODE MNTNS-INODE" of the pause
 *               process (written atomically)
 *   pause.lock  flock held while a pause process is looked up or made
 * A pause process that died (kill) is replaced by the next command: in the
 * same namespaces when a process of the user is still in both (a running
 * container's monitor: found by the inodes, joined, then held by a new pause
 * process, so those containers stay reachable), else in new ones (after a
 * reboot, or when nothing of the old ones is left). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define ENG_SUBID_MAX 32 /* ranges taken from /etc/subuid per user */

typedef struct eng_subid {
	uint32_t start, count;
} eng_subid;

/* The ranges of /etc/subuid (or subgid) for a user, by name or by numeric
 * id, in file order; at most ENG_SUBID_MAX, each with count >= 1 and no
 * wrap. A missing file is no ranges. Malformed lines of other users are
 * skipped; a malformed line of this user is an error naming file:line. */
int eng_subid_parse(const char *text, const char *path, const char *user, uint32_t id,
		    eng_subid out[ENG_SUBID_MAX], size_t *n, berr *e);

typedef struct eng_userns {
	bool created; /* this call made the pause process */
	bool single;  /* no subordinate ranges: only the caller is mapped */
	uint32_t n_uids, n_gids;
	char *warning; /* a line for the front end to print (single-uid mode), or NULL */
} eng_userns;

/* Join (or make, then join) the caller's user and mount namespaces. Call
 * while the process is single-threaded, before anything touches the store;
 * the working directory is kept. Afterwards the process is uid 0 and gid 0
 * of that namespace. A no-op (all zero) for the host's root. Errors name
 * what failed: "/etc/subuid has no range for USER" is not one (single-uid
 * mode with a warning); a missing newuidmap with ranges present is
 * ("newuidmap not found: install the uidmap package"). */
int eng_userns_enter(const char *run_root, eng_userns *out, berr *e);
void eng_userns_clear(eng_userns *u);

/* Pid of the live pause process of run_root, or 0. */
pid_t eng_userns_pause_pid(const char *run_root);
