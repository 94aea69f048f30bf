/* pause, resume, update, events */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* The index of the id, CLI_DONE, or -1 with e set. */
static int id_only(rcli *c, int argc, char **argv, const cli_doc *d, berr *e)
{
	int i = rcli_flags(c, d, NULL, argc, argv, e);
	if (i < 0)
		return i;
	if (argc - i != 1)
		return rcli_usage(d, e);
	return i;
}

int cmd_pause(rcli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pause",
	    "<container-id>",
	    "pause suspends all processes inside the container",
	    "The pause command suspends all processes in the instance of the "
	    "container (the cgroup freezer).",
	    "berth-runtime pause c1",
	    CLI_ARGS_NONE};
	berr e;
	int i = id_only(c, argc, argv, &doc, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0 || rt_pause(&c->ctx, argv[i], true, &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_resume(rcli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "resume",
	    "<container-id>",
	    "resumes all processes that have been previously paused",
	    "The resume command resumes all processes in the instance of the "
	    "container.",
	    "berth-runtime resume c1",
	    CLI_ARGS_NONE};
	berr e;
	int i = id_only(c, argc, argv, &doc, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0 || rt_pause(&c->ctx, argv[i], false, &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

/* "512m" -> 536870912; "-1" stays -1 (unlimited). */
static int parse_size(const char *flag, const char *s, int64_t *out, berr *e)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || errno)
		return berr_set(e, EINVAL, "--%s: expected a size, got \"%s\"", flag, s);
	long long mul = 1;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1LL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1LL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1LL << 30;
		end++;
		break;
	case 't':
	case 'T':
		mul = 1LL << 40;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (v > 0 && v > INT64_MAX / mul))
		return berr_set(e, EINVAL, "--%s: expected a size, got \"%s\"", flag, s);
	*out = v * mul;
	return 0;
}

static void put_int(json_object *parent, const char *obj, const char *key, int64_t v)
{
	json_object *o;
	if (!json_object_object_get_ex(parent, obj, &o)) {
		o = json_object_new_object();
		json_object_object_add(parent, obj, o);
	}
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void put_str(json_object *parent, const char *obj, const char *key, const char *v)
{
	json_object *o;
	if (!json_object_object_get_ex(parent, obj, &o)) {
		o = json_object_new_object();
		json_object_object_add(parent, obj, o);
	}
	json_object_object_add(o, key, json_object_new_string(v));
}

int cmd_update(rcli *c, int argc, char **argv)
{
	const char *resources = NULL, *memory = NULL, *memres = NULL, *swap = NULL, *kmem = NULL,
		   *kmemtcp = NULL, *cpus = NULL, *mems = NULL, *l3 = NULL, *membw = NULL;
	int shares = -1, quota = -2, period = -1, rt_runtime = -1, rt_period = -1, pids = -2,
	    blkio = -1;
	static const cli_doc update_doc = {
	    "update",
	    "[command options] <container-id>",
	    "update container resource constraints",
	    "The update command changes the resource limits of a running container: from a "
	    "linux.resources JSON (--resources FILE, or - for stdin) or from the flags.",
	    "berth-runtime update --memory 64m c1\necho '{\"pids\":{\"limit\":50}}' | "
	    "berth-runtime update -r - c1",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {
	    {"resources", 'r', FLAG_STRING, &resources,
	     "path to a file containing the resources to update or '-' to read from the "
	     "standard input"},
	    {"memory", 0, FLAG_STRING, &memory, "memory limit (in bytes)"},
	    {"memory-reservation", 0, FLAG_STRING, &memres,
	     "memory reservation or soft_limit (in bytes)"},
	    {"memory-swap", 0, FLAG_STRING, &swap,
	     "total memory usage (memory + swap); set '-1' to "
	     "enable unlimited swap"},
	    {"kernel-memory", 0, FLAG_STRING, &kmem, "kernel memory limit (in bytes)"},
	    {"kernel-memory-tcp", 0, FLAG_STRING, &kmemtcp,
	     "kernel memory limit for tcp buffer (in bytes)"},
	    {"cpu-shares", 0, FLAG_INT, &shares,
	     "CPU shares (relative weight vs. other containers)"},
	    {"cpu-quota", 0, FLAG_INT, &quota, "CPU CFS quota in microseconds"},
	    {"cpu-period", 0, FLAG_INT, &period,
	     "CPU CFS period to be used for hardcapping (in usecs)"},
	    {"cpu-rt-runtime", 0, FLAG_INT, &rt_runtime, "CPU realtime runtime in usecs"},
	    {"cpu-rt-period", 0, FLAG_INT, &rt_period, "CPU realtime period in usecs"},
	    {"cpuset-cpus", 0, FLAG_STRING, &cpus, "CPU(s) to use"},
	    {"cpuset-mems", 0, FLAG_STRING, &mems, "memory node(s) to use"},
	    {"pids-limit", 0, FLAG_INT, &pids, "maximum number of pids allowed in the container"},
	    {"blkio-weight", 0, FLAG_INT, &blkio,
	     "specifies per cgroup weight, range is from 10 to 1000"},
	    {"l3-cache-schema", 0, FLAG_STRING, &l3, "the string of Intel RDT/CAT L3 cache schema"},
	    {"mem-bw-schema", 0, FLAG_STRING, &membw,
	     "the string of Intel RDT/MBA memory bandwidth schema"},
	    {0},
	};
	berr e;
	int i = rcli_flags(c, &update_doc, defs, argc, argv, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0)
		return rcli_fail(c, &e);
	if (argc - i != 1) {
		berr_set(&e, EINVAL,
			 "usage: berth-runtime update [--resources FILE|-] [--memory N] "
			 "[--cpu-quota N] [--pids-limit N] ... ID");
		return rcli_fail(c, &e);
	}
	json_object *res = NULL;
	if (resources) {
		_cleanup_free_ char *text = NULL;
		int r = !strcmp(resources, "-")
			    ? fs_read_fd(STDIN_FILENO, &text, NULL, &e)
			    : fs_read_file_at(AT_FDCWD, resources, &text, NULL, &e);
		if (r < 0) {
			berr_ctx(&e, "--resources");
			return rcli_fail(c, &e);
		}
		res = json_tokener_parse(text);
		if (!res || !json_object_is_type(res, json_type_object)) {
			json_object_put(res);
			berr_set(&e, EINVAL, "--resources %s: not a JSON object", resources);
			return rcli_fail(c, &e);
		}
	} else {
		res = json_object_new_object();
	}
	struct {
		const char *flag, *val, *obj, *key;
	} sizes[] = {{"memory", memory, "memory", "limit"},
		     {"memory-reservation", memres, "memory", "reservation"},
		     {"memory-swap", swap, "memory", "swap"},
		     {"kernel-memory", kmem, "memory", "kernel"},
		     {"kernel-memory-tcp", kmemtcp, "memory", "kernelTCP"}};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int64_t v = 0;
		if (!sizes[k].val)
			continue;
		if (parse_size(sizes[k].flag, sizes[k].val, &v, &e) < 0) {
			json_object_put(res);
			return rcli_fail(c, &e);
		}
		put_int(res, sizes[k].obj, sizes[k].key, v);
	}
	if (shares >= 0)
		put_int(res, "cpu", "shares", shares);
	if (quota != -2)
		put_int(res, "cpu", "quota", quota);
	if (period >= 0)
		put_int(res, "cpu", "period", period);
	if (rt_runtime >= 0)
		put_int(res, "cpu", "realtimeRuntime", rt_runtime);
	if (rt_period >= 0)
		put_int(res, "cpu", "realtimePeriod", rt_period);
	if (cpus)
		put_str(res, "cpu", "cpus", cpus);
	if (mems)
		put_str(res, "cpu", "mems", mems);
	if (pids != -2)
		put_int(res, "pids", "limit", pids);
	if (blkio >= 0)
		put_int(res, "blockIO", "weight", blkio);
	/* Validate through the one config parser: wrap into a config. */
	json_object *doc = json_object_new_object();
	json_object *root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string("/"));
	json_object_object_add(doc, "root", root);
	json_object *lin = json_object_new_object();
	json_object_object_add(lin, "resources", res);
	json_object_object_add(doc, "linux", lin);
	size_t len;
	const char *text = json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &len);
	spec *sp = NULL;
	int r = spec_parse(text, len, "update", &sp, &e);
	json_object_put(doc);
	if (r == 0)
		r = rt_update(&c->ctx, argv[i], &sp->linux_.resources, &e);
	spec_free(sp);
	if (r < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_events(rcli *c, int argc, char **argv)
{
	bool stats = false;
	int interval = 5;
	const char *interval_s = NULL;
	static const cli_doc doc = {
	    "events",
	    "[command options] <container-id>",
	    "display container events such as OOM notifications, cpu, memory, and IO usage "
	    "statistics",
	    "One JSON object a line, as runc prints them.",
	    "berth-runtime events --stats c1\nberth-runtime events --interval 1s c1",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {
	    {"stats", 0, FLAG_BOOL, &stats, "display the container's stats then exit"},
	    {"interval", 0, FLAG_STRING, &interval_s, "set the stats collection interval", NULL,
	     "5s"},
	    {0}};
	berr e;
	int i = rcli_flags(c, &doc, defs, argc, argv, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0)
		return rcli_fail(c, &e);
	if (argc - i != 1) {
		berr_set(&e, EINVAL, "usage: berth-runtime events [--stats] [--interval 5s] ID");
		return rcli_fail(c, &e);
	}
	if (interval_s) {
		char *end;
		interval = (int)strtol(interval_s, &end, 10);
		if (interval <= 0 || (*end && strcmp(end, "s"))) {
			berr_set(&e, EINVAL, "--interval: expected seconds like 5s, got \"%s\"",
				 interval_s);
			return rcli_fail(c, &e);
		}
	}
	const char *id = argv[i];
	char *json = NULL;
	if (stats) {
		if (rt_stats_json(&c->ctx, id, &json, &e) < 0)
			return rcli_fail(c, &e);
		printf("%s\n", json);
		free(json);
		return 0;
	}
	rt_oom_watch w = {.fd = -1};
	if (rt_oom_open(&c->ctx, id, &w, &e) < 0)
		return rcli_fail(c, &e);
	int ret = 0;
	while (rt_is_running(&c->ctx, id)) {
		struct pollfd p = {.fd = w.fd, .events = POLLIN};
		int n = poll(&p, 1, interval * 1000);
		if (n > 0) {
			uint64_t kills = 0;
			if (rt_oom_read(&w, &kills, &e) == 0 && kills > 0) {
				printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
				fflush(stdout);
			}
			continue;
		}
		if (rt_stats_json(&c->ctx, id, &json, &e) < 0)
			break;
		/* one line per event, as runc prints them */
		json_object *o = json_tokener_parse(json);
		printf("%s\n",
		       o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : json);
		json_object_put(o);
		free(json);
		fflush(stdout);
	}
	rt_oom_close(&w);
	return ret;
}
