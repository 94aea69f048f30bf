/* IPv4 subnets and address allocation (IPAM) for berth's networks: the
 * arithmetic only; the leases themselves live in the network records
 * (engine/network.c), changed under the networks lock. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct net_cidr {
	uint32_t addr; /* host byte order */
	int prefix;    /* 0..32 */
} net_cidr;

/* "10.89.0.0/24". Host bits set ("10.89.0.5/24") are refused, as Docker
 * does, naming the value and the network address meant. */
int net_cidr_parse(const char *s, net_cidr *out, berr *e);
/* "10.89.0.5" (no prefix): an address; EINVAL names it. */
int net_ip_parse(const char *s, uint32_t *out, berr *e);
bool net_cidr_overlap(net_cidr a, net_cidr b);
bool net_cidr_contains(net_cidr c, uint32_t ip);
uint32_t net_cidr_mask(int prefix);
uint32_t net_cidr_broadcast(net_cidr c);
/* Text forms into buf (>= 19 bytes for a cidr, 16 for an address). */
char *net_cidr_fmt(net_cidr c, char *buf, size_t sz);
char *net_ip_fmt(uint32_t ip, char *buf, size_t sz);

/* The lowest free address of `range` (a part of `subnet`) that is neither
 * the subnet's network nor broadcast address, nor gw, nor in `used`
 * (sorted ascending). ENOSPC "no free address in NAME's range" when full.
 * O(nused) plus the scan: no quadratic walk over the leases. */
int net_ip_pick(net_cidr subnet, net_cidr range, uint32_t gw, const uint32_t *used, size_t nused,
		uint32_t *out, berr *e);

/* Docker's MAC for an address: 02:42 then the four address bytes. */
void net_mac_of_ip(uint32_t ip, uint8_t mac[6]);
/* "02:42:ac:11:00:02" -> bytes; EINVAL names it. Multicast MACs refused. */
int net_mac_parse(const char *s, uint8_t mac[6], berr *e);
char *net_mac_fmt(const uint8_t mac[6], char *buf, size_t sz); /* sz >= 18 */
