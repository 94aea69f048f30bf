#include "util/flags.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static const flag_def *find(const flag_def *defs, const char *name, size_t len, char short_name)
{
	for (const flag_def *d = defs; d->name; d++) {
		if (short_name && d->short_name == short_name)
			return d;
		if (!short_name && strlen(d->name) == len && !strncmp(d->name, name, len))
			return d;
	}
	return NULL;
}

static int set_value(const flag_def *d, const char *v, berr *e)
{
	switch (d->type) {
	case FLAG_BOOL:
		if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
			*(bool *)d->ptr = true;
		else if (!strcmp(v, "false") || !strcmp(v, "0"))
			*(bool *)d->ptr = false;
		else
			return berr_set(e, EINVAL, "--%s: expected true or false, got \"%s\"",
					d->name, v);
		return 0;
	case FLAG_STRING:
		*(const char **)d->ptr = v;
		return 0;
	case FLAG_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (!*v || *end || errno || n < INT_MIN || n > INT_MAX)
			return berr_set(e, EINVAL, "--%s: expected a number, got \"%s\"", d->name,
					v);
		*(int *)d->ptr = (int)n;
		return 0;
	}
	case FLAG_LIST:
		strv_push((char ***)d->ptr, v);
		return 0;
	}
	return 0;
}

int flags_parse(const flag_def *defs, int argc, char **argv, int start, berr *e)
{
	int i = start;
	while (i < argc) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		const char *name = a + 1 + (a[1] == '-');
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const flag_def *d = find(defs, name, len, 0);
		if (!d && a[1] != '-' && len == 1)
			d = find(defs, NULL, 0, name[0]);
		if (!d)
			return berr_set(e, EINVAL, "unknown flag: %.*s",
					(int)(len + (size_t)(name - a)), a);
		const char *v = eq ? eq + 1 : NULL;
		if (!v && d->type != FLAG_BOOL) {
			if (i + 1 >= argc)
				return berr_set(e, EINVAL, "flag --%s needs a value", d->name);
			v = argv[++i];
		}
		if (set_value(d, v, e) < 0)
			return -1;
		i++;
	}
	return i;
}
