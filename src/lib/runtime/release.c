/* The last handshake with a container's init (from `run`, or from `start`
 * over exec.sock): let it go, pass a seccomp notify listener it sends on to
 * the seccomp agent, and learn whether execve happened (the socket closes
 * on exec) or failed (an error message). */
#include <errno.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/sync.h"

int seccomp_forward_listener(const spec *s, int fd, const char *state_json, berr *e)
{
	const spec_seccomp *sc = &s->linux_.seccomp;
	if (!sc->listener_path)
		return berr_set(e, EINVAL, "linux.seccomp: a notify rule needs listenerPath");
	if (seccomp_send_listener(sc->listener_path, fd, state_json, sc->listener_metadata, e) < 0)
		return berr_ctx(e, "linux.seccomp.listenerPath");
	return 0;
}

int release_init(int sock, const spec *s, const char *state_json, berr *e)
{
	if (sync_send(sock, SYNC_GO, 0, NULL, -1) < 0)
		return berr_sys(e, "release the container's init");
	for (;;) {
		sync_msg m;
		int fd = -1;
		int r = sync_recv(sock, &m, &fd, e);
		if (r < 0)
			return -1;
		if (r == 0)
			return 0; /* closed by execve */
		if (m.type == SYNC_ERROR)
			return berr_set(e, m.value, "%s", m.text);
		if (m.type == SYNC_SECCOMP) {
			/* s is NULL for a start whose config has no listener */
			r = s ? seccomp_forward_listener(s, fd, state_json, e)
			      : berr_set(e, EINVAL,
					 "linux.seccomp: a notify rule needs listenerPath");
			close(fd);
			if (r < 0)
				return -1;
		} else if (fd >= 0) {
			close(fd);
		}
	}
}
