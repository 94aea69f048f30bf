/* What garbage collection (gc.c) shares with `system check` (check.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "util/xalloc.h"

typedef struct refset {
	char **blobs;  /* hex, sorted */
	char **layers; /* hex, sorted */
	size_t n_blobs, n_layers;
} refset;

/* The blobs and layers the index references, plus containers' layers. */
void refset_build(img_store *s, const img_index *x, refset *rs);
void refset_free(refset *rs);
/* Sort a vector of n strings (for strv_sorted_has). */
void strv_sort(char **v, size_t n);
/* Is s in the sorted vector v of n strings? O(log n). */
bool strv_sorted_has(char *const *v, size_t n, const char *s);
/* Remove what `x` does not reference; each removal is logged to *log (may be
 * NULL). The caller holds the exclusive store lock. */
int gc_locked(img_store *s, const img_index *x, strv_builder *log, berr *e);
/* After a failed import or load (the caller holds no store lock): under
 * the exclusive lock, remove those of `blobs` and `layers` (hex names: what
 * the command wrote) that no image references and no container holds. */
int store_discard(img_store *s, char *const *blobs, size_t nb, char *const *layers, size_t nl,
		  berr *e);
