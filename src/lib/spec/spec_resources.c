/* linux.resources: the cgroup limits. */
#include <string.h>

#include "spec/spec_internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int parse_memory(sctx *c, json_object *ro, const char *rpath, spec_resources *r)
{
	json_object *o;
	jpath p;
	int x = jk_obj(c, ro, rpath, "memory", false, &o, &p);
	if (x <= 0)
		return x;
	/* -1 means unlimited; other negative values are invalid. */
	if (jk_opt_i64(c, o, p.s, "limit", -1, INT64_MAX, &r->memory.limit) < 0 ||
	    jk_opt_i64(c, o, p.s, "reservation", -1, INT64_MAX, &r->memory.reservation) < 0 ||
	    jk_opt_i64(c, o, p.s, "swap", -1, INT64_MAX, &r->memory.swap) < 0 ||
	    jk_opt_i64(c, o, p.s, "kernel", -1, INT64_MAX, &r->memory.kernel) < 0 ||
	    jk_opt_i64(c, o, p.s, "kernelTCP", -1, INT64_MAX, &r->memory.kernel_tcp) < 0 ||
	    jk_opt_u64(c, o, p.s, "swappiness", 100, &r->memory.swappiness) < 0 ||
	    jk_bool(c, o, p.s, "disableOOMKiller", false, &r->memory.disable_oom_killer) < 0 ||
	    jk_bool(c, o, p.s, "useHierarchy", false, &r->memory.use_hierarchy) < 0 ||
	    jk_bool(c, o, p.s, "checkBeforeUpdate", false, &r->memory.check_before_update) < 0)
		return -1;
	return 0;
}

static int parse_cpu(sctx *c, json_object *ro, const char *rpath, spec_resources *r)
{
	json_object *o;
	jpath p;
	int x = jk_obj(c, ro, rpath, "cpu", false, &o, &p);
	if (x <= 0)
		return x;
	if (jk_opt_u64(c, o, p.s, "shares", UINT64_MAX, &r->cpu.shares) < 0 ||
	    jk_opt_i64(c, o, p.s, "quota", -1, INT64_MAX, &r->cpu.quota) < 0 ||
	    jk_opt_u64(c, o, p.s, "burst", UINT64_MAX, &r->cpu.burst) < 0 ||
	    jk_opt_u64(c, o, p.s, "period", UINT64_MAX, &r->cpu.period) < 0 ||
	    jk_opt_i64(c, o, p.s, "realtimeRuntime", -1, INT64_MAX, &r->cpu.realtime_runtime) < 0 ||
	    jk_opt_u64(c, o, p.s, "realtimePeriod", UINT64_MAX, &r->cpu.realtime_period) < 0 ||
	    jk_str(c, o, p.s, "cpus", false, &r->cpu.cpus) < 0 ||
	    jk_str(c, o, p.s, "mems", false, &r->cpu.mems) < 0 ||
	    jk_opt_i64(c, o, p.s, "idle", 0, 1, &r->cpu.idle) < 0)
		return -1;
	return 0;
}

static int parse_weight_devices(sctx *c, json_object *bo, const char *bpath, spec_resources *r)
{
	json_object *a;
	size_t n;
	jpath p;
	int x = jk_arr(c, bo, bpath, "weightDevice", false, &a, &n, &p);
	if (x <= 0 || !n)
		return x;
	r->block_io.weight_device = xzalloc(n * sizeof(spec_weight_device));
	r->block_io.n_weight_device = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_weight_device *d = &r->block_io.weight_device[i];
		if (jx_type(c, o, ip.s, json_type_object) < 0 ||
		    jk_i64(c, o, ip.s, "major", true, 0, UINT32_MAX, &d->major) < 0 ||
		    jk_i64(c, o, ip.s, "minor", true, 0, UINT32_MAX, &d->minor) < 0 ||
		    jk_opt_u64(c, o, ip.s, "weight", 10000, &d->weight) < 0 ||
		    jk_opt_u64(c, o, ip.s, "leafWeight", 10000, &d->leaf_weight) < 0)
			return -1;
	}
	return 0;
}

static const char *const throttle_keys[4] = {
    [THROTTLE_READ_BPS] = "throttleReadBpsDevice",
    [THROTTLE_WRITE_BPS] = "throttleWriteBpsDevice",
    [THROTTLE_READ_IOPS] = "throttleReadIOPSDevice",
    [THROTTLE_WRITE_IOPS] = "throttleWriteIOPSDevice",
};

static int parse_throttle(sctx *c, json_object *bo, const char *bpath, int k, spec_resources *r)
{
	json_object *a;
	size_t n;
	jpath p;
	int x = jk_arr(c, bo, bpath, throttle_keys[k], false, &a, &n, &p);
	if (x <= 0 || !n)
		return x;
	r->block_io.throttle[k] = xzalloc(n * sizeof(spec_throttle_device));
	r->block_io.n_throttle[k] = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_throttle_device *d = &r->block_io.throttle[k][i];
		if (jx_type(c, o, ip.s, json_type_object) < 0 ||
		    jk_i64(c, o, ip.s, "major", true, 0, UINT32_MAX, &d->major) < 0 ||
		    jk_i64(c, o, ip.s, "minor", true, 0, UINT32_MAX, &d->minor) < 0 ||
		    jk_u64(c, o, ip.s, "rate", true, UINT64_MAX, &d->rate) < 0)
			return -1;
	}
	return 0;
}

static int parse_blockio(sctx *c, json_object *ro, const char *rpath, spec_resources *r)
{
	json_object *o;
	jpath p;
	int x = jk_obj(c, ro, rpath, "blockIO", false, &o, &p);
	if (x <= 0)
		return x;
	if (jk_opt_u64(c, o, p.s, "weight", 10000, &r->block_io.weight) < 0 ||
	    jk_opt_u64(c, o, p.s, "leafWeight", 10000, &r->block_io.leaf_weight) < 0 ||
	    parse_weight_devices(c, o, p.s, r) < 0)
		return -1;
	for (int k = 0; k < 4; k++)
		if (parse_throttle(c, o, p.s, k, r) < 0)
			return -1;
	return 0;
}

static int parse_hugepages(sctx *c, json_object *ro, const char *rpath, spec_resources *r)
{
	json_object *a;
	size_t n;
	jpath p;
	int x = jk_arr(c, ro, rpath, "hugepageLimits", false, &a, &n, &p);
	if (x <= 0 || !n)
		return x;
	r->hugepages = xzalloc(n * sizeof(spec_hugepage));
	r->n_hugepages = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_hugepage *h = &r->hugepages[i];
		if (jx_type(c, o, ip.s, json_type_object) < 0 ||
		    jk_str(c, o, ip.s, "pageSize", true, &h->page_size) < 0 ||
		    jk_u64(c, o, ip.s, "limit", true, UINT64_MAX, &h->limit) < 0)
			return -1;
		/* It becomes part of a cgroup file name: hugetlb.<size>.limit_in_bytes */
		if (!h->page_size[0] || strchr(h->page_size, '/') || strchr(h->page_size, '.')) {
			jpath sp = jp_key(ip.s, "pageSize");
			return sp_fail(c, sp.s, "invalid page size \"%s\"", h->page_size);
		}
	}
	return 0;
}

static int parse_dev_rules(sctx *c, json_object *ro, const char *rpath, spec_resources *r)
{
	json_object *a;
	size_t n;
	jpath p;
	int x = jk_arr(c, ro, rpath, "devices", false, &a, &n, &p);
	if (x <= 0 || !n)
		return x;
	r->devices = xzalloc(n * sizeof(spec_dev_rule));
	r->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_dev_rule *d = &r->devices[i];
		if (jx_type(c, o, ip.s, json_type_object) < 0 ||
		    jk_bool(c, o, ip.s, "allow", true, &d->allow) < 0)
			return -1;
		_cleanup_free_ char *type = NULL, *access = NULL;
		if ((x = jk_str(c, o, ip.s, "type", false, &type)) < 0)
			return -1;
		d->type = 'a';
		if (x && *type) {
			if (strlen(type) != 1 || !strchr("acb", type[0])) {
				jpath tp = jp_key(ip.s, "type");
				return sp_fail(c, tp.s, "unknown device type \"%s\" (a, c or b)",
					       type);
			}
			d->type = type[0];
		}
		d->major = d->minor = -1;
		if (jk_i64(c, o, ip.s, "major", false, -1, UINT32_MAX, &d->major) < 0 ||
		    jk_i64(c, o, ip.s, "minor", false, -1, UINT32_MAX, &d->minor) < 0)
			return -1;
		if ((x = jk_str(c, o, ip.s, "access", false, &access)) < 0)
			return -1;
		if (!x) {
			strcpy(d->access, "rwm");
			continue;
		}
		size_t k = 0;
		for (const char *ch = access; *ch; ch++) {
			if (!strchr("rwm", *ch) || (k && memchr(d->access, *ch, k)) || k >= 3) {
				jpath ap = jp_key(ip.s, "access");
				return sp_fail(
				    c, ap.s, "invalid access \"%s\" (a subset of \"rwm\")", access);
			}
			d->access[k++] = *ch;
		}
		d->access[k] = '\0';
	}
	return 0;
}

static int parse_network(sctx *c, json_object *ro, const char *rpath, spec_resources *r)
{
	json_object *o;
	jpath p;
	int x = jk_obj(c, ro, rpath, "network", false, &o, &p);
	if (x <= 0)
		return x;
	if (jk_opt_u64(c, o, p.s, "classID", UINT32_MAX, &r->network.class_id) < 0)
		return -1;
	json_object *a;
	size_t n;
	jpath ap;
	if ((x = jk_arr(c, o, p.s, "priorities", false, &a, &n, &ap)) < 0)
		return -1;
	if (!x || !n)
		return 0;
	r->network.priorities = xzalloc(n * sizeof(spec_kv));
	r->network.n_priorities = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(ap.s, i);
		json_object *e = json_object_array_get_idx(a, i);
		spec_kv *kv = &r->network.priorities[i];
		uint64_t prio;
		if (jx_type(c, e, ip.s, json_type_object) < 0 ||
		    jk_str(c, e, ip.s, "name", true, &kv->key) < 0 ||
		    jk_u64(c, e, ip.s, "priority", true, UINT32_MAX, &prio) < 0)
			return -1;
		kv->value = xasprintf("%llu", (unsigned long long)prio);
	}
	return 0;
}

int sp_resources(sctx *c, json_object *o, const char *path, spec_resources *r)
{
	r->present = true;
	if (parse_memory(c, o, path, r) < 0 || parse_cpu(c, o, path, r) < 0)
		return -1;
	json_object *po;
	jpath pp;
	int x = jk_obj(c, o, path, "pids", false, &po, &pp);
	if (x < 0)
		return -1;
	if (x && jk_opt_i64(c, po, pp.s, "limit", -1, INT64_MAX, &r->pids_limit) < 0)
		return -1;
	if (parse_blockio(c, o, path, r) < 0 || parse_hugepages(c, o, path, r) < 0 ||
	    parse_dev_rules(c, o, path, r) < 0 || parse_network(c, o, path, r) < 0)
		return -1;
	if (jk_kv(c, o, path, "unified", &r->unified, &r->n_unified) < 0)
		return -1;
	if (jk_unsupported(c, o, path, "rdma") < 0)
		return -1;
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *k = r->unified[i].key;
		if (!*k || strchr(k, '/') || k[0] == '.') {
			jpath up = jp_key(path, "unified");
			jpath kp = jp_key(up.s, k);
			return sp_fail(c, kp.s, "invalid cgroup file name");
		}
	}
	return 0;
}
