/* Network records, subnet choice and leases (see network.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/netpriv.h"
#include "util/idmap.h"
#include "net/dns.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define BRIDGE_MAX 1000 /* berth0 .. berth999 */

int net_store_open(eng *g, net_store *s, berr *e)
{
	s->dir = xasprintf("%s/networks", g->root);
	s->dirfd = s->lockfd = -1;
	if (fs_mkdir_p(s->dir, 0700, e) < 0)
		goto fail;
	s->dirfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		berr_sys(e, "open %s", s->dir);
		goto fail;
	}
	s->lockfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		berr_sys(e, "open %s/.lock", s->dir);
		goto fail;
	}
	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR) {
			berr_sys(e, "lock %s/.lock", s->dir);
			goto fail;
		}
	return 0;
fail:
	net_store_close(s);
	return -1;
}

void net_store_close(net_store *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd); /* the flock goes with it */
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->lockfd = s->dirfd = -1;
	free(s->dir);
	s->dir = NULL;
}

json_object *net_rec_read(net_store *s, const char *name, berr *e)
{
	_cleanup_free_ char *fn = xasprintf("%s.json", name), *txt = NULL;
	size_t len;
	if (fs_read_file_at(s->dirfd, fn, &txt, &len, e) < 0) {
		if (e->errnum == ENOENT)
			berr_set(e, ENOENT, "no such network: %s", name);
		return NULL;
	}
	json_object *o = json_tokener_parse(txt);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		berr_set(e, EINVAL, "%s/%s: not a network record", s->dir, fn);
		return NULL;
	}
	return o;
}

int net_rec_write(net_store *s, const char *name, json_object *rec, berr *e)
{
	_cleanup_free_ char *fn = xasprintf("%s.json", name);
	const char *txt = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	return fs_write_atomic_at(s->dirfd, fn, txt, strlen(txt), 0600, false, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **net_rec_names(net_store *s)
{
	berr ig;
	_cleanup_strv_ char **all = fs_list_at(s->dirfd, ".", &ig);
	strv_builder b = {0};
	for (char **n = all; n && *n; n++) {
		size_t l = strlen(*n);
		if ((*n)[0] != '.' && l > 5 && !strcmp(*n + l - 5, ".json"))
			strvb_push_take(&b, xstrndup(*n, l - 5));
	}
	char **v = strvb_take(&b);
	if (!v)
		return xzalloc(sizeof(char *));
	qsort(v, strv_len(v), sizeof(char *), cmp_str);
	return v;
}

/* "Name" (by name), or a full/prefix of "Id"; *name malloc'ed. */
static json_object *rec_find(net_store *s, const char *ref, char **name, berr *e)
{
	berr ig;
	if (eng_volume_name_valid(ref)) {
		json_object *o = net_rec_read(s, ref, &ig);
		if (o) {
			*name = xstrdup(ref);
			return o;
		}
	}
	_cleanup_strv_ char **all = net_rec_names(s);
	json_object *hit = NULL;
	size_t rl = strlen(ref);
	for (char **n = all; rl && *n; n++) {
		json_object *o = net_rec_read(s, *n, &ig);
		const char *id = o ? jstr(o, "Id") : NULL;
		if (id && !strncmp(id, ref, rl)) {
			if (hit) {
				json_object_put(o);
				json_object_put(hit);
				free(*name);
				*name = NULL;
				berr_set(e, EINVAL, "network id prefix \"%s\" is ambiguous", ref);
				return NULL;
			}
			hit = o;
			*name = xstrdup(*n);
			continue;
		}
		json_object_put(o);
	}
	if (!hit)
		berr_set(e, ENOENT, "no such network: %s", ref);
	return hit;
}

json_object *eng_net_load(eng *g, const char *ref, char **name, berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return NULL;
	char *nm = NULL;
	json_object *o = rec_find(&s, ref, &nm, e);
	net_store_close(&s);
	if (name)
		*name = nm;
	else
		free(nm);
	return o;
}

char **eng_net_names(eng *g)
{
	net_store s;
	berr ig;
	if (net_store_open(g, &s, &ig) < 0)
		return xzalloc(sizeof(char *));
	char **v = net_rec_names(&s);
	net_store_close(&s);
	return v;
}

int net_rec_subnet(json_object *rec, net_cidr *sub, net_cidr *range, uint32_t *gw)
{
	json_object *cfg = jpath(rec, "IPAM.Config");
	json_object *c0 =
	    cfg && json_object_array_length(cfg) ? json_object_array_get_idx(cfg, 0) : NULL;
	berr ig;
	if (!c0 || net_cidr_parse(jstr(c0, "Subnet"), sub, &ig) < 0 ||
	    net_ip_parse(jstr(c0, "Gateway"), gw, &ig) < 0)
		return -1;
	if (!jstr(c0, "IPRange") || !*jstr(c0, "IPRange") ||
	    net_cidr_parse(jstr(c0, "IPRange"), range, &ig) < 0)
		*range = *sub;
	return 0;
}

const char *net_rec_bridge(json_object *rec)
{
	return jstr(jpath(rec, "Options"), "com.docker.network.bridge.name");
}

/* What a new subnet must not overlap: the host's routes (not the default
 * route, not berth's own bridges: those are the records) and every record. */
static int overlap_check(net_store *s, net_cidr c, const char *self, bool *hit, char *what,
			 size_t wsz, berr *e)
{
	*hit = false;
	_cleanup_strv_ char **all = net_rec_names(s);
	berr ig;
	for (char **n = all; *n; n++) {
		json_object *o = net_rec_read(s, *n, &ig);
		net_cidr sub, rg;
		uint32_t gw;
		if (o && strcmp(*n, self) && net_rec_subnet(o, &sub, &rg, &gw) == 0 &&
		    net_cidr_overlap(sub, c)) {
			char b[20];
			snprintf(what, wsz, "network %s (%s)", *n, net_cidr_fmt(sub, b, sizeof(b)));
			*hit = true;
		}
		json_object_put(o);
		if (*hit)
			return 0;
	}
	nl_sock nl;
	if (nl_open(&nl, -1, e) < 0)
		return -1;
	nl_route4 *rt = NULL;
	size_t nrt = 0;
	int r = nl_routes4(&nl, &rt, &nrt, e);
	nl_close(&nl);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < nrt && !*hit; i++) {
		/* another store's bridges count too (--root): bridges and
		 * subnets are the host's */
		if (rt[i].prefix == 0)
			continue;
		net_cidr rc = {ntohl(rt[i].dst.s_addr), rt[i].prefix};
		if (net_cidr_overlap(rc, c)) {
			char b[20];
			snprintf(what, wsz, "the host route %s dev %s",
				 net_cidr_fmt(rc, b, sizeof(b)), rt[i].dev);
			*hit = true;
		}
	}
	free(rt);
	return 0;
}

static int pick_subnet(net_store *s, bool is_default, net_cidr *out, berr *e)
{
	/* Docker's default pools: 172.17-31.0.0/16, then 192.168.N.0/20 */
	for (int i = is_default ? 0 : 1; i < 15 + 16; i++) {
		net_cidr c =
		    i < 15
			? (net_cidr){(172u << 24) | ((17u + (uint32_t)i) << 16), 16}
			: (net_cidr){(192u << 24) | (168u << 16) | ((uint32_t)(i - 15) << 12), 20};
		bool hit;
		char what[128];
		if (overlap_check(s, c, "", &hit, what, sizeof(what), e) < 0)
			return -1;
		if (!hit) {
			*out = c;
			return 0;
		}
	}
	return berr_set(e, ENOSPC,
			"no free subnet in 172.17.0.0/16-172.31.0.0/16 or 192.168.0.0/16: "
			"give one with --subnet");
}

/* The first berthN that no record of this store names and no link of the
 * host has (other stores, --root, have their own records). */
static int pick_bridge(net_store *s, bool is_default, char out[16], berr *e)
{
	_cleanup_strv_ char **all = net_rec_names(s);
	bool used[BRIDGE_MAX] = {0};
	berr ig;
	for (char **n = all; *n; n++) {
		json_object *o = net_rec_read(s, *n, &ig);
		const char *br = o ? net_rec_bridge(o) : NULL;
		int k;
		if (br && sscanf(br, "berth%d", &k) == 1 && k >= 0 && k < BRIDGE_MAX)
			used[k] = true;
		json_object_put(o);
	}
	nl_sock nl;
	if (nl_open(&nl, -1, e) < 0)
		return -1;
	_cleanup_strv_ char **links = nl_link_names(&nl, "berth", &ig);
	nl_close(&nl);
	for (char **l = links; l && *l; l++) {
		int k;
		char tail;
		if (sscanf(*l, "berth%d%c", &k, &tail) == 1 && k >= 0 && k < BRIDGE_MAX)
			used[k] = true;
	}
	/* the default network takes berth0 when it is free */
	for (int k = is_default ? 0 : 1; k < BRIDGE_MAX; k++)
		if (!used[k]) {
			snprintf(out, 16, "berth%u", (unsigned)k % 1000u);
			return 0;
		}
	for (int k = 0; k < BRIDGE_MAX; k++)
		if (!used[k]) {
			snprintf(out, 16, "berth%u", (unsigned)k % 1000u);
			return 0;
		}
	return berr_set(e, ENOSPC, "too many networks (%d)", BRIDGE_MAX);
}

/* Bridge + nftables of a record: made at create and again when missing
 * (after a reboot). */
int net_realize(eng *g, json_object *rec, berr *e)
{
	net_cidr sub, rg;
	uint32_t gw;
	const char *br = net_rec_bridge(rec);
	if (!br || net_rec_subnet(rec, &sub, &rg, &gw) < 0)
		return berr_set(e, EINVAL, "network %s: a broken record", jstr(rec, "Name"));
	(void)g;
	nl_sock nl;
	if (nl_open(&nl, -1, e) < 0)
		return -1;
	int ifx;
	bool created = false;
	int r = nl_bridge_ensure(&nl, br, (struct in_addr){htonl(gw)}, sub.prefix, 0, &ifx,
				 &created, e);
	if (r == 0)
		r = nl_ip_forward_enable(e);
	if (r == 0)
		r = net6_realize(&nl, rec, br, ifx, e);
	if (r == 0) {
		bnft *n = bnft_open(e);
		bnft_net bn = {.bridge = br,
			       .subnet = {htonl(sub.addr)},
			       .prefix = sub.prefix,
			       .internal = jbool(rec, "Internal")};
		r = n ? bnft_network_add(n, &bn, e) : -1;
		bnft_close(n);
	}
	if (r < 0 && created) {
		berr ig;
		nl_link_del(&nl, br, &ig);
	}
	nl_close(&nl);
	return r < 0 ? berr_ctx(e, "network %s", jstr(rec, "Name")) : 0;
}

static json_object *rec_new(const char *name, const eng_net_opts *o, net_cidr sub, uint32_t gw,
			    const char *range, const char *bridge)
{
	json_object *r = json_object_new_object();
	char id[65], b[20], gb[16];
	eng_new_id(id);
	char *now = eng_time_now();
	json_object_object_add(r, "Name", json_object_new_string(name));
	json_object_object_add(r, "Id", json_object_new_string(id));
	json_object_object_add(r, "Created", json_object_new_string(now));
	free(now);
	json_object_object_add(r, "Scope", json_object_new_string("local"));
	json_object_object_add(r, "Driver", json_object_new_string("bridge"));
	json_object_object_add(r, "EnableIPv6", json_object_new_boolean(o->ipv6));
	json_object *ipam = json_object_new_object(), *cfg = json_object_new_array(),
		    *c0 = json_object_new_object();
	json_object_object_add(c0, "Subnet",
			       json_object_new_string(net_cidr_fmt(sub, b, sizeof(b))));
	json_object_object_add(c0, "Gateway",
			       json_object_new_string(net_ip_fmt(gw, gb, sizeof(gb))));
	if (range)
		json_object_object_add(c0, "IPRange", json_object_new_string(range));
	json_object_array_add(cfg, c0);
	json_object_object_add(ipam, "Driver", json_object_new_string("default"));
	json_object_object_add(ipam, "Options", json_object_new_object());
	json_object_object_add(ipam, "Config", cfg);
	json_object_object_add(r, "IPAM", ipam);
	json_object_object_add(r, "Internal", json_object_new_boolean(o->internal));
	json_object_object_add(r, "Attachable", json_object_new_boolean(false));
	json_object_object_add(r, "Ingress", json_object_new_boolean(false));
	json_object_object_add(r, "Containers", json_object_new_object());
	json_object *opts = json_object_new_object();
	json_object_object_add(opts, "com.docker.network.bridge.name",
			       json_object_new_string(bridge));
	json_object_object_add(r, "Options", opts);
	json_object *labels = json_object_new_object();
	for (char **l = o->labels; l && *l; l++) {
		const char *eq = strchr(*l, '=');
		_cleanup_free_ char *k = eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
		json_object_object_add(labels, k, json_object_new_string(eq ? eq + 1 : ""));
	}
	json_object_object_add(r, "Labels", labels);
	json_object_object_add(r, "BerthDNS", json_object_new_boolean(!o->disable_dns));
	return r;
}

static json_object *create_locked(eng *g, net_store *s, const eng_net_opts *o, bool is_default,
				  berr *e)
{
	const char *name = o->name;
	if (!name || !eng_volume_name_valid(name))
		return berr_set(e, EINVAL,
				"invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
				"allowed",
				name ? name : ""),
		       NULL;
	if (!is_default &&
	    (!strcmp(name, "none") || !strcmp(name, "host") || !strcmp(name, ENG_NET_DEFAULT)))
		return berr_set(e, EEXIST, "network name %s is reserved", name), NULL;
	if (o->driver && strcmp(o->driver, "bridge"))
		return berr_set(e, EINVAL, "network driver \"%s\" is not supported (bridge only)",
				o->driver),
		       NULL;
	berr ig;
	json_object *old = net_rec_read(s, name, &ig);
	if (old) {
		json_object_put(old);
		return berr_set(e, EEXIST, "network with name %s already exists", name), NULL;
	}
	for (char **opt = o->options; opt && *opt; opt++)
		return berr_set(e, EINVAL, "network option \"%s\" is not supported", *opt), NULL;
	net_cidr sub;
	if (o->subnet) {
		if (net_cidr_parse(o->subnet, &sub, e) < 0)
			return NULL;
		if (sub.prefix > 30)
			return berr_set(e, EINVAL, "subnet %s is too small (at most /30)",
					o->subnet),
			       NULL;
		bool hit;
		char what[160];
		if (overlap_check(s, sub, name, &hit, what, sizeof(what), e) < 0)
			return NULL;
		if (hit)
			return berr_set(e, EEXIST, "subnet %s overlaps %s", o->subnet, what), NULL;
	} else if (o->gateway || o->ip_range) {
		return berr_set(e, EINVAL, "--gateway and --ip-range need --subnet"), NULL;
	} else if (pick_subnet(s, is_default, &sub, e) < 0) {
		return NULL;
	}
	uint32_t gw = sub.addr + 1;
	if (o->gateway) {
		if (net_ip_parse(o->gateway, &gw, e) < 0)
			return berr_ctx(e, "--gateway"), NULL;
		if (!net_cidr_contains(sub, gw) || gw == sub.addr || gw == net_cidr_broadcast(sub))
			return berr_set(e, EINVAL, "gateway %s is not a host address of subnet %s",
					o->gateway, o->subnet),
			       NULL;
	}
	if (o->ip_range) {
		net_cidr rg;
		if (net_cidr_parse(o->ip_range, &rg, e) < 0)
			return berr_ctx(e, "--ip-range"), NULL;
		if (rg.prefix < sub.prefix || !net_cidr_contains(sub, rg.addr))
			return berr_set(e, EINVAL, "ip range %s is not inside subnet %s",
					o->ip_range, o->subnet),
			       NULL;
	}
	char bridge[16];
	if (pick_bridge(s, is_default, bridge, e) < 0)
		return NULL;
	json_object *rec = rec_new(name, o, sub, gw, o->ip_range, bridge);
	if (net6_config_add(s, o, rec, e) < 0) {
		json_object_put(rec);
		return NULL;
	}
	if (is_default)
		json_object_object_add(rec, "BerthDNS", json_object_new_boolean(false));
	/* the record first: a kill -9 before the bridge leaves a record
	 * whose bridge is made on first use, never a bridge without record */
	if (net_rec_write(s, name, rec, e) < 0 || net_realize(g, rec, e) < 0) {
		_cleanup_free_ char *fn = xasprintf("%s.json", name);
		unlinkat(s->dirfd, fn, 0);
		json_object_put(rec);
		return NULL;
	}
	return rec;
}

json_object *eng_net_create(eng *g, const eng_net_opts *o, berr *e)
{
	/* a bridge of a rootless user needs a rootless netns (Podman's): none
	 * yet, so nothing is made */
	if (geteuid() != 0 || idmap_in_userns()) {
		berr_set(e, ENOTSUP,
			 "network create: bridge networks are not supported for rootless yet "
			 "(containers use pasta or slirp4netns)");
		return NULL;
	}
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return NULL;
	json_object *r = create_locked(g, &s, o, false, e);
	net_store_close(&s);
	return r;
}

int eng_net_ensure_default(eng *g, berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	berr ig;
	json_object *r = net_rec_read(&s, ENG_NET_DEFAULT, &ig);
	if (!r) {
		eng_net_opts o = {.name = ENG_NET_DEFAULT, .disable_dns = true};
		r = create_locked(g, &s, &o, true, e);
	}
	net_store_close(&s);
	json_object_put(r);
	return r ? 0 : -1;
}

int eng_net_remove(eng *g, const char *ref, berr *e)
{
	net_store s;
	if (net_store_open(g, &s, e) < 0)
		return -1;
	_cleanup_free_ char *name = NULL, *dnsdir = net_dns_dir(g), *fn = NULL;
	json_object *rec = rec_find(&s, ref, &name, e);
	int r = -1;
	if (!rec)
		goto out;
	json_object *ctrs = jpath(rec, "Containers");
	json_object_object_foreach(ctrs, cid, ep)
	{
		/* a lease whose container is gone (a crash between the two) does
		 * not keep the network: `system check` reports such leases */
		char rp[96];
		snprintf(rp, sizeof(rp), "%.64s/container.json", cid);
		if (faccessat(g->ctrs_fd, rp, F_OK, 0) < 0 && errno == ENOENT)
			continue;
		berr_set(e, EBUSY, "network %s is in use by container %s (%.12s)", name,
			 jstr(ep, "Name") ? jstr(ep, "Name") : "?", cid);
		goto out;
	}
	net_cidr sub, rg;
	uint32_t gw;
	const char *br = net_rec_bridge(rec);
	if (br && net_rec_subnet(rec, &sub, &rg, &gw) == 0) {
		bnft *n = bnft_open(e);
		bnft_net bn = {.bridge = br,
			       .subnet = {htonl(sub.addr)},
			       .prefix = sub.prefix,
			       .internal = jbool(rec, "Internal")};
		if (!n || bnft_network_del(n, &bn, e) < 0 || net6_unrealize(rec, br, e) < 0) {
			bnft_close(n);
			goto out;
		}
		bnft_close(n);
		nl_sock nl;
		if (nl_open(&nl, -1, e) < 0)
			goto out;
		int dr = nl_link_del(&nl, br, e);
		nl_close(&nl);
		if (dr < 0)
			goto out;
	}
	berr ig;
	net_dns_write(dnsdir, name, (struct in_addr){0}, NULL, NULL, 0, &ig);
	fn = xasprintf("%s.json", name);
	if (unlinkat(s.dirfd, fn, 0) < 0) {
		berr_sys(e, "remove %s/%s", s.dir, fn);
		goto out;
	}
	r = 0;
out:
	json_object_put(rec);
	net_store_close(&s);
	return r;
}
