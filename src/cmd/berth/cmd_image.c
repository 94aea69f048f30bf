/* Image commands: images, inspect, tag, rmi, import, load, save, image prune,
 * system check, and the `image SUBCOMMAND` aliases. Registry commands (pull,
 * push, login, logout) are in cmd_registry.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void store_closep(img_store **s)
{
	store_close(*s);
}
#define _cleanup_store_ __attribute__((cleanup(store_closep)))

static img_store *cli_open_store(cli *c, berr *e)
{
	return store_open(c->root, e);
}

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
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
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
	int first = 1;
	if (argc > 1 && (!strcmp(argv[1], "--type") || !strcmp(argv[1], "--type=image")))
		first = !strcmp(argv[1], "--type") ? 3 : 2;
	if (argc <= first)
		return usage_fail("inspect", "inspect IMAGE [IMAGE...]");
	berr e;
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
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
	printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return status;
}

/* ---- tag / rmi / prune ---- */

int cmd_tag(cli *c, int argc, char **argv)
{
	if (argc != 3)
		return usage_fail("tag", "tag SOURCE_IMAGE TARGET_IMAGE[:TAG]");
	berr e;
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
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
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
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
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
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

/* ---- import / load / save ---- */

int cmd_import(cli *c, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		return usage_fail("import", "import FILE|- [REPOSITORY[:TAG]]");
	_cleanup_close_ int fd = -1;
	if (strcmp(argv[1], "-")) {
		fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_failf(125, "open %s: %s", argv[1], strerror(errno));
	}
	berr e;
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
	dg_str id;
	if (!s || image_import(s, fd >= 0 ? fd : 0, argc == 3 ? argv[2] : NULL, &id, &e) < 0)
		return cli_fail(125, &e);
	printf("%s\n", id.s);
	return 0;
}

int cmd_load(cli *c, int argc, char **argv)
{
	const char *input = NULL;
	bool quiet = false;
	static const struct option opts[] = {
	    {"input", required_argument, 0, 'i'}, {"quiet", no_argument, 0, 'q'}, {0, 0, 0, 0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "i:q", opts, NULL)) != -1) {
		if (o == 'i')
			input = optarg;
		else if (o == 'q')
			quiet = true;
		else
			return 125;
	}
	berr e;
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
	if (!s)
		return cli_fail(125, &e);
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
	for (size_t i = 0; !quiet && out && out[i]; i++)
		printf("Loaded image%s: %s\n", strncmp(out[i], "sha256:", 7) ? "" : " ID", out[i]);
	strv_free(out);
	return 0;
}

int cmd_save(cli *c, int argc, char **argv)
{
	const char *output = NULL;
	save_format fmt = SAVE_DOCKER_ARCHIVE;
	static const struct option opts[] = {{"output", required_argument, 0, 'o'},
					     {"format", required_argument, 0, 'f'},
					     {0, 0, 0, 0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (o == 'o')
			output = optarg;
		else if (o == 'f') {
			if (!strcmp(optarg, "docker-archive"))
				fmt = SAVE_DOCKER_ARCHIVE;
			else if (!strcmp(optarg, "oci-archive"))
				fmt = SAVE_OCI_ARCHIVE;
			else
				return cli_failf(125,
						 "save: unknown format \"%s\" (docker-archive, "
						 "oci-archive)",
						 optarg);
		} else
			return 125;
	}
	if (optind >= argc)
		return usage_fail("save", "save [-o FILE] [--format FORMAT] IMAGE [IMAGE...]");
	if (!output && isatty(1))
		return cli_failf(125, "cowardly refusing to save to a terminal. Use the -o flag "
				      "or redirect");
	berr e;
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
	if (!s)
		return cli_fail(125, &e);
	_cleanup_free_ char *tmp = output ? xasprintf("%s.tmp-%d", output, (int)getpid()) : NULL;
	_cleanup_close_ int fd = -1;
	if (tmp) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return cli_failf(125, "create %s: %s", tmp, strerror(errno));
	}
	char **refs = strv_dup(argv + optind);
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

/* ---- system check ---- */

int cmd_system(cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "check"))
		return cli_failf(125, "usage: berth system check [--repair]");
	bool repair = argc > 2 && !strcmp(argv[2], "--repair");
	berr e;
	_cleanup_store_ img_store *s = cli_open_store(c, &e);
	store_report r;
	if (!s || store_check(s, repair, &r, &e) < 0)
		return cli_fail(125, &e);
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

/* ---- image SUBCOMMAND ---- */

int cmd_image(cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		cli_cmd_fn fn;
	} subs[] = {
	    {"ls", cmd_images},	      {"list", cmd_images},	  {"rm", cmd_rmi},
	    {"inspect", cmd_inspect}, {"prune", cmd_image_prune}, {"tag", cmd_tag},
	    {"pull", cmd_pull},	      {"push", cmd_push},	  {"load", cmd_load},
	    {"save", cmd_save},	      {"import", cmd_import},
	};
	if (argc < 2)
		return cli_failf(125, "usage: berth image ls|rm|inspect|prune|tag|pull|push|load|"
				      "save|import");
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(c, argc - 1, argv + 1);
	return cli_failf(125, "image: unknown command \"%s\"", argv[1]);
}
