#include "net/dns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

extern char **environ;

#define AARDVARK_DEFAULT "/usr/lib/podman/aardvark-dns"
#define PID_FILE	 "aardvark.pid"
#define PROBE_ID	 "berthprobe"
#define PROBE_PREFIX	 "_berth-probe-"
#define READY_MS	 2000
#define STOP_MS		 2000

/* ---- names ---------------------------------------------------------------- */

static bool valid_id(const char *s)
{
	if (!*s || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* A network's file name: a name as above, not a dot file, not the pid file. */
static bool valid_network(const char *s)
{
	return valid_name(s) && strlen(s) < 200 && s[0] != '.' && strcmp(s, PID_FILE);
}

/* ---- the directory and its lock ------------------------------------------ */

/* An O_RDONLY fd of dir, flock'ed exclusively (released when it is closed;
 * O_CLOEXEC, so aardvark never inherits the lock). ENOENT if missing. */
static int lock_dir(const char *dir, berr *e)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", dir);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return berr_sys(e, "flock %s", dir);
	return take_fd(&fd);
}

static uint64_t random64(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == sizeof(v))
		return v;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
	       ((uint64_t)getpid() << 40);
}

/* Replace real/name (real: the directory's canonical path, dfd its fd) with
 * text, atomically. The temporary file goes to the directory's parent: in
 * the directory, aardvark would parse it (and stop on a torn one) if it
 * reloaded meanwhile or after a crash. */
static int replace_file(const char *real, int dfd, const char *name, const char *text, size_t len,
			berr *e)
{
	const char *slash = strrchr(real, '/');
	_cleanup_free_ char *parent = slash == real ? xstrdup("/") : xstrndup(real, slash - real);
	_cleanup_free_ char *tmp = xasprintf(".%s.%s.tmp", slash + 1, name);
	_cleanup_close_ int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return berr_sys(e, "open %s", parent);
	_cleanup_close_ int tfd =
	    openat(pfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (tfd < 0)
		return berr_sys(e, "create %s/%s", parent, tmp);
	if (fs_write_all(tfd, text, len) < 0) {
		berr_sys(e, "write %s/%s", parent, tmp);
		unlinkat(pfd, tmp, 0);
		return -1;
	}
	if (renameat(pfd, tmp, dfd, name) < 0) {
		berr_sys(e, "rename %s/%s to %s/%s", parent, tmp, real, name);
		unlinkat(pfd, tmp, 0);
		return -1;
	}
	return 0;
}

int net_dns_write(const char *dir, const char *network, struct in_addr gw,
		  const char *const *upstream, const net_dns_rec *recs, size_t nrec, berr *e)
{
	return net_dns_write_ds(dir, network, gw, NULL, upstream, recs, nrec, e);
}

int net_dns_write_ds(const char *dir, const char *network, struct in_addr gw,
		     const struct in6_addr *gw6, const char *const *upstream,
		     const net_dns_rec *recs, size_t nrec, berr *e)
{
	if (!valid_network(network))
		return berr_set(e, EINVAL, "aardvark config: bad network file name \"%s\"",
				network);
	char gwbuf[INET_ADDRSTRLEN], ipbuf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &gw, gwbuf, sizeof(gwbuf));
	for (size_t i = 0; upstream && upstream[i]; i++) {
		unsigned char a[sizeof(struct in6_addr)];
		if (inet_pton(AF_INET, upstream[i], a) != 1 &&
		    inet_pton(AF_INET6, upstream[i], a) != 1)
			return berr_set(e, EINVAL,
					"aardvark config %s: upstream \"%s\" is not an IP", network,
					upstream[i]);
	}
	for (size_t i = 0; i < nrec; i++) {
		if (!recs[i].id || !valid_id(recs[i].id))
			return berr_set(e, EINVAL, "aardvark config %s: bad container id \"%s\"",
					network, recs[i].id ? recs[i].id : "");
		if (recs[i].nnames == 0)
			return berr_set(e, EINVAL, "aardvark config %s: container %s has no name",
					network, recs[i].id);
		for (size_t j = 0; j < recs[i].nnames; j++)
			if (!valid_name(recs[i].names[j]))
				return berr_set(e, EINVAL, "aardvark config %s: bad name \"%s\"",
						network, recs[i].names[j]);
	}
	if (fs_mkdir_p(dir, 0700, e) < 0)
		return -1;
	_cleanup_close_ int dfd = lock_dir(dir, e);
	if (dfd < 0)
		return -1;
	if (nrec == 0) {
		if (unlinkat(dfd, network, 0) < 0 && errno != ENOENT)
			return berr_sys(e, "unlink %s/%s", dir, network);
		return 0;
	}

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	fputs(gwbuf, f);
	if (gw6) { /* aardvark listens on every address of the first column */
		char g6[INET6_ADDRSTRLEN];
		fprintf(f, ",%s", inet_ntop(AF_INET6, gw6, g6, sizeof(g6)));
	}
	for (size_t i = 0; upstream && upstream[i]; i++)
		fprintf(f, "%c%s", i ? ',' : ' ', upstream[i]);
	fputc('\n', f);
	for (size_t i = 0; i < nrec; i++) {
		inet_ntop(AF_INET, &recs[i].ip, ipbuf, sizeof(ipbuf));
		char ip6buf[INET6_ADDRSTRLEN] = "";
		if (recs[i].ip6)
			inet_ntop(AF_INET6, recs[i].ip6, ip6buf, sizeof(ip6buf));
		fprintf(f, "%s %s %s ", recs[i].id, ipbuf, ip6buf);
		for (size_t j = 0; j < recs[i].nnames; j++)
			fprintf(f, "%s%s", j ? "," : "", recs[i].names[j]);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		abort();
	_cleanup_free_ char *text = buf;
	_cleanup_free_ char *real = realpath(dir, NULL);
	if (!real)
		return berr_sys(e, "realpath %s", dir);
	return replace_file(real, dfd, network, text, len, e);
}

/* ---- what the files ask for ----------------------------------------------- */

typedef struct target {
	char network[256];
	struct sockaddr_in gw;
	char probe[64]; /* the name to ask for */
} target;

/* Give one file a new probe record (the old one dropped) and note its
 * gateway (the first address of the first line) and the probe's name in t.
 * 0 done, 1 not a file to wait for (no IPv4 gateway: not berth's). */
static int refresh_target(const char *real, int dfd, const char *name, target *t, berr *e)
{
	_cleanup_free_ char *s = NULL;
	size_t len;
	if (fs_read_file_at(dfd, name, &s, &len, e) < 0)
		return -1;
	size_t l1 = strcspn(s, "\n"), gl = strcspn(s, ", \n");
	char gw[INET6_ADDRSTRLEN];
	memset(t, 0, sizeof(*t));
	t->gw.sin_family = AF_INET;
	t->gw.sin_port = htons(53);
	if (gl == 0 || gl >= sizeof(gw))
		return 1;
	memcpy(gw, s, gl);
	gw[gl] = '\0';
	if (inet_pton(AF_INET, gw, &t->gw.sin_addr) != 1)
		return 1;
	snprintf(t->network, sizeof(t->network), "%s", name);
	snprintf(t->probe, sizeof(t->probe), PROBE_PREFIX "%016llx",
		 (unsigned long long)random64());

	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (!f)
		abort();
	fprintf(f, "%.*s\n", (int)l1, s);
	for (const char *l = s + l1; *l;) {
		if (*l == '\n') {
			l++;
			continue;
		}
		size_t ll = strcspn(l, "\n");
		if (strncmp(l, PROBE_ID " ", strlen(PROBE_ID) + 1))
			fprintf(f, "%.*s\n", (int)ll, l);
		l += ll;
	}
	fprintf(f, PROBE_ID " 0.0.0.0  %s\n", t->probe);
	if (fclose(f) != 0)
		abort();
	_cleanup_free_ char *text = buf;
	return replace_file(real, dfd, name, text, blen, e);
}

/* Every file of dir (aardvark.pid and dot files aside) refreshed as a
 * target; *nfiles counts the files, targets or not. */
static target *refresh_targets(const char *real, int dfd, size_t *n, size_t *nfiles, berr *e)
{
	*n = *nfiles = 0;
	/* the names first: the renames below must not disturb a readdir */
	char **names = fs_list_at(dfd, ".", e);
	if (!names)
		return NULL;
	size_t cnt = strv_len(names);
	target *v = xreallocarray(NULL, cnt ? cnt : 1, sizeof(*v));
	for (size_t i = 0; i < cnt; i++) {
		if (names[i][0] == '.' || !strcmp(names[i], PID_FILE))
			continue;
		int r = refresh_target(real, dfd, names[i], &v[*n], e);
		if (r < 0 && e->errnum == ENOENT)
			continue; /* removed meanwhile */
		if (r < 0) {
			berr_ctx(e, "aardvark config");
			free(v);
			strv_free(names);
			return NULL;
		}
		(*nfiles)++;
		if (r == 0)
			(*n)++;
	}
	strv_free(names);
	return v;
}

/* ---- the aardvark process -------------------------------------------------- */

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Has the process of pidfd exited (a zombie counts as exited)? */
static bool pidfd_exited(int pidfd, int timeout_ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int r;
	while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	return r > 0;
}

/* The binary to run: $BERTH_AARDVARK or the Debian path, resolved. */
static char *aardvark_path(berr *e)
{
	const char *p = getenv("BERTH_AARDVARK");
	if (!p || !*p)
		p = AARDVARK_DEFAULT;
	char *real = realpath(p, NULL);
	if (!real || access(real, X_OK) < 0) {
		free(real);
		berr_set(e, ENOENT, "%s: aardvark-dns not found (install aardvark-dns)", p);
		return NULL;
	}
	return real;
}

/* Is pid an aardvark-dns (exe) serving dir (its argv has "--config dir")? */
static bool is_our_aardvark(pid_t pid, const char *exe, const char *dir)
{
	char path[64], link[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	size_t el = strlen(exe);
	/* " (deleted)": the package was upgraded under the running server */
	if (strncmp(link, exe, el) || (link[el] && strcmp(link + el, " (deleted)")))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	_cleanup_free_ char *cmd = NULL;
	size_t len;
	berr ig;
	if (fs_read_file_at(AT_FDCWD, path, &cmd, &len, &ig) < 0)
		return false;
	for (size_t i = 0; i < len;) {
		const char *a = cmd + i;
		size_t al = strnlen(a, len - i);
		if (i + al + 1 < len && !strcmp(a, "--config"))
			return !strcmp(a + al + 1, dir);
		i += al + 1;
	}
	return false;
}

/* A pidfd of the aardvark named by dir's pid file if it is ours and alive,
 * else -1. remove_stale: a pid file naming anything else is removed (not
 * while a server we started may be writing it: it could be half written). */
static int find_aardvark(int dfd, const char *exe, const char *dir, bool remove_stale)
{
	_cleanup_free_ char *s = NULL;
	size_t len;
	berr ig;
	if (fs_read_file_at(dfd, PID_FILE, &s, &len, &ig) < 0)
		return -1;
	char *end;
	errno = 0;
	long pid = strtol(s, &end, 10);
	if (errno || end == s || pid <= 1 || pid > INT_MAX) {
		if (remove_stale)
			unlinkat(dfd, PID_FILE, 0);
		return -1;
	}
	/* The pidfd first, then the check: the pidfd names the process that
	 * was checked unless it died in between, which the exit test sees. */
	_cleanup_close_ int pfd = pidfd_open_((pid_t)pid);
	if (pfd < 0 || !is_our_aardvark((pid_t)pid, exe, dir) || pidfd_exited(pfd, 0)) {
		if (remove_stale)
			unlinkat(dfd, PID_FILE, 0);
		return -1;
	}
	return take_fd(&pfd);
}

/* Start `exe --config dir -p 53 run` in a session of its own, stdio on
 * /dev/null, no other fd; wait for its launcher (it forks the server and
 * exits). */
static int spawn_aardvark(const char *exe, const char *dir, berr *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawn_file_actions_init(&fa) != 0)
		abort();
	if (posix_spawnattr_init(&at) != 0)
		abort();
	int r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, 0, 1);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, 0, 2);
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!r)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
						      POSIX_SPAWN_SETSIGDEF);
	if (!r)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&at, &all);
	pid_t pid = -1;
	char *argv[] = {(char *)exe, "--config", (char *)dir, "-p", "53", "run", NULL};
	if (!r)
		r = posix_spawn(&pid, exe, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r)
		return berr_errno(e, r, "spawn %s", exe);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno == ECHILD)
			return 0; /* SIGCHLD ignored by the caller: reaped already, the
				     probe tells whether it serves */
		if (errno != EINTR)
			return berr_sys(e, "waitpid %s", exe);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return berr_set(e, EIO, "%s --config %s run: exited with %s %d", exe, dir,
				WIFEXITED(st) ? "status" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}

/* Stop the aardvark of pidfd: SIGTERM, then SIGKILL after a second. */
static int stop_aardvark(int pidfd, int dfd, const char *dir, berr *e)
{
	if (pidfd_signal(pidfd, SIGTERM) < 0 && errno != ESRCH)
		return berr_sys(e, "kill aardvark-dns of %s", dir);
	if (!pidfd_exited(pidfd, STOP_MS / 2)) {
		if (pidfd_signal(pidfd, SIGKILL) < 0 && errno != ESRCH)
			return berr_sys(e, "kill -9 aardvark-dns of %s", dir);
		if (!pidfd_exited(pidfd, STOP_MS / 2))
			return berr_set(e, ETIMEDOUT, "aardvark-dns of %s does not exit", dir);
	}
	if (unlinkat(dfd, PID_FILE, 0) < 0 && errno != ENOENT)
		return berr_sys(e, "unlink %s/" PID_FILE, dir);
	return 0;
}

/* ---- the readiness probe ---------------------------------------------------- */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A query for one A record of name: header (12), labels, type and class.
 * Returns its length, 0 if the name does not fit. */
static size_t dns_query(uint8_t *b, size_t sz, uint16_t id, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 253 || 12 + n + 2 + 4 > sz)
		return 0;
	memset(b, 0, 12);
	b[0] = id >> 8;
	b[1] = id & 0xff;
	b[2] = 0x01; /* RD */
	b[5] = 1;    /* QDCOUNT */
	size_t o = 12;
	for (const char *l = name; *l;) {
		size_t ll = strcspn(l, ".");
		if (ll == 0 || ll > 63)
			return 0;
		b[o++] = (uint8_t)ll;
		memcpy(b + o, l, ll);
		o += ll;
		l += ll;
		if (*l == '.')
			l++;
	}
	b[o++] = 0;
	b[o++] = 0;
	b[o++] = 1; /* QTYPE A */
	b[o++] = 0;
	b[o++] = 1; /* QCLASS IN */
	return o;
}

/* 1 if r (len bytes) answers query id with RCODE 0 and an answer, 0 if it
 * is some other (or no) answer. */
static int dns_answered(const uint8_t *r, size_t len, uint16_t id)
{
	if (len < 12 || r[0] != id >> 8 || r[1] != (id & 0xff) || !(r[2] & 0x80))
		return 0;
	unsigned rcode = r[3] & 0x0f, ancount = (unsigned)r[6] << 8 | r[7];
	return rcode == 0 && ancount > 0;
}

/* Wait until t's gateway answers its probe, by the deadline. aardvark
 * (pidfd) exiting ends the wait with an error. */
static int wait_probe(const target *t, int pidfd, int64_t deadline, const char *dir, berr *e)
{
	uint8_t q[300], r[512];
	uint16_t id;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint16_t)(now_us() ^ getpid());
	size_t qlen = dns_query(q, sizeof(q), id, t->probe);
	char gw[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &t->gw.sin_addr, gw, sizeof(gw));
	if (!qlen)
		return berr_set(e, EINVAL, "aardvark config %s/%s: bad name \"%s\"", dir,
				t->network, t->probe);
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return berr_sys(e, "socket");
	if (connect(s, (const struct sockaddr *)&t->gw, sizeof(t->gw)) < 0)
		return berr_sys(e, "connect %s:53 (network %s)", gw, t->network);
	/* Resend every 250 us for the first 10 ms (a reload takes 0.5-5 ms;
	 * the wait is what a container start pays), then every 1 ms, then
	 * every 10 ms. A refused query (no listener yet) is resent on the same
	 * beat, not at once. */
	unsigned others = 0; /* answers that were not the probe's */
	for (int sent = 0;; sent++) {
		if (send(s, q, qlen, 0) < 0 && errno != ECONNREFUSED && errno != EAGAIN)
			return berr_sys(e, "send to %s:53", gw);
		int64_t until = now_us() + (sent < 40 ? 250 : sent < 130 ? 1000 : 10000);
		if (until > deadline)
			until = deadline;
		bool refused = false;
		for (;;) {
			int64_t left = until - now_us();
			if (left < 0)
				left = 0;
			struct timespec ts = {left / 1000000, (left % 1000000) * 1000};
			struct pollfd p[2] = {{.fd = refused ? -1 : s, .events = POLLIN},
					      {.fd = pidfd, .events = POLLIN}};
			int pr = ppoll(p, 2, &ts, NULL);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return berr_sys(e, "poll");
			if (pr == 0)
				break;
			if (p[1].revents)
				return berr_set(e, ESRCH,
						"aardvark-dns of %s exited (a config it cannot "
						"parse?)",
						dir);
			ssize_t n = recv(s, r, sizeof(r), 0);
			if (n >= 0 && dns_answered(r, (size_t)n, id))
				return 0;
			others += n >= 0;
			if (n < 0 && errno == ECONNREFUSED)
				refused = true;
		}
		if (now_us() >= deadline)
			return berr_set(e, ETIMEDOUT,
					"aardvark-dns does not answer on %s:53 (network %s) "
					"within %d ms%s",
					gw, t->network, READY_MS,
					others ? " (answers came, without berth's probe name: "
						 "another DNS server on that port?)"
					       : "");
	}
}

int net_dns_reload(const char *dir, berr *e)
{
	_cleanup_free_ char *real = realpath(dir, NULL);
	if (!real) {
		if (errno == ENOENT)
			return 0; /* no files were ever written: nothing to serve */
		return berr_sys(e, "realpath %s", dir);
	}
	_cleanup_close_ int dfd = lock_dir(real, e);
	if (dfd < 0)
		return -1;
	size_t n, nfiles;
	_cleanup_free_ target *t = refresh_targets(real, dfd, &n, &nfiles, e);
	if (!t)
		return -1;
	_cleanup_free_ char *exe = aardvark_path(e);
	if (!exe && nfiles)
		return -1;
	if (!exe) { /* nothing to serve, and no aardvark to stop */
		berr_clear(e);
		return 0;
	}
	_cleanup_close_ int pidfd = find_aardvark(dfd, exe, real, true);
	if (nfiles == 0)
		return pidfd >= 0 ? stop_aardvark(pidfd, dfd, real, e) : 0;

	if (pidfd >= 0 && pidfd_signal(pidfd, SIGHUP) < 0) {
		if (errno != ESRCH)
			return berr_sys(e, "SIGHUP aardvark-dns of %s", real);
		close(take_fd(&pidfd)); /* it just exited: start another */
	}
	if (pidfd < 0) {
		if (spawn_aardvark(exe, real, e) < 0)
			return -1;
		pidfd = find_aardvark(dfd, exe, real, false);
	}
	int64_t deadline = now_us() + READY_MS * 1000;
	for (size_t i = 0; i < n; i++) {
		/* The server writes its pid file itself, maybe after its
		 * launcher exits: pick it up while waiting. */
		if (pidfd < 0)
			pidfd = find_aardvark(dfd, exe, real, false);
		if (wait_probe(&t[i], pidfd, deadline, real, e) < 0)
			return -1;
	}
	return 0;
}
