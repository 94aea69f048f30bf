/* The rootless defaults of the store paths (see cli_common.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "util/idmap.h"
#include "util/passwd.h"

/* $HOME, else the passwd file's entry (into buf) */
static const char *home_dir(char *buf, size_t size)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	char *home = NULL;
	if (!passwd_find_uid("/etc/passwd", geteuid(), NULL, &home) || !*home ||
	    strlen(home) >= size) {
		free(home);
		return NULL;
	}
	memcpy(buf, home, strlen(home) + 1);
	free(home);
	return buf;
}

void cli_rootless_defaults(cli *c)
{
	if (geteuid() == 0 || idmap_in_userns())
		return; /* root, or already in the user's namespace (a helper berth ran) */
	c->rootless = true;
	const char *env_root = getenv("BERTH_ROOT");
	if (!env_root || !*env_root) {
		char hbuf[1024];
		const char *xdg = getenv("XDG_DATA_HOME"), *home = home_dir(hbuf, sizeof(hbuf));
		if (xdg && *xdg == '/')
			snprintf(c->root_buf, sizeof(c->root_buf), "%s/berth", xdg);
		else if (home)
			snprintf(c->root_buf, sizeof(c->root_buf), "%s/.local/share/berth", home);
		else
			snprintf(c->root_buf, sizeof(c->root_buf), "/tmp/berth-store-%u",
				 (unsigned)geteuid());
		c->root = c->root_buf;
	}
	const char *env_run = getenv("BERTH_RUNROOT");
	if (!env_run || !*env_run) {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		struct stat st;
		if (xdg && *xdg == '/' && stat(xdg, &st) == 0 && st.st_uid == geteuid())
			snprintf(c->run_buf, sizeof(c->run_buf), "%s/berth", xdg);
		else
			snprintf(c->run_buf, sizeof(c->run_buf), "/tmp/berth-run-%u",
				 (unsigned)geteuid());
		c->run_root = c->run_buf;
	}
}
