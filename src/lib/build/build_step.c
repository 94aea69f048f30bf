/* The steps that make layers: RUN (a container of the engine on the
 * stage's image, its upper directory the layer), COPY/ADD (the sources
 * written into a fresh directory, the layer) and WORKDIR (its directory
 * when the image lacks it). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_priv.h"
#include "build/subst.h"
#include "image/layerdiff.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static json_object *jobj(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* The step's image: the stage's doc with a history entry, the upper
 * directory (>= 0) as a layer; recorded in the cache under k. */
static int commit_step(bctx *b, bstage *st, const char *by, const bkey *k, int upper, bool stubs,
		       dg_str *id, berr *e)
{
	json_object *doc = NULL;
	if (json_object_deep_copy(st->doc, &doc, NULL) < 0)
		return berr_set(e, ENOMEM, "copy the image config");
	bimg_history(doc, by, upper < 0);
	int r = bimg_write(b, st->image, doc, upper, stubs, id, e);
	json_object_put(doc);
	return r < 0 ? -1 : bcache_put(b, k, id, e);
}

static bool in_env(json_object *env, const char *kv)
{
	size_t len = strcspn(kv, "=");
	for (size_t i = 0;
	     env && json_object_is_type(env, json_type_array) && i < json_object_array_length(env);
	     i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(env, i));
		if (s && !strncmp(s, kv, len) && s[len] == '=')
			return true;
	}
	return false;
}

static char *join(char *const *v)
{
	char *r = xstrdup("");
	for (size_t i = 0; v && v[i]; i++) {
		char *n = xasprintf("%s%s%s", r, i ? " " : "", v[i]);
		free(r);
		r = n;
	}
	return r;
}

/* RUN's command: the exec form as is, else the shell with the script (a
 * lone here-document as the script itself, as BuildKit runs it). */
static char **run_argv(const bstage *st, const df_instr *in)
{
	if (in->json)
		return strv_dup(in->args);
	char **v = bx_shell(st);
	const char *cmd = in->n_args ? in->args[0] : "";
	if (in->n_heredocs) {
		const char *c = cmd + strspn(cmd, " \t");
		if (c[0] == '<' && c[1] == '<' && in->n_heredocs == 1 && !strchr(c, ' ')) {
			strv_push(&v, in->heredocs[0].content);
			return v;
		}
		char *s = xstrdup(cmd);
		for (size_t i = 0; i < in->n_heredocs; i++) {
			char *n =
			    xasprintf("%s\n%s%s", s, in->heredocs[i].content, in->heredocs[i].name);
			free(s);
			s = n;
		}
		strv_push(&v, s);
		free(s);
		return v;
	}
	strv_push(&v, cmd);
	return v;
}

static bool upper_changed(bctx *b, const char *cid, int upper)
{
	img_image im;
	berr ig;
	json_object *doc = eng_load(b->g, cid, &ig);
	(void)im;
	if (!doc)
		return true;
	json_object *gd = jobj(doc, "GraphDriver");
	const char *lower = json_object_get_string(jobj(gd, "LowerDir"));
	const char *up = json_object_get_string(jobj(gd, "UpperDir"));
	int u = -1, *lowers = NULL;
	size_t n = 0;
	bool changed = true;
	if (lower && up && ld_dirs_open(up, lower, &u, &lowers, &n, &ig) == 0) {
		ld_changes c = {0};
		if (ld_changes_of(upper, lowers, n, ld_engine_stubs, &c, &ig) == 0)
			changed = c.n > 0;
		ld_changes_free(&c);
		ld_dirs_close(u, lowers, n);
	}
	json_object_put(doc);
	return changed;
}

int bstep_run(bctx *b, bstage *st, const df_instr *in, char **env, dg_str *id, bool *cached,
	      berr *e)
{
	(void)env;
	if (in->n_flags)
		return berr_set(e, ENOTSUP, "RUN --%s: not supported yet", in->flags[0].key);
	if (!st->image)
		return berr_set(e, EINVAL, "RUN: the stage has no filesystem (FROM scratch)");
	__attribute__((cleanup(strv_freep))) char **argv = run_argv(st, in);
	_cleanup_free_ char *cmd = join(argv);
	size_t nargs = strv_len(st->args);
	_cleanup_free_ char *by = NULL;
	if (nargs) {
		_cleanup_free_ char *a = join(st->args);
		by = xasprintf("|%zu %s %s", nargs, a, cmd);
	} else {
		by = xstrdup(cmd);
	}
	bkey k;
	bcache_key(st->image, by, st->args, NULL, &k);
	if (bcache_get(b, &k, id)) {
		*cached = true;
		return 0;
	}
	/* the args in scope and the proxies, under the config's own ENV */
	json_object *cenv = jobj(jobj(st->doc, "config"), "Env");
	__attribute__((cleanup(strv_freep))) char **extra = bx_proxy_env(b);
	for (size_t i = 0; i < nargs; i++)
		if (!in_env(cenv, st->args[i]))
			strv_push(&extra, st->args[i]);
	__attribute__((cleanup(strv_freep))) char **entry = NULL;
	eng_run_opts ro = {.image = st->image,
			   .command = argv,
			   .entrypoint = "",
			   .entrypoint_set = true,
			   .env = extra,
			   .network = b->o->host_network ? "host" : "none"};
	char cid[65];
	if (eng_create(b->g, &ro, "/nonexistent", cid, e) < 0)
		return -1;
	_cleanup_free_ char *dir = eng_path(b->g, cid, ".");
	_cleanup_free_ char *updir = eng_path(b->g, cid, "upper");
	rt_create_opts co = {.bundle = dir};
	int status = 0, ret = -1;
	berr ig;
	if (rt_run(&b->g->rt, cid, &co, false, &status, e) < 0) {
		eng_cleanup(b->g, cid, &ig);
		goto out;
	}
	if (eng_cleanup(b->g, cid, e) < 0)
		goto out;
	if (status) {
		berr_set(e, ECHILD, "exited with status %d", status);
		goto out;
	}
	int upper = open(updir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (upper < 0) {
		berr_sys(e, "open %s", updir);
		goto out;
	}
	bool changed = upper_changed(b, cid, upper);
	ret = commit_step(b, st, by, &k, changed ? upper : -1, true, id, e);
	close(upper);
out:
	eng_remove(b->g, cid, true, &ig);
	return ret;
}

/* ---- COPY / ADD ---- */

/* A source path cleaned, relative to its root; `..` above it refused. */
static int clean_src(const char *src, char **out, berr *e)
{
	char **parts = NULL;
	size_t n = 0;
	_cleanup_free_ char *p = xstrdup(src);
	int ret = 0;
	for (char *save = NULL, *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (!n) {
				ret = berr_set(e, EPERM,
					       "forbidden path outside the build context: %s", src);
				break;
			}
			free(parts[--n]);
			parts[n] = NULL;
			continue;
		}
		strv_push(&parts, c);
		n++;
	}
	if (ret == 0) {
		char *r = xstrdup("");
		for (size_t i = 0; i < n; i++) {
			char *x = xasprintf("%s%s%s", r, i ? "/" : "", parts[i]);
			free(r);
			r = x;
		}
		*out = r;
	}
	strv_free(parts);
	return ret;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expand the glob components of a cleaned path against root (each
 * component matched against one directory's names, as filepath.Match). */
static int expand_glob(int root, const char *path, char ***out, berr *e)
{
	char **cur = NULL;
	strv_push(&cur, "");
	_cleanup_free_ char *p = xstrdup(path);
	for (char *save = NULL, *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		char **next = NULL;
		bool glob = strpbrk(c, "*?[") != NULL;
		for (size_t i = 0; cur && cur[i]; i++) {
			if (!glob) {
				char *x = xasprintf("%s%s%s", cur[i], *cur[i] ? "/" : "", c);
				strv_push(&next, x);
				free(x);
				continue;
			}
			berr ig;
			int d = fs_open_in_root(root, *cur[i] ? cur[i] : ".",
						O_RDONLY | O_DIRECTORY, 0, &ig);
			if (d < 0)
				continue;
			char **names = fs_list_at(d, ".", &ig);
			close(d);
			size_t k = strv_len(names);
			if (k)
				qsort(names, k, sizeof(char *), cmpstr);
			for (size_t j = 0; j < k; j++)
				if (fnmatch(c, names[j], 0) == 0) {
					char *x = xasprintf("%s%s%s", cur[i], *cur[i] ? "/" : "",
							    names[j]);
					strv_push(&next, x);
					free(x);
				}
			strv_free(names);
		}
		strv_free(cur);
		cur = next;
	}
	*out = cur;
	(void)e;
	return 0;
}

static bool view_isdir(int vfd, const char *path)
{
	if (vfd < 0)
		return false;
	berr ig;
	int fd = fs_open_in_root(vfd, path, O_PATH, 0, &ig);
	if (fd < 0)
		return false;
	struct stat s;
	bool d = fstat(fd, &s) == 0 && S_ISDIR(s.st_mode);
	close(fd);
	return d;
}

/* dest with the symlinks the image has on its way resolved in the image's
 * root (COPY x /var/run/y where /var/run -> /run writes /run/y, as
 * Docker): lexically, component by component, at most 40 links. */
static int resolve_dest(int vfd, const char *dest, char **out, berr *e)
{
	char *rest = xstrdup(dest), *done = xstrdup("");
	int links = 0;
	while (*rest) {
		char *c = rest + strspn(rest, "/");
		size_t len = strcspn(c, "/");
		char *tail = xstrdup(c + len);
		char *comp = xstrndup(c, len);
		free(rest);
		rest = tail;
		if (!*comp || !strcmp(comp, ".")) {
			free(comp);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *sl = strrchr(done, '/');
			if (sl)
				*sl = '\0';
			free(comp);
			continue;
		}
		char *cand = xasprintf("%s/%s", done, comp);
		free(comp);
		char target[PATH_MAX];
		ssize_t n = -1;
		if (vfd >= 0) {
			berr ig;
			int pfd =
			    fs_open_in_root(vfd, *done ? done : "/", O_PATH | O_DIRECTORY, 0, &ig);
			if (pfd >= 0) {
				n = readlinkat(pfd, strrchr(cand, '/') + 1, target,
					       sizeof(target) - 1);
				close(pfd);
			}
		}
		if (n < 0) {
			free(done);
			done = cand;
			continue;
		}
		free(cand);
		if (++links > 40) {
			free(rest);
			free(done);
			return berr_set(e, ELOOP, "%s: too many levels of symbolic links", dest);
		}
		target[n] = '\0';
		char *next = xasprintf("%s/%s", target, rest);
		free(rest);
		rest = next;
		if (target[0] == '/') {
			free(done);
			done = xstrdup("");
		}
	}
	free(rest);
	*out = *done ? done : (free(done), xstrdup("/"));
	return 0;
}

/* mkdir -p of the absolute path in upper; a directory the image has keeps
 * its mode and owner, a new one is 0755 root. A directory fd. */
static int mkparents(int upper, int vfd, const char *path, berr *e)
{
	int cur = openat(upper, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return berr_sys(e, "open the layer directory");
	_cleanup_free_ char *p = xstrdup(path), *sofar = xstrdup("");
	for (char *save = NULL, *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		char *x = xasprintf("%s/%s", sofar, c);
		free(sofar);
		sofar = x;
		struct stat s;
		if (fstatat(cur, c, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			mode_t mode = 0755;
			uid_t uid = 0;
			gid_t gid = 0;
			berr ig;
			int v = vfd >= 0 ? fs_open_in_root(vfd, sofar, O_PATH, 0, &ig) : -1;
			struct stat vs;
			if (v >= 0 && fstat(v, &vs) == 0 && S_ISDIR(vs.st_mode)) {
				mode = vs.st_mode & 07777;
				uid = vs.st_uid;
				gid = vs.st_gid;
			}
			if (v >= 0)
				close(v);
			if (mkdirat(cur, c, 0700) < 0 || fchmodat(cur, c, mode, 0) < 0 ||
			    fchownat(cur, c, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
				close(cur);
				return berr_sys(e, "mkdir %s", sofar);
			}
		} else if (!S_ISDIR(s.st_mode)) {
			close(cur);
			return berr_set(e, ENOTDIR, "%s: not a directory", sofar);
		}
		int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		if (next < 0)
			return berr_sys(e, "open %s", sofar);
		cur = next;
	}
	return cur;
}

typedef struct own {
	uid_t uid;
	gid_t gid;
	long mode; /* --chmod, or -1 */
} own;

static void own_map(void *arg, uid_t *uid, gid_t *gid)
{
	own *o = arg;
	*uid = o->uid;
	*gid = o->gid;
}

static int chmod_visit(void *ctx, const ld_node *n, bool *skip, berr *e)
{
	(void)skip;
	own *o = ctx;
	if (!S_ISLNK(n->st->st_mode) && fchmodat(n->dirfd, n->name, (mode_t)o->mode, 0) < 0)
		return berr_sys(e, "chmod %s", n->path);
	return 0;
}

/* --chown USER[:GROUP]: numbers, or names in the image's /etc/passwd and
 * /etc/group. */
static int chown_ids(bctx *b, bstage *st, const char *cspec, own *o, berr *e)
{
	int vfd;
	char *mnt;
	if (bimg_view(b, st->image, &vfd, &mnt, e) < 0)
		return -1;
	int r;
	if (vfd < 0) {
		char *end;
		unsigned long u = strtoul(cspec, &end, 10);
		unsigned long g = *end == ':' ? strtoul(end + 1, &end, 10) : u;
		r = *end ? berr_set(e, EINVAL, "--chown=%s: no /etc/passwd to look names up", cspec)
			 : 0;
		o->uid = (uid_t)u;
		o->gid = (gid_t)g;
	} else {
		gid_t *groups = NULL;
		size_t ng = 0;
		char *home = NULL;
		r = eng_resolve_user(vfd, cspec, &o->uid, &o->gid, &groups, &ng, &home, e);
		free(groups);
		free(home);
	}
	bimg_view_close(vfd, mnt);
	return r < 0 ? berr_ctx(e, "--chown=%s", cspec) : 0;
}

/* One source (a cleaned path under src) into upper at dest. */
static int copy_one(bctx *b, bool add, int src, int upper, int vfd, const char *path,
		    const char *dest, bool dest_dir, own *o, berr *e)
{
	_cleanup_close_ int fd = fs_open_in_root(src, *path ? path : ".", O_PATH, 0, e);
	if (fd < 0) {
		if (e->errnum == ENOENT)
			return berr_set(e, ENOENT,
					"%s: no such file or directory in the context (or excluded "
					"by .dockerignore)",
					*path ? path : ".");
		return -1;
	}
	struct stat s;
	if (fstat(fd, &s) < 0)
		return berr_sys(e, "stat %s", path);
	fs_owner_map om = {.map = own_map, .arg = o};
	if (S_ISDIR(s.st_mode)) {
		/* the directory's contents, as Docker */
		_cleanup_close_ int d = mkparents(upper, vfd, dest, e);
		struct stat before;
		if (d < 0 || fstat(d, &before) < 0)
			return -1;
		if (fs_copy_tree_owners(fd, d, &om, e) < 0)
			return -1;
		if (fchmod(d, before.st_mode & 07777) < 0 ||
		    fchown(d, before.st_uid, before.st_gid) < 0)
			return berr_sys(e, "restore the mode of %s", dest);
		if (o->mode >= 0) {
			ld_visitor v = {.visit = chmod_visit, .ctx = o};
			if (ld_walk(d, 0, &v, e) < 0)
				return -1;
		}
		return 0;
	}
	if (!S_ISREG(s.st_mode))
		return berr_set(e, EINVAL, "%s: not a regular file or directory", path);
	_cleanup_close_ int rfd = openat(fd, ".", O_RDONLY | O_CLOEXEC);
	if (rfd < 0 && (rfd = fs_open_in_root(src, path, O_RDONLY, 0, e)) < 0)
		return -1;
	if (add && bctx_is_tar(rfd)) {
		_cleanup_close_ int d = mkparents(upper, vfd, dest, e);
		if (d < 0)
			return -1;
		return build_context_untar(rfd, d, 0, e) < 0 ? berr_ctx(e, "ADD %s", path) : 0;
	}
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	_cleanup_free_ char *pdir = NULL, *name = NULL;
	if (dest_dir || view_isdir(vfd, dest)) {
		pdir = xstrdup(dest);
		name = xstrdup(base);
	} else {
		pdir = xstrdup(dest);
		char *sl = strrchr(pdir, '/');
		name = xstrdup(sl + 1);
		sl[sl == pdir ? 1 : 0] = '\0';
	}
	_cleanup_close_ int d = mkparents(upper, vfd, pdir, e);
	if (d < 0)
		return -1;
	if (fs_copy_at(rfd, d, name, FS_COPY_REPLACE | FS_COPY_NO_OWNER, e) < 0)
		return -1;
	if (fchownat(d, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (o->mode >= 0 && fchmodat(d, name, (mode_t)o->mode, 0) < 0))
		return berr_sys(e, "set the owner of %s", name);
	(void)b;
	return 0;
}

static int null_sink(void *ctx, const void *buf, size_t len, berr *e)
{
	(void)ctx, (void)buf, (void)len, (void)e;
	return 0;
}

/* The source root of --from: an earlier stage's image, or an image. */
static int from_root(bctx *b, bstage *st, const char *from, int *fd, char **mnt, berr *e)
{
	const df_stage *s = df_stage_find(b->df, from);
	size_t cur = (size_t)(st - b->stages);
	const char *id = NULL;
	img_image im = {0};
	if (s && (size_t)(s - b->df->stages) < cur) {
		id = b->stages[s - b->df->stages].image;
	} else {
		if (image_resolve(b->s, from, &im, e) < 0)
			return berr_ctx(e, "--from=%s", from);
		id = im.rec.id.s;
	}
	int r = bimg_view(b, id, fd, mnt, e);
	image_free(&im);
	return r;
}

int bstep_copy(bctx *b, bstage *st, const df_instr *in, char **env, dg_str *id, bool *cached,
	       berr *e)
{
	bool add = in->kind == DF_ADD;
	const char *from = NULL, *chown_spec = NULL, *chmod_spec = NULL;
	for (size_t i = 0; i < in->n_flags; i++) {
		const df_kv *f = &in->flags[i];
		if (!strcmp(f->key, "from"))
			from = f->value;
		else if (!strcmp(f->key, "chown"))
			chown_spec = f->value;
		else if (!strcmp(f->key, "chmod"))
			chmod_spec = f->value;
		else if (strcmp(f->key, "link"))
			return berr_set(e, ENOTSUP, "--%s: not supported yet", f->key);
	}
	if (in->n_heredocs)
		return berr_set(e, ENOTSUP, "a here-document in %s: not supported yet",
				df_kind_name(in->kind));
	if (in->n_args < 2)
		return berr_set(e, EINVAL, "%s requires at least two arguments",
				df_kind_name(in->kind));
	own o = {.mode = -1};
	if (chmod_spec) {
		char *end;
		o.mode = strtol(chmod_spec, &end, 8);
		if (*end || o.mode < 0 || o.mode > 07777)
			return berr_set(e, EINVAL, "--chmod=%s: not an octal mode", chmod_spec);
	}
	__attribute__((cleanup(strv_freep))) char **words = NULL;
	for (size_t i = 0; i < in->n_args; i++) {
		char *w = subst_word(in->args[i], b->df->escape, subst_env_lookup, env, e);
		if (!w)
			return -1;
		strv_push(&words, w);
		free(w);
	}
	size_t n_src = in->n_args - 1;
	const char *wd = json_object_get_string(jobj(jobj(st->doc, "config"), "WorkingDir"));
	const char *d = words[n_src];
	_cleanup_free_ char *dest =
	    d[0] == '/' ? xstrdup(d) : xasprintf("%s/%s", wd && *wd ? wd : "", d);
	bool dest_dir = dest[strlen(dest) - 1] == '/' || !strcmp(d, ".");
	if (chown_spec && chown_ids(b, st, chown_spec, &o, e) < 0)
		return -1;
	/* the sources, cleaned and expanded */
	int src = b->ctx_fd, vfd = -1, ufd = -1, ret = -1;
	char *src_mnt = NULL, *vmnt = NULL;
	char **paths = NULL;
	_cleanup_free_ char *uname = bx_tmpname(b, "u");
	_cleanup_free_ char *text = NULL, *by = NULL;
	if (from && from_root(b, st, from, &src, &src_mnt, e) < 0)
		return -1;
	if (from && src < 0) {
		berr_set(e, ENOENT, "--from=%s: the image has no files", from);
		goto out;
	}
	bool glob = false;
	for (size_t i = 0; i < n_src; i++) {
		const char *w = words[i];
		if (add && (!strncmp(w, "http://", 7) || !strncmp(w, "https://", 8) ||
			    !strncmp(w, "git@", 4))) {
			berr_set(e, ENOTSUP, "ADD %s: URLs are not supported yet", w);
			goto out;
		}
		char *c;
		if (clean_src(w, &c, e) < 0)
			goto out;
		if (strpbrk(c, "*?[")) {
			glob = true;
			char **m = NULL;
			expand_glob(src, c, &m, e);
			for (size_t j = 0; m && m[j]; j++)
				strv_push(&paths, m[j]);
			strv_free(m);
		} else {
			strv_push(&paths, c);
		}
		free(c);
	}
	if (!paths) {
		berr_set(e, ENOENT, "no source files were specified");
		goto out;
	}
	if (bimg_view(b, st->image, &vfd, &vmnt, e) < 0)
		goto out;
	if ((n_src > 1 || glob) && !dest_dir && !view_isdir(vfd, dest)) {
		berr_set(e, EINVAL,
			 "when using %s with more than one source file, the destination must be "
			 "a directory and end with a /",
			 df_kind_name(in->kind));
		goto out;
	}
	if (mkdirat(b->tmp_fd, uname, 0755) < 0 ||
	    (ufd = openat(b->tmp_fd, uname, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		berr_sys(e, "mkdir %s/%s", b->tmp, uname);
		goto out;
	}
	char *rd = NULL;
	if (resolve_dest(vfd, dest, &rd, e) < 0)
		goto out;
	free(dest);
	dest = rd;
	for (size_t i = 0; paths[i]; i++)
		if (copy_one(b, add, src, ufd, vfd, paths[i], dest, dest_dir, &o, e) < 0)
			goto out;
	/* the content's digest (mtimes clamped away) goes into the key */
	ld_tar_opts t = {.layer = true, .clamp = true, .epoch = 0};
	ld_sink sink = {.write = null_sink};
	ld_tar_result tr;
	if (ld_tar(ufd, &t, &sink, &tr, e) < 0)
		goto out;
	text = subst_word(in->original, b->df->escape, subst_env_lookup, env, e);
	if (!text)
		goto out;
	by = xasprintf("/bin/sh -c #(nop) %s", text);
	bkey k;
	bcache_key(st->image, by, st->args, tr.diff_id.s, &k);
	if (bcache_get(b, &k, id)) {
		*cached = true;
		ret = 0;
	} else {
		ret = commit_step(b, st, by, &k, ufd, false, id, e);
	}
out:
	strv_free(paths);
	if (ufd >= 0) {
		berr ig;
		close(ufd);
		fs_rm_rf_at(b->tmp_fd, uname, &ig);
	}
	bimg_view_close(vfd, vmnt);
	if (from)
		bimg_view_close(src, src_mnt);
	return ret;
}

int bstep_workdir(bctx *b, bstage *st, const df_instr *in, char **env, dg_str *id, bool *cached,
		  berr *e)
{
	_cleanup_free_ char *w =
	    subst_word(in->n_args ? in->args[0] : "", b->df->escape, subst_env_lookup, env, e);
	if (!w)
		return -1;
	json_object *cfg = jobj(st->doc, "config");
	const char *wd = json_object_get_string(jobj(cfg, "WorkingDir"));
	_cleanup_free_ char *raw = w[0] == '/' ? xstrdup(w) : xasprintf("%s/%s", wd ? wd : "", w);
	_cleanup_free_ char *rel = NULL;
	if (clean_src(raw, &rel, e) < 0)
		return -1;
	_cleanup_free_ char *dir = xasprintf("/%s", rel);
	_cleanup_free_ char *by = xasprintf("/bin/sh -c #(nop) WORKDIR %s", dir);
	bkey k;
	bcache_key(st->image, by, st->args, NULL, &k);
	if (bcache_get(b, &k, id)) {
		*cached = true;
		return 0;
	}
	json_object_object_add(cfg, "WorkingDir", json_object_new_string(dir));
	int vfd, ufd = -1, ret = -1;
	char *vmnt;
	_cleanup_free_ char *uname = NULL;
	if (bimg_view(b, st->image, &vfd, &vmnt, e) < 0)
		return -1;
	if (view_isdir(vfd, dir)) {
		ret = commit_step(b, st, by, &k, -1, false, id, e);
		goto out;
	}
	uname = bx_tmpname(b, "w");
	if (mkdirat(b->tmp_fd, uname, 0755) < 0 ||
	    (ufd = openat(b->tmp_fd, uname, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		berr_sys(e, "mkdir %s/%s", b->tmp, uname);
		goto out;
	}
	int d = mkparents(ufd, vfd, dir, e);
	if (d < 0)
		goto out;
	close(d);
	ret = commit_step(b, st, by, &k, ufd, false, id, e);
out:
	if (ufd >= 0) {
		berr ig;
		close(ufd);
		fs_rm_rf_at(b->tmp_fd, uname, &ig);
	}
	bimg_view_close(vfd, vmnt);
	return ret;
}
