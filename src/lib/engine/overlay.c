/* The container rootfs mount: kernel overlayfs, or fuse-overlayfs where the
 * kernel refuses overlay in the caller's user namespace.
 *
 * A rootless store runs as uid 0 of the user's namespace: the kernel's
 * overlayfs (since 5.11) mounts there only with `userxattr`, keeping its own
 * metadata in user.overlay.* (trusted.* is the initial namespace's). Older
 * kernels refuse the mount (EPERM, or EINVAL for the unknown option): then
 * fuse-overlayfs, as Podman does, over the same lower/upper/work dirs. It
 * mounts with mount(2) itself (uid 0 of the namespace) and daemonizes once
 * the mount is up; unmounting the target (umount2, as for the kernel's)
 * ends the daemon. BERTH_STORAGE_DRIVER=fuse-overlayfs forces it. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/idmap.h"
#include "util/xalloc.h"

extern char **environ;

bool eng_overlay_fuse_forced(void)
{
	const char *d = getenv("BERTH_STORAGE_DRIVER");
	return d && strcmp(d, "fuse-overlayfs") == 0;
}

const char *eng_overlay_driver(void)
{
	return eng_overlay_fuse_forced() ? "fuse-overlayfs" : "overlay";
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
}

/* fuse-overlayfs -o lowerdir=..,upperdir=..,workdir=..,allow_other TARGET:
 * returns once the mount is up (the daemon forks off after it); its error
 * text from stderr goes into e. allow_other: the container's users are
 * other ids than the mounter's. */
static int fuse_mount(const char *lower, const char *upper, const char *work, const char *target,
		      berr *e)
{
	_cleanup_free_ char *opts =
	    xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,allow_other", lower, upper, work);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berr_sys(e, "pipe");
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(p[0]);
		close(p[1]);
		return berr_set(e, ENOMEM, "posix_spawn_file_actions_init");
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	char *argv[] = {"fuse-overlayfs", "-o", opts, (char *)target, NULL};
	pid_t pid;
	int r = posix_spawnp(&pid, "fuse-overlayfs", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		return berr_set(e, r, "mount %s: run fuse-overlayfs: %s", target, strerror(r));
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			int en = errno;
			close(p[0]);
			return berr_set(e, en, "waitpid fuse-overlayfs: %s", strerror(en));
		}
	}
	/* the daemon's stdio is /dev/null: nothing more comes after the exit */
	char msg[512] = "";
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == 0) {
		ssize_t n = read(p[0], msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = 0;
	}
	close(p[0]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	trim(msg);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return berr_set(e, ENOENT, "mount %s: fuse-overlayfs not found", target);
	return berr_set(e, EIO, "mount %s: fuse-overlayfs failed (status %d)%s%s", target,
			WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), *msg ? ": " : "",
			msg);
}

int eng_overlay_mount(const char *lower, const char *upper, const char *work, const char *target,
		      berr *e)
{
	if (eng_overlay_fuse_forced())
		return fuse_mount(lower, upper, work, target, e);
	bool rootless = idmap_in_userns();
	_cleanup_free_ char *data = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s%s", lower, upper,
					      work, rootless ? ",userxattr" : "");
	if (mount("overlay", target, "overlay", 0, data) == 0)
		return 0;
	int en = errno;
	if (!rootless || (en != EPERM && en != EINVAL)) {
		errno = en;
		return berr_sys(e, "mount overlay on %s", target);
	}
	berr fe;
	if (fuse_mount(lower, upper, work, target, &fe) == 0)
		return 0;
	return berr_set(e, en, "mount overlay on %s: %s (in a user namespace), and %s", target,
			strerror(en), fe.msg);
}
