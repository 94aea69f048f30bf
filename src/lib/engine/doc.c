/* container.json fields by path, and a container's reconciled status: the
 * small reads every container operation makes (container.h). */
#include <stdio.h>
#include <string.h>

#include "engine/container.h"

static json_object *walk(json_object *o, const char *path)
{
	char k[128];
	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(k))
			return NULL;
		memcpy(k, path, n);
		k[n] = 0;
		json_object *v = NULL;
		if (!json_object_object_get_ex(o, k, &v))
			return NULL;
		o = v;
		path += n + (dot ? 1 : 0);
	}
	return o;
}

const char *eng_doc_str(json_object *doc, const char *path)
{
	json_object *v = walk(doc, path);
	return v ? json_object_get_string(v) : NULL;
}

int64_t eng_doc_int(json_object *doc, const char *path)
{
	json_object *v = walk(doc, path);
	return v ? json_object_get_int64(v) : 0;
}

bool eng_doc_bool(json_object *doc, const char *path)
{
	json_object *v = walk(doc, path);
	return v && json_object_get_boolean(v);
}

void eng_doc_name(json_object *doc, const char *id, char out[128])
{
	const char *n = eng_doc_str(doc, "Name");
	if (n && *n)
		snprintf(out, 128, "%s", n[0] == '/' ? n + 1 : n);
	else
		snprintf(out, 128, "%.12s", id);
}

const char *eng_container_status(eng *g, const char *id, json_object **docp)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return NULL;
	const char *s = eng_reconcile(g, id, doc);
	if (docp)
		*docp = doc;
	else
		json_object_put(doc);
	return s;
}

bool eng_status_live(const char *s)
{
	return s && (!strcmp(s, "running") || !strcmp(s, "paused"));
}
