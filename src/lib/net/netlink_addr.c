/* Addresses and routes: a link's address, the default route, the host's IPv4
 * routes, and a container's whole side in two round trips. */
#include "net/netlink.h"
#include "net/netlink_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

static int addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : -1;
}

int nl_put_addr(nl_sock *s, nl_batch *b, int ifindex, int family, const void *addr, int prefix,
		const char *dev, berr *e)
{
	int alen = addr_len(family);
	char a[INET6_ADDRSTRLEN] = "?";
	if (alen < 0)
		return berr_set(e, EAFNOSUPPORT, "netlink: add address to %s: family %d", dev,
				family);
	inet_ntop(family, addr, a, sizeof(a));
	if (prefix < 0 || prefix > alen * 8)
		return berr_set(e, EINVAL, "netlink: add address %s/%d to %s: prefix out of range",
				a, prefix, dev);
	if (ifindex <= 0)
		return berr_set(e, EINVAL, "netlink: add address %s/%d: bad ifindex %d", a, prefix,
				ifindex);
	struct ifaddrmsg *ifa =
	    nl_batch_add(s, b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa),
			 "add address %s/%d to %s", a, prefix, dev);
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(b->cur, IFA_LOCAL, (size_t)alen, addr);
	mnl_attr_put(b->cur, IFA_ADDRESS, (size_t)alen, addr);
	if (family == AF_INET6) /* no duplicate address detection: usable at once */
		mnl_attr_put_u32(b->cur, IFA_FLAGS, IFA_F_NODAD);
	return 0;
}

int nl_put_default_route(nl_sock *s, nl_batch *b, int family, const void *gw, int ifindex,
			 const char *dev, berr *e)
{
	int alen = addr_len(family);
	char a[INET6_ADDRSTRLEN] = "?";
	if (alen < 0)
		return berr_set(e, EAFNOSUPPORT, "netlink: add default route on %s: family %d", dev,
				family);
	inet_ntop(family, gw, a, sizeof(a));
	if (ifindex <= 0)
		return berr_set(e, EINVAL, "netlink: add default route via %s: bad ifindex %d", a,
				ifindex);
	struct rtmsg *rtm = nl_batch_add(s, b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
					 sizeof(*rtm), "add default route via %s on %s", a, dev);
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(b->cur, RTA_GATEWAY, (size_t)alen, gw);
	mnl_attr_put_u32(b->cur, RTA_OIF, (uint32_t)ifindex);
	return 0;
}

int nl_addr_add(nl_sock *s, int ifindex, int family, const void *addr, int prefix, berr *e)
{
	char dev[32];
	snprintf(dev, sizeof(dev), "ifindex %d", ifindex);
	nl_batch b;
	nl_batch_init(&b);
	if (nl_put_addr(s, &b, ifindex, family, addr, prefix, dev, e) < 0)
		return -1;
	return nl_batch_run(s, &b, NULL, NULL, e);
}

int nl_route_add_default(nl_sock *s, int family, const void *gw, int ifindex, berr *e)
{
	char dev[32];
	snprintf(dev, sizeof(dev), "ifindex %d", ifindex);
	nl_batch b;
	nl_batch_init(&b);
	if (nl_put_default_route(s, &b, family, gw, ifindex, dev, e) < 0)
		return -1;
	return nl_batch_run(s, &b, NULL, NULL, e);
}

static struct ifinfomsg *put_link_up_by_name(nl_sock *s, nl_batch *b, const char *name)
{
	struct ifinfomsg *ifi =
	    nl_batch_add(s, b, RTM_SETLINK, 0, sizeof(*ifi), "set link %s up", name);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(b->cur, IFLA_IFNAME, name);
	return ifi;
}

static int ifindex_cb(const struct nlmsghdr *nlh, unsigned int idx, void *data, berr *e)
{
	(void)idx;
	nl_link_info li;
	if (nl_parse_link(nlh, &li) < 0 || li.index <= 0)
		return berr_set(e, EBADMSG, "malformed link message");
	*(int *)data = li.index;
	return 0;
}

int nl_ctr_configure(nl_sock *ns, const char *ifname, struct in_addr addr, int prefix,
		     const struct in_addr *gw, berr *e)
{
	return nl_ctr_configure_ds(ns, ifname, addr, prefix, gw, NULL, e);
}

int nl_ctr_configure_ds(nl_sock *ns, const char *ifname, struct in_addr addr, int prefix,
			const struct in_addr *gw, const nl_ctr_v6 *v6, berr *e)
{
	if (nl_name_check(ifname, "container link name", e) < 0)
		return -1;
	/* 1: lo and ifname up, and ifname's ifindex (an address needs it). */
	nl_batch b;
	nl_batch_init(&b);
	put_link_up_by_name(ns, &b, "lo");
	put_link_up_by_name(ns, &b, ifname);
	struct ifinfomsg *ifi =
	    nl_batch_add(ns, &b, RTM_GETLINK, 0, sizeof(*ifi), "look up link %s", ifname);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, ifname);
	mnl_attr_put_u32(b.cur, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	int ifindex = 0;
	if (nl_batch_run(ns, &b, ifindex_cb, &ifindex, e) < 0)
		return -1;
	if (ifindex <= 0)
		return berr_set(e, EPROTO, "netlink: look up link %s: no answer", ifname);
	/* 2: the address, then the route through it. */
	nl_batch_init(&b);
	if (nl_put_addr(ns, &b, ifindex, AF_INET, &addr, prefix, ifname, e) < 0)
		return -1;
	if (gw && nl_put_default_route(ns, &b, AF_INET, gw, ifindex, ifname, e) < 0)
		return -1;
	if (v6 && nl_put_addr(ns, &b, ifindex, AF_INET6, &v6->addr, v6->prefix, ifname, e) < 0)
		return -1;
	if (v6 && v6->gw && nl_put_default_route(ns, &b, AF_INET6, v6->gw, ifindex, ifname, e) < 0)
		return -1;
	return nl_batch_run(ns, &b, NULL, NULL, e);
}

/* --- the IPv4 routes --- */

typedef struct ifname_ent {
	int index;
	char name[16];
} ifname_ent;

typedef struct ifname_tab {
	ifname_ent *v;
	size_t n, cap;
} ifname_tab;

static int ifname_cb(const struct nlmsghdr *nlh, unsigned int idx, void *data, berr *e)
{
	(void)idx;
	(void)e;
	ifname_tab *t = data;
	nl_link_info li;
	if (nl_parse_link(nlh, &li) < 0 || li.index <= 0)
		return 0;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n].index = li.index;
	memcpy(t->v[t->n].name, li.name, sizeof(li.name));
	t->n++;
	return 0;
}

static int ifname_cmp(const void *a, const void *b)
{
	int x = ((const ifname_ent *)a)->index, y = ((const ifname_ent *)b)->index;
	return (x > y) - (x < y);
}

typedef struct routes_ctx {
	nl_route4 *v;
	nl_route6 *v6; /* family AF_INET6: these instead of v */
	int family;
	size_t n, cap;
	int *oif; /* per route: its device's ifindex (0: none), named afterwards */
} routes_ctx;

static int route_cb(const struct nlmsghdr *nlh, unsigned int idx, void *data, berr *e)
{
	(void)idx;
	(void)e;
	routes_ctx *c = data;
	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct rtmsg))
		return 0;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	if (rtm->rtm_family != c->family || (rtm->rtm_flags & RTM_F_CLONED) ||
	    nl_attrs(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return 0;
	uint32_t table = rtm->rtm_table;
	if (tb[RTA_TABLE] && mnl_attr_validate(tb[RTA_TABLE], MNL_TYPE_U32) == 0)
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	bool v6 = c->family == AF_INET6;
	if (table == RT_TABLE_LOCAL || rtm->rtm_dst_len > (v6 ? 128 : 32))
		return 0;
	/* IPv6: the kernel's multicast and link-local routes are no subnet */
	if (v6 && (rtm->rtm_type != RTN_UNICAST || rtm->rtm_dst_len == 0))
		return 0;
	nl_route4 r = {.prefix = rtm->rtm_dst_len};
	nl_route6 r6 = {.prefix = rtm->rtm_dst_len};
	if (!v6 && tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == 4)
		memcpy(&r.dst, mnl_attr_get_payload(tb[RTA_DST]), 4);
	if (v6 && tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == 16)
		memcpy(&r6.dst, mnl_attr_get_payload(tb[RTA_DST]), 16);
	if (v6 && IN6_IS_ADDR_LINKLOCAL(&r6.dst))
		return 0;
	int oif = 0;
	if (tb[RTA_OIF] && mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) == 0)
		oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	else if (tb[RTA_MULTIPATH] &&
		 mnl_attr_get_payload_len(tb[RTA_MULTIPATH]) >= sizeof(struct rtnexthop))
		oif = ((const struct rtnexthop *)mnl_attr_get_payload(tb[RTA_MULTIPATH]))
			  ->rtnh_ifindex; /* the first hop's device */
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		if (v6)
			c->v6 = xreallocarray(c->v6, c->cap, sizeof(*c->v6));
		else
			c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
		c->oif = xreallocarray(c->oif, c->cap, sizeof(*c->oif));
	}
	c->oif[c->n] = oif;
	if (v6)
		c->v6[c->n++] = r6;
	else
		c->v[c->n++] = r;
	return 0;
}

static void ifname_reset(void *data)
{
	((ifname_tab *)data)->n = 0;
}

static void routes_reset(void *data)
{
	((routes_ctx *)data)->n = 0;
}

static int routes(nl_sock *s, routes_ctx *c, berr *e)
{
	ifname_tab t = {0};
	int r = nl_dump(s, RTM_GETROUTE, (uint8_t)c->family,
			c->family == AF_INET6 ? "list IPv6 routes" : "list IPv4 routes", route_cb,
			c, routes_reset, e);
	if (r == 0 && c->n > 0)
		r = nl_dump(s, RTM_GETLINK, AF_UNSPEC, "list links", ifname_cb, &t, ifname_reset,
			    e);
	if (r < 0) {
		free(c->v);
		free(c->v6);
		free(c->oif);
		free(t.v);
		return -1;
	}
	/* Names by ifindex: sorted once, searched per route. */
	if (t.n > 1)
		qsort(t.v, t.n, sizeof(*t.v), ifname_cmp);
	for (size_t i = 0; i < c->n; i++) {
		ifname_ent key = {.index = c->oif[i]};
		const ifname_ent *f =
		    c->oif[i] > 0 && t.n ? bsearch(&key, t.v, t.n, sizeof(*t.v), ifname_cmp) : NULL;
		if (f)
			memcpy(c->family == AF_INET6 ? c->v6[i].dev : c->v[i].dev, f->name,
			       sizeof(c->v[i].dev));
	}
	free(c->oif);
	free(t.v);
	return 0;
}

int nl_routes4(nl_sock *s, nl_route4 **out, size_t *n, berr *e)
{
	*out = NULL;
	*n = 0;
	routes_ctx c = {.family = AF_INET};
	if (routes(s, &c, e) < 0)
		return -1;
	*out = c.v;
	*n = c.n;
	return 0;
}

int nl_routes6(nl_sock *s, nl_route6 **out, size_t *n, berr *e)
{
	*out = NULL;
	*n = 0;
	routes_ctx c = {.family = AF_INET6};
	if (routes(s, &c, e) < 0)
		return -1;
	*out = c.v6;
	*n = c.n;
	return 0;
}
