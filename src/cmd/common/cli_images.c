/* The image store's names for completion: berth and berth-xfer (push, save)
 * both complete image references. Only binaries that call it link the image
 * store through it. */
#include <stdio.h>
#include <string.h>

#include "cli_common.h"
#include "image/image.h"
#include "util/cleanup.h"

void cli_complete_images(const char *root, const char *cur)
{
	berr e;
	_cleanup_store_ img_store *s = store_open(root, &e);
	img_index x;
	if (!s || index_load(s, &x, &e) < 0)
		return;
	for (size_t i = 0; i < x.n; i++)
		for (size_t k = 0; x.v[i].names && x.v[i].names[k]; k++) {
			_cleanup_free_ char *f = ref_familiar(x.v[i].names[k]);
			if (!strncmp(f, cur, strlen(cur)))
				printf("%s\n", f);
		}
	index_free(&x);
}

void cli_complete_images_only(void *opaque, enum cli_args kind, const char *cur)
{
	const cli *c = opaque;
	if (kind == CLI_ARGS_IMAGES)
		cli_complete_images(c->root, cur);
}
