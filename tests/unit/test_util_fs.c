#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char tmpl[64];

static int make_root(void)
{
	strcpy(tmpl, "/tmp/berth-unit-XXXXXX");
	if (!mkdtemp(tmpl))
		abort();
	return open(tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void drop_root(int fd)
{
	berr e;
	close(fd);
	fs_rm_rf_at(AT_FDCWD, tmpl, &e);
}

static void test_error_context(void)
{
	berr e;
	CHECK(berr_set(&e, 0, "process.args: must not be empty") == -1);
	berr_ctx(&e, "config.json");
	CHECK_STREQ(e.msg, "config.json: process.args: must not be empty");
	errno = ENOENT;
	berr_sys(&e, "open %s", "x");
	CHECK_STREQ(e.msg, "open x: No such file or directory");
	CHECK(e.errnum == ENOENT);
}

static void test_mkdir_in_root_stays_inside(void)
{
	int root = make_root();
	berr e;
	/* An absolute symlink pointing at the host's /tmp must resolve inside. */
	CHECK(symlinkat("/", root, "escape") == 0);
	int fd = fs_mkdir_in_root(root, "/escape/../../a/b/c", 0755, &e);
	CHECK(fd >= 0);
	close(fd);
	struct stat st;
	CHECK(fstatat(root, "a/b/c", &st, 0) == 0 && S_ISDIR(st.st_mode));
	CHECK(access("/a/b/c", F_OK) != 0);
	drop_root(root);
}

static void test_mkfile_in_root_through_symlink(void)
{
	int root = make_root();
	berr e;
	CHECK(mkdirat(root, "etc", 0755) == 0);
	CHECK(symlinkat("/etc", root, "link") == 0);
	int fd = fs_mkfile_in_root(root, "/link/hosts-target", 0644, &e);
	CHECK(fd >= 0);
	close(fd);
	struct stat st;
	CHECK(fstatat(root, "etc/hosts-target", &st, 0) == 0 && S_ISREG(st.st_mode));
	CHECK(access("/etc/hosts-target", F_OK) != 0);
	drop_root(root);
}

static void test_open_in_root_rejects_magic_links(void)
{
	int root = make_root();
	berr e;
	CHECK(symlinkat("/proc/self/root", root, "magic") == 0);
	int fd = fs_open_in_root(root, "magic", O_PATH, 0, &e);
	/* Inside the root there is no /proc, so this must not reach the host. */
	CHECK(fd < 0);
	drop_root(root);
}

static void test_atomic_write_and_read(void)
{
	int root = make_root();
	berr e;
	_cleanup_close_ int d = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fs_write_atomic_at(d, "state.json", "{\"a\":1}", 7, 0600, true, &e) == 0);
	_cleanup_free_ char *s = NULL;
	size_t n = 0;
	CHECK(fs_read_file_at(d, "state.json", &s, &n, &e) == 0);
	CHECK(n == 7);
	CHECK_STREQ(s, "{\"a\":1}");
	CHECK(fs_read_file_at(d, "missing", &s, &n, &e) < 0);
	CHECK_CONTAINS(e.msg, "open missing");
	drop_root(root);
}

static void test_parent_in_root(void)
{
	int root = make_root();
	berr e;
	char name[64];
	int fd = fs_parent_in_root(root, "/dev/net/tun", name, sizeof(name), true, &e);
	CHECK(fd >= 0);
	close(fd);
	CHECK_STREQ(name, "tun");
	CHECK(fs_parent_in_root(root, "/", name, sizeof(name), true, &e) < 0);
	drop_root(root);
}

CHECK_MAIN(test_error_context, test_mkdir_in_root_stays_inside, test_mkfile_in_root_through_symlink,
	   test_open_in_root_rejects_magic_links, test_atomic_write_and_read, test_parent_in_root)
