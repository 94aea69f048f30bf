/* IPv4 subnet arithmetic and the address pick (see ipam.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipam.h"

uint32_t net_cidr_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

uint32_t net_cidr_broadcast(net_cidr c)
{
	return c.addr | ~net_cidr_mask(c.prefix);
}

int net_ip_parse(const char *s, uint32_t *out, berr *e)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return berr_set(e, EINVAL, "invalid IPv4 address \"%s\"", s ? s : "");
	*out = ntohl(a.s_addr);
	return 0;
}

int net_cidr_parse(const char *s, net_cidr *out, berr *e)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char ip[INET_ADDRSTRLEN];
	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return berr_set(e, EINVAL,
				"invalid subnet \"%s\" (want an address/prefix, e.g. 10.90.0.0/24)",
				s ? s : "");
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	char *end;
	errno = 0;
	long p = strtol(slash + 1, &end, 10);
	uint32_t a = 0;
	if (!slash[1] || *end || errno || p < 0 || p > 32 || net_ip_parse(ip, &a, e) < 0)
		return berr_set(e, EINVAL,
				"invalid subnet \"%s\" (want an address/prefix, e.g. 10.90.0.0/24)",
				s);
	uint32_t m = net_cidr_mask((int)p);
	if (a & ~m) {
		char b[16];
		return berr_set(e, EINVAL,
				"invalid subnet \"%s\": host bits are set (the network is %s/%ld)",
				s, net_ip_fmt(a & m, b, sizeof(b)), p);
	}
	out->addr = a;
	out->prefix = (int)p;
	return 0;
}

bool net_cidr_contains(net_cidr c, uint32_t ip)
{
	return (ip & net_cidr_mask(c.prefix)) == c.addr;
}

bool net_cidr_overlap(net_cidr a, net_cidr b)
{
	int p = a.prefix < b.prefix ? a.prefix : b.prefix;
	uint32_t m = net_cidr_mask(p);
	return (a.addr & m) == (b.addr & m);
}

char *net_ip_fmt(uint32_t ip, char *buf, size_t sz)
{
	snprintf(buf, sz, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}

char *net_cidr_fmt(net_cidr c, char *buf, size_t sz)
{
	char a[16];
	snprintf(buf, sz, "%s/%d", net_ip_fmt(c.addr, a, sizeof(a)), c.prefix);
	return buf;
}

int net_ip_pick(net_cidr subnet, net_cidr range, uint32_t gw, const uint32_t *used, size_t nused,
		uint32_t *out, berr *e)
{
	uint64_t lo = range.addr, hi = net_cidr_broadcast(range);
	uint32_t net = subnet.addr, bc = net_cidr_broadcast(subnet);
	if (subnet.prefix >= 31) /* RFC 3021: both addresses usable */
		net = bc = gw;
	size_t i = 0;
	while (i < nused && used[i] < lo)
		i++;
	/* one pass: the candidate and the sorted leases advance together */
	for (uint64_t c = lo; c <= hi; c++) {
		while (i < nused && used[i] < c)
			i++;
		if (i < nused && used[i] == c)
			continue;
		if (c == net || c == bc || c == gw)
			continue;
		*out = (uint32_t)c;
		return 0;
	}
	char b[20];
	return berr_set(e, ENOSPC, "no free address left in %s", net_cidr_fmt(range, b, sizeof(b)));
}

void net_mac_of_ip(uint32_t ip, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	mac[2] = (uint8_t)(ip >> 24);
	mac[3] = (uint8_t)(ip >> 16);
	mac[4] = (uint8_t)(ip >> 8);
	mac[5] = (uint8_t)ip;
}

int net_mac_parse(const char *s, uint8_t mac[6], berr *e)
{
	if (!s || strlen(s) != 17)
		return berr_set(e, EINVAL, "invalid MAC address \"%s\"", s ? s : "");
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
		    (i < 5 && p[2] != ':'))
			return berr_set(e, EINVAL, "invalid MAC address \"%s\"", s);
		char hx[3] = {p[0], p[1], 0};
		mac[i] = (uint8_t)strtoul(hx, NULL, 16);
	}
	if (mac[0] & 1)
		return berr_set(e, EINVAL, "invalid MAC address \"%s\": a multicast address", s);
	return 0;
}

char *net_mac_fmt(const uint8_t mac[6], char *buf, size_t sz)
{
	snprintf(buf, sz, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}
