/* The attached client's side of berth-monitor's attach protocol (see
 * src/cmd/berth-monitor/main.c): one relay for run, start -a, attach and
 * an API's hijacked connection. The caller passes its fds (or a writer)
 * and, for signals and terminal resizes, an fd to poll with a callback
 * that says what happened: the library installs no signal handler. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

enum { RELAY_BUF = 65536 };

int eng_attach_send(int fd, int type, const void *d, uint32_t len)
{
	unsigned char h[5] = {(unsigned char)type, (unsigned char)len, (unsigned char)(len >> 8),
			      (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
	if (fs_write_all(fd, h, 5) < 0)
		return -1;
	if (len && fs_write_all(fd, d, len) < 0)
		return -1;
	return 0;
}

static void send_size(int sock, uint16_t rows, uint16_t cols)
{
	unsigned char b[4] = {(unsigned char)rows, (unsigned char)(rows >> 8), (unsigned char)cols,
			      (unsigned char)(cols >> 8)};
	eng_attach_send(sock, ENG_FRAME_RESIZE, b, 4);
}

int eng_attach_connect(eng *g, const char *id, berr *e)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return berr_sys(e, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%.64s/attach.sock", g->ctrs_fd,
		 id);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		berr_sys(e, "connect to the container's monitor");
		close(s);
		return -1;
	}
	return s;
}

int eng_parse_detach_keys(const char *s, unsigned char out[16], size_t *n, berr *e)
{
	*n = 0;
	if (strlen(s) > 255)
		return berr_set(e, EINVAL, "--detach-keys: too long");
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *sv, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
		if (*n >= 16)
			return berr_set(e, EINVAL, "--detach-keys \"%s\": too many keys", s);
		if (strlen(t) == 1) {
			out[(*n)++] = (unsigned char)t[0];
		} else if (!strncmp(t, "ctrl-", 5) && strlen(t) == 6) {
			char k = t[5];
			if (k >= 'a' && k <= 'z')
				out[(*n)++] = (unsigned char)(k - 'a' + 1);
			else if (k == '@' || k == '[' || k == '\\' || k == ']' || k == '^' ||
				 k == '_')
				out[(*n)++] = (unsigned char)(k - '@');
			else
				return berr_set(e, EINVAL, "--detach-keys: invalid key \"%s\"", t);
		} else {
			return berr_set(e, EINVAL, "--detach-keys: invalid key \"%s\"", t);
		}
	}
	if (!*n)
		return berr_set(e, EINVAL, "--detach-keys \"%s\": no keys", s);
	return 0;
}

/* Forward input bytes, holding back a partial detach sequence; returns true
 * when the whole sequence was typed (what came before it is sent). out:
 * RELAY_BUF + 16 bytes. */
static bool forward_input(int sock, const eng_attach_opts *o, const char *in, size_t n,
			  size_t *matched, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (o->nkeys && ch == o->keys[*matched]) {
			if (++*matched == o->nkeys) {
				if (k)
					eng_attach_send(sock, ENG_FRAME_STDIN, out, (uint32_t)k);
				return true;
			}
			continue;
		}
		if (*matched) { /* not the sequence after all: pass the held keys */
			memcpy(out + k, o->keys, *matched);
			k += *matched;
			*matched = 0;
			if (o->nkeys && ch == o->keys[0]) {
				*matched = 1;
				continue;
			}
		}
		out[k++] = (char)ch;
		if (k >= RELAY_BUF) {
			eng_attach_send(sock, ENG_FRAME_STDIN, out, (uint32_t)k);
			k = 0;
		}
	}
	if (k)
		eng_attach_send(sock, ENG_FRAME_STDIN, out, (uint32_t)k);
	return false;
}

static int deliver(const eng_attach_opts *o, int stream, const char *buf, size_t n)
{
	if (o->write)
		return o->write(o->arg, stream, buf, n);
	int fd = stream == 1 ? o->out_fd : o->err_fd;
	if (fd >= 0)
		fs_write_all(fd, buf, n);
	return 0;
}

int eng_attach_relay(eng *g, const char *id, int sock, const eng_attach_opts *o)
{
	if (o->rows || o->cols)
		send_size(sock, o->rows, o->cols);
	bool in_open = o->in_fd >= 0;
	int status = ENG_ATTACH_GONE;
	size_t matched = 0;
	_cleanup_free_ char *buf = xmalloc(RELAY_BUF);
	_cleanup_free_ char *out = xmalloc(RELAY_BUF + 16);
	for (;;) {
		struct pollfd p[4] = {{.fd = sock, .events = POLLIN},
				      {.fd = in_open ? o->in_fd : -1, .events = POLLIN},
				      {.fd = o->on_event ? o->event_fd : -1, .events = POLLIN},
				      {.fd = o->hup_fd, .events = 0}};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[3].revents & (POLLHUP | POLLERR)) {
			status = ENG_ATTACH_DETACHED;
			break;
		}
		if (p[2].revents & POLLIN) {
			eng_attach_event ev = {0};
			o->on_event(o->arg, &ev);
			if (ev.resize)
				send_size(sock, ev.rows, ev.cols);
			if (ev.signal > 0 && o->sig_proxy && g) {
				berr ig;
				rt_kill(&g->rt, id, ev.signal, false, &ig);
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(o->in_fd, buf, RELAY_BUF);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				in_open = false;
				if (matched) /* a held partial sequence */
					eng_attach_send(sock, ENG_FRAME_STDIN, o->keys,
							(uint32_t)matched);
				if (o->eof_closes)
					eng_attach_send(sock, ENG_FRAME_STDIN, NULL, 0);
			} else if (forward_input(sock, o, buf, (size_t)n, &matched, out)) {
				status = ENG_ATTACH_DETACHED;
				break;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			unsigned char h[5];
			if (fs_read_full(sock, h, 5) != 5)
				break;
			uint32_t len = h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 |
				       (uint32_t)h[4] << 24;
			if (len > RELAY_BUF || fs_read_full(sock, buf, len) != (ssize_t)len)
				break;
			if (h[0] == ENG_FRAME_STDOUT || h[0] == ENG_FRAME_STDERR) {
				if (deliver(o, h[0], buf, len) < 0)
					break;
			} else if (h[0] == ENG_FRAME_EXIT && len == 4) {
				status = (int)((unsigned char)buf[0] | (unsigned char)buf[1] << 8);
				break;
			} else if (h[0] == ENG_FRAME_BUSY) {
				status = ENG_ATTACH_BUSY;
				break;
			}
		}
	}
	return status;
}

int eng_container_attach(eng *g, const char *id, const eng_attach_opts *o, int *status, berr *e)
{
	const char *s = eng_container_status(g, id, NULL);
	if (!s)
		return berr_set(e, ENOENT, "no such container: %.12s", id);
	if (!strcmp(s, "paused"))
		return berr_set(e, EINVAL,
				"You cannot attach to a paused container, unpause it first");
	if (strcmp(s, "running"))
		return berr_set(e, EINVAL,
				"You cannot attach to a stopped container, start it first");
	int sock = eng_attach_connect(g, id, e);
	if (sock < 0) {
		/* the monitor is gone: it exited meanwhile */
		if (e->errnum == ENOENT || e->errnum == ECONNREFUSED)
			return berr_set(e, EINVAL,
					"You cannot attach to a stopped container, start it first");
		return -1;
	}
	int st = eng_attach_relay(g, id, sock, o);
	close(sock);
	if (st == ENG_ATTACH_GONE) {
		/* the connection ended without the exit frame: the record's */
		int code;
		berr ig;
		if (eng_container_wait(g, id, 2000, &code, &ig) == 0)
			st = code;
	}
	*status = st;
	return 0;
}
