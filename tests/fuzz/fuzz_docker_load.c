/* docker-archive manifest.json (`berth load`): the input is manifest.json in
 * an unpacked archive directory that also holds a valid one-layer image
 * (config.json, layer.tar), a nested directory and a symlink out of it
 * (escape -> /etc/passwd, ../.. ); image_load reads it into a store of its
 * own, made afresh for every input. Paths the manifest names are resolved
 * inside the directory: nothing of the host may become a blob. */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/store.h"
#include "util/cleanup.h"

static char dir[4200], store[4200];
static int dir_fd = -1;

/* A one-file ustar archive (what `tar cf` writes for "hello" = "hi\n"). */
static size_t make_tar(uint8_t *t, size_t cap)
{
	memset(t, 0, cap);
	strcpy((char *)t, "hello");
	memcpy(t + 100, "0000644", 8);
	memcpy(t + 108, "0000000", 8);
	memcpy(t + 116, "0000000", 8);
	memcpy(t + 124, "00000000003", 12);
	memcpy(t + 136, "00000000000", 12);
	t[156] = '0';
	memcpy(t + 257, "ustar", 6);
	memcpy(t + 263, "00", 2);
	memset(t + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += t[i];
	snprintf((char *)t + 148, 8, "%06o", sum);
	memcpy(t + 512, "hi\n", 3);
	return 512 * 4; /* header, data block, two zero blocks */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *base = fuzz_scratch("load");
	snprintf(dir, sizeof(dir), "%s/archive", base);
	snprintf(store, sizeof(store), "%s/store", base);
	berr e;
	if (mkdir(dir, 0700) < 0 || (dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		fuzz_die("mkdir archive", NULL);
	uint8_t tar[2048];
	size_t n = make_tar(tar, sizeof(tar));
	dg_str diff = dg_of_buf(tar, n);
	_cleanup_free_ char *cfg =
	    xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
		      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		      diff.s);
	if (fs_write_atomic_at(dir_fd, "config.json", cfg, strlen(cfg), 0644, false, &e) < 0 ||
	    fs_write_atomic_at(dir_fd, "layer.tar", tar, n, 0644, false, &e) < 0 ||
	    mkdirat(dir_fd, "sub", 0755) < 0 || symlinkat("/etc/passwd", dir_fd, "escape") < 0 ||
	    symlinkat("../..", dir_fd, "sub/up") < 0)
		fuzz_die("write archive", &e);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berr e = {0};
	if (fs_write_atomic_at(dir_fd, "manifest.json", data, size, 0644, false, &e) < 0)
		fuzz_die("write manifest.json", &e);
	if (fs_rm_rf_at(AT_FDCWD, store, &e) < 0)
		fuzz_die("rm -rf store", &e);
	img_store *s = store_open(store, &e);
	if (!s)
		fuzz_die("store_open", &e);
	char **out = NULL;
	if (image_load(s, -1, dir, &out, &e) < 0 && !e.msg[0])
		fuzz_die("image_load failed without a message", &e);
	strv_free(out);
	/* The host's /etc/passwd must not have become a blob. */
	_cleanup_free_ char *passwd = NULL;
	size_t plen = 0;
	if (fs_read_file_at(AT_FDCWD, "/etc/passwd", &passwd, &plen, &e) == 0) {
		dg_str pd = dg_of_buf(passwd, plen);
		_cleanup_free_ char *blob =
		    xasprintf("%s/image/blobs/sha256/%s", store, dg_hex(pd.s));
		if (access(blob, F_OK) == 0)
			fuzz_die("a file outside the archive was loaded as a blob", NULL);
	}
	store_close(s);
	return 0;
}
