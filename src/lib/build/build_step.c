/* The steps that run or make directories: RUN (a container of the engine
 * on the stage's image, its upper directory the layer when it changed
 * anything) and WORKDIR (its directory, when the image lacks it). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/buf.h"
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
int bstep_commit(bctx *b, bstage *st, const char *by, const bkey *k, int upper, bool stubs,
		 dg_str *id, berr *e)
{
	json_object *doc = NULL;
	if (json_object_deep_copy(st->doc, &doc, NULL) < 0)
		return berr_set(e, ENOMEM, "copy the image config");
	bimg_history(b, doc, by, upper < 0);
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

/* The words with one space between (amortised appends, bbuf). */
static char *join(char *const *v)
{
	bbuf o = {0};
	bbuf_add(&o, "", 0);
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			bbuf_add(&o, " ", 1);
		bbuf_add(&o, v[i], strlen(v[i]));
	}
	return o.p;
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
	berr ig;
	json_object *doc = eng_load(b->g, cid, &ig);
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

/* Which of the mounts' targets the container's rootfs lacks (made by the
 * runtime as mount points, removed from the layer after the step). */
static int mount_targets(bctx *b, const char *cid, brun *rm, berr *e)
{
	_cleanup_free_ char *rootfs = eng_path(b->g, cid, "rootfs");
	_cleanup_close_ int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", rootfs);
	return brun_targets(rm, fd, e);
}

static int run_step(bctx *b, bstage *st, const df_instr *in, brun *rm, dg_str *id, bool *cached,
		    berr *e);

int bstep_run(bctx *b, bstage *st, const df_instr *in, char **env, dg_str *id, bool *cached,
	      berr *e)
{
	if (!st->image)
		return berr_set(e, EINVAL, "RUN: the stage has no filesystem (FROM scratch)");
	brun rm;
	int r = brun_parse(b, st, in, env, &rm, e);
	if (r == 0)
		r = run_step(b, st, in, &rm, id, cached, e);
	brun_free(b, &rm);
	return r;
}

static int run_step(bctx *b, bstage *st, const df_instr *in, brun *rm, dg_str *id, bool *cached,
		    berr *e)
{
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
	bcache_key(st->image, by, st->args, rm->n || strcmp(rm->network, "none") ? rm->key : NULL,
		   &k);
	if (bcache_get(b, &k, id)) {
		*cached = true;
		return 0;
	}
	if (brun_mount(b, rm, e) < 0)
		return -1;
	/* the args in scope and the proxies, under the config's own ENV */
	json_object *cenv = jobj(jobj(st->doc, "config"), "Env");
	__attribute__((cleanup(strv_freep))) char **extra = bx_proxy_env(b);
	for (size_t i = 0; i < nargs; i++)
		if (!in_env(cenv, st->args[i]))
			strv_push(&extra, st->args[i]);
	for (size_t i = 0; rm->env && rm->env[i]; i++)
		strv_push(&extra, rm->env[i]);
	_cleanup_free_ char *name = bx_run_name(b, b->seq++);
	eng_run_opts ro = {.image = st->image,
			   .name = name,
			   .command = argv,
			   .entrypoint = "",
			   .entrypoint_set = true,
			   .env = extra,
			   .network = rm->network,
			   .mounts = rm->specs,
			   .init = b->o->init_path != NULL};
	char cid[65];
	int r = eng_create(b->g, &ro, b->o->init_path, cid, e);
	for (size_t i = 0; extra && extra[i]; i++)
		explicit_bzero(extra[i], strlen(extra[i])); /* secrets as env */
	if (r < 0)
		return -1;
	_cleanup_free_ char *dir = eng_path(b->g, cid, ".");
	_cleanup_free_ char *updir = eng_path(b->g, cid, "upper");
	rt_create_opts co = {.bundle = dir};
	int status = 0, ret = -1;
	berr ig;
	if (rm->n && mount_targets(b, cid, rm, e) < 0)
		goto out;
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
	brun_scrub(rm, upper);
	bool changed = upper_changed(b, cid, upper);
	ret = bstep_commit(b, st, by, &k, changed ? upper : -1, true, id, e);
	close(upper);
out:
	eng_remove(b->g, cid, true, &ig);
	return ret;
}

/* The owner of what WORKDIR makes: the stage's USER, as BuildKit (Docker's
 * builder) and buildah do; the classic builder made it root's. */
static int workdir_owner(int vfd, const char *user, uid_t *uid, gid_t *gid, berr *e)
{
	*uid = 0;
	*gid = 0;
	if (!user || !*user || vfd < 0)
		return 0;
	gid_t *groups = NULL;
	size_t ng = 0;
	char *home = NULL;
	if (eng_resolve_user(vfd, user, uid, gid, &groups, &ng, &home, e) < 0)
		return berr_ctx(e, "WORKDIR: USER %s", user);
	free(groups);
	free(home);
	return 0;
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
	if (bpath_clean(raw, &rel, e) < 0)
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
	if (bpath_isdir(vfd, dir)) {
		ret = bstep_commit(b, st, by, &k, -1, false, id, e);
		goto out;
	}
	uname = bx_tmpname(b, "w");
	if (mkdirat(b->tmp_fd, uname, 0755) < 0 ||
	    (ufd = openat(b->tmp_fd, uname, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		berr_sys(e, "mkdir %s/%s", b->tmp, uname);
		goto out;
	}
	uid_t uid;
	gid_t gid;
	if (workdir_owner(vfd, json_object_get_string(jobj(cfg, "User")), &uid, &gid, e) < 0)
		goto out;
	int d = bpath_mkparents_owned(ufd, vfd, dir, uid, gid, e);
	if (d < 0)
		goto out;
	close(d);
	ret = bstep_commit(b, st, by, &k, ufd, false, id, e);
out:
	if (ufd >= 0) {
		berr ig;
		close(ufd);
		fs_rm_rf_at(b->tmp_fd, uname, &ig);
	}
	bimg_view_close(vfd, vmnt);
	return ret;
}
