/* net/dns: aardvark-dns config files and reloads. The live cases run
 * aardvark-dns for real in a network namespace of a forked child (its
 * listeners on addresses given to that namespace's lo), query it over UDP
 * and kill it before the child ends. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "net/dns.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"

static struct in_addr ip4(const char *s)
{
	struct in_addr a = {0};
	inet_pton(AF_INET, s, &a);
	return a;
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/berth-dns-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

static void rm_rf(const char *d)
{
	berr e;
	fs_rm_rf_at(AT_FDCWD, d, &e);
}

static char *slurp(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *s = NULL;
	size_t len;
	berr e;
	return fs_read_file_at(AT_FDCWD, path, &s, &len, &e) < 0 ? NULL : s;
}

static bool file_exists(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_write_format(void)
{
	_cleanup_free_ char *t = tmpdir();
	CHECK(t);
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/aardvark", t);
	const char *n1[] = {"web", "111111111111", "alias.one"};
	const char *n2[] = {"db"};
	net_dns_rec recs[] = {{ID1, ip4("10.213.0.2"), n1, 3}, {ID2, ip4("10.213.0.3"), n2, 1}};
	const char *up[] = {"192.0.2.53", "2001:db8::53", NULL};
	berr e = {0};
	int r = net_dns_write(dir, "net1", ip4("10.213.0.1"), up, recs, 2, &e);
	_cleanup_free_ char *s = slurp(dir, "net1");
	/* no temporary file left in dir or next to it */
	_cleanup_free_ char *tmp = slurp(t, ".aardvark.net1.tmp");
	rm_rf(t);
	CHECK(r == 0);
	CHECK(s);
	CHECK(!tmp);
	CHECK_STREQ(s, "10.213.0.1 192.0.2.53,2001:db8::53\n" ID1
		       " 10.213.0.2  web,111111111111,alias.one\n" ID2 " 10.213.0.3  db\n");
}

/* A dual-stack network: the v6 gateway as a second listen address, the
 * records' v6 addresses in the ipv6 column. */
static void test_write_dual_stack(void)
{
	_cleanup_free_ char *t = tmpdir();
	CHECK(t);
	struct in6_addr gw6, a6;
	inet_pton(AF_INET6, "fd12:3456::1", &gw6);
	inet_pton(AF_INET6, "fd12:3456::2", &a6);
	const char *n1[] = {"web"};
	const char *n2[] = {"v4only"};
	net_dns_rec recs[] = {{ID1, ip4("10.213.0.2"), n1, 1, &a6},
			      {ID2, ip4("10.213.0.3"), n2, 1, NULL}};
	berr e = {0};
	int r = net_dns_write_ds(t, "n6", ip4("10.213.0.1"), &gw6, NULL, recs, 2, &e);
	_cleanup_free_ char *s = slurp(t, "n6");
	rm_rf(t);
	CHECK(r == 0);
	CHECK(s);
	CHECK_STREQ(s, "10.213.0.1,fd12:3456::1\n" ID1 " 10.213.0.2 fd12:3456::2 web\n" ID2
		       " 10.213.0.3  v4only\n");
}

static void test_write_remove(void)
{
	_cleanup_free_ char *t = tmpdir();
	CHECK(t);
	const char *n1[] = {"web"};
	net_dns_rec rec = {ID1, ip4("10.213.0.2"), n1, 1};
	berr e = {0};
	int r1 = net_dns_write(t, "n", ip4("10.213.0.1"), NULL, &rec, 1, &e);
	_cleanup_free_ char *a = slurp(t, "n");
	int r2 = net_dns_write(t, "n", ip4("10.213.0.1"), NULL, NULL, 0, &e);
	bool gone = !file_exists(t, "n");
	int r3 = net_dns_write(t, "n", ip4("10.213.0.1"), NULL, NULL, 0, &e); /* again: fine */
	rm_rf(t);
	CHECK(r1 == 0 && r2 == 0 && r3 == 0);
	CHECK_STREQ(a, "10.213.0.1\n" ID1 " 10.213.0.2  web\n");
	CHECK(gone);
}

static void test_write_refuses_bad_values(void)
{
	_cleanup_free_ char *t = tmpdir();
	CHECK(t);
	const char *bad_name[] = {"we b"};
	const char *comma[] = {"a,b"};
	const char *ok[] = {"web"};
	net_dns_rec r_name = {ID1, ip4("10.0.0.2"), bad_name, 1};
	net_dns_rec r_comma = {ID1, ip4("10.0.0.2"), comma, 1};
	net_dns_rec r_id = {"12 34", ip4("10.0.0.2"), ok, 1};
	net_dns_rec r_none = {ID1, ip4("10.0.0.2"), ok, 0};
	const char *bad_up[] = {"dns.example", NULL};
	berr e1 = {0}, e2 = {0}, e3 = {0}, e4 = {0}, e5 = {0}, e6 = {0}, e7 = {0};
	int a = net_dns_write(t, "n", ip4("10.0.0.1"), NULL, &r_name, 1, &e1);
	int b = net_dns_write(t, "n", ip4("10.0.0.1"), NULL, &r_comma, 1, &e2);
	int c = net_dns_write(t, "n", ip4("10.0.0.1"), NULL, &r_id, 1, &e3);
	int d = net_dns_write(t, "n", ip4("10.0.0.1"), NULL, &r_none, 1, &e4);
	int f = net_dns_write(t, "n", ip4("10.0.0.1"), bad_up, &r_comma, 0, &e5);
	int g = net_dns_write(t, "../x", ip4("10.0.0.1"), NULL, NULL, 0, &e6);
	int h = net_dns_write(t, "aardvark.pid", ip4("10.0.0.1"), NULL, NULL, 0, &e7);
	bool empty = !file_exists(t, "n");
	rm_rf(t);
	CHECK(a < 0 && e1.errnum == EINVAL);
	CHECK_CONTAINS(e1.msg, "\"we b\"");
	CHECK(b < 0 && e2.errnum == EINVAL);
	CHECK_CONTAINS(e2.msg, "\"a,b\"");
	CHECK(c < 0 && e3.errnum == EINVAL);
	CHECK_CONTAINS(e3.msg, "\"12 34\"");
	CHECK(d < 0 && e4.errnum == EINVAL);
	CHECK(f < 0 && e5.errnum == EINVAL);
	CHECK_CONTAINS(e5.msg, "\"dns.example\"");
	CHECK(g < 0 && e6.errnum == EINVAL);
	CHECK(h < 0 && e7.errnum == EINVAL);
	CHECK(empty);
}

static void test_reload_missing_binary(void)
{
	_cleanup_free_ char *t = tmpdir();
	CHECK(t);
	const char *n1[] = {"web"};
	net_dns_rec rec = {ID1, ip4("10.213.0.2"), n1, 1};
	berr e = {0};
	int w = net_dns_write(t, "n", ip4("10.213.0.1"), NULL, &rec, 1, &e);
	setenv("BERTH_AARDVARK", "/nonexistent/aardvark-dns", 1);
	berr e2 = {0};
	int r = net_dns_reload(t, &e2);
	unsetenv("BERTH_AARDVARK");
	rm_rf(t);
	CHECK(w == 0);
	CHECK(r < 0 && e2.errnum == ENOENT);
	CHECK_CONTAINS(e2.msg, "aardvark-dns not found (install aardvark-dns)");
}

/* ---- live ---------------------------------------------------------------- */

/* Ask gw:53 for name's A record; the first address answered, or 0.0.0.0
 * (none, NXDOMAIN, no answer within 1 s). */
static struct in_addr query_a(const char *gw, const char *name)
{
	struct in_addr none = {0};
	uint8_t q[300] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0}, r[512];
	size_t o = 12;
	for (const char *l = name; *l;) {
		size_t ll = strcspn(l, ".");
		q[o++] = (uint8_t)ll;
		memcpy(q + o, l, ll);
		o += ll;
		l += ll + (l[ll] == '.');
	}
	const uint8_t tail[] = {0, 0, 1, 0, 1};
	memcpy(q + o, tail, sizeof(tail));
	o += sizeof(tail);
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	sa.sin_addr = ip4(gw);
	struct timeval tv = {1, 0};
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(s, q, o, 0) != (ssize_t)o)
		return none;
	ssize_t n = recv(s, r, sizeof(r), 0);
	if (n < 12 || r[0] != 0x12 || r[1] != 0x34 || (r[3] & 0xf) || !(r[6] << 8 | r[7]))
		return none;
	/* skip the question (our own name as sent), then walk the answers */
	size_t p = o;
	for (int i = 0; i < (r[6] << 8 | r[7]) && p + 12 <= (size_t)n; i++) {
		while (p < (size_t)n) { /* the owner name: labels, then 0 or a pointer */
			if ((r[p] & 0xc0) == 0xc0) {
				p += 2;
				break;
			}
			if (r[p] == 0) {
				p++;
				break;
			}
			p += r[p] + 1u;
		}
		if (p + 10 > (size_t)n)
			break;
		unsigned type = r[p] << 8 | r[p + 1], rdlen = r[p + 8] << 8 | r[p + 9];
		p += 10;
		if (type == 1 && rdlen == 4 && p + 4 <= (size_t)n) {
			struct in_addr a;
			memcpy(&a, r + p, 4);
			return a;
		}
		p += rdlen;
	}
	return none;
}

static bool is_ip(struct in_addr a, const char *s)
{
	return a.s_addr == ip4(s).s_addr;
}

static pid_t pid_of(const char *dir)
{
	_cleanup_free_ char *s = slurp(dir, "aardvark.pid");
	return s ? (pid_t)atoi(s) : 0;
}

/* Running, not a zombie waiting for init to reap it. */
static bool alive(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *s = NULL;
	size_t len;
	berr e;
	if (pid <= 0 || fs_read_file_at(AT_FDCWD, path, &s, &len, &e) < 0)
		return false;
	char *rp = strrchr(s, ')');
	bool up = rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
	free(s);
	return up;
}

static bool is_aardvark(pid_t pid)
{
	char path[64], link[256];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strstr(link, "aardvark-dns") != NULL;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void live_body(const char *dir)
{
	berr e = {0};
	const char *n1[] = {"name1", "111111111111"};
	const char *n2[] = {"name2"};
	const char *n3[] = {"other"};
	net_dns_rec recs[] = {{ID1, ip4("10.213.0.2"), n1, 2}, {ID2, ip4("10.213.0.3"), n2, 1}};
	net_dns_rec other = {ID2, ip4("10.213.1.3"), n3, 1};

	/* A pid file naming a process that is not aardvark (this very test):
	 * it must be neither signalled (SIGHUP would end this child) nor
	 * trusted. */
	CHECK(net_dns_write(dir, "net1", ip4("10.213.0.1"), NULL, recs, 2, &e) == 0);
	char mine[32];
	snprintf(mine, sizeof(mine), "%d", (int)getpid());
	char pidpath[512];
	snprintf(pidpath, sizeof(pidpath), "%s/aardvark.pid", dir);
	CHECK(fs_write_atomic(pidpath, mine, strlen(mine), 0644, false, &e) == 0);

	if (net_dns_reload(dir, &e) < 0) {
		fprintf(stderr, "net_dns_reload: %s\n", e.msg);
		CHECK(0);
	}
	pid_t pid = pid_of(dir);
	CHECK(pid > 0 && pid != getpid() && is_aardvark(pid));
	/* the reload's probe record: one, at the end */
	_cleanup_free_ char *f1 = slurp(dir, "net1");
	CHECK_CONTAINS(f1, "\n" ID2 " 10.213.0.3  name2\nberthprobe 0.0.0.0  _berth-probe-");

	/* answered at once, no retry: reload returned only once it served */
	CHECK(is_ip(query_a("10.213.0.1", "name1"), "10.213.0.2"));
	CHECK(is_ip(query_a("10.213.0.1", "111111111111"), "10.213.0.2"));
	CHECK(is_ip(query_a("10.213.0.1", "name2"), "10.213.0.3"));
	CHECK(query_a("10.213.0.1", "alias1").s_addr == 0);

	/* an alias, an upstream column and a second network in one reload */
	const char *n1a[] = {"name1", "111111111111", "alias1"};
	recs[0].names = n1a;
	recs[0].nnames = 3;
	const char *up[] = {"192.0.2.53", NULL};
	CHECK(net_dns_write(dir, "net1", ip4("10.213.0.1"), up, recs, 2, &e) == 0);
	CHECK(net_dns_write(dir, "net2", ip4("10.213.1.1"), NULL, &other, 1, &e) == 0);
	if (net_dns_reload(dir, &e) < 0) {
		fprintf(stderr, "net_dns_reload: %s\n", e.msg);
		CHECK(0);
	}
	CHECK(pid_of(dir) == pid && alive(pid)); /* reloaded, not restarted */
	_cleanup_free_ char *f2 = slurp(dir, "net1");
	CHECK(count(f2, "berthprobe") == 1);
	CHECK(strcmp(strstr(f1, "_berth-probe-"), strstr(f2, "_berth-probe-")) != 0); /* renewed */
	CHECK(is_ip(query_a("10.213.0.1", "alias1"), "10.213.0.2"));
	CHECK(is_ip(query_a("10.213.1.1", "other"), "10.213.1.3"));

	/* aardvark killed behind berth's back (kill -9, an OOM): its pid file
	 * stays; the next reload starts a new one */
	CHECK(kill(pid, SIGKILL) == 0);
	for (int i = 0; i < 2000 && alive(pid); i++)
		usleep(1000);
	CHECK(!alive(pid));
	CHECK(net_dns_reload(dir, &e) == 0);
	pid_t pid2 = pid_of(dir);
	CHECK(pid2 > 0 && pid2 != pid && alive(pid2));
	CHECK(is_ip(query_a("10.213.0.1", "alias1"), "10.213.0.2"));
	pid = pid2;

	/* a file aardvark cannot parse (not berth's): an error naming it, at
	 * once, not a 2 s timeout */
	char junk[512];
	snprintf(junk, sizeof(junk), "%s/junk", dir);
	CHECK(fs_write_atomic(junk, "not-an-ip\n", 10, 0644, false, &e) == 0);
	berr ej = {0};
	int rj = net_dns_reload(dir, &ej);
	CHECK(unlink(junk) == 0);
	CHECK(rj < 0);
	CHECK_CONTAINS(ej.msg, "aardvark-dns");
	CHECK(ej.errnum != ETIMEDOUT);
	CHECK(!alive(pid));		     /* 1.4 exits on a config it cannot parse */
	CHECK(net_dns_reload(dir, &e) == 0); /* and berth recovers */
	pid = pid_of(dir);
	CHECK(alive(pid));
	CHECK(is_ip(query_a("10.213.0.1", "alias1"), "10.213.0.2"));

	/* net2 emptied: still running for net1 */
	CHECK(net_dns_write(dir, "net2", ip4("10.213.1.1"), NULL, NULL, 0, &e) == 0);
	CHECK(net_dns_reload(dir, &e) == 0);
	CHECK(alive(pid));
	CHECK(is_ip(query_a("10.213.0.1", "name2"), "10.213.0.3"));

	/* no records left: aardvark stops, its pid file goes */
	CHECK(net_dns_write(dir, "net1", ip4("10.213.0.1"), NULL, NULL, 0, &e) == 0);
	CHECK(net_dns_reload(dir, &e) == 0);
	CHECK(!alive(pid));
	CHECK(!file_exists(dir, "aardvark.pid"));
	CHECK(net_dns_reload(dir, &e) == 0); /* nothing to do: fine */
}

/* The live aardvark processes serving dir (its path is in their argv):
 * up to max pids into out; returns how many there are. */
static size_t aardvarks_of(const char *dir, pid_t *out, size_t max)
{
	size_t n = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	for (struct dirent *de; (de = readdir(d));) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || !is_aardvark(pid) || !alive(pid))
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		char *s = NULL;
		size_t len;
		berr e;
		if (fs_read_file_at(AT_FDCWD, path, &s, &len, &e) < 0)
			continue;
		bool ours = false;
		for (size_t i = 0; i < len; i += strlen(s + i) + 1)
			ours |= !strcmp(s + i, dir);
		free(s);
		if (ours && n < max)
			out[n] = pid;
		n += ours;
	}
	closedir(d);
	return n;
}

/* Kill every aardvark the test left (a failed check returns early). */
static void live_cleanup(const char *dir)
{
	pid_t pids[16];
	size_t n = aardvarks_of(dir, pids, 16);
	for (size_t i = 0; i < n && i < 16; i++)
		kill(pids[i], SIGKILL);
}

/* Four processes write a network each and reload at once: one aardvark
 * serves all four (the directory lock), every name resolves. */
static void parallel_body(const char *dir)
{
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		fflush(NULL);
		kids[k] = fork();
		CHECK(kids[k] >= 0);
		if (kids[k] == 0) {
			char net[16], gw[32], ip[32], name[16];
			snprintf(net, sizeof(net), "p%d", k);
			snprintf(gw, sizeof(gw), "10.213.%d.1", 2 + k);
			snprintf(ip, sizeof(ip), "10.213.%d.2", 2 + k);
			snprintf(name, sizeof(name), "peer%d", k);
			const char *names[] = {name};
			net_dns_rec rec = {ID1, ip4(ip), names, 1};
			berr e = {0};
			int r = net_dns_write(dir, net, ip4(gw), NULL, &rec, 1, &e);
			if (r == 0)
				r = net_dns_reload(dir, &e);
			if (r < 0)
				fprintf(stderr, "%s: %s\n", net, e.msg);
			_exit(r < 0);
		}
	}
	bool all_ok = true;
	for (int k = 0; k < 4; k++) {
		int st;
		while (waitpid(kids[k], &st, 0) < 0 && errno == EINTR)
			;
		all_ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	CHECK(all_ok);
	pid_t one;
	CHECK(aardvarks_of(dir, &one, 1) == 1);
	CHECK(pid_of(dir) == one);
	CHECK(is_ip(query_a("10.213.2.1", "peer0"), "10.213.2.2"));
	CHECK(is_ip(query_a("10.213.3.1", "peer1"), "10.213.3.2"));
	CHECK(is_ip(query_a("10.213.4.1", "peer2"), "10.213.4.2"));
	CHECK(is_ip(query_a("10.213.5.1", "peer3"), "10.213.5.2"));
}

static bool live_skip(void)
{
	if (geteuid() != 0) {
		printf("skip: net_dns_reload live: needs root (network namespace)\n");
		return true;
	}
	const char *bin = getenv("BERTH_AARDVARK");
	if (!bin)
		bin = "/usr/lib/podman/aardvark-dns";
	if (access(bin, X_OK) < 0) {
		printf("skip: net_dns_reload live: %s missing (apt-get install aardvark-dns)\n",
		       bin);
		return true;
	}
	if (system("command -v ip >/dev/null 2>&1") != 0) {
		printf("skip: net_dns_reload live: ip (iproute2) missing\n");
		return true;
	}
	return false;
}

/* Run body(dir) in a forked child in a network namespace of its own, with
 * 10.213.0-5.1/24 on its lo; every aardvark of dir is killed after. */
static void in_netns(void (*body)(const char *dir))
{
	_cleanup_free_ char *t = tmpdir();
	CHECK(t);
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/aardvark", t);
	fflush(NULL);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		if (unshare(CLONE_NEWNET) < 0) {
			printf("skip: net_dns_reload live: no network namespaces (%s)\n",
			       strerror(errno));
			fflush(NULL);
			_exit(77);
		}
		if (system("ip link set lo up && for i in 0 1 2 3 4 5; do "
			   "ip addr add 10.213.$i.1/24 dev lo || exit 1; done") != 0) {
			fprintf(stderr, "ip addr add failed\n");
			_exit(1);
		}
		body(dir);
		live_cleanup(dir);
		fflush(NULL);
		_exit(check_failures ? 1 : 0);
	}
	int st;
	pid_t w;
	while ((w = waitpid(c, &st, 0)) < 0 && errno == EINTR)
		;
	live_cleanup(dir); /* the child may have died before its own cleanup */
	rm_rf(t);
	CHECK(w == c);
	CHECK(WIFEXITED(st));
	CHECK(WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 77);
}

static void test_reload_live(void)
{
	if (!live_skip())
		in_netns(live_body);
}

static void test_reload_parallel(void)
{
	if (!live_skip())
		in_netns(parallel_body);
}

CHECK_MAIN(test_write_format, test_write_dual_stack, test_write_remove,
	   test_write_refuses_bad_values, test_reload_missing_binary, test_reload_live,
	   test_reload_parallel)
