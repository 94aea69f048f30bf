/* berth builder prune [-a] [-f]: the build cache (src/lib/build/build.h). */
#include <stdio.h>

#include "build/build.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

static int builder_prune(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "builder prune",
	    "[OPTIONS]",
	    "Remove the build cache",
	    "The step images of builds that no name needs (not those a container uses), the cache "
	    "entries whose image went (-a: all of them), the RUN --mount=type=cache directories "
	    "no step uses, then the blobs no image references.",
	    "berth builder prune\nberth builder prune -af",
	    CLI_ARGS_NONE};
	bool all = false, force = false;
	const flag_def defs[] = {
	    {"all", 'a', FLAG_BOOL, &all, "Remove every cache entry, also those of named images"},
	    {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation (berth never does)"},
	    {0}};
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	if (first != argc)
		return cli_failf(125, "\"builder prune\" accepts no arguments");
	berr e;
	char **out = NULL;
	int r = build_prune(c->root, all, &out, &e);
	for (size_t i = 0; out && out[i]; i++)
		printf("%s\n", out[i]);
	strv_free(out);
	return r < 0 ? cli_fail(125, &e) : 0;
}

int cmd_builder(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {{"prune", builder_prune, "Remove the build cache"}};
	static const cli_doc doc = {
	    "builder",	  "COMMAND", "Manage the build cache", NULL, "berth builder prune -a",
	    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
