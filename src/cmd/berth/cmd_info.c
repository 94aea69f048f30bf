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
	eng *g = ctr_open(c, &e);
	json_object *o = g ? eng_info(g, c->run_root, &e) : NULL;
	eng_close(g);
	if (!o)
		return cli_fail(125, &e);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	else
		print_text(o);
	json_object_put(o);
	return 0;
}
