/* What cp.c and cp_archive.c share. */
#pragma once

#include <stdbool.h>

#include "engine/engine.h"

/* The last component of p (trailing slashes dropped; malloc'ed). */
char *eng_cp_base_name(const char *p);
/* The container's root, mounted for the copy if it is not (rootfd: an
 * O_PATH of it; *mounted_here: eng_cp_root_close unmounts it). */
int eng_cp_root_open(eng *g, const char *id, int *rootfd, bool *mounted_here, berr *e);
void eng_cp_root_close(eng *g, const char *id, int rootfd, bool mounted_here);
