/* The container side of `berth system check`: what a kill -9 at the wrong
 * moment can leave in <root>/containers. Under the exclusive lock, so no
 * create is between its mkdir and its first record.
 *   - a container directory without container.json (a create killed
 *     between the two): garbage, removed by --repair
 *   - a name link whose container is gone: garbage, removed
 *   - files left in .trash/ by a killed remover: garbage, removed
 * Records a create left "creating" are not garbage: they read as dead and
 * `rm` removes them (they may hold a mount and an image hold). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/network.h"
#include "engine/nsmode.h"
#include "util/fs.h"
#include "util/xalloc.h"

static bool hex64(const char *s)
{
	size_t n = strlen(s);
	if (n != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static void found(char ***garbage, char ***repaired, bool repair, bool done, const char *what)
{
	strv_push(garbage, what);
	if (repair && done)
		strv_push(repaired, what);
}

static void each(eng *g, const char *dir, void (*fn)(eng *, int, const char *, void *), void *arg)
{
	berr ig;
	int fd = openat(g->ctrs_fd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char **names = fd < 0 ? NULL : fs_list_at(fd, ".", &ig);
	for (char **n = names; n && *n; n++)
		fn(g, fd, *n, arg);
	strv_free(names);
	if (fd >= 0)
		close(fd);
}

typedef struct ctx {
	bool repair;
	char ***garbage, ***repaired;
} ctx;

static void check_dir(eng *g, int dfd, const char *name, void *arg)
{
	ctx *c = arg;
	if (!hex64(name))
		return;
	char p[96];
	snprintf(p, sizeof(p), "%s/container.json", name);
	if (faccessat(g->ctrs_fd, p, F_OK, 0) == 0)
		return;
	berr ig;
	bool unmounted = true;
	if (c->repair) {
		/* a creator killed after the mount: its overlay (or fuse-overlayfs,
		 * whose daemon ends with the mount) goes before the files, and a
		 * mount that stays keeps them (never delete through it) */
		char *dir = xasprintf("%s/%s", g->ctrs, name),
		     *rootfs = xasprintf("%s/rootfs", dir);
		unmounted = eng_shm_unmount(dir, &ig) == 0 && (umount2(rootfs, MNT_DETACH) == 0 ||
							       errno == EINVAL || errno == ENOENT);
		free(rootfs);
		free(dir);
	}
	bool done = c->repair && unmounted && fs_rm_rf_at(dfd, name, &ig) == 0;
	char *what = xasprintf("container directory %s has no container.json", name);
	found(c->garbage, c->repaired, c->repair, done, what);
	free(what);
}

static void check_name(eng *g, int dfd, const char *name, void *arg)
{
	ctx *c = arg;
	char id[65];
	if (eng_name_used(g, name, id))
		return;
	bool done = c->repair && unlinkat(dfd, name, 0) == 0;
	char *what = xasprintf("name %s names no container", name);
	found(c->garbage, c->repaired, c->repair, done, what);
	free(what);
}

static void check_trash(eng *g, int dfd, const char *name, void *arg)
{
	ctx *c = arg;
	berr ig;
	bool done = c->repair && eng_trash_purge(g, dfd, name, &ig) == 0;
	char *what = xasprintf("removed container files left in .trash/%s", name);
	found(c->garbage, c->repaired, c->repair, done, what);
	free(what);
}

int eng_check(eng *g, bool repair, char ***garbage, char ***repaired, berr *e)
{
	if (eng_lock(g, true, e) < 0)
		return -1;
	ctx c = {.repair = repair, .garbage = garbage, .repaired = repaired};
	each(g, ".", check_dir, &c);
	each(g, ".names", check_name, &c);
	if (!eng_trash_busy(g)) /* else a live remover is sweeping it */
		each(g, ".trash", check_trash, &c);
	eng_net_check(g, repair, garbage, repaired);
	eng_unlock(g);
	return 0;
}
