/* `docker info` as far as berth knows it (info.c), Docker's field names:
 * the containers by state, the images, the storage driver, cgroups,
 * security options, rootless id maps, the kernel and the machine. Shared by
 * `berth info` and the API's GET /info. */
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/magic.h>

#include "engine/engine.h"
#include "image/image.h"
#include "image/index.h"
#include "util/cleanup.h"
#include "util/idmap.h"
#include "util/xalloc.h"

static const char *cgroup_version(void)
{
	struct statfs s;
	if (statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
		return "2";
	if (statfs("/sys/fs/cgroup/unified", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
		return "hybrid";
	return "1";
}

static json_object *os_name(void)
{
	FILE *f = fopen("/etc/os-release", "re");
	char line[512], out[512] = "Linux";
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		char *v = line + 12;
		v[strcspn(v, "\n")] = 0;
		size_t n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v[n - 1] = 0;
			v++;
		}
		snprintf(out, sizeof(out), "%s", v);
	}
	if (f)
		fclose(f);
	return json_object_new_string(out);
}

static json_object *map_json(const char *which)
{
	idmap m;
	berr e;
	json_object *a = json_object_new_array();
	if (idmap_read_self(which, &m, &e) < 0)
		return a;
	for (size_t i = 0; i < m.n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "ContainerID", json_object_new_int64(m.r[i].inside));
		json_object_object_add(o, "HostID", json_object_new_int64(m.r[i].outside));
		json_object_object_add(o, "Size", json_object_new_int64(m.r[i].count));
		json_object_array_add(a, o);
	}
	return a;
}

static void count_containers(eng *g, json_object *info)
{
	int64_t run = 0, paused = 0, stopped = 0, all = 0;
	char **ids = eng_list(g);
	for (char **p = ids; p && *p; p++) {
		berr ig;
		json_object *d = eng_load(g, *p, &ig);
		if (!d)
			continue;
		const char *s = eng_reconcile(g, *p, d);
		if (strcmp(s, "creating")) {
			all++;
			if (!strcmp(s, "running"))
				run++;
			else if (!strcmp(s, "paused"))
				paused++;
			else
				stopped++;
		}
		json_object_put(d);
	}
	strv_free(ids);
	json_object_object_add(info, "Containers", json_object_new_int64(all));
	json_object_object_add(info, "ContainersRunning", json_object_new_int64(run));
	json_object_object_add(info, "ContainersPaused", json_object_new_int64(paused));
	json_object_object_add(info, "ContainersStopped", json_object_new_int64(stopped));
}

static int count_images(eng *g, json_object *info, berr *e)
{
	_cleanup_store_ img_store *s = store_open(g->root, e);
	img_index x;
	if (!s || index_load(s, &x, e) < 0)
		return -1;
	json_object_object_add(info, "Images", json_object_new_int64((int64_t)x.n));
	index_free(&x);
	return 0;
}

json_object *eng_info(eng *g, const char *run_root, berr *e)
{
	json_object *info = json_object_new_object();
	count_containers(g, info);
	if (count_images(g, info, e) < 0) {
		json_object_put(info);
		return NULL;
	}
	bool fuse = !strcmp(eng_overlay_driver(), "fuse-overlayfs"), rootless = idmap_in_userns();
	json_object_object_add(info, "Driver", json_object_new_string("overlay"));
	json_object *ds = json_object_new_array();
	json_object *kv = json_object_new_array();
	json_object_array_add(
	    kv, json_object_new_string(fuse ? "Mount Program" : "Native Overlay Diff"));
	json_object_array_add(kv, json_object_new_string(fuse ? "fuse-overlayfs" : "true"));
	json_object_array_add(ds, kv);
	json_object_object_add(info, "DriverStatus", ds);
	json_object_object_add(info, "DockerRootDir", json_object_new_string(g->root));
	json_object_object_add(info, "RunRoot", json_object_new_string(run_root));
	json_object_object_add(info, "CgroupDriver", json_object_new_string("cgroupfs"));
	json_object_object_add(info, "CgroupVersion", json_object_new_string(cgroup_version()));
	json_object *so = json_object_new_array();
	json_object_array_add(so, json_object_new_string("name=seccomp,profile=builtin"));
	if (rootless)
		json_object_array_add(so, json_object_new_string("name=rootless"));
	json_object_array_add(so, json_object_new_string("name=userns"));
	json_object_object_add(info, "SecurityOptions", so);
	json_object_object_add(info, "Rootless", json_object_new_boolean(rootless));
	if (rootless) {
		json_object_object_add(info, "UIDMap", map_json("uid"));
		json_object_object_add(info, "GIDMap", map_json("gid"));
	}
	struct utsname u;
	if (uname(&u) == 0) {
		json_object_object_add(info, "KernelVersion", json_object_new_string(u.release));
		json_object_object_add(info, "Architecture", json_object_new_string(u.machine));
	}
	json_object_object_add(info, "OperatingSystem", os_name());
	json_object_object_add(info, "OSType", json_object_new_string("linux"));
	json_object_object_add(info, "NCPU", json_object_new_int64(sysconf(_SC_NPROCESSORS_ONLN)));
	struct sysinfo si;
	if (sysinfo(&si) == 0)
		json_object_object_add(info, "MemTotal",
				       json_object_new_int64((int64_t)si.totalram * si.mem_unit));
	return info;
}
