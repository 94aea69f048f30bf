/* Shared by network.c and netattach.c only: the network store under its
 * lock, record accessors, small json helpers. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/network.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* <root>/networks with its .lock held exclusively from open to close. */
typedef struct net_store {
	char *dir;
	int dirfd, lockfd;
} net_store;
int net_store_open(eng *g, net_store *s, berr *e);
void net_store_close(net_store *s);
json_object *net_rec_read(net_store *s, const char *name, berr *e);
int net_rec_write(net_store *s, const char *name, json_object *rec, berr *e);
char **net_rec_names(net_store *s);
int net_rec_subnet(json_object *rec, net_cidr *sub, net_cidr *range, uint32_t *gw);
const char *net_rec_bridge(json_object *rec);
int net_realize(eng *g, json_object *rec, berr *e);

/* ---- the IPv6 side (network6.c) ---- */
struct nl_sock;
/* The record's IPv6 IPAM.Config entry; -1 when it has none (v4 only). */
int net_rec_subnet6(json_object *rec, net_cidr6 *sub, net_cidr6 *range, net_ip6 *gw);
/* The kernel has IPv6 (not disabled at boot). */
bool net_host_ipv6(void);
/* --ipv6: the v6 IPAM.Config entry appended to rec (its Id seeds the ULA
 * /64 picked when no v6 --subnet is given); the v6 options checked. */
int net6_config_add(net_store *s, const eng_net_opts *o, json_object *rec, berr *e);
/* The bridge's v6 gateway (nodad), IPv6 on, the ip6 table's elements;
 * nothing for a v4-only record. */
int net6_realize(struct nl_sock *nl, json_object *rec, const char *br, int ifindex, berr *e);
int net6_unrealize(json_object *rec, const char *br, berr *e);
/* Docker's IPv6 fields of an endpoint into n (NetworkSettings or one of its
 * Networks): GlobalIPv6Address, GlobalIPv6PrefixLen, IPv6Gateway ("" and 0
 * without IPv6). */
void net_ep6_json(json_object *n, const eng_endpoint *ep);
/* <run_root>/aardvark (malloc'ed) */
char *net_dns_dir(eng *g);
/* Rewrite the network's aardvark file from its active leases + reload. */
int net_dns_sync(eng *g, net_store *s, const char *name, json_object *rec, berr *e);

static inline json_object *jget(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}
/* "A.B.C" */
static inline json_object *jpath(json_object *o, const char *path)
{
	char k[128];
	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(k))
			return NULL;
		memcpy(k, path, n);
		k[n] = 0;
		o = jget(o, k);
		path += n + (dot ? 1 : 0);
	}
	return o;
}
static inline const char *jstr(json_object *o, const char *k)
{
	json_object *v = jget(o, k);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
static inline bool jbool(json_object *o, const char *k)
{
	json_object *v = jget(o, k);
	return v && json_object_get_boolean(v);
}
static inline json_object *jobj(json_object *o, const char *k)
{
	json_object *v = jget(o, k);
	if (!v || !json_object_is_type(v, json_type_object)) {
		v = json_object_new_object();
		json_object_object_add(o, k, v);
	}
	return v;
}
/* The lease of container id on net as it is: nothing made (a container
 * removed meanwhile has none: ENOENT). */
int net_lease_get(eng *g, const char *net, const char *id, eng_endpoint *ep, berr *e);
int net_lease_active(eng *g, const char *net, const char *id, bool active, berr *e);
/* The container whose lease on some network of this store has this address
 * (family AF_INET or AF_INET6): its id; none: false. */
bool net_lease_holder(eng *g, int family, const void *addr, char id[65]);
/* That container exists no more or is not running (a kill -9 before its
 * cleanup): its stale port elements may go. Not this store's: false. */
bool net_addr_owner_gone(eng *g, int family, const void *addr);
/* The netns of pid (*nsfd) with a netlink socket in it (ctr) and one in
 * ours (host); all closed again on error. */
struct nl_sock;
int net_open_ns(pid_t pid, int *nsfd, struct nl_sock *host, struct nl_sock *ctr, berr *e);
/* bv + 10 hex of the id + the interface index */
void net_host_ifname(const char *id, int k, char out[16]);
