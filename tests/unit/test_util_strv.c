/* strv_builder: amortised O(1) appends; the image config's Labels,
 * ExposedPorts and Volumes built with it (strv_push's recount made 200,000
 * labels cost 12.6 s). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "image/config.h"
#include "util/xalloc.h"

#define MILLION 1000000
/* entries of each kind in the config test: 200,000 labels took strv_push
 * 12.6 s; the test's own bound is relative to json-c's parse */
#define N_CONFIG 200000

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_builder_basics(void)
{
	strv_builder b = {0};
	CHECK(strvb_take(&b) == NULL); /* nothing pushed: NULL, as strv_push leaves it */
	char name[] = "one";
	strvb_push(&b, name);
	name[0] = 'X'; /* a copy was pushed */
	CHECK(b.n == 1 && b.v[1] == NULL);
	strvb_push_take(&b, xstrdup("two"));
	char **v = strvb_take(&b);
	CHECK(b.v == NULL && b.n == 0 && b.cap == 0);
	CHECK(strv_len(v) == 2);
	CHECK_STREQ(v[0], "one");
	CHECK_STREQ(v[1], "two");
	/* adopt an existing vector and keep appending; strv_push still works on it */
	strv_builder c = strvb_from(v);
	CHECK(c.n == 2);
	strvb_push(&c, "three");
	v = strvb_take(&c);
	strv_push(&v, "four");
	CHECK(strv_len(v) == 4);
	CHECK_STREQ(v[2], "three");
	CHECK_STREQ(v[3], "four");
	CHECK(v[4] == NULL);
	strv_free(v);
	strv_builder d = strvb_from(NULL);
	CHECK(d.v == NULL && d.n == 0);
	strvb_push(&d, "x");
	strvb_free(&d);
	CHECK(d.v == NULL);
}

static void test_builder_million(void)
{
	strv_builder b = {0};
	double t0 = cpu_now();
	char s[32];
	for (int i = 0; i < MILLION; i++) {
		snprintf(s, sizeof(s), "entry-%d", i);
		strvb_push(&b, s);
		if (b.v[b.n] != NULL) /* NULL-terminated after every push */
			break;
	}
	double t = cpu_now() - t0;
	char **v = strvb_take(&b);
	CHECK(strv_len(v) == MILLION);
	CHECK_STREQ(v[MILLION - 1], "entry-999999");
	strv_free(v);
	printf("  1e6 pushes: %.3f s cpu\n", t);
	CHECK(t < 2.0); /* ~0.2 s under ASan; the recounting push takes hours */
}

/* {"config":{"Labels":{...},"ExposedPorts":{...},"Volumes":{...}}} with n of each. */
static char *big_config(int n, size_t *len)
{
	size_t cap = (size_t)n * 3 * 40 + 4096, k = 0;
	char *buf = xmalloc(cap);
	k += (size_t)snprintf(buf + k, cap - k, "{\"config\":{\"Labels\":{");
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, cap - k, "%s\"l%d\":\"v%d\"", i ? "," : "", i, i);
	k += (size_t)snprintf(buf + k, cap - k, "},\"ExposedPorts\":{");
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, cap - k, "%s\"%d/tcp\":{}", i ? "," : "", i);
	k += (size_t)snprintf(buf + k, cap - k, "},\"Volumes\":{");
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, cap - k, "%s\"/v%d\":{}", i ? "," : "", i);
	k += (size_t)snprintf(buf + k, cap - k,
			      "}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
	*len = k;
	return buf;
}

/* The cost is json-c's parse of the document plus ours, and ours is small:
 * config_parse (and free) takes at most a few seconds more than json-c alone
 * takes to parse (and free) the same text. */
static void test_config_many_each(void)
{
	size_t len;
	char *buf = big_config(N_CONFIG, &len);
	double t0 = cpu_now();
	json_object *o = json_tokener_parse(buf);
	json_object_put(o);
	double t_json = cpu_now() - t0;
	img_config c;
	berr e;
	t0 = cpu_now();
	int r = config_parse(buf, len, &c, &e);
	double t_parse = cpu_now() - t0;
	free(buf);
	CHECK(o && r == 0);
	bool ok = strv_len(c.label_keys) == N_CONFIG && strv_len(c.label_values) == N_CONFIG &&
		  strv_len(c.exposed_ports) == N_CONFIG && strv_len(c.volumes) == N_CONFIG;
	const char *last = ok ? config_label(&c, "l199999") : NULL;
	bool last_ok = last && !strcmp(last, "v199999");
	t0 = cpu_now();
	config_free(&c);
	double t = t_parse + cpu_now() - t0;
	printf("  2e5 labels, ports and volumes: json-c %.3f s, config_parse+free %.3f s cpu\n",
	       t_json, t);
	CHECK(ok);
	CHECK(last_ok);
	CHECK(t < t_json + 2.0); /* ours: ~0.7 s under ASan, ~0.1 s in release */
}

CHECK_MAIN(test_builder_basics, test_builder_million, test_config_many_each)
