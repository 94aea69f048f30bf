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
	net_cidr6 s6, r6;
	const char *a6 = jstr(lease, "IPv6Address");
	char ip6[INET6_ADDRSTRLEN] = "";
	if (a6 && *a6 && net_rec_subnet6(rec, &s6, &r6, &ep->gw6) == 0) {
		snprintf(ip6, sizeof(ip6), "%.*s", (int)strcspn(a6, "/"), a6);
		ep->has6 = net_ip6_parse(ip6, &ep->ip6, &ig) == 0;
		ep->prefix6 = s6.prefix;
	}
}

static int cmp_ip6(const void *a, const void *b)
{
	return net_ip6_cmp(*(const net_ip6 *)a, *(const net_ip6 *)b);
}

/* The v6 address of a new lease on a dual-stack network ("" on a v4-only
 * one, where --ip6 is refused): --ip6 checked, else the lowest free above
 * the gateway among the sorted leases. *out "ADDR/PREFIX". */
static int lease6(const char *net, json_object *rec, json_object *ctrs, const char *ip6_req,
		  char *out, size_t osz, berr *e)
{
	net_cidr6 sub, rg;
	net_ip6 gw, ip;
	*out = 0;
	if (net_rec_subnet6(rec, &sub, &rg, &gw) < 0) {
		if (ip6_req)
			return berr_set(e, EINVAL, "--ip6 %s: network %s has no IPv6 (--ipv6)",
					ip6_req, net);
		return 0;
	}
	if (ip6_req && net_ip6_parse(ip6_req, &ip, e) < 0)
		return berr_ctx(e, "--ip6");
	size_t n = (size_t)json_object_object_length(ctrs), k = 0;
	net_ip6 *used = xreallocarray(NULL, n ? n : 1, sizeof(*used));
	int r = 0;
	json_object_object_foreach(ctrs, cid, l)
	{
		eng_endpoint x;
		ep_fill(&x, net, rec, l);
		if (!x.has6)
			continue;
		if (ip6_req && !net_ip6_cmp(x.ip6, ip)) {
			r = berr_set(e, EADDRINUSE,
				     "address %s on network %s is in use by %s (%.12s)", ip6_req,
				     net, jstr(l, "Name") ? jstr(l, "Name") : "?", cid);
			break;
		}
		used[k++] = x.ip6;
	}
	char b[INET6_ADDRSTRLEN + 5];
	if (r == 0 && ip6_req) {
		if (!net_cidr6_contains(sub, ip) || !net_ip6_cmp(ip, sub.addr) ||
		    !net_ip6_cmp(ip, gw))
			r = berr_set(e, EINVAL,
				     "--ip6 %s is not a free host address of network %s (%s)",
				     ip6_req, net, net_cidr6_fmt(sub, b, sizeof(b)));
	} else if (r == 0) {
		qsort(used, k, sizeof(*used), cmp_ip6);
		r = net_ip6_pick(sub, rg, gw, used, k, &ip, e);
		if (r < 0)
			berr_ctx(e, "network %s", net);
	}
	free(used);
	if (r < 0)
		return -1;
	char a[INET6_ADDRSTRLEN];
	snprintf(out, osz, "%s/%d", net_ip6_fmt(ip, a, sizeof(a)), sub.prefix);
	return 0;
}

static int lease_locked(net_store *s, const char *net, json_object *rec, const char *id,
			const char *cname, const char *ip_req, const char *ip6_req,
			const char *mac_req, char *const *aliases, eng_endpoint *ep, berr *e)
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
	char cb6[INET6_ADDRSTRLEN + 5];
	if (lease6(net, rec, ctrs, ip6_req, cb6, sizeof(cb6), e) < 0)
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
	json_object_object_add(nl, "IPv6Address", json_object_new_string(cb6));
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
		  const char *ip6_req, const char *mac_req, char *const *aliases, eng_endpoint *ep,
		  berr *e)
{
	if (!strcmp(net, ENG_NET_DEFAULT) && eng_net_ensure_default(g, e) < 0)
		return -1;
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	json_object *rec = net_rec_read(&s, net, e);
	int r =
	    rec ? lease_locked(&s, net, rec, id, cname, ip_req, ip6_req, mac_req, aliases, ep, e)
		: -1;
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
	struct in6_addr *v6 = xreallocarray(NULL, n ? n : 1, sizeof(*v6));
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
		if (x.has6) {
			net_ip6_to_in6(x.ip6, &v6[k]);
			recs[k].ip6 = &v6[k];
		}
		k++;
	}
	if (!k) {
		net_cidr sub, rg;
		net_rec_subnet(rec, &sub, &rg, &gw);
	}
	net_cidr6 s6, r6;
	net_ip6 g6;
	struct in6_addr gw6;
	bool has6 = net_rec_subnet6(rec, &s6, &r6, &g6) == 0;
	if (has6)
		net_ip6_to_in6(g6, &gw6);
	_cleanup_free_ char *dir = net_dns_dir(g);
	int r = fs_mkdir_p(dir, 0700, e);
	if (r == 0)
		r = net_dns_write_ds(dir, name, (struct in_addr){htonl(gw)}, has6 ? &gw6 : NULL,
				     NULL, recs, k, e);
	if (r == 0)
		r = net_dns_reload(dir, e);
	for (size_t i = 0; i < k; i++)
		free(names[i]);
	free(names);
	free(recs);
	free(short_ids);
	free(v6);
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

int eng_net_alias_set(eng *g, const char *net, const char *id, const char *alias, bool present,
		      berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	berr ig;
	json_object *rec = net_rec_read(&s, net, &ig);
	json_object *l = rec ? jget(jpath(rec, "Containers"), id) : NULL;
	json_object *al = l ? jget(l, "BerthAliases") : NULL;
	int r = 0;
	if (al && json_object_is_type(al, json_type_array)) {
		size_t n = json_object_array_length(al), at = n;
		for (size_t i = 0; i < n && at == n; i++)
			if (!strcmp(json_object_get_string(json_object_array_get_idx(al, i)),
				    alias))
				at = i;
		bool change = present ? at == n : at < n;
		if (change) {
			if (present)
				json_object_array_add(al, json_object_new_string(alias));
			else
				json_object_array_del_idx(al, at, 1);
			r = net_rec_write(&s, net, rec, e);
			if (r == 0 && jbool(rec, "BerthDNS") && jbool(l, "BerthActive"))
				r = net_dns_sync(g, &s, net, rec, e);
		}
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

bool net_lease_holder(eng *g, int family, const void *addr, char id[65])
{
	char want[INET6_ADDRSTRLEN];
	inet_ntop(family, addr, want, sizeof(want));
	size_t wl = strlen(want);
	const char *field = family == AF_INET6 ? "IPv6Address" : "IPv4Address";
	_cleanup_strv_ char **nets = eng_net_names(g);
	berr ig;
	for (char **n = nets; *n; n++) {
		json_object *rec = eng_net_load(g, *n, NULL, &ig);
		json_object_object_foreach(jpath(rec, "Containers"), cid, l)
		{
			const char *a = jstr(l, field);
			if (a && !strncmp(a, want, wl) && a[wl] == '/') {
				snprintf(id, 65, "%s", cid);
				json_object_put(rec);
				return true;
			}
		}
		json_object_put(rec);
	}
	return false;
}

bool net_addr_owner_gone(eng *g, int family, const void *addr)
{
	char cid[65];
	if (!net_lease_holder(g, family, addr, cid))
		return false; /* not this store's address (--root): not ours to free */
	berr ig;
	json_object *d = eng_load(g, cid, &ig);
	const char *st = d ? eng_reconcile(g, cid, d) : "removed";
	bool gone = strcmp(st, "running") && strcmp(st, "paused");
	json_object_put(d);
	return gone;
}

int eng_net_rename(eng *g, const char *id, const char *name, berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	_cleanup_strv_ char **nets = net_rec_names(&s);
	int r = 0;
	for (size_t i = 0; nets && nets[i] && r == 0; i++) {
		berr ig;
		json_object *rec = net_rec_read(&s, nets[i], &ig);
		json_object *l = rec ? jget(jpath(rec, "Containers"), id) : NULL;
		if (l) {
			json_object_object_add(l, "Name", json_object_new_string(name));
			r = net_rec_write(&s, nets[i], rec, e);
			if (r == 0 && jbool(rec, "BerthDNS") && jbool(l, "BerthActive"))
				r = net_dns_sync(g, &s, nets[i], rec, e);
		}
		json_object_put(rec);
	}
	net_store_close(&s);
	return r;
}
