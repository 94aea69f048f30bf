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
	const flag_def defs[] = {
	    {"process", 'p', FLAG_STRING, &o.process_file},
	    {"tty", 't', FLAG_BOOL, &o.tty},
	    {"cwd", 0, FLAG_STRING, &o.cwd},
	    {"env", 'e', FLAG_LIST, &o.env},
	    {"user", 'u', FLAG_STRING, &o.user},
	    {"additional-gids", 'g', FLAG_LIST, &o.additional_gids},
	    {"cap", 'c', FLAG_LIST, &o.cap_add},
	    {"no-new-privs", 0, FLAG_BOOL, &o.no_new_privs},
	    {"detach", 'd', FLAG_BOOL, &o.detach},
	    {"pid-file", 0, FLAG_STRING, &o.pid_file},
	    {"console-socket", 0, FLAG_STRING, &o.console_socket},
	    {"preserve-fds", 0, FLAG_INT, &o.preserve_fds},
	    {"process-label", 0, FLAG_STRING, &process_label},
	    {"apparmor", 0, FLAG_STRING, &apparmor},
	    {"cgroup", 0, FLAG_STRING, &cgroup},
	    {"ignore-paused", 0, FLAG_BOOL, &ignore_paused},
	    {0},
	};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	int status = 0, r = -1;
	if (i < 0)
		goto out;
	if (i >= argc) {
		berr_set(&e, EINVAL,
			 "usage: berth-runtime exec [--process F | ...] ID [COMMAND [ARGS...]]");
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
