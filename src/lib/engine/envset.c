#include "engine/envset.h"

#include <search.h>
#include <stdlib.h>
#include <string.h>

typedef struct envent {
	const char *kv; /* the entry in s->v (owned there) or a lookup key */
	size_t idx;	/* its index in s->v */
} envent;

/* Order by the name: the part before the first '='. */
static int envent_cmp(const void *a, const void *b)
{
	const char *x = ((const envent *)a)->kv, *y = ((const envent *)b)->kv;
	size_t lx = strcspn(x, "="), ly = strcspn(y, "=");
	int c = memcmp(x, y, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

void envset_set(envset *s, const char *kv)
{
	envent *n = xmalloc(sizeof(*n));
	*n = (envent){.kv = kv, .idx = s->v.n};
	envent **slot = tsearch(n, &s->tree, envent_cmp);
	if (!slot)
		abort();  /* out of memory, as xmalloc */
	if (*slot != n) { /* the name is set: replace its value in place */
		free(n);
		char *old = s->v.v[(*slot)->idx];
		s->v.v[(*slot)->idx] = xstrdup(kv);
		(*slot)->kv = s->v.v[(*slot)->idx];
		free(old);
		return;
	}
	strvb_push(&s->v, kv);
	n->kv = s->v.v[n->idx]; /* the tree keys on our copy */
}

bool envset_has(const envset *s, const char *name)
{
	envent key = {.kv = name};
	return tfind(&key, &s->tree, envent_cmp) != NULL;
}

void envset_free(envset *s)
{
	tdestroy(s->tree, free);
	strvb_free(&s->v);
	s->tree = NULL;
}
