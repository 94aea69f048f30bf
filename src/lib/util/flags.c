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

static bool is_help(const flag_def *defs, const char *a)
{
	if (!strcmp(a, "--help") || !strcmp(a, "-help"))
		return !find(defs, "help", 4, 0);
	return !strcmp(a, "-h") && !find(defs, NULL, 0, 'h');
}

/* -abc: every letter a short flag; a letter whose flag takes a value takes
 * the rest of the word (without a leading '=', as pflag), or the next word
 * if it is the last letter. */
static int parse_bundle(const flag_def *defs, int argc, char **argv, int *i, berr *e)
{
	const char *a = argv[*i];
	for (const char *p = a + 1; *p; p++) {
		const flag_def *d = find(defs, NULL, 0, *p);
		if (!d)
			return berr_set(e, EINVAL, "unknown shorthand flag: '%c' in %s", *p, a);
		if (d->type == FLAG_BOOL) {
			if (set_value(d, NULL, e) < 0)
				return -1;
			continue;
		}
		const char *v = p + 1 + (p[1] == '=');
		if (!p[1]) {
			if (*i + 1 >= argc)
				return berr_set(e, EINVAL, "flag -%c (--%s) needs a value", *p,
						d->name);
			v = argv[++*i];
		}
		return set_value(d, v, e);
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
		if (is_help(defs, a))
			return FLAGS_HELP;
		const char *name = a + 1 + (a[1] == '-');
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const flag_def *d = find(defs, name, len, 0);
		if (!d && a[1] != '-' && len == 1)
			d = find(defs, NULL, 0, name[0]);
		if (!d && a[1] != '-' && len > 1) {
			if (parse_bundle(defs, argc, argv, &i, e) < 0)
				return -1;
			i++;
			continue;
		}
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

const flag_def *flags_lookup(const flag_def *defs, const char *a, bool *inline_value)
{
	*inline_value = false;
	if (a[0] != '-' || a[1] == '\0' || !strcmp(a, "--"))
		return NULL;
	const char *name = a + 1 + (a[1] == '-');
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	*inline_value = eq != NULL;
	const flag_def *d = find(defs, name, len, 0);
	if (d || a[1] == '-')
		return d;
	if (len == 1)
		return find(defs, NULL, 0, name[0]);
	/* a bundle: the first letter that takes a value ends it */
	*inline_value = false;
	for (const char *p = name; *p; p++) {
		d = find(defs, NULL, 0, *p);
		if (!d)
			return NULL;
		if (d->type != FLAG_BOOL) {
			*inline_value = p[1] != '\0';
			return d;
		}
	}
	return d;
}

const char *flags_arg_name(const flag_def *d)
{
	if (d->arg)
		return d->arg;
	switch (d->type) {
	case FLAG_BOOL:
		return "";
	case FLAG_INT:
		return "int";
	case FLAG_STRING:
		return "string";
	case FLAG_LIST:
		return "list";
	}
	return "";
}
