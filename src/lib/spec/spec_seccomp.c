/* linux.seccomp: the filter description (libseccomp terms). Compiling it is
 * the seccomp module's business; here names are checked and converted. */
#include <string.h>

#include "spec/spec_internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *const action_names[] = {
    [SECCOMP_ACT_KILL] = "SCMP_ACT_KILL",
    [SECCOMP_ACT_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
    [SECCOMP_ACT_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
    [SECCOMP_ACT_TRAP] = "SCMP_ACT_TRAP",
    [SECCOMP_ACT_ERRNO] = "SCMP_ACT_ERRNO",
    [SECCOMP_ACT_TRACE] = "SCMP_ACT_TRACE",
    [SECCOMP_ACT_ALLOW] = "SCMP_ACT_ALLOW",
    [SECCOMP_ACT_LOG] = "SCMP_ACT_LOG",
    [SECCOMP_ACT_NOTIFY] = "SCMP_ACT_NOTIFY",
};

static const char *const op_names[] = {
    [SECCOMP_OP_NE] = "SCMP_CMP_NE",
    [SECCOMP_OP_LT] = "SCMP_CMP_LT",
    [SECCOMP_OP_LE] = "SCMP_CMP_LE",
    [SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
    [SECCOMP_OP_GE] = "SCMP_CMP_GE",
    [SECCOMP_OP_GT] = "SCMP_CMP_GT",
    [SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

/* Architectures libseccomp knows (seccomp_arch_resolve_name). */
static const char *const arch_names[] = {
    "SCMP_ARCH_X86",	 "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",		"SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",	"SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",	 "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",	 "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	"SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",	 "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

static const char *const flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

static int lookup(const char *const *tab, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i] && !strcmp(tab[i], s))
			return (int)i;
	return -1;
}

const char *sp_seccomp_action_name(int a)
{
	return a >= 0 && (size_t)a < ARRAY_SIZE(action_names) ? action_names[a] : NULL;
}
const char *sp_seccomp_op_name(int op)
{
	return op >= 0 && (size_t)op < ARRAY_SIZE(op_names) ? op_names[op] : NULL;
}
const char *sp_seccomp_arch_name(size_t i)
{
	return i < ARRAY_SIZE(arch_names) ? arch_names[i] : NULL;
}

static int parse_action(sctx *c, json_object *o, const char *opath, const char *key, bool req,
			enum spec_seccomp_action *out)
{
	_cleanup_free_ char *s = NULL;
	int r = jk_str(c, o, opath, key, req, &s);
	if (r <= 0)
		return r;
	int a = lookup(action_names, ARRAY_SIZE(action_names), s);
	if (a < 0) {
		jpath p = jp_key(opath, key);
		return sp_fail(c, p.s, "unknown action \"%s\"", s);
	}
	*out = (enum spec_seccomp_action)a;
	return 1;
}

static int check_names(sctx *c, const char *opath, const char *key, char **v,
		       const char *const *tab, size_t n, const char *what)
{
	jpath p = jp_key(opath, key);
	for (size_t i = 0; v[i]; i++)
		if (lookup(tab, n, v[i]) < 0) {
			jpath ip = jp_idx(p.s, i);
			return sp_fail(c, ip.s, "unknown %s \"%s\"", what, v[i]);
		}
	return 0;
}

static int parse_args(sctx *c, json_object *ro, const char *rpath, spec_seccomp_rule *rule)
{
	json_object *a;
	size_t n;
	jpath p;
	int r = jk_arr(c, ro, rpath, "args", false, &a, &n, &p);
	if (r <= 0 || !n)
		return r;
	if (n > 6)
		return sp_fail(c, p.s, "at most 6 argument conditions, got %zu", n);
	rule->args = xzalloc(n * sizeof(spec_seccomp_arg));
	rule->n_args = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_seccomp_arg *arg = &rule->args[i];
		uint64_t idx;
		if (jx_type(c, o, ip.s, json_type_object) < 0 ||
		    jk_u64(c, o, ip.s, "index", true, 5, &idx) < 0 ||
		    jk_u64(c, o, ip.s, "value", true, UINT64_MAX, &arg->value) < 0 ||
		    jk_u64(c, o, ip.s, "valueTwo", false, UINT64_MAX, &arg->value_two) < 0)
			return -1;
		arg->index = (unsigned)idx;
		_cleanup_free_ char *op = NULL;
		if (jk_str(c, o, ip.s, "op", true, &op) < 0)
			return -1;
		int k = lookup(op_names, ARRAY_SIZE(op_names), op);
		if (k < 0) {
			jpath opp = jp_key(ip.s, "op");
			return sp_fail(c, opp.s, "unknown operator \"%s\"", op);
		}
		arg->op = (enum spec_seccomp_op)k;
	}
	return 0;
}

static int parse_rules(sctx *c, json_object *so, const char *spath, spec_seccomp *sc)
{
	json_object *a;
	size_t n;
	jpath p;
	int r = jk_arr(c, so, spath, "syscalls", false, &a, &n, &p);
	if (r <= 0 || !n)
		return r;
	sc->rules = xzalloc(n * sizeof(spec_seccomp_rule));
	sc->n_rules = n;
	for (size_t i = 0; i < n; i++) {
		jpath ip = jp_idx(p.s, i);
		json_object *o = json_object_array_get_idx(a, i);
		spec_seccomp_rule *rule = &sc->rules[i];
		if (jx_type(c, o, ip.s, json_type_object) < 0 ||
		    jk_strv(c, o, ip.s, "names", true, &rule->names) < 0)
			return -1;
		if (!rule->names[0]) {
			jpath np = jp_key(ip.s, "names");
			return sp_fail(c, np.s, "must not be empty");
		}
		if (parse_action(c, o, ip.s, "action", true, &rule->action) < 0 ||
		    jk_opt_u64(c, o, ip.s, "errnoRet", UINT32_MAX, &rule->errno_ret) < 0 ||
		    parse_args(c, o, ip.s, rule) < 0)
			return -1;
		if (rule->action == SECCOMP_ACT_NOTIFY && !sc->listener_path) {
			jpath ap = jp_key(ip.s, "action");
			return sp_fail(c, ap.s,
				       "SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
		}
	}
	return 0;
}

int sp_seccomp(sctx *c, json_object *o, const char *path, spec_seccomp *sc)
{
	sc->present = true;
	if (parse_action(c, o, path, "defaultAction", true, &sc->default_action) < 0 ||
	    jk_opt_u64(c, o, path, "defaultErrnoRet", UINT32_MAX, &sc->default_errno_ret) < 0)
		return -1;
	if (sc->default_action == SECCOMP_ACT_NOTIFY) {
		jpath p = jp_key(path, "defaultAction");
		return sp_fail(c, p.s, "SCMP_ACT_NOTIFY cannot be the default action");
	}
	if (jk_strv(c, o, path, "architectures", false, &sc->architectures) < 0 ||
	    check_names(c, path, "architectures", sc->architectures, arch_names,
			ARRAY_SIZE(arch_names), "architecture") < 0)
		return -1;
	if (jk_strv(c, o, path, "flags", false, &sc->flags) < 0 ||
	    check_names(c, path, "flags", sc->flags, flag_names, ARRAY_SIZE(flag_names), "flag") <
		0)
		return -1;
	if (jk_abspath(c, o, path, "listenerPath", false, &sc->listener_path) < 0 ||
	    jk_str(c, o, path, "listenerMetadata", false, &sc->listener_metadata) < 0)
		return -1;
	return parse_rules(c, o, path, sc);
}
