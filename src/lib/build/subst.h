/* Docker's variable substitution ("Environment replacement" in the
 * Dockerfile reference; BuildKit's shell lexer): `$VAR`, `${VAR}`,
 * `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}` (the word may
 * hold further references: `${A:-${B}}`), the escape character making the
 * next one literal (`\$HOME`), single quotes suppressing expansion and double
 * quotes keeping white space. Quotes and escapes are removed from the
 * result, as Docker does for the words of ADD, COPY, ENV, ...
 *
 * Errors name the variable: `${A: missing '}'`, `${A:?}: unsupported
 * modifier ":?"`. Nesting of `${...}` words is bounded (SUBST_MAX_DEPTH).
 */
#pragma once

#include <stdbool.h>

#include "util/error.h"

#define SUBST_MAX_DEPTH 32

/* The value of name, or NULL when it is not set (which differs from set to
 * "" for `${A-x}` and `${A+x}`). */
typedef const char *(*subst_lookup_fn)(void *ctx, const char *name);

/* A lookup over a NULL-terminated "KEY=VALUE" vector (ctx is a char **; a
 * later entry wins over an earlier one, as in a growing ENV list). */
const char *subst_env_lookup(void *ctx, const char *name);

/* Expand word into one string (no splitting). escape is '\\' or '`'.
 * NULL on error. */
char *subst_word(const char *word, char escape, subst_lookup_fn fn, void *ctx, berr *e);

/* A here-document's body as COPY/ADD expand it (BuildKit's lexer with
 * SkipProcessQuotes): variables and `\` escapes processed, quotes kept as
 * plain characters. NULL on error. */
char *subst_heredoc(const char *body, subst_lookup_fn fn, void *ctx, berr *e);

/* Expand and split into words at white space outside quotes (white space
 * in an unquoted variable's value splits too; `"$A"` keeps it one word).
 * Returns a NULL-terminated vector (empty when there is no word), NULL on
 * error. */
char **subst_words(const char *text, char escape, subst_lookup_fn fn, void *ctx, berr *e);
