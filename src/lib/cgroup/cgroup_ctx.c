/* Mode detection, the context, and cgroupsPath resolution. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

static const struct {
	const char *name;
	unsigned bit;
} ctrl_names[] = {
    {"cpu", CG_CPU},	     {"cpuacct", CG_CPUACCT},	{"cpuset", CG_CPUSET},
    {"memory", CG_MEMORY},   {"devices", CG_DEVICES},	{"freezer", CG_FREEZER},
    {"blkio", CG_BLKIO},     {"pids", CG_PIDS},		{"hugetlb", CG_HUGETLB},
    {"net_cls", CG_NET_CLS}, {"net_prio", CG_NET_PRIO}, {"perf_event", CG_PERF_EVENT},
    {"rdma", CG_RDMA},	     {"misc", CG_MISC},
};

/* "cpu,cpuacct" -> bits; a name with no known controller is a named
 * hierarchy ("systemd" for name=systemd). */
static unsigned ctrl_bits(const char *list)
{
	unsigned bits = 0;
	_cleanup_free_ char *s = xstrdup(list);
	char *save = NULL;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strncmp(t, "name=", 5))
			return CG_NAMED;
		for (size_t i = 0; i < ARRAY_SIZE(ctrl_names); i++)
			if (!strcmp(t, ctrl_names[i].name))
				bits |= ctrl_names[i].bit;
	}
	return bits ? bits : CG_NAMED;
}

const char *cgroup_mode_name(enum cgroup_mode m)
{
	switch (m) {
	case CGROUP_V1:
		return "v1";
	case CGROUP_V2:
		return "v2";
	case CGROUP_HYBRID:
		return "hybrid";
	}
	return "?";
}

/* The hierarchies are the directories directly under root (symlinks such as
 * cpu -> cpu,cpuacct are aliases). With `check`, only cgroup v1 mounts. */
static int scan_hierarchies(cgroup_ctx *ctx, bool check, berr *e)
{
	DIR *d = opendir(ctx->root);
	if (!d)
		return berr_sys(e, "cgroup: open %s", ctx->root);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "unified"))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (check) {
			_cleanup_free_ char *p = xasprintf("%s/%s", ctx->root, de->d_name);
			struct statfs sf;
			if (statfs(p, &sf) < 0 || sf.f_type != CGROUP_SUPER_MAGIC)
				continue;
		}
		ctx->hier = xreallocarray(ctx->hier, ctx->n_hier + 1, sizeof(*ctx->hier));
		ctx->hier[ctx->n_hier++] = (cgroup_hier){
		    .name = xstrdup(de->d_name),
		    .ctrl = ctrl_bits(de->d_name),
		};
	}
	closedir(d);
	return 0;
}

static int ctx_setup(cgroup_ctx *ctx, enum cgroup_mode mode, const char *root, bool check, berr *e)
{
	*ctx = (cgroup_ctx){
	    .mode = mode, .root = xstrdup(root), .proc_cgroup = xstrdup("/proc/self/cgroup")};
	ctx->systemd_running = access("/run/systemd/system", F_OK) == 0;
	if (mode != CGROUP_V2 && scan_hierarchies(ctx, check, e) < 0) {
		cgroup_ctx_clear(ctx);
		return -1;
	}
	return 0;
}

int cgroup_ctx_init(cgroup_ctx *ctx, enum cgroup_mode mode, const char *root, berr *e)
{
	return ctx_setup(ctx, mode, root, false, e);
}

int cgroup_ctx_detect(cgroup_ctx *ctx, const char *root, berr *e)
{
	if (!root)
		root = "/sys/fs/cgroup";
	struct statfs sf;
	if (statfs(root, &sf) < 0)
		return berr_sys(e, "cgroup: statfs %s", root);
	enum cgroup_mode mode = CGROUP_V1;
	if (sf.f_type == CGROUP2_SUPER_MAGIC) {
		mode = CGROUP_V2;
	} else {
		_cleanup_free_ char *u = xasprintf("%s/unified", root);
		struct statfs us;
		if (statfs(u, &us) == 0 && us.f_type == CGROUP2_SUPER_MAGIC)
			mode = CGROUP_HYBRID;
		else if (sf.f_type != TMPFS_MAGIC && sf.f_type != CGROUP_SUPER_MAGIC)
			return berr_set(
			    e, 0, "cgroup: %s is neither cgroup2 nor a tmpfs of v1 mounts", root);
	}
	if (ctx_setup(ctx, mode, root, true, e) < 0)
		return -1;
	if (mode != CGROUP_V2 && ctx->n_hier == 0) {
		cgroup_ctx_clear(ctx);
		return berr_set(e, 0, "cgroup: no cgroup v1 hierarchy mounted under %s", root);
	}
	return 0;
}

void cgroup_ctx_clear(cgroup_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_hier; i++)
		free(ctx->hier[i].name);
	free(ctx->hier);
	free(ctx->root);
	free(ctx->proc_cgroup);
	*ctx = (cgroup_ctx){0};
}

void cgroup_free(cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_v1; i++) {
		free(cg->v1[i].name);
		free(cg->v1[i].path);
	}
	free(cg->v1);
	free(cg->v2);
	free(cg->v2_root);
	free(cg->path);
	free(cg);
}

/* ---- systemd slice:prefix:name ----------------------------------------- */

char *cgroup_systemd_path(const char *slice_path, const char *id, berr *e)
{
	const char *c1 = strchr(slice_path, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || !c2 || strchr(c2 + 1, ':'))
		return berr_set(e, EINVAL, "cgroupsPath %s: expected slice:prefix:name",
				slice_path),
		       NULL;
	_cleanup_free_ char *slice = xstrndup(slice_path, (size_t)(c1 - slice_path));
	_cleanup_free_ char *prefix = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
	const char *name = *(c2 + 1) ? c2 + 1 : id;
	if (!*slice)
		slice = (free(slice), xstrdup("system.slice"));
	size_t sl = strlen(slice);
	if (sl < 7 || strcmp(slice + sl - 6, ".slice") || strchr(slice, '/'))
		return berr_set(e, EINVAL, "cgroupsPath %s: invalid slice %s", slice_path, slice),
		       NULL;
	/* "a-b-c.slice" lives in /a.slice/a-b.slice/a-b-c.slice (systemd's
	 * hierarchy by dashes); "-.slice" is the root slice. */
	char *out = xstrdup("");
	if (strcmp(slice, "-.slice")) {
		const char *stem_end = slice + sl - 6;
		for (const char *p = slice; p <= stem_end; p++) {
			if (p != stem_end && *p != '-')
				continue;
			if (p == slice || p[-1] == '-' || (p != stem_end && p + 1 == stem_end)) {
				free(out);
				return berr_set(e, EINVAL, "cgroupsPath %s: invalid slice %s",
						slice_path, slice),
				       NULL;
			}
			char *n = xasprintf("%s/%.*s.slice", out, (int)(p - slice), slice);
			free(out);
			out = n;
		}
	}
	char *unit = strstr(name, ".slice") && !strcmp(name + strlen(name) - 6, ".slice")
			 ? xstrdup(name)
		     : *prefix ? xasprintf("%s-%s.scope", prefix, name)
			       : xasprintf("%s.scope", name);
	char *full = xasprintf("%s/%s", out, unit);
	free(out);
	free(unit);
	return full;
}

/* ---- resolution --------------------------------------------------------- */

/* The caller's cgroup in the hierarchy carrying `ctrl` (v2: ctrl == 0) from
 * /proc/self/cgroup ("ID:ctrls:path"). */
static char *own_cgroup(const cgroup_ctx *ctx, const cgroup_hier *h, berr *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, ctx->proc_cgroup, &text, &len, e) < 0)
		return berr_ctx(e, "cgroup: %s", ctx->proc_cgroup), NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *a = strchr(l, ':');
		char *b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		*b = '\0';
		const char *ctrls = a + 1;
		if (!h) {
			if (!*ctrls)
				return xstrdup(b + 1);
			continue;
		}
		if (!*ctrls)
			continue;
		if (h->ctrl == CG_NAMED) {
			if (!strncmp(ctrls, "name=", 5) && !strcmp(ctrls + 5, h->name))
				return xstrdup(b + 1);
		} else if (ctrl_bits(ctrls) == h->ctrl) {
			return xstrdup(b + 1);
		}
	}
	berr_set(e, ENOENT, "cgroup: %s: no entry for hierarchy %s", ctx->proc_cgroup,
		 h ? h->name : "v2");
	return NULL;
}

static char *join_dir(const char *root, const char *hier, const char *base, const char *rel)
{
	/* base is "/..." or "/" ; rel has no leading slash */
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (hier && *hier)
		return xasprintf("%s/%s%.*s/%s", root, hier, (int)bl, base, rel);
	return xasprintf("%s%.*s/%s", root, (int)bl, base, rel);
}

cgroup *cgroup_resolve(const cgroup_ctx *ctx, const char *cgroups_path, const char *id,
		       bool systemd, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (systemd) {
		if (!ctx->systemd_running)
			return berr_set(e, 0,
					"systemd cgroup driver requested but systemd is not "
					"running"),
			       NULL;
		path =
		    cgroup_systemd_path(cgroups_path ? cgroups_path : "system.slice:berth:", id, e);
		if (!path)
			return NULL;
	} else if (!cgroups_path || !*cgroups_path) {
		if (!id || !*id || strchr(id, '/'))
			return berr_set(e, EINVAL, "cgroup: invalid container id for cgroup path"),
			       NULL;
		path = xasprintf("/berth/%s", id);
	} else {
		path = xstrdup(cgroups_path);
	}
	/* No ".." anywhere: the path must stay under the hierarchy roots. */
	bool absolute = path[0] == '/';
	_cleanup_free_ char *clean = xstrdup("");
	{
		_cleanup_free_ char *tmp = xstrdup(path);
		char *save = NULL;
		for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			if (!strcmp(c, "."))
				continue;
			if (!strcmp(c, ".."))
				return berr_set(e, EINVAL, "cgroupsPath %s: \"..\" not allowed",
						path),
				       NULL;
			char *n = xasprintf("%s%s%s", clean, *clean ? "/" : "", c);
			free(clean);
			clean = n;
		}
	}
	if (!*clean)
		return berr_set(e, EINVAL, "cgroupsPath %s: names the root cgroup", path), NULL;

	cgroup *cg = xzalloc(sizeof(*cg));
	cg->mode = ctx->mode;
	cg->path = xstrdup(path);
	for (size_t i = 0; ctx->mode != CGROUP_V2 && i < ctx->n_hier; i++) {
		const cgroup_hier *h = &ctx->hier[i];
		_cleanup_free_ char *base = absolute ? xstrdup("/") : own_cgroup(ctx, h, e);
		if (!base) {
			cgroup_free(cg);
			return NULL;
		}
		cg->v1 = xreallocarray(cg->v1, cg->n_v1 + 1, sizeof(*cg->v1));
		cg->v1[cg->n_v1++] = (cgroup_dir){
		    .name = xstrdup(h->name),
		    .ctrl = h->ctrl,
		    .path = join_dir(ctx->root, h->name, base, clean),
		};
	}
	if (ctx->mode != CGROUP_V1) {
		_cleanup_free_ char *base = absolute ? xstrdup("/") : own_cgroup(ctx, NULL, e);
		if (!base) {
			cgroup_free(cg);
			return NULL;
		}
		cg->v2 =
		    join_dir(ctx->root, ctx->mode == CGROUP_HYBRID ? "unified" : NULL, base, clean);
		cg->v2_root = ctx->mode == CGROUP_HYBRID ? xasprintf("%s/unified", ctx->root)
							 : xstrdup(ctx->root);
	}
	return cg;
}
