/* HTTP plumbing shared by pull, push and login (private to the module). */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>

#include "registry/registry.h"

typedef struct reg_client {
	char *domain; /* as in references: "docker.io" */
	char *host;   /* where to connect: "registry-1.docker.io" */
	bool insecure, verify;
	int scheme; /* 0 unknown, 1 https, 2 http */
	char *user, *pass;
	char *token_scope;
	char *auth;   /* "Authorization: ..." or NULL */
	long stall_s; /* a transfer with no data for this long fails */
} reg_client;

/* berth's limits on what a registry sends (named in the errors). */
#define REG_MAX_BODY   (64ll << 20)	    /* manifests, tokens, error documents */
#define REG_MAX_HEADER CURL_MAX_HTTP_HEADER /* one header line (libcurl's 100 KiB) */
#define REG_MAX_HEADERS                                                                            \
	(256                                                                                       \
	 << 10) /* all header lines of a request, redirects included (under libcurl's 300 KiB) */
#define REG_MAX_TOKEN (64 << 10) /* a bearer token */
#define REG_STALL_S   60	 /* default for reg_opts.stall_timeout */

typedef struct reg_resp {
	long status;
	char *body;
	size_t len;
	char *content_type, *digest, *location, *www_auth;
	long long content_length;
	size_t cap;	  /* allocated for body */
	bool too_big;	  /* the body went over REG_MAX_BODY */
	bool header_long; /* a header line went over REG_MAX_HEADER */
	size_t hdr_bytes; /* header bytes so far (never reset by a redirect) */
	bool headers_big; /* they went over REG_MAX_HEADERS */
} reg_resp;

reg_client *reg_client_new(img_store *s, const char *domain, const reg_opts *o, bool want_creds,
			   berr *e);
void reg_client_free(reg_client *c);
void reg_resp_free(reg_resp *r);

/* scheme://host + path, or path itself when it is an absolute URL. */
char *reg_url(reg_client *c, const char *path);
/* TLS, user agent, timeouts and the current Authorization on an easy handle;
 * *hdrs receives the header list to free after the transfer. */
void reg_setup(reg_client *c, CURL *h, struct curl_slist **hdrs);
/* Header callback filling a reg_resp (status line resets it). */
size_t reg_header_cb(char *buf, size_t size, size_t n, void *ctx);

/* One request with auth challenges answered (Bearer token / Basic) and the
 * https->http fallback for insecure registries. body_fd >= 0 uploads a file
 * of body_size bytes instead of body. Fails only on transport errors: the
 * caller looks at r->status. */
int reg_request(reg_client *c, const char *method, const char *path, const char *scope,
		const char *accept, const char *content_type, const void *body, size_t blen,
		int body_fd, long long body_size, reg_resp *r, berr *e);

/* The message for a failed transfer of `url`: berth's limit when one was
 * hit, the stall time for a timeout, else libcurl's text. */
int reg_transfer_error(reg_client *c, const char *method, const char *url, CURLcode rc,
		       const reg_resp *r, berr *e);

/* "GET url: 404 MANIFEST_UNKNOWN: manifest unknown" from an error response. */
int reg_status_error(reg_client *c, const char *what, const reg_resp *r, berr *e);

/* Make sure a token for `scope` is in place (a GET /v2/ round when needed). */
int reg_authenticate(reg_client *c, const char *scope, berr *e);
