/* berth volume create|ls|inspect|rm|prune, as Docker's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctr.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

/* Each subcommand parses its flags first: --help and completion open no store. */
#define VOL_OPEN(c, g)                                                                             \
	berr e;                                                                                    \
	_cleanup_eng_ eng *g = ctr_open(c, &e);                                                    \
	if (!g)                                                                                    \
		return cli_fail(125, &e);

static int vol_create(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "volume create", "[NAME]", "Create a volume", NULL, "berth volume create data",
	    CLI_ARGS_NONE};
	int st, i = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i > 1)
		return cli_failf(125, "usage: berth volume create [NAME]");
	VOL_OPEN(c, g);
	char *name;
	bool created;
	if (eng_volume_get(g, i < argc ? argv[i] : NULL, -1, &name, &created, &e) < 0)
		return cli_fail(125, &e);
	printf("%s\n", name);
	free(name);
	return 0;
}

static int vol_ls(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"volume ls", "[OPTIONS]",	       "List volumes",
				    NULL,	 "berth volume ls -q", CLI_ARGS_NONE};
	bool quiet = false;
	const flag_def defs[] = {{"quiet", 'q', FLAG_BOOL, &quiet, "Only display volume names"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	VOL_OPEN(c, g);
	char **names = eng_volume_list(g);
	if (!quiet)
		printf("%-10s %s\n", "DRIVER", "VOLUME NAME");
	for (char **n = names; *n; n++)
		quiet ? printf("%s\n", *n) : printf("%-10s %s\n", "local", *n);
	strv_free(names);
	return 0;
}

static int vol_inspect(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"volume inspect",
				    "[OPTIONS] VOLUME [VOLUME...]",
				    "Display detailed information on one or more volumes",
				    NULL,
				    "berth volume inspect -f '{{.Mountpoint}}' data",
				    CLI_ARGS_VOLUMES};
	const char *format = NULL;
	const flag_def defs[] = {
	    {"format", 'f', FLAG_STRING, &format, "Format the output with a Go template", "string"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"volume inspect\" requires at least 1 argument");
	VOL_OPEN(c, g);
	json_object *arr = json_object_new_array();
	int rc = 0;
	for (; i < argc; i++) {
		json_object *o = eng_volume_inspect(g, argv[i], &e);
		if (!o) {
			rc = cli_fail(125, &e);
			continue;
		}
		json_object_object_del(o, "Anonymous");
		json_object_array_add(arr, o);
	}
	if (tmpl_print_array(format, arr, 0, &e) < 0)
		rc = cli_fail(125, &e);
	json_object_put(arr);
	return rc;
}

static int vol_rm(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
	    NULL,	 "berth volume rm data",	 CLI_ARGS_VOLUMES};
	bool force = false;
	const flag_def defs[] = {{"force", 'f', FLAG_BOOL, &force, "A missing volume is no error"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"volume rm\" requires at least 1 argument");
	VOL_OPEN(c, g);
	int rc = 0;
	for (; i < argc; i++) {
		if (eng_volume_remove(g, argv[i], &e) < 0) {
			/* -f: a missing volume is fine (an used one still is not) */
			if (!(force && e.errnum == ENOENT))
				rc = cli_fail(1, &e);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

/* Docker 23+: anonymous volumes no container uses; --all: every unused one. */
static int vol_prune(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"volume prune",
				    "[OPTIONS]",
				    "Remove unused anonymous volumes (--all: every unused one)",
				    NULL,
				    "berth volume prune\nberth volume prune -a",
				    CLI_ARGS_NONE};
	bool all = false, force = false;
	const flag_def defs[] = {
	    {"all", 'a', FLAG_BOOL, &all, "Remove all unused volumes, not just anonymous ones"},
	    {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation (berth never does)"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	VOL_OPEN(c, g);
	char **names = eng_volume_list(g);
	printf("Deleted Volumes:\n");
	for (char **n = names; *n; n++) {
		char id[65];
		if ((all || eng_volume_anonymous(g, *n)) && !eng_volume_user(g, *n, id) &&
		    eng_volume_remove(g, *n, &e) == 0)
			printf("%s\n", *n);
	}
	strv_free(names);
	return 0;
}

int cmd_volume(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {
	    {"create", vol_create, "Create a volume"},
	    {"ls", vol_ls, "List volumes"},
	    {"list", vol_ls, "List volumes"},
	    {"inspect", vol_inspect, "Display detailed information on volumes"},
	    {"rm", vol_rm, "Remove volumes"},
	    {"remove", vol_rm, "Remove volumes"},
	    {"prune", vol_prune, "Remove unused volumes"}};
	static const cli_doc doc = {"volume",
				    "COMMAND",
				    "Manage volumes",
				    NULL,
				    "berth volume create data\nberth volume ls",
				    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
