/* Typed JSON getters with path context: the one place where config values
 * are type- and range-checked. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "spec/spec_internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* Paths longer than a jpath are cut (messages stay one readable line). */
static void jp_trunc(jpath *p, int n)
{
	if (n < 0 || (size_t)n >= sizeof(p->s))
		memcpy(p->s + sizeof(p->s) - 4, "...", 4);
}

jpath jp_key(const char *parent, const char *key)
{
	jpath p;
	int n;
	if (parent && *parent)
		n = snprintf(p.s, sizeof(p.s), "%s.%s", parent, key);
	else
		n = snprintf(p.s, sizeof(p.s), "%s", key);
	jp_trunc(&p, n);
	return p;
}

jpath jp_idx(const char *parent, size_t i)
{
	jpath p;
	int n = snprintf(p.s, sizeof(p.s), "%s[%zu]", parent ? parent : "", i);
	jp_trunc(&p, n);
	return p;
}

int sp_fail(sctx *c, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && *path)
		return berr_set(c->e, 0, "%s: %s: %s", c->file, path, msg);
	return berr_set(c->e, 0, "%s: %s", c->file, msg);
}

const char *sp_type_name(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_double:
	case json_type_int:
		return "number";
	case json_type_object:
		return "object";
	case json_type_array:
		return "array";
	case json_type_string:
		return "string";
	}
	return "unknown";
}

static const char *want_name(json_type t)
{
	switch (t) {
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	default:
		return "null";
	}
}

int jx_type(sctx *c, json_object *v, const char *path, json_type want)
{
	json_type t = json_object_get_type(v);
	if (t == want || (want == json_type_int && t == json_type_double))
		return 0;
	return sp_fail(c, path, "expected %s, got %s", want_name(want), sp_type_name(v));
}

int jx_str(sctx *c, json_object *v, const char *path, char **out)
{
	if (jx_type(c, v, path, json_type_string) < 0)
		return -1;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (memchr(s, '\0', n))
		return sp_fail(c, path, "must not contain a NUL character");
	free(*out);
	*out = xstrndup(s, n);
	return 0;
}

int jx_bool(sctx *c, json_object *v, const char *path, bool *out)
{
	if (jx_type(c, v, path, json_type_boolean) < 0)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int int_check(sctx *c, json_object *v, const char *path)
{
	if (jx_type(c, v, path, json_type_int) < 0)
		return -1;
	if (json_object_is_type(v, json_type_double))
		return sp_fail(c, path, "expected an integer, got %s",
			       json_object_to_json_string(v));
	return 0;
}

int jx_i64(sctx *c, json_object *v, const char *path, int64_t min, int64_t max, int64_t *out)
{
	if (int_check(c, v, path) < 0)
		return -1;
	int64_t x = json_object_get_int64(v);
	/* json-c clamps values above INT64_MAX (kept as uint64) to INT64_MAX. */
	if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return sp_fail(c, path, "%s is too large (max %" PRId64 ")",
			       json_object_to_json_string(v), max);
	if (x < min) {
		if (min == 0)
			return sp_fail(c, path, "must not be negative, got %" PRId64, x);
		return sp_fail(c, path, "%" PRId64 " is too small (min %" PRId64 ")", x, min);
	}
	if (x > max)
		return sp_fail(c, path, "%" PRId64 " is too large (max %" PRId64 ")", x, max);
	*out = x;
	return 0;
}

int jx_u64(sctx *c, json_object *v, const char *path, uint64_t max, uint64_t *out)
{
	if (int_check(c, v, path) < 0)
		return -1;
	int64_t s = json_object_get_int64(v);
	if (s < 0)
		return sp_fail(c, path, "must not be negative, got %" PRId64, s);
	uint64_t x = json_object_get_uint64(v);
	if (x > max)
		return sp_fail(c, path, "%" PRIu64 " is too large (max %" PRIu64 ")", x, max);
	*out = x;
	return 0;
}

int jk_get(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, json_object **v,
	   jpath *path)
{
	*path = jp_key(ppath, key);
	json_object *x = NULL;
	if (!json_object_object_get_ex(obj, key, &x) || !x) {
		*v = NULL;
		if (req)
			return sp_fail(c, path->s, "required");
		return 0;
	}
	*v = x;
	return 1;
}

int jk_obj(sctx *c, json_object *obj, const char *ppath, const char *key, bool req,
	   json_object **out, jpath *path)
{
	int r = jk_get(c, obj, ppath, key, req, out, path);
	if (r <= 0)
		return r;
	if (jx_type(c, *out, path->s, json_type_object) < 0)
		return -1;
	return 1;
}

int jk_arr(sctx *c, json_object *obj, const char *ppath, const char *key, bool req,
	   json_object **out, size_t *n, jpath *path)
{
	*n = 0;
	int r = jk_get(c, obj, ppath, key, req, out, path);
	if (r <= 0)
		return r;
	if (jx_type(c, *out, path->s, json_type_array) < 0)
		return -1;
	*n = json_object_array_length(*out);
	return 1;
}

int jk_str(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, char **out)
{
	json_object *v;
	jpath p;
	int r = jk_get(c, obj, ppath, key, req, &v, &p);
	if (r <= 0)
		return r;
	return jx_str(c, v, p.s, out) < 0 ? -1 : 1;
}

int jk_bool(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, bool *out)
{
	json_object *v;
	jpath p;
	int r = jk_get(c, obj, ppath, key, req, &v, &p);
	if (r <= 0)
		return r;
	return jx_bool(c, v, p.s, out) < 0 ? -1 : 1;
}

int jk_i64(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, int64_t min,
	   int64_t max, int64_t *out)
{
	json_object *v;
	jpath p;
	int r = jk_get(c, obj, ppath, key, req, &v, &p);
	if (r <= 0)
		return r;
	return jx_i64(c, v, p.s, min, max, out) < 0 ? -1 : 1;
}

int jk_u64(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, uint64_t max,
	   uint64_t *out)
{
	json_object *v;
	jpath p;
	int r = jk_get(c, obj, ppath, key, req, &v, &p);
	if (r <= 0)
		return r;
	return jx_u64(c, v, p.s, max, out) < 0 ? -1 : 1;
}

int jk_opt_i64(sctx *c, json_object *obj, const char *ppath, const char *key, int64_t min,
	       int64_t max, opt_i64 *out)
{
	int r = jk_i64(c, obj, ppath, key, false, min, max, &out->v);
	if (r > 0)
		out->set = true;
	return r;
}

int jk_opt_u64(sctx *c, json_object *obj, const char *ppath, const char *key, uint64_t max,
	       opt_u64 *out)
{
	int r = jk_u64(c, obj, ppath, key, false, max, &out->v);
	if (r > 0)
		out->set = true;
	return r;
}

char **sp_strv_empty(void)
{
	return xzalloc(sizeof(char *));
}

int jk_strv(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, char ***out)
{
	json_object *a;
	size_t n;
	jpath p;
	strv_free(*out);
	*out = sp_strv_empty();
	int r = jk_arr(c, obj, ppath, key, req, &a, &n, &p);
	if (r <= 0)
		return r;
	char **v = xreallocarray(*out, n + 1, sizeof(char *));
	memset(v, 0, (n + 1) * sizeof(char *));
	*out = v;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		if (jx_str(c, json_object_array_get_idx(a, i), ip.s, &v[i]) < 0)
			return -1;
	}
	return 1;
}

int jk_kv(sctx *c, json_object *obj, const char *ppath, const char *key, spec_kv **out, size_t *n)
{
	json_object *o;
	jpath p;
	int r = jk_obj(c, obj, ppath, key, false, &o, &p);
	if (r <= 0)
		return r;
	size_t cnt = (size_t)json_object_object_length(o);
	*out = xzalloc((cnt ? cnt : 1) * sizeof(spec_kv));
	*n = 0;
	json_object_object_foreach(o, k, v)
	{
		jpath kp = jp_key(p.s, k);
		if (!*k)
			return sp_fail(c, p.s, "empty key");
		spec_kv *kv = &(*out)[(*n)++];
		kv->key = xstrdup(k);
		if (!v)
			return sp_fail(c, kp.s, "expected a string, got null");
		if (jx_str(c, v, kp.s, &kv->value) < 0)
			return -1;
	}
	return 1;
}

int jk_abspath(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, char **out)
{
	int r = jk_str(c, obj, ppath, key, req, out);
	if (r <= 0)
		return r;
	if ((*out)[0] != '/') {
		jpath p = jp_key(ppath, key);
		return sp_fail(c, p.s, "must be an absolute path");
	}
	return 1;
}

static size_t line_of(const char *s, size_t off, size_t *col)
{
	size_t line = 1, last = 0;
	for (size_t i = 0; i < off; i++)
		if (s[i] == '\n') {
			line++;
			last = i + 1;
		}
	*col = off - last + 1;
	return line;
}

/* json-c saturates an integer beyond 64 bits (2^64 reads as 2^64-1, below
 * -2^63 as -2^63) and keeps no text of it, so the values alone cannot tell
 * 18446744073709551616 from 18446744073709551615. One pass over the text
 * (after json-c accepted it, so it is valid JSON) finds such literals and
 * names their path, for every integer field at once. */
typedef struct num_frame {
	bool obj;
	const char *key; /* the member being read (in the text, escapes as written) */
	size_t klen, idx;
} num_frame;

static bool int_out_of_range(const char *digits, size_t n, bool neg)
{
	const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
	size_t ln = strlen(lim);
	return n > ln || (n == ln && memcmp(digits, lim, n) > 0);
}

static int number_fail(sctx *c, const num_frame *st, size_t depth, const char *lit, size_t n)
{
	jpath p = {{0}};
	for (size_t i = 0; i < depth; i++) {
		if (st[i].obj) {
			char k[128];
			size_t kl = st[i].klen < sizeof(k) - 1 ? st[i].klen : sizeof(k) - 1;
			memcpy(k, st[i].key ? st[i].key : "", st[i].key ? kl : 0);
			k[st[i].key ? kl : 0] = '\0';
			p = jp_key(p.s, k);
		} else {
			p = jp_idx(p.s, st[i].idx);
		}
	}
	return sp_fail(c, p.s, "number out of range (%.*s%s)", n > 48 ? 48 : (int)n, lit,
		       n > 48 ? "..." : "");
}

static int check_integers(sctx *c, const char *s, size_t len)
{
	num_frame st[64]; /* json-c's default depth limit is 32 */
	size_t depth = 0;
	bool want_key = false;
	for (size_t i = 0; i < len;) {
		char ch = s[i];
		if (ch == '"') {
			size_t j = i + 1;
			while (j < len && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			if (depth && want_key) {
				st[depth - 1].key = s + i + 1;
				st[depth - 1].klen = j - i - 1;
				want_key = false;
			}
			i = j + 1;
		} else if (ch == '{' || ch == '[') {
			if (depth == ARRAY_SIZE(st))
				return 0;
			st[depth++] = (num_frame){.obj = ch == '{'};
			want_key = ch == '{';
			i++;
		} else if (ch == '}' || ch == ']') {
			if (depth)
				depth--;
			want_key = false;
			i++;
		} else if (ch == ',') {
			if (depth && st[depth - 1].obj)
				want_key = true;
			else if (depth)
				st[depth - 1].idx++;
			i++;
		} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
			bool neg = ch == '-';
			size_t d0 = i + (neg ? 1 : 0), j = d0;
			while (j < len && s[j] >= '0' && s[j] <= '9')
				j++;
			size_t nd = j - d0;
			bool integer = !(j < len && (s[j] == '.' || s[j] == 'e' || s[j] == 'E'));
			while (j < len && strchr("0123456789.eE+-", s[j]) && s[j])
				j++;
			if (integer && int_out_of_range(s + d0, nd, neg))
				return number_fail(c, st, depth, s + i, j - i);
			i = j;
		} else {
			i++;
		}
	}
	return 0;
}

json_object *sp_parse_text(sctx *c, const char *json, size_t len)
{
	if (len > INT32_MAX) {
		sp_fail(c, NULL, "file too large");
		return NULL;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok) {
		sp_fail(c, NULL, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	size_t col;
	if (!o) {
		const char *what = jerr == json_tokener_continue ? "unexpected end of input"
								 : json_tokener_error_desc(jerr);
		if (jerr == json_tokener_continue)
			end = len;
		size_t line = line_of(json, end, &col);
		berr_set(c->e, 0, "%s: line %zu: JSON parse error: %s (column %zu)", c->file, line,
			 what, col);
		return NULL;
	}
	for (size_t i = end; i < len; i++) {
		if (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r' ||
		    json[i] == '\0')
			continue;
		size_t line = line_of(json, i, &col);
		berr_set(c->e, 0,
			 "%s: line %zu: JSON parse error: unexpected data after the document "
			 "(column %zu)",
			 c->file, line, col);
		json_object_put(o);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		sp_fail(c, NULL, "expected a JSON object, got %s", sp_type_name(o));
		json_object_put(o);
		return NULL;
	}
	if (check_integers(c, json, len) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int jk_unsupported(sctx *c, json_object *obj, const char *ppath, const char *key)
{
	json_object *v;
	jpath p;
	int r = jk_get(c, obj, ppath, key, false, &v, &p);
	if (r <= 0)
		return r;
	/* empty objects and arrays ask for nothing */
	if ((json_object_is_type(v, json_type_object) && !json_object_object_length(v)) ||
	    (json_object_is_type(v, json_type_array) && !json_object_array_length(v)))
		return 0;
	return sp_fail(c, p.s, "not supported by berth");
}
