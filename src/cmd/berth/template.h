/* inspect --format (template.c). */
#pragma once

#include <json-c/json.h>
#include <stdio.h>

#include "util/error.h"

/* Render `fmt` against `doc` to `out` (no trailing newline). EINVAL with
 * the action named for what the subset does not support. */
int tmpl_render(const char *fmt, json_object *doc, FILE *out, berr *e);
