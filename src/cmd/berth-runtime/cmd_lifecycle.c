/* create, start, run, state, kill, delete */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/flags.h"
#include "util/xalloc.h"

/* Between min and max positional arguments after the flags. */
static int positional(int argc, int first, int min, int max, const char *usage, berr *e)
{
	int n = argc - first;
	if (first < 0)
		return -1;
	if (n < min || n > max)
		return berr_set(e, EINVAL, "usage: berth-runtime %s", usage);
	return 0;
}

static int parse_create(rcli *c, int argc, char **argv, rt_create_opts *o, bool *detach,
			const char *usage, int *idx, berr *e)
{
	(void)c;
	bool no_subreaper = false;
	const flag_def defs[] = {
	    {"bundle", 'b', FLAG_STRING, &o->bundle},
	    {"pid-file", 0, FLAG_STRING, &o->pid_file},
	    {"console-socket", 0, FLAG_STRING, &o->console_socket},
	    {"no-pivot", 0, FLAG_BOOL, &o->no_pivot},
	    {"no-new-keyring", 0, FLAG_BOOL, &o->no_new_keyring},
	    {"preserve-fds", 0, FLAG_INT, &o->preserve_fds},
	    {"detach", 'd', FLAG_BOOL, detach},
	    {"no-subreaper", 0, FLAG_BOOL, &no_subreaper},
	    {0},
	};
	int i = flags_parse(defs, argc, argv, 1, e);
	if (positional(argc, i, 1, 1, usage, e) < 0)
		return -1;
	if (o->preserve_fds < 0)
		return berr_set(e, EINVAL, "--preserve-fds: must not be negative");
	*idx = i;
	return 0;
}

int cmd_create(rcli *c, int argc, char **argv)
{
	rt_create_opts o = {0};
	bool detach = false;
	int i;
	berr e;
	if (parse_create(c, argc, argv, &o, &detach,
			 "create [--bundle DIR] [--pid-file F] "
			 "[--console-socket S] [--no-pivot] "
			 "[--no-new-keyring] [--preserve-fds N] ID",
			 &i, &e) < 0 ||
	    rt_create(&c->ctx, argv[i], &o, &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_run(rcli *c, int argc, char **argv)
{
	rt_create_opts o = {0};
	bool detach = false;
	int i, status;
	berr e;
	if (parse_create(c, argc, argv, &o, &detach,
			 "run [--bundle DIR] [--detach] [--pid-file F] [--console-socket S] "
			 "[--no-pivot] [--no-new-keyring] [--preserve-fds N] ID",
			 &i, &e) < 0 ||
	    rt_run(&c->ctx, argv[i], &o, detach, &status, &e) < 0)
		return rcli_fail(c, &e);
	return status;
}

static int one_id(rcli *c, int argc, char **argv, const flag_def *defs, const char *usage, int max,
		  berr *e)
{
	static const flag_def none[] = {{0}};
	(void)c;
	int i = flags_parse(defs ? defs : none, argc, argv, 1, e);
	if (positional(argc, i, 1, max, usage, e) < 0)
		return -1;
	return i;
}

int cmd_start(rcli *c, int argc, char **argv)
{
	berr e;
	int i = one_id(c, argc, argv, NULL, "start ID", 1, &e);
	if (i < 0 || rt_start(&c->ctx, argv[i], &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_state(rcli *c, int argc, char **argv)
{
	berr e;
	char *json = NULL;
	int i = one_id(c, argc, argv, NULL, "state ID", 1, &e);
	if (i < 0 || rt_state_json(&c->ctx, argv[i], &json, &e) < 0)
		return rcli_fail(c, &e);
	printf("%s\n", json);
	free(json);
	return 0;
}

int cmd_kill(rcli *c, int argc, char **argv)
{
	berr e;
	bool all = false;
	const flag_def defs[] = {{"all", 'a', FLAG_BOOL, &all}, {0}};
	int i = one_id(c, argc, argv, defs, "kill [--all] ID [SIGNAL]", 2, &e);
	if (i < 0)
		return rcli_fail(c, &e);
	int sig = 15;
	if (i + 1 < argc) {
		sig = spec_signal_from_name(argv[i + 1]);
		if (sig < 0) {
			berr_set(&e, EINVAL, "unknown signal \"%s\"", argv[i + 1]);
			return rcli_fail(c, &e);
		}
	}
	if (rt_kill(&c->ctx, argv[i], sig, all, &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_delete(rcli *c, int argc, char **argv)
{
	berr e;
	bool force = false;
	const flag_def defs[] = {{"force", 'f', FLAG_BOOL, &force}, {0}};
	int i = one_id(c, argc, argv, defs, "delete [--force] ID", 1, &e);
	if (i < 0)
		return rcli_fail(c, &e);
	if (rt_delete(&c->ctx, argv[i], force, &e) < 0) {
		/* runc: deleting what is already gone is fine with --force */
		if (force && e.errnum == ENOENT)
			return 0;
		return rcli_fail(c, &e);
	}
	return 0;
}
