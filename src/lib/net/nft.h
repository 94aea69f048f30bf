/* nftables for berth's networks: NAT, published ports, isolation.
 *
 * libnftables is loaded with dlopen("libnftables.so.1") at the first call
 * that needs it (the table, its rules, listings), not linked: only the
 * commands that change networks pay for its shared objects. A container's
 * published ports (bnft_ports_add/del, bnft_port_get) go as raw nfnetlink
 * messages through libmnl instead: no libnftables on that path.
 * Every change is one batch (one kernel transaction: all of it or none).
 * berth's rules live in its own table `ip berth`; nft_rules.c documents it.
 *
 * All functions take the calling thread's network namespace (the socket is
 * made at the first command): open the context in the namespace to change.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct bnft bnft; /* a context: libnftables and/or a raw nfnetlink socket */

/* Cheap (no library, no socket yet): never fails today. The libnftables-backed
 * calls fail ENOENT/ELIBACC "libnftables.so.1 not found (install
 * libnftables1)" when it is missing. */
bnft *bnft_open(berr *e);
void bnft_close(bnft *n);

/* Run a batch of nft commands (one transaction); on failure e holds nft's own
 * error text made into one line (first error, with the command it names), and
 * e->errnum the errno its message names (EEXIST, ENOENT, ...; EINVAL for a
 * syntax error). */
int bnft_run(bnft *n, const char *cmds, berr *e);

/* Run one listing command with JSON output; *json is the text, owned by n and
 * valid until the next call on n. */
int bnft_list_json(bnft *n, const char *cmd, const char **json, berr *e);

typedef struct bnft_net {
	const char *bridge;    /* berth0 */
	struct in_addr subnet; /* network address */
	int prefix;
	bool internal; /* no outbound, no masquerade, only traffic inside the bridge */
} bnft_net;

/* Make sure berth's table exists (idempotent, cheap when it does: one batch of
 * `add` commands) and that this network's rules are in it: masquerade of the
 * subnet's outbound traffic (not for internal), the bridge in the isolation
 * set (two berth bridges never forward to each other), internal's drop. */
int bnft_network_add(bnft *n, const bnft_net *net, berr *e);
int bnft_network_del(bnft *n, const bnft_net *net, berr *e); /* absent: 0 */

typedef struct bnft_port {
	int proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	struct in_addr host_ip; /* INADDR_ANY: every host address */
	uint16_t host_port;
	struct in_addr ctr_ip;
	uint16_t ctr_port;
} bnft_port;

/* Publish ports, all in one transaction: all or none. A host (ip, port, proto)
 * already published (by another container) -> EADDRINUSE
 * "port 8080/tcp is already published (to 10.89.0.5:80)". A port published on
 * every address conflicts with the same port on one address, and the other way
 * round (Docker's rule). The table must exist (bnft_network_add): ENOENT. */
int bnft_ports_add(bnft *n, const bnft_port *p, size_t np, berr *e);
/* Remove these exact mappings; absent entries, or a host port now mapped to
 * another container, are left alone: fine (no table: fine). */
int bnft_ports_del(bnft *n, const bnft_port *p, size_t np, berr *e);
/* The element for key's (proto, host_ip, host_port): *out filled (its
 * ctr_ip, ctr_port; the key's fields copied). None (or no table): -1 with
 * e->errnum ENOENT. */
int bnft_port_get(bnft *n, const bnft_port *key, bnft_port *out, berr *e);
/* Every published port in the table (for `system check --repair` and conflict
 * owner lookups); *out is malloc'ed (NULL when none), no table: 0 ports. */
int bnft_ports_list(bnft *n, bnft_port **out, size_t *np, berr *e);
/* Remove berth's table entirely (tests, `system reset`); absent: 0. */
int bnft_table_del(bnft *n, berr *e);
