/* YAML -> generic tree over libyaml's events: one explicit stack of open
 * containers (bounded by KY_MAX_DEPTH), every node registered in a flat
 * list that ky_free walks. */
#include "kube/yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/xalloc.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct frame {
	ky_node *node;
	size_t used, cap; /* entries of node->items (a map's: keys and values) */
} frame;

typedef struct builder {
	ky_stream *s;
	const char *file;
	berr *e;
	frame stack[KY_MAX_DEPTH + 1];
	size_t depth;
	ky_node *root;	 /* of the document being read */
	size_t max_line; /* an upper bound of the input's lines */
} builder;

static bool in_set(const char *s, size_t len, const char *const *set)
{
	for (; *set; set++)
		if (strlen(*set) == len && !memcmp(*set, s, len))
			return true;
	return false;
}

static bool digits(const char *s, const char *end, const char *allowed)
{
	if (s == end)
		return false;
	for (; s < end; s++)
		if (!strchr(allowed, *s) || !*s)
			return false;
	return true;
}

/* [-+]?[0-9_]+ in base 0 as Go's ParseInt reads it after yaml.v2 drops the
 * underscores: 0x, 0o, 0b prefixes, a leading 0 is octal. */
static bool resolve_int(const char *s, size_t len, int64_t *out)
{
	const char *end = s + len;
	bool neg = false;
	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	unsigned base = 10;
	const char *allowed = "0123456789_";
	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16, allowed = "0123456789abcdefABCDEF_", s += 2;
	} else if (end - s > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8, allowed = "01234567_", s += 2;
	} else if (end - s > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2, allowed = "01_", s += 2;
	} else if (end - s > 1 && s[0] == '0') {
		base = 8, allowed = "01234567_", s += 1;
	}
	if (!digits(s, end, allowed) || *s == '_')
		return false;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	bool big = false;
	for (; s < end; s++) {
		if (*s == '_')
			continue;
		unsigned d = *s <= '9' ? (unsigned)(*s - '0') : (unsigned)((*s | 0x20) - 'a' + 10);
		if (v > (lim - d) / base)
			big = true;
		else
			v = v * base + d;
	}
	if (big)
		return false; /* out of range: a float, as yaml.v2 falls back to */
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool resolve_float(const char *s, size_t len)
{
	static const char *const special[] = {".inf",  ".Inf",	".INF",	 "-.inf", "-.Inf",
					      "-.INF", "+.inf", "+.Inf", "+.INF", ".nan",
					      ".NaN",  ".NAN",	NULL};
	if (in_set(s, len, special))
		return true;
	const char *end = s + len, *p = s;
	if (p < end && *p == '_')
		return false; /* yaml.v2 only tries numbers starting with a sign, digit or '.' */
	if (p < end && (*p == '-' || *p == '+'))
		p++;
	size_t nint = 0, nfrac = 0;
	while (p < end && ((*p >= '0' && *p <= '9') || *p == '_'))
		p++, nint++;
	if (p < end && *p == '.') {
		p++;
		while (p < end && ((*p >= '0' && *p <= '9') || *p == '_'))
			p++, nfrac++;
	}
	if (!nint && !nfrac)
		return false;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '-' || *p == '+'))
			p++;
		if (!digits(p, end, "0123456789"))
			return false;
		p = end;
	}
	return p == end;
}

ky_type ky_resolve(const char *s, size_t len, bool *b, int64_t *i)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const yes[] = {"y",	  "Y",	  "yes", "Yes", "YES", "true",
					  "True", "TRUE", "on",	 "On",	"ON",  NULL};
	static const char *const no[] = {"n",	  "N",	   "no",  "No",	 "NO",	"false",
					 "False", "FALSE", "off", "Off", "OFF", NULL};
	if (in_set(s, len, nulls))
		return KY_NULL;
	if (in_set(s, len, yes) || in_set(s, len, no)) {
		*b = in_set(s, len, yes);
		return KY_BOOL;
	}
	if (resolve_int(s, len, i))
		return KY_INT;
	if (resolve_float(s, len))
		return KY_FLOAT;
	return KY_STR;
}

const char *ky_type_name(const ky_node *n)
{
	if (n->kind == KY_MAP)
		return "a mapping";
	if (n->kind == KY_SEQ)
		return "a list";
	static const char *const names[] = {"null", "a boolean", "an integer", "a number",
					    "a string"};
	return names[n->type];
}

static int fail(builder *b, size_t line0, const char *fmt, ...) BERR_FMT(3, 4);
static int fail(builder *b, size_t line0, const char *fmt, ...)
{
	char what[512], clean[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ky_escape(clean, sizeof(clean), what);
	return berr_set(b->e, EINVAL, "%s:%zu: %s", b->file, line0 + 1, clean);
}

void ky_escape(char *dst, size_t n, const char *src)
{
	size_t o = 0;
	for (; *src && o + 5 < n; src++) {
		unsigned char ch = (unsigned char)*src;
		if (ch == '\n' || ch == '\t' || ch == '\r') {
			dst[o++] = '\\';
			dst[o++] = ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r';
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(dst + o, n - o, "\\x%02x", ch);
		} else {
			dst[o++] = (char)ch;
		}
	}
	dst[o] = '\0';
}

static ky_node *new_node(builder *b, ky_kind kind, size_t line0)
{
	ky_stream *s = b->s;
	if (s->n_all >= KY_MAX_NODES) {
		berr_set(b->e, EINVAL, "%s:%zu: more than %u YAML nodes", b->file, line0 + 1,
			 KY_MAX_NODES);
		return NULL;
	}
	if (s->n_all == s->cap_all) {
		s->cap_all = s->cap_all ? 2 * s->cap_all : 64;
		s->all = xreallocarray(s->all, s->cap_all, sizeof(*s->all));
	}
	ky_node *n = xzalloc(sizeof(*n));
	n->kind = kind;
	/* libyaml places an empty node at the end of the input, which may
	 * count as one line more than the input has */
	n->line = (unsigned)(line0 + 1 > b->max_line ? b->max_line : line0 + 1);
	s->all[s->n_all++] = n;
	return n;
}

/* A scalar's type from its tag or, untagged, from its style. */
static int scalar_type(builder *b, ky_node *n, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (!tag || !strcmp(tag, "!")) {
		/* "!" alone: a non-specific tag, a string */
		n->type = plain && !tag ? ky_resolve(n->str, n->len, &n->b, &n->i) : KY_STR;
		return 0;
	}
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
		return fail(b, ev->start_mark.line, "YAML tag %.200s: not supported by berth", tag);
	const char *t = tag + strlen(TAG_PREFIX);
	ky_type r = ky_resolve(n->str, n->len, &n->b, &n->i);
	if (!strcmp(t, "str"))
		n->type = KY_STR;
	else if (!strcmp(t, "null") && r == KY_NULL)
		n->type = KY_NULL;
	else if (!strcmp(t, "bool") && r == KY_BOOL)
		n->type = KY_BOOL;
	else if (!strcmp(t, "int") && r == KY_INT)
		n->type = KY_INT;
	else if (!strcmp(t, "float") && (r == KY_INT || r == KY_FLOAT))
		n->type = KY_FLOAT;
	else
		return fail(b, ev->start_mark.line, "a scalar tagged !!%s that is not one", t);
	return 0;
}

static int cmp_key(const void *pa, const void *pb)
{
	const ky_node *a = *(ky_node *const *)pa, *b = *(ky_node *const *)pb;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	int c = memcmp(a->str, b->str, a->len);
	if (c)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Duplicate keys of a finished mapping, by sorting a copy of its keys. */
static int check_dup_keys(builder *b, const ky_node *map)
{
	if (map->n < 2)
		return 0;
	ky_node **keys = xreallocarray(NULL, map->n, sizeof(*keys));
	for (size_t k = 0; k < map->n; k++)
		keys[k] = map->items[2 * k];
	qsort(keys, map->n, sizeof(*keys), cmp_key);
	int r = 0;
	for (size_t k = 1; k < map->n && !r; k++)
		if (keys[k]->len == keys[k - 1]->len &&
		    !memcmp(keys[k]->str, keys[k - 1]->str, keys[k]->len))
			r = fail(b, keys[k]->line - 1, "duplicate key \"%.200s\"", keys[k]->str);
	free(keys);
	return r;
}

/* Hang a finished node under the open container (or make it the root). */
static int attach(builder *b, ky_node *n)
{
	if (!b->depth) {
		b->root = n;
		return 0;
	}
	frame *f = &b->stack[b->depth - 1];
	if (f->node->kind == KY_MAP && !(f->used & 1) && n->kind != KY_SCALAR)
		return fail(b, n->line - 1, "a mapping key that is %s (keys are strings)",
			    ky_type_name(n));
	if (f->used == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->node->items = xreallocarray(f->node->items, f->cap, sizeof(ky_node *));
	}
	f->node->items[f->used++] = n;
	return 0;
}

static int on_event(builder *b, const yaml_event_t *ev)
{
	size_t line0 = ev->start_mark.line;
	ky_node *n;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		b->root = NULL;
		return 0;
	case YAML_DOCUMENT_END_EVENT: {
		ky_stream *s = b->s;
		if (!b->root) {
			if (!(b->root = new_node(b, KY_SCALAR, line0)))
				return -1;
			b->root->str = xstrdup("");
		}
		s->docs = xreallocarray(s->docs, s->n_docs + 1, sizeof(*s->docs));
		s->docs[s->n_docs++] = b->root;
		b->root = NULL;
		return 0;
	}
	case YAML_ALIAS_EVENT:
		return fail(b, line0, "YAML alias *%.200s: aliases are not supported by berth",
			    (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		if (!(n = new_node(b, KY_SCALAR, line0)))
			return -1;
		n->len = ev->data.scalar.length;
		n->str = xstrndup((const char *)ev->data.scalar.value, n->len);
		if (strlen(n->str) != n->len)
			return fail(b, line0, "%s", "a scalar with a NUL byte");
		if (scalar_type(b, n, ev) < 0)
			return -1;
		return attach(b, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		const char *tag =
		    (const char *)(map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
		if (tag && strcmp(tag, map ? TAG_PREFIX "map" : TAG_PREFIX "seq"))
			return fail(b, line0, "YAML tag %.200s: not supported by berth", tag);
		if (b->depth >= KY_MAX_DEPTH)
			return fail(b, line0, "YAML nested deeper than %d levels", KY_MAX_DEPTH);
		if (!(n = new_node(b, map ? KY_MAP : KY_SEQ, line0)) || attach(b, n) < 0)
			return -1;
		b->stack[b->depth++] = (frame){n, 0, 0};
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		frame *f = &b->stack[--b->depth];
		f->node->n = f->node->kind == KY_MAP ? f->used / 2 : f->used;
		return f->node->kind == KY_MAP ? check_dup_keys(b, f->node) : 0;
	}
	default:
		return 0;
	}
}

ky_stream *ky_parse(const char *data, size_t len, const char *file, berr *e)
{
	if (len > KY_MAX_BYTES) {
		berr_set(e, EFBIG, "%s: %zu bytes: larger than the %u MiB berth reads", file, len,
			 KY_MAX_BYTES >> 20);
		return NULL;
	}
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		berr_set(e, ENOMEM, "%s: yaml_parser_initialize failed", file);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	builder b = {.s = xzalloc(sizeof(ky_stream)), .file = file, .e = e, .max_line = 1};
	/* line breaks as libyaml counts them (\n, \r, and NEL, LS, PS whose
	 * UTF-8 ends in 0x85, 0xa8, 0xa9): at most one per such byte */
	for (size_t i = 0; i < len; i++)
		b.max_line += data[i] == '\n' || data[i] == '\r' ||
			      (unsigned char)data[i] == 0x85 || (unsigned char)data[i] == 0xa8 ||
			      (unsigned char)data[i] == 0xa9;
	int r = 0;
	for (bool done = false; !done && !r;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			/* the problem's place; where the construct it is in began,
			 * when that is another line (an unclosed '{' two lines up) */
			const yaml_mark_t *m =
			    p.problem_mark.line || !p.context ? &p.problem_mark : &p.context_mark;
			char began[64] = "";
			if (p.context && p.context_mark.line != m->line)
				snprintf(began, sizeof(began), " (started at line %zu)",
					 p.context_mark.line + 1);
			r = berr_set(e, EINVAL, "%s:%zu: YAML: %s%s%s%s", file, m->line + 1,
				     p.problem ? p.problem : "parse error", p.context ? " " : "",
				     p.context ? p.context : "", began);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		r = on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (r < 0) {
		ky_free(b.s);
		return NULL;
	}
	return b.s;
}

void ky_free(ky_stream *s)
{
	if (!s)
		return;
	for (size_t k = 0; k < s->n_all; k++) {
		free(s->all[k]->str);
		free(s->all[k]->items);
		free(s->all[k]);
	}
	free(s->all);
	free(s->docs);
	free(s);
}

const ky_node *ky_get(const ky_node *map, const char *key)
{
	if (!map || map->kind != KY_MAP)
		return NULL;
	size_t len = strlen(key);
	for (size_t k = 0; k < map->n; k++) {
		const ky_node *kn = map->items[2 * k];
		if (kn->len == len && !memcmp(kn->str, key, len))
			return map->items[2 * k + 1];
	}
	return NULL;
}
