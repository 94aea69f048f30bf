/* GET /events: Docker's event stream for containers. berth has no daemon
 * that sees every change as it happens, so the service observes the store:
 * every 100 ms the containers' states are compared with the last look, and
 * each change is told as Docker tells it (create, start, die with its
 * exitCode, pause, unpause, destroy; health_status when State.Health
 * changes). What happened before the request is not replayed (`since` in
 * the past starts now); `until` ends the stream. filters: type
 * (container), container (id prefix or name), event, label. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

typedef struct ev_job {
	svc_job base;
	char **specs;
	int64_t until_ns; /* 0: none */
} ev_job;

typedef struct seen {
	char id[65];
	char status[16], health[16];
	bool mark;
} seen;

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static bool spec_match(char **specs, const char *key, bool (*one)(const char *, void *), void *arg)
{
	size_t kl = strlen(key);
	bool given = false, any = false;
	for (char **p = specs; p && *p; p++)
		if (!strncmp(*p, key, kl) && (*p)[kl] == '=') {
			given = true;
			any = any || one(*p + kl + 1, arg);
		}
	return !given || any;
}

static bool is_str(const char *v, void *arg)
{
	return !strcmp(v, arg);
}

static bool ctr_ref(const char *v, void *arg)
{
	json_object *doc = arg;
	const char *id = eng_doc_str(doc, "Id"), *name = eng_doc_str(doc, "Name");
	return (id && *v && !strncmp(id, v, strlen(v))) ||
	       (name && (!strcmp(name, v) || (name[0] == '/' && !strcmp(name + 1, v))));
}

static bool label_ref(const char *v, void *arg)
{
	json_object *labels = arg, *lv;
	const char *eq = strchr(v, '=');
	_cleanup_free_ char *k = eq ? xstrndup(v, (size_t)(eq - v)) : xstrdup(v);
	return labels && json_object_object_get_ex(labels, k, &lv) &&
	       (!eq || !strcmp(json_object_get_string(lv), eq + 1));
}

/* One event line, when the filters let it through; false when the reader
 * is gone. */
static bool tell(ev_job *j, json_object *doc, const char *id, const char *action, int exit_code)
{
	json_object *labels = NULL, *cfg;
	if (json_object_object_get_ex(doc, "Config", &cfg))
		json_object_object_get_ex(cfg, "Labels", &labels);
	char ev[32];
	snprintf(ev, sizeof(ev), "%s", action);
	char *colon = strchr(ev, ':');
	if (colon)
		*colon = 0; /* "health_status: healthy" is the event health_status */
	if (!spec_match(j->specs, "type", is_str, "container") ||
	    !spec_match(j->specs, "event", is_str, ev) ||
	    !spec_match(j->specs, "container", ctr_ref, doc))
		return true;
	for (char **p = j->specs; p && *p; p++) /* labels: all must match */
		if (!strncmp(*p, "label=", 6) && !label_ref(*p + 6, labels))
			return true;
	int64_t t = now_ns();
	const char *image = eng_doc_str(doc, "Config.Image"), *name = eng_doc_str(doc, "Name");
	json_object *attrs = json_object_new_object();
	if (labels && json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, k, v)
		{
			json_object_object_add(attrs, k, json_object_get(v));
		}
	}
	json_object_object_add(attrs, "image", json_object_new_string(image ? image : ""));
	json_object_object_add(
	    attrs, "name", json_object_new_string(name ? (name[0] == '/' ? name + 1 : name) : ""));
	if (exit_code >= 0) {
		char c[16];
		snprintf(c, sizeof(c), "%d", exit_code);
		json_object_object_add(attrs, "exitCode", json_object_new_string(c));
	}
	json_object *actor = json_object_new_object();
	json_object_object_add(actor, "ID", json_object_new_string(id));
	json_object_object_add(actor, "Attributes", attrs);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(action));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "from", json_object_new_string(image ? image : ""));
	json_object_object_add(o, "Type", json_object_new_string("container"));
	json_object_object_add(o, "Action", json_object_new_string(action));
	json_object_object_add(o, "Actor", actor);
	json_object_object_add(o, "scope", json_object_new_string("local"));
	json_object_object_add(o, "time", json_object_new_int64(t / 1000000000));
	json_object_object_add(o, "timeNano", json_object_new_int64(t));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	bool ok =
	    fs_write_all(j->base.fd, s, strlen(s)) == 0 && fs_write_all(j->base.fd, "\n", 1) == 0;
	json_object_put(o);
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

/* The container's transitions from old to now, as Docker's actions. */
static bool changes(ev_job *j, json_object *doc, const char *id, const seen *old, const char *st,
		    const char *health)
{
	const char *was = old ? old->status : "";
	bool ok = true;
	if (!old)
		ok = tell(j, doc, id, "create", -1);
	bool live = !strcmp(st, "running") || !strcmp(st, "paused");
	bool was_live = !strcmp(was, "running") || !strcmp(was, "paused");
	if (ok && live && !was_live)
		ok = tell(j, doc, id, "start", -1);
	if (ok && !strcmp(st, "paused") && strcmp(was, "paused"))
		ok = tell(j, doc, id, "pause", -1);
	if (ok && !strcmp(was, "paused") && !strcmp(st, "running"))
		ok = tell(j, doc, id, "unpause", -1);
	if (ok && was_live && !live)
		ok = tell(j, doc, id, "die", (int)eng_doc_int(doc, "State.ExitCode"));
	if (ok && *health && strcmp(health, old ? old->health : "")) {
		char a[48];
		snprintf(a, sizeof(a), "health_status: %s", health);
		ok = tell(j, doc, id, a, -1);
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
	for (bool first = true, ok = g != NULL; ok; first = false) {
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
			size_t at = find_seen(last, n_last, *p);
			if (at < n_last)
				last[at].mark = true;
			if (!first)
				ok = changes(j, doc, *p, at < n_last ? &last[at] : NULL, st,
					     s->health);
			json_object_put(doc);
		}
		for (size_t i = 0; i < n_last && ok && !first; i++)
			if (!last[i].mark) { /* gone: a record of its id only */
				json_object *doc = json_object_new_object();
				json_object_object_add(doc, "Id",
						       json_object_new_string(last[i].id));
				if (!strcmp(last[i].status, "running") ||
				    !strcmp(last[i].status, "paused"))
					ok = tell(j, doc, last[i].id, "die", -1);
				ok = ok && tell(j, doc, last[i].id, "destroy", -1);
				json_object_put(doc);
			}
		free(last);
		qsort(now, k, sizeof(*now), by_id);
		last = now;
		n_last = k;
		if (!ok || svc_job_gone(&j->base) || (j->until_ns && now_ns() >= j->until_ns))
			break;
		poll(NULL, 0, 100);
	}
	free(last);
	eng_close(g);
	strv_free(j->specs);
	close(j->base.fd);
	svc_job_free(&j->base);
	return NULL;
}

void api_events(req *q, resp *r)
{
	static const char *const keys[] = {"type", "container", "event", "label", NULL};
	char **specs = NULL;
	if (req_filters(q, r, keys, &specs) < 0)
		return;
	for (char **p = specs; p && *p; p++)
		if (!strncmp(*p, "type=", 5) && strcmp(*p + 5, "container")) {
			/* images, volumes, networks: no events from berth yet */
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
	svc_stream(q, r, &j->base, events_thread, "application/json");
}
