/* Commit: a container's changes as a new image (commit.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "image/image_commit.h"
#include "util/error.h"

struct eng;
/* The container ref names (id filled) and its record (*doc, put by the
 * caller); EINVAL when it has no filesystem layer (a VM container). */
int eng_ctr_fs_load(struct eng *g, const char *ref, char id[65], json_object **doc, berr *e);
/* linux.uidMappings / gidMappings (key) of the container's bundle (none:
 * no user namespace of its own); *v malloc'ed. */
int eng_ctr_idmaps(struct eng *g, const char *id, const char *key, ld_idmap **v, size_t *n,
		   berr *e);
/* The container's upper directory as a layer on its image (o: name,
 * author, comment, changes, compression, stubs; parent, upper, created_by
 * and the maps are filled here), a running one paused meanwhile when
 * pause; *id the new image. *warning (malloc'ed, or NULL): an unpause that
 * failed after the image was made. */
int eng_commit(struct eng *g, const char *ref, img_commit_opts *o, bool pause, dg_str *id,
	       char **warning, berr *e);
