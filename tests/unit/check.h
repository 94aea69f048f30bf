/* Minimal unit-test harness. Each tests/unit/test_*.c defines TESTS via
 * TEST(name) functions and ends with CHECK_MAIN(test_a, test_b, ...).
 * The binary prints one line per test and exits non-zero if any failed;
 * tests/test_unit.py runs every binary (under ASan/UBSan) from pytest. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			check_failures++;                                                          \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b)) {                                                \
			fprintf(stderr, "%s:%d: CHECK_STREQ failed: \"%s\" != \"%s\"\n", __FILE__, \
				__LINE__, _a ? _a : "(null)", _b ? _b : "(null)");                 \
			check_failures++;                                                          \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
	do {                                                                                       \
		const char *_h = (hay), *_n = (needle);                                            \
		if (!_h || !strstr(_h, _n)) {                                                      \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,       \
				__LINE__, _h ? _h : "(null)", _n);                                 \
			check_failures++;                                                          \
			return;                                                                    \
		}                                                                                  \
	} while (0)

typedef void (*check_fn)(void);

static inline int check_run(const char *const *names, const check_fn *fns, size_t n)
{
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		int before = check_failures;
		fns[i]();
		int ok = check_failures == before;
		printf("%s %s\n", ok ? "ok" : "FAIL", names[i]);
		failed += !ok;
	}
	printf("%zu passed, %d failed\n", n - (size_t)failed, failed);
	return failed ? 1 : 0;
}

#define CHECK_STR_(x) #x
#define CHECK_MAIN(...)                                                                            \
	int main(void)                                                                             \
	{                                                                                          \
		const check_fn fns[] = {__VA_ARGS__};                                              \
		const char *all = CHECK_STR_((__VA_ARGS__));                                       \
		const char *names[sizeof(fns) / sizeof(fns[0])];                                   \
		static char buf[4096];                                                             \
		snprintf(buf, sizeof(buf), "%s", all + 1);                                         \
		buf[strlen(buf) - 1] = '\0';                                                       \
		size_t k = 0;                                                                      \
		for (char *s = strtok(buf, ", "); s && k < sizeof(fns) / sizeof(fns[0]);           \
		     s = strtok(NULL, ", "))                                                       \
			names[k++] = s;                                                            \
		return check_run(names, fns, k);                                                   \
	}
