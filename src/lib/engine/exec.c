/* exec: a process in a running container (container.h), through the
 * runtime's rt_exec; the caller's stdio choice (opts.stdio) is given to the
 * process by the runtime's child. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* "uid:gid" of a user spec in the container's root (malloc'ed). */
static char *resolve_user(eng *g, const char *id, const char *user, berr *e)
{
	_cleanup_free_ char *rootfs = eng_path(g, id, "rootfs");
	int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		berr_sys(e, "open %s", rootfs);
		return NULL;
	}
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ng;
	char *home;
	int r = eng_resolve_user(rfd, user, &uid, &gid, &groups, &ng, &home, e);
	close(rfd);
	if (r < 0)
		return NULL;
	free(groups);
	free(home);
	return xasprintf("%u:%u", uid, gid);
}

int eng_container_exec(eng *g, const char *id, const eng_exec_opts *o, int *status, berr *e)
{
	*status = 125;
	const char *s = eng_container_status(g, id, NULL);
	if (!s || strcmp(s, "running"))
		return berr_set(e, EINVAL, "container %.12s is not running", id);
	_cleanup_free_ char *u = NULL;
	if (o->user && !(u = resolve_user(g, id, o->user, e)))
		return -1;
	int fds[3], nul = -1;
	for (int fd = 0; fd < 3; fd++) {
		fds[fd] = o->stdio[fd] >= 0 ? o->stdio[fd] : fd;
		/* as Docker: a caller reading our output must not wait for the
		 * detached process to end */
		if (o->detach && o->stdio[fd] < 0) {
			if (nul < 0 && (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				return berr_sys(e, "open /dev/null");
			fds[fd] = nul;
		}
	}
	rt_exec_opts ro = {.args = o->args,
			   .env = o->env,
			   .cwd = o->cwd,
			   .user = u,
			   .tty = o->tty,
			   .detach = o->detach,
			   .stdio = fds,
			   .started = o->started};
	fflush(NULL); /* nothing buffered goes out on the process's fds */
	int er = rt_exec(&g->rt, id, &ro, status, e);
	if (nul >= 0)
		close(nul);
	if (er < 0) {
		/* Docker's: not found (by $PATH or at its path) 127, not runnable 126 */
		bool missing = strstr(e->msg, "executable file not found") ||
			       (!strncmp(e->msg, "exec: \"", 7) &&
				strstr(e->msg, "No such file or directory"));
		*status = missing ? 127 : strstr(e->msg, "permission denied") ? 126 : 125;
		return -1;
	}
	return 0;
}
