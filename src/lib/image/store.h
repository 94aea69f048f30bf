/* The image store under <root>/image/:
 *
 *   lock               flock: writers (pull, load, import) hold it shared for
 *                      their whole run, garbage collection and check exclusive
 *   index.lock         flock held exclusive around index read-modify-write
 *   index.json         names/tags -> images (written temp + rename + fsync)
 *   blobs/sha256/<hex> manifests, configs, layer blobs (digest verified on
 *                      every write; temp + fsync + rename)
 *   layers/<hex>/      each layer unpacked once, keyed by its diffID hex; the
 *                      directory is the layer's root (an overlayfs lowerdir)
 *   tmp/               partial downloads (<hex>.partial, resumable), unpack
 *                      dirs in progress; garbage after a crash
 *
 * Only complete blobs and layer directories are ever visible under their
 * final names (rename(2) is the commit point), and the index only names
 * things that exist, so a kill -9 at any moment leaves the store consistent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"
#include "util/error.h"

typedef struct img_store img_store;

/* Creates the layout if needed. */
img_store *store_open(const char *root, berr *e);
/* Root and rootless stores never mix: the store root must belong to the
 * caller (uid 0 of the caller's namespace; a rootless user's files are
 * that). EPERM naming the owner otherwise. store_open and eng_open call it. */
int store_check_owner(const char *root, berr *e);
/* What unpacking in a user namespace changed (unpack.h unpack_stats),
 * summed over the store handle's life; the warning line for the front end,
 * or NULL when nothing was (malloc'ed). */
void store_unpack_counts(img_store *s, unsigned long remapped, unsigned long devices);
char *store_unpack_warning(img_store *s);
void store_close(img_store *s);
static inline void store_closep(img_store **s)
{
	store_close(*s);
}
#define _cleanup_store_ __attribute__((cleanup(store_closep)))
/* Fd of <root>/image (O_DIRECTORY). */
int store_fd(const img_store *s);
const char *store_path(const img_store *s);
/* The berth root the store lives in. */
const char *store_root(const img_store *s);

/* The gc lock: shared by writers, exclusive for gc/check. */
int store_lock_shared(img_store *s, berr *e);
int store_lock_exclusive(img_store *s, berr *e);
void store_unlock(img_store *s);
/* Exclusive without waiting: 0 if taken, -1 if someone holds the lock. */
int store_lock_try_exclusive(img_store *s);

/* --- blobs --- */
bool store_blob_exists(img_store *s, const char *digest);
/* <root>/image/blobs/sha256/<hex> (malloc'ed) */
char *store_blob_path(const img_store *s, const char *digest);
int store_blob_open(img_store *s, const char *digest, berr *e);
/* Read a small blob whole and verify its digest. */
int store_blob_read(img_store *s, const char *digest, char **buf, size_t *len, berr *e);
/* Write a blob from memory; with `expect` the digest must match. */
int store_blob_put(img_store *s, const void *buf, size_t len, const char *expect, dg_str *out,
		   berr *e);
/* Copy a blob from an fd (streaming). */
int store_blob_put_fd(img_store *s, int fd, const char *expect, dg_str *out,
		      unsigned long long *size, berr *e);

/* A streaming blob write. With `expect` the temp file is tmp/<hex>.partial,
 * flock'ed so that two processes fetching the same blob take turns, and
 * kept on failure so a later attempt resumes from its end. */
typedef struct blob_writer blob_writer;
blob_writer *blob_begin(img_store *s, const char *expect, berr *e);
/* True when the blob already exists (nothing to write; commit is a no-op). */
bool blob_done(const blob_writer *w);
/* Bytes already present (a resumed partial file); they are hashed. */
unsigned long long blob_offset(const blob_writer *w);
/* Forget the partial content (server ignored a Range request). */
int blob_restart(blob_writer *w, berr *e);
int blob_write(blob_writer *w, const void *buf, size_t len, berr *e);
/* Verify digest, fsync, rename into blobs/. Frees w. */
int blob_commit(blob_writer *w, dg_str *out, berr *e);
/* Drop the writer; keep_partial keeps a resumable partial file. */
void blob_abort(blob_writer *w, bool keep_partial);

/* --- layers --- */
char *store_layer_path(const img_store *s, const char *diff_id);
bool store_layer_exists(img_store *s, const char *diff_id);
/* Unpack a layer blob once into layers/<diffid hex>, verifying the diffID
 * (layer_unpack.c: links libarchive). */
int store_layer_unpack(img_store *s, const char *blob_digest, const char *diff_id, berr *e);
/* The store's tmp/ and layers/ directories (for layer_unpack.c). */
int store_tmp_fd(const img_store *s);
int store_layers_fd(const img_store *s);

/* --- settings --- */
/* The largest uncompressed size of one layer, in bytes (0: no limit, the
 * default): store_set_max_layer_size (a command's --max-layer-size), else
 * "max_layer_size" in <root>/storage.json (bytes, or a string such as "20g").
 * An unpack that passes it fails and leaves nothing in layers/. */
int store_max_layer_size(img_store *s, unsigned long long *max, berr *e);
void store_set_max_layer_size(img_store *s, unsigned long long max);
/* "65536", "64k", "64KiB", "20g", "1T" (binary units) -> bytes; -1 if invalid. */
int store_parse_size(const char *str, unsigned long long *out);
/* <root>/registries.json, see registry/registry.h */
/* Default registry for short names (malloc'ed; "docker.io" unless set). */
char *store_default_registry(img_store *s);
