/* /events for images, volumes and networks: each look lists them and the
 * differences with the last look are told as Docker's actions. Images: a
 * name that appears is "tag", one that goes "untag", an image that goes
 * "delete" (berth cannot tell a pull from a load or a build by looking);
 * volumes and networks: "create" and "destroy". Sorted lists compared in
 * one merge: no quadratic loop over what the store holds. */
#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "engine/network.h"
#include "image/index.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted(strv_builder *b)
{
	char **v = strvb_take(b);
	if (!v)
		v = xzalloc(sizeof(*v));
	size_t n = 0;
	while (v[n])
		n++;
	qsort(v, n, sizeof(*v), cmp_str);
	return v;
}

/* Each entry of a that b lacks, to fn (both sorted). */
static bool each_gone(char **a, char **b, bool (*fn)(ev_job *, const char *, void *), ev_job *j,
		      void *arg)
{
	size_t i = 0, k = 0;
	while (a && a[i]) {
		int c = b && b[k] ? strcmp(a[i], b[k]) : -1;
		if (c < 0) {
			if (!fn(j, a[i], arg))
				return false;
			i++;
		} else {
			k += 1;
			i += c == 0;
		}
	}
	return true;
}

/* "NAME\tID" -> its parts (in buf). */
static void split_tab(const char *s, char *buf, size_t n, const char **name, const char **id)
{
	snprintf(buf, n, "%s", s);
	char *t = strchr(buf, '\t');
	*name = buf;
	*id = "";
	if (t) {
		*t = 0;
		*id = t + 1;
	}
}

static bool tell_simple(ev_job *j, const char *type, const char *action, const char *id,
			const char *name, json_object *labels)
{
	json_object *attrs = json_object_new_object();
	json_object_object_add(attrs, "name", json_object_new_string(name));
	if (!strcmp(type, "volume") || !strcmp(type, "network"))
		json_object_object_add(
		    attrs, !strcmp(type, "volume") ? "driver" : "type",
		    json_object_new_string(!strcmp(type, "volume") ? "local" : "bridge"));
	ev v = {.type = type,
		.action = action,
		.id = id,
		.name = name,
		.from = "",
		.attrs = attrs,
		.labels = labels};
	bool ok = ev_tell(j, &v);
	json_object_put(attrs);
	return ok;
}

static bool tag_event(ev_job *j, const char *entry, void *action)
{
	char buf[1024];
	const char *name, *id;
	split_tab(entry, buf, sizeof(buf), &name, &id);
	return tell_simple(j, "image", action, id, name, NULL);
}

static bool image_deleted(ev_job *j, const char *id, void *arg)
{
	(void)arg;
	return tell_simple(j, "image", "delete", id, id, NULL);
}

typedef struct obj_ctx {
	eng *g;
	const char *action;
} obj_ctx;

static bool volume_event(ev_job *j, const char *name, void *arg)
{
	obj_ctx *c = arg;
	berr ig;
	json_object *rec =
	    !strcmp(c->action, "create") ? eng_volume_inspect(c->g, name, &ig) : NULL;
	json_object *labels = NULL;
	if (rec)
		json_object_object_get_ex(rec, "Labels", &labels);
	bool ok = tell_simple(j, "volume", c->action, name, name, labels);
	json_object_put(rec);
	return ok;
}

static bool network_event(ev_job *j, const char *entry, void *arg)
{
	obj_ctx *c = arg;
	char buf[512];
	const char *name, *id;
	split_tab(entry, buf, sizeof(buf), &name, &id);
	berr ig;
	json_object *rec =
	    !strcmp(c->action, "create") ? eng_net_load(c->g, name, NULL, &ig) : NULL;
	json_object *labels = NULL;
	if (rec)
		json_object_object_get_ex(rec, "Labels", &labels);
	bool ok = tell_simple(j, "network", c->action, id, name, labels);
	json_object_put(rec);
	return ok;
}

static void look(eng *g, ev_objs *now)
{
	berr ig;
	strv_builder ids = {0}, tags = {0}, vols = {0}, nets = {0};
	img_store *s = store_open(g->root, &ig);
	img_index x = {0};
	if (s && index_load(s, &x, &ig) == 0) {
		for (size_t i = 0; i < x.n; i++) {
			strvb_push(&ids, x.v[i].id.s);
			for (char **n = x.v[i].names; n && *n; n++)
				strvb_push_take(&tags, xasprintf("%s\t%s", *n, x.v[i].id.s));
		}
		index_free(&x);
	}
	if (s)
		store_close(s);
	_cleanup_strv_ char **vn = eng_volume_list(g);
	for (char **p = vn; p && *p; p++)
		strvb_push(&vols, *p);
	_cleanup_strv_ char **nn = eng_net_names(g);
	for (char **p = nn; p && *p; p++) {
		json_object *rec = eng_net_load(g, *p, NULL, &ig);
		json_object *idv = NULL;
		if (rec)
			json_object_object_get_ex(rec, "Id", &idv);
		strvb_push_take(&nets,
				xasprintf("%s\t%s", *p, idv ? json_object_get_string(idv) : ""));
		json_object_put(rec);
	}
	now->image_ids = sorted(&ids);
	now->image_tags = sorted(&tags);
	now->volumes = sorted(&vols);
	now->networks = sorted(&nets);
}

bool ev_objs_look(ev_job *j, eng *g, ev_objs *o, bool first)
{
	ev_objs now = {0};
	look(g, &now);
	bool ok = true;
	if (!first) {
		obj_ctx mk = {g, "create"}, rm = {g, "destroy"};
		ok = each_gone(now.image_tags, o->image_tags, tag_event, j, "tag") &&
		     each_gone(o->image_tags, now.image_tags, tag_event, j, "untag") &&
		     each_gone(o->image_ids, now.image_ids, image_deleted, j, NULL) &&
		     each_gone(now.volumes, o->volumes, volume_event, j, &mk) &&
		     each_gone(o->volumes, now.volumes, volume_event, j, &rm) &&
		     each_gone(now.networks, o->networks, network_event, j, &mk) &&
		     each_gone(o->networks, now.networks, network_event, j, &rm);
	}
	ev_objs_free(o);
	*o = now;
	return ok;
}

void ev_objs_free(ev_objs *o)
{
	strv_free(o->image_ids);
	strv_free(o->image_tags);
	strv_free(o->volumes);
	strv_free(o->networks);
	*o = (ev_objs){0};
}

const char *ev_net_id(const ev_objs *o, const char *name)
{
	size_t nl = strlen(name);
	for (char **p = o->networks; p && *p; p++) /* a handful of networks */
		if (!strncmp(*p, name, nl) && (*p)[nl] == '\t')
			return *p + nl + 1;
	return "";
}
