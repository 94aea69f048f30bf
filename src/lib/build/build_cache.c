/* The build cache: a step's key (a function of its parent and its inputs,
 * nothing else) -> the image the step made. One file per key under
 * <root>/build-cache/, holding the image ID, written atomically; an entry
 * whose image was removed since (image prune) is a miss. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_priv.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

void bcache_key(const char *parent, const char *text, char *const *args, const char *extra, bkey *k)
{
	dg_hasher *h = dg_new();
	const char *p = parent ? parent : "scratch";
	dg_update(h, p, strlen(p) + 1);
	dg_update(h, text, strlen(text) + 1);
	for (size_t i = 0; args && args[i]; i++)
		dg_update(h, args[i], strlen(args[i]) + 1);
	dg_update(h, "", 1);
	if (extra)
		dg_update(h, extra, strlen(extra) + 1);
	dg_str d = dg_final(h);
	dg_free(h);
	snprintf(k->hex, sizeof(k->hex), "%s", dg_hex(d.s));
}

char *bx_cache_mounts_dir(const bctx *b)
{
	return xasprintf("%s/build-mounts", b->o->root);
}

static char *cache_dir(bctx *b)
{
	return xasprintf("%s/build-cache", b->o->root);
}

/* A reproducible build's images differ from others' (their times): its
 * entries are apart, per timestamp. */
static char *entry_path(bctx *b, const char *dir, const bkey *k)
{
	if (b->o->reproducible)
		return xasprintf("%s/%s-t%lld", dir, k->hex, b->o->timestamp);
	return xasprintf("%s/%s", dir, k->hex);
}

bool bcache_get(bctx *b, const bkey *k, dg_str *id)
{
	if (b->o->no_cache)
		return false;
	_cleanup_free_ char *dir = cache_dir(b);
	_cleanup_free_ char *path = entry_path(b, dir, k);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	berr ig;
	if (fs_read_file_at(AT_FDCWD, path, &buf, &len, &ig) < 0)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	if (!dg_valid(buf))
		return false;
	img_image im;
	if (image_resolve(b->s, buf, &im, &ig) < 0) {
		if (ig.errnum == ENOENT)
			unlink(path); /* its image was pruned: the entry is stale */
		return false;
	}
	image_free(&im);
	snprintf(id->s, sizeof(id->s), "%s", buf);
	return true;
}

int bcache_put(bctx *b, const bkey *k, const dg_str *id, berr *e)
{
	_cleanup_free_ char *dir = cache_dir(b);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return berr_sys(e, "mkdir %s", dir);
	_cleanup_free_ char *path = entry_path(b, dir, k);
	bx_made(b, id);
	_cleanup_free_ char *line = xasprintf("%s\n", id->s);
	return fs_write_atomic(path, line, strlen(line), 0600, false, e);
}
