/* The attached client's side of berth-monitor's attach protocol (see
 * src/cmd/berth-monitor/main.c): one relay for run, start -a and attach. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "ctr.h"
#include "util/fs.h"

static volatile sig_atomic_t winch, proxied;
static void on_proxy(int s)
{
	proxied = s;
}
static void on_winch(int s)
{
	(void)s;
	winch = 1;
}

void ctr_send_frame(int fd, int type, const void *d, uint32_t len)
{
	unsigned char h[5] = {(unsigned char)type, (unsigned char)len, (unsigned char)(len >> 8),
			      (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
	fs_write_all(fd, h, 5);
	if (len)
		fs_write_all(fd, d, len);
}

static void send_size(int sock)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) < 0)
		return;
	unsigned char b[4] = {(unsigned char)ws.ws_row, (unsigned char)(ws.ws_row >> 8),
			      (unsigned char)ws.ws_col, (unsigned char)(ws.ws_col >> 8)};
	ctr_send_frame(sock, 4, b, 4);
}

int ctr_attach_sock(eng *g, const char *id, berr *e)
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

/* Docker's detach keys: "ctrl-p,ctrl-q", "ctrl-a,x", ... */
int ctr_parse_detach_keys(const char *s, unsigned char out[16], size_t *n, berr *e)
{
	*n = 0;
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

/* Forward stdin bytes, holding back a partial detach sequence; returns true
 * when the whole sequence was typed (what came before it is sent). */
static bool forward_input(int sock, const ctr_relay_opts *o, const char *in, size_t n,
			  size_t *matched)
{
	static char out[65536 + 16];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (o->nkeys && ch == o->keys[*matched]) {
			if (++*matched == o->nkeys) {
				if (k)
					ctr_send_frame(sock, 0, out, (uint32_t)k);
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
		if (k >= 65536) {
			ctr_send_frame(sock, 0, out, (uint32_t)k);
			k = 0;
		}
	}
	if (k)
		ctr_send_frame(sock, 0, out, (uint32_t)k);
	return false;
}

int ctr_relay(int sock, const ctr_relay_opts *o)
{
	struct termios saved;
	bool raw = false;
	/* raw only when our input goes there (as Docker): otherwise ^C must
	 * stay a signal, or nothing could stop us */
	if (o->tty && o->in && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
	}
	if (o->tty) {
		struct sigaction sa = {.sa_handler = on_winch};
		sigaction(SIGWINCH, &sa, NULL);
		send_size(sock);
	}
	/* like docker's sig-proxy: what we get, the container gets */
	if (o->g) {
		struct sigaction sp = {.sa_handler = on_proxy};
		sigaction(SIGINT, &sp, NULL);
		sigaction(SIGTERM, &sp, NULL);
		sigaction(SIGHUP, &sp, NULL);
		sigaction(SIGQUIT, &sp, NULL);
		sigaction(SIGUSR1, &sp, NULL);
		sigaction(SIGUSR2, &sp, NULL);
	} else {
		/* ^C and a kill stop us even when we were started with them
		 * ignored (an asynchronous job of a shell without job control
		 * inherits SIGINT ignored), as Docker's runtime does */
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
	}
	bool in_open = o->in;
	int status = CTR_RELAY_GONE;
	size_t matched = 0;
	static char buf[65536];
	for (;;) {
		if (winch) {
			winch = 0;
			send_size(sock);
		}
		if (proxied && o->g) {
			berr ig;
			int sig = proxied;
			proxied = 0;
			rt_kill(&o->g->rt, o->id, sig, false, &ig);
		}
		struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
				      {.fd = in_open ? 0 : -1, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				in_open = false;
				if (matched) /* a held partial sequence */
					ctr_send_frame(sock, 0, o->keys, (uint32_t)matched);
				if (o->eof_closes)
					ctr_send_frame(sock, 0, NULL, 0);
			} else if (forward_input(sock, o, buf, (size_t)n, &matched)) {
				status = CTR_RELAY_DETACHED;
				break;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			unsigned char h[5];
			if (fs_read_full(sock, h, 5) != 5)
				break;
			uint32_t len = h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 |
				       (uint32_t)h[4] << 24;
			if (len > sizeof(buf) || fs_read_full(sock, buf, len) != (ssize_t)len)
				break;
			if (h[0] == 1)
				fs_write_all(1, buf, len);
			else if (h[0] == 2)
				fs_write_all(2, buf, len);
			else if (h[0] == 3 && len == 4) {
				status = (int)((unsigned char)buf[0] | (unsigned char)buf[1] << 8);
				break;
			} else if (h[0] == 6) {
				status = CTR_RELAY_BUSY;
				break;
			}
		}
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	return status;
}
