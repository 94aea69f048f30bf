/* berth system check [--repair]: verify the image store (repairing may
 * unpack layers again, hence here with libarchive) and the container
 * store's leftovers; berth system prune. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "build/build.h"
#include "engine/engine.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

/* berth system prune: dangling images, then every blob and layer no image
 * references, and tmp/. */
static int system_prune(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "system prune",
	    "[OPTIONS]",
	    "Remove unused data",
	    "Dangling images, then every blob and layer no image references, and the store's tmp/.",
	    "berth system prune",
	    CLI_ARGS_NONE};
	bool force = false;
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation (berth never does)"},
	    {0}};
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	char **images = NULL, **log = NULL;
	if (!s || image_prune(s, &images, &e) < 0 || store_prune(s, &log, &e) < 0) {
		strv_free(images);
		strv_free(log);
		return cli_fail(125, &e);
	}
	if (images)
		printf("Deleted Images:\n");
	for (size_t i = 0; images && images[i]; i++)
		printf("%s\n", images[i]);
	for (size_t i = 0; log && log[i]; i++)
		printf("%s\n", log[i]);
	strv_free(images);
	strv_free(log);
	return 0;
}

static int system_check(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "system check",
	    "[OPTIONS]",
	    "Verify the image store and the container store",
	    "Lists problems and the garbage a kill -9 may leave; exit status 1 when the store is "
	    "not consistent.",
	    "berth system check\nberth system check --repair",
	    CLI_ARGS_NONE};
	bool repair = false;
	const flag_def defs[] = {
	    {"repair", 0, FLAG_BOOL, &repair, "Repair what can be repaired, remove the garbage"},
	    {0}};
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	store_report r;
	if (!s || store_check(s, repair, &r, &e) < 0)
		return cli_fail(125, &e);
	eng *g = eng_open(c->root, c->run_root, &e);
	if (!g || eng_check(g, repair, &r.garbage, &r.repaired, &e) < 0 ||
	    build_check(g, c->root, repair, &r.garbage, &r.repaired, &e) < 0) {
		eng_close(g);
		store_report_free(&r);
		return cli_fail(125, &e);
	}
	eng_close(g);
	for (size_t i = 0; r.problems && r.problems[i]; i++)
		printf("problem: %s\n", r.problems[i]);
	for (size_t i = 0; r.garbage && r.garbage[i]; i++)
		printf("garbage: %s\n", r.garbage[i]);
	for (size_t i = 0; r.repaired && r.repaired[i]; i++)
		printf("repaired: %s\n", r.repaired[i]);
	bool ok = strv_len(r.problems) == 0 || repair;
	printf("%s\n",
	       ok ? (strv_len(r.problems) ? "store repaired: consistent" : "store is consistent")
		  : "store is NOT consistent: run berth system check --repair");
	store_report_free(&r);
	return ok ? 0 : 1;
}

/* The Docker API server is its own binary (only it links libmicrohttpd):
 * berth-service next to this one gets the whole command line. */
static int system_service(cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	_cleanup_free_ char *dir = cli_self_dir();
	_cleanup_free_ char *path = xasprintf("%s/berth-service", dir);
	fflush(NULL);
	execv(path, c->argv);
	return cli_failf(125, "exec %s: %s (it is installed next to berth)", path, strerror(errno));
}

int cmd_system(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {{"check", system_check, "Verify (or --repair) the stores"},
				       {"prune", system_prune, "Remove unused data"},
				       {"service", system_service, "Serve the Docker Engine API"}};
	static const cli_doc doc = {"system",
				    "COMMAND",
				    "Manage berth's stores",
				    NULL,
				    "berth system check --repair\nberth system prune",
				    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
