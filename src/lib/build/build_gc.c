/* What builds leave behind: `berth builder prune` (the cache entries, the
 * step images no name needs, the RUN cache mounts) and `system check`'s
 * part (the temp dirs and RUN containers of builds killed with -9).
 *
 * A running build holds an flock on its temp dir <root>/build-tmp/X for its
 * whole life, and names its RUN containers berth-build.X.N: a temp dir whose
 * lock can be taken, and a container so named whose dir is not locked, are
 * a dead build's. A RUN cache mount is flocked (shared, or exclusive with
 * sharing=locked) while a step uses it; prune skips the busy ones. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_priv.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define RUN_NAME_PREFIX "berth-build."

char *bx_run_name(const bctx *b, unsigned n)
{
	const char *x = strrchr(b->tmp, '/') + 1;
	return xasprintf(RUN_NAME_PREFIX "%s.%u", x, n);
}

void bx_made(const bctx *b, const dg_str *id)
{
	_cleanup_free_ char *dir = xasprintf("%s/build-cache/made", b->o->root);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return; /* only prune's record: a build does not fail for it */
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, dg_hex(id->s));
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
}

__attribute__((format(printf, 2, 3))) static void line(char ***out, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strv_push(out, buf);
}

/* The step images no name needs: removed (not when a container uses one). */
static int prune_images(img_store *s, const char *root, char ***out, size_t *n, berr *e)
{
	_cleanup_free_ char *made = xasprintf("%s/build-cache/made", root);
	berr ig;
	__attribute__((cleanup(strv_freep))) char **hexes = fs_list_at(AT_FDCWD, made, &ig);
	for (size_t i = 0; hexes && hexes[i]; i++) {
		_cleanup_free_ char *id = xasprintf("sha256:%s", hexes[i]);
		_cleanup_free_ char *p = xasprintf("%s/%s", made, hexes[i]);
		img_image im;
		if (!dg_valid(id) || image_resolve(s, id, &im, &ig) < 0) {
			unlink(p); /* gone already (image prune, rmi) */
			continue;
		}
		bool named = strv_len(im.rec.names) || strv_len(im.rec.repo_digests);
		image_free(&im);
		_cleanup_free_ char *holder = named ? NULL : image_holder(s, id);
		if (named || holder)
			continue;
		char **rm = NULL;
		int r = image_remove(s, id, false, &rm, e);
		strv_free(rm);
		if (r < 0)
			return berr_ctx(e, "remove the step image %s", id);
		unlink(p);
		line(out, "Deleted: %s", id);
		(*n)++;
	}
	return 0;
}

/* The cache entries: all, or (not all) those whose image is gone. */
static void prune_entries(img_store *s, const char *root, bool all, size_t *n)
{
	_cleanup_free_ char *dir = xasprintf("%s/build-cache", root);
	berr ig;
	__attribute__((cleanup(strv_freep))) char **names = fs_list_at(AT_FDCWD, dir, &ig);
	for (size_t i = 0; names && names[i]; i++) {
		if (!strcmp(names[i], "made"))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
		_cleanup_free_ char *buf = NULL;
		size_t len;
		bool gone = true;
		if (!all && fs_read_file_at(AT_FDCWD, p, &buf, &len, &ig) == 0) {
			buf[strcspn(buf, "\n")] = '\0';
			img_image im;
			if (dg_valid(buf) && image_resolve(s, buf, &im, &ig) == 0) {
				image_free(&im);
				gone = false;
			}
		}
		if (gone && unlink(p) == 0)
			(*n)++;
	}
}

/* RUN's cache mounts no step uses now. */
static void prune_mounts(const char *root, char ***out, size_t *n)
{
	_cleanup_free_ char *dir = xasprintf("%s/build-mounts", root);
	berr ig;
	__attribute__((cleanup(strv_freep))) char **names = fs_list_at(AT_FDCWD, dir, &ig);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; dfd >= 0 && names && names[i]; i++) {
		_cleanup_close_ int fd =
		    openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			line(out, "skipped the cache mount %s/%s: in use", dir, names[i]);
			continue;
		}
		if (fs_rm_rf_at(dfd, names[i], &ig) == 0)
			(*n)++;
	}
	rmdir(dir);
}

int build_prune(const char *root, bool all, char ***out, berr *e)
{
	_cleanup_store_ img_store *s = store_open(root, e);
	if (!s)
		return -1;
	size_t ni = 0, nc = 0, nm = 0;
	if (prune_images(s, root, out, &ni, e) < 0)
		return -1;
	prune_entries(s, root, all, &nc);
	prune_mounts(root, out, &nm);
	if (store_gc(s, e) < 0)
		return -1;
	char *l = xasprintf("Deleted %zu step image%s, %zu cache entr%s, %zu cache mount%s", ni,
			    ni == 1 ? "" : "s", nc, nc == 1 ? "y" : "ies", nm, nm == 1 ? "" : "s");
	strv_push(out, l);
	free(l);
	return 0;
}

/* Whether build-tmp/x belongs to a live build (its flock is held). */
static bool tmp_live(int base, const char *x)
{
	_cleanup_close_ int fd = openat(base, x, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	return flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* Unmount what a dead build left mounted under dir (bimg_view's overlays),
 * the deepest first, so that the rm -rf stays on its own files. */
static void umount_under(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char **pts = NULL;
	char *ln = NULL;
	size_t cap = 0, dl = strlen(dir);
	while (getline(&ln, &cap, f) > 0) {
		char mp[4096];
		if (sscanf(ln, "%*s %*s %*s %*s %4095s", mp) == 1 && !strncmp(mp, dir, dl) &&
		    mp[dl] == '/')
			strv_push(&pts, mp);
	}
	free(ln);
	fclose(f);
	for (size_t i = strv_len(pts); i-- > 0;)
		umount2(pts[i], MNT_DETACH);
	strv_free(pts);
}

static int check_containers(eng *g, int base, bool repair, char ***garbage, char ***repaired,
			    berr *e)
{
	__attribute__((cleanup(strv_freep))) char **ids = eng_list(g);
	for (size_t i = 0; ids && ids[i]; i++) {
		berr ig;
		json_object *doc = eng_load(g, ids[i], &ig);
		json_object *nm = NULL;
		const char *name = doc && json_object_object_get_ex(doc, "Name", &nm)
				       ? json_object_get_string(nm)
				       : NULL;
		name = name && *name == '/' ? name + 1 : name;
		_cleanup_free_ char *x = NULL;
		if (name && !strncmp(name, RUN_NAME_PREFIX, strlen(RUN_NAME_PREFIX))) {
			const char *p = name + strlen(RUN_NAME_PREFIX);
			x = xstrndup(p, strcspn(p, "."));
		}
		json_object_put(doc);
		if (!x || !*x || strchr(x, '/') || (base >= 0 && tmp_live(base, x)))
			continue;
		line(garbage, "container %.12s: a RUN step of a build that is not running (%s)",
		     ids[i], x);
		if (!repair)
			continue;
		rt_kill(&g->rt, ids[i], SIGKILL, false, &ig);
		if (eng_remove(g, ids[i], false, e) < 0)
			return berr_ctx(e, "remove the container %.12s", ids[i]);
		line(repaired, "removed the container %.12s of a dead build (%s)", ids[i], x);
	}
	return 0;
}

int build_check(eng *g, const char *root, bool repair, char ***garbage, char ***repaired, berr *e)
{
	_cleanup_free_ char *dir = xasprintf("%s/build-tmp", root);
	_cleanup_close_ int base = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (check_containers(g, base, repair, garbage, repaired, e) < 0)
		return -1;
	if (base < 0)
		return 0;
	berr ig;
	__attribute__((cleanup(strv_freep))) char **names = fs_list_at(base, ".", &ig);
	for (size_t i = 0; names && names[i]; i++) {
		/* held while it is decided and removed: no build starts in it */
		_cleanup_close_ int fd =
		    openat(base, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a live build's */
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
		line(garbage, "%s: the temp dir of a build that is not running", p);
		if (!repair)
			continue;
		umount_under(p);
		if (fs_rm_rf_at(base, names[i], e) < 0)
			return berr_ctx(e, "remove %s", p);
		line(repaired, "removed %s", p);
	}
	rmdir(dir); /* when empty */
	return 0;
}
