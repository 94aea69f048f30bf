/* Pod specs: volumes, the pod's fields, and the pod-wide checks (unique
 * names and ports, mounts naming a volume, probes naming a port); the
 * containers themselves are model_container.c's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/model_priv.h"
#include "util/xalloc.h"

#define OBJ(type) type *o = obj

/* ---- volumes ---- */

static int vol_source(kctx *c, const ky_node *v, kube_volume *o, kube_vol_kind k)
{
	if (o->kind != (kube_vol_kind)-1)
		return kerr(c, v, "only one volume source");
	o->kind = k;
	return 0;
}

static int hp_path(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	if (k_str(c, v, &o->source) < 0)
		return -1;
	const char *why = k_abs_path(o->source);
	return why ? kerr(c, v, "%s", why) : 0;
}

static int hp_type(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	static const char *const types[] = {
	    "",		  "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
	    "CharDevice", "BlockDevice",       NULL};
	int i;
	if (k_enum(c, v, types, &i) < 0)
		return -1;
	free(o->host_type);
	o->host_type = xstrdup(types[i]);
	return 0;
}

static const kfield host_path_fields[] = {{"path", hp_path}, {"type", hp_type}, {0}};

static int vol_host_path(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	if (vol_source(c, v, o, KUBE_VOL_HOSTPATH) < 0 || k_walk(c, v, host_path_fields, o) < 0)
		return -1;
	if (!o->host_type)
		o->host_type = xstrdup("");
	return o->source ? 0 : kerr_field(c, v, "path", "required");
}

static int ed_medium(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	static const char *const media[] = {"", "Memory", NULL};
	int i;
	if (k_enum(c, v, media, &i) < 0)
		return -1;
	free(o->medium);
	o->medium = xstrdup(media[i]);
	return 0;
}

static int ed_size(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	return k_bytes(c, v, &o->size_limit);
}

static const kfield empty_dir_fields[] = {{"medium", ed_medium}, {"sizeLimit", ed_size}, {0}};

static int vol_empty_dir(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	if (vol_source(c, v, o, KUBE_VOL_EMPTYDIR) < 0 || k_walk(c, v, empty_dir_fields, o) < 0)
		return -1;
	if (!o->medium)
		o->medium = xstrdup("");
	return 0;
}

/* `emptyDir: {}` is the usual spelling; `emptyDir:` (null) means the same
 * to Kubernetes, but a null value is an unset field to the walk: the pod's
 * volume check sees such a volume as one without a source. */

static int ref_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	return k_str(c, v, &o->source);
}

static int ref_optional(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	return k_bool(c, v, &o->optional);
}

static int ref_ro(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	return k_bool(c, v, &o->read_only);
}

static int it_key(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_kv);
	if (k_str(c, v, &o->key) < 0)
		return -1;
	const char *why = k_config_key(o->key);
	return why ? kerr(c, v, "%s", why) : 0;
}

static int it_path(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_kv);
	if (k_str(c, v, &o->value) < 0)
		return -1;
	const char *why = o->value[0] ? k_rel_path(o->value) : "must not be empty";
	return why ? kerr(c, v, "%s", why) : 0;
}

static const kfield item_fields[] = {{"key", it_key}, {"path", it_path}, {0}};

static int item_item(kctx *c, const ky_node *v, void *elem)
{
	kube_kv *o = elem;
	if (k_walk(c, v, item_fields, o) < 0)
		return -1;
	if (!o->key)
		return kerr_field(c, v, "key", "required");
	return o->value ? 0 : kerr_field(c, v, "path", "required");
}

static int ref_items(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	return k_list(c, v, sizeof(kube_kv), (void **)&o->items, &o->n_items, item_item);
}

static int ref_mode(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	return k_int32(c, v, 0, 0777, &o->default_mode);
}

static const kfield cm_vol_fields[] = {{"name", ref_name},
				       {"optional", ref_optional},
				       {"items", ref_items},
				       {"defaultMode", ref_mode},
				       {0}};
static const kfield secret_vol_fields[] = {{"secretName", ref_name},
					   {"optional", ref_optional},
					   {"items", ref_items},
					   {"defaultMode", ref_mode},
					   {0}};
static const kfield pvc_vol_fields[] = {{"claimName", ref_name}, {"readOnly", ref_ro}, {0}};

static int vol_ref(kctx *c, const ky_node *v, kube_volume *o, kube_vol_kind k, const kfield *fields,
		   const char *name_field)
{
	if (vol_source(c, v, o, k) < 0)
		return -1;
	if (k_walk(c, v, fields, o) < 0)
		return -1;
	if (!o->source)
		return kerr_field(c, v, name_field, "required");
	const char *why = k_dns_subdomain(o->source);
	return why ? kerr_field(c, v, name_field, "\"%.100s\": %s", o->source, why) : 0;
}

static int vol_cm(kctx *c, const ky_node *v, void *obj)
{
	return vol_ref(c, v, obj, KUBE_VOL_CONFIGMAP, cm_vol_fields, "name");
}

static int vol_secret(kctx *c, const ky_node *v, void *obj)
{
	return vol_ref(c, v, obj, KUBE_VOL_SECRET, secret_vol_fields, "secretName");
}

static int vol_pvc(kctx *c, const ky_node *v, void *obj)
{
	return vol_ref(c, v, obj, KUBE_VOL_PVC, pvc_vol_fields, "claimName");
}

static int vol_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_volume);
	if (k_str(c, v, &o->name) < 0)
		return -1;
	const char *why = k_dns_label(o->name);
	return why ? kerr(c, v, "\"%.100s\": %s", o->name, why) : 0;
}

static const kfield volume_fields[] = {{"name", vol_name},
				       {"hostPath", vol_host_path},
				       {"emptyDir", vol_empty_dir},
				       {"configMap", vol_cm},
				       {"secret", vol_secret},
				       {"persistentVolumeClaim", vol_pvc},
				       {0}};

static int volume_item(kctx *c, const ky_node *v, void *elem)
{
	kube_volume *o = elem;
	o->kind = (kube_vol_kind)-1;
	o->size_limit = -1;
	o->default_mode = -1;
	if (k_walk(c, v, volume_fields, o) < 0)
		return -1;
	if (!o->name)
		return kerr_field(c, v, "name", "required");
	/* `emptyDir:` with no value is Kubernetes' emptyDir too */
	const ky_node *ed = ky_get(v, "emptyDir");
	if (ed && o->kind != (kube_vol_kind)-1 && o->kind != KUBE_VOL_EMPTYDIR)
		return kerr_field(c, ed, "emptyDir", "only one volume source");
	if (o->kind == (kube_vol_kind)-1) {
		if (!ed)
			return kerr(c, v,
				    "one of hostPath, emptyDir, configMap, secret, "
				    "persistentVolumeClaim is required");
		o->kind = KUBE_VOL_EMPTYDIR;
		o->medium = xstrdup("");
	}
	return 0;
}

/* ---- the pod spec ---- */

static int ps_containers(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pod_spec);
	return k_list(c, v, sizeof(kube_container), (void **)&o->containers, &o->n_containers,
		      k_container);
}

static int ps_init(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pod_spec);
	return k_list(c, v, sizeof(kube_container), (void **)&o->init_containers,
		      &o->n_init_containers, k_init_container);
}

static int ps_volumes(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pod_spec);
	return k_list(c, v, sizeof(kube_volume), (void **)&o->volumes, &o->n_volumes, volume_item);
}

static int ps_restart(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pod_spec);
	static const char *const policies[] = {"Always", "OnFailure", "Never", NULL};
	int i;
	if (k_enum(c, v, policies, &i) < 0)
		return -1;
	o->restart = (kube_restart)i;
	return 0;
}

static int ps_hostname(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pod_spec);
	if (k_str(c, v, &o->hostname) < 0)
		return -1;
	const char *why = k_dns_label(o->hostname);
	return why ? kerr(c, v, "\"%.100s\": %s", o->hostname, why) : 0;
}

static int ps_host_net(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pod_spec);
	return k_bool(c, v, &o->host_network);
}

static int ps_dns(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pod_spec);
	/* None needs a dnsConfig, which berth does not read */
	static const char *const policies[] = {"ClusterFirst", "ClusterFirstWithHostNet", "Default",
					       NULL};
	int i;
	if (k_enum(c, v, policies, &i) < 0)
		return -1;
	o->dns_policy = (kube_dns)i;
	return 0;
}

static const kfield pod_spec_fields[] = {
    {"containers", ps_containers}, {"initContainers", ps_init},
    {"volumes", ps_volumes},	   {"restartPolicy", ps_restart},
    {"hostname", ps_hostname},	   {"hostNetwork", ps_host_net},
    {"dnsPolicy", ps_dns},	   {0}};

/* Where an item of spec.<list>[i] is, for the messages of the pod-wide
 * checks. */
typedef struct ct_ref {
	const char *list; /* "containers" / "initContainers" */
	size_t i;
	const kube_container *ct;
	const ky_node *node;
} ct_ref;

static int at_container(kctx *c, const ct_ref *r, const char *sub, size_t j, const ky_node *n,
			const char *fmt, ...) BERR_FMT(6, 7);
static int at_container(kctx *c, const ct_ref *r, const char *sub, size_t j, const ky_node *n,
			const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	size_t old = kp_field(c, r->list);
	kp_index(c, r->i);
	if (sub) {
		kp_field(c, sub);
		kp_index(c, j);
	}
	kerr(c, n ? n : r->node, "%s", what);
	kp_pop(c, old);
	return -1;
}

static const ky_node *item_of(const ky_node *map, const char *list, size_t i)
{
	const ky_node *l = ky_get(map, list);
	return l && l->kind == KY_SEQ && i < l->n ? l->items[i] : NULL;
}

/* Names unique over containers and init containers; each mount names a
 * volume; container ports and host ports unique per protocol over the pod
 * (its containers share one network namespace); a probe's named port is a
 * port of its container. All by sorting. */
static int pod_checks(kctx *c, const ky_node *v, kube_pod_spec *s)
{
	size_t n = s->n_containers + s->n_init_containers, np = 0;
	ct_ref *refs = xzalloc((n + 1) * sizeof(*refs));
	const ky_node *spec_ct = ky_get(v, "containers"), *spec_init = ky_get(v, "initContainers");
	for (size_t i = 0; i < n; i++) {
		bool init = i >= s->n_containers;
		size_t k = init ? i - s->n_containers : i;
		refs[i] = (ct_ref){init ? "initContainers" : "containers", k,
				   init ? &s->init_containers[k] : &s->containers[k],
				   (init ? spec_init : spec_ct)->items[k]};
		np += refs[i].ct->n_ports;
	}
	int r = 0;
	char **keys = xzalloc((n + np + s->n_volumes + 1) * sizeof(char *));
	/* container names */
	for (size_t i = 0; i < n; i++)
		keys[i] = refs[i].ct->name;
	long d = k_first_dup(keys, n);
	if (d >= 0)
		r = at_container(c, &refs[d], NULL, 0, ky_get(refs[d].node, "name"),
				 "name: duplicate container name \"%.100s\"", refs[d].ct->name);
	/* volume names */
	for (size_t i = 0; i < s->n_volumes && !r; i++)
		keys[i] = s->volumes[i].name;
	if (!r && (d = k_first_dup(keys, s->n_volumes)) >= 0) {
		size_t old = kp_field(c, "volumes");
		kp_index(c, (size_t)d);
		r = kerr_field(c, item_of(v, "volumes", (size_t)d), "name",
			       "duplicate volume name \"%.100s\"", s->volumes[d].name);
		kp_pop(c, old);
	}
	/* mounts name a volume */
	if (!r)
		k_sort_strs(keys, s->n_volumes);
	for (size_t i = 0; i < n && !r; i++)
		for (size_t j = 0; j < refs[i].ct->n_mounts && !r; j++)
			if (!k_sorted_has(keys, s->n_volumes, refs[i].ct->mounts[j].name))
				r = at_container(c, &refs[i], "volumeMounts", j,
						 item_of(refs[i].node, "volumeMounts", j),
						 "name: no volume named \"%.100s\" in spec.volumes",
						 refs[i].ct->mounts[j].name);
	/* ports, as "8080/TCP" and "host 80/TCP" */
	size_t *owner = xzalloc((2 * np + 1) * sizeof(size_t) * 2);
	char **all = xzalloc((2 * np + 1) * sizeof(char *));
	size_t na = 0;
	for (size_t i = 0; i < n && !r; i++)
		for (size_t j = 0; j < refs[i].ct->n_ports; j++) {
			const kube_cport *p = &refs[i].ct->ports[j];
			const char *proto = p->protocol == KUBE_UDP ? "UDP" : "TCP";
			owner[2 * na] = i, owner[2 * na + 1] = j;
			all[na++] = xasprintf("%d/%s", p->container_port, proto);
		}
	size_t nc = na;
	for (size_t i = 0; i < n && !r; i++)
		for (size_t j = 0; j < refs[i].ct->n_ports; j++) {
			const kube_cport *p = &refs[i].ct->ports[j];
			if (!p->host_port)
				continue;
			owner[2 * na] = i, owner[2 * na + 1] = j;
			all[na++] = xasprintf("host %d/%s", p->host_port,
					      p->protocol == KUBE_UDP ? "UDP" : "TCP");
		}
	if (!r && (d = k_first_dup(all, na)) >= 0) {
		const ct_ref *cr = &refs[owner[2 * d]];
		size_t j = owner[2 * d + 1];
		r = at_container(c, cr, "ports", j, item_of(cr->node, "ports", j),
				 "%s: %s: already used in this pod",
				 (size_t)d < nc ? "containerPort" : "hostPort",
				 all[d] + ((size_t)d < nc ? 0 : 5));
	}
	for (size_t i = 0; i < na; i++)
		free(all[i]);
	free(all);
	free(owner);
	/* a probe's named port is one of its container's */
	for (size_t i = 0; i < s->n_containers && !r; i++) {
		const kube_container *ct = &s->containers[i];
		const kube_probe *probes[3] = {&ct->liveness, &ct->readiness, &ct->startup};
		const char *pnames[3] = {"livenessProbe", "readinessProbe", "startupProbe"};
		size_t nn = 0;
		for (size_t j = 0; j < ct->n_ports; j++)
			if (ct->ports[j].name)
				keys[nn++] = ct->ports[j].name;
		k_sort_strs(keys, nn);
		for (int k = 0; k < 3 && !r; k++)
			if (probes[k]->port.name && !k_sorted_has(keys, nn, probes[k]->port.name)) {
				size_t old = kp_field(c, "containers");
				kp_index(c, i);
				kp_field(c, pnames[k]);
				const ky_node *pn = ky_get(refs[i].node, pnames[k]);
				const ky_node *h = ky_get(pn, "tcpSocket");
				const ky_node *at = ky_get(h ? h : ky_get(pn, "httpGet"), "port");
				r = kerr(c, at ? at : pn,
					 "port: no port named \"%.100s\" in this container",
					 probes[k]->port.name);
				kp_pop(c, old);
			}
	}
	free(keys);
	free(refs);
	return r;
}

int k_pod_spec(kctx *c, const ky_node *v, kube_pod_spec *s)
{
	if (k_walk(c, v, pod_spec_fields, s) < 0)
		return -1;
	if (!s->n_containers)
		return kerr_field(c, v, "containers", "at least one container is required");
	return pod_checks(c, v, s);
}

void k_pod_spec_free(kube_pod_spec *s)
{
	for (size_t i = 0; i < s->n_containers; i++)
		k_container_free(&s->containers[i]);
	free(s->containers);
	for (size_t i = 0; i < s->n_init_containers; i++)
		k_container_free(&s->init_containers[i]);
	free(s->init_containers);
	for (size_t i = 0; i < s->n_volumes; i++) {
		free(s->volumes[i].name);
		free(s->volumes[i].source);
		free(s->volumes[i].host_type);
		free(s->volumes[i].medium);
		k_kv_free(s->volumes[i].items, s->volumes[i].n_items);
	}
	free(s->volumes);
	free(s->hostname);
}
