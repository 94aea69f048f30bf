/* The delegated cgroup of a rootless caller (see cgparent.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/cgparent.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static bool owned(const char *dir, uid_t owner)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != owner)
		return false;
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	return stat(procs, &st) == 0 && st.st_uid == owner;
}

/* The highest owned ancestor of `path` (itself included) in hierarchy
 * directory `hier`, or NULL. The hierarchy root never counts. */
static char *delegated_root(const char *hier, const char *path, uid_t owner)
{
	_cleanup_free_ char *cur = xstrdup(path);
	char *best = NULL;
	size_t n = strlen(cur);
	while (n > 1) {
		_cleanup_free_ char *full = xasprintf("%s%s", hier, cur);
		if (!owned(full, owner))
			break;
		free(best);
		best = xstrdup(cur);
		while (n > 0 && cur[n - 1] != '/')
			n--;
		if (n > 1)
			n--; /* drop the '/' too, unless it is the root */
		cur[n] = '\0';
	}
	return best;
}

/* The path of `field` ("memory", "" for v2) in the /proc/PID/cgroup text. */
static const char *own_path(char *const *lines, const char *field)
{
	size_t fl = strlen(field);
	for (size_t i = 0; lines[i]; i++) {
		const char *c = strchr(lines[i], ':');
		const char *p = c ? strchr(c + 1, ':') : NULL;
		if (!p || (size_t)(p - c - 1) != fl || strncmp(c + 1, field, fl))
			continue;
		return p[1] == '/' ? p + 1 : NULL;
	}
	return NULL;
}

static const unsigned preference[] = {CG_MEMORY, CG_PIDS, CG_CPU, CG_CPUSET, CG_BLKIO, CG_HUGETLB};

char *eng_cgroup_parent(const cgroup_ctx *ctx, uid_t owner, const char *id)
{
	berr e;
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, ctx->proc_cgroup, &text, &len, &e) < 0)
		return NULL;
	/* split in place into lines */
	size_t n = 1;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	_cleanup_free_ char **lines = xreallocarray(NULL, n + 1, sizeof(*lines));
	size_t k = 0;
	for (char *s = text, *save = NULL, *l; (l = strtok_r(s, "\n", &save)); s = NULL)
		lines[k++] = l;
	lines[k] = NULL;

	char *root = NULL;
	if (ctx->mode != CGROUP_V2) {
		for (size_t p = 0; p < sizeof(preference) / sizeof(*preference); p++)
			for (size_t h = 0; h < ctx->n_hier; h++) {
				if (!(ctx->hier[h].ctrl & preference[p]))
					continue;
				const char *mine = own_path(lines, ctx->hier[h].name);
				_cleanup_free_ char *dir =
				    xasprintf("%s/%s", ctx->root, ctx->hier[h].name);
				_cleanup_free_ char *r =
				    mine ? delegated_root(dir, mine, owner) : NULL;
				/* v1 has no internal-process rule: relative to
				 * the caller's own (owned) cgroup, whatever
				 * path it has in each hierarchy */
				if (r)
					return xasprintf("berth-%s", id);
			}
	}
	const char *mine = own_path(lines, "");
	_cleanup_free_ char *dir =
	    ctx->mode == CGROUP_HYBRID ? xasprintf("%s/unified", ctx->root) : xstrdup(ctx->root);
	if (mine && ctx->mode != CGROUP_V1)
		root = delegated_root(dir, mine, owner);
	if (!root)
		return NULL;
	char *out = xasprintf("%s/berth-%s", root, id);
	free(root);
	return out;
}

char *eng_cgroup_parent_self(const char *id)
{
	cgroup_ctx ctx;
	berr e;
	if (cgroup_ctx_detect(&ctx, NULL, &e) < 0)
		return NULL;
	char *p = eng_cgroup_parent(&ctx, geteuid(), id);
	cgroup_ctx_clear(&ctx);
	return p;
}
