/* --privileged gets the host's devices, as Docker and Podman give them:
 * every character and block device under /dev (subdirectories too), as
 * linux.devices entries with the host's major/minor, mode and owner. Not
 * what the container gets anyway (its own devpts, shm, mqueue; console and
 * ptmx are the runtime's) and not symlinks. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/xalloc.h"

static bool skipped(const char *path)
{
	static const char *const skip[] = {"/dev/pts",	   "/dev/shm",	"/dev/mqueue",
					   "/dev/console", "/dev/ptmx", "/dev/fd"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(path, skip[i]))
			return true;
	return false;
}

static void walk(int dfd, const char *path, int depth, json_object *out)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", path, de->d_name);
		struct stat st;
		if (skipped(p) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth < 4) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				walk(sub, p, depth + 1, out);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "path", json_object_new_string(p));
			json_object_object_add(
			    o, "type", json_object_new_string(S_ISCHR(st.st_mode) ? "c" : "b"));
			json_object_object_add(o, "major",
					       json_object_new_int64(major(st.st_rdev)));
			json_object_object_add(o, "minor",
					       json_object_new_int64(minor(st.st_rdev)));
			json_object_object_add(o, "fileMode",
					       json_object_new_int64(st.st_mode & 07777));
			json_object_object_add(o, "uid", json_object_new_int64(st.st_uid));
			json_object_object_add(o, "gid", json_object_new_int64(st.st_gid));
			json_object_array_add(out, o);
		}
		free(p);
	}
	closedir(d);
}

json_object *eng_host_devices(void)
{
	json_object *out = json_object_new_array();
	int dfd = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		walk(dfd, "/dev", 0, out);
	return out;
}
