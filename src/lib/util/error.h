/* Errors as values.
 *
 * The library never prints and never exits. A function that can fail takes a
 * `berr *` from its caller, fills it with one message carrying the context of
 * the failure (which file, which field, which syscall) and returns -1. Callers
 * higher up add their own context with berr_ctx(), so the front end prints one
 * line such as
 *   config.json: linux.namespaces[2].type: unknown namespace "foo"
 *
 * A message longer than the buffer loses its middle, marked "...": the start
 * (the operation, the context) and the end (the last path component, the
 * strerror cause) are always kept.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#define BERR_FMT(a, b) __attribute__((format(printf, a, b)))

typedef struct berr {
	int errnum;	/* errno of the failing syscall, 0 if not from one */
	char msg[1024]; /* one line, no trailing newline */
} berr;

/* Set the message; errnum is stored as given. Returns -1. */
int berr_set(berr *e, int errnum, const char *fmt, ...) BERR_FMT(3, 4);

/* Set "<message>: <strerror(errno)>" from the current errno. Returns -1. */
int berr_sys(berr *e, const char *fmt, ...) BERR_FMT(2, 3);

/* Like berr_sys with an explicit error number (for APIs returning -errno). */
int berr_errno(berr *e, int errnum, const char *fmt, ...) BERR_FMT(3, 4);

/* Prefix the existing message with "<context>: ". Returns -1. */
int berr_ctx(berr *e, const char *fmt, ...) BERR_FMT(2, 3);

void berr_clear(berr *e);
