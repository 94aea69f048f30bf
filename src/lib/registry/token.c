/* The token server's answer to a bearer challenge (Docker's token
 * specification): {"token": "..."} or the OAuth2 spelling
 * {"access_token": "..."}. Split out of get_token() so that it can be tested
 * and fuzzed without a server. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>

#include "registry/client.h"
#include "registry/registry.h"
#include "util/xalloc.h"

/* A bearer token goes into an HTTP header line ("Authorization: Bearer
 * TOKEN"): RFC 7235's token68, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
 * "+" / "/" ) *"=", so no CR, LF, NUL or space (which \u escapes can put
 * into a JSON string) can add a header. */
static bool token68(const char *t, size_t len)
{
	size_t n =
	    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
	if (n == 0)
		return false;
	n += strspn(t + n, "=");
	return n == len;
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
	else if ((size_t)json_object_get_string_len(t) > REG_MAX_TOKEN)
		berr_set(e, E2BIG, "token answer: the token is over berth's limit of %d KiB",
			 REG_MAX_TOKEN >> 10);
	else if (!token68(json_object_get_string(t), (size_t)json_object_get_string_len(t)))
		berr_set(e, EPROTO,
			 "token answer: the token has characters outside the token68 set (RFC "
			 "7235), which cannot go into a header");
	else
		ret = xstrdup(json_object_get_string(t));
	json_object_put(o);
	return ret;
}
