/* The id-map and /etc/subuid parsers of the rootless engine: the kernel's
 * uid_map text (util/idmap.c) and the subordinate ranges of a user
 * (engine/userns.c), with the edges: wraps, zero counts, other users'
 * broken lines, numeric names, the range limit. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/userns.h"
#include "util/idmap.h"

static void test_idmap_parse(void)
{
	idmap *m = calloc(1, sizeof(*m));
	berr e;
	CHECK(idmap_parse("         0          0 4294967295\n", m, &e) == 0);
	CHECK(m->n == 1 && idmap_is_initial(m));
	CHECK(idmap_parse("0 1000 1\n1 100000 65536\n", m, &e) == 0);
	CHECK(m->n == 2 && !idmap_is_initial(m));
	CHECK(idmap_maps(m, 0) && idmap_maps(m, 1) && idmap_maps(m, 65536));
	CHECK(!idmap_maps(m, 65537) && !idmap_maps(m, UINT32_MAX));
	CHECK(idmap_size(m) == 65537);
	CHECK(idmap_parse("", m, &e) == 0 && m->n == 0 && !idmap_maps(m, 0));
	const char *bad[] = {"0 0\n",
			     "0 0 0\n",
			     "x 0 1\n",
			     "0 0 1 9\n",
			     "4294967295 0 2\n",
			     "0 4294967295 2\n",
			     "0 0 4294967296\n",
			     "-1 0 1\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(idmap_parse(bad[i], m, &e) < 0);
		CHECK(e.errnum == EINVAL);
		CHECK_CONTAINS(e.msg, "line 1");
	}
	/* more lines than the kernel allows */
	size_t cap = (IDMAP_MAX + 1) * 16;
	char *big = malloc(cap);
	size_t off = 0;
	for (int i = 0; i <= IDMAP_MAX; i++)
		off += (size_t)snprintf(big + off, cap - off, "%d %d 1\n", i, i);
	CHECK(idmap_parse(big, m, &e) < 0);
	CHECK_CONTAINS(e.msg, "more than 340");
	free(big);
	free(m);
}

static void test_in_userns(void)
{
	/* the unit tests run as the host's root or as a plain user: either way
	 * the answer matches the map */
	idmap *m = calloc(1, sizeof(*m));
	berr e;
	CHECK(idmap_read_self("uid", m, &e) == 0);
	CHECK(idmap_in_userns() == !idmap_is_initial(m));
	free(m);
}

static void test_subid_parse(void)
{
	eng_subid r[ENG_SUBID_MAX];
	size_t n = 9;
	berr e;
	const char *text = "# comment\n"
			   "alice:100000:65536\n"
			   "bob:garbage\n"    /* someone else's broken line is skipped */
			   "1001:300000:10\n" /* by numeric id */
			   "alice:500000:1\n"
			   "alicex:600000:5\n";
	CHECK(eng_subid_parse(text, "/etc/subuid", "alice", 1001, r, &n, &e) == 0);
	CHECK(n == 3);
	CHECK(r[0].start == 100000 && r[0].count == 65536);
	CHECK(r[1].start == 300000 && r[1].count == 10);
	CHECK(r[2].start == 500000 && r[2].count == 1);
	CHECK(eng_subid_parse(text, "/etc/subuid", "carol", 7, r, &n, &e) == 0 && n == 0);
	CHECK(eng_subid_parse("", "/etc/subuid", "alice", 1, r, &n, &e) == 0 && n == 0);
	CHECK(eng_subid_parse("alice:1:2", "/etc/subuid", "alice", 1, r, &n, &e) == 0 && n == 1);
	const char *bad[] = {"alice:100000\n",	     "alice:x:1\n",	      "alice:1:0\n",
			     "alice:4294967295:2\n", "alice:1:99999999999\n", "alice::1\n",
			     "alice:1:2:3\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(eng_subid_parse(bad[i], "/etc/subuid", "alice", 1, r, &n, &e) < 0);
		CHECK_CONTAINS(e.msg, "/etc/subuid:1");
	}
	/* at most ENG_SUBID_MAX ranges are taken */
	char *many = malloc(64 * 40);
	size_t off = 0;
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(many + off, 64 * 40 - off, "alice:%d:1\n", 1000 + i);
	CHECK(eng_subid_parse(many, "/etc/subuid", "alice", 1, r, &n, &e) == 0);
	CHECK(n == ENG_SUBID_MAX);
	free(many);
}

CHECK_MAIN(test_idmap_parse, test_in_userns, test_subid_parse)
