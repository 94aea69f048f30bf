/* engine/health.h: the parse of --restart (Docker's policy names) and of
 * the Go durations the --health-* flags take. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "engine/health.h"

static void test_restart_parse(void)
{
	eng_restart_policy p;
	berr e;
	CHECK(eng_restart_parse(NULL, &p, &e) == 0 && p.kind == ENG_RESTART_NO);
	CHECK(eng_restart_parse("no", &p, &e) == 0 && p.kind == ENG_RESTART_NO);
	CHECK(eng_restart_parse("always", &p, &e) == 0 && p.kind == ENG_RESTART_ALWAYS);
	CHECK(eng_restart_parse("unless-stopped", &p, &e) == 0 &&
	      p.kind == ENG_RESTART_UNLESS_STOPPED);
	CHECK(eng_restart_parse("on-failure", &p, &e) == 0 && p.kind == ENG_RESTART_ON_FAILURE &&
	      p.max_retries == 0);
	CHECK(eng_restart_parse("on-failure:5", &p, &e) == 0 && p.kind == ENG_RESTART_ON_FAILURE &&
	      p.max_retries == 5);
	const char *bad[] = {"sometimes",
			     "alway",
			     "always:3",
			     "on-failure:",
			     "on-failure:x",
			     "on-failure:-1",
			     "on-failure:99999999999",
			     "on-failure:3x",
			     "ON-FAILURE"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(eng_restart_parse(bad[i], &p, &e) == -1);
		CHECK_CONTAINS(e.msg, bad[i]);
	}
	CHECK(eng_restart_parse("always:3", &p, &e) == -1);
	CHECK_CONTAINS(e.msg, "only be used with 'on-failure'");
}

static void test_duration_parse(void)
{
	int64_t ns;
	berr e;
	static const struct {
		const char *s;
		int64_t ns;
	} ok[] = {{"0", 0},
		  {"30s", 30000000000LL},
		  {"1m30s", 90000000000LL},
		  {"500ms", 500000000LL},
		  {"1.5h", 5400000000000LL},
		  {"250us", 250000LL},
		  {"7ns", 7},
		  {"2m", 120000000000LL},
		  {"0.5s", 500000000LL},
		  {"1h2m3s4ms", 3723004000000LL}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		CHECK(eng_duration_parse("--health-interval", ok[i].s, &ns, &e) == 0);
		CHECK(ns == ok[i].ns);
	}
	const char *bad[] = {"", "10", "s", "-1s", "1x", "1.s.", "5 s", "99999999999999h", "1sm"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(eng_duration_parse("--health-timeout", bad[i], &ns, &e) == -1);
		CHECK_CONTAINS(e.msg, "--health-timeout");
	}
}

CHECK_MAIN(test_restart_parse, test_duration_parse)
