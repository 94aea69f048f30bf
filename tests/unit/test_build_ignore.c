/* build/ignore: .dockerignore rules. The tables are moby/patternmatcher's
 * own (TestMatches, the filepath.Match cases of TestMatch, the multi-pattern
 * cases), plus the file reader's rules (ignorefile.ReadAll), the walker's
 * "may I skip this directory" question, and the bounds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build/ignore.h"
#include "check.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* One pattern, one path; -1: the pattern is refused. */
static int match1(const char *pattern, const char *path)
{
	berr e = {0};
	ignore_matcher *m = ignore_parse(pattern, strlen(pattern), ".dockerignore", &e);
	if (!m)
		return -1;
	int r = ignore_match(m, path, false);
	ignore_free(m);
	return r;
}

/* patterns separated by '\n' */
static int matchn(const char *patterns, const char *path)
{
	return match1(patterns, path);
}

static const struct {
	const char *pattern, *path;
	int match;
} matches[] = {
    /* patternmatcher_test.go TestMatches (MatchesOrParentMatches: a
     * parent's match counts) */
    {"**", "file", 1},
    {"**", "file/", 1},
    {"**/", "file", 1},
    {"**/", "file/", 1},
    {"**", "/", 1},
    {"**/", "/", 1},
    {"**", "dir/file", 1},
    {"**/", "dir/file", 1},
    {"**", "dir/file/", 1},
    {"**/", "dir/file/", 1},
    {"**/**", "dir/file", 1},
    {"**/**", "dir/file/", 1},
    {"dir/**", "dir/file", 1},
    {"dir/**", "dir/file/", 1},
    {"dir/**", "dir/dir2/file", 1},
    {"dir/**", "dir/dir2/file/", 1},
    {"**/dir", "dir", 1},
    {"**/dir", "dir/file", 1},
    {"**/dir2/*", "dir/dir2/file", 1},
    {"**/dir2/*", "dir/dir2/file/", 1},
    {"**/dir2/**", "dir/dir2/dir3/file", 1},
    {"**/dir2/**", "dir/dir2/dir3/file/", 1},
    {"**file", "file", 1},
    {"**file", "dir/file", 1},
    {"**/file", "dir/file", 1},
    {"**file", "dir/dir/file", 1},
    {"**/file", "dir/dir/file", 1},
    {"**/file*", "dir/dir/file", 1},
    {"**/file*", "dir/dir/file.txt", 1},
    {"**/file*txt", "dir/dir/file.txt", 1},
    {"**/file*.txt", "dir/dir/file.txt", 1},
    {"**/file*.txt*", "dir/dir/file.txt", 1},
    {"**/**/*.txt", "dir/dir/file.txt", 1},
    {"**/**/*.txt2", "dir/dir/file.txt", 0},
    {"**/*.txt", "file.txt", 1},
    {"**/**/*.txt", "file.txt", 1},
    {"a**/*.txt", "a/file.txt", 1},
    {"a**/*.txt", "a/dir/file.txt", 1},
    {"a**/*.txt", "a/dir/dir/file.txt", 1},
    {"a/*.txt", "a/dir/file.txt", 0},
    {"a/*.txt", "a/file.txt", 1},
    {"a/*.txt**", "a/file.txt", 1},
    {"a[b-d]e", "ae", 0},
    {"a[b-d]e", "ace", 1},
    {"a[b-d]e", "aae", 0},
    {"a[^b-d]e", "aze", 1},
    {".*", ".foo", 1},
    {".*", "foo", 0},
    {"abc.def", "abcdef", 0},
    {"abc.def", "abc.def", 1},
    {"abc.def", "abcZdef", 0},
    {"abc?def", "abcZdef", 1},
    {"abc?def", "abcdef", 0},
    {"**/foo/bar", "foo/bar", 1},
    {"**/foo/bar", "dir/foo/bar", 1},
    {"**/foo/bar", "dir/dir2/foo/bar", 1},
    {"abc/**", "abc", 0},
    {"abc/**", "abc/def", 1},
    {"abc/**", "abc/def/ghi", 1},
    {"**/.foo", ".foo", 1},
    {"**/.foo", "bar.foo", 0},
    {"a(b)c/def", "a(b)c/def", 1},
    {"a(b)c/def", "a(b)c/xyz", 0},
    {"a.|)$(}+{bc", "a.|)$(}+{bc", 1},
    {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 1},
    {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 1},
    {"a\\\\", "a\\", 1},
    {"a\\*b", "a*b", 1},
    /* moby's suffix fast path: a leading `**` then plain text */
    {"**file", "myfile", 1},
    {"**.txt", "a.txt", 1},
    {"**/file", "myfile", 0},
    {"**file*", "myfile", 0},
    /* TestMatch: Go's filepath.Match cases */
    {"abc", "abc", 1},
    {"*", "abc", 1},
    {"*c", "abc", 1},
    {"a*", "a", 1},
    {"a*", "abc", 1},
    {"a*", "ab/c", 1},
    {"a*/b", "abc/b", 1},
    {"a*/b", "a/c/b", 0},
    {"a*b*c*d*e*/f", "axbxcxdxe/f", 1},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", 1},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", 0},
    {"a*b?c*x", "abxbbxdbxebxczzx", 1},
    {"a*b?c*x", "abxbbxdbxebxczzy", 0},
    {"ab[c]", "abc", 1},
    {"ab[b-d]", "abc", 1},
    {"ab[e-g]", "abc", 0},
    {"ab[^c]", "abc", 0},
    {"ab[^b-d]", "abc", 0},
    {"ab[^e-g]", "abc", 1},
    {"a\\*b", "ab", 0},
    {"a?b", "a☺b", 1},
    {"a[^a]b", "a☺b", 1},
    {"a???b", "a☺b", 0},
    {"a[^a][^a][^a]b", "a☺b", 0},
    {"[a-ζ]*", "α", 1},
    {"*[a-ζ]", "A", 0},
    {"a?b", "a/b", 0},
    {"a*b", "a/b", 0},
    {"[\\]a]", "]", 1},
    {"[\\-]", "-", 1},
    {"[x\\-]", "x", 1},
    {"[x\\-]", "-", 1},
    {"[x\\-]", "z", 0},
    {"[\\-x]", "x", 1},
    {"[\\-x]", "-", 1},
    {"[\\-x]", "a", 0},
    {"[]a]", "]", -1},
    {"[-]", "-", -1},
    {"[x-]", "x", -1},
    {"[-x]", "x", -1},
    {"\\", "a", -1},
    {"[a-b-c]", "a", -1},
    {"[", "a", -1},
    {"[^", "a", -1},
    {"[^bc", "a", -1},
    {"a[", "a", -1},
    {"a]", "a", -1},
    {"[z-a]", "a", -1},
    {"*x", "xxx", 1},
    /* a pattern matching a directory matches what is under it */
    {"docs", "docs/README.md", 1},
    {"docs/", "docs/a/b/c", 1},
    {"docs", "docsx", 0},
    {"*/temp*", "somedir/temporary.txt", 1},
    {"*/*/temp*", "somedir/subdir/temp", 1},
    {"temp?", "tempa", 1},
    {"temp?", "temp/x", 0},
};

static void test_pattern_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(matches); i++) {
		int r = match1(matches[i].pattern, matches[i].path);
		if (r != matches[i].match)
			fprintf(stderr, "pattern %s path %s: %d, expected %d\n", matches[i].pattern,
				matches[i].path, r, matches[i].match);
		CHECK(r == matches[i].match);
	}
}

static void test_exceptions_last_wins(void)
{
	/* patternmatcher_test.go */
	CHECK(matchn("*.go\n", "fileutils.go") == 1);
	CHECK(matchn("!fileutils.go\n*.go\n", "fileutils.go") == 1);
	CHECK(matchn("*.go\n!fileutils.go\n", "fileutils.go") == 0);
	CHECK(matchn("docs\n!docs/README.md\n", "docs/README.md") == 0);
	CHECK(matchn("docs/\n!docs/README.md\n", "docs/README.md") == 0);
	CHECK(matchn("docs/*\n!docs/README.md\n", "docs/README.md") == 0);
	CHECK(matchn("**\n!util/docker/web\n", "util/docker/web/foo") == 0);
	CHECK(matchn("**\n!util/docker/web\nutil/docker/web/foo\n", "util/docker/web/foo") == 1);
	CHECK(matchn("**\n!dist/*.whl\n",
		     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl") == 0);
	/* the Docker documentation's example: *.md, !README*.md, README-secret.md */
	const char *doc = "*.md\n!README*.md\nREADME-secret.md\n";
	CHECK(matchn(doc, "CHANGES.md") == 1);
	CHECK(matchn(doc, "README.md") == 0);
	CHECK(matchn(doc, "README-secret.md") == 1);
	CHECK(matchn(doc, "docs/a.md") == 0); /* *.md is the top level only */
	const char *doc2 = "*.md\nREADME-secret.md\n!README*.md\n";
	CHECK(matchn(doc2, "README-secret.md") == 0);
	/* nothing excluded without patterns, and never the context itself */
	CHECK(matchn("", "anything") == 0);
	CHECK(matchn("*\n", ".") == 0);
	CHECK(matchn("*\n", "./") == 0);
}

static void test_file_rules(void)
{
	berr e = {0};
	const char *f = "\xef\xbb\xbf# a comment\n"
			"\n"
			"   \t\n"
			"  ./build/  \r\n"
			"/abs//path/../file\n"
			"  # not a comment: a pattern \"# x\"\n"
			"#!notexcluded\n"
			"! keep/me \n"
			"a/./b/\n"
			"../up\n";
	ignore_matcher *m = ignore_parse(f, strlen(f), ".dockerignore", &e);
	CHECK(m != NULL);
	CHECK(ignore_count(m) == 6);
	CHECK_STREQ(ignore_pattern(m, 0), "build");
	CHECK_STREQ(ignore_pattern(m, 1), "abs/file");
	CHECK_STREQ(ignore_pattern(m, 2), "# not a comment: a pattern \"# x\"");
	CHECK_STREQ(ignore_pattern(m, 3), "!keep/me");
	CHECK_STREQ(ignore_pattern(m, 4), "a/b");
	CHECK_STREQ(ignore_pattern(m, 5), "../up");
	CHECK(ignore_pattern(m, 6) == NULL);
	CHECK(ignore_match(m, "build/x.o", false));
	CHECK(ignore_match(m, "build", true));
	CHECK(ignore_match(m, "./build/", true));
	CHECK(ignore_match(m, "abs/file", false));
	CHECK(!ignore_match(m, "abs/path/file", false));
	CHECK(ignore_match(m, "a/b/c", false));
	CHECK(!ignore_match(m, "keep/me", false));
	ignore_free(m);
	/* only "!" is refused, naming the line */
	CHECK(ignore_parse("a\n  !  \n", 8, ".dockerignore", &e) == NULL);
	CHECK_CONTAINS(e.msg, ".dockerignore:2: illegal exclusion pattern");
	CHECK(ignore_parse("ok\n[bad\n", 8, ".containerignore", &e) == NULL);
	CHECK_CONTAINS(e.msg, ".containerignore:2: bad pattern \"[bad\"");
	CHECK(ignore_parse("a\0b\n", 4, ".dockerignore", &e) == NULL);
	CHECK_CONTAINS(e.msg, "NUL");
	ignore_free(NULL);
	CHECK(!ignore_match(NULL, "x", false));
}

static void test_may_include_below(void)
{
	berr e = {0};
	const char *f = "docs\n!docs/README.md\nvendor\n!**/keep\nlogs\n!logs\n*.tmp\n";
	ignore_matcher *m = ignore_parse(f, strlen(f), ".dockerignore", &e);
	CHECK(m != NULL);
	CHECK(ignore_match(m, "docs", true));
	CHECK(ignore_may_include_below(m, "docs"));   /* docs/README.md */
	CHECK(ignore_may_include_below(m, "vendor")); /* vendor/x/keep */
	CHECK(!ignore_match(m, "logs", true));	      /* re-included */
	CHECK(ignore_match(m, "vendor/x/lib.c", false));
	CHECK(!ignore_match(m, "vendor/x/keep", false));
	CHECK(!ignore_match(m, "vendor/x/keep/deep", false));
	ignore_free(m);
	const char *g = "docs\n!src/keep\n";
	m = ignore_parse(g, strlen(g), ".dockerignore", &e);
	CHECK(!ignore_may_include_below(m, "docs")); /* the walker may skip docs */
	CHECK(ignore_may_include_below(m, "src"));
	ignore_free(m);
	const char *h = "*\n!*.go\n";
	m = ignore_parse(h, strlen(h), ".dockerignore", &e);
	CHECK(ignore_match(m, "pkg", true));
	CHECK(!ignore_may_include_below(m, "pkg")); /* *.go is the top level only */
	CHECK(!ignore_match(m, "main.go", false));
	ignore_free(m);
	const char *k = "*\n!*/*.go\n";
	m = ignore_parse(k, strlen(k), ".dockerignore", &e);
	CHECK(ignore_may_include_below(m, "pkg"));
	CHECK(!ignore_may_include_below(m, "pkg/sub"));
	CHECK(!ignore_match(m, "pkg/a.go", false));
	CHECK(ignore_match(m, "pkg/sub/a.go", false));
	ignore_free(m);
}

static void test_bounds(void)
{
	berr e = {0};
	/* 10,000 patterns are fine, one more is refused */
	size_t n = IGNORE_MAX_PATTERNS + 1;
	char *big = xmalloc(n * 8 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(big + o, "p%05zu\n", i);
	ignore_matcher *m = ignore_parse(big, o - 8, ".dockerignore", &e);
	CHECK(m && ignore_count(m) == IGNORE_MAX_PATTERNS);
	CHECK(ignore_match(m, "p09999", false));
	ignore_free(m);
	CHECK(ignore_parse(big, o, ".dockerignore", &e) == NULL);
	CHECK_CONTAINS(e.msg, ":10001: more than 10000 patterns");
	free(big);
	/* a pattern over 64 KiB, a file over 16 MiB */
	char *longp = xmalloc(IGNORE_MAX_PATTERN + 8);
	memcpy(longp, "ok\n", 3);
	memset(longp + 3, 'a', IGNORE_MAX_PATTERN + 1);
	CHECK(ignore_parse(longp, IGNORE_MAX_PATTERN + 4, ".dockerignore", &e) == NULL);
	CHECK_STREQ(e.msg, ".dockerignore:2: pattern longer than 65536 bytes");
	m = ignore_parse(longp + 3, IGNORE_MAX_PATTERN, ".dockerignore", &e);
	CHECK(m && ignore_count(m) == 1);
	ignore_free(m);
	free(longp);
	char dummy = 'x';
	CHECK(ignore_parse(&dummy, IGNORE_MAX_BYTES + 1, ".dockerignore", &e) == NULL);
	CHECK_CONTAINS(e.msg, ".dockerignore: larger than");
	/* `**` chains against a long path that does not match: a backtracking
	 * matcher is exponential here; the NFA is pattern x path */
	char pat[2048] = "";
	for (int i = 0; i < 200; i++)
		strcat(pat, "**/a*");
	strcat(pat, "/x");
	char *path = xmalloc(20001);
	for (int i = 0; i < 9999; i++)
		memcpy(path + 2 * i, "a/", 2);
	path[19998] = 'y';
	path[19999] = '\0';
	m = ignore_parse(pat, strlen(pat), ".dockerignore", &e);
	CHECK(m != NULL);
	CHECK(!ignore_match(m, path, false));
	path[19998] = 'x';
	CHECK(ignore_match(m, path, false)); /* and it matches once the last one is x */
	ignore_free(m);
	free(path);
}

CHECK_MAIN(test_pattern_table, test_exceptions_last_wins, test_file_rules, test_may_include_below,
	   test_bounds)
