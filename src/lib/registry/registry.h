/* Registry client (OCI distribution spec / Docker registry v2) over libcurl.
 *
 * Transport: HTTPS with certificate verification, unless the registry is
 * "insecure": then HTTPS without verification is tried first and plain HTTP
 * after it (as Docker does). A registry is insecure when
 *   - the caller passes tls_verify = 0 (--tls-verify=false), or
 *   - it is listed in <root>/registries.json:
 *         {"default_registry": "docker.io",
 *          "insecure": ["myreg.local:5000", "10.0.0.5"]}
 *   - or it is localhost / 127.0.0.0/8 / [::1] (Docker's default), unless
 *     tls_verify = 1 is passed explicitly.
 *
 * Auth: bearer tokens as Docker Hub does it (WWW-Authenticate: Bearer
 * realm/service/scope, token fetched with basic credentials when we have
 * some) and plain basic auth. Credentials come from Docker's config.json
 * format ({"auths": {"host": {"auth": base64("user:pass")}}}) in
 * $REGISTRY_AUTH_FILE if set, else $DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json; `berth login` writes to the same file it would read. */
#pragma once

#include <stdbool.h>

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"

/* Progress of one blob: `status` is "Downloading", "Download complete",
 * "Download failed", "Already exists", "Pushing", "Pushed", "Layer already
 * exists", "Extracting", "Pull complete". total may be 0 when unknown. */
typedef void (*reg_progress_fn)(void *ctx, const char *digest, const char *status,
				unsigned long long done, unsigned long long total);

typedef struct reg_opts {
	int tls_verify;	       /* -1: per registries.json/localhost rule, 0: off, 1: on */
	const char *auth_file; /* NULL: the lookup above */
	/* credentials given by the caller (the API's X-Registry-Auth): used
	 * instead of the auth file's when user is set */
	const char *user, *pass;
	reg_progress_fn progress; /* may be NULL */
	void *progress_ctx;
	int max_parallel; /* blob downloads at once, 0: 3 */
	/* A transfer that receives nothing for this many seconds has stalled
	 * (0: 60); a stalled blob download is resumed once with a Range
	 * request before the pull fails. */
	int stall_timeout;
} reg_opts;

/* Pull `ref` into the store; *id is the image ID, *digest the manifest
 * digest that was pulled (the index digest for a multi-platform image). */
int registry_pull(img_store *s, const char *ref, const reg_opts *o, dg_str *id, dg_str *digest,
		  berr *e);

/* Push local image `src` to `dest` (NULL: src). *digest: manifest digest. */
int registry_push(img_store *s, const char *src, const char *dest, const reg_opts *o,
		  dg_str *digest, berr *e);

/* GET url (http or https, on the registry client's transport: o's
 * tls_verify 0 turns verification off, stall_timeout applies) into out_fd,
 * at most max bytes (fetch.c, for ADD of a URL). */
typedef struct reg_fetch {
	unsigned long long size;
	dg_str digest;	 /* sha256 of the body */
	long long mtime; /* Last-Modified, -1 without one */
} reg_fetch;
int registry_fetch_url(const char *url, const reg_opts *o, int out_fd, unsigned long long max,
		       reg_fetch *r, berr *e);

/* Check the credentials against the registry, then store them. */
int registry_login(img_store *s, const char *host, const char *user, const char *pass,
		   const reg_opts *o, berr *e);
/* Remove stored credentials (ENOENT if there were none). */
int registry_logout(const char *host, const reg_opts *o, berr *e);

/* ---- building blocks, exposed for tests ---- */

/* The auth file path used for reading and writing (malloc'ed). */
char *auth_file_path(const char *override);
/* Credentials for a registry host from the auth file: 0 found, -1 none. */
int auth_lookup(const char *file, const char *host, char **user, char **pass);
int auth_store(const char *file, const char *host, const char *user, const char *pass, berr *e);
int auth_remove(const char *file, const char *host, berr *e);

/* WWW-Authenticate: `Bearer realm="...",service="...",scope="..."` or
 * `Basic realm="..."`. */
typedef struct www_auth {
	bool bearer, basic;
	char *realm, *service, *scope;
} www_auth;
int www_auth_parse(const char *header, www_auth *out);
void www_auth_free(www_auth *w);

/* The bearer token from a token server's JSON answer ("token", else
 * "access_token"; a non-empty header-safe string), malloc'ed; NULL and e
 * naming what is wrong otherwise. */
char *reg_token_parse(const char *body, size_t len, berr *e);

char *b64_encode(const void *buf, size_t len);
/* Returns malloc'ed NUL-terminated data or NULL if invalid. */
char *b64_decode(const char *s, size_t *len);

/* Is the host insecure per registries.json (root may be NULL) or the
 * localhost rule? */
bool registry_insecure(const char *root, const char *host);
