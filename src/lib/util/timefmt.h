/* Timestamps as the image formats write them. */
#ifndef BERTH_UTIL_TIMEFMT_H
#define BERTH_UTIL_TIMEFMT_H

#include <time.h>

/* "2026-12-07T14:53:00Z" (UTC, whole seconds), malloc'ed. */
char *time_rfc3339(time_t when);

#endif
