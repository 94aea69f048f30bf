/* resize: a tty container's terminal size (the API's POST .../resize, what
 * docker run -t sends at its start and on every SIGWINCH). Set on the
 * terminal the container's init has as its stdin (/proc/PID/fd/0, checked
 * to be a tty): the kernel tells the foreground process group (SIGWINCH),
 * as when the monitor sets it on the master. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/container.h"

int eng_container_resize(eng *g, const char *id, unsigned rows, unsigned cols, berr *e)
{
	if (!rows || !cols || rows > 65535 || cols > 65535)
		return berr_set(e, EINVAL, "invalid terminal size %ux%u", rows, cols);
	json_object *doc = NULL;
	const char *st = eng_container_status(g, id, &doc);
	if (!st)
		return berr_set(e, ENOENT, "no such container: %.12s", id);
	bool tty = eng_doc_bool(doc, "Config.Tty");
	pid_t pid = (pid_t)eng_doc_int(doc, "State.Pid");
	json_object_put(doc);
	if (strcmp(st, "running") || pid <= 0)
		return berr_set(e, EBUSY, "container %.12s is not running", id);
	if (!tty)
		return berr_set(e, EINVAL, "container %.12s has no terminal (created without -t)",
				id);
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/fd/0", (int)pid);
	int fd = open(p, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", p);
	int r = 0;
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	if (!isatty(fd))
		r = berr_set(e, EINVAL, "container %.12s: its stdin is no terminal", id);
	else if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		r = berr_sys(e, "resize the terminal of %.12s", id);
	close(fd);
	return r;
}
