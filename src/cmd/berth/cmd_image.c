/* Image commands: images, inspect, tag, rmi, image prune, and the `image
 * SUBCOMMAND` aliases. The transfer commands (pull, push, login, logout,
 * import, load, save) and system check are in berth-xfer (src/cmd/berth-xfer). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "image/image.h"
#include "template.h"
#include "util/flags.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int usage_fail(const char *cmd, const char *usage)
{
	return cli_failf(125, "\"%s\" requires arguments: usage: berth %s", cmd, usage);
}

static void print_lines(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		printf("%s\n", v[i]);
}

/* ---- images ---- */

static void human_size(long long n, char *buf, size_t sz)
{
	const char *u[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t i = 0;
	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, sz, i ? "%.3g%s" : "%.0f%s", v, u[i]);
}

static void human_age(const char *created, char *buf, size_t sz)
{
	struct tm tm = {0};
	if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, sz, "N/A");
		return;
	}
	long long d = (long long)time(NULL) - (long long)timegm(&tm);
	if (d < 60)
		snprintf(buf, sz, "%s",
			 d < 2 ? "Less than a second ago" : "Less than a minute ago");
	else if (d < 3600)
		snprintf(buf, sz, "%lld minute%s ago", d / 60, d / 60 == 1 ? "" : "s");
	else if (d < 86400 * 2)
		snprintf(buf, sz, "%lld hour%s ago", d / 3600, d / 3600 == 1 ? "" : "s");
	else if (d < 86400 * 14)
		snprintf(buf, sz, "%lld days ago", d / 86400);
	else if (d < 86400 * 60)
		snprintf(buf, sz, "%lld weeks ago", d / 86400 / 7);
	else if (d < 86400 * 730)
		snprintf(buf, sz, "%lld months ago", d / 86400 / 30);
	else
		snprintf(buf, sz, "%lld years ago", d / 86400 / 365);
}

static void split_name(const char *full, char **repo, char **tag)
{
	_cleanup_free_ char *f = ref_familiar(full);
	char *colon = strrchr(f, ':');
	if (colon && !strchr(colon, '/')) {
		*repo = xstrndup(f, (size_t)(colon - f));
		*tag = xstrdup(colon + 1);
	} else {
		*repo = xstrdup(f);
		*tag = xstrdup("<none>");
	}
}

int cmd_images(cli *c, int argc, char **argv)
{
	bool quiet = false, json = false;
	static const struct option opts[] = {{"all", no_argument, 0, 'a'},
					     {"quiet", no_argument, 0, 'q'},
					     {"format", required_argument, 0, 'f'},
					     {0, 0, 0, 0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "aqf:", opts, NULL)) != -1) {
		if (o == 'q')
			quiet = true;
		else if (o == 'f') {
			if (strcmp(optarg, "json"))
				return cli_failf(125,
						 "images: --format: only \"json\" is supported");
			json = true;
		} else if (o != 'a')
			return 125;
	}
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	img_index x;
	if (!s || index_load(s, &x, &e) < 0)
		return cli_fail(125, &e);
	json_object *arr = json ? json_object_new_array() : NULL;
	if (!quiet && !json)
		printf("%-40s %-12s %-14s %-20s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED",
		       "SIZE");
	for (size_t i = x.n; i-- > 0;) {
		const img_rec *r = &x.v[i];
		char id[13], size[32], age[64];
		snprintf(id, sizeof(id), "%.12s", dg_hex(r->id.s));
		if (quiet) {
			printf("%s\n", id);
			continue;
		}
		human_size(r->size, size, sizeof(size));
		human_age(r->created, age, sizeof(age));
		if (json) {
			json_object *o2 = json_object_new_object(),
				    *names = json_object_new_array();
			json_object_object_add(o2, "Id", json_object_new_string(r->id.s));
			for (size_t k = 0; r->names && r->names[k]; k++)
				json_object_array_add(names, json_object_new_string(r->names[k]));
			json_object_object_add(o2, "Names", names);
			json_object_object_add(o2, "Digest", json_object_new_string(r->manifest.s));
			json_object_object_add(
			    o2, "Created", json_object_new_string(r->created ? r->created : ""));
			json_object_object_add(o2, "Size", json_object_new_int64(r->size));
			json_object_object_add(
			    o2, "Dangling",
			    json_object_new_boolean(strv_len(r->names) == 0 &&
						    strv_len(r->repo_digests) == 0));
			json_object_array_add(arr, o2);
			continue;
		}
		if (strv_len(r->names) == 0) {
			/* pulled by digest: the repository is known, the tag is not */
			_cleanup_free_ char *repo =
			    r->repo_digests ? ref_familiar(r->repo_digests[0]) : xstrdup("<none>");
			if (strchr(repo, '@'))
				*strchr(repo, '@') = '\0';
			printf("%-40s %-12s %-14s %-20s %s\n", repo, "<none>", id, age, size);
		}
		for (size_t k = 0; r->names && r->names[k]; k++) {
			_cleanup_free_ char *repo = NULL, *tag = NULL;
			split_name(r->names[k], &repo, &tag);
			printf("%-40s %-12s %-14s %-20s %s\n", repo, tag, id, age, size);
		}
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(
				   arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	}
	index_free(&x);
	return 0;
}

/* ---- inspect ---- */

int cmd_inspect(cli *c, int argc, char **argv)
{
	const char *type = NULL, *format = NULL;
	const flag_def defs[] = {
	    {"type", 0, FLAG_STRING, &type}, {"format", 'f', FLAG_STRING, &format}, {0}};
	berr e;
	int first = flags_parse(defs, argc, argv, 1, &e);
	if (first < 0)
		return cli_fail(125, &e);
	if (argc <= first)
		return usage_fail("inspect", "inspect [--format TEMPLATE] IMAGE [IMAGE...]");
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	json_object *arr = json_object_new_array();
	int status = 0;
	for (int i = first; i < argc; i++) {
		json_object *o = image_inspect(s, argv[i], &e);
		if (!o) {
			status = cli_fail(125, &e);
			continue;
		}
		json_object_array_add(arr, o);
	}
	if (format) {
		for (size_t k = 0; k < json_object_array_length(arr); k++) {
			if (tmpl_render(format, json_object_array_get_idx(arr, k), stdout, &e) <
			    0) {
				status = cli_fail(125, &e);
				break;
			}
			putchar('\n');
		}
	} else {
		printf("%s\n", json_object_to_json_string_ext(
				   arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(arr);
	return status;
}

/* ---- tag / rmi / prune ---- */

int cmd_tag(cli *c, int argc, char **argv)
{
	if (argc != 3)
		return usage_fail("tag", "tag SOURCE_IMAGE TARGET_IMAGE[:TAG]");
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s || image_tag(s, argv[1], argv[2], &e) < 0)
		return cli_fail(125, &e);
	return 0;
}

int cmd_rmi(cli *c, int argc, char **argv)
{
	bool force = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
			force = true;
		else
			return cli_failf(125, "rmi: unknown flag: %s", argv[i]);
	}
	if (i >= argc)
		return usage_fail("rmi", "rmi [-f] IMAGE [IMAGE...]");
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	int status = 0;
	for (; i < argc; i++) {
		char **out = NULL;
		if (image_remove(s, argv[i], force, &out, &e) < 0)
			status = cli_fail(125, &e);
		print_lines(out);
		strv_free(out);
	}
	return status;
}

static int cmd_image_prune(cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	char **out = NULL;
	if (!s || image_prune(s, &out, &e) < 0)
		return cli_fail(125, &e);
	if (out) {
		printf("Deleted Images:\n");
		print_lines(out);
	}
	strv_free(out);
	return 0;
}

/* ---- image SUBCOMMAND ---- */

int cmd_image(cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		cli_cmd_fn fn;
	} subs[] = {
	    {"ls", cmd_images},	      {"list", cmd_images},	  {"rm", cmd_rmi},
	    {"inspect", cmd_inspect}, {"prune", cmd_image_prune}, {"tag", cmd_tag},
	    {"pull", cli_xfer},	      {"push", cli_xfer},	  {"load", cli_xfer},
	    {"save", cli_xfer},	      {"import", cli_xfer},
	};
	if (argc < 2)
		return cli_failf(125, "usage: berth image ls|rm|inspect|prune|tag|pull|push|load|"
				      "save|import");
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(c, argc - 1, argv + 1);
	return cli_failf(125, "image: unknown command \"%s\"", argv[1]);
}
