/* COPY and ADD: the sources (from the filtered context, an earlier stage or
 * an image) written into a fresh directory that becomes the step's layer;
 * --chown, --chmod, globs, directories' contents, ADD's local tars. The
 * cache key has the written tree's digest (mtimes clamped away). */
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

/* Where a file source of this name goes: dest/name when dest is a
 * directory (dest_dir, or one in the image), else dest itself. Its parent
 * is made in upper (a directory fd returned), *fname set. name NULL: none
 * is known (dest must then name a file). */
static int dest_parent(int upper, int vfd, const char *dest, bool dest_dir, const char *name,
		       const own *o, char **fname, berr *e)
{
	_cleanup_free_ char *pdir = xstrdup(dest);
	if (dest_dir || bpath_isdir(vfd, dest)) {
		if (!name)
			return berr_set(e, EINVAL, "no file name: give a destination file path");
		*fname = xstrdup(name);
	} else {
		char *sl = strrchr(pdir, '/');
		*fname = xstrdup(sl + 1);
		sl[sl == pdir ? 1 : 0] = '\0';
	}
	/* the directories it makes are --chown's (buildah, BuildKit) */
	return bpath_mkparents_owned(upper, vfd, pdir, o->uid, o->gid, e);
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
		/* the directory's contents, as Docker; the directories it makes are
		 * --chown's (BuildKit, buildah), one the image has keeps its owner */
		_cleanup_close_ int d = bpath_mkparents_owned(upper, vfd, dest, o->uid, o->gid, e);
		struct stat before;
		if (d < 0)
			return -1;
		if (fstat(d, &before) < 0)
			return berr_sys(e, "stat %s", dest);
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
	_cleanup_close_ int rfd = fs_open_in_root(src, path, O_RDONLY, 0, e);
	if (rfd < 0)
		return -1;
	if (add && bctx_is_tar(rfd)) {
		_cleanup_close_ int d = bpath_mkparents(upper, vfd, dest, e);
		if (d < 0)
			return -1;
		return build_context_untar(rfd, d, 0, e) < 0 ? berr_ctx(e, "ADD %s", path) : 0;
	}
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int d = dest_parent(upper, vfd, dest, dest_dir, base, o, &name, e);
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

/* The file a generated source (a here-document, a download) becomes
 * (dest_parent), created, owned by o, mode o's --chmod or mode. */
static int dest_file(int upper, int vfd, const char *dest, bool dest_dir, const char *name,
		     mode_t mode, const own *o, berr *e)
{
	_cleanup_free_ char *fname = NULL;
	_cleanup_close_ int d = dest_parent(upper, vfd, dest, dest_dir, name, o, &fname, e);
	if (d < 0)
		return -1;
	int fd = openat(d, fname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_sys(e, "create %s", fname);
	/* the owner first: a chown clears the set-id bits a --chmod may give */
	if (fchown(fd, o->uid, o->gid) < 0 ||
	    fchmod(fd, o->mode >= 0 ? (mode_t)o->mode : mode) < 0) {
		close(fd);
		return berr_sys(e, "set the mode and owner of %s", fname);
	}
	return fd;
}

/* A here-document source (`COPY <<EOF /dst`): a file named after its
 * delimiter, mode 0644 as BuildKit makes it (--chmod applies), the body
 * expanded unless the delimiter was quoted. */
static int copy_heredoc(int upper, int vfd, const df_heredoc *h, char **env, const char *dest,
			bool dest_dir, const own *o, berr *e)
{
	if (!*h->name || strchr(h->name, '/') || !strcmp(h->name, ".") || !strcmp(h->name, ".."))
		return berr_set(e, EINVAL, "here-document <<%s: not a file name", h->name);
	_cleanup_free_ char *body =
	    h->expand ? subst_heredoc(h->content, subst_env_lookup, env, e) : xstrdup(h->content);
	if (!body)
		return berr_ctx(e, "here-document <<%s", h->name);
	_cleanup_close_ int fd = dest_file(upper, vfd, dest, dest_dir, h->name, 0644, o, e);
	if (fd < 0)
		return berr_ctx(e, "here-document <<%s", h->name);
	if (fs_write_all(fd, body, strlen(body)) < 0)
		return berr_sys(e, "write %s", dest);
	return 0;
}

/* The largest file ADD downloads */
#define ADD_URL_MAX (8ull << 30)

/* The last segment of a URL's path (query and fragment left out), or NULL. */
static char *url_base(const char *url)
{
	const char *p = strstr(url, "://") + 3;
	size_t end = strcspn(p, "?#");
	const char *path = memchr(p, '/', end);
	if (!path)
		return NULL;
	size_t plen = end - (size_t)(path - p);
	while (plen && path[plen - 1] == '/')
		plen--;
	const char *base = path;
	for (size_t i = 0; i < plen; i++)
		if (path[i] == '/')
			base = path + i + 1;
	size_t blen = plen - (size_t)(base - path);
	if (!blen || (blen == 1 && base[0] == '.') || (blen == 2 && !strncmp(base, "..", 2)))
		return NULL;
	return xstrndup(base, blen);
}

/* ADD URL: a file named after the URL path's last segment (or dest itself
 * when dest names a file), mode 0600, the mtime from Last-Modified, as
 * Docker; never extracted. checksum: "sha256:HEX" to verify, or NULL. */
static int add_url(bctx *b, int upper, int vfd, const char *url, const char *dest, bool dest_dir,
		   const char *checksum, const own *o, berr *e)
{
	_cleanup_free_ char *name = url_base(url);
	_cleanup_close_ int fd = dest_file(upper, vfd, dest, dest_dir, name, 0600, o, e);
	if (fd < 0)
		return berr_ctx(e, "ADD %s", url);
	reg_fetch r;
	if (registry_fetch_url(url, b->o->reg, fd, ADD_URL_MAX, &r, e) < 0)
		return -1;
	if (checksum && strcmp(checksum, r.digest.s))
		return berr_set(e, EINVAL, "ADD %s: checksum mismatch: got %s, want %s", url,
				r.digest.s, checksum);
	if (r.mtime >= 0) {
		struct timespec ts[2] = {{.tv_sec = (time_t)r.mtime}, {.tv_sec = (time_t)r.mtime}};
		if (futimens(fd, ts) < 0)
			return berr_sys(e, "ADD %s: set the mtime", url);
	}
	return 0;
}

static bool is_url(const char *w)
{
	return !strncmp(w, "http://", 7) || !strncmp(w, "https://", 8);
}

/* Whether a COPY/ADD source word is a here-document's marker (the parser
 * collected the body in order). */
static bool is_heredoc_word(const char *w)
{
	w += strspn(w, "0123456789");
	return w[0] == '<' && w[1] == '<' && w[2];
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
		if (bx_pull_image(b, "--from=", from, e) < 0)
			return -1;
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
	const char *from = NULL, *chown_spec = NULL, *chmod_spec = NULL, *checksum = NULL;
	for (size_t i = 0; i < in->n_flags; i++) {
		const df_kv *f = &in->flags[i];
		if (!strcmp(f->key, "from"))
			from = f->value;
		else if (!strcmp(f->key, "chown"))
			chown_spec = f->value;
		else if (!strcmp(f->key, "chmod"))
			chmod_spec = f->value;
		else if (!strcmp(f->key, "checksum"))
			checksum = f->value;
		else if (strcmp(f->key, "link"))
			return berr_set(e, ENOTSUP, "--%s: not supported yet", f->key);
	}
	if (in->n_args < 2)
		return berr_set(e, EINVAL, "%s requires at least two arguments",
				df_kind_name(in->kind));
	/* --chown and --chmod take variables (as BuildKit) */
	_cleanup_free_ char *chown_x = NULL, *chmod_x = NULL;
	if (chown_spec && !(chown_spec = chown_x =
				subst_word(chown_spec, b->df->escape, subst_env_lookup, env, e)))
		return -1;
	if (chmod_spec && !(chmod_spec = chmod_x =
				subst_word(chmod_spec, b->df->escape, subst_env_lookup, env, e)))
		return -1;
	_cleanup_free_ char *checksum_x = NULL;
	if (checksum) {
		if (!(checksum = checksum_x =
			  subst_word(checksum, b->df->escape, subst_env_lookup, env, e)))
			return -1;
		if (strncmp(checksum, "sha256:", 7) || !dg_valid(checksum))
			return berr_set(e, EINVAL, "ADD --checksum=%s: not sha256:<64 hex digits>",
					checksum);
	}
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
	char **paths = NULL, **urls = NULL;
	bool glob = false;
	size_t n_hd = 0;
	_cleanup_free_ char *uname = bx_tmpname(b, "u");
	_cleanup_free_ char *text = NULL, *by = NULL;
	if (from && from_root(b, st, from, &src, &src_mnt, e) < 0)
		return -1;
	if (from && src < 0) {
		berr_set(e, ENOENT, "--from=%s: the image has no files", from);
		goto out;
	}
	if (in->n_heredocs && is_heredoc_word(in->args[n_src])) {
		berr_set(e, EINVAL, "%s: a here-document can not be the destination",
			 df_kind_name(in->kind));
		goto out;
	}
	for (size_t i = 0; i < n_src; i++) {
		const char *w = words[i];
		if (n_hd < in->n_heredocs && is_heredoc_word(in->args[i])) {
			n_hd++;
			continue;
		}
		if (add && is_url(w)) {
			strv_push(&urls, w);
			continue;
		}
		if (add && !strncmp(w, "git@", 4)) {
			berr_set(e, ENOTSUP, "ADD %s: git sources are not supported", w);
			goto out;
		}
		char *c;
		if (bpath_clean(w, &c, e) < 0)
			goto out;
		if (strpbrk(c, "*?[")) {
			glob = true;
			char **m = NULL;
			bpath_glob(src, c, &m, e);
			for (size_t j = 0; m && m[j]; j++)
				strv_push(&paths, m[j]);
			strv_free(m);
		} else {
			strv_push(&paths, c);
		}
		free(c);
	}
	if (checksum && (paths || n_hd || strv_len(urls) != 1)) {
		berr_set(e, EINVAL, "ADD --checksum: only for one URL source");
		goto out;
	}
	if (!paths && !n_hd && !urls) {
		berr_set(e, ENOENT, "no source files were specified");
		goto out;
	}
	if (bimg_view(b, st->image, &vfd, &vmnt, e) < 0)
		goto out;
	if ((n_src > 1 || glob) && !dest_dir && !bpath_isdir(vfd, dest)) {
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
	if (bpath_resolve(vfd, dest, &rd, e) < 0)
		goto out;
	free(dest);
	dest = rd;
	for (size_t i = 0; paths && paths[i]; i++)
		if (copy_one(b, add, src, ufd, vfd, paths[i], dest, dest_dir, &o, e) < 0)
			goto out;
	for (size_t i = 0; i < n_hd; i++)
		if (copy_heredoc(ufd, vfd, &in->heredocs[i], env, dest, dest_dir, &o, e) < 0)
			goto out;
	for (size_t i = 0; urls && urls[i]; i++)
		if (add_url(b, ufd, vfd, urls[i], dest, dest_dir, checksum, &o, e) < 0)
			goto out;
	/* the content's digest (mtimes clamped away) goes into the key */
	dg_str digest;
	if (bx_tree_digest(ufd, &digest, e) < 0)
		goto out;
	text = subst_word(in->original, b->df->escape, subst_env_lookup, env, e);
	if (!text)
		goto out;
	by = xasprintf("/bin/sh -c #(nop) %s", text);
	bkey k;
	bcache_key(st->image, by, st->args, digest.s, &k);
	if (bcache_get(b, &k, id)) {
		*cached = true;
		ret = 0;
	} else {
		ret = bstep_commit(b, st, by, &k, ufd, false, id, e);
	}
out:
	strv_free(paths);
	strv_free(urls);
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
