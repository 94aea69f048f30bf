/* Layer unpacking: hostile tars never write outside the layer; whiteouts,
 * devices, xattrs, modes, ownership, gzip/zstd; corrupt layers leave
 * nothing in the store. Tars are built here with libarchive's writer. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"
#include "image/digest.h"
#include "image/store.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char base[64];
static int layer = -1;	 /* <base>/layer */
static int outside = -1; /* <base>/outside: must never change */

static void setup(void)
{
	strcpy(base, "/tmp/berth-unit-unpack-XXXXXX");
	if (!mkdtemp(base))
		abort();
	char p[128];
	snprintf(p, sizeof(p), "%s/layer", base);
	mkdir(p, 0755);
	layer = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/outside", base);
	mkdir(p, 0755);
	outside = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = openat(outside, "secret", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (layer < 0 || outside < 0 || fd < 0 || write(fd, "original", 8) != 8)
		abort();
	close(fd);
}

static void teardown(void)
{
	berr e;
	close(layer);
	close(outside);
	fs_rm_rf_at(AT_FDCWD, base, &e);
}

/* The outside directory holds exactly the untouched "secret". */
static int outside_untouched(void)
{
	char buf[32] = {0};
	int fd = openat(outside, "secret", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	struct stat st;
	fstat(fd, &st);
	close(fd);
	if (n != 8 || strcmp(buf, "original") || st.st_nlink != 1)
		return 0;
	int count = 0;
	int dfd = openat(outside, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fdopendir(dfd);
	struct dirent *de;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			count++;
	closedir(dir);
	return count == 1;
}

/* ---- tar builder ---- */

typedef struct tb {
	struct archive *a;
	char *buf;
	size_t cap, used;
} tb;

static void tb_begin(tb *t, int filter)
{
	t->cap = 4 << 20;
	t->buf = xmalloc(t->cap);
	t->used = 0;
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	if (filter == 1)
		archive_write_add_filter_gzip(t->a);
	else if (filter == 2)
		archive_write_add_filter_zstd(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	if (archive_write_open_memory(t->a, t->buf, t->cap, &t->used) != ARCHIVE_OK)
		abort();
}

static struct archive_entry *tb_ent(const char *name, mode_t type, mode_t perm)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, 1000000, 0);
	return e;
}

static void tb_put(tb *t, struct archive_entry *e, const char *data)
{
	if (data)
		archive_entry_set_size(e, (la_int64_t)strlen(data));
	if (archive_write_header(t->a, e) != ARCHIVE_OK)
		abort();
	if (data && *data)
		archive_write_data(t->a, data, strlen(data));
	archive_entry_free(e);
}

static void tb_file(tb *t, const char *name, const char *data)
{
	tb_put(t, tb_ent(name, AE_IFREG, 0644), data);
}

static void tb_dir(tb *t, const char *name)
{
	tb_put(t, tb_ent(name, AE_IFDIR, 0755), NULL);
}

static void tb_symlink(tb *t, const char *name, const char *target)
{
	struct archive_entry *e = tb_ent(name, AE_IFLNK, 0777);
	archive_entry_set_symlink(e, target);
	tb_put(t, e, NULL);
}

static void tb_hardlink(tb *t, const char *name, const char *target)
{
	struct archive_entry *e = tb_ent(name, AE_IFREG, 0644);
	archive_entry_set_hardlink(e, target);
	archive_entry_set_size(e, 0);
	tb_put(t, e, NULL);
}

/* Finish and hand back a readable fd with the bytes. */
static int tb_end(tb *t)
{
	archive_write_close(t->a);
	archive_write_free(t->a);
	int fd = memfd_create("tar", MFD_CLOEXEC);
	if (fd < 0 || fs_write_all(fd, t->buf, t->used) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	free(t->buf);
	return fd;
}

static int unpack(int fd, berr *e)
{
	dg_str d;
	int r = unpack_layer(fd, layer, &d, e);
	close(fd);
	return r;
}

static bool exists_in_layer(const char *p)
{
	struct stat st;
	return fstatat(layer, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- hostile tars ---- */

static void test_dotdot_refused(void)
{
	setup();
	tb t;
	tb_begin(&t, 0);
	tb_file(&t, "ok", "x");
	tb_file(&t, "a/../../outside/evil", "pwned");
	berr e;
	CHECK(unpack(tb_end(&t), &e) < 0);
	CHECK_CONTAINS(e.msg, "escapes the layer");
	CHECK(outside_untouched());
	teardown();
}

static void test_absolute_names_stay_inside(void)
{
	setup();
	char abs[160];
	snprintf(abs, sizeof(abs), "%s/outside/abs", base);
	tb t;
	tb_begin(&t, 0);
	tb_file(&t, abs, "inside");
	tb_file(&t, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	berr e;
	CHECK(unpack(tb_end(&t), &e) == 0);
	CHECK(outside_untouched());
	CHECK(exists_in_layer(abs + 1)); /* relative to the layer */
	CHECK(exists_in_layer("etc/passwd"));
	teardown();
}

static void test_symlink_then_write_through(void)
{
	setup();
	char target[160];
	snprintf(target, sizeof(target), "%s/outside", base);
	/* link -> /x (absolute, resolves in the layer), then link/passwd */
	tb t;
	tb_begin(&t, 0);
	tb_dir(&t, "x");
	tb_symlink(&t, "link", "/x");
	tb_file(&t, "link/passwd", "p");
	berr e;
	CHECK(unpack(tb_end(&t), &e) == 0);
	CHECK(exists_in_layer("x/passwd"));
	/* esc -> <host>/outside, then esc/pwned: never reaches the host */
	tb_begin(&t, 0);
	tb_symlink(&t, "esc", target);
	tb_file(&t, "esc/pwned", "p");
	tb_symlink(&t, "rel", "../../../../../../outside");
	tb_file(&t, "rel/pwned2", "p");
	unpack(tb_end(&t), &e); /* may fail or land inside: either is fine */
	CHECK(outside_untouched());
	teardown();
}

static void test_hardlink_out(void)
{
	setup();
	char abs[160];
	snprintf(abs, sizeof(abs), "%s/outside/secret", base);
	tb t;
	berr e;
	tb_begin(&t, 0);
	tb_hardlink(&t, "h1", "../outside/secret");
	CHECK(unpack(tb_end(&t), &e) < 0);
	tb_begin(&t, 0);
	tb_hardlink(&t, "h2", abs);
	CHECK(unpack(tb_end(&t), &e) < 0);
	CHECK_CONTAINS(e.msg, "target not in this layer");
	/* a hard link to a symlink pointing out links the symlink itself */
	tb_begin(&t, 0);
	tb_symlink(&t, "sl", abs);
	tb_hardlink(&t, "h3", "sl");
	tb_file(&t, "h3", "overwrite"); /* replaces h3, must not follow it */
	CHECK(unpack(tb_end(&t), &e) == 0);
	CHECK(outside_untouched());
	struct stat st;
	CHECK(fstatat(layer, "sl", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
	CHECK(fstatat(layer, "h3", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	/* a good hard link inside the layer */
	tb_begin(&t, 0);
	tb_file(&t, "f", "data");
	tb_hardlink(&t, "g", "f");
	CHECK(unpack(tb_end(&t), &e) == 0);
	struct stat a, b;
	CHECK(fstatat(layer, "f", &a, 0) == 0 && fstatat(layer, "g", &b, 0) == 0);
	CHECK(a.st_ino == b.st_ino && a.st_nlink == 2);
	teardown();
}

static void test_dir_replaced_by_symlink(void)
{
	setup();
	char target[160];
	snprintf(target, sizeof(target), "%s/outside", base);
	tb t;
	tb_begin(&t, 0);
	tb_dir(&t, "d");
	tb_file(&t, "d/f", "1");
	tb_symlink(&t, "d", target);
	tb_file(&t, "d/g", "2");
	tb_file(&t, "d/secret", "pwned");
	berr e;
	unpack(tb_end(&t), &e);
	CHECK(outside_untouched());
	struct stat st;
	CHECK(fstatat(layer, "d", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
	teardown();
}

/* ---- faithful unpacking ---- */

static void test_whiteouts(void)
{
	setup();
	tb t;
	tb_begin(&t, 0);
	tb_dir(&t, "a");
	tb_file(&t, "a/.wh.gone", "");
	tb_dir(&t, "c");
	tb_file(&t, "c/.wh..wh..opq", "");
	tb_file(&t, "c/kept", "k");
	tb_file(&t, ".wh.topfile", "");
	struct archive_entry *forged = tb_ent("forged", AE_IFDIR, 0755);
	archive_entry_xattr_add_entry(forged, "trusted.overlay.redirect", "/etc", 4);
	archive_entry_xattr_add_entry(forged, "trusted.overlay.opaque", "y", 1);
	tb_put(&t, forged, NULL);
	berr e;
	CHECK(unpack(tb_end(&t), &e) == 0);
	struct stat st;
	CHECK(fstatat(layer, "a/gone", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	CHECK(fstatat(layer, "topfile", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode));
	CHECK(!exists_in_layer("a/.wh.gone"));
	CHECK(!exists_in_layer("c/.wh..wh..opq"));
	CHECK(exists_in_layer("c/kept"));
	char val[8] = {0};
	char p[160];
	snprintf(p, sizeof(p), "%s/layer/c", base);
	CHECK(getxattr(p, "trusted.overlay.opaque", val, sizeof(val)) == 1 && val[0] == 'y');
	/* overlay xattrs in the tar itself are not applied */
	snprintf(p, sizeof(p), "%s/layer/forged", base);
	CHECK(exists_in_layer("forged"));
	CHECK(getxattr(p, "trusted.overlay.redirect", val, sizeof(val)) < 0);
	CHECK(getxattr(p, "trusted.overlay.opaque", val, sizeof(val)) < 0);
	teardown();
}

static void test_metadata_preserved(void)
{
	setup();
	tb t;
	tb_begin(&t, 0);
	struct archive_entry *en = tb_ent("suid", AE_IFREG, 04755);
	archive_entry_set_uid(en, 1234);
	archive_entry_set_gid(en, 5678);
	archive_entry_xattr_add_entry(en, "user.berth", "hello", 5);
	tb_put(&t, en, "#!/bin/sh\n");
	en = tb_ent("dev/null", AE_IFCHR, 0666);
	archive_entry_set_rdevmajor(en, 1);
	archive_entry_set_rdevminor(en, 3);
	tb_put(&t, en, NULL);
	en = tb_ent("dev/sda", AE_IFBLK, 0660);
	archive_entry_set_rdevmajor(en, 8);
	archive_entry_set_rdevminor(en, 0);
	tb_put(&t, en, NULL);
	tb_put(&t, tb_ent("fifo", AE_IFIFO, 0600), NULL);
	en = tb_ent("lnk", AE_IFLNK, 0777);
	archive_entry_set_symlink(en, "suid");
	archive_entry_set_uid(en, 42);
	archive_entry_set_gid(en, 43);
	tb_put(&t, en, NULL);
	en = tb_ent("sticky", AE_IFDIR, 01777);
	archive_entry_set_mtime(en, 2000000, 0);
	tb_put(&t, en, NULL);
	tb_file(&t, "sticky/inner", "x"); /* must not disturb the dir's mtime */
	berr e;
	CHECK(unpack(tb_end(&t), &e) == 0);
	struct stat st;
	CHECK(fstatat(layer, "suid", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK((st.st_mode & 07777) == 04755);
	CHECK(st.st_uid == 1234 && st.st_gid == 5678);
	CHECK(st.st_mtime == 1000000);
	char p[160], val[16] = {0};
	snprintf(p, sizeof(p), "%s/layer/suid", base);
	CHECK(getxattr(p, "user.berth", val, sizeof(val)) == 5 && !strcmp(val, "hello"));
	CHECK(fstatat(layer, "dev/null", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) && (st.st_mode & 0777) == 0666);
	CHECK(fstatat(layer, "dev/sda", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISBLK(st.st_mode) && st.st_rdev == makedev(8, 0));
	CHECK(fstatat(layer, "fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode));
	CHECK(fstatat(layer, "lnk", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
	CHECK(st.st_uid == 42 && st.st_gid == 43);
	CHECK(fstatat(layer, "sticky", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK((st.st_mode & 07777) == 01777 && st.st_mtime == 2000000);
	teardown();
}

/* The same tree, plain / gzip / zstd: same diffID = sha256 of the plain tar. */
static void test_compression_and_diffid(void)
{
	setup();
	dg_str ids[3];
	dg_str plain;
	for (int f = 0; f < 3; f++) {
		tb t;
		tb_begin(&t, f);
		tb_dir(&t, "etc");
		tb_file(&t, "etc/hostname", "berth\n");
		int fd = tb_end(&t);
		if (f == 0) {
			CHECK(dg_of_fd(fd, &plain, NULL, NULL) == 0);
			lseek(fd, 0, SEEK_SET);
		}
		berr e;
		char name[16];
		snprintf(name, sizeof(name), "l%d", f);
		CHECK(mkdirat(layer, name, 0755) == 0);
		_cleanup_close_ int d = openat(layer, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		CHECK(unpack_layer(fd, d, &ids[f], &e) == 0);
		close(fd);
		struct stat st;
		CHECK(fstatat(d, "etc/hostname", &st, 0) == 0 && st.st_size == 6);
	}
	CHECK_STREQ(ids[0].s, plain.s);
	CHECK_STREQ(ids[1].s, plain.s);
	CHECK_STREQ(ids[2].s, plain.s);
	teardown();
}

/* ---- corrupt layers through the store: error, nothing left ---- */

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_corrupt_layers_leave_nothing(void)
{
	setup();
	char root[128];
	snprintf(root, sizeof(root), "%s/store", base);
	berr e;
	img_store *s = store_open(root, &e);
	CHECK(s);
	/* a valid gzip'ed tar, then three ways to break it */
	tb t;
	tb_begin(&t, 1);
	for (int i = 0; i < 50; i++) {
		char n[32], data[200];
		snprintf(n, sizeof(n), "f%d", i);
		memset(data, 'a' + i % 26, sizeof(data) - 1);
		data[sizeof(data) - 1] = '\0';
		tb_file(&t, n, data);
	}
	int fd = tb_end(&t);
	struct stat st;
	fstat(fd, &st);
	char *good = xmalloc((size_t)st.st_size);
	CHECK(fs_read_full(fd, good, (size_t)st.st_size) == st.st_size);
	close(fd);
	dg_str gd, diff;
	CHECK(store_blob_put(s, good, (size_t)st.st_size, NULL, &gd, &e) == 0);
	/* compute the true diffID via decompression */
	fd = store_blob_open(s, gd.s, &e);
	CHECK(unpack_decompress(fd, -1, &diff, NULL, &e) == 0);
	close(fd);

	char *bad = xmalloc((size_t)st.st_size);
	memcpy(bad, good, (size_t)st.st_size);
	bad[st.st_size / 2] ^= 0x55; /* bad gzip data */
	dg_str bd;
	CHECK(store_blob_put(s, bad, (size_t)st.st_size, NULL, &bd, &e) == 0);
	CHECK(store_layer_unpack(s, bd.s, diff.s, &e) < 0);
	dg_str td; /* truncated */
	CHECK(store_blob_put(s, good, (size_t)st.st_size / 2, NULL, &td, &e) == 0);
	berr e2;
	CHECK(store_layer_unpack(s, td.s, diff.s, &e2) < 0);
	/* right content, wrong diffID in the config */
	berr e3;
	CHECK(store_layer_unpack(s, gd.s,
				 "sha256:"
				 "0000000000000000000000000000000000000000000000000000000000000000",
				 &e3) < 0);
	CHECK_CONTAINS(e3.msg, "diffID mismatch");
	char p[192];
	snprintf(p, sizeof(p), "%s/image/layers", root);
	CHECK(count_entries(p) == 0);
	snprintf(p, sizeof(p), "%s/image/tmp", root);
	CHECK(count_entries(p) == 0);
	/* and the good one works, once */
	CHECK(store_layer_unpack(s, gd.s, diff.s, &e) == 0);
	CHECK(store_layer_exists(s, diff.s));
	CHECK(store_layer_unpack(s, gd.s, diff.s, &e) == 0);
	snprintf(p, sizeof(p), "%s/image/layers", root);
	CHECK(count_entries(p) == 1);
	fprintf(stderr, "corrupt gzip: %s\ntruncated: %s\n", e.msg[0] ? e.msg : "", e2.msg);
	free(good);
	free(bad);
	store_close(s);
	teardown();
}

static void test_blob_digest_verified(void)
{
	setup();
	char root[128];
	snprintf(root, sizeof(root), "%s/store", base);
	berr e;
	img_store *s = store_open(root, &e);
	CHECK(s);
	dg_str d;
	CHECK(store_blob_put(s, "hello", 5,
			     "sha256:"
			     "0000000000000000000000000000000000000000000000000000000000000000",
			     &d, &e) < 0);
	CHECK_CONTAINS(e.msg, "digest mismatch");
	/* streaming writer with an expected digest, resumed in two goes */
	dg_str want = dg_of_buf("hello world", 11);
	blob_writer *w = blob_begin(s, want.s, &e);
	CHECK(w && blob_offset(w) == 0);
	CHECK(blob_write(w, "hello", 5, &e) == 0);
	blob_abort(w, true); /* interrupted: partial kept */
	w = blob_begin(s, want.s, &e);
	CHECK(w && blob_offset(w) == 5);
	CHECK(blob_write(w, " world", 6, &e) == 0);
	CHECK(blob_commit(w, &d, &e) == 0);
	CHECK_STREQ(d.s, want.s);
	CHECK(store_blob_exists(s, want.s));
	char *buf;
	size_t n;
	CHECK(store_blob_read(s, want.s, &buf, &n, &e) == 0 && n == 11);
	free(buf);
	/* a wrong partial is dropped on commit */
	dg_str w2 = dg_of_buf("xyz", 3);
	w = blob_begin(s, w2.s, &e);
	CHECK(blob_write(w, "xyq", 3, &e) == 0);
	CHECK(blob_commit(w, &d, &e) < 0);
	CHECK_CONTAINS(e.msg, "digest mismatch");
	CHECK(!store_blob_exists(s, w2.s));
	char p[192];
	snprintf(p, sizeof(p), "%s/image/tmp", root);
	CHECK(count_entries(p) == 0);
	store_close(s);
	teardown();
}

CHECK_MAIN(test_dotdot_refused, test_absolute_names_stay_inside, test_symlink_then_write_through,
	   test_hardlink_out, test_dir_replaced_by_symlink, test_whiteouts, test_metadata_preserved,
	   test_compression_and_diffid, test_corrupt_layers_leave_nothing,
	   test_blob_digest_verified)
