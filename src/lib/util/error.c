#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 0))) static void vset(berr *e, int errnum, const char *suffix,
						       const char *fmt, va_list ap)
{
	int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (suffix && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", suffix);
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
	char prefix[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(prefix) - 3)
		n = (int)sizeof(prefix) - 3;
	memcpy(prefix + n, ": ", 3);
	size_t plen = (size_t)n + 2;
	size_t olen = strnlen(e->msg, sizeof(e->msg) - 1);
	if (plen + olen > sizeof(e->msg) - 1)
		olen = sizeof(e->msg) - 1 - plen; /* truncate the tail, keep the context */
	memmove(e->msg + plen, e->msg, olen);
	memcpy(e->msg, prefix, plen);
	e->msg[plen + olen] = '\0';
	return -1;
}

void berr_clear(berr *e)
{
	if (e) {
		e->errnum = 0;
		e->msg[0] = '\0';
	}
}
