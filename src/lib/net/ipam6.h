/* IPv6 subnets and address allocation for berth's dual-stack networks: the
 * arithmetic only (ipam.h is the IPv4 side; the leases live in the network
 * records, engine/netlease.c).
 *
 * Subnets are /48 to /120: shorter would be a site, not a bridge; longer
 * leaves fewer than 256 addresses (Docker's own limit is looser, but a /121+
 * bridge network is a mistake more often than a plan). The pick never walks
 * the address space: it advances with the sorted leases, O(nused). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define NET6_PREFIX_MIN 48
#define NET6_PREFIX_MAX 120

typedef struct net_ip6 {
	uint64_t hi, lo; /* the address as a 128-bit number, host order halves */
} net_ip6;

typedef struct net_cidr6 {
	net_ip6 addr;
	int prefix; /* NET6_PREFIX_MIN..NET6_PREFIX_MAX once checked by net_cidr6_parse */
} net_cidr6;

/* "fd12:3456::/64": an address/prefix, host bits clear (else EINVAL naming
 * the network meant), prefix within NET6_PREFIX_MIN..MAX (EINVAL names it). */
int net_cidr6_parse(const char *s, net_cidr6 *out, berr *e);
/* Any IPv6 prefix, host bits masked off (host routes): for overlap checks. */
int net_cidr6_parse_any(const char *s, net_cidr6 *out, berr *e);
/* "fd12::5" (no prefix): EINVAL names it. */
int net_ip6_parse(const char *s, net_ip6 *out, berr *e);
void net_ip6_from_in6(const struct in6_addr *a, net_ip6 *out);
void net_ip6_to_in6(net_ip6 ip, struct in6_addr *out);
int net_ip6_cmp(net_ip6 a, net_ip6 b);
net_ip6 net_ip6_add(net_ip6 a, uint64_t n);
bool net_cidr6_contains(net_cidr6 c, net_ip6 ip);
bool net_cidr6_overlap(net_cidr6 a, net_cidr6 b);
net_ip6 net_cidr6_last(net_cidr6 c); /* the highest address of c */
/* Text forms into buf (>= INET6_ADDRSTRLEN + 4 for a cidr). */
char *net_ip6_fmt(net_ip6 ip, char *buf, size_t sz);
char *net_cidr6_fmt(net_cidr6 c, char *buf, size_t sz);

/* The lowest address of `range` (part of `subnet`) above the gateway (or
 * from the range's start when the gateway is below it) that is neither the
 * subnet's first address (the Subnet-Router anycast), nor gw, nor in `used`
 * (sorted ascending, may hold addresses outside the range). ENOSPC names
 * the range when none is left. O(nused). */
int net_ip6_pick(net_cidr6 subnet, net_cidr6 range, net_ip6 gw, const net_ip6 *used, size_t nused,
		 net_ip6 *out, berr *e);

/* A ULA /64 (fd00::/8) from a hash: fdXX:XXXX:XXXX:XXXX::/64 with the 56
 * bits after fd taken from seed[0..6] (e.g. the network id's bytes); salt
 * varies it (the next candidate when one overlaps). */
net_cidr6 net_ula64(const uint8_t seed[7], unsigned salt);
