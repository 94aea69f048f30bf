#include "image/reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/digest.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define NAME_MAX_LEN 255

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := alpha-numeric [separator alpha-numeric]*
 * separator := [_.] | __ | [-]+  */
static bool path_component_valid(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n;) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		size_t len = j - i;
		const char *sep = s + i;
		bool ok = (len == 1 && (*sep == '_' || *sep == '.')) ||
			  (len == 2 && sep[0] == '_' && sep[1] == '_');
		if (!ok) {
			ok = true;
			for (size_t k = 0; k < len; k++)
				ok = ok && sep[k] == '-';
		}
		if (!ok)
			return false;
		i = j;
	}
	return true;
}

static bool domain_component_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool domain_valid(const char *d)
{
	const char *port = NULL;
	const char *end = d + strlen(d);
	if (*d == '[') { /* [IPv6]:port */
		const char *close = strchr(d, ']');
		if (!close || close == d + 1)
			return false;
		for (const char *p = d + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		if (close[1] == '\0')
			return true;
		if (close[1] != ':')
			return false;
		port = close + 2;
	} else {
		const char *colon = strchr(d, ':');
		const char *hend = colon ? colon : end;
		const char *p = d;
		while (p < hend) {
			const char *dot = memchr(p, '.', (size_t)(hend - p));
			const char *cend = dot ? dot : hend;
			if (!domain_component_valid(p, (size_t)(cend - p)))
				return false;
			p = dot ? dot + 1 : hend;
			if (dot && p == hend)
				return false;
		}
		if (colon)
			port = colon + 1;
	}
	if (port) {
		if (!*port || strlen(port) > 5)
			return false;
		for (const char *p = port; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	return true;
}

bool ref_tag_valid(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128)
		return false;
	if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

void ref_free(img_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

static int fail(berr *e, const char *s, const char *why)
{
	return berr_set(e, EINVAL, "invalid reference \"%s\": %s", s, why);
}

int ref_parse(const char *s, const char *default_domain, img_ref *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	if (!default_domain || !*default_domain)
		default_domain = REF_DEFAULT_DOMAIN;
	if (!s || !*s)
		return berr_set(e, EINVAL, "invalid reference \"\": empty name");
	_cleanup_free_ char *buf = xstrdup(s);
	char *at = strchr(buf, '@');
	const char *digest = NULL;
	if (at) {
		*at = '\0';
		digest = at + 1;
		berr de;
		if (dg_validate(digest, &de) < 0)
			return fail(e, s, "invalid digest");
	}
	char *lastslash = strrchr(buf, '/');
	char *colon = strrchr(lastslash ? lastslash : buf, ':');
	const char *tag = NULL;
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		if (!ref_tag_valid(tag))
			return fail(e, s, "invalid tag");
	}
	char *name = buf;
	if (!*name)
		return fail(e, s, "empty repository name");
	/* Docker's rule: the first component is a registry when it contains a
	 * '.' or ':', is "localhost", or has upper-case letters. */
	char *slash = strchr(name, '/');
	const char *domain = default_domain;
	char *path = name;
	if (slash) {
		*slash = '\0';
		bool is_domain = strpbrk(name, ".:") || !strcmp(name, "localhost");
		for (const char *p = name; *p && !is_domain; p++)
			is_domain = isupper((unsigned char)*p);
		if (is_domain) {
			domain = name;
			path = slash + 1;
		} else {
			*slash = '/';
		}
	}
	if (domain != default_domain && !domain_valid(domain))
		return fail(e, s, "invalid registry host");
	if (!*path)
		return fail(e, s, "empty repository name");
	for (const char *p = path; *p; p++)
		if (isupper((unsigned char)*p))
			return fail(e, s, "repository name must be lowercase");
	for (const char *p = path;;) {
		const char *sl = strchr(p, '/');
		size_t n = sl ? (size_t)(sl - p) : strlen(p);
		if (!path_component_valid(p, n))
			return fail(e, s, "invalid repository name");
		if (!sl)
			break;
		p = sl + 1;
	}
	if (!strcmp(domain, "index.docker.io"))
		domain = "docker.io";
	bool library = !strcmp(domain, "docker.io") && !strchr(path, '/');
	out->domain = xstrdup(domain);
	out->path = library ? xasprintf("library/%s", path) : xstrdup(path);
	if (strlen(out->domain) + 1 + strlen(out->path) > NAME_MAX_LEN) {
		ref_free(out);
		return fail(e, s, "repository name must not be more than 255 characters");
	}
	out->tag = tag ? xstrdup(tag) : (digest ? NULL : xstrdup("latest"));
	out->digest = digest ? xstrdup(digest) : NULL;
	return 0;
}

char *ref_name(const img_ref *r)
{
	return xasprintf("%s/%s", r->domain, r->path);
}

char *ref_tagged(const img_ref *r)
{
	return r->tag ? xasprintf("%s/%s:%s", r->domain, r->path, r->tag) : NULL;
}

char *ref_string(const img_ref *r)
{
	return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
			 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *ref_familiar(const char *full)
{
	if (!strncmp(full, "docker.io/library/", 18))
		return xstrdup(full + 18);
	if (!strncmp(full, "docker.io/", 10))
		return xstrdup(full + 10);
	return xstrdup(full);
}
