/* berth diff (a container's changes to its image) and berth history (an
 * image's layers). `commit` and `export` write tars: they are berth-xfer's
 * (src/cmd/berth-xfer/cmd_commit.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctr.h"
#include "image/image_commit.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const cli_doc diff_doc = {
    "diff",
    "CONTAINER",
    "Inspect changes to files or directories on a container's filesystem",
    "One line per path, sorted: A added, C changed (it exists in the image), D deleted.",
    "berth diff web",
    CLI_ARGS_CONTAINERS};

int cmd_diff(cli *c, int argc, char **argv)
{
	ctr_sel sel = {0};
	const flag_def defs[] = {
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest container"}, {0}};
	int st, i = cli_flags(c, &diff_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	char *one[3], lid[65];
	if (ctr_select_one(c, &sel, &argc, &argv, &i, one, lid, &st) < 0)
		return st;
	if (argc - i != 1)
		return cli_failf(125, "\"diff\" requires exactly 1 argument: usage: berth diff "
				      "CONTAINER");
	berr e;
	_cleanup_eng_ eng *g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_lookup(g, argv[i], id, &e) < 0)
		return cli_fail(125, &e);
	ld_changes ch = {0};
	if (eng_container_changes(g, id, &ch, &e) < 0)
		return cli_fail(125, &e);
	for (size_t k = 0; k < ch.n; k++)
		printf("%c %s\n", ch.v[k].kind, ch.v[k].path);
	ld_changes_free(&ch);
	return 0;
}

static const cli_doc history_doc = {
    "history",
    "[OPTIONS] IMAGE",
    "Show the history of an image",
    "Newest first; IMAGE is <missing> for a layer that is not a local image itself. "
    "SIZE is the layer blob's size.",
    "berth history localhost/busybox\nberth history --no-trunc -q web:1\n"
    "berth history --format '{{.ID}} {{.CreatedBy}}' IMG",
    CLI_ARGS_IMAGES};

static char *short_id(const char *id, bool no_trunc)
{
	if (!id)
		return xstrdup("<missing>");
	return no_trunc ? xstrdup(id) : xstrndup(dg_hex(id), 12);
}

/* Docker's CREATED BY column: at most 45 characters, "..." marking the cut;
 * newlines and tabs as spaces. */
static char *created_by(const char *s, bool no_trunc)
{
	char *r = xstrdup(s ? s : "");
	for (char *p = r; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (!no_trunc && strlen(r) > 45)
		strcpy(r + 42, "...");
	return r;
}

int cmd_history(cli *c, int argc, char **argv)
{
	bool no_trunc = false, quiet = false, human = true;
	const char *format = NULL;
	const flag_def defs[] = {
	    {"no-trunc", 0, FLAG_BOOL, &no_trunc, "Don't truncate output"},
	    {"quiet", 'q', FLAG_BOOL, &quiet, "Only show image IDs"},
	    {"human", 'H', FLAG_BOOL, &human, "Print sizes and dates in human readable format",
	     NULL, "true"},
	    {"format", 0, FLAG_STRING, &format, "Format the output with a Go template", "string"},
	    {0}};
	int st, i = cli_flags(c, &history_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 1)
		return cli_failf(125, "\"history\" requires exactly 1 argument: usage: berth "
				      "history [OPTIONS] IMAGE");
	berr e;
	_cleanup_store_ img_store *s = store_open(c->root, &e);
	img_hist *h = NULL;
	size_t n = 0;
	if (!s || image_history(s, argv[i], &h, &n, &e) < 0)
		return cli_fail(125, &e);
	int rc = 0;
	/* the table's columns as Docker's tabwriter pads them (3 spaces) */
	enum { NCOL = 5 };
	char **cells = xzalloc(sizeof(char *) * NCOL * (n + 1));
	const char *head[NCOL] = {"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"};
	size_t w[NCOL] = {0};
	for (int k = 0; k < NCOL; k++)
		cells[k] = xstrdup(head[k]);
	for (size_t k = 0; k < n; k++) {
		char **row = cells + NCOL * (k + 1);
		char age[64], size[32];
		if (human) {
			cli_human_age(h[k].created, age, sizeof(age));
			cli_human_size(h[k].size, size, sizeof(size));
		} else {
			snprintf(age, sizeof(age), "%s", h[k].created ? h[k].created : "");
			snprintf(size, sizeof(size), "%lld", h[k].size);
		}
		row[0] = short_id(h[k].id, no_trunc || format);
		row[1] = xstrdup(age);
		row[2] = created_by(h[k].created_by, no_trunc || format);
		row[3] = xstrdup(size);
		row[4] = xstrdup(h[k].comment ? h[k].comment : "");
	}
	for (size_t k = 0; k <= n; k++)
		for (int j = 0; j < NCOL; j++)
			if (strlen(cells[NCOL * k + j]) > w[j])
				w[j] = strlen(cells[NCOL * k + j]);
	for (size_t k = quiet || format ? 1 : 0; k <= n && rc == 0; k++) {
		char **row = cells + NCOL * k;
		if (quiet) {
			printf("%s\n", row[0]);
		} else if (format) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "ID", json_object_new_string(row[0]));
			json_object_object_add(o, "CreatedSince", json_object_new_string(row[1]));
			json_object_object_add(
			    o, "CreatedAt",
			    json_object_new_string(h[k - 1].created ? h[k - 1].created : ""));
			json_object_object_add(o, "CreatedBy", json_object_new_string(row[2]));
			json_object_object_add(o, "Size", json_object_new_string(row[3]));
			json_object_object_add(o, "Comment", json_object_new_string(row[4]));
			if (tmpl_render(format, o, stdout, &e) < 0)
				rc = cli_fail(125, &e);
			else
				putchar('\n');
			json_object_put(o);
		} else {
			for (int j = 0; j < NCOL - 1; j++)
				printf("%-*s", (int)(w[j] < 7 ? 10 : w[j] + 3), row[j]);
			printf("%s\n", row[NCOL - 1]);
		}
	}
	for (size_t k = 0; k < NCOL * (n + 1); k++)
		free(cells[k]);
	free(cells);
	image_history_free(h, n);
	return rc;
}
