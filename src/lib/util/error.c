#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUT_MARK "..."

/* Step back from `i` to the start of a UTF-8 sequence (never split one). */
static size_t utf8_start(const char *s, size_t i)
{
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

/* Copy s (len bytes) into dst (size bytes, NUL-terminated). When it does not
 * fit, the middle goes: the head (what failed: the syscall, the first part of
 * the path) and the tail (the last path component, the cause) are kept,
 * joined by "...". Returns the length written. */
static size_t put_shortened(char *dst, size_t size, const char *s, size_t len)
{
	if (len < size) {
		memcpy(dst, s, len);
		dst[len] = '\0';
		return len;
	}
	size_t room = size - 1 - strlen(CUT_MARK);
	size_t head = utf8_start(s, room / 2);
	size_t tail_at = len - (room - room / 2);
	while (tail_at < len && ((unsigned char)s[tail_at] & 0xC0) == 0x80)
		tail_at++;
	size_t tail = len - tail_at;
	memcpy(dst, s, head);
	memcpy(dst + head, CUT_MARK, strlen(CUT_MARK));
	memcpy(dst + head + strlen(CUT_MARK), s + tail_at, tail);
	dst[head + strlen(CUT_MARK) + tail] = '\0';
	return head + strlen(CUT_MARK) + tail;
}

/* The message is formatted whole first, so a long name shortens in its
 * middle and the cause (": " suffix, strerror) always survives. */
__attribute__((format(printf, 4, 0))) static void vset(berr *e, int errnum, const char *suffix,
						       const char *fmt, va_list ap)
{
	char *full = NULL;
	va_list aq;
	va_copy(aq, ap);
	int n = vasprintf(&full, fmt, aq);
	va_end(aq);
	size_t slen = suffix ? strlen(suffix) + 2 : 0;
	if (slen > sizeof(e->msg) / 2)
		slen = sizeof(e->msg) / 2;
	size_t room = sizeof(e->msg) - slen; /* for the message and its NUL */
	size_t k;
	if (n < 0) { /* out of memory: the head only, as snprintf gives it */
		vsnprintf(e->msg, room, fmt, ap);
		k = strlen(e->msg);
	} else {
		k = put_shortened(e->msg, room, full, (size_t)n);
		free(full);
	}
	if (suffix)
		snprintf(e->msg + k, sizeof(e->msg) - k, ": %s", suffix);
	e->errnum = errnum;
}

int berr_set(berr *e, int errnum, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vset(e, errnum, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int berr_sys(berr *e, const char *fmt, ...)
{
	int saved = errno;
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vset(e, saved, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int berr_errno(berr *e, int errnum, const char *fmt, ...)
{
	if (!e)
		return -1;
	if (errnum < 0)
		errnum = -errnum;
	va_list ap;
	va_start(ap, fmt);
	vset(e, errnum, strerror(errnum), fmt, ap);
	va_end(ap);
	return -1;
}

int berr_ctx(berr *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	char *prefix = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1; /* out of memory: the message stays as it was */
	/* "<context>: <message>", shortened in the middle if need be: the
	 * context's start and the message's end (its cause) stay. */
	size_t olen = strnlen(e->msg, sizeof(e->msg) - 1);
	char *both = malloc((size_t)n + 2 + olen + 1);
	if (both) {
		memcpy(both, prefix, (size_t)n);
		memcpy(both + n, ": ", 2);
		memcpy(both + n + 2, e->msg, olen);
		put_shortened(e->msg, sizeof(e->msg), both, (size_t)n + 2 + olen);
	}
	free(both);
	free(prefix);
	return -1;
}

void berr_clear(berr *e)
{
	if (e) {
		e->errnum = 0;
		e->msg[0] = '\0';
	}
}
