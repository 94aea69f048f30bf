/* inspect --format (template.c). */
#pragma once

#include <json-c/json.h>
#include <stdio.h>

#include "util/error.h"

/* Render `fmt` against `doc` to `out` (no trailing newline). EINVAL with
 * the action named for what the subset does not support. */
int tmpl_render(const char *fmt, json_object *doc, FILE *out, berr *e);

/* What every `inspect` prints: with a format, each element of arr rendered
 * on its own line (stopping at the first error, -1 with e); without, arr as
 * pretty JSON (json_flags added to the pretty, no-slash-escape flags). */
int tmpl_print_array(const char *format, json_object *arr, int json_flags, berr *e);
