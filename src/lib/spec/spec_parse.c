/* config.json: the top level, root, mounts and hooks; spec_load. */
#include <fcntl.h>
#include <string.h>

#include "spec/spec_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int parse_root(sctx *c, json_object *top, spec *s)
{
	json_object *o;
	jpath p;
	if (jk_obj(c, top, "", "root", true, &o, &p) < 0)
		return -1;
	if (jk_str(c, o, p.s, "path", true, &s->root_path) < 0)
		return -1;
	if (!s->root_path[0]) {
		jpath pp = jp_key(p.s, "path");
		return sp_fail(c, pp.s, "must not be empty");
	}
	return jk_bool(c, o, p.s, "readonly", false, &s->root_readonly) < 0 ? -1 : 0;
}

static int parse_mounts(sctx *c, json_object *top, spec *s)
{
	json_object *a;
	size_t n;
	jpath p;
	int r = jk_arr(c, top, "", "mounts", false, &a, &n, &p);
	if (r <= 0 || !n)
		return r;
	s->mounts = xzalloc(n * sizeof(spec_mount));
	s->n_mounts = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_mount *m = &s->mounts[i];
		if (jx_type(c, o, ip.s, json_type_object) < 0)
			return -1;
		if (jk_abspath(c, o, ip.s, "destination", true, &m->destination) < 0 ||
		    jk_str(c, o, ip.s, "type", false, &m->type) < 0 ||
		    jk_str(c, o, ip.s, "source", false, &m->source) < 0 ||
		    jk_strv(c, o, ip.s, "options", false, &m->options) < 0)
			return -1;
		/* idmapped mounts are not implemented: refused, not ignored */
		if (jk_unsupported(c, o, ip.s, "uidMappings") < 0 ||
		    jk_unsupported(c, o, ip.s, "gidMappings") < 0)
			return -1;
		if (sp_mount_options(c, ip.s, m) < 0)
			return -1;
	}
	return 0;
}

static const char *const hook_keys[HOOK_KINDS] = {
    [HOOK_PRESTART] = "prestart",
    [HOOK_CREATE_RUNTIME] = "createRuntime",
    [HOOK_CREATE_CONTAINER] = "createContainer",
    [HOOK_START_CONTAINER] = "startContainer",
    [HOOK_POSTSTART] = "poststart",
    [HOOK_POSTSTOP] = "poststop",
};

static int parse_hooks(sctx *c, json_object *top, spec *s)
{
	json_object *o;
	jpath p;
	int r = jk_obj(c, top, "", "hooks", false, &o, &p);
	if (r <= 0)
		return r;
	for (int k = 0; k < HOOK_KINDS; k++) {
		json_object *a;
		size_t n;
		jpath kp;
		if ((r = jk_arr(c, o, p.s, hook_keys[k], false, &a, &n, &kp)) < 0)
			return -1;
		if (!r || !n)
			continue;
		s->hooks.list[k] = xzalloc(n * sizeof(spec_hook));
		s->hooks.n[k] = n;
		for (size_t i = 0; i < n; i++) {
			jpath ip = jp_idx(kp.s, i);
			json_object *h = json_object_array_get_idx(a, i);
			spec_hook *hk = &s->hooks.list[k][i];
			if (jx_type(c, h, ip.s, json_type_object) < 0)
				return -1;
			if (jk_abspath(c, h, ip.s, "path", true, &hk->path) < 0 ||
			    jk_strv(c, h, ip.s, "args", false, &hk->args) < 0 ||
			    jk_strv(c, h, ip.s, "env", false, &hk->env) < 0 ||
			    sp_check_env(c, ip.s, hk->env) < 0)
				return -1;
			int64_t t;
			if ((r = jk_i64(c, h, ip.s, "timeout", false, INT64_MIN, INT32_MAX, &t)) <
			    0)
				return -1;
			if (r && t <= 0) {
				jpath tp = jp_key(ip.s, "timeout");
				return sp_fail(c, tp.s, "must be greater than zero, got %lld",
					       (long long)t);
			}
			hk->timeout = r ? (int)t : 0;
		}
	}
	return 0;
}

static int parse_version(sctx *c, json_object *top, spec *s)
{
	int r = jk_str(c, top, "", "ociVersion", false, &s->oci_version);
	if (r <= 0)
		return r;
	if (strncmp(s->oci_version, "1.", 2))
		return sp_fail(c, "ociVersion", "unsupported version \"%s\" (berth supports 1.x)",
			       s->oci_version);
	return 0;
}

/* Checks across sections. */
static int cross_checks(sctx *c, spec *s)
{
	spec_linux *l = &s->linux_;
	if (s->hostname && *s->hostname && !l->ns[NS_UTS].present)
		return sp_fail(c, "hostname",
			       "requires a UTS namespace (no \"uts\" in linux.namespaces)");
	if (s->domainname && *s->domainname && !l->ns[NS_UTS].present)
		return sp_fail(c, "domainname",
			       "requires a UTS namespace (no \"uts\" in linux.namespaces)");
	return 0;
}

static int parse_all(sctx *c, json_object *top, spec *s)
{
	if (parse_version(c, top, s) < 0 || parse_root(c, top, s) < 0)
		return -1;
	json_object *po;
	jpath pp;
	int r = jk_obj(c, top, "", "process", false, &po, &pp);
	if (r < 0)
		return -1;
	if (r) {
		s->has_process = true;
		if (sp_process(c, po, pp.s, &s->process) < 0)
			return -1;
	}
	if (jk_str(c, top, "", "hostname", false, &s->hostname) < 0 ||
	    jk_str(c, top, "", "domainname", false, &s->domainname) < 0)
		return -1;
	if (parse_mounts(c, top, s) < 0 || parse_hooks(c, top, s) < 0)
		return -1;
	if (jk_kv(c, top, "", "annotations", &s->annotations, &s->n_annotations) < 0)
		return -1;
	json_object *lo;
	jpath lp;
	if ((r = jk_obj(c, top, "", "linux", false, &lo, &lp)) < 0)
		return -1;
	if (r) {
		s->has_linux = true;
		if (sp_linux(c, lo, lp.s, s) < 0)
			return -1;
	}
	return cross_checks(c, s);
}

int spec_parse(const char *json, size_t len, const char *file, spec **out, berr *e)
{
	sctx c = {.file = file ? file : "config.json", .e = e};
	json_object *top = sp_parse_text(&c, json, len);
	if (!top)
		return -1;
	spec *s = xzalloc(sizeof(*s));
	int r = parse_all(&c, top, s);
	json_object_put(top);
	if (r < 0) {
		spec_free(s);
		return -1;
	}
	/* Vectors are never NULL, even for absent sections. */
	if (!s->linux_.masked_paths)
		s->linux_.masked_paths = sp_strv_empty();
	if (!s->linux_.readonly_paths)
		s->linux_.readonly_paths = sp_strv_empty();
	if (!s->linux_.seccomp.architectures)
		s->linux_.seccomp.architectures = sp_strv_empty();
	if (!s->linux_.seccomp.flags)
		s->linux_.seccomp.flags = sp_strv_empty();
	*out = s;
	return 0;
}

int spec_load(const char *bundle, spec **out, berr *e)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	/* the message names the path: "open BUNDLE/config.json: No such file..." */
	if (fs_read_file_at(AT_FDCWD, path, &text, &len, e) < 0)
		return -1;
	return spec_parse(text, len, path, out, e);
}
