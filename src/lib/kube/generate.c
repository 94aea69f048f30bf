/* berth generate kube (generate.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "engine/container.h"
#include "engine/pod.h"
#include "kube/generate.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

typedef struct outbuf {
	char *p;
	size_t n, cap;
} outbuf;

static int out_write(void *data, unsigned char *buf, size_t size)
{
	outbuf *o = data;
	if (o->n + size + 1 > o->cap) {
		o->cap = (o->n + size + 1) * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->n, buf, size);
	o->n += size;
	o->p[o->n] = 0;
	return 1;
}

typedef struct em {
	yaml_emitter_t y;
	int failed;
	eng *g;
	/* the pod's volumes, as the containers' mounts name them: "NAME\tKIND\tSOURCE" */
	strv_builder vols;
} em;

static void ev(em *m, yaml_event_t *e, int ok)
{
	if (!ok || m->failed) {
		if (ok)
			yaml_event_delete(e);
		m->failed = 1;
		return;
	}
	if (!yaml_emitter_emit(&m->y, e))
		m->failed = 1;
}

static void str(em *m, const char *s)
{
	yaml_event_t e;
	ev(m, &e,
	   yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 0, 1,
					YAML_DOUBLE_QUOTED_SCALAR_STYLE));
}

static void key(em *m, const char *s)
{
	yaml_event_t e;
	ev(m, &e,
	   yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 0,
					YAML_PLAIN_SCALAR_STYLE));
}

static void num(em *m, long v)
{
	char b[32];
	snprintf(b, sizeof(b), "%ld", v);
	key(m, b);
}

static void flag_true(em *m)
{
	key(m, "true"); /* plain: a YAML boolean */
}

static void map_start(em *m)
{
	yaml_event_t e;
	ev(m, &e, yaml_mapping_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(em *m)
{
	yaml_event_t e;
	ev(m, &e, yaml_mapping_end_event_initialize(&e));
}

static void seq_start(em *m)
{
	yaml_event_t e;
	ev(m, &e,
	   yaml_sequence_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
}

static void seq_end(em *m)
{
	yaml_event_t e;
	ev(m, &e, yaml_sequence_end_event_initialize(&e));
}

static json_object *jp(json_object *o, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;
	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (!b)
		return x;
	return json_object_object_get_ex(x, b, &y) ? y : NULL;
}

static size_t arr_len(json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* ports: HostConfig.PortBindings {"80/tcp": [{"HostPort": "8080"}]} */
static void emit_ports(em *m, json_object *doc)
{
	json_object *pb = doc ? jp(doc, "HostConfig", "PortBindings") : NULL;
	if (!pb || !json_object_is_type(pb, json_type_object) || !json_object_object_length(pb))
		return;
	key(m, "ports");
	seq_start(m);
	json_object_object_foreach(pb, k, v)
	{
		long cport = strtol(k, NULL, 10);
		const char *slash = strchr(k, '/');
		json_object *b0 = arr_len(v) ? json_object_array_get_idx(v, 0) : NULL;
		json_object *hp = b0 ? jp(b0, "HostPort", NULL) : NULL;
		long hport = hp ? strtol(json_object_get_string(hp), NULL, 10) : 0;
		if (cport <= 0 || cport > 65535)
			continue;
		map_start(m);
		key(m, "containerPort");
		num(m, cport);
		if (hport > 0 && hport <= 65535) {
			key(m, "hostPort");
			num(m, hport);
		}
		key(m, "protocol");
		str(m, slash && !strcmp(slash, "/udp") ? "UDP" : "TCP");
		map_end(m);
	}
	seq_end(m);
}

/* resources.limits: HostConfig.Memory (bytes), NanoCpus (as millicores) */
static void emit_resources(em *m, json_object *doc)
{
	json_object *mem = jp(doc, "HostConfig", "Memory"),
		    *cpu = jp(doc, "HostConfig", "NanoCpus");
	int64_t mb = mem ? json_object_get_int64(mem) : 0,
		nc = cpu ? json_object_get_int64(cpu) : 0;
	if (mb <= 0 && nc <= 0)
		return;
	key(m, "resources");
	map_start(m);
	key(m, "limits");
	map_start(m);
	char v[32];
	if (mb > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)mb);
		key(m, "memory");
		str(m, v);
	}
	if (nc > 0) {
		snprintf(v, sizeof(v), "%lldm", (long long)((nc + 999999) / 1000000));
		key(m, "cpu");
		str(m, v);
	}
	map_end(m);
	map_end(m);
}

static bool numeric(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0 && n < 11;
}

static void emit_caps(em *m, const char *k, json_object *list)
{
	if (!arr_len(list))
		return;
	key(m, k);
	seq_start(m);
	for (size_t i = 0; i < arr_len(list); i++)
		str(m, json_object_get_string(json_object_array_get_idx(list, i)));
	seq_end(m);
}

/* securityContext: a numeric User (uid[:gid]), privileged, a read-only
 * root, capabilities added and dropped (what kube play maps back) */
static void emit_security(em *m, json_object *doc)
{
	json_object *u = jp(doc, "Config", "User"), *pr = jp(doc, "HostConfig", "Privileged"),
		    *ro = jp(doc, "HostConfig", "ReadonlyRootfs"),
		    *add = jp(doc, "HostConfig", "CapAdd"),
		    *drop = jp(doc, "HostConfig", "CapDrop");
	const char *us = u ? json_object_get_string(u) : "";
	const char *colon = strchr(us, ':');
	size_t ul = colon ? (size_t)(colon - us) : strlen(us);
	bool user = numeric(us, ul) && (!colon || numeric(colon + 1, strlen(colon + 1)));
	bool priv = pr && json_object_get_boolean(pr), rof = ro && json_object_get_boolean(ro);
	if (!user && !priv && !rof && !arr_len(add) && !arr_len(drop))
		return;
	key(m, "securityContext");
	map_start(m);
	if (user) {
		key(m, "runAsUser");
		num(m, strtol(us, NULL, 10));
		if (colon) {
			key(m, "runAsGroup");
			num(m, strtol(colon + 1, NULL, 10));
		}
	}
	if (priv) {
		key(m, "privileged");
		flag_true(m);
	}
	if (rof) {
		key(m, "readOnlyRootFilesystem");
		flag_true(m);
	}
	if (arr_len(add) || arr_len(drop)) {
		key(m, "capabilities");
		map_start(m);
		emit_caps(m, "add", add);
		emit_caps(m, "drop", drop);
		map_end(m);
	}
	map_end(m);
}

/* volumeMounts from the record's Mounts; each source once in m->vols: a
 * bind is a hostPath, a named volume a persistentVolumeClaim, an anonymous
 * one an emptyDir */
static void emit_mounts(em *m, json_object *doc)
{
	json_object *ms = jp(doc, "Mounts", NULL);
	if (!arr_len(ms))
		return;
	key(m, "volumeMounts");
	seq_start(m);
	for (size_t i = 0; i < arr_len(ms); i++) {
		json_object *mt = json_object_array_get_idx(ms, i);
		json_object *ty = jp(mt, "Type", NULL), *dst = jp(mt, "Destination", NULL),
			    *rw = jp(mt, "RW", NULL), *nm = jp(mt, "Name", NULL),
			    *src = jp(mt, "Source", NULL);
		const char *t = ty ? json_object_get_string(ty) : "";
		bool bind = !strcmp(t, "bind");
		if (!dst || (!bind && strcmp(t, "volume")))
			continue; /* tmpfs and the like: not a volume */
		const char *source = bind ? (src ? json_object_get_string(src) : "")
					  : (nm ? json_object_get_string(nm) : "");
		const char *kind = bind					? "hostPath"
				   : eng_volume_anonymous(m->g, source) ? "emptyDir"
									: "persistentVolumeClaim";
		/* the pod's volume of this source, or a new one (a pod has few) */
		char vname[32] = "";
		for (size_t k = 0; k < m->vols.n && !vname[0]; k++) {
			const char *tab = strchr(m->vols.v[k], '\t');
			const char *tab2 = tab ? strchr(tab + 1, '\t') : NULL;
			if (tab2 && !strcmp(tab2 + 1, source) &&
			    !strncmp(tab + 1, kind, (size_t)(tab2 - tab - 1)))
				snprintf(vname, sizeof(vname), "%.*s", (int)(tab - m->vols.v[k]),
					 m->vols.v[k]);
		}
		if (!vname[0]) {
			snprintf(vname, sizeof(vname), "vol%zu", m->vols.n);
			strvb_push_take(&m->vols, xasprintf("%s\t%s\t%s", vname, kind, source));
		}
		map_start(m);
		key(m, "name");
		str(m, vname);
		key(m, "mountPath");
		str(m, json_object_get_string(dst));
		if (rw && !json_object_get_boolean(rw)) {
			key(m, "readOnly");
			flag_true(m);
		}
		map_end(m);
	}
	seq_end(m);
}

static long secs(json_object *o, const char *k)
{
	json_object *v = jp(o, k, NULL);
	return v ? (long)(json_object_get_int64(v) / 1000000000) : 0;
}

/* livenessProbe, readinessProbe, startupProbe from the record's Probes (the
 * health check is Docker's HEALTHCHECK: not a Kubernetes field) */
static void emit_probes(em *m, json_object *doc)
{
	json_object *ps = jp(doc, "Probes", NULL);
	for (size_t i = 0; i < arr_len(ps); i++) {
		json_object *p = json_object_array_get_idx(ps, i);
		json_object *role = jp(p, "Role", NULL), *kind = jp(p, "Kind", NULL);
		const char *r = role ? json_object_get_string(role) : "";
		const char *k = kind ? json_object_get_string(kind) : "";
		if (strcmp(r, "liveness") && strcmp(r, "readiness") && strcmp(r, "startup"))
			continue;
		_cleanup_free_ char *name = xasprintf("%sProbe", r);
		key(m, name);
		map_start(m);
		json_object *port = jp(p, "Port", NULL), *path = jp(p, "Path", NULL);
		if (!strcmp(k, "exec")) {
			key(m, "exec");
			map_start(m);
			emit_caps(m, "command", jp(p, "Cmd", NULL));
			map_end(m);
		} else {
			key(m, !strcmp(k, "http") ? "httpGet" : "tcpSocket");
			map_start(m);
			if (!strcmp(k, "http")) {
				key(m, "path");
				str(m, path ? json_object_get_string(path) : "/");
			}
			key(m, "port");
			num(m, port ? json_object_get_int(port) : 0);
			map_end(m);
		}
		static const struct {
			const char *rec, *yaml;
		} times[] = {{"Interval", "periodSeconds"},
			     {"Timeout", "timeoutSeconds"},
			     {"InitialDelay", "initialDelaySeconds"}};
		for (size_t t = 0; t < sizeof(times) / sizeof(*times); t++) {
			long v = secs(p, times[t].rec);
			if (v > 0) {
				key(m, times[t].yaml);
				num(m, v);
			}
		}
		json_object *ft = jp(p, "FailureThreshold", NULL),
			    *st = jp(p, "SuccessThreshold", NULL);
		if (ft) {
			key(m, "failureThreshold");
			num(m, json_object_get_int(ft));
		}
		if (st && !strcmp(r, "readiness")) { /* must be 1 for the others */
			key(m, "successThreshold");
			num(m, json_object_get_int(st));
		}
		map_end(m);
	}
}

static void emit_volumes(em *m)
{
	if (!m->vols.n)
		return;
	key(m, "volumes");
	seq_start(m);
	for (size_t k = 0; k < m->vols.n; k++) {
		_cleanup_free_ char *v = xstrdup(m->vols.v[k]);
		char *kind = strchr(v, '\t');
		*kind++ = 0;
		char *src = strchr(kind, '\t');
		*src++ = 0;
		map_start(m);
		key(m, "name");
		str(m, v);
		key(m, kind);
		map_start(m);
		if (!strcmp(kind, "hostPath")) {
			key(m, "path");
			str(m, src);
		} else if (!strcmp(kind, "persistentVolumeClaim")) {
			key(m, "claimName");
			str(m, src);
		}
		map_end(m);
		map_end(m);
	}
	seq_end(m);
}

/* ports_doc: the record whose PortBindings are the container's (a pod's
 * infra's for its first container: the pod's network is the infra's). */
static void emit_container(em *m, json_object *doc, json_object *ports_doc, const char *name)
{
	json_object *cf = jp(doc, "Config", NULL);
	map_start(m);
	key(m, "name");
	str(m, name);
	key(m, "image");
	json_object *img = jp(cf, "Image", NULL);
	str(m, img ? json_object_get_string(img) : "");
	json_object *ep = jp(cf, "Entrypoint", NULL), *cmd = jp(cf, "Cmd", NULL);
	if (arr_len(ep) + arr_len(cmd)) {
		key(m, "command");
		seq_start(m);
		for (size_t i = 0; i < arr_len(ep); i++)
			str(m, json_object_get_string(json_object_array_get_idx(ep, i)));
		for (size_t i = 0; i < arr_len(cmd); i++)
			str(m, json_object_get_string(json_object_array_get_idx(cmd, i)));
		seq_end(m);
	}
	json_object *env = jp(cf, "Env", NULL);
	if (arr_len(env)) {
		key(m, "env");
		seq_start(m);
		for (size_t i = 0; i < arr_len(env); i++) {
			const char *kv = json_object_get_string(json_object_array_get_idx(env, i));
			const char *eq = kv ? strchr(kv, '=') : NULL;
			/* HOSTNAME: the engine's own, the pod's name again */
			if (!eq || eq == kv || !strncmp(kv, "HOSTNAME=", 9))
				continue;
			_cleanup_free_ char *k = xstrndup(kv, (size_t)(eq - kv));
			map_start(m);
			key(m, "name");
			str(m, k);
			key(m, "value");
			str(m, eq + 1);
			map_end(m);
		}
		seq_end(m);
	}
	json_object *wd = jp(cf, "WorkingDir", NULL);
	if (wd && json_object_get_string(wd)[0]) {
		key(m, "workingDir");
		str(m, json_object_get_string(wd));
	}
	emit_ports(m, ports_doc);
	emit_resources(m, doc);
	emit_security(m, doc);
	emit_mounts(m, doc);
	emit_probes(m, doc);
	map_end(m);
}

static void emit_labels(em *m, json_object *labels)
{
	if (!labels || !json_object_is_type(labels, json_type_object))
		return;
	size_t n = 0;
	json_object_object_foreach(labels, k0, v0)
	{
		(void)v0;
		n += strncmp(k0, "io.berth.", 9) != 0;
	}
	if (!n)
		return;
	key(m, "labels");
	map_start(m);
	json_object_object_foreach(labels, k, v)
	{
		if (strncmp(k, "io.berth.", 9)) {
			key(m, k);
			str(m, json_object_get_string(v));
		}
	}
	map_end(m);
}

/* The pod's name, labels and members (infra left out), or one container. */
static int emit_pod(eng *g, em *m, const char *name, json_object *labels, char **ids,
		    const char *infra, berr *e)
{
	yaml_event_t ev0;
	ev(m, &ev0, yaml_stream_start_event_initialize(&ev0, YAML_UTF8_ENCODING));
	ev(m, &ev0, yaml_document_start_event_initialize(&ev0, NULL, NULL, NULL, 1));
	map_start(m);
	key(m, "apiVersion");
	str(m, "v1");
	key(m, "kind");
	str(m, "Pod");
	key(m, "metadata");
	map_start(m);
	key(m, "name");
	str(m, name);
	emit_labels(m, labels);
	map_end(m);
	key(m, "spec");
	map_start(m);
	key(m, "containers");
	seq_start(m);
	size_t nl = strlen(name), n = 0;
	char restart[16] = "";
	berr ig;
	json_object *infra_doc = infra && infra[0] ? eng_load(g, infra, &ig) : NULL;
	int rc = 0;
	for (size_t i = 0; ids && ids[i] && !rc; i++) {
		if (infra && !strcmp(ids[i], infra))
			continue;
		json_object *doc = eng_load(g, ids[i], e);
		if (!doc) {
			rc = -1;
			break;
		}
		char cn[128];
		eng_doc_name(doc, ids[i], cn);
		const char *shortn = infra && !strncmp(cn, name, nl) && cn[nl] == '-' && cn[nl + 1]
					 ? cn + nl + 1
					 : cn;
		/* the pod's restart policy: its first container's */
		json_object *rp =
		    n ? NULL : jp(jp(doc, "HostConfig", NULL), "RestartPolicy", "Name");
		const char *pol = rp ? json_object_get_string(rp) : "";
		if (!n)
			snprintf(restart, sizeof(restart), "%s",
				 !strcmp(pol, "always") || !strcmp(pol, "unless-stopped") ? "Always"
				 : !strcmp(pol, "on-failure")  ? "OnFailure"
				 : !strcmp(pol, "no") || !*pol ? "Never"
							       : "");
		emit_container(m, doc, infra_doc ? (n ? NULL : infra_doc) : doc, shortn);
		json_object_put(doc);
		n++;
	}
	json_object_put(infra_doc);
	if (rc)
		return -1;
	if (!n)
		return berr_set(e, EINVAL, "pod \"%s\" has no container but its infra", name);
	seq_end(m);
	emit_volumes(m);
	if (restart[0]) {
		key(m, "restartPolicy");
		str(m, restart);
	}
	map_end(m);
	map_end(m);
	ev(m, &ev0, yaml_document_end_event_initialize(&ev0, 1));
	ev(m, &ev0, yaml_stream_end_event_initialize(&ev0));
	return m->failed
		   ? berr_set(e, EIO, "YAML emitter: %s", m->y.problem ? m->y.problem : "failed")
		   : 0;
}

char *kube_generate(eng *g, const char *ref, berr *e)
{
	char id[65];
	berr ig;
	outbuf out = {0};
	em m = {.g = g};
	if (!yaml_emitter_initialize(&m.y)) {
		berr_set(e, ENOMEM, "YAML emitter");
		return NULL;
	}
	yaml_emitter_set_output(&m.y, out_write, &out);
	yaml_emitter_set_unicode(&m.y, 1);
	yaml_emitter_set_width(&m.y, -1); /* no folded lines */
	int rc;
	if (eng_pod_lookup(g, ref, id, &ig) == 0) {
		json_object *rec = eng_pod_load(g, id, e);
		if (!rec) {
			yaml_emitter_delete(&m.y);
			return NULL;
		}
		_cleanup_strv_ char **ms = eng_pod_members(g, id);
		json_object *nm = jp(rec, "Name", NULL), *inf = jp(rec, "InfraContainerID", NULL);
		_cleanup_free_ char *name = xstrdup(nm ? json_object_get_string(nm) : id);
		rc = emit_pod(g, &m, name, jp(rec, "Labels", NULL), ms,
			      inf ? json_object_get_string(inf) : "", e);
		json_object_put(rec);
	} else if (eng_lookup(g, ref, id, &ig) == 0) {
		json_object *doc = eng_load(g, id, e);
		if (!doc) {
			yaml_emitter_delete(&m.y);
			return NULL;
		}
		char cn[128];
		eng_doc_name(doc, id, cn);
		json_object_put(doc);
		char *ids[] = {id, NULL};
		rc = emit_pod(g, &m, cn, NULL, ids, NULL, e);
	} else {
		rc = berr_set(e, ENOENT, "no such pod or container: %s", ref);
	}
	yaml_emitter_delete(&m.y);
	strvb_free(&m.vols);
	if (rc < 0) {
		free(out.p);
		return NULL;
	}
	return out.p ? out.p : xstrdup("");
}
