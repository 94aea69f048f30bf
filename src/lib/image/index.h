/* index.json: which images the store holds and the names pointing at them.
 * Read-modify-write happens under index.lock (flock) and the file is
 * replaced atomically (temp + fsync + rename), so parallel berth commands
 * never lose each other's updates and a crash leaves the old or new index. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"

typedef struct img_layer_rec {
	dg_str digest;	/* the layer blob (possibly compressed) */
	dg_str diff_id; /* sha256 of the uncompressed tar: layers/<hex> */
	char *media_type;
	long long size; /* blob size */
} img_layer_rec;

typedef struct img_rec {
	dg_str id;	     /* config digest: the image ID */
	dg_str manifest;     /* manifest blob digest */
	char *manifest_mt;   /* its media type */
	char **names;	     /* "docker.io/library/debian:12" (NULL-terminated, may be NULL) */
	char **repo_digests; /* "docker.io/library/debian@sha256:..." */
	img_layer_rec *layers;
	size_t n_layers;
	long long config_size;
	long long size;	 /* sum of blob sizes */
	char *created;	 /* from the config */
	long long added; /* unix time it entered the store */
} img_rec;

typedef struct img_index {
	img_rec *v;
	size_t n;
} img_index;

void rec_free(img_rec *r);
void rec_copy(img_rec *dst, const img_rec *src);
void index_free(img_index *x);

/* Exclusive lock around a read-modify-write; returns the lock fd to pass to
 * index_unlock. */
int index_lock(img_store *s, berr *e);
void index_unlock(int fd);
int index_load(img_store *s, img_index *x, berr *e);
int index_save(img_store *s, const img_index *x, berr *e);

/* Find an image by reference (normalised with default_domain), by
 * name@digest, or by ID (full "sha256:..." or a hex prefix of >= 4 digits).
 * Returns its position or -1 (ENOENT, message `image "x" not found`). */
int index_find(const img_index *x, const char *ref, const char *default_domain, berr *e);

/* Add an image (taking over *rec), and point `name` (may be NULL) and
 * `repo_digest` (may be NULL) at it; a name moves off any other image. */
int index_add(img_store *s, img_rec *rec, const char *name, const char *repo_digest, berr *e);

/* Add n images in one index write (all or none), taking over every recs[i]
 * (freed, also on failure) and pointing the names in names[i] (NULL or
 * NULL-terminated) at it; a later name moves off an earlier image. */
int index_add_all(img_store *s, img_rec *recs, char *const *const *names, size_t n, berr *e);

bool strv_contains(char *const *v, const char *s);
void strv_remove(char **v, const char *s);
