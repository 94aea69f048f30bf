/* attach with logs=1: the container's log so far, written into the
 * upgraded connection before the attach's stream (or alone with stream=0),
 * in the attach's format (multiplexed frames without a tty). */
#include <linux/sockios.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <time.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "service.h"

typedef struct replay {
	int fd;
	bool mux;
} replay;

static int replay_entry(void *arg, const eng_log_entry *en)
{
	replay *r = arg;
	return svc_write_frame(r->fd, r->mux, en->stream, en->bytes, en->len);
}

/* Until the client has read what is in the socket (the 101's headers), at
 * most a second: docker-py reads the headers through a buffered reader and
 * the stream from the raw socket, so bytes that came with the headers would
 * be lost in that buffer. SIOCOUTQ on a unix socket: the bytes the peer has
 * not read yet. */
static void wait_read(int fd)
{
	for (int i = 0; i < 1000; i++) {
		int n = 0;
		if (ioctl(fd, SIOCOUTQ, &n) < 0 || n <= 0)
			return;
		struct timespec ts = {.tv_nsec = 1000000};
		nanosleep(&ts, NULL);
	}
}

void svc_attach_logs(eng *g, const char *id, int fd, bool mux, bool out, bool err)
{
	wait_read(fd);
	replay r = {.fd = fd, .mux = mux};
	eng_logs_opts o = {
	    .tail = -1, .no_stdout = !out, .no_stderr = !err, .write = replay_entry, .arg = &r};
	berr e;
	eng_container_logs(g, id, &o, &e); /* no log (--log-driver none): nothing to replay */
}
