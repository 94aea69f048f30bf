/* Archive commands of berth-xfer: import (a root filesystem tar as a
 * one-layer image), load (docker-archive, oci-archive, OCI layout) and save.
 * libarchive is linked here only (see xfer.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "engine/pod.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

static int usage_fail(const char *cmd, const char *usage)
{
	return cli_failf(125, "\"%s\" requires arguments: usage: berth %s", cmd, usage);
}

int xfer_max_layer_size(const char *arg, unsigned long long *max)
{
	if (store_parse_size(arg, max) < 0)
		return cli_failf(125,
				 "--max-layer-size: invalid size \"%s\" (bytes, or with a k/m/g/t "
				 "suffix; 0 for no limit)",
				 arg);
	return 0;
}

void xfer_warn_unpack(img_store *s)
{
	_cleanup_free_ char *w = s ? store_unpack_warning(s) : NULL;
	if (w)
		fprintf(stderr, "berth: warning: %s\n", w);
}

int cmd_import(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "import",
	    "[OPTIONS] FILE|- [REPOSITORY[:TAG]]",
	    "Import the contents from a tarball to create a filesystem image",
	    "FILE (or stdin for -) is a root filesystem tar; it becomes a one-layer image.",
	    "berth import rootfs.tar localhost/busybox\ncat rootfs.tar | berth import - x:1",
	    CLI_ARGS_FILES};
	unsigned long long max = 0;
	const char *max_s = NULL;
	const flag_def defs[] = {XFER_MAX_LAYER_SIZE_FLAG(&max_s), {0}};
	int rc, i = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (i < 0)
		return rc;
	if (max_s && (rc = xfer_max_layer_size(max_s, &max)) != 0)
		return rc;
	bool max_set = max_s != NULL;
	argc -= i - 1;
	argv += i - 1;
	if (argc < 2 || argc > 3)
		return usage_fail("import",
				  "import [--max-layer-size SIZE] FILE|- [REPOSITORY[:TAG]]");
	_cleanup_close_ int fd = -1;
	if (strcmp(argv[1], "-")) {
		fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_failf(125, "open %s: %s", argv[1], strerror(errno));
	}
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (s && max_set)
		store_set_max_layer_size(s, max);
	dg_str id;
	if (!s)
		return cli_fail(125, &e);
	if (image_import(s, fd >= 0 ? fd : 0, argc == 3 ? argv[2] : NULL, &id, &e) < 0) {
		berr_ctx(&e, "import %s", fd >= 0 ? argv[1] : "from stdin");
		return cli_fail(125, &e);
	}
	xfer_warn_unpack(s);
	printf("%s\n", id.s);
	return 0;
}

/* `berth pod create` runs this when the infra image is missing (pod.h). */
int cmd_pause_image(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"pause-image",
				    "PAUSE_BINARY [REPOSITORY[:TAG]]",
				    "Make the image of pods' infra containers",
				    "The static berth-pause program as /pause in a one-layer image "
				    "(default name " ENG_PAUSE_IMAGE
				    "). `berth pod create` makes it on first use.",
				    "berth-xfer pause-image /usr/local/bin/berth-pause",
				    CLI_ARGS_FILES};
	int rc, i = cli_flags(c, &doc, NULL, argc, argv, &rc);
	if (i < 0)
		return rc;
	if (argc - i < 1 || argc - i > 2)
		return usage_fail("pause-image", "pause-image PAUSE_BINARY [REPOSITORY[:TAG]]");
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	dg_str id;
	if (image_make_pause(s, argc - i == 2 ? argv[i + 1] : ENG_PAUSE_IMAGE, argv[i], &id, &e) <
	    0)
		return cli_fail(125, &e);
	return 0; /* quiet: `pod create` prints the pod's ID only */
}

int cmd_load(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "load",
	    "[OPTIONS]",
	    "Load an image from a tar archive or STDIN",
	    "A docker-archive, an oci-archive or an OCI layout directory; all or nothing.",
	    "berth load -i img.tar\nberth load < img.tar",
	    CLI_ARGS_NONE};
	const char *input = NULL, *max_s = NULL;
	bool quiet = false;
	unsigned long long max = 0;
	const flag_def defs[] = {{"input", 'i', FLAG_STRING, &input,
				  "Read from this archive file or OCI layout, not STDIN", "FILE"},
				 {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress the load output"},
				 XFER_MAX_LAYER_SIZE_FLAG(&max_s),
				 {0}};
	int rc, first = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (first < 0)
		return rc;
	if (max_s && (rc = xfer_max_layer_size(max_s, &max)) != 0)
		return rc;
	bool max_set = max_s != NULL;
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	if (max_set)
		store_set_max_layer_size(s, max);
	_cleanup_close_ int fd = -1;
	const char *dir = NULL;
	if (input) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_failf(125, "open %s: %s", input, strerror(errno));
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			dir = input;
	} else if (isatty(0)) {
		return cli_failf(125, "requested load from stdin, but stdin is a terminal");
	}
	char **out = NULL;
	if (image_load(s, dir ? -1 : (fd >= 0 ? fd : 0), dir, &out, &e) < 0) {
		strv_free(out);
		return cli_fail(125, &e);
	}
	xfer_warn_unpack(s);
	for (size_t i = 0; !quiet && out && out[i]; i++)
		printf("Loaded image%s: %s\n", strncmp(out[i], "sha256:", 7) ? "" : " ID", out[i]);
	strv_free(out);
	return 0;
}

int cmd_save(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "save",
	    "[OPTIONS] IMAGE [IMAGE...]",
	    "Save one or more images to a tar archive (streamed to STDOUT by default)",
	    NULL,
	    "berth save -o img.tar localhost/busybox\nberth save --format oci-archive IMG > x.tar",
	    CLI_ARGS_IMAGES};
	const char *output = NULL, *format = NULL;
	save_format fmt = SAVE_DOCKER_ARCHIVE;
	const flag_def defs[] = {
	    {"output", 'o', FLAG_STRING, &output, "Write to a file, instead of STDOUT", "FILE"},
	    {"format", 0, FLAG_STRING, &format, "Archive format: docker-archive or oci-archive",
	     "string", "docker-archive"},
	    {0}};
	int rc, first = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (first < 0)
		return rc;
	if (format && !strcmp(format, "oci-archive"))
		fmt = SAVE_OCI_ARCHIVE;
	else if (format && strcmp(format, "docker-archive"))
		return cli_failf(125, "save: unknown format \"%s\" (docker-archive, oci-archive)",
				 format);
	if (first >= argc)
		return usage_fail("save", "save [-o FILE] [--format FORMAT] IMAGE [IMAGE...]");
	if (!output && isatty(1))
		return cli_failf(125, "cowardly refusing to save to a terminal. Use the -o flag "
				      "or redirect");
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	_cleanup_free_ char *tmp = output ? xasprintf("%s.tmp-%d", output, (int)getpid()) : NULL;
	_cleanup_close_ int fd = -1;
	if (tmp) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return cli_failf(125, "create %s: %s", tmp, strerror(errno));
	}
	char **refs = strv_dup(argv + first);
	int r = image_save(s, refs, fd >= 0 ? fd : 1, fmt, &e);
	strv_free(refs);
	if (tmp) {
		if (r == 0 && rename(tmp, output) < 0) {
			berr_sys(&e, "rename %s", tmp);
			r = -1;
		}
		if (r < 0)
			unlink(tmp);
	}
	return r < 0 ? cli_fail(125, &e) : 0;
}
