/* IPAM arithmetic and the -p spec parser: subnets, overlaps, the address
 * pick around gateway and leases, MACs, and the port specs Docker takes. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/network.h"
#include "net/ipam.h"

static uint32_t ip(const char *s)
{
	uint32_t v = 0;
	berr e;
	net_ip_parse(s, &v, &e);
	return v;
}

static void test_cidr_parse(void)
{
	net_cidr c;
	berr e;
	CHECK(net_cidr_parse("10.89.0.0/24", &c, &e) == 0);
	CHECK(c.addr == ip("10.89.0.0") && c.prefix == 24);
	CHECK(net_cidr_parse("10.89.0.5/24", &c, &e) < 0 && e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "host bits");
	CHECK_CONTAINS(e.msg, "10.89.0.0/24");
	const char *bad[] = {"10.89.0.0",     "10.89.0.0/", "10.89.0.0/33",  "10.89.0.0/-1", "x/24",
			     "10.89.0.0/24x", "",	    "10.89.0.256/24"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(net_cidr_parse(bad[i], &c, &e) < 0);
		CHECK_CONTAINS(e.msg, bad[i]);
	}
	CHECK(net_cidr_parse("0.0.0.0/0", &c, &e) == 0 && c.prefix == 0);
}

static void test_overlap(void)
{
	net_cidr a = {ip("10.88.0.0"), 16}, b = {ip("10.88.5.0"), 24}, c = {ip("10.89.0.0"), 24};
	CHECK(net_cidr_overlap(a, b) && net_cidr_overlap(b, a));
	CHECK(!net_cidr_overlap(a, c) && !net_cidr_overlap(b, c));
	CHECK(net_cidr_contains(a, ip("10.88.255.255")) && !net_cidr_contains(a, ip("10.87.0.1")));
	CHECK(net_cidr_broadcast(b) == ip("10.88.5.255"));
}

static void test_pick(void)
{
	net_cidr sub = {ip("10.90.0.0"), 29}; /* .1 .. .6 usable */
	uint32_t gw = ip("10.90.0.1"), out;
	berr e;
	CHECK(net_ip_pick(sub, sub, gw, NULL, 0, &out, &e) == 0 && out == ip("10.90.0.2"));
	uint32_t used[] = {ip("10.90.0.2"), ip("10.90.0.3"), ip("10.90.0.5")};
	CHECK(net_ip_pick(sub, sub, gw, used, 3, &out, &e) == 0 && out == ip("10.90.0.4"));
	uint32_t full[] = {ip("10.90.0.2"), ip("10.90.0.3"), ip("10.90.0.4"), ip("10.90.0.5"),
			   ip("10.90.0.6")};
	CHECK(net_ip_pick(sub, sub, gw, full, 5, &out, &e) < 0 && e.errnum == ENOSPC);
	/* a range inside the subnet: only its addresses */
	net_cidr big = {ip("10.91.0.0"), 16}, rg = {ip("10.91.8.0"), 30};
	CHECK(net_ip_pick(big, rg, ip("10.91.0.1"), NULL, 0, &out, &e) == 0 &&
	      out == ip("10.91.8.0"));
	/* a gateway in the middle is skipped */
	CHECK(net_ip_pick(sub, sub, ip("10.90.0.2"), NULL, 0, &out, &e) == 0 &&
	      out == ip("10.90.0.1"));
	/* a /16 with 65,000 leases: one pass (no quadratic walk) */
	size_t n = 65000;
	uint32_t *many = malloc(n * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		many[i] = big.addr + 2 + (uint32_t)i;
	CHECK(net_ip_pick(big, big, ip("10.91.0.1"), many, n, &out, &e) == 0 &&
	      out == big.addr + 2 + (uint32_t)n);
	free(many);
}

static void test_mac(void)
{
	uint8_t m[6];
	char b[18];
	berr e;
	net_mac_of_ip(ip("172.17.0.2"), m);
	CHECK_STREQ(net_mac_fmt(m, b, sizeof(b)), "02:42:ac:11:00:02");
	CHECK(net_mac_parse("02:42:0a:fb:07:AA", m, &e) == 0 && m[5] == 0xaa);
	CHECK(net_mac_parse("01:00:5e:00:00:01", m, &e) < 0);
	CHECK_CONTAINS(e.msg, "multicast");
	const char *bad[] = {"02:42:0a:fb:07",	  "02:42:0a:fb:07:aa:bb", "02-42-0a-fb-07-aa",
			     "0g:42:0a:fb:07:aa", " 2:42:0a:fb:07:aa",	  ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(net_mac_parse(bad[i], m, &e) < 0);
}

static const char *binding(json_object *b, const char *key, const char *field)
{
	json_object *arr, *v;
	if (!json_object_object_get_ex(b, key, &arr) || !json_object_array_length(arr))
		return NULL;
	return json_object_object_get_ex(json_object_array_get_idx(arr, 0), field, &v)
		   ? json_object_get_string(v)
		   : NULL;
}

static void test_port_specs(void)
{
	json_object *b = json_object_new_object(), *x = json_object_new_object();
	berr e;
	CHECK(eng_port_spec_add("8080:80", b, x, &e) == 0);
	CHECK_STREQ(binding(b, "80/tcp", "HostPort"), "8080");
	CHECK_STREQ(binding(b, "80/tcp", "HostIp"), "");
	CHECK(eng_port_spec_add("127.0.0.1:5353:53/udp", b, x, &e) == 0);
	CHECK_STREQ(binding(b, "53/udp", "HostIp"), "127.0.0.1");
	CHECK(eng_port_spec_add("127.0.0.1::9000", b, x, &e) == 0);
	CHECK_STREQ(binding(b, "9000/tcp", "HostPort"), "");
	CHECK(eng_port_spec_add("7000-7002:8000-8002", b, x, &e) == 0);
	CHECK_STREQ(binding(b, "8002/tcp", "HostPort"), "7002");
	CHECK(eng_port_spec_add("6000-6010:443", b, x, &e) == 0);
	CHECK_STREQ(binding(b, "443/tcp", "HostPort"), "6000-6010");
	CHECK(eng_port_spec_add("22", b, x, &e) == 0);
	json_object *v;
	CHECK(json_object_object_get_ex(x, "22/tcp", &v) &&
	      json_object_object_get_ex(x, "8001/tcp", &v));
	const char *bad[] = {"",
			     "abc",
			     "0",
			     "65536",
			     "80/sctp",
			     "1:2:3:4",
			     "300.1.1.1:80:80",
			     "8000-7000:80",
			     "8000-8002:80-81",
			     "1-2000:1-2000",
			     "[::1]:80:80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(eng_port_spec_add(bad[i], b, x, &e) < 0);
		CHECK_CONTAINS(e.msg, bad[i]);
	}
	json_object_put(b);
	json_object_put(x);
}

CHECK_MAIN(test_cidr_parse, test_overlap, test_pick, test_mac, test_port_specs)
