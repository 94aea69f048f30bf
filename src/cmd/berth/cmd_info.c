/* berth info: `docker info` trimmed to what berth knows. One json object is
 * built (Docker's field names) and printed as text or, with --format json
 * (or '{{json .}}'), as it is. */
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/magic.h>

#include "cli.h"
#include "ctr.h"
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

static int count_containers(cli *c, json_object *info, berr *e)
{
	eng *g = ctr_open(c, e);
	if (!g)
		return -1;
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
	eng_close(g);
	json_object_object_add(info, "Containers", json_object_new_int64(all));
	json_object_object_add(info, "ContainersRunning", json_object_new_int64(run));
	json_object_object_add(info, "ContainersPaused", json_object_new_int64(paused));
	json_object_object_add(info, "ContainersStopped", json_object_new_int64(stopped));
	return 0;
}

static int count_images(cli *c, json_object *info, berr *e)
{
	_cleanup_store_ img_store *s = store_open(c->root, e);
	img_index x;
	if (!s || index_load(s, &x, e) < 0)
		return -1;
	json_object_object_add(info, "Images", json_object_new_int64((int64_t)x.n));
	index_free(&x);
	return 0;
}

static json_object *gather(cli *c, berr *e)
{
	json_object *info = json_object_new_object();
	if (count_containers(c, info, e) < 0 || count_images(c, info, e) < 0) {
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
	json_object_object_add(info, "DockerRootDir", json_object_new_string(c->root));
	json_object_object_add(info, "RunRoot", json_object_new_string(c->run_root));
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

static const char *str(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static void print_maps(json_object *o, const char *k, const char *title)
{
	json_object *a;
	if (!json_object_object_get_ex(o, k, &a))
		return;
	printf(" %s:\n", title);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *m = json_object_array_get_idx(a, i);
		printf("  %s %s %s\n", str(m, "ContainerID"), str(m, "HostID"), str(m, "Size"));
	}
}

static void print_text(json_object *o)
{
	printf("Server:\n Containers: %s\n  Running: %s\n  Paused: %s\n  Stopped: %s\n",
	       str(o, "Containers"), str(o, "ContainersRunning"), str(o, "ContainersPaused"),
	       str(o, "ContainersStopped"));
	printf(" Images: %s\n Storage Driver: %s\n", str(o, "Images"), str(o, "Driver"));
	json_object *ds, *kv;
	json_object_object_get_ex(o, "DriverStatus", &ds);
	kv = json_object_array_get_idx(ds, 0);
	printf("  %s: %s\n", json_object_get_string(json_object_array_get_idx(kv, 0)),
	       json_object_get_string(json_object_array_get_idx(kv, 1)));
	printf(" Docker Root Dir: %s\n Run Root: %s\n", str(o, "DockerRootDir"), str(o, "RunRoot"));
	printf(" Cgroup Driver: %s\n Cgroup Version: %s\n", str(o, "CgroupDriver"),
	       str(o, "CgroupVersion"));
	json_object *so;
	json_object_object_get_ex(o, "SecurityOptions", &so);
	printf(" Security Options:\n");
	for (size_t i = 0; i < json_object_array_length(so); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(so, i));
		const char *comma = strchr(s, ',');
		printf("  %.*s\n", comma ? (int)(comma - s - 5) : (int)strlen(s) - 5, s + 5);
		if (comma)
			printf("   Profile: %s\n", strchr(comma, '=') + 1);
	}
	printf(" Rootless: %s\n", str(o, "Rootless"));
	print_maps(o, "UIDMap", "UID Map");
	print_maps(o, "GIDMap", "GID Map");
	printf(" Kernel Version: %s\n Operating System: %s\n OSType: %s\n Architecture: %s\n",
	       str(o, "KernelVersion"), str(o, "OperatingSystem"), str(o, "OSType"),
	       str(o, "Architecture"));
	json_object *mem;
	double gib = json_object_object_get_ex(o, "MemTotal", &mem)
			 ? (double)json_object_get_int64(mem) / (1024.0 * 1024 * 1024)
			 : 0;
	printf(" CPUs: %s\n Total Memory: %.2fGiB\n", str(o, "NCPU"), gib);
}

int cmd_info(cli *c, int argc, char **argv)
{
	const char *format = NULL;
	static const cli_doc doc = {
	    "info",
	    "[OPTIONS]",
	    "Display system-wide information",
	    "Containers and images in the store, the storage driver, cgroups, "
	    "security options, whether rootless (with the user namespace's id "
	    "maps), the kernel and the machine.",
	    "berth info\nberth info --format json",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {{"format", 'f', FLAG_STRING, &format,
				  "Format: json or '{{json .}}' (default: text)", "string"},
				 {0}};
	int status, i = cli_flags(c, &doc, defs, argc, argv, &status);
	if (i < 0)
		return status;
	if (i < argc)
		return cli_failf(125, "\"info\" accepts no arguments");
	bool json = false;
	if (format) {
		if (strcmp(format, "json") && strcmp(format, "{{json .}}"))
			return cli_failf(125,
					 "info: --format: only json or '{{json .}}' is supported");
		json = true;
	}
	berr e;
	json_object *o = gather(c, &e);
	if (!o)
		return cli_fail(125, &e);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	else
		print_text(o);
	json_object_put(o);
	return 0;
}
