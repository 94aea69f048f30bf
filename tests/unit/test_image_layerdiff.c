/* layerdiff: the change list of an upper directory over two lower layers
 * (whiteouts as devices and xattrs, opaque directories in the upper and in a
 * lower layer), the layer tar read back with libarchive (whiteout entries,
 * the opaque marker, hard links, sockets skipped, devices and xattrs kept,
 * overlay xattrs dropped), one entry's tar (ld_tar_entry: the API's
 * archive), the reproducible digest, and the depth limit.
 * Whiteout devices and trusted.* xattrs need root. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "image/layerdiff.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char base[64];
static int upper = -1, lowers[2] = {-1, -1}; /* lowers[0]: the top layer */

static int open_in(int at, const char *path)
{
	return openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void mkfile(int at, const char *path, const char *content)
{
	int fd = openat(at, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		abort();
	close(fd);
}

static void mkd(int at, const char *path)
{
	if (mkdirat(at, path, 0755) < 0 && errno != EEXIST)
		abort();
}

static void whiteout(int at, const char *path)
{
	if (mknodat(at, path, S_IFCHR | 0, makedev(0, 0)) < 0)
		abort();
}

static void set_xattr(int at, const char *path, const char *k, const char *v)
{
	int fd = openat(at, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsetxattr(fd, k, v, strlen(v), 0) < 0)
		abort();
	close(fd);
}

static bool setup(void)
{
	if (geteuid() != 0) {
		printf("skip: whiteout devices and trusted.* xattrs need root\n");
		return false;
	}
	strcpy(base, "/tmp/berth-unit-ldiff-XXXXXX");
	if (!mkdtemp(base))
		abort();
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkd(b, "upper");
	mkd(b, "l0");
	mkd(b, "l1");
	upper = open_in(b, "upper");
	lowers[0] = open_in(b, "l0");
	lowers[1] = open_in(b, "l1");
	close(b);
	/* bottom layer */
	int l = lowers[1];
	mkd(l, "etc");
	mkfile(l, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	mkfile(l, "etc/group", "root:x:0:\n");
	mkd(l, "opt");
	mkd(l, "opt/a");
	mkfile(l, "opt/a/x", "x");
	mkfile(l, "opt/a/y", "y");
	mkd(l, "var");
	mkfile(l, "var/old", "old");
	mkd(l, "bin");
	mkfile(l, "bin/sh", "#!");
	/* top layer: deletes var/old, replaces opt/a by an opaque dir */
	l = lowers[0];
	mkd(l, "etc");
	mkfile(l, "etc/hosts", "127.0.0.1 localhost\n");
	mkd(l, "var");
	whiteout(l, "var/old");
	mkd(l, "opt");
	mkd(l, "opt/a");
	mkfile(l, "opt/a/z", "z");
	set_xattr(l, "opt/a", "trusted.overlay.opaque", "y");
	/* the container's changes */
	int u = upper;
	mkd(u, "etc");
	mkfile(u, "etc/passwd", "root:x:0:0::/root:/bin/ash\n");
	mkfile(u, "etc/new", "new");
	mkfile(u, "etc/resolv.conf", ""); /* an engine's mount point */
	if (linkat(u, "etc/new", u, "etc/newlink", 0) < 0)
		abort();
	set_xattr(u, "etc/new", "user.note", "kept");
	whiteout(u, "etc/group");
	mkd(u, "var");
	mkfile(u, "var/old", "again");
	mkd(u, "opt");
	mkd(u, "opt/a");
	set_xattr(u, "opt/a", "trusted.overlay.opaque", "y");
	mkfile(u, "opt/a/w", "w");
	mkd(u, "newdir");
	mkfile(u, "newdir/f", "f");
	if (mknodat(u, "newdir/null", S_IFCHR | 0666, makedev(1, 3)) < 0)
		abort();
	mkd(u, "bin");
	mkfile(u, "bin/sh", "");
	set_xattr(u, "bin/sh", "trusted.overlay.whiteout", "");
	/* a socket: skipped by the tar */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/upper/newdir/sock", base);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	close(s);
	return true;
}

static const char *const want_changes[] = {
    "C /bin",	  "D /bin/sh",	    "C /etc",	      "D /etc/group",
    "A /etc/new", "A /etc/newlink", "C /etc/passwd",  "A /etc/resolv.conf",
    "A /newdir",  "A /newdir/f",    "A /newdir/null", "A /newdir/sock",
    "C /opt",	  "C /opt/a",	    "A /opt/a/w",     "D /opt/a/z",
    "C /var",	  "A /var/old",
};

static void test_changes(void)
{
	ld_changes c;
	berr e;
	int r = ld_changes_of(upper, lowers, 2, NULL, &c, &e);
	if (r < 0)
		fprintf(stderr, "ld_changes_of: %s\n", e.msg);
	CHECK(r == 0);
	size_t n = sizeof(want_changes) / sizeof(want_changes[0]);
	for (size_t i = 0; i < c.n && i < n; i++) {
		char line[256];
		snprintf(line, sizeof(line), "%c %s", c.v[i].kind, c.v[i].path);
		CHECK_STREQ(line, want_changes[i]);
	}
	CHECK(c.n == n);
	ld_changes_free(&c);
}

/* The engine's mount points are no change (empty files only). */
static void test_changes_stubs(void)
{
	ld_changes c;
	berr e;
	CHECK(ld_changes_of(upper, lowers, 2, ld_engine_stubs, &c, &e) == 0);
	size_t n = sizeof(want_changes) / sizeof(want_changes[0]);
	CHECK(c.n == n - 1);
	for (size_t i = 0; i < c.n; i++)
		CHECK(strcmp(c.v[i].path, "/etc/resolv.conf") != 0);
	ld_changes_free(&c);
	mkfile(upper, "etc/resolv.conf", "nameserver 10.0.0.1\n");
	CHECK(ld_changes_of(upper, lowers, 2, ld_engine_stubs, &c, &e) == 0);
	CHECK(c.n == n);
	ld_changes_free(&c);
	mkfile(upper, "etc/resolv.conf", "");
	/* a directory copied up for mount points only is no change */
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkd(b, "u2");
	int u2 = open_in(b, "u2");
	close(b);
	mkd(u2, "etc");
	mkfile(u2, "etc/hosts", "");
	mkfile(u2, "etc/hostname", "");
	CHECK(ld_changes_of(u2, lowers, 2, ld_engine_stubs, &c, &e) == 0);
	CHECK(c.n == 0);
	ld_changes_free(&c);
	mkfile(u2, "etc/motd", "hi");
	CHECK(ld_changes_of(u2, lowers, 2, ld_engine_stubs, &c, &e) == 0);
	CHECK(c.n == 2 && !strcmp(c.v[0].path, "/etc") && !strcmp(c.v[1].path, "/etc/motd"));
	ld_changes_free(&c);
	close(u2);
}

/* Without lower layers everything is added. */
static void test_changes_no_lowers(void)
{
	ld_changes c;
	berr e;
	CHECK(ld_changes_of(upper, NULL, 0, NULL, &c, &e) == 0);
	CHECK(c.n > 0);
	for (size_t i = 0; i < c.n; i++)
		CHECK(c.v[i].kind == 'A' || c.v[i].kind == 'D');
	ld_changes_free(&c);
}

typedef struct membuf {
	char *p;
	size_t n, cap;
} membuf;

static int mem_write(void *ctx, const void *buf, size_t len, berr *e)
{
	(void)e;
	membuf *m = ctx;
	if (m->n + len > m->cap) {
		m->cap = (m->n + len) * 2;
		m->p = xrealloc(m->p, m->cap);
	}
	memcpy(m->p + m->n, buf, len);
	m->n += len;
	return 0;
}

static int tar_of(int root, const ld_tar_opts *o, membuf *m, ld_tar_result *r)
{
	*m = (membuf){0};
	ld_sink sink = {.write = mem_write, .ctx = m};
	berr e;
	int ret = ld_tar(root, o, &sink, r, &e);
	if (ret < 0)
		fprintf(stderr, "ld_tar: %s\n", e.msg);
	return ret;
}

static void test_layer_tar(void)
{
	ld_tar_opts o = {.layer = true, .compression = 1};
	membuf m;
	ld_tar_result r;
	CHECK(tar_of(upper, &o, &m, &r) == 0);
	CHECK(r.size == m.n);
	CHECK(dg_of_buf(m.p, m.n).s[0] && !strcmp(dg_of_buf(m.p, m.n).s, r.digest.s));
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	CHECK(archive_read_open_memory(a, m.p, m.n) == ARCHIVE_OK);
	struct archive_entry *ent;
	int seen = 0;
	bool link_ok = false, note = false, opq_clean = false;
	while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(ent);
		CHECK(strcmp(p, "newdir/sock") != 0);
		CHECK(archive_entry_atime_is_set(ent) == 0 && archive_entry_ctime_is_set(ent) == 0);
		if (!strcmp(p, "etc/.wh.group") || !strcmp(p, "bin/.wh.sh") ||
		    !strcmp(p, "opt/a/.wh..wh..opq"))
			seen++;
		if (!strcmp(p, "etc/newlink"))
			link_ok = archive_entry_hardlink(ent) &&
				  !strcmp(archive_entry_hardlink(ent), "etc/new");
		if (!strcmp(p, "newdir/null"))
			CHECK(archive_entry_filetype(ent) == AE_IFCHR &&
			      archive_entry_rdevmajor(ent) == 1 &&
			      archive_entry_rdevminor(ent) == 3);
		if (!strcmp(p, "etc/new")) {
			const char *k;
			const void *v;
			size_t sz;
			archive_entry_xattr_reset(ent);
			while (archive_entry_xattr_next(ent, &k, &v, &sz) == ARCHIVE_OK)
				note |= !strcmp(k, "user.note") && sz == 4 && !memcmp(v, "kept", 4);
		}
		if (!strcmp(p, "opt/a/"))
			opq_clean = archive_entry_xattr_count(ent) == 0;
		CHECK(strcmp(p, "bin/sh") != 0); /* the xattr whiteout is no file */
	}
	archive_read_free(a);
	CHECK(seen == 3);
	CHECK(link_ok);
	CHECK(note);
	CHECK(opq_clean);
	free(m.p);
}

/* ld_tar_entry's names of one entry read back: "name>link" for symlinks,
 * "name=content" for files, joined by spaces. */
static char *entry_tar(int at, const char *path, const char *as)
{
	int fd = openat(at, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	membuf m = {0};
	ld_sink sink = {.write = mem_write, .ctx = &m};
	ld_tar_opts o = {0};
	berr e;
	int r = fd < 0 ? -1 : ld_tar_entry(fd, as, &o, &sink, &e);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return xstrdup("(tar failed)");
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, m.p, m.n) != ARCHIVE_OK)
		abort();
	struct archive_entry *ent;
	char *out = xstrdup("");
	while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
		char data[64] = "";
		if (archive_entry_filetype(ent) == AE_IFREG &&
		    archive_read_data(a, data, sizeof(data) - 1) < 0)
			abort();
		const char *ln = archive_entry_symlink(ent);
		char *n = xasprintf("%s%s%s%s%s", out, *out ? " " : "", archive_entry_pathname(ent),
				    ln	    ? ">"
				    : *data ? "="
					    : "",
				    ln ? ln : data);
		free(out);
		out = n;
	}
	archive_read_free(a);
	free(m.p);
	return out;
}

/* The Docker API's archive: a directory under its name, a file, a link. */
static void test_entry_tar(void)
{
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkd(b, "ent");
	mkd(b, "ent/d");
	int d = open_in(b, "ent");
	mkfile(d, "d/f", "x");
	mkfile(d, "solo", "y");
	CHECK(symlinkat("f", d, "d/l") == 0);
	char *s = entry_tar(d, "d", "d");
	CHECK_STREQ(s, "d/ d/f=x d/l>f");
	free(s);
	s = entry_tar(d, "solo", "solo");
	CHECK_STREQ(s, "solo=y");
	free(s);
	s = entry_tar(d, "d/l", "l");
	CHECK_STREQ(s, "l>f");
	free(s);
	close(d);
	close(b);
}

/* fuse-overlayfs' file whiteouts: .wh.NAME and .wh..wh..opq. */
static void test_fuse_whiteouts(void)
{
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkd(b, "u3");
	int u3 = open_in(b, "u3");
	close(b);
	mkd(u3, "etc");
	mkfile(u3, "etc/.wh.group", "");
	mkd(u3, "opt");
	mkd(u3, "opt/a");
	mkfile(u3, "opt/a/.wh..wh..opq", "");
	ld_changes c;
	berr e;
	CHECK(ld_changes_of(u3, lowers, 2, NULL, &c, &e) == 0);
	const char *want[] = {"C /etc", "D /etc/group", "C /opt", "C /opt/a", "D /opt/a/z"};
	CHECK(c.n == 5);
	for (size_t i = 0; i < c.n; i++) {
		char line[64];
		snprintf(line, sizeof(line), "%c %s", c.v[i].kind, c.v[i].path);
		CHECK_STREQ(line, want[i]);
	}
	ld_changes_free(&c);
	ld_tar_opts o = {.layer = true};
	membuf m;
	ld_tar_result r;
	CHECK(tar_of(u3, &o, &m, &r) == 0);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	CHECK(archive_read_open_memory(a, m.p, m.n) == ARCHIVE_OK);
	struct archive_entry *ent;
	int seen = 0, n = 0;
	while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(ent);
		seen += !strcmp(p, "etc/.wh.group") || !strcmp(p, "opt/a/.wh..wh..opq");
		n++;
	}
	archive_read_free(a);
	free(m.p);
	close(u3);
	CHECK(seen == 2 && n == 5); /* etc/ opt/ opt/a/ and the two markers */
}

/* The same tree gives the same digest; with clamping, an mtime changed past
 * the epoch too; without, it does not. The uncompressed tar's digest is the
 * compressed run's diffID. */
static void test_reproducible(void)
{
	ld_tar_opts o = {.layer = true, .compression = 1, .clamp = true, .epoch = 1000};
	membuf m1, m2, m3;
	ld_tar_result r1, r2, r3, plain;
	CHECK(tar_of(upper, &o, &m1, &r1) == 0);
	CHECK(tar_of(upper, &o, &m2, &r2) == 0);
	CHECK(!strcmp(r1.digest.s, r2.digest.s));
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) + 5}};
	CHECK(utimensat(upper, "etc/passwd", ts, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(tar_of(upper, &o, &m3, &r3) == 0);
	CHECK(!strcmp(r1.digest.s, r3.digest.s));
	ld_tar_opts raw = {.layer = true, .clamp = true, .epoch = 1000};
	membuf m4;
	CHECK(tar_of(upper, &raw, &m4, &plain) == 0);
	CHECK(!strcmp(plain.diff_id.s, r1.diff_id.s) && !strcmp(plain.digest.s, plain.diff_id.s));
	ld_tar_opts noclamp = {.layer = true};
	membuf m5, m6;
	ld_tar_result r5, r6;
	CHECK(tar_of(upper, &noclamp, &m5, &r5) == 0);
	ts[1].tv_sec += 10;
	CHECK(utimensat(upper, "etc/passwd", ts, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(tar_of(upper, &noclamp, &m6, &r6) == 0);
	CHECK(strcmp(r5.digest.s, r6.digest.s) != 0);
	ld_tar_opts zst = {.layer = true, .compression = 2, .clamp = true, .epoch = 1000};
	membuf m7;
	ld_tar_result r7;
	CHECK(tar_of(upper, &zst, &m7, &r7) == 0);
	CHECK(!strcmp(r7.diff_id.s, r1.diff_id.s) && strcmp(r7.digest.s, r1.digest.s));
	CHECK(m7.n >= 4 && !memcmp(m7.p, "\x28\xb5\x2f\xfd", 4)); /* zstd magic */
	free(m1.p);
	free(m2.p);
	free(m3.p);
	free(m4.p);
	free(m5.p);
	free(m6.p);
	free(m7.p);
}

/* depth dirs "d/d/d/..." under a new directory `name` of the base. */
static int nest(const char *name, int depth)
{
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkd(b, name);
	int root = open_in(b, name), cur = dup(root);
	close(b);
	for (int i = 0; i < depth; i++) {
		mkd(cur, "d");
		int next = open_in(cur, "d");
		close(cur);
		cur = next;
	}
	mkfile(cur, "leaf", "x");
	close(cur);
	return root;
}

static void test_depth_limit(void)
{
	int ok = nest("deep-ok", LD_MAX_DEPTH), bad = nest("deep-bad", LD_MAX_DEPTH + 1);
	ld_changes c;
	berr e;
	CHECK(ld_changes_of(ok, NULL, 0, NULL, &c, &e) == 0);
	CHECK(c.n == LD_MAX_DEPTH + 1);
	ld_changes_free(&c);
	/* the tree over itself: paths longer than PATH_MAX looked up below */
	int r = ld_changes_of(ok, &ok, 1, NULL, &c, &e);
	if (r < 0)
		fprintf(stderr, "deep over itself: %s\n", e.msg);
	CHECK(r == 0);
	CHECK(c.n == LD_MAX_DEPTH + 1);
	for (size_t i = 0; i < c.n; i++)
		CHECK(c.v[i].kind == 'C');
	ld_changes_free(&c);
	CHECK(ld_changes_of(bad, NULL, 0, NULL, &c, &e) < 0);
	CHECK(e.errnum == ELOOP);
	CHECK_CONTAINS(e.msg, "deeper than 4096");
	close(ok);
	close(bad);
}

static void teardown(void)
{
	close(upper);
	close(lowers[0]);
	close(lowers[1]);
	int b = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	berr e;
	fs_rm_rf_at(b, base + 5, &e);
	close(b);
}

static bool ready;

static void test_setup(void)
{
	ready = setup();
}

#define NEEDS_SETUP(fn)                                                                            \
	static void fn##_run(void)                                                                 \
	{                                                                                          \
		if (ready)                                                                         \
			fn();                                                                      \
	}
NEEDS_SETUP(test_changes)
NEEDS_SETUP(test_changes_stubs)
NEEDS_SETUP(test_changes_no_lowers)
NEEDS_SETUP(test_fuse_whiteouts)
NEEDS_SETUP(test_layer_tar)
NEEDS_SETUP(test_entry_tar)
NEEDS_SETUP(test_reproducible)
NEEDS_SETUP(test_depth_limit)
NEEDS_SETUP(teardown)

CHECK_MAIN(test_setup, test_changes_run, test_changes_stubs_run, test_fuse_whiteouts_run,
	   test_changes_no_lowers_run, test_layer_tar_run, test_entry_tar_run,
	   test_reproducible_run, test_depth_limit_run, teardown_run)
