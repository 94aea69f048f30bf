/* The `filters` query argument of the list endpoints: a JSON object of
 * KEY -> [VALUE, ...] (or, from older clients, KEY -> {VALUE: true}),
 * turned into "KEY=VALUE" strings; and the match of a network or volume
 * record against them (containers: the engine's ctr_filter.c). As Docker:
 * the same key given again widens (OR), different keys narrow (AND), and
 * labels all must match. */
#include <string.h>

#include "engine/ctr_filter.h"
#include "service.h"
#include "util/xalloc.h"

#define FILTERS_MAX 64

typedef struct args_ctx {
	const char *name;
	size_t max;
	strv_builder b;
	bool over;
} args_ctx;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	(void)kind;
	args_ctx *a = cls;
	if (!key || strcmp(key, a->name) || !value || !*value)
		return MHD_YES;
	if (a->b.n >= a->max) {
		a->over = true;
		return MHD_NO;
	}
	strvb_push(&a->b, value);
	return MHD_YES;
}

char **req_args(const req *q, const char *name, size_t max, bool *over)
{
	args_ctx a = {.name = name, .max = max};
	MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, collect, &a);
	*over = a.over;
	return strvb_take(&a.b);
}

static bool allowed_key(const char *k, const char *const *allowed)
{
	for (const char *const *a = allowed; *a; a++)
		if (!strcmp(*a, k))
			return true;
	return false;
}

int req_filters(const req *q, resp *r, const char *const *allowed, char ***out)
{
	*out = NULL;
	const char *f = req_arg(q, "filters");
	if (!f || !*f)
		return 0;
	json_object *o = json_tokener_parse(f);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		resp_error(r, 400, "invalid filters: %s", f);
		return -1;
	}
	strv_builder b = {0};
	json_object_object_foreach(o, k, v)
	{
		if (!allowed_key(k, allowed)) {
			resp_error(r, 400, "invalid filter '%s'", k);
			goto fail;
		}
		if (json_object_is_type(v, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				json_object *s = json_object_array_get_idx(v, i);
				if (!json_object_is_type(s, json_type_string)) {
					resp_error(r, 400, "invalid filter '%s': not a string", k);
					goto fail;
				}
				strvb_push_take(&b,
						xasprintf("%s=%s", k, json_object_get_string(s)));
			}
		} else if (json_object_is_type(v, json_type_object)) {
			json_object_object_foreach(v, val, on)
			{
				if (json_object_get_boolean(on))
					strvb_push_take(&b, xasprintf("%s=%s", k, val));
			}
		} else {
			resp_error(r, 400, "invalid filter '%s': not a list", k);
			goto fail;
		}
	}
	json_object_put(o);
	if (b.n > FILTERS_MAX) { /* each is matched against each record */
		resp_error(r, 400, "too many filters (at most %d)", FILTERS_MAX);
		strvb_free(&b);
		return -1;
	}
	*out = strvb_take(&b);
	return 0;
fail:
	json_object_put(o);
	strvb_free(&b);
	return -1;
}

/* One "key=value" against a record: name (a substring, as Docker's), id (a
 * prefix), label (KEY or KEY=VALUE of Labels), driver; extra: the caller's
 * own keys (dangling ...), asked through fn. */
static bool one(const char *key, const char *val, json_object *rec,
		bool (*fn)(void *, const char *, const char *), void *arg)
{
	json_object *v;
	if (!strcmp(key, "name"))
		return json_object_object_get_ex(rec, "Name", &v) &&
		       strstr(json_object_get_string(v), val);
	if (!strcmp(key, "id"))
		return (json_object_object_get_ex(rec, "Id", &v) ||
			json_object_object_get_ex(rec, "ID", &v)) &&
		       !strncmp(json_object_get_string(v), val, strlen(val));
	if (!strcmp(key, "driver"))
		return json_object_object_get_ex(rec, "Driver", &v) &&
		       !strcmp(json_object_get_string(v), val);
	if (!strcmp(key, "label")) {
		json_object *labels;
		return json_object_object_get_ex(rec, "Labels", &labels) &&
		       eng_labels_match(labels, val);
	}
	return fn && fn(arg, key, val);
}

bool filters_match(char **specs, json_object *rec, bool (*fn)(void *, const char *, const char *),
		   void *arg)
{
	/* for each key that appears: one of its values matches */
	for (char **p = specs; p && *p; p++) {
		size_t kl = strcspn(*p, "=");
		bool seen_before = false;
		for (char **q = specs; q < p && !seen_before; q++)
			seen_before = strcspn(*q, "=") == kl && !strncmp(*q, *p, kl);
		if (seen_before)
			continue;
		/* label: every one given must match (Docker's AND) */
		bool and = kl == 5 && !strncmp(*p, "label", 5);
		bool any = false, all = true;
		for (char **q = p; *q && (and? all : !any); q++) {
			if (strcspn(*q, "=") != kl || strncmp(*q, *p, kl))
				continue;
			char *key = xstrndup(*q, kl);
			bool m = one(key, *q + kl + ((*q)[kl] == '='), rec, fn, arg);
			free(key);
			any = any || m;
			all = all && m;
		}
		if (and? !all : !any)
			return false;
	}
	return true;
}
