#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p)
{
	if (!p)
		abort();
	return p;
}

void *xmalloc(size_t n)
{
	return check(malloc(n ? n : 1));
}

void *xzalloc(size_t n)
{
	return check(calloc(1, n ? n : 1));
}

void *xrealloc(void *p, size_t n)
{
	return check(realloc(p, n ? n : 1));
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	return check(reallocarray(p, n ? n : 1, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}

char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		abort();
	return s;
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_dup(char *const *v)
{
	size_t n = strv_len(v);
	char **r = xreallocarray(NULL, n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	r[n] = NULL;
	return r;
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void strv_push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	*v = xreallocarray(*v, n + 2, sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

strv_builder strvb_from(char **v)
{
	size_t n = strv_len(v);
	return (strv_builder){.v = v, .n = n, .cap = v ? n + 1 : 0};
}

void strvb_push_take(strv_builder *b, char *s)
{
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap < 8 ? 8 : b->cap;
		while (cap < b->n + 2) {
			if (cap > ((size_t)-1) / 2)
				abort();
			cap *= 2;
		}
		b->v = xreallocarray(b->v, cap, sizeof(char *));
		b->cap = cap;
	}
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
}

void strvb_push(strv_builder *b, const char *s)
{
	strvb_push_take(b, xstrdup(s));
}

char **strvb_take(strv_builder *b)
{
	char **v = b->v;
	*b = (strv_builder){0};
	return v;
}

void strvb_free(strv_builder *b)
{
	strv_free(strvb_take(b));
}
