/* Documents into objects: apiVersion and kind, metadata, and the kinds
 * other than the pod spec (model_pod.c): Deployment, Service, ConfigMap,
 * Secret, PersistentVolumeClaim; objects unique by kind, namespace, name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube/model_priv.h"
#include "util/xalloc.h"

#define OBJ(type) type *o = obj

/* The most bytes a ConfigMap or Secret holds, as Kubernetes limits them. */
#define KUBE_MAX_CONFIG_BYTES (1u << 20)

static const struct {
	const char *kind, *api;
	k_check_fn name_ok;
} kinds[] = {
    [KUBE_POD] = {"Pod", "v1", k_dns_subdomain},
    [KUBE_DEPLOYMENT] = {"Deployment", "apps/v1", k_dns_subdomain},
    [KUBE_SERVICE] = {"Service", "v1", k_dns1035_label},
    [KUBE_CONFIGMAP] = {"ConfigMap", "v1", k_dns_subdomain},
    [KUBE_SECRET] = {"Secret", "v1", k_dns_subdomain},
    [KUBE_PVC] = {"PersistentVolumeClaim", "v1", k_dns_subdomain},
};

const char *kube_kind_name(kube_kind k)
{
	return kinds[k].kind;
}

void k_kv_free(kube_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void blobs_free(kube_blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].key);
		free(b[i].value);
	}
	free(b);
}

/* ---- metadata ---- */

static int md_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_meta);
	return k_str(c, v, &o->name);
}

static int md_namespace(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_meta);
	if (k_str(c, v, &o->namespace) < 0)
		return -1;
	const char *why = k_dns_label(o->namespace);
	return why ? kerr(c, v, "\"%.100s\": %s", o->namespace, why) : 0;
}

static int md_labels(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_meta);
	return k_kvmap(c, v, k_qualified_name, k_label_value, &o->labels, &o->n_labels);
}

static int md_annotations(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_meta);
	return k_kvmap(c, v, k_qualified_name, NULL, &o->annotations, &o->n_annotations);
}

/* `creationTimestamp: null` is what kubectl and podman generate: null
 * reaches no field function; anything else does and is refused. */
static int md_created(kctx *c, const ky_node *v, void *obj)
{
	(void)obj;
	return kerr(c, v, "not supported by berth (only null)");
}

static const kfield meta_fields[] = {{"name", md_name},
				     {"namespace", md_namespace},
				     {"labels", md_labels},
				     {"annotations", md_annotations},
				     {"creationTimestamp", md_created},
				     {0}};

int k_meta(kctx *c, const ky_node *v, kube_meta *m)
{
	return k_walk(c, v, meta_fields, m);
}

void k_meta_free(kube_meta *m)
{
	free(m->name);
	free(m->namespace);
	k_kv_free(m->labels, m->n_labels);
	k_kv_free(m->annotations, m->n_annotations);
}

/* ---- Pod ---- */

static int pod_spec(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	return k_pod_spec(c, v, &o->u.pod.spec);
}

/* ---- Deployment ---- */

static int sel_match_labels(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_deployment);
	return k_kvmap(c, v, k_qualified_name, k_label_value, &o->selector, &o->n_selector);
}

static const kfield selector_fields[] = {{"matchLabels", sel_match_labels}, {0}};

static int dp_replicas(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	return k_int32(c, v, 0, 1000, &o->u.deploy.replicas);
}

static int dp_selector(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	return k_walk(c, v, selector_fields, &o->u.deploy);
}

static int tp_meta(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_deployment);
	return k_meta(c, v, &o->tmpl_meta);
}

static int tp_spec(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_deployment);
	return k_pod_spec(c, v, &o->tmpl);
}

static const kfield template_fields[] = {{"metadata", tp_meta}, {"spec", tp_spec}, {0}};

static int dp_template(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	kube_deployment *d = &o->u.deploy;
	if (k_walk(c, v, template_fields, d) < 0)
		return -1;
	if (!d->tmpl.n_containers)
		return kerr_field(c, v, "spec", "required");
	if (d->tmpl.restart != KUBE_RESTART_ALWAYS)
		return kerr_field(c, ky_get(ky_get(v, "spec"), "restartPolicy"),
				  "spec.restartPolicy", "a Deployment's pods restart Always");
	return 0;
}

/* `strategy: {}` is what kubectl's generator writes; a rollout strategy is
 * not berth's. */
static int dp_strategy(kctx *c, const ky_node *v, void *obj)
{
	(void)obj;
	if (v->kind == KY_MAP && !v->n)
		return 0;
	return kerr(c, v, "not supported by berth (only {})");
}

static const kfield deploy_spec_fields[] = {{"replicas", dp_replicas},
					    {"selector", dp_selector},
					    {"template", dp_template},
					    {"strategy", dp_strategy},
					    {0}};

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const kube_kv *)a)->key, ((const kube_kv *)b)->key);
}

static int deploy_spec(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	kube_deployment *d = &o->u.deploy;
	d->replicas = 1;
	if (k_walk(c, v, deploy_spec_fields, o) < 0)
		return -1;
	if (!d->n_selector)
		return kerr_field(c, v, "selector.matchLabels", "required");
	if (!d->tmpl.n_containers)
		return kerr_field(c, v, "template", "required");
	/* the selector must select the template's pods: each pair among the
	 * template's labels (sorted copy, binary search) */
	size_t n = d->tmpl_meta.n_labels;
	kube_kv *sorted = xzalloc((n + 1) * sizeof(*sorted));
	if (n)
		memcpy(sorted, d->tmpl_meta.labels, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_kv);
	int r = 0;
	for (size_t i = 0; i < d->n_selector && !r; i++) {
		const kube_kv *m =
		    n ? bsearch(&d->selector[i], sorted, n, sizeof(*sorted), cmp_kv) : NULL;
		if (!m || strcmp(m->value, d->selector[i].value))
			r = kerr_field(c, ky_get(v, "selector"), "selector",
				       "does not match the template's labels (%.100s=%.100s)",
				       d->selector[i].key, d->selector[i].value);
	}
	free(sorted);
	if (r)
		return -1;
	/* every replica on this one host would want the same host port */
	if (d->replicas > 1)
		for (size_t i = 0; i < d->tmpl.n_containers; i++)
			for (size_t j = 0; j < d->tmpl.containers[i].n_ports; j++)
				if (d->tmpl.containers[i].ports[j].host_port)
					return kerr_field(c, ky_get(v, "replicas"), "replicas",
							  "%d replicas on one host cannot share "
							  "hostPort %d",
							  d->replicas,
							  d->tmpl.containers[i].ports[j].host_port);
	return 0;
}

/* ---- Service ---- */

static int sp_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_svc_port);
	if (k_str(c, v, &o->name) < 0)
		return -1;
	const char *why = k_dns_label(o->name);
	return why ? kerr(c, v, "\"%.100s\": %s", o->name, why) : 0;
}

static int sp_proto(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_svc_port);
	return k_proto(c, v, &o->protocol);
}

static int sp_port(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_svc_port);
	return k_int32(c, v, 1, 65535, &o->port);
}

static int sp_target(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_svc_port);
	return k_port_ref(c, v, &o->target);
}

/* On one host there is no node port range to allocate from: any port. */
static int sp_node_port(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_svc_port);
	return k_int32(c, v, 1, 65535, &o->node_port);
}

static const kfield svc_port_fields[] = {{"name", sp_name},	     {"protocol", sp_proto},
					 {"port", sp_port},	     {"targetPort", sp_target},
					 {"nodePort", sp_node_port}, {0}};

static int svc_port_item(kctx *c, const ky_node *v, void *elem)
{
	kube_svc_port *o = elem;
	if (k_walk(c, v, svc_port_fields, o) < 0)
		return -1;
	if (!o->port)
		return kerr_field(c, v, "port", "required");
	if (!o->target.number && !o->target.name)
		o->target.number = o->port;
	return 0;
}

static int sv_type(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	static const char *const types[] = {"ClusterIP", "NodePort", NULL};
	int i;
	if (k_enum(c, v, types, &i) < 0)
		return -1;
	o->u.svc.type = (kube_svc_type)i;
	return 0;
}

static int sv_selector(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	return k_kvmap(c, v, k_qualified_name, k_label_value, &o->u.svc.selector,
		       &o->u.svc.n_selector);
}

static int sv_ports(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	return k_list(c, v, sizeof(kube_svc_port), (void **)&o->u.svc.ports, &o->u.svc.n_ports,
		      svc_port_item);
}

static const kfield svc_spec_fields[] = {
    {"type", sv_type}, {"selector", sv_selector}, {"ports", sv_ports}, {0}};

/* The first duplicate of keys[0..n) reported at spec.ports[i].field. */
static int svc_dup(kctx *c, const ky_node *ports, char **keys, size_t n, const size_t *idx,
		   const char *field, const char *what)
{
	long d = k_first_dup(keys, n);
	if (d < 0)
		return 0;
	size_t i = idx ? idx[d] : (size_t)d, old = kp_field(c, "ports");
	kp_index(c, i);
	kerr_field(c, ports->items[i], field, "%s %s", what, keys[d]);
	kp_pop(c, old);
	return -1;
}

static int service_spec(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	kube_service *s = &o->u.svc;
	if (k_walk(c, v, svc_spec_fields, o) < 0)
		return -1;
	if (!s->n_ports)
		return kerr_field(c, v, "ports", "at least one port is required");
	const ky_node *ports = ky_get(v, "ports");
	char **keys = xzalloc(s->n_ports * sizeof(char *));
	size_t *idx = xzalloc(s->n_ports * sizeof(size_t)), n = 0;
	int r = 0;
	for (size_t i = 0; i < s->n_ports && !r; i++) {
		const kube_svc_port *p = &s->ports[i];
		size_t old = kp_field(c, "ports");
		kp_index(c, i);
		if (!p->name && s->n_ports > 1)
			r = kerr_field(c, ports->items[i], "name",
				       "required when a Service has more than one port");
		else if (p->node_port && s->type != KUBE_SVC_NODE_PORT)
			r = kerr_field(c, ports->items[i], "nodePort", "only with type NodePort");
		kp_pop(c, old);
	}
	/* names, port/protocol, nodePort/protocol unique */
	for (size_t i = 0; i < s->n_ports && !r; i++)
		if (s->ports[i].name)
			keys[n] = s->ports[i].name, idx[n++] = i;
	if (!r)
		r = svc_dup(c, ports, keys, n, idx, "name", "duplicate port name");
	for (int pass = 0; pass < 2 && !r; pass++) {
		n = 0;
		for (size_t i = 0; i < s->n_ports; i++) {
			int port = pass ? s->ports[i].node_port : s->ports[i].port;
			if (!port)
				continue;
			idx[n] = i;
			keys[n++] = xasprintf("%d/%s", port,
					      s->ports[i].protocol == KUBE_UDP ? "UDP" : "TCP");
		}
		r = svc_dup(c, ports, keys, n, idx, pass ? "nodePort" : "port", "duplicate");
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
	}
	free(keys);
	free(idx);
	return r;
}

/* ---- ConfigMap, Secret ---- */

typedef struct blob_list {
	kube_blob *v;
	size_t n, cap;
	size_t bytes;
} blob_list;

static void blob_push(blob_list *l, const char *key, unsigned char *value, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = (kube_blob){xstrdup(key), value, len};
	l->bytes += len;
}

/* A map of config keys whose values are base64 (decode) or strings. */
static int blob_map(kctx *c, const ky_node *v, bool base64, blob_list *l)
{
	if (v->kind != KY_MAP)
		return kerr(c, v, "must be a mapping, not %s", ky_type_name(v));
	for (size_t k = 0; k < v->n; k++) {
		const ky_node *key = v->items[2 * k], *val = v->items[2 * k + 1];
		size_t old = kp_key(c, key->str);
		const char *why = k_config_key(key->str);
		char *s = NULL;
		int r = why ? kerr(c, key, "key: %s", why) : 0;
		if (!r && val->kind == KY_SCALAR && val->type == KY_NULL)
			s = xstrdup("");
		else if (!r)
			r = k_str(c, val, &s);
		if (!r) {
			size_t len = strlen(s);
			unsigned char *bytes = (unsigned char *)s;
			if (base64) {
				bytes = k_b64_decode(s, &len);
				free(s);
				if (!bytes)
					r = kerr(c, val, "not valid base64");
			}
			if (bytes)
				blob_push(l, key->str, bytes, len);
		}
		kp_pop(c, old);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* by key (keys are unique where this sorts) */
static int cmp_blob(const void *a, const void *b)
{
	return strcmp(((const kube_blob *)a)->key, ((const kube_blob *)b)->key);
}

static int cm_data(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	return k_kvmap(c, v, k_config_key, NULL, &o->u.cm.data, &o->u.cm.n_data);
}

static int cm_binary(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	blob_list l = {0};
	int r = blob_map(c, v, true, &l);
	o->u.cm.binary = l.v;
	o->u.cm.n_binary = l.n;
	return r;
}

static int check_configmap(kctx *c, const ky_node *doc, kube_obj *o)
{
	kube_configmap *m = &o->u.cm;
	size_t n = m->n_data + m->n_binary, bytes = 0;
	char **keys = xzalloc((n + 1) * sizeof(char *));
	for (size_t i = 0; i < m->n_data; i++) {
		keys[i] = m->data[i].key;
		bytes += strlen(m->data[i].value);
	}
	for (size_t i = 0; i < m->n_binary; i++) {
		keys[m->n_data + i] = m->binary[i].key;
		bytes += m->binary[i].len;
	}
	long d = k_first_dup(keys, n);
	int r = 0;
	if (d >= 0)
		r = kerr_field(c, ky_get(doc, "binaryData"), "binaryData",
			       "key \"%.100s\" is in data too", keys[d]);
	else if (bytes > KUBE_MAX_CONFIG_BYTES)
		r = kerr_field(c, doc, "data", "more than %u bytes", KUBE_MAX_CONFIG_BYTES);
	free(keys);
	return r;
}

static int sc_type(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	if (k_str(c, v, &o->u.secret.type) < 0)
		return -1;
	return o->u.secret.type[0] ? 0 : kerr(c, v, "must not be empty");
}

/* data and stringData collected in that order, merged after the walk */
typedef struct secret_build {
	kube_obj *o;
	blob_list data, str;
} secret_build;

static int sc_data(kctx *c, const ky_node *v, void *obj)
{
	secret_build *b = obj;
	return blob_map(c, v, true, &b->data);
}

static int sc_string_data(kctx *c, const ky_node *v, void *obj)
{
	secret_build *b = obj;
	return blob_map(c, v, false, &b->str);
}

static int secret_type(kctx *c, const ky_node *v, void *obj)
{
	secret_build *b = obj;
	return sc_type(c, v, b->o);
}

/* stringData's keys win over data's (Kubernetes' merge): a data key that
 * stringData has too is dropped (found by binary search in stringData's
 * sorted keys), then the whole sorted by key. */
static void secret_merge(secret_build *b)
{
	char **str_keys = xzalloc((b->str.n + 1) * sizeof(char *));
	for (size_t i = 0; i < b->str.n; i++)
		str_keys[i] = b->str.v[i].key;
	k_sort_strs(str_keys, b->str.n);
	blob_list all = {0};
	for (size_t i = 0; i < b->data.n; i++) {
		kube_blob *d = &b->data.v[i];
		if (k_sorted_has(str_keys, b->str.n, d->key)) {
			free(d->value);
		} else {
			blob_push(&all, d->key, d->value, d->len);
		}
		free(d->key);
	}
	for (size_t i = 0; i < b->str.n; i++) {
		blob_push(&all, b->str.v[i].key, b->str.v[i].value, b->str.v[i].len);
		free(b->str.v[i].key);
	}
	free(str_keys);
	free(b->data.v);
	free(b->str.v);
	if (all.n > 1)
		qsort(all.v, all.n, sizeof(*all.v), cmp_blob);
	b->o->u.secret.data = all.v;
	b->o->u.secret.n_data = all.n;
}

/* ---- PersistentVolumeClaim ---- */

static int pvc_storage(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pvc);
	return k_bytes(c, v, &o->storage);
}

static const kfield pvc_requests_fields[] = {{"storage", pvc_storage}, {0}};

static int pvc_requests(kctx *c, const ky_node *v, void *obj)
{
	return k_walk(c, v, pvc_requests_fields, obj);
}

static const kfield pvc_resources_fields[] = {{"requests", pvc_requests}, {0}};

static int pvc_resources(kctx *c, const ky_node *v, void *obj)
{
	return k_walk(c, v, pvc_resources_fields, obj);
}

static int pvc_modes(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pvc);
	static const char *const modes[] = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany",
					    "ReadWriteOncePod", NULL};
	if (k_strv(c, v, &o->access_modes) < 0)
		return -1;
	for (size_t i = 0; o->access_modes[i]; i++) {
		size_t old = kp_index(c, i);
		int m;
		int r = k_enum(c, v->items[i], modes, &m);
		kp_pop(c, old);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int pvc_class(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_pvc);
	return k_str(c, v, &o->storage_class);
}

static int pvc_volume_mode(kctx *c, const ky_node *v, void *obj)
{
	(void)obj;
	static const char *const modes[] = {"Filesystem", NULL};
	int m;
	return k_enum(c, v, modes, &m);
}

static const kfield pvc_spec_fields[] = {{"accessModes", pvc_modes},
					 {"resources", pvc_resources},
					 {"storageClassName", pvc_class},
					 {"volumeMode", pvc_volume_mode},
					 {0}};

static int pvc_spec(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	kube_pvc *p = &o->u.pvc;
	p->storage = -1;
	if (k_walk(c, v, pvc_spec_fields, p) < 0)
		return -1;
	if (p->storage < 0)
		return kerr_field(c, v, "resources.requests.storage", "required");
	return 0;
}

/* ---- objects ---- */

static int ob_api(kctx *c, const ky_node *v, void *obj)
{
	(void)c, (void)v, (void)obj; /* checked before the walk */
	return 0;
}

static int ob_meta(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_obj);
	return k_meta(c, v, &o->meta);
}

/* `status: {}` is what generators write; a status is Kubernetes' to fill. */
static int ob_status(kctx *c, const ky_node *v, void *obj)
{
	(void)obj;
	if (v->kind == KY_MAP && !v->n)
		return 0;
	return kerr(c, v, "not supported by berth (status is written by Kubernetes)");
}

static const kfield pod_fields[] = {{"apiVersion", ob_api}, {"kind", ob_api},
				    {"metadata", ob_meta},  {"spec", pod_spec},
				    {"status", ob_status},  {0}};
static const kfield deploy_fields[] = {{"apiVersion", ob_api}, {"kind", ob_api},
				       {"metadata", ob_meta},  {"spec", deploy_spec},
				       {"status", ob_status},  {0}};
static const kfield service_fields[] = {{"apiVersion", ob_api}, {"kind", ob_api},
					{"metadata", ob_meta},	{"spec", service_spec},
					{"status", ob_status},	{0}};
static const kfield configmap_fields[] = {{"apiVersion", ob_api},    {"kind", ob_api},
					  {"metadata", ob_meta},     {"data", cm_data},
					  {"binaryData", cm_binary}, {0}};
static const kfield pvc_fields[] = {{"apiVersion", ob_api}, {"kind", ob_api},
				    {"metadata", ob_meta},  {"spec", pvc_spec},
				    {"status", ob_status},  {0}};

static int secret_meta(kctx *c, const ky_node *v, void *obj)
{
	secret_build *b = obj;
	return k_meta(c, v, &b->o->meta);
}

static const kfield secret_fields[] = {{"apiVersion", ob_api},
				       {"kind", ob_api},
				       {"metadata", secret_meta},
				       {"type", secret_type},
				       {"data", sc_data},
				       {"stringData", sc_string_data},
				       {0}};

static int obj_body(kctx *c, const ky_node *doc, kube_obj *o)
{
	static const kfield *const tables[] = {
	    [KUBE_POD] = pod_fields,	     [KUBE_DEPLOYMENT] = deploy_fields,
	    [KUBE_SERVICE] = service_fields, [KUBE_CONFIGMAP] = configmap_fields,
	    [KUBE_PVC] = pvc_fields,
	};
	if (o->kind == KUBE_SECRET) {
		secret_build b = {.o = o};
		int r = k_walk(c, doc, secret_fields, &b);
		secret_merge(&b);
		if (!o->u.secret.type)
			o->u.secret.type = xstrdup("Opaque");
		return r;
	}
	if (k_walk(c, doc, tables[o->kind], o) < 0)
		return -1;
	const char *spec_required = o->kind == KUBE_POD		 ? "spec"
				    : o->kind == KUBE_DEPLOYMENT ? "spec"
				    : o->kind == KUBE_SERVICE	 ? "spec"
				    : o->kind == KUBE_PVC	 ? "spec"
								 : NULL;
	if (spec_required && !ky_get(doc, "spec"))
		return kerr_field(c, doc, "spec", "required");
	if (o->kind == KUBE_POD && !o->u.pod.spec.n_containers)
		return kerr_field(c, doc, "spec.containers", "at least one container is required");
	if (o->kind == KUBE_DEPLOYMENT && !o->u.deploy.tmpl.n_containers)
		return kerr_field(c, doc, "spec.template", "required");
	if (o->kind == KUBE_SERVICE && !o->u.svc.n_ports)
		return kerr_field(c, doc, "spec.ports", "at least one port is required");
	if (o->kind == KUBE_PVC && o->u.pvc.storage < 0)
		return kerr_field(c, doc, "spec.resources.requests.storage", "required");
	if (o->kind == KUBE_CONFIGMAP)
		return check_configmap(c, doc, o);
	return 0;
}

/* A scalar string field of the document, for apiVersion and kind. */
static const char *doc_str(kctx *c, const ky_node *doc, const char *field, int *r)
{
	const ky_node *v = ky_get(doc, field);
	if (!v || (v->kind == KY_SCALAR && v->type == KY_NULL)) {
		*r = kerr_field(c, doc, field, "required");
		return NULL;
	}
	if (v->kind != KY_SCALAR || v->type != KY_STR) {
		*r = kerr_field(c, v, field, "must be a string, not %s", ky_type_name(v));
		return NULL;
	}
	return v->str;
}

static int parse_doc(kctx *c, const ky_node *doc, kube_obj *o)
{
	if (doc->kind != KY_MAP)
		return kerr(c, doc, "a document must be a mapping (a Kubernetes object), not %s",
			    ky_type_name(doc));
	int r = 0;
	const char *kind = doc_str(c, doc, "kind", &r);
	if (!kind)
		return r;
	size_t k = 0;
	while (k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[k].kind, kind))
		k++;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return kerr_field(c, ky_get(doc, "kind"), "kind",
				  "\"%.100s\": not supported by berth (Pod, Deployment, Service, "
				  "ConfigMap, Secret, PersistentVolumeClaim)",
				  kind);
	o->kind = (kube_kind)k;
	c->kind = kinds[k].kind;
	const char *api = doc_str(c, doc, "apiVersion", &r);
	if (!api)
		return r;
	if (strcmp(api, kinds[k].api))
		return kerr_field(c, ky_get(doc, "apiVersion"), "apiVersion",
				  "\"%.100s\": not supported by berth (%s)", api, kinds[k].api);
	/* the name first, so that every later message names the object */
	const ky_node *meta = ky_get(doc, "metadata"), *name = ky_get(meta, "name");
	if (!meta || !name || (name->kind == KY_SCALAR && name->type == KY_NULL))
		return kerr_field(c, meta ? meta : doc, meta ? "metadata.name" : "metadata",
				  "required");
	if (name->kind != KY_SCALAR || name->type != KY_STR)
		return kerr_field(c, name, "metadata.name", "must be a string, not %s",
				  ky_type_name(name));
	const char *why = kinds[k].name_ok(name->str);
	if (why)
		return kerr_field(c, name, "metadata.name", "\"%.100s\": %s", name->str, why);
	c->name = name->str;
	return obj_body(c, doc, o);
}

static void obj_free(kube_obj *o)
{
	k_meta_free(&o->meta);
	switch (o->kind) {
	case KUBE_POD:
		k_pod_spec_free(&o->u.pod.spec);
		break;
	case KUBE_DEPLOYMENT:
		k_kv_free(o->u.deploy.selector, o->u.deploy.n_selector);
		k_meta_free(&o->u.deploy.tmpl_meta);
		k_pod_spec_free(&o->u.deploy.tmpl);
		break;
	case KUBE_SERVICE:
		k_kv_free(o->u.svc.selector, o->u.svc.n_selector);
		for (size_t i = 0; i < o->u.svc.n_ports; i++) {
			free(o->u.svc.ports[i].name);
			free(o->u.svc.ports[i].target.name);
		}
		free(o->u.svc.ports);
		break;
	case KUBE_CONFIGMAP:
		k_kv_free(o->u.cm.data, o->u.cm.n_data);
		blobs_free(o->u.cm.binary, o->u.cm.n_binary);
		break;
	case KUBE_SECRET:
		free(o->u.secret.type);
		blobs_free(o->u.secret.data, o->u.secret.n_data);
		break;
	case KUBE_PVC:
		strv_free(o->u.pvc.access_modes);
		free(o->u.pvc.storage_class);
		break;
	}
}

void kube_file_free(kube_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_objs; i++)
		obj_free(&f->objs[i]);
	free(f->objs);
	free(f);
}

/* Two objects of one kind with one name in one namespace: refused. */
static int unique_objects(const kube_file *f, const char *file, berr *e)
{
	char **keys = xzalloc((f->n_objs + 1) * sizeof(char *));
	for (size_t i = 0; i < f->n_objs; i++) {
		const kube_obj *o = &f->objs[i];
		keys[i] =
		    xasprintf("%s/%s/%s", kube_kind_name(o->kind),
			      o->meta.namespace ? o->meta.namespace : "default", o->meta.name);
	}
	long d = k_first_dup(keys, f->n_objs);
	int r = 0;
	if (d >= 0) {
		const kube_obj *o = &f->objs[d];
		r = berr_set(e, EINVAL, "%s:%u: %s \"%.200s\": defined twice", file, o->line,
			     kube_kind_name(o->kind), o->meta.name);
	}
	for (size_t i = 0; i < f->n_objs; i++)
		free(keys[i]);
	free(keys);
	return r;
}

kube_file *kube_parse(const char *data, size_t len, const char *file, berr *e)
{
	ky_stream *s = ky_parse(data, len, file, e);
	if (!s)
		return NULL;
	kube_file *f = xzalloc(sizeof(*f));
	f->objs = xzalloc((s->n_docs + 1) * sizeof(*f->objs));
	int r = 0;
	for (size_t i = 0; i < s->n_docs && !r; i++) {
		const ky_node *doc = s->docs[i];
		if (doc->kind == KY_SCALAR && doc->type == KY_NULL)
			continue; /* an empty document, as kubectl skips them */
		kctx c = {.file = file, .e = e};
		kube_obj *o = &f->objs[f->n_objs++];
		o->line = doc->line;
		r = parse_doc(&c, doc, o);
	}
	ky_free(s);
	if (!r)
		r = unique_objects(f, file, e);
	if (r < 0) {
		kube_file_free(f);
		return NULL;
	}
	return f;
}
