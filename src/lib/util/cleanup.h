/* Scope-bound cleanup: every early return releases what the scope owns.
 *   _cleanup_free_ char *s = NULL;   _cleanup_close_ int fd = -1;
 * Hand ownership out with take_fd() / take_ptr(). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}
static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void strv_free(char **v); /* xalloc.h */
static inline void cleanup_strvp(char ***p)
{
	strv_free(*p);
}

#define _cleanup_free_	 __attribute__((cleanup(cleanup_freep)))
#define _cleanup_strv_	 __attribute__((cleanup(cleanup_strvp)))
#define _cleanup_close_	 __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))

static inline int take_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
#define take_ptr(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _t = (p);                                                            \
		(p) = NULL;                                                                        \
		_t;                                                                                \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
