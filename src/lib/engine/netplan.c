/* `berth run/create` network options -> the container's record, lease and
 * /etc files (see netplan.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/netplan.h"
#include "engine/netpriv.h"
#include "engine/netrl.h"
#include "net/rootless.h"
#include "net/etcfiles.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/idmap.h"

static bool is_bridged_mode(const char *m)
{
	return strcmp(m, "none") && strcmp(m, "host") && strncmp(m, "container:", 10) &&
	       !eng_net_rl_tool(m);
}

/* The rootless modes: the default (pasta, else slirp4netns, as Podman 5),
 * --network pasta / slirp4netns checked. Bridges need a rootless netns of
 * their own (Podman's): refused, before anything is made. */
static int rootless_mode(const char **m, const eng_run_opts *o, berr *e)
{
	if (!*m || !**m || !strcmp(*m, "default")) {
		/* the default only where the tools can run: installed, and
		 * /dev/net/tun usable by the user (0666, as udev sets it; a host
		 * without udev may have 0600): else none, as before. An explicit
		 * --network pasta names what is missing. */
		const char *tool = net_rl_default_tool();
		*m = tool;
		int tun = tool ? open("/dev/net/tun", O_RDWR | O_CLOEXEC) : -1;
		int err = errno;
		if (tun >= 0) {
			close(tun);
		} else {
			/* never a silent drop: published ports cannot be had, and
			 * without them the front end says what the container got */
			char why[160];
			if (!tool)
				snprintf(why, sizeof(why),
					 "neither pasta (passt) nor slirp4netns is installed");
			else
				snprintf(why, sizeof(why), "%s needs /dev/net/tun: %s", tool,
					 strerror(err));
			if ((o->publish && *o->publish) || o->publish_all)
				return berr_set(e, ENOTSUP,
						"published ports need a rootless network: %s", why);
			if (o->warning) {
				free(*o->warning);
				*o->warning = xasprintf("no rootless network (%s): the container "
							"gets --network none",
							why);
			}
			*m = "none";
		}
	}
	const char *t = eng_net_rl_tool(*m);
	if (t && (*m)[strlen(t)] == ':' && (*m)[strlen(t) + 1])
		return berr_set(e, EINVAL,
				"--network %s: options of %s are not supported yet (--network %s)",
				*m, t, t);
	if (t)
		*m = t;
	else if (is_bridged_mode(*m))
		return berr_set(e, ENOTSUP,
				"--network %s: bridge networks are not supported for rootless "
				"yet (use pasta, slirp4netns, host or none)",
				*m);
	return 0;
}

int eng_net_plan_make(eng *g, const eng_run_opts *o, eng_net_plan *np, berr *e)
{
	memset(np, 0, sizeof(*np));
	const char *m = o->network;
	bool rootless = geteuid() != 0 || idmap_in_userns();
	if (rootless && rootless_mode(&m, o, e) < 0)
		return -1;
	if (!m || !*m || !strcmp(m, "default"))
		m = ENG_NET_DEFAULT;
	if (eng_net_rl_tool(m) && !rootless)
		return berr_set(e, EINVAL,
				"--network %s: for rootless containers (root's use a bridge)", m);
	if (!strcmp(m, "bridge"))
		m = ENG_NET_DEFAULT;
	np->mode = xstrdup(m);
	np->bridged = is_bridged_mode(m);
	np->bindings = json_object_new_object();
	np->exposed = json_object_new_object();
	if (!strncmp(m, "container:", 10)) {
		if (eng_lookup(g, m + 10, np->ctr_ref, e) < 0)
			return berr_ctx(e, "--network %s", m);
		free(np->mode);
		np->mode = xasprintf("container:%s", np->ctr_ref);
	} else if (np->bridged) {
		if (strcmp(m, ENG_NET_DEFAULT)) {
			json_object *rec = eng_net_load(g, m, NULL, e);
			if (!rec)
				return -1;
			json_object_put(rec);
		}
	} else if (o->ip || o->ip6 || o->mac || (o->net_aliases && *o->net_aliases)) {
		return berr_set(
		    e, EINVAL,
		    "--ip, --ip6, --mac-address and --network-alias need a network (--network %s)",
		    m);
	}
	bool shared = !strncmp(m, "container:", 10) || !strcmp(m, "host");
	if (shared && ((o->publish && *o->publish) || o->publish_all))
		return berr_set(e, EINVAL, "-p/-P do not apply to --network %s", m);
	if (!strcmp(m, "none") && ((o->publish && *o->publish) || o->publish_all))
		return berr_set(e, EINVAL, "-p/-P need a network: --network none has none");
	if (!strncmp(m, "container:", 10) &&
	    (o->hostname || (o->dns && *o->dns) || (o->add_hosts && *o->add_hosts)))
		return berr_set(
		    e, EINVAL,
		    "--hostname, --dns and --add-host do not apply to --network container:");
	/* a name aardvark-dns serves: the container-name rule (a bad alias
	 * would fail every start at the DNS sync) */
	for (char **a = o->net_aliases; a && *a; a++)
		if (!eng_volume_name_valid(*a))
			return berr_set(
			    e, EINVAL,
			    "invalid --network-alias \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
			    "allowed",
			    *a);
	for (char **p = o->publish; p && *p; p++)
		if (eng_port_spec_add(*p, np->bindings, np->exposed, e) < 0)
			return -1;
	for (char **x = o->expose; x && *x; x++) {
		_cleanup_free_ char *pspec = xstrdup(*x);
		json_object *tmp = json_object_new_object();
		int r = eng_port_spec_add(pspec, tmp, np->exposed, e);
		json_object_put(tmp);
		if (r < 0)
			return berr_ctx(e, "--expose");
	}
	/* --dns values and --add-host specs are checked here, before anything
	 * is made */
	const char *none[] = {NULL};
	net_resolv_opts ro = {.dns = o->dns ? (const char *const *)o->dns : none};
	_cleanup_free_ char *t = net_resolv_text("", &ro, false, e);
	if (!t)
		return -1;
	for (char **h = o->add_hosts; h && *h; h++) {
		char *hn = NULL, *hip = NULL;
		int r = net_add_host_parse(*h, "127.0.0.1", &hn, &hip, e);
		free(hn);
		free(hip);
		if (r < 0)
			return berr_ctx(e, "--add-host");
	}
	return 0;
}

/* The nameserver of a rootless tool's container as Podman writes it:
 * slirp4netns's forwarder 10.0.2.3; pasta: the host's own nameservers (its
 * copy of the host's address reaches them), or pasta's forwarder
 * 169.254.1.1 when the host has only loopback ones. NULL: the host's. */
static const char *rootless_dns(const char *tool, const char *host_resolv)
{
	if (!tool)
		return NULL;
	if (!strcmp(tool, "slirp4netns"))
		return "10.0.2.3";
	for (const char *l = host_resolv; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		char ip[64];
		if (n < 128 && sscanf(l, " nameserver %63s", ip) == 1 && strncmp(ip, "127.", 4) &&
		    strcmp(ip, "::1"))
			return NULL;
		l += n + (nl ? 1 : 0);
	}
	return "169.254.1.1";
}

static json_object *jarr(char *const *v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static int copy_from_target(eng *g, const char *tid, const char *dir, const char *name, berr *e)
{
	_cleanup_free_ char *src = eng_path(g, tid, name), *txt = NULL, *dst = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, src, &txt, &len, e) < 0)
		return -1;
	dst = xasprintf("%s/%s", dir, name);
	return fs_write_atomic(dst, txt, len, 0644, false, e);
}

int eng_net_plan_apply(eng *g, eng_net_plan *np, const eng_run_opts *o, const char *id,
		       const char *name, const char *dir, const char *hostname,
		       char *const *image_exposed, json_object *hc, json_object *cf,
		       json_object *doc, berr *e)
{
	for (char *const *x = image_exposed; x && *x; x++)
		if (!jget(np->exposed, *x))
			json_object_object_add(np->exposed, *x, json_object_new_object());
	json_object_object_add(
	    hc, "NetworkMode",
	    json_object_new_string(!strcmp(np->mode, ENG_NET_DEFAULT) ? "bridge" : np->mode));
	json_object_object_add(hc, "PortBindings", json_object_get(np->bindings));
	json_object_object_add(hc, "PublishAllPorts", json_object_new_boolean(o->publish_all));
	json_object_object_add(hc, "Dns", jarr(o->dns));
	json_object_object_add(hc, "DnsSearch", jarr(o->dns_search));
	json_object_object_add(hc, "DnsOptions", jarr(o->dns_opts));
	json_object_object_add(hc, "ExtraHosts", jarr(o->add_hosts));
	json_object_object_add(cf, "ExposedPorts", json_object_get(np->exposed));
	json_object *ns = json_object_new_object(), *nets = json_object_new_object();
	json_object_object_add(ns, "Networks", nets);
	json_object_object_add(ns, "Ports", json_object_new_object());
	json_object_object_add(doc, "NetworkSettings", ns);
	if (!strncmp(np->mode, "container:", 10))
		return copy_from_target(g, np->ctr_ref, dir, "hosts", e) < 0 ||
			       copy_from_target(g, np->ctr_ref, dir, "resolv.conf", e) < 0
			   ? -1
			   : 0;
	const char *addrs[2];
	size_t naddr = 0;
	char ipb[16] = "", gwb[16] = "", ip6b[INET6_ADDRSTRLEN] = "";
	eng_endpoint ep = {0};
	if (np->bridged) {
		if (eng_net_lease(g, np->mode, id, name, o->ip, o->ip6, o->mac, o->net_aliases, &ep,
				  e) < 0)
			return -1;
		np->leased = true;
		char mb[18];
		json_object *n = json_object_new_object();
		json_object *rec = eng_net_load(g, np->mode, NULL, e);
		if (!rec)
			return -1;
		json_object_object_add(n, "NetworkID", json_object_new_string(jstr(rec, "Id")));
		json_object *l = jget(jpath(rec, "Containers"), id);
		json_object_object_add(n, "EndpointID",
				       json_object_new_string(l && jstr(l, "EndpointID")
								  ? jstr(l, "EndpointID")
								  : ""));
		json_object_put(rec);
		json_object_object_add(n, "Gateway",
				       json_object_new_string(net_ip_fmt(ep.gw, gwb, sizeof(gwb))));
		json_object_object_add(n, "IPAddress",
				       json_object_new_string(net_ip_fmt(ep.ip, ipb, sizeof(ipb))));
		json_object_object_add(n, "IPPrefixLen", json_object_new_int(ep.prefix));
		json_object_object_add(n, "MacAddress",
				       json_object_new_string(net_mac_fmt(ep.mac, mb, sizeof(mb))));
		json_object_object_add(n, "Aliases", jarr(o->net_aliases));
		net_ep6_json(n, &ep);
		if (ep.has6)
			net_ip6_fmt(ep.ip6, ip6b, sizeof(ip6b));
		json_object_object_add(n, "BerthIf", json_object_new_int(0));
		json_object_object_add(nets, np->mode, n);
		/* Docker's top-level fields, for the first network */
		json_object_object_add(ns, "IPAddress", json_object_new_string(ipb));
		json_object_object_add(ns, "IPPrefixLen", json_object_new_int(ep.prefix));
		json_object_object_add(ns, "Gateway", json_object_new_string(gwb));
		json_object_object_add(ns, "MacAddress", json_object_new_string(mb));
		net_ep6_json(ns, &ep);
		addrs[naddr++] = ipb;
		if (ep.has6)
			addrs[naddr++] = ip6b;
	}
	/* rootless tools: slirp4netns gives the container 10.0.2.100 (its
	 * gateway 10.0.2.2 is the host), pasta a copy of the host's address */
	const char *rlt = eng_net_rl_tool(np->mode);
	if (rlt && !strcmp(rlt, "slirp4netns"))
		addrs[naddr++] = "10.0.2.100";
	/* /etc/hosts: --add-host (host-gateway: the network's gateway) */
	size_t nh = strv_len(o->add_hosts);
	net_host_entry *hx = xreallocarray(NULL, nh ? nh : 1, sizeof(*hx));
	char **own = xreallocarray(NULL, 2 * (nh ? nh : 1), sizeof(char *));
	int r = 0;
	for (size_t i = 0; i < nh && r == 0; i++) {
		own[2 * i] = own[2 * i + 1] = NULL;
		r = net_add_host_parse(o->add_hosts[i],
				       np->bridged			    ? gwb
				       : rlt && !strcmp(rlt, "slirp4netns") ? "10.0.2.2"
									    : "127.0.0.1",
				       &own[2 * i], &own[2 * i + 1], e);
		hx[i] = (net_host_entry){own[2 * i], own[2 * i + 1]};
	}
	_cleanup_free_ char *hosts = NULL, *resolv = NULL, *host_resolv = NULL;
	size_t hl;
	berr hig;
	/* --network host: the host's own /etc/hosts, as Docker (built only
	 * with --add-host) */
	if (r == 0 && !strcmp(np->mode, "host") && !nh &&
	    fs_read_file_at(AT_FDCWD, "/etc/hosts", &hosts, &hl, &hig) < 0)
		hosts = NULL;
	if (r == 0 && !hosts)
		hosts = net_hosts_text(hostname, addrs, naddr, hx, nh);
	for (size_t i = 0; i < nh; i++) {
		free(own[2 * i]);
		free(own[2 * i + 1]);
	}
	free(own);
	free(hx);
	if (r < 0)
		return -1;
	size_t rl;
	berr ig;
	if (fs_read_file_at(AT_FDCWD, "/etc/resolv.conf", &host_resolv, &rl, &ig) < 0)
		host_resolv = xstrdup("");
	const char *none[] = {NULL};
	const char *rl_dns[] = {rootless_dns(rlt, host_resolv), NULL};
	net_resolv_opts ro = {
	    .dns = o->dns && *o->dns ? (const char *const *)o->dns
		   : rl_dns[0]	     ? rl_dns
				     : none,
	    .search = o->dns_search ? (const char *const *)o->dns_search : none,
	    .options = o->dns_opts ? (const char *const *)o->dns_opts : none,
	    .internal_dns = np->bridged && ep.dns ? gwb : NULL,
	    .ipv6 = ep.has6,
	};
	resolv = net_resolv_text(host_resolv, &ro, !strcmp(np->mode, "host"), e);
	if (!resolv)
		return -1;
	_cleanup_free_ char *ph = xasprintf("%s/hosts", dir),
			    *pr = xasprintf("%s/resolv.conf", dir);
	if (fs_write_atomic(ph, hosts, strlen(hosts), 0644, false, e) < 0 ||
	    fs_write_atomic(pr, resolv, strlen(resolv), 0644, false, e) < 0)
		return -1;
	return 0;
}

void eng_net_plan_undo(eng *g, eng_net_plan *np, const char *id)
{
	berr ig;
	if (np->leased)
		eng_net_release(g, np->mode, id, &ig);
	np->leased = false;
}

void eng_net_plan_free(eng_net_plan *np)
{
	free(np->mode);
	json_object_put(np->bindings);
	json_object_put(np->exposed);
	memset(np, 0, sizeof(*np));
}
