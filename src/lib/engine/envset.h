/* A container's environment being built: "NAME=value" entries in order of
 * first appearance, a later NAME= replacing an earlier one. Lookups by name
 * go through a balanced tree (tsearch), so an image config with hundreds of
 * thousands of Env entries costs O(n log n), not a scan per entry. */
#pragma once

#include <stdbool.h>

#include "util/xalloc.h"

typedef struct envset {
	strv_builder v; /* the entries; v.v is NULL-terminated (or NULL) */
	void *tree;	/* by name: nodes point at envent records */
} envset;

/* Set "NAME=value" (a copy): replaces the value if NAME is set, else appends. */
void envset_set(envset *s, const char *kv);
/* Is NAME set? */
bool envset_has(const envset *s, const char *name);
void envset_free(envset *s);
