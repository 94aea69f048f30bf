/* create, start, run, state, kill, delete */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/flags.h"
#include "util/xalloc.h"

/* Between min and max positional arguments after the flags (first >= 0);
 * a flag after them is named: flags come first. */
static int positional(int argc, char **argv, int first, int min, int max, const cli_doc *d, berr *e)
{
	int n = argc - first;
	if (first < 0)
		return -1;
	if (n > max && argv[first + max][0] == '-')
		return berr_set(e, EINVAL,
				"usage: berth-runtime %s %s (flags go before the arguments: %s)",
				d->name, d->usage, argv[first + max]);
	if (n < min || n > max)
		return rcli_usage(d, e);
	return 0;
}

#define CREATE_DESCRIPTION                                                                         \
	"The bundle is a directory with a specification file named \"config.json\" and a root "    \
	"filesystem; <container-id> is your name for the instance of the container, unique "       \
	"on this host (under --root)."

static const cli_doc create_doc = {
    "create",
    "[command options] <container-id>",
    "create a container",
    "The create command creates an instance of a container for a bundle, ready for "
    "start. " CREATE_DESCRIPTION,
    "berth-runtime create --bundle /tmp/b c1\nberth-runtime start c1",
    CLI_ARGS_NONE};
static const cli_doc run_doc = {
    "run",
    "[command options] <container-id>",
    "create and run a container",
    "The run command creates an instance of a container for a bundle, starts it and waits "
    "for it; its exit status is the container's. " CREATE_DESCRIPTION,
    "berth-runtime run --bundle /tmp/b c1\nberth-runtime run -d --bundle /tmp/b c2",
    CLI_ARGS_NONE};

/* CLI_DONE: the mode's answer (help, ...) is printed. */
static int parse_create(rcli *c, int argc, char **argv, rt_create_opts *o, bool *detach,
			const cli_doc *d, int *idx, berr *e)
{
	bool no_subreaper = false;
	const flag_def defs[] = {
	    {"bundle", 'b', FLAG_STRING, &o->bundle,
	     "path to the root of the bundle directory, defaults to the current directory"},
	    {"pid-file", 0, FLAG_STRING, &o->pid_file,
	     "specify the file to write the process id to"},
	    {"console-socket", 0, FLAG_STRING, &o->console_socket,
	     "path to an AF_UNIX socket which will receive a file descriptor referencing the "
	     "master end of the console's pseudoterminal"},
	    {"no-pivot", 0, FLAG_BOOL, &o->no_pivot,
	     "do not use pivot root to jail process inside rootfs"},
	    {"no-new-keyring", 0, FLAG_BOOL, &o->no_new_keyring,
	     "do not create a new session keyring for the container"},
	    {"preserve-fds", 0, FLAG_INT, &o->preserve_fds,
	     "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in "
	     "total)",
	     NULL, "0"},
	    {"detach", 'd', FLAG_BOOL, detach, "detach from the container's process (run only)"},
	    {"no-subreaper", 0, FLAG_BOOL, &no_subreaper,
	     "disable the use of the subreaper used to reap reparented processes (accepted, "
	     "no effect)"},
	    {0},
	};
	int i = rcli_flags(c, d, defs, argc, argv, e);
	if (i == CLI_DONE)
		return CLI_DONE;
	if (positional(argc, argv, i, 1, 1, d, e) < 0)
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
	int p = parse_create(c, argc, argv, &o, &detach, &create_doc, &i, &e);
	if (p == CLI_DONE)
		return 0;
	if (p < 0 || rt_create(&c->ctx, argv[i], &o, &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_run(rcli *c, int argc, char **argv)
{
	rt_create_opts o = {0};
	bool detach = false;
	int i, status;
	berr e;
	int p = parse_create(c, argc, argv, &o, &detach, &run_doc, &i, &e);
	if (p == CLI_DONE)
		return 0;
	if (p < 0 || rt_run(&c->ctx, argv[i], &o, detach, &status, &e) < 0)
		return rcli_fail(c, &e);
	return status;
}

/* The index of the container's id, CLI_DONE, or -1 with e set. */
static int one_id(rcli *c, int argc, char **argv, const flag_def *defs, const cli_doc *d, int max,
		  berr *e)
{
	int i = rcli_flags(c, d, defs, argc, argv, e);
	if (i == CLI_DONE)
		return CLI_DONE;
	if (positional(argc, argv, i, 1, max, d, e) < 0)
		return -1;
	return i;
}

int cmd_start(rcli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "start",
	    "<container-id>",
	    "executes the user defined process in a created container",
	    "The start command executes the user defined process in a created container.",
	    "berth-runtime start c1",
	    CLI_ARGS_NONE};
	berr e;
	int i = one_id(c, argc, argv, NULL, &doc, 1, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0 || rt_start(&c->ctx, argv[i], &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_state(rcli *c, int argc, char **argv)
{
	berr e;
	char *json = NULL;
	static const cli_doc doc = {"state",
				    "<container-id>",
				    "output the state of a container",
				    "The state command outputs current state information for the "
				    "instance of a container (JSON).",
				    "berth-runtime state c1",
				    CLI_ARGS_NONE};
	int i = one_id(c, argc, argv, NULL, &doc, 1, &e);
	if (i == CLI_DONE)
		return 0;
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
	static const cli_doc doc = {
	    "kill",
	    "[command options] <container-id> [signal]",
	    "kill sends the specified signal (default: SIGTERM) to the container's init process",
	    "The signal is a name (KILL, SIGKILL) or a number.",
	    "berth-runtime kill c1\nberth-runtime kill c1 KILL\nberth-runtime kill --all c1 9",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {{"all", 'a', FLAG_BOOL, &all,
				  "send the specified signal to all processes inside the "
				  "container"},
				 {0}};
	int i = one_id(c, argc, argv, defs, &doc, 2, &e);
	if (i == CLI_DONE)
		return 0;
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
	static const cli_doc doc = {
	    "delete",
	    "[command options] <container-id>",
	    "delete any resources held by the container often used with detached container",
	    "A running container is refused without --force.",
	    "berth-runtime delete c1",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &force,
	     "Forcibly deletes the container if it is still running (uses SIGKILL)"},
	    {0}};
	int i = one_id(c, argc, argv, defs, &doc, 1, &e);
	if (i == CLI_DONE)
		return 0;
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
