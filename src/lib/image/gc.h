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
