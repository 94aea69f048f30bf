/* A plain HTTP(S) download (ADD of a URL in `berth build`) on the registry
 * client's transport settings (reg_setup: TLS verification, user agent,
 * timeouts, stall detection, http/https only, redirects bounded), streamed
 * into a file with its sha256 computed on the way. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "registry/client.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

typedef struct sink {
	int fd;
	dg_hasher *h;
	unsigned long long n, max;
	bool too_big;
	int err; /* errno of a failed write */
} sink;

static size_t on_data(char *buf, size_t size, size_t nmemb, void *ctx)
{
	sink *s = ctx;
	size_t len = size * nmemb;
	if (s->n + len > s->max) {
		s->too_big = true;
		return 0;
	}
	if (fs_write_all(s->fd, buf, len) < 0) {
		s->err = errno;
		return 0;
	}
	dg_update(s->h, buf, len);
	s->n += len;
	return len;
}

int registry_fetch_url(const char *url, const reg_opts *o, int out_fd, unsigned long long max,
		       reg_fetch *r, berr *e)
{
	*r = (reg_fetch){.mtime = -1};
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return berr_set(e, EINVAL, "%s: only http:// and https:// URLs", url);
	reg_client *c = reg_client_new(NULL, "", o, false, e);
	c->verify = !o || o->tls_verify != 0;
	CURL *h = curl_easy_init();
	if (!h) {
		reg_client_free(c);
		return berr_set(e, ENOMEM, "GET %s: curl_easy_init failed", url);
	}
	struct curl_slist *hdrs = NULL;
	reg_setup(c, h, &hdrs);
	sink s = {.fd = out_fd, .h = dg_new(), .max = max};
	reg_resp resp = {0};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, reg_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
	CURLcode rc = curl_easy_perform(h);
	int ret = -1;
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (s.too_big)
		berr_set(e, EFBIG, "GET %s: larger than %llu bytes", url, max);
	else if (s.err)
		berr_set(e, s.err, "GET %s: write: %s", url, strerror(s.err));
	else if (rc == CURLE_HTTP_RETURNED_ERROR)
		berr_set(e, EIO, "GET %s: HTTP status %ld", url, status);
	else if (rc != CURLE_OK)
		reg_transfer_error(c, "GET", url, rc, &resp, e);
	else
		ret = 0;
	if (ret == 0) {
		curl_off_t ft = -1;
		if (curl_easy_getinfo(h, CURLINFO_FILETIME_T, &ft) == CURLE_OK && ft >= 0)
			r->mtime = (long long)ft;
		r->size = s.n;
		r->digest = dg_final(s.h);
	}
	dg_free(s.h);
	reg_resp_free(&resp);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	reg_client_free(c);
	return ret;
}
