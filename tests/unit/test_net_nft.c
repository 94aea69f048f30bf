/* berth's nftables table (src/lib/net/nft*.c), in network namespaces of the
 * test's own: each case runs in a forked child that unshare(CLONE_NEWNET)s, so
 * the table, links and conntrack die with it and nothing reaches the host.
 * The traffic case moves one end of a veth pair into a second namespace (a
 * "container" 10.213.77.2 serving TCP and UDP on port 80), publishes host
 * port 18080 and connects from the first namespace through 127.0.0.1, the
 * host-side address, and from the container itself (hairpin). Skips without
 * root, network namespaces, libnftables.so.1 or iproute2's ip. The port
 * calls go through raw nfnetlink (nft_ports.c); listings through
 * libnftables: the fast path's elements are checked as nft sees them. */
#include "check.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/nft.h"

#define SKIP_EXIT 77

static struct in_addr ip4(const char *s)
{
	struct in_addr a = {0};
	inet_pton(AF_INET, s, &a);
	return a;
}

/* Whether libnftables.so.1 loads, tried in a child of its own: the body's
 * process must not have it mapped (the fast path must not load it). */
static bool have_libnftables(void)
{
	pid_t c = fork();
	if (c == 0)
		_exit(dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL) ? 0 : 1);
	int st;
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Run body in a child with a fresh network namespace and an open context; the
 * child's exit status is its failure count (SKIP_EXIT: skipped, printed). */
static int in_netns(void (*body)(bnft *))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		check_failures = 0; /* the child's own count is its exit status */
		if (unshare(CLONE_NEWNET) < 0) {
			printf("skip: no network namespaces (%s)\n", strerror(errno));
			fflush(stdout);
			_exit(SKIP_EXIT);
		}
		if (!have_libnftables()) {
			printf("skip: libnftables.so.1 not found (install libnftables1)\n");
			fflush(stdout);
			_exit(SKIP_EXIT);
		}
		berr e = {0};
		bnft *n = bnft_open(&e);
		if (!n) {
			printf("skip: %s\n", e.msg);
			fflush(stdout);
			_exit(SKIP_EXIT);
		}
		body(n);
		bnft_close(n);
		fflush(stdout);
		fflush(stderr);
		exit(check_failures > 50 ? 50 : check_failures); /* exit: LeakSanitizer runs */
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st)) {
		fprintf(stderr, "test child killed by signal %d\n", WTERMSIG(st));
		return -1;
	}
	return WEXITSTATUS(st) == SKIP_EXIT ? 0 : WEXITSTATUS(st);
}

#define RUN_IN_NETNS(body) CHECK(in_netns(body) == 0)

static const bnft_net NET = {"vh-nft", {0}, 24, false};

static bnft_net test_net(void)
{
	bnft_net net = NET;
	net.subnet = ip4("10.213.77.0");
	return net;
}

static bnft_port port(int proto, const char *hip, uint16_t hport, const char *cip, uint16_t cport)
{
	return (bnft_port){proto, ip4(hip), hport, ip4(cip), cport};
}

static bool has_port(bnft *n, const bnft_port *want)
{
	bnft_port *v;
	size_t nv;
	berr e = {0};
	if (bnft_ports_list(n, &v, &nv, &e) < 0) {
		fprintf(stderr, "list: %s\n", e.msg);
		return false;
	}
	bool found = false;
	for (size_t i = 0; i < nv; i++)
		found =
		    found ||
		    (v[i].proto == want->proto && v[i].host_ip.s_addr == want->host_ip.s_addr &&
		     v[i].host_port == want->host_port &&
		     v[i].ctr_ip.s_addr == want->ctr_ip.s_addr && v[i].ctr_port == want->ctr_port);
	free(v);
	return found;
}

static size_t count_ports(bnft *n)
{
	bnft_port *v;
	size_t nv = 0;
	berr e = {0};
	if (bnft_ports_list(n, &v, &nv, &e) < 0)
		return (size_t)-1;
	free(v);
	return nv;
}

static int count_rules(bnft *n, const char *chain)
{
	char cmd[64];
	const char *json;
	berr e = {0};
	snprintf(cmd, sizeof(cmd), "list chain ip berth %s", chain);
	if (bnft_list_json(n, cmd, &json, &e) < 0)
		return -1;
	int rules = 0;
	for (const char *s = json; (s = strstr(s, "\"rule\"")); s++)
		rules++;
	return rules;
}

static void body_network_idempotent(bnft *n)
{
	berr e = {0};
	bnft_net net = test_net();
	/* a table of an older berth (no rules marker): its rules are replaced */
	CHECK(bnft_run(n,
		       "add table ip berth\nadd chain ip berth ports\nadd rule ip berth ports "
		       "counter\n",
		       &e) == 0);
	CHECK(count_rules(n, "ports") == 1);
	CHECK(bnft_network_add(n, &net, &e) == 0);
	CHECK(bnft_network_add(n, &net, &e) == 0);
	bnft_net in = {"vh-int", ip4("10.213.78.0"), 24, true};
	CHECK(bnft_network_add(n, &in, &e) == 0);
	const char *json;
	CHECK(bnft_list_json(n, "list set ip berth bridges", &json, &e) == 0);
	CHECK_CONTAINS(json, "\"vh-nft\"");
	CHECK_CONTAINS(json, "\"vh-int\"");
	/* the second add did not double the rules */
	CHECK(count_rules(n, "ports") == 4);
	CHECK(count_rules(n, "forward") == 9);
	CHECK(bnft_list_json(n, "list set ip berth internal", &json, &e) == 0);
	CHECK_CONTAINS(json, "\"vh-int\"");
	CHECK(!strstr(json, "\"vh-nft\""));
	CHECK(bnft_network_del(n, &in, &e) == 0);
	CHECK(bnft_network_del(n, &in, &e) == 0); /* absent: fine */
	CHECK(bnft_list_json(n, "list set ip berth bridges", &json, &e) == 0);
	CHECK(!strstr(json, "\"vh-int\""));
	CHECK_CONTAINS(json, "\"vh-nft\"");
	CHECK(bnft_table_del(n, &e) == 0);
	CHECK(bnft_table_del(n, &e) == 0);	   /* absent: fine */
	CHECK(bnft_network_del(n, &net, &e) == 0); /* no table: fine */
	bnft_net bad = {"x\" ; flush ruleset", ip4("10.213.77.0"), 24, false};
	CHECK(bnft_network_add(n, &bad, &e) < 0 && e.errnum == EINVAL);
	bnft_net bits = {"vh-nft", ip4("10.213.77.1"), 24, false};
	CHECK(bnft_network_add(n, &bits, &e) < 0);
	CHECK_CONTAINS(e.msg, "host bits");
}

static void test_network_add_idempotent(void)
{
	RUN_IN_NETNS(body_network_idempotent);
}

static void body_ports(bnft *n)
{
	berr e = {0};
	bnft_net net = test_net();
	bnft_port a = port(IPPROTO_TCP, "0.0.0.0", 8080, "10.213.77.5", 80);
	/* no table yet: refused, saying so */
	CHECK(bnft_ports_add(n, &a, 1, &e) < 0 && e.errnum == ENOENT);
	CHECK(bnft_network_add(n, &net, &e) == 0);
	CHECK(count_ports(n) == 0);
	CHECK(bnft_ports_add(n, &a, 1, &e) == 0);
	CHECK(has_port(n, &a));

	/* the same host port, by another container: refused, naming the owner */
	bnft_port dup = port(IPPROTO_TCP, "0.0.0.0", 8080, "10.213.77.6", 80);
	CHECK(bnft_ports_add(n, &dup, 1, &e) < 0);
	CHECK(e.errnum == EADDRINUSE);
	CHECK_STREQ(e.msg, "port 8080/tcp is already published (to 10.213.77.5:80)");
	/* one address of a port published on all of them clashes too */
	bnft_port one = port(IPPROTO_TCP, "127.0.0.1", 8080, "10.213.77.6", 80);
	CHECK(bnft_ports_add(n, &one, 1, &e) < 0 && e.errnum == EADDRINUSE);
	CHECK_STREQ(e.msg, "port 127.0.0.1:8080/tcp is already published (to 10.213.77.5:80)");

	/* a 2-port add whose 2nd conflicts adds neither */
	bnft_port two[2] = {port(IPPROTO_UDP, "0.0.0.0", 5353, "10.213.77.6", 53), dup};
	CHECK(bnft_ports_add(n, two, 2, &e) < 0 && e.errnum == EADDRINUSE);
	CHECK(!has_port(n, &two[0]));
	CHECK(count_ports(n) == 1);
	/* ... and one that conflicts within itself */
	bnft_port self[2] = {port(IPPROTO_TCP, "127.0.0.1", 9000, "10.213.77.6", 80),
			     port(IPPROTO_TCP, "0.0.0.0", 9000, "10.213.77.7", 80)};
	CHECK(bnft_ports_add(n, self, 2, &e) < 0 && e.errnum == EADDRINUSE);
	CHECK_CONTAINS(e.msg, "9000/tcp is given twice");
	CHECK(count_ports(n) == 1);
	/* the kernel refuses a duplicate key on its own (another berth racing us) */
	CHECK(bnft_run(n,
		       "create element ip berth tcp_any { 7000 : 10.213.77.9 . 80 }\n"
		       "create element ip berth tcp_any { 8080 : 10.213.77.9 . 80 }\n",
		       &e) < 0);
	CHECK(e.errnum == EEXIST);
	CHECK_STREQ(e.msg, "nft: Could not process rule: File exists: "
			   "create element ip berth tcp_any { 8080 : 10.213.77.9 . 80 }");
	bnft_port p7000 = port(IPPROTO_TCP, "0.0.0.0", 7000, "10.213.77.9", 80);
	CHECK(!has_port(n, &p7000)); /* one transaction: the first line undone */

	/* the same port number on udp, and on two distinct addresses, is fine */
	bnft_port ok[3] = {port(IPPROTO_UDP, "0.0.0.0", 8080, "10.213.77.6", 53),
			   port(IPPROTO_TCP, "127.0.0.1", 9001, "10.213.77.6", 81),
			   port(IPPROTO_TCP, "127.0.0.2", 9001, "10.213.77.7", 81)};
	CHECK(bnft_ports_add(n, ok, 3, &e) == 0);
	CHECK(count_ports(n) == 4);
	for (size_t i = 0; i < 3; i++)
		CHECK(has_port(n, &ok[i]));

	/* every address of a port published on one of them clashes too */
	bnft_port all = port(IPPROTO_TCP, "0.0.0.0", 9001, "10.213.77.8", 80);
	CHECK(bnft_ports_add(n, &all, 1, &e) < 0 && e.errnum == EADDRINUSE);
	CHECK_STREQ(e.msg, "port 9001/tcp is already published (to 10.213.77.6:81)");
	/* ... until the last one-address mapping of it goes */
	CHECK(bnft_ports_del(n, &ok[1], 1, &e) == 0);
	CHECK(bnft_ports_add(n, &all, 1, &e) < 0 && e.errnum == EADDRINUSE);
	CHECK_STREQ(e.msg, "port 9001/tcp is already published (to 10.213.77.7:81)");

	/* del: only the exact mapping; another container's port stays */
	CHECK(bnft_ports_del(n, &dup, 1, &e) == 0);
	CHECK(has_port(n, &a));
	CHECK(bnft_ports_del(n, ok, 3, &e) == 0);
	CHECK(bnft_ports_add(n, &all, 1, &e) == 0);
	bnft_port twice[2] = {all, all};
	CHECK(bnft_ports_del(n, twice, 2, &e) == 0);
	CHECK(!has_port(n, &all));
	CHECK(bnft_ports_del(n, ok, 3, &e) == 0); /* absent: fine */
	CHECK(count_ports(n) == 1);
	CHECK(bnft_ports_del(n, &a, 1, &e) == 0);
	CHECK(count_ports(n) == 0);
	CHECK(bnft_ports_add(n, &dup, 1, &e) == 0); /* free again */

	CHECK(bnft_table_del(n, &e) == 0);
	CHECK(count_ports(n) == 0);
	CHECK(bnft_ports_del(n, &dup, 1, &e) == 0); /* no table: fine */
}

static void test_ports(void)
{
	RUN_IN_NETNS(body_ports);
}

/* Whether libnftables is mapped into this process. */
static bool nftables_loaded(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "libnftables") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* The per-container path (raw nfnetlink): add, get, dup, del, and what
 * libnftables' listing sees of it. */
static void body_fast(bnft *n)
{
	berr e = {0};
	bnft_port a = port(IPPROTO_TCP, "0.0.0.0", 8080, "10.213.77.5", 80);
	bnft_port b = port(IPPROTO_UDP, "127.0.0.1", 5353, "10.213.77.6", 53);
	bnft_port got;
	/* no table: ENOENT, saying so; and no libnftables loaded for it */
	CHECK(bnft_ports_add(n, &a, 1, &e) < 0 && e.errnum == ENOENT);
	CHECK_CONTAINS(e.msg, "missing");
	CHECK(bnft_port_get(n, &a, &got, &e) < 0 && e.errnum == ENOENT);
	CHECK(bnft_ports_del(n, &a, 1, &e) == 0);
	CHECK(!nftables_loaded());

	bnft_net net = test_net();
	CHECK(bnft_network_add(n, &net, &e) == 0);
	bnft_port both[2] = {a, b};
	CHECK(bnft_ports_add(n, both, 2, &e) == 0);
	/* get: by key, the container end filled */
	bnft_port key = port(IPPROTO_TCP, "0.0.0.0", 8080, "0.0.0.0", 0);
	CHECK(bnft_port_get(n, &key, &got, &e) == 0);
	CHECK(got.proto == IPPROTO_TCP && got.host_port == 8080 && got.host_ip.s_addr == 0);
	CHECK(got.ctr_ip.s_addr == ip4("10.213.77.5").s_addr && got.ctr_port == 80);
	key = port(IPPROTO_UDP, "127.0.0.1", 5353, "0.0.0.0", 0);
	CHECK(bnft_port_get(n, &key, &got, &e) == 0);
	CHECK(got.host_ip.s_addr == ip4("127.0.0.1").s_addr && got.host_port == 5353);
	CHECK(got.ctr_ip.s_addr == ip4("10.213.77.6").s_addr && got.ctr_port == 53);
	key = port(IPPROTO_UDP, "0.0.0.0", 5353, "0.0.0.0", 0); /* the other map */
	CHECK(bnft_port_get(n, &key, &got, &e) < 0 && e.errnum == ENOENT);
	key = port(IPPROTO_TCP, "127.0.0.1", 8080, "0.0.0.0", 0);
	CHECK(bnft_port_get(n, &key, &got, &e) < 0 && e.errnum == ENOENT);
	/* libnftables' view: the right keys and values in the right maps */
	CHECK(has_port(n, &a));
	CHECK(has_port(n, &b));
	CHECK(count_ports(n) == 2);
	const char *json;
	CHECK(bnft_list_json(n, "list map ip berth udp_ip", &json, &e) == 0);
	CHECK_CONTAINS(json, "{\"concat\": [\"127.0.0.1\", 5353]}, "
			     "{\"concat\": [\"10.213.77.6\", 53]}");
	CHECK(bnft_list_json(n, "list map ip berth tcp_any", &json, &e) == 0);
	CHECK_CONTAINS(json, "[8080, {\"concat\": [\"10.213.77.5\", 80]}]");
	/* an element nft made is read back by get */
	CHECK(bnft_run(n, "add element ip berth tcp_ip { 10.1.2.3 . 9999 : 10.213.77.9 . 99 }\n",
		       &e) == 0);
	key = port(IPPROTO_TCP, "10.1.2.3", 9999, "0.0.0.0", 0);
	CHECK(bnft_port_get(n, &key, &got, &e) == 0);
	CHECK(got.ctr_ip.s_addr == ip4("10.213.77.9").s_addr && got.ctr_port == 99);

	/* a 2-port add whose 2nd is taken (the kernel's EEXIST): neither */
	bnft_port c = port(IPPROTO_TCP, "0.0.0.0", 7001, "10.213.77.7", 80);
	bnft_port taken = port(IPPROTO_UDP, "127.0.0.1", 5353, "10.213.77.7", 53);
	bnft_port two[2] = {c, taken};
	CHECK(bnft_ports_add(n, two, 2, &e) < 0 && e.errnum == EADDRINUSE);
	CHECK_STREQ(e.msg, "port 127.0.0.1:5353/udp is already published (to 10.213.77.6:53)");
	CHECK(bnft_port_get(n, &c, &got, &e) < 0 && e.errnum == ENOENT);
	CHECK(count_ports(n) == 3);

	/* del: another container's mapping of the key stays, ours goes; twice
	 * and absent are fine */
	bnft_port other = port(IPPROTO_TCP, "0.0.0.0", 8080, "10.213.77.8", 80);
	bnft_port mix[3] = {other, b, b};
	CHECK(bnft_ports_del(n, mix, 3, &e) == 0);
	CHECK(has_port(n, &a));
	CHECK(!has_port(n, &b));
	CHECK(bnft_ports_del(n, &b, 1, &e) == 0);
	CHECK(bnft_ports_del(n, &a, 1, &e) == 0);
	CHECK(bnft_port_get(n, &a, &got, &e) < 0 && e.errnum == ENOENT);
	CHECK(count_ports(n) == 1);

	/* a long range (-p 127.0.0.1:20000-21999:80): one batch, every ack read */
	enum { MANY = 2000 };
	bnft_port *many = calloc(MANY, sizeof(*many));
	CHECK(many);
	for (size_t i = 0; i < MANY; i++)
		many[i] = port(IPPROTO_TCP, "127.0.0.1", (uint16_t)(20000 + i), "10.213.77.5", 80);
	int added = bnft_ports_add(n, many, MANY, &e);
	if (added < 0)
		fprintf(stderr, "add %d ports: %s\n", MANY, e.msg);
	size_t listed = count_ports(n);
	/* every address of one of them: found in the dump of the whole range */
	bnft_port last = port(IPPROTO_TCP, "0.0.0.0", 20000 + MANY - 1, "10.213.77.9", 80);
	int clash = bnft_ports_add(n, &last, 1, &e);
	bool named = !strcmp(e.msg, "port 21999/tcp is already published (to 10.213.77.5:80)");
	int deleted = bnft_ports_del(n, many, MANY, &e);
	CHECK(added == 0);
	CHECK(listed == 1 + MANY);
	CHECK(clash < 0 && named);
	CHECK(deleted == 0);
	CHECK(count_ports(n) == 1);

	/* the table gone (a `nft flush ruleset`): ENOENT again, also for the
	 * range (an error for each of its messages: more than a socket's queue
	 * holds) */
	CHECK(bnft_run(n, "flush ruleset\n", &e) == 0);
	added = bnft_ports_add(n, many, MANY, &e);
	free(many);
	CHECK(added < 0 && e.errnum == ENOENT);
	CHECK(bnft_ports_add(n, &a, 1, &e) < 0 && e.errnum == ENOENT);
	CHECK_CONTAINS(e.msg, "missing");
	CHECK(bnft_ports_add(n, &b, 1, &e) < 0 && e.errnum == ENOENT);
	CHECK(bnft_port_get(n, &a, &got, &e) < 0 && e.errnum == ENOENT);
	CHECK(bnft_ports_del(n, &a, 1, &e) == 0);
}

static void test_fast(void)
{
	RUN_IN_NETNS(body_fast);
}

static void body_errors(bnft *n)
{
	berr e = {0};
	CHECK(bnft_run(n,
		       "add table ip berth_t\nadd chain ip berth_t c\nadd rule ip berth_t c "
		       "tcp dport 80 bogus\n",
		       &e) < 0);
	CHECK(e.errnum == EINVAL);
	CHECK(!strchr(e.msg, '\n'));
	CHECK_CONTAINS(e.msg, "nft: syntax error");
	CHECK_CONTAINS(e.msg, "add rule ip berth_t c tcp dport 80 bogus");
	/* the batch was one transaction: the table of its first line is not there */
	CHECK(bnft_run(n, "list table ip berth_t", &e) < 0 && e.errnum == ENOENT);
	CHECK_CONTAINS(e.msg, "No such file or directory: list table ip berth_t");
	bnft_port p0 = port(IPPROTO_TCP, "0.0.0.0", 0, "10.213.77.5", 80);
	CHECK(bnft_ports_add(n, &p0, 1, &e) < 0 && e.errnum == EINVAL);
}

static void test_errors(void)
{
	RUN_IN_NETNS(body_errors);
}

/* ---- real traffic ---- */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t k = write(fd, s, strlen(s));
	close(fd);
	return k == (ssize_t)strlen(s) ? 0 : -1;
}

static int sh(const char *cmd)
{
	int r = system(cmd);
	if (r != 0)
		fprintf(stderr, "command failed (%d): %s\n", r, cmd);
	return r;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {10, 0}; /* a bound against hanging, not a measurement */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int bound_socket(int type, uint16_t port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 8) < 0)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The container: serves "T <peer address>" to each TCP connection and
 * "U <peer address>" to each UDP datagram on port 80, until killed (or idle
 * for 30 s). */
static void serve(int tcp, int udp)
{
	struct pollfd pf[2] = {{tcp, POLLIN, 0}, {udp, POLLIN, 0}};
	for (int served = 0; served < 64 && poll(pf, 2, 30000) > 0; served++) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		char msg[64], a[INET_ADDRSTRLEN];
		if (pf[0].revents & POLLIN) {
			int c = accept4(tcp, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a));
			int k = snprintf(msg, sizeof(msg), "T %s", a);
			if (write(c, msg, (size_t)k) < 0)
				perror("write");
			close(c);
		}
		if (pf[1].revents & POLLIN) {
			char buf[16];
			if (recvfrom(udp, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) < 0)
				continue;
			inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a));
			int k = snprintf(msg, sizeof(msg), "U %s", a);
			sendto(udp, msg, (size_t)k, 0, (struct sockaddr *)&peer, pl);
		}
	}
}

/* One exchange with ip:port; the answer goes to out ("" on failure). */
static void ask(int type, const char *ip, uint16_t p, char *out, size_t size)
{
	out[0] = '\0';
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	set_timeouts(fd);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p), .sin_addr = ip4(ip)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    (type == SOCK_STREAM || send(fd, "?", 1, 0) == 1)) {
		ssize_t k = recv(fd, out, size - 1, 0);
		out[k > 0 ? k : 0] = '\0';
	}
	close(fd);
}

/* ask() from inside the network namespace of pid (a forked child). */
static void ask_from(pid_t pid, int type, const char *ip, uint16_t p, char *out, size_t size)
{
	out[0] = '\0';
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	pid_t c = fork();
	if (c == 0) {
		int ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			_exit(1);
		char buf[64];
		ask(type, ip, p, buf, sizeof(buf));
		_exit(write(pfd[1], buf, strlen(buf)) < 0);
	}
	close(pfd[1]);
	if (c > 0) {
		ssize_t k = read(pfd[0], out, size - 1);
		out[k > 0 ? k : 0] = '\0';
		waitpid(c, NULL, 0);
	}
	close(pfd[0]);
}

/* Whether a TCP connect to ip:port from the network namespace of pid gets
 * through (a drop shows as no answer within 1 s: a bound, not a measure). */
static bool connects_from(pid_t pid, const char *ip, uint16_t p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	pid_t c = fork();
	if (c == 0) {
		int ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			_exit(2);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timeval tv = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		struct sockaddr_in sa = {
		    .sin_family = AF_INET, .sin_port = htons(p), .sin_addr = ip4(ip)};
		_exit(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : 1);
	}
	int st = 0;
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A "container": a namespace behind the veth vh-NAME (here, 10.213.NET.1/24)
 * and vc-NAME (there, 10.213.NET.2, default route via .1), running serve();
 * extra: more setup there (sh). */
static pid_t start_ns(const char *name, int net, const char *extra)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "ip link add vh-%s type veth peer name vc-%s && "
		 "ip addr add 10.213.%d.1/24 dev vh-%s && ip link set vh-%s up",
		 name, name, net, name, name);
	int up[2], go[2];
	if (sh(cmd) != 0 || pipe2(up, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(up[0]);
		close(up[1]);
		return -1;
	}
	snprintf(cmd, sizeof(cmd),
		 "ip addr add 10.213.%d.2/24 dev vc-%s && ip link set vc-%s up && "
		 "ip route add default via 10.213.%d.1%s%s",
		 net, name, name, net, extra ? " && " : "", extra ? extra : "");
	pid_t pid = fork();
	if (pid == 0) {
		char c = 0;
		if (unshare(CLONE_NEWNET) < 0 || write(up[1], "n", 1) != 1 ||
		    read(go[0], &c, 1) != 1 || sh(cmd) != 0)
			_exit(1);
		int tcp = bound_socket(SOCK_STREAM, 80), udp = bound_socket(SOCK_DGRAM, 80);
		if (tcp < 0 || udp < 0 || write(up[1], "l", 1) != 1)
			_exit(1);
		serve(tcp, udp);
		_exit(0);
	}
	close(up[1]);
	close(go[0]);
	char c = 0;
	snprintf(cmd, sizeof(cmd), "ip link set vc-%s netns %d", name, (int)pid);
	bool ok = pid > 0 && read(up[0], &c, 1) == 1 && c == 'n' && sh(cmd) == 0 &&
		  write(go[1], "g", 1) == 1 && read(up[0], &c, 1) == 1 && c == 'l';
	close(up[0]);
	close(go[1]);
	if (!ok && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void stop_ns(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void traffic(bnft *n, pid_t ctr)
{
	berr e = {0};
	char got[64];
	bnft_net net = test_net();
	CHECK(bnft_network_add(n, &net, &e) == 0);
	/* nothing published yet: nobody answers on the host side */
	ask(SOCK_STREAM, "127.0.0.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "");
	bnft_port pub[2] = {port(IPPROTO_TCP, "0.0.0.0", 18080, "10.213.77.2", 80),
			    port(IPPROTO_UDP, "0.0.0.0", 18080, "10.213.77.2", 80)};
	int added = bnft_ports_add(n, pub, 2, &e);
	if (added < 0)
		fprintf(stderr, "ports_add: %s\n", e.msg);
	CHECK(added == 0);
	/* from the host through loopback: DNAT in output + masquerade of 127/8 */
	ask(SOCK_STREAM, "127.0.0.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "T 10.213.77.1");
	ask(SOCK_DGRAM, "127.0.0.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "U 10.213.77.1");
	/* from the host to its address on the bridge: DNAT, no masquerade */
	ask(SOCK_STREAM, "10.213.77.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "T 10.213.77.1");
	ask(SOCK_DGRAM, "10.213.77.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "U 10.213.77.1");
	/* hairpin: the container to its own published port through the host's
	 * address (DNAT in prerouting, back out of the same bridge, masqueraded) */
	ask_from(ctr, SOCK_STREAM, "10.213.77.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "T 10.213.77.1");
	ask_from(ctr, SOCK_DGRAM, "10.213.77.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "U 10.213.77.1");
	/* the host's loopback is not the container's to reach (route_localnet on
	 * the bridge would allow it): neither a loopback-only service of the
	 * host nor a published port through 127.0.0.1 */
	int lo = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(18999), .sin_addr = ip4("127.0.0.1")};
	CHECK(lo >= 0 && bind(lo, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lo, 4) == 0);
	CHECK(connects_from(getpid(), "127.0.0.1", 18999)); /* the listener works */
	bool reached = connects_from(ctr, "127.0.0.1", 18999);
	close(lo);
	CHECK(!reached);
	CHECK(!connects_from(ctr, "127.0.0.1", 18080));
	/* unpublished: gone */
	CHECK(bnft_ports_del(n, pub, 2, &e) == 0);
	ask(SOCK_STREAM, "127.0.0.1", 18080, got, sizeof(got));
	CHECK_STREQ(got, "");
	CHECK(bnft_table_del(n, &e) == 0);
}

static void body_traffic(bnft *n)
{
	if (system("ip -V >/dev/null 2>&1") != 0) {
		printf("skip: iproute2's ip not installed\n");
		return;
	}
	CHECK(write_file("/proc/sys/net/ipv4/ip_forward", "1") == 0);
	CHECK(sh("ip link set lo up") == 0);
	/* lo stays down there and 127/8 goes to the gateway: a container
	 * crafting packets to the host's 127.0.0.1 */
	pid_t ctr = start_ns("nft", 77,
			     "ip route add 127.0.0.0/8 via 10.213.77.1 && "
			     "echo 1 > /proc/sys/net/ipv4/conf/vc-nft/route_localnet");
	CHECK(ctr > 0);
	/* what the netlink side sets on a berth bridge */
	bool set = write_file("/proc/sys/net/ipv4/conf/vh-nft/route_localnet", "1") == 0;
	if (set)
		traffic(n, ctr);
	stop_ns(ctr);
	CHECK(set);
}

/* Three networks (a, b, internal i) and an "outside" host (o, behind the
 * uplink vh-o): masquerade, isolation, internal, inbound. */
static void forwarding(bnft *n, pid_t a, pid_t b, pid_t i, pid_t o)
{
	berr e = {0};
	char got[64];
	bnft_net na = {"vh-a", ip4("10.213.80.0"), 24, false};
	bnft_net nb = {"vh-b", ip4("10.213.81.0"), 24, false};
	bnft_net ni = {"vh-i", ip4("10.213.82.0"), 24, true};
	CHECK(bnft_network_add(n, &na, &e) == 0);
	CHECK(bnft_network_add(n, &nb, &e) == 0);
	CHECK(bnft_network_add(n, &ni, &e) == 0);
	/* outbound: masqueraded to the uplink's address */
	ask_from(a, SOCK_STREAM, "10.213.90.2", 80, got, sizeof(got));
	CHECK_STREQ(got, "T 10.213.90.1");
	ask_from(a, SOCK_DGRAM, "10.213.90.2", 80, got, sizeof(got));
	CHECK_STREQ(got, "U 10.213.90.1");
	/* internal: no way out; two networks: no way across */
	CHECK(!connects_from(i, "10.213.90.2", 80));
	CHECK(!connects_from(a, "10.213.81.2", 80));
	CHECK(!connects_from(b, "10.213.80.2", 80));
	CHECK(!connects_from(a, "10.213.82.2", 80));
	/* from outside, only published ports, with the client's own address */
	CHECK(!connects_from(o, "10.213.80.2", 80));
	bnft_port p = port(IPPROTO_TCP, "0.0.0.0", 18081, "10.213.80.2", 80);
	CHECK(bnft_ports_add(n, &p, 1, &e) == 0);
	ask_from(o, SOCK_STREAM, "10.213.90.1", 18081, got, sizeof(got));
	CHECK_STREQ(got, "T 10.213.90.2");
	/* a container of another network through a host address: as through a
	 * proxy (masqueraded to a's gateway) */
	ask_from(b, SOCK_STREAM, "10.213.81.1", 18081, got, sizeof(got));
	CHECK_STREQ(got, "T 10.213.80.1");
	CHECK(bnft_network_del(n, &ni, &e) == 0);
	CHECK(bnft_table_del(n, &e) == 0);
}

static void body_forwarding(bnft *n)
{
	if (system("ip -V >/dev/null 2>&1") != 0) {
		printf("skip: iproute2's ip not installed\n");
		return;
	}
	CHECK(write_file("/proc/sys/net/ipv4/ip_forward", "1") == 0);
	pid_t a = start_ns("a", 80, NULL), b = start_ns("b", 81, NULL);
	pid_t i = start_ns("i", 82, NULL), o = start_ns("o", 90, NULL);
	bool up = a > 0 && b > 0 && i > 0 && o > 0;
	if (up)
		forwarding(n, a, b, i, o);
	stop_ns(a);
	stop_ns(b);
	stop_ns(i);
	stop_ns(o);
	CHECK(up);
}

static void test_forwarding(void)
{
	RUN_IN_NETNS(body_forwarding);
}

static void test_traffic(void)
{
	RUN_IN_NETNS(body_traffic);
}

CHECK_MAIN(test_network_add_idempotent, test_ports, test_fast, test_errors, test_traffic,
	   test_forwarding)
