/* net/rootless: argument and host checks that run before any helper is spawned
 * (unknown tool, missing package, bad port, host port in use), and detach on
 * every state. Run with arguments it is the driver of
 * tests/integration/test_net_rootless.py, which gives a real rootless
 * container's netns a network and fetches a file through it:
 *   test_net_rootless attach TOOL|auto PID [tcp|udp/HOSTPORT/CTRPORT[/HOSTIP]]...
 * prints "ok pid=N tool=T dns=D exit_fd=F attach_us=U" (or "error errno=N: MESSAGE" and
 * exits 1), waits for EOF on stdin, detaches and prints "detached". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "net/rootless.h"

static bool tool_installed(const char *name)
{
	const char *dirs[] = {"/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"};
	char p[128];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dirs[i], name);
		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

static int attach_err(const char *tool, const net_rl_port *ports, size_t n, berr *e)
{
	net_rl rl;
	char dns[64];
	int r = net_rl_attach(getpid(), tool, ports, n, &rl, dns, e);
	if (r == 0)
		net_rl_detach(&rl);
	return r;
}

static void test_unknown_tool(void)
{
	berr e = {0};
	CHECK(attach_err("vde", NULL, 0, &e) == -1);
	CHECK(e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "unknown tool \"vde\"");
}

/* With an empty PATH every tool is missing: the error names the package. */
static void test_missing_package_named(void)
{
	char dir[] = "/tmp/berth-rl-empty-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	const char *old = getenv("PATH");
	char *saved = old ? strdup(old) : NULL;
	setenv("PATH", dir, 1);
	berr a = {0}, b = {0}, c = {0};
	int ra = attach_err("pasta", NULL, 0, &a);
	int rb = attach_err("slirp4netns", NULL, 0, &b);
	int rc = attach_err(NULL, NULL, 0, &c);
	if (saved)
		setenv("PATH", saved, 1);
	else
		unsetenv("PATH");
	free(saved);
	rmdir(dir);
	CHECK(ra == -1 && a.errnum == ENOENT);
	CHECK_CONTAINS(a.msg, "apt-get install passt");
	CHECK(rb == -1 && b.errnum == ENOENT);
	CHECK_CONTAINS(b.msg, "apt-get install slirp4netns");
	CHECK(rc == -1 && c.errnum == ENOENT);
	CHECK_CONTAINS(c.msg, "neither pasta nor slirp4netns");
}

static void test_bad_ports(void)
{
	if (!tool_installed("slirp4netns") && !tool_installed("pasta")) {
		printf("skip: bad ports: needs pasta or slirp4netns (apt-get install passt)\n");
		return;
	}
	berr e = {0};
	net_rl_port p = {.proto = 99, .host_port = 8080, .ctr_port = 80};
	CHECK(attach_err(NULL, &p, 1, &e) == -1 && e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "ports[0]: protocol 99");
	net_rl_port q[] = {{IPPROTO_TCP, 8080, 80, NULL}, {IPPROTO_UDP, 53, 53, "nope"}};
	CHECK(attach_err(NULL, q, 2, &e) == -1 && e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "ports[1]: \"nope\" is not an IP address");
	net_rl_port z = {IPPROTO_TCP, 0, 80, NULL};
	CHECK(attach_err(NULL, &z, 1, &e) == -1 && e.errnum == EINVAL);
}

/* A host port some other program listens on: EADDRINUSE naming it, from the
 * probe before the helper runs (so no helper to clean up). */
static void port_in_use(const char *tool, int type)
{
	if (!tool_installed(tool)) {
		printf("skip: port in use (%s): needs %s\n", tool, tool);
		return;
	}
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, len) == 0);
	CHECK(type != SOCK_STREAM || listen(fd, 1) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	unsigned port = ntohs(sa.sin_port);
	net_rl_port p = {type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP, (uint16_t)port, 80,
			 "127.0.0.1"};
	berr e = {0};
	int r = attach_err(tool, &p, 1, &e);
	close(fd);
	CHECK(r == -1);
	CHECK(e.errnum == EADDRINUSE);
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%u/%s is already in use", port,
		 type == SOCK_STREAM ? "tcp" : "udp");
	CHECK_CONTAINS(e.msg, want);
}

static void test_port_in_use_pasta(void)
{
	port_in_use("pasta", SOCK_STREAM);
}

static void test_port_in_use_slirp_udp(void)
{
	port_in_use("slirp4netns", SOCK_DGRAM);
}

static void test_detach_zeroed_and_twice(void)
{
	net_rl rl;
	memset(&rl, 0, sizeof(rl));
	net_rl_detach(&rl);
	CHECK(rl.pid == 0 && rl.exit_fd == -1);
	net_rl_detach(&rl);
	CHECK(rl.pid == 0 && rl.exit_fd == -1);
}

/* A helper child that exited by itself is reaped, and the exit fd closed. */
static void test_detach_exited_child(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	net_rl rl = {.pid = pid, .exit_fd = p[1]};
	snprintf(rl.tool, sizeof(rl.tool), "slirp4netns");
	siginfo_t si = {0};
	CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0); /* a zombie now */
	net_rl_detach(&rl);
	CHECK(waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD);
	char c;
	CHECK(read(p[0], &c, 1) == 0); /* the write end is closed */
	close(p[0]);
	CHECK(rl.pid == 0 && rl.exit_fd == -1);
}

/* A running helper child: SIGTERM, reaped. */
static void test_detach_running_child(void)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	net_rl rl = {.pid = pid, .exit_fd = -1};
	snprintf(rl.tool, sizeof(rl.tool), "slirp4netns");
	net_rl_detach(&rl);
	CHECK(kill(pid, 0) == -1 && errno == ESRCH);
}

static int parse_port(const char *s, net_rl_port *p)
{
	char proto[8];
	unsigned hp, cp;
	int n = 0;
	if (sscanf(s, "%7[a-z]/%u/%u%n", proto, &hp, &cp, &n) != 3 || hp > 65535 || cp > 65535)
		return -1;
	p->proto = !strcmp(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
	p->host_port = (uint16_t)hp;
	p->ctr_port = (uint16_t)cp;
	p->host_ip = s[n] == '/' ? s + n + 1 : NULL;
	return 0;
}

static int driver(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *tool = strcmp(argv[2], "auto") ? argv[2] : NULL;
	pid_t pid = (pid_t)atoi(argv[3]);
	size_t n = (size_t)(argc - 4);
	net_rl_port *ports = calloc(n + 1, sizeof(*ports));
	for (size_t i = 0; i < n; i++)
		if (!ports || parse_port(argv[4 + i], &ports[i]) < 0)
			return 2;
	net_rl rl;
	char dns[64];
	berr e = {0};
	/* a caller's fd without close-on-exec (its stdout pipe, again): the
	 * helper must not get it (the test looks at the helper's fds) */
	int leak = dup(1);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (net_rl_attach(pid, tool, ports, n, &rl, dns, &e) < 0) {
		printf("error errno=%d: %s\n", e.errnum, e.msg);
		if (leak >= 0)
			close(leak);
		free(ports);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long us = (long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
	printf("ok pid=%d tool=%s dns=%s exit_fd=%d attach_us=%ld\n", (int)rl.pid, rl.tool, dns,
	       rl.exit_fd, us);
	fflush(stdout);
	char buf[64];
	while (fgets(buf, sizeof(buf), stdin))
		;
	net_rl_detach(&rl);
	printf("detached\n");
	if (leak >= 0)
		close(leak);
	free(ports);
	return 0;
}

static int unit_main(void);

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "attach"))
		return driver(argc, argv);
	return unit_main();
}

#define main unit_main
CHECK_MAIN(test_unknown_tool, test_missing_package_named, test_bad_ports, test_port_in_use_pasta,
	   test_port_in_use_slirp_udp, test_detach_zeroed_and_twice, test_detach_exited_child,
	   test_detach_running_child)
