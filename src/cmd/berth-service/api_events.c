/* GET /events: Docker's event stream. berth has no daemon that sees every
 * change as it happens, so the service observes the store: every 100 ms
 * the containers' states (and the images, volumes, networks:
 * api_events_objs.c) are compared with the last look, and each change is
 * told as Docker tells it (containers: create, start, die with its
 * exitCode, pause, unpause, destroy, health_status when State.Health
 * changes; network connect/disconnect at a container's start and end).
 * What happened before the request is not replayed (`since` in the past
 * starts now); `until` ends the stream. filters: type, container (id
 * prefix or name), event, label, image, volume, network. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_events.h"
#include "engine/container.h"
#include "engine/ctr_filter.h"
#include "engine/engine.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

typedef struct seen {
	char id[65];
	char status[16], health[16];
	char started[48], finished[48]; /* State.StartedAt, FinishedAt */
	bool mark;
	json_object *attrs;  /* image, name, labels: a destroy still tells them */
	json_object *labels; /* for label= */
} seen;

static void seen_free(seen *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		json_object_put(v[i].attrs);
		json_object_put(v[i].labels);
	}
	free(v);
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Whether an event passes the key's specs: any of them (none: it does). */
static bool spec_match(char **specs, const char *key, bool (*one)(const char *, const ev *),
		       const ev *v)
{
	size_t kl = strlen(key);
	bool given = false, any = false;
	for (char **p = specs; p && *p; p++)
		if (!strncmp(*p, key, kl) && (*p)[kl] == '=') {
			given = true;
			any = any || one(*p + kl + 1, v);
		}
	return !given || any;
}

static bool prefix_of(const char *v, const char *id)
{
	return *v && id && !strncmp(id, v, strlen(v));
}

static const char *attr(const ev *v, const char *k)
{
	json_object *x;
	return v->attrs && json_object_object_get_ex(v->attrs, k, &x) ? json_object_get_string(x)
								      : NULL;
}

static bool type_is(const char *val, const ev *v)
{
	return !strcmp(val, v->type);
}

static bool event_is(const char *val, const ev *v)
{
	size_t n = strcspn(v->action, ":"); /* "health_status: healthy" */
	return strlen(val) == n && !strncmp(val, v->action, n);
}

/* container=: a container's event, or a network's about the container */
static bool container_is(const char *val, const ev *v)
{
	if (!strcmp(v->type, "container"))
		return prefix_of(val, v->id) || (v->name && !strcmp(v->name, val));
	const char *c = attr(v, "container");
	return c && prefix_of(val, c);
}

static bool image_is(const char *val, const ev *v)
{
	if (!strcmp(v->type, "container"))
		return v->from && !strcmp(v->from, val);
	return !strcmp(v->type, "image") &&
	       (!strcmp(v->name, val) || prefix_of(val, v->id) ||
		(!strncmp(v->id, "sha256:", 7) && prefix_of(val, v->id + 7)));
}

static bool volume_is(const char *val, const ev *v)
{
	return !strcmp(v->type, "volume") && !strcmp(v->name, val);
}

static bool network_is(const char *val, const ev *v)
{
	return !strcmp(v->type, "network") && (!strcmp(v->name, val) || prefix_of(val, v->id));
}

bool ev_tell(ev_job *j, const ev *v)
{
	static const struct {
		const char *key;
		bool (*one)(const char *, const ev *);
	} keys[] = {{"type", type_is},	 {"event", event_is},	{"container", container_is},
		    {"image", image_is}, {"volume", volume_is}, {"network", network_is}};
	for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
		if (!spec_match(j->specs, keys[k].key, keys[k].one, v))
			return true;
	for (char **p = j->specs; p && *p; p++) /* labels: all must match */
		if (!strncmp(*p, "label=", 6) && !eng_labels_match(v->labels, *p + 6))
			return true;
	int64_t t = now_ns();
	json_object *actor = json_object_new_object();
	json_object_object_add(actor, "ID", json_object_new_string(v->id));
	json_object *attrs = NULL; /* deep_copy wants it NULL */
	if (!v->attrs || json_object_deep_copy(v->attrs, &attrs, NULL) < 0)
		attrs = NULL;
	json_object_object_add(actor, "Attributes", attrs ? attrs : json_object_new_object());
	json_object *o = json_object_new_object();
	if (!strcmp(v->type, "container")) { /* the old fields, as Docker */
		json_object_object_add(o, "status", json_object_new_string(v->action));
		json_object_object_add(o, "id", json_object_new_string(v->id));
		json_object_object_add(o, "from", json_object_new_string(v->from ? v->from : ""));
	}
	json_object_object_add(o, "Type", json_object_new_string(v->type));
	json_object_object_add(o, "Action", json_object_new_string(v->action));
	json_object_object_add(o, "Actor", actor);
	json_object_object_add(o, "scope", json_object_new_string("local"));
	json_object_object_add(o, "time", json_object_new_int64(t / 1000000000));
	json_object_object_add(o, "timeNano", json_object_new_int64(t));
	/* the line and its newline in one write: a client's JSON splitter
	 * (docker-py's) took a lone "\n" at the stream's end for a value */
	_cleanup_free_ char *line =
	    xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	bool ok = fs_write_all(j->base.fd, line, strlen(line)) == 0;
	json_object_put(o);
	return ok;
}

/* A container's attributes: its labels, image and name. */
static json_object *ctr_attrs(json_object *doc)
{
	json_object *attrs = json_object_new_object(), *cfg, *labels = NULL;
	if (json_object_object_get_ex(doc, "Config", &cfg))
		json_object_object_get_ex(cfg, "Labels", &labels);
	if (labels && json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, k, lv)
		{
			json_object_object_add(attrs, k, json_object_get(lv));
		}
	}
	const char *image = eng_doc_str(doc, "Config.Image"), *name = eng_doc_str(doc, "Name");
	json_object_object_add(attrs, "image", json_object_new_string(image ? image : ""));
	json_object_object_add(
	    attrs, "name", json_object_new_string(name ? (name[0] == '/' ? name + 1 : name) : ""));
	return attrs;
}

static bool tell_ctr(ev_job *j, const char *id, json_object *attrs, json_object *labels,
		     const char *action, int exit_code)
{
	json_object *a = NULL;
	if (exit_code < 0 || json_object_deep_copy(attrs, &a, NULL) < 0) {
		a = json_object_get(attrs);
	} else {
		char c[16];
		snprintf(c, sizeof(c), "%d", exit_code);
		json_object_object_add(a, "exitCode", json_object_new_string(c));
	}
	json_object *iv, *nv;
	ev v = {.type = "container",
		.action = action,
		.id = id,
		.name = json_object_object_get_ex(a, "name", &nv) ? json_object_get_string(nv) : "",
		.from =
		    json_object_object_get_ex(a, "image", &iv) ? json_object_get_string(iv) : "",
		.attrs = a,
		.labels = labels};
	bool ok = ev_tell(j, &v);
	json_object_put(a);
	return ok;
}

/* network connect/disconnect for each network the container is on */
static bool tell_nets(ev_job *j, const ev_objs *objs, json_object *doc, const char *id,
		      const char *action)
{
	json_object *ns, *nets;
	if (!json_object_object_get_ex(doc, "NetworkSettings", &ns) ||
	    !json_object_object_get_ex(ns, "Networks", &nets) ||
	    !json_object_is_type(nets, json_type_object))
		return true;
	bool ok = true;
	json_object_object_foreach(nets, name, nv)
	{
		(void)nv;
		if (!ok)
			break;
		const char *nid = ev_net_id(objs, name);
		if (!*nid) /* none, host, container:...: no network of berth's */
			continue;
		json_object *attrs = json_object_new_object();
		json_object_object_add(attrs, "container", json_object_new_string(id));
		json_object_object_add(attrs, "name", json_object_new_string(name));
		json_object_object_add(attrs, "type", json_object_new_string("bridge"));
		ev v = {.type = "network",
			.action = action,
			.id = nid,
			.name = name,
			.from = "",
			.attrs = attrs};
		ok = ev_tell(j, &v);
		json_object_put(attrs);
	}
	return ok;
}

/* Where the id is in the (sorted by id) list of the last look, or n. */
static size_t find_seen(seen *v, size_t n, const char *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid].id, id);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const seen *)a)->id, ((const seen *)b)->id);
}

static bool time_set(const char *t)
{
	return *t && strncmp(t, "0001-", 5);
}

/* The container's transitions from old to now, as Docker's actions. A run
 * shorter than a look's period is seen by its times: StartedAt changed is a
 * start, FinishedAt changed a die. */
static bool changes(ev_job *j, const ev_objs *objs, json_object *doc, const char *id,
		    const seen *old, seen *now)
{
	const char *was = old ? old->status : "", *st = now->status;
	json_object *labels = now->labels, *a = now->attrs;
	bool ok = true;
	if (!old)
		ok = tell_ctr(j, id, a, labels, "create", -1);
	bool live = !strcmp(st, "running") || !strcmp(st, "paused");
	bool started = time_set(now->started) && strcmp(now->started, old ? old->started : "");
	bool died = time_set(now->finished) && strcmp(now->finished, old ? old->finished : "") &&
		    (!live || strcmp(now->finished, now->started) < 0);
	int code = (int)eng_doc_int(doc, "State.ExitCode");
	/* a die before a start: the last run ended, the container runs again */
	bool die_first = died && started && live;
	if (ok && die_first)
		ok = tell_ctr(j, id, a, labels, "die", code) &&
		     tell_nets(j, objs, doc, id, "disconnect");
	if (ok && started)
		ok = tell_nets(j, objs, doc, id, "connect") &&
		     tell_ctr(j, id, a, labels, "start", -1);
	if (ok && !strcmp(st, "paused") && strcmp(was, "paused"))
		ok = tell_ctr(j, id, a, labels, "pause", -1);
	if (ok && !strcmp(was, "paused") && !strcmp(st, "running"))
		ok = tell_ctr(j, id, a, labels, "unpause", -1);
	if (ok && died && !die_first)
		ok = tell_ctr(j, id, a, labels, "die", code) &&
		     tell_nets(j, objs, doc, id, "disconnect");
	if (ok && *now->health && strcmp(now->health, old ? old->health : "")) {
		char act[48];
		snprintf(act, sizeof(act), "health_status: %s", now->health);
		ok = tell_ctr(j, id, a, labels, act, -1);
	}
	return ok;
}

static void *events_thread(void *arg)
{
	ev_job *j = arg;
	berr e;
	eng *g = eng_open(j->base.root, j->base.run_root, &e);
	seen *last = NULL;
	size_t n_last = 0;
	ev_objs objs = {0};
	for (bool first = true, ok = g != NULL; ok; first = false) {
		/* networks first: a container's connect names them */
		ok = ev_objs_look(j, g, &objs, first);
		_cleanup_strv_ char **ids = eng_list(g);
		size_t n = 0;
		for (char **p = ids; *p; p++)
			n++;
		seen *now = xzalloc((n + 1) * sizeof(*now));
		size_t k = 0;
		for (char **p = ids; *p && ok; p++) {
			json_object *doc = NULL;
			const char *st = eng_container_status(g, *p, &doc);
			if (!st) {
				json_object_put(doc);
				continue;
			}
			seen *s = &now[k++];
			snprintf(s->id, sizeof(s->id), "%s", *p);
			snprintf(s->status, sizeof(s->status), "%s", st);
			const char *h = eng_doc_str(doc, "State.Health.Status");
			snprintf(s->health, sizeof(s->health), "%s", h ? h : "");
			const char *sa = eng_doc_str(doc, "State.StartedAt"),
				   *fa = eng_doc_str(doc, "State.FinishedAt");
			snprintf(s->started, sizeof(s->started), "%s", sa ? sa : "");
			snprintf(s->finished, sizeof(s->finished), "%s", fa ? fa : "");
			s->attrs = ctr_attrs(doc);
			json_object *cfg, *labels = NULL;
			if (json_object_object_get_ex(doc, "Config", &cfg) &&
			    json_object_object_get_ex(cfg, "Labels", &labels))
				s->labels = json_object_get(labels);
			size_t at = find_seen(last, n_last, *p);
			if (at < n_last)
				last[at].mark = true;
			if (!first)
				ok = changes(j, &objs, doc, *p, at < n_last ? &last[at] : NULL, s);
			json_object_put(doc);
		}
		for (size_t i = 0; i < n_last && ok && !first; i++) {
			if (last[i].mark)
				continue;
			/* gone: what the last look knew of it */
			if (!strcmp(last[i].status, "running") || !strcmp(last[i].status, "paused"))
				ok = tell_ctr(j, last[i].id, last[i].attrs, last[i].labels, "die",
					      -1);
			ok = ok &&
			     tell_ctr(j, last[i].id, last[i].attrs, last[i].labels, "destroy", -1);
		}
		seen_free(last, n_last);
		qsort(now, k, sizeof(*now), by_id);
		last = now;
		n_last = k;
		if (!ok || svc_job_gone(&j->base) || (j->until_ns && now_ns() >= j->until_ns))
			break;
		poll(NULL, 0, 100);
	}
	seen_free(last, n_last);
	ev_objs_free(&objs);
	eng_close(g);
	strv_free(j->specs);
	close(j->base.fd);
	svc_job_free(&j->base);
	return NULL;
}

static void events_destroy(svc_job *b)
{
	strv_free(((ev_job *)b)->specs);
	svc_job_free(b);
}

void api_events(req *q, resp *r)
{
	static const char *const keys[] = {"type",  "container", "event",   "label",
					   "image", "volume",	 "network", NULL};
	char **specs = NULL;
	if (req_filters(q, r, keys, &specs) < 0)
		return;
	for (char **p = specs; p && *p; p++)
		if (!strncmp(*p, "type=", 5) && strcmp(*p + 5, "container") &&
		    strcmp(*p + 5, "image") && strcmp(*p + 5, "volume") &&
		    strcmp(*p + 5, "network")) {
			/* daemon, plugin, service, node, secret, config: none in berth */
			resp_error(r, 400, "events of type %s: not supported by berth", *p + 5);
			strv_free(specs);
			return;
		}
	ev_job *j = xzalloc(sizeof(*j));
	j->specs = specs;
	const char *until = req_arg(q, "until");
	if (until && *until) {
		char *end;
		double u = strtod(until, &end);
		if (*end || u < 0) {
			strv_free(specs);
			free(j);
			resp_error(r, 400, "invalid until \"%s\"", until);
			return;
		}
		j->until_ns = (int64_t)(u * 1e9);
		if (!j->until_ns)
			j->until_ns = 1;
	}
	j->base.destroy = events_destroy;
	svc_stream(q, r, &j->base, events_thread, "application/json");
}
