/* The tree walker (util/fs_tree.h): copy and removal of trees nested far
 * deeper than PATH_MAX with a small RLIMIT_NOFILE, metadata kept, and no
 * symlink followed on either side. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

#define DEEP 10000

static char tmpl[64];

static int make_root(void)
{
	/* tmpfs where there is one: 20,000 directories are slow to delete on a
	 * disk mounted with discard */
	struct stat st;
	strcpy(tmpl, stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)
			 ? "/dev/shm/berth-unit-tree-XXXXXX"
			 : "/tmp/berth-unit-tree-XXXXXX");
	if (!mkdtemp(tmpl))
		abort();
	return open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void drop_root(int fd)
{
	berr e;
	close(fd);
	if (fs_rm_rf_at(AT_FDCWD, tmpl, &e) < 0)
		fprintf(stderr, "cleanup: %s\n", e.msg);
}

/* dir/d/d/.../d (depth levels) with a file f at the bottom; one fd at a time */
static int make_chain(int dir, const char *name, int depth)
{
	if (mkdirat(dir, name, 0755) < 0)
		return -1;
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; fd >= 0 && i < depth; i++) {
		if (mkdirat(fd, "d", 0750) < 0)
			return -1;
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	if (fd < 0)
		return -1;
	int f = openat(fd, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	close(fd);
	if (f < 0 || write(f, "bottom\n", 7) != 7)
		return -1;
	close(f);
	return 0;
}

/* levels of d under dir/name; the bottom's f must read "bottom\n" */
static int chain_depth(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), n = 0;
	for (;;) {
		if (fd < 0)
			return -1;
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break;
		close(fd);
		fd = next;
		n++;
	}
	char buf[16] = {0};
	int f = openat(fd, "f", O_RDONLY | O_CLOEXEC);
	ssize_t r = f < 0 ? -1 : read(f, buf, sizeof(buf) - 1);
	struct stat st;
	bool ok = r == 7 && !strcmp(buf, "bottom\n") && fstat(f, &st) == 0 &&
		  (st.st_mode & 07777) == 0640;
	if (f >= 0)
		close(f);
	close(fd);
	return ok ? n : -1;
}

static void test_deep_tree_copy_and_remove(void)
{
	int root = make_root();
	CHECK(root >= 0);
	CHECK(make_chain(root, "src", DEEP) == 0);
	CHECK(mkdirat(root, "dst", 0700) == 0);
	/* a descriptor per level would need 10,000 */
	struct rlimit old, low;
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	berr e = {0};
	_cleanup_close_ int src = openat(root, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dst = openat(root, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int copied = fs_copy_tree(src, dst, &e);
	int depth = chain_depth(root, "dst");
	int rm_src = fs_rm_rf_at(root, "src", &e);
	int rm_dst = fs_rm_rf_at(root, "dst", &e);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	if (copied < 0 || rm_src < 0 || rm_dst < 0)
		fprintf(stderr, "%.200s\n", e.msg);
	CHECK(copied == 0);
	CHECK(depth == DEEP);
	CHECK(rm_src == 0 && rm_dst == 0);
	CHECK(faccessat(root, "src", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
	CHECK(faccessat(root, "dst", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
	drop_root(root);
}

static bool same_meta(int a, int b, const char *name, bool owner)
{
	struct stat x, y;
	if (fstatat(a, name, &x, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(b, name, &y, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	if (owner && (x.st_uid != y.st_uid || x.st_gid != y.st_gid))
		return false;
	return x.st_mode == y.st_mode && x.st_mtim.tv_sec == y.st_mtim.tv_sec &&
	       x.st_mtim.tv_nsec == y.st_mtim.tv_nsec;
}

static void test_copy_keeps_modes_owners_times_links(void)
{
	int root = make_root();
	CHECK(root >= 0);
	CHECK(mkdirat(root, "src", 0755) == 0 && mkdirat(root, "dst", 0700) == 0);
	_cleanup_close_ int src = openat(root, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dst = openat(root, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(mkdirat(src, "sub", 0750) == 0);
	int f = openat(src, "sub/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(f >= 0 && write(f, "x", 1) == 1);
	close(f);
	bool root_user = geteuid() == 0;
	CHECK(!root_user || fchownat(src, "sub/x", 1234, 5678, 0) == 0);
	CHECK(fchmodat(src, "sub/x", 04751, 0) == 0);
	CHECK(symlinkat("/etc/passwd", src, "sub/l") == 0);
	CHECK(linkat(src, "sub/x", src, "y", 0) == 0);
	const struct timespec ts[2] = {{1000000, 5}, {2000000, 7}};
	CHECK(utimensat(src, "sub/l", ts, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(utimensat(src, "sub/x", ts, 0) == 0);
	CHECK(utimensat(src, "sub", ts, 0) == 0);
	CHECK(fchmodat(src, "sub", 0550, 0) == 0);
	berr e = {0};
	CHECK(fs_copy_tree(src, dst, &e) == 0);
	CHECK(same_meta(src, dst, "sub", true));
	CHECK(same_meta(src, dst, "sub/x", true));
	CHECK(same_meta(src, dst, "sub/l", true));
	char t[64] = {0};
	CHECK(readlinkat(dst, "sub/l", t, sizeof(t) - 1) == 11 && !strcmp(t, "/etc/passwd"));
	/* hard links stay links (one inode, two names) */
	struct stat hx, hy;
	CHECK(fstatat(dst, "sub/x", &hx, 0) == 0 && fstatat(dst, "y", &hy, 0) == 0);
	CHECK(hx.st_ino == hy.st_ino && hx.st_nlink == 2);
	/* the root of the copy gets the source's mode */
	struct stat st;
	CHECK(fstat(dst, &st) == 0 && (st.st_mode & 07777) == 0755);
	/* berth cp's flavour: the caller's owner */
	CHECK(fs_copy_at(src, dst, "again", FS_COPY_NO_OWNER, &e) == 0);
	CHECK(fstatat(dst, "again/sub/x", &st, 0) == 0 && st.st_uid == geteuid());
	CHECK((st.st_mode & 07777) == 04751 && st.st_mtim.tv_sec == 2000000);
	CHECK(fchmodat(src, "sub", 0755, 0) == 0 && fchmodat(dst, "sub", 0755, 0) == 0);
	drop_root(root);
}

static int write_file(int dir, const char *name, const char *s)
{
	int f = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0)
		return -1;
	ssize_t w = write(f, s, strlen(s));
	close(f);
	return w == (ssize_t)strlen(s) ? 0 : -1;
}

static bool file_is(int dir, const char *name, const char *s)
{
	char buf[64] = {0};
	int f = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return false;
	ssize_t r = read(f, buf, sizeof(buf) - 1);
	close(f);
	return r >= 0 && !strcmp(buf, s);
}

/* A destination planted with symlinks (a container's root) is never
 * written through: the link is an error, or replaced with FS_COPY_REPLACE. */
static void test_copy_never_follows_destination_symlinks(void)
{
	int root = make_root();
	CHECK(root >= 0);
	CHECK(mkdirat(root, "out", 0755) == 0 && mkdirat(root, "dst", 0755) == 0 &&
	      mkdirat(root, "src", 0755) == 0 && mkdirat(root, "src/sub", 0755) == 0);
	_cleanup_close_ int dst = openat(root, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int src = openat(root, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(write_file(root, "out/secret", "host\n") == 0);
	CHECK(write_file(src, "f", "new\n") == 0 && write_file(src, "sub/secret", "evil\n") == 0);
	_cleanup_free_ char *out = NULL;
	CHECK(asprintf(&out, "%s/out", tmpl) > 0);
	_cleanup_free_ char *secret = NULL;
	CHECK(asprintf(&secret, "%s/out/secret", tmpl) > 0);
	CHECK(symlinkat(secret, dst, "f") == 0 && symlinkat(out, dst, "sub") == 0);
	_cleanup_close_ int f = openat(src, "f", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int sub = openat(src, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	berr e = {0};
	CHECK(fs_copy_at(f, dst, "f", 0, &e) < 0);
	CHECK(fs_copy_at(sub, dst, "sub", 0, &e) < 0);
	CHECK_CONTAINS(e.msg, "sub: exists and is not a directory");
	CHECK(file_is(root, "out/secret", "host\n"));
	CHECK(fs_copy_at(f, dst, "f", FS_COPY_REPLACE, &e) == 0);
	CHECK(fs_copy_at(sub, dst, "sub", FS_COPY_REPLACE, &e) == 0);
	CHECK(file_is(root, "out/secret", "host\n"));
	CHECK(file_is(dst, "f", "new\n") && file_is(dst, "sub/secret", "evil\n"));
	/* a symlink inside the tree is copied as a link, and removal does not
	 * follow it either */
	CHECK(symlinkat(out, src, "sub/link") == 0);
	CHECK(fs_copy_at(sub, dst, "sub2", 0, &e) == 0);
	CHECK(fs_rm_rf_at(dst, "sub2", &e) == 0 && fs_rm_rf_at(src, "sub", &e) == 0);
	CHECK(file_is(root, "out/secret", "host\n"));
	drop_root(root);
}

/* A failed copy of a new name leaves nothing behind (a write made to fail
 * with RLIMIT_FSIZE); a name that existed is left as it is. */
static void test_failed_copy_leaves_nothing(void)
{
	int root = make_root();
	CHECK(root >= 0);
	CHECK(mkdirat(root, "src", 0755) == 0 && mkdirat(root, "src/a", 0755) == 0 &&
	      mkdirat(root, "dst", 0755) == 0 && mkdirat(root, "dst/old", 0755) == 0);
	_cleanup_close_ int src = openat(root, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dst = openat(root, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(write_file(src, "a/ok", "1\n") == 0);
	CHECK(write_file(src, "a/z", "more than sixteen bytes\n") == 0);
	struct rlimit old, low;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	low = old;
	low.rlim_cur = 16;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0);
	berr e = {0};
	int r_new = fs_copy_at(src, dst, "new", 0, &e);
	int r_old = fs_copy_at(src, dst, "old", 0, &e);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_DFL);
	CHECK(r_new < 0 && r_old < 0);
	CHECK_CONTAINS(e.msg, "write z");
	CHECK(faccessat(dst, "new", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
	CHECK(faccessat(dst, "old", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
	drop_root(root);
}

static void add_base(void *arg, uid_t *uid, gid_t *gid)
{
	*uid += *(const unsigned *)arg;
	*gid += *(const unsigned *)arg + 1;
}

/* fs_copy_tree_owners: every owner (files, directories, symlinks, the
 * copy's root) sent through the map; the modes (setuid too) kept. */
static void test_copy_maps_owners(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip test_copy_maps_owners: needs root (chown)\n");
		return;
	}
	int root = make_root();
	CHECK(root >= 0);
	CHECK(mkdirat(root, "src", 0755) == 0 && mkdirat(root, "dst", 0700) == 0);
	_cleanup_close_ int src = openat(root, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dst = openat(root, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(mkdirat(src, "d", 0750) == 0 && fchownat(src, "d", 33, 33, 0) == 0);
	CHECK(write_file(src, "d/f", "x") == 0 && fchownat(src, "d/f", 1000, 2000, 0) == 0);
	CHECK(fchmodat(src, "d/f", 04755, 0) == 0);
	CHECK(symlinkat("f", src, "d/l") == 0);
	CHECK(fchownat(src, "d/l", 7, 8, AT_SYMLINK_NOFOLLOW) == 0);
	unsigned base = 100000;
	const fs_owner_map om = {add_base, &base};
	berr e = {0};
	CHECK(fs_copy_tree_owners(src, dst, &om, &e) == 0);
	struct stat st;
	CHECK(fstat(dst, &st) == 0 && st.st_uid == 100000 && st.st_gid == 100001);
	CHECK(fstatat(dst, "d", &st, 0) == 0 && st.st_uid == 100033 && st.st_gid == 100034);
	CHECK(fstatat(dst, "d/f", &st, 0) == 0 && st.st_uid == 101000 && st.st_gid == 102001);
	CHECK((st.st_mode & 07777) == 04755);
	CHECK(fstatat(dst, "d/l", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == 100007 &&
	      st.st_gid == 100009);
	/* the source is untouched */
	CHECK(fstatat(src, "d/f", &st, 0) == 0 && st.st_uid == 1000);
	drop_root(root);
}

CHECK_MAIN(test_deep_tree_copy_and_remove, test_copy_keeps_modes_owners_times_links,
	   test_copy_never_follows_destination_symlinks, test_failed_copy_leaves_nothing,
	   test_copy_maps_owners)
