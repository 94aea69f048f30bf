/* exec */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "util/flags.h"
#include "util/xalloc.h"

int cmd_exec(rcli *c, int argc, char **argv)
{
	rt_exec_opts o = {0};
	const char *process_label = NULL, *apparmor = NULL, *cgroup = NULL;
	bool ignore_paused = false;
	static const cli_doc doc = {
	    "exec",
	    "[command options] <container-id> <command> [command options]  || -p "
	    "process.json <container-id>",
	    "execute new process inside the container",
	    "The exec command executes a new process in a running container: <command> and its "
	    "arguments, or the process of a process.json (--process).",
	    "berth-runtime exec c1 ps\nberth-runtime exec -t --console-socket /tmp/s c1 sh",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {
	    {"process", 'p', FLAG_STRING, &o.process_file, "path to the process.json"},
	    {"tty", 't', FLAG_BOOL, &o.tty, "allocate a pseudo-TTY"},
	    {"cwd", 0, FLAG_STRING, &o.cwd, "current working directory in the container"},
	    {"env", 'e', FLAG_LIST, &o.env, "set environment variables"},
	    {"user", 'u', FLAG_STRING, &o.user, "UID (format: <uid>[:<gid>])"},
	    {"additional-gids", 'g', FLAG_LIST, &o.additional_gids, "additional gids"},
	    {"cap", 'c', FLAG_LIST, &o.cap_add,
	     "add a capability to the bounding set for the process"},
	    {"no-new-privs", 0, FLAG_BOOL, &o.no_new_privs,
	     "set the no new privileges value for the process"},
	    {"detach", 'd', FLAG_BOOL, &o.detach, "detach from the container's process"},
	    {"pid-file", 0, FLAG_STRING, &o.pid_file,
	     "specify the file to write the process id to"},
	    {"console-socket", 0, FLAG_STRING, &o.console_socket,
	     "path to an AF_UNIX socket which will receive a file descriptor referencing the "
	     "master end of the console's pseudoterminal"},
	    {"preserve-fds", 0, FLAG_INT, &o.preserve_fds,
	     "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in "
	     "total)",
	     NULL, "0"},
	    {"process-label", 0, FLAG_STRING, &process_label,
	     "set the asm process label for the process commonly used with selinux (accepted)"},
	    {"apparmor", 0, FLAG_STRING, &apparmor,
	     "set the apparmor profile for the process (accepted)"},
	    {"cgroup", 0, FLAG_STRING, &cgroup,
	     "run the process in an (existing) sub-cgroup(s) (accepted)"},
	    {"ignore-paused", 0, FLAG_BOOL, &ignore_paused,
	     "allow exec in a paused container (accepted)"},
	    {0},
	};
	berr e;
	int i = rcli_flags(c, &doc, defs, argc, argv, &e);
	int status = 0, r = -1;
	if (i == CLI_DONE)
		return 0;
	if (i < 0)
		goto out;
	if (i >= argc) {
		rcli_usage(&doc, &e);
		goto out;
	}
	o.args = &argv[i + 1];
	if (!o.process_file && !o.args[0]) {
		berr_set(&e, EINVAL, "exec: a command or --process is required");
		goto out;
	}
	r = rt_exec(&c->ctx, argv[i], &o, &status, &e);
out:
	strv_free(o.env);
	strv_free(o.additional_gids);
	strv_free(o.cap_add);
	if (r < 0)
		return rcli_fail(c, &e);
	return status;
}
