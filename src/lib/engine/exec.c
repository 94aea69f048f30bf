/* exec: a process in a running container (container.h). The runtime's
 * rt_exec gives the process this process's fds 0..2, so the caller's stdio
 * choice (opts.stdio) is put there for the call and restored after it. */
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
	rt_exec_opts ro = {.args = o->args,
			   .env = o->env,
			   .cwd = o->cwd,
			   .user = u,
			   .tty = o->tty,
			   .detach = o->detach};
	int want[3] = {o->stdio[0], o->stdio[1], o->stdio[2]};
	int nul = -1;
	fflush(NULL); /* nothing buffered goes out on the process's fds */
	if (o->detach) {
		/* as Docker: a caller reading our output must not wait for the
		 * detached process to end */
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3 && nul >= 0; fd++)
			if (want[fd] < 0)
				want[fd] = nul;
	}
	int saved[3] = {-1, -1, -1};
	for (int fd = 0; fd < 3; fd++)
		if (want[fd] >= 0 && want[fd] != fd) {
			saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			if (dup2(want[fd], fd) < 0) {
				berr_sys(e, "exec: dup2");
				want[fd] = -2; /* restore what was saved, no exec */
			}
		}
	int er = -1;
	bool ok = want[0] != -2 && want[1] != -2 && want[2] != -2;
	if (ok)
		er = rt_exec(&g->rt, id, &ro, status, e);
	for (int fd = 0; fd < 3; fd++)
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
		}
	if (nul >= 0)
		close(nul);
	if (er < 0) {
		*status = strstr(e->msg, "executable file not found") ? 127
			  : strstr(e->msg, "permission denied")	      ? 126
								      : 125;
		return -1;
	}
	return 0;
}
