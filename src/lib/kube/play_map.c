/* kube play: restartPolicy, command/args, env and probes of one container
 * mapped onto berth's run options (play_map.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/play_map.h"
#include "util/xalloc.h"

const char *kube_restart_arg(kube_restart r)
{
	switch (r) {
	case KUBE_RESTART_ON_FAILURE:
		return "on-failure";
	case KUBE_RESTART_NEVER:
		return "no";
	case KUBE_RESTART_ALWAYS:
	default:
		return "always";
	}
}

char **kube_argv(const kube_container *c, char *const *entrypoint, char *const *cmd, berr *e)
{
	strv_builder b = {0};
	char *const *head = c->command ? c->command : entrypoint;
	char *const *tail = c->command || c->args ? c->args : cmd;
	for (size_t i = 0; head && head[i]; i++)
		strvb_push(&b, head[i]);
	for (size_t i = 0; tail && tail[i]; i++)
		strvb_push(&b, tail[i]);
	char **v = strvb_take(&b);
	if (!v || !v[0]) {
		strv_free(v);
		berr_set(
		    e, EINVAL,
		    "container \"%s\": no command: neither the container nor its image gives one",
		    c->name);
		return NULL;
	}
	return v;
}

const kube_obj *kube_find_obj(const kube_file *f, kube_kind k, const char *name)
{
	for (size_t i = 0; i < f->n_objs; i++)
		if (f->objs[i].kind == k && !strcmp(f->objs[i].meta.name, name))
			return &f->objs[i];
	return NULL;
}

/* The value of key in a ConfigMap's data or a Secret's data; *found false
 * when not there. NULL with e set when the value cannot be a variable. */
static const char *obj_value(const kube_obj *o, const char *key, bool *found, const char *path,
			     berr *e)
{
	*found = false;
	if (o->kind == KUBE_CONFIGMAP) {
		for (size_t i = 0; i < o->u.cm.n_data; i++)
			if (!strcmp(o->u.cm.data[i].key, key)) {
				*found = true;
				return o->u.cm.data[i].value;
			}
		return NULL;
	}
	for (size_t i = 0; i < o->u.secret.n_data; i++) {
		const kube_blob *d = &o->u.secret.data[i];
		if (strcmp(d->key, key))
			continue;
		*found = true;
		if (memchr(d->value, '\0', d->len)) {
			berr_set(e, EINVAL, "%s: Secret \"%s\" key \"%s\": holds a NUL byte", path,
				 o->meta.name, key);
			return NULL;
		}
		return (const char *)d->value;
	}
	return NULL;
}

typedef struct env_ent {
	char *kv;
	size_t name_len, seq;
} env_ent;

typedef struct env_list {
	env_ent *v;
	size_t n, cap;
} env_list;

static void env_add(env_list *l, const char *prefix, const char *name, const char *value)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	env_ent *x = &l->v[l->n];
	x->kv = xasprintf("%s%s=%s", prefix ? prefix : "", name, value ? value : "");
	x->name_len = (prefix ? strlen(prefix) : 0) + strlen(name);
	x->seq = l->n++;
}

static int by_name_seq(const void *a, const void *b)
{
	const env_ent *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->kv, y->kv, n);
	if (c)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_seq(const void *a, const void *b)
{
	const env_ent *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void env_list_free(env_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].kv);
	free(l->v);
}

/* The last of each name kept, in the order they were given: O(n log n). */
static char **env_take(env_list *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), by_name_seq);
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		bool last = i + 1 == l->n || l->v[i].name_len != l->v[i + 1].name_len ||
			    memcmp(l->v[i].kv, l->v[i + 1].kv, l->v[i].name_len);
		if (last)
			l->v[k++] = l->v[i];
		else
			free(l->v[i].kv);
	}
	l->n = k;
	if (k)
		qsort(l->v, k, sizeof(*l->v), by_seq);
	strv_builder b = {0};
	for (size_t i = 0; i < k; i++)
		strvb_push_take(&b, l->v[i].kv);
	free(l->v);
	char **v = strvb_take(&b);
	if (!v) {
		v = xmalloc(sizeof(char *));
		v[0] = NULL;
	}
	return v;
}

static int env_from(const kube_file *f, const kube_env_from *ef, env_list *l, const char *path,
		    berr *e)
{
	const char *kind = ef->secret ? "Secret" : "ConfigMap";
	const kube_obj *o = kube_find_obj(f, ef->secret ? KUBE_SECRET : KUBE_CONFIGMAP, ef->name);
	if (!o) {
		if (ef->optional)
			return 0;
		return berr_set(e, ENOENT, "%s: %s \"%s\" not found", path, kind, ef->name);
	}
	size_t n = ef->secret ? o->u.secret.n_data : o->u.cm.n_data;
	for (size_t i = 0; i < n; i++) {
		const char *key = ef->secret ? o->u.secret.data[i].key : o->u.cm.data[i].key;
		bool found;
		const char *v = obj_value(o, key, &found, path, e);
		if (!v)
			return -1;
		env_add(l, ef->prefix, key, v);
	}
	return 0;
}

static int env_one(const kube_file *f, const kube_env *ev, const char *pod_name, env_list *l,
		   const char *path, berr *e)
{
	if (ev->src == KUBE_ENV_VALUE) {
		env_add(l, NULL, ev->name, ev->value);
		return 0;
	}
	if (ev->src == KUBE_ENV_FIELD) {
		if (strcmp(ev->field_path, "metadata.name"))
			return berr_set(e, EINVAL,
					"%s.valueFrom.fieldRef.fieldPath: \"%s\": berth "
					"supports metadata.name only",
					path, ev->field_path);
		env_add(l, NULL, ev->name, pod_name);
		return 0;
	}
	bool secret = ev->src == KUBE_ENV_SECRET;
	const char *kind = secret ? "Secret" : "ConfigMap";
	const char *field = secret ? "secretKeyRef" : "configMapKeyRef";
	const kube_obj *o = kube_find_obj(f, secret ? KUBE_SECRET : KUBE_CONFIGMAP, ev->ref_name);
	if (!o) {
		if (ev->optional)
			return 0;
		return berr_set(e, ENOENT, "%s.valueFrom.%s: %s \"%s\" not found", path, field,
				kind, ev->ref_name);
	}
	bool found;
	const char *v = obj_value(o, ev->ref_key, &found, path, e);
	if (!v && found)
		return -1;
	if (!found) {
		if (ev->optional)
			return 0;
		return berr_set(e, ENOENT, "%s.valueFrom.%s: %s \"%s\" has no key \"%s\"", path,
				field, kind, ev->ref_name, ev->ref_key);
	}
	env_add(l, NULL, ev->name, v);
	return 0;
}

char **kube_environ(const kube_file *f, const kube_container *c, const char *pod_name,
		    const char *what, berr *e)
{
	env_list l = {0};
	char path[512];
	for (size_t i = 0; i < c->n_env_from; i++) {
		snprintf(path, sizeof(path), "%s.envFrom[%zu]", what, i);
		if (env_from(f, &c->env_from[i], &l, path, e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < c->n_env; i++) {
		snprintf(path, sizeof(path), "%s.env[%zu]", what, i);
		if (env_one(f, &c->env[i], pod_name, &l, path, e) < 0)
			goto fail;
	}
	return env_take(&l);
fail:
	env_list_free(&l);
	return NULL;
}

static int probe_port(const kube_container *c, const kube_port_ref *p, const char *path, berr *e)
{
	if (!p->name)
		return p->number;
	for (size_t i = 0; i < c->n_ports; i++)
		if (c->ports[i].name && !strcmp(c->ports[i].name, p->name))
			return c->ports[i].container_port;
	return berr_set(e, EINVAL, "%s.port: no container port named \"%s\"", path, p->name);
}

int kube_probes(const kube_container *c, eng_probe out[3], size_t *n, const char *what, berr *e)
{
	static const char *const names[] = {"livenessProbe", "readinessProbe", "startupProbe"};
	const kube_probe *in[] = {&c->liveness, &c->readiness, &c->startup};
	static const eng_probe_role roles[] = {ENG_PROBE_LIVENESS, ENG_PROBE_READINESS,
					       ENG_PROBE_STARTUP};
	*n = 0;
	for (size_t i = 0; i < 3; i++) {
		const kube_probe *p = in[i];
		if (p->kind == KUBE_PROBE_NONE)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s.%s", what, names[i]);
		eng_probe *o = &out[*n];
		memset(o, 0, sizeof(*o));
		o->role = roles[i];
		if (p->kind == KUBE_PROBE_EXEC) {
			o->kind = ENG_PROBE_EXEC;
			o->cmd = p->command;
		} else {
			o->kind = p->kind == KUBE_PROBE_HTTP ? ENG_PROBE_HTTP : ENG_PROBE_TCP;
			o->http_path = p->kind == KUBE_PROBE_HTTP ? p->path : NULL;
			int port = probe_port(c, &p->port, path, e);
			if (port < 0)
				return -1;
			o->port = port;
		}
		o->interval_ns = (int64_t)p->period * 1000000000;
		o->timeout_ns = (int64_t)p->timeout * 1000000000;
		o->initial_delay_ns = (int64_t)p->initial_delay * 1000000000;
		o->failure_threshold = p->failure_threshold;
		o->success_threshold = p->success_threshold;
		(*n)++;
	}
	return 0;
}
