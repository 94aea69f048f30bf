/* berth commit (a container's changes as a new image) and berth export (a
 * container's filesystem as a tar): here since they write tars (libarchive). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "image/image_commit.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

static const char *jpath(json_object *o, const char *a, const char *b)
{
	json_object *v;
	if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The container's record (doc, id), after the lookup of ref. */
static int load_ctr(eng *g, const char *ref, char id[65], json_object **doc, berr *e)
{
	if (eng_lookup(g, ref, id, e) < 0 || !(*doc = eng_load(g, id, e)))
		return -1;
	if (!jpath(*doc, "GraphDriver", "UpperDir") || !jpath(*doc, "GraphDriver", "LowerDir")) {
		json_object_put(*doc);
		*doc = NULL;
		return berr_set(e, EINVAL, "container %s has no filesystem layer (a VM container)",
				ref);
	}
	return 0;
}

/* linux.uidMappings / gidMappings of the container's bundle (none: no user
 * namespace of its own); *v malloc'ed. */
static int ctr_maps(eng *g, const char *id, const char *key, ld_idmap **v, size_t *n, berr *e)
{
	*v = NULL;
	*n = 0;
	_cleanup_free_ char *path = eng_path(g, id, "config.json");
	json_object *cfg = json_object_from_file(path), *lx, *m;
	if (!cfg)
		return berr_set(e, EINVAL, "read %s: %s", path, json_util_get_last_err());
	if (json_object_object_get_ex(cfg, "linux", &lx) &&
	    json_object_object_get_ex(lx, key, &m) && json_object_is_type(m, json_type_array)) {
		size_t k = json_object_array_length(m);
		*v = xzalloc(sizeof(ld_idmap) * (k ? k : 1));
		for (size_t i = 0; i < k; i++) {
			json_object *r = json_object_array_get_idx(m, i), *x;
			unsigned *f[3] = {&(*v)[i].container, &(*v)[i].host, &(*v)[i].size};
			const char *names[3] = {"containerID", "hostID", "size"};
			for (int j = 0; j < 3; j++)
				if (json_object_object_get_ex(r, names[j], &x))
					*f[j] = (unsigned)json_object_get_int64(x);
		}
		*n = k;
	}
	json_object_put(cfg);
	return 0;
}

/* "Path Args..." as Docker's history shows what made a committed layer. */
static char *command_line(json_object *doc)
{
	const char *path = jpath(doc, "Path", NULL);
	char *r = xstrdup(path ? path : "");
	json_object *args;
	if (json_object_object_get_ex(doc, "Args", &args) &&
	    json_object_is_type(args, json_type_array))
		for (size_t i = 0; i < json_object_array_length(args); i++) {
			char *n = xasprintf(
			    "%s %s", r, json_object_get_string(json_object_array_get_idx(args, i)));
			free(r);
			r = n;
		}
	return r;
}

static int do_commit(cli *c, eng *g, const char *ref, img_commit_opts *o, bool pause, berr *e)
{
	char id[65];
	json_object *doc = NULL;
	if (load_ctr(g, ref, id, &doc, e) < 0)
		return -1;
	int ret = -1;
	bool paused = false;
	_cleanup_free_ char *by = command_line(doc);
	_cleanup_store_ img_store *s = NULL;
	const char *status = eng_reconcile(g, id, doc);
	const char *image = jpath(doc, "Image", NULL);
	_cleanup_close_ int upper =
	    open(jpath(doc, "GraphDriver", "UpperDir"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (upper < 0) {
		berr_sys(e, "container %s: open its upper directory", ref);
		goto out;
	}
	if (!image) {
		berr_set(e, EINVAL, "container %s: no image recorded", ref);
		goto out;
	}
	if (!(s = store_open(c->root, e)))
		goto out;
	if (pause && !strcmp(status, "running")) {
		if (rt_pause(&g->rt, id, true, e) < 0)
			goto out;
		paused = true;
	}
	ld_idmap *um = NULL, *gm = NULL;
	if (ctr_maps(g, id, "uidMappings", &um, &o->n_uids, e) < 0 ||
	    ctr_maps(g, id, "gidMappings", &gm, &o->n_gids, e) < 0) {
		free(um);
		goto out;
	}
	o->uids = um;
	o->gids = gm;
	o->parent = image;
	o->upper = upper;
	o->created_by = by;
	dg_str nid;
	int r = image_commit_layer(s, o, &nid, e);
	free(um);
	free(gm);
	if (r < 0)
		goto out;
	printf("%s\n", nid.s);
	ret = 0;
out:
	if (paused) {
		berr ue;
		if (rt_pause(&g->rt, id, false, &ue) < 0)
			fprintf(stderr, "berth: warning: unpause %s: %s\n", ref, ue.msg);
	}
	json_object_put(doc);
	return ret;
}

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
	rc = !g || do_commit(c, g, argv[i], &o, pause, &e) < 0 ? cli_fail(125, &e) : 0;
	eng_close(g);
	strv_free(changes);
	return rc;
}

static int export_to(eng *g, const char *ref, int out, berr *e)
{
	char id[65];
	json_object *doc = NULL;
	if (load_ctr(g, ref, id, &doc, e) < 0)
		return -1;
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	_cleanup_free_ char *cdir = eng_path(g, id, ".");
	struct stat a, b;
	bool was_mounted = stat(rootfs, &a) == 0 && stat(cdir, &b) == 0 && a.st_dev != b.st_dev;
	int ret = -1;
	ld_idmap *um = NULL, *gm = NULL;
	ld_tar_opts t = {.one_filesystem = true};
	if (ctr_maps(g, id, "uidMappings", &um, &t.n_uids, e) < 0 ||
	    ctr_maps(g, id, "gidMappings", &gm, &t.n_gids, e) < 0 ||
	    eng_mount_rootfs(g, id, doc, e) < 0)
		goto out;
	t.uids = um;
	t.gids = gm;
	int rfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		berr_sys(e, "open %s", rootfs);
	} else {
		ld_sink sink = {.write = ld_sink_fd, .ctx = &out};
		ret = ld_tar(rfd, &t, &sink, NULL, e);
		close(rfd);
	}
	if (!was_mounted && umount2(rootfs, MNT_DETACH) < 0 && ret == 0)
		ret = berr_sys(e, "unmount %s", rootfs);
out:
	free(um);
	free(gm);
	json_object_put(doc);
	return ret;
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
