/* The image of a pod's infra container (engine/pod.h): one layer holding
 * the berth-pause binary as /pause and the directories a container root
 * needs as mount points. Made on first use by `berth pod create` (through
 * berth-xfer, which links libarchive), as Podman builds its
 * localhost/podman-pause image locally: nothing is pulled. The tar's
 * entries have fixed owners and times, so the image ID depends only on the
 * binary. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define PAUSE_MAX (16 << 20) /* a static pause program is ~20-900 KiB */

static int add(struct archive *a, const char *path, mode_t type_mode, const char *data, size_t len,
	       berr *e)
{
	struct archive_entry *en = archive_entry_new();
	archive_entry_set_pathname(en, path);
	archive_entry_set_mode(en, type_mode);
	archive_entry_set_uid(en, 0);
	archive_entry_set_gid(en, 0);
	archive_entry_set_mtime(en, 0, 0);
	archive_entry_set_size(en, (la_int64_t)len);
	int r = archive_write_header(a, en);
	if (r == ARCHIVE_OK && len && archive_write_data(a, data, len) != (la_ssize_t)len)
		r = ARCHIVE_FATAL;
	archive_entry_free(en);
	if (r != ARCHIVE_OK)
		return berr_set(e, EIO, "pause image: tar entry %s: %s", path,
				archive_error_string(a) ? archive_error_string(a) : "write failed");
	return 0;
}

int image_make_pause(img_store *s, const char *name, const char *pause_bin, dg_str *id, berr *e)
{
	_cleanup_free_ char *bin = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, pause_bin, &bin, &len, e) < 0)
		return berr_ctx(e, "pause image");
	if (len == 0 || len > PAUSE_MAX)
		return berr_set(e, EINVAL, "pause image: %s: %zu bytes (expected 1..%d)", pause_bin,
				len, PAUSE_MAX);
	_cleanup_close_ int fd = memfd_create("berth-pause-layer", MFD_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "memfd_create");
	struct archive *a = archive_write_new();
	if (!a)
		return berr_set(e, ENOMEM, "pause image: archive_write_new");
	int r = -1;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		berr_set(e, EIO, "pause image: %s", archive_error_string(a));
		goto out;
	}
	static const char *const dirs[] = {"dev", "etc", "proc", "sys", "tmp"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (add(a, dirs[i], AE_IFDIR | 0755, NULL, 0, e) < 0)
			goto out;
	if (add(a, "pause", AE_IFREG | 0755, bin, len, e) < 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		berr_set(e, EIO, "pause image: %s", archive_error_string(a));
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		berr_sys(e, "lseek");
		goto out;
	}
	r = image_import_entrypoint(s, fd, name, "/pause", id, e);
out:
	archive_write_free(a);
	return r;
}
