/* Image archives: import of a root-filesystem tar, save to docker-archive
 * and oci-archive (load: load.c). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/gc.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define BUF_SIZE (1 << 20)

/* Store `buf` as a blob (its hex noted in *wrote) and fill a descriptor. */
static int put_desc(img_store *s, const char *buf, size_t len, const char *mt, img_desc *d,
		    char ***wrote, berr *e)
{
	memset(d, 0, sizeof(*d));
	if (store_blob_put(s, buf, len, NULL, &d->digest, e) < 0)
		return -1;
	strv_push(wrote, dg_hex(d->digest.s));
	d->media_type = xstrdup(mt);
	d->size = (long long)len;
	return 0;
}

/* Store config + manifest for the given layers, then commit the image. */
static int commit_new(img_store *s, const char *config, const img_desc *layers, size_t n,
		      const char *name, dg_str *id, char ***wrote, berr *e)
{
	img_desc cd, md;
	if (put_desc(s, config, strlen(config), MT_OCI_CONFIG, &cd, wrote, e) < 0)
		return -1;
	_cleanup_free_ char *man = manifest_build_oci(&cd, layers, n);
	desc_free(&cd);
	if (put_desc(s, man, strlen(man), MT_OCI_MANIFEST, &md, wrote, e) < 0)
		return -1;
	int r = image_commit(s, md.digest.s, name, NULL, id, e);
	desc_free(&md);
	return r;
}

/* ---- import ---- */

typedef struct gz_sink {
	blob_writer *w;
	berr *e;
	bool failed;
} gz_sink;

static la_ssize_t gz_write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	gz_sink *g = ctx;
	if (blob_write(g->w, buf, n, g->e) < 0) {
		g->failed = true;
		archive_set_error(a, EIO, "%s", g->e->msg);
		return -1;
	}
	return (la_ssize_t)n;
}

/* Recompress a tar stream (any compression) as gzip into a new blob. */
static int gzip_layer(img_store *s, int fd, img_desc *d, dg_str *diff_id, berr *e)
{
	_cleanup_free_ char *tmpname =
	    xasprintf("%s/tmp/import-%d.tar", store_path(s), (int)getpid());
	_cleanup_close_ int raw = open(tmpname, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (raw < 0)
		return berr_sys(e, "create %s", tmpname);
	unlink(tmpname);
	unsigned long long rawsize;
	unsigned long long max;
	if (store_max_layer_size(s, &max, e) < 0 ||
	    unpack_decompress_max(fd, raw, max, diff_id, &rawsize, e) < 0)
		return -1;
	if (rawsize == 0)
		return berr_set(e, EINVAL, "the input is empty, not a tar archive");
	if (lseek(raw, 0, SEEK_SET) < 0)
		return berr_sys(e, "seek");
	blob_writer *w = blob_begin(s, NULL, e);
	if (!w)
		return -1;
	gz_sink g = {.w = w, .e = e};
	struct archive *a = archive_write_new();
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	archive_write_set_bytes_in_last_block(a, 1);
	int ret = -1;
	char *buf = xmalloc(BUF_SIZE);
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, "layer.tar");
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_size(ent, (la_int64_t)rawsize);
	if (archive_write_open(a, &g, NULL, gz_write_cb, NULL) != ARCHIVE_OK ||
	    archive_write_header(a, ent) != ARCHIVE_OK) {
		berr_set(e, EIO, "gzip: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		ssize_t n = read(raw, buf, BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			berr_sys(e, "read");
			goto out;
		}
		if (n == 0)
			break;
		if (archive_write_data(a, buf, (size_t)n) != n) {
			if (!g.failed)
				berr_set(e, EIO, "gzip: %s", archive_error_string(a));
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		if (!g.failed)
			berr_set(e, EIO, "gzip: %s", archive_error_string(a));
		goto out;
	}
	d->size = (long long)blob_offset(w); /* 0: fresh writer, size from commit */
	ret = 0;
out:
	archive_entry_free(ent);
	archive_write_free(a);
	free(buf);
	if (ret < 0) {
		blob_abort(w, false);
		return -1;
	}
	if (blob_commit(w, &d->digest, e) < 0)
		return -1;
	_cleanup_close_ int bfd = store_blob_open(s, d->digest.s, e);
	struct stat st;
	if (bfd < 0 || fstat(bfd, &st) < 0)
		return berr_sys(e, "stat blob %s", d->digest.s);
	d->size = st.st_size;
	d->media_type = xstrdup(MT_OCI_LAYER_GZIP);
	return 0;
}

static char *import_config(const dg_str *dp, const char *entrypoint)
{
	dg_str diff = *dp;
	_cleanup_free_ char *created = time_rfc3339(time(NULL));
	json_object *c = json_object_new_object();
	json_object_object_add(c, "created", json_object_new_string(created));
	json_object_object_add(c, "architecture", json_object_new_string("amd64"));
	json_object_object_add(c, "os", json_object_new_string("linux"));
	json_object *conf = json_object_new_object();
	if (entrypoint) {
		json_object *ep = json_object_new_array();
		json_object_array_add(ep, json_object_new_string(entrypoint));
		json_object_object_add(conf, "Entrypoint", ep);
	}
	json_object_object_add(c, "config", conf);
	json_object *rootfs = json_object_new_object(), *ids = json_object_new_array();
	json_object_array_add(ids, json_object_new_string(diff.s));
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(c, "rootfs", rootfs);
	json_object *hist = json_object_new_array(), *h = json_object_new_object();
	json_object_object_add(h, "created", json_object_new_string(created));
	json_object_object_add(h, "created_by", json_object_new_string("berth import"));
	json_object_array_add(hist, h);
	json_object_object_add(c, "history", hist);
	char *cfg = xstrdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(c);
	return cfg;
}

int image_import(img_store *s, int fd, const char *ref, dg_str *id, berr *e)
{
	return image_import_entrypoint(s, fd, ref, NULL, id, e);
}

int image_import_entrypoint(img_store *s, int fd, const char *ref, const char *entrypoint,
			    dg_str *id, berr *e)
{
	_cleanup_free_ char *name = NULL;
	if (ref && image_tag_name(s, ref, &name, e) < 0)
		return -1;
	if (store_lock_shared(s, e) < 0)
		return -1;
	img_desc layer = {0};
	dg_str diff;
	int ret = -1;
	char **wrote = NULL, **layers = NULL;
	if (gzip_layer(s, fd, &layer, &diff, e) < 0)
		goto out;
	strv_push(&wrote, dg_hex(layer.digest.s));
	strv_push(&layers, dg_hex(diff.s));
	char *cfg = import_config(&diff, entrypoint);
	ret = commit_new(s, cfg, &layer, 1, name, id, &wrote, e);
	free(cfg);
out:
	desc_free(&layer);
	store_unlock(s);
	if (ret < 0) { /* remove what this import wrote (unless referenced) */
		berr ig;
		store_discard(s, wrote, strv_len(wrote), layers, strv_len(layers), &ig);
	}
	strv_free(wrote);
	strv_free(layers);
	return ret;
}

/* ---- save ---- */

static int add_buf(struct archive *a, const char *name, const void *buf, size_t len, berr *e)
{
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)len);
	int r = archive_write_header(a, ent);
	archive_entry_free(ent);
	if (r != ARCHIVE_OK || (len && archive_write_data(a, buf, len) != (la_ssize_t)len))
		return berr_set(e, EIO, "write %s: %s", name, archive_error_string(a));
	return 0;
}

static int add_fd(struct archive *a, const char *name, int fd, berr *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return berr_sys(e, "stat %s", name);
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, st.st_size);
	int r = archive_write_header(a, ent);
	archive_entry_free(ent);
	if (r != ARCHIVE_OK)
		return berr_set(e, EIO, "write %s: %s", name, archive_error_string(a));
	char *buf = xmalloc(BUF_SIZE);
	int ret = 0;
	for (;;) {
		ssize_t n = read(fd, buf, BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				ret = berr_sys(e, "read %s", name);
			break;
		}
		if (archive_write_data(a, buf, (size_t)n) != n) {
			ret = berr_set(e, EIO, "write %s: %s", name, archive_error_string(a));
			break;
		}
	}
	free(buf);
	return ret;
}

static int add_blob(img_store *s, struct archive *a, const char *digest, berr *e)
{
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", dg_hex(digest));
	_cleanup_close_ int fd = store_blob_open(s, digest, e);
	if (fd < 0)
		return -1;
	return add_fd(a, name, fd, e);
}

static int save_docker_image(img_store *s, struct archive *a, const img_image *im,
			     char *const *names, json_object *manifests, berr *e)
{
	_cleanup_free_ char *cfgname = xasprintf("%s.json", dg_hex(im->rec.id.s));
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	if (store_blob_read(s, im->rec.id.s, &cbuf, &clen, e) < 0 ||
	    add_buf(a, cfgname, cbuf, clen, e) < 0)
		return -1;
	json_object *m = json_object_new_object(), *tags = json_object_new_array(),
		    *layers = json_object_new_array();
	json_object_object_add(m, "Config", json_object_new_string(cfgname));
	for (size_t i = 0; names && names[i]; i++) {
		_cleanup_free_ char *f = ref_familiar(names[i]);
		json_object_array_add(tags, json_object_new_string(f));
	}
	json_object_object_add(m, "RepoTags", tags);
	json_object_object_add(m, "Layers", layers);
	json_object_array_add(manifests, m);
	for (size_t i = 0; i < im->rec.n_layers; i++) {
		const img_layer_rec *l = &im->rec.layers[i];
		_cleanup_free_ char *lname = xasprintf("%s/layer.tar", dg_hex(l->diff_id.s));
		json_object_array_add(layers, json_object_new_string(lname));
		/* docker-archive layers are plain tars: decompress to a temp file
		 * first (the tar header needs the size). */
		_cleanup_free_ char *tp =
		    xasprintf("%s/tmp/save-%d.tar", store_path(s), (int)getpid());
		_cleanup_close_ int t = open(tp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (t < 0)
			return berr_sys(e, "create %s", tp);
		unlink(tp);
		_cleanup_close_ int b = store_blob_open(s, l->digest.s, e);
		dg_str d;
		if (b < 0 || unpack_decompress(b, t, &d, NULL, e) < 0 || add_fd(a, lname, t, e) < 0)
			return berr_ctx(e, "layer %s", l->digest.s);
	}
	return 0;
}

static json_object *oci_desc(const char *mt, const char *digest, long long size, const char *name)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "mediaType", json_object_new_string(mt));
	json_object_object_add(o, "digest", json_object_new_string(digest));
	json_object_object_add(o, "size", json_object_new_int64(size));
	if (name) {
		json_object *ann = json_object_new_object();
		img_ref r;
		berr pe;
		if (ref_parse(name, NULL, &r, &pe) == 0 && r.tag)
			json_object_object_add(ann, "org.opencontainers.image.ref.name",
					       json_object_new_string(r.tag));
		ref_free(&r);
		json_object_object_add(ann, "io.containerd.image.name",
				       json_object_new_string(name));
		json_object_object_add(o, "annotations", ann);
	}
	return o;
}

int image_save(img_store *s, char *const *refs, int fd, save_format fmt, berr *e)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	json_object *list = json_object_new_array();
	int ret = -1;
	char **done = NULL;
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		berr_set(e, EIO, "write archive: %s", archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; refs[i]; i++) {
		img_image im;
		if (image_resolve(s, refs[i], &im, e) < 0)
			goto out;
		/* the name asked for, or all names when given an ID */
		char **names = NULL;
		img_ref r;
		berr pe;
		_cleanup_free_ char *tagged = NULL;
		if (image_normalize(s, refs[i], &r, &pe) == 0) {
			tagged = ref_tagged(&r);
			ref_free(&r);
		}
		if (tagged && strv_contains(im.rec.names, tagged))
			strv_push(&names, tagged);
		else
			names = im.rec.names ? strv_dup(im.rec.names) : NULL;
		int r2 = 0;
		if (fmt == SAVE_DOCKER_ARCHIVE) {
			r2 = save_docker_image(s, a, &im, names, list, e);
		} else {
			const char *blobs[2] = {im.rec.manifest.s, im.rec.id.s};
			for (size_t k = 0; k < 2 && r2 == 0; k++)
				if (!strv_contains(done, blobs[k])) {
					r2 = add_blob(s, a, blobs[k], e);
					strv_push(&done, blobs[k]);
				}
			for (size_t k = 0; k < im.rec.n_layers && r2 == 0; k++)
				if (!strv_contains(done, im.rec.layers[k].digest.s)) {
					r2 = add_blob(s, a, im.rec.layers[k].digest.s, e);
					strv_push(&done, im.rec.layers[k].digest.s);
				}
			struct stat st;
			_cleanup_close_ int mfd = store_blob_open(s, im.rec.manifest.s, e);
			if (r2 == 0 && (mfd < 0 || fstat(mfd, &st) < 0))
				r2 = berr_sys(e, "stat manifest");
			for (size_t k = 0; r2 == 0 && (k == 0 || (names && names[k])); k++)
				json_object_array_add(list, oci_desc(im.rec.manifest_mt
									 ? im.rec.manifest_mt
									 : MT_OCI_MANIFEST,
								     im.rec.manifest.s, st.st_size,
								     names ? names[k] : NULL));
		}
		strv_free(names);
		image_free(&im);
		if (r2 < 0)
			goto out;
	}
	const char *txt;
	if (fmt == SAVE_DOCKER_ARCHIVE) {
		txt = json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE);
		if (add_buf(a, "manifest.json", txt, strlen(txt), e) < 0)
			goto out;
	} else {
		const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
		json_object *idx = json_object_new_object();
		json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
		json_object_object_add(idx, "mediaType", json_object_new_string(MT_OCI_INDEX));
		json_object_object_add(idx, "manifests", json_object_get(list));
		txt = json_object_to_json_string_ext(idx, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		int r = add_buf(a, "oci-layout", layout, strlen(layout), e);
		if (r == 0)
			r = add_buf(a, "index.json", txt, strlen(txt), e);
		json_object_put(idx);
		if (r < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		berr_set(e, EIO, "write archive: %s", archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	strv_free(done);
	json_object_put(list);
	archive_write_free(a);
	return ret;
}
