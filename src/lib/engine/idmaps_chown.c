/* The image's files with the owners a nested user namespace needs: a copy
 * of the merged layers with every owner sent through the container's map
 * ("storage chown", as Podman does without idmapped mounts).
 *
 * Why a copy: an idmapped mount of the layers needs CAP_SYS_ADMIN in the
 * user namespace that owns their filesystem; the layers are on the host's
 * disk (the initial namespace), so a rootless caller gets EPERM (checked on
 * Linux 6.18; only a filesystem it mounted itself, a tmpfs, can be
 * idmapped). One mechanism for root and rootless alike.
 *
 * The copy is made once per (layers, maps) under
 * <root>/containers/.idmapped/<sha256 of both>, built in a .tmp-* dir and
 * renamed into place, so a parallel create or a kill half-way never leaves
 * a partial tree under a key. What the copy loses: device nodes, fifos and
 * sockets of the image (fs_copy_tree skips them), extended attributes (file
 * capabilities), hard links past the first 128. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/idmaps.h"
#include "image/digest.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define CACHE ".idmapped"

/* POSIX ACL xattrs (system.posix_acl_access): little-endian, a version,
 * then entries in tag order, ACL_USER ones by id; ids are the caller's
 * (the kernel maps them). */
enum { ACL_USER_OBJ = 1, ACL_USER = 2, ACL_GROUP_OBJ = 4, ACL_MASK = 0x10, ACL_OTHER = 0x20 };
#define ACL_VERSION 2
#define ACL_MAX	    64

typedef struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
} acl_ent;

/* Give uid search (x) on the directory at path with an ACL entry, unless
 * anyone may search it already. Keeps the entries already there. */
static int grant_search(const char *path, uid_t uid, berr *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return berr_sys(e, "stat %s", path);
	if ((st.st_mode & S_IXOTH) || st.st_uid == uid)
		return 0;
	uint32_t buf[1 + ACL_MAX * 2];
	acl_ent ent[ACL_MAX + 4];
	size_t n = 0;
	ssize_t len = getxattr(path, "system.posix_acl_access", buf, sizeof(buf));
	if (len >= 4 && (len - 4) % 8 == 0 && le32toh(buf[0]) == ACL_VERSION) {
		for (size_t i = 0; i < (size_t)(len - 4) / 8 && n < ACL_MAX; i++) {
			uint32_t tp = le32toh(buf[1 + 2 * i]);
			ent[n++] =
			    (acl_ent){(uint16_t)tp, (uint16_t)(tp >> 16), le32toh(buf[2 + 2 * i])};
		}
	} else if (len < 0 && errno != ENODATA && errno != EOPNOTSUPP) {
		return berr_sys(e, "read the ACL of %s", path);
	} else { /* the mode as an ACL */
		ent[n++] = (acl_ent){ACL_USER_OBJ, (st.st_mode >> 6) & 7, UINT32_MAX};
		ent[n++] = (acl_ent){ACL_GROUP_OBJ, (st.st_mode >> 3) & 7, UINT32_MAX};
		ent[n++] = (acl_ent){ACL_OTHER, st.st_mode & 7, UINT32_MAX};
	}
	/* the new entry after the USER_OBJ and the smaller ACL_USER ids */
	size_t at = 0, mask = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		if (ent[i].tag == ACL_USER && ent[i].id == uid && (ent[i].perm & 1))
			return 0;
		if (ent[i].tag == ACL_USER_OBJ || (ent[i].tag == ACL_USER && ent[i].id < uid))
			at = i + 1;
	}
	if (n >= ACL_MAX)
		return berr_set(e, E2BIG, "%s: too many ACL entries to add uid %u", path,
				(unsigned)uid);
	if (at < n && ent[at].tag == ACL_USER && ent[at].id == uid) {
		ent[at].perm |= 1;
	} else {
		memmove(&ent[at + 1], &ent[at], (n - at) * sizeof(*ent));
		ent[at] = (acl_ent){ACL_USER, 1, uid};
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (ent[i].tag == ACL_MASK)
			mask = i;
	if (mask == SIZE_MAX) { /* a mask is needed with named entries: the group's bits */
		size_t other = n;
		for (size_t i = 0; i < n; i++)
			if (ent[i].tag == ACL_OTHER)
				other = i;
		memmove(&ent[other + 1], &ent[other], (n - other) * sizeof(*ent));
		ent[other] = (acl_ent){ACL_MASK, (st.st_mode >> 3) & 7, UINT32_MAX};
		mask = other;
		n++;
	}
	ent[mask].perm |= 1;
	buf[0] = htole32(ACL_VERSION);
	for (size_t i = 0; i < n; i++) {
		buf[1 + 2 * i] = htole32(ent[i].tag | ((uint32_t)ent[i].perm << 16));
		buf[2 + 2 * i] = htole32(ent[i].id);
	}
	if (setxattr(path, "system.posix_acl_access", buf, 4 + n * 8, 0) < 0)
		return berr_sys(e, "give uid %u search on %s (an ACL)", (unsigned)uid, path);
	return 0;
}

static void map_owner(void *arg, uid_t *uid, gid_t *gid)
{
	const eng_idmaps *u = arg;
	*uid = eng_idmaps_to_engine(&u->uids, *uid);
	*gid = eng_idmaps_to_engine(&u->gids, *gid);
}

static void hash_map(dg_hasher *h, const char *tag, const idmap *m)
{
	dg_update(h, tag, strlen(tag));
	for (size_t i = 0; i < m->n; i++) {
		char b[40];
		int n = snprintf(b, sizeof(b), "%u:%u:%u,", m->r[i].inside, m->r[i].outside,
				 m->r[i].count);
		dg_update(h, b, (size_t)n);
	}
}

/* In a child with a mount namespace of its own (the layers' overlay dies
 * with it, even on a kill -9): mount the merged layers read-only at mnt
 * and copy them to root with the owners mapped. */
static int copy_in_child(const char *lower, const char *empty, const char *mnt, const char *root,
			 const eng_idmaps *u, berr *e)
{
	if (unshare(CLONE_NEWNS) < 0)
		return berr_sys(e, "unshare a mount namespace for the copy");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return berr_sys(e, "make / private for the copy");
	/* an empty bottom layer: overlay wants two lower dirs without an upper */
	_cleanup_free_ char *data = xasprintf("lowerdir=%s:%s", lower, empty);
	if (mount("overlay", mnt, "overlay", MS_RDONLY, data) < 0)
		return berr_sys(e, "mount the image's layers on %s", mnt);
	_cleanup_close_ int s = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int d = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s < 0 || d < 0)
		return berr_sys(e, "open %s", s < 0 ? mnt : root);
	const fs_owner_map om = {map_owner, (void *)u};
	if (fs_copy_tree_owners(s, d, &om, e) < 0)
		return berr_ctx(e, "copy the image with the container's owners");
	return 0;
}

static int run_copy(const char *lower, const char *empty, const char *mnt, const char *root,
		    const eng_idmaps *u, berr *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berr_sys(e, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return berr_sys(e, "fork the copy of the image");
	}
	if (pid == 0) {
		close(p[0]);
		berr ce = {0};
		int r = copy_in_child(lower, empty, mnt, root, u, &ce);
		/* one write below PIPE_BUF: whole or nothing */
		if (r < 0 && write(p[1], &ce, sizeof(ce)) != (ssize_t)sizeof(ce))
			_exit(2);
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	berr ce = {0};
	ssize_t n;
	do
		n = read(p[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return berr_sys(e, "wait for the copy of the image");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (n == (ssize_t)sizeof(ce)) {
		ce.msg[sizeof(ce.msg) - 1] = 0;
		return berr_set(e, ce.errnum, "%s", ce.msg);
	}
	return berr_set(e, EIO, "the copy of the image failed (status %d)", st);
}

/* A .tmp-* dir nobody holds the lock of and older than STALE_S is what a
 * killed create left: removed. */
#define STALE_S 600
static void sweep_stale(int cfd)
{
	berr ig;
	char **names = fs_list_at(cfd, ".", &ig);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (char **n = names; n && *n; n++) {
		if (strncmp(*n, ".tmp-", 5))
			continue;
		_cleanup_close_ int fd =
		    openat(cfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || now.tv_sec - st.st_mtim.tv_sec < STALE_S ||
		    flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		fs_rm_rf_at(cfd, *n, &ig);
	}
	strv_free(names);
}

/* Copy the merged tree of `lower` to <cache>/<key> (cfd: the cache dir). */
static int build_copy(eng *g, int cfd, const char *key, const char *lower, const eng_idmaps *u,
		      berr *e)
{
	char rnd[65];
	eng_new_id(rnd);
	_cleanup_free_ char *tmp = xasprintf(".tmp-%.16s", rnd);
	_cleanup_free_ char *tdir = xasprintf("%s/" CACHE "/%s", g->ctrs, tmp);
	if (mkdirat(cfd, tmp, 0700) < 0)
		return berr_sys(e, "mkdir %s", tdir);
	/* held while the copy is made (by the child too): sweep_stale passes
	 * it by */
	_cleanup_close_ int lk = openat(cfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = -1;
	_cleanup_free_ char *mnt = xasprintf("%s/m", tdir);
	_cleanup_free_ char *empty = xasprintf("%s/empty", tdir);
	_cleanup_free_ char *root = xasprintf("%s/root", tdir);
	_cleanup_free_ char *troot = xasprintf("%s/root", tmp);
	if (lk < 0 || flock(lk, LOCK_EX) < 0) {
		berr_sys(e, "lock %s", tdir);
		goto out;
	}
	if (mkdir(mnt, 0700) < 0 || mkdir(empty, 0700) < 0 || mkdir(root, 0700) < 0) {
		berr_sys(e, "mkdir in %s", tdir);
		goto out;
	}
	if (run_copy(lower, empty, mnt, root, u, e) < 0)
		goto out;
	if (renameat(cfd, troot, cfd, key) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		berr_sys(e, "rename %s into %s/" CACHE, root, g->ctrs);
		goto out;
	}
	r = 0; /* made, or another create made it first */
out:;
	berr ig;
	fs_rm_rf_at(cfd, tmp, &ig);
	return r;
}

/* Is engine id `id` some container id's (the outside of a range)? */
static bool maps_outside(const idmap *m, uint32_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->r[i].outside && id - m->r[i].outside < m->r[i].count)
			return true;
	return false;
}

/* The runtime fails with a bare EACCES when the container's root cannot
 * search a directory above the store: say which one, before anything is
 * copied. Searchable: by the mode bits for the container's root, or the
 * owner and group both mapped (its CAP_DAC_READ_SEARCH applies), or an ACL
 * (not evaluated: taken as granting). */
static int check_reachable(const eng_idmaps *u, const char *root, uid_t ru, gid_t rg, berr *e)
{
	_cleanup_free_ char *p = xstrdup(root);
	for (char *slash = p;; slash++) {
		slash = strchr(slash, '/');
		char saved = slash ? *slash : 0;
		if (slash && slash != p)
			*slash = 0;
		const char *dir = slash == p ? "/" : p;
		struct stat st;
		if (stat(dir, &st) < 0)
			return berr_sys(e, "stat %s", dir);
		bool ok =
		    (st.st_mode & S_IXOTH) || (st.st_uid == ru && (st.st_mode & S_IXUSR)) ||
		    (st.st_gid == rg && (st.st_mode & S_IXGRP)) ||
		    (maps_outside(&u->uids, st.st_uid) && maps_outside(&u->gids, st.st_gid)) ||
		    getxattr(dir, "system.posix_acl_access", NULL, 0) > 0;
		if (!ok)
			return berr_set(
			    e, EACCES,
			    "the container's root (uid %u here) cannot search %s above "
			    "the store: map its owner (uid %u) into the container or let "
			    "it search (chmod o+x, an ACL)",
			    (unsigned)ru, dir, (unsigned)st.st_uid);
		if (!slash)
			return 0;
		*slash = saved;
	}
}

int eng_idmaps_lower(eng *g, const eng_idmaps *u, char **lower, const char *dir, berr *e)
{
	if (!u->nested)
		return 0;
	uid_t ru = eng_idmaps_to_engine(&u->uids, 0);
	gid_t rg = eng_idmaps_to_engine(&u->gids, 0);
	_cleanup_free_ char *parent = xstrdup(g->root);
	char *cut = strrchr(parent, '/');
	if (cut && cut != parent)
		*cut = 0;
	if (check_reachable(u, parent, ru, rg, e) < 0)
		return -1;
	dg_hasher *h = dg_new();
	dg_update(h, *lower, strlen(*lower));
	hash_map(h, "\nuid:", &u->uids);
	hash_map(h, "\ngid:", &u->gids);
	dg_str d = dg_final(h);
	dg_free(h);
	const char *key = dg_hex(d.s);
	if (mkdirat(g->ctrs_fd, CACHE, 0700) < 0 && errno != EEXIST)
		return berr_sys(e, "mkdir %s/" CACHE, g->ctrs);
	_cleanup_close_ int cfd =
	    openat(g->ctrs_fd, CACHE, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return berr_sys(e, "open %s/" CACHE, g->ctrs);
	struct stat st;
	if (fstatat(cfd, key, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return berr_sys(e, "stat %s/" CACHE "/%s", g->ctrs, key);
		sweep_stale(cfd);
		if (build_copy(g, cfd, key, *lower, u, e) < 0)
			return -1;
	} else if (!S_ISDIR(st.st_mode)) {
		return berr_set(e, EEXIST, "%s/" CACHE "/%s: not a directory", g->ctrs, key);
	}
	/* The runtime's child reaches the rootfs and the bind sources by path
	 * as the container's root, which holds no capability over the
	 * engine's own ids (runc requires the same of a bundle): the container
	 * dir is given to it, and <root> and <root>/containers get an ACL entry
	 * that lets it search them (not list them, nothing more). The
	 * overlay's / is its upper dir's: the container's root owns it too. */
	if (grant_search(g->root, ru, e) < 0 || grant_search(g->ctrs, ru, e) < 0)
		return -1;
	_cleanup_free_ char *upper = xasprintf("%s/upper", dir);
	if (chown(dir, ru, rg) < 0 || chown(upper, ru, rg) < 0)
		return berr_sys(e, "chown %s", dir);
	free(*lower);
	*lower = xasprintf("%s/" CACHE "/%s", g->ctrs, key);
	return 0;
}

int eng_idmaps_volume(eng *g, const eng_idmaps *u, const char *name, bool created, berr *e)
{
	if (!u->nested)
		return 0;
	uid_t ru = eng_idmaps_to_engine(&u->uids, 0);
	gid_t rg = eng_idmaps_to_engine(&u->gids, 0);
	_cleanup_free_ char *vols = xasprintf("%s/volumes", g->root);
	_cleanup_free_ char *vol = xasprintf("%s/%s", vols, name);
	_cleanup_free_ char *data = eng_volume_data(g, name);
	if (grant_search(vols, ru, e) < 0 || grant_search(vol, ru, e) < 0)
		return -1;
	struct stat st;
	if (!created || lstat(data, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	/* a new volume's top: the container's root's unless the image gave
	 * it an owner (copied through the mapped lower layer already) */
	if (st.st_uid == 0 && st.st_gid == 0 && (ru || rg) && chown(data, ru, rg) < 0)
		return berr_sys(e, "chown %s", data);
	return 0;
}

int eng_idmaps_own_files(const eng_idmaps *u, const char *dir, berr *e)
{
	if (!u->nested)
		return 0;
	static const char *const names[] = {"hostname", "hosts", "resolv.conf"};
	uid_t ru = eng_idmaps_to_engine(&u->uids, 0);
	gid_t rg = eng_idmaps_to_engine(&u->gids, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
		if (lchown(p, ru, rg) < 0 && errno != ENOENT)
			return berr_sys(e, "chown %s", p);
	}
	return 0;
}
