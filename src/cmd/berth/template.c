/* The --format templates of inspect: the subset of Go templates people
 * use with `docker inspect`: {{.A.B}} (a field by path), {{json .A}} and
 * {{json .}}, with \t and \n escapes. A string prints as is, a scalar as
 * JSON, an array of scalars as Go prints one ("[a b]"), anything else as
 * JSON; a missing field is "<no value>", as in Go. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "template.h"

static json_object *field(json_object *doc, const char *path, bool *found)
{
	*found = true;
	json_object *o = doc;
	if (!strcmp(path, "."))
		return o;
	for (const char *p = path + 1; *p;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[128];
		if (n == 0 || n >= sizeof(key) || !json_object_is_type(o, json_type_object)) {
			*found = false;
			return NULL;
		}
		memcpy(key, p, n);
		key[n] = 0;
		if (!json_object_object_get_ex(o, key, &o)) {
			*found = false;
			return NULL;
		}
		p += n + (dot ? 1 : 0);
	}
	return o;
}

static void print_value(json_object *v, FILE *out)
{
	if (!v) {
		fputs("<nil>", out);
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_string:
		fputs(json_object_get_string(v), out);
		return;
	case json_type_array: {
		size_t n = json_object_array_length(v);
		bool scalars = true;
		for (size_t i = 0; i < n; i++) {
			enum json_type t = json_object_get_type(json_object_array_get_idx(v, i));
			scalars &= t != json_type_object && t != json_type_array;
		}
		if (scalars) {
			fputc('[', out);
			for (size_t i = 0; i < n; i++) {
				if (i)
					fputc(' ', out);
				print_value(json_object_array_get_idx(v, i), out);
			}
			fputc(']', out);
			return;
		}
	}
	/* fall through */
	default:
		fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE),
		      out);
	}
}

int tmpl_render(const char *fmt, json_object *doc, FILE *out, berr *e)
{
	for (const char *p = fmt; *p;) {
		if (!strncmp(p, "\\t", 2) || !strncmp(p, "\\n", 2)) {
			fputc(p[1] == 't' ? '\t' : '\n', out);
			p += 2;
			continue;
		}
		if (strncmp(p, "{{", 2)) {
			fputc(*p++, out);
			continue;
		}
		const char *end = strstr(p, "}}");
		if (!end)
			return berr_set(e, EINVAL, "template: unclosed action in \"%s\"", fmt);
		char act[256];
		snprintf(act, sizeof(act), "%.*s", (int)(end - p - 2), p + 2);
		char *a = act, *z = act + strlen(act);
		while (*a == ' ')
			a++;
		while (z > a && z[-1] == ' ')
			*--z = 0;
		bool json = !strncmp(a, "json ", 5);
		if (json)
			for (a += 5; *a == ' ';)
				a++;
		if (a[0] != '.' || strpbrk(a, " |()$"))
			return berr_set(e, EINVAL, "template: unsupported action \"{{%s}}\"", act);
		bool found;
		json_object *v = field(doc, a, &found);
		if (!found)
			fputs(json ? "null" : "<no value>", out);
		else if (json)
			fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE),
			      out);
		else
			print_value(v, out);
		p = end + 2;
	}
	return 0;
}

int tmpl_print_array(const char *format, json_object *arr, int json_flags, berr *e)
{
	if (!format) {
		printf("%s\n", json_object_to_json_string_ext(
				   arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE |
					    json_flags));
		return 0;
	}
	for (size_t k = 0; k < json_object_array_length(arr); k++) {
		if (tmpl_render(format, json_object_array_get_idx(arr, k), stdout, e) < 0)
			return -1;
		putchar('\n');
	}
	return 0;
}
