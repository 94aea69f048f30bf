#include "util/timefmt.h"

#include "util/xalloc.h"

char *time_rfc3339(time_t when)
{
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&when, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return xstrdup("1970-01-01T00:00:00Z");
	return xstrdup(buf);
}
