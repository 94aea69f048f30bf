/* berr: a message longer than its buffer keeps its start and its cause. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/error.h"
#include "util/xalloc.h"

static char *long_name(size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, 'a', n);
	s[n] = '\0';
	return s;
}

static bool ends_with(const char *s, const char *end)
{
	size_t a = strlen(s), b = strlen(end);
	return a >= b && !strcmp(s + a - b, end);
}

/* A real ENAMETOOLONG from a 4,100-byte name: the cause survives. */
static void test_sys_keeps_cause(void)
{
	char *name = long_name(4100);
	berr e;
	CHECK(open(name, O_RDONLY | O_CLOEXEC) < 0);
	CHECK(berr_sys(&e, "create layer/%s/file", name) == -1);
	free(name);
	CHECK(e.errnum == ENAMETOOLONG);
	CHECK(strlen(e.msg) < sizeof(e.msg));
	CHECK(strlen(e.msg) > sizeof(e.msg) - 8); /* the room is used, not wasted */
	CHECK(!strncmp(e.msg, "create layer/aaa", 16));
	CHECK(ends_with(e.msg, "aaa/file: File name too long"));
	CHECK_CONTAINS(e.msg, "a...a");
}

static void test_short_message_untouched(void)
{
	berr e;
	errno = ENOENT;
	berr_sys(&e, "open %s", "/x/y");
	CHECK_STREQ(e.msg, "open /x/y: No such file or directory");
	berr_ctx(&e, "layer %s", "sha256:1");
	CHECK_STREQ(e.msg, "layer sha256:1: open /x/y: No such file or directory");
	berr_set(&e, 0, "%s", "plain");
	CHECK_STREQ(e.msg, "plain");
	CHECK(e.errnum == 0);
}

/* A message exactly filling the buffer is not cut; one more byte is. */
static void test_boundary(void)
{
	berr e;
	char *s = long_name(sizeof(e.msg) - 1);
	berr_set(&e, 0, "%s", s);
	CHECK(strlen(e.msg) == sizeof(e.msg) - 1);
	CHECK(!strstr(e.msg, "..."));
	free(s);
	s = long_name(sizeof(e.msg));
	berr_set(&e, 0, "%s", s);
	free(s);
	CHECK(strlen(e.msg) == sizeof(e.msg) - 1);
	CHECK_CONTAINS(e.msg, "...");
}

/* Context added on the way up keeps both ends: the context and the cause. */
static void test_ctx_keeps_cause(void)
{
	char *name = long_name(1500);
	berr e;
	errno = ENOSPC;
	berr_sys(&e, "write %s", name);
	CHECK(ends_with(e.msg, ": No space left on device"));
	berr_ctx(&e, "layer %s", "sha256:abc");
	CHECK(!strncmp(e.msg, "layer sha256:abc: write aaa", 27));
	CHECK(ends_with(e.msg, "aaa: No space left on device"));
	/* a context longer than the buffer */
	berr_ctx(&e, "ctx %s", name);
	CHECK(!strncmp(e.msg, "ctx aaa", 7));
	CHECK(ends_with(e.msg, ": No space left on device"));
	CHECK(strlen(e.msg) == sizeof(e.msg) - 1);
	free(name);
}

/* The cut never splits a UTF-8 sequence. */
static void test_utf8_cut(void)
{
	size_t n = 3000;
	char *s = xmalloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2); /* é */
	s[2 * n] = '\0';
	berr e;
	berr_set(&e, 0, "x%s", s);
	free(s);
	const char *cut = strstr(e.msg, "...");
	CHECK(cut);
	/* before the mark: "x" then whole pairs; after it: whole pairs */
	CHECK((size_t)(cut - e.msg) % 2 == 1);
	CHECK(strlen(cut + 3) % 2 == 0);
	CHECK((unsigned char)cut[3] == 0xc3);
}

/* The message may be built from the error's own text. */
static void test_self_format(void)
{
	berr e;
	berr_set(&e, 0, "inner");
	berr_set(&e, 1, "outer: %s", e.msg);
	CHECK_STREQ(e.msg, "outer: inner");
}

CHECK_MAIN(test_sys_keeps_cause, test_short_message_untouched, test_boundary, test_ctx_keeps_cause,
	   test_utf8_cut, test_self_format)
