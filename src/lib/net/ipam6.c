/* IPv6 subnet arithmetic and the address pick (see ipam6.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipam6.h"

void net_ip6_from_in6(const struct in6_addr *a, net_ip6 *out)
{
	out->hi = out->lo = 0;
	for (int i = 0; i < 8; i++) {
		out->hi = (out->hi << 8) | a->s6_addr[i];
		out->lo = (out->lo << 8) | a->s6_addr[8 + i];
	}
}

void net_ip6_to_in6(net_ip6 ip, struct in6_addr *out)
{
	for (int i = 7; i >= 0; i--) {
		out->s6_addr[i] = (uint8_t)ip.hi;
		out->s6_addr[8 + i] = (uint8_t)ip.lo;
		ip.hi >>= 8;
		ip.lo >>= 8;
	}
}

int net_ip6_cmp(net_ip6 a, net_ip6 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

net_ip6 net_ip6_add(net_ip6 a, uint64_t n)
{
	uint64_t lo = a.lo + n;
	return (net_ip6){a.hi + (lo < a.lo), lo};
}

/* The mask of a prefix as two halves. */
static net_ip6 mask_of(int prefix)
{
	net_ip6 m = {0, 0};
	if (prefix >= 64) {
		m.hi = ~0ull;
		m.lo = prefix >= 128 ? ~0ull : prefix == 64 ? 0 : ~0ull << (128 - prefix);
	} else if (prefix > 0) {
		m.hi = ~0ull << (64 - prefix);
	}
	return m;
}

static net_ip6 and_(net_ip6 a, net_ip6 m)
{
	return (net_ip6){a.hi & m.hi, a.lo & m.lo};
}

bool net_cidr6_contains(net_cidr6 c, net_ip6 ip)
{
	return net_ip6_cmp(and_(ip, mask_of(c.prefix)), c.addr) == 0;
}

bool net_cidr6_overlap(net_cidr6 a, net_cidr6 b)
{
	net_ip6 m = mask_of(a.prefix < b.prefix ? a.prefix : b.prefix);
	return net_ip6_cmp(and_(a.addr, m), and_(b.addr, m)) == 0;
}

net_ip6 net_cidr6_last(net_cidr6 c)
{
	net_ip6 m = mask_of(c.prefix);
	return (net_ip6){c.addr.hi | ~m.hi, c.addr.lo | ~m.lo};
}

int net_ip6_parse(const char *s, net_ip6 *out, berr *e)
{
	struct in6_addr a;
	if (!s || inet_pton(AF_INET6, s, &a) != 1)
		return berr_set(e, EINVAL, "invalid IPv6 address \"%s\"", s ? s : "");
	net_ip6_from_in6(&a, out);
	return 0;
}

char *net_ip6_fmt(net_ip6 ip, char *buf, size_t sz)
{
	struct in6_addr a;
	char t[INET6_ADDRSTRLEN];
	net_ip6_to_in6(ip, &a);
	inet_ntop(AF_INET6, &a, t, sizeof(t));
	snprintf(buf, sz, "%s", t);
	return buf;
}

char *net_cidr6_fmt(net_cidr6 c, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];
	snprintf(buf, sz, "%s/%d", net_ip6_fmt(c.addr, a, sizeof(a)), c.prefix);
	return buf;
}

static int parse(const char *s, net_cidr6 *out, bool strict, berr *e)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char ip[INET6_ADDRSTRLEN];
	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return berr_set(e, EINVAL,
				"invalid IPv6 subnet \"%s\" (want an address/prefix, e.g. "
				"fd12:3456:789a:1::/64)",
				s ? s : "");
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	char *end;
	errno = 0;
	long p = strtol(slash + 1, &end, 10);
	net_ip6 a;
	berr ig;
	if (!slash[1] || *end || errno || p < 0 || p > 128 || net_ip6_parse(ip, &a, &ig) < 0)
		return berr_set(e, EINVAL,
				"invalid IPv6 subnet \"%s\" (want an address/prefix, e.g. "
				"fd12:3456:789a:1::/64)",
				s);
	net_ip6 n = and_(a, mask_of((int)p));
	if (strict) {
		if (p < NET6_PREFIX_MIN || p > NET6_PREFIX_MAX)
			return berr_set(e, EINVAL,
					"IPv6 subnet \"%s\": the prefix must be /%d to /%d", s,
					NET6_PREFIX_MIN, NET6_PREFIX_MAX);
		if (net_ip6_cmp(n, a)) {
			char b[INET6_ADDRSTRLEN];
			return berr_set(
			    e, EINVAL,
			    "invalid IPv6 subnet \"%s\": host bits are set (the network "
			    "is %s/%ld)",
			    s, net_ip6_fmt(n, b, sizeof(b)), p);
		}
	}
	out->addr = n;
	out->prefix = (int)p;
	return 0;
}

int net_cidr6_parse(const char *s, net_cidr6 *out, berr *e)
{
	return parse(s, out, true, e);
}

int net_cidr6_parse_any(const char *s, net_cidr6 *out, berr *e)
{
	return parse(s, out, false, e);
}

/* The lowest address in from..to that is not in used (sorted), gw or the
 * subnet's first; each step returns or passes one lease: O(nused). */
static bool scan(net_ip6 from, net_ip6 to, net_ip6 gw, net_ip6 first, const net_ip6 *used,
		 size_t nused, net_ip6 *out)
{
	size_t i = 0;
	for (net_ip6 c = from; net_ip6_cmp(c, to) <= 0;) {
		while (i < nused && net_ip6_cmp(used[i], c) < 0)
			i++;
		bool taken = i < nused && net_ip6_cmp(used[i], c) == 0;
		if (!taken && net_ip6_cmp(c, gw) && net_ip6_cmp(c, first)) {
			*out = c;
			return true;
		}
		net_ip6 next = net_ip6_add(c, 1);
		if (net_ip6_cmp(next, c) <= 0) /* the top of the address space */
			break;
		c = next;
	}
	return false;
}

int net_ip6_pick(net_cidr6 subnet, net_cidr6 range, net_ip6 gw, const net_ip6 *used, size_t nused,
		 net_ip6 *out, berr *e)
{
	net_ip6 start = range.addr, last = net_cidr6_last(range);
	/* above the gateway first (the leases follow it, as Docker's), then
	 * what the range has below it */
	bool above = net_cidr6_contains(range, gw) && net_ip6_cmp(gw, last) < 0;
	if (above && scan(net_ip6_add(gw, 1), last, gw, subnet.addr, used, nused, out))
		return 0;
	if (scan(start, above ? gw : last, gw, subnet.addr, used, nused, out))
		return 0;
	char b[INET6_ADDRSTRLEN + 5];
	return berr_set(e, ENOSPC, "no free IPv6 address left in %s",
			net_cidr6_fmt(range, b, sizeof(b)));
}

net_cidr6 net_ula64(const uint8_t seed[7], unsigned salt)
{
	/* fd + 56 bits: the seed mixed with the salt (FNV-1a over both) */
	uint64_t h = 1469598103934665603ull;
	for (int i = 0; i < 7; i++)
		h = (h ^ seed[i]) * 1099511628211ull;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((salt >> (8 * i)) & 0xff)) * 1099511628211ull;
	net_cidr6 c = {{(0xfdull << 56) | (h & 0x00ffffffffffffffull), 0}, 64};
	return c;
}
