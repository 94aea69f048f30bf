/* Installing a compiled filter (in the container process) and handing its
 * notify listener to the seccomp agent (in the runtime). */
#include "seccomp/seccomp.h"

#include <errno.h>
#include <json-c/json.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int seccomp_install(const seccomp_prog *p, unsigned flags, int *listener_fd, berr *e)
{
	if (listener_fd)
		*listener_fd = -1;
	if (p->len == 0)
		return 0;
	struct sock_fprog prog = {.len = (unsigned short)p->len, .filter = p->insns};
	unsigned f = p->flags | flags;
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, &prog);
	if (r < 0 && errno == EACCES)
		return berr_sys(e, "seccomp(SECCOMP_SET_MODE_FILTER): needs no_new_privs or "
				   "CAP_SYS_ADMIN");
	if (r < 0)
		return berr_sys(e, "seccomp(SECCOMP_SET_MODE_FILTER, flags 0x%x)", f);
	if (f & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		if (listener_fd)
			*listener_fd = (int)r;
		else
			close((int)r);
	} else if (r > 0) {
		/* TSYNC without a listener: r is the thread that could not sync. */
		return berr_set(e, 0, "seccomp: thread %ld could not be synchronized (TSYNC)", r);
	}
	return 0;
}

static void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

/* {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"} */
static char *process_state(const char *state_json, const char *metadata, berr *e)
{
	__attribute__((cleanup(json_putp))) json_object *state = json_tokener_parse(state_json);
	if (!state || !json_object_is_type(state, json_type_object)) {
		berr_set(e, 0, "container state is not a JSON object");
		return NULL;
	}
	json_object *v, *pid;
	if (!json_object_object_get_ex(state, "ociVersion", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		berr_set(e, 0, "container state: missing ociVersion");
		return NULL;
	}
	if (!json_object_object_get_ex(state, "pid", &pid) ||
	    !json_object_is_type(pid, json_type_int)) {
		berr_set(e, 0, "container state: missing pid");
		return NULL;
	}
	__attribute__((cleanup(json_putp))) json_object *o = json_object_new_object();
	json_object *fds = json_object_new_array();
	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(o, "ociVersion", json_object_get(v));
	json_object_object_add(o, "fds", fds);
	json_object_object_add(o, "pid", json_object_get(pid));
	if (metadata && *metadata)
		json_object_object_add(o, "metadata", json_object_new_string(metadata));
	json_object_object_add(o, "state", json_object_get(state));
	return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

int seccomp_send_listener(const char *listener_path, int listener_fd, const char *state_json,
			  const char *metadata, berr *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(listener_path) >= sizeof(sa.sun_path))
		return berr_set(e, 0, "listenerPath %s: too long for a unix socket", listener_path);
	strcpy(sa.sun_path, listener_path);
	_cleanup_free_ char *msg = process_state(state_json, metadata, e);
	if (!msg)
		return berr_ctx(e, "seccomp listener");

	_cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return berr_sys(e, "socket for listenerPath %s", listener_path);
	int rc;
	do
		rc = connect(sock, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return berr_sys(e, "connect to listenerPath %s", listener_path);

	/* One sendmsg: the agent reads the state and the fd together. */
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	size_t len = strlen(msg);
	struct iovec iov = {.iov_base = msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &listener_fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return berr_sys(e, "sendmsg to listenerPath %s", listener_path);
	/* The fd went with the first byte; finish the text if it was short. */
	if ((size_t)n < len && fs_write_all(sock, msg + n, len - (size_t)n) < 0)
		return berr_sys(e, "write to listenerPath %s", listener_path);
	return 0;
}
