/* berth's nftables table and what changes it.
 *
 * The rules are static: they never name a network or a container. What a
 * network or a published port adds is set and map elements, so a network
 * create is one batch of `add` commands and a container's ports one batch of
 * `create element`s (each a kernel transaction). The table, as bnft_network_add
 * leaves it:
 *
 * table ip berth {
 *   set bridges  { type ifname; }            every berth bridge
 *   set internal { type ifname; }            the bridges of --internal networks
 *   set same     { type ifname . ifname; }   "br" . "br" for every bridge
 *   set subnets  { type ipv4_addr; flags interval; }  every berth subnet
 *   set masq     { type ipv4_addr; flags interval; }  the subnets that go out (not internal)
 *   map tcp_any  { type inet_service : ipv4_addr . inet_service; }  -p 8080:80
 *   map tcp_ip   { type ipv4_addr . inet_service : ipv4_addr . inet_service; }  -p IP:8080:80
 *   map udp_any, udp_ip: the same for UDP
 *
 *   chain ports {                            published ports: DNAT by map lookup
 *     dnat to ip daddr . tcp dport map @tcp_ip      (one address first,
 *     dnat to tcp dport map @tcp_any                 then every address)
 *     dnat to ip daddr . udp dport map @udp_ip
 *     dnat to udp dport map @udp_any
 *   }
 *   chain prerouting { type nat hook prerouting priority dstnat;   from outside, and hairpin
 *     ip daddr != 127.0.0.0/8 fib daddr type local jump ports }
 *   chain output { type nat hook output priority -100;             from the host itself
 *     fib daddr type local jump ports }
 *   chain postrouting { type nat hook postrouting priority srcnat;
 *     ip saddr @masq oifname != @bridges masquerade               outbound
 *     ct status dnat ip saddr 127.0.0.0/8 oifname @bridges masquerade  host's 127.0.0.1:PORT
 *     ct status dnat ip saddr @subnets oifname @bridges masquerade }   hairpin
 *   chain forward { type filter hook forward priority filter;
 *     iifname . oifname @same accept          inside one bridge (with br_netfilter)
 *     iifname @internal drop                  internal: nothing in or out
 *     oifname @internal drop
 *     iifname @bridges oifname @bridges ct status dnat accept   a published port of a
 *                                             container on another network, as Docker's
 *                                             userland proxy gives
 *     iifname @bridges oifname @bridges drop  isolation between berth bridges
 *     iifname @bridges accept                 outbound
 *     oifname @bridges ct state established,related accept
 *     oifname @bridges ct status dnat accept  published ports from outside
 *     oifname @bridges drop }                 nothing else reaches a container from outside
 *   chain input { type filter hook input priority filter;
 *     iifname @bridges ip daddr 127.0.0.0/8 ct state != { established, related } drop }
 *                                             (see route_localnet below)
 * }
 *
 * Notes. 127.0.0.1 -> container needs route_localnet=1 on the bridge (the
 * netlink side sets it). That lets a container send to 127.0.0.1 through its
 * gateway and reach the host's loopback-only services (CVE-2020-8558 in
 * Kubernetes): the input rule drops it. A packet from outside (or from a
 * container) to 127.0.0.1:PORT is not DNAT'ed in prerouting either, so a port
 * published on 127.0.0.1 stays the host's own (Docker had that hole); the
 * host's own connections to 127.0.0.1 are NAT'ed in output. The hairpin rule masquerades any
 * DNAT'ed traffic from a berth subnet into a berth bridge, so a container reaching a published port
 * of its own network (or another's) sees the bridge address as the source, as
 * with Docker's userland proxy. The masquerade rule keys on the bridge set, not
 * on one bridge: traffic from a subnet into another berth bridge is dropped by
 * isolation unless DNAT'ed. An `accept` here cannot override a drop in another
 * table (nft's rule: accept ends only this chain), so a host whose own forward
 * policy is drop must allow the berth bridges itself.
 *
 * The rules are made once per table: when the (empty) marker set RULES_MARK
 * is absent, bnft_network_add's batch creates it, flushes the chains and adds
 * the rules; when it is there, the batch only `add`s objects and elements. A later berth with other
 * rules names another marker, so its first network_add replaces them, in one
 * transaction. Why not flush and re-add each time: what a transaction deletes
 * (rules, elements) the kernel frees after an RCU grace period, and the
 * closing of the netlink socket waits for that (~13 ms here); a batch of pure
 * additions closes in ~0.1 ms.
 */
#include "net/nft.h"
#include "net/nft_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define T "ip berth"

/* Version of the rules below: a change to them renames it, so that the first
 * bnft_network_add of a new berth replaces the rules of an older one. */
#define RULES_MARK "rules_v1"

/* The table's sets and maps: `add` of one that exists is no error and no
 * change. */
static const char objects[] =
    "add table " T "\n"
    "add set " T " bridges { type ifname; }\n"
    "add set " T " internal { type ifname; }\n"
    "add set " T " same { type ifname . ifname; }\n"
    "add set " T " subnets { type ipv4_addr; flags interval; }\n"
    "add set " T " masq { type ipv4_addr; flags interval; }\n"
    "add map " T " tcp_any { type inet_service : ipv4_addr . inet_service; }\n"
    "add map " T " tcp_ip { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
    "add map " T " udp_any { type inet_service : ipv4_addr . inet_service; }\n"
    "add map " T " udp_ip { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n";

/* The chains and their rules, once per table (and RULES_MARK): run again the
 * rules would double, and an `add` of an existing base chain updates it,
 * which costs an RCU grace period at close. */
static const char rules[] =
    "create set " T " " RULES_MARK " { type inet_service; }\n"
    "add chain " T " ports\n"
    "add chain " T " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
    "add chain " T " output { type nat hook output priority -100; policy accept; }\n"
    "add chain " T " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
    "add chain " T " forward { type filter hook forward priority filter; policy accept; }\n"
    "add chain " T " input { type filter hook input priority filter; policy accept; }\n"
    "flush chain " T " input\n"
    "flush chain " T " ports\n"
    "flush chain " T " prerouting\n"
    "flush chain " T " output\n"
    "flush chain " T " postrouting\n"
    "flush chain " T " forward\n"
    "add rule " T " ports dnat to ip daddr . tcp dport map @tcp_ip\n"
    "add rule " T " ports dnat to tcp dport map @tcp_any\n"
    "add rule " T " ports dnat to ip daddr . udp dport map @udp_ip\n"
    "add rule " T " ports dnat to udp dport map @udp_any\n"
    "add rule " T " prerouting ip daddr != 127.0.0.0/8 fib daddr type local jump ports\n"
    "add rule " T " output fib daddr type local jump ports\n"
    "add rule " T " postrouting ip saddr @masq oifname != @bridges masquerade\n"
    "add rule " T " postrouting ct status dnat ip saddr 127.0.0.0/8 oifname @bridges "
    "masquerade\n"
    "add rule " T " postrouting ct status dnat ip saddr @subnets oifname @bridges masquerade\n"
    "add rule " T " forward iifname . oifname @same accept\n"
    "add rule " T " forward iifname @internal drop\n"
    "add rule " T " forward oifname @internal drop\n"
    "add rule " T " forward iifname @bridges oifname @bridges ct status dnat accept\n"
    "add rule " T " forward iifname @bridges oifname @bridges drop\n"
    "add rule " T " forward iifname @bridges accept\n"
    "add rule " T " forward oifname @bridges ct state established,related accept\n"
    "add rule " T " forward oifname @bridges ct status dnat accept\n"
    "add rule " T " forward oifname @bridges drop\n"
    "add rule " T " input iifname @bridges ip daddr 127.0.0.0/8 "
    "ct state != { established, related } drop\n";

void cb_addf(cmdbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int k = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0)
			abort(); /* only on a bad format: a programming error */
		if ((size_t)k < room) {
			b->len += (size_t)k;
			return;
		}
		b->cap = b->cap * 2 + (size_t)k + 64;
		b->s = xrealloc(b->s, b->cap);
	}
}

/* Interface names go into nft's text between quotes: letters, digits and
 * "-_." only, at most 15 bytes (IFNAMSIZ - 1). */
int bnft_check_bridge(const char *b, berr *e)
{
	size_t len = b ? strlen(b) : 0;
	if (len == 0 || len > 15 ||
	    strspn(b, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789-_.") != len)
		return berr_set(e, EINVAL, "nft: bad bridge name \"%s\"", b ? b : "");
	return 0;
}

static int check_net(const bnft_net *net, berr *e)
{
	if (bnft_check_bridge(net->bridge, e) < 0)
		return -1;
	if (net->prefix < 0 || net->prefix > 32)
		return berr_set(e, EINVAL, "nft: bad prefix length %d", net->prefix);
	uint32_t mask = net->prefix ? ~0u << (32 - net->prefix) : 0;
	if (ntohl(net->subnet.s_addr) & ~mask) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &net->subnet, a, sizeof(a));
		return berr_set(e, EINVAL, "nft: subnet %s/%d has host bits set", a, net->prefix);
	}
	return 0;
}

/* The commands that put (verb "add") or take (a "delete" after an "add", so
 * an absent element is no error) one network's elements. */
static void net_elements(cmdbuf *b, const bnft_net *net, bool del)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &net->subnet, a, sizeof(a));
	const char *br = net->bridge;
	for (int pass = 0; pass < (del ? 2 : 1); pass++) {
		const char *verb = pass ? "delete" : "add";
		cb_addf(b, "%s element " T " bridges { \"%s\" }\n", verb, br);
		cb_addf(b, "%s element " T " same { \"%s\" . \"%s\" }\n", verb, br, br);
		cb_addf(b, "%s element " T " subnets { %s/%d }\n", verb, a, net->prefix);
		if (del || net->internal)
			cb_addf(b, "%s element " T " internal { \"%s\" }\n", verb, br);
		if (del || !net->internal)
			cb_addf(b, "%s element " T " masq { %s/%d }\n", verb, a, net->prefix);
	}
}

int bnft_network_add(bnft *n, const bnft_net *net, berr *e)
{
	if (check_net(net, e) < 0)
		return -1;
	/* The rules are there when the marker is (a listing of one empty set:
	 * cheaper than a batch the kernel refuses, whose abort waits for RCU). */
	const char *json;
	berr le = {0};
	bool have_rules = bnft_list_json(n, "list set " T " " RULES_MARK, &json, &le) == 0;
	cmdbuf b = {0};
	cb_addf(&b, "%s%s", objects, have_rules ? "" : rules);
	net_elements(&b, net, false);
	int r = bnft_run(n, b.s, e);
	if (r < 0 && e->errnum == EEXIST && !have_rules) { /* made meanwhile */
		b.len = 0;
		cb_addf(&b, "%s", objects);
		net_elements(&b, net, false);
		r = bnft_run(n, b.s, e);
	}
	free(b.s);
	if (r < 0)
		berr_ctx(e, "network %s", net->bridge);
	return r;
}

/* Whether berth's table exists: 1, 0, or -1 with e set. */
static int table_exists(bnft *n, berr *e)
{
	const char *json;
	berr le = {0};
	if (bnft_list_json(n, "list tables ip", &json, &le) < 0) {
		*e = le;
		return -1;
	}
	return strstr(json, "\"name\": \"berth\"") != NULL;
}

int bnft_network_del(bnft *n, const bnft_net *net, berr *e)
{
	if (check_net(net, e) < 0)
		return -1;
	cmdbuf b = {0};
	net_elements(&b, net, true);
	int r = bnft_run(n, b.s, e);
	free(b.s);
	if (r < 0 && e->errnum == ENOENT) {
		berr le = {0};
		int t = table_exists(n, &le);
		if (t == 0)
			return 0; /* no table: nothing of this network either */
	}
	if (r < 0)
		berr_ctx(e, "network %s", net->bridge);
	return r;
}

int bnft_table_del(bnft *n, berr *e)
{
	/* The add makes the delete of an absent table no error. */
	return bnft_run(n, "add table " T "\ndelete table " T "\n", e);
}

/* ---- published ports ---- */

static const char *proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static bool is_any(struct in_addr a)
{
	return a.s_addr == htonl(INADDR_ANY);
}

/* "8080/tcp" or "127.0.0.1:8080/tcp" */
void bnft_host_spec(const bnft_port *p, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];
	if (is_any(p->host_ip)) {
		snprintf(buf, size, "%u/%s", p->host_port, proto_name(p->proto));
		return;
	}
	inet_ntop(AF_INET, &p->host_ip, a, sizeof(a));
	snprintf(buf, size, "%s:%u/%s", a, p->host_port, proto_name(p->proto));
}

int bnft_port_check(const bnft_port *p, berr *e)
{
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return berr_set(e, EINVAL, "nft: port protocol %d is neither tcp nor udp",
				p->proto);
	if (!p->host_port || !p->ctr_port)
		return berr_set(e, EINVAL, "nft: port 0 cannot be published");
	if (is_any(p->ctr_ip))
		return berr_set(e, EINVAL, "nft: port %u: no container address", p->host_port);
	return 0;
}

/* ---- reading the maps back (JSON) ---- */

static bool json_ip(json_object *o, struct in_addr *out)
{
	return json_object_is_type(o, json_type_string) &&
	       inet_pton(AF_INET, json_object_get_string(o), out) == 1;
}

static bool json_port(json_object *o, uint16_t *out)
{
	if (!json_object_is_type(o, json_type_int))
		return false;
	int64_t v = json_object_get_int64(o);
	if (v <= 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* {"concat": [A, B]} -> A, B */
static bool json_pair(json_object *o, json_object **a, json_object **b)
{
	json_object *c;
	if (!json_object_object_get_ex(o, "concat", &c) ||
	    !json_object_is_type(c, json_type_array) || json_object_array_length(c) != 2)
		return false;
	*a = json_object_array_get_idx(c, 0);
	*b = json_object_array_get_idx(c, 1);
	return true;
}

/* One element of a port map: [KEY, VALUE] (or {"elem": {"val": ...}} keys). */
static bool parse_port_elem(json_object *el, int proto, bool any, bnft_port *p)
{
	if (!json_object_is_type(el, json_type_array) || json_object_array_length(el) != 2)
		return false;
	json_object *key = json_object_array_get_idx(el, 0),
		    *val = json_object_array_get_idx(el, 1);
	json_object *wrap, *v;
	if (json_object_object_get_ex(key, "elem", &wrap) &&
	    json_object_object_get_ex(wrap, "val", &v))
		key = v;
	json_object *a, *b;
	memset(p, 0, sizeof(*p));
	p->proto = proto;
	if (any) {
		if (!json_port(key, &p->host_port))
			return false;
	} else if (!json_pair(key, &a, &b) || !json_ip(a, &p->host_ip) ||
		   !json_port(b, &p->host_port)) {
		return false;
	}
	return json_pair(val, &a, &b) && json_ip(a, &p->ctr_ip) && json_port(b, &p->ctr_port);
}

typedef struct portvec {
	bnft_port *v;
	size_t len, cap;
} portvec;

/* Append the elements of one port map (JSON of `list map`) to pv. */
static int parse_map(const char *text, int proto, bool any, portvec *pv, berr *e)
{
	json_object *root = json_tokener_parse(text);
	json_object *items;
	if (!root || !json_object_object_get_ex(root, "nftables", &items) ||
	    !json_object_is_type(items, json_type_array)) {
		json_object_put(root);
		return berr_set(e, EPROTO, "listing published ports: nft gave no JSON");
	}
	int r = 0;
	for (size_t i = 0; i < json_object_array_length(items) && r == 0; i++) {
		json_object *map, *elems;
		if (!json_object_object_get_ex(json_object_array_get_idx(items, i), "map", &map) ||
		    !json_object_object_get_ex(map, "elem", &elems) ||
		    !json_object_is_type(elems, json_type_array))
			continue;
		size_t ne = json_object_array_length(elems);
		for (size_t k = 0; k < ne; k++) {
			if (pv->len == pv->cap) {
				pv->cap = pv->cap ? pv->cap * 2 : 16;
				pv->v = xreallocarray(pv->v, pv->cap, sizeof(*pv->v));
			}
			if (!parse_port_elem(json_object_array_get_idx(elems, k), proto, any,
					     &pv->v[pv->len])) {
				r = berr_set(e, EPROTO,
					     "listing published ports: bad element in %s_%s",
					     proto_name(proto), any ? "any" : "ip");
				break;
			}
			pv->len++;
		}
	}
	json_object_put(root);
	return r;
}

/* The four port maps, as bits of a mask. */
enum { M_TCP_ANY = 1, M_TCP_IP = 2, M_UDP_ANY = 4, M_UDP_IP = 8 };

static unsigned map_bit(int proto, bool any)
{
	return (proto == IPPROTO_UDP ? 4u : 1u) << (any ? 0 : 1);
}

/* Append the elements of the maps in mask to pv: one `list map` per map
 * (nft 1.0.6 cannot list two maps in one run; one map costs a tenth of
 * listing the whole table). No table: *none set, nothing appended. */
static int list_maps(bnft *n, unsigned mask, portvec *pv, bool *none, berr *e)
{
	static const int protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	*none = false;
	for (size_t k = 0; k < 2; k++)
		for (int any = 1; any >= 0; any--) {
			if (!(mask & map_bit(protos[k], any)))
				continue;
			char cmd[64];
			const char *text;
			snprintf(cmd, sizeof(cmd), "list map " T " %s_%s", proto_name(protos[k]),
				 any ? "any" : "ip");
			if (bnft_list_json(n, cmd, &text, e) < 0) {
				if (e->errnum == ENOENT && table_exists(n, e) == 0) {
					*none = true;
					return 0;
				}
				return berr_ctx(e, "listing published ports");
			}
			if (parse_map(text, protos[k], any, pv, e) < 0)
				return -1;
		}
	return 0;
}

int bnft_ports_list(bnft *n, bnft_port **out, size_t *np, berr *e)
{
	portvec pv = {0};
	bool none;
	*out = NULL;
	*np = 0;
	if (list_maps(n, M_TCP_ANY | M_TCP_IP | M_UDP_ANY | M_UDP_IP, &pv, &none, e) < 0) {
		free(pv.v);
		return -1;
	}
	*out = pv.v;
	*np = pv.len;
	return 0;
}

/* ---- conflicts: sorted by (proto, port, ip), existing before new ---- */

typedef struct slot {
	const bnft_port *p;
	bool is_new;
} slot;

static int slot_cmp(const void *x, const void *y)
{
	const slot *a = x, *b = y;
	if (a->p->proto != b->p->proto)
		return a->p->proto < b->p->proto ? -1 : 1;
	if (a->p->host_port != b->p->host_port)
		return a->p->host_port < b->p->host_port ? -1 : 1;
	uint32_t ia = ntohl(a->p->host_ip.s_addr), ib = ntohl(b->p->host_ip.s_addr);
	if (ia != ib)
		return ia < ib ? -1 : 1;
	return (int)a->is_new - (int)b->is_new;
}

int bnft_conflict(const bnft_port *want, const bnft_port *have, berr *e)
{
	char spec[64], c[INET_ADDRSTRLEN];
	bnft_host_spec(want, spec, sizeof(spec));
	if (!have)
		return berr_set(e, EADDRINUSE, "port %s is given twice", spec);
	inet_ntop(AF_INET, &have->ctr_ip, c, sizeof(c));
	return berr_set(e, EADDRINUSE, "port %s is already published (to %s:%u)", spec, c,
			have->ctr_port);
}

/* Two entries of one (proto, port) clash when either is on every address or
 * both name the same one. Sorted, INADDR_ANY comes first in its group and the
 * same address is adjacent: one pass. */
int bnft_find_conflict(const bnft_port *have, size_t nh, const bnft_port *p, size_t np, berr *e)
{
	size_t ns = nh + np;
	slot *s = xreallocarray(NULL, ns ? ns : 1, sizeof(*s));
	for (size_t i = 0; i < nh; i++)
		s[i] = (slot){&have[i], false};
	for (size_t i = 0; i < np; i++)
		s[nh + i] = (slot){&p[i], true};
	qsort(s, ns, sizeof(*s), slot_cmp);
	int r = 0;
	for (size_t g = 0; g < ns && r == 0;) {
		size_t end = g;
		while (end < ns && s[end].p->proto == s[g].p->proto &&
		       s[end].p->host_port == s[g].p->host_port)
			end++;
		const bnft_port *first_have = NULL, *any_have = NULL, *first_new = NULL;
		for (size_t i = g; i < end; i++)
			if (!s[i].is_new) {
				first_have = first_have ? first_have : s[i].p;
				any_have = is_any(s[i].p->host_ip) ? s[i].p : any_have;
			}
		bool any_new = false;
		for (size_t i = g; i < end && r == 0; i++) {
			const bnft_port *q = s[i].p;
			if (!s[i].is_new)
				continue;
			bool same_prev = i > g && s[i - 1].p->host_ip.s_addr == q->host_ip.s_addr;
			if (any_have)
				r = bnft_conflict(q, any_have, e);
			else if (is_any(q->host_ip) && first_have)
				r = bnft_conflict(q, first_have, e);
			else if (same_prev && !s[i - 1].is_new)
				r = bnft_conflict(q, s[i - 1].p, e);
			else if (first_new && (any_new || same_prev))
				r = bnft_conflict(q, NULL, e);
			first_new = first_new ? first_new : q;
			any_new = any_new || is_any(q->host_ip);
		}
		g = end;
	}
	free(s);
	return r;
}
