/* Volumes and networks: GET /volumes, POST /volumes/create,
 * GET|DELETE /volumes/{name}, POST /volumes/prune; GET /networks,
 * GET|DELETE /networks/{id}, POST /networks/create. The records are the
 * CLI's (Docker's shapes already). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/network.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static eng *open_eng(req *q, resp *r)
{
	berr e;
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	if (!g)
		resp_error(r, 500, "%s", e.msg);
	return g;
}

static void fail(resp *r, const berr *e)
{
	resp_error(r, status_of_errno(e->errnum), "%s", e->msg);
}

static json_object *body_of(req *q, resp *r)
{
	json_object *b =
	    q->body && q->body_len ? json_tokener_parse(q->body) : json_object_new_object();
	if (!b || !json_object_is_type(b, json_type_object)) {
		json_object_put(b);
		resp_error(r, 400, "the request body is not a JSON object");
		return NULL;
	}
	return b;
}

/* dangling=true|false: no container uses it (or one does) */
static bool volume_key(void *arg, const char *key, const char *val)
{
	void **a = arg;
	if (strcmp(key, "dangling"))
		return false;
	char id[65];
	bool used = eng_volume_user(a[0], a[1], id);
	return !strcmp(val, "true") || !strcmp(val, "1") ? !used : used;
}

void api_volumes_list(req *q, resp *r)
{
	static const char *const keys[] = {"name", "label", "driver", "dangling", NULL};
	_cleanup_strv_ char **specs = NULL;
	if (req_filters(q, r, keys, &specs) < 0)
		return;
	eng *g = open_eng(q, r);
	if (!g)
		return;
	_cleanup_strv_ char **names = eng_volume_list(g);
	json_object *vols = json_object_new_array();
	for (char **n = names; *n; n++) {
		berr ig;
		json_object *v = eng_volume_inspect(g, *n, &ig);
		void *arg[2] = {g, *n};
		if (v && filters_match(specs, v, volume_key, arg)) {
			json_object_object_del(v, "Anonymous");
			json_object_array_add(vols, v);
		} else {
			json_object_put(v);
		}
	}
	eng_close(g);
	r->json = json_object_new_object();
	json_object_object_add(r->json, "Volumes", vols);
	json_object_object_add(r->json, "Warnings", json_object_new_array());
}

void api_volume_create(req *q, resp *r)
{
	json_object *b = body_of(q, r);
	if (!b)
		return;
	const char *name = svc_jstr(b, "Name"), *driver = svc_jstr(b, "Driver");
	json_object *opts;
	if (driver && *driver && strcmp(driver, "local")) {
		resp_error(r, 400, "Driver %s: only local volumes", driver);
	} else if (json_object_object_get_ex(b, "DriverOpts", &opts) &&
		   json_object_is_type(opts, json_type_object) && json_object_object_length(opts)) {
		resp_error(r, 400, "DriverOpts: not supported by berth");
	} else {
		eng *g = open_eng(q, r);
		berr e;
		char *made = NULL;
		bool created;
		if (g &&
		    eng_volume_get(g, name && *name ? name : NULL, -1, &made, &created, &e) < 0)
			fail(r, &e);
		else if (g) {
			json_object *v = eng_volume_inspect(g, made, &e);
			if (v) {
				json_object_object_del(v, "Anonymous");
				r->status = 201;
				r->json = v;
			} else {
				fail(r, &e);
			}
		}
		free(made);
		eng_close(g);
	}
	json_object_put(b);
}

void api_volume_inspect(req *q, resp *r)
{
	eng *g = open_eng(q, r);
	if (!g)
		return;
	berr e;
	json_object *v = eng_volume_inspect(g, q->words[1], &e);
	eng_close(g);
	if (!v) {
		fail(r, &e);
		return;
	}
	json_object_object_del(v, "Anonymous");
	r->json = v;
}

void api_volume_remove(req *q, resp *r)
{
	eng *g = open_eng(q, r);
	if (!g)
		return;
	berr e;
	if (eng_volume_remove(g, q->words[1], &e) < 0)
		fail(r, &e);
	else
		r->status = 204;
	eng_close(g);
}

/* Docker 23's rule: anonymous volumes no container uses (all=true: every unused one). */
void api_volumes_prune(req *q, resp *r)
{
	eng *g = open_eng(q, r);
	if (!g)
		return;
	const char *filters = req_arg(q, "filters");
	bool all = filters && strstr(filters, "\"all\"") && strstr(filters, "true");
	_cleanup_strv_ char **names = eng_volume_list(g);
	json_object *gone = json_object_new_array();
	for (char **n = names; *n; n++) {
		char id[65];
		berr ig;
		if ((all || eng_volume_anonymous(g, *n)) && !eng_volume_user(g, *n, id) &&
		    eng_volume_remove(g, *n, &ig) == 0)
			json_object_array_add(gone, json_object_new_string(*n));
	}
	eng_close(g);
	r->json = json_object_new_object();
	json_object_object_add(r->json, "VolumesDeleted", gone);
	json_object_object_add(r->json, "SpaceReclaimed", json_object_new_int(0));
}

/* A network record as the API shows it: the bridge's name berth picked is
 * not an option the user gave (Docker shows none for a user network, and
 * docker-compose takes any other option as a changed network to recreate). */
static json_object *net_public(json_object *rec)
{
	json_object *opts, *name;
	if (rec && json_object_object_get_ex(rec, "Name", &name) &&
	    strcmp(json_object_get_string(name), ENG_NET_DEFAULT) &&
	    json_object_object_get_ex(rec, "Options", &opts))
		json_object_object_del(opts, "com.docker.network.bridge.name");
	return rec;
}

void api_networks_list(req *q, resp *r)
{
	static const char *const keys[] = {"name", "id", "label", "driver", NULL};
	_cleanup_strv_ char **specs = NULL;
	if (req_filters(q, r, keys, &specs) < 0)
		return;
	eng *g = open_eng(q, r);
	if (!g)
		return;
	_cleanup_strv_ char **names = eng_net_names(g);
	json_object *arr = json_object_new_array();
	for (char **n = names; *n; n++) {
		berr ig;
		json_object *rec = eng_net_load(g, *n, NULL, &ig);
		if (rec && filters_match(specs, rec, NULL, NULL))
			json_object_array_add(arr, net_public(rec));
		else
			json_object_put(rec);
	}
	eng_close(g);
	r->json = arr;
}

void api_network_inspect(req *q, resp *r)
{
	eng *g = open_eng(q, r);
	if (!g)
		return;
	berr e;
	json_object *rec = eng_net_load(g, q->words[1], NULL, &e);
	eng_close(g);
	if (!rec) {
		if (e.errnum == ENOENT)
			resp_error(r, 404, "network %s not found", q->words[1]);
		else
			fail(r, &e);
		return;
	}
	r->json = net_public(rec);
}

void api_network_remove(req *q, resp *r)
{
	eng *g = open_eng(q, r);
	if (!g)
		return;
	berr e;
	if (eng_net_remove(g, q->words[1], &e) < 0) {
		if (e.errnum == ENOENT)
			resp_error(r, 404, "network %s not found", q->words[1]);
		else
			fail(r, &e);
	} else {
		r->status = 204;
	}
	eng_close(g);
}

/* POST /networks/create {Name, Driver, Internal, EnableIPv6, IPAM{Config[{Subnet,
 * Gateway, IPRange}]}, Labels, Options} */
void api_network_create(req *q, resp *r)
{
	json_object *b = body_of(q, r);
	if (!b)
		return;
	eng_net_opts o = {.name = svc_jstr(b, "Name"), .driver = svc_jstr(b, "Driver")};
	json_object *v, *ipam, *cfgs;
	o.internal = json_object_object_get_ex(b, "Internal", &v) && json_object_get_boolean(v);
	o.ipv6 = json_object_object_get_ex(b, "EnableIPv6", &v) && json_object_get_boolean(v);
	strv_builder labels = {0}, options = {0};
	if (json_object_object_get_ex(b, "Labels", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, lv)
		{
			char *kv = xasprintf("%s=%s", k, json_object_get_string(lv));
			strvb_push(&labels, kv);
			free(kv);
		}
	}
	if (json_object_object_get_ex(b, "Options", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, ov)
		{
			char *kv = xasprintf("%s=%s", k, json_object_get_string(ov));
			strvb_push(&options, kv);
			free(kv);
		}
	}
	o.labels = labels.v;
	o.options = options.v;
	if (json_object_object_get_ex(b, "IPAM", &ipam) &&
	    json_object_object_get_ex(ipam, "Config", &cfgs) &&
	    json_object_is_type(cfgs, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(cfgs); i++) {
			json_object *c = json_object_array_get_idx(cfgs, i);
			const char *sub = svc_jstr(c, "Subnet");
			bool six = sub && strchr(sub, ':');
			*(six ? &o.subnet6 : &o.subnet) = sub;
			*(six ? &o.gateway6 : &o.gateway) = svc_jstr(c, "Gateway");
			*(six ? &o.ip_range6 : &o.ip_range) = svc_jstr(c, "IPRange");
		}
	}
	if (!o.name || !*o.name) {
		resp_error(r, 400, "Name: required");
	} else {
		eng *g = open_eng(q, r);
		berr e;
		json_object *rec = g ? eng_net_create(g, &o, &e) : NULL;
		if (g && !rec) {
			if (e.errnum == EEXIST)
				resp_error(r, 409, "%s", e.msg);
			else
				fail(r, &e);
		} else if (rec) {
			r->status = 201;
			r->json = json_object_new_object();
			json_object *id;
			json_object_object_get_ex(rec, "Id", &id);
			json_object_object_add(r->json, "Id", json_object_get(id));
			json_object_object_add(r->json, "Warning", json_object_new_string(""));
			json_object_put(rec);
		}
		eng_close(g);
	}
	strvb_free(&labels);
	strvb_free(&options);
	json_object_put(b);
}

/* POST /networks/{id}/connect {Container, EndpointConfig: {Aliases,
 * IPAMConfig: {IPv4Address, IPv6Address}}} and /disconnect {Container,
 * Force}: `berth network connect/disconnect`. */
static void net_connect(req *q, resp *r, bool connect)
{
	json_object *b = body_of(q, r);
	if (!b)
		return;
	const char *ctr = svc_jstr(b, "Container");
	if (!ctr || !*ctr) {
		json_object_put(b);
		resp_error(r, 400, "Container: required");
		return;
	}
	json_object *ep = NULL, *ipam = NULL, *al = NULL;
	json_object_object_get_ex(b, "EndpointConfig", &ep);
	if (ep)
		json_object_object_get_ex(ep, "IPAMConfig", &ipam);
	if (ep)
		json_object_object_get_ex(ep, "Aliases", &al);
	const char *ip = ipam ? svc_jstr(ipam, "IPv4Address") : NULL,
		   *ip6 = ipam ? svc_jstr(ipam, "IPv6Address") : NULL;
	strv_builder aliases = {0};
	for (size_t i = 0; al && json_object_is_type(al, json_type_array) &&
			   i < json_object_array_length(al) && i < 256;
	     i++)
		strvb_push(&aliases, json_object_get_string(json_object_array_get_idx(al, i)));
	eng *g = open_eng(q, r);
	berr e;
	int rc = 0;
	if (g && connect)
		rc = eng_net_connect(g, ctr, q->words[1], ip && *ip ? ip : NULL,
				     ip6 && *ip6 ? ip6 : NULL, aliases.v, &e);
	else if (g)
		rc = eng_net_disconnect(g, ctr, q->words[1], &e);
	if (g && rc < 0)
		fail(r, &e);
	else if (g)
		r->status = 200, r->text = xstrdup("");
	eng_close(g);
	strvb_free(&aliases);
	json_object_put(b);
}

void api_network_connect(req *q, resp *r)
{
	net_connect(q, r, true);
}

void api_network_disconnect(req *q, resp *r)
{
	net_connect(q, r, false);
}
