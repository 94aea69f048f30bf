/* Image commands: images, inspect, tag, rmi, image prune, and the `image
 * SUBCOMMAND` aliases. The transfer commands (pull, push, login, logout,
 * import, load, save) and system check are in berth-xfer (src/cmd/berth-xfer). */
#include <errno.h>
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

void cli_human_size(long long n, char *buf, size_t sz)
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

void cli_human_age(const char *created, char *buf, size_t sz)
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
	static const cli_doc doc = {"images",
				    "[OPTIONS]",
				    "List images",
				    NULL,
				    "berth images\nberth images -q\nberth images --format json",
				    CLI_ARGS_NONE};
	bool quiet = false, all = false, json = false;
	const char *format = NULL;
	const flag_def defs[] = {
	    {"all", 'a', FLAG_BOOL, &all, "Show all images (berth has no intermediate ones)"},
	    {"quiet", 'q', FLAG_BOOL, &quiet, "Only show image IDs"},
	    {"format", 'f', FLAG_STRING, &format, "Format the output: json", "string"},
	    {0}};
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	if (format) {
		if (strcmp(format, "json"))
			return cli_failf(125, "images: --format: only \"json\" is supported");
		json = true;
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
		cli_human_size(r->size, size, sizeof(size));
		cli_human_age(r->created, age, sizeof(age));
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
	static const cli_doc doc = {"image inspect",
				    "[OPTIONS] IMAGE [IMAGE...]",
				    "Display detailed information on one or more images",
				    NULL,
				    "berth image inspect localhost/busybox",
				    CLI_ARGS_IMAGES};
	const char *type = NULL, *format = NULL;
	const flag_def defs[] = {
	    {"type", 0, FLAG_STRING, &type, "Only this type: container or image", "string"},
	    {"format", 'f', FLAG_STRING, &format, "Format the output with a Go template", "string"},
	    {0}};
	berr e;
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
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
	if (tmpl_print_array(format, arr, 0, &e) < 0)
		status = cli_fail(125, &e);
	json_object_put(arr);
	return status;
}

/* ---- tag / rmi / prune ---- */

int cmd_tag(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"tag",
				    "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
				    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
				    NULL,
				    "berth tag localhost/busybox localhost/bb:1",
				    CLI_ARGS_IMAGES};
	int st, i = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 2)
		return usage_fail("tag", "tag SOURCE_IMAGE TARGET_IMAGE[:TAG]");
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s || image_tag(s, argv[i], argv[i + 1], &e) < 0)
		return cli_fail(125, &e);
	return 0;
}

int cmd_rmi(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"rmi",
				    "[OPTIONS] IMAGE [IMAGE...]",
				    "Remove one or more images",
				    NULL,
				    "berth rmi localhost/busybox\nberth rmi -a",
				    CLI_ARGS_IMAGES};
	bool force = false, all = false;
	const flag_def defs[] = {{"force", 'f', FLAG_BOOL, &force, "Force removal of the image"},
				 {"all", 'a', FLAG_BOOL, &all, "Remove all images"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (all && i < argc)
		return cli_failf(125, "--all and images cannot be used together");
	if (!all && i >= argc)
		return usage_fail("rmi", "rmi [-f] IMAGE [IMAGE...]");
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	char **refs = NULL;
	if (all) {
		img_index x;
		if (index_load(s, &x, &e) < 0)
			return cli_fail(125, &e);
		/* each name (untagged; the last one deletes), an image without any by ID */
		for (size_t k = 0; k < x.n; k++) {
			for (size_t n = 0; x.v[k].names && x.v[k].names[n]; n++)
				strv_push(&refs, x.v[k].names[n]);
			if (!strv_len(x.v[k].names))
				strv_push(&refs, x.v[k].id.s);
		}
		index_free(&x);
	} else {
		for (; i < argc; i++)
			strv_push(&refs, argv[i]);
	}
	int status = 0;
	for (size_t k = 0; refs && refs[k]; k++) {
		char **out = NULL;
		if (image_remove(s, refs[k], force, &out, &e) < 0)
			status = cli_fail(125, &e);
		print_lines(out);
		strv_free(out);
	}
	strv_free(refs);
	return status;
}

static int cmd_image_prune(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"image prune", "[OPTIONS]",		"Remove unused images",
				    NULL,	   "berth image prune", CLI_ARGS_NONE};
	bool force = false;
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation (berth never does)"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
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
	static const cli_cmd subs[] = {
	    {"ls", cmd_images, "List images"},
	    {"list", cmd_images, "List images"},
	    {"rm", cmd_rmi, "Remove images"},
	    {"inspect", cmd_inspect, "Display detailed information on images"},
	    {"prune", cmd_image_prune, "Remove unused images"},
	    {"tag", cmd_tag, "Give an image another name"},
	    {"pull", cli_xfer, "Pull an image from a registry"},
	    {"push", cli_xfer, "Push an image to a registry"},
	    {"load", cli_xfer, "Load images from an archive"},
	    {"save", cli_xfer, "Save images to an archive"},
	    {"import", cli_xfer, "Make an image from a root filesystem tar"},
	};
	static const cli_doc doc = {
	    "image",	  "COMMAND", "Manage images", NULL, "berth image ls\nberth image prune",
	    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
