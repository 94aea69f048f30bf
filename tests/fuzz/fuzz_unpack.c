/* The layer unpacker fed from memory: the input is a layer blob (a tar,
 * compressed or not) in a memfd, unpacked into a fresh directory with
 * unpack_layer, and decompressed alone with unpack_decompress. Whatever the
 * tar holds (absolute names, `..`, symlinked parents, hard links out, devices,
 * whiteouts), nothing may appear outside the layer directory: the harness
 * checks the two directories above it hold only the way down to it. */
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "image/unpack.h"
#include "util/cleanup.h"

static int scratch_fd = -1; /* <scratch>: holds only "above" */
static int above_fd = -1;   /* <scratch>/above: holds only "layer" */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_scratch("unpack");
	scratch_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (scratch_fd < 0 || mkdirat(scratch_fd, "above", 0700) < 0)
		fuzz_die("mkdir above", NULL);
	above_fd = openat(scratch_fd, "above", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (above_fd < 0)
		fuzz_die("open above", NULL);
	return 0;
}

/* The names in dirfd other than . and .. must be exactly `only` (or none). */
static void expect_only(int dirfd, const char *only, const char *where)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		fuzz_die("opendir", NULL);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    (!only || strcmp(de->d_name, only))) {
			fprintf(stderr, "fuzz_unpack: %s written outside the layer in %s\n",
				de->d_name, where);
			abort();
		}
	closedir(d);
}

static int memfd_of(const uint8_t *data, size_t size)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || fs_write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		fuzz_die("memfd", NULL);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berr e = {0};
	_cleanup_close_ int in = memfd_of(data, size);
	if (mkdirat(above_fd, "layer", 0755) < 0)
		fuzz_die("mkdir layer", NULL);
	_cleanup_close_ int layer = openat(above_fd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (layer < 0)
		fuzz_die("open layer", NULL);
	dg_str diff_id;
	if (unpack_layer(in, layer, &diff_id, &e) < 0 && !e.msg[0])
		fuzz_die("unpack_layer failed without a message", &e);
	expect_only(above_fd, "layer", "the layer's parent");
	expect_only(scratch_fd, "above", "the layer's grandparent");
	/* where the seeds' symlinked parents (evil -> /, up -> ../../..) aim */
	static const char *const escapes[] = {"/berth-fuzz-escape", "/etc/berth-fuzz-escape",
					      "/tmp/berth-fuzz-escape"};
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
		if (faccessat(AT_FDCWD, escapes[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			fprintf(stderr, "fuzz_unpack: %s written on the host\n", escapes[i]);
			abort();
		}
	if (fs_rm_rf_at(above_fd, "layer", &e) < 0)
		fuzz_die("rm -rf layer", &e);
	expect_only(above_fd, NULL, "the layer's parent");

	_cleanup_close_ int in2 = memfd_of(data, size);
	dg_str dg;
	unsigned long long n = 0;
	if (unpack_decompress(in2, -1, &dg, &n, &e) < 0 && !e.msg[0])
		fuzz_die("unpack_decompress failed without a message", &e);
	return 0;
}
