/* build/subst: Docker's variable substitution. The table is the one moby's
 * shell lexer is tested with (builder/dockerfile/shell/envVarTest, the Unix
 * and all-platform lines), plus word splitting, the backtick escape, the
 * `-`/`+` forms without a colon, and the bounded nesting. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/subst.h"
#include "check.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static char *env_base[] = {"PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL=", NULL};

/* NULL expected: an error */
static const struct {
	const char *in, *out;
} table[] = {
    {"hello", "hello"},
    {"he'll'o", "hello"},
    {"he'llo", NULL},
    {"he\\'llo", "he'llo"},
    {"he\\\\'llo", NULL},
    {"abc\\tdef", "abctdef"},
    {"\"abc\\tdef\"", "abc\\tdef"},
    {"\"abc\\\\tdef\"", "abc\\tdef"},
    {"'abc\\tdef'", "abc\\tdef"},
    {"hello\\", "hello"},
    {"hello\\\\", "hello\\"},
    {"\"hello", NULL},
    {"\"hello\\\"", NULL},
    {"\"hel'lo\"", "hel'lo"},
    {"'hello", NULL},
    {"'hello\\'", "hello\\"},
    {"'hello\\there'", "hello\\there"},
    {"'hello\\\\there'", "hello\\\\there"},
    {"\"''\"", "''"},
    {"$.", "$."},
    {"$1", ""},
    {"he$1x", "hex"},
    {"he$.x", "he$.x"},
    {"he$pwd.", "he."},
    {"he$PWD", "he/home"},
    {"he\\$PWD", "he$PWD"},
    {"he\\\\$PWD", "he\\/home"},
    {"\"he\\$PWD\"", "he$PWD"},
    {"\"he\\\\$PWD\"", "he\\/home"},
    {"\\${}", "${}"},
    {"\\${}aaa", "${}aaa"},
    {"he\\${}", "he${}"},
    {"he\\${}xx", "he${}xx"},
    {"${}", NULL},
    {"${}aaa", NULL},
    {"he${}", NULL},
    {"he${}xx", NULL},
    {"he${hi}", "he"},
    {"he${hi}xx", "hexx"},
    {"he${PWD}", "he/home"},
    {"he${.}", NULL},
    {"he${XXX:-000}xx", "he000xx"},
    {"he${PWD:-000}xx", "he/homexx"},
    {"he${XXX:-$PWD}xx", "he/homexx"},
    {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
    {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
    {"he${XXX:YYY}", NULL},
    {"he${XXX:+${PWD}}xx", "hexx"},
    {"he${PWD:+${XXX}}xx", "hexx"},
    {"he${PWD:+${SHELL}}xx", "hebashxx"},
    {"he${XXX:+000}xx", "hexx"},
    {"he${PWD:+000}xx", "he000xx"},
    {"'he${XX}'", "he${XX}"},
    {"\"he${PWD}\"", "he/home"},
    {"\"he'$PWD'\"", "he'/home'"},
    {"\"$PWD\"", "/home"},
    {"'$PWD'", "$PWD"},
    {"'\\$PWD'", "\\$PWD"},
    {"'\"hello\"'", "\"hello\""},
    {"'he\\$PWD'", "he\\$PWD"},
    {"he${PWD", NULL},
    {"he${PWD:=000}xx", NULL},
    {"he${PWD:+${PWD}:}xx", "he/home:xx"},
    {"he${XXX:-\\$PWD:}xx", "he$PWD:xx"},
    {"he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"},
    {"안녕하세요", "안녕하세요"},
    {"안'녕'하세요", "안녕하세요"},
    {"안'녕하세요", NULL},
    {"안녕\\'하세요", "안녕'하세요"},
    {"\"안녕\\t하세요\"", "안녕\\t하세요"},
    {"안녕${XXX:-${YYY:-yyy}}xx", "안녕yyyxx"},
    {"$KOREAN", "한국어"},
    {"안녕$KOREAN", "안녕한국어"},
    {"$KOREAN한", ""}, /* the name is "KOREAN한" (unicode.IsLetter) */
    {"${KOREAN}한", "한국어한"},
    {"${{aaa}", NULL},
    {"${aaa}}", "}"},
    {"${aaa", NULL},
    {"${{aaa:-bbb}", NULL},
    {"${aaa:-bbb}}", "bbb}"},
    {"${aaa:-bbb", NULL},
    {"${aaa:-bbb}", "bbb"},
    {"${aaa:-${bbb:-ccc}}", "ccc"},
    {"${aaa:-bbb ${foo}", NULL},
    {"${aaa:-bbb {foo}", "bbb {foo"},
    {"${:}", NULL},
    {"${:-bbb}", NULL},
    {"${:+bbb}", NULL},
    /* BuildKit's ProcessWordWithMatches cases for the forms without ':' */
    {"${NULL-aaa} ${XXX-ccc}", " ccc"},
    {"${PWD-aaa}", "/home"},
    {"${NULL:-bbb}", "bbb"},
    {"${PWD+aaa} ${NULL+bbb} ${XXX+ccc}", "aaa bbb "},
    {"${PWD:+aaa} ${NULL:+bbb} ${XXX:+ccc}", "aaa  "},
    {"${XXX:-}", ""},
    {"${PWD:-}", "/home"},
};

static void test_envvar_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		berr e = {0};
		_cleanup_free_ char *r =
		    subst_word(table[i].in, '\\', subst_env_lookup, env_base, &e);
		if (!table[i].out) {
			if (r)
				fprintf(stderr, "input %s: expected an error, got \"%s\"\n",
					table[i].in, r);
			CHECK(r == NULL);
			CHECK(e.msg[0] != '\0');
			continue;
		}
		if (!r || strcmp(r, table[i].out))
			fprintf(stderr, "input %s: \"%s\" (%s), expected \"%s\"\n", table[i].in,
				r ? r : "(null)", e.msg, table[i].out);
		CHECK_STREQ(r, table[i].out);
	}
}

static void test_errors_name_the_variable(void)
{
	berr e = {0};
	CHECK(subst_word("${A", '\\', subst_env_lookup, env_base, &e) == NULL);
	CHECK_CONTAINS(e.msg, "\"A\"");
	CHECK_CONTAINS(e.msg, "missing '}'");
	CHECK(subst_word("x${FOO:?}", '\\', subst_env_lookup, env_base, &e) == NULL);
	CHECK_CONTAINS(e.msg, "\"FOO\"");
	CHECK_CONTAINS(e.msg, "unsupported modifier \":?\"");
	CHECK(subst_word("${BAR#x}", '\\', subst_env_lookup, env_base, &e) == NULL);
	CHECK_CONTAINS(e.msg, "\"BAR\"");
	CHECK_CONTAINS(e.msg, "\"#\"");
	CHECK(subst_word("${A:-x", '\\', subst_env_lookup, env_base, &e) == NULL);
	CHECK_CONTAINS(e.msg, "\"A\"");
	CHECK(subst_word("${}", '\\', subst_env_lookup, env_base, &e) == NULL);
	CHECK_CONTAINS(e.msg, "bad substitution");
	CHECK(subst_word("'x", '\\', NULL, NULL, &e) == NULL);
	CHECK_CONTAINS(e.msg, "single-quote");
	CHECK(subst_word("\"x", '\\', NULL, NULL, &e) == NULL);
	CHECK_CONTAINS(e.msg, "double-quote");
}

static void test_backtick_escape(void)
{
	berr e = {0};
	/* with `# escape=``, a backslash is an ordinary character (Windows paths) */
	_cleanup_free_ char *a = subst_word("c:\\$PWD`$PWD", '`', subst_env_lookup, env_base, &e);
	CHECK_STREQ(a, "c:\\/home$PWD");
	_cleanup_free_ char *b = subst_word("\"a`\"b\"", '`', NULL, NULL, &e);
	CHECK_STREQ(b, "a\"b");
}

static void test_lookup_unset_vs_empty(void)
{
	char *env[] = {"A=1", "E=", "A=2", NULL};
	CHECK_STREQ(subst_env_lookup(env, "A"), "2"); /* the later entry wins */
	CHECK_STREQ(subst_env_lookup(env, "E"), "");
	CHECK(subst_env_lookup(env, "X") == NULL);
	CHECK(subst_env_lookup(env, "") == NULL);
	berr e = {0};
	_cleanup_free_ char *r =
	    subst_word("${E-unset}${E:-empty}${X-unset}", '\\', subst_env_lookup, env, &e);
	CHECK_STREQ(r, "emptyunset");
	/* no lookup at all: everything unset */
	_cleanup_free_ char *n = subst_word("[$A${B:-b}]", '\\', NULL, NULL, &e);
	CHECK_STREQ(n, "[b]");
}

static size_t count(char **v)
{
	return strv_len(v);
}

static void test_words(void)
{
	char *env[] = {"PORTS=80/tcp  443/udp", "EMPTY=", "SP=a b", NULL};
	berr e = {0};
	char **w = subst_words("  src1 'src 2'  \"$SP\" dest/ ", '\\', subst_env_lookup, env, &e);
	CHECK(w && count(w) == 4);
	CHECK_STREQ(w[0], "src1");
	CHECK_STREQ(w[1], "src 2");
	CHECK_STREQ(w[2], "a b");
	CHECK_STREQ(w[3], "dest/");
	strv_free(w);
	/* an unquoted value splits (EXPOSE $PORTS is two ports) */
	w = subst_words("$PORTS 8080", '\\', subst_env_lookup, env, &e);
	CHECK(w && count(w) == 3);
	CHECK_STREQ(w[0], "80/tcp");
	CHECK_STREQ(w[1], "443/udp");
	CHECK_STREQ(w[2], "8080");
	strv_free(w);
	/* empty expansions and empty quotes make no word, as BuildKit's */
	w = subst_words("$EMPTY \"\" '' x", '\\', subst_env_lookup, env, &e);
	CHECK(w && count(w) == 1);
	CHECK_STREQ(w[0], "x");
	strv_free(w);
	w = subst_words("   ", '\\', NULL, NULL, &e);
	CHECK(w && count(w) == 0);
	strv_free(w);
	/* an escaped blank joins */
	w = subst_words("a\\ b c${SP:+d}e", '\\', subst_env_lookup, env, &e);
	CHECK(w && count(w) == 2);
	CHECK_STREQ(w[0], "a b");
	CHECK_STREQ(w[1], "cde");
	strv_free(w);
	/* a default word is split when unquoted */
	w = subst_words("${X:-p q}", '\\', subst_env_lookup, env, &e);
	CHECK(w && count(w) == 2);
	strv_free(w);
	CHECK(subst_words("a 'b", '\\', NULL, NULL, &e) == NULL);
}

static void test_nesting_bounded(void)
{
	/* 32 levels are fine, 33 are refused (and nothing overflows) */
	char buf[1024] = "", tail[256] = "";
	for (int i = 0; i < SUBST_MAX_DEPTH; i++) {
		strcat(buf, "${X:-");
		strcat(tail, "}");
	}
	strcat(buf, "deep");
	strcat(buf, tail);
	berr e = {0};
	_cleanup_free_ char *ok = subst_word(buf, '\\', NULL, NULL, &e);
	CHECK_STREQ(ok, "deep");
	char deeper[1100];
	snprintf(deeper, sizeof(deeper), "${X:-%s}", buf);
	CHECK(subst_word(deeper, '\\', NULL, NULL, &e) == NULL);
	CHECK_CONTAINS(e.msg, "nested deeper");
	/* a long flat input is linear: 200,000 references */
	size_t n = 200000;
	char *big = xmalloc(n * 3 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(big + i * 3, "$A ", 3);
	big[n * 3] = '\0';
	char *env[] = {"A=x", NULL};
	char **w = subst_words(big, '\\', subst_env_lookup, env, &e);
	CHECK(w && count(w) == n);
	strv_free(w);
	free(big);
}

/* COPY's here-document bodies: quotes stay, only \$ and \\ escape */
static void test_heredoc_body(void)
{
	berr e;
	char *env[] = {"A=x y", NULL};
	char *r =
	    subst_heredoc("a='$A' \"${A}\" \\$A \\n \\\\ ${B:-it's}\n", subst_env_lookup, env, &e);
	CHECK_STREQ(r, "a='x y' \"x y\" $A \\n \\ it's\n");
	free(r);
	CHECK(subst_heredoc("${A", subst_env_lookup, env, &e) == NULL);
	CHECK_CONTAINS(e.msg, "missing '}'");
}

CHECK_MAIN(test_heredoc_body, test_envvar_table, test_errors_name_the_variable,
	   test_backtick_escape, test_lookup_unset_vs_empty, test_words, test_nesting_bounded)
