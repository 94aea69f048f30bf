/* tmpcopyup (runc and crun's mount extension, used by Podman for --read-only
 * tmpfs mounts): the image's content at a tmpfs mount point is copied into
 * the new tmpfs. Works on fds only: the source is the directory as it was
 * before the mount (an fd opened first), the destination the new mount. */
#include "runtime/internal.h"
#include "util/fs.h"

int mount_copy_up(int src_dirfd, int dst_dirfd, berr *e)
{
	if (fs_copy_tree(src_dirfd, dst_dirfd, e) < 0)
		return berr_ctx(e, "tmpcopyup");
	return 0;
}
