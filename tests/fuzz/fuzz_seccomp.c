/* Seccomp profiles: the input is the text of a linux.seccomp object, parsed
 * inside a config.json as the runtime reads it, then compiled to BPF with
 * libseccomp (in memory: nothing is installed). A profile that parses must
 * also survive the engine's way back to JSON (seccomp_profile_json) and parse
 * again. */
#include "fuzz.h"
#include "seccomp/seccomp.h"
#include "spec/spec.h"
#include "util/cleanup.h"

static const char head[] =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"linux\":{\"seccomp\":";
static const char tail[] = "}}";

static char *wrap(const char *obj, size_t len, size_t *out_len)
{
	*out_len = sizeof(head) - 1 + len + sizeof(tail) - 1;
	char *doc = xmalloc(*out_len + 1);
	memcpy(doc, head, sizeof(head) - 1);
	memcpy(doc + sizeof(head) - 1, obj, len);
	memcpy(doc + sizeof(head) - 1 + len, tail, sizeof(tail));
	return doc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	_cleanup_free_ char *doc = wrap((const char *)data, size, &len);
	berr e = {0};
	spec *s = NULL;
	if (spec_parse(doc, len, "config.json", &s, &e) < 0)
		return 0;
	seccomp_prog p = {0};
	if (seccomp_compile(&s->linux_.seccomp, &p, &e) == 0)
		seccomp_prog_free(&p);
	else if (!e.msg[0])
		fuzz_die("seccomp_compile failed without a message", &e);
	if (s->linux_.seccomp.present) {
		_cleanup_free_ char *txt = seccomp_profile_json(&s->linux_.seccomp);
		size_t l2;
		_cleanup_free_ char *doc2 = wrap(txt, strlen(txt), &l2);
		spec *s2 = NULL;
		if (spec_parse(doc2, l2, "config.json", &s2, &e) < 0)
			fuzz_die("seccomp_profile_json wrote a profile that does not parse", &e);
		spec_free(s2);
	}
	spec_free(s);
	return 0;
}
