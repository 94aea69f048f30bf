/* The linux object: namespaces, id mappings, time offsets, devices, sysctl
 * and the smaller fields; resources and seccomp have their own files. */
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>

#include "spec/spec_internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int ns_from_name(const char *s)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (!strcmp(spec_ns_name((enum spec_ns)i), s))
			return i;
	return -1;
}

static int parse_namespaces(sctx *c, json_object *lo, const char *lpath, spec_linux *l)
{
	json_object *a;
	size_t n;
	jpath p;
	int r = jk_arr(c, lo, lpath, "namespaces", false, &a, &n, &p);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		if (jx_type(c, o, ip.s, json_type_object) < 0)
			return -1;
		_cleanup_free_ char *type = NULL;
		if (jk_str(c, o, ip.s, "type", true, &type) < 0)
			return -1;
		jpath tp = jp_key(ip.s, "type");
		int ns = ns_from_name(type);
		if (ns < 0)
			return sp_fail(c, tp.s, "unknown namespace \"%s\"", type);
		if (l->ns[ns].present)
			return sp_fail(c, tp.s, "duplicate namespace \"%s\"", type);
		l->ns[ns].present = true;
		l->ns[ns].index = i;
		if (jk_abspath(c, o, ip.s, "path", false, &l->ns[ns].path) < 0)
			return -1;
	}
	return 0;
}

static int parse_idmaps(sctx *c, json_object *lo, const char *lpath, const char *key,
			spec_idmap **out, size_t *nout)
{
	json_object *a;
	size_t n;
	jpath p;
	int r = jk_arr(c, lo, lpath, key, false, &a, &n, &p);
	if (r <= 0 || !n)
		return r;
	*out = xzalloc(n * sizeof(spec_idmap));
	*nout = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		if (jx_type(c, o, ip.s, json_type_object) < 0)
			return -1;
		uint64_t cid, hid, sz;
		if (jk_u64(c, o, ip.s, "containerID", true, UINT32_MAX, &cid) < 0 ||
		    jk_u64(c, o, ip.s, "hostID", true, UINT32_MAX, &hid) < 0 ||
		    jk_u64(c, o, ip.s, "size", true, UINT32_MAX, &sz) < 0)
			return -1;
		if (sz == 0) {
			jpath sp = jp_key(ip.s, "size");
			return sp_fail(c, sp.s, "must be greater than zero");
		}
		if (cid + sz - 1 > UINT32_MAX - 1 || hid + sz - 1 > UINT32_MAX - 1)
			return sp_fail(c, ip.s, "range overflows the 32-bit id space");
		(*out)[i] = (spec_idmap){(uint32_t)cid, (uint32_t)hid, (uint32_t)sz};
	}
	return 0;
}

static int parse_time_offsets(sctx *c, json_object *lo, const char *lpath, spec_linux *l)
{
	json_object *o;
	jpath p;
	int r = jk_obj(c, lo, lpath, "timeOffsets", false, &o, &p);
	if (r <= 0)
		return r;
	json_object_object_foreach(o, k, v)
	{
		jpath kp = jp_key(p.s, k);
		spec_time_offset *t;
		if (!strcmp(k, "monotonic"))
			t = &l->time_monotonic;
		else if (!strcmp(k, "boottime"))
			t = &l->time_boottime;
		else
			return sp_fail(c, kp.s, "unknown clock \"%s\" (monotonic or boottime)", k);
		if (!v)
			continue;
		if (jx_type(c, v, kp.s, json_type_object) < 0)
			return -1;
		int64_t secs = 0;
		uint64_t ns = 0;
		if (jk_i64(c, v, kp.s, "secs", false, INT64_MIN, INT64_MAX, &secs) < 0 ||
		    jk_u64(c, v, kp.s, "nanosecs", false, 999999999, &ns) < 0)
			return -1;
		*t = (spec_time_offset){.set = true, .secs = secs, .nanosecs = (uint32_t)ns};
	}
	return 0;
}

static int parse_devices(sctx *c, json_object *lo, const char *lpath, spec_linux *l)
{
	json_object *a;
	size_t n;
	jpath p;
	int r = jk_arr(c, lo, lpath, "devices", false, &a, &n, &p);
	if (r <= 0 || !n)
		return r;
	l->devices = xzalloc(n * sizeof(spec_device));
	l->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_device *d = &l->devices[i];
		if (jx_type(c, o, ip.s, json_type_object) < 0)
			return -1;
		if (jk_abspath(c, o, ip.s, "path", true, &d->path) < 0)
			return -1;
		_cleanup_free_ char *type = NULL;
		if (jk_str(c, o, ip.s, "type", true, &type) < 0)
			return -1;
		if (strlen(type) != 1 || !strchr("cbup", type[0])) {
			jpath tp = jp_key(ip.s, "type");
			return sp_fail(c, tp.s, "unknown device type \"%s\" (c, b, u or p)", type);
		}
		d->type = type[0];
		bool need = d->type != 'p';
		int64_t maj = 0, min = 0;
		/* Linux dev_t: 12-bit major (MAJOR max 4095), 20-bit minor. */
		if (jk_i64(c, o, ip.s, "major", need, 0, 4095, &maj) < 0 ||
		    jk_i64(c, o, ip.s, "minor", need, 0, 0xfffff, &min) < 0)
			return -1;
		d->major = maj;
		d->minor = min;
		int64_t v;
		/* Permission bits; some generators add the file type bits too,
		 * which are accepted when they agree with `type`. */
		if ((r = jk_i64(c, o, ip.s, "fileMode", false, 0, S_IFMT | 07777, &v)) < 0)
			return -1;
		if (r) {
			mode_t want = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
			if ((v & S_IFMT) && (v & S_IFMT) != want) {
				jpath mp = jp_key(ip.s, "fileMode");
				return sp_fail(c, mp.s,
					       "file type bits of 0%llo do not match type \"%c\"",
					       (unsigned long long)v, d->type);
			}
			d->has_mode = true;
			d->mode = (mode_t)(v & 07777);
		}
		if ((r = jk_i64(c, o, ip.s, "uid", false, 0, UID_MAX_VALID, &v)) < 0)
			return -1;
		if (r) {
			d->has_uid = true;
			d->uid = (uid_t)v;
		}
		if ((r = jk_i64(c, o, ip.s, "gid", false, 0, UID_MAX_VALID, &v)) < 0)
			return -1;
		if (r) {
			d->has_gid = true;
			d->gid = (gid_t)v;
		}
	}
	return 0;
}

static int parse_propagation(sctx *c, json_object *lo, const char *lpath, spec_linux *l)
{
	_cleanup_free_ char *v = NULL;
	int r = jk_str(c, lo, lpath, "rootfsPropagation", false, &v);
	if (r <= 0 || !*v)
		return r;
	l->rootfs_propagation = sp_propagation_flag(v);
	if (!l->rootfs_propagation) {
		jpath p = jp_key(lpath, "rootfsPropagation");
		return sp_fail(c, p.s, "unknown propagation \"%s\"", v);
	}
	return 0;
}

static int parse_personality(sctx *c, json_object *lo, const char *lpath, spec_linux *l)
{
	json_object *o;
	jpath p;
	int r = jk_obj(c, lo, lpath, "personality", false, &o, &p);
	if (r <= 0)
		return r;
	_cleanup_free_ char *domain = NULL;
	if (jk_str(c, o, p.s, "domain", true, &domain) < 0)
		return -1;
	if (!strcmp(domain, "LINUX"))
		l->personality = PER_LINUX;
	else if (!strcmp(domain, "LINUX32"))
		l->personality = PER_LINUX32;
	else {
		jpath dp = jp_key(p.s, "domain");
		return sp_fail(c, dp.s, "unknown personality domain \"%s\" (LINUX or LINUX32)",
			       domain);
	}
	l->has_personality = true;
	/* flags: no personality flags are defined by the spec yet; type-check. */
	char **flags = NULL;
	r = jk_strv(c, o, p.s, "flags", false, &flags);
	strv_free(flags);
	return r < 0 ? -1 : 0;
}

/* Only sysctls that live in a namespace the container has may be set, as
 * runc's validator does: anything else would change the host. */
static int check_sysctls(sctx *c, const char *lpath, spec_linux *l)
{
	static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",	    "kernel.msgmni",
					  "kernel.sem",	   "kernel.shmall",	    "kernel.shmmax",
					  "kernel.shmmni", "kernel.shm_rmid_forced"};
	jpath p = jp_key(lpath, "sysctl");
	for (size_t i = 0; i < l->n_sysctl; i++) {
		const char *k = l->sysctl[i].key;
		int need = -1;
		for (size_t j = 0; j < ARRAY_SIZE(ipc); j++)
			if (!strcmp(k, ipc[j]))
				need = NS_IPC;
		if (!strncmp(k, "fs.mqueue.", 10))
			need = NS_IPC;
		else if (!strncmp(k, "net.", 4))
			need = NS_NET;
		else if (!strcmp(k, "kernel.hostname") || !strcmp(k, "kernel.domainname"))
			need = NS_UTS;
		if (need < 0)
			return sp_fail(c, p.s,
				       "\"%s\" is not namespaced: setting it would change the host",
				       k);
		if (!l->ns[need].present)
			return sp_fail(
			    c, p.s, "\"%s\" requires %s namespace (no \"%s\" in linux.namespaces)",
			    k,
			    need == NS_NET   ? "a network"
			    : need == NS_IPC ? "an IPC"
					     : "a UTS",
			    spec_ns_name((enum spec_ns)need));
	}
	return 0;
}

static int check_abs(sctx *c, const char *lpath, const char *key, char **v)
{
	for (size_t i = 0; v[i]; i++)
		if (v[i][0] != '/') {
			jpath p = jp_key(lpath, key);
			jpath ip = jp_idx(p.s, i);
			return sp_fail(c, ip.s, "must be an absolute path");
		}
	return 0;
}

int sp_linux(sctx *c, json_object *lo, const char *lpath, spec *s)
{
	spec_linux *l = &s->linux_;
	if (parse_namespaces(c, lo, lpath, l) < 0)
		return -1;
	if (parse_idmaps(c, lo, lpath, "uidMappings", &l->uid_mappings, &l->n_uid_mappings) < 0 ||
	    parse_idmaps(c, lo, lpath, "gidMappings", &l->gid_mappings, &l->n_gid_mappings) < 0)
		return -1;
	if ((l->n_uid_mappings || l->n_gid_mappings) && !l->ns[NS_USER].present) {
		jpath p = jp_key(lpath, l->n_uid_mappings ? "uidMappings" : "gidMappings");
		return sp_fail(c, p.s,
			       "requires a user namespace (no \"user\" in linux.namespaces)");
	}
	if (parse_time_offsets(c, lo, lpath, l) < 0)
		return -1;
	if ((l->time_monotonic.set || l->time_boottime.set) && !l->ns[NS_TIME].present) {
		jpath p = jp_key(lpath, "timeOffsets");
		return sp_fail(c, p.s,
			       "requires a time namespace (no \"time\" in linux.namespaces)");
	}
	if (parse_devices(c, lo, lpath, l) < 0)
		return -1;
	if (jk_kv(c, lo, lpath, "sysctl", &l->sysctl, &l->n_sysctl) < 0 ||
	    check_sysctls(c, lpath, l) < 0)
		return -1;
	if (jk_str(c, lo, lpath, "cgroupsPath", false, &l->cgroups_path) < 0)
		return -1;
	json_object *o;
	jpath p;
	int r;
	if ((r = jk_obj(c, lo, lpath, "resources", false, &o, &p)) < 0)
		return -1;
	if (r && sp_resources(c, o, p.s, &l->resources) < 0)
		return -1;
	if ((r = jk_obj(c, lo, lpath, "seccomp", false, &o, &p)) < 0)
		return -1;
	if (r && sp_seccomp(c, o, p.s, &l->seccomp) < 0)
		return -1;
	if (parse_propagation(c, lo, lpath, l) < 0)
		return -1;
	if (jk_strv(c, lo, lpath, "maskedPaths", false, &l->masked_paths) < 0 ||
	    check_abs(c, lpath, "maskedPaths", l->masked_paths) < 0 ||
	    jk_strv(c, lo, lpath, "readonlyPaths", false, &l->readonly_paths) < 0 ||
	    check_abs(c, lpath, "readonlyPaths", l->readonly_paths) < 0)
		return -1;
	if (jk_str(c, lo, lpath, "mountLabel", false, &l->mount_label) < 0)
		return -1;
	if (parse_personality(c, lo, lpath, l) < 0)
		return -1;
	if ((r = jk_obj(c, lo, lpath, "intelRdt", false, &o, &p)) < 0)
		return -1;
	l->has_intel_rdt = r > 0;
	if (jk_unsupported(c, lo, lpath, "netDevices") < 0 ||
	    jk_unsupported(c, lo, lpath, "memoryPolicy") < 0)
		return -1;
	return 0;
}
