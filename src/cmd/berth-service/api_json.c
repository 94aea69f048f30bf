/* The service's readings of a request's JSON body (shared by the
 * handlers): a field of a type, an array of strings, fields not set. */
#include <string.h>

#include "service.h"
#include "util/xalloc.h"

bool svc_jbool(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

bool svc_json_unset(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return true;
	case json_type_boolean:
		return !json_object_get_boolean(v);
	case json_type_int:
	case json_type_double:
		return json_object_get_double(v) == 0;
	case json_type_string:
		return !*json_object_get_string(v);
	case json_type_array:
		return json_object_array_length(v) == 0;
	case json_type_object:
		return json_object_object_length(v) == 0;
	}
	return false;
}

const char *svc_jstr(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

json_object *svc_jget(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* A string array field into b; "field: not a list of strings" otherwise. */
int svc_jstrs(json_object *o, const char *k, strv_builder *b, resp *r, const char *where)
{
	json_object *v = svc_jget(o, k);
	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		resp_error(r, 400, "%s%s: not a list of strings", where, k);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *s = json_object_array_get_idx(v, i);
		if (!json_object_is_type(s, json_type_string)) {
			resp_error(r, 400, "%s%s[%zu]: not a string", where, k, i);
			return -1;
		}
		strvb_push(b, json_object_get_string(s));
	}
	return 0;
}

/* Every key of o must be known, or unset. */
int svc_known_only(json_object *o, const char *const *known, const char *where, resp *r)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return 0;
	json_object_object_foreach(o, k, v)
	{
		bool ok = false;
		for (const char *const *n = known; *n && !ok; n++)
			ok = !strcmp(*n, k);
		if (!ok && !svc_json_unset(v)) {
			resp_error(r, 400, "%s%s: not supported by berth", where, k);
			return -1;
		}
	}
	return 0;
}
