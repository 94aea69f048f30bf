/* berth-monitor: the per-container process (conmon's role).
 *
 * `berth` forks a child that becomes a child subreaper, creates the container
 * with the runtime library (so the container's init is its child), then execs
 * this small binary with the container's stdio on fixed fds:
 *   3 stdout read end (or the pty master with --tty)
 *   4 stderr read end (-1 / closed with --tty)
 *   5 stdin write end (or closed)
 *   6 the listening attach socket (<ctrdir>/attach.sock)
 *   8 the container's mount namespace (or /dev/null): held until the exit
 *     is told, so that the kernel's teardown of it (unmounts, an RCU grace
 *     period) happens after, in the monitor, not inside the init's exit
 * argv: berth-monitor CTRDIR INITPID FLAGS CLEANUP-ARGV...
 *   FLAGS: a string of letters: t = tty, i = stdin open, r = --rm, n = no
 *   log (--log-driver none); then @MAXBYTES,FILES to rotate ctr.log when it
 *   would pass MAXBYTES (ctr.log -> ctr.log.1 -> ... ctr.log.FILES-1)
 *   CLEANUP-ARGV: the command exec'ed after the container exited, unless
 *   the attached client said it cleans up itself (berth container cleanup).
 *
 * It writes ctr.log (one JSON line per chunk: {"log","stream","time"} like
 * Docker's json-file driver), reaps the init, writes "exit" atomically
 * ("STATUS FINISHED_NS"), and serves one attached client at a time; a
 * client that goes away without frame 5 (berth attach, or a detach) leaves
 * the place for the next one and the cleanup to the monitor.
 *
 * Attach protocol (unix stream socket), frames [type u8][len u32 LE][data]:
 *   monitor -> client: 1 stdout, 2 stderr, 3 exit (data: status as u32),
 *   6 busy (another client is attached; the connection is then closed)
 *   client -> monitor: 0 stdin (len 0 = close stdin), 4 resize (rows u16,
 *   cols u16), 5 "I clean up after the exit" (sent after receiving exit).
 * Kept deliberately free of libraries beyond libc: its RSS is the cost of
 * every running container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { FD_OUT = 3, FD_ERR = 4, FD_IN = 5, FD_LISTEN = 6, FD_MNTNS = 8 };

static int logfd = -1, dirfd_ = -1;
static long long logsize, logmax; /* logmax 0: no rotation */
static int logfiles = 1;

static void log_open(void)
{
	logfd = openat(dirfd_, "ctr.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	logsize = logfd >= 0 && fstat(logfd, &st) == 0 ? (long long)st.st_size : 0;
}

/* ctr.log.N-2 -> ctr.log.N-1, ..., ctr.log -> ctr.log.1 (with one file:
 * ctr.log starts again), each a rename: a reader never sees half a file. */
static void log_rotate(void)
{
	close(logfd);
	char from[32], to[32];
	for (int k = logfiles - 1; k >= 1; k--) {
		snprintf(to, sizeof(to), "ctr.log.%d", k);
		if (k == 1)
			snprintf(from, sizeof(from), "ctr.log");
		else
			snprintf(from, sizeof(from), "ctr.log.%d", k - 1);
		renameat(dirfd_, from, dirfd_, to);
	}
	if (logfiles == 1)
		unlinkat(dirfd_, "ctr.log", 0);
	log_open();
}
static int client = -1;

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void now_rfc3339(char *buf, size_t sz)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sz - n, ".%09ldZ", ts.tv_nsec);
}

/* One json-file line: {"log":"...","stream":"stdout","time":"..."} */
static void log_chunk(const char *stream, const char *data, size_t len)
{
	static char line[8192 * 6 + 256];
	size_t o = 0;
	o += (size_t)snprintf(line, sizeof(line), "{\"log\":\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '"' || c == '\\') {
			line[o++] = '\\';
			line[o++] = (char)c;
		} else if (c == '\n') {
			line[o++] = '\\';
			line[o++] = 'n';
		} else if (c == '\r') {
			line[o++] = '\\';
			line[o++] = 'r';
		} else if (c == '\t') {
			line[o++] = '\\';
			line[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(line + o, 7, "\\u%04x", c);
		} else {
			line[o++] = (char)c; /* UTF-8 passes through */
		}
	}
	char ts[64];
	now_rfc3339(ts, sizeof(ts));
	o += (size_t)snprintf(line + o, sizeof(line) - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
			      stream, ts);
	if (logfd < 0)
		return;
	if (logmax && logsize > 0 && logsize + (long long)o > logmax)
		log_rotate();
	if (logfd >= 0 && write_all(logfd, line, o) == 0)
		logsize += (long long)o;
}

static void send_frame(int type, const void *data, uint32_t len)
{
	if (client < 0)
		return;
	unsigned char h[5] = {(unsigned char)type, (unsigned char)len, (unsigned char)(len >> 8),
			      (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
	if (write_all(client, h, 5) < 0 || write_all(client, data, len) < 0) {
		close(client);
		client = -1;
	}
}

/* Read one chunk from an output fd; returns false at EOF/EIO. */
static int pump(int fd, int stream)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	/* one log entry per line, like Docker's json-file */
	const char *name = stream == 1 ? "stdout" : "stderr";
	for (size_t o = 0; o < (size_t)n;) {
		const char *nl = memchr(buf + o, '\n', (size_t)n - o);
		size_t l = nl ? (size_t)(nl - (buf + o)) + 1 : (size_t)n - o;
		log_chunk(name, buf + o, l);
		o += l;
	}
	send_frame(stream, buf, (uint32_t)n);
	return 1;
}

static int infd = FD_IN;
static int tty;

/* Handle client input; returns 5 when the client said it cleans up, 0 ok,
 * -1 when the client went away. */
static int client_input(void)
{
	unsigned char h[5];
	ssize_t n = recv(client, h, 5, MSG_WAITALL);
	if (n != 5)
		return -1;
	uint32_t len = h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
	if (len > 65536)
		return -1;
	static char buf[65536];
	if (len && recv(client, buf, len, MSG_WAITALL) != (ssize_t)len)
		return -1;
	switch (h[0]) {
	case 0:
		if (infd < 0)
			break;
		if (len == 0) {
			if (tty) {
				char eot = 4;
				write_all(infd, &eot, 1);
			} else {
				close(infd);
				infd = -1;
			}
		} else {
			write_all(infd, buf, len);
		}
		break;
	case 4:
		if (tty && len == 4) {
			struct winsize ws = {
			    .ws_row = (unsigned short)((buf[0] & 0xff) | (buf[1] & 0xff) << 8),
			    .ws_col = (unsigned short)((buf[2] & 0xff) | (buf[3] & 0xff) << 8)};
			ioctl(FD_OUT, TIOCSWINSZ, &ws);
		}
		break;
	case 5:
		return 5;
	}
	return 0;
}

static void write_exit(int status)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char buf[64];
	int n =
	    snprintf(buf, sizeof(buf), "%d %lld%09ld\n", status, (long long)ts.tv_sec, ts.tv_nsec);
	int fd = openat(dirfd_, "exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		write_all(fd, buf, (size_t)n);
		close(fd);
		renameat(dirfd_, "exit.tmp", dirfd_, "exit");
	}
}

/* Reap every exited child; the init's exit status (128 + signal for a
 * kill) once it has exited, else -1. After the exit the output pipes are
 * read without blocking: only leftover processes (no pid namespace) could
 * still hold them open. */
static int reap(pid_t init, int outfd, int errfd)
{
	int st, status = -1;
	pid_t w;
	while ((w = waitpid(-1, &st, WNOHANG)) > 0)
		if (w == init)
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (status >= 0) {
		int fl;
		if (outfd >= 0 && (fl = fcntl(outfd, F_GETFL)) >= 0)
			fcntl(outfd, F_SETFL, fl | O_NONBLOCK);
		if (errfd >= 0 && (fl = fcntl(errfd, F_GETFL)) >= 0)
			fcntl(errfd, F_SETFL, fl | O_NONBLOCK);
	}
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "berth-monitor: internal command, started by berth\n");
		return 2;
	}
	const char *dir = argv[1];
	pid_t init = (pid_t)atoi(argv[2]);
	tty = strchr(argv[3], 't') != NULL;
	if (!strchr(argv[3], 'i')) {
		if (!tty)
			close(FD_IN);
		infd = tty ? FD_OUT : -1;
	} else {
		infd = tty ? FD_OUT : FD_IN;
	}
	dirfd_ = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_ < 0)
		return 1;
	/* SIGCHLD held for the signalfd before berth may start the init: one
	 * that came unblocked would be discarded, and the exit never seen */
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return 1;
	/* fd 7: berth waits for this line */
	if (write_all(7, "OK\n", 3) == 0)
		close(7);
	const char *rot = strchr(argv[3], '@');
	if (rot) { /* @MAXBYTES,FILES (no sscanf: its code would be RSS here) */
		char *end;
		logmax = strtoll(rot + 1, &end, 10);
		logfiles = *end == ',' ? (int)strtol(end + 1, NULL, 10) : 1;
	}
	if (logfiles < 1)
		logfiles = 1;
	if (!strchr(argv[3], 'n'))
		log_open();
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		close(nul);
	}
	fcntl(FD_LISTEN, F_SETFD, FD_CLOEXEC);
	fcntl(FD_MNTNS, F_SETFD, FD_CLOEXEC);
	fcntl(FD_OUT, F_SETFD, FD_CLOEXEC);
	fcntl(FD_ERR, F_SETFD, FD_CLOEXEC);
	if (infd == FD_IN)
		fcntl(FD_IN, F_SETFD, FD_CLOEXEC);

	int outfd = FD_OUT, errfd = tty ? -1 : FD_ERR;
	if (tty)
		close(FD_ERR);
	/* an init gone before SIGCHLD was held (killed before its start) */
	int status = reap(init, outfd, errfd);
	for (;;) {
		/* after the exit, drain what is left without blocking */
		if (status >= 0 && outfd < 0 && errfd < 0)
			break;
		struct pollfd p[5] = {
		    {.fd = sfd, .events = POLLIN},    {.fd = outfd, .events = POLLIN},
		    {.fd = errfd, .events = POLLIN},  {.fd = FD_LISTEN, .events = POLLIN},
		    {.fd = client, .events = POLLIN},
		};
		int r = poll(p, 5, status >= 0 ? 0 : -1);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && status >= 0)
			break; /* drained */
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0) {
			}
			int now = reap(init, outfd, errfd); /* orphans too */
			if (now >= 0)
				status = now;
		}
		if (client >= 0 && (p[4].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (client_input() < 0) {
				close(client);
				client = -1;
			}
		}
		/* after the client's input (one that left frees the place) and before
		 * the output: `run` connects before the start, so output that is here
		 * already goes to it, not only to the log */
		if (p[3].revents & POLLIN) {
			int nc = accept4(FD_LISTEN, NULL, NULL, SOCK_CLOEXEC);
			if (nc >= 0 && client >= 0) {
				/* one client at a time: the newcomer is told so */
				static const unsigned char busy[5] = {6, 0, 0, 0, 0};
				(void)!write(nc, busy, 5);
				close(nc);
			} else if (nc >= 0) {
				client = nc;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			if (!pump(outfd, 1)) {
				if (outfd != infd)
					close(outfd);
				outfd = -1;
			}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			if (!pump(errfd, 2)) {
				close(errfd);
				errfd = -1;
			}
	}
	if (status < 0) {
		/* poll failed: wait for the init anyway */
		int st;
		while (waitpid(init, &st, 0) < 0 && errno == EINTR) {
		}
		status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	write_exit(status);
	unlinkat(dirfd_, "attach.sock", 0);
	if (client >= 0) {
		uint32_t s = (uint32_t)status;
		unsigned char b[4] = {(unsigned char)s, (unsigned char)(s >> 8),
				      (unsigned char)(s >> 16), (unsigned char)(s >> 24)};
		send_frame(3, b, 4);
		/* the client answers 5 if it cleans up itself */
		struct pollfd cp = {.fd = client, .events = POLLIN};
		struct timeval tv = {.tv_sec = 10};
		setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		int r = 0;
		while (client >= 0 && poll(&cp, 1, 10000) > 0 && (r = client_input()) == 0) {
		}
		if (r == 5) {
			close(FD_MNTNS);
			return 0;
		}
	}
	close(FD_MNTNS);
	if (argc > 4) {
		close(logfd);
		close(sfd);
		sigprocmask(SIG_UNBLOCK, &ss, NULL);
		execv(argv[4], argv + 4);
		return 1;
	}
	return 0;
}
