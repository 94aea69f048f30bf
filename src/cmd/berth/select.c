/* --all and --latest (Podman's): the containers a command acts on. */
#include <stdio.h>
#include <string.h>

#include "ctr.h"
#include "util/xalloc.h"

static bool is_running(const char *s)
{
	return s && (!strcmp(s, "running") || !strcmp(s, "paused"));
}

char **ctr_select(cli *c, const ctr_sel *s, int argc, char **argv, int i, int *status)
{
	if ((s->all || s->latest) && (i < argc || (s->all && s->latest))) {
		*status = cli_failf(125, "--all, --latest and containers cannot be used together");
		return NULL;
	}
	char **out = NULL;
	strv_push(&out, argv[0]);
	if (!s->all && !s->latest) {
		for (; i < argc; i++)
			strv_push(&out, argv[i]);
		return out;
	}
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g) {
		strv_free(out);
		*status = cli_fail(125, &e);
		return NULL;
	}
	char **ids = eng_list(g);
	char newest[65] = "";
	int64_t newest_t = 0;
	for (char **p = ids; *p; p++) {
		json_object *d = eng_load(g, *p, &e);
		if (!d)
			continue;
		const char *st = eng_reconcile(g, *p, d);
		int64_t t = eng_time_parse(eng_doc_str(d, "Created"));
		bool skip = !strcmp(st, "creating") || (s->running && !is_running(st));
		json_object_put(d);
		if (skip)
			continue;
		if (s->all)
			strv_push(&out, *p);
		else if (!*newest || t > newest_t) {
			snprintf(newest, sizeof(newest), "%s", *p);
			newest_t = t;
		}
	}
	strv_free(ids);
	eng_close(g);
	if (s->latest) {
		if (!*newest) {
			strv_free(out);
			*status = cli_failf(125, "--latest: no container%s",
					    s->running ? " is running" : "s");
			return NULL;
		}
		strv_push(&out, newest);
	}
	return out;
}

int ctr_select_one(cli *c, const ctr_sel *s, int *argc, char ***argv, int *i, char *one[3],
		   char id[65], int *status)
{
	if (!s->latest)
		return 0;
	char **refs = ctr_select(c, s, *argc, *argv, *i, status);
	if (!refs)
		return -1;
	snprintf(id, 65, "%s", refs[1]);
	strv_free(refs);
	one[0] = (*argv)[0];
	one[1] = id;
	one[2] = NULL;
	*argv = one;
	*argc = 2;
	*i = 1;
	return 0;
}
