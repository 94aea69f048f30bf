/* Device nodes in the container's /dev: the defaults every container gets
 * (runtime-spec "Default Devices"), the config's linux.devices, and the
 * /dev symlinks. Created with mknodat under an fd resolved in the root;
 * in a user namespace (no mknod) the host's node is bind-mounted instead. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const spec_device default_devices[] = {
    {.path = "/dev/null", .type = 'c', .major = 1, .minor = 3, .has_mode = true, .mode = 0666},
    {.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5, .has_mode = true, .mode = 0666},
    {.path = "/dev/full", .type = 'c', .major = 1, .minor = 7, .has_mode = true, .mode = 0666},
    {.path = "/dev/random", .type = 'c', .major = 1, .minor = 8, .has_mode = true, .mode = 0666},
    {.path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9, .has_mode = true, .mode = 0666},
    {.path = "/dev/tty", .type = 'c', .major = 5, .minor = 0, .has_mode = true, .mode = 0666},
};

static int bind_host_node(int rootfd, const spec_device *d, berr *e)
{
	_cleanup_close_ int tfd = fs_mkfile_in_root(rootfd, d->path, 0000, e);
	if (tfd < 0)
		return -1;
	_cleanup_close_ int sfd = open(d->path, O_PATH | O_CLOEXEC);
	if (sfd < 0)
		return berr_sys(e, "host device %s", d->path);
	if (mount(fs_fd_path(sfd).s, fs_fd_path(tfd).s, NULL, MS_BIND, NULL) < 0)
		return berr_sys(e, "bind host device %s", d->path);
	return 0;
}

static int make_node(int rootfd, const spec_device *d, bool in_userns, berr *e)
{
	if (in_userns)
		return bind_host_node(rootfd, d, e);
	char name[256];
	_cleanup_close_ int parent =
	    fs_parent_in_root(rootfd, d->path, name, sizeof(name), true, e);
	if (parent < 0)
		return -1;
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t perm = d->has_mode ? (d->mode & 07777) : 0666;
	dev_t dev = d->type == 'p' ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
	if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
		return berr_sys(e, "replace %s", d->path);
	if (mknodat(parent, name, type | perm, dev) < 0) {
		if (errno == EPERM)
			return bind_host_node(rootfd, d, e);
		return berr_sys(e, "mknod %s", d->path);
	}
	/* mknod applies the umask; set the mode the config asked for. */
	_cleanup_close_ int nfd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0)
		return berr_sys(e, "open %s", d->path);
	if (fchmodat(parent, name, perm, 0) < 0)
		return berr_sys(e, "chmod %s", d->path);
	uid_t uid = d->has_uid ? d->uid : 0;
	gid_t gid = d->has_gid ? d->gid : 0;
	if (fchownat(nfd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return berr_sys(e, "chown %s", d->path);
	return 0;
}

static bool listed(const spec *s, const char *path)
{
	for (size_t i = 0; i < s->linux_.n_devices; i++)
		if (!strcmp(s->linux_.devices[i].path, path))
			return true;
	return false;
}

static int make_symlink(int rootfd, const char *target, const char *path, berr *e)
{
	char name[64];
	_cleanup_close_ int parent = fs_parent_in_root(rootfd, path, name, sizeof(name), true, e);
	if (parent < 0)
		return -1;
	if (symlinkat(target, parent, name) < 0 && errno != EEXIST)
		return berr_sys(e, "symlink %s", path);
	return 0;
}

/* /dev comes from a bind mount of the host's /dev: leave it alone. */
static bool dev_is_bind(const spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i].destination, "/dev") && s->mounts[i].bind)
			return true;
	return false;
}

int devices_create(const rt_launch *l, int rootfd, berr *e)
{
	const spec *s = l->s;
	bool userns = s->linux_.ns[NS_USER].present;
	if (dev_is_bind(s))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
		if (!listed(s, default_devices[i].path) &&
		    make_node(rootfd, &default_devices[i], userns, e) < 0)
			return berr_ctx(e, "default device %s", default_devices[i].path);
	for (size_t i = 0; i < s->linux_.n_devices; i++)
		if (make_node(rootfd, &s->linux_.devices[i], userns, e) < 0)
			return berr_ctx(e, "linux.devices[%zu]", i);
	static const char *const links[][2] = {
	    {"/proc/self/fd", "/dev/fd"},	{"/proc/self/fd/0", "/dev/stdin"},
	    {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
	    {"pts/ptmx", "/dev/ptmx"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		if (!strcmp(links[i][1], "/dev/ptmx") && listed(s, "/dev/ptmx"))
			continue;
		if (make_symlink(rootfd, links[i][0], links[i][1], e) < 0)
			return -1;
	}
	if (access("/proc/kcore", F_OK) == 0 &&
	    make_symlink(rootfd, "/proc/kcore", "/dev/core", e) < 0)
		return -1;
	return 0;
}
