/* Layer tar streams: unpacking into a directory and decompression.
 *
 * Why our own extraction on top of libarchive's reader rather than
 * archive_write_disk with ARCHIVE_EXTRACT_SECURE_*: those flags check paths
 * as strings against the state of the disk at check time and refuse (not
 * contain) symlinked parents, and they know nothing of OCI whiteouts. Here
 * every entry is created relative to an fd of its parent directory, which is
 * itself resolved with openat2(RESOLVE_IN_ROOT) from the layer root, so `..`,
 * absolute names, symlinks planted by earlier entries (even absolute ones)
 * and hard-link targets all resolve inside the layer: nothing can be written
 * outside it whatever the tar holds. On top, names with `..` components are
 * refused outright.
 *
 * Compression is detected by magic (gzip, zstd, xz, bzip2 or none), not by
 * media type. The diffID (sha256 of the uncompressed tar) is computed while
 * unpacking. OCI whiteouts become overlayfs markers: `.wh.NAME` a 0/0
 * character device NAME, `.wh..wh..opq` the xattr trusted.overlay.opaque=y
 * on the directory (user.overlay.opaque and user.fuseoverlayfs.opaque in a
 * user namespace, where trusted.* cannot be set and the overlay is mounted
 * with userxattr; both names are refused from the tar itself).
 *
 * In a user namespace (rootless berth, util/idmap.h) an owner the namespace
 * does not map (single-uid mode maps only 0) becomes 0, the caller, and a
 * device node (mknod is refused there) is skipped: both are counted in the
 * unpack_stats so the front end can say so, as Podman does. */
#pragma once

#include "image/digest.h"
#include "util/error.h"

/* Unpack the layer read from `fd` into the directory `dirfd` (which should be
 * empty). On error the directory holds a partial tree: the caller removes it. */
int unpack_layer(int fd, int dirfd, dg_str *diff_id, berr *e);
/* The same with a limit on the uncompressed size (0: none): past `max`
 * bytes it stops with EFBIG (the bytes up to there are written). */
int unpack_layer_max(int fd, int dirfd, unsigned long long max, dg_str *diff_id, berr *e);

typedef struct unpack_stats {
	unsigned long remapped; /* entries whose unmapped owner became 0 */
	unsigned long devices;	/* device nodes skipped (no mknod in a user namespace) */
} unpack_stats;
/* unpack_layer_max, adding to *st (may be NULL). */
int unpack_layer_stats(int fd, int dirfd, unsigned long long max, dg_str *diff_id, unpack_stats *st,
		       berr *e);

/* Unpack an image archive (docker-archive, oci-archive) the same way, but
 * only regular files, directories, symlinks and hard links: an entry of any
 * other type (a FIFO would block its reader, a device never ends) fails the
 * unpack; names starting with .wh. are plain names, and ownership is not
 * restored. */
int unpack_archive(int fd, int dirfd, berr *e);

/* Decompress (by magic) `in` into `out` (out < 0: discard), returning the
 * digest and size of the uncompressed stream. */
int unpack_decompress(int in, int out, dg_str *digest, unsigned long long *size, berr *e);
int unpack_decompress_max(int in, int out, unsigned long long max, dg_str *digest,
			  unsigned long long *size, berr *e);
