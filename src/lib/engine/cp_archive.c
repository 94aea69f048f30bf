/* The Docker API's container archive (container.h): a path's stat, the
 * path as a tar out, a tar unpacked in; cp.c's copy as tar streams (the
 * writer image/layerdiff.h's, the reader image/unpack.h's). A file of its
 * own: only what links libarchive (berth-service, berth-xfer) pulls it in.
 * Also the container's whole filesystem as a tar (export). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/commit.h"
#include "engine/container.h"
#include "engine/cppriv.h"
#include "image/layerdiff.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int eng_container_path_stat(eng *g, const char *id, const char *cpath, eng_path_stat *out, berr *e)
{
	*out = (eng_path_stat){0};
	eng_cp_at at;
	if (eng_cp_root_open(g, id, cpath, &at, e) < 0)
		return -1;
	int r = -1;
	int fd = fs_open_in_root(at.rootfd, at.rel, O_PATH | O_NOFOLLOW, 0, e);
	struct stat st;
	if (fd < 0) {
		if (e->errnum == ENOENT)
			berr_set(e, ENOENT, "Could not find the file %s in container %.12s", cpath,
				 id);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		berr_sys(e, "stat %s", cpath);
		goto out;
	}
	char *bn = eng_cp_base_name(cpath);
	snprintf(out->name, sizeof(out->name), "%s", bn);
	free(bn);
	out->size = st.st_size;
	out->mode = st.st_mode;
	out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (S_ISLNK(st.st_mode)) {
		char buf[4096];
		ssize_t l = readlinkat(fd, "", buf, sizeof(buf) - 1);
		if (l >= 0) {
			buf[l] = 0;
			out->link_target = xstrdup(buf);
		}
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	eng_cp_root_close(g, id, &at);
	return r;
}

void eng_path_stat_free(eng_path_stat *st)
{
	free(st->link_target);
	st->link_target = NULL;
}

int eng_container_archive_out(eng *g, const char *id, const char *cpath, int out, berr *e)
{
	eng_cp_at at;
	if (eng_cp_root_open(g, id, cpath, &at, e) < 0)
		return -1;
	int r = -1;
	int fd = fs_open_in_root(at.rootfd, at.rel, O_PATH | O_NOFOLLOW, 0, e);
	if (fd >= 0) {
		_cleanup_free_ char *bn = eng_cp_base_name(cpath);
		ld_tar_opts t = {.one_filesystem = true};
		ld_sink sink = {.write = ld_sink_fd, .ctx = &out};
		r = ld_tar_entry(fd, bn, &t, &sink, e);
		close(fd);
	}
	eng_cp_root_close(g, id, &at);
	return r;
}

/* noOverwriteDirNonDir: no entry of the tar (read again from fd's start)
 * may put a directory where dir holds something else, or the reverse. */
static int check_dir_non_dir(int fd, int dir, berr *e)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_empty(a);
	int r = 0;
	if (lseek(fd, 0, SEEK_SET) < 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		r = berr_set(e, EINVAL, "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	struct archive_entry *ent;
	int h;
	while ((h = archive_read_next_header(a, &ent)) == ARCHIVE_OK || h == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(ent);
		if (!name || archive_entry_hardlink(ent))
			continue;
		/* "d/" names the entry d (and would fail on a file d) */
		_cleanup_free_ char *nm = xstrdup(name);
		for (size_t l = strlen(nm); l > 1 && nm[l - 1] == '/'; l--)
			nm[l - 1] = 0;
		berr ig;
		int efd = fs_open_in_root(dir, nm, O_PATH | O_NOFOLLOW, 0, &ig);
		struct stat st;
		if (efd < 0)
			continue;
		bool is_dir = fstat(efd, &st) == 0 && S_ISDIR(st.st_mode);
		close(efd);
		bool want_dir = archive_entry_filetype(ent) == AE_IFDIR;
		if (is_dir != want_dir) {
			r = berr_set(e, EEXIST, "cannot overwrite %s \"%s\" with %s",
				     is_dir ? "directory" : "non-directory", name,
				     want_dir ? "a directory" : "a non-directory");
			goto out;
		}
	}
	if (h != ARCHIVE_EOF)
		r = berr_set(e, EINVAL, "corrupt tar: %s", archive_error_string(a));
out:
	archive_read_free(a);
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = berr_sys(e, "seek the archive");
	return r;
}

int eng_container_archive_in(eng *g, const char *id, const char *cpath, int fd,
			     bool no_overwrite_dir_non_dir, berr *e)
{
	eng_cp_at at;
	if (eng_cp_root_open(g, id, cpath, &at, e) < 0)
		return -1;
	if (at.read_only) {
		if (at.in_mount)
			berr_set(e, EROFS, "the volume holding %s is marked read-only", cpath);
		else
			berr_set(e, EROFS, "container rootfs is marked read-only");
		eng_cp_root_close(g, id, &at);
		return -1;
	}
	int r = -1;
	int d = fs_open_in_root(at.rootfd, at.rel, O_RDONLY | O_DIRECTORY, 0, e);
	if (d < 0) {
		if (e->errnum == ENOTDIR)
			berr_set(e, EINVAL, "extraction point \"%s\" is not a directory", cpath);
		else if (e->errnum == ENOENT)
			berr_set(e, ENOENT, "Could not find the file %s in container %.12s", cpath,
				 id);
		goto out;
	}
	if (!no_overwrite_dir_non_dir || check_dir_non_dir(fd, d, e) == 0)
		r = unpack_archive(fd, d, e);
	close(d);
out:
	eng_cp_root_close(g, id, &at);
	return r;
}

int eng_container_export(eng *g, const char *id, int out, berr *e)
{
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	if (!eng_doc_str(doc, "GraphDriver.UpperDir") ||
	    !eng_doc_str(doc, "GraphDriver.LowerDir")) {
		json_object_put(doc);
		return berr_set(e, EINVAL,
				"container %.12s has no filesystem layer (a VM container)", id);
	}
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	_cleanup_free_ char *cdir = eng_path(g, id, ".");
	struct stat a, b;
	bool was_mounted = stat(rootfs, &a) == 0 && stat(cdir, &b) == 0 && a.st_dev != b.st_dev;
	int ret = -1;
	ld_idmap *um = NULL, *gm = NULL;
	ld_tar_opts t = {.one_filesystem = true};
	if (eng_ctr_idmaps(g, id, "uidMappings", &um, &t.n_uids, e) < 0 ||
	    eng_ctr_idmaps(g, id, "gidMappings", &gm, &t.n_gids, e) < 0 ||
	    eng_mount_rootfs(g, id, doc, e) < 0)
		goto out;
	t.uids = um;
	t.gids = gm;
	int rfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		berr_sys(e, "open %s", rootfs);
	} else {
		ld_sink sink = {.write = ld_sink_fd, .ctx = &out};
		ret = ld_tar(rfd, &t, &sink, NULL, e);
		close(rfd);
	}
	if (!was_mounted && umount2(rootfs, MNT_DETACH) < 0 && ret == 0)
		ret = berr_sys(e, "unmount %s", rootfs);
out:
	free(um);
	free(gm);
	json_object_put(doc);
	return ret;
}
