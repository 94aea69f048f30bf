/* Allocation that cannot fail: on exhaustion the process aborts, as crun's
 * xmalloc does. Small allocations failing is not an error a caller can handle
 * better, and checking each one would bury the real error paths. */
#pragma once

#include <stddef.h>

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xrealloc(void *p, size_t n);
/* Grow an array of `size`-byte elements to hold `n` elements (overflow-checked). */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated string vectors. */
size_t strv_len(char *const *v);
char **strv_dup(char *const *v);
void strv_free(char **v);
/* Append a copy of s; *v may be NULL. It counts *v first (O(n)): for a few
 * pushes only; a loop over input builds with a strv_builder. */
void strv_push(char ***v, const char *s);

/* A vector being built, with its length and capacity kept: each push is
 * amortised O(1). b.v is always NULL-terminated (NULL until the first push)
 * and owned by the builder until strvb_take. Zero-initialise it
 * (strv_builder b = {0}) or start from a vector with strvb_from. */
typedef struct strv_builder {
	char **v;
	size_t n, cap;
} strv_builder;
/* Adopt an existing vector (counted once); v may be NULL. */
strv_builder strvb_from(char **v);
/* Append a copy of s. */
void strvb_push(strv_builder *b, const char *s);
/* Append s itself (the builder now owns it). */
void strvb_push_take(strv_builder *b, char *s);
/* The vector (NULL if nothing was pushed); the builder is empty again. */
char **strvb_take(strv_builder *b);
void strvb_free(strv_builder *b);
