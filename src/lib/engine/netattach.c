/* A container's networks at start and exit (see network.h): the launch
 * prepares (ports picked, container:ID resolved), the monitor-to-be
 * attaches between the runtime's create and start, the cleanup after the
 * exit detaches, rm forgets (frees the leases). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/netpriv.h"
#include "engine/netports.h"
#include "engine/netports6.h"
#include "engine/netrl.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The networks a container.json names, in attach order (the first gets the
 * default route). */
static json_object *ctr_networks(json_object *doc)
{
	return jpath(doc, "NetworkSettings.Networks");
}

static bool bridged(json_object *doc)
{
	json_object *n = ctr_networks(doc);
	return n && json_object_object_length(n) > 0;
}

/* ---- prepare ---------------------------------------------------------- */

static int prepare_ports(json_object *doc, berr *e)
{
	json_object *pb = jpath(doc, "HostConfig.PortBindings");
	json_object *ns = jobj(doc, "NetworkSettings");
	json_object *ports = json_object_new_object();
	json_object_object_add(ns, "Ports", ports);
	json_object *all = json_object_new_object();
	json_object_object_foreach(pb, k0, v0) json_object_object_add(all, k0, json_object_get(v0));
	if (jbool(jget(doc, "HostConfig"), "PublishAllPorts")) {
		json_object_object_foreach(jpath(doc, "Config.ExposedPorts"), k1, v1)
		{
			(void)v1;
			if (!jget(all, k1)) {
				json_object *arr = json_object_new_array(),
					    *b = json_object_new_object();
				json_object_object_add(b, "HostIp", json_object_new_string(""));
				json_object_object_add(b, "HostPort", json_object_new_string(""));
				json_object_array_add(arr, b);
				json_object_object_add(all, k1, arr);
			}
		}
	}
	int r = 0;
	struct in6_addr cip6;
	bool v6 = ctr_first_ip6(doc, &cip6);
	json_object_object_foreach(all, key, arr)
	{
		int proto;
		uint16_t cport;
		if (port_key_parse(key, &proto, &cport) < 0) {
			r = berr_set(e, EINVAL, "HostConfig.PortBindings: bad port \"%s\"", key);
			break;
		}
		json_object *out = json_object_new_array();
		json_object_object_add(ports, key, out);
		for (size_t i = 0; r == 0 && i < json_object_array_length(arr); i++) {
			json_object *b = json_object_array_get_idx(arr, i);
			const char *hip = jstr(b, "HostIp"), *hp = jstr(b, "HostPort");
			uint32_t ip = 0;
			struct in6_addr ip6;
			bool is6 = hip && strchr(hip, ':');
			if (is6 && inet_pton(AF_INET6, hip, &ip6) != 1) {
				r = berr_set(e, EINVAL, "publish %s: bad host address %s", key,
					     hip);
				break;
			}
			if (is6 && !v6) {
				r = berr_set(e, EINVAL,
					     "publish [%s]:%s: the container has no IPv6 address "
					     "(a network made with --ipv6)",
					     hip, key);
				break;
			}
			if (!is6 && hip && *hip && net_ip_parse(hip, &ip, e) < 0) {
				r = -1;
				break;
			}
			long lo = 0, hi = 0;
			if (hp && *hp) {
				char *end;
				lo = hi = strtol(hp, &end, 10);
				if (*end == '-')
					hi = strtol(end + 1, &end, 10);
			}
			uint16_t port = (uint16_t)lo;
			if ((lo == 0 || lo != hi) &&
			    (is6 ? port_pick6(proto, &ip6, lo, hi, &port, e)
				 : port_pick(proto, ip, lo, hi, &port, e)) < 0) {
				r = berr_ctx(e, "publish %s", key);
				break;
			}
			char ipb[INET6_ADDRSTRLEN], pbuf[8];
			json_object *o = json_object_new_object();
			if (is6)
				inet_ntop(AF_INET6, &ip6, ipb, sizeof(ipb));
			else
				net_ip_fmt(ip, ipb, sizeof(ipb));
			json_object_object_add(o, "HostIp", json_object_new_string(ipb));
			snprintf(pbuf, sizeof(pbuf), "%u", port);
			json_object_object_add(o, "HostPort", json_object_new_string(pbuf));
			json_object_array_add(out, o);
			/* every address, on a dual-stack container: [::] too (Docker 27) */
			if (v6 && !is6 && ip == 0) {
				json_object *o6 = json_object_new_object();
				json_object_object_add(o6, "HostIp", json_object_new_string("::"));
				json_object_object_add(o6, "HostPort",
						       json_object_new_string(pbuf));
				json_object_array_add(out, o6);
			}
		}
		if (r < 0)
			break;
	}
	json_object_put(all);
	return r;
}

static int prepare_container_mode(eng *g, const char *id, const char *ref, berr *e)
{
	char tid[65];
	if (eng_lookup(g, ref, tid, e) < 0)
		return berr_ctx(e, "--network container:%s", ref);
	json_object *t = eng_load(g, tid, e);
	if (!t)
		return -1;
	const char *st = eng_reconcile(g, tid, t);
	json_object *pid = jpath(t, "State.Pid");
	int p = pid ? json_object_get_int(pid) : 0;
	json_object_put(t);
	if (strcmp(st, "running") || p <= 0)
		return berr_set(e, EINVAL, "--network container:%s: that container is not running",
				ref);
	/* the namespace path in config.json: that init's netns now */
	_cleanup_free_ char *cfgp = eng_path(g, id, "config.json"), *txt = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, cfgp, &txt, &len, e) < 0)
		return -1;
	json_object *cfg = json_tokener_parse(txt);
	json_object *nss = jpath(cfg, "linux.namespaces");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", p);
	for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
		json_object *n = json_object_array_get_idx(nss, i);
		if (jstr(n, "type") && !strcmp(jstr(n, "type"), "network"))
			json_object_object_add(n, "path", json_object_new_string(path));
	}
	const char *out = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
	int r = fs_write_atomic(cfgp, out, strlen(out), 0600, false, e);
	json_object_put(cfg);
	return r;
}

int eng_net_prepare(eng *g, const char *id, json_object *doc, berr *e)
{
	const char *mode = jstr(jget(doc, "HostConfig"), "NetworkMode");
	if (mode && !strncmp(mode, "container:", 10))
		return prepare_container_mode(g, id, mode + 10, e);
	if (eng_net_rl_tool(mode))
		return prepare_ports(doc, e);
	if (!bridged(doc))
		return 0;
	berr ig;
	json_object_object_foreach(ctr_networks(doc), name, v)
	{
		(void)v;
		json_object *rec = eng_net_load(g, name, NULL, &ig);
		if (!rec)
			return berr_set(
			    e, ENOENT, "network %s: removed since the container was created", name);
		json_object_put(rec);
	}
	return prepare_ports(doc, e);
}

/* ---- attach / detach -------------------------------------------------- */

void net_host_ifname(const char *id, int k, char out[16])
{
	snprintf(out, 16, "bv%.10s%d", id, k < 0 ? 0 : k % 1000);
}

static bool port_eq(const bnft_port *a, const bnft_port *b)
{
	return a->proto == b->proto && a->host_ip.s_addr == b->host_ip.s_addr &&
	       a->host_port == b->host_port && a->ctr_ip.s_addr == b->ctr_ip.s_addr &&
	       a->ctr_port == b->ctr_port;
}

/* The published ports of doc as nft elements to ctr_ip. */
static bnft_port *ports_of(json_object *doc, uint32_t ctr_ip, size_t *np)
{
	json_object *ports = jpath(doc, "NetworkSettings.Ports");
	size_t cap = 0, n = 0;
	bnft_port *v = NULL;
	json_object_object_foreach(ports, key, arr)
	{
		int proto;
		uint16_t cport;
		if (port_key_parse(key, &proto, &cport) < 0 ||
		    !json_object_is_type(arr, json_type_array))
			continue;
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *b = json_object_array_get_idx(arr, i);
			uint32_t hip = 0;
			berr ig;
			if (jstr(b, "HostIp") && net_ip_parse(jstr(b, "HostIp"), &hip, &ig) < 0)
				continue;
			long hp = jstr(b, "HostPort") ? strtol(jstr(b, "HostPort"), NULL, 10) : 0;
			if (hp < 1 || hp > 65535)
				continue;
			if (n == cap)
				v = xreallocarray(v, cap = cap ? 2 * cap : 8, sizeof(*v));
			v[n++] = (bnft_port){.proto = proto,
					     .host_ip = {htonl(hip)},
					     .host_port = (uint16_t)hp,
					     .ctr_ip = {htonl(ctr_ip)},
					     .ctr_port = cport};
		}
	}
	*np = n;
	return v;
}

static int publish(eng *g, json_object *doc, uint32_t ctr_ip, eng_net_hold *hold, berr *e)
{
	size_t np;
	_cleanup_free_ bnft_port *p = ports_of(doc, ctr_ip, &np);
	if (!np)
		return 0;
	for (size_t i = 0; i < np; i++) {
		int fd = port_hold(p[i].proto, ntohl(p[i].host_ip.s_addr), p[i].host_port, e);
		if (fd < 0)
			return e->errnum == EADDRINUSE ? berr_ctx(e, "publish") : -1;
		if (hold->n < sizeof(hold->fds) / sizeof(hold->fds[0]))
			hold->fds[hold->n++] = fd;
		else
			close(fd);
	}
	bnft *n = bnft_open(e);
	if (!n)
		return -1;
	int r = bnft_ports_add(n, p, np, e);
	if (r < 0 && e->errnum == EADDRINUSE) {
		/* stale elements of a container killed before its cleanup */
		bnft_port *have = NULL;
		size_t nh = 0;
		berr ig;
		bool freed = false;
		if (bnft_ports_list(n, &have, &nh, &ig) == 0) {
			for (size_t i = 0; i < np; i++)
				for (size_t j = 0; j < nh; j++)
					if (have[j].proto == p[i].proto &&
					    have[j].host_port == p[i].host_port &&
					    have[j].host_ip.s_addr == p[i].host_ip.s_addr &&
					    net_addr_owner_gone(g, AF_INET, &have[j].ctr_ip)) {
						bnft_ports_del(n, &have[j], 1, &ig);
						freed = true;
					}
		}
		free(have);
		if (freed)
			r = bnft_ports_add(n, p, np, e);
	}
	bnft_close(n);
	return r;
}

static uint32_t first_ip(json_object *doc)
{
	json_object_object_foreach(ctr_networks(doc), name, v)
	{
		(void)name;
		uint32_t ip;
		berr ig;
		if (jstr(v, "IPAddress") && net_ip_parse(jstr(v, "IPAddress"), &ip, &ig) == 0)
			return ip;
	}
	return 0;
}

static void undo_veths(nl_sock *nl, const char *id, int upto)
{
	berr ig;
	for (int k = 0; k < upto; k++) {
		char hn[16];
		net_host_ifname(id, k, hn);
		nl_link_del(nl, hn, &ig);
	}
}

int net_open_ns(pid_t pid, int *nsfd, nl_sock *host, nl_sock *ctr, berr *e)
{
	char nsp[64];
	snprintf(nsp, sizeof(nsp), "/proc/%d/ns/net", (int)pid);
	*nsfd = open(nsp, O_RDONLY | O_CLOEXEC);
	if (*nsfd < 0)
		return berr_sys(e, "open %s", nsp);
	if (nl_open(host, -1, e) < 0)
		goto fail;
	if (nl_open(ctr, *nsfd, e) < 0) {
		nl_close(host);
		goto fail;
	}
	return 0;
fail:
	close(*nsfd);
	*nsfd = -1;
	return -1;
}

int eng_net_attach(eng *g, const char *id, json_object *doc, pid_t pid, eng_net_hold *hold, berr *e)
{
	hold->n = 0;
	if (eng_net_rl_tool(jstr(jget(doc, "HostConfig"), "NetworkMode")))
		return eng_net_rl_attach(g, id, doc, pid, hold, e);
	if (!bridged(doc))
		return 0;
	_cleanup_close_ int nsfd = -1;
	nl_sock host, ctr;
	if (net_open_ns(pid, &nsfd, &host, &ctr, e) < 0)
		return -1;
	int k = 0, r = 0;
	bool route = false;
	json_object_object_foreach(ctr_networks(doc), name, v)
	{
		eng_endpoint ep;
		/* the lease made at create; never a new one (nor a new default
		 * network) for a container an `rm` took meanwhile */
		if ((r = net_lease_get(g, name, id, &ep, e)) < 0)
			break;
		int br = nl_link_index(&host, ep.bridge, e);
		if (br == 0) { /* after a reboot: the bridge and its rules again */
			json_object *rec = eng_net_load(g, name, NULL, e);
			r = rec ? net_realize(g, rec, e) : -1;
			json_object_put(rec);
			if (r == 0)
				br = nl_link_index(&host, ep.bridge, e);
		}
		if ((r = br) <= 0) {
			r = br == 0
				? berr_set(e, ENODEV, "network %s: no bridge %s", name, ep.bridge)
				: -1;
			break;
		}
		char hn[16], cn[16];
		json_object *bi = jget(v, "BerthIf");
		int ifk = bi ? json_object_get_int(bi) : k;
		net_host_ifname(id, ifk, hn);
		snprintf(cn, sizeof(cn), "eth%d", ifk);
		k = (ifk >= k ? ifk : k) + 1;
		if ((r = nl_veth_add(&host, hn, cn, nsfd, ep.mac, br, 0, e)) < 0)
			break;
		struct in_addr a = {htonl(ep.ip)}, gw = {htonl(ep.gw)};
		bool def = !route && !ep.internal;
		route = route || def;
		struct in6_addr gw6;
		nl_ctr_v6 v6 = {.prefix = ep.prefix6, .gw = def ? &gw6 : NULL};
		net_ip6_to_in6(ep.ip6, &v6.addr);
		net_ip6_to_in6(ep.gw6, &gw6);
		r = nl_ctr_configure_ds(&ctr, cn, a, ep.prefix, def ? &gw : NULL,
					ep.has6 ? &v6 : NULL, e);
		if (r < 0 && ep.has6 && e->errnum == EACCES)
			berr_ctx(e,
				 "network %s: IPv6 is disabled in the container's netns "
				 "(net.ipv6.conf.default.disable_ipv6)",
				 name);
		if (r < 0)
			break;
	}
	if (r >= 0)
		r = publish(g, doc, first_ip(doc), hold, e);
	if (r >= 0)
		r = publish6(g, doc, hold, e);
	if (r >= 0) {
		json_object_object_foreach(ctr_networks(doc), name2, v2)
		{
			(void)v2;
			if ((r = net_lease_active(g, name2, id, true, e)) < 0)
				break;
		}
	}
	if (r < 0) {
		berr ig;
		eng_net_detach(g, id, doc, &ig);
		undo_veths(&host, id, k);
		for (size_t i = 0; i < hold->n; i++)
			close(hold->fds[i]);
		hold->n = 0;
	}
	nl_close(&ctr);
	nl_close(&host);
	return r < 0 ? -1 : 0;
}

int eng_net_detach(eng *g, const char *id, json_object *doc, berr *e)
{
	if (eng_net_rl_tool(jstr(jget(doc, "HostConfig"), "NetworkMode")))
		return eng_net_rl_detach(g, id, e);
	if (!bridged(doc))
		return 0;
	int r = 0;
	berr ig;
	json_object_object_foreach(ctr_networks(doc), name, v)
	{
		(void)v;
		if (net_lease_active(g, name, id, false, &ig) < 0 && r == 0)
			r = berr_set(e, ig.errnum, "%s", ig.msg);
	}
	if (unpublish6(doc, &ig) < 0 && r == 0)
		r = berr_set(e, ig.errnum, "%s", ig.msg);
	size_t np;
	_cleanup_free_ bnft_port *p = ports_of(doc, first_ip(doc), &np);
	if (!np)
		return r;
	bnft *n = bnft_open(e);
	if (!n)
		return -1;
	/* only our own elements: a host port another container took since
	 * (ours was stale) stays. A get per port (raw nfnetlink, no listing),
	 * then one batch for those still ours. */
	bnft_port *mine = xreallocarray(NULL, np, sizeof(*mine));
	size_t nm = 0;
	for (size_t i = 0; i < np; i++) {
		bnft_port have;
		if (bnft_port_get(n, &p[i], &have, &ig) == 0) {
			if (port_eq(&have, &p[i]))
				mine[nm++] = p[i];
		} else if (ig.errnum != ENOENT && r == 0) {
			r = berr_set(e, ig.errnum, "%s", ig.msg);
		}
	}
	if (nm && bnft_ports_del(n, mine, nm, &ig) < 0 && r == 0)
		r = berr_set(e, ig.errnum, "%s", ig.msg);
	free(mine);
	bnft_close(n);
	return r;
}

int eng_net_forget(eng *g, const char *id, json_object *doc, berr *e)
{
	if (eng_net_rl_tool(jstr(jget(doc, "HostConfig"), "NetworkMode")))
		return eng_net_rl_detach(g, id, e);
	if (!bridged(doc))
		return 0;
	int r = eng_net_detach(g, id, doc, e);
	json_object_object_foreach(ctr_networks(doc), name, v)
	{
		(void)v;
		berr ig;
		if (eng_net_release(g, name, id, &ig) < 0 && r == 0)
			r = berr_set(e, ig.errnum, "%s", ig.msg);
	}
	return r;
}
