/* A private image store under /tmp for a unit test: setup makes it (the
 * directory name in base), teardown closes and removes it. */
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "image/store.h"
#include "util/fs.h"

static char base[64];

static img_store *store_setup(const char *prefix)
{
	snprintf(base, sizeof(base), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(base))
		abort();
	berr e;
	img_store *s = store_open(base, &e);
	if (!s)
		abort();
	return s;
}

static void teardown(img_store *s)
{
	berr e;
	store_close(s);
	fs_rm_rf_at(AT_FDCWD, base, &e);
}
