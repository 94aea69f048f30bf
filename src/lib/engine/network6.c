/* The IPv6 side of a dual-stack network (--ipv6): its IPAM.Config entry
 * (the subnet given, or a ULA /64 berth picks), the bridge's v6 gateway and
 * the `ip6 berth` nftables elements. network.c calls these for records with
 * EnableIPv6; a v4-only network never comes here. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/netpriv.h"
#include "net/netlink.h"
#include "net/nft6.h"
#include "util/cleanup.h"
#include "util/fs.h"

int net_rec_subnet6(json_object *rec, net_cidr6 *sub, net_cidr6 *range, net_ip6 *gw)
{
	json_object *cfg = jpath(rec, "IPAM.Config");
	berr ig;
	for (size_t i = 0; cfg && i < json_object_array_length(cfg); i++) {
		json_object *c = json_object_array_get_idx(cfg, i);
		const char *s = jstr(c, "Subnet");
		if (!s || !strchr(s, ':'))
			continue;
		if (net_cidr6_parse_any(s, sub, &ig) < 0 ||
		    net_ip6_parse(jstr(c, "Gateway"), gw, &ig) < 0)
			return -1;
		if (!jstr(c, "IPRange") || !*jstr(c, "IPRange") ||
		    net_cidr6_parse_any(jstr(c, "IPRange"), range, &ig) < 0)
			*range = *sub;
		return 0;
	}
	return -1;
}

bool net_host_ipv6(void)
{
	return access("/proc/sys/net/ipv6/conf/all/disable_ipv6", F_OK) == 0;
}

/* What a v6 subnet must not overlap: every other record's v6 subnet and the
 * host's v6 routes (fd00::/64 on eth0 here). */
static int overlap6(net_store *s, net_cidr6 c, const char *self, char *what, size_t wsz, bool *hit,
		    berr *e)
{
	*hit = false;
	_cleanup_strv_ char **all = net_rec_names(s);
	berr ig;
	char b[INET6_ADDRSTRLEN + 5];
	for (char **n = all; *n && !*hit; n++) {
		json_object *o = net_rec_read(s, *n, &ig);
		net_cidr6 sub, rg;
		net_ip6 gw;
		if (o && strcmp(*n, self) && net_rec_subnet6(o, &sub, &rg, &gw) == 0 &&
		    net_cidr6_overlap(sub, c)) {
			snprintf(what, wsz, "network %s (%s)", *n,
				 net_cidr6_fmt(sub, b, sizeof(b)));
			*hit = true;
		}
		json_object_put(o);
	}
	if (*hit)
		return 0;
	nl_sock nl;
	if (nl_open(&nl, -1, e) < 0)
		return -1;
	nl_route6 *rt = NULL;
	size_t nrt = 0;
	int r = nl_routes6(&nl, &rt, &nrt, e);
	nl_close(&nl);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < nrt && !*hit; i++) {
		net_cidr6 rc;
		net_ip6_from_in6(&rt[i].dst, &rc.addr);
		rc.prefix = rt[i].prefix;
		if (net_cidr6_overlap(rc, c)) {
			snprintf(what, wsz, "the host route %s dev %s",
				 net_cidr6_fmt(rc, b, sizeof(b)), rt[i].dev);
			*hit = true;
		}
	}
	free(rt);
	return 0;
}

int net6_config_add(net_store *s, const eng_net_opts *o, json_object *rec, berr *e)
{
	const char *name = o->name;
	if (!o->ipv6) {
		if (o->subnet6 || o->gateway6 || o->ip_range6)
			return berr_set(e, EINVAL,
					"an IPv6 --subnet, --gateway or --ip-range needs --ipv6");
		return 0;
	}
	if (!net_host_ipv6())
		return berr_set(e, ENOTSUP, "--ipv6: IPv6 is disabled on this host");
	net_cidr6 sub;
	bool hit;
	char what[200], b[INET6_ADDRSTRLEN + 5];
	if (o->subnet6) {
		if (net_cidr6_parse(o->subnet6, &sub, e) < 0)
			return -1;
		if (overlap6(s, sub, name, what, sizeof(what), &hit, e) < 0)
			return -1;
		if (hit)
			return berr_set(e, EEXIST, "subnet %s overlaps %s", o->subnet6, what);
	} else if (o->gateway6 || o->ip_range6) {
		return berr_set(e, EINVAL,
				"an IPv6 --gateway or --ip-range needs an IPv6 --subnet");
	} else {
		/* Docker 27's way: a ULA /64 from the network id */
		const char *id = jstr(rec, "Id");
		uint8_t seed[7] = {0};
		for (int i = 0; i < 7 && id && id[2 * i] && id[2 * i + 1]; i++) {
			unsigned v = 0;
			sscanf(id + 2 * i, "%2x", &v);
			seed[i] = (uint8_t)v;
		}
		unsigned salt = 0;
		for (; salt < 64; salt++) {
			sub = net_ula64(seed, salt);
			if (overlap6(s, sub, name, what, sizeof(what), &hit, e) < 0)
				return -1;
			if (!hit)
				break;
		}
		if (salt == 64)
			return berr_set(e, ENOSPC,
					"no free IPv6 subnet in fd00::/8: give one with --subnet");
	}
	net_ip6 gw = net_ip6_add(sub.addr, 1);
	if (o->gateway6) {
		if (net_ip6_parse(o->gateway6, &gw, e) < 0)
			return berr_ctx(e, "--gateway");
		if (!net_cidr6_contains(sub, gw) || !net_ip6_cmp(gw, sub.addr))
			return berr_set(e, EINVAL, "gateway %s is not a host address of subnet %s",
					o->gateway6, net_cidr6_fmt(sub, b, sizeof(b)));
	}
	if (o->ip_range6) {
		net_cidr6 rg;
		if (net_cidr6_parse_any(o->ip_range6, &rg, e) < 0)
			return berr_ctx(e, "--ip-range");
		if (rg.prefix < sub.prefix || !net_cidr6_contains(sub, rg.addr))
			return berr_set(e, EINVAL, "ip range %s is not inside subnet %s",
					o->ip_range6, net_cidr6_fmt(sub, b, sizeof(b)));
	}
	json_object *c = json_object_new_object();
	char gb[INET6_ADDRSTRLEN];
	json_object_object_add(c, "Subnet",
			       json_object_new_string(net_cidr6_fmt(sub, b, sizeof(b))));
	json_object_object_add(c, "Gateway",
			       json_object_new_string(net_ip6_fmt(gw, gb, sizeof(gb))));
	if (o->ip_range6)
		json_object_object_add(c, "IPRange", json_object_new_string(o->ip_range6));
	json_object_array_add(jpath(rec, "IPAM.Config"), c);
	return 0;
}

static bnft_net6 nft_net_of(json_object *rec, const char *br, net_cidr6 sub)
{
	bnft_net6 bn = {.bridge = br, .prefix = sub.prefix, .internal = jbool(rec, "Internal")};
	net_ip6_to_in6(sub.addr, &bn.subnet);
	return bn;
}

int net6_realize(nl_sock *nl, json_object *rec, const char *br, int ifindex, berr *e)
{
	net_cidr6 sub, rg;
	net_ip6 gw;
	if (net_rec_subnet6(rec, &sub, &rg, &gw) < 0)
		return 0;
	/* IPv6 on the bridge (a host whose default is disable_ipv6=1 has it
	 * off on new links), then its gateway without DAD */
	_cleanup_free_ char *knob = xasprintf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", br);
	if (fs_write_str_at(AT_FDCWD, knob, "0", e) < 0)
		return berr_ctx(e, "network %s: enable IPv6 on %s", jstr(rec, "Name"), br);
	struct in6_addr a;
	net_ip6_to_in6(gw, &a);
	if (nl_addr_add(nl, ifindex, AF_INET6, &a, sub.prefix, e) < 0 && e->errnum != EEXIST)
		return -1;
	/* forwarding for v6 (Docker sets it too); the host's own v6 routes
	 * here are static (a host that takes its default route from router
	 * advertisements needs accept_ra=2 on that link then) */
	if (fs_write_str_at(AT_FDCWD, "/proc/sys/net/ipv6/conf/all/forwarding", "1", e) < 0)
		return berr_ctx(e, "network %s: enable IPv6 forwarding", jstr(rec, "Name"));
	bnft *n = bnft_open(e);
	bnft_net6 bn = nft_net_of(rec, br, sub);
	int r = n ? bnft6_network_add(n, &bn, e) : -1;
	bnft_close(n);
	return r;
}

int net6_unrealize(json_object *rec, const char *br, berr *e)
{
	net_cidr6 sub, rg;
	net_ip6 gw;
	if (net_rec_subnet6(rec, &sub, &rg, &gw) < 0)
		return 0;
	bnft *n = bnft_open(e);
	bnft_net6 bn = nft_net_of(rec, br, sub);
	int r = n ? bnft6_network_del(n, &bn, e) : -1;
	bnft_close(n);
	return r;
}

void net_ep6_json(json_object *n, const eng_endpoint *ep)
{
	char ip6b[INET6_ADDRSTRLEN] = "", gw6b[INET6_ADDRSTRLEN] = "";
	if (ep->has6) {
		net_ip6_fmt(ep->ip6, ip6b, sizeof(ip6b));
		net_ip6_fmt(ep->gw6, gw6b, sizeof(gw6b));
	}
	json_object_object_add(n, "IPv6Gateway", json_object_new_string(gw6b));
	json_object_object_add(n, "GlobalIPv6Address", json_object_new_string(ip6b));
	json_object_object_add(n, "GlobalIPv6PrefixLen",
			       json_object_new_int(ep->has6 ? ep->prefix6 : 0));
}
