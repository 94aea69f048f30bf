/* ld_walk: the iterative, fd-based tree walk under layerdiff (see
 * layerdiff.h). One directory open at a time: a directory's entries are
 * listed, sorted and visited, then its subdirectories are entered one after
 * the other by name, and the walk comes back up through "..", checked to be
 * the directory it came down from. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/layerdiff.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define DIR_FLAGS  (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

typedef struct subdir {
	char *name;
	dev_t dev;
	ino_t ino;
	void *data;
} subdir;

typedef struct frame {
	dev_t dev;
	ino_t ino;
	size_t pathlen; /* of this directory's path in walk.path */
	void *data;	/* child_data the visitor left for this directory */
	subdir *sub;	/* to enter, sub[next..n-1] */
	size_t n, next;
} frame;

typedef struct walk {
	const ld_visitor *v;
	unsigned flags;
	int fd;	  /* the current directory */
	int root; /* the walk's root (a dup) */
	dev_t root_dev;
	frame *f;
	size_t depth, cap; /* frames: depth 1 is the root */
	char *path;	   /* current directory's path ("" at the root) */
	size_t path_cap;
} walk;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of directory fd (without . and ..). */
static int list_dir(int fd, char ***names, size_t *n, berr *e)
{
	*names = fs_list_at(fd, ".", e);
	if (!*names) {
		*n = 0;
		return -1;
	}
	*n = strv_len(*names);
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_str);
	return 0;
}

static bool xattr_set(int fd, const char *name, const char *want)
{
	char buf[8];
	ssize_t n = fgetxattr(fd, name, buf, sizeof(buf));
	if (n < 0)
		return false;
	return !want || ((size_t)n == strlen(want) && !memcmp(buf, want, (size_t)n));
}

const char *const ld_engine_stubs[] = {"etc/hostname", "etc/hosts", "etc/resolv.conf", NULL};

bool ld_is_stub(const ld_node *n, const char *const *stubs)
{
	if (!stubs || !S_ISREG(n->st->st_mode) || n->st->st_size != 0)
		return false;
	for (size_t i = 0; stubs[i]; i++)
		if (!strcmp(n->path, stubs[i]))
			return true;
	return false;
}

/* A directory the upper dir has only for the engine's mount points (copied
 * up to hold them): no change either. */
bool ld_only_stubs(const ld_node *n, const char *const *stubs)
{
	size_t plen = strlen(n->path), hits = 0;
	for (size_t i = 0; stubs && stubs[i]; i++)
		hits += !strncmp(stubs[i], n->path, plen) && stubs[i][plen] == '/';
	if (!hits)
		return false;
	int fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool only = true;
	struct dirent *de;
	while (only && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		char *p = xasprintf("%s/%s", n->path, de->d_name);
		ld_node child = {.path = p, .st = &st};
		only = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       ld_is_stub(&child, stubs);
		free(p);
	}
	closedir(d);
	return only;
}

bool ld_is_opaque(int dirfd)
{
	struct stat st;
	return xattr_set(dirfd, "trusted.overlay.opaque", "y") ||
	       fstatat(dirfd, ".wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	       xattr_set(dirfd, "user.overlay.opaque", "y") ||
	       xattr_set(dirfd, "user.fuseoverlayfs.opaque", "y");
}

static bool xattr_whiteout(int fd)
{
	return xattr_set(fd, "trusted.overlay.whiteout", NULL) ||
	       xattr_set(fd, "user.overlay.whiteout", NULL);
}

static void path_set(walk *w, size_t len, const char *name)
{
	size_t need = len + 1 + strlen(name) + 1;
	if (need > w->path_cap) {
		w->path_cap = need * 2;
		w->path = xrealloc(w->path, w->path_cap);
	}
	char *p = w->path + len;
	if (len)
		*p++ = '/';
	strcpy(p, name);
}

static void frame_free(walk *w, frame *f)
{
	for (size_t i = f->next; i < f->n; i++)
		if (f->sub[i].data && w->v->free_data)
			w->v->free_data(w->v->ctx, f->sub[i].data);
	for (size_t i = 0; i < f->n; i++)
		free(f->sub[i].name);
	free(f->sub);
	if (f->data && w->v->free_data)
		w->v->free_data(w->v->ctx, f->data);
	*f = (frame){0};
}

/* Open what fstatat saw under dirfd, checked to be that inode. */
static int open_checked(int dirfd, const char *name, int flags, const struct stat *st, berr *e)
{
	int fd = openat(dirfd, name, flags);
	struct stat cur;
	if (fd < 0)
		return berr_sys(e, "open %s", name);
	if (fstat(fd, &cur) < 0) {
		berr_sys(e, "stat %s", name);
		close(fd);
		return -1;
	}
	if (cur.st_dev != st->st_dev || cur.st_ino != st->st_ino) {
		close(fd);
		return berr_set(e, EXDEV, "%s: replaced while it was walked", name);
	}
	return fd;
}

/* Visit every entry of the current directory (the top frame's); remember
 * its subdirectories to enter. */
static int visit_dir(walk *w, berr *e)
{
	frame *f = &w->f[w->depth - 1];
	char **names;
	size_t n;
	if (list_dir(w->fd, &names, &n, e) < 0)
		return -1;
	int ret = 0;
	size_t cap = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct stat st;
		if (fstatat(w->fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* gone since the listing */
			ret = berr_sys(e, "stat %s", names[i]);
			break;
		}
		if ((w->flags & LD_WALK_ONE_FS) && st.st_dev != w->root_dev)
			continue;
		bool upper = w->flags & LD_WALK_UPPER;
		/* fuse-overlayfs' whiteouts where it cannot make devices: .wh.NAME,
		 * and .wh..wh..opq in an opaque directory (seen at the directory) */
		const char *shown = names[i];
		bool wh_file = upper && !strncmp(shown, ".wh.", 4);
		if (wh_file && (!strncmp(shown, ".wh..wh.", 8) || !shown[4]))
			continue;
		if (wh_file)
			shown += 4;
		path_set(w, f->pathlen, shown);
		ld_node nd = {.path = w->path,
			      .name = w->path + f->pathlen + (f->pathlen ? 1 : 0),
			      .dirfd = w->fd,
			      .fd = -1,
			      .st = &st,
			      .parent_data = f->data};
		bool isdir = S_ISDIR(st.st_mode) && !wh_file;
		bool isreg = S_ISREG(st.st_mode) && !wh_file;
		if (isdir)
			nd.fd = open_checked(w->fd, names[i], DIR_FLAGS, &st, e);
		else if (isreg && ((w->flags & LD_WALK_OPEN_FILES) || (upper && st.st_size == 0)))
			nd.fd = open_checked(w->fd, names[i], FILE_FLAGS, &st, e);
		if ((isdir || (isreg && (w->flags & LD_WALK_OPEN_FILES))) && nd.fd < 0) {
			if (e->errnum == ENOENT)
				continue; /* removed since the stat (a running container) */
			berr_ctx(e, "%s", w->path);
			ret = -1;
			break;
		}
		if (wh_file || (upper && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)))
			nd.whiteout = true;
		if (upper && isreg && st.st_size == 0 && nd.fd >= 0 && xattr_whiteout(nd.fd))
			nd.whiteout = true;
		if (upper && isdir)
			nd.opaque = ld_is_opaque(nd.fd);
		void *data = NULL;
		bool skip = false;
		if (isdir)
			nd.child_data = &data;
		if (w->v->visit(w->v->ctx, &nd, &skip, e) < 0)
			ret = -1;
		if (nd.fd >= 0)
			close(nd.fd);
		if (ret == 0 && isdir && !skip) {
			if (f->n == cap) {
				cap = cap ? cap * 2 : 8;
				f->sub = xreallocarray(f->sub, cap, sizeof(subdir));
			}
			f->sub[f->n++] = (subdir){
			    .name = names[i], .dev = st.st_dev, .ino = st.st_ino, .data = data};
			names[i] = NULL;
		} else if (data && w->v->free_data) {
			w->v->free_data(w->v->ctx, data);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	w->path[f->pathlen] = 0;
	return ret;
}

static int push(walk *w, int fd, dev_t dev, ino_t ino, size_t pathlen, void *data)
{
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->f = xreallocarray(w->f, w->cap, sizeof(frame));
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->f[w->depth++] = (frame){.dev = dev, .ino = ino, .pathlen = pathlen, .data = data};
	return 0;
}

/* Enter the top frame's next subdirectory. */
static int down(walk *w, berr *e)
{
	frame *f = &w->f[w->depth - 1];
	subdir *s = &f->sub[f->next++];
	path_set(w, f->pathlen, s->name);
	size_t len = strlen(w->path);
	void *data = s->data;
	s->data = NULL;
	if (w->depth > LD_MAX_DEPTH) {
		if (data && w->v->free_data)
			w->v->free_data(w->v->ctx, data);
		return berr_set(e, ELOOP, "%s: directories nested deeper than %d levels", w->path,
				LD_MAX_DEPTH);
	}
	struct stat st = {.st_dev = s->dev, .st_ino = s->ino};
	int fd = open_checked(w->fd, s->name, DIR_FLAGS, &st, e);
	if (fd < 0) {
		if (data && w->v->free_data)
			w->v->free_data(w->v->ctx, data);
		return berr_ctx(e, "%s", w->path);
	}
	return push(w, fd, s->dev, s->ino, len, data);
}

/* Leave the top frame for its parent. */
static int up(walk *w, berr *e)
{
	frame *top = &w->f[w->depth - 1], *par = top - 1;
	int fd =
	    w->depth == 2 ? fcntl(w->root, F_DUPFD_CLOEXEC, 3) : openat(w->fd, "..", DIR_FLAGS);
	struct stat cur;
	if (fd < 0 || fstat(fd, &cur) < 0) {
		berr_sys(e, "open the parent of %s", w->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (cur.st_dev != par->dev || cur.st_ino != par->ino) {
		close(fd);
		return berr_set(e, EXDEV, "%s: moved while it was walked", w->path);
	}
	close(w->fd);
	w->fd = fd;
	frame_free(w, top);
	w->depth--;
	w->path[par->pathlen] = 0;
	return 0;
}

int ld_walk(int root, unsigned flags, const ld_visitor *v, berr *e)
{
	walk w = {.v = v, .flags = flags, .fd = -1, .root = -1};
	struct stat st;
	int ret = -1;
	w.path_cap = 256;
	w.path = xzalloc(w.path_cap);
	w.root = openat(root, ".", DIR_FLAGS);
	if (w.root < 0 || fstat(w.root, &st) < 0) {
		berr_sys(e, "open the root directory");
		goto out;
	}
	w.root_dev = st.st_dev;
	int fd = fcntl(w.root, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		berr_sys(e, "dup");
		goto out;
	}
	push(&w, fd, st.st_dev, st.st_ino, 0, NULL);
	if (visit_dir(&w, e) < 0)
		goto out;
	while (w.depth) {
		frame *f = &w.f[w.depth - 1];
		if (f->next < f->n) {
			if (down(&w, e) < 0 || visit_dir(&w, e) < 0)
				goto out;
		} else if (w.depth == 1) {
			break;
		} else if (up(&w, e) < 0) {
			goto out;
		}
	}
	ret = 0;
out:
	for (size_t i = w.depth; i > 0; i--)
		frame_free(&w, &w.f[i - 1]);
	free(w.f);
	free(w.path);
	if (w.fd >= 0)
		close(w.fd);
	if (w.root >= 0)
		close(w.root);
	return ret;
}
