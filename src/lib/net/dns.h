/* Names on user-defined networks: aardvark-dns (Podman's DNS server, the
 * Debian package aardvark-dns) serves them from one config file per network
 * in one directory (the engine's <run_root>/aardvark); berth writes the files
 * and tells the one aardvark process to reload.
 *
 * The file, in aardvark 1.4's format (its config.md; checked against 1.4.0):
 *   <gateway>[ <upstream>,<upstream>]
 *   <container id> <ipv4> <ipv6, empty on a v4-only network> <name>,<name>,...
 *   ...
 *   berthprobe 0.0.0.0  _berth-probe-<16 hex>
 * The last record is the readiness probe, renewed in every file by every
 * reload: an answer for the new name proves aardvark serves the new files.
 * (1.4 reloads on SIGHUP by stopping and restarting every listener, so a
 * name it knew before could be answered by the old listener just before it
 * goes, and the next query be refused.) Containers can resolve it too (to
 * 0.0.0.0); it shadows nothing (container names cannot start with '_').
 *
 * Locking: writes and reloads take flock(2) on the directory itself (no
 * lock file: aardvark parses every file in it but aardvark.pid, and stops on
 * one it cannot parse). For the same reason the temporary file of an atomic
 * write lives in the directory's parent (".<dir name>.<network>.tmp"). */
#pragma once

#include <netinet/in.h>
#include <stddef.h>

#include "util/error.h"

typedef struct net_dns_rec {
	const char *id; /* container id (64 hex) */
	struct in_addr ip;
	const char *const *names; /* container name, its short id (12), --network-alias values */
	size_t nnames;
	const struct in6_addr *ip6; /* its IPv6 address (AAAA), NULL: none */
} net_dns_rec;

/* Write the config of one network in dir (created if missing, 0700): the
 * file `network` (letters, digits, -_. , not starting with '.', not
 * "aardvark.pid"), the gateway (aardvark listens there on port 53), the
 * optional upstream resolvers (NULL-terminated IP addresses, may be NULL:
 * aardvark then forwards to the host's resolv.conf) and one line per record
 * (the probe comes with the reload). Written atomically (tmp + rename).
 * nrec 0: the file is removed. Ids must be letters/digits, names letters, digits, '-', '_' and
 * '.' (at most 253): EINVAL names the value. */
int net_dns_write(const char *dir, const char *network, struct in_addr gw,
		  const char *const *upstream, const net_dns_rec *recs, size_t nrec, berr *e);
/* The same for a dual-stack network: gw6 (may be NULL) is a second listen
 * address of aardvark ("10.89.0.1,fd12::1" in the first column), and the
 * records' ip6 fill the ipv6 column (AAAA answers). */
int net_dns_write_ds(const char *dir, const char *network, struct in_addr gw,
		     const struct in6_addr *gw6, const char *const *upstream,
		     const net_dns_rec *recs, size_t nrec, berr *e);

/* Make aardvark-dns serve dir's current files: start it if it is not
 * running (`aardvark-dns --config DIR -p 53 run`: it daemonizes and writes
 * DIR/aardvark.pid; a pid there is used only if /proc says it is aardvark
 * with this --config, so a reused pid is never signalled), else SIGHUP it.
 * Returns once every gateway in the files answers its new probe name (one
 * UDP query of ~47 bytes to gw:53, resent every 250 us at first; 2 s in all,
 * then ETIMEDOUT naming the gateway), so a container started right after
 * resolves its peers. Measured here (2 cores, aardvark 1.4.0): a reload
 * ~1 ms, a start ~2.5 ms, a stop ~0.5 ms. No files left: aardvark is
 * stopped (SIGTERM, waited for) and its pid file removed.
 * The binary: $BERTH_AARDVARK or /usr/lib/podman/aardvark-dns (ENOENT
 * "aardvark-dns not found (install aardvark-dns)"); the binary itself, not a
 * wrapper script (the pid check compares /proc/PID/exe with it). aardvark runs in the
 * caller's network namespace, in a session of its own, stdio on /dev/null,
 * no fd of the caller's but 0-2. */
int net_dns_reload(const char *dir, berr *e);
