/* The tree walker behind copy and removal (see fs_tree.h). The walk keeps a
 * stack of frames on the heap, one per directory on the way down; a frame
 * holds the directory's identity (dev, inode, per side), its name and the
 * subdirectories still to visit, read in full with a descriptor of their
 * own that is closed before the walk goes on. Only the root and the
 * current directory of each side are open. Going back up opens ".." and
 * checks it is the directory the walk came down from; back to the root, the
 * walk takes the root's own fd (".." of a directory whose parent is a mount
 * point, as tmpcopyup's source under its new tmpfs, lands in the mount). */
#include "util/fs_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define COPY_BUF  65536

typedef struct names {
	char **v;
	size_t n, cap;
} names;

static void names_add(names *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(char *));
	}
	l->v[l->n++] = xstrdup(s);
}

static void names_free(names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (names){0};
}

/* The names in directory fd (without . and ..) and, in types, their d_type.
 * Read through a descriptor of its own, closed before returning. */
static int read_dir(int fd, names *out, unsigned char **types, berr *e)
{
	int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (own < 0)
		return berr_sys(e, "open directory");
	DIR *d = fdopendir(own);
	if (!d) {
		close(own);
		return berr_sys(e, "fdopendir");
	}
	size_t tcap = 0;
	*types = NULL;
	struct dirent *de;
	for (;;) {
		errno = 0;
		if (!(de = readdir(d)))
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names_add(out, de->d_name);
		if (out->n > tcap) {
			tcap = out->cap;
			*types = xrealloc(*types, tcap);
		}
		(*types)[out->n - 1] = de->d_type;
	}
	int err = errno;
	closedir(d);
	if (err) {
		errno = err;
		return berr_sys(e, "read directory");
	}
	return 0;
}

typedef struct frame {
	char *name; /* in the parent directory */
	dev_t dev[2];
	ino_t ino[2];
	struct stat st; /* the source directory (copy) */
	names subdirs;	/* to visit, subdirs.v[next..] */
	size_t next;
	bool listed;
} frame;

typedef struct walk {
	frame *f;
	size_t depth, cap;
	int fd[2];   /* current directory: [0] source or tree removed, [1] destination */
	int root[2]; /* the directories the walk started in */
	int sides;
	unsigned flags;
	dev_t stop_dev; /* copy: the destination's root, never copied into itself */
	ino_t stop_ino;
	char *buf;
	struct links *links;	    /* copy: files with more than one name */
	const fs_owner_map *owners; /* copy: owners rewritten (NULL: kept) */
} walk;

static void links_free(struct links *l);

static void walk_free(walk *w)
{
	links_free(w->links);
	for (size_t i = 0; i < w->depth; i++) {
		free(w->f[i].name);
		names_free(&w->f[i].subdirs);
	}
	free(w->f);
	for (int s = 0; s < 2; s++) {
		if (w->fd[s] >= 0)
			close(w->fd[s]);
		if (w->root[s] >= 0)
			close(w->root[s]);
	}
	free(w->buf);
}

/* Enter the directories fds (owned from here on, even on failure). */
static int walk_down(walk *w, const int fds[2], const char *name, const struct stat *st, berr *e)
{
	for (int s = 0; s < 2; s++) {
		if (w->fd[s] >= 0)
			close(w->fd[s]);
		w->fd[s] = fds[s];
	}
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->f = xreallocarray(w->f, w->cap, sizeof(frame));
	}
	frame *f = &w->f[w->depth];
	*f = (frame){.name = xstrdup(name)};
	w->depth++;
	if (st)
		f->st = *st;
	for (int s = 0; s < w->sides; s++) {
		struct stat cur;
		if (fstat(w->fd[s], &cur) < 0)
			return berr_sys(e, "stat %s", name);
		f->dev[s] = cur.st_dev;
		f->ino[s] = cur.st_ino;
		if (w->depth == 1 && (w->root[s] = fcntl(w->fd[s], F_DUPFD_CLOEXEC, 3)) < 0)
			return berr_sys(e, "dup %s", name);
	}
	return 0;
}

/* Back to the parent of the current directory, checked to be the one the
 * walk came down from; the directories left are handed to old[] (closed by
 * the caller) and the frame's name to *name. */
static int walk_up(walk *w, int old[2], char **name, struct stat *st, berr *e)
{
	frame *top = &w->f[w->depth - 1], *up = top - 1;
	int par[2] = {-1, -1};
	for (int s = 0; s < w->sides; s++) {
		struct stat cur;
		par[s] = w->depth == 2 ? fcntl(w->root[s], F_DUPFD_CLOEXEC, 3)
				       : openat(w->fd[s], "..", DIR_FLAGS);
		if (par[s] < 0 || fstat(par[s], &cur) < 0) {
			berr_sys(e, "open the parent of %s", top->name);
			goto fail;
		}
		if (cur.st_dev != up->dev[s] || cur.st_ino != up->ino[s]) {
			berr_set(e, EXDEV, "%s: moved while it was walked", top->name);
			goto fail;
		}
	}
	for (int s = 0; s < 2; s++) {
		old[s] = w->fd[s];
		w->fd[s] = par[s];
	}
	*name = top->name;
	if (st)
		*st = top->st;
	names_free(&top->subdirs);
	w->depth--;
	return 0;
fail:
	for (int s = 0; s < 2; s++)
		if (par[s] >= 0)
			close(par[s]);
	return -1;
}

/* ---- removal ---- */

/* Unlink the non-directories of the current directory; keep the others. */
static int rm_list(walk *w, berr *e)
{
	names all = {0};
	_cleanup_free_ unsigned char *types = NULL;
	int r = read_dir(w->fd[0], &all, &types, e);
	names *sub = &w->f[w->depth - 1].subdirs;
	for (size_t i = 0; r == 0 && i < all.n; i++) {
		const char *n = all.v[i];
		if (types[i] != DT_DIR && unlinkat(w->fd[0], n, 0) == 0)
			continue;
		if (types[i] == DT_DIR || errno == EISDIR)
			names_add(sub, n);
		else if (errno != ENOENT)
			r = berr_sys(e, "unlink %s", n);
	}
	names_free(&all);
	return r;
}

static int rm_walk(walk *w, berr *e)
{
	for (;;) {
		frame *t = &w->f[w->depth - 1];
		if (!t->listed) {
			if (rm_list(w, e) < 0)
				return -1;
			t = &w->f[w->depth - 1];
			t->listed = true;
		}
		if (t->next < t->subdirs.n) {
			const char *c = t->subdirs.v[t->next++];
			int fd = openat(w->fd[0], c, DIR_FLAGS);
			if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
				/* replaced by a file meanwhile */
				if (unlinkat(w->fd[0], c, 0) < 0 && errno != ENOENT)
					return berr_sys(e, "unlink %s", c);
				continue;
			}
			if (fd < 0 && errno == ENOENT)
				continue;
			if (fd < 0)
				return berr_sys(e, "open %s", c);
			const int fds[2] = {fd, -1};
			if (walk_down(w, fds, c, NULL, e) < 0)
				return -1;
			continue;
		}
		if (w->depth == 1)
			return 0;
		int old[2];
		_cleanup_free_ char *gone = NULL;
		if (walk_up(w, old, &gone, NULL, e) < 0)
			return -1;
		close(old[0]);
		if (unlinkat(w->fd[0], gone, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return berr_sys(e, "rmdir %s", gone);
	}
}

int fs_rm_rf_at(int dirfd, const char *name, berr *e)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return berr_sys(e, "unlink %s", name);
	int fd = openat(dirfd, name, DIR_FLAGS);
	if (fd < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "open %s", name);
	walk w = {.fd = {-1, -1}, .root = {-1, -1}, .sides = 1};
	const int fds[2] = {fd, -1};
	int r = walk_down(&w, fds, name, NULL, e);
	if (r == 0)
		r = rm_walk(&w, e);
	walk_free(&w);
	if (r < 0)
		return berr_ctx(e, "remove %s", name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return berr_sys(e, "rmdir %s", name);
	return 0;
}

/* ---- copy ---- */

/* Make room for a new non-directory at name: with FS_COPY_REPLACE an
 * existing one is unlinked (never opened or followed). */
static int clear_slot(int dir, const char *name, unsigned flags, berr *e)
{
	if (!(flags & FS_COPY_REPLACE))
		return 0;
	if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		return berr_sys(e, "replace %s", name);
	return 0;
}

/* The owner a copy gives: the source's, or what w->owners maps it to. */
static void copy_owner(const walk *w, const struct stat *st, uid_t *uid, gid_t *gid)
{
	*uid = st->st_uid;
	*gid = st->st_gid;
	if (w->owners)
		w->owners->map(w->owners->arg, uid, gid);
}

/* A refused chown is ignored unless the owners are mapped: then a file
 * left with the wrong owner is an error. */
static bool chown_failed(const walk *w)
{
	return errno != EPERM || w->owners;
}

static int set_owner_times(const walk *w, int fd, const struct stat *st, const char *name, berr *e)
{
	uid_t uid;
	gid_t gid;
	copy_owner(w, st, &uid, &gid);
	if (!(w->flags & FS_COPY_NO_OWNER) && fchown(fd, uid, gid) < 0 && chown_failed(w))
		return berr_sys(e, "chown %s", name);
	if (fchmod(fd, st->st_mode & 07777) < 0)
		return berr_sys(e, "chmod %s", name);
	const struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (futimens(fd, ts) < 0)
		return berr_sys(e, "set the times of %s", name);
	return 0;
}

/* The directory name under dir, made (0700 until its content is in) or
 * merged into when it exists. */
static int make_dir(int dir, const char *name, unsigned flags, berr *e)
{
	if (mkdirat(dir, name, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return berr_sys(e, "mkdir %s", name);
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "stat %s", name);
	if (S_ISDIR(st.st_mode))
		return 0;
	if (!(flags & FS_COPY_REPLACE))
		return berr_set(e, EEXIST, "%s: exists and is not a directory", name);
	if (unlinkat(dir, name, 0) < 0 || mkdirat(dir, name, 0700) < 0)
		return berr_sys(e, "replace %s with a directory", name);
	return 0;
}

/* Copy the regular file in (read from offset 0) to name under dir. */
static int copy_file(walk *w, int in, int dir, const char *name, const struct stat *st, berr *e)
{
	if (clear_slot(dir, name, w->flags, e) < 0)
		return -1;
	_cleanup_close_ int out =
	    openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return berr_sys(e, "create %s", name);
	if (!w->buf)
		w->buf = xmalloc(COPY_BUF);
	for (off_t off = 0;;) {
		ssize_t n = pread(in, w->buf, COPY_BUF, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "read %s", name);
		if (n == 0)
			break;
		if (fs_write_all(out, w->buf, (size_t)n) < 0)
			return berr_sys(e, "write %s", name);
		off += n;
	}
	return set_owner_times(w, out, st, name, e);
}

static int copy_link(walk *w, const char *name, const struct stat *st, berr *e)
{
	char target[PATH_MAX];
	ssize_t len = readlinkat(w->fd[0], name, target, sizeof(target));
	if (len < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "readlink %s", name);
	if ((size_t)len == sizeof(target))
		return berr_set(e, ENAMETOOLONG, "readlink %s: target too long", name);
	target[len] = '\0';
	int dir = w->fd[1];
	if (clear_slot(dir, name, w->flags, e) < 0)
		return -1;
	if (symlinkat(target, dir, name) < 0)
		return berr_sys(e, "symlink %s", name);
	uid_t uid;
	gid_t gid;
	copy_owner(w, st, &uid, &gid);
	if (!(w->flags & FS_COPY_NO_OWNER) &&
	    fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && chown_failed(w))
		return berr_sys(e, "chown %s", name);
	const struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "set the times of %s", name);
	return 0;
}

/* Hard links: the first copy of a file with st_nlink > 1 is kept as an
 * O_PATH fd, keyed by the source's (dev, inode), and its other names are
 * linked to it. At most LINKS_MAX such fds are held (the walk stays far
 * below RLIMIT_NOFILE); the files met after that are copied, not linked. */
#define LINKS_MAX 128

typedef struct link_ent {
	dev_t dev;
	ino_t ino;
	int fd; /* -1: free slot */
} link_ent;

struct links {
	link_ent slot[2 * LINKS_MAX]; /* open addressing, at most half full */
	size_t n;
};

static void links_free(struct links *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(l->slot); i++)
		if (l->slot[i].fd >= 0)
			close(l->slot[i].fd);
	free(l);
}

static link_ent *links_find(struct links *l, const struct stat *st)
{
	size_t h =
	    ((size_t)st->st_ino * 0x9e3779b97f4a7c15ULL ^ (size_t)st->st_dev) % ARRAY_SIZE(l->slot);
	while (l->slot[h].fd >= 0 && (l->slot[h].dev != st->st_dev || l->slot[h].ino != st->st_ino))
		h = (h + 1) % ARRAY_SIZE(l->slot);
	return &l->slot[h];
}

/* 1: name linked to an earlier copy; 0: not linked (copy it); -1: error */
static int link_earlier(walk *w, const char *name, const struct stat *st, berr *e)
{
	if (st->st_nlink < 2 || !w->links)
		return 0;
	link_ent *le = links_find(w->links, st);
	if (le->fd < 0)
		return 0;
	int dir = w->fd[1];
	if (clear_slot(dir, name, w->flags, e) < 0)
		return -1;
	if (linkat(le->fd, "", dir, name, AT_EMPTY_PATH) == 0)
		return 1;
	/* without CAP_DAC_READ_SEARCH: through the fd's magic link */
	if (linkat(AT_FDCWD, fs_fd_path(le->fd).s, dir, name, AT_SYMLINK_FOLLOW) == 0)
		return 1;
	return 0; /* no /proc (tmpcopyup runs before it is mounted): a copy */
}

static void link_remember(walk *w, const char *name, const struct stat *st)
{
	if (st->st_nlink < 2)
		return;
	if (!w->links) {
		w->links = xzalloc(sizeof(*w->links));
		for (size_t i = 0; i < ARRAY_SIZE(w->links->slot); i++)
			w->links->slot[i].fd = -1;
	}
	if (w->links->n >= LINKS_MAX)
		return;
	link_ent *le = links_find(w->links, st);
	le->fd = openat(w->fd[1], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (le->fd < 0)
		return; /* only an optimisation lost: later names are copied */
	le->dev = st->st_dev;
	le->ino = st->st_ino;
	w->links->n++;
}

static int copy_entry(walk *w, const char *name, berr *e)
{
	struct stat st;
	if (fstatat(w->fd[0], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "stat %s", name);
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev == w->stop_dev && st.st_ino == w->stop_ino)
			return 0; /* the destination itself, inside the source */
		if (make_dir(w->fd[1], name, w->flags, e) < 0)
			return -1;
		names_add(&w->f[w->depth - 1].subdirs, name);
		return 0;
	}
	if (S_ISLNK(st.st_mode))
		return copy_link(w, name, &st, e);
	if (!S_ISREG(st.st_mode))
		return 0; /* devices, fifos, sockets: not copied */
	_cleanup_close_ int in =
	    openat(w->fd[0], name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "open %s", name);
	if (fstat(in, &st) < 0)
		return berr_sys(e, "stat %s", name);
	if (!S_ISREG(st.st_mode))
		return 0; /* replaced meanwhile */
	int linked = link_earlier(w, name, &st, e);
	if (linked != 0)
		return linked < 0 ? -1 : 0;
	if (copy_file(w, in, w->fd[1], name, &st, e) < 0)
		return -1;
	link_remember(w, name, &st);
	return 0;
}

static int copy_walk(walk *w, berr *e)
{
	for (;;) {
		frame *t = &w->f[w->depth - 1];
		if (!t->listed) {
			names all = {0};
			_cleanup_free_ unsigned char *types = NULL;
			int r = read_dir(w->fd[0], &all, &types, e);
			for (size_t i = 0; r == 0 && i < all.n; i++)
				r = copy_entry(w, all.v[i], e);
			names_free(&all);
			if (r < 0)
				return -1;
			t = &w->f[w->depth - 1];
			t->listed = true;
		}
		if (t->next < t->subdirs.n) {
			const char *c = t->subdirs.v[t->next++];
			int s = openat(w->fd[0], c, DIR_FLAGS);
			if (s < 0 && errno == ENOENT)
				continue;
			if (s < 0)
				return berr_sys(e, "open %s", c);
			int d = openat(w->fd[1], c, DIR_FLAGS);
			struct stat st;
			if (d < 0 || fstat(s, &st) < 0) {
				berr_sys(e, "open %s", c);
				close(s);
				if (d >= 0)
					close(d);
				return -1;
			}
			const int fds[2] = {s, d};
			if (walk_down(w, fds, c, &st, e) < 0)
				return -1;
			continue;
		}
		if (w->depth == 1)
			return set_owner_times(w, w->fd[1], &t->st, t->name, e);
		/* up first: a directory whose mode is 0 is still left by ".." */
		int old[2];
		struct stat st;
		_cleanup_free_ char *name = NULL;
		if (walk_up(w, old, &name, &st, e) < 0)
			return -1;
		int r = set_owner_times(w, old[1], &st, name, e);
		close(old[0]);
		close(old[1]);
		if (r < 0)
			return -1;
	}
}

/* Walk the directories src and dst (owned); name is for messages. */
static int copy_dirs(int src, int dst, const char *name, unsigned flags, const fs_owner_map *owners,
		     berr *e)
{
	walk w = {.fd = {-1, -1}, .root = {-1, -1}, .sides = 2, .flags = flags, .owners = owners};
	const int fds[2] = {src, dst};
	struct stat st, dst_st;
	int r = -1;
	if (fstat(src, &st) < 0 || fstat(dst, &dst_st) < 0) {
		berr_sys(e, "stat %s", name);
		close(src);
		close(dst);
		goto out;
	}
	w.stop_dev = dst_st.st_dev;
	w.stop_ino = dst_st.st_ino;
	if (walk_down(&w, fds, name, &st, e) < 0)
		goto out;
	r = copy_walk(&w, e);
out:
	walk_free(&w);
	return r;
}

int fs_copy_tree(int src_dirfd, int dst_dirfd, berr *e)
{
	int s = openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s < 0)
		return berr_sys(e, "open the source directory");
	int d = openat(dst_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0) {
		close(s);
		return berr_sys(e, "open the destination directory");
	}
	return copy_dirs(s, d, ".", 0, NULL, e);
}

int fs_copy_tree_owners(int src_dirfd, int dst_dirfd, const fs_owner_map *owners, berr *e)
{
	int s = openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s < 0)
		return berr_sys(e, "open the source directory");
	int d = openat(dst_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0) {
		close(s);
		return berr_sys(e, "open the destination directory");
	}
	return copy_dirs(s, d, ".", 0, owners, e);
}

int fs_copy_at(int src_fd, int dst_dirfd, const char *name, unsigned flags, berr *e)
{
	struct stat st, old;
	if (fstat(src_fd, &st) < 0)
		return berr_sys(e, "stat the source of %s", name);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return 0;
	bool existed = fstatat(dst_dirfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	int r;
	if (S_ISREG(st.st_mode)) {
		walk w = {.fd = {-1, -1}, .root = {-1, -1}, .flags = flags};
		r = copy_file(&w, src_fd, dst_dirfd, name, &st, e);
		free(w.buf);
	} else if (make_dir(dst_dirfd, name, flags, e) < 0) {
		return -1;
	} else {
		int s = openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int d = s < 0 ? -1 : openat(dst_dirfd, name, DIR_FLAGS);
		if (s < 0 || d < 0) {
			r = berr_sys(e, "open %s", name);
			if (s >= 0)
				close(s);
		} else {
			r = copy_dirs(s, d, name, flags, NULL, e);
		}
	}
	if (r < 0 && !existed) {
		/* nothing half-copied left behind */
		berr ig;
		fs_rm_rf_at(dst_dirfd, name, &ig);
	}
	return r < 0 ? berr_ctx(e, "copy %s", name) : 0;
}
