/* POST /containers/create: Docker's create body (Config + HostConfig +
 * NetworkingConfig) translated into `berth create`'s options, and the
 * engine makes the container. A field berth does not support is refused by
 * its name when it is set (a client sends every field, most of them zero:
 * null, false, 0, "", [] and {} count as not set). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/health.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* The create options and the strings they point into. */
typedef struct copts {
	eng_run_opts o;
	strv_builder cmd, env, vols, mounts, tmpfs, caps_add, caps_drop, publish, expose, dns,
	    dns_search, dns_opts, hosts, aliases, labels, sec, ulimits, log_opts, health;
	char *entry, *memory, *cpus, *pids, *name, *restart;
	eng_probe probe; /* Config.Healthcheck */
} copts;

static void copts_free(copts *c)
{
	strv_builder *v[] = {&c->cmd,	     &c->env,	    &c->vols,	  &c->mounts,  &c->tmpfs,
			     &c->caps_add,   &c->caps_drop, &c->publish,  &c->expose,  &c->dns,
			     &c->dns_search, &c->dns_opts,  &c->hosts,	  &c->aliases, &c->labels,
			     &c->sec,	     &c->ulimits,   &c->log_opts, &c->health};
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
		strvb_free(v[i]);
	free(c->entry);
	free(c->memory);
	free(c->cpus);
	free(c->pids);
	free(c->name);
	free(c->restart);
}

static const char *const config_keys[] = {"Hostname",
					  "Domainname",
					  "User",
					  "AttachStdin",
					  "AttachStdout",
					  "AttachStderr",
					  "ExposedPorts",
					  "Tty",
					  "OpenStdin",
					  "StdinOnce",
					  "Env",
					  "Cmd",
					  "Image",
					  "Volumes",
					  "WorkingDir",
					  "Entrypoint",
					  "Labels",
					  "HostConfig",
					  "NetworkingConfig",
					  "StopSignal",
					  "Healthcheck",
					  "ArgsEscaped",
					  "NetworkDisabled",
					  NULL};
static const char *const host_keys[] = {"Binds",
					"Mounts",
					"Tmpfs",
					"Memory",
					"NanoCpus",
					"CpuQuota",
					"CpuPeriod",
					"PidsLimit",
					"CapAdd",
					"CapDrop",
					"Privileged",
					"ReadonlyRootfs",
					"NetworkMode",
					"PortBindings",
					"PublishAllPorts",
					"AutoRemove",
					"Init",
					"IpcMode",
					"PidMode",
					"UTSMode",
					"CgroupParent",
					"Dns",
					"DnsSearch",
					"DnsOptions",
					"ExtraHosts",
					"LogConfig",
					"Ulimits",
					"SecurityOpt",
					"UsernsMode",
					"RestartPolicy",
					"ConsoleSize",
					"MemorySwappiness",
					"OomKillDisable",
					NULL};

static int host_config(json_object *hc, copts *c, resp *r)
{
	const char *w = "HostConfig.";
	if (svc_known_only(hc, host_keys, w, r) < 0 || svc_jstrs(hc, "Binds", &c->vols, r, w) < 0 ||
	    svc_jstrs(hc, "CapAdd", &c->caps_add, r, w) < 0 ||
	    svc_jstrs(hc, "CapDrop", &c->caps_drop, r, w) < 0 ||
	    svc_jstrs(hc, "Dns", &c->dns, r, w) < 0 ||
	    svc_jstrs(hc, "DnsSearch", &c->dns_search, r, w) < 0 ||
	    svc_jstrs(hc, "DnsOptions", &c->dns_opts, r, w) < 0 ||
	    svc_jstrs(hc, "ExtraHosts", &c->hosts, r, w) < 0 ||
	    svc_jstrs(hc, "SecurityOpt", &c->sec, r, w) < 0)
		return -1;
	json_object *rp = svc_jget(hc, "RestartPolicy");
	const char *rpn = rp ? svc_jstr(rp, "Name") : NULL;
	if (rpn && *rpn) { /* checked by the engine (eng_restart_parse) */
		json_object *mx = svc_jget(rp, "MaximumRetryCount");
		int64_t n = mx ? json_object_get_int64(mx) : 0;
		c->o.restart = c->restart = n > 0 && !strcmp(rpn, "on-failure")
						? xasprintf("%s:%lld", rpn, (long long)n)
						: xstrdup(rpn);
	}
	json_object *mems = svc_jget(hc, "Memory"), *nc = svc_jget(hc, "NanoCpus"),
		    *pl = svc_jget(hc, "PidsLimit");
	if (mems && json_object_get_int64(mems) > 0)
		c->o.memory = c->memory = xasprintf("%lld", (long long)json_object_get_int64(mems));
	json_object *cq = svc_jget(hc, "CpuQuota"), *cp = svc_jget(hc, "CpuPeriod");
	if (nc && json_object_get_int64(nc) > 0)
		c->o.cpus = c->cpus = xasprintf("%.9f", (double)json_object_get_int64(nc) / 1e9);
	else if (cq && json_object_get_int64(cq) > 0)
		c->o.cpus = c->cpus =
		    xasprintf("%.9f", (double)json_object_get_int64(cq) /
					  (double)(cp && json_object_get_int64(cp) > 0
						       ? json_object_get_int64(cp)
						       : 100000));
	if (pl && json_object_get_int64(pl) > 0)
		c->o.pids_limit = c->pids = xasprintf("%lld", (long long)json_object_get_int64(pl));
	c->o.privileged = json_object_get_boolean(svc_jget(hc, "Privileged"));
	c->o.read_only = json_object_get_boolean(svc_jget(hc, "ReadonlyRootfs"));
	c->o.publish_all = json_object_get_boolean(svc_jget(hc, "PublishAllPorts"));
	c->o.rm = json_object_get_boolean(svc_jget(hc, "AutoRemove"));
	c->o.init = json_object_get_boolean(svc_jget(hc, "Init"));
	const char *nm = svc_jstr(hc, "NetworkMode");
	c->o.network = nm && *nm && strcmp(nm, "default") ? nm : NULL;
	const char *ipc = svc_jstr(hc, "IpcMode"), *pid = svc_jstr(hc, "PidMode"),
		   *uts = svc_jstr(hc, "UTSMode");
	c->o.ipc = ipc && *ipc ? ipc : NULL;
	c->o.pid = pid && *pid ? pid : NULL;
	c->o.uts = uts && *uts ? uts : NULL;
	const char *cg = svc_jstr(hc, "CgroupParent"), *un = svc_jstr(hc, "UsernsMode");
	c->o.cgroup_parent = cg && *cg ? cg : NULL;
	c->o.userns = un && *un ? un : NULL;
	json_object *tmp = svc_jget(hc, "Tmpfs");
	if (tmp && json_object_is_type(tmp, json_type_object)) {
		json_object_object_foreach(tmp, dst, opts)
		{
			const char *os = json_object_get_string(opts);
			char *t = os && *os ? xasprintf("%s:%s", dst, os) : xstrdup(dst);
			strvb_push(&c->tmpfs, t);
			free(t);
		}
	}
	json_object *pb = svc_jget(hc, "PortBindings");
	if (pb && json_object_is_type(pb, json_type_object)) {
		json_object_object_foreach(pb, port, binds)
		{
			size_t n = json_object_is_type(binds, json_type_array)
				       ? json_object_array_length(binds)
				       : 0;
			for (size_t i = 0; i < n; i++) {
				json_object *b = json_object_array_get_idx(binds, i);
				const char *ip = svc_jstr(b, "HostIp"),
					   *hp = svc_jstr(b, "HostPort");
				char *sp = xasprintf("%s%s%s:%s", ip && *ip ? ip : "",
						     ip && *ip ? ":" : "", hp ? hp : "", port);
				strvb_push(&c->publish, sp);
				free(sp);
			}
			if (!n)
				strvb_push(&c->expose, port);
		}
	}
	json_object *mounts = svc_jget(hc, "Mounts");
	for (size_t i = 0; mounts && json_object_is_type(mounts, json_type_array) &&
			   i < json_object_array_length(mounts);
	     i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *t = svc_jstr(m, "Type"), *src = svc_jstr(m, "Source"),
			   *dst = svc_jstr(m, "Target");
		bool ro = json_object_get_boolean(svc_jget(m, "ReadOnly"));
		if (!t || !dst) {
			resp_error(r, 400, "HostConfig.Mounts[%zu]: Type and Target are required",
				   i);
			return -1;
		}
		char *sp = xasprintf("type=%s%s%s,target=%s%s", t, src && *src ? ",source=" : "",
				     src && *src ? src : "", dst, ro ? ",readonly" : "");
		strvb_push(&c->mounts, sp);
		free(sp);
	}
	json_object *ul = svc_jget(hc, "Ulimits");
	for (size_t i = 0;
	     ul && json_object_is_type(ul, json_type_array) && i < json_object_array_length(ul);
	     i++) {
		json_object *u = json_object_array_get_idx(ul, i);
		char *sp = xasprintf("%s=%lld:%lld", svc_jstr(u, "Name") ? svc_jstr(u, "Name") : "",
				     (long long)json_object_get_int64(svc_jget(u, "Soft")),
				     (long long)json_object_get_int64(svc_jget(u, "Hard")));
		strvb_push(&c->ulimits, sp);
		free(sp);
	}
	json_object *lc = svc_jget(hc, "LogConfig");
	const char *lt = lc ? svc_jstr(lc, "Type") : NULL;
	c->o.log_driver = lt && *lt ? lt : NULL;
	json_object *lco = lc ? svc_jget(lc, "Config") : NULL;
	if (lco && json_object_is_type(lco, json_type_object)) {
		json_object_object_foreach(lco, k, v)
		{
			char *kv = xasprintf("%s=%s", k, json_object_get_string(v));
			strvb_push(&c->log_opts, kv);
			free(kv);
		}
	}
	return 0;
}

static int networking(json_object *nc, copts *c, resp *r)
{
	json_object *eps = svc_jget(nc, "EndpointsConfig");
	if (!eps || !json_object_is_type(eps, json_type_object))
		return 0;
	if (json_object_object_length(eps) > 1) {
		resp_error(r, 400,
			   "NetworkingConfig.EndpointsConfig: one network at create "
			   "(connect the others after)");
		return -1;
	}
	json_object_object_foreach(eps, net, ep)
	{
		if (!c->o.network || !strcmp(c->o.network, "bridge"))
			c->o.network = net;
		if (svc_jstrs(ep, "Aliases", &c->aliases, r, "NetworkingConfig.EndpointsConfig.") <
		    0)
			return -1;
		json_object *ipam = svc_jget(ep, "IPAMConfig");
		const char *ip4 = ipam ? svc_jstr(ipam, "IPv4Address") : NULL;
		c->o.ip = ip4 && *ip4 ? ip4 : NULL;
		const char *mac = svc_jstr(ep, "MacAddress");
		c->o.mac = mac && *mac ? mac : NULL;
	}
	return 0;
}

/* Whether a bind ("SRC:DST[:OPTS]") or a mount ("...,target=DST,...")
 * already goes to dst. */
static bool covered(const copts *c, const char *dst)
{
	size_t dl = strlen(dst);
	for (size_t i = 0; i < c->vols.n; i++) {
		const char *b = strchr(c->vols.v[i], ':');
		if (b && !strncmp(b + 1, dst, dl) && (b[1 + dl] == ':' || !b[1 + dl]))
			return true;
	}
	for (size_t i = 0; i < c->mounts.n; i++) {
		const char *t = strstr(c->mounts.v[i], "target=");
		if (t && !strncmp(t + 7, dst, dl) && (t[7 + dl] == ',' || !t[7 + dl]))
			return true;
	}
	return false;
}

/* Config.Healthcheck: Test ["CMD", args...] | ["CMD-SHELL", line] |
 * ["NONE"] | [] (the image's), durations in ns, Retries; 0 keeps the
 * image's (or Docker's default) value, as the CLI's --health-* flags. */
static int healthcheck(json_object *hc, copts *c, resp *r)
{
	static const char *const keys[] = {"Test",    "Interval",    "Timeout",
					   "Retries", "StartPeriod", NULL};
	if (!hc || json_object_is_type(hc, json_type_null))
		return 0;
	if (!json_object_is_type(hc, json_type_object)) {
		resp_error(r, 400, "Healthcheck: not an object");
		return -1;
	}
	if (svc_known_only(hc, keys, "Healthcheck.", r) < 0 ||
	    svc_jstrs(hc, "Test", &c->health, r, "Healthcheck.") < 0)
		return -1;
	eng_probe *p = &c->probe;
	*p = (eng_probe){.role = ENG_PROBE_HEALTH, .kind = ENG_PROBE_EXEC};
	const struct {
		const char *k;
		int64_t *out;
	} durs[] = {{"Interval", &p->interval_ns},
		    {"Timeout", &p->timeout_ns},
		    {"StartPeriod", &p->start_period_ns}};
	bool any = false;
	for (size_t i = 0; i < sizeof(durs) / sizeof(*durs); i++) {
		int64_t v = json_object_get_int64(svc_jget(hc, durs[i].k));
		if (v < 0 || (v > 0 && v < 1000000)) {
			resp_error(r, 400, "Healthcheck.%s: %lld is under 1ms", durs[i].k,
				   (long long)v);
			return -1;
		}
		*durs[i].out = v;
		any = any || v;
	}
	int64_t n = json_object_get_int64(svc_jget(hc, "Retries"));
	if (n < 0 || n > 1000000) {
		resp_error(r, 400, "Healthcheck.Retries: %lld is out of range", (long long)n);
		return -1;
	}
	p->failure_threshold = (int)n;
	any = any || n;
	char **t = c->health.v;
	if (t && t[0] && !strcmp(t[0], "NONE")) {
		c->o.no_healthcheck = true;
		return 0;
	}
	if (t && t[0] && !strcmp(t[0], "CMD-SHELL") && t[1] && !t[2]) {
		_cleanup_strv_ char **sh = eng_shell_argv(t[1]);
		strvb_free(&c->health);
		for (char **a = sh; *a; a++)
			strvb_push(&c->health, *a);
		p->cmd = c->health.v;
	} else if (t && t[0] && !strcmp(t[0], "CMD") && t[1]) {
		p->cmd = t + 1;
	} else if (t && t[0]) {
		resp_error(r, 400,
			   "Healthcheck.Test: \"%s\" is not CMD, CMD-SHELL (one line) or NONE",
			   t[0]);
		return -1;
	}
	if (p->cmd || any) {
		c->o.probes = p;
		c->o.n_probes = 1;
	}
	return 0;
}

static int translate(req *q, json_object *body, copts *c, resp *r)
{
	memset(c, 0, sizeof(*c));
	if (!json_object_is_type(body, json_type_object)) {
		resp_error(r, 400, "the request body is not a JSON object");
		return -1;
	}
	if (svc_known_only(body, config_keys, "", r) < 0)
		return -1;
	const char *img = svc_jstr(body, "Image");
	if (!img || !*img) {
		resp_error(r, 400, "Image: required");
		return -1;
	}
	c->o.image = img;
	const char *name = req_arg(q, "name");
	if (name && *name)
		c->o.name = c->name = xstrdup(name);
	json_object *ep = svc_jget(body, "Entrypoint");
	if (ep && !json_object_is_type(ep, json_type_null)) {
		c->o.entrypoint_set = true;
		if (json_object_is_type(ep, json_type_string)) {
			c->entry = xstrdup(json_object_get_string(ep));
		} else if (json_object_is_type(ep, json_type_array) &&
			   json_object_array_length(ep) > 0) {
			c->entry =
			    xstrdup(json_object_get_string(json_object_array_get_idx(ep, 0)));
			for (size_t i = 1; i < json_object_array_length(ep); i++)
				strvb_push(&c->cmd, json_object_get_string(
							json_object_array_get_idx(ep, i)));
		}
		c->o.entrypoint = c->entry;
	}
	if (svc_jstrs(body, "Cmd", &c->cmd, r, "") < 0 ||
	    svc_jstrs(body, "Env", &c->env, r, "") < 0)
		return -1;
	const char *wd = svc_jstr(body, "WorkingDir"), *user = svc_jstr(body, "User"),
		   *hn = svc_jstr(body, "Hostname");
	c->o.workdir = wd && *wd ? wd : NULL;
	c->o.user = user && *user ? user : NULL;
	c->o.hostname = hn && *hn ? hn : NULL;
	c->o.tty = json_object_get_boolean(svc_jget(body, "Tty"));
	c->o.interactive = json_object_get_boolean(svc_jget(body, "OpenStdin"));
	const char *ss = svc_jstr(body, "StopSignal");
	if (ss && *ss && strcmp(ss, "SIGTERM") && strcmp(ss, "TERM") && strcmp(ss, "15")) {
		resp_error(r, 400, "StopSignal %s: not supported by berth (the image's is used)",
			   ss);
		return -1;
	}
	json_object *labels = svc_jget(body, "Labels");
	if (labels && json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, k, v)
		{
			char *kv = xasprintf("%s=%s", k, json_object_get_string(v));
			strvb_push(&c->labels, kv);
			free(kv);
		}
	}
	json_object *ex = svc_jget(body, "ExposedPorts");
	if (ex && json_object_is_type(ex, json_type_object)) {
		json_object_object_foreach(ex, port, v)
		{
			(void)v;
			strvb_push(&c->expose, port);
		}
	}
	if (healthcheck(svc_jget(body, "Healthcheck"), c, r) < 0 ||
	    host_config(svc_jget(body, "HostConfig"), c, r) < 0 ||
	    networking(svc_jget(body, "NetworkingConfig"), c, r) < 0)
		return -1;
	/* Config.Volumes: anonymous volumes, except where a bind or a mount
	 * of HostConfig covers the path (docker-compose sends both) */
	json_object *vols = svc_jget(body, "Volumes");
	if (vols && json_object_is_type(vols, json_type_object) &&
	    (json_object_object_length(vols) > 1024 || c->vols.n + c->mounts.n > 1024)) {
		resp_error(r, 400, "Volumes: more than 1024 volumes and mounts");
		return -1;
	}
	if (vols && json_object_is_type(vols, json_type_object)) {
		json_object_object_foreach(vols, dst, v)
		{
			(void)v;
			if (!covered(c, dst))
				strvb_push(&c->vols, dst);
		}
	}
	c->o.command = c->cmd.n ? c->cmd.v : NULL;
	c->o.env = c->env.v;
	c->o.volumes = c->vols.v;
	c->o.mounts = c->mounts.v;
	c->o.tmpfs = c->tmpfs.v;
	c->o.cap_add = c->caps_add.v;
	c->o.cap_drop = c->caps_drop.v;
	c->o.publish = c->publish.v;
	c->o.expose = c->expose.v;
	c->o.dns = c->dns.v;
	c->o.dns_search = c->dns_search.v;
	c->o.dns_opts = c->dns_opts.v;
	c->o.add_hosts = c->hosts.v;
	c->o.net_aliases = c->aliases.v;
	c->o.labels = c->labels.v;
	c->o.security_opt = c->sec.v;
	c->o.ulimits = c->ulimits.v;
	c->o.log_opts = c->log_opts.v;
	return 0;
}

void api_container_create(req *q, resp *r)
{
	json_object *body = q->body ? json_tokener_parse(q->body) : NULL;
	if (!body) {
		resp_error(r, 400, "the request body is not valid JSON");
		return;
	}
	copts c;
	if (translate(q, body, &c, r) < 0) {
		copts_free(&c);
		json_object_put(body);
		return;
	}
	bool missing = false;
	char *warning = NULL;
	c.o.image_missing = &missing;
	c.o.warning = &warning;
	berr e;
	char id[65];
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	_cleanup_free_ char *sd = cli_self_dir();
	_cleanup_free_ char *initp = xasprintf("%s/berth-init", sd);
	int rc = g ? eng_create(g, &c.o, initp, id, &e) : -1;
	eng_close(g);
	if (rc < 0) {
		if (missing)
			resp_error(r, 404, "No such image: %s", c.o.image);
		else
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
	} else {
		r->status = 201;
		r->json = json_object_new_object();
		json_object_object_add(r->json, "Id", json_object_new_string(id));
		json_object *w = json_object_new_array();
		if (warning)
			json_object_array_add(w, json_object_new_string(warning));
		json_object_object_add(r->json, "Warnings", w);
	}
	free(warning);
	copts_free(&c);
	json_object_put(body);
}
