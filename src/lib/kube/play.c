/* berth kube play / down: pods and containers from the model (play.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/container.h"
#include "engine/network.h"
#include "engine/pod.h"
#include "kube/play.h"
#include "kube/play_opts.h"
#include "kube/play_svc.h"
#include "kube/play_vols.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

void kube_play_result_free(kube_play_result *r)
{
	strv_free(r->pods);
	strv_free(r->warnings);
	strv_free(r->removed);
	free(r->missing_image);
	memset(r, 0, sizeof(*r));
}

static char *pod_owner(eng *g, const char *id, char **name);

/* Stop and remove a pod's containers, the pod and its volumes
 * (play_vols.h) (best effort: rollback and down). */
static int pod_destroy(eng *g, const char *id, berr *e)
{
	_cleanup_strv_ char **ms = eng_pod_members(g, id);
	eng_container_stop_many(g, ms, 2);
	eng_rm_opts ro = {.force = true, .volumes = true};
	for (size_t i = 0; ms && ms[i]; i++) {
		berr ig;
		eng_container_rm(g, ms[i], &ro, &ig);
	}
	_cleanup_free_ char *name = NULL;
	free(pod_owner(g, id, &name)); /* the pod's name, for its volumes */
	if (eng_pod_remove(g, id, e) < 0)
		return -1;
	if (name)
		kube_pod_volumes_rm(g, name);
	return 0;
}

static char *owner_of(const kube_obj *o)
{
	return xasprintf("%s=%s/%s", KUBE_OWNER_LABEL, kube_kind_name(o->kind), o->meta.name);
}

/* The pod's owner label (malloc'ed) and *name, or NULL when not a pod. */
static char *pod_owner(eng *g, const char *id, char **name)
{
	berr ig;
	json_object *rec = eng_pod_load(g, id, &ig), *labels = NULL, *v = NULL, *nm = NULL;
	if (!rec)
		return NULL;
	char *owner = json_object_object_get_ex(rec, "Labels", &labels) &&
			      json_object_object_get_ex(labels, KUBE_OWNER_LABEL, &v) &&
			      json_object_is_type(v, json_type_string)
			  ? xstrdup(json_object_get_string(v))
			  : xstrdup("");
	*name =
	    xstrdup(json_object_object_get_ex(rec, "Name", &nm) ? json_object_get_string(nm) : id);
	json_object_put(rec);
	return owner;
}

/* A pod of this name already there: 1 when the same object owns it (kept:
 * a re-play converges), 0 when there is none, -1 (EEXIST) when another
 * owns it. */
static int pod_existing(eng *g, const char *name, const char *owner_kv, berr *e)
{
	_cleanup_strv_ char **pods = eng_pod_list(g);
	for (size_t i = 0; pods && pods[i]; i++) {
		_cleanup_free_ char *nm = NULL;
		_cleanup_free_ char *ow = pod_owner(g, pods[i], &nm);
		if (!ow || strcmp(nm, name))
			continue;
		if (!strcmp(ow, strchr(owner_kv, '=') + 1))
			return 1;
		return berr_set(e, EEXIST, "pod \"%s\" exists and is not this object's (%s)", name,
				ow[0] ? ow : "not made by kube play");
	}
	return 0;
}

/* What a play shares between its pods: the network, the Services. */
typedef struct play_ctx {
	const char *network; /* NULL: the default */
	bool dns;	     /* a user network: names and aliases */
	kube_svc_rt *svcs;
	size_t n_svcs;
} play_ctx;

/* The pod's network aliases (its name; the Services' names follow
 * readiness, play_svc.h) and the readiness hook of its containers (NULL
 * when no Service selects it). */
static void pod_net_args(const play_ctx *x, const kube_play_opts *o, const kube_meta *tm,
			 const char *name, char ***aliases, char ***hook)
{
	strv_builder al = {0}, hk = {0};
	strvb_push(&al, name);
	for (size_t i = 0; i < x->n_svcs; i++) {
		if (!kube_svc_selects(&x->svcs[i], tm))
			continue;
		/* the Service's name is added once the pod is ready (kube_svc_sync) */
		if (!hk.v) {
			for (size_t k = 0; o->sync_hook && o->sync_hook[k]; k++)
				strvb_push(&hk, o->sync_hook[k]);
			strvb_push(&hk, x->network);
		}
		kube_svc_args(&x->svcs[i], &hk);
	}
	*aliases = x->dns ? strvb_take(&al) : NULL;
	strvb_free(&al);
	*hook = o->sync_hook ? strvb_take(&hk) : NULL;
	strvb_free(&hk);
}

/* Create container c of pod `name` from ro (filled by kube_opts_fill): its
 * name, the owner label, the pod; a missing image recorded in r. */
static int create_member(eng *g, eng_run_opts *ro, const kube_container *c, const char *name,
			 const char *pod_id, const char *owner, const char *initp,
			 kube_play_result *r, char id[65], berr *e)
{
	_cleanup_free_ char *cname = xasprintf("%s-%s", name, c->name);
	_cleanup_strv_ char **cl = strv_dup(ro->labels);
	strv_push(&cl, owner);
	ro->labels = cl;
	ro->name = cname;
	ro->pod = pod_id;
	ro->detach = true;
	bool img_missing = false;
	ro->image_missing = &img_missing;
	int rc = eng_create(g, ro, initp, id, e);
	if (rc < 0 && img_missing && c->pull != KUBE_PULL_NEVER && !r->missing_image)
		r->missing_image = xstrdup(c->image);
	ro->labels = NULL;
	ro->name = NULL;
	ro->image_missing = NULL;
	return rc;
}

/* The init containers in order, each run to its end and removed; one that
 * fails fails the pod (restartPolicy Never's rule). */
static int run_inits(eng *g, const kube_file *f, const kube_obj *obj, const kube_pod_spec *ps,
		     const char *name, const char *pod_id, const char *owner,
		     const kube_play_opts *o, kube_play_result *r, berr *e)
{
	_cleanup_free_ char *initp = xasprintf("%s/berth-init", o->helper_dir);
	const char *sp = obj->kind == KUBE_POD ? "spec" : "spec.template.spec";
	for (size_t i = 0; i < ps->n_init_containers; i++) {
		const kube_container *c = &ps->init_containers[i];
		char what[80];
		snprintf(what, sizeof(what), "%s.initContainers[%zu]", sp, i);
		eng_run_opts ro;
		kube_opts_hold h;
		if (kube_opts_fill(g, f, ps, c, name, what, &ro, &h, e) < 0)
			return -1;
		ro.restart = "no";
		char id[65];
		int rc = create_member(g, &ro, c, name, pod_id, owner, initp, r, id, e);
		kube_opts_free(&h);
		if (rc < 0) {
			return berr_ctx(e, "initContainers[%zu] \"%s\"", i, c->name);
		}
		eng_start_opts so = {.helper_dir = o->helper_dir};
		eng_start_result sr;
		int code = 0;
		rc = eng_container_start(g, id, &so, &sr, e);
		eng_start_result_free(&sr);
		if (!rc)
			rc = eng_container_wait(g, id, -1, &code, e);
		eng_rm_opts rm = {.force = true, .volumes = true};
		berr ig;
		eng_container_rm(g, id, &rm, &ig);
		if (rc < 0)
			return berr_ctx(e, "initContainers[%zu] \"%s\"", i, c->name);
		if (code)
			return berr_set(e, ECHILD,
					"initContainers[%zu] \"%s\" exited with status %d (the pod "
					"fails, as with restartPolicy Never)",
					i, c->name, code);
	}
	return 0;
}

/* One pod: the record, its volumes, its init containers run, its
 * containers created (and started). */
static int play_pod(eng *g, const kube_file *f, const kube_obj *obj, const kube_pod_spec *ps,
		    const kube_meta *tm, const char *name, const kube_play_opts *o,
		    const play_ctx *x, kube_play_result *r, char pod_id[65], berr *e)
{
	_cleanup_free_ char *owner = owner_of(obj);
	_cleanup_strv_ char **labels = NULL;
	strv_push(&labels, owner);
	for (size_t i = 0; tm && i < tm->n_labels; i++) {
		char *kv = xasprintf("%s=%s", tm->labels[i].key, tm->labels[i].value);
		strv_push(&labels, kv);
		free(kv);
	}
	int ex = pod_existing(g, name, owner, e);
	if (ex)
		return ex < 0 ? berr_ctx(e, "%s \"%s\"", kube_kind_name(obj->kind), obj->meta.name)
			      : 0;
	_cleanup_strv_ char **aliases = NULL;
	_cleanup_strv_ char **hook = NULL;
	pod_net_args(x, o, tm, name, &aliases, &hook);
	/* hostPort: published by the pod (its infra holds the network) */
	strv_builder pub = {0};
	for (size_t i = 0; i < ps->n_containers && !ps->host_network; i++)
		for (size_t k = 0; k < ps->containers[i].n_ports; k++) {
			const kube_cport *cp = &ps->containers[i].ports[k];
			if (cp->host_port)
				strvb_push_take(
				    &pub, xasprintf("%d:%d/%s", cp->host_port, cp->container_port,
						    cp->protocol == KUBE_UDP ? "udp" : "tcp"));
		}
	_cleanup_strv_ char **publish = strvb_take(&pub);
	eng_pod_opts po = {.name = name,
			   .hostname = ps->hostname,
			   .labels = labels,
			   .network = ps->host_network ? "host" : x->network,
			   .net_aliases = ps->host_network ? NULL : aliases,
			   .publish = publish};
	bool missing = false;
	if (eng_pod_create(g, &po, &missing, pod_id, e) < 0) {
		r->pause_missing = missing;
		return berr_ctx(e, "%s \"%s\"", kube_kind_name(obj->kind), obj->meta.name);
	}
	strv_push(&r->pods, name);
	_cleanup_free_ char *initp = xasprintf("%s/berth-init", o->helper_dir);
	char **ids = NULL;
	int rc = kube_pod_volumes_make(g, f, ps, name,
				       obj->kind == KUBE_POD ? "spec" : "spec.template.spec", e);
	if (!rc && !o->no_start)
		rc = run_inits(g, f, obj, ps, name, pod_id, owner, o, r, e);
	if (rc)
		rc = berr_ctx(e, "%s \"%s\": pod \"%s\"", kube_kind_name(obj->kind), obj->meta.name,
			      name);
	for (size_t i = 0; i < ps->n_containers && !rc; i++) {
		const kube_container *c = &ps->containers[i];
		char what[64];
		snprintf(what, sizeof(what), "spec.containers[%zu]", i);
		eng_run_opts ro;
		kube_opts_hold h;
		if (kube_opts_fill(g, f, ps, c, name, what, &ro, &h, e) < 0) {
			rc = berr_ctx(e, "%s \"%s\"", kube_kind_name(obj->kind), obj->meta.name);
			break;
		}
		ro.readiness_hook = hook;
		char id[65];
		if (create_member(g, &ro, c, name, pod_id, owner, initp, r, id, e) < 0) {
			rc = berr_ctx(e, "%s \"%s\": container \"%s\"", kube_kind_name(obj->kind),
				      obj->meta.name, c->name);
		} else {
			strv_push(&ids, id);
		}
		kube_opts_free(&h);
	}
	for (size_t i = 0; !rc && !o->no_start && ids && ids[i]; i++) {
		eng_start_opts so = {.helper_dir = o->helper_dir};
		eng_start_result sr;
		if (eng_container_start(g, ids[i], &so, &sr, e) < 0)
			rc = berr_ctx(e, "%s \"%s\": start", kube_kind_name(obj->kind),
				      obj->meta.name);
		eng_start_result_free(&sr);
	}
	strv_free(ids);
	return rc;
}

/* A Deployment's pods beyond its replicas (NAME-K, K >= replicas, or any
 * other name it owns) removed: the scale down of a re-play. */
static int remove_surplus(eng *g, const kube_obj *obj, kube_play_result *r, berr *e)
{
	_cleanup_free_ char *kv = owner_of(obj);
	const char *owner = strchr(kv, '=') + 1;
	size_t nl = strlen(obj->meta.name);
	_cleanup_strv_ char **pods = eng_pod_list(g);
	for (size_t i = 0; pods && pods[i]; i++) {
		_cleanup_free_ char *nm = NULL;
		_cleanup_free_ char *ow = pod_owner(g, pods[i], &nm);
		if (!ow || strcmp(ow, owner))
			continue;
		char *end = NULL;
		long k = -1;
		if (!strncmp(nm, obj->meta.name, nl) && nm[nl] == '-' && nm[nl + 1] >= '0' &&
		    nm[nl + 1] <= '9') {
			errno = 0;
			k = strtol(nm + nl + 1, &end, 10);
			if (errno || *end)
				k = -1;
		}
		if (k >= 0 && k < obj->u.deploy.replicas)
			continue;
		if (pod_destroy(g, pods[i], e) < 0)
			return berr_ctx(e, "Deployment \"%s\": scale down", obj->meta.name);
		strv_push(&r->removed, nm);
	}
	return 0;
}

/* Whether any pod of f joins a network (not all hostNetwork). */
static bool needs_network(const kube_file *f)
{
	for (size_t i = 0; i < f->n_objs; i++) {
		const kube_obj *o = &f->objs[i];
		if ((o->kind == KUBE_POD && !o->u.pod.spec.host_network) ||
		    (o->kind == KUBE_DEPLOYMENT && !o->u.deploy.tmpl.host_network))
			return true;
	}
	return false;
}

static void svcs_free(play_ctx *x)
{
	for (size_t i = 0; i < x->n_svcs; i++)
		kube_svc_rt_free(&x->svcs[i]);
	free(x->svcs);
	x->svcs = NULL;
	x->n_svcs = 0;
}

/* The Services of f that act (a selector selecting a pod of f). */
static int svcs_of(const kube_file *f, play_ctx *x, kube_play_result *r, bool check_ports, berr *e)
{
	x->svcs = xreallocarray(NULL, f->n_objs ? f->n_objs : 1, sizeof(*x->svcs));
	for (size_t i = 0; i < f->n_objs; i++) {
		const kube_obj *obj = &f->objs[i];
		if (obj->kind != KUBE_SERVICE)
			continue;
		int k = kube_svc_rt_of(f, obj, &x->svcs[x->n_svcs], e);
		if (k < 0)
			return -1;
		if (k) {
			x->n_svcs++;
			if (check_ports && kube_svc_ports_free(&x->svcs[x->n_svcs - 1], e) < 0)
				return -1;
			continue;
		}
		char *w = xasprintf("Service \"%s\": selects no pod of the file (nothing "
				    "published)",
				    obj->meta.name);
		strv_push(&r->warnings, w);
		free(w);
	}
	return 0;
}

static int play_objs(eng *g, const kube_file *f, const kube_play_opts *o, const play_ctx *x,
		     kube_play_result *r, char ***made, berr *e)
{
	int rc = 0;
	for (size_t i = 0; i < f->n_objs && !rc; i++) {
		const kube_obj *obj = &f->objs[i];
		if (obj->kind != KUBE_POD && obj->kind != KUBE_DEPLOYMENT)
			continue;
		int n = obj->kind == KUBE_POD ? 1 : obj->u.deploy.replicas;
		const kube_pod_spec *ps =
		    obj->kind == KUBE_POD ? &obj->u.pod.spec : &obj->u.deploy.tmpl;
		const kube_meta *tm = obj->kind == KUBE_POD ? &obj->meta : &obj->u.deploy.tmpl_meta;
		for (int k = 0; k < n && !rc; k++) {
			_cleanup_free_ char *name = obj->kind == KUBE_POD
							? xstrdup(obj->meta.name)
							: xasprintf("%s-%d", obj->meta.name, k);
			char id[65] = "";
			rc = play_pod(g, f, obj, ps, tm, name, o, x, r, id, e);
			if (id[0])
				strv_push(made, id);
		}
	}
	for (size_t i = 0; i < f->n_objs && !rc; i++)
		if (f->objs[i].kind == KUBE_DEPLOYMENT)
			rc = remove_surplus(g, &f->objs[i], r, e);
	for (size_t i = 0; i < x->n_svcs && !rc && !o->no_start; i++) {
		size_t n = 0;
		rc = kube_svc_sync(g, x->network, &x->svcs[i], &n, e);
	}
	return rc;
}

int kube_play(eng *g, const kube_file *f, const kube_play_opts *o, kube_play_result *r, berr *e)
{
	memset(r, 0, sizeof(*r));
	play_ctx x = {.network = o->network, .dns = o->network != NULL};
	_cleanup_free_ char *net = NULL;
	_cleanup_free_ char *net_owner = NULL;
	bool net_made = false;
	bool rootless = kube_rootless();
	int rc = svcs_of(f, &x, r, !rootless, e);
	if (!rc && !o->network && needs_network(f) && rootless) {
		/* rootless: no bridge networks (docs/rootless.md), nor the
		 * host's nftables: the default network, no names, no Services */
		if (x.n_svcs) {
			char *w = xasprintf("Service \"%s\" (and any other): not published "
					    "(rootless: no play network, no host nftables)",
					    x.svcs[0].name);
			strv_push(&r->warnings, w);
			free(w);
		}
		svcs_free(&x);
	} else if (!rc && !o->network && needs_network(f)) {
		net = kube_net_name(f, &net_owner);
		rc = kube_net_ensure(g, net, net_owner, &net_made, e);
		x.network = net;
		x.dns = true;
	}
	if (!rc && x.n_svcs && !x.network)
		rc = berr_set(e, EINVAL, "Service \"%s\": its pods are all hostNetwork",
			      x.svcs[0].name);
	_cleanup_strv_ char **made = NULL; /* pod ids, for the rollback */
	if (!rc)
		rc = play_objs(g, f, o, &x, r, &made, e);
	if (rc) {
		for (size_t i = 0; made && made[i]; i++) {
			berr ig;
			pod_destroy(g, made[i], &ig);
		}
		/* the backends of what is left (a re-play's kept pods), or none */
		for (size_t i = 0; i < x.n_svcs; i++) {
			berr ig;
			size_t n;
			if (x.network)
				kube_svc_sync(g, x.network, &x.svcs[i], &n, &ig);
			else
				kube_svc_unpublish(&x.svcs[i], &ig);
		}
		if (net_made) {
			berr ig;
			eng_net_remove(g, net, &ig);
		}
		strv_free(r->pods);
		r->pods = NULL;
	}
	svcs_free(&x);
	return rc;
}

/* "Kind/name" owned by an object of f */
static bool owned(const kube_file *f, const char *owner)
{
	for (size_t i = 0; i < f->n_objs; i++) {
		const kube_obj *o = &f->objs[i];
		const char *k = kube_kind_name(o->kind);
		size_t kl = strlen(k);
		if (!strncmp(owner, k, kl) && owner[kl] == '/' &&
		    !strcmp(owner + kl + 1, o->meta.name))
			return true;
	}
	return false;
}

/* The Services' ports, the networks the file's plays made and (volumes)
 * its claims' volumes: after the pods. */
static int down_rest(eng *g, const kube_file *f, bool volumes, berr *e)
{
	int rc = 0;
	for (size_t i = 0; i < f->n_objs && !kube_rootless(); i++) {
		if (f->objs[i].kind != KUBE_SERVICE)
			continue;
		berr e1;
		if (kube_svc_down(&f->objs[i], &e1) < 0 && !rc) {
			*e = e1;
			rc = -1;
		}
	}
	_cleanup_strv_ char **nets = eng_net_names(g);
	for (size_t i = 0; nets && nets[i]; i++) {
		berr ig;
		json_object *rec = eng_net_load(g, nets[i], NULL, &ig), *labels = NULL, *v = NULL;
		bool mine = rec && json_object_object_get_ex(rec, "Labels", &labels) &&
			    json_object_object_get_ex(labels, KUBE_OWNER_LABEL, &v) &&
			    owned(f, json_object_get_string(v));
		json_object_put(rec);
		berr e1;
		if (mine && eng_net_remove(g, nets[i], &e1) < 0 && !rc) {
			*e = e1;
			rc = -1;
		}
	}
	for (size_t i = 0; volumes && i < f->n_objs; i++) {
		const kube_obj *o = &f->objs[i];
		const kube_pod_spec *ps = o->kind == KUBE_POD	       ? &o->u.pod.spec
					  : o->kind == KUBE_DEPLOYMENT ? &o->u.deploy.tmpl
								       : NULL;
		berr e1;
		if (o->kind == KUBE_PVC && eng_volume_remove(g, o->meta.name, &e1) < 0 &&
		    e1.errnum != ENOENT && !rc) {
			*e = e1;
			rc = -1;
		}
		for (size_t k = 0; ps && k < ps->n_volumes; k++)
			if (ps->volumes[k].kind == KUBE_VOL_PVC &&
			    eng_volume_remove(g, ps->volumes[k].source, &e1) < 0 &&
			    e1.errnum != ENOENT && !rc) {
				*e = e1;
				rc = -1;
			}
	}
	return rc;
}

int kube_down(eng *g, const kube_file *f, bool volumes, char ***removed, berr *e)
{
	*removed = NULL;
	_cleanup_strv_ char **pods = eng_pod_list(g);
	strv_builder mine = {0}, names = {0}, members = {0};
	for (size_t i = 0; pods && pods[i]; i++) {
		char *nm = NULL;
		_cleanup_free_ char *ow = pod_owner(g, pods[i], &nm);
		if (!ow || !owned(f, ow)) {
			free(nm);
			continue;
		}
		strvb_push(&mine, pods[i]);
		strvb_push_take(&names, nm);
		_cleanup_strv_ char **ms = eng_pod_members(g, pods[i]);
		for (size_t k = 0; ms && ms[k]; k++)
			strvb_push(&members, ms[k]);
	}
	_cleanup_strv_ char **ids = strvb_take(&mine);
	_cleanup_strv_ char **nms = strvb_take(&names);
	_cleanup_strv_ char **all = strvb_take(&members);
	/* the stop signals all out first: one stop timeout for all the pods */
	if (all)
		eng_container_stop_many(g, all, 2);
	int rc = 0;
	for (size_t i = 0; ids && ids[i]; i++) {
		berr e1;
		if (pod_destroy(g, ids[i], &e1) < 0) {
			if (!rc)
				*e = e1;
			rc = -1;
			continue;
		}
		strv_push(removed, nms[i]);
	}
	berr e1;
	if (down_rest(g, f, volumes, &e1) < 0 && !rc) {
		*e = e1;
		rc = -1;
	}
	return rc;
}
