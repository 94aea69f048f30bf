/* What garbage collection (gc.c) shares with `system check` (check.c). */
#pragma once

#include "image/image.h"

typedef struct refset {
	char **blobs;  /* hex */
	char **layers; /* hex */
} refset;

/* The blobs and layers the index references, plus containers' layers. */
void refset_build(img_store *s, const img_index *x, refset *rs);
void refset_free(refset *rs);
/* Remove what `x` does not reference; each removal is logged to *log (may be
 * NULL). The caller holds the exclusive store lock. */
int gc_locked(img_store *s, const img_index *x, char ***log, berr *e);
/* After a failed import or load (the caller holds no store lock): under
 * the exclusive lock, remove those of `blobs` and `layers` (hex names: what
 * the command wrote) that no image references and no container holds. */
int store_discard(img_store *s, char *const *blobs, size_t nb, char *const *layers, size_t nl,
		  berr *e);
