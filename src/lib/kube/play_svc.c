/* kube play: the play's network and its Services' published ports
 * (play_svc.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/health.h"
#include "engine/network.h"
#include "engine/pod.h"
#include "kube/play.h"
#include "kube/play_svc.h"
#include "net/nft_lb.h"
#include "util/cleanup.h"
#include "util/idmap.h"

/* Where concurrent syncs (the hooks of several pods at once) take turns, so
 * that the last one to commit saw the others' readiness. */
#define SYNC_LOCK "/run/lock/berth-kube-sync.lock"

void kube_svc_rt_free(kube_svc_rt *s)
{
	free(s->name);
	strv_free(s->selector);
	memset(s, 0, sizeof(*s));
}

static const char *label_of(const kube_meta *m, const char *key, size_t klen)
{
	for (size_t i = 0; m && i < m->n_labels; i++)
		if (strlen(m->labels[i].key) == klen && !strncmp(m->labels[i].key, key, klen))
			return m->labels[i].value;
	return NULL;
}

bool kube_svc_selects(const kube_svc_rt *s, const kube_meta *labels)
{
	for (size_t i = 0; s->selector && s->selector[i]; i++) {
		const char *eq = strchr(s->selector[i], '=');
		const char *v = label_of(labels, s->selector[i], (size_t)(eq - s->selector[i]));
		if (!v || strcmp(v, eq + 1))
			return false;
	}
	return s->selector != NULL;
}

static const kube_pod_spec *obj_spec(const kube_obj *o, const kube_meta **tm)
{
	if (o->kind == KUBE_POD) {
		*tm = &o->meta;
		return &o->u.pod.spec;
	}
	if (o->kind == KUBE_DEPLOYMENT) {
		*tm = &o->u.deploy.tmpl_meta;
		return &o->u.deploy.tmpl;
	}
	return NULL;
}

static int named_port(const kube_pod_spec *ps, const char *name)
{
	for (size_t i = 0; i < ps->n_containers; i++)
		for (size_t k = 0; k < ps->containers[i].n_ports; k++)
			if (ps->containers[i].ports[k].name &&
			    !strcmp(ps->containers[i].ports[k].name, name))
				return ps->containers[i].ports[k].container_port;
	return 0;
}

int kube_svc_rt_of(const kube_file *f, const kube_obj *svc, kube_svc_rt *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	const kube_service *sv = &svc->u.svc;
	if (!sv->n_selector || !sv->n_ports)
		return 0;
	if (sv->n_ports > KUBE_SVC_MAX_PORTS)
		return berr_set(e, E2BIG, "Service \"%s\": spec.ports: %zu ports (at most %d)",
				svc->meta.name, sv->n_ports, KUBE_SVC_MAX_PORTS);
	out->name = xstrdup(svc->meta.name);
	for (size_t i = 0; i < sv->n_selector; i++) {
		char *kv = xasprintf("%s=%s", sv->selector[i].key, sv->selector[i].value);
		strv_push(&out->selector, kv);
		free(kv);
	}
	const kube_pod_spec *ps = NULL;
	for (size_t i = 0; i < f->n_objs && !ps; i++) {
		const kube_meta *tm = NULL;
		const kube_pod_spec *p = obj_spec(&f->objs[i], &tm);
		if (p && kube_svc_selects(out, tm))
			ps = p;
	}
	if (!ps) {
		kube_svc_rt_free(out);
		return 0;
	}
	for (size_t i = 0; i < sv->n_ports; i++) {
		const kube_svc_port *p = &sv->ports[i];
		kube_svc_port_rt *r = &out->ports[out->n_ports++];
		r->proto = p->protocol == KUBE_UDP ? IPPROTO_UDP : IPPROTO_TCP;
		r->host_port =
		    (uint16_t)(sv->type == KUBE_SVC_NODE_PORT && p->node_port ? p->node_port
									      : p->port);
		int t = p->target.name ? named_port(ps, p->target.name) : p->target.number;
		if (!p->target.name && !t)
			t = p->port;
		if (t <= 0 || t > 65535) {
			berr_set(e, ENOENT,
				 "Service \"%s\": spec.ports[%zu].targetPort: no container port "
				 "named \"%s\" in the pods it selects",
				 svc->meta.name, i, p->target.name ? p->target.name : "");
			kube_svc_rt_free(out);
			return -1;
		}
		r->target = (uint16_t)t;
	}
	return 1;
}

void kube_svc_args(const kube_svc_rt *s, strv_builder *b)
{
	strvb_push(b, s->name);
	size_t n = 0;
	for (size_t i = 0; s->selector[i]; i++)
		n += strlen(s->selector[i]) + 1;
	char *sel = xmalloc(n + 1), *q = sel;
	for (size_t i = 0; s->selector[i]; i++)
		q += sprintf(q, "%s%s", i ? "," : "", s->selector[i]);
	*q = 0;
	strvb_push_take(b, sel);
	char *ports = xmalloc(s->n_ports * 20 + 1);
	q = ports;
	*q = 0;
	for (size_t i = 0; i < s->n_ports; i++)
		q += sprintf(q, "%s%s:%u:%u", i ? "," : "",
			     s->ports[i].proto == IPPROTO_UDP ? "udp" : "tcp",
			     s->ports[i].host_port, s->ports[i].target);
	strvb_push_take(b, ports);
}

static int port_num(const char *s, char **end, uint16_t *out)
{
	errno = 0;
	long v = strtol(s, end, 10);
	if (errno || *end == s || v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int kube_svc_from_args(char *const argv[3], kube_svc_rt *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(argv[0]);
	_cleanup_free_ char *sel = xstrdup(argv[1]);
	for (char *save = NULL, *t = strtok_r(sel, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strchr(t, '=') || t[0] == '=')
			goto bad;
		strv_push(&out->selector, t);
	}
	if (!out->selector)
		goto bad;
	for (const char *p = argv[2]; *p;) {
		if (out->n_ports == KUBE_SVC_MAX_PORTS)
			goto bad;
		kube_svc_port_rt *r = &out->ports[out->n_ports++];
		if (!strncmp(p, "tcp:", 4))
			r->proto = IPPROTO_TCP;
		else if (!strncmp(p, "udp:", 4))
			r->proto = IPPROTO_UDP;
		else
			goto bad;
		char *end;
		if (port_num(p + 4, &end, &r->host_port) < 0 || *end != ':' ||
		    port_num(end + 1, &end, &r->target) < 0 || (*end && *end != ','))
			goto bad;
		if (*end == ',' && !end[1])
			goto bad; /* a trailing comma */
		p = *end ? end + 1 : end;
	}
	if (!out->n_ports)
		goto bad;
	return 0;
bad:
	kube_svc_rt_free(out);
	return berr_set(e, EINVAL, "Service \"%s\": bad selector \"%s\" or ports \"%s\"", argv[0],
			argv[1], argv[2]);
}

/* Whether the pod record's Labels hold every K=V of the selector. */
static bool rec_selected(json_object *rec, char *const *sel)
{
	json_object *labels = NULL, *v = NULL;
	if (!json_object_object_get_ex(rec, "Labels", &labels) ||
	    !json_object_object_get_ex(labels, KUBE_OWNER_LABEL, NULL))
		return false; /* only what kube play made */
	for (size_t i = 0; sel[i]; i++) {
		const char *eq = strchr(sel[i], '=');
		_cleanup_free_ char *k = xstrndup(sel[i], (size_t)(eq - sel[i]));
		if (!json_object_object_get_ex(labels, k, &v) ||
		    strcmp(json_object_get_string(v), eq + 1))
			return false;
	}
	return true;
}

/* Whether every container of the pod but the infra is ready (and there
 * is one); *infra: the infra's id (or ""). */
static bool pod_ready(eng *g, const char *pod, json_object *rec, const char **infra)
{
	json_object *v = NULL;
	*infra =
	    json_object_object_get_ex(rec, "InfraContainerID", &v) ? json_object_get_string(v) : "";
	if (!*infra || !(*infra)[0])
		return false;
	_cleanup_strv_ char **ms = eng_pod_members(g, pod);
	size_t n = 0;
	for (size_t i = 0; ms && ms[i]; i++) {
		if (!strcmp(ms[i], *infra))
			continue;
		eng_health_state hs;
		berr ig;
		if (eng_health_read(g, ms[i], &hs, &ig) < 0 || !hs.ready)
			return false;
		n++;
	}
	return n > 0;
}

/* The infra's address on network; false when it has none. */
static bool infra_addr(eng *g, const char *infra, const char *network, struct in_addr *ip)
{
	berr ig;
	json_object *doc = eng_load(g, infra, &ig), *nets = NULL, *ep = NULL, *a = NULL;
	if (!doc)
		return false;
	bool ok = json_object_object_get_ex(doc, "NetworkSettings", &nets) &&
		  json_object_object_get_ex(nets, "Networks", &nets) &&
		  json_object_object_get_ex(nets, network, &ep) &&
		  json_object_object_get_ex(ep, "IPAddress", &a) &&
		  inet_pton(AF_INET, json_object_get_string(a), ip) == 1;
	json_object_put(doc);
	return ok;
}

/* The lock's fd (-1 where /run/lock is not writable: rootless; then
 * unlocked), or -2 with e set. */
static int sync_lock(berr *e)
{
	int lk = open(SYNC_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lk >= 0 && flock(lk, LOCK_EX) < 0) {
		berr_sys(e, "flock %s", SYNC_LOCK);
		close(lk);
		return -2;
	}
	return lk;
}

static int unpublish_locked(const kube_svc_rt *s, berr *e);

int kube_svc_sync(eng *g, const char *network, const kube_svc_rt *s, size_t *n_ready, berr *e)
{
	*n_ready = 0;
	_cleanup_close_ int lk = sync_lock(e);
	if (lk == -2)
		return -1;
	_cleanup_strv_ char **pods = eng_pod_list(g);
	size_t np = strv_len(pods), n = 0, nsel = 0;
	_cleanup_free_ struct in_addr *ips = xreallocarray(NULL, np ? np : 1, sizeof(*ips));
	for (size_t i = 0; i < np && n < BNFT_LB_MAX; i++) {
		berr ig;
		json_object *rec = eng_pod_load(g, pods[i], &ig);
		if (!rec)
			continue;
		bool sel = rec_selected(rec, s->selector);
		nsel += sel;
		const char *infra = "";
		bool ready = sel && pod_ready(g, pods[i], rec, &infra);
		if (sel && infra[0]) {
			/* the Service's name: the ready pods' addresses only */
			eng_net_alias_set(g, network, infra, s->name, ready, &ig);
		}
		if (ready && infra_addr(g, infra, network, &ips[n]))
			n++;
		json_object_put(rec);
	}
	/* no pod left (a hook of a pod's exit after kube down): nothing to
	 * publish, and nothing left behind */
	if (!nsel)
		return unpublish_locked(s, e);
	bnft *nf = bnft_open(e);
	if (!nf)
		return berr_ctx(e, "Service \"%s\"", s->name);
	int rc = 0;
	for (size_t i = 0; i < s->n_ports && !rc; i++)
		rc = bnft_lb_set(nf, s->ports[i].proto, s->ports[i].host_port, ips, n,
				 s->ports[i].target, e);
	bnft_close(nf);
	if (rc)
		return berr_ctx(e, "Service \"%s\"", s->name);
	*n_ready = n;
	return 0;
}

int kube_svc_unpublish(const kube_svc_rt *s, berr *e)
{
	_cleanup_close_ int lk = sync_lock(e);
	if (lk == -2)
		return -1;
	return unpublish_locked(s, e);
}

static int unpublish_locked(const kube_svc_rt *s, berr *e)
{
	bnft *nf = bnft_open(e);
	if (!nf)
		return berr_ctx(e, "Service \"%s\"", s->name);
	int rc = 0;
	for (size_t i = 0; i < s->n_ports; i++) {
		berr e1;
		if (bnft_lb_del(nf, s->ports[i].proto, s->ports[i].host_port, &e1) < 0 && !rc) {
			*e = e1;
			rc = berr_ctx(e, "Service \"%s\"", s->name);
		}
	}
	bnft_close(nf);
	return rc;
}

int kube_svc_ports_free(const kube_svc_rt *s, berr *e)
{
	for (size_t i = 0; i < s->n_ports; i++) {
		const kube_svc_port_rt *p = &s->ports[i];
		bool udp = p->proto == IPPROTO_UDP;
		_cleanup_close_ int fd =
		    socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return berr_sys(e, "Service \"%s\": socket", s->name);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return berr_sys(e, "Service \"%s\": host port %u/%s", s->name, p->host_port,
					udp ? "udp" : "tcp");
	}
	return 0;
}

int kube_svc_down(const kube_obj *svc, berr *e)
{
	const kube_service *sv = &svc->u.svc;
	kube_svc_rt s = {.name = svc->meta.name};
	for (size_t i = 0; i < sv->n_ports && s.n_ports < KUBE_SVC_MAX_PORTS; i++) {
		const kube_svc_port *p = &sv->ports[i];
		s.ports[s.n_ports++] = (kube_svc_port_rt){
		    .proto = p->protocol == KUBE_UDP ? IPPROTO_UDP : IPPROTO_TCP,
		    .host_port =
			(uint16_t)(sv->type == KUBE_SVC_NODE_PORT && p->node_port ? p->node_port
										  : p->port)};
	}
	return kube_svc_unpublish(&s, e);
}

bool kube_rootless(void)
{
	return geteuid() != 0 || idmap_in_userns();
}

char *kube_net_name(const kube_file *f, char **owner_kv)
{
	for (size_t i = 0; i < f->n_objs; i++) {
		const kube_obj *o = &f->objs[i];
		if (o->kind != KUBE_POD && o->kind != KUBE_DEPLOYMENT)
			continue;
		*owner_kv =
		    xasprintf("%s=%s/%s", KUBE_OWNER_LABEL, kube_kind_name(o->kind), o->meta.name);
		return xasprintf("kube-%s", o->meta.name);
	}
	*owner_kv = NULL;
	return NULL;
}

int kube_net_ensure(eng *g, const char *name, const char *owner_kv, bool *made, berr *e)
{
	*made = false;
	berr ig;
	json_object *rec = eng_net_load(g, name, NULL, &ig), *labels = NULL, *v = NULL;
	if (rec) {
		const char *want = strchr(owner_kv, '=') + 1;
		bool mine = json_object_object_get_ex(rec, "Labels", &labels) &&
			    json_object_object_get_ex(labels, KUBE_OWNER_LABEL, &v) &&
			    !strcmp(json_object_get_string(v), want);
		json_object_put(rec);
		if (!mine)
			return berr_set(e, EEXIST,
					"network \"%s\" exists and is not this play's (%s)", name,
					want);
		return 0;
	}
	char *labs[] = {(char *)owner_kv, NULL};
	eng_net_opts no = {.name = name, .labels = labs};
	rec = eng_net_create(g, &no, e);
	if (!rec)
		return berr_ctx(e, "the play's network");
	json_object_put(rec);
	*made = true;
	return 0;
}
