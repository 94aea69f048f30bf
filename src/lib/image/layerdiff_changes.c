/* ld_changes_of: `docker diff` from an upper directory and its lower layers.
 *
 * "Exists below" is the merged view of the lower layers: for each directory
 * of the walk we keep which layers contribute to it (top first: a layer
 * where the directory is a directory contributes; one where it is opaque is
 * the last; a whiteout or a non-directory ends the list), so a name is
 * looked up only in the layers that can show it. The lower directories are
 * opened once per upper directory (every entry of a directory is visited
 * before anything below it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/layerdiff.h"
#include "util/fs.h"
#include "util/xalloc.h"

typedef struct dirdata {
	bool gone;    /* opaque here or above: the lower contents are hidden */
	size_t n;     /* contributing layers */
	size_t idx[]; /* their indexes in lowers, top first */
} dirdata;

typedef struct cctx {
	const int *lowers;
	size_t nl;
	ld_changes *out;
	dirdata *all; /* the root: every layer */
	char *cached; /* the parent path the fds below are open for */
	int *pfd;     /* per contributing layer of `cached` (parallel to its idx) */
	size_t npfd;
	const dirdata *pdd;
	const char *const *stubs;
} cctx;

static void add(ld_changes *c, char kind, const char *path)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = xreallocarray(c->v, c->cap, sizeof(ld_change));
	}
	c->v[c->n++] = (ld_change){.kind = kind, .path = xasprintf("/%s", path)};
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* A directory of a lower layer by its path, in pieces shorter than
 * PATH_MAX (a deep tree's paths are longer); every piece resolved inside
 * the layer. */
static int open_below(int lfd, const char *path, berr *e)
{
	int fd = -1;
	const char *p = path;
	if (!*p)
		return berr_set(e, EINVAL, "no path");
	while (*p) {
		size_t len = strlen(p);
		if (len >= PATH_MAX - 1) {
			len = PATH_MAX - 2;
			while (len && p[len] != '/')
				len--;
			if (!len) {
				if (fd >= 0)
					close(fd);
				return berr_set(e, ENAMETOOLONG, "a name in %.64s...: too long",
						path);
			}
		}
		char *piece = xstrndup(p, len);
		int next = fs_open_in_root(fd >= 0 ? fd : lfd, piece,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, e);
		free(piece);
		if (fd >= 0)
			close(fd);
		if ((fd = next) < 0)
			return -1;
		p += len;
		while (*p == '/')
			p++;
	}
	return fd;
}

static void close_cached(cctx *c)
{
	for (size_t i = 0; i < c->npfd; i++)
		if (c->pfd[i] >= 0 && c->cached[0])
			close(c->pfd[i]);
	free(c->pfd);
	free(c->cached);
	c->pfd = NULL;
	c->cached = NULL;
	c->npfd = 0;
}

/* The lower directories of the node's parent, opened for each contributing
 * layer of it. */
static int open_parent(cctx *c, const ld_node *n, const dirdata *pdd, berr *e)
{
	size_t plen = (size_t)(n->name - n->path);
	plen = plen ? plen - 1 : 0;
	if (c->cached && c->pdd == pdd && strlen(c->cached) == plen &&
	    !strncmp(c->cached, n->path, plen))
		return 0;
	close_cached(c);
	c->cached = xstrndup(n->path, plen);
	c->pdd = pdd;
	c->pfd = xreallocarray(NULL, pdd->n ? pdd->n : 1, sizeof(int));
	c->npfd = pdd->n;
	for (size_t i = 0; i < pdd->n; i++)
		c->pfd[i] = -1;
	for (size_t i = 0; i < pdd->n; i++) {
		int lfd = c->lowers[pdd->idx[i]];
		if (!plen) {
			c->pfd[i] = lfd; /* the layers' roots: not ours to close */
			continue;
		}
		c->pfd[i] = open_below(lfd, c->cached, e);
		if (c->pfd[i] < 0)
			return berr_ctx(e, "lower layer %zu", pdd->idx[i]);
	}
	return 0;
}

/* Look the node's name up below: *found when the merged lower view has it;
 * for a directory, the layers contributing to it in *child. */
static int lookup(cctx *c, const ld_node *n, const dirdata *pdd, bool *found, dirdata *child,
		  berr *e)
{
	*found = false;
	if (open_parent(c, n, pdd, e) < 0)
		return -1;
	for (size_t i = 0; i < pdd->n; i++) {
		struct stat st;
		if (fstatat(c->pfd[i], n->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return berr_sys(e, "stat %s in lower layer %zu", n->path, pdd->idx[i]);
		}
		if (is_whiteout(&st))
			break;
		*found = true;
		if (!S_ISDIR(st.st_mode) || !child)
			break;
		child->idx[child->n++] = pdd->idx[i];
		int d = openat(c->pfd[i], n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d < 0)
			return berr_sys(e, "open %s in lower layer %zu", n->path, pdd->idx[i]);
		bool opq = ld_is_opaque(d);
		close(d);
		if (opq)
			break;
	}
	return 0;
}

typedef struct lname {
	char *name;
	size_t order;
	bool hidden;
} lname;

static int cmp_lname(const void *a, const void *b)
{
	const lname *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r ? r : (x->order > y->order) - (x->order < y->order);
}

/* An opaque directory that exists below: D for every name of its lower view
 * the upper directory no longer has. */
static int lower_gone(cctx *c, const ld_node *n, const dirdata *dd, berr *e)
{
	lname *v = NULL;
	size_t nv = 0, cap = 0;
	int ret = -1;
	for (size_t i = 0; i < dd->n; i++) {
		int lfd = c->lowers[dd->idx[i]];
		int d = open_below(lfd, n->path, e);
		if (d < 0)
			goto out;
		int own = d;
		DIR *dir = fdopendir(own);
		if (!dir) {
			close(own);
			berr_sys(e, "fdopendir %s", n->path);
			goto out;
		}
		struct dirent *de;
		for (;;) {
			errno = 0;
			if (!(de = readdir(dir)))
				break;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			struct stat st;
			bool hid = fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				   is_whiteout(&st);
			if (nv == cap) {
				cap = cap ? cap * 2 : 16;
				v = xreallocarray(v, cap, sizeof(lname));
			}
			v[nv++] = (lname){.name = xstrdup(de->d_name), .order = i, .hidden = hid};
		}
		int err = errno;
		closedir(dir);
		if (err) {
			errno = err;
			berr_sys(e, "read %s in lower layer %zu", n->path, dd->idx[i]);
			goto out;
		}
	}
	if (nv)
		qsort(v, nv, sizeof(lname), cmp_lname);
	for (size_t i = 0; i < nv; i++) {
		if (i && !strcmp(v[i].name, v[i - 1].name))
			continue; /* the topmost layer's entry decides */
		struct stat st;
		if (v[i].hidden)
			continue;
		if (fstatat(n->fd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (errno != ENOENT) {
			berr_sys(e, "stat %s/%s", n->path, v[i].name);
			goto out;
		}
		char *p = xasprintf("%s/%s", n->path, v[i].name);
		add(c->out, 'D', p);
		free(p);
	}
	ret = 0;
out:
	for (size_t i = 0; i < nv; i++)
		free(v[i].name);
	free(v);
	return ret;
}

static int visit(void *ctx, const ld_node *n, bool *skip, berr *e)
{
	cctx *c = ctx;
	const dirdata *pdd = n->parent_data ? n->parent_data : c->all;
	(void)skip;
	if (ld_is_stub(n, c->stubs))
		return 0;
	if (n->whiteout) {
		add(c->out, 'D', n->path);
		return 0;
	}
	bool isdir = S_ISDIR(n->st->st_mode), found;
	dirdata *dd = NULL;
	if (isdir) {
		dd = xzalloc(sizeof(dirdata) + sizeof(size_t) * (c->nl ? c->nl : 1));
		dd->gone = pdd->gone || n->opaque;
		*n->child_data = dd;
	}
	if (lookup(c, n, pdd, &found, dd, e) < 0)
		return -1;
	if (!(found && isdir && !n->opaque && ld_only_stubs(n, c->stubs)))
		add(c->out, found ? 'C' : 'A', n->path);
	if (dd && dd->gone && dd->n)
		return lower_gone(c, n, dd, e);
	return 0;
}

static void free_data(void *ctx, void *data)
{
	(void)ctx;
	free(data);
}

static int cmp_change(const void *a, const void *b)
{
	const ld_change *x = a, *y = b;
	return strcmp(x->path, y->path);
}

int ld_changes_of(int upper, const int *lowers, size_t n, const char *const *stubs, ld_changes *out,
		  berr *e)
{
	*out = (ld_changes){0};
	cctx c = {.lowers = lowers, .nl = n, .out = out, .stubs = stubs};
	c.all = xzalloc(sizeof(dirdata) + sizeof(size_t) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		c.all->idx[c.all->n++] = i;
	ld_visitor v = {.visit = visit, .free_data = free_data, .ctx = &c};
	int r = ld_walk(upper, LD_WALK_UPPER, &v, e);
	close_cached(&c);
	free(c.all);
	if (r < 0) {
		ld_changes_free(out);
		return -1;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(ld_change), cmp_change);
	return 0;
}

void ld_changes_free(ld_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	*c = (ld_changes){0};
}

void ld_dirs_close(int upper, int *lowers, size_t n)
{
	if (upper >= 0)
		close(upper);
	for (size_t i = 0; i < n; i++)
		if (lowers[i] >= 0)
			close(lowers[i]);
	free(lowers);
}

int ld_dirs_open(const char *upperdir, const char *lowerdir, int *upper, int **lowers, size_t *n,
		 berr *e)
{
	*upper = -1;
	*lowers = NULL;
	*n = 0;
	size_t cap = 1;
	for (const char *p = lowerdir; *p; p++)
		cap += *p == ':';
	int *v = xreallocarray(NULL, cap, sizeof(int));
	size_t k = 0;
	for (const char *p = lowerdir; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *d = xstrndup(p, len);
		int fd = len ? open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (fd < 0) {
			berr_sys(e, "open lower directory %s", d);
			free(d);
			ld_dirs_close(-1, v, k);
			return -1;
		}
		free(d);
		v[k++] = fd;
		p += len + (end ? 1 : 0);
	}
	int u = open(upperdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u < 0) {
		berr_sys(e, "open upper directory %s", upperdir);
		ld_dirs_close(-1, v, k);
		return -1;
	}
	*upper = u;
	*lowers = v;
	*n = k;
	return 0;
}
