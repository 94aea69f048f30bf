/* The model's tools: the field path, the walk over a mapping, scalar
 * getters with Kubernetes' types, name rules, quantities, base64. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/model_priv.h"
#include "util/xalloc.h"

static int kerr_v(kctx *c, const ky_node *n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int kerr_v(kctx *c, const ky_node *n, const char *fmt, va_list ap)
{
	char what[512], where[256] = "", all[2048], clean[1024];
	vsnprintf(what, sizeof(what), fmt, ap);
	if (c->kind && c->name)
		snprintf(where, sizeof(where), "%s \"%.200s\": ", c->kind, c->name);
	else if (c->kind)
		snprintf(where, sizeof(where), "%s: ", c->kind);
	snprintf(all, sizeof(all), "%s%s%s%s", where, c->path, c->plen ? ": " : "", what);
	/* keys and values quoted in it may hold anything: one line */
	ky_escape(clean, sizeof(clean), all);
	return berr_set(c->e, EINVAL, "%s:%u: %s", c->file, n ? n->line : 1, clean);
}

int kerr(kctx *c, const ky_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kerr_v(c, n, fmt, ap);
	va_end(ap);
	return -1;
}

int kerr_field(kctx *c, const ky_node *n, const char *field, const char *fmt, ...)
{
	size_t old = kp_field(c, field);
	va_list ap;
	va_start(ap, fmt);
	kerr_v(c, n, fmt, ap);
	va_end(ap);
	kp_pop(c, old);
	return -1;
}

/* Append text (cut at the buffer's end). */
static size_t kp_add(kctx *c, const char *text)
{
	size_t old = c->plen, n = strlen(text), room = sizeof(c->path) - 1 - c->plen;
	if (n > room)
		n = room;
	memcpy(c->path + c->plen, text, n);
	c->plen += n;
	c->path[c->plen] = '\0';
	return old;
}

size_t kp_field(kctx *c, const char *field)
{
	char t[128];
	snprintf(t, sizeof(t), "%s%.100s", c->plen ? "." : "", field);
	return kp_add(c, t);
}

size_t kp_index(kctx *c, size_t i)
{
	char t[32];
	snprintf(t, sizeof(t), "[%zu]", i);
	return kp_add(c, t);
}

size_t kp_key(kctx *c, const char *key)
{
	char t[128];
	snprintf(t, sizeof(t), "[%.100s]", key);
	return kp_add(c, t);
}

void kp_pop(kctx *c, size_t len)
{
	c->plen = len;
	c->path[len] = '\0';
}

int k_walk(kctx *c, const ky_node *map, const kfield *fields, void *obj)
{
	if (map->kind == KY_SCALAR && map->type == KY_NULL)
		return 0;
	if (map->kind != KY_MAP)
		return kerr(c, map, "must be a mapping, not %s", ky_type_name(map));
	for (size_t k = 0; k < map->n; k++) {
		const ky_node *key = map->items[2 * k], *v = map->items[2 * k + 1];
		const kfield *f = fields;
		while (f->name && strcmp(f->name, key->str))
			f++;
		size_t old = kp_field(c, key->str);
		int r = 0;
		if (!f->name)
			r = kerr(c, key, "not supported by berth");
		else if (!(v->kind == KY_SCALAR && v->type == KY_NULL))
			r = f->fn(c, v, obj);
		kp_pop(c, old);
		if (r < 0)
			return -1;
	}
	return 0;
}

int k_list(kctx *c, const ky_node *seq, size_t elem, void **arr, size_t *n, kitem_fn fn)
{
	if (seq->kind != KY_SEQ)
		return kerr(c, seq, "must be a list, not %s", ky_type_name(seq));
	*arr = seq->n ? xzalloc(seq->n * elem) : NULL;
	*n = seq->n;
	for (size_t i = 0; i < seq->n; i++) {
		size_t old = kp_index(c, i);
		int r = fn(c, seq->items[i], (char *)*arr + i * elem);
		kp_pop(c, old);
		if (r < 0)
			return -1;
	}
	return 0;
}

int k_str(kctx *c, const ky_node *v, char **out)
{
	if (v->kind != KY_SCALAR || v->type != KY_STR)
		return kerr(c, v, "must be a string, not %s%s", ky_type_name(v),
			    v->kind == KY_SCALAR ? " (quote it)" : "");
	free(*out);
	*out = xstrdup(v->str);
	return 0;
}

int k_bool(kctx *c, const ky_node *v, bool *out)
{
	if (v->kind != KY_SCALAR || v->type != KY_BOOL)
		return kerr(c, v, "must be true or false, not %s", ky_type_name(v));
	*out = v->b;
	return 0;
}

int k_tri(kctx *c, const ky_node *v, int *out)
{
	bool b = false;
	if (k_bool(c, v, &b) < 0)
		return -1;
	*out = b;
	return 0;
}

int k_int(kctx *c, const ky_node *v, int64_t min, int64_t max, int64_t *out)
{
	if (v->kind != KY_SCALAR || v->type != KY_INT)
		return kerr(c, v, "must be an integer, not %s", ky_type_name(v));
	if (v->i < min || v->i > max)
		return kerr(c, v, "%lld: must be between %lld and %lld", (long long)v->i,
			    (long long)min, (long long)max);
	*out = v->i;
	return 0;
}

int k_int32(kctx *c, const ky_node *v, int min, int max, int *out)
{
	int64_t x = 0;
	if (k_int(c, v, min, max, &x) < 0)
		return -1;
	*out = (int)x;
	return 0;
}

int k_strv(kctx *c, const ky_node *v, char ***out)
{
	if (v->kind != KY_SEQ)
		return kerr(c, v, "must be a list of strings, not %s", ky_type_name(v));
	strv_free(*out);
	*out = xzalloc((v->n + 1) * sizeof(char *));
	for (size_t i = 0; i < v->n; i++) {
		size_t old = kp_index(c, i);
		int r = k_str(c, v->items[i], &(*out)[i]);
		kp_pop(c, old);
		if (r < 0)
			return -1;
	}
	return 0;
}

int k_kvmap(kctx *c, const ky_node *v, k_check_fn key_ok, k_check_fn val_ok, kube_kv **out,
	    size_t *n)
{
	if (v->kind != KY_MAP)
		return kerr(c, v, "must be a mapping, not %s", ky_type_name(v));
	*out = v->n ? xzalloc(v->n * sizeof(kube_kv)) : NULL;
	*n = 0;
	for (size_t k = 0; k < v->n; k++) {
		const ky_node *key = v->items[2 * k], *val = v->items[2 * k + 1];
		size_t old = kp_key(c, key->str);
		const char *why = key_ok ? key_ok(key->str) : NULL;
		int r = why ? kerr(c, key, "key: %s", why) : 0;
		if (!r && val->kind == KY_SCALAR && val->type == KY_NULL)
			(*out)[*n].value = xstrdup(""); /* Kubernetes reads null as "" */
		else if (!r)
			r = k_str(c, val, &(*out)[*n].value);
		if (!r && val_ok && (why = val_ok((*out)[*n].value)))
			r = kerr(c, val, "%s", why);
		(*out)[*n].key = xstrdup(key->str);
		++*n;
		kp_pop(c, old);
		if (r < 0)
			return -1;
	}
	return 0;
}

int k_port_ref(kctx *c, const ky_node *v, kube_port_ref *out)
{
	if (v->kind == KY_SCALAR && v->type == KY_INT)
		return k_int32(c, v, 1, 65535, &out->number);
	if (k_str(c, v, &out->name) < 0)
		return -1;
	const char *why = k_iana_svc_name(out->name);
	return why ? kerr(c, v, "\"%.100s\": a port number or name: %s", out->name, why) : 0;
}

int k_enum(kctx *c, const ky_node *v, const char *const *values, int *out)
{
	char *s = NULL;
	if (k_str(c, v, &s) < 0)
		return -1;
	for (int i = 0; values[i]; i++)
		if (!strcmp(values[i], s)) {
			free(s);
			*out = i;
			return 0;
		}
	char list[256] = "";
	for (int i = 0; values[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 values[i][0] ? values[i] : "\"\"");
	kerr(c, v, "\"%.100s\": not supported by berth (one of %s)", s, list);
	free(s);
	return -1;
}

int k_proto(kctx *c, const ky_node *v, kube_proto *out)
{
	static const char *const protos[] = {"TCP", "UDP", NULL};
	int i;
	if (k_enum(c, v, protos, &i) < 0)
		return -1;
	*out = i ? KUBE_UDP : KUBE_TCP;
	return 0;
}

static int k_quantity(kctx *c, const ky_node *v, int64_t *out,
		      int (*parse)(const char *, int64_t *, const char **))
{
	if (v->kind != KY_SCALAR || v->type == KY_NULL || v->type == KY_BOOL)
		return kerr(c, v, "must be a quantity, not %s", ky_type_name(v));
	const char *why;
	if (parse(v->str, out, &why) < 0)
		return kerr(c, v, "\"%.100s\": %s", v->str, why);
	return 0;
}

int k_bytes(kctx *c, const ky_node *v, int64_t *out)
{
	return k_quantity(c, v, out, kube_quantity_bytes);
}

int k_milli(kctx *c, const ky_node *v, int64_t *out)
{
	return k_quantity(c, v, out, kube_quantity_milli);
}

/* Quantities as Kubernetes writes them (resource.Quantity): a decimal
 * number, then a binary suffix (Ki..Ei), a decimal one (n u m k M G T P E)
 * or an exponent (e3, E-2). Computed exactly in 128 bits, rounded up. */
static int quantity(const char *s, unsigned scale, int64_t *out, const char **why)
{
	typedef unsigned __int128 u128;
	const char *p = s;
	if (*p == '+')
		p++;
	else if (*p == '-')
		return *why = "must not be negative", -1;
	u128 mant = 0;
	unsigned nd = 0, nfrac = 0;
	bool dot = false, any = false;
	for (; (*p >= '0' && *p <= '9') || (*p == '.' && !dot); p++) {
		if (*p == '.') {
			dot = true;
			continue;
		}
		any = true;
		if (!mant && *p == '0' && !dot)
			continue;
		if (++nd > 27)
			return *why = "too many digits", -1;
		mant = mant * 10 + (unsigned)(*p - '0');
		nfrac += dot;
	}
	if (!any)
		return *why = "not a quantity (a number, then a suffix: 500m, 64Mi, 1G)", -1;
	static const struct {
		const char *suffix;
		int pow10;
		unsigned pow2;
	} suffixes[] = {{"", 0, 0},    {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30},
			{"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60}, {"n", -9, 0},
			{"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},
			{"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0}};
	int pow10 = 0;
	unsigned pow2 = 0;
	bool found = false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]) && !found; i++)
		if (!strcmp(p, suffixes[i].suffix)) {
			pow10 = suffixes[i].pow10, pow2 = suffixes[i].pow2;
			found = true;
		}
	if (!found && (*p == 'e' || *p == 'E')) {
		const char *q = p + 1;
		bool neg = *q == '-';
		q += *q == '-' || *q == '+';
		int x = 0;
		for (; *q >= '0' && *q <= '9' && x < 100; q++)
			x = x * 10 + (*q - '0');
		if (q > p + 1 && q[-1] >= '0' && q[-1] <= '9' && !*q) {
			pow10 = neg ? -x : x;
			found = true;
		}
	}
	if (!found)
		return *why = "unknown suffix (Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<N>)", -1;
	int den10 = (int)nfrac + (pow10 < 0 ? -pow10 : 0), num10 = pow10 > 0 ? pow10 : 0;
	if (den10 > 36)
		return *why = "too small a unit (more than 36 decimals)", -1;
	const u128 max = ~(u128)0;
	u128 num = mant, den = 1;
	for (int i = 0; i < den10; i++)
		den *= 10;
	for (int i = 0; i < num10 && num; i++) {
		if (num > max / 10)
			return *why = "too large", -1;
		num *= 10;
	}
	if (num && (num > (max >> pow2) || num > max / scale / ((u128)1 << pow2)))
		return *why = "too large", -1;
	num = (num << pow2) * scale;
	u128 r = num / den + (num % den != 0);
	if (r > INT64_MAX)
		return *why = "too large", -1;
	*out = (int64_t)r;
	return 0;
}

int kube_quantity_milli(const char *s, int64_t *out, const char **why)
{
	return quantity(s, 1000, out, why);
}

int kube_quantity_bytes(const char *s, int64_t *out, const char **why)
{
	return quantity(s, 1, out, why);
}

static bool lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool alnum(char ch)
{
	return lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? of n bytes */
static bool label_ok(const char *s, size_t n)
{
	if (!n || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

const char *k_dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		return "must be at most 63 characters";
	if (!label_ok(s, n))
		return "must be a DNS-1123 label (lower case letters, digits and '-', starting "
		       "and ending with a letter or digit)";
	return NULL;
}

const char *k_dns_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n > 253)
		return "must be at most 253 characters";
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!label_ok(p, len))
			return "must be a DNS-1123 subdomain (lower case letters, digits, '-' and "
			       "'.', starting and ending with a letter or digit)";
		if (!dot)
			return NULL;
		p = dot + 1;
	}
}

const char *k_dns1035_label(const char *s)
{
	const char *why = k_dns_label(s);
	if (why)
		return why;
	if (s[0] < 'a' || s[0] > 'z')
		return "must be a DNS-1035 label (start with a lower case letter)";
	return NULL;
}

const char *k_iana_svc_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;
	if (!n || n > 15)
		return "a port name has 1 to 15 characters";
	for (size_t i = 0; i < n; i++) {
		if (!lower_alnum(s[i]) && s[i] != '-')
			return "a port name has lower case letters, digits and '-'";
		letter |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (!letter)
		return "a port name has at least one letter";
	if (s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return "a port name neither starts nor ends with '-' nor has \"--\"";
	return NULL;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] of n bytes, at most 63 */
static const char *name_part(const char *s, size_t n)
{
	if (!n || n > 63)
		return "must have 1 to 63 characters";
	if (!alnum(s[0]) || !alnum(s[n - 1]))
		return "must start and end with a letter or digit";
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && !strchr("-_.", s[i]))
			return "may hold letters, digits, '-', '_' and '.'";
	return NULL;
}

const char *k_qualified_name(const char *s)
{
	const char *slash = strchr(s, '/');
	if (slash) {
		char prefix[256];
		size_t n = (size_t)(slash - s);
		if (n >= sizeof(prefix) || !n)
			return "a prefix before '/' must be a DNS-1123 subdomain";
		memcpy(prefix, s, n);
		prefix[n] = '\0';
		if (k_dns_subdomain(prefix))
			return "a prefix before '/' must be a DNS-1123 subdomain";
		s = slash + 1;
	}
	return name_part(s, strlen(s));
}

const char *k_label_value(const char *s)
{
	return *s ? name_part(s, strlen(s)) : NULL;
}

const char *k_config_key(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 253)
		return "must have 1 to 253 characters";
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && !strchr("-_.", s[i]))
			return "may hold letters, digits, '-', '_' and '.'";
	if (!strcmp(s, ".") || !strncmp(s, "..", 2))
		return "must not be '.' or start with '..'";
	return NULL;
}

const char *k_env_name(const char *s)
{
	if (!*s)
		return "must not be empty";
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '=')
			return "may hold printable ASCII characters other than '='";
	return NULL;
}

const char *k_rel_path(const char *s)
{
	if (s[0] == '/')
		return "must be a relative path";
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2))
			return "must not contain '..'";
		p += n + (p[n] == '/');
	}
	return NULL;
}

const char *k_abs_path(const char *s)
{
	return s[0] == '/' ? NULL : "must be an absolute path";
}

typedef struct idx_key {
	const char *key;
	size_t idx;
} idx_key;

static int cmp_idx_key(const void *pa, const void *pb)
{
	const idx_key *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

long k_first_dup(char *const *keys, size_t n)
{
	if (n < 2)
		return -1;
	idx_key *v = xreallocarray(NULL, n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (idx_key){keys[i], i};
	qsort(v, n, sizeof(*v), cmp_idx_key);
	long best = -1;
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i].key, v[i - 1].key) && (best < 0 || (long)v[i].idx < best))
			best = (long)v[i].idx;
	free(v);
	return best;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void k_sort_strs(char **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
}

bool k_sorted_has(char *const *sorted, size_t n, const char *key)
{
	return n && bsearch(&key, sorted, n, sizeof(*sorted), cmp_str);
}

static int b64_val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

unsigned char *k_b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out = xmalloc(n / 4 * 3 + 4);
	size_t o = 0, q = 0, pad = 0;
	unsigned acc = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\n' || *p == '\r')
			continue;
		int v = b64_val(*p);
		if (*p == '=') {
			pad++;
			v = 0;
		} else if (v < 0 || pad) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (unsigned)v;
		if (++q == 4) {
			if (pad > 2) {
				free(out);
				return NULL;
			}
			out[o++] = (unsigned char)(acc >> 16);
			if (pad < 2)
				out[o++] = (unsigned char)(acc >> 8);
			if (pad < 1)
				out[o++] = (unsigned char)acc;
			q = 0;
			acc = 0;
		}
	}
	if (q) {
		free(out);
		return NULL;
	}
	out[o] = '\0';
	*len = o;
	return out;
}
