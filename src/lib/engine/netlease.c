/* Leases: a container's address on a network, kept in the network record's
 * Containers map from create to rm, and the DNS view made from them. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/netpriv.h"
#include "net/dns.h"
#include "util/cleanup.h"
#include "util/fs.h"

char *net_dns_dir(eng *g)
{
	/* rt_root is <run_root>/runtime */
	const char *sl = strrchr(g->rt_root, '/');
	return xasprintf("%.*s/aardvark", sl ? (int)(sl - g->rt_root) : 0, g->rt_root);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void ep_fill(eng_endpoint *ep, const char *net, json_object *rec, json_object *lease)
{
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->network, sizeof(ep->network), "%s", net);
	snprintf(ep->bridge, sizeof(ep->bridge), "%s",
		 net_rec_bridge(rec) ? net_rec_bridge(rec) : "");
	net_cidr sub, rg;
	net_rec_subnet(rec, &sub, &rg, &ep->gw);
	ep->prefix = sub.prefix;
	const char *a = jstr(lease, "IPv4Address");
	char ip[INET_ADDRSTRLEN] = "";
	if (a)
		snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(a, "/"), a);
	berr ig;
	net_ip_parse(ip, &ep->ip, &ig);
	if (!jstr(lease, "MacAddress") ||
	    net_mac_parse(jstr(lease, "MacAddress"), ep->mac, &ig) < 0)
		net_mac_of_ip(ep->ip, ep->mac);
	ep->internal = jbool(rec, "Internal");
	ep->dns = jbool(rec, "BerthDNS");
}

static int lease_locked(net_store *s, const char *net, json_object *rec, const char *id,
			const char *cname, const char *ip_req, const char *mac_req,
			char *const *aliases, eng_endpoint *ep, berr *e)
{
	json_object *ctrs = jobj(rec, "Containers");
	json_object *have = jget(ctrs, id);
	if (have) {
		ep_fill(ep, net, rec, have);
		return 0;
	}
	net_cidr sub, rg;
	uint32_t gw, ip;
	if (net_rec_subnet(rec, &sub, &rg, &gw) < 0)
		return berr_set(e, EINVAL, "network %s: a broken record", net);
	size_t n = (size_t)json_object_object_length(ctrs), k = 0;
	uint32_t *used = xreallocarray(NULL, n ? n : 1, sizeof(uint32_t));
	json_object_object_foreach(ctrs, cid, l)
	{
		eng_endpoint x;
		ep_fill(&x, net, rec, l);
		if (ip_req && net_ip_parse(ip_req, &ip, e) == 0 && x.ip == ip) {
			free(used);
			return berr_set(e, EADDRINUSE,
					"address %s on network %s is in use by %s (%.12s)", ip_req,
					net, jstr(l, "Name") ? jstr(l, "Name") : "?", cid);
		}
		used[k++] = x.ip;
	}
	int r;
	if (ip_req) {
		r = net_ip_parse(ip_req, &ip, e);
		if (r == 0 && (!net_cidr_contains(sub, ip) || ip == sub.addr || ip == gw ||
			       ip == net_cidr_broadcast(sub))) {
			char b[20];
			r = berr_set(e, EINVAL,
				     "--ip %s is not a free host address of network %s (%s)",
				     ip_req, net, net_cidr_fmt(sub, b, sizeof(b)));
		}
	} else {
		qsort(used, k, sizeof(uint32_t), cmp_u32);
		r = net_ip_pick(sub, rg, gw, used, k, &ip, e);
		if (r < 0)
			berr_ctx(e, "network %s", net);
	}
	free(used);
	if (r < 0)
		return -1;
	uint8_t mac[6];
	if (mac_req) {
		if (net_mac_parse(mac_req, mac, e) < 0)
			return berr_ctx(e, "--mac-address");
	} else {
		net_mac_of_ip(ip, mac);
	}
	char ipb[16], cb[24], mb[18];
	net_ip_fmt(ip, ipb, sizeof(ipb));
	snprintf(cb, sizeof(cb), "%s/%d", ipb, sub.prefix);
	json_object *nl = json_object_new_object();
	char epid[65];
	eng_new_id(epid);
	json_object_object_add(nl, "Name", json_object_new_string(cname ? cname : ""));
	json_object_object_add(nl, "EndpointID", json_object_new_string(epid));
	json_object_object_add(nl, "MacAddress",
			       json_object_new_string(net_mac_fmt(mac, mb, sizeof(mb))));
	json_object_object_add(nl, "IPv4Address", json_object_new_string(cb));
	json_object_object_add(nl, "IPv6Address", json_object_new_string(""));
	json_object *al = json_object_new_array();
	for (char *const *a = aliases; a && *a; a++)
		json_object_array_add(al, json_object_new_string(*a));
	json_object_object_add(nl, "BerthAliases", al);
	json_object_object_add(nl, "BerthActive", json_object_new_boolean(false));
	json_object_object_add(ctrs, id, nl);
	if (net_rec_write(s, net, rec, e) < 0)
		return -1;
	ep_fill(ep, net, rec, nl);
	return 0;
}

int eng_net_lease(eng *g, const char *net, const char *id, const char *cname, const char *ip_req,
		  const char *mac_req, char *const *aliases, eng_endpoint *ep, berr *e)
{
	if (!strcmp(net, ENG_NET_DEFAULT) && eng_net_ensure_default(g, e) < 0)
		return -1;
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	json_object *rec = net_rec_read(&s, net, e);
	int r = rec ? lease_locked(&s, net, rec, id, cname, ip_req, mac_req, aliases, ep, e) : -1;
	json_object_put(rec);
	net_store_close(&s);
	return r;
}

int net_lease_get(eng *g, const char *net, const char *id, eng_endpoint *ep, berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	json_object *rec = net_rec_read(&s, net, e);
	json_object *l = rec ? jget(jpath(rec, "Containers"), id) : NULL;
	int r = 0;
	if (l)
		ep_fill(ep, net, rec, l);
	else if (rec)
		r = berr_set(e, ENOENT, "container %.12s has no address on network %s (removed?)",
			     id, net);
	else
		r = -1;
	json_object_put(rec);
	net_store_close(&s);
	return r;
}

int net_dns_sync(eng *g, net_store *s, const char *name, json_object *rec, berr *e)
{
	(void)s;
	if (!jbool(rec, "BerthDNS"))
		return 0;
	json_object *ctrs = jpath(rec, "Containers");
	size_t n = ctrs ? (size_t)json_object_object_length(ctrs) : 0, k = 0;
	net_dns_rec *recs = xreallocarray(NULL, n ? n : 1, sizeof(*recs));
	const char ***names = xreallocarray(NULL, n ? n : 1, sizeof(*names));
	char(*short_ids)[13] = xreallocarray(NULL, n ? n : 1, 13);
	uint32_t gw = 0;
	json_object_object_foreach(ctrs, cid, l)
	{
		if (!jbool(l, "BerthActive"))
			continue;
		eng_endpoint x;
		ep_fill(&x, name, rec, l);
		gw = x.gw;
		json_object *al = jget(l, "BerthAliases");
		size_t na = al ? json_object_array_length(al) : 0, m = 0;
		names[k] = xreallocarray(NULL, na + 2, sizeof(char *));
		if (jstr(l, "Name") && *jstr(l, "Name"))
			names[k][m++] = jstr(l, "Name");
		snprintf(short_ids[k], 13, "%.12s", cid);
		names[k][m++] = short_ids[k];
		for (size_t i = 0; i < na; i++)
			names[k][m++] = json_object_get_string(json_object_array_get_idx(al, i));
		recs[k] =
		    (net_dns_rec){.id = cid, .ip = {htonl(x.ip)}, .names = names[k], .nnames = m};
		k++;
	}
	if (!k) {
		net_cidr sub, rg;
		net_rec_subnet(rec, &sub, &rg, &gw);
	}
	_cleanup_free_ char *dir = net_dns_dir(g);
	int r = fs_mkdir_p(dir, 0700, e);
	if (r == 0)
		r = net_dns_write(dir, name, (struct in_addr){htonl(gw)}, NULL, recs, k, e);
	if (r == 0)
		r = net_dns_reload(dir, e);
	for (size_t i = 0; i < k; i++)
		free(names[i]);
	free(names);
	free(recs);
	free(short_ids);
	return r < 0 ? berr_ctx(e, "network %s: DNS", name) : 0;
}

/* Mark a lease active (running) or not, and sync DNS. */
int net_lease_active(eng *g, const char *net, const char *id, bool active, berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	berr ig;
	json_object *rec = net_rec_read(&s, net, &ig);
	json_object *l = rec ? jget(jpath(rec, "Containers"), id) : NULL;
	int r = 0;
	/* only DNS reads it: a network without names is left alone (two
	 * record writes less per container) */
	if (l && jbool(rec, "BerthDNS") && jbool(l, "BerthActive") != active) {
		json_object_object_add(l, "BerthActive", json_object_new_boolean(active));
		r = net_rec_write(&s, net, rec, e);
		if (r == 0)
			r = net_dns_sync(g, &s, net, rec, e);
	}
	json_object_put(rec);
	net_store_close(&s);
	return r;
}

int eng_net_release(eng *g, const char *net, const char *id, berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	berr ig;
	json_object *rec = net_rec_read(&s, net, &ig);
	json_object *ctrs = rec ? jpath(rec, "Containers") : NULL;
	int r = 0;
	if (ctrs && jget(ctrs, id)) {
		bool was_active = jbool(jget(ctrs, id), "BerthActive");
		json_object_object_del(ctrs, id);
		r = net_rec_write(&s, net, rec, e);
		if (r == 0 && was_active)
			net_dns_sync(g, &s, net, rec, &ig);
	}
	json_object_put(rec);
	net_store_close(&s);
	return r;
}
