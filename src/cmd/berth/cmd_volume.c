/* berth volume create|ls|inspect|rm|prune, as Docker's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctr.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

static int vol_create(cli *c, eng *g, int argc, char **argv)
{
	(void)c;
	if (argc > 2)
		return cli_failf(125, "usage: berth volume create [NAME]");
	berr e;
	char *name;
	bool created;
	if (eng_volume_get(g, argc == 2 ? argv[1] : NULL, -1, &name, &created, &e) < 0)
		return cli_fail(125, &e);
	printf("%s\n", name);
	free(name);
	return 0;
}

static int vol_ls(cli *c, eng *g, int argc, char **argv)
{
	(void)c;
	bool quiet = false;
	const flag_def defs[] = {{"quiet", 'q', FLAG_BOOL, &quiet}, {0}};
	berr e;
	if (flags_parse(defs, argc, argv, 1, &e) < 0)
		return cli_fail(125, &e);
	char **names = eng_volume_list(g);
	if (!quiet)
		printf("%-10s %s\n", "DRIVER", "VOLUME NAME");
	for (char **n = names; *n; n++)
		quiet ? printf("%s\n", *n) : printf("%-10s %s\n", "local", *n);
	strv_free(names);
	return 0;
}

static int vol_inspect(cli *c, eng *g, int argc, char **argv)
{
	(void)c;
	const char *format = NULL;
	const flag_def defs[] = {{"format", 'f', FLAG_STRING, &format}, {0}};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return cli_fail(125, &e);
	if (i >= argc)
		return cli_failf(125, "\"volume inspect\" requires at least 1 argument");
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
	for (size_t k = 0; format && k < json_object_array_length(arr); k++) {
		if (tmpl_render(format, json_object_array_get_idx(arr, k), stdout, &e) < 0) {
			rc = cli_fail(125, &e);
			break;
		}
		putchar('\n');
	}
	if (!format)
		printf("%s\n", json_object_to_json_string_ext(
				   arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return rc;
}

static int vol_rm(cli *c, eng *g, int argc, char **argv)
{
	(void)c;
	bool force = false;
	const flag_def defs[] = {{"force", 'f', FLAG_BOOL, &force}, {0}};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return cli_fail(125, &e);
	if (i >= argc)
		return cli_failf(125, "\"volume rm\" requires at least 1 argument");
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
static int vol_prune(cli *c, eng *g, int argc, char **argv)
{
	(void)c;
	bool all = false, force = false;
	const flag_def defs[] = {
	    {"all", 'a', FLAG_BOOL, &all}, {"force", 'f', FLAG_BOOL, &force}, {0}};
	berr e;
	if (flags_parse(defs, argc, argv, 1, &e) < 0)
		return cli_fail(125, &e);
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
	static const struct {
		const char *name;
		int (*fn)(cli *, eng *, int, char **);
	} subs[] = {{"create", vol_create},   {"ls", vol_ls}, {"list", vol_ls},
		    {"inspect", vol_inspect}, {"rm", vol_rm}, {"remove", vol_rm},
		    {"prune", vol_prune}};
	if (argc < 2)
		return cli_failf(125, "usage: berth volume create|ls|inspect|rm|prune");
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (!strcmp(argv[1], subs[i].name)) {
			berr e;
			eng *g = ctr_open(c, &e);
			if (!g)
				return cli_fail(125, &e);
			int rc = subs[i].fn(c, g, argc - 1, argv + 1);
			eng_close(g);
			return rc;
		}
	return cli_failf(125, "volume: unknown command \"%s\"", argv[1]);
}
