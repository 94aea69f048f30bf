/* berth commit (a container's changes as a new image) and berth export (a
 * container's filesystem as a tar): here since they write tars (libarchive). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/commit.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "image/image_commit.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

int cmd_commit(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "commit",
	    "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
	    "Create a new image from a container's changes",
	    "The container's changes become one layer on its image; without a name the image "
	    "is dangling (<none>). A running container is paused meanwhile (--pause=false: "
	    "not). --change applies CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, "
	    "WORKDIR or STOPSIGNAL to the new image's config. Prints the new image's ID.",
	    "berth commit web web:v2\nberth commit -m 'add curl' -c 'CMD [\"curl\"]' web\n"
	    "berth commit --change 'ENV DEBUG=1' --change 'EXPOSE 8080' web web:debug",
	    CLI_ARGS_CONTAINERS};
	const char *author = NULL, *message = NULL;
	char **changes = NULL;
	bool pause = true;
	const flag_def defs[] = {
	    {"author", 'a', FLAG_STRING, &author, "Author (\"A Name <a@example.com>\")", "string"},
	    {"change", 'c', FLAG_LIST, &changes, "Apply a Dockerfile instruction to the image",
	     "list"},
	    {"message", 'm', FLAG_STRING, &message, "Commit message", "string"},
	    {"pause", 'p', FLAG_BOOL, &pause, "Pause the container during the commit", NULL,
	     "true"},
	    {0}};
	int rc, i = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (i < 0) {
		strv_free(changes);
		return rc;
	}
	if (argc - i < 1 || argc - i > 2) {
		strv_free(changes);
		return cli_failf(125, "\"commit\" requires at least 1 and at most 2 arguments: "
				      "usage: berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]");
	}
	berr e;
	eng *g = eng_open(c->root, c->run_root, &e);
	img_commit_opts o = {.name = argc - i == 2 ? argv[i + 1] : NULL,
			     .author = author,
			     .comment = message,
			     .changes = changes,
			     .compression = 1,
			     .stubs = ld_engine_stubs};
	dg_str nid;
	char *warn = NULL;
	rc = !g || eng_commit(g, argv[i], &o, pause, &nid, &warn, &e) < 0 ? cli_fail(125, &e) : 0;
	if (warn)
		fprintf(stderr, "berth: warning: %s\n", warn);
	free(warn);
	if (rc == 0)
		printf("%s\n", nid.s);
	eng_close(g);
	strv_free(changes);
	return rc;
}

static int export_to(eng *g, const char *ref, int out, berr *e)
{
	char id[65];
	json_object *doc = NULL;
	if (eng_ctr_fs_load(g, ref, id, &doc, e) < 0)
		return -1;
	json_object_put(doc);
	return eng_container_export(g, id, out, e);
}

int cmd_export(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"export",
				    "[OPTIONS] CONTAINER",
				    "Export a container's filesystem as a tar archive",
				    "The container's whole filesystem (its image and its changes), "
				    "as a plain tar, to STDOUT or --output.",
				    "berth export web > web.tar\nberth export -o web.tar web",
				    CLI_ARGS_CONTAINERS};
	const char *output = NULL;
	const flag_def defs[] = {
	    {"output", 'o', FLAG_STRING, &output, "Write to a file, instead of STDOUT", "FILE"},
	    {0}};
	int rc, i = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (i < 0)
		return rc;
	if (argc - i != 1)
		return cli_failf(125, "\"export\" requires exactly 1 argument: usage: berth export "
				      "[OPTIONS] CONTAINER");
	if (!output && isatty(1))
		return cli_failf(125, "cowardly refusing to save to a terminal. Use the -o flag "
				      "or redirect");
	berr e;
	eng *g = eng_open(c->root, c->run_root, &e);
	if (!g)
		return cli_fail(125, &e);
	_cleanup_free_ char *tmp = output ? xasprintf("%s.tmp-%d", output, (int)getpid()) : NULL;
	int fd = 1;
	if (tmp && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		eng_close(g);
		return cli_failf(125, "create %s: %s", tmp, strerror(errno));
	}
	int r = export_to(g, argv[i], fd, &e);
	if (tmp) {
		if (r == 0 && fsync(fd) < 0)
			r = berr_sys(&e, "fsync %s", tmp);
		close(fd);
		if (r == 0 && rename(tmp, output) < 0)
			r = berr_sys(&e, "rename %s", tmp);
		if (r < 0)
			unlink(tmp);
	}
	eng_close(g);
	return r < 0 ? cli_fail(125, &e) : 0;
}
