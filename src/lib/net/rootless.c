/* Rootless networking: spawn pasta or slirp4netns for a container's netns
 * (the contract is in rootless.h). */
#include "net/rootless.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

extern char **environ;

#define RL_READY_MS  10000 /* bound on the helper's setup */
#define RL_STOP_MS   1000  /* bound on each signal of net_rl_detach */
#define RL_MTU	     "65520"
#define RL_IFNAME    "eth0"
#define RL_SLIRP_DNS "10.0.2.3"
#define RL_PASTA_DNS "169.254.1.1"
/* the helper's fixed fds: stdin, stdout and stderr, then these */
#define RL_FD_READY 3
#define RL_FD_EXIT  4

static const char *const PACKAGE_OF[][2] = {{"pasta", "passt"}, {"slirp4netns", "slirp4netns"}};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	return left < 0 ? 0 : (int)left;
}

static const char *proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* The executable `name` in $PATH, into buf; 0, or -1 when not found. */
static int find_tool(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	for (const char *p = path; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len > 0) {
			int n = snprintf(buf, size, "%.*s/%s", (int)len, p, name);
			if (n > 0 && (size_t)n < size && access(buf, X_OK) == 0)
				return 0;
		}
		p += len + (colon ? 1 : 0);
	}
	return -1;
}

static const char *package_of(const char *tool)
{
	for (size_t i = 0; i < ARRAY_SIZE(PACKAGE_OF); i++)
		if (!strcmp(PACKAGE_OF[i][0], tool))
			return PACKAGE_OF[i][1];
	return tool;
}

/* Picks the tool (NULL: pasta, else slirp4netns) and its path. */
static int pick_tool(const char *want, char name[16], char *path, size_t size, berr *e)
{
	if (want && strcmp(want, "pasta") && strcmp(want, "slirp4netns"))
		return berr_set(e, EINVAL,
				"rootless network: unknown tool \"%.32s\" (pasta or slirp4netns)",
				want);
	if (want) {
		if (find_tool(want, path, size) < 0)
			return berr_set(
			    e, ENOENT, "rootless network: %s is not installed (apt-get install %s)",
			    want, package_of(want));
		snprintf(name, 16, "%s", want);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(PACKAGE_OF); i++) {
		if (find_tool(PACKAGE_OF[i][0], path, size) == 0) {
			snprintf(name, 16, "%s", PACKAGE_OF[i][0]);
			return 0;
		}
	}
	return berr_set(e, ENOENT,
			"rootless network: neither pasta nor slirp4netns is installed "
			"(apt-get install passt, or slirp4netns)");
}

const char *net_rl_default_tool(void)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(PACKAGE_OF); i++)
		if (find_tool(PACKAGE_OF[i][0], path, sizeof(path)) == 0)
			return PACKAGE_OF[i][0];
	return NULL;
}

/* One host address: "" / NULL (every address) or an IPv4/IPv6 literal. */
static int parse_host_ip(const char *ip, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (!ip || !*ip) {
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* "ADDR:PORT/PROTO" for messages ("[ADDR]:PORT/PROTO" for IPv6). */
static const char *port_str(const net_rl_port *p, char buf[96])
{
	const char *ip = p->host_ip && *p->host_ip ? p->host_ip : "0.0.0.0";
	bool v6 = strchr(ip, ':') != NULL;
	snprintf(buf, 96, "%s%.64s%s:%u/%s", v6 ? "[" : "", ip, v6 ? "]" : "", p->host_port,
		 proto_name(p->proto));
	return buf;
}

static int check_port(const net_rl_port *p, size_t i, berr *e)
{
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return berr_set(e, EINVAL,
				"rootless network: ports[%zu]: protocol %d is not tcp or udp", i,
				p->proto);
	if (!p->host_port || !p->ctr_port)
		return berr_set(e, EINVAL, "rootless network: ports[%zu]: port 0", i);
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_host_ip(p->host_ip, &ss, &len) < 0)
		return berr_set(e, EINVAL,
				"rootless network: ports[%zu]: \"%.64s\" is not an IP address", i,
				p->host_ip);
	return 0;
}

/* Binds the host port once to see that the helper will get it: a port in use
 * (by another program, or by another container's helper) is refused here
 * with its number, before any helper runs. */
static int probe_port(const net_rl_port *p, berr *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	parse_host_ip(p->host_ip, &ss, &len);
	((struct sockaddr_in *)&ss)->sin_port = htons(p->host_port); /* same offset in sin6 */
	int type = p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	_cleanup_close_ int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "rootless network: socket");
	int one = 1;
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return berr_sys(e, "rootless network: setsockopt SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&ss, len) == 0)
		return 0;
	int err = errno;
	char ps[96];
	port_str(p, ps);
	if (err == EADDRINUSE)
		return berr_set(e, EADDRINUSE, "rootless network: host port %s is already in use",
				ps);
	if (err == EACCES)
		return berr_set(e, EACCES,
				"rootless network: host port %s: permission denied (ports below "
				"net.ipv4.ip_unprivileged_port_start need privileges)",
				ps);
	return berr_errno(e, err, "rootless network: host port %s: bind", ps);
}

static int check_tun(berr *e)
{
	if (access("/dev/net/tun", R_OK | W_OK) == 0)
		return 0;
	int err = errno;
	struct stat st;
	if (err == EACCES && stat("/dev/net/tun", &st) == 0)
		return berr_set(
		    e, EACCES,
		    "rootless network: /dev/net/tun: permission denied (mode %04o; user-mode "
		    "networking needs it 0666, as udev sets it)",
		    (unsigned)(st.st_mode & 07777));
	return berr_errno(e, err, "rootless network: /dev/net/tun");
}

static int high_fd(int fd, berr *e);

/* The directory for the helper's temporary files: $XDG_RUNTIME_DIR, or /tmp. */
static const char *tmp_base(void)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	return x && x[0] == '/' && strlen(x) < 64 ? x : "/tmp";
}

/* An unlinked temporary file (the helper's stderr, or pasta's pid file when
 * `keep_path`), O_CLOEXEC. */
static int tmp_file(const char *what, char path[PATH_MAX], bool keep_path, berr *e)
{
	snprintf(path, PATH_MAX, "%s/berth-%s-XXXXXX", tmp_base(), what);
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "rootless network: mkostemp %s", path);
	if (!keep_path)
		unlink(path);
	/* above the helper's fixed fds, which the spawn overwrites first */
	fd = high_fd(fd, e);
	if (fd < 0 && keep_path)
		unlink(path);
	return fd;
}

/* The last line of the helper's log, its control characters replaced, for an
 * error message; syslog noise of pasta skipped. */
static void last_log_line(int fd, char *out, size_t size)
{
	char buf[4096];
	out[0] = '\0';
	off_t end = lseek(fd, 0, SEEK_END);
	if (end <= 0)
		return;
	off_t start = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, start);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *save = NULL;
	for (char *ln = strtok_r(buf, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		if (strstr(ln, "to syslog") || !ln[strspn(ln, " \t\r")])
			continue;
		snprintf(out, size, "%s", ln);
	}
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* A helper error: "TOOL: WHAT: LAST LOG LINE" (or without the log). */
static int helper_err(berr *e, int errnum, const char *tool, const char *what, int log_fd)
{
	char line[512];
	last_log_line(log_fd, line, sizeof(line));
	if (line[0])
		return berr_set(e, errnum, "rootless network: %s %s: %s", tool, what, line);
	return berr_set(e, errnum, "rootless network: %s %s", tool, what);
}

static void describe_status(int st, char *buf, size_t size)
{
	if (WIFEXITED(st))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, size, "stopped");
}

/* fd moved to >= 10 (so that the dup2 to its fixed number in the child is a
 * real dup2, clearing close-on-exec), O_CLOEXEC; the old one closed. */
static int high_fd(int fd, berr *e)
{
	if (fd >= 10)
		return fd;
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	int err = errno;
	close(fd);
	if (r < 0)
		return berr_errno(e, err, "rootless network: fcntl F_DUPFD_CLOEXEC");
	return r;
}

/* posix_spawn of `path` with stdin /dev/null, stdout+stderr to log_fd, and
 * (when >= 0) ready_fd and exit_fd as fds 3 and 4; every other fd closed. */
static int spawn_helper(const char *path, char *const argv[], int log_fd, int ready_fd, int exit_fd,
			pid_t *pid, berr *e)
{
	posix_spawn_file_actions_t fa;
	int r = posix_spawn_file_actions_init(&fa);
	if (r)
		return berr_errno(e, r, "rootless network: posix_spawn_file_actions_init");
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
	if (!r && ready_fd >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, ready_fd, RL_FD_READY);
	if (!r && exit_fd >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, exit_fd, RL_FD_EXIT);
	/* an fd of the caller's that is not close-on-exec stays out of the helper */
	int first_free = exit_fd >= 0 ? RL_FD_EXIT + 1 : ready_fd >= 0 ? RL_FD_READY + 1 : 3;
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, first_free);
	posix_spawnattr_t attr;
	int ra = posix_spawnattr_init(&attr);
	bool attr_failed = ra != 0;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	if (!ra)
		ra = posix_spawnattr_setsigmask(&attr, &none);
	if (!ra)
		ra = posix_spawnattr_setsigdefault(&attr, &all);
	if (!ra)
		ra =
		    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!r && !ra)
		r = posix_spawn(pid, path, &fa, &attr, argv, environ);
	else if (!r)
		r = ra;
	posix_spawn_file_actions_destroy(&fa);
	if (!attr_failed)
		posix_spawnattr_destroy(&attr);
	if (r)
		return berr_errno(e, r, "rootless network: spawn %s", path);
	return 0;
}

static void kill_wait_child(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static bool runs_tool(pid_t pid, const char *tool);

/* ---- pasta ------------------------------------------------------------------ */

#define PASTA_SPEC_MAX 64 /* "[ADDR/]HP:CP": an IPv6 address and two ports */

/* pasta's command line. An address prefix applies to a whole -t/-u list, so
 * each port is its own -t or -u option; a protocol without ports gets "none"
 * (pasta's default, "auto", would forward whatever the container binds). The
 * strings live in `specs` (nports * PASTA_SPEC_MAX bytes). */
static void pasta_argv(const char **argv, char *specs, const net_rl_port *ports, size_t n,
		       const char *pidpath, const char *pidstr)
{
	size_t k = 0;
	const char *fixed[] = {"pasta",	      "--config-net",  "--quiet",    "-I",   RL_IFNAME,
			       "--no-map-gw", "--dns-forward", RL_PASTA_DNS, "-T",   "none",
			       "-U",	      "none",	       "-P",	     pidpath};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		argv[k++] = fixed[i];
	/* uid 0 of the user's namespace (berth's rootless commands): pasta would
	 * switch to nobody, who cannot open the container's namespaces */
	if (geteuid() == 0) {
		argv[k++] = "--runas";
		argv[k++] = "0";
	}
	bool tcp = false, udp = false;
	for (size_t i = 0; i < n; i++) {
		const net_rl_port *p = &ports[i];
		char *spec = specs + i * PASTA_SPEC_MAX;
		const char *ip = p->host_ip && *p->host_ip ? p->host_ip : NULL;
		snprintf(spec, PASTA_SPEC_MAX, "%s%s%u:%u", ip ? ip : "", ip ? "/" : "",
			 p->host_port, p->ctr_port);
		argv[k++] = p->proto == IPPROTO_UDP ? "-u" : "-t";
		argv[k++] = spec;
		tcp |= p->proto == IPPROTO_TCP;
		udp |= p->proto == IPPROTO_UDP;
	}
	if (!tcp) {
		argv[k++] = "-t";
		argv[k++] = "none";
	}
	if (!udp) {
		argv[k++] = "-u";
		argv[k++] = "none";
	}
	if (pidstr) {
		argv[k++] = pidstr;
	} else { /* the netns the caller opened, as fd 3 (see pasta_attach) */
		argv[k++] = "--netns";
		argv[k++] = "/proc/self/fd/3";
	}
	argv[k] = NULL;
}
#define PASTA_ARGV_FIXED 24 /* fixed options, --runas 0, the two "none", the netns, NULL */

static int pasta_attach(const char *path, pid_t ctr_pid, const net_rl_port *ports, size_t n,
			net_rl *out, berr *e)
{
	_cleanup_free_ const char **argv = calloc(PASTA_ARGV_FIXED + 2 * n, sizeof(*argv));
	_cleanup_free_ char *specs = malloc(n * PASTA_SPEC_MAX + 1);
	if (!argv || !specs)
		return berr_set(e, ENOMEM, "rootless network: out of memory");
	char pidpath[PATH_MAX];
	_cleanup_close_ int pid_fd = tmp_file("pasta-pid", pidpath, true, e);
	if (pid_fd < 0)
		return -1;
	char logpath[PATH_MAX];
	_cleanup_close_ int log_fd = tmp_file("pasta-log", logpath, false, e);
	if (log_fd < 0) {
		unlink(pidpath);
		return -1;
	}
	char pidstr[16];
	snprintf(pidstr, sizeof(pidstr), "%d", (int)ctr_pid);
	/* uid 0 of the user's namespace (berth's rootless commands): the
	 * container shares our user namespace, and pasta, which drops its
	 * capabilities first, could not open the namespaces of a process holding
	 * more than it does; it gets the netns as an fd instead, and stays in our
	 * user namespace */
	_cleanup_close_ int nsfd = -1;
	if (geteuid() == 0) {
		char nsp[64];
		snprintf(nsp, sizeof(nsp), "/proc/%d/ns/net", (int)ctr_pid);
		nsfd = open(nsp, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0) {
			unlink(pidpath);
			return berr_sys(e, "rootless network: open %s", nsp);
		}
	}
	pasta_argv(argv, specs, ports, n, pidpath, nsfd >= 0 ? NULL : pidstr);
	pid_t pid;
	if (spawn_helper(path, (char *const *)argv, log_fd, nsfd, -1, &pid, e) < 0) {
		unlink(pidpath);
		return -1;
	}
	/* pasta sets up the tap device, addresses, routes and listening sockets,
	 * writes the pid file and then forks into the background: its first
	 * process exiting 0 is the ready signal. */
	int64_t deadline = now_ms() + RL_READY_MS;
	int st = 0;
	pid_t w;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 && ms_left(deadline) > 0) {
		if (pidfd >= 0) {
			struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
			poll(&pfd, 1, ms_left(deadline)); /* EINTR: waitpid tells */
		} else {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	if (w == 0) {
		kill_wait_child(pid);
		/* it may have forked its daemon already */
		char late[32] = "";
		if (pread(pid_fd, late, sizeof(late) - 1, 0) > 0) {
			long d = strtol(late, NULL, 10);
			if (d > 0 && d <= INT_MAX && runs_tool((pid_t)d, "pasta"))
				kill((pid_t)d, SIGKILL);
		}
		unlink(pidpath);
		return helper_err(e, ETIMEDOUT, "pasta", "did not get ready", log_fd);
	}
	if (w < 0) {
		unlink(pidpath);
		return berr_sys(e, "rootless network: waitpid pasta");
	}
	char buf[32] = "";
	ssize_t nr = pread(pid_fd, buf, sizeof(buf) - 1, 0);
	unlink(pidpath);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char how[48];
		describe_status(st, how, sizeof(how));
		return helper_err(e, EIO, "pasta", how, log_fd);
	}
	long daemon_pid = nr > 0 ? strtol(buf, NULL, 10) : 0;
	if (daemon_pid <= 0 || daemon_pid > INT_MAX)
		return berr_set(e, EIO, "rootless network: pasta wrote no pid to %s", pidpath);
	out->pid = (pid_t)daemon_pid;
	out->exit_fd = -1;
	return 0;
}

/* ---- slirp4netns -------------------------------------------------------------- */

/* Waits for a byte on the ready pipe; EOF means slirp4netns exited. */
static int slirp_wait_ready(pid_t *pid, int ready_rd, int log_fd, int64_t deadline, berr *e)
{
	for (;;) {
		struct pollfd pfd = {.fd = ready_rd, .events = POLLIN};
		int r = poll(&pfd, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return berr_sys(e, "rootless network: poll slirp4netns ready fd");
		if (r == 0)
			return helper_err(e, ETIMEDOUT, "slirp4netns", "did not get ready", log_fd);
		char c;
		ssize_t n = read(ready_rd, &c, 1);
		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		int st = 0;
		char how[48] = "closed its ready fd";
		if (waitpid(*pid, &st, 0) == *pid) {
			describe_status(st, how, sizeof(how));
			*pid = 0; /* reaped */
		}
		return helper_err(e, EIO, "slirp4netns", how, log_fd);
	}
}

/* One request on the API socket; the answer (one JSON object) into `resp`. */
static int slirp_api(const char *sock, const char *req, char *resp, size_t size, int64_t deadline,
		     berr *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(sock);
	if (plen >= sizeof(sa.sun_path))
		return berr_set(e, ENAMETOOLONG, "rootless network: %s: path too long", sock);
	memcpy(sa.sun_path, sock, plen + 1);
	_cleanup_close_ int fd = -1;
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return berr_sys(e, "rootless network: socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int err = errno;
		close(take_fd(&fd));
		if ((err != ENOENT && err != ECONNREFUSED) || ms_left(deadline) == 0)
			return berr_errno(e, err, "rootless network: connect %s", sock);
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	size_t len = strlen(req);
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return berr_sys(e, "rootless network: slirp4netns API: send");
	if (shutdown(fd, SHUT_WR) < 0)
		return berr_sys(e, "rootless network: slirp4netns API: shutdown");
	size_t got = 0;
	while (got < size - 1) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return berr_set(e, r ? errno : ETIMEDOUT,
					"rootless network: slirp4netns API: no answer");
		ssize_t n = read(fd, resp + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "rootless network: slirp4netns API: read");
		if (n == 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	return 0;
}

static int slirp_add_ports(const char *sock, const net_rl_port *ports, size_t n, int64_t deadline,
			   berr *e)
{
	for (size_t i = 0; i < n; i++) {
		const net_rl_port *p = &ports[i];
		const char *ip = p->host_ip && *p->host_ip ? p->host_ip : "0.0.0.0";
		char req[256], resp[512];
		snprintf(req, sizeof(req),
			 "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"%s\", "
			 "\"host_addr\": \"%s\", \"host_port\": %u, \"guest_port\": %u}}",
			 proto_name(p->proto), ip, p->host_port, p->ctr_port);
		if (slirp_api(sock, req, resp, sizeof(resp), deadline, e) < 0)
			return -1;
		if (strstr(resp, "\"return\""))
			continue;
		/* slirp4netns says only "slirp_add_hostfwd failed": a port taken
		 * since the probe is the likely cause, and the probe tells. */
		if (probe_port(p, e) < 0)
			return -1;
		for (char *c = resp; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		char ps[96];
		return berr_set(e, EIO, "rootless network: slirp4netns: host port %s: %.200s",
				port_str(p, ps), resp);
	}
	return 0;
}

static int slirp_attach(const char *path, pid_t ctr_pid, const net_rl_port *ports, size_t n,
			net_rl *out, berr *e)
{
	char dir[96]; /* tmp_base() is under 64 bytes: the socket path fits sun_path */
	snprintf(dir, sizeof(dir), "%s/berth-slirp-XXXXXX", tmp_base());
	if (!mkdtemp(dir))
		return berr_sys(e, "rootless network: mkdtemp %s", dir);
	char sock[sizeof(dir) + 16];
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	char logpath[PATH_MAX];
	int log_fd = tmp_file("slirp-log", logpath, false, e);
	int ready[2] = {-1, -1}, exitp[2] = {-1, -1};
	pid_t pid = 0;
	int ret = -1;
	if (log_fd < 0)
		goto out;
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(exitp, O_CLOEXEC) < 0) {
		berr_sys(e, "rootless network: pipe2");
		goto out;
	}
	if ((ready[1] = high_fd(ready[1], e)) < 0 || (exitp[0] = high_fd(exitp[0], e)) < 0)
		goto out;
	char pidstr[16], readyarg[24], exitarg[24];
	snprintf(pidstr, sizeof(pidstr), "%d", (int)ctr_pid);
	snprintf(readyarg, sizeof(readyarg), "--ready-fd=%d", RL_FD_READY);
	snprintf(exitarg, sizeof(exitarg), "--exit-fd=%d", RL_FD_EXIT);
	char *const argv[] = {"slirp4netns",
			      "--configure",
			      "--mtu=" RL_MTU,
			      "--disable-host-loopback",
			      readyarg,
			      exitarg,
			      "--api-socket",
			      sock,
			      pidstr,
			      RL_IFNAME,
			      NULL};
	if (spawn_helper(path, argv, log_fd, ready[1], exitp[0], &pid, e) < 0) {
		pid = 0;
		goto out;
	}
	close(take_fd(&ready[1]));
	close(take_fd(&exitp[0]));
	int64_t deadline = now_ms() + RL_READY_MS;
	if (slirp_wait_ready(&pid, ready[0], log_fd, deadline, e) < 0)
		goto out;
	if (slirp_add_ports(sock, ports, n, deadline, e) < 0)
		goto out;
	out->pid = pid;
	out->exit_fd = take_fd(&exitp[1]);
	pid = 0;
	ret = 0;
out:
	if (pid > 0)
		kill_wait_child(pid);
	unlink(sock); /* slirp4netns keeps its listening fd; nobody connects again */
	rmdir(dir);
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (exitp[i] >= 0)
			close(exitp[i]);
	}
	if (log_fd >= 0)
		close(log_fd);
	return ret;
}

/* ---- the API ---------------------------------------------------------------- */

int net_rl_attach(pid_t ctr_pid, const char *tool, const net_rl_port *ports, size_t nports,
		  net_rl *out, char dns[64], berr *e)
{
	memset(out, 0, sizeof(*out));
	out->exit_fd = -1;
	dns[0] = '\0';
	if (ctr_pid <= 0)
		return berr_set(e, EINVAL, "rootless network: container pid %d", (int)ctr_pid);
	char name[16], path[PATH_MAX];
	if (pick_tool(tool, name, path, sizeof(path), e) < 0)
		return -1;
	for (size_t i = 0; i < nports; i++)
		if (check_port(&ports[i], i, e) < 0)
			return -1;
	char nspath[64];
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)ctr_pid);
	int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 && errno == EACCES)
		/* the kernel hides the namespaces of a non-dumpable process from an
		 * unprivileged caller, as the helper would be hidden from them too */
		return berr_set(e, EACCES,
				"rootless network: container pid %d: open %s: permission denied "
				"(the process is not dumpable, or not the caller's)",
				(int)ctr_pid, nspath);
	if (nsfd < 0)
		return berr_sys(e, "rootless network: container pid %d: open %s", (int)ctr_pid,
				nspath);
	close(nsfd);
	if (check_tun(e) < 0)
		return -1;
	for (size_t i = 0; i < nports; i++)
		if (probe_port(&ports[i], e) < 0)
			return -1;
	for (size_t i = 0; !strcmp(name, "slirp4netns") && i < nports; i++) {
		char ps[96];
		if (ports[i].host_ip && strchr(ports[i].host_ip, ':'))
			return berr_set(e, EINVAL,
					"rootless network: host port %s: slirp4netns forwards from "
					"IPv4 host addresses only (pasta does IPv6)",
					port_str(&ports[i], ps));
	}
	int r = !strcmp(name, "pasta") ? pasta_attach(path, ctr_pid, ports, nports, out, e)
				       : slirp_attach(path, ctr_pid, ports, nports, out, e);
	if (r < 0)
		return -1;
	snprintf(out->tool, sizeof(out->tool), "%s", name);
	snprintf(dns, 64, "%s", !strcmp(name, "pasta") ? RL_PASTA_DNS : RL_SLIRP_DNS);
	return 0;
}

/* Whether pid still runs `tool` (argv[0]'s base name): pasta is no child of
 * ours, and its pid may have been reused once it exited. */
static bool runs_tool(pid_t pid, const char *tool)
{
	char p[64], buf[256];
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	return !strcmp(base, tool);
}

static bool signal_and_wait(int pidfd, pid_t pid, int sig)
{
	if (kill(pid, sig) < 0)
		return errno == ESRCH;
	if (pidfd < 0)
		return false;
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
	int64_t deadline = now_ms() + RL_STOP_MS;
	int r;
	while ((r = poll(&pfd, 1, ms_left(deadline))) < 0 && errno == EINTR)
		;
	return r > 0;
}

void net_rl_detach(net_rl *rl)
{
	if (rl->pid > 0) {
		if (rl->exit_fd >= 0)
			close(rl->exit_fd);
		int st;
		/* our child (slirp4netns): exited already, or ours to stop */
		pid_t w = waitpid(rl->pid, &st, WNOHANG);
		if (w == 0 || (w < 0 && errno == ECHILD && runs_tool(rl->pid, rl->tool))) {
			int pidfd = (int)syscall(SYS_pidfd_open, rl->pid, 0);
			if (!signal_and_wait(pidfd, rl->pid, SIGTERM))
				signal_and_wait(pidfd, rl->pid, SIGKILL);
			if (pidfd >= 0)
				close(pidfd);
			if (w == 0)
				while (waitpid(rl->pid, &st, 0) < 0 && errno == EINTR)
					;
		}
	}
	memset(rl, 0, sizeof(*rl));
	rl->exit_fd = -1;
}
