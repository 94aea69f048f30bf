/* Containers (and init containers): image, command, env, envFrom, ports,
 * resources, volume mounts, security context, probes, and the rest of a
 * container's fields. The pod-wide checks are model_pod.c's. */
#include <stdlib.h>
#include <string.h>

#include "kube/model_priv.h"
#include "util/xalloc.h"

#define OBJ(type) type *o = obj

/* ---- env ---- */

static int kr_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	return k_str(c, v, &o->ref_name);
}

static int kr_key(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	if (k_str(c, v, &o->ref_key) < 0)
		return -1;
	const char *why = k_config_key(o->ref_key);
	return why ? kerr(c, v, "%s", why) : 0;
}

static int kr_optional(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	return k_bool(c, v, &o->optional);
}

static const kfield key_ref_fields[] = {
    {"name", kr_name}, {"key", kr_key}, {"optional", kr_optional}, {0}};

static int env_key_ref(kctx *c, const ky_node *v, kube_env *o, kube_env_src src)
{
	if (o->src != KUBE_ENV_VALUE)
		return kerr(c, v, "only one source in valueFrom");
	o->src = src;
	if (k_walk(c, v, key_ref_fields, o) < 0)
		return -1;
	if (!o->ref_name)
		return kerr_field(c, v, "name", "required");
	if (!o->ref_key)
		return kerr_field(c, v, "key", "required");
	return 0;
}

static int vf_cm(kctx *c, const ky_node *v, void *obj)
{
	return env_key_ref(c, v, obj, KUBE_ENV_CONFIGMAP);
}

static int vf_secret(kctx *c, const ky_node *v, void *obj)
{
	return env_key_ref(c, v, obj, KUBE_ENV_SECRET);
}

static int fr_api(kctx *c, const ky_node *v, void *obj)
{
	(void)obj;
	char *s = NULL;
	if (k_str(c, v, &s) < 0)
		return -1;
	int r = strcmp(s, "v1") ? kerr(c, v, "\"%.100s\": not supported by berth (v1)", s) : 0;
	free(s);
	return r;
}

static int fr_path(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	if (k_str(c, v, &o->field_path) < 0)
		return -1;
	if (strcmp(o->field_path, "metadata.name"))
		return kerr(c, v, "\"%.100s\": not supported by berth (metadata.name)",
			    o->field_path);
	return 0;
}

static const kfield field_ref_fields[] = {{"apiVersion", fr_api}, {"fieldPath", fr_path}, {0}};

static int vf_field(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	if (o->src != KUBE_ENV_VALUE)
		return kerr(c, v, "only one source in valueFrom");
	o->src = KUBE_ENV_FIELD;
	if (k_walk(c, v, field_ref_fields, o) < 0)
		return -1;
	return o->field_path ? 0 : kerr_field(c, v, "fieldPath", "required");
}

static const kfield value_from_fields[] = {
    {"configMapKeyRef", vf_cm}, {"secretKeyRef", vf_secret}, {"fieldRef", vf_field}, {0}};

static int env_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	if (k_str(c, v, &o->name) < 0)
		return -1;
	const char *why = k_env_name(o->name);
	return why ? kerr(c, v, "%s", why) : 0;
}

static int env_value(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	return k_str(c, v, &o->value);
}

static int env_value_from(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env);
	if (k_walk(c, v, value_from_fields, o) < 0)
		return -1;
	return o->src == KUBE_ENV_VALUE ? kerr(c, v,
					       "one of configMapKeyRef, secretKeyRef, "
					       "fieldRef is required")
					: 0;
}

static const kfield env_fields[] = {
    {"name", env_name}, {"value", env_value}, {"valueFrom", env_value_from}, {0}};

static int env_item(kctx *c, const ky_node *v, void *elem)
{
	kube_env *o = elem;
	if (k_walk(c, v, env_fields, o) < 0)
		return -1;
	if (!o->name)
		return kerr_field(c, v, "name", "required");
	if (o->value && o->src != KUBE_ENV_VALUE)
		return kerr_field(c, v, "valueFrom", "may not be given with value");
	return 0;
}

static int ef_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env_from);
	return k_str(c, v, &o->name);
}

static int ef_optional(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env_from);
	return k_bool(c, v, &o->optional);
}

static const kfield ef_ref_fields[] = {{"name", ef_name}, {"optional", ef_optional}, {0}};

static int ef_ref(kctx *c, const ky_node *v, kube_env_from *o, bool secret)
{
	if (o->name)
		return kerr(c, v, "only one of configMapRef, secretRef");
	o->secret = secret;
	if (k_walk(c, v, ef_ref_fields, o) < 0)
		return -1;
	return o->name ? 0 : kerr_field(c, v, "name", "required");
}

static int ef_cm(kctx *c, const ky_node *v, void *obj)
{
	return ef_ref(c, v, obj, false);
}

static int ef_secret(kctx *c, const ky_node *v, void *obj)
{
	return ef_ref(c, v, obj, true);
}

static int ef_prefix(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_env_from);
	if (k_str(c, v, &o->prefix) < 0)
		return -1;
	const char *why = *o->prefix ? k_env_name(o->prefix) : NULL;
	return why ? kerr(c, v, "%s", why) : 0;
}

static const kfield env_from_fields[] = {
    {"configMapRef", ef_cm}, {"secretRef", ef_secret}, {"prefix", ef_prefix}, {0}};

static int env_from_item(kctx *c, const ky_node *v, void *elem)
{
	kube_env_from *o = elem;
	if (k_walk(c, v, env_from_fields, o) < 0)
		return -1;
	return o->name ? 0 : kerr(c, v, "one of configMapRef, secretRef is required");
}

/* ---- ports ---- */

static int cp_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_cport);
	if (k_str(c, v, &o->name) < 0)
		return -1;
	const char *why = k_iana_svc_name(o->name);
	return why ? kerr(c, v, "%s", why) : 0;
}

static int cp_port(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_cport);
	return k_int32(c, v, 1, 65535, &o->container_port);
}

/* 0 is Kubernetes' "not published", as if not given */
static int cp_host(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_cport);
	return k_int32(c, v, 0, 65535, &o->host_port);
}

static int cp_proto(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_cport);
	return k_proto(c, v, &o->protocol);
}

static const kfield cport_fields[] = {{"name", cp_name},
				      {"containerPort", cp_port},
				      {"hostPort", cp_host},
				      {"protocol", cp_proto},
				      {0}};

static int cport_item(kctx *c, const ky_node *v, void *elem)
{
	kube_cport *o = elem;
	if (k_walk(c, v, cport_fields, o) < 0)
		return -1;
	return o->container_port ? 0 : kerr_field(c, v, "containerPort", "required");
}

/* ---- resources ---- */

typedef struct res_pair {
	int64_t *cpu, *mem;
} res_pair;

static int rs_cpu(kctx *c, const ky_node *v, void *obj)
{
	res_pair *o = obj;
	return k_milli(c, v, o->cpu);
}

static int rs_mem(kctx *c, const ky_node *v, void *obj)
{
	res_pair *o = obj;
	return k_bytes(c, v, o->mem);
}

static const kfield res_list_fields[] = {{"cpu", rs_cpu}, {"memory", rs_mem}, {0}};

static int res_requests(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_resources);
	res_pair p = {&o->cpu_request_m, &o->mem_request};
	return k_walk(c, v, res_list_fields, &p);
}

static int res_limits(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_resources);
	res_pair p = {&o->cpu_limit_m, &o->mem_limit};
	return k_walk(c, v, res_list_fields, &p);
}

static const kfield res_fields[] = {{"requests", res_requests}, {"limits", res_limits}, {0}};

static int ct_resources(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	kube_resources *r = &o->resources;
	if (k_walk(c, v, res_fields, r) < 0)
		return -1;
	if (r->cpu_request_m < 0)
		r->cpu_request_m = r->cpu_limit_m;
	if (r->mem_request < 0)
		r->mem_request = r->mem_limit;
	if (r->cpu_limit_m >= 0 && r->cpu_request_m > r->cpu_limit_m)
		return kerr_field(c, v, "requests.cpu",
				  "must be less than or equal to the cpu limit");
	if (r->mem_limit >= 0 && r->mem_request > r->mem_limit)
		return kerr_field(c, v, "requests.memory",
				  "must be less than or equal to the memory limit");
	return 0;
}

/* ---- volume mounts ---- */

static int vm_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_mount);
	return k_str(c, v, &o->name);
}

static int vm_path(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_mount);
	if (k_str(c, v, &o->mount_path) < 0)
		return -1;
	const char *why = k_abs_path(o->mount_path);
	return why ? kerr(c, v, "%s", why) : 0;
}

static int vm_ro(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_mount);
	return k_bool(c, v, &o->read_only);
}

static int vm_sub(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_mount);
	if (k_str(c, v, &o->sub_path) < 0)
		return -1;
	const char *why = k_rel_path(o->sub_path);
	return why ? kerr(c, v, "%s", why) : 0;
}

static const kfield mount_fields[] = {
    {"name", vm_name}, {"mountPath", vm_path}, {"readOnly", vm_ro}, {"subPath", vm_sub}, {0}};

static int mount_item(kctx *c, const ky_node *v, void *elem)
{
	kube_mount *o = elem;
	if (k_walk(c, v, mount_fields, o) < 0)
		return -1;
	if (!o->name)
		return kerr_field(c, v, "name", "required");
	return o->mount_path ? 0 : kerr_field(c, v, "mountPath", "required");
}

/* ---- security context ---- */

static int caps(kctx *c, const ky_node *v, char ***out)
{
	if (k_strv(c, v, out) < 0)
		return -1;
	for (size_t i = 0; (*out)[i]; i++) {
		const char *s = (*out)[i];
		bool ok = *s != '\0';
		for (; *s && ok; s++)
			ok = (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_';
		if (!ok) {
			size_t old = kp_index(c, i);
			kerr(c, v->items[i], "\"%.100s\": a capability name (NET_ADMIN, ALL)",
			     (*out)[i]);
			kp_pop(c, old);
			return -1;
		}
	}
	return 0;
}

static int cap_add(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_security);
	return caps(c, v, &o->cap_add);
}

static int cap_drop(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_security);
	return caps(c, v, &o->cap_drop);
}

static const kfield cap_fields[] = {{"add", cap_add}, {"drop", cap_drop}, {0}};

static int sc_caps(kctx *c, const ky_node *v, void *obj)
{
	return k_walk(c, v, cap_fields, obj);
}

static int sc_user(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_security);
	return k_int(c, v, 0, 2147483647, &o->run_as_user);
}

static int sc_group(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_security);
	return k_int(c, v, 0, 2147483647, &o->run_as_group);
}

static int sc_priv(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_security);
	return k_tri(c, v, &o->privileged);
}

static int sc_rofs(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_security);
	return k_tri(c, v, &o->read_only_root_fs);
}

static int sc_ape(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_security);
	return k_tri(c, v, &o->allow_privilege_escalation);
}

static const kfield security_fields[] = {{"runAsUser", sc_user},
					 {"runAsGroup", sc_group},
					 {"privileged", sc_priv},
					 {"readOnlyRootFilesystem", sc_rofs},
					 {"capabilities", sc_caps},
					 {"allowPrivilegeEscalation", sc_ape},
					 {0}};

static int ct_security(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	o->has_security = true;
	kube_security *s = &o->security;
	if (k_walk(c, v, security_fields, s) < 0)
		return -1;
	if (s->privileged == 1 && s->allow_privilege_escalation == 0)
		return kerr_field(c, v, "allowPrivilegeEscalation",
				  "cannot be false when privileged is true");
	return 0;
}

/* ---- probes ---- */

static int pr_handler(kctx *c, const ky_node *v, kube_probe *o, kube_probe_kind k)
{
	if (o->kind != KUBE_PROBE_NONE)
		return kerr(c, v, "only one of exec, httpGet, tcpSocket");
	o->kind = k;
	return 0;
}

static int ex_command(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_probe);
	return k_strv(c, v, &o->command);
}

static const kfield exec_fields[] = {{"command", ex_command}, {0}};

static int pr_exec(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_probe);
	if (pr_handler(c, v, o, KUBE_PROBE_EXEC) < 0 || k_walk(c, v, exec_fields, o) < 0)
		return -1;
	return o->command && o->command[0] ? 0 : kerr_field(c, v, "command", "required");
}

static int hg_path(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_probe);
	if (k_str(c, v, &o->path) < 0)
		return -1;
	return o->path[0] == '/' ? 0 : kerr(c, v, "must start with '/'");
}

static int pr_port(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_probe);
	return k_port_ref(c, v, &o->port);
}

static const kfield http_fields[] = {{"path", hg_path}, {"port", pr_port}, {0}};
static const kfield tcp_fields[] = {{"port", pr_port}, {0}};

static int pr_http(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_probe);
	if (pr_handler(c, v, o, KUBE_PROBE_HTTP) < 0 || k_walk(c, v, http_fields, o) < 0)
		return -1;
	if (!o->path)
		o->path = xstrdup("/");
	return o->port.number || o->port.name ? 0 : kerr_field(c, v, "port", "required");
}

static int pr_tcp(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_probe);
	if (pr_handler(c, v, o, KUBE_PROBE_TCP) < 0 || k_walk(c, v, tcp_fields, o) < 0)
		return -1;
	return o->port.number || o->port.name ? 0 : kerr_field(c, v, "port", "required");
}

#define PROBE_INT(fn, member, min)                                                                 \
	static int fn(kctx *c, const ky_node *v, void *obj)                                        \
	{                                                                                          \
		OBJ(kube_probe);                                                                   \
		return k_int32(c, v, min, 2147483647, &o->member);                                 \
	}
PROBE_INT(pr_delay, initial_delay, 0)
PROBE_INT(pr_period, period, 1)
PROBE_INT(pr_timeout, timeout, 1)
PROBE_INT(pr_failure, failure_threshold, 1)
PROBE_INT(pr_success, success_threshold, 1)

static const kfield probe_fields[] = {{"exec", pr_exec},
				      {"httpGet", pr_http},
				      {"tcpSocket", pr_tcp},
				      {"initialDelaySeconds", pr_delay},
				      {"periodSeconds", pr_period},
				      {"timeoutSeconds", pr_timeout},
				      {"failureThreshold", pr_failure},
				      {"successThreshold", pr_success},
				      {0}};

static int probe(kctx *c, const ky_node *v, kube_probe *o, bool readiness)
{
	*o = (kube_probe){
	    .period = 10, .timeout = 1, .failure_threshold = 3, .success_threshold = 1};
	if (k_walk(c, v, probe_fields, o) < 0)
		return -1;
	if (o->kind == KUBE_PROBE_NONE)
		return kerr(c, v, "one of exec, httpGet, tcpSocket is required");
	if (!readiness && o->success_threshold != 1)
		return kerr_field(c, ky_get(v, "successThreshold"), "successThreshold",
				  "must be 1");
	return 0;
}

static int ct_liveness(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return probe(c, v, &o->liveness, false);
}

static int ct_readiness(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return probe(c, v, &o->readiness, true);
}

static int ct_startup(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return probe(c, v, &o->startup, false);
}

/* ---- containers ---- */

static int ct_name(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	if (k_str(c, v, &o->name) < 0)
		return -1;
	const char *why = k_dns_label(o->name);
	return why ? kerr(c, v, "\"%.100s\": %s", o->name, why) : 0;
}

static int ct_image(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	if (k_str(c, v, &o->image) < 0)
		return -1;
	if (!o->image[0])
		return kerr(c, v, "must not be empty");
	for (const char *p = o->image; *p; p++)
		if ((unsigned char)*p <= ' ')
			return kerr(c, v, "must not hold spaces or control characters");
	return 0;
}

static int ct_command(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return k_strv(c, v, &o->command);
}

static int ct_args(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return k_strv(c, v, &o->args);
}

static int ct_env(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return k_list(c, v, sizeof(kube_env), (void **)&o->env, &o->n_env, env_item);
}

static int ct_env_from(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return k_list(c, v, sizeof(kube_env_from), (void **)&o->env_from, &o->n_env_from,
		      env_from_item);
}

static int ct_ports(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	if (k_list(c, v, sizeof(kube_cport), (void **)&o->ports, &o->n_ports, cport_item) < 0)
		return -1;
	/* port names unique in the container */
	char **names = xzalloc((o->n_ports + 1) * sizeof(char *));
	size_t n = 0;
	long dup = -1;
	size_t *idx = xzalloc((o->n_ports + 1) * sizeof(size_t));
	for (size_t i = 0; i < o->n_ports; i++)
		if (o->ports[i].name) {
			idx[n] = i;
			names[n++] = o->ports[i].name;
		}
	dup = k_first_dup(names, n);
	int r = 0;
	if (dup >= 0) {
		size_t i = idx[dup], old = kp_index(c, i);
		r = kerr_field(c, v->items[i], "name", "duplicate port name \"%.100s\"",
			       o->ports[i].name);
		kp_pop(c, old);
	}
	free(idx);
	free(names);
	return r;
}

static int ct_mounts(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	if (k_list(c, v, sizeof(kube_mount), (void **)&o->mounts, &o->n_mounts, mount_item) < 0)
		return -1;
	char **paths = xzalloc((o->n_mounts + 1) * sizeof(char *));
	for (size_t i = 0; i < o->n_mounts; i++)
		paths[i] = o->mounts[i].mount_path;
	long dup = k_first_dup(paths, o->n_mounts);
	free(paths);
	if (dup < 0)
		return 0;
	size_t old = kp_index(c, (size_t)dup);
	kerr_field(c, v->items[dup], "mountPath", "\"%.100s\": must be unique",
		   o->mounts[dup].mount_path);
	kp_pop(c, old);
	return -1;
}

static int ct_workdir(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	if (k_str(c, v, &o->working_dir) < 0)
		return -1;
	const char *why = k_abs_path(o->working_dir);
	return why ? kerr(c, v, "%s", why) : 0;
}

static int ct_stdin(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return k_bool(c, v, &o->stdin_open);
}

static int ct_tty(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	return k_bool(c, v, &o->tty);
}

static int ct_pull(kctx *c, const ky_node *v, void *obj)
{
	OBJ(kube_container);
	static const char *const policies[] = {"Always", "IfNotPresent", "Never", NULL};
	int i;
	if (k_enum(c, v, policies, &i) < 0)
		return -1;
	o->pull = (kube_pull)(i + 1);
	return 0;
}

static const kfield container_fields[] = {{"name", ct_name},
					  {"image", ct_image},
					  {"command", ct_command},
					  {"args", ct_args},
					  {"env", ct_env},
					  {"envFrom", ct_env_from},
					  {"ports", ct_ports},
					  {"resources", ct_resources},
					  {"volumeMounts", ct_mounts},
					  {"securityContext", ct_security},
					  {"livenessProbe", ct_liveness},
					  {"readinessProbe", ct_readiness},
					  {"startupProbe", ct_startup},
					  {"workingDir", ct_workdir},
					  {"stdin", ct_stdin},
					  {"tty", ct_tty},
					  {"imagePullPolicy", ct_pull},
					  {0}};

/* Init containers run to completion before the others: probes make no
 * sense there (Kubernetes refuses them). */
static const kfield init_container_fields[] = {{"name", ct_name},
					       {"image", ct_image},
					       {"command", ct_command},
					       {"args", ct_args},
					       {"env", ct_env},
					       {"envFrom", ct_env_from},
					       {"ports", ct_ports},
					       {"resources", ct_resources},
					       {"volumeMounts", ct_mounts},
					       {"securityContext", ct_security},
					       {"workingDir", ct_workdir},
					       {"stdin", ct_stdin},
					       {"tty", ct_tty},
					       {"imagePullPolicy", ct_pull},
					       {0}};

static int container_init(kctx *c, const ky_node *v, kube_container *o, const kfield *fields)
{
	o->line = v->line;
	o->resources = (kube_resources){-1, -1, -1, -1};
	o->security = (kube_security){.run_as_user = -1,
				      .run_as_group = -1,
				      .privileged = -1,
				      .read_only_root_fs = -1,
				      .allow_privilege_escalation = -1};
	if (k_walk(c, v, fields, o) < 0)
		return -1;
	if (!o->name)
		return kerr_field(c, v, "name", "required");
	if (!o->image)
		return kerr_field(c, v, "image", "required");
	return 0;
}

int k_container(kctx *c, const ky_node *v, void *elem)
{
	return container_init(c, v, elem, container_fields);
}

int k_init_container(kctx *c, const ky_node *v, void *elem)
{
	return container_init(c, v, elem, init_container_fields);
}

void k_container_free(kube_container *ct)
{
	free(ct->name);
	free(ct->image);
	strv_free(ct->command);
	strv_free(ct->args);
	for (size_t i = 0; i < ct->n_env; i++) {
		kube_env *e = &ct->env[i];
		free(e->name);
		free(e->value);
		free(e->ref_name);
		free(e->ref_key);
		free(e->field_path);
	}
	free(ct->env);
	for (size_t i = 0; i < ct->n_env_from; i++) {
		free(ct->env_from[i].name);
		free(ct->env_from[i].prefix);
	}
	free(ct->env_from);
	for (size_t i = 0; i < ct->n_ports; i++)
		free(ct->ports[i].name);
	free(ct->ports);
	for (size_t i = 0; i < ct->n_mounts; i++) {
		free(ct->mounts[i].name);
		free(ct->mounts[i].mount_path);
		free(ct->mounts[i].sub_path);
	}
	free(ct->mounts);
	strv_free(ct->security.cap_add);
	strv_free(ct->security.cap_drop);
	kube_probe *probes[3] = {&ct->liveness, &ct->readiness, &ct->startup};
	for (int k = 0; k < 3; k++) {
		strv_free(probes[k]->command);
		free(probes[k]->path);
		free(probes[k]->port.name);
	}
	free(ct->working_dir);
}
