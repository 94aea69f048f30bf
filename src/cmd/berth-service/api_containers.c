/* GET /containers/json and /containers/{id}/json: the records the CLI
 * writes, in Docker's list and inspect shapes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/summary.h"
#include "engine/ctr_filter.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static json_object *at(json_object *o, const char *path)
{
	char k[64];
	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(k))
			return NULL;
		memcpy(k, path, n);
		k[n] = 0;
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static json_object *copy_or(json_object *o, json_object *dflt)
{
	if (!o) {
		return dflt;
	}
	json_object_put(dflt);
	json_object *c = NULL;
	json_object_deep_copy(o, &c, NULL);
	return c;
}

/* NetworkSettings.Ports {"80/tcp": [{"HostIp","HostPort"}]} -> Docker's
 * list form [{"IP","PrivatePort","PublicPort","Type"}]. */
static json_object *ports_list(json_object *doc, bool live)
{
	json_object *out = json_object_new_array(), *ports = at(doc, "NetworkSettings.Ports");
	if (!ports || !json_object_is_type(ports, json_type_object))
		return out;
	json_object_object_foreach(ports, key, binds)
	{
		int priv = atoi(key);
		const char *slash = strchr(key, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		size_t n = binds && json_object_is_type(binds, json_type_array) && live
			       ? json_object_array_length(binds)
			       : 0;
		if (!n) {
			json_object *p = json_object_new_object();
			json_object_object_add(p, "PrivatePort", json_object_new_int(priv));
			json_object_object_add(p, "Type", json_object_new_string(proto));
			json_object_array_add(out, p);
		}
		for (size_t i = 0; i < n; i++) {
			json_object *b = json_object_array_get_idx(binds, i);
			json_object *p = json_object_new_object();
			json_object *ip = at(b, "HostIp"), *hp = at(b, "HostPort");
			json_object_object_add(
			    p, "IP", json_object_new_string(ip ? json_object_get_string(ip) : ""));
			json_object_object_add(p, "PrivatePort", json_object_new_int(priv));
			json_object_object_add(
			    p, "PublicPort",
			    json_object_new_int(hp ? atoi(json_object_get_string(hp)) : 0));
			json_object_object_add(p, "Type", json_object_new_string(proto));
			json_object_array_add(out, p);
		}
	}
	return out;
}

static json_object *summary(json_object *doc, const char *status)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Id", copy_or(at(doc, "Id"), json_object_new_string("")));
	json_object *names = json_object_new_array();
	json_object *nm = at(doc, "Name");
	json_object_array_add(names, json_object_new_string(nm ? json_object_get_string(nm) : ""));
	json_object_object_add(o, "Names", names);
	json_object_object_add(o, "Image",
			       copy_or(at(doc, "Config.Image"), json_object_new_string("")));
	json_object_object_add(o, "ImageID", copy_or(at(doc, "Image"), json_object_new_string("")));
	char *cmd = eng_command_text(doc);
	json_object_object_add(o, "Command", json_object_new_string(cmd));
	free(cmd);
	json_object_object_add(
	    o, "Created",
	    json_object_new_int64(eng_time_parse(json_object_get_string(at(doc, "Created"))) /
				  1000000000));
	bool live = !strcmp(status, "running") || !strcmp(status, "paused");
	json_object_object_add(o, "Ports", ports_list(doc, live));
	json_object_object_add(o, "Labels",
			       copy_or(at(doc, "Config.Labels"), json_object_new_object()));
	json_object_object_add(o, "State", json_object_new_string(status));
	char *st = eng_status_text(doc, status);
	json_object_object_add(o, "Status", json_object_new_string(st));
	free(st);
	json_object *hc = json_object_new_object();
	json_object_object_add(
	    hc, "NetworkMode",
	    copy_or(at(doc, "HostConfig.NetworkMode"), json_object_new_string("default")));
	json_object_object_add(o, "HostConfig", hc);
	json_object *ns = json_object_new_object();
	json_object_object_add(
	    ns, "Networks", copy_or(at(doc, "NetworkSettings.Networks"), json_object_new_object()));
	json_object_object_add(o, "NetworkSettings", ns);
	json_object_object_add(o, "Mounts", copy_or(at(doc, "Mounts"), json_object_new_array()));
	return o;
}

/* newest first, by the record's nanosecond time (Created in the answer is
 * in seconds: ties would be in no order) */
static int by_created_desc(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	int64_t cx = json_object_get_int64(at(x, "_ns")), cy = json_object_get_int64(at(y, "_ns"));
	return cx < cy ? 1 : cx > cy ? -1 : 0;
}

void api_containers_list(req *q, resp *r)
{
	bool all = req_arg_bool(q, "all");
	const char *limit_s = req_arg(q, "limit");
	long limit = -1;
	if (limit_s) {
		char *end;
		limit = strtol(limit_s, &end, 10);
		if (end == limit_s || *end || limit < -1) {
			resp_error(r, 400, "invalid limit \"%s\"", limit_s);
			return;
		}
	}
	static const char *const keys[] = {"id",    "name", "status", "exited", "ancestor",
					   "label", "pod",  "health", NULL};
	_cleanup_strv_ char **specs = NULL;
	if (req_filters(q, r, keys, &specs) < 0)
		return;
	berr e;
	ps_filter *pf = ps_filter_parse(specs, q->s->c->root, &e);
	if (!pf) {
		resp_error(r, 400, "%s", e.msg);
		return;
	}
	all = all || ps_filter_shows_stopped(pf);
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	if (!g) {
		ps_filter_free(pf);
		resp_error(r, 500, "%s", e.msg);
		return;
	}
	_cleanup_strv_ char **ids = eng_list(g);
	json_object *arr = json_object_new_array();
	for (char **p = ids; *p; p++) {
		json_object *d = eng_load(g, *p, &e);
		if (!d)
			continue;
		const char *s = eng_reconcile(g, *p, d);
		bool live = !strcmp(s, "running") || !strcmp(s, "paused");
		if (strcmp(s, "creating") && (all || live) && ps_filter_match(pf, g, d, s)) {
			json_object *o = summary(d, s);
			json_object_object_add(o, "_ns",
					       json_object_new_int64(eng_time_parse(
						   json_object_get_string(at(d, "Created")))));
			json_object_array_add(arr, o);
		}
		json_object_put(d);
	}
	eng_close(g);
	ps_filter_free(pf);
	json_object_array_sort(arr, by_created_desc);
	for (size_t k = 0; k < json_object_array_length(arr); k++)
		json_object_object_del(json_object_array_get_idx(arr, k), "_ns");
	if (limit >= 0 && (size_t)limit < json_object_array_length(arr)) {
		json_object_array_del_idx(arr, (size_t)limit,
					  json_object_array_length(arr) - (size_t)limit);
	}
	r->json = arr;
}

void api_container_inspect(req *q, resp *r)
{
	berr e;
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	json_object *doc = g ? eng_inspect(g, q->words[1], &e) : NULL;
	eng_close(g);
	if (!doc) {
		if (e.errnum == ENOENT)
			resp_error(r, 404, "No such container: %s", q->words[1]);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return;
	}
	r->json = doc;
}
