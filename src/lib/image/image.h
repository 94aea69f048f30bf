/* The image layer's front door: what the engine (containers) and the CLI use.
 *
 * For a container:
 *     img_store *s = store_open(root, &e);
 *     img_image im;
 *     image_resolve(s, "debian:12", &im, &e);
 *     im.config.entrypoint / cmd / env / working_dir / user / stop_signal ...
 *     im.layer_dirs[0..n_layers-1]: unpacked layers, BOTTOM layer first;
 *         overlayfs wants lowerdir=top:...:bottom, i.e. reversed
 *         (image_lowerdir() builds that string).
 *     image_hold(s, container_id, &im, &e);   (pins the layers; see below)
 *     ... container runs ...; at removal: image_release(s, container_id, &e)
 *     image_free(&im); store_close(s);
 * Pulling: registry_pull() in registry/registry.h.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "image/config.h"
#include "image/digest.h"
#include "image/index.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/error.h"

typedef struct img_image {
	img_rec rec;	   /* id, manifest, names, layers (blob digests, diffIDs) */
	img_config config; /* parsed image config */
	char **layer_dirs; /* absolute paths, bottom first, NULL-terminated */
	size_t n_layers;
} img_image;

/* Resolve a name, name@digest or (prefix of an) ID; every layer directory
 * is checked to exist. ENOENT: `image "x" not found`. */
int image_resolve(img_store *s, const char *ref, img_image *out, berr *e);
void image_free(img_image *im);
/* "top:...:bottom" for overlayfs lowerdir= (malloc'ed). */
char *image_lowerdir(const img_image *im);

/* Normalise a user reference to the stored name ("debian" ->
 * "docker.io/library/debian:latest") using the store's default registry. */
int image_normalize(img_store *s, const char *ref, img_ref *out, berr *e);
/* The name a reference gives in the index ("a:1" ->
 * "docker.io/library/a:1", malloc'ed in *out); a digest reference is no
 * name to tag. */
int image_tag_name(img_store *s, const char *ref, char **out, berr *e);

/* Record an image whose manifest, config and layer blobs are in the store:
 * checks config.rootfs.diff_ids against the layers, unpacks every layer
 * (once per diffID), then adds it to the index under `name` (may be NULL).
 * The manifest must be the blob `manifest` (a single-platform manifest). */
int image_commit(img_store *s, const char *manifest, const char *name, const char *repo_digest,
		 dg_str *id, berr *e);
/* image_commit without the index: checks, unpacks the layers and fills *rec
 * (rec_free), ready for index_add / index_add_all. */
int image_prepare(img_store *s, const char *manifest, img_rec *rec, berr *e);
/* Most layers an image may have: Docker's limit (overlay2 refuses deeper
 * stacks); a manifest with more is refused before anything is fetched or
 * unpacked. */
#define IMG_MAX_LAYERS 127

int image_tag(img_store *s, const char *src, const char *dst, berr *e);

/* rmi: untag (and delete when no name is left, or when ref is an ID).
 * Lines "Untagged: x" / "Deleted: sha256:..." are appended to *out. */
int image_remove(img_store *s, const char *ref, bool force, char ***out, berr *e);
/* Remove dangling images (no name, not pulled by digest, not held); IDs
 * appended to *out. */
int image_prune(img_store *s, char ***out, berr *e);
/* Delete blobs and layer directories no image references (takes the
 * exclusive store lock). */
int store_gc(img_store *s, berr *e);
/* berth system prune: store_gc plus what tmp/ holds (partial downloads,
 * leftovers of interrupted commands); each removal logged to *log. */
int store_prune(img_store *s, char ***log, berr *e);
/* store_gc only if no other berth process uses the store right now. */
void store_gc_if_idle(img_store *s);

/* Holds (hold.c): a container pins its image's layers. While a hold exists
 * gc keeps the layers (even after `rmi -f`), and rmi/prune refuse to delete
 * the image without force. holder: a container ID ([A-Za-z0-9_.-], <= 128). */
int image_hold(img_store *s, const char *holder, const img_image *im, berr *e);
int image_release(img_store *s, const char *holder, berr *e); /* no hold: ok */
/* Holder of an image ID (malloc'ed), NULL if none. */
char *image_holder(img_store *s, const char *id);
/* Hex diffIDs of all held layers (NULL-terminated, never NULL). */
char **image_held_layers(img_store *s);

/* `docker image inspect`-like document (caller puts it). */
json_object *image_inspect(img_store *s, const char *ref, berr *e);

/* berth system check */
typedef struct store_report {
	char **garbage;	 /* removable leftovers: the store is still consistent */
	char **problems; /* inconsistencies */
	char **repaired; /* what --repair did */
} store_report;
int store_check(img_store *s, bool repair, store_report *r, berr *e);
void store_report_free(store_report *r);

/* ---- archives (archive.c) ---- */
/* Import a root-filesystem tar (any compression) as a one-layer image. An
 * empty input is refused; on failure the blobs it wrote are removed. */
int image_import(img_store *s, int fd, const char *name, dg_str *id, berr *e);
/* The same with the config's Entrypoint [entrypoint] (NULL: none). */
int image_import_entrypoint(img_store *s, int fd, const char *name, const char *entrypoint,
			    dg_str *id, berr *e);
/* The pods' infra image `name`: the static pause_bin as /pause, its
 * Entrypoint (containerd's CRI runs a sandbox image by its config, as the
 * kubelet's registry.k8s.io/pause is run), and the mount-point directories,
 * one layer (pause_image.c). */
int image_make_pause(img_store *s, const char *name, const char *pause_bin, dg_str *id, berr *e);
/* Load a docker-archive or oci-archive tar from fd, or an OCI layout
 * directory (path != NULL) (load.c). Loaded names (or IDs) appended to *out.
 * All or nothing: every manifest, config, layer and tag is checked (and
 * every layer unpacked) before the first name is written, and the images go
 * into the index in one write; on failure the blobs and layers this load
 * wrote and no image references are removed again. The archive's files must
 * be regular files inside it (symlinks resolve inside the archive), its
 * JSON documents at most ARCHIVE_JSON_MAX bytes, at most LOAD_MAX_IMAGES
 * images and LOAD_MAX_NAMES names. */
#define ARCHIVE_JSON_MAX (16 << 20)
#define LOAD_MAX_IMAGES	 4096
#define LOAD_MAX_NAMES	 4096
int image_load(img_store *s, int fd, const char *path, char ***out, berr *e);
typedef enum { SAVE_DOCKER_ARCHIVE, SAVE_OCI_ARCHIVE } save_format;
int image_save(img_store *s, char *const *refs, int fd, save_format fmt, berr *e);
