/* kube/yaml: YAML bytes into the generic tree: shapes and lines,
 * multi-document streams, the scalar resolution table (YAML 1.1 as
 * Kubernetes' decoder reads plain scalars), tags, and every refusal (syntax,
 * aliases, duplicate and non-scalar keys, the depth, node and size bounds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kube/yaml.h"
#include "util/xalloc.h"

static ky_stream *parse(const char *s, berr *e)
{
	return ky_parse(s, strlen(s), "t.yaml", e);
}

/* The error message of parsing s ("" if it parsed). */
static const char *error_of(const char *s)
{
	static berr e;
	memset(&e, 0, sizeof(e));
	ky_stream *st = parse(s, &e);
	if (st) {
		ky_free(st);
		return "";
	}
	return e.msg;
}

static void test_map_seq_lines(void)
{
	berr e = {0};
	ky_stream *s = parse("# c\na: 1\nb:\n  - x\n  - \"y\"\nc: {d: e}\n", &e);
	CHECK(s);
	CHECK(s->n_docs == 1);
	const ky_node *r = s->docs[0];
	CHECK(r->kind == KY_MAP && r->n == 3 && r->line == 2);
	const ky_node *a = ky_get(r, "a"), *b = ky_get(r, "b"), *c = ky_get(r, "c");
	CHECK(a && a->kind == KY_SCALAR && a->type == KY_INT && a->i == 1 && a->line == 2);
	CHECK(b && b->kind == KY_SEQ && b->n == 2 && b->line == 4);
	CHECK(b->items[0]->type == KY_STR && !strcmp(b->items[0]->str, "x"));
	CHECK(b->items[1]->type == KY_STR && b->items[1]->line == 5);
	CHECK(c && c->kind == KY_MAP && c->n == 1 && c->line == 6);
	CHECK_STREQ(ky_get(c, "d")->str, "e");
	CHECK(!ky_get(r, "zz") && !ky_get(a, "x"));
	ky_free(s);
}

static void test_multi_document(void)
{
	berr e = {0};
	ky_stream *s = parse("a: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n---\n- 1\n", &e);
	CHECK(s);
	CHECK(s->n_docs == 5);
	CHECK(s->docs[0]->kind == KY_MAP);
	CHECK(s->docs[1]->kind == KY_SCALAR && s->docs[1]->type == KY_NULL);
	CHECK(s->docs[2]->kind == KY_SCALAR && s->docs[2]->type == KY_NULL);
	CHECK(s->docs[3]->kind == KY_MAP && s->docs[3]->line == 6);
	CHECK(s->docs[4]->kind == KY_SEQ);
	ky_free(s);
	s = parse("", &e);
	CHECK(s && s->n_docs == 0);
	ky_free(s);
}

static const struct {
	const char *s;
	ky_type t;
	long long i;
} resolve[] = {
    {"", KY_NULL, 0},
    {"~", KY_NULL, 0},
    {"null", KY_NULL, 0},
    {"NULL", KY_NULL, 0},
    {"nULL", KY_STR, 0},
    {"true", KY_BOOL, 1},
    {"False", KY_BOOL, 0},
    {"yes", KY_BOOL, 1},
    {"No", KY_BOOL, 0},
    {"on", KY_BOOL, 1},
    {"OFF", KY_BOOL, 0},
    {"y", KY_BOOL, 1},
    {"n", KY_BOOL, 0},
    {"tRue", KY_STR, 0},
    {"0", KY_INT, 0},
    {"8080", KY_INT, 8080},
    {"-12", KY_INT, -12},
    {"+7", KY_INT, 7},
    {"0x1F", KY_INT, 31},
    {"0o17", KY_INT, 15},
    {"017", KY_INT, 15},
    {"0b101", KY_INT, 5},
    {"1_000", KY_INT, 1000},
    {"9223372036854775807", KY_INT, INT64_MAX},
    {"-9223372036854775808", KY_INT, INT64_MIN},
    {"9223372036854775808", KY_FLOAT, 0},
    {"089", KY_FLOAT, 0},
    {"0x", KY_STR, 0},
    {"1.5", KY_FLOAT, 0},
    {".5", KY_FLOAT, 0},
    {"1e3", KY_FLOAT, 0},
    {"-2.5E-3", KY_FLOAT, 0},
    {".inf", KY_FLOAT, 0},
    {"-.Inf", KY_FLOAT, 0},
    {".NaN", KY_FLOAT, 0},
    {"1e", KY_STR, 0},
    {"500m", KY_STR, 0},
    {"64Mi", KY_STR, 0},
    {"1.2.3", KY_STR, 0},
    {"nginx:1.14.2", KY_STR, 0},
    {"-", KY_STR, 0},
    {".", KY_STR, 0},
    {"_1", KY_STR, 0},
};

static void test_resolve_table(void)
{
	for (size_t k = 0; k < sizeof(resolve) / sizeof(resolve[0]); k++) {
		bool b = false;
		int64_t i = 0;
		ky_type t = ky_resolve(resolve[k].s, strlen(resolve[k].s), &b, &i);
		if (t != resolve[k].t)
			fprintf(stderr, "resolve \"%s\": %d, want %d\n", resolve[k].s, t,
				resolve[k].t);
		CHECK(t == resolve[k].t);
		if (t == KY_INT)
			CHECK(i == resolve[k].i);
		if (t == KY_BOOL)
			CHECK(b == (resolve[k].i != 0));
	}
}

static void test_quoted_and_tags(void)
{
	berr e = {0};
	ky_stream *s = parse("a: \"8080\"\nb: '1'\nc: !!str 8080\nd: !!int \"12\"\n"
			     "e: |\n  text\n  more\nf: !!float 1\ng: ! yes\nh: !!null ~\n",
			     &e);
	CHECK(s);
	const ky_node *r = s->docs[0];
	CHECK(ky_get(r, "a")->type == KY_STR && !strcmp(ky_get(r, "a")->str, "8080"));
	CHECK(ky_get(r, "b")->type == KY_STR);
	CHECK(ky_get(r, "c")->type == KY_STR);
	CHECK(ky_get(r, "d")->type == KY_INT && ky_get(r, "d")->i == 12);
	CHECK(ky_get(r, "e")->type == KY_STR && !strcmp(ky_get(r, "e")->str, "text\nmore\n"));
	CHECK(ky_get(r, "f")->type == KY_FLOAT);
	CHECK(ky_get(r, "g")->type == KY_STR);
	CHECK(ky_get(r, "h")->type == KY_NULL);
	ky_free(s);
	CHECK_STREQ(error_of("a: !!int abc\n"), "t.yaml:1: a scalar tagged !!int that is not one");
	CHECK_STREQ(error_of("a: !custom x\n"),
		    "t.yaml:1: YAML tag !custom: not supported by berth");
	CHECK_STREQ(error_of("a: !!set {x}\n"),
		    "t.yaml:1: YAML tag tag:yaml.org,2002:set: not supported by berth");
	CHECK_STREQ(error_of("a: !!map {x: 1}\nb: !!seq [1]\n"), "");
}

static void test_refusals(void)
{
	CHECK_STREQ(error_of("a: &x 1\nb: *x\n"),
		    "t.yaml:2: YAML alias *x: aliases are not supported by berth");
	CHECK_STREQ(error_of("a: &x 1\n"), "");
	CHECK_STREQ(error_of("a: 1\nb: 2\na: 3\n"), "t.yaml:3: duplicate key \"a\"");
	CHECK_STREQ(error_of("x:\n  k: 1\n  k: 2\ny:\n  k: 1\n"), "t.yaml:3: duplicate key \"k\"");
	/* the same text quoted is the same key */
	CHECK_STREQ(error_of("'1': a\n1: b\n"), "t.yaml:2: duplicate key \"1\"");
	CHECK_STREQ(error_of("\"a\\nb\": 1\n\"a\\nb\": 2\n"), "t.yaml:2: duplicate key \"a\\nb\"");
	CHECK_STREQ(error_of("? [a]\n: 1\n"), "t.yaml:1: a mapping key that is a list (keys are "
					      "strings)");
	CHECK_STREQ(error_of("? {a: 1}\n: 1\n"), "t.yaml:1: a mapping key that is a mapping (keys "
						 "are strings)");
	CHECK_CONTAINS(error_of("a: [1, 2\n"), "t.yaml:");
	CHECK_CONTAINS(error_of("a: [1, 2\n"), "YAML: ");
	CHECK_STREQ(error_of("a: {b: c\nd: e\n"),
		    "t.yaml:2: YAML: did not find expected ',' or '}' while parsing a flow mapping "
		    "(started at line 1)");
	CHECK_STREQ(error_of("a: b\n  c: d\n"),
		    "t.yaml:2: YAML: mapping values are not allowed in this context");
	CHECK_CONTAINS(error_of("a: b\n c: d\n  - x\n"), "t.yaml:2: YAML: ");
	CHECK_CONTAINS(error_of("a:\tb: c\n"), "YAML: ");
	CHECK_STREQ(error_of("a: \"x\\0y\"\n"), "t.yaml:1: a scalar with a NUL byte");
}

/* [[[...]]] n deep */
static char *nested(size_t n)
{
	char *s = xmalloc(2 * n + 2);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\n';
	s[2 * n + 1] = '\0';
	return s;
}

static void test_depth_bound(void)
{
	char *ok = nested(KY_MAX_DEPTH), *deep = nested(KY_MAX_DEPTH + 1);
	const char *a = error_of(ok);
	CHECK_STREQ(a, "");
	const char *b = error_of(deep);
	free(ok);
	CHECK_STREQ(b, "t.yaml:1: YAML nested deeper than 64 levels");
	free(deep);
	/* far deeper than any stack of ours: still one refusal, no recursion */
	char *huge = nested(200000);
	CHECK_STREQ(error_of(huge), "t.yaml:1: YAML nested deeper than 64 levels");
	free(huge);
}

static void test_node_bound(void)
{
	/* a list of n items is n + 1 nodes */
	size_t n = KY_MAX_NODES;
	char *s = xmalloc(2 * n + 4);
	size_t o = 0;
	s[o++] = '[';
	for (size_t i = 0; i < n - 1; i++) {
		s[o++] = '0';
		s[o++] = ',';
	}
	s[o++] = '0';
	s[o++] = ']';
	s[o] = '\0';
	CHECK_CONTAINS(error_of(s), "more than 100000 YAML nodes");
	s[o - 3] = ']'; /* one item fewer: 100000 nodes */
	s[o - 2] = '\0';
	berr e = {0};
	ky_stream *st = parse(s, &e);
	free(s);
	CHECK(st);
	CHECK(st->docs[0]->n == KY_MAX_NODES - 1);
	ky_free(st);
}

static void test_size_bound(void)
{
	size_t n = KY_MAX_BYTES + 1;
	char *s = xmalloc(n);
	memset(s, '#', n);
	berr e = {0};
	CHECK(!ky_parse(s, n, "big.yaml", &e));
	CHECK_STREQ(e.msg, "big.yaml: 16777217 bytes: larger than the 16 MiB berth reads");
	s[0] = 'a', s[1] = ':', s[2] = ' ', s[3] = '1', s[4] = '\n';
	ky_stream *st = ky_parse(s, n - 1, "big.yaml", &e);
	free(s);
	CHECK(st && st->n_docs == 1);
	ky_free(st);
}

static void test_type_names(void)
{
	berr e = {0};
	ky_stream *s = parse("[a, 1, 1.5, true, ~, [], {}]\n", &e);
	CHECK(s);
	const char *want[] = {"a string", "an integer", "a number", "a boolean",
			      "null",	  "a list",	"a mapping"};
	for (size_t i = 0; i < 7; i++)
		CHECK_STREQ(ky_type_name(s->docs[0]->items[i]), want[i]);
	ky_free(s);
}

CHECK_MAIN(test_map_seq_lines, test_multi_document, test_resolve_table, test_quoted_and_tags,
	   test_refusals, test_depth_bound, test_node_bound, test_size_bound, test_type_names)
