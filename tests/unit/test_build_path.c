/* build/build_path: COPY's source cleaning (never above the context), glob
 * expansion, the destination resolved through an image's symlinks inside
 * its root (absolute, relative, `..`, loops), and parents made with the
 * image's modes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_priv.h"
#include "check.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char *clean(const char *s)
{
	char *out = NULL;
	berr e;
	return bpath_clean(s, &out, &e) < 0 ? NULL : out;
}

static void test_clean(void)
{
	const char *cases[][2] = {{"a/b", "a/b"},    {"./a//b/", "a/b"}, {"/a/../b", "b"},
				  {"a/./b/..", "a"}, {".", ""},		 {"/", ""}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = clean(cases[i][0]);
		CHECK_STREQ(c, cases[i][1]);
		free(c);
	}
	berr e;
	char *out = NULL;
	CHECK(bpath_clean("../x", &out, &e) < 0);
	CHECK_CONTAINS(e.msg, "forbidden path outside the build context: ../x");
	CHECK(bpath_clean("a/../../x", &out, &e) < 0);
	CHECK(bpath_clean("/../x", &out, &e) < 0);
}

/* a scratch tree: etc/ (0750, uid 7), var/run -> /run, run/, rel -> etc, loop -> loop */
static int tree(char *dir)
{
	strcpy(dir, "/tmp/test_build_path.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || mkdirat(fd, "etc", 0750) < 0 || fchmodat(fd, "etc", 0750, 0) < 0 ||
	    fchownat(fd, "etc", 7, 8, 0) < 0 || mkdirat(fd, "var", 0755) < 0 ||
	    mkdirat(fd, "run", 0755) < 0 || symlinkat("/run", fd, "var/run") < 0 ||
	    symlinkat("etc", fd, "rel") < 0 || symlinkat("loop", fd, "loop") < 0 ||
	    symlinkat("../../../..", fd, "up") < 0)
		return -1;
	for (const char *f = "a.txt\0b.txt\0c.md\0"; *f; f += strlen(f) + 1)
		close(openat(fd, f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	return fd;
}

static void test_resolve_and_glob(void)
{
	char dir[64];
	int fd = tree(dir);
	CHECK(fd >= 0);
	const char *cases[][2] = {
	    {"/var/run/x", "/run/x"},  {"/rel/y", "/etc/y"}, {"/up/etc", "/etc"},
	    {"/new/dir/", "/new/dir"}, {"/", "/"},	     {"/var/run", "/run"}};
	berr e;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		CHECK(bpath_resolve(fd, cases[i][0], &out, &e) == 0);
		CHECK_STREQ(out, cases[i][1]);
		free(out);
	}
	char *out = NULL;
	CHECK(bpath_resolve(fd, "/loop/x", &out, &e) < 0);
	CHECK_CONTAINS(e.msg, "too many levels of symbolic links");
	/* no image (FROM scratch): the path as is */
	CHECK(bpath_resolve(-1, "/var/run/x", &out, &e) == 0);
	CHECK_STREQ(out, "/var/run/x");
	free(out);
	char **m = NULL;
	CHECK(bpath_glob(fd, "*.txt", &m, &e) == 0);
	CHECK(m && strv_len(m) == 2);
	CHECK_STREQ(m[0], "a.txt");
	CHECK_STREQ(m[1], "b.txt");
	strv_free(m);
	m = NULL;
	CHECK(bpath_glob(fd, "nomatch*", &m, &e) == 0);
	CHECK(strv_len(m) == 0);
	strv_free(m);
	CHECK(bpath_isdir(fd, "/etc") && bpath_isdir(fd, "/var/run") && !bpath_isdir(fd, "/a.txt"));
	close(fd);
	fs_rm_rf_at(AT_FDCWD, dir, &e);
}

static void test_mkparents(void)
{
	char dir[64], up[64];
	int vfd = tree(dir);
	CHECK(vfd >= 0);
	strcpy(up, "/tmp/test_build_path_up.XXXXXX");
	CHECK(mkdtemp(up) != NULL);
	int ufd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	berr e;
	int d = bpath_mkparents(ufd, vfd, "/etc/app/conf", &e);
	CHECK(d >= 0);
	close(d);
	struct stat st;
	/* etc keeps the image's mode and owner; what is new is 0755 root */
	CHECK(fstatat(ufd, "etc", &st, 0) == 0 && (st.st_mode & 07777) == 0750 && st.st_uid == 7 &&
	      st.st_gid == 8);
	CHECK(fstatat(ufd, "etc/app/conf", &st, 0) == 0 && (st.st_mode & 07777) == 0755 &&
	      st.st_uid == 0);
	/* a file on the way: refused */
	close(openat(ufd, "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	CHECK(bpath_mkparents(ufd, vfd, "/f/x", &e) < 0);
	CHECK_CONTAINS(e.msg, "not a directory");
	close(ufd);
	close(vfd);
	fs_rm_rf_at(AT_FDCWD, dir, &e);
	fs_rm_rf_at(AT_FDCWD, up, &e);
}

CHECK_MAIN(test_clean, test_resolve_and_glob, test_mkparents)
