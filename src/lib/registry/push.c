/* berth push: blobs (HEAD to skip what the registry has, then POST + a
 * monolithic PUT), then the manifest, byte for byte as stored, so its
 * digest is the local one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/manifest.h"
#include "registry/client.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void progress(const reg_opts *o, const char *d, const char *st, unsigned long long n)
{
	if (o && o->progress)
		o->progress(o->progress_ctx, d, st, n, n);
}

/* The repository on the same registry this image came from (for a
 * cross-repository mount), or NULL. */
static char *mount_source(const img_image *im, const img_ref *dest)
{
	for (size_t i = 0; im->rec.repo_digests && im->rec.repo_digests[i]; i++) {
		img_ref r;
		berr pe;
		if (ref_parse(im->rec.repo_digests[i], NULL, &r, &pe) < 0)
			continue;
		char *src = NULL;
		if (!strcmp(r.domain, dest->domain) && strcmp(r.path, dest->path))
			src = xstrdup(r.path);
		ref_free(&r);
		if (src)
			return src;
	}
	return NULL;
}

static int push_blob(img_store *s, reg_client *c, const char *path, const char *scope,
		     const char *digest, const char *from, const reg_opts *o, berr *e)
{
	_cleanup_free_ char *p = xasprintf("/v2/%s/blobs/%s", path, digest);
	reg_resp r;
	if (reg_request(c, "HEAD", p, scope, NULL, NULL, NULL, 0, -1, 0, &r, e) < 0)
		return -1;
	long st = r.status;
	reg_resp_free(&r);
	if (st == 200) {
		progress(o, digest, "Layer already exists", 0);
		return 0;
	}
	/* Try a cross-repository mount first: 201 means done, 202 is a plain
	 * upload session (the registry could not or would not mount). */
	_cleanup_free_ char *up =
	    from ? xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", path, digest, from)
		 : xasprintf("/v2/%s/blobs/uploads/", path);
	if (reg_request(c, "POST", up, scope, NULL, NULL, NULL, 0, -1, 0, &r, e) < 0)
		return -1;
	if (from && r.status == 201) {
		reg_resp_free(&r);
		_cleanup_free_ char *st2 = xasprintf("Mounted from %s", from);
		progress(o, digest, st2, 0);
		return 0;
	}
	if (r.status != 202 || !r.location) {
		_cleanup_free_ char *what = xasprintf("start upload of %s", digest);
		reg_status_error(c, what, &r, e);
		reg_resp_free(&r);
		return -1;
	}
	_cleanup_free_ char *loc = xasprintf("%s%sdigest=sha256%%3A%s", r.location,
					     strchr(r.location, '?') ? "&" : "?", dg_hex(digest));
	reg_resp_free(&r);
	_cleanup_close_ int fd = store_blob_open(s, digest, e);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return fd < 0 ? -1 : berr_sys(e, "stat blob %s", digest);
	progress(o, digest, "Pushing", 0);
	if (reg_request(c, "PUT", loc, scope, NULL, "application/octet-stream", NULL, 0, fd,
			sb.st_size, &r, e) < 0)
		return -1;
	int ret = 0;
	if (r.status != 201 && r.status != 204) {
		_cleanup_free_ char *what = xasprintf("upload %s", digest);
		ret = reg_status_error(c, what, &r, e);
	} else {
		progress(o, digest, "Pushed", (unsigned long long)sb.st_size);
	}
	reg_resp_free(&r);
	return ret;
}

int registry_push(img_store *s, const char *src, const char *dest, const reg_opts *o,
		  dg_str *digest, berr *e)
{
	img_image im;
	if (image_resolve(s, src, &im, e) < 0)
		return -1;
	img_ref ref;
	if (image_normalize(s, dest ? dest : src, &ref, e) < 0) {
		image_free(&im);
		return -1;
	}
	int ret = -1;
	reg_client *c = reg_client_new(s, ref.domain, o, true, e);
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull,push", ref.path);
	_cleanup_free_ char *mbuf = NULL, *mp = NULL, *from = NULL;
	size_t mlen;
	if (!ref.tag) {
		berr_set(e, EINVAL, "push %s: the destination needs a tag", dest ? dest : src);
		goto out;
	}
	from = mount_source(&im, &ref);
	for (size_t i = 0; i < im.rec.n_layers; i++)
		if (push_blob(s, c, ref.path, scope, im.rec.layers[i].digest.s, from, o, e) < 0)
			goto fail;
	if (push_blob(s, c, ref.path, scope, im.rec.id.s, from, o, e) < 0 ||
	    store_blob_read(s, im.rec.manifest.s, &mbuf, &mlen, e) < 0)
		goto fail;
	mp = xasprintf("/v2/%s/manifests/%s", ref.path, ref.tag);
	reg_resp r;
	if (reg_request(c, "PUT", mp, scope, NULL,
			im.rec.manifest_mt ? im.rec.manifest_mt : MT_OCI_MANIFEST, mbuf, mlen, -1,
			0, &r, e) < 0)
		goto fail;
	if (r.status != 201 && r.status != 200) {
		reg_status_error(c, "put manifest", &r, e);
		reg_resp_free(&r);
		goto fail;
	}
	reg_resp_free(&r);
	if (digest)
		*digest = im.rec.manifest;
	ret = 0;
	goto out;
fail:
	berr_ctx(e, "push %s", dest ? dest : src);
out:
	reg_client_free(c);
	ref_free(&ref);
	image_free(&im);
	return ret;
}

int registry_login(img_store *s, const char *host, const char *user, const char *pass,
		   const reg_opts *o, berr *e)
{
	const char *domain = !strcmp(host, "index.docker.io") ? "docker.io" : host;
	reg_client *c = reg_client_new(s, domain, o, false, e);
	c->user = xstrdup(user);
	c->pass = xstrdup(pass);
	reg_resp r;
	int ret = reg_request(c, "GET", "/v2/", NULL, NULL, NULL, NULL, 0, -1, 0, &r, e);
	if (ret == 0 && r.status != 200)
		ret = r.status == 401 ? berr_set(e, EACCES,
						 "login %s: unauthorized: incorrect "
						 "username or password",
						 host)
				      : reg_status_error(c, "login", &r, e);
	reg_resp_free(&r);
	reg_client_free(c);
	if (ret < 0)
		return -1;
	_cleanup_free_ char *f = auth_file_path(o ? o->auth_file : NULL);
	return auth_store(f, domain, user, pass, e);
}

int registry_logout(const char *host, const reg_opts *o, berr *e)
{
	_cleanup_free_ char *f = auth_file_path(o ? o->auth_file : NULL);
	const char *domain = !strcmp(host, "index.docker.io") ? "docker.io" : host;
	return auth_remove(f, domain, e);
}
