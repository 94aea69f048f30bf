/* cp: files between a container's root and the host (container.h), with
 * Docker's semantics: the copy is merged into an existing directory,
 * replaces existing files, and the files get the caller's owner (no -a).
 * Paths in the container are resolved in its root (RESOLVE_IN_ROOT). The
 * same as tars: cp_archive.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/cppriv.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define CP_FLAGS (FS_COPY_REPLACE | FS_COPY_NO_OWNER)

char *eng_cp_base_name(const char *p)
{
	_cleanup_free_ char *c = xstrdup(p);
	size_t l = strlen(c);
	while (l > 1 && c[l - 1] == '/')
		c[--l] = 0;
	char *s = strrchr(c, '/');
	return xstrdup(s ? s + 1 : c);
}

/* The container's root, mounted for the copy if it is not (rootfd: an
 * O_PATH of it; *mounted_here: unmount it after). */
int eng_cp_root_open(eng *g, const char *id, int *rootfd, bool *mounted_here, berr *e)
{
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	_cleanup_free_ char *cdir = eng_path(g, id, ".");
	struct stat a, b;
	bool was = stat(rootfs, &a) == 0 && stat(cdir, &b) == 0 && a.st_dev != b.st_dev;
	int r = eng_mount_rootfs(g, id, doc, e);
	json_object_put(doc);
	if (r < 0)
		return -1;
	*mounted_here = !was;
	*rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0) {
		berr_sys(e, "open %s", rootfs);
		if (!was)
			umount2(rootfs, MNT_DETACH);
		return -1;
	}
	return 0;
}

void eng_cp_root_close(eng *g, const char *id, int rootfd, bool mounted_here)
{
	close(rootfd);
	if (mounted_here) {
		_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
		umount2(rootfs, MNT_DETACH);
	}
}

int eng_container_copy_out(eng *g, const char *id, const char *cpath, const char *dst, berr *e)
{
	int rfd;
	bool here;
	if (eng_cp_root_open(g, id, &rfd, &here, e) < 0)
		return -1;
	_cleanup_free_ char *bn = eng_cp_base_name(cpath);
	/* a fifo is not waited on: it is skipped */
	int in = fs_open_in_root(rfd, cpath, O_RDONLY | O_NONBLOCK, 0, e);
	int r = -1;
	if (in < 0)
		goto out;
	struct stat ds;
	if (stat(dst, &ds) == 0 && S_ISDIR(ds.st_mode)) {
		int d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = d < 0 ? berr_sys(e, "open %s", dst) : fs_copy_at(in, d, bn, CP_FLAGS, e);
		if (d >= 0)
			close(d);
	} else {
		_cleanup_free_ char *parent = xstrdup(dst);
		char *sl = strrchr(parent, '/');
		_cleanup_free_ char *dbn = eng_cp_base_name(dst);
		int d = open(sl ? (sl == parent ? "/" : (*sl = 0, parent)) : ".",
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = d < 0 ? berr_sys(e, "open the parent of %s", dst)
			  : fs_copy_at(in, d, dbn, CP_FLAGS, e);
		if (d >= 0)
			close(d);
	}
	close(in);
out:
	eng_cp_root_close(g, id, rfd, here);
	return r;
}

int eng_container_copy_in(eng *g, const char *id, const char *src, const char *cpath, berr *e)
{
	int rfd;
	bool here;
	if (eng_cp_root_open(g, id, &rfd, &here, e) < 0)
		return -1;
	int r = -1;
	_cleanup_free_ char *bn = eng_cp_base_name(src);
	int in = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (in < 0) {
		berr_sys(e, "open %s", src);
		goto out;
	}
	int d = fs_open_in_root(rfd, cpath, O_RDONLY | O_DIRECTORY, 0, e);
	if (d >= 0) {
		r = fs_copy_at(in, d, bn, CP_FLAGS, e);
		close(d);
	} else {
		char name[256];
		int pd = fs_parent_in_root(rfd, cpath, name, sizeof(name), false, e);
		int pdir = pd < 0 ? -1 : openat(pd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pd >= 0 && pdir < 0)
			berr_sys(e, "open the parent of %s", cpath);
		r = pdir < 0 ? -1 : fs_copy_at(in, pdir, name, CP_FLAGS, e);
		if (pd >= 0)
			close(pd);
		if (pdir >= 0)
			close(pdir);
	}
	close(in);
out:
	eng_cp_root_close(g, id, rfd, here);
	return r;
}
