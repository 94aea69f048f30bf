/* The way into the user's namespace before a command touches the store
 * (see cli_common.h). Its own object: only berth and berth-xfer link the
 * engine it calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "engine/userns.h"

int cli_enter_store(cli *c)
{
	if (!c->rootless)
		return 0;
	if (c->run_root == c->run_buf && strncmp(c->run_buf, "/tmp/", 5) == 0 &&
	    access(c->run_buf, F_OK) < 0)
		fprintf(stderr,
			"berth: warning: $XDG_RUNTIME_DIR is not set to a directory of yours: "
			"run state in %s\n",
			c->run_buf);
	/* the helpers berth runs (berth-xfer, berth-monitor) are in the namespace
	 * already and must not fall back to root's paths */
	if (setenv("BERTH_ROOT", c->root, 1) < 0 || setenv("BERTH_RUNROOT", c->run_root, 1) < 0)
		return cli_failf(125, "setenv: %s", strerror(errno));
	eng_userns u;
	berr e = {0};
	if (eng_userns_enter(c->run_root, &u, &e) < 0)
		return cli_fail(125, &e);
	if (u.warning)
		fprintf(stderr, "berth: warning: %s\n", u.warning);
	eng_userns_clear(&u);
	return 0;
}
