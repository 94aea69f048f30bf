/* cp: files between a container's root and the host (container.h), with
 * Docker's semantics: the copy is merged into an existing directory,
 * replaces existing files, and the files get the caller's owner (no -a).
 * Paths in the container are resolved in its root (RESOLVE_IN_ROOT), or in
 * the host directory of the bind or volume mount that holds them. The same
 * as tars: cp_archive.c. */
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

/* cpath without "", "." and ".." components ("/a/b"; malloc'ed) */
static char *clean_path(const char *p)
{
	size_t n = strlen(p);
	char *out = xzalloc(n + 2), *t = xstrdup(p), *sv = NULL;
	size_t len = 0;
	for (char *w = strtok_r(t, "/", &sv); w; w = strtok_r(NULL, "/", &sv)) {
		if (!strcmp(w, "."))
			continue;
		if (!strcmp(w, "..")) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the slash */
			out[len] = 0;
			continue;
		}
		len += (size_t)sprintf(out + len, "/%s", w);
	}
	free(t);
	if (!len)
		strcpy(out, "/");
	return out;
}

/* The bind or volume mount of doc holding the cleaned path c (the longest
 * Destination that is c or a parent of it), or NULL; *dlen: its length. */
static json_object *mount_of(json_object *doc, const char *c, size_t *dlen)
{
	json_object *ms = NULL, *best = NULL;
	*dlen = 0;
	if (!json_object_object_get_ex(doc, "Mounts", &ms) ||
	    !json_object_is_type(ms, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *m = json_object_array_get_idx(ms, i);
		const char *type = eng_doc_str(m, "Type"), *dst = eng_doc_str(m, "Destination"),
			   *src = eng_doc_str(m, "Source");
		/* a tmpfs lives in the container's mount namespace only */
		if (!type || !dst || !src || !*src || !strcmp(type, "tmpfs"))
			continue;
		_cleanup_free_ char *d = clean_path(dst);
		size_t l = strlen(d);
		if (l > 1 && l > *dlen && !strncmp(c, d, l) && (c[l] == 0 || c[l] == '/')) {
			best = m;
			*dlen = l;
		}
	}
	return best;
}

int eng_cp_root_open(eng *g, const char *id, const char *cpath, eng_cp_at *at, berr *e)
{
	*at = (eng_cp_at){.rootfd = -1};
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	_cleanup_free_ char *c = clean_path(cpath);
	size_t dl;
	json_object *m = mount_of(doc, c, &dl);
	if (m) {
		const char *src = eng_doc_str(m, "Source");
		at->in_mount = true;
		at->read_only = !eng_doc_bool(m, "RW");
		at->rel = xstrdup(c[dl] ? c + dl : "/");
		at->rootfd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
		json_object_put(doc);
		if (at->rootfd < 0) {
			berr_sys(e, "open %s (mounted at %.*s)", src, (int)dl, c);
			free(at->rel);
			at->rel = NULL;
			return -1;
		}
		return 0;
	}
	at->read_only = eng_doc_bool(doc, "HostConfig.ReadonlyRootfs");
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	_cleanup_free_ char *cdir = eng_path(g, id, ".");
	struct stat a, b;
	bool was = stat(rootfs, &a) == 0 && stat(cdir, &b) == 0 && a.st_dev != b.st_dev;
	int r = eng_mount_rootfs(g, id, doc, e);
	json_object_put(doc);
	if (r < 0)
		return -1;
	at->mounted_here = !was;
	at->rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (at->rootfd < 0) {
		berr_sys(e, "open %s", rootfs);
		if (!was)
			umount2(rootfs, MNT_DETACH);
		return -1;
	}
	at->rel = xstrdup(cpath);
	return 0;
}

void eng_cp_root_close(eng *g, const char *id, eng_cp_at *at)
{
	if (at->rootfd >= 0)
		close(at->rootfd);
	if (at->mounted_here) {
		_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
		umount2(rootfs, MNT_DETACH);
	}
	free(at->rel);
	*at = (eng_cp_at){.rootfd = -1};
}

int eng_container_copy_out(eng *g, const char *id, const char *cpath, const char *dst, berr *e)
{
	eng_cp_at at;
	if (eng_cp_root_open(g, id, cpath, &at, e) < 0)
		return -1;
	_cleanup_free_ char *bn = eng_cp_base_name(cpath);
	/* a fifo is not waited on: it is skipped */
	int in = fs_open_in_root(at.rootfd, at.rel, O_RDONLY | O_NONBLOCK, 0, e);
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
	eng_cp_root_close(g, id, &at);
	return r;
}

int eng_container_copy_in(eng *g, const char *id, const char *src, const char *cpath, berr *e)
{
	eng_cp_at at;
	if (eng_cp_root_open(g, id, cpath, &at, e) < 0)
		return -1;
	int r = -1;
	_cleanup_free_ char *bn = eng_cp_base_name(src);
	int in = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (in < 0) {
		berr_sys(e, "open %s", src);
		goto out;
	}
	int d = fs_open_in_root(at.rootfd, at.rel, O_RDONLY | O_DIRECTORY, 0, e);
	if (d >= 0) {
		r = fs_copy_at(in, d, bn, CP_FLAGS, e);
		close(d);
	} else {
		char name[256];
		int pd = fs_parent_in_root(at.rootfd, at.rel, name, sizeof(name), false, e);
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
	eng_cp_root_close(g, id, &at);
	return r;
}
