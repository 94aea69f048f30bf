/* A build context that comes as a tar (`berth build -` on stdin, the API's
 * POST /build body): extracted into a fresh <root>/build-tmp/stdin-XXXXXX
 * under the store (its filesystem, its permissions), held with flock while
 * the build runs ("a live build's" for system check, build_gc.c), removed
 * by build_tar_context_done. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build.h"
#include "util/fs.h"
#include "util/xalloc.h"

int build_tar_context(const char *root, int in_fd, unsigned long long max_bytes, build_tar_ctx *out,
		      berr *e)
{
	out->dir = NULL;
	out->fd = -1;
	out->root = xstrdup(root);
	char *base = xasprintf("%s/build-tmp", root);
	out->dir = xasprintf("%s/stdin-XXXXXX", base);
	int r = -1;
	bool made = false;
	if (mkdir(base, 0700) < 0 && errno != EEXIST) {
		berr_sys(e, "mkdir %s", base);
	} else if (!mkdtemp(out->dir)) {
		berr_sys(e, "make a temp dir in %s", base);
	} else if ((made = true, out->fd = open(out->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		   0) {
		berr_sys(e, "open %s", out->dir);
	} else if (flock(out->fd, LOCK_EX) < 0) {
		berr_sys(e, "flock %s", out->dir);
	} else if (build_context_untar(in_fd, out->fd, max_bytes, e) < 0) {
		berr_ctx(e, "the context tar");
	} else {
		r = 0;
	}
	free(base);
	if (r < 0 && made) {
		build_tar_context_done(out);
	} else if (r < 0) {
		free(out->dir);
		free(out->root);
		out->dir = out->root = NULL;
	}
	return r;
}

void build_tar_context_done(build_tar_ctx *c)
{
	if (!c->dir)
		return;
	berr ig;
	if (c->fd >= 0)
		close(c->fd);
	fs_rm_rf_at(AT_FDCWD, c->dir, &ig);
	/* <root>/build-tmp when no other build uses it */
	char *base = xasprintf("%s/build-tmp", c->root);
	rmdir(base);
	free(base);
	free(c->dir);
	free(c->root);
	c->dir = c->root = NULL;
	c->fd = -1;
}
