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
/* Append a copy of s; *v may be NULL. */
void strv_push(char ***v, const char *s);
