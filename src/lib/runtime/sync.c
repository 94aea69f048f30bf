#include "runtime/sync.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int sync_send(int sock, uint32_t type, int32_t value, const char *text, int fd)
{
	sync_msg m = {.type = type, .value = value};
	if (text)
		strncpy(m.text, text, sizeof(m.text) - 1);
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t r;
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)sizeof(m) ? 0 : -1;
}

int sync_recv(int sock, sync_msg *m, int *fd, berr *e)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	if (fd)
		*fd = -1;
	ssize_t r;
	bool reset = false;
	for (;;) {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		/* A peer that died with our last message unread resets the
		 * socket. The kernel reports that (once) before the messages
		 * the peer sent first, which are still queued: an init's
		 * error, sent just before it exited, comes after it. Only
		 * with nothing queued is the reset the end of the talk. */
		if (r < 0 && errno == ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		break;
	}
	if (r < 0 && errno == ECONNRESET)
		return 0;
	if (r < 0)
		return berr_sys(e, "receive from container init");
	if (r == 0)
		return 0;
	if (r != (ssize_t)sizeof(*m))
		return berr_set(e, EPROTO, "short message from container init");
	m->text[sizeof(m->text) - 1] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;
			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (fd)
				*fd = got;
			else
				close(got);
		}
	}
	return 1;
}

void sync_send_error(int sock, const berr *e)
{
	sync_send(sock, SYNC_ERROR, e->errnum, e->msg, -1);
}
