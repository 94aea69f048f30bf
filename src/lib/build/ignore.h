/* .dockerignore / .containerignore rules, as Docker's patternmatcher
 * (github.com/moby/patternmatcher) and its ignorefile reader apply them.
 *
 * File: one pattern a line; a line starting with '#' is a comment; lines
 * are trimmed, blank ones skipped; a pattern is cleaned like Go's
 * filepath.Clean (`./a/` is `a`, `a//b` is `a/b`, `a/../b` is `b`) and a
 * leading '/' dropped. `!pattern` is an exception.
 *
 * Matching: `*` any run of characters but '/', `?` one character but '/',
 * `[...]` a class (`[^...]` negated, ranges), `**` any number of
 * directories (`**` + '/' matches zero or more leading components; a
 * trailing `**` matches everything below), `\` makes the next character
 * literal. A pattern that matches a directory matches everything under it.
 * The last pattern that matches a path decides: excluded, or (for an `!`
 * exception) included again.
 *
 * Matching is an NFA walk over the pattern's positions: O(pattern length x
 * path length) per pattern, no backtracking and no recursion.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define IGNORE_MAX_PATTERNS 10000u
#define IGNORE_MAX_BYTES    (16u << 20) /* the file */
#define IGNORE_MAX_PATTERN  65536u	/* one pattern (paths are at most PATH_MAX) */

typedef struct ignore_matcher ignore_matcher;

/* Parse a .dockerignore's bytes (len may be 0: nothing is excluded). name is
 * the file's name in error messages. NULL on error (a bad pattern such as
 * `[a`, a lone `!`, too many patterns, a file or a pattern over the bounds). */
ignore_matcher *ignore_parse(const char *data, size_t len, const char *name, berr *e);
void ignore_free(ignore_matcher *m);

/* Whether path (relative to the context, '/'-separated, cleaned the same
 * way as patterns) is excluded. is_dir is accepted for the walker's
 * convenience: Docker's rules do not depend on it (a pattern's trailing '/'
 * is cleaned away). */
bool ignore_match(const ignore_matcher *m, const char *path, bool is_dir);

/* For an excluded directory: may some path under it be included again by an
 * exception? When false the walker need not descend. Conservative: true
 * when an exception pattern could match some path below dir. */
bool ignore_may_include_below(const ignore_matcher *m, const char *dir);

/* The cleaned patterns in order, exceptions with their leading '!'. */
size_t ignore_count(const ignore_matcher *m);
const char *ignore_pattern(const ignore_matcher *m, size_t i);
