/* The store through the engine-facing API: import, resolve, tag, holds,
 * rmi/prune/gc, system check. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "test_store_helpers.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static img_store *setup(void)
{
	return store_setup("berth-unit-store");
}

/* A one-file root filesystem tar in a memfd. */
static int rootfs_tar(const char *content)
{
	size_t cap = 1 << 16, used = 0;
	char *buf = xmalloc(cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, buf, cap, &used);
	struct archive_entry *en = archive_entry_new();
	archive_entry_set_pathname(en, "etc/motd");
	archive_entry_set_filetype(en, AE_IFREG);
	archive_entry_set_perm(en, 0644);
	archive_entry_set_size(en, (la_int64_t)strlen(content));
	archive_write_header(a, en);
	archive_write_data(a, content, strlen(content));
	archive_entry_free(en);
	archive_write_close(a);
	archive_write_free(a);
	int fd = memfd_create("rootfs", MFD_CLOEXEC);
	if (fd < 0 || fs_write_all(fd, buf, used) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	free(buf);
	return fd;
}

static int count(const char *sub)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/image/%s", base, sub);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_import_resolve_config_and_layers(void)
{
	img_store *s = setup();
	berr e;
	dg_str id;
	int fd = rootfs_tar("hello\n");
	CHECK(image_import(s, fd, "x:1", &id, &e) == 0);
	close(fd);
	img_image im;
	CHECK(image_resolve(s, "x:1", &im, &e) == 0);
	CHECK_STREQ(im.rec.id.s, id.s);
	CHECK_STREQ(im.config.os, "linux");
	CHECK(im.n_layers == 1 && im.config.n_diff_ids == 1);
	_cleanup_free_ char *motd = xasprintf("%s/etc/motd", im.layer_dirs[0]);
	_cleanup_free_ char *txt = NULL;
	CHECK(fs_read_file_at(AT_FDCWD, motd, &txt, NULL, &e) == 0);
	CHECK_STREQ(txt, "hello\n");
	_cleanup_free_ char *lower = image_lowerdir(&im);
	CHECK_STREQ(lower, im.layer_dirs[0]);
	image_free(&im);
	/* by full name, by ID and ID prefix */
	CHECK(image_resolve(s, "docker.io/library/x:1", &im, &e) == 0);
	image_free(&im);
	CHECK(image_resolve(s, id.s, &im, &e) == 0);
	image_free(&im);
	char prefix[13];
	snprintf(prefix, sizeof(prefix), "%.12s", dg_hex(id.s));
	CHECK(image_resolve(s, prefix, &im, &e) == 0);
	image_free(&im);
	CHECK(image_resolve(s, "x:2", &im, &e) < 0);
	CHECK_STREQ(e.msg, "image \"x:2\" not found");
	CHECK(e.errnum == ENOENT);
	teardown(s);
}

static void test_tag_moves_and_rmi(void)
{
	img_store *s = setup();
	berr e;
	dg_str a, b;
	int fd = rootfs_tar("a");
	CHECK(image_import(s, fd, "app:1", &a, &e) == 0);
	close(fd);
	fd = rootfs_tar("b");
	CHECK(image_import(s, fd, "other:1", &b, &e) == 0);
	close(fd);
	/* a tag moves off the image it was on */
	CHECK(image_tag(s, "other:1", "app:1", &e) == 0);
	img_image im;
	CHECK(image_resolve(s, "app:1", &im, &e) == 0);
	CHECK_STREQ(im.rec.id.s, b.s);
	image_free(&im);
	CHECK(image_tag(s, "app:1",
			"x@sha256:0000000000000000000000000000000000000000000000000000000000000000",
			&e) < 0);
	/* the first image is now dangling: prune removes it and its data */
	char **out = NULL;
	CHECK(image_prune(s, &out, &e) == 0);
	CHECK(strv_len(out) == 1 && strstr(out[0], a.s));
	strv_free(out);
	CHECK(count("layers") == 1);
	out = NULL;
	CHECK(image_remove(s, "app:1", false, &out, &e) == 0); /* untag only */
	CHECK(strv_len(out) == 1);
	strv_free(out);
	out = NULL;
	CHECK(image_remove(s, "other:1", false, &out, &e) == 0);
	CHECK(strv_len(out) == 2 && strstr(out[1], "Deleted: "));
	strv_free(out);
	CHECK(count("layers") == 0 && count("blobs/sha256") == 0);
	teardown(s);
}

static void test_holds_keep_layers(void)
{
	img_store *s = setup();
	berr e;
	dg_str id;
	int fd = rootfs_tar("held");
	CHECK(image_import(s, fd, "held:1", &id, &e) == 0);
	close(fd);
	img_image im;
	CHECK(image_resolve(s, "held:1", &im, &e) == 0);
	CHECK(image_hold(s, "ctr-1", &im, &e) == 0);
	CHECK(image_hold(s, "../evil", &im, &e) < 0);
	char **out = NULL;
	CHECK(image_remove(s, "held:1", false, &out, &e) < 0);
	CHECK(e.errnum == EBUSY);
	CHECK_CONTAINS(e.msg, "container ctr-1 is using");
	strv_free(out);
	out = NULL;
	CHECK(image_remove(s, "held:1", true, &out, &e) == 0);
	strv_free(out);
	/* the image is gone, its layer stays for the container */
	img_image gone;
	CHECK(image_resolve(s, "held:1", &gone, &e) < 0);
	struct stat st;
	CHECK(stat(im.layer_dirs[0], &st) == 0);
	store_report r;
	CHECK(store_check(s, false, &r, &e) == 0);
	CHECK(strv_len(r.problems) == 0);
	for (size_t i = 0; r.garbage && r.garbage[i]; i++)
		CHECK(!strstr(r.garbage[i], "layer "));
	store_report_free(&r);
	CHECK(image_release(s, "ctr-1", &e) == 0);
	CHECK(image_release(s, "ctr-1", &e) == 0); /* twice is fine */
	CHECK(store_gc(s, &e) == 0);
	CHECK(stat(im.layer_dirs[0], &st) < 0 && errno == ENOENT);
	image_free(&im);
	teardown(s);
}

static void test_check_finds_and_repairs(void)
{
	img_store *s = setup();
	berr e;
	dg_str id;
	int fd = rootfs_tar("check");
	CHECK(image_import(s, fd, "c:1", &id, &e) == 0);
	close(fd);
	img_image im;
	CHECK(image_resolve(s, "c:1", &im, &e) == 0);
	/* a missing layer directory is unpacked again from its blob */
	CHECK(fs_rm_rf_at(AT_FDCWD, im.layer_dirs[0], &e) == 0);
	store_report r;
	CHECK(store_check(s, false, &r, &e) == 0);
	CHECK(strv_len(r.problems) == 1);
	CHECK_CONTAINS(r.problems[0], "unpacked layer");
	store_report_free(&r);
	CHECK(store_check(s, true, &r, &e) == 0);
	CHECK(strv_len(r.repaired) >= 1);
	CHECK_CONTAINS(r.repaired[0], "unpacked layer");
	store_report_free(&r);
	struct stat st;
	CHECK(stat(im.layer_dirs[0], &st) == 0);
	/* leftovers in tmp/ are garbage, removed by repair */
	char p[160];
	snprintf(p, sizeof(p), "%s/image/tmp/0123.partial", base);
	CHECK(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
	CHECK(store_check(s, false, &r, &e) == 0);
	CHECK(strv_len(r.problems) == 0 && strv_len(r.garbage) == 1);
	store_report_free(&r);
	CHECK(store_check(s, true, &r, &e) == 0);
	store_report_free(&r);
	CHECK(count("tmp") == 0);
	image_free(&im);
	teardown(s);
}

CHECK_MAIN(test_import_resolve_config_and_layers, test_tag_moves_and_rmi, test_holds_keep_layers,
	   test_check_finds_and_repairs)
