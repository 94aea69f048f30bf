/* changes: a container's files changed against its image (docker diff, the
 * API's /containers/{id}/changes): its overlay upper directory compared
 * with the image's layers (image/layerdiff.h). */
#include <errno.h>

#include "engine/container.h"
#include "image/layerdiff.h"

int eng_container_changes(eng *g, const char *id, struct ld_changes *out, berr *e)
{
	*out = (ld_changes){0};
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	const char *up = eng_doc_str(doc, "GraphDriver.UpperDir");
	const char *low = eng_doc_str(doc, "GraphDriver.LowerDir");
	int r = -1, upper = -1, *lowers = NULL;
	size_t n = 0;
	if (!up || !low)
		r = berr_set(e, EINVAL, "container %.12s has no filesystem layer (a VM container)",
			     id);
	else if (ld_dirs_open(up, low, &upper, &lowers, &n, e) < 0 ||
		 ld_changes_of(upper, lowers, n, ld_engine_stubs, out, e) < 0)
		berr_ctx(e, "diff %.12s", id);
	else
		r = 0;
	ld_dirs_close(upper, lowers, n);
	json_object_put(doc);
	return r;
}
