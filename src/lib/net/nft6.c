/* berth's `ip6 berth` table (see nft6.h): what nft_rules.c's `ip berth`
 * does for IPv4, for the v6 subnets of dual-stack networks:
 *
 * table ip6 berth {
 *   set bridges, internal, same           as in ip berth (the v6 bridges)
 *   set subnets, masq  { type ipv6_addr; flags interval; }
 *   map tcp_any { type inet_service : ipv6_addr . inet_service; }       -p 8080:80
 *   map tcp_ip  { type ipv6_addr . inet_service : ipv6_addr . inet_service; }  -p [ADDR]:8080:80
 *   map udp_any, udp_ip
 *   chain ports        dnat by map lookup, one address first, then any
 *   chain prerouting   fib daddr type local jump ports   (outside, hairpin)
 *   chain output       ip6 daddr != ::1 fib daddr type local jump ports  (the host)
 *   chain postrouting  masquerade out of @masq; hairpin (dnat'ed from @subnets into a bridge)
 *   chain forward      the v4 table's isolation, internal and inbound rules
 * }
 *
 * ::1 is left out: IPv6 has no route_localnet, a packet from ::1 never
 * leaves lo, so a DNAT of the host's [::1]:PORT to a container cannot work
 * without a userland proxy (berth has none): `-p [::1]:...` is refused by
 * the engine, and a port on every address answers the host's other v6
 * addresses, not ::1. The port elements are added and removed as raw
 * nfnetlink messages (nft_ports.c, as the v4 ones); only the listing
 * (system check, a stale port's take-over) goes through libnftables.
 */
#include "net/nft6.h"
#include "net/nft_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define T6	    "ip6 berth"
#define RULES6_MARK "rules6_v1"

static const char objects6[] =
    "add table " T6 "\n"
    "add set " T6 " bridges { type ifname; }\n"
    "add set " T6 " internal { type ifname; }\n"
    "add set " T6 " same { type ifname . ifname; }\n"
    "add set " T6 " subnets { type ipv6_addr; flags interval; }\n"
    "add set " T6 " masq { type ipv6_addr; flags interval; }\n"
    "add map " T6 " tcp_any { type inet_service : ipv6_addr . inet_service; }\n"
    "add map " T6 " tcp_ip { type ipv6_addr . inet_service : ipv6_addr . inet_service; }\n"
    "add map " T6 " udp_any { type inet_service : ipv6_addr . inet_service; }\n"
    "add map " T6 " udp_ip { type ipv6_addr . inet_service : ipv6_addr . inet_service; }\n";

static const char rules6[] =
    "create set " T6 " " RULES6_MARK " { type inet_service; }\n"
    "add chain " T6 " ports\n"
    "add chain " T6 " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
    "add chain " T6 " output { type nat hook output priority -100; policy accept; }\n"
    "add chain " T6 " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
    "add chain " T6 " forward { type filter hook forward priority filter; policy accept; }\n"
    "flush chain " T6 " ports\n"
    "flush chain " T6 " prerouting\n"
    "flush chain " T6 " output\n"
    "flush chain " T6 " postrouting\n"
    "flush chain " T6 " forward\n"
    "add rule " T6 " ports dnat to ip6 daddr . tcp dport map @tcp_ip\n"
    "add rule " T6 " ports dnat to tcp dport map @tcp_any\n"
    "add rule " T6 " ports dnat to ip6 daddr . udp dport map @udp_ip\n"
    "add rule " T6 " ports dnat to udp dport map @udp_any\n"
    "add rule " T6 " prerouting fib daddr type local jump ports\n"
    "add rule " T6 " output ip6 daddr != ::1 fib daddr type local jump ports\n"
    "add rule " T6 " postrouting ip6 saddr @masq oifname != @bridges masquerade\n"
    "add rule " T6 " postrouting ct status dnat ip6 saddr @subnets oifname @bridges masquerade\n"
    "add rule " T6 " forward iifname . oifname @same accept\n"
    "add rule " T6 " forward iifname @internal drop\n"
    "add rule " T6 " forward oifname @internal drop\n"
    "add rule " T6 " forward iifname @bridges oifname @bridges ct status dnat accept\n"
    "add rule " T6 " forward iifname @bridges oifname @bridges drop\n"
    "add rule " T6 " forward iifname @bridges accept\n"
    "add rule " T6 " forward oifname @bridges ct state established,related accept\n"
    "add rule " T6 " forward oifname @bridges ct status dnat accept\n"
    /* neighbour discovery and the like are not forwarded: nothing else */
    "add rule " T6 " forward oifname @bridges drop\n";

static int check_net6(const bnft_net6 *net, berr *e)
{
	if (bnft_check_bridge(net->bridge, e) < 0)
		return -1;
	if (net->prefix < 1 || net->prefix > 128)
		return berr_set(e, EINVAL, "nft: bad IPv6 prefix length %d", net->prefix);
	return 0;
}

static void net6_elements(cmdbuf *b, const bnft_net6 *net, bool del)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &net->subnet, a, sizeof(a));
	const char *br = net->bridge;
	for (int pass = 0; pass < (del ? 2 : 1); pass++) {
		const char *verb = pass ? "delete" : "add";
		cb_addf(b, "%s element " T6 " bridges { \"%s\" }\n", verb, br);
		cb_addf(b, "%s element " T6 " same { \"%s\" . \"%s\" }\n", verb, br, br);
		cb_addf(b, "%s element " T6 " subnets { %s/%d }\n", verb, a, net->prefix);
		if (del || net->internal)
			cb_addf(b, "%s element " T6 " internal { \"%s\" }\n", verb, br);
		if (del || !net->internal)
			cb_addf(b, "%s element " T6 " masq { %s/%d }\n", verb, a, net->prefix);
	}
}

int bnft6_network_add(bnft *n, const bnft_net6 *net, berr *e)
{
	if (check_net6(net, e) < 0)
		return -1;
	const char *json;
	berr le = {0};
	bool have_rules = bnft_list_json(n, "list set " T6 " " RULES6_MARK, &json, &le) == 0;
	cmdbuf b = {0};
	cb_addf(&b, "%s%s", objects6, have_rules ? "" : rules6);
	net6_elements(&b, net, false);
	int r = bnft_run(n, b.s, e);
	if (r < 0 && e->errnum == EEXIST && !have_rules) { /* made meanwhile */
		b.len = 0;
		cb_addf(&b, "%s", objects6);
		net6_elements(&b, net, false);
		r = bnft_run(n, b.s, e);
	}
	free(b.s);
	return r < 0 ? berr_ctx(e, "network %s (IPv6)", net->bridge) : 0;
}

static bool table6_exists(bnft *n)
{
	const char *json;
	berr le = {0};
	return bnft_list_json(n, "list set " T6 " bridges", &json, &le) == 0;
}

int bnft6_network_del(bnft *n, const bnft_net6 *net, berr *e)
{
	if (check_net6(net, e) < 0)
		return -1;
	if (!table6_exists(n))
		return 0;
	cmdbuf b = {0};
	net6_elements(&b, net, true);
	int r = bnft_run(n, b.s, e);
	free(b.s);
	return r < 0 ? berr_ctx(e, "network %s (IPv6)", net->bridge) : 0;
}

int bnft6_table_del(bnft *n, berr *e)
{
	return bnft_run(n, "add table " T6 "\ndelete table " T6 "\n", e);
}

/* One element of a map listing: [key, {"concat": [addr, port]}] with key a
 * number or {"concat": [addr, port]}. */
static bool parse_elem6(json_object *el, int proto, bool any, bnft_port6 *p)
{
	json_object *m = NULL, *kv, *vv, *cc;
	if (!json_object_object_get_ex(el, "elem", &m) &&
	    !(json_object_is_type(el, json_type_array) && (m = el)))
		return false;
	if (!json_object_is_type(m, json_type_array) || json_object_array_length(m) != 2)
		return false;
	kv = json_object_array_get_idx(m, 0);
	vv = json_object_array_get_idx(m, 1);
	memset(p, 0, sizeof(*p));
	p->proto = proto;
	if (any) {
		if (!json_object_is_type(kv, json_type_int))
			return false;
		p->host_port = (uint16_t)json_object_get_int(kv);
	} else {
		if (!json_object_object_get_ex(kv, "concat", &cc) ||
		    json_object_array_length(cc) != 2 ||
		    inet_pton(AF_INET6, json_object_get_string(json_object_array_get_idx(cc, 0)),
			      &p->host_ip) != 1)
			return false;
		p->host_port = (uint16_t)json_object_get_int(json_object_array_get_idx(cc, 1));
	}
	if (!json_object_object_get_ex(vv, "concat", &cc) || json_object_array_length(cc) != 2 ||
	    inet_pton(AF_INET6, json_object_get_string(json_object_array_get_idx(cc, 0)),
		      &p->ctr_ip) != 1)
		return false;
	p->ctr_port = (uint16_t)json_object_get_int(json_object_array_get_idx(cc, 1));
	return p->host_port && p->ctr_port;
}

int bnft6_ports_list(bnft *n, bnft_port6 **out, size_t *np, berr *e)
{
	*out = NULL;
	*np = 0;
	if (!table6_exists(n))
		return 0;
	static const struct {
		const char *map;
		int proto;
		bool any;
	} maps[] = {{"tcp_any", IPPROTO_TCP, true},
		    {"tcp_ip", IPPROTO_TCP, false},
		    {"udp_any", IPPROTO_UDP, true},
		    {"udp_ip", IPPROTO_UDP, false}};
	size_t cap = 0;
	for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
		char cmd[64];
		const char *txt;
		snprintf(cmd, sizeof(cmd), "list map " T6 " %s", maps[m].map);
		if (bnft_list_json(n, cmd, &txt, e) < 0) {
			free(*out);
			*out = NULL;
			*np = 0;
			return -1;
		}
		json_object *root = json_tokener_parse(txt), *arr = NULL;
		json_object_object_get_ex(root, "nftables", &arr);
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			json_object *mo = NULL, *elems = NULL;
			if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "map",
						       &mo) ||
			    !json_object_object_get_ex(mo, "elem", &elems))
				continue;
			for (size_t j = 0; j < json_object_array_length(elems); j++) {
				bnft_port6 p;
				if (!parse_elem6(json_object_array_get_idx(elems, j), maps[m].proto,
						 maps[m].any, &p))
					continue;
				if (*np == cap)
					*out = xreallocarray(*out, cap = cap ? 2 * cap : 8,
							     sizeof(**out));
				(*out)[(*np)++] = p;
			}
		}
		json_object_put(root);
	}
	return 0;
}
