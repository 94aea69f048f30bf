/* The Kubernetes objects berth supports, read from YAML into a checked
 * in-memory model (the front half of `berth kube play`).
 *
 * kube_parse() takes the bytes of a manifest (a stream of `---`-separated
 * documents, empty ones skipped) and returns every object, validated: the
 * kinds Pod, Deployment (apps/v1), Service, ConfigMap, Secret,
 * PersistentVolumeClaim (v1), each field berth knows parsed into a typed
 * value (quantities into millicores and bytes, Secret data base64-decoded,
 * ports range-checked, names checked as Kubernetes checks them). A field,
 * kind or apiVersion berth does not know is an error naming it the way
 * Kubernetes names paths:
 *   app.yaml:12: Pod "web": spec.containers[0].lifecycle: not supported by berth
 * Nothing is defaulted silently except where Kubernetes defaults (noted on
 * the field). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum kube_kind {
	KUBE_POD,
	KUBE_DEPLOYMENT,
	KUBE_SERVICE,
	KUBE_CONFIGMAP,
	KUBE_SECRET,
	KUBE_PVC,
} kube_kind;

typedef struct kube_kv {
	char *key, *value;
} kube_kv;

/* A value with its length (Secret data, ConfigMap binaryData: may hold NULs;
 * value is NUL-terminated too). */
typedef struct kube_blob {
	char *key;
	unsigned char *value;
	size_t len;
} kube_blob;

typedef struct kube_meta {
	char *name;	 /* required on objects; NULL allowed in a pod template */
	char *namespace; /* NULL: not given */
	kube_kv *labels;
	size_t n_labels;
	kube_kv *annotations;
	size_t n_annotations;
} kube_meta;

typedef enum kube_proto { KUBE_TCP, KUBE_UDP } kube_proto;

/* A port given as a number or as a port's name (IntOrString). */
typedef struct kube_port_ref {
	int number; /* 0 if by name */
	char *name; /* NULL if by number */
} kube_port_ref;

typedef enum kube_env_src {
	KUBE_ENV_VALUE,	    /* value (NULL if neither value nor valueFrom: "") */
	KUBE_ENV_CONFIGMAP, /* valueFrom.configMapKeyRef: ref_name, ref_key */
	KUBE_ENV_SECRET,    /* valueFrom.secretKeyRef: ref_name, ref_key */
	KUBE_ENV_FIELD,	    /* valueFrom.fieldRef: field_path "metadata.name" */
} kube_env_src;

typedef struct kube_env {
	char *name;
	kube_env_src src;
	char *value;
	char *ref_name, *ref_key;
	bool optional;
	char *field_path;
} kube_env;

typedef struct kube_env_from {
	bool secret;  /* secretRef, else configMapRef */
	char *name;   /* of the ConfigMap / Secret */
	char *prefix; /* NULL if none */
	bool optional;
} kube_env_from;

typedef struct kube_cport {
	char *name; /* NULL if none */
	int container_port;
	int host_port; /* 0: not published */
	kube_proto protocol;
} kube_cport;

/* Quantities: -1 when not given. Kubernetes' rule that limits default the
 * requests is applied (a limit without a request is also the request). */
typedef struct kube_resources {
	int64_t cpu_request_m, cpu_limit_m; /* millicores */
	int64_t mem_request, mem_limit;	    /* bytes */
} kube_resources;

typedef struct kube_mount {
	char *name, *mount_path;
	char *sub_path; /* NULL if none */
	bool read_only;
} kube_mount;

/* Tri-states: -1 not given, else 0/1. */
typedef struct kube_security {
	int64_t run_as_user, run_as_group; /* -1: not given */
	int privileged, read_only_root_fs, allow_privilege_escalation;
	char **cap_add, **cap_drop; /* NULL-terminated, "NET_ADMIN" as written; NULL if none */
} kube_security;

typedef enum kube_probe_kind {
	KUBE_PROBE_NONE,
	KUBE_PROBE_EXEC,
	KUBE_PROBE_HTTP,
	KUBE_PROBE_TCP,
} kube_probe_kind;

/* Kubernetes' defaults when not given: period 10 s, timeout 1 s, failure
 * threshold 3, success threshold 1, no initial delay; httpGet path "/". */
typedef struct kube_probe {
	kube_probe_kind kind;
	char **command; /* exec */
	char *path;	/* httpGet */
	kube_port_ref port;
	int initial_delay, period, timeout, failure_threshold, success_threshold;
} kube_probe;

typedef enum kube_pull {
	KUBE_PULL_DEFAULT, /* not given: Always for :latest or no tag, else IfNotPresent */
	KUBE_PULL_ALWAYS,
	KUBE_PULL_IF_NOT_PRESENT,
	KUBE_PULL_NEVER,
} kube_pull;

typedef struct kube_container {
	char *name, *image;
	char **command, **args; /* NULL-terminated; NULL if not given */
	kube_env *env;
	size_t n_env;
	kube_env_from *env_from;
	size_t n_env_from;
	kube_cport *ports;
	size_t n_ports;
	kube_resources resources;
	kube_mount *mounts;
	size_t n_mounts;
	bool has_security;
	kube_security security;
	kube_probe liveness, readiness, startup;
	char *working_dir;
	bool stdin_open, tty;
	kube_pull pull;
	unsigned line;
} kube_container;

typedef enum kube_vol_kind {
	KUBE_VOL_HOSTPATH,
	KUBE_VOL_EMPTYDIR,
	KUBE_VOL_CONFIGMAP,
	KUBE_VOL_SECRET,
	KUBE_VOL_PVC,
} kube_vol_kind;

typedef struct kube_volume {
	char *name;
	kube_vol_kind kind;
	char *source;	    /* hostPath.path, configMap.name, secret.secretName, pvc claimName */
	char *host_type;    /* hostPath.type ("" if not given) */
	char *medium;	    /* emptyDir.medium ("" or "Memory") */
	int64_t size_limit; /* emptyDir.sizeLimit bytes, -1 if not given */
	bool read_only;	    /* persistentVolumeClaim.readOnly */
	bool optional;	    /* configMap / secret optional */
	kube_kv *items;	    /* configMap / secret items: key -> relative path */
	size_t n_items;
	int default_mode; /* configMap / secret defaultMode (0..0777), -1 if not given */
} kube_volume;

typedef enum kube_restart {
	KUBE_RESTART_ALWAYS, /* Kubernetes' default */
	KUBE_RESTART_ON_FAILURE,
	KUBE_RESTART_NEVER,
} kube_restart;

typedef enum kube_dns {
	KUBE_DNS_CLUSTER_FIRST, /* Kubernetes' default */
	KUBE_DNS_CLUSTER_FIRST_WITH_HOST_NET,
	KUBE_DNS_DEFAULT,
} kube_dns;

typedef struct kube_pod_spec {
	kube_container *containers; /* at least one */
	size_t n_containers;
	kube_container *init_containers;
	size_t n_init_containers;
	kube_volume *volumes;
	size_t n_volumes;
	kube_restart restart;
	char *hostname; /* NULL if not given */
	bool host_network;
	kube_dns dns_policy;
} kube_pod_spec;

typedef struct kube_pod {
	kube_pod_spec spec;
} kube_pod;

typedef struct kube_deployment {
	int replicas;	   /* default 1 */
	kube_kv *selector; /* spec.selector.matchLabels (required, matched by the template) */
	size_t n_selector;
	kube_meta tmpl_meta; /* spec.template.metadata */
	kube_pod_spec tmpl;  /* spec.template.spec */
} kube_deployment;

typedef enum kube_svc_type { KUBE_SVC_CLUSTER_IP, KUBE_SVC_NODE_PORT } kube_svc_type;

typedef struct kube_svc_port {
	char *name; /* NULL if none (only when there is one port) */
	kube_proto protocol;
	int port;
	kube_port_ref target; /* default: the port */
	int node_port;	      /* 0: not given */
} kube_svc_port;

typedef struct kube_service {
	kube_svc_type type;
	kube_kv *selector;
	size_t n_selector;
	kube_svc_port *ports;
	size_t n_ports;
} kube_service;

typedef struct kube_configmap {
	kube_kv *data;
	size_t n_data;
	kube_blob *binary; /* binaryData, base64-decoded */
	size_t n_binary;
} kube_configmap;

typedef struct kube_secret {
	char *type;	 /* "Opaque" if not given */
	kube_blob *data; /* data decoded, stringData over it (as Kubernetes merges); by key */
	size_t n_data;
} kube_secret;

typedef struct kube_pvc {
	int64_t storage; /* spec.resources.requests.storage, bytes (required) */
	char **access_modes;
	char *storage_class; /* NULL if not given */
} kube_pvc;

typedef struct kube_obj {
	kube_kind kind;
	unsigned line; /* where its document starts */
	kube_meta meta;
	union {
		kube_pod pod;
		kube_deployment deploy;
		kube_service svc;
		kube_configmap cm;
		kube_secret secret;
		kube_pvc pvc;
	} u;
} kube_obj;

typedef struct kube_file {
	kube_obj *objs;
	size_t n_objs;
} kube_file;

/* Parse and check a manifest (file names it in messages). NULL with e set
 * to one line "FILE:LINE: Kind \"name\": path: what" on the first error. */
kube_file *kube_parse(const char *data, size_t len, const char *file, berr *e);
void kube_file_free(kube_file *f);

/* "Pod", "Deployment", ... */
const char *kube_kind_name(kube_kind k);

/* Quantities (exposed for the tests): "500m", "1", "0.5" -> millicores;
 * "64Mi", "1G", "1e3", "128974848" -> bytes (rounded up, as Kubernetes'
 * Value() rounds). 0, or -1 with *why set to what is wrong. */
int kube_quantity_milli(const char *s, int64_t *out, const char **why);
int kube_quantity_bytes(const char *s, int64_t *out, const char **why);
