/* Credentials (Docker config.json), WWW-Authenticate parsing, base64 and the
 * registries.json insecure list. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

char *b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out = xmalloc(n / 4 * 3 + 4);
	size_t k = 0;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		const char *c = strchr(b64, s[i]);
		if (!c || !s[i]) {
			free(out);
			return NULL;
		}
		v = (v << 6) | (unsigned)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (char)((v >> bits) & 0xff);
		}
	}
	out[k] = '\0';
	if (len)
		*len = k;
	return out;
}

char *auth_file_path(const char *override)
{
	if (override && *override)
		return xstrdup(override);
	const char *f = getenv("REGISTRY_AUTH_FILE");
	if (f && *f)
		return xstrdup(f);
	const char *d = getenv("DOCKER_CONFIG");
	if (d && *d)
		return xasprintf("%s/config.json", d);
	const char *home = getenv("HOME");
	return xasprintf("%s/.docker/config.json", home && *home ? home : "/root");
}

/* Docker stores Docker Hub under its legacy URL. */
static const char *auth_key(const char *host)
{
	if (!strcmp(host, "docker.io") || !strcmp(host, "registry-1.docker.io") ||
	    !strcmp(host, "index.docker.io"))
		return "https://index.docker.io/v1/";
	return host;
}

static json_object *read_auth(const char *file)
{
	_cleanup_free_ char *buf = NULL;
	berr e;
	if (fs_read_file_at(AT_FDCWD, file, &buf, NULL, &e) < 0)
		return NULL;
	json_object *o = json_tokener_parse(buf);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Entry for host: exact key, or a key that is a URL naming the host. */
static json_object *find_entry(json_object *auths, const char *host)
{
	json_object *v;
	if (json_object_object_get_ex(auths, auth_key(host), &v))
		return v;
	json_object_object_foreach(auths, k, val)
	{
		const char *h = k;
		if (!strncmp(h, "https://", 8))
			h += 8;
		else if (!strncmp(h, "http://", 7))
			h += 7;
		size_t n = strcspn(h, "/");
		if (n == strlen(host) && !strncmp(h, host, n))
			return val;
	}
	return NULL;
}

int auth_lookup(const char *file, const char *host, char **user, char **pass)
{
	*user = *pass = NULL;
	json_object *root = read_auth(file), *auths, *a;
	int ret = -1;
	if (!root || !json_object_object_get_ex(root, "auths", &auths))
		goto out;
	json_object *ent = find_entry(auths, host);
	if (!ent || !json_object_object_get_ex(ent, "auth", &a) ||
	    !json_object_is_type(a, json_type_string))
		goto out;
	char *dec = b64_decode(json_object_get_string(a), NULL);
	char *colon = dec ? strchr(dec, ':') : NULL;
	if (colon) {
		*colon = '\0';
		*user = xstrdup(dec);
		*pass = xstrdup(colon + 1);
		ret = 0;
	}
	free(dec);
out:
	json_object_put(root);
	return ret;
}

static int write_auth(const char *file, json_object *root, berr *e)
{
	_cleanup_free_ char *dir = xstrdup(file);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (fs_mkdir_p(dir, 0700, e) < 0)
			return -1;
	}
	_cleanup_free_ char *d2 = xstrdup(file);
	_cleanup_free_ char *b2 = xstrdup(file);
	const char *dn = dirname(d2), *bn = basename(b2);
	_cleanup_close_ int dfd = open(dn, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "open %s", dn);
	const char *txt = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	return fs_write_atomic_at(dfd, bn, txt, strlen(txt), 0600, true, e);
}

int auth_store(const char *file, const char *host, const char *user, const char *pass, berr *e)
{
	json_object *root = read_auth(file), *auths;
	if (!root)
		root = json_object_new_object();
	if (!json_object_object_get_ex(root, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object)) {
		auths = json_object_new_object();
		json_object_object_add(root, "auths", auths);
	}
	_cleanup_free_ char *up = xasprintf("%s:%s", user, pass);
	_cleanup_free_ char *enc = b64_encode(up, strlen(up));
	json_object *ent = json_object_new_object();
	json_object_object_add(ent, "auth", json_object_new_string(enc));
	json_object_object_add(auths, auth_key(host), ent);
	int r = write_auth(file, root, e);
	json_object_put(root);
	return r;
}

int auth_remove(const char *file, const char *host, berr *e)
{
	json_object *root = read_auth(file), *auths;
	int r = -1;
	if (!root || !json_object_object_get_ex(root, "auths", &auths) ||
	    !json_object_object_get_ex(auths, auth_key(host), NULL)) {
		berr_set(e, ENOENT, "not logged in to %s", host);
		goto out;
	}
	json_object_object_del(auths, auth_key(host));
	r = write_auth(file, root, e);
out:
	json_object_put(root);
	return r;
}

void www_auth_free(www_auth *w)
{
	free(w->realm);
	free(w->service);
	free(w->scope);
	memset(w, 0, sizeof(*w));
}

int www_auth_parse(const char *h, www_auth *w)
{
	memset(w, 0, sizeof(*w));
	while (*h == ' ')
		h++;
	if (!strncasecmp(h, "Bearer", 6) && (h[6] == ' ' || !h[6]))
		w->bearer = true;
	else if (!strncasecmp(h, "Basic", 5) && (h[5] == ' ' || !h[5]))
		w->basic = true;
	else
		return -1;
	const char *p = h + (w->bearer ? 6 : 5);
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *eq = strchr(p, '=');
		if (!eq)
			break;
		_cleanup_free_ char *key = xstrndup(p, (size_t)(eq - p));
		p = eq + 1;
		char *val;
		if (*p == '"') {
			p++;
			char *buf = xmalloc(strlen(p) + 1);
			size_t k = 0;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				buf[k++] = *p++;
			}
			buf[k] = '\0';
			if (*p == '"')
				p++;
			val = buf;
		} else {
			size_t n = strcspn(p, ", ");
			val = xstrndup(p, n);
			p += n;
		}
		for (char *c = key; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		char **slot = !strcmp(key, "realm")	? &w->realm
			      : !strcmp(key, "service") ? &w->service
			      : !strcmp(key, "scope")	? &w->scope
							: NULL;
		if (slot) {
			free(*slot);
			*slot = val;
		} else {
			free(val);
		}
	}
	return 0;
}

bool registry_insecure(const char *root, const char *host)
{
	_cleanup_free_ char *h = xstrdup(host);
	/* strip the port */
	char *colon = h[0] == '[' ? strstr(h, "]:") : strrchr(h, ':');
	if (colon && h[0] == '[')
		colon[1] = '\0';
	else if (colon)
		*colon = '\0';
	if (!strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]"))
		return true;
	if (!root)
		return false;
	_cleanup_free_ char *path = xasprintf("%s/registries.json", root);
	json_object *o = read_auth(path), *list;
	bool r = false;
	if (o && json_object_object_get_ex(o, "insecure", &list) &&
	    json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list) && !r; i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(list, i));
			r = s && (!strcmp(s, host) || !strcmp(s, h));
		}
	json_object_put(o);
	return r;
}
