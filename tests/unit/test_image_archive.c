/* Import and load as the library sees them: index_add_all (the one index
 * write of a load), store_discard (what a failed command wrote goes, what an
 * image references stays), import of empty and broken input. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "test_store_helpers.h"
#include "image/gc.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static img_store *setup(void)
{
	return store_setup("berth-unit-archive");
}

static int memfd_of(const void *buf, size_t len)
{
	int fd = memfd_create("input", MFD_CLOEXEC);
	if (fd < 0 || fs_write_all(fd, buf, len) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	return fd;
}

/* A one-file root filesystem tar in a memfd. */
static int rootfs_tar(const char *content)
{
	size_t cap = 1 << 16, used = 0;
	_cleanup_free_ char *buf = xmalloc(cap);
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
	return memfd_of(buf, used);
}

static size_t count(const char *dir)
{
	berr e;
	_cleanup_free_ char *p = xasprintf("%s/image/%s", base, dir);
	char **v = fs_list_at(AT_FDCWD, p, &e);
	size_t n = strv_len(v);
	strv_free(v);
	return n;
}

static void import(img_store *s, const char *content, const char *name, dg_str *id)
{
	berr e;
	_cleanup_close_ int fd = rootfs_tar(content);
	CHECK(image_import(s, fd, name, id, &e) == 0);
}

static void test_index_add_all_moves_names_in_one_write(void)
{
	img_store *s = setup();
	berr e;
	dg_str a, b;
	import(s, "a\n", NULL, &a);
	import(s, "b\n", NULL, &b);
	img_image ia, ib;
	CHECK(image_resolve(s, a.s, &ia, &e) == 0);
	CHECK(image_resolve(s, b.s, &ib, &e) == 0);
	img_rec recs[2];
	rec_copy(&recs[0], &ia.rec);
	rec_copy(&recs[1], &ib.rec);
	char *na[] = {"docker.io/library/x:1", "docker.io/library/a:1", NULL};
	char *nb[] = {"docker.io/library/x:1", NULL};
	char *const *names[] = {na, nb};
	CHECK(index_add_all(s, recs, names, 2, &e) == 0);
	img_image r;
	CHECK(image_resolve(s, "x:1", &r, &e) == 0);
	CHECK_STREQ(r.rec.id.s, b.s); /* the later image keeps a name both had */
	image_free(&r);
	CHECK(image_resolve(s, "a:1", &r, &e) == 0);
	CHECK_STREQ(r.rec.id.s, a.s);
	CHECK(strv_len(r.rec.names) == 1);
	image_free(&r);
	image_free(&ia);
	image_free(&ib);
	teardown(s);
}

static void test_discard_keeps_what_images_reference(void)
{
	img_store *s = setup();
	berr e;
	dg_str a, stray;
	import(s, "a\n", "a:1", &a);
	img_image im;
	CHECK(image_resolve(s, "a:1", &im, &e) == 0);
	size_t before = count("blobs/sha256");
	CHECK(store_blob_put(s, "stray", 5, NULL, &stray, &e) == 0);
	CHECK(count("blobs/sha256") == before + 1);
	char *blobs[] = {(char *)dg_hex(im.rec.layers[0].digest.s), (char *)dg_hex(im.rec.id.s),
			 (char *)dg_hex(stray.s)};
	char *layers[] = {(char *)dg_hex(im.rec.layers[0].diff_id.s), "ab"};
	CHECK(store_discard(s, blobs, 3, layers, 2, &e) == 0);
	CHECK(count("blobs/sha256") == before);
	CHECK(!store_blob_exists(s, stray.s));
	CHECK(store_blob_exists(s, im.rec.layers[0].digest.s));
	CHECK(store_layer_exists(s, im.rec.layers[0].diff_id.s));
	image_free(&im);
	teardown(s);
}

static void test_import_empty_and_broken_input_leave_nothing(void)
{
	img_store *s = setup();
	berr e;
	dg_str id;
	_cleanup_close_ int empty = memfd_of("", 0);
	CHECK(image_import(s, empty, "x:1", &id, &e) < 0);
	CHECK_CONTAINS(e.msg, "empty, not a tar archive");
	char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	_cleanup_close_ int bad = memfd_of(junk, sizeof(junk));
	CHECK(image_import(s, bad, "x:1", &id, &e) < 0);
	CHECK_CONTAINS(e.msg, "not a tar archive");
	CHECK(count("blobs/sha256") == 0);
	CHECK(count("layers") == 0);
	CHECK(count("tmp") == 0);
	teardown(s);
}

CHECK_MAIN(test_index_add_all_moves_names_in_one_write, test_discard_keeps_what_images_reference,
	   test_import_empty_and_broken_input_leave_nothing)
