/* rtnetlink through libmnl: the bridge, veth pairs, addresses and routes of
 * berth's container networking, in process (no `ip` command, no plugin).
 *
 * Every request waits for the kernel's answer (its ack, checked by sequence
 * number and port id) and a failure names the link and the operation:
 *   netlink: create bridge berth3: Operation not permitted
 * with the kernel's extended ack message before the cause when it sends one.
 * Where one step needs several messages they go in one sendmsg(2). Link names
 * are checked before the kernel sees them (1..15 bytes; EINVAL naming it). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct mnl_socket;
typedef struct nl_sock {
	struct mnl_socket *s;
	unsigned int seq, portid;
} nl_sock;

/* A rtnetlink socket in this process's netns (netns_fd < 0) or in the netns
 * netns_fd (opened there: setns to it, socket, setns back to the calling
 * thread's own netns; the caller is single-threaded or accepts that the
 * calling thread switches for microseconds). */
int nl_open(nl_sock *s, int netns_fd, berr *e);
/* Safe on a socket already closed or never opened (zeroed). */
void nl_close(nl_sock *s);

/* ifindex of a link by name: > 0, 0 when there is none, -1 on error. */
int nl_link_index(nl_sock *s, const char *name, berr *e);

/* A bridge `name` with the address gw/prefix, up; made when missing, the
 * address added when missing (an existing bridge with other addresses keeps
 * them). mtu 0: default. *ifindex out; *created (may be NULL) says whether
 * this call made it (a bridge it made is deleted again when a later step
 * fails). Also sets route_localnet = 1 on it (published ports from
 * 127.0.0.1), through netlink (IFLA_INET_CONF), so in s's netns: it reads
 * back as /proc/sys/net/ipv4/conf/<name>/route_localnet. A link of that name
 * that is not a bridge: EEXIST. */
int nl_bridge_ensure(nl_sock *s, const char *name, struct in_addr gw, int prefix, int mtu,
		     int *ifindex, bool *created, berr *e);

/* A veth pair: host end `host_name` in s's netns, enslaved to `master`
 * (ifindex, 0: none) with bridge-port hairpin mode on, up; the peer created
 * directly in the netns `peer_netns_fd` (< 0: s's netns), named `peer_name`,
 * with MAC `peer_mac` (NULL: kernel's random one), mtu (0: default) on both
 * ends. One RTM_NEWLINK for the pair, then one datagram for master, hairpin
 * and up; when that fails the pair is deleted again. EEXIST names the link. */
int nl_veth_add(nl_sock *s, const char *host_name, const char *peer_name, int peer_netns_fd,
		const uint8_t peer_mac[6], int master, int mtu, berr *e);

int nl_link_up(nl_sock *s, int ifindex, berr *e);

/* family AF_INET (addr: struct in_addr) or AF_INET6 (struct in6_addr; added
 * with IFA_F_NODAD, usable at once). An address already there: EEXIST. */
int nl_addr_add(nl_sock *s, int ifindex, int family, const void *addr, int prefix, berr *e);

/* default route via gw (family AF_INET or AF_INET6), on ifindex, in the main
 * table. One already there: EEXIST. */
int nl_route_add_default(nl_sock *s, int family, const void *gw, int ifindex, berr *e);

/* Delete a link by name; 0 also when there is none. */
int nl_link_del(nl_sock *s, const char *name, berr *e);

/* Names of the links whose name starts with prefix (strv, NULL-terminated,
 * empty but not NULL when none; strv_free). NULL with e on error. */
char **nl_link_names(nl_sock *s, const char *prefix, berr *e);
/* The same, only the ports of the bridge with this ifindex (> 0). */
char **nl_link_names_on(nl_sock *s, const char *prefix, int master, berr *e);

/* The IPv4 routes of every table except local (dst, prefix; the default
 * route has prefix 0), for "the subnet berth picks overlaps no route the host
 * already has". *out malloc'ed (NULL when *n is 0). dev is "" for a route
 * with no device (a blackhole, a nexthop object). */
typedef struct nl_route4 {
	struct in_addr dst;
	int prefix;
	char dev[16];
} nl_route4;
int nl_routes4(nl_sock *s, nl_route4 **out, size_t *n, berr *e);

/* The same for IPv6: unicast routes with a prefix (not the default, not
 * link-local fe80::/10, not multicast), for the v6 subnet check. */
typedef struct nl_route6 {
	struct in6_addr dst;
	int prefix;
	char dev[16];
} nl_route6;
int nl_routes6(nl_sock *s, nl_route6 **out, size_t *n, berr *e);

/* One call that does all of a container's side in its netns, for speed: lo
 * up, `ifname` up with addr/prefix, and (gw non-NULL) the default route via
 * gw. Two round trips (the ifindex of ifname is learnt in the first). */
int nl_ctr_configure(nl_sock *ns, const char *ifname, struct in_addr addr, int prefix,
		     const struct in_addr *gw, berr *e);
/* The same with an IPv6 address (nodad) and (gw non-NULL) a default v6
 * route, in the same second round trip. IPv6 disabled on the link: EACCES
 * (the kernel's "IPv6 is disabled on this device"). */
typedef struct nl_ctr_v6 {
	struct in6_addr addr;
	int prefix;
	const struct in6_addr *gw;
} nl_ctr_v6;
int nl_ctr_configure_ds(nl_sock *ns, const char *ifname, struct in_addr addr, int prefix,
			const struct in_addr *gw, const nl_ctr_v6 *v6, berr *e);

/* net.ipv4.ip_forward = 1 if it is 0 (Docker and Podman do this when a
 * bridge network is made), in the calling thread's netns. */
int nl_ip_forward_enable(berr *e);
