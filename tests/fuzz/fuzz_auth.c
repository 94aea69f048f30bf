/* What a registry (or anyone between it and us) says about authentication:
 * WWW-Authenticate challenges (www_auth_parse), response header lines as
 * libcurl hands them over (reg_header_cb: one line at a time, not
 * NUL-terminated), the token server's JSON answer (reg_token_parse) and the
 * base64 of stored credentials (b64_decode, and b64 round trips). */
#include "fuzz.h"
#include "registry/client.h"
#include "registry/registry.h"
#include "util/cleanup.h"

static void headers(const uint8_t *data, size_t size)
{
	reg_resp r = {0};
	r.content_length = -1;
	size_t i = 0;
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
		/* an exact-size heap copy, so ASan sees any read past the line */
		char *line = xmalloc(n);
		memcpy(line, data + i, n);
		if (reg_header_cb(line, 1, n, &r) != n)
			fuzz_die("reg_header_cb did not consume the line", NULL);
		free(line);
		i += n;
	}
	if (r.www_auth) {
		www_auth w;
		if (www_auth_parse(r.www_auth, &w) == 0)
			www_auth_free(&w);
	}
	reg_resp_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_cstr(data, size);
	www_auth w;
	if (www_auth_parse(s, &w) == 0) {
		if (w.bearer == w.basic)
			fuzz_die("challenge both or neither bearer and basic", NULL);
		www_auth_free(&w);
	}
	size_t dlen;
	free(b64_decode(s, &dlen));
	_cleanup_free_ char *enc = b64_encode(data, size);
	_cleanup_free_ char *dec = b64_decode(enc, &dlen);
	if (!dec || dlen != size || memcmp(dec, data, size))
		fuzz_die("b64_decode(b64_encode(x)) != x", NULL);
	headers(data, size);
	berr e = {0};
	char *tok = reg_token_parse((const char *)data, size, &e);
	if (!tok && !e.msg[0])
		fuzz_die("reg_token_parse failed without a message", &e);
	free(tok);
	return 0;
}
