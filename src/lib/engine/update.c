/* update: a container's resource limits and restart policy changed after
 * its creation (docker update): applied to the running container's cgroup
 * (rt_update, through the one OCI config parser), then written into its
 * bundle's config.json (the next start gets them) and its record's
 * HostConfig (inspect shows them). Nothing is saved when the live change
 * fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/container.h"
#include "engine/health.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static json_object *child(json_object *o, const char *k)
{
	json_object *c;
	if (json_object_object_get_ex(o, k, &c) && json_object_is_type(c, json_type_object))
		return c;
	c = json_object_new_object();
	json_object_object_add(o, k, c);
	return c;
}

static void put_i64(json_object *o, const char *obj, const char *k, int64_t v)
{
	json_object_object_add(obj ? child(o, obj) : o, k, json_object_new_int64(v));
}

static int check(const eng_update_opts *o, eng_restart_policy *pol, berr *e)
{
	if (o->memory < 0 || (o->memory && o->memory < 6 * 1024 * 1024))
		return berr_set(e, EINVAL, "invalid memory %lld: the minimum is 6 MiB",
				(long long)o->memory);
	if (o->memory_swap < -1 || (o->memory_swap > 0 && o->memory && o->memory_swap < o->memory))
		return berr_set(e, EINVAL,
				"invalid memory swap %lld: it is memory plus swap, not less than "
				"the memory limit",
				(long long)o->memory_swap);
	if (o->nano_cpus < 0 || o->cpu_quota < -1 || o->cpu_period < 0 || o->cpu_shares < 0 ||
	    o->pids_limit < -1 || o->blkio_weight < 0)
		return berr_set(e, EINVAL, "a negative resource limit");
	if (o->nano_cpus && (o->cpu_quota || o->cpu_period))
		return berr_set(
		    e, EINVAL,
		    "conflicting options: CPU quota or period and nano CPUs cannot both "
		    "be set");
	if (o->nano_cpus && (o->nano_cpus < 10000000 || o->nano_cpus > 1024 * 1000000000LL))
		return berr_set(e, EINVAL, "invalid nano CPUs %lld: 0.01 to 1024 CPUs",
				(long long)o->nano_cpus);
	if (o->cpu_period && (o->cpu_period < 1000 || o->cpu_period > 1000000))
		return berr_set(e, EINVAL, "invalid CPU period %lld: 1000 to 1000000 µs",
				(long long)o->cpu_period);
	if (o->cpu_quota > 0 && o->cpu_quota < 1000)
		return berr_set(e, EINVAL, "invalid CPU quota %lld: at least 1000 µs",
				(long long)o->cpu_quota);
	if (o->cpu_shares && (o->cpu_shares < 2 || o->cpu_shares > 262144))
		return berr_set(e, EINVAL, "invalid CPU shares %lld: 2 to 262144",
				(long long)o->cpu_shares);
	if (o->blkio_weight && (o->blkio_weight < 10 || o->blkio_weight > 1000))
		return berr_set(e, EINVAL, "invalid blkio weight %lld: 10 to 1000",
				(long long)o->blkio_weight);
	if (o->restart && eng_restart_parse(o->restart, pol, e) < 0)
		return -1;
	return 0;
}

/* The changes as linux.resources (an object the caller owns). */
static json_object *resources_of(const eng_update_opts *o)
{
	json_object *res = json_object_new_object();
	if (o->memory)
		put_i64(res, "memory", "limit", o->memory);
	if (o->memory_swap)
		put_i64(res, "memory", "swap", o->memory_swap);
	int64_t quota = o->cpu_quota, period = o->cpu_period;
	if (o->nano_cpus) {
		period = 100000;
		quota = o->nano_cpus / 10000;
	}
	if (quota)
		put_i64(res, "cpu", "quota", quota);
	if (period)
		put_i64(res, "cpu", "period", period);
	if (o->cpu_shares)
		put_i64(res, "cpu", "shares", o->cpu_shares);
	if (o->pids_limit)
		put_i64(res, "pids", "limit", o->pids_limit);
	if (o->blkio_weight)
		put_i64(res, "blockIO", "weight", o->blkio_weight);
	return res;
}

/* res merged into config (linux.resources), field by field. */
static void merge(json_object *config, json_object *res)
{
	json_object *dst = child(child(config, "linux"), "resources");
	json_object_object_foreach(res, k, v)
	{
		json_object *d = child(dst, k);
		json_object_object_foreach(v, kk, vv)
		    json_object_object_add(d, kk, json_object_get(vv));
	}
}

static int apply_live(eng *g, const char *id, json_object *res, berr *e)
{
	json_object *doc = json_object_new_object();
	json_object *root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string("/"));
	json_object_object_add(doc, "root", root);
	json_object_object_add(child(doc, "linux"), "resources", json_object_get(res));
	size_t len;
	const char *text = json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &len);
	spec *sp = NULL;
	int r = spec_parse(text, len, "update", &sp, e);
	json_object_put(doc);
	if (r == 0)
		r = rt_update(&g->rt, id, &sp->linux_.resources, e);
	spec_free(sp);
	return r;
}

static void record(json_object *doc, const eng_update_opts *o, const eng_restart_policy *pol)
{
	json_object *hc = child(doc, "HostConfig");
	if (o->memory)
		put_i64(hc, NULL, "Memory", o->memory);
	if (o->memory_swap)
		put_i64(hc, NULL, "MemorySwap", o->memory_swap);
	if (o->nano_cpus) {
		put_i64(hc, NULL, "NanoCpus", o->nano_cpus);
		put_i64(hc, NULL, "CpuQuota", o->nano_cpus / 10000);
		put_i64(hc, NULL, "CpuPeriod", 100000);
	}
	if (o->cpu_quota || o->cpu_period) {
		if (o->cpu_quota)
			put_i64(hc, NULL, "CpuQuota", o->cpu_quota);
		if (o->cpu_period)
			put_i64(hc, NULL, "CpuPeriod", o->cpu_period);
		put_i64(hc, NULL, "NanoCpus", 0);
	}
	if (o->cpu_shares)
		put_i64(hc, NULL, "CpuShares", o->cpu_shares);
	if (o->pids_limit)
		put_i64(hc, NULL, "PidsLimit", o->pids_limit);
	if (o->blkio_weight)
		put_i64(hc, NULL, "BlkioWeight", o->blkio_weight);
	if (o->restart) {
		static const char *const names[] = {"no", "always", "on-failure", "unless-stopped"};
		json_object *rp = json_object_new_object();
		json_object_object_add(rp, "Name", json_object_new_string(names[pol->kind]));
		json_object_object_add(rp, "MaximumRetryCount",
				       json_object_new_int(pol->max_retries));
		json_object_object_add(hc, "RestartPolicy", rp);
	}
}

int eng_container_update(eng *g, const char *id, const eng_update_opts *o, berr *e)
{
	eng_restart_policy pol = {0};
	if (check(o, &pol, e) < 0)
		return -1;
	json_object *doc = NULL;
	const char *st = eng_container_status(g, id, &doc);
	if (!st)
		return berr_set(e, ENOENT, "no such container: %.12s", id);
	int r = -1;
	json_object *res = resources_of(o), *config = NULL;
	_cleanup_free_ char *cpath = eng_path(g, id, "config.json");
	char *text = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, cpath, &text, &len, e) < 0)
		goto out;
	config = json_tokener_parse(text);
	free(text);
	if (!config || !json_object_is_type(config, json_type_object)) {
		berr_set(e, EINVAL, "%s: not a JSON object", cpath);
		goto out;
	}
	if (json_object_object_length(res) && eng_status_live(st) &&
	    apply_live(g, id, res, e) < 0) {
		berr_ctx(e, "update container %.12s", id);
		goto out;
	}
	merge(config, res);
	const char *out = json_object_to_json_string_ext(config, JSON_C_TO_STRING_PRETTY);
	if (eng_lock(g, true, e) < 0)
		goto out;
	/* the record read again under the lock: what changed since is kept */
	json_object_put(doc);
	doc = eng_load(g, id, e);
	if (doc) {
		record(doc, o, &pol);
		r = fs_write_atomic(cpath, out, strlen(out), 0644, false, e);
		if (r == 0)
			r = eng_save(g, id, doc, e);
	}
	eng_unlock(g);
out:
	json_object_put(res);
	json_object_put(config);
	json_object_put(doc);
	return r;
}
