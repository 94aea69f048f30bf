/* A growing string for the build module's lexers: amortised O(1) appends,
 * always NUL-terminated once anything was added (p is NULL before). */
#pragma once

#include <stddef.h>
#include <string.h>

#include "util/xalloc.h"

typedef struct bbuf {
	char *p;
	size_t n, cap;
} bbuf;

static inline void bbuf_add(bbuf *b, const char *s, size_t len)
{
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->n + len + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static inline void bbuf_addc(bbuf *b, char c)
{
	bbuf_add(b, &c, 1);
}

static inline void bbuf_adds(bbuf *b, const char *s)
{
	bbuf_add(b, s, strlen(s));
}

/* The string (never NULL: "" when empty); the buffer is empty again. */
static inline char *bbuf_take(bbuf *b)
{
	char *s = b->p ? b->p : xstrdup("");
	*b = (bbuf){0};
	return s;
}
