/* image_commit records the sizes of the blobs on disk, not the sizes a
 * manifest claims (`berth images` showed a lying 2^40 as 1.1TB). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "image/image.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char base[64];

/* A tar with one small file, in memory. */
static size_t make_tar(char *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	size_t used = 0;
	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, buf, cap, &used);
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, "hello");
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, 6);
	archive_write_header(a, ent);
	archive_write_data(a, "hello\n", 6);
	archive_entry_free(ent);
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

static void test_images_size_is_on_disk(void)
{
	strcpy(base, "/tmp/berth-unit-commit-XXXXXX");
	CHECK(mkdtemp(base));
	berr e;
	img_store *s = store_open(base, &e);
	CHECK(s);
	static char tar[64 << 10];
	size_t tlen = make_tar(tar, sizeof(tar));
	CHECK(tlen > 0);
	dg_str layer, cfgd, md;
	CHECK(store_blob_put(s, tar, tlen, NULL, &layer, &e) == 0);
	_cleanup_free_ char *cfg =
	    xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
		      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		      layer.s);
	CHECK(store_blob_put(s, cfg, strlen(cfg), NULL, &cfgd, &e) == 0);
	_cleanup_free_ char *man = xasprintf(
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
	    "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
	    "\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%lld}]}",
	    cfgd.s, strlen(cfg), layer.s, 1ll << 40);
	CHECK(store_blob_put(s, man, strlen(man), NULL, &md, &e) == 0);
	dg_str id;
	int r = image_commit(s, md.s, "localhost/lie:1", NULL, &id, &e);
	if (r < 0)
		fprintf(stderr, "image_commit: %s\n", e.msg);
	CHECK(r == 0);
	img_index x;
	CHECK(index_load(s, &x, &e) == 0);
	CHECK(x.n == 1);
	long long size = x.v[0].size, lsize = x.v[0].layers[0].size;
	index_free(&x);
	store_close(s);
	fs_rm_rf_at(AT_FDCWD, base, &e);
	CHECK(lsize == (long long)tlen);
	CHECK(size == (long long)(tlen + strlen(cfg)));
}

CHECK_MAIN(test_images_size_is_on_disk)
