/* nftables for the IPv6 side of berth's dual-stack networks: a table
 * `ip6 berth` beside `ip berth` (nft_rules.c), with the same shape: static
 * rules, per network set elements, per published port map elements. All of
 * it through libnftables (nft6.c documents the table). Only v6 networks and
 * containers with a v6 address touch it: a v4-only host never gets the
 * table. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/nft.h"
#include "util/error.h"

typedef struct bnft_net6 {
	const char *bridge;
	struct in6_addr subnet; /* network address */
	int prefix;		/* 1..128 */
	bool internal;
} bnft_net6;

/* The table (made once, with its rules) and this network's elements:
 * masquerade of the subnet going out (not internal), the bridge in the
 * isolation sets, internal's drops. */
int bnft6_network_add(bnft *n, const bnft_net6 *net, berr *e);
int bnft6_network_del(bnft *n, const bnft_net6 *net, berr *e); /* absent: 0 */

typedef struct bnft_port6 {
	int proto;		 /* IPPROTO_TCP or IPPROTO_UDP */
	struct in6_addr host_ip; /* :: : every host address */
	uint16_t host_port;
	struct in6_addr ctr_ip;
	uint16_t ctr_port;
} bnft_port6;

/* Publish v6 ports in one transaction (raw nfnetlink, nft_ports.c): a
 * host key already in a map (another container's) -> EADDRINUSE naming it.
 * Unlike v4 there is no clash check between [::]:P and [ADDR]:P here: the
 * engine's held v6 sockets refuse that (bind without SO_REUSEADDR). */
int bnft6_ports_add(bnft *n, const bnft_port6 *p, size_t np, berr *e);
/* Remove these exact elements (raw nfnetlink); absent ones, or a key that
 * maps to another container now, are left alone; no table: fine. */
int bnft6_ports_del(bnft *n, const bnft_port6 *p, size_t np, berr *e);
/* Every v6 published port (system check); *out malloc'ed, no table: 0. */
int bnft6_ports_list(bnft *n, bnft_port6 **out, size_t *np, berr *e);
/* Remove the table (tests, reset); absent: 0. */
int bnft6_table_del(bnft *n, berr *e);
