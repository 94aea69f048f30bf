/* net/netlink: bridges, veth pairs, addresses and routes, on the real kernel.
 * Each case runs in a forked child in a network namespace of its own
 * (unshare(CLONE_NEWNET)), so nothing it makes reaches the host, and a
 * second namespace (an fd held open) stands in for a container. Traffic is
 * real: UDP from the "container" to the bridge's address and back. Skips
 * ("no network namespaces") where unshare is refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "net/netlink.h"
#include "util/xalloc.h"

#define SKIP_CODE 77

/* body() in a child in a new netns; its CHECK failures (and, under ASan,
 * its leaks: exit() runs LeakSanitizer) fail the case. */
static void in_netns(void (*body)(void))
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		check_failures = 0; /* the child's own count, not the earlier cases' */
		if (unshare(CLONE_NEWNET) < 0)
			_exit(SKIP_CODE);
		body();
		exit(check_failures ? 1 : 0);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_CODE) {
		printf("skip: no network namespaces\n");
		return;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "child: status %#x\n", st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A second netns, held by the returned fd; the caller stays in its own. */
static int make_ctr_ns(void)
{
	int host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host < 0)
		return -1;
	int ctr = -1;
	if (unshare(CLONE_NEWNET) == 0)
		ctr = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(host, CLONE_NEWNET) < 0) {
		perror("setns back");
		exit(2);
	}
	close(host);
	return ctr;
}

/* A socket made in the netns nsfd (sockets stay where they were made). */
static int socket_in(int nsfd, int type)
{
	int host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		return -1;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (setns(host, CLONE_NEWNET) < 0) {
		perror("setns back");
		exit(2);
	}
	close(host);
	return fd;
}

static unsigned int if_flags(const char *name)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int r = fd >= 0 ? ioctl(fd, SIOCGIFFLAGS, &ifr) : -1;
	if (fd >= 0)
		close(fd);
	return r < 0 ? 0 : (unsigned short)ifr.ifr_flags;
}

static struct in_addr ip4(const char *s)
{
	struct in_addr a = {0};
	inet_pton(AF_INET, s, &a);
	return a;
}

static bool has_route(const nl_route4 *rt, size_t n, const char *dst, int prefix, const char *dev)
{
	for (size_t i = 0; i < n; i++)
		if (rt[i].dst.s_addr == ip4(dst).s_addr && rt[i].prefix == prefix &&
		    !strcmp(rt[i].dev, dev))
			return true;
	return false;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void bridge_body(void)
{
	nl_sock s;
	berr e = {0};
	CHECK(nl_open(&s, -1, &e) == 0);
	int idx = 0, idx2 = 0;
	bool created = false;
	CHECK(nl_bridge_ensure(&s, "brt0", ip4("10.123.0.1"), 24, 0, &idx, &created, &e) == 0);
	CHECK(created && idx > 0);
	CHECK(nl_link_index(&s, "brt0", &e) == idx);
	CHECK(if_flags("brt0") & IFF_UP);
	/* again: found, not made; a second address joins the first */
	CHECK(nl_bridge_ensure(&s, "brt0", ip4("10.123.0.1"), 24, 0, &idx2, &created, &e) == 0);
	CHECK(!created && idx2 == idx);
	CHECK(nl_bridge_ensure(&s, "brt0", ip4("10.124.0.1"), 16, 0, &idx2, NULL, &e) == 0);
	CHECK(idx2 == idx);
	char buf[8] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/conf/brt0/route_localnet", "re");
	CHECK(f && fgets(buf, sizeof(buf), f));
	fclose(f);
	CHECK_STREQ(buf, "1\n");

	nl_route4 *rt = NULL;
	size_t n = 0;
	CHECK(nl_routes4(&s, &rt, &n, &e) == 0);
	bool both = has_route(rt, n, "10.123.0.0", 24, "brt0") &&
		    has_route(rt, n, "10.124.0.0", 16, "brt0");
	bool local = has_route(rt, n, "10.123.0.1", 32, "brt0"); /* table local: left out */
	free(rt);
	CHECK(both && !local);

	/* an mtu on an existing bridge */
	CHECK(nl_bridge_ensure(&s, "brt1", ip4("10.125.0.1"), 24, 1400, &idx2, &created, &e) == 0);
	CHECK(created && idx2 != idx);
	nl_close(&s);
	nl_close(&s); /* twice: harmless */
}

static void test_bridge(void)
{
	in_netns(bridge_body);
}

static const uint8_t MAC[6] = {0x02, 0x42, 0x0a, 0x7b, 0x00, 0x02};

static void veth_body(void)
{
	int ctr = make_ctr_ns();
	CHECK(ctr >= 0);
	nl_sock s;
	berr e = {0};
	CHECK(nl_open(&s, -1, &e) == 0);
	int br = 0;
	CHECK(nl_bridge_ensure(&s, "brt0", ip4("10.123.0.1"), 24, 0, &br, NULL, &e) == 0);

	/* What the engine does per container: both sockets, the bridge's
	 * ifindex, the pair, the container's side. */
	double t0 = now_us();
	nl_sock host, cs;
	CHECK(nl_open(&host, -1, &e) == 0);
	CHECK(nl_open(&cs, ctr, &e) == 0);
	int bri = nl_link_index(&host, "brt0", &e);
	CHECK(bri == br);
	if (nl_veth_add(&host, "bvt0", "eth0", ctr, MAC, bri, 0, &e) < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(e.msg[0] == '\0');
	struct in_addr gw = ip4("10.123.0.1");
	if (nl_ctr_configure(&cs, "eth0", ip4("10.123.0.2"), 24, &gw, &e) < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(e.msg[0] == '\0');
	double t1 = now_us();
	printf("note: per-container netlink work (2 opens, link index, veth, container side): "
	       "%.0f us\n",
	       t1 - t0);
	nl_close(&host);

	CHECK(nl_link_index(&s, "eth0", &e) == 0); /* the peer is not here */
	CHECK(if_flags("bvt0") & IFF_UP);
	/* the container's side: its device, MAC and default route */
	CHECK(nl_link_index(&cs, "eth0", &e) > 0);
	nl_route4 *rt = NULL;
	size_t n = 0;
	CHECK(nl_routes4(&cs, &rt, &n, &e) == 0);
	bool def = has_route(rt, n, "0.0.0.0", 0, "eth0"),
	     con = has_route(rt, n, "10.123.0.0", 24, "eth0");
	free(rt);
	CHECK(def && con);
	int ufd = socket_in(ctr, SOCK_DGRAM);
	CHECK(ufd >= 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	CHECK(ioctl(ufd, SIOCGIFHWADDR, &ifr) == 0);
	CHECK(memcmp(ifr.ifr_hwaddr.sa_data, MAC, 6) == 0);
	CHECK(ioctl(ufd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	CHECK(ioctl(ufd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP));

	/* hairpin on the bridge port, as `bridge` shows it */
	FILE *p = popen("bridge -d link show dev bvt0 2>/dev/null", "r");
	char out[2048] = "";
	size_t got = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[got] = '\0';
	int pst = p ? pclose(p) : -1;
	if (pst == 0) {
		CHECK_CONTAINS(out, "master brt0");
		CHECK_CONTAINS(out, "hairpin on");
	} else {
		printf("note: no `bridge` command: hairpin mode not read back\n");
	}

	/* real traffic: container -> gateway, and the answer back */
	int hfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in ha = {.sin_family = AF_INET, .sin_addr = gw};
	socklen_t hl = sizeof(ha);
	CHECK(hfd >= 0 && bind(hfd, (struct sockaddr *)&ha, sizeof(ha)) == 0);
	CHECK(getsockname(hfd, (struct sockaddr *)&ha, &hl) == 0);
	CHECK(sendto(ufd, "ping", 4, 0, (struct sockaddr *)&ha, sizeof(ha)) == 4);
	struct pollfd pf = {.fd = hfd, .events = POLLIN};
	CHECK(poll(&pf, 1, 10000) == 1);
	char msg[16] = "";
	struct sockaddr_in from = {0};
	socklen_t fl = sizeof(from);
	CHECK(recvfrom(hfd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fl) == 4);
	CHECK(memcmp(msg, "ping", 4) == 0);
	CHECK(from.sin_addr.s_addr == ip4("10.123.0.2").s_addr);
	CHECK(sendto(hfd, "pong", 4, 0, (struct sockaddr *)&from, fl) == 4);
	pf.fd = ufd;
	CHECK(poll(&pf, 1, 10000) == 1);
	CHECK(recv(ufd, msg, sizeof(msg), 0) == 4 && memcmp(msg, "pong", 4) == 0);
	close(hfd);
	close(ufd);

	/* deleting the host end takes the container's end with it */
	CHECK(nl_link_del(&s, "bvt0", &e) == 0);
	CHECK(nl_link_index(&s, "bvt0", &e) == 0);
	CHECK(nl_link_index(&cs, "eth0", &e) == 0);
	nl_close(&cs);
	nl_close(&s);
	close(ctr);
}

static void test_veth_traffic(void)
{
	in_netns(veth_body);
}

static void errors_body(void)
{
	int ctr = make_ctr_ns();
	CHECK(ctr >= 0);
	nl_sock s;
	berr e = {0};
	CHECK(nl_open(&s, -1, &e) == 0);
	int br = 0;
	CHECK(nl_bridge_ensure(&s, "brt0", ip4("10.123.0.1"), 24, 0, &br, NULL, &e) == 0);

	/* a host name that exists */
	CHECK(nl_veth_add(&s, "brt0", "eth0", ctr, NULL, br, 0, &e) < 0);
	CHECK(e.errnum == EEXIST);
	CHECK_CONTAINS(e.msg, "netlink: create veth brt0");
	CHECK_CONTAINS(e.msg, "File exists");
	/* ... and no peer was left in the container */
	nl_sock cs;
	CHECK(nl_open(&cs, ctr, &e) == 0);
	CHECK(nl_link_index(&cs, "eth0", &e) == 0);

	/* an unknown master: refused, naming both, and the pair is gone */
	e = (berr){0};
	CHECK(nl_veth_add(&s, "bvt1", "eth0", ctr, NULL, 9999, 0, &e) < 0);
	fprintf(stderr, "(expected) %s\n", e.msg);
	CHECK_CONTAINS(e.msg, "bvt1");
	CHECK_CONTAINS(e.msg, "9999");
	CHECK(nl_link_index(&s, "bvt1", &e) == 0);
	CHECK(nl_link_index(&cs, "eth0", &e) == 0);

	/* too long a name: EINVAL naming it, before any kernel call (a socket
	 * that was never opened would crash one) */
	nl_sock none = {0};
	CHECK(nl_veth_add(&none, "bv0123456789abcd", "eth0", ctr, NULL, br, 0, &e) < 0);
	CHECK(e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "bv0123456789abcd");
	CHECK(nl_veth_add(&none, "bvt2", "eth0123456789abc", ctr, NULL, br, 0, &e) < 0);
	CHECK(e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "eth0123456789abc");
	CHECK(nl_link_del(&none, "a/b", &e) < 0 && e.errnum == EINVAL);
	CHECK(nl_link_index(&none, "", &e) < 0 && e.errnum == EINVAL);
	int idx = 0;
	CHECK(nl_bridge_ensure(&none, "berth0123456789x", ip4("10.1.0.1"), 24, 0, &idx, NULL, &e) <
	      0);
	CHECK_CONTAINS(e.msg, "berth0123456789x");

	/* the kernel's own words (extended ack) when it sends them */
	CHECK(nl_bridge_ensure(&s, "brt8", ip4("10.1.0.1"), 24, 70000, &idx, NULL, &e) < 0);
	CHECK_CONTAINS(e.msg, "netlink: create bridge brt8: ");
	CHECK_CONTAINS(e.msg, "mtu greater than device maximum: Invalid argument");
	CHECK(nl_link_index(&s, "brt8", &e) == 0);

	/* deleting what is not there: fine */
	CHECK(nl_link_del(&s, "bvmissing", &e) == 0);
	CHECK(nl_link_index(&s, "bvmissing", &e) == 0);

	/* a bridge name held by a link that is no bridge */
	CHECK(nl_veth_add(&s, "brt9", "brt9p", -1, NULL, 0, 0, &e) == 0);
	CHECK(nl_bridge_ensure(&s, "brt9", ip4("10.126.0.1"), 24, 0, &idx, NULL, &e) < 0);
	CHECK(e.errnum == EEXIST);
	CHECK_CONTAINS(e.msg, "kind veth");
	CHECK(nl_link_index(&s, "brt9p", &e) > 0); /* peer in s's netns when no fd */

	/* an address twice: EEXIST naming it; a bad prefix before the kernel */
	struct in_addr a = ip4("10.127.0.1");
	int vi = nl_link_index(&s, "brt9", &e);
	CHECK(nl_addr_add(&s, vi, AF_INET, &a, 24, &e) == 0);
	CHECK(nl_addr_add(&s, vi, AF_INET, &a, 24, &e) < 0 && e.errnum == EEXIST);
	CHECK_CONTAINS(e.msg, "add address 10.127.0.1/24");
	CHECK(nl_addr_add(&none, vi, AF_INET, &a, 33, &e) < 0 && e.errnum == EINVAL);
	/* the container side of a device that is not there */
	CHECK(nl_ctr_configure(&cs, "eth7", a, 24, NULL, &e) < 0);
	CHECK(e.errnum == ENODEV);
	CHECK_CONTAINS(e.msg, "eth7");

	/* a netns fd that is no netns */
	nl_sock bad;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(nl_open(&bad, devnull, &e) < 0 && e.errnum == EINVAL);
	CHECK_CONTAINS(e.msg, "setns");
	close(devnull);
	nl_close(&cs);
	nl_close(&s);
	close(ctr);
}

static void test_errors(void)
{
	in_netns(errors_body);
}

static void names_body(void)
{
	nl_sock s;
	berr e = {0};
	CHECK(nl_open(&s, -1, &e) == 0);
	char **v = nl_link_names(&s, "bvz", &e);
	CHECK(v && v[0] == NULL); /* none: empty, not NULL */
	strv_free(v);
	CHECK(nl_veth_add(&s, "bvza", "xpa", -1, NULL, 0, 0, &e) == 0);
	CHECK(nl_veth_add(&s, "bvzb", "xpb", -1, NULL, 0, 0, &e) == 0);
	CHECK(nl_veth_add(&s, "bvy", "xpc", -1, NULL, 0, 0, &e) == 0);
	v = nl_link_names(&s, "bvz", &e);
	CHECK(v && strv_len(v) == 2);
	bool a = !strcmp(v[0], "bvza") || !strcmp(v[1], "bvza");
	bool b = !strcmp(v[0], "bvzb") || !strcmp(v[1], "bvzb");
	strv_free(v);
	CHECK(a && b);
	v = nl_link_names(&s, "", &e);
	size_t all = v ? strv_len(v) : 0;
	strv_free(v);
	CHECK(all == 7); /* lo and three pairs */
	nl_close(&s);
}

static void test_link_names(void)
{
	in_netns(names_body);
}

static void v6_body(void)
{
	nl_sock s;
	berr e = {0};
	CHECK(nl_open(&s, -1, &e) == 0);
	CHECK(nl_veth_add(&s, "v6a", "v6b", -1, NULL, 0, 1400, &e) == 0);
	int a = nl_link_index(&s, "v6a", &e), b = nl_link_index(&s, "v6b", &e);
	CHECK(a > 0 && b > 0);
	CHECK(nl_link_up(&s, b, &e) == 0);
	CHECK(if_flags("v6b") & IFF_UP);
	struct in6_addr x, gw;
	inet_pton(AF_INET6, "fd00:beef::2", &x);
	inet_pton(AF_INET6, "fd00:beef::1", &gw);
	if (nl_addr_add(&s, a, AF_INET6, &x, 64, &e) < 0 && e.errnum == EACCES) {
		printf("skip: IPv6 disabled here\n");
		nl_close(&s);
		return;
	}
	CHECK(e.msg[0] == '\0');
	CHECK(nl_route_add_default(&s, AF_INET6, &gw, a, &e) == 0);
	CHECK(nl_route_add_default(&s, AF_INET6, &gw, a, &e) < 0 && e.errnum == EEXIST);
	CHECK_CONTAINS(e.msg, "default route via fd00:beef::1");
	struct in_addr g4 = ip4("10.9.0.1");
	CHECK(nl_route_add_default(&s, AF_INET, &g4, a, &e) < 0); /* no route to 10.9.0.1 */
	CHECK(nl_link_up(&s, 0, &e) < 0 && e.errnum == EINVAL);
	nl_close(&s);
}

static void test_ipv6_and_routes(void)
{
	in_netns(v6_body);
}

static void fwd_body(void)
{
	berr e = {0};
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "we");
	CHECK(f && fputs("0", f) >= 0 && fclose(f) == 0);
	CHECK(nl_ip_forward_enable(&e) == 0);
	char buf[8] = "";
	f = fopen("/proc/sys/net/ipv4/ip_forward", "re");
	CHECK(f && fgets(buf, sizeof(buf), f));
	fclose(f);
	CHECK_STREQ(buf, "1\n");
	CHECK(nl_ip_forward_enable(&e) == 0); /* already on */
}

static void test_ip_forward(void)
{
	in_netns(fwd_body);
}

CHECK_MAIN(test_bridge, test_veth_traffic, test_errors, test_link_names, test_ipv6_and_routes,
	   test_ip_forward)
