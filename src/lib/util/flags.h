/* Command-line flags in the style runc and docker users type: --name value,
 * --name=value, -n value, single-dash long names (-bundle), bool flags with
 * an optional =true/=false, repeatable string lists. Parsing stops at the
 * first positional argument (or "--"), so `exec ID cmd --flag` keeps the
 * command's own flags. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

enum flag_type { FLAG_BOOL, FLAG_STRING, FLAG_INT, FLAG_LIST };

typedef struct flag_def {
	const char *name; /* long name without dashes */
	char short_name;  /* 0 if none */
	enum flag_type type;
	void *ptr; /* bool*, const char**, int*, char*** (strv, appended) */
} flag_def;

/* Returns the index of the first positional argument in argv (argc if none)
 * or -1 with e set ("unknown flag --x", "--pid-file needs a value"). */
int flags_parse(const flag_def *defs, int argc, char **argv, int start, berr *e);
