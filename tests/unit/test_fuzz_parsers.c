/* Parsers of outside input changed with the fuzz harnesses (tests/fuzz/):
 * the token server's answer (reg_token_parse) and descriptors without a
 * mediaType (found by fuzz_manifest: manifest_build_oci and
 * mt_layer_compression dereferenced the NULL). */
#include <string.h>

#include "check.h"
#include "image/manifest.h"
#include "registry/registry.h"

static char *tok(const char *body, berr *e)
{
	memset(e, 0, sizeof(*e));
	return reg_token_parse(body, strlen(body), e);
}

static void test_token_answers(void)
{
	berr e;
	char *t = tok("{\"token\":\"abc.def\",\"expires_in\":300}", &e);
	CHECK_STREQ(t, "abc.def");
	free(t);
	t = tok("{\"access_token\":\"oauth\"}", &e);
	CHECK_STREQ(t, "oauth");
	free(t);
	/* a null "token" falls back to access_token, as Docker's client does */
	t = tok("{\"token\":null,\"access_token\":\"x\"}", &e);
	CHECK_STREQ(t, "x");
	free(t);
}

static void test_token_refused(void)
{
	berr e;
	CHECK(!tok("", &e));
	CHECK_CONTAINS(e.msg, "token answer: not a JSON object");
	CHECK(!tok("[\"token\"]", &e));
	CHECK_CONTAINS(e.msg, "not a JSON object");
	CHECK(!tok("{\"expires_in\":1}", &e));
	CHECK_CONTAINS(e.msg, "no \"token\" or \"access_token\"");
	CHECK(!tok("{\"token\":1}", &e));
	CHECK_CONTAINS(e.msg, "token: expected a non-empty string");
	CHECK(!tok("{\"token\":\"\"}", &e));
	CHECK_CONTAINS(e.msg, "non-empty");
	/* it goes into "Authorization: Bearer ...": no header injection */
	CHECK(!tok("{\"token\":\"abc\\r\\nX-Injected: 1\"}", &e));
	CHECK_CONTAINS(e.msg, "outside the token68 set");
	CHECK(!tok("{\"token\":\"a b\"}", &e));
	CHECK(!tok("{\"token\":\"a\\u0000b\"}", &e));
	/* not NUL-terminated: only len bytes are read */
	const char body[] = "{\"token\":\"abc\"}garbage";
	memset(&e, 0, sizeof(e));
	char *t = reg_token_parse(body, 15, &e);
	CHECK_STREQ(t, "abc");
	free(t);
}

static void test_descriptor_without_mediatype(void)
{
	const char *doc = "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:"
			  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
			  "\"size\":1},\"layers\":[{\"digest\":\"sha256:"
			  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
			  "\"size\":2}]}";
	img_manifest m;
	berr e = {0};
	CHECK(manifest_parse(doc, strlen(doc), NULL, &m, &e) == 0);
	CHECK(!m.config.media_type && m.n_layers == 1 && !m.layers[0].media_type);
	CHECK(mt_layer_compression(m.layers[0].media_type) == -1);
	char *again = manifest_build_oci(&m.config, m.layers, m.n_layers);
	CHECK(again != NULL);
	img_manifest m2;
	int r = manifest_parse(again, strlen(again), NULL, &m2, &e);
	free(again);
	CHECK(r == 0);
	CHECK_STREQ(m2.layers[0].digest.s, m.layers[0].digest.s);
	manifest_free(&m2);
	manifest_free(&m);
}

CHECK_MAIN(test_token_answers, test_token_refused, test_descriptor_without_mediatype)
