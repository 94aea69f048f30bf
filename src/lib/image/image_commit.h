/* A container's changes as a new image (`berth commit`; the build executor
 * later, one step at a time), and an image's history (`berth history`). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "image/image.h"
#include "image/layerdiff.h"
#include "image/manifest.h"

/* Docker's --change instructions applied to an image config's "config"
 * object: CMD, ENTRYPOINT (JSON or shell form; ENTRYPOINT drops the
 * inherited Cmd unless a CMD came before it, as in a Dockerfile), ENV,
 * LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL. Anything else is refused
 * by name (EINVAL), and nothing is applied after the first error. */
int image_config_changes(json_object *config, char *const *changes, berr *e);

typedef struct img_commit_opts {
	const char *parent; /* the image (ID) the container was made from */
	int upper;	    /* the container's overlay upper directory */
	const char *name;   /* NULL: a dangling image */
	const char *author, *comment, *created_by;
	char *const *changes; /* image_config_changes (may be NULL) */
	int compression;      /* of the layer blob: 0 none, 1 gzip, 2 zstd */
	bool clamp;	      /* reproducible: mtimes clamped to epoch, and created = epoch */
	long long epoch;
	const char *const *stubs;    /* mount points not committed: ld_engine_stubs (or NULL) */
	const ld_idmap *uids, *gids; /* the container's user namespace (ld_tar_opts) */
	size_t n_uids, n_gids;
} img_commit_opts;

/* The upper directory as a new layer on the parent: the layer blob, a
 * config (the parent's, the diffID appended to rootfs.diff_ids, a history
 * entry, the changes applied), an OCI manifest, the image recorded (under
 * name, or dangling), its layer unpacked. The changes are checked before
 * anything is written; on failure what was written is removed again, and a
 * kill -9 leaves only unreferenced blobs (garbage for system prune). */
int image_commit_layer(img_store *s, const img_commit_opts *o, dg_str *id, berr *e);

/* The pieces, for other writers of images (the build executor): the upper
 * directory as a layer blob (ld_tar with t; `what` names it in errors),
 * and a JSON document (config, manifest) as a blob whose hex digest is
 * appended to *wrote (what to discard on a later failure). */
int image_layer_blob(img_store *s, int upper, const ld_tar_opts *t, const char *what, img_desc *d,
		     dg_str *diff_id, berr *e);
int image_doc_blob(img_store *s, const char *buf, const char *mt, img_desc *d, char ***wrote,
		   berr *e);
/* The rest of a new image: the config blob (its text, rootfs.diff_ids
 * already complete), an OCI manifest of the parent's layers (parent may be
 * NULL: no layers) and then layer (may be NULL), and the image recorded
 * (name, or dangling) into *id. Blobs written are appended to *wrote. */
int image_write_rest(img_store *s, const img_image *parent, const char *config,
		     const img_desc *layer, const char *name, dg_str *id, char ***wrote, berr *e);

/* One line of `docker history`, newest first. */
typedef struct img_hist {
	char *id; /* the image whose top entry this is (the image itself, or a
		     local image with this prefix of history and layers), else NULL */
	char *created, *created_by, *comment;
	long long size; /* the layer blob's size; 0 for an empty layer */
	bool empty_layer;
} img_hist;
/* An image's history (a config without one: one entry per layer). */
int image_history(img_store *s, const char *ref, img_hist **out, size_t *n, berr *e);
void image_history_free(img_hist *h, size_t n);
