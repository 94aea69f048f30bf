/* The process object: user, args, env, cwd, capabilities, rlimits, ... */
#include <limits.h>
#include <string.h>

#include "spec/spec_internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int parse_user(sctx *c, json_object *proc, const char *ppath, spec_user *u)
{
	json_object *o;
	jpath p;
	int r = jk_obj(c, proc, ppath, "user", false, &o, &p);
	if (r <= 0)
		return r;
	int64_t v;
	if ((r = jk_i64(c, o, p.s, "uid", false, 0, UID_MAX_VALID, &v)) < 0)
		return -1;
	if (r)
		u->uid = (uid_t)v;
	if ((r = jk_i64(c, o, p.s, "gid", false, 0, UID_MAX_VALID, &v)) < 0)
		return -1;
	if (r)
		u->gid = (gid_t)v;
	if ((r = jk_i64(c, o, p.s, "umask", false, 0, 0777, &v)) < 0)
		return -1;
	if (r) {
		u->has_umask = true;
		u->umask = (mode_t)v;
	}
	json_object *a;
	size_t n;
	jpath ap;
	if ((r = jk_arr(c, o, p.s, "additionalGids", false, &a, &n, &ap)) < 0)
		return -1;
	if (r && n) {
		u->additional_gids = xzalloc(n * sizeof(gid_t));
		u->n_additional_gids = n;
		for (size_t i = 0; i < n; i++) {
			jpath ip = jp_idx(ap.s, i);
			if (jx_i64(c, json_object_array_get_idx(a, i), ip.s, 0, UID_MAX_VALID, &v) <
			    0)
				return -1;
			u->additional_gids[i] = (gid_t)v;
		}
	}
	return 0;
}

static void add_unknown_cap(spec_process *p, const char *name)
{
	for (char **x = p->unknown_caps; x && *x; x++)
		if (!strcmp(*x, name))
			return;
	strv_push(&p->unknown_caps, name);
}

static int parse_caps(sctx *c, json_object *proc, const char *ppath, spec_process *pr)
{
	json_object *o;
	jpath p;
	int r = jk_obj(c, proc, ppath, "capabilities", false, &o, &p);
	if (r <= 0)
		return r;
	pr->has_caps = true;
	static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted",
					   "ambient"};
	uint64_t *masks[] = {&pr->caps.bounding, &pr->caps.effective, &pr->caps.inheritable,
			     &pr->caps.permitted, &pr->caps.ambient};
	for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
		char **names = NULL;
		if (jk_strv(c, o, p.s, sets[s], false, &names) < 0) {
			strv_free(names);
			return -1;
		}
		for (char **n = names; *n; n++) {
			int cap = spec_cap_from_name(*n);
			if (cap < 0)
				add_unknown_cap(pr, *n);
			else
				*masks[s] |= 1ULL << cap;
		}
		strv_free(names);
	}
	return 0;
}

static int parse_rlimits(sctx *c, json_object *proc, const char *ppath, spec_process *pr)
{
	json_object *a;
	size_t n;
	jpath p;
	int r = jk_arr(c, proc, ppath, "rlimits", false, &a, &n, &p);
	if (r <= 0 || !n)
		return r;
	pr->rlimits = xzalloc(n * sizeof(spec_rlimit));
	pr->n_rlimits = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_rlimit *rl = &pr->rlimits[i];
		if (jx_type(c, o, ip.s, json_type_object) < 0)
			return -1;
		if (jk_str(c, o, ip.s, "type", true, &rl->type) < 0)
			return -1;
		jpath tp = jp_key(ip.s, "type");
		rl->resource = spec_rlimit_from_name(rl->type);
		if (rl->resource < 0)
			return sp_fail(c, tp.s, "unknown rlimit \"%s\"", rl->type);
		for (size_t j = 0; j < i; j++)
			if (pr->rlimits[j].resource == rl->resource)
				return sp_fail(c, tp.s, "duplicate rlimit \"%s\"", rl->type);
		if (jk_u64(c, o, ip.s, "soft", true, UINT64_MAX, &rl->soft) < 0 ||
		    jk_u64(c, o, ip.s, "hard", true, UINT64_MAX, &rl->hard) < 0)
			return -1;
		if (rl->soft > rl->hard)
			return sp_fail(c, ip.s, "soft limit %llu exceeds hard limit %llu",
				       (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	}
	return 0;
}

int sp_check_env(sctx *c, const char *ppath, char **env)
{
	jpath p = jp_key(ppath, "env");
	for (size_t i = 0; env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i]) {
			jpath ip = jp_idx(p.s, i);
			return sp_fail(c, ip.s, "\"%s\" is not KEY=VALUE", env[i]);
		}
	}
	return 0;
}

int sp_process(sctx *c, json_object *o, const char *path, spec_process *p)
{
	int r;
	if (jk_bool(c, o, path, "terminal", false, &p->terminal) < 0)
		return -1;
	json_object *cs;
	jpath csp;
	if ((r = jk_obj(c, o, path, "consoleSize", false, &cs, &csp)) < 0)
		return -1;
	if (r) {
		uint64_t h, w;
		/* struct winsize holds unsigned shorts */
		if (jk_u64(c, cs, csp.s, "height", true, USHRT_MAX, &h) < 0 ||
		    jk_u64(c, cs, csp.s, "width", true, USHRT_MAX, &w) < 0)
			return -1;
		p->has_console_size = true;
		p->console_height = (unsigned)h;
		p->console_width = (unsigned)w;
	}
	if (parse_user(c, o, path, &p->user) < 0)
		return -1;
	if (jk_strv(c, o, path, "args", true, &p->args) < 0)
		return -1;
	if (!p->args[0]) {
		jpath ap = jp_key(path, "args");
		return sp_fail(c, ap.s, "must not be empty");
	}
	if (jk_strv(c, o, path, "env", false, &p->env) < 0 || sp_check_env(c, path, p->env) < 0)
		return -1;
	if (jk_abspath(c, o, path, "cwd", true, &p->cwd) < 0)
		return -1;
	p->unknown_caps = sp_strv_empty();
	if (parse_caps(c, o, path, p) < 0)
		return -1;
	if (parse_rlimits(c, o, path, p) < 0)
		return -1;
	if (jk_bool(c, o, path, "noNewPrivileges", false, &p->no_new_privileges) < 0)
		return -1;
	if (jk_opt_i64(c, o, path, "oomScoreAdj", -1000, 1000, &p->oom_score_adj) < 0)
		return -1;
	if (jk_str(c, o, path, "apparmorProfile", false, &p->apparmor_profile) < 0 ||
	    jk_str(c, o, path, "selinuxLabel", false, &p->selinux_label) < 0)
		return -1;
	if (jk_unsupported(c, o, path, "scheduler") < 0 ||
	    jk_unsupported(c, o, path, "ioPriority") < 0 ||
	    jk_unsupported(c, o, path, "execCPUAffinity") < 0)
		return -1;
	return 0;
}

int spec_parse_process(const char *json, size_t len, const char *file, spec_process *out, berr *e)
{
	sctx c = {.file = file ? file : "process.json", .e = e};
	json_object *o = sp_parse_text(&c, json, len);
	if (!o)
		return -1;
	spec_process p = {0};
	int r = sp_process(&c, o, "", &p);
	json_object_put(o);
	if (r < 0) {
		spec_process_clear(&p);
		return -1;
	}
	*out = p;
	return 0;
}
