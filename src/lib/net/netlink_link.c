/* Links berth makes: a network's bridge, a container's veth pair. */
#include "net/netlink.h"
#include "net/netlink_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

static int link_reply_cb(const struct nlmsghdr *nlh, unsigned int idx, void *data, berr *e)
{
	(void)idx;
	nl_link_info *li = data;
	if (nl_parse_link(nlh, li) < 0 || li->index <= 0)
		return berr_set(e, EBADMSG, "malformed link message");
	return 0;
}

/* IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { ROUTE_LOCALNET = 1 } } }: the
 * devconf of the link in the socket's own netns, which a write to /proc/sys
 * would only reach from a thread in that netns. */
static void put_route_localnet(struct nlmsghdr *nlh)
{
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *inet = mnl_attr_nest_start(nlh, AF_INET);
	struct nlattr *conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
	mnl_attr_put_u32(nlh, IPV4_DEVCONF_ROUTE_LOCALNET, 1);
	mnl_attr_nest_end(nlh, conf);
	mnl_attr_nest_end(nlh, inet);
	mnl_attr_nest_end(nlh, spec);
}

/* Create the bridge (up) and read it back in the same datagram: a bridge
 * made at the same moment by another berth (EEXIST) is read back too. */
static int bridge_create(nl_sock *s, const char *name, int mtu, nl_link_info *li, bool *made,
			 berr *e)
{
	nl_batch b;
	nl_batch_init(&b);
	struct ifinfomsg *ifi = nl_batch_add(s, &b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
					     sizeof(*ifi), "create bridge %s", name);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, name);
	if (mtu > 0)
		mnl_attr_put_u32(b.cur, IFLA_MTU, (uint32_t)mtu);
	struct nlattr *info = mnl_attr_nest_start(b.cur, IFLA_LINKINFO);
	mnl_attr_put_strz(b.cur, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(b.cur, info);
	nl_batch_allow(&b, EEXIST);

	ifi = nl_batch_add(s, &b, RTM_GETLINK, 0, sizeof(*ifi), "look up bridge %s", name);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, name);
	mnl_attr_put_u32(b.cur, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(li, 0, sizeof(*li));
	if (nl_batch_run(s, &b, link_reply_cb, li, e) < 0)
		return -1;
	if (li->index <= 0)
		return berr_set(e, EPROTO, "netlink: look up bridge %s: no answer", name);
	*made = b.got_errno[0] == 0;
	return 0;
}

int nl_bridge_ensure(nl_sock *s, const char *name, struct in_addr gw, int prefix, int mtu,
		     int *ifindex, bool *created, berr *e)
{
	if (created)
		*created = false;
	if (nl_name_check(name, "bridge name", e) < 0)
		return -1;
	if (prefix < 0 || prefix > 32)
		return berr_set(e, EINVAL, "netlink: bridge %s: prefix /%d out of range", name,
				prefix);
	if (mtu < 0)
		return berr_set(e, EINVAL, "netlink: bridge %s: mtu %d", name, mtu);
	nl_link_info li;
	int r = nl_link_get(s, name, &li, e);
	if (r < 0)
		return -1;
	bool made = false;
	if (r == 0 && bridge_create(s, name, mtu, &li, &made, e) < 0)
		return -1;
	if (strcmp(li.kind, "bridge"))
		return berr_set(e, EEXIST, "netlink: bridge %s: a link of that name exists (%s%s)",
				name, li.kind[0] ? "kind " : "not a bridge", li.kind);

	/* The address (there already: fine), then up with route_localnet. */
	nl_batch b;
	nl_batch_init(&b);
	if (nl_put_addr(s, &b, li.index, AF_INET, &gw, prefix, name, e) < 0)
		goto fail;
	nl_batch_allow(&b, EEXIST);
	struct ifinfomsg *ifi = nl_batch_add(s, &b, RTM_SETLINK, 0, sizeof(*ifi),
					     "set bridge %s up, route_localnet 1", name);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = li.index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu > 0)
		mnl_attr_put_u32(b.cur, IFLA_MTU, (uint32_t)mtu);
	put_route_localnet(b.cur);
	if (nl_batch_run(s, &b, NULL, NULL, e) < 0)
		goto fail;
	*ifindex = li.index;
	if (created)
		*created = made;
	return 0;
fail:
	if (made) { /* leave nothing behind */
		berr ig;
		nl_link_del(s, name, &ig);
	}
	return -1;
}

int nl_veth_add(nl_sock *s, const char *host_name, const char *peer_name, int peer_netns_fd,
		const uint8_t peer_mac[6], int master, int mtu, berr *e)
{
	if (nl_name_check(host_name, "veth name", e) < 0 ||
	    nl_name_check(peer_name, "veth peer name", e) < 0)
		return -1;
	if (master < 0 || mtu < 0)
		return berr_set(e, EINVAL, "netlink: veth %s: master %d, mtu %d", host_name, master,
				mtu);

	nl_batch b;
	nl_batch_init(&b);
	struct ifinfomsg *ifi =
	    nl_batch_add(s, &b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi),
			 "create veth %s (peer %s)", host_name, peer_name);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, host_name);
	if (mtu > 0)
		mnl_attr_put_u32(b.cur, IFLA_MTU, (uint32_t)mtu);
	struct nlattr *info = mnl_attr_nest_start(b.cur, IFLA_LINKINFO);
	mnl_attr_put_strz(b.cur, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(b.cur, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(b.cur, VETH_INFO_PEER);
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(b.cur, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, peer_name);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(b.cur, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	if (peer_mac)
		mnl_attr_put(b.cur, IFLA_ADDRESS, 6, peer_mac);
	if (mtu > 0)
		mnl_attr_put_u32(b.cur, IFLA_MTU, (uint32_t)mtu);
	mnl_attr_nest_end(b.cur, peer);
	mnl_attr_nest_end(b.cur, data);
	mnl_attr_nest_end(b.cur, info);
	if (nl_batch_run(s, &b, NULL, NULL, e) < 0)
		return -1;

	/* Master, then hairpin and up: one datagram. The bridge-port options
	 * go to the master's slave_changelink, so the port must be enslaved
	 * first (the kernel handles a datagram's messages in order). */
	nl_batch_init(&b);
	if (master > 0) {
		ifi = nl_batch_add(s, &b, RTM_SETLINK, 0, sizeof(*ifi),
				   "attach veth %s to master ifindex %d", host_name, master);
		ifi->ifi_family = AF_UNSPEC;
		mnl_attr_put_strz(b.cur, IFLA_IFNAME, host_name);
		mnl_attr_put_u32(b.cur, IFLA_MASTER, (uint32_t)master);
	}
	ifi = nl_batch_add(s, &b, RTM_NEWLINK, 0, sizeof(*ifi), "set veth %s %sup", host_name,
			   master > 0 ? "hairpin on, " : "");
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, host_name);
	if (master > 0) {
		info = mnl_attr_nest_start(b.cur, IFLA_LINKINFO);
		mnl_attr_put_strz(b.cur, IFLA_INFO_SLAVE_KIND, "bridge");
		data = mnl_attr_nest_start(b.cur, IFLA_INFO_SLAVE_DATA);
		mnl_attr_put_u8(b.cur, IFLA_BRPORT_MODE, 1);
		mnl_attr_nest_end(b.cur, data);
		mnl_attr_nest_end(b.cur, info);
	}
	if (nl_batch_run(s, &b, NULL, NULL, e) < 0) {
		berr ig; /* the pair goes (its peer with it): nothing left behind */
		nl_link_del(s, host_name, &ig);
		return -1;
	}
	return 0;
}
