/* berth pull: manifest (list) -> config and layer blobs, up to 3 at once
 * with curl multi, each verified while it streams into a resumable partial
 * file of the store -> unpack -> index. */
#include <errno.h>
#include <pthread.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "image/config.h"
#include "image/image.h"
#include "image/manifest.h"
#include "registry/client.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define ERRBODY_MAX 4096

typedef struct dl {
	dg_str digest;
	dg_str diff_id; /* layers: what the unpacker checks */
	long long size; /* from the descriptor: the blob has exactly this many bytes */
	blob_writer *w;
	CURL *h;
	struct curl_slist *hdrs;
	reg_resp resp;
	long status;
	bool checked, done, ranged;
	berr err;
	bool failed;
	bool bad;		  /* the content is wrong: keep no partial file */
	bool prefix;		  /* a transfer resumed a partial file */
	unsigned long long start; /* bytes in the file when this transfer began */
	unsigned long long got;	  /* bytes in the file */
	char *errbody;
	size_t errlen;
	const reg_opts *o;
	int retries;  /* 416 restarts */
	int resumes;  /* transport failures resumed */
	int restarts; /* digest mismatches after a resume, retried from byte 0 */
} dl;

static void progress(const reg_opts *o, const char *d, const char *st, unsigned long long done,
		     unsigned long long total)
{
	if (o && o->progress)
		o->progress(o->progress_ctx, d, st, done, total);
}

static size_t dl_fail(dl *d, bool bad)
{
	d->failed = true;
	d->bad = d->bad || bad;
	return 0;
}

static size_t dl_write(char *buf, size_t size, size_t n, void *ctx)
{
	dl *d = ctx;
	size_t len = size * n;
	if (!d->checked) {
		d->checked = true;
		curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &d->status);
		if (d->status == 200 && d->ranged) { /* server ignored Range */
			if (blob_restart(d->w, &d->err) < 0)
				return dl_fail(d, true);
			d->start = d->got = 0;
		}
		curl_off_t cl = -1;
		curl_easy_getinfo(d->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (d->status < 300 && cl >= 0 &&
		    d->got + (unsigned long long)cl > (unsigned long long)d->size) {
			berr_set(&d->err, EFBIG,
				 "blob %s: the registry sends %llu bytes, its descriptor declares "
				 "%lld",
				 d->digest.s, d->got + (unsigned long long)cl, d->size);
			return dl_fail(d, true);
		}
	}
	if (d->status >= 300) {
		size_t k = len < ERRBODY_MAX - d->errlen ? len : ERRBODY_MAX - d->errlen;
		d->errbody = xrealloc(d->errbody, d->errlen + k + 1);
		memcpy(d->errbody + d->errlen, buf, k);
		d->errlen += k;
		d->errbody[d->errlen] = '\0';
		return len;
	}
	/* never more than the descriptor's size: a blob that does not end
	 * would fill the disk */
	if (d->got + len > (unsigned long long)d->size) {
		berr_set(&d->err, EFBIG,
			 "blob %s: more data than the %lld bytes its descriptor declares",
			 d->digest.s, d->size);
		return dl_fail(d, true);
	}
	if (blob_write(d->w, buf, len, &d->err) < 0) {
		berr_ctx(&d->err, "blob %s", d->digest.s);
		return dl_fail(d, true); /* ENOSPC: a partial file would keep the disk full */
	}
	d->got += len;
	return len;
}

static int dl_xfer(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		   curl_off_t ulnow)
{
	(void)dltotal;
	(void)ultotal;
	(void)ulnow;
	dl *d = ctx;
	progress(d->o, d->digest.s, "Downloading", d->start + (unsigned long long)dlnow,
		 (unsigned long long)d->size);
	return 0;
}

static void dl_cleanup_handle(dl *d)
{
	if (d->h)
		curl_easy_cleanup(d->h);
	d->h = NULL;
	curl_slist_free_all(d->hdrs);
	d->hdrs = NULL;
	reg_resp_free(&d->resp);
	free(d->errbody);
	d->errbody = NULL;
	d->errlen = 0;
	d->checked = false;
	d->status = 0;
	d->failed = false;
}

/* Set up the transfer for d (resuming from the partial file). */
static int dl_start(reg_client *c, const char *path, dl *d, berr *e)
{
	(void)e;
	_cleanup_free_ char *p = xasprintf("/v2/%s/blobs/%s", path, d->digest.s);
	_cleanup_free_ char *url = reg_url(c, p);
	d->h = curl_easy_init();
	if (!d->h)
		abort();
	reg_setup(c, d->h, &d->hdrs);
	curl_easy_setopt(d->h, CURLOPT_URL, url);
	curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, d->hdrs);
	curl_easy_setopt(d->h, CURLOPT_HEADERFUNCTION, reg_header_cb);
	curl_easy_setopt(d->h, CURLOPT_HEADERDATA, &d->resp);
	curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, dl_write);
	curl_easy_setopt(d->h, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->h, CURLOPT_PRIVATE, d);
	if (d->o && d->o->progress) {
		curl_easy_setopt(d->h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(d->h, CURLOPT_XFERINFOFUNCTION, dl_xfer);
		curl_easy_setopt(d->h, CURLOPT_XFERINFODATA, d);
	}
	d->start = d->got;
	d->ranged = d->got > 0;
	d->prefix = d->prefix || d->ranged;
	if (d->ranged) {
		char range[64];
		snprintf(range, sizeof(range), "%llu-", d->got);
		curl_easy_setopt(d->h, CURLOPT_RANGE, range);
	}
	return 0;
}

/* Download the given blobs (skipping those already stored). */
/* ---- the unpacker: layers are unpacked while the next ones download ---- */

typedef struct unpacker {
	img_store *s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	dl **q;
	size_t n, head;
	bool closing;
	bool failed; /* read by the download loop with __atomic_load_n */
	berr err;
	pthread_t th;
	bool started;
} unpacker;

static void *unpacker_main(void *arg)
{
	unpacker *u = arg;
	for (;;) {
		pthread_mutex_lock(&u->mu);
		while (u->head == u->n && !u->closing)
			pthread_cond_wait(&u->cv, &u->mu);
		if (u->head == u->n) {
			pthread_mutex_unlock(&u->mu);
			return NULL;
		}
		dl *d = u->q[u->head++];
		pthread_mutex_unlock(&u->mu);
		if (__atomic_load_n(&u->failed, __ATOMIC_ACQUIRE))
			continue;
		berr e;
		if (store_layer_unpack(u->s, d->digest.s, d->diff_id.s, &e) < 0) {
			u->err = e;
			__atomic_store_n(&u->failed, true, __ATOMIC_RELEASE);
		}
	}
}

static void unpacker_push(void *ctx, dl *d)
{
	unpacker *u = ctx;
	pthread_mutex_lock(&u->mu);
	u->q[u->n++] = d;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

/* Wait for the queued layers; -1 with e if one failed. */
static int unpacker_finish(unpacker *u, berr *e)
{
	if (!u->started)
		return 0;
	pthread_mutex_lock(&u->mu);
	u->closing = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->th, NULL);
	u->started = false;
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u->q);
	u->q = NULL;
	if (u->failed) {
		*e = u->err;
		return -1;
	}
	return 0;
}

static int unpacker_start(unpacker *u, img_store *s, size_t max, berr *e)
{
	memset(u, 0, sizeof(*u));
	u->s = s;
	u->q = xzalloc(sizeof(dl *) * (max ? max : 1));
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	int r = pthread_create(&u->th, NULL, unpacker_main, u);
	if (r) {
		free(u->q);
		return berr_errno(e, r, "pthread_create");
	}
	u->started = true;
	return 0;
}

/* Transport failures worth one resume: the data stopped coming. */
static bool resumable(CURLcode rc)
{
	return rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_PARTIAL_FILE ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING;
}

/* Open d's partial file; an impossible one (longer than the blob) is
 * dropped. */
static int dl_begin(img_store *s, dl *d, berr *e)
{
	d->w = blob_begin(s, d->digest.s, e);
	if (!d->w)
		return -1;
	d->got = blob_done(d->w) ? 0 : blob_offset(d->w);
	if (d->got > 0 && d->got >= (unsigned long long)d->size) {
		if (blob_restart(d->w, e) < 0)
			return -1;
		d->got = 0;
	}
	return 0;
}

/* Queue d's transfer (again). */
static void dl_queue(CURLM *m, reg_client *c, const char *path, dl *d, size_t *active)
{
	dl_cleanup_handle(d);
	dl_start(c, path, d, NULL);
	curl_multi_add_handle(m, d->h);
	(*active)++;
}

/* A finished transfer of d: 1 when it was queued again, 0 when the blob is
 * stored, -1 with e when it failed. */
static int dl_finish(img_store *s, CURLM *m, reg_client *c, const char *path, dl *d, CURLcode rc,
		     size_t *active, berr *e)
{
	if (d->failed) {
		*e = d->err;
		return -1;
	}
	if (rc != CURLE_OK) {
		if (resumable(rc) && d->resumes++ < 1) {
			dl_queue(m, c, path, d, active); /* once, from where it stopped */
			return 1;
		}
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return berr_set(
			    e, ETIMEDOUT,
			    "blob %s: stalled: under 1 byte/s for %ld s at %llu of %lld bytes%s",
			    d->digest.s, c->stall_s, d->got, d->size,
			    d->resumes > 1 ? ", after one resume" : "");
		_cleanup_free_ char *what = xasprintf("fetch blob %s", d->digest.s);
		return reg_transfer_error(c, NULL, what, rc, &d->resp, e);
	}
	if (d->status == 416 && d->retries++ < 1) {
		/* our partial file is no prefix the server knows: restart */
		if (blob_restart(d->w, e) < 0) {
			d->bad = true;
			return -1;
		}
		d->got = 0;
		dl_queue(m, c, path, d, active);
		return 1;
	}
	if (d->status >= 300) {
		reg_resp r = {.status = d->status, .body = d->errbody};
		_cleanup_free_ char *what = xasprintf("fetch blob %s", d->digest.s);
		return reg_status_error(c, what, &r, e);
	}
	if (d->got != (unsigned long long)d->size) {
		d->bad = true;
		return berr_set(e, EIO, "blob %s: %llu bytes, its descriptor declares %lld",
				d->digest.s, d->got, d->size);
	}
	blob_writer *w = d->w;
	d->w = NULL;
	if (blob_commit(w, NULL, e) == 0)
		return 0;
	/* The partial file is gone now. If this download resumed one, its
	 * prefix may be what is wrong (left by another registry): once more
	 * from the start. */
	if (d->prefix && d->restarts++ < 1) {
		d->prefix = false;
		if (dl_begin(s, d, e) < 0)
			return -1;
		d->got = 0;
		dl_queue(m, c, path, d, active);
		return 1;
	}
	d->bad = true;
	return berr_ctx(e, "blob %s", d->digest.s);
}

/* Download the given blobs (skipping those already stored); on_done is
 * called for each blob in the store; a set *stop ends the transfers. */
static int fetch_blobs(img_store *s, reg_client *c, const char *path, dl *v, size_t n,
		       const reg_opts *o, void (*on_done)(void *, dl *), void *ctx, bool *stop,
		       berr *e)
{
	CURLM *m = curl_multi_init();
	if (!m)
		abort();
	size_t next = 0, active = 0;
	int ret = 0;
	bool content_error = false; /* bad data: keep no partial files */
	int maxp = o && o->max_parallel > 0 ? o->max_parallel : 3;
	while ((next < n || active > 0) && ret == 0) {
		if (stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
			ret = berr_set(e, ECANCELED, "stopped: a layer failed to unpack");
			content_error = true; /* a bad image: nothing worth resuming */
			break;
		}
		while (active < (size_t)maxp && next < n) {
			dl *d = &v[next++];
			d->o = o;
			if (dl_begin(s, d, e) < 0) {
				ret = -1;
				break;
			}
			if (blob_done(d->w)) {
				progress(o, d->digest.s, "Already exists",
					 (unsigned long long)d->size, (unsigned long long)d->size);
				blob_commit(d->w, NULL, e);
				d->w = NULL;
				d->done = true;
				if (on_done)
					on_done(ctx, d);
				continue;
			}
			dl_queue(m, c, path, d, &active);
		}
		if (ret < 0)
			break;
		if (active == 0)
			continue;
		int running;
		CURLMcode mc = curl_multi_perform(m, &running);
		if (mc != CURLM_OK) {
			ret = berr_set(e, EIO, "curl: %s", curl_multi_strerror(mc));
			break;
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			dl *d;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
			CURLcode rc = msg->data.result;
			curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &d->status);
			curl_multi_remove_handle(m, d->h);
			active--;
			int r = dl_finish(s, m, c, path, d, rc, &active, e);
			if (r == 1)
				continue;
			if (r < 0) {
				ret = -1;
				content_error = content_error || d->bad;
				progress(o, d->digest.s, "Download failed", d->got,
					 (unsigned long long)d->size);
			} else {
				d->done = true;
				if (on_done)
					on_done(ctx, d);
				progress(o, d->digest.s, "Download complete",
					 (unsigned long long)d->size, (unsigned long long)d->size);
			}
			dl_cleanup_handle(d);
			if (ret < 0)
				break;
		}
		if (ret == 0 && running > 0)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].h) {
			curl_multi_remove_handle(m, v[i].h);
			dl_cleanup_handle(&v[i]);
		}
		/* a later pull resumes a partial file, unless its content is bad */
		if (v[i].w)
			blob_abort(v[i].w, !content_error && !v[i].bad);
		v[i].w = NULL;
	}
	curl_multi_cleanup(m);
	return ret;
}

/* GET a manifest and check it against `want` (a digest, may be NULL). */
static int get_manifest(reg_client *c, const char *path, const char *refpart, const char *want,
			const char *scope, char **body, size_t *len, char **mt, dg_str *dig,
			berr *e)
{
	_cleanup_free_ char *p = xasprintf("/v2/%s/manifests/%s", path, refpart);
	reg_resp r;
	if (reg_request(c, "GET", p, scope, MT_ACCEPT_ALL, NULL, NULL, 0, -1, 0, &r, e) < 0)
		return -1;
	_cleanup_free_ char *what = xasprintf("manifest %s/%s:%s", c->domain, path, refpart);
	if (r.status != 200) {
		reg_status_error(c, what, &r, e);
		if (r.status == 404)
			berr_set(
			    e, ENOENT, "%s/%s%s%s: manifest unknown (not found in the registry)",
			    c->domain, path, strncmp(refpart, "sha256:", 7) ? ":" : "@", refpart);
		reg_resp_free(&r);
		return -1;
	}
	*dig = dg_of_buf(r.body ? r.body : "", r.len);
	if ((want && strcmp(want, dig->s)) ||
	    (r.digest && dg_valid(r.digest) && strcmp(r.digest, dig->s))) {
		berr_set(e, EIO, "%s: digest mismatch: expected %s, content is %s", what,
			 want ? want : r.digest, dig->s);
		reg_resp_free(&r);
		return -1;
	}
	*body = r.body ? r.body : xstrdup("");
	r.body = NULL;
	*len = r.len;
	*mt = r.content_type ? xstrdup(r.content_type) : NULL;
	/* "application/...; charset=utf-8" */
	if (*mt && strchr(*mt, ';'))
		*strchr(*mt, ';') = '\0';
	reg_resp_free(&r);
	return 0;
}

/* Before anything is fetched: sizes that can be true, a layer count an
 * overlay mount can stack. */
static int check_descriptors(const img_manifest *m, const char *name, berr *e)
{
	if (m->n_layers > IMG_MAX_LAYERS)
		return berr_set(
		    e, E2BIG,
		    "%s: the manifest lists %zu layers, over berth's limit of %d (Docker's)", name,
		    m->n_layers, IMG_MAX_LAYERS);
	if (m->config.size < 0 || m->config.size > REG_MAX_BODY)
		return berr_set(
		    e, EFBIG, "%s: config %s: size %lld in the manifest (berth's limit: %lld MiB)",
		    name, m->config.digest.s, m->config.size, REG_MAX_BODY >> 20);
	for (size_t i = 0; i < m->n_layers; i++)
		if (m->layers[i].size < 0)
			return berr_set(e, EINVAL,
					"%s: layer %s: invalid size %lld in the manifest", name,
					m->layers[i].digest.s, m->layers[i].size);
	return 0;
}

typedef struct layer_key {
	const char *digest;
	size_t i;
} layer_key;

static int cmp_key(const void *a, const void *b)
{
	const layer_key *x = a, *y = b;
	int r = strcmp(x->digest, y->digest);
	return r ? r : (x->i > y->i) - (x->i < y->i);
}

/* v[1..] gets each distinct layer once, in manifest order (sorted keys:
 * n log n, not a scan per layer). */
static void queue_layers(const img_manifest *m, const img_config *cfg, dl *v, size_t *nv)
{
	size_t n = m->n_layers;
	layer_key *k = xzalloc(sizeof(*k) * (n ? n : 1));
	bool *first = xzalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		k[i] = (layer_key){m->layers[i].digest.s, i};
	qsort(k, n, sizeof(*k), cmp_key);
	for (size_t i = 0; i < n; i++)
		first[k[i].i] = i == 0 || strcmp(k[i].digest, k[i - 1].digest);
	for (size_t i = 0; i < n; i++) {
		if (!first[i])
			continue;
		v[*nv].digest = m->layers[i].digest;
		strcpy(v[*nv].diff_id.s, cfg->diff_ids[i]);
		v[(*nv)++].size = m->layers[i].size;
	}
	free(k);
	free(first);
}

int registry_pull(img_store *s, const char *refstr, const reg_opts *o, dg_str *id, dg_str *out,
		  berr *e)
{
	img_ref ref;
	if (image_normalize(s, refstr, &ref, e) < 0)
		return -1;
	reg_client *c = reg_client_new(s, ref.domain, o, true, e);
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", ref.path);
	_cleanup_free_ char *name = ref_name(&ref);
	_cleanup_free_ char *tagged = ref_tagged(&ref);
	_cleanup_free_ char *body = NULL, *mt = NULL, *repo_digest = NULL, *cbuf = NULL;
	size_t len, clen;
	img_config cfg = {0};
	unpacker u = {0};
	dg_str top, mdig;
	img_manifest m = {0};
	dl *v = NULL;
	size_t nv = 0;
	int ret = -1;
	bool locked = false;
	if (get_manifest(c, ref.path, ref.digest ? ref.digest : ref.tag, ref.digest, scope, &body,
			 &len, &mt, &top, e) < 0 ||
	    manifest_parse(body, len, mt, &m, e) < 0)
		goto out;
	mdig = top;
	if (m.is_index) {
		int k = manifest_pick(&m, NULL, NULL, e);
		if (k < 0)
			goto out;
		dg_str want = m.manifests[k].digest;
		manifest_free(&m);
		free(body);
		free(mt);
		body = mt = NULL;
		if (get_manifest(c, ref.path, want.s, want.s, scope, &body, &len, &mt, &mdig, e) <
			0 ||
		    manifest_parse(body, len, mt, &m, e) < 0)
			goto out;
		if (m.is_index) {
			berr_set(e, EINVAL, "%s: nested manifest lists are not supported", name);
			goto out;
		}
	}
	if (check_descriptors(&m, name, e) < 0 || store_lock_shared(s, e) < 0)
		goto out;
	locked = true;
	v = xzalloc(sizeof(dl) * (m.n_layers + 1));
	v[nv].digest = m.config.digest;
	v[nv++].size = m.config.size;
	/* the config first: it names the diffIDs the unpacker checks (no
	 * progress lines for it, as Docker: a "Download complete" before a
	 * failing layer read as that layer's) */
	reg_opts co = o ? *o : (reg_opts){0};
	co.progress = NULL;
	if (fetch_blobs(s, c, ref.path, v, 1, &co, NULL, NULL, NULL, e) < 0 ||
	    store_blob_read(s, m.config.digest.s, &cbuf, &clen, e) < 0 ||
	    config_parse(cbuf, clen, &cfg, e) < 0)
		goto out;
	if (cfg.n_diff_ids != m.n_layers) {
		berr_set(e, EINVAL,
			 "image config has %zu rootfs.diff_ids but the manifest lists %zu layers",
			 cfg.n_diff_ids, m.n_layers);
		goto out;
	}
	queue_layers(&m, &cfg, v, &nv);
	if (unpacker_start(&u, s, nv, e) < 0)
		goto out;
	int fr = fetch_blobs(s, c, ref.path, v + 1, nv - 1, o, unpacker_push, &u, &u.failed, e);
	if (unpacker_finish(&u, e) < 0 || fr < 0)
		goto out;
	if (store_blob_put(s, body, len, mdig.s, NULL, e) < 0)
		goto out;
	repo_digest = xasprintf("%s@%s", name, top.s);
	if (image_commit(s, mdig.s, tagged, repo_digest, id, e) < 0)
		goto out;
	for (size_t i = 0; i < m.n_layers; i++)
		progress(o, m.layers[i].digest.s, "Pull complete",
			 (unsigned long long)m.layers[i].size,
			 (unsigned long long)m.layers[i].size);
	if (out)
		*out = top;
	ret = 0;
out:
	if (ret < 0 && e)
		berr_ctx(e, "pull %s", refstr);
	if (locked) {
		store_unlock(s);
		/* drop the blobs this failed pull stored, if no one else is busy */
		if (ret < 0)
			store_gc_if_idle(s);
	}
	berr ig;
	unpacker_finish(&u, &ig);
	config_free(&cfg);
	free(v);
	manifest_free(&m);
	reg_client_free(c);
	ref_free(&ref);
	return ret;
}
