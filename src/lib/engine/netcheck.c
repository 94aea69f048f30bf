/* The network side of `berth system check`: what a kill -9 of `berth run`,
 * of a monitor or a reboot can leave. Each is garbage; --repair frees it.
 *   - a lease of a container that no longer exists
 *   - a lease marked active (in DNS) of a container that is not running
 *   - a published port (nft element) whose container is not running
 *   - a host veth (bv...) whose container is not running
 *   - a rootless network tool (pasta, slirp4netns) whose container is not
 *     running
 * Called by eng_check under the containers lock (then the networks lock). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/netpriv.h"
#include "engine/netrl.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/nft6.h"
#include "util/cleanup.h"
#include "util/idmap.h"

static void found(char ***garbage, char ***repaired, bool repair, bool done, char *what)
{
	strv_push(garbage, what);
	if (repair && done)
		strv_push(repaired, what);
	free(what);
}

static bool live(const char *st)
{
	return !strcmp(st, "running") || !strcmp(st, "paused") || !strcmp(st, "created") ||
	       !strcmp(st, "creating");
}

/* status of the container with this id (or unique id prefix): "removed" */
static const char *status_of(eng *g, const char *ref)
{
	char id[65];
	berr ig;
	if (eng_lookup(g, ref, id, &ig) < 0)
		return ig.errnum == ENOENT ? "removed" : "unknown";
	json_object *d = eng_load(g, id, &ig);
	if (!d)
		return "removed";
	const char *s = eng_reconcile(g, id, d); /* static strings */
	json_object_put(d);
	return s;
}

static void check_leases(eng *g, bool repair, char ***garbage, char ***repaired)
{
	net_store s;
	berr ig;
	if (net_store_open(g, &s, &ig) < 0)
		return;
	_cleanup_strv_ char **nets = net_rec_names(&s);
	for (char **n = nets; *n; n++) {
		json_object *rec = net_rec_read(&s, *n, &ig);
		json_object *ctrs = jpath(rec, "Containers");
		bool changed = false;
		strv_builder gone = {0};
		json_object_object_foreach(ctrs, cid, l)
		{
			const char *st = status_of(g, cid);
			if (!strcmp(st, "removed")) {
				found(
				    garbage, repaired, repair, repair,
				    xasprintf(
					"network %s: address %s leased to removed container %.12s",
					*n, jstr(l, "IPv4Address"), cid));
				strvb_push(&gone, cid);
			} else if (jbool(l, "BerthActive") && strcmp(st, "running") &&
				   strcmp(st, "paused")) {
				found(garbage, repaired, repair, repair,
				      xasprintf("network %s: container %.12s is %s but in DNS", *n,
						cid, st));
				if (repair)
					json_object_object_add(l, "BerthActive",
							       json_object_new_boolean(false));
				changed = true;
			}
		}
		char **gv = strvb_take(&gone);
		for (char **c = gv; repair && c && *c; c++) {
			json_object_object_del(ctrs, *c);
			changed = true;
		}
		strv_free(gv);
		if (repair && changed && net_rec_write(&s, *n, rec, &ig) == 0)
			net_dns_sync(g, &s, *n, rec, &ig);
		json_object_put(rec);
	}
	net_store_close(&s);
}

/* the container holding ip (AF_INET or AF_INET6): its status, "removed" if none */
static const char *owner_status(eng *g, int family, const void *ip)
{
	char cid[65];
	return net_lease_holder(g, family, ip, cid) ? status_of(g, cid) : "removed";
}

static void check_ports(eng *g, bool repair, char ***garbage, char ***repaired)
{
	berr ig;
	bnft *n = bnft_open(&ig);
	bnft_port *p = NULL;
	size_t np = 0;
	if (!n || bnft_ports_list(n, &p, &np, &ig) < 0) {
		bnft_close(n);
		return;
	}
	/* only addresses of this store's subnets: another store's (--root)
	 * ports are its own business */
	_cleanup_strv_ char **nets = eng_net_names(g);
	size_t nn = strv_len(nets), ns = 0;
	net_cidr *subs = xreallocarray(NULL, nn ? nn : 1, sizeof(*subs));
	for (char **nm = nets; *nm; nm++) {
		json_object *rec = eng_net_load(g, *nm, NULL, &ig);
		net_cidr rg;
		uint32_t gw;
		if (rec && net_rec_subnet(rec, &subs[ns], &rg, &gw) == 0)
			ns++;
		json_object_put(rec);
	}
	for (size_t i = 0; i < np; i++) {
		bool mine = false;
		for (size_t k = 0; k < ns && !mine; k++)
			mine = net_cidr_contains(subs[k], ntohl(p[i].ctr_ip.s_addr));
		if (!mine)
			continue;
		const char *st = owner_status(g, AF_INET, &p[i].ctr_ip);
		if (live(st))
			continue;
		char hb[16], cb[16];
		inet_ntop(AF_INET, &p[i].host_ip, hb, sizeof(hb));
		inet_ntop(AF_INET, &p[i].ctr_ip, cb, sizeof(cb));
		bool done = repair && bnft_ports_del(n, &p[i], 1, &ig) == 0;
		found(garbage, repaired, repair, done,
		      xasprintf("published port %s:%u/%s -> %s:%u of a container that is %s", hb,
				p[i].host_port, p[i].proto == IPPROTO_UDP ? "udp" : "tcp", cb,
				p[i].ctr_port, st));
	}
	free(subs);
	free(p);
	bnft_close(n);
}

/* The same for `ip6 berth`: elements to a v6 address of this store's
 * dual-stack subnets whose container is not running. */
static void check_ports6(eng *g, bool repair, char ***garbage, char ***repaired)
{
	berr ig;
	_cleanup_strv_ char **nets = eng_net_names(g);
	size_t nn = strv_len(nets), ns = 0;
	net_cidr6 *subs = xreallocarray(NULL, nn ? nn : 1, sizeof(*subs));
	for (char **nm = nets; *nm; nm++) {
		json_object *rec = eng_net_load(g, *nm, NULL, &ig);
		net_cidr6 rg;
		net_ip6 gw;
		if (rec && net_rec_subnet6(rec, &subs[ns], &rg, &gw) == 0)
			ns++;
		json_object_put(rec);
	}
	bnft *n = ns ? bnft_open(&ig) : NULL;
	bnft_port6 *p = NULL;
	size_t np = 0;
	if (!n || bnft6_ports_list(n, &p, &np, &ig) < 0)
		np = 0;
	for (size_t i = 0; i < np; i++) {
		bool mine = false;
		net_ip6 cip;
		net_ip6_from_in6(&p[i].ctr_ip, &cip);
		for (size_t k = 0; k < ns && !mine; k++)
			mine = net_cidr6_contains(subs[k], cip);
		const char *st = mine ? owner_status(g, AF_INET6, &p[i].ctr_ip) : "running";
		if (live(st))
			continue;
		char hb[INET6_ADDRSTRLEN], cb[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &p[i].host_ip, hb, sizeof(hb));
		inet_ntop(AF_INET6, &p[i].ctr_ip, cb, sizeof(cb));
		bool done = repair && bnft6_ports_del(n, &p[i], 1, &ig) == 0;
		found(garbage, repaired, repair, done,
		      xasprintf("published port [%s]:%u/%s -> [%s]:%u of a container that is %s",
				hb, p[i].host_port, p[i].proto == IPPROTO_UDP ? "udp" : "tcp", cb,
				p[i].ctr_port, st));
	}
	free(p);
	free(subs);
	bnft_close(n);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_veths(eng *g, bool repair, char ***garbage, char ***repaired)
{
	nl_sock nl;
	berr ig;
	if (nl_open(&nl, -1, &ig) < 0)
		return;
	_cleanup_strv_ char **links = nl_link_names(&nl, "bv", &ig);
	/* the ports of this store's bridges: a veth of a container this store
	 * does not know is garbage only there (another store's --root
	 * containers have theirs on their own bridges) */
	strv_builder ours = {0};
	_cleanup_strv_ char **nets = eng_net_names(g);
	for (char **nm = nets; nm && *nm; nm++) {
		json_object *rec = eng_net_load(g, *nm, NULL, &ig);
		const char *br = jstr(jpath(rec, "Options"), "com.docker.network.bridge.name");
		int idx = br ? nl_link_index(&nl, br, &ig) : -1;
		_cleanup_strv_ char **ports =
		    idx > 0 ? nl_link_names_on(&nl, "bv", idx, &ig) : NULL;
		for (char **p = ports; p && *p; p++)
			strvb_push(&ours, *p);
		json_object_put(rec);
	}
	_cleanup_strv_ char **mine = strvb_take(&ours);
	size_t nmine = strv_len(mine);
	if (nmine)
		qsort(mine, nmine, sizeof(*mine), cmp_str);
	for (char **l = links; l && *l; l++) {
		if (strlen(*l) < 12)
			continue;
		char pre[11];
		snprintf(pre, sizeof(pre), "%.10s", *l + 2);
		const char *st = status_of(g, pre);
		if (live(st) || (!strcmp(st, "removed") &&
				 !(nmine && bsearch(l, mine, nmine, sizeof(*mine), cmp_str))))
			continue;
		bool done = repair && nl_link_del(&nl, *l, &ig) == 0;
		found(garbage, repaired, repair, done,
		      xasprintf("veth %s of a container that is %s", *l, st));
	}
	nl_close(&nl);
}

void eng_net_check(eng *g, bool repair, char ***garbage, char ***repaired)
{
	check_leases(g, repair, garbage, repaired);
	eng_net_rl_check(g, repair, garbage, repaired);
	/* the host's nft table and veths are root's: a rootless store has
	 * neither (and libnftables would complain about the permission) */
	if (idmap_in_userns())
		return;
	check_ports(g, repair, garbage, repaired);
	check_ports6(g, repair, garbage, repaired);
	check_veths(g, repair, garbage, repaired);
}
