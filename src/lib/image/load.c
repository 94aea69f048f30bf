/* berth load: docker-archive / oci-archive tars and OCI layout directories.
 *
 * An archive is hostile input. Its files are opened inside it
 * (RESOLVE_IN_ROOT: a symlink to /etc/x or ../x resolves inside the archive),
 * must be regular files (a FIFO would block, /dev/zero never ends), and its
 * JSON documents are read with a size cap. A load is all or nothing: every
 * manifest, tag and config is checked, every blob copied and every layer
 * unpacked before one index write adds all images and names; on failure the
 * blobs and layers this load wrote and nothing references are removed. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/gc.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* OCI indexes pointing at indexes: how deep we follow. */
#define MAX_INDEX_DEPTH 4
/* A manifest read from the archive (registries cap them at 4 MiB too). */
#define MANIFEST_MAX (4 << 20)

/* A growable list of strings (amortised pushes; strv_push is linear). */
typedef struct svec {
	char **v;
	size_t n, cap;
} svec;

static void svec_push(svec *sv, const char *s)
{
	if (sv->n + 1 >= sv->cap) {
		sv->cap = sv->cap ? 2 * sv->cap : 16;
		sv->v = xreallocarray(sv->v, sv->cap, sizeof(char *));
	}
	sv->v[sv->n++] = xstrdup(s);
	sv->v[sv->n] = NULL;
}

static void svec_free(svec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* One image of the archive: checked, its blobs in the store, its layers
 * unpacked, waiting for the index write. */
typedef struct pending {
	img_rec rec;
	svec names; /* normalised names for the index */
	svec shown; /* what `load` prints: the tags as written, or the ID */
} pending;

typedef struct loader {
	img_store *s;
	int dir; /* the archive's root */
	pending *v;
	size_t n, cap;
	size_t n_names;
	svec blobs;  /* hex of every blob this load put into the store */
	svec layers; /* hex diffIDs of the layers it may have unpacked */
} loader;

static pending *add_pending(loader *l, berr *e)
{
	if (l->n == LOAD_MAX_IMAGES) {
		berr_set(e, EINVAL, "more than %d images in one archive", LOAD_MAX_IMAGES);
		return NULL;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(pending));
	}
	pending *p = &l->v[l->n++];
	memset(p, 0, sizeof(*p));
	return p;
}

static void loader_free(loader *l)
{
	for (size_t i = 0; i < l->n; i++) {
		rec_free(&l->v[i].rec);
		svec_free(&l->v[i].names);
		svec_free(&l->v[i].shown);
	}
	free(l->v);
	svec_free(&l->blobs);
	svec_free(&l->layers);
}

static int add_name(loader *l, pending *p, const char *ref, const char *shown, berr *e)
{
	_cleanup_free_ char *name = NULL;
	if (image_tag_name(l->s, ref, &name, e) < 0)
		return -1;
	if (++l->n_names > LOAD_MAX_NAMES)
		return berr_set(e, EINVAL, "more than %d names in one archive", LOAD_MAX_NAMES);
	svec_push(&p->names, name);
	svec_push(&p->shown, shown);
	return 0;
}

/* ---- the archive's files ---- */

/* Open `path` inside the archive for reading: a regular file or an error
 * (O_NONBLOCK: opening a FIFO must not wait for a writer). */
static int open_member(int dir, const char *path, struct stat *st, berr *e)
{
	_cleanup_close_ int fd = fs_open_in_root(dir, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, e);
	char target[256];
	ssize_t tn;
	if (fd < 0 && e->errnum == ENOENT && !strchr(path, '/') &&
	    (tn = readlinkat(dir, path, target, sizeof(target) - 1)) > 0) {
		target[tn] = '\0';
		return berr_set(e, ENOENT, "%s: a symlink to \"%s\", which is not in the archive",
				path, target);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0)
		return berr_sys(e, "stat %s", path);
	if (!S_ISREG(st->st_mode))
		return berr_set(e, EINVAL, "%s: not a regular file", path);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return berr_sys(e, "fcntl %s", path);
	return take_fd(&fd);
}

/* Read a JSON document of the archive whole, at most `max` bytes. */
static int read_member(int dir, const char *path, size_t max, char **out, size_t *len, berr *e)
{
	struct stat st;
	_cleanup_close_ int fd = open_member(dir, path, &st, e);
	if (fd < 0)
		return -1;
	if ((unsigned long long)st.st_size > max)
		return berr_set(e, EFBIG, "%s: %lld bytes, more than the limit of %zu", path,
				(long long)st.st_size, max);
	size_t n = (size_t)st.st_size;
	_cleanup_free_ char *buf = xmalloc(n + 2);
	ssize_t got = fs_read_full(fd, buf, n + 1);
	if (got < 0)
		return berr_sys(e, "read %s", path);
	if ((size_t)got != n)
		return berr_set(e, EIO, "%s: changed size while being read", path);
	buf[n] = '\0';
	*out = take_ptr(buf);
	if (len)
		*len = n;
	return 0;
}

static void note_blob(loader *l, const dg_str *d)
{
	svec_push(&l->blobs, dg_hex(d->s));
}

/* Copy `path` (a blob of the archive) into the store; with `expect` its
 * digest must match (compared here: the store keeps what it wrote under its
 * real digest, which a failed load then removes as its own). */
static int put_member(loader *l, const char *path, const char *expect, dg_str *out,
		      unsigned long long *size, berr *e)
{
	struct stat st;
	_cleanup_close_ int fd = open_member(l->dir, path, &st, e);
	if (fd < 0)
		return -1;
	dg_str got;
	if (store_blob_put_fd(l->s, fd, NULL, &got, size, e) < 0)
		return berr_ctx(e, "%s", path);
	note_blob(l, &got);
	if (expect && strcmp(expect, got.s))
		return berr_set(e, EIO, "%s: content has digest %s, not %s", path, got.s, expect);
	if (out)
		*out = got;
	return 0;
}

static int put_buf(loader *l, const char *buf, size_t len, const char *expect, dg_str *out, berr *e)
{
	dg_str got;
	if (store_blob_put(l->s, buf, len, expect, &got, e) < 0)
		return -1;
	note_blob(l, &got);
	if (out)
		*out = got;
	return 0;
}

static const char *layer_mt_by_magic(const img_store *s, const dg_str *d)
{
	_cleanup_free_ char *p = store_blob_path(s, d->s);
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
	unsigned char m[4] = {0};
	if (fd < 0 || pread(fd, m, sizeof(m), 0) < 2)
		return MT_OCI_LAYER;
	if (m[0] == 0x1f && m[1] == 0x8b)
		return MT_OCI_LAYER_GZIP;
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return MT_OCI_LAYER_ZSTD;
	return MT_OCI_LAYER;
}

/* The manifest blob is in the store: unpack the layers, fill p->rec. */
static int prepare(loader *l, pending *p, const char *manifest, berr *e)
{
	img_manifest m;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (store_blob_read(l->s, manifest, &buf, &len, e) < 0 ||
	    manifest_parse(buf, len, MT_OCI_MANIFEST, &m, e) < 0)
		return -1;
	/* the config's diffIDs are what image_prepare unpacks; note them all */
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	img_config c = {0};
	if (store_blob_read(l->s, m.config.digest.s, &cbuf, &clen, e) == 0 &&
	    config_parse(cbuf, clen, &c, e) == 0)
		for (size_t i = 0; i < c.n_diff_ids; i++)
			if (dg_valid(c.diff_ids[i]))
				svec_push(&l->layers, dg_hex(c.diff_ids[i]));
	config_free(&c);
	manifest_free(&m);
	return image_prepare(l->s, manifest, &p->rec, e);
}

/* ---- docker-archive: manifest.json ---- */

static const char *str_field(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Every entry of manifest.json well-formed and every tag a valid name,
 * before anything is written. */
static int check_docker(loader *l, json_object *root, berr *e)
{
	size_t n = json_object_array_length(root);
	if (n == 0)
		return berr_set(e, EINVAL, "manifest.json: lists no images (nothing to load)");
	if (n > LOAD_MAX_IMAGES)
		return berr_set(e, EINVAL, "manifest.json: %zu images, more than the limit of %d",
				n, LOAD_MAX_IMAGES);
	size_t names = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(root, i), *layers, *tags;
		if (!json_object_is_type(m, json_type_object))
			return berr_set(e, EINVAL, "manifest.json[%zu]: not an object", i);
		if (!str_field(m, "Config"))
			return berr_set(e, EINVAL,
					"manifest.json[%zu].Config: missing or not a string", i);
		if (!json_object_object_get_ex(m, "Layers", &layers) ||
		    !json_object_is_type(layers, json_type_array))
			return berr_set(e, EINVAL,
					"manifest.json[%zu].Layers: missing or not an array", i);
		size_t nl = json_object_array_length(layers);
		if (nl > IMG_MAX_LAYERS)
			return berr_set(
			    e, EINVAL,
			    "manifest.json[%zu].Layers: %zu layers, more than the limit "
			    "of %d",
			    i, nl, IMG_MAX_LAYERS);
		for (size_t k = 0; k < nl; k++)
			if (!json_object_is_type(json_object_array_get_idx(layers, k),
						 json_type_string))
				return berr_set(e, EINVAL,
						"manifest.json[%zu].Layers[%zu]: not a string", i,
						k);
		if (!json_object_object_get_ex(m, "RepoTags", &tags) ||
		    json_object_is_type(tags, json_type_null))
			continue;
		if (!json_object_is_type(tags, json_type_array))
			return berr_set(e, EINVAL, "manifest.json[%zu].RepoTags: not an array", i);
		for (size_t k = 0; k < json_object_array_length(tags); k++) {
			json_object *t = json_object_array_get_idx(tags, k);
			_cleanup_free_ char *name = NULL;
			if (!json_object_is_type(t, json_type_string))
				return berr_set(e, EINVAL,
						"manifest.json[%zu].RepoTags[%zu]: not a string", i,
						k);
			if (image_tag_name(l->s, json_object_get_string(t), &name, e) < 0)
				return berr_ctx(e, "manifest.json[%zu].RepoTags[%zu]", i, k);
			if (++names > LOAD_MAX_NAMES)
				return berr_set(e, EINVAL,
						"manifest.json: more than %d tags, the limit",
						LOAD_MAX_NAMES);
		}
	}
	return 0;
}

/* Copy the Layers of manifest.json[i] into the store, filling ld[]. */
static int put_docker_layers(loader *l, json_object *layers, size_t i, img_desc *ld, berr *e)
{
	for (size_t k = 0; k < json_object_array_length(layers); k++) {
		const char *path = json_object_get_string(json_object_array_get_idx(layers, k));
		unsigned long long size;
		if (put_member(l, path, NULL, &ld[k].digest, &size, e) < 0)
			return berr_ctx(e, "manifest.json[%zu].Layers[%zu]", i, k);
		ld[k].size = (long long)size;
		ld[k].media_type = xstrdup(layer_mt_by_magic(l->s, &ld[k].digest));
	}
	return 0;
}

static int load_docker_image(loader *l, json_object *m, size_t i, berr *e)
{
	pending *p = add_pending(l, e);
	if (!p)
		return -1;
	json_object *layers, *tags;
	json_object_object_get_ex(m, "Layers", &layers);
	size_t n = json_object_array_length(layers);
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	img_desc cd = {0};
	if (read_member(l->dir, str_field(m, "Config"), ARCHIVE_JSON_MAX, &cbuf, &clen, e) < 0 ||
	    put_buf(l, cbuf, clen, NULL, &cd.digest, e) < 0)
		return berr_ctx(e, "manifest.json[%zu].Config", i);
	cd.media_type = xstrdup(MT_OCI_CONFIG);
	cd.size = (long long)clen;
	img_desc *ld = xzalloc(sizeof(img_desc) * (n ? n : 1));
	int r = put_docker_layers(l, layers, i, ld, e);
	if (r == 0) {
		_cleanup_free_ char *man = manifest_build_oci(&cd, ld, n);
		dg_str md;
		if (put_buf(l, man, strlen(man), NULL, &md, e) < 0 || prepare(l, p, md.s, e) < 0)
			r = berr_ctx(e, "manifest.json[%zu]", i);
	}
	desc_free(&cd);
	for (size_t k = 0; k < n; k++)
		desc_free(&ld[k]);
	free(ld);
	if (r < 0)
		return -1;
	if (json_object_object_get_ex(m, "RepoTags", &tags) &&
	    json_object_is_type(tags, json_type_array))
		for (size_t k = 0; k < json_object_array_length(tags); k++) {
			const char *t = json_object_get_string(json_object_array_get_idx(tags, k));
			if (add_name(l, p, t, t, e) < 0)
				return berr_ctx(e, "manifest.json[%zu].RepoTags[%zu]", i, k);
		}
	if (!p->shown.n)
		svec_push(&p->shown, p->rec.id.s);
	return 0;
}

static int load_docker(loader *l, berr *e)
{
	_cleanup_free_ char *buf = NULL;
	if (read_member(l->dir, "manifest.json", ARCHIVE_JSON_MAX, &buf, NULL, e) < 0)
		return -1;
	json_object *root = json_tokener_parse(buf);
	int ret = -1;
	if (!root || !json_object_is_type(root, json_type_array))
		berr_set(e, EINVAL, "manifest.json: not a JSON array");
	else if (check_docker(l, root, e) == 0) {
		ret = 0;
		for (size_t i = 0; i < json_object_array_length(root) && ret == 0; i++)
			ret = load_docker_image(l, json_object_array_get_idx(root, i), i, e);
	}
	json_object_put(root);
	return ret;
}

/* ---- OCI layout: index.json ---- */

/* Read the manifest `d` points at from blobs/, verified against its digest
 * (not stored yet: an index is only followed, never kept). */
static int read_manifest(loader *l, const img_desc *d, const char *mt, img_manifest *m, char **buf,
			 size_t *len, berr *e)
{
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", dg_hex(d->digest.s));
	if (read_member(l->dir, path, MANIFEST_MAX, buf, len, e) < 0)
		return -1;
	dg_str got = dg_of_buf(*buf, *len);
	if (strcmp(got.s, d->digest.s)) {
		free(*buf);
		*buf = NULL;
		return berr_set(e, EIO, "%s: content has digest %s", path, got.s);
	}
	if (manifest_parse(*buf, *len, mt, m, e) < 0) {
		free(*buf);
		*buf = NULL;
		return berr_ctx(e, "%s", path);
	}
	return 0;
}

static int load_oci_entry(loader *l, const img_desc *top, size_t i, berr *e)
{
	_cleanup_free_ char *name = NULL;
	const char *rn = top->ref_name;
	/* a full reference names the image; a bare tag does not */
	if (rn && (strchr(rn, '/') || strchr(rn, ':'))) {
		berr ne;
		image_tag_name(l->s, rn, &name, &ne);
	}
	img_manifest m;
	char *buf = NULL;
	size_t len;
	dg_str dig = top->digest;
	if (read_manifest(l, top, top->media_type, &m, &buf, &len, e) < 0)
		return berr_ctx(e, "index.json: manifests[%zu]", i);
	for (int depth = 0; m.is_index; depth++) {
		if (depth == MAX_INDEX_DEPTH) {
			manifest_free(&m);
			free(buf);
			return berr_set(e, EINVAL,
					"index.json: manifests[%zu]: indexes nested deeper than %d "
					"levels",
					i, MAX_INDEX_DEPTH);
		}
		int k = manifest_pick(&m, NULL, NULL, e);
		img_manifest sub;
		char *sbuf = NULL;
		int r = k < 0 ? -1
			      : read_manifest(l, &m.manifests[k], m.manifests[k].media_type, &sub,
					      &sbuf, &len, e);
		if (r == 0)
			dig = m.manifests[k].digest;
		manifest_free(&m);
		free(buf);
		if (r < 0)
			return berr_ctx(e, "index.json: manifests[%zu]", i);
		m = sub;
		buf = sbuf;
	}
	int ret = -1;
	pending *p = NULL;
	_cleanup_free_ char *cpath = NULL, *cbuf = NULL;
	size_t clen;
	if (m.n_layers > IMG_MAX_LAYERS) {
		berr_set(e, EINVAL, "manifest %s: %zu layers, more than the limit of %d", dig.s,
			 m.n_layers, IMG_MAX_LAYERS);
		goto out;
	}
	if (!(p = add_pending(l, e)))
		goto out;
	cpath = xasprintf("blobs/sha256/%s", dg_hex(m.config.digest.s));
	if (read_member(l->dir, cpath, ARCHIVE_JSON_MAX, &cbuf, &clen, e) < 0 ||
	    put_buf(l, cbuf, clen, m.config.digest.s, NULL, e) < 0) {
		berr_ctx(e, "config of manifest %s", dig.s);
		goto out;
	}
	for (size_t k = 0; k < m.n_layers; k++) {
		_cleanup_free_ char *lp =
		    xasprintf("blobs/sha256/%s", dg_hex(m.layers[k].digest.s));
		if (put_member(l, lp, m.layers[k].digest.s, NULL, NULL, e) < 0) {
			berr_ctx(e, "layer %zu of manifest %s", k, dig.s);
			goto out;
		}
	}
	if (put_buf(l, buf, len, dig.s, NULL, e) < 0 || prepare(l, p, dig.s, e) < 0) {
		berr_ctx(e, "manifest %s", dig.s);
		goto out;
	}
	if (name && add_name(l, p, name, name, e) < 0)
		goto out;
	if (!name)
		svec_push(&p->shown, p->rec.id.s);
	ret = 0;
out:
	manifest_free(&m);
	free(buf);
	return ret;
}

static int load_oci(loader *l, berr *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	img_manifest idx;
	if (read_member(l->dir, "index.json", ARCHIVE_JSON_MAX, &buf, &len, e) < 0 ||
	    manifest_parse(buf, len, MT_OCI_INDEX, &idx, e) < 0)
		return berr_ctx(e, "OCI layout");
	int ret = 0;
	if (!idx.is_index || idx.n_manifests == 0)
		ret = berr_set(e, EINVAL,
			       "OCI layout: index.json lists no manifests (nothing to load)");
	else if (idx.n_manifests > LOAD_MAX_IMAGES)
		ret = berr_set(e, EINVAL,
			       "OCI layout: index.json: %zu manifests, more than the limit of %d",
			       idx.n_manifests, LOAD_MAX_IMAGES);
	for (size_t i = 0; i < idx.n_manifests && ret == 0; i++)
		ret = load_oci_entry(l, &idx.manifests[i], i, e);
	manifest_free(&idx);
	return ret;
}

static bool has(int dir, const char *name)
{
	return faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int load_dir(loader *l, berr *e)
{
	if (has(l->dir, "index.json") && has(l->dir, "oci-layout"))
		return load_oci(l, e);
	if (has(l->dir, "manifest.json"))
		return load_docker(l, e);
	return berr_set(e, EINVAL,
			"not an image archive: neither manifest.json (docker-archive) nor "
			"oci-layout and index.json (OCI)");
}

/* Every image checked and unpacked: one index write for all of them. */
static int commit_all(loader *l, char ***out, berr *e)
{
	img_rec *recs = xzalloc(sizeof(img_rec) * l->n);
	char ***names = xzalloc(sizeof(char **) * l->n);
	for (size_t i = 0; i < l->n; i++) {
		recs[i] = l->v[i].rec;
		memset(&l->v[i].rec, 0, sizeof(img_rec));
		names[i] = l->v[i].names.v;
	}
	int r = index_add_all(l->s, recs, (char *const *const *)names, l->n, e);
	free(recs);
	free(names);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->v[i].shown.n; k++)
			strv_push(out, l->v[i].shown.v[k]);
	return 0;
}

static int load_from(loader *l, int fd, const char *path, char ***out, berr *e)
{
	if (path) {
		_cleanup_close_ int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d < 0)
			return berr_sys(e, "open %s", path);
		l->dir = d;
		int r = load_dir(l, e);
		l->dir = -1;
		return r < 0 ? -1 : commit_all(l, out, e);
	}
	/* Unpack the archive (same containment as layers, files, directories
	 * and links only) into a temporary directory of the store, then read it
	 * as a directory. */
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "load-%d", (int)getpid());
	_cleanup_close_ int tfd = openat(store_fd(l->s), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return berr_sys(e, "open tmp");
	berr ig;
	fs_rm_rf_at(tfd, tmp, &ig);
	if (mkdirat(tfd, tmp, 0700) < 0)
		return berr_sys(e, "mkdir tmp/%s", tmp);
	_cleanup_close_ int d = openat(tfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = -1;
	if (d < 0)
		berr_sys(e, "open tmp/%s", tmp);
	else if (unpack_archive(fd, d, e) < 0)
		berr_ctx(e, "read archive");
	else {
		l->dir = d;
		r = load_dir(l, e);
		l->dir = -1;
	}
	fs_rm_rf_at(tfd, tmp, &ig);
	return r < 0 ? -1 : commit_all(l, out, e);
}

int image_load(img_store *s, int fd, const char *path, char ***out, berr *e)
{
	if (store_lock_shared(s, e) < 0)
		return -1;
	loader l = {.s = s, .dir = -1};
	int ret = load_from(&l, fd, path, out, e);
	store_unlock(s);
	if (ret < 0) {
		berr ig;
		store_discard(s, l.blobs.v, l.blobs.n, l.layers.v, l.layers.n, &ig);
	}
	loader_free(&l);
	return ret;
}
