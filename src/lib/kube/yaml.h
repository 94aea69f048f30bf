/* YAML bytes -> a small generic tree (libyaml's event parser underneath).
 *
 * Kubernetes manifests as kubectl reads them: a stream of documents
 * separated by `---`, each a tree of mappings, sequences and scalars. Every
 * node keeps its line (1-based) so that the model can name the place of an
 * error. Scalars carry their resolved type (YAML 1.1 as Kubernetes' YAML
 * decoder resolves plain scalars: `yes` is a bool, `8080` an int, `"8080"`
 * a string), or the type of an explicit `!!str`/`!!int`/... tag.
 *
 * Refused, with FILE:LINE: input over KY_MAX_BYTES, nesting deeper than
 * KY_MAX_DEPTH, more than KY_MAX_NODES nodes, aliases (`*a`: no expansion,
 * so no billion laughs), mapping keys that are not scalars, duplicate keys
 * in one mapping (found by sorting, not by pairwise comparison), tags other
 * than the core schema's. The tree is built with an explicit stack and
 * freed from a flat list: nothing recurses on input depth. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define KY_MAX_BYTES (16u << 20)
#define KY_MAX_DEPTH 64
#define KY_MAX_NODES 100000

typedef enum ky_kind { KY_SCALAR, KY_MAP, KY_SEQ } ky_kind;
/* A scalar's resolved type. */
typedef enum ky_type { KY_NULL, KY_BOOL, KY_INT, KY_FLOAT, KY_STR } ky_type;

typedef struct ky_node {
	ky_kind kind;
	unsigned line;
	/* scalar: its text (NUL-terminated; len bytes, may hold NULs only if
	 * quoted with escapes), its type, and for bool/int the value */
	char *str;
	size_t len;
	ky_type type;
	bool b;
	int64_t i;
	/* map: n pairs, items[2k] the key (a scalar), items[2k+1] its value;
	 * seq: n items */
	struct ky_node **items;
	size_t n;
} ky_node;

typedef struct ky_stream {
	ky_node **docs; /* one root per document; an empty document's is a null scalar */
	size_t n_docs;
	/* every node, for ky_free */
	ky_node **all;
	size_t n_all, cap_all;
} ky_stream;

/* Parse len bytes (file names the input in messages). NULL with e set to
 * "FILE:LINE: what" on a YAML error or a bound. */
ky_stream *ky_parse(const char *data, size_t len, const char *file, berr *e);
void ky_free(ky_stream *s);

/* The value of key in map (NULL if absent or map is no map): linear, for
 * the few fixed look-ups the model does before walking a map. */
const ky_node *ky_get(const ky_node *map, const char *key);

/* The name of a node's type as messages say it: "a mapping", "a string"... */
const char *ky_type_name(const ky_node *n);

/* src into dst (n bytes, always terminated) with control characters
 * written as \n, \t, \xHH: an error message stays one line whatever a
 * key or a value in it holds. */
void ky_escape(char *dst, size_t n, const char *src);

/* The type a plain (unquoted, untagged) scalar resolves to; for KY_BOOL and
 * KY_INT *b / *i are set. Exposed for the tests. */
ky_type ky_resolve(const char *s, size_t len, bool *b, int64_t *i);
