/* The token server's answer to a bearer challenge (Docker's token
 * specification): {"token": "..."} or the OAuth2 spelling
 * {"access_token": "..."}. Split out of get_token() so that it can be tested
 * and fuzzed without a server. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>

#include "registry/registry.h"
#include "util/xalloc.h"

/* A bearer token goes into an HTTP header line: printable ASCII only (no
 * CR, LF or NUL, which \u escapes can put into a JSON string). */
static bool header_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

char *reg_token_parse(const char *body, size_t len, berr *e)
{
	if (!body || len > INT_MAX) {
		berr_set(e, EPROTO, "token answer: %s", body ? "too large" : "empty");
		return NULL;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok) {
		berr_set(e, ENOMEM, "token answer: out of memory");
		return NULL;
	}
	json_object *o = json_tokener_parse_ex(tok, body, (int)len), *t = NULL;
	json_tokener_free(tok);
	char *ret = NULL;
	if (!o || !json_object_is_type(o, json_type_object))
		berr_set(e, EPROTO, "token answer: not a JSON object");
	else if (!(json_object_object_get_ex(o, "token", &t) && t) &&
		 !json_object_object_get_ex(o, "access_token", &t))
		berr_set(e, EPROTO, "token answer: no \"token\" or \"access_token\"");
	else if (!json_object_is_type(t, json_type_string) || !json_object_get_string_len(t))
		berr_set(e, EPROTO, "token answer: token: expected a non-empty string");
	else if (!header_safe(json_object_get_string(t), (size_t)json_object_get_string_len(t)))
		berr_set(e, EPROTO, "token answer: token: characters that cannot go into a header");
	else
		ret = xstrdup(json_object_get_string(t));
	json_object_put(o);
	return ret;
}
