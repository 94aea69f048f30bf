#include "registry/client.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

#define USER_AGENT "berth/0.1"

reg_client *reg_client_new(img_store *s, const char *domain, const reg_opts *o, bool want_creds,
			   berr *e)
{
	(void)e;
	reg_client *c = xzalloc(sizeof(*c));
	c->domain = xstrdup(domain);
	c->host = xstrdup(!strcmp(domain, "docker.io") ? "registry-1.docker.io" : domain);
	int tv = o ? o->tls_verify : -1;
	c->insecure = tv == 0 || (tv < 0 && registry_insecure(s ? store_root(s) : NULL, domain));
	c->verify = !c->insecure;
	c->stall_s = o && o->stall_timeout > 0 ? o->stall_timeout : REG_STALL_S;
	if (want_creds && o && o->user) {
		c->user = xstrdup(o->user);
		c->pass = xstrdup(o->pass ? o->pass : "");
	} else if (want_creds) {
		_cleanup_free_ char *f = auth_file_path(o ? o->auth_file : NULL);
		auth_lookup(f, domain, &c->user, &c->pass);
	}
	return c;
}

void reg_client_free(reg_client *c)
{
	if (!c)
		return;
	free(c->domain);
	free(c->host);
	free(c->user);
	free(c->pass);
	free(c->token_scope);
	free(c->auth);
	free(c);
}

void reg_resp_free(reg_resp *r)
{
	free(r->body);
	free(r->content_type);
	free(r->digest);
	free(r->location);
	free(r->www_auth);
	memset(r, 0, sizeof(*r));
}

char *reg_url(reg_client *c, const char *path)
{
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
		return xstrdup(path);
	return xasprintf("%s://%s%s", c->scheme == 2 ? "http" : "https", c->host, path);
}

void reg_setup(reg_client *c, CURL *h, struct curl_slist **hdrs)
{
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* abort a stalled transfer: < 1 byte/s for stall_s seconds */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->stall_s);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
	if (c->auth)
		*hdrs = curl_slist_append(*hdrs, c->auth);
}

static char *trim_dup(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	return xstrndup(p, n);
}

size_t reg_header_cb(char *buf, size_t size, size_t n, void *ctx)
{
	reg_resp *r = ctx;
	size_t len = size * n;
	if (len > REG_MAX_HEADER) {
		r->header_long = true;
		return 0;
	}
	r->hdr_bytes += len;
	if (r->hdr_bytes > REG_MAX_HEADERS) { /* headers that never end */
		r->headers_big = true;
		return 0;
	}
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) { /* a new response (redirect) */
		free(r->content_type);
		free(r->digest);
		free(r->www_auth);
		r->content_type = r->digest = r->www_auth = NULL;
		r->content_length = -1;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t klen = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vlen = len - klen - 1;
	char **slot = NULL;
	if (klen == 12 && !strncasecmp(buf, "Content-Type", 12))
		slot = &r->content_type;
	else if (klen == 21 && !strncasecmp(buf, "Docker-Content-Digest", 21))
		slot = &r->digest;
	else if (klen == 8 && !strncasecmp(buf, "Location", 8))
		slot = &r->location;
	else if (klen == 16 && !strncasecmp(buf, "WWW-Authenticate", 16))
		slot = &r->www_auth;
	else if (klen == 14 && !strncasecmp(buf, "Content-Length", 14)) {
		_cleanup_free_ char *s = trim_dup(v, vlen);
		r->content_length = strtoll(s, NULL, 10);
	}
	if (slot) {
		free(*slot);
		*slot = trim_dup(v, vlen);
	}
	return len;
}

static size_t body_cb(char *buf, size_t size, size_t n, void *ctx)
{
	reg_resp *r = ctx;
	size_t len = size * n;
	if (r->content_length > REG_MAX_BODY || (long long)(r->len + len) > REG_MAX_BODY) {
		r->too_big = true;
		return 0;
	}
	if (r->len + len + 1 > r->cap) { /* doubling: no quadratic copying */
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + len + 1)
			cap *= 2;
		r->body = xrealloc(r->body, cap);
		r->cap = cap;
	}
	memcpy(r->body + r->len, buf, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t fd_read_cb(char *buf, size_t size, size_t n, void *ctx)
{
	int fd = *(int *)ctx;
	ssize_t r;
	do
		r = read(fd, buf, size * n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
}

typedef struct membody {
	const char *p;
	size_t left;
} membody;

static size_t mem_read_cb(char *buf, size_t size, size_t n, void *ctx)
{
	membody *m = ctx;
	size_t k = size * n < m->left ? size * n : m->left;
	memcpy(buf, m->p, k);
	m->p += k;
	m->left -= k;
	return k;
}

/* One transfer; returns the CURLcode. */
static CURLcode perform(reg_client *c, const char *method, const char *url, const char *accept,
			const char *content_type, const void *body, size_t blen, int body_fd,
			long long body_size, const char *userpwd, reg_resp *r)
{
	CURL *h = curl_easy_init();
	if (!h)
		abort();
	struct curl_slist *hdrs = NULL;
	reg_setup(c, h, &hdrs);
	if (userpwd) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	_cleanup_free_ char *acc = accept ? xasprintf("Accept: %s", accept) : NULL;
	_cleanup_free_ char *ct = content_type ? xasprintf("Content-Type: %s", content_type) : NULL;
	if (acc)
		hdrs = curl_slist_append(hdrs, acc);
	if (ct)
		hdrs = curl_slist_append(hdrs, ct);
	membody mb = {body, blen};
	int fd = body_fd;
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		if (strcmp(method, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body_fd >= 0) {
			curl_easy_setopt(h, CURLOPT_READFUNCTION, fd_read_cb);
			curl_easy_setopt(h, CURLOPT_READDATA, &fd);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_size);
		} else {
			curl_easy_setopt(h, CURLOPT_READFUNCTION, mem_read_cb);
			curl_easy_setopt(h, CURLOPT_READDATA, &mb);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)blen);
		}
		hdrs = curl_slist_append(hdrs, "Expect:");
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? blen : 0));
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, reg_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return rc;
}

/* Fetch a bearer token for the challenge. */
static int get_token(reg_client *c, const www_auth *w, const char *scope, berr *e)
{
	if (!w->realm)
		return berr_set(e, EPROTO, "%s: bearer challenge without realm", c->domain);
	CURL *esc = curl_easy_init();
	const char *sc = w->scope ? w->scope : scope;
	char *s1 = w->service ? curl_easy_escape(esc, w->service, 0) : NULL;
	char *s2 = sc ? curl_easy_escape(esc, sc, 0) : NULL;
	_cleanup_free_ char *url = xasprintf(
	    "%s%s%s%s%s%s", w->realm, strchr(w->realm, '?') ? "&" : "?", s1 ? "service=" : "",
	    s1 ? s1 : "", s2 ? (s1 ? "&scope=" : "scope=") : "", s2 ? s2 : "");
	curl_free(s1);
	curl_free(s2);
	curl_easy_cleanup(esc);
	_cleanup_free_ char *up = c->user ? xasprintf("%s:%s", c->user, c->pass) : NULL;
	reg_resp r = {0};
	/* the token endpoint is its own server: no registry Authorization */
	char *saved = c->auth;
	c->auth = NULL;
	CURLcode rc = perform(c, "GET", url, NULL, NULL, NULL, 0, -1, 0, up, &r);
	c->auth = saved;
	int ret = -1;
	char *tok = NULL;
	if (rc != CURLE_OK) {
		_cleanup_free_ char *what = xasprintf("get token from %s", w->realm);
		reg_transfer_error(c, NULL, what, rc, &r, e);
		goto out;
	}
	if (r.status == 401 || r.status == 403) {
		berr_set(e, EACCES, "%s: authentication failed (%ld from the token server)",
			 c->domain, r.status);
		goto out;
	}
	if (r.status != 200) {
		berr_set(e, EPROTO, "get token from %s: status %ld, no token in the answer",
			 w->realm, r.status);
		goto out;
	}
	tok = reg_token_parse(r.body ? r.body : "", r.body ? r.len : 0, e);
	if (!tok) {
		berr_ctx(e, "get token from %s", w->realm);
		goto out;
	}
	free(c->auth);
	c->auth = xasprintf("Authorization: Bearer %s", tok);
	free(c->token_scope);
	c->token_scope = scope ? xstrdup(scope) : NULL;
	ret = 0;
out:
	free(tok);
	reg_resp_free(&r);
	return ret;
}

static bool fallback_error(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR ||
	       rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SEND_ERROR;
}

static int answer_challenge(reg_client *c, const reg_resp *r, const char *scope, berr *e)
{
	www_auth w;
	if (!r->www_auth || www_auth_parse(r->www_auth, &w) < 0)
		return berr_set(e, EACCES, "%s: unauthorized (no usable WWW-Authenticate)",
				c->domain);
	int ret = 0;
	if (w.bearer) {
		ret = get_token(c, &w, scope, e);
	} else if (!c->user) {
		ret = berr_set(e, EACCES, "%s: authentication required: run berth login %s",
			       c->domain, c->domain);
	} else {
		_cleanup_free_ char *up = xasprintf("%s:%s", c->user, c->pass);
		_cleanup_free_ char *enc = b64_encode(up, strlen(up));
		free(c->auth);
		c->auth = xasprintf("Authorization: Basic %s", enc);
	}
	www_auth_free(&w);
	return ret;
}

int reg_request(reg_client *c, const char *method, const char *path, const char *scope,
		const char *accept, const char *content_type, const void *body, size_t blen,
		int body_fd, long long body_size, reg_resp *r, berr *e)
{
	memset(r, 0, sizeof(*r));
	off_t start = body_fd >= 0 ? lseek(body_fd, 0, SEEK_CUR) : 0;
	/* a token for another scope would only earn a 401 */
	if (scope && c->token_scope && strcmp(scope, c->token_scope) && c->auth &&
	    !strncmp(c->auth, "Authorization: Bearer", 21)) {
		free(c->auth);
		c->auth = NULL;
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		if (c->scheme == 0)
			c->scheme = 1;
		_cleanup_free_ char *url = reg_url(c, path);
		if (body_fd >= 0 && lseek(body_fd, start, SEEK_SET) < 0) {
			reg_resp_free(r);
			return berr_sys(e, "seek");
		}
		reg_resp_free(r);
		CURLcode rc = perform(c, method, url, accept, content_type, body, blen, body_fd,
				      body_size, NULL, r);
		if (rc != CURLE_OK) {
			if (c->insecure && c->scheme == 1 && fallback_error(rc) &&
			    strncmp(path, "http", 4)) {
				c->scheme = 2; /* insecure registry: try plain HTTP */
				continue;
			}
			reg_transfer_error(c, method, url, rc, r, e);
			reg_resp_free(r);
			return -1;
		}
		if (r->status == 401 && attempt < 3) {
			if (answer_challenge(c, r, scope, e) < 0) {
				reg_resp_free(r);
				return -1;
			}
			continue;
		}
		return 0;
	}
	return 0;
}

int reg_transfer_error(reg_client *c, const char *method, const char *url, CURLcode rc,
		       const reg_resp *r, berr *e)
{
	const char *sp = method ? " " : "";
	method = method ? method : "";
	if (r && r->too_big)
		return berr_set(e, EFBIG, "%s%s%s: the answer is over berth's limit of %lld MiB",
				method, sp, url, REG_MAX_BODY >> 20);
	/* libcurl 7.88 fails a header line over its 100 KiB with "Out of memory" */
	if ((r && r->header_long) || rc == CURLE_OUT_OF_MEMORY)
		return berr_set(e, EFBIG,
				"%s%s%s: a response header line is over berth's limit of %d KiB",
				method, sp, url, REG_MAX_HEADER >> 10);
	if (r && r->headers_big)
		return berr_set(e, EFBIG,
				"%s%s%s: the response headers are over berth's limit of %d KiB",
				method, sp, url, REG_MAX_HEADERS >> 10);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return berr_set(e, ETIMEDOUT, "%s%s%s: stalled: under 1 byte/s for %ld s", method,
				sp, url, c->stall_s);
	return berr_set(e, EIO, "%s%s%s: %s", method, sp, url, curl_easy_strerror(rc));
}

int reg_status_error(reg_client *c, const char *what, const reg_resp *r, berr *e)
{
	(void)c;
	json_object *o = r->body ? json_tokener_parse(r->body) : NULL, *errs;
	const char *code = NULL, *msg = NULL;
	if (o && json_object_object_get_ex(o, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0) {
		json_object *e0 = json_object_array_get_idx(errs, 0), *v;
		if (json_object_object_get_ex(e0, "code", &v))
			code = json_object_get_string(v);
		if (json_object_object_get_ex(e0, "message", &v))
			msg = json_object_get_string(v);
	}
	int errnum = r->status == 404			      ? ENOENT
		     : (r->status == 401 || r->status == 403) ? EACCES
							      : EIO;
	berr_set(e, errnum, "%s: %ld%s%s%s%s", what, r->status, code ? " " : "", code ? code : "",
		 msg ? ": " : "", msg ? msg : "");
	json_object_put(o);
	return -1;
}

int reg_authenticate(reg_client *c, const char *scope, berr *e)
{
	if (c->auth && (!scope || (c->token_scope && !strcmp(scope, c->token_scope))))
		return 0;
	reg_resp r;
	if (reg_request(c, "GET", "/v2/", scope, NULL, NULL, NULL, 0, -1, 0, &r, e) < 0)
		return -1;
	int ret = 0;
	if (r.status == 401 || r.status == 403)
		ret = reg_status_error(c, "authenticate", &r, e);
	reg_resp_free(&r);
	return ret;
}
