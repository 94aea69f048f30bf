/* RUN's flags: --network=none|host|default and --mount (BuildKit's
 * dockerfile reference, "RUN --mount"): type=bind (the context, or
 * from=stage|image; read-only unless rw, and then a private copy whose
 * writes are dropped), type=cache (a directory under <root>/build-mounts
 * kept between builds, per id), type=tmpfs, type=secret (a --secret, as a
 * read-only file or env=VAR).
 *
 * A mount never becomes part of the layer: what is mounted is not in the
 * container's upper directory, and the target directories and files the
 * runtime had to create for the mounts (absent from the image) are removed
 * from it after the step when they are still empty. The cache key of the
 * step has each mount's normalised mspec, a bind source's content digest (the
 * context) or image ID (from=), never a secret's content. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/buf.h"
#include "build/build_priv.h"
#include "build/subst.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define MAX_MOUNTS 64

static json_object *jobj(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

enum {
	K_TARGET,
	K_SOURCE,
	K_FROM,
	K_RW,
	K_RO,
	K_ID,
	K_SHARING,
	K_MODE,
	K_UID,
	K_GID,
	K_SIZE,
	K_REQUIRED,
	K_ENV,
	K_COUNT
};

/* The keys each type takes (BuildKit's names and aliases). */
static const struct {
	const char *name;
	int key;
	unsigned types; /* bit per bm_type */
} keys[] = {
    {"target", K_TARGET, 15}, {"dst", K_TARGET, 15},	   {"destination", K_TARGET, 15},
    {"source", K_SOURCE, 1},  {"src", K_SOURCE, 1},	   {"from", K_FROM, 1},
    {"rw", K_RW, 1},	      {"readwrite", K_RW, 1},	   {"ro", K_RO, 3},
    {"readonly", K_RO, 3},    {"id", K_ID, 2 | 8},	   {"sharing", K_SHARING, 2},
    {"mode", K_MODE, 2 | 8},  {"uid", K_UID, 2 | 8},	   {"gid", K_GID, 2 | 8},
    {"size", K_SIZE, 4},      {"required", K_REQUIRED, 8}, {"env", K_ENV, 8},
};

static const char *const type_names[] = {"bind", "cache", "tmpfs", "secret"};

static bool is_bool_key(int k)
{
	return k == K_RW || k == K_RO || k == K_REQUIRED;
}

static int parse_bool(const char *mspec, const char *name, const char *v, bool *out, berr *e)
{
	if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return berr_set(e, EINVAL, "RUN --mount=%s: %s=%s: not true or false", mspec, name,
				v);
	return 0;
}

static int parse_num(const char *mspec, const char *name, const char *v, int base, long max,
		     long *out, berr *e)
{
	char *end;
	errno = 0;
	long x = v ? strtol(v, &end, base) : -1;
	if (!v || errno || end == v || *end || x < 0 || x > max)
		return berr_set(e, EINVAL, "RUN --mount=%s: %s=%s: not a valid number", mspec, name,
				v ? v : "");
	*out = x;
	return 0;
}

/* The target made absolute (against WorkingDir) and cleaned: "/a/b". */
static int clean_target(const bstage *st, const char *mspec, const char *t, char **out, berr *e)
{
	const char *wd = json_object_get_string(jobj(jobj(st->doc, "config"), "WorkingDir"));
	_cleanup_free_ char *abs = t[0] == '/' ? xstrdup(t) : xasprintf("%s/%s", wd ? wd : "", t);
	_cleanup_free_ char *rel = NULL;
	if (bpath_clean(abs, &rel, e) < 0)
		return berr_ctx(e, "RUN --mount=%s", mspec);
	if (!*rel)
		return berr_set(e, EINVAL, "RUN --mount=%s: the target can not be /", mspec);
	*out = xasprintf("/%s", rel);
	return 0;
}

/* The digest of a context path: a directory's tree (mtimes clamped away), a
 * file's mode and content. */
static int context_digest(bctx *b, const char *mspec, const char *src, dg_str *d, berr *e)
{
	_cleanup_close_ int fd = fs_open_in_root(b->ctx_fd, *src ? src : ".", O_RDONLY, 0, e);
	if (fd < 0) {
		if (e->errnum == ENOENT)
			return berr_set(e, ENOENT,
					"RUN --mount=%s: %s: no such file or directory in the "
					"context",
					mspec, *src ? src : ".");
		return berr_ctx(e, "RUN --mount=%s", mspec);
	}
	struct stat s;
	if (fstat(fd, &s) < 0)
		return berr_sys(e, "stat %s", src);
	if (S_ISDIR(s.st_mode))
		return bx_tree_digest(fd, d, e);
	if (!S_ISREG(s.st_mode))
		return berr_set(e, EINVAL, "RUN --mount=%s: %s: not a file or directory", mspec,
				src);
	unsigned long long size;
	dg_str c;
	if (dg_of_fd(fd, &c, &size, e) < 0)
		return berr_ctx(e, "read %s", src);
	_cleanup_free_ char *t = xasprintf("%o %s", (unsigned)(s.st_mode & 07777), c.s);
	*d = dg_of_buf(t, strlen(t));
	return 0;
}

/* The image a from= names: an earlier stage's, or an image of the store. */
static int from_image(bctx *b, bstage *st, const char *mspec, const char *from, char **id, berr *e)
{
	const df_stage *s = df_stage_find(b->df, from);
	size_t cur = (size_t)(st - b->stages);
	if (s && (size_t)(s - b->df->stages) < cur) {
		const char *sid = b->stages[s - b->df->stages].image;
		if (!sid)
			return berr_set(e, ENOENT, "RUN --mount=%s: stage %s has no files", mspec,
					from);
		*id = xstrdup(sid);
		return 0;
	}
	img_image im = {0};
	if (bx_pull_image(b, "RUN --mount from=", from, e) < 0)
		return -1;
	if (image_resolve(b->s, from, &im, e) < 0)
		return berr_ctx(e, "RUN --mount=%s: from=%s", mspec, from);
	*id = xstrdup(im.rec.id.s);
	image_free(&im);
	return 0;
}

static int parse_mount(bctx *b, bstage *st, const char *raw, char **env, bmount *m, bbuf *key,
		       berr *e)
{
	_cleanup_free_ char *mspec = subst_word(raw, b->df->escape, subst_env_lookup, env, e);
	if (!mspec)
		return berr_ctx(e, "RUN --mount=%s", raw);
	char *vals[K_COUNT] = {0};
	bool seen[K_COUNT] = {0};
	const char *type = "bind";
	_cleanup_free_ char *c = xstrdup(mspec);
	/* the type first: it says which keys are known */
	for (char *sv = NULL, *t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
		if (!strncmp(t, "type=", 5))
			type = mspec + (t - c) + 5;
	size_t tl = strcspn(type, ",");
	int ty = -1;
	for (int i = 0; i < 4; i++)
		if (strlen(type_names[i]) == tl && !strncmp(type, type_names[i], tl))
			ty = i;
	if (ty < 0)
		return berr_set(e, EINVAL,
				"RUN --mount=%s: type \"%.*s\" unknown or not supported (bind, "
				"cache, tmpfs, secret)",
				mspec, (int)tl, type);
	m->type = (bm_type)ty;
	free(c);
	c = xstrdup(mspec);
	for (char *sv = NULL, *t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
		char *v = strchr(t, '=');
		if (v)
			*v++ = '\0';
		if (!strcmp(t, "type"))
			continue;
		int k = -1;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strcmp(keys[i].name, t) && (keys[i].types & (1u << ty)))
				k = keys[i].key;
		if (k < 0)
			return berr_set(e, EINVAL, "RUN --mount=%s: unknown key \"%s\" for type=%s",
					mspec, t, type_names[ty]);
		if (seen[k])
			return berr_set(e, EINVAL, "RUN --mount=%s: \"%s\" given twice", mspec, t);
		if (!v && !is_bool_key(k))
			return berr_set(e, EINVAL, "RUN --mount=%s: \"%s\" needs a value", mspec,
					t);
		seen[k] = true;
		vals[k] = v;
		if (is_bool_key(k)) {
			bool x = false;
			if (parse_bool(mspec, t, v, &x, e) < 0)
				return -1;
			if (k == K_RW)
				m->rw = x;
			else if (k == K_RO)
				m->rw = !x;
			else
				m->required = x;
		}
	}
	m->mode = m->uid = m->gid = -1;
	if ((seen[K_MODE] && parse_num(mspec, "mode", vals[K_MODE], 8, 07777, &m->mode, e) < 0) ||
	    (seen[K_UID] && parse_num(mspec, "uid", vals[K_UID], 10, 0x7fffffff, &m->uid, e) < 0) ||
	    (seen[K_GID] && parse_num(mspec, "gid", vals[K_GID], 10, 0x7fffffff, &m->gid, e) < 0))
		return -1;
	if (m->type == BM_CACHE)
		m->rw = !(seen[K_RO] && !m->rw);
	if (seen[K_SHARING] && strcmp(vals[K_SHARING], "shared") &&
	    strcmp(vals[K_SHARING], "private") && strcmp(vals[K_SHARING], "locked"))
		return berr_set(e, EINVAL,
				"RUN --mount=%s: sharing must be shared, private or locked", mspec);
	m->locked = seen[K_SHARING] && !strcmp(vals[K_SHARING], "locked");
	if (seen[K_SIZE]) {
		int64_t sz;
		if (eng_parse_size(vals[K_SIZE], &sz) < 0 || sz <= 0)
			return berr_set(e, EINVAL, "RUN --mount=%s: size=%s: not a size", mspec,
					vals[K_SIZE]);
		m->size = xstrdup(vals[K_SIZE]);
	}
	if (m->type == BM_SECRET) {
		if (!seen[K_ID] && !seen[K_TARGET])
			return berr_set(e, EINVAL,
					"RUN --mount=%s: a secret needs id= or target=", mspec);
		const char *tg = vals[K_TARGET];
		m->id = xstrdup(seen[K_ID] ? vals[K_ID]
					   : (strrchr(tg, '/') ? strrchr(tg, '/') + 1 : tg));
		if (seen[K_ENV]) {
			m->env = xstrdup(vals[K_ENV]);
			if (!*m->env || strchr(m->env, '='))
				return berr_set(e, EINVAL, "RUN --mount=%s: env=%s: not a name",
						mspec, m->env);
		}
	}
	const char *target = vals[K_TARGET];
	_cleanup_free_ char *dflt = NULL;
	if (!target && m->type == BM_SECRET && !m->env)
		target = dflt = xasprintf("/run/secrets/%s", m->id);
	if (!target && m->type != BM_SECRET)
		return berr_set(e, EINVAL, "RUN --mount=%s: target= is required", mspec);
	if (target && clean_target(st, mspec, target, &m->target, e) < 0)
		return -1;
	if (m->type == BM_CACHE)
		m->id = xstrdup(seen[K_ID] && *vals[K_ID] ? vals[K_ID] : m->target);
	if (m->type == BM_BIND) {
		if (bpath_clean(vals[K_SOURCE] ? vals[K_SOURCE] : "", &m->source, e) < 0)
			return berr_ctx(e, "RUN --mount=%s", mspec);
		if (vals[K_FROM]) {
			if (from_image(b, st, mspec, vals[K_FROM], &m->from_id, e) < 0)
				return -1;
		}
	}
	/* the cache key's part: normalised, a bind source's content digest */
	_cleanup_free_ char *part = NULL;
	if (m->type == BM_BIND) {
		dg_str d = {0};
		if (!m->from_id && context_digest(b, mspec, m->source, &d, e) < 0)
			return -1;
		part = xasprintf("bind %s from=%s source=%s rw=%d %s", m->target,
				 m->from_id ? m->from_id : "context", m->source, m->rw, d.s);
	} else if (m->type == BM_CACHE) {
		part = xasprintf("cache %s id=%s ro=%d mode=%ld uid=%ld gid=%ld", m->target, m->id,
				 !m->rw, m->mode, m->uid, m->gid);
	} else if (m->type == BM_TMPFS) {
		part = xasprintf("tmpfs %s size=%s", m->target, m->size ? m->size : "");
	} else {
		part = xasprintf("secret %s id=%s env=%s required=%d mode=%ld uid=%ld gid=%ld",
				 m->target ? m->target : "", m->id, m->env ? m->env : "",
				 m->required, m->mode, m->uid, m->gid);
	}
	bbuf_add(key, part, strlen(part));
	bbuf_addc(key, '\n');
	return 0;
}

int brun_parse(bctx *b, bstage *st, const df_instr *in, char **env, brun *r, berr *e)
{
	*r = (brun){0};
	r->network = b->o->host_network ? "host" : "none";
	bbuf key = {0};
	bbuf_add(&key, "", 0);
	int ret = -1;
	for (size_t i = 0; i < in->n_flags; i++) {
		const df_kv *f = &in->flags[i];
		if (!f->value || !*f->value) {
			berr_set(e, EINVAL, "RUN --%s needs a value", f->key);
			goto out;
		}
		if (!strcmp(f->key, "network")) {
			if (!strcmp(f->value, "none") || !strcmp(f->value, "host"))
				r->network = !strcmp(f->value, "host") ? "host" : "none";
			else if (strcmp(f->value, "default")) {
				berr_set(e, EINVAL,
					 "RUN --network=%s: must be none, host or default",
					 f->value);
				goto out;
			}
		} else if (!strcmp(f->key, "security")) {
			if (strcmp(f->value, "sandbox")) {
				berr_set(e, ENOTSUP, "RUN --security=%s: only sandbox is supported",
					 f->value);
				goto out;
			}
		} else if (!strcmp(f->key, "mount")) {
			if (r->n >= MAX_MOUNTS) {
				berr_set(e, E2BIG, "RUN: more than %d --mount flags", MAX_MOUNTS);
				goto out;
			}
			if (!r->m)
				r->m = xzalloc(sizeof(bmount) * MAX_MOUNTS);
			bmount *m = &r->m[r->n++];
			*m = (bmount){.vfd = -1, .lock_fd = -1};
			if (parse_mount(b, st, f->value, env, m, &key, e) < 0)
				goto out;
		}
	}
	char n[32];
	snprintf(n, sizeof(n), "network=%s", r->network);
	bbuf_add(&key, n, strlen(n));
	ret = 0;
out:
	r->key = bbuf_take(&key);
	return ret;
}

/* The host path of an O_PATH fd (in a root we made: the build's context
 * copy, an image's view), refused when it holds a ',' (the mount mspec's
 * separator). */
static int host_path(int fd, const char *mspec, char **out, berr *e)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(fs_fd_path(fd).s, buf, sizeof(buf) - 1);
	if (n < 0)
		return berr_sys(e, "RUN --mount=%s: readlink", mspec);
	buf[n] = '\0';
	if (strchr(buf, ','))
		return berr_set(e, EINVAL, "RUN --mount=%s: a source path with ',' (%s)", mspec,
				buf);
	*out = xstrdup(buf);
	return 0;
}

/* A private copy of fd (a file or directory) in the build's temp dir. */
static int rw_copy(bctx *b, bmount *m, int fd, berr *e)
{
	struct stat s;
	if (fstat(fd, &s) < 0)
		return berr_sys(e, "stat the bind source");
	m->tmpname = bx_tmpname(b, "bind");
	if (S_ISDIR(s.st_mode)) {
		_cleanup_close_ int src =
		    open(fs_fd_path(fd).s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (src < 0)
			return berr_sys(e, "open the bind source");
		if (mkdirat(b->tmp_fd, m->tmpname, 0755) < 0)
			return berr_sys(e, "mkdir %s/%s", b->tmp, m->tmpname);
		_cleanup_close_ int dst =
		    openat(b->tmp_fd, m->tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dst < 0)
			return berr_sys(e, "open %s/%s", b->tmp, m->tmpname);
		if (fs_copy_tree(src, dst, e) < 0)
			return -1;
	} else {
		_cleanup_close_ int src = open(fs_fd_path(fd).s, O_RDONLY | O_CLOEXEC);
		if (src < 0)
			return berr_sys(e, "open the bind source");
		if (fs_copy_at(src, b->tmp_fd, m->tmpname, 0, e) < 0)
			return -1;
	}
	m->host = xasprintf("%s/%s", b->tmp, m->tmpname);
	return 0;
}

static int mount_bind(bctx *b, bmount *m, berr *e)
{
	int root = b->ctx_fd;
	if (m->from_id) {
		if (bimg_view(b, m->from_id, &m->vfd, &m->vmnt, e) < 0)
			return -1;
		if (m->vfd < 0)
			return berr_set(e, ENOENT, "RUN --mount target=%s: the image has no files",
					m->target);
		root = m->vfd;
	}
	_cleanup_close_ int fd = fs_open_in_root(root, *m->source ? m->source : ".", O_PATH, 0, e);
	if (fd < 0)
		return berr_ctx(e, "RUN --mount target=%s: source %s", m->target,
				*m->source ? m->source : "/");
	if (m->rw)
		return rw_copy(b, m, fd, e);
	return host_path(fd, m->target, &m->host, e);
}

static int mount_cache(bctx *b, bmount *m, berr *e)
{
	_cleanup_free_ char *base = bx_cache_mounts_dir(b);
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return berr_sys(e, "mkdir %s", base);
	dg_str d = dg_of_buf(m->id, strlen(m->id));
	m->host = xasprintf("%s/%s", base, dg_hex(d.s));
	if (mkdir(m->host, m->mode >= 0 ? (mode_t)m->mode : 0755) == 0) {
		if (chown(m->host, m->uid >= 0 ? (uid_t)m->uid : 0,
			  m->gid >= 0 ? (gid_t)m->gid : 0) < 0 ||
		    (m->mode >= 0 && chmod(m->host, (mode_t)m->mode) < 0))
			return berr_sys(e, "set the owner of %s", m->host);
	} else if (errno != EEXIST) {
		return berr_sys(e, "mkdir %s", m->host);
	}
	/* shared while a step uses it (prune skips it), exclusive for locked */
	m->lock_fd = open(m->host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->lock_fd < 0 || flock(m->lock_fd, m->locked ? LOCK_EX : LOCK_SH) < 0)
		return berr_sys(e, "lock %s", m->host);
	return 0;
}

static int mount_secret(bctx *b, brun *r, bmount *m, berr *e)
{
	const bsecret *s = bsecret_find(b, m->id);
	if (!s) {
		if (m->required)
			return berr_set(e, ENOENT,
					"RUN --mount=type=secret,id=%s: the secret is required but "
					"not given (--secret id=%s,src=FILE)",
					m->id, m->id);
		m->skip = true;
		return 0;
	}
	if (m->env) {
		if (memchr(s->data, '\0', s->len))
			return berr_set(e, EINVAL, "secret %s: a NUL byte can not go in env=%s",
					m->id, m->env);
		char *kv = xasprintf("%s=%s", m->env, s->data);
		strv_push(&r->env, kv);
		explicit_bzero(kv, strlen(kv));
		free(kv);
	}
	if (!m->target) {
		m->skip = true;
		return 0;
	}
	m->tmpname = bx_tmpname(b, "secret");
	_cleanup_close_ int fd = openat(b->tmp_fd, m->tmpname,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0)
		return berr_sys(e, "create %s/%s", b->tmp, m->tmpname);
	if (fs_write_all(fd, s->data, s->len) < 0)
		return berr_sys(e, "write %s/%s", b->tmp, m->tmpname);
	if (fchown(fd, m->uid >= 0 ? (uid_t)m->uid : 0, m->gid >= 0 ? (gid_t)m->gid : 0) < 0 ||
	    fchmod(fd, m->mode >= 0 ? (mode_t)m->mode : 0400) < 0)
		return berr_sys(e, "set the mode of the secret %s", m->id);
	m->host = xasprintf("%s/%s", b->tmp, m->tmpname);
	return 0;
}

int brun_mount(bctx *b, brun *r, berr *e)
{
	for (size_t i = 0; i < r->n; i++) {
		bmount *m = &r->m[i];
		int rc = 0;
		if (m->type == BM_BIND)
			rc = mount_bind(b, m, e);
		else if (m->type == BM_CACHE)
			rc = mount_cache(b, m, e);
		else if (m->type == BM_SECRET)
			rc = mount_secret(b, r, m, e);
		if (rc < 0)
			return -1;
		if (m->skip)
			continue;
		if (m->host && strchr(m->host, ','))
			return berr_set(e, EINVAL, "RUN --mount target=%s: a path with ',' (%s)",
					m->target, m->host);
		if (strchr(m->target, ','))
			return berr_set(e, EINVAL, "RUN --mount target=%s: a target with ','",
					m->target);
		char *mspec;
		if (m->type == BM_TMPFS)
			mspec = xasprintf("type=tmpfs,target=%s%s%s", m->target,
					  m->size ? ",tmpfs-size=" : "", m->size ? m->size : "");
		else
			mspec = xasprintf("type=bind,source=%s,target=%s%s", m->host, m->target,
					  m->rw && m->type != BM_SECRET ? "" : ",readonly");
		strv_push(&r->specs, mspec);
		free(mspec);
	}
	return 0;
}

/* The components of "/a/b/c": "a", "b", "c" (strv). */
static char **components(const char *p)
{
	char **v = NULL;
	_cleanup_free_ char *c = xstrdup(p);
	for (char *sv = NULL, *t = strtok_r(c, "/", &sv); t; t = strtok_r(NULL, "/", &sv))
		strv_push(&v, t);
	return v;
}

static char *prefix(char *const *comp, size_t k)
{
	bbuf o = {0};
	bbuf_add(&o, "/", 1);
	for (size_t i = 0; i < k; i++) {
		if (i)
			bbuf_addc(&o, '/');
		bbuf_add(&o, comp[i], strlen(comp[i]));
	}
	return bbuf_take(&o);
}

int brun_targets(brun *r, int rootfd, berr *e)
{
	for (size_t i = 0; i < r->n; i++) {
		bmount *m = &r->m[i];
		m->missing = SIZE_MAX;
		if (m->skip)
			continue;
		if (bpath_resolve(rootfd, m->target, &m->real, e) < 0)
			return -1;
		__attribute__((cleanup(strv_freep))) char **comp = components(m->real);
		size_t n = strv_len(comp);
		for (size_t k = 1; k <= n; k++) {
			_cleanup_free_ char *p = prefix(comp, k);
			berr ig;
			int fd = fs_open_in_root(rootfd, p, O_PATH, 0, &ig);
			if (fd < 0) {
				m->missing = k - 1;
				break;
			}
			close(fd);
		}
	}
	return 0;
}

void brun_scrub(brun *r, int upper)
{
	for (size_t i = r->n; i-- > 0;) {
		bmount *m = &r->m[i];
		if (m->skip || m->missing == SIZE_MAX || !m->real)
			continue;
		__attribute__((cleanup(strv_freep))) char **comp = components(m->real);
		size_t n = strv_len(comp);
		for (size_t k = n; k-- > m->missing;) {
			_cleanup_free_ char *parent = prefix(comp, k);
			berr ig;
			_cleanup_close_ int pfd =
			    fs_open_in_root(upper, parent, O_PATH | O_DIRECTORY, 0, &ig);
			struct stat s;
			if (pfd < 0 || fstatat(pfd, comp[k], &s, AT_SYMLINK_NOFOLLOW) < 0)
				break;
			bool leaf_file = k == n - 1 && S_ISREG(s.st_mode) && s.st_size == 0;
			if (!S_ISDIR(s.st_mode) && !leaf_file)
				break;
			if (unlinkat(pfd, comp[k], S_ISDIR(s.st_mode) ? AT_REMOVEDIR : 0) < 0)
				break; /* not empty: the step wrote there */
		}
	}
}

void brun_free(bctx *b, brun *r)
{
	for (size_t i = 0; i < r->n; i++) {
		bmount *m = &r->m[i];
		if (m->tmpname) {
			berr ig;
			fs_rm_rf_at(b->tmp_fd, m->tmpname, &ig);
		}
		if (m->lock_fd >= 0)
			close(m->lock_fd);
		bimg_view_close(m->vfd, m->vmnt);
		free(m->target);
		free(m->source);
		free(m->from_id);
		free(m->id);
		free(m->size);
		free(m->env);
		free(m->host);
		free(m->tmpname);
		free(m->real);
	}
	free(r->m);
	for (size_t i = 0; r->env && r->env[i]; i++)
		explicit_bzero(r->env[i], strlen(r->env[i]));
	strv_free(r->env);
	strv_free(r->specs);
	free(r->key);
	*r = (brun){0};
}

char *brun_mount_from(const char *mspec)
{
	_cleanup_free_ char *c = xstrdup(mspec);
	char *from = NULL;
	for (char *sv = NULL, *t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
		if (!strncmp(t, "from=", 5)) {
			free(from);
			from = xstrdup(t + 5);
		}
	return from;
}
