/* Shared by the model's files (model.c: documents, kinds, metadata, the
 * non-pod objects; model_pod.c: pod specs; model_util.c: the walk over a
 * mapping, scalar getters, name rules, quantities, base64). Not a public
 * header. */
#pragma once

#include "kube/model.h"
#include "kube/yaml.h"
#include "util/error.h"

/* Where the walk is: the object (kind, name) and the field path in it,
 * "spec.containers[0].ports[1]", as Kubernetes names fields. */
typedef struct kctx {
	const char *file;
	berr *e;
	const char *kind; /* NULL until known */
	const char *name; /* NULL until known */
	char path[1024];
	size_t plen;
} kctx;

/* An error at node n (its line) under the current path: returns -1. */
int kerr(kctx *c, const ky_node *n, const char *fmt, ...) BERR_FMT(3, 4);
/* The same one path element deeper (a missing field: named but absent). */
int kerr_field(kctx *c, const ky_node *n, const char *field, const char *fmt, ...) BERR_FMT(4, 5);

/* Path: push ".field" / "[i]" / "[key]", returning the length to pop to. */
size_t kp_field(kctx *c, const char *field);
size_t kp_index(kctx *c, size_t i);
size_t kp_key(kctx *c, const char *key);
void kp_pop(kctx *c, size_t len);

/* One known field of a mapping: fn gets its (non-null) value and the
 * object being filled. */
typedef int (*kfield_fn)(kctx *c, const ky_node *v, void *obj);
typedef struct kfield {
	const char *name;
	kfield_fn fn;
} kfield;
/* Every key of map through fields (a null map: nothing); a key not in the
 * table is "not supported by berth", a null value is the field unset. */
int k_walk(kctx *c, const ky_node *map, const kfield *fields, void *obj);

/* A list: fn on each item with "[i]" pushed; *arr (elem bytes each,
 * zeroed) and *n set first, so that a failure leaves them to be freed. */
typedef int (*kitem_fn)(kctx *c, const ky_node *item, void *elem);
int k_list(kctx *c, const ky_node *seq, size_t elem, void **arr, size_t *n, kitem_fn fn);

int k_str(kctx *c, const ky_node *v, char **out);
int k_bool(kctx *c, const ky_node *v, bool *out);
int k_tri(kctx *c, const ky_node *v, int *out);
int k_int(kctx *c, const ky_node *v, int64_t min, int64_t max, int64_t *out);
int k_int32(kctx *c, const ky_node *v, int min, int max, int *out);
int k_strv(kctx *c, const ky_node *v, char ***out);
/* A string->string map (labels, annotations, data): keys checked by
 * key_ok (a message, NULL if fine), values by val_ok (may be NULL). */
typedef const char *(*k_check_fn)(const char *s);
int k_kvmap(kctx *c, const ky_node *v, k_check_fn key_ok, k_check_fn val_ok, kube_kv **out,
	    size_t *n);
/* A port number or a port name (IntOrString). */
int k_port_ref(kctx *c, const ky_node *v, kube_port_ref *out);
/* "TCP" / "UDP". */
int k_proto(kctx *c, const ky_node *v, kube_proto *out);
/* A string that must be one of values (NULL-terminated): its index. */
int k_enum(kctx *c, const ky_node *v, const char *const *values, int *out);
/* A quantity scalar (string or number) into bytes / millicores. */
int k_bytes(kctx *c, const ky_node *v, int64_t *out);
int k_milli(kctx *c, const ky_node *v, int64_t *out);

/* Name rules (Kubernetes' validation): NULL if s is fine, else why not. */
const char *k_dns_label(const char *s);	     /* DNS-1123 label */
const char *k_dns_subdomain(const char *s);  /* DNS-1123 subdomain */
const char *k_dns1035_label(const char *s);  /* DNS-1035 label (Service names) */
const char *k_iana_svc_name(const char *s);  /* named ports */
const char *k_qualified_name(const char *s); /* label and annotation keys */
const char *k_label_value(const char *s);
const char *k_config_key(const char *s); /* ConfigMap / Secret keys */
const char *k_env_name(const char *s);
const char *k_abs_path(const char *s);
const char *k_rel_path(const char *s); /* subPath, items' paths: relative, no ".." */

/* The index of the first item (in order) whose key equals an earlier
 * one's, or -1; by sorting, never pairwise. */
long k_first_dup(char *const *keys, size_t n);
/* Is key among sorted (strcmp order, n keys)? */
bool k_sorted_has(char *const *sorted, size_t n, const char *key);
void k_sort_strs(char **v, size_t n);

/* Strict standard base64 (newlines ignored, as Go's decoder does): malloc'ed,
 * NUL-terminated, *len bytes; NULL if invalid. */
unsigned char *k_b64_decode(const char *s, size_t *len);

/* model_container.c: one item of containers / initContainers */
int k_container(kctx *c, const ky_node *v, void *elem);
int k_init_container(kctx *c, const ky_node *v, void *elem);
void k_container_free(kube_container *ct);
/* model_pod.c */
int k_pod_spec(kctx *c, const ky_node *v, kube_pod_spec *spec);
void k_pod_spec_free(kube_pod_spec *spec);
/* model.c */
int k_meta(kctx *c, const ky_node *v, kube_meta *m);
void k_meta_free(kube_meta *m);
void k_kv_free(kube_kv *kv, size_t n);
