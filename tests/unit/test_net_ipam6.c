/* IPv6 IPAM arithmetic: subnets (prefix bounds, host bits), overlaps, the
 * address pick above the gateway among sorted leases (no walk of the /64),
 * the ULA /64 from a seed, and the v6 port specs. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "engine/network.h"
#include "net/ipam6.h"

static net_ip6 ip6(const char *s)
{
	net_ip6 v = {0, 0};
	berr e;
	net_ip6_parse(s, &v, &e);
	return v;
}

static net_cidr6 cidr6(const char *s)
{
	net_cidr6 c = {{0, 0}, 0};
	berr e;
	net_cidr6_parse_any(s, &c, &e);
	return c;
}

static void test_parse(void)
{
	net_cidr6 c;
	berr e;
	char b[64];
	CHECK(net_cidr6_parse("fd12:3456:789a:1::/64", &c, &e) == 0 && c.prefix == 64);
	CHECK_STREQ(net_cidr6_fmt(c, b, sizeof(b)), "fd12:3456:789a:1::/64");
	CHECK(net_cidr6_parse("fd12::5/64", &c, &e) < 0 && e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "host bits");
	CHECK_CONTAINS(e.msg, "fd12::/64");
	CHECK(net_cidr6_parse("fd12::/121", &c, &e) < 0);
	CHECK_CONTAINS(e.msg, "/48 to /120");
	CHECK(net_cidr6_parse("fd12::/47", &c, &e) < 0);
	CHECK(net_cidr6_parse("fd12::/120", &c, &e) == 0 && c.prefix == 120);
	CHECK(net_cidr6_parse("fd00:1::/48", &c, &e) == 0);
	const char *bad[] = {"fd12::",	   "fd12::/", "fd12::/129", "x::/64", "10.0.0.0/24",
			     "fd12::/64x", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(net_cidr6_parse(bad[i], &c, &e) < 0);
		CHECK_CONTAINS(e.msg, bad[i]);
	}
}

static void test_overlap_contains(void)
{
	CHECK(net_cidr6_overlap(cidr6("fd00::/64"), cidr6("fd00::/8")));
	CHECK(net_cidr6_overlap(cidr6("fd00::/64"), cidr6("fd00::1:0/112")));
	CHECK(!net_cidr6_overlap(cidr6("fd00::/64"), cidr6("fd00:0:0:1::/64")));
	CHECK(net_cidr6_contains(cidr6("fd00:1::/64"), ip6("fd00:1::ffff:1")));
	CHECK(!net_cidr6_contains(cidr6("fd00:1::/64"), ip6("fd00:2::1")));
	net_ip6 l = net_cidr6_last(cidr6("fd00:1::/64"));
	CHECK(net_ip6_cmp(l, ip6("fd00:1::ffff:ffff:ffff:ffff")) == 0);
	/* carry into the high half */
	CHECK(net_ip6_cmp(net_ip6_add(ip6("fd00::ffff:ffff:ffff:ffff"), 1), ip6("fd00:0:0:1::")) ==
	      0);
}

static void test_pick(void)
{
	net_cidr6 s = cidr6("fd00:5::/64");
	net_ip6 gw = ip6("fd00:5::1"), out;
	berr e;
	char b[64];
	CHECK(net_ip6_pick(s, s, gw, NULL, 0, &out, &e) == 0);
	CHECK_STREQ(net_ip6_fmt(out, b, sizeof(b)), "fd00:5::2");
	net_ip6 used[] = {ip6("fd00:5::2"), ip6("fd00:5::3"), ip6("fd00:5::5")};
	CHECK(net_ip6_pick(s, s, gw, used, 3, &out, &e) == 0);
	CHECK_STREQ(net_ip6_fmt(out, b, sizeof(b)), "fd00:5::4");
	/* a gateway high in the subnet: above it */
	CHECK(net_ip6_pick(s, s, ip6("fd00:5::fe"), used, 3, &out, &e) == 0);
	CHECK_STREQ(net_ip6_fmt(out, b, sizeof(b)), "fd00:5::ff");
	/* a range: its first free address */
	net_cidr6 rg = cidr6("fd00:5::100/120");
	CHECK(net_ip6_pick(s, rg, gw, used, 3, &out, &e) == 0);
	CHECK_STREQ(net_ip6_fmt(out, b, sizeof(b)), "fd00:5::100");
	/* a full /120 above the gateway: ENOSPC, after at most nused steps */
	net_cidr6 small = cidr6("fd00:6::/120");
	net_ip6 many[254];
	for (int i = 0; i < 254; i++)
		many[i] = net_ip6_add(ip6("fd00:6::2"), (uint64_t)i);
	CHECK(net_ip6_pick(small, small, ip6("fd00:6::1"), many, 254, &out, &e) < 0 &&
	      e.errnum == ENOSPC);
	CHECK_CONTAINS(e.msg, "fd00:6::/120");
	/* the top of the address space does not wrap */
	net_cidr6 top = cidr6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120");
	net_ip6 tgw = ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	CHECK(net_ip6_pick(top, top, tgw, NULL, 0, &out, &e) == 0);
	CHECK_STREQ(net_ip6_fmt(out, b, sizeof(b)), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff01");
}

static void test_ula(void)
{
	const uint8_t seed[7] = {1, 2, 3, 4, 5, 6, 7};
	net_cidr6 a = net_ula64(seed, 0), b2 = net_ula64(seed, 0), c = net_ula64(seed, 1);
	CHECK(a.prefix == 64 && (a.addr.hi >> 56) == 0xfd && a.addr.lo == 0);
	CHECK(net_ip6_cmp(a.addr, b2.addr) == 0);
	CHECK(net_ip6_cmp(a.addr, c.addr) != 0);
}

static void test_port_specs6(void)
{
	json_object *b = json_object_new_object(), *x = json_object_new_object();
	berr e;
	CHECK(eng_port_spec_add("[fd00::2]:8080:80", b, x, &e) == 0);
	json_object *arr = json_object_object_get(b, "80/tcp");
	CHECK(arr && json_object_array_length(arr) == 1);
	CHECK_STREQ(json_object_get_string(
			json_object_object_get(json_object_array_get_idx(arr, 0), "HostIp")),
		    "fd00::2");
	CHECK(eng_port_spec_add("[::]:8081:81/udp", b, x, &e) == 0);
	CHECK(eng_port_spec_add("[fd00::2]::82", b, x, &e) == 0);
	CHECK(eng_port_spec_add("[::1]:8080:80", b, x, &e) < 0 && e.errnum == ENOTSUP);
	CHECK_CONTAINS(e.msg, "[::1]");
	CHECK(eng_port_spec_add("[fd00::zz]:8080:80", b, x, &e) < 0 && e.errnum == EINVAL);
	json_object_put(b);
	json_object_put(x);
}

CHECK_MAIN(test_parse, test_overlap_contains, test_pick, test_ula, test_port_specs6)
