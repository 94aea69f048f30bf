/* berth network connect / disconnect (see network.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/netpriv.h"
#include "net/netlink.h"
#include "util/cleanup.h"

static int load_ctr(eng *g, const char *ctr, char id[65], json_object **doc, const char **status,
		    berr *e)
{
	if (eng_lookup(g, ctr, id, e) < 0)
		return -1;
	*doc = eng_load(g, id, e);
	if (!*doc)
		return -1;
	*status = eng_reconcile(g, id, *doc);
	return 0;
}

static int live_attach(const char *id, int pid, int ifk, const eng_endpoint *ep, berr *e)
{
	char hn[16], cn[16];
	_cleanup_close_ int nsfd = -1;
	nl_sock host, ctr;
	if (net_open_ns(pid, &nsfd, &host, &ctr, e) < 0)
		return -1;
	net_host_ifname(id, ifk, hn);
	snprintf(cn, sizeof(cn), "eth%d", ifk);
	int br = nl_link_index(&host, ep->bridge, e);
	int r = br <= 0 ? (br == 0 ? berr_set(e, ENODEV, "no bridge %s", ep->bridge) : -1)
			: nl_veth_add(&host, hn, cn, nsfd, ep->mac, br, 0, e);
	nl_ctr_v6 v6 = {.prefix = ep->prefix6};
	net_ip6_to_in6(ep->ip6, &v6.addr);
	if (r == 0)
		r = nl_ctr_configure_ds(&ctr, cn, (struct in_addr){htonl(ep->ip)}, ep->prefix, NULL,
					ep->has6 ? &v6 : NULL, e);
	if (r < 0) {
		berr ig;
		nl_link_del(&host, hn, &ig);
	}
	nl_close(&ctr);
	nl_close(&host);
	return r;
}

int eng_net_connect(eng *g, const char *ctr, const char *net, const char *ip, const char *ip6,
		    char *const *aliases, berr *e)
{
	char id[65];
	json_object *doc = NULL;
	const char *status;
	_cleanup_free_ char *name = NULL;
	json_object *rec = eng_net_load(g, net, &name, e);
	if (!rec)
		return -1;
	json_object_put(rec);
	if (load_ctr(g, ctr, id, &doc, &status, e) < 0)
		return -1;
	int r = -1;
	const char *mode = jstr(jget(doc, "HostConfig"), "NetworkMode");
	json_object *nets = jobj(jobj(doc, "NetworkSettings"), "Networks");
	if (mode &&
	    (!strcmp(mode, "none") || !strcmp(mode, "host") || !strncmp(mode, "container:", 10))) {
		berr_set(e, EINVAL, "container %s has --network %s: it cannot join a network", ctr,
			 mode);
		goto out;
	}
	if (jget(nets, name)) {
		berr_set(e, EEXIST, "container %s is already connected to network %s", ctr, name);
		goto out;
	}
	for (char *const *a = aliases; a && *a; a++)
		if (!eng_volume_name_valid(*a)) {
			berr_set(
			    e, EINVAL,
			    "invalid --alias \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
			    *a);
			goto out;
		}
	int ifk = 0;
	json_object_object_foreach(nets, k0, v0)
	{
		(void)k0;
		json_object *bi = jget(v0, "BerthIf");
		int x = bi ? json_object_get_int(bi) : 0;
		if (x >= ifk)
			ifk = x + 1;
	}
	const char *cname = jstr(doc, "Name");
	cname = cname && cname[0] == '/' ? cname + 1 : cname;
	eng_endpoint ep;
	if (eng_net_lease(g, name, id, cname, ip, ip6, NULL, aliases, &ep, e) < 0)
		goto out;
	bool running = !strcmp(status, "running") || !strcmp(status, "paused");
	json_object *pid = jpath(doc, "State.Pid");
	if (running && live_attach(id, pid ? json_object_get_int(pid) : 0, ifk, &ep, e) < 0) {
		berr ig;
		eng_net_release(g, name, id, &ig);
		goto out;
	}
	if (running)
		net_lease_active(g, name, id, true, e);
	char ipb[16], gwb[16], mb[18];
	json_object *n = json_object_new_object();
	json_object_object_add(n, "Gateway",
			       json_object_new_string(net_ip_fmt(ep.gw, gwb, sizeof(gwb))));
	json_object_object_add(n, "IPAddress",
			       json_object_new_string(net_ip_fmt(ep.ip, ipb, sizeof(ipb))));
	json_object_object_add(n, "IPPrefixLen", json_object_new_int(ep.prefix));
	json_object_object_add(n, "MacAddress",
			       json_object_new_string(net_mac_fmt(ep.mac, mb, sizeof(mb))));
	json_object *al = json_object_new_array();
	for (char *const *a = aliases; a && *a; a++)
		json_object_array_add(al, json_object_new_string(*a));
	json_object_object_add(n, "Aliases", al);
	json_object_object_add(n, "BerthIf", json_object_new_int(ifk));
	net_ep6_json(n, &ep);
	json_object_object_add(nets, name, n);
	if (eng_lock(g, true, e) == 0) {
		r = eng_save(g, id, doc, e);
		eng_unlock(g);
	}
out:
	json_object_put(doc);
	return r;
}

int eng_net_disconnect(eng *g, const char *ctr, const char *net, berr *e)
{
	char id[65];
	json_object *doc = NULL;
	const char *status;
	_cleanup_free_ char *name = NULL;
	json_object *rec = eng_net_load(g, net, &name, e);
	if (!rec)
		return -1;
	json_object_put(rec);
	if (load_ctr(g, ctr, id, &doc, &status, e) < 0)
		return -1;
	int r = -1;
	json_object *nets = jpath(doc, "NetworkSettings.Networks");
	json_object *ent = jget(nets, name);
	if (!ent) {
		berr_set(e, ENOENT, "container %s is not connected to network %s", ctr, name);
		goto out;
	}
	if (!strcmp(status, "running") || !strcmp(status, "paused")) {
		json_object *bi = jget(ent, "BerthIf");
		char hn[16];
		net_host_ifname(id, bi ? json_object_get_int(bi) : 0, hn);
		nl_sock nl;
		if (nl_open(&nl, -1, e) < 0)
			goto out;
		int dr = nl_link_del(&nl, hn, e);
		nl_close(&nl);
		if (dr < 0)
			goto out;
	}
	if (eng_net_release(g, name, id, e) < 0)
		goto out;
	json_object_object_del(nets, name);
	if (eng_lock(g, true, e) == 0) {
		r = eng_save(g, id, doc, e);
		eng_unlock(g);
	}
out:
	json_object_put(doc);
	return r;
}
