/* net/etcfiles: a container's /etc/hosts and /etc/resolv.conf text, as
 * Docker's libnetwork writes them (the differences are in etcfiles.h). */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "net/etcfiles.h"
#include "util/cleanup.h"

#define LOCALHOST                                                                                  \
	"127.0.0.1\tlocalhost\n"                                                                   \
	"::1\tlocalhost ip6-localhost ip6-loopback\n"                                              \
	"fe00::0\tip6-localnet\n"                                                                  \
	"ff00::0\tip6-mcastprefix\n"                                                               \
	"ff02::1\tip6-allnodes\n"                                                                  \
	"ff02::2\tip6-allrouters\n"

static void test_hosts_bridge(void)
{
	const char *addrs[] = {"172.17.0.2"};
	net_host_entry extra[] = {{"db", "10.0.0.9"}, {"v6", "2001:db8::1"}};
	_cleanup_free_ char *s = net_hosts_text("abcdef123456", addrs, 1, extra, 2);
	CHECK_STREQ(s, LOCALHOST "10.0.0.9\tdb\n"
				 "2001:db8::1\tv6\n"
				 "172.17.0.2\tabcdef123456\n");
}

static void test_hosts_fqdn_and_two_networks(void)
{
	const char *addrs[] = {"172.17.0.2", "10.89.0.5"};
	_cleanup_free_ char *s = net_hosts_text("web.example.com", addrs, 2, NULL, 0);
	CHECK_STREQ(s, LOCALHOST "172.17.0.2\tweb.example.com web\n"
				 "10.89.0.5\tweb.example.com web\n");
}

static void test_hosts_none(void)
{
	/* --network none: Docker writes no line for the hostname */
	net_host_entry extra[] = {{"db", "10.0.0.9"}};
	_cleanup_free_ char *s = net_hosts_text("abcdef123456", NULL, 0, extra, 1);
	CHECK_STREQ(s, LOCALHOST "10.0.0.9\tdb\n");
}

/* ---- --add-host ---------------------------------------------------------- */

static bool parses(const char *spec, const char *gw, const char *name, const char *ip)
{
	char *n = NULL, *i = NULL;
	berr e = {0};
	int r = net_add_host_parse(spec, gw, &n, &i, &e);
	bool ok = r == 0 && n && i && !strcmp(n, name) && !strcmp(i, ip);
	if (!ok)
		fprintf(stderr, "%s: r=%d name=%s ip=%s (%s)\n", spec, r, n ? n : "-", i ? i : "-",
			e.msg);
	free(n);
	free(i);
	return ok;
}

static void test_add_host_forms(void)
{
	CHECK(parses("db:10.0.0.9", NULL, "db", "10.0.0.9"));
	CHECK(parses("db=10.0.0.9", NULL, "db", "10.0.0.9"));
	CHECK(parses("h:::1", NULL, "h", "::1")); /* split at the first ':' */
	CHECK(parses("h:2001:db8::1", NULL, "h", "2001:db8::1"));
	CHECK(parses("h=[2001:db8::1]", NULL, "h", "2001:db8::1"));
	CHECK(parses("h=::1", NULL, "h", "::1"));
	CHECK(parses("gw:host-gateway", "10.89.0.1", "gw", "10.89.0.1"));
	CHECK(parses("gw=host-gateway", "10.89.0.1", "gw", "10.89.0.1"));
}

static void refused(const char *spec, const char *gw, const char *needle)
{
	char *n = (char *)1, *i = (char *)1;
	berr e = {0};
	int r = net_add_host_parse(spec, gw, &n, &i, &e);
	CHECK(r < 0);
	CHECK(e.errnum == EINVAL);
	CHECK(n == NULL && i == NULL);
	CHECK_CONTAINS(e.msg, needle);
}

static void test_add_host_refused(void)
{
	refused("db:10.0.0.300", NULL, "\"10.0.0.300\"");
	refused("db=not-an-ip", NULL, "\"not-an-ip\"");
	refused("db", NULL, "\"db\"");
	refused(":10.0.0.9", NULL, "\":10.0.0.9\"");
	refused("a b:10.0.0.9", NULL, "\"a b:10.0.0.9\"");
	refused("gw:host-gateway", NULL, "host-gateway");
	refused("db:", NULL, "\"\"");
}

/* ---- resolv.conf ---------------------------------------------------------- */

static char *resolv(const char *host, const net_resolv_opts *o, bool host_net)
{
	berr e = {0};
	char *s = net_resolv_text(host, o, host_net, &e);
	if (!s)
		fprintf(stderr, "net_resolv_text: %s\n", e.msg);
	return s;
}

static void test_resolv_stub_only(void)
{
	/* systemd-resolved's stub: unreachable from the container's netns */
	_cleanup_free_ char *s =
	    resolv("# managed by resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\n"
		   "search lan\n",
		   NULL, false);
	CHECK_STREQ(s, "# managed by resolved\noptions edns0 trust-ad\nsearch lan\n"
		       "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

static void test_resolv_mixed(void)
{
	const char *host = "nameserver 127.0.0.1\nnameserver 192.0.2.53\n"
			   "nameserver ::1\n  nameserver\t127.1.2.3  \n"
			   "nameserver 2001:db8::53\nsearch a.example b.example";
	/* no IPv6 in the container: its IPv6 servers go too, as Docker's */
	_cleanup_free_ char *s = resolv(host, NULL, false);
	CHECK_STREQ(s, "nameserver 192.0.2.53\nsearch a.example b.example\n");
	net_resolv_opts v6 = {.ipv6 = true};
	_cleanup_free_ char *s6 = resolv(host, &v6, false);
	CHECK_STREQ(s6, "nameserver 192.0.2.53\nnameserver 2001:db8::53\n"
			"search a.example b.example\n");
	/* only IPv6 servers, no IPv6: the defaults */
	_cleanup_free_ char *s0 = resolv("nameserver 2001:db8::53\n", NULL, false);
	CHECK_STREQ(s0, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

static void test_resolv_no_host_file(void)
{
	_cleanup_free_ char *s = resolv(NULL, NULL, false);
	CHECK_STREQ(s, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

static void test_resolv_dns_replaces(void)
{
	const char *dns[] = {"1.1.1.1", "2606:4700:4700::1111", NULL};
	net_resolv_opts o = {.dns = dns};
	_cleanup_free_ char *s = resolv("nameserver 192.0.2.53\nsearch lan\noptions ndots:2\n"
					"options rotate\n",
					&o, false);
	/* search and options kept (the last options line, as Docker) */
	CHECK_STREQ(s, "search lan\nnameserver 1.1.1.1\nnameserver 2606:4700:4700::1111\n"
		       "options rotate\n");
}

static void test_resolv_search_options(void)
{
	const char *search[] = {"corp.example", "example.org", NULL};
	const char *opts[] = {"ndots:3", "timeout:1", NULL};
	net_resolv_opts o = {.search = search, .options = opts};
	/* the host's servers, loopback ones filtered (Docker keeps them here) */
	_cleanup_free_ char *s =
	    resolv("nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch lan\n", &o, false);
	CHECK_STREQ(s, "search corp.example example.org\nnameserver 192.0.2.53\n"
		       "options ndots:3 timeout:1\n");
	_cleanup_free_ char *s2 = resolv("nameserver 127.0.0.53\nsearch lan\n", &o, false);
	CHECK_STREQ(s2, "search corp.example example.org\nnameserver 8.8.8.8\n"
			"nameserver 8.8.4.4\noptions ndots:3 timeout:1\n");
}

static void test_resolv_search_dot_clears(void)
{
	const char *search[] = {".", NULL};
	net_resolv_opts o = {.search = search};
	_cleanup_free_ char *s =
	    resolv("nameserver 192.0.2.53\nsearch lan\noptions edns0\n", &o, false);
	CHECK_STREQ(s, "nameserver 192.0.2.53\noptions edns0\n");
}

static void test_resolv_internal_dns(void)
{
	net_resolv_opts o = {.internal_dns = "10.89.0.1"};
	_cleanup_free_ char *s = resolv(
	    "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch lan\noptions edns0\n", &o, false);
	CHECK_STREQ(s, "search lan\nnameserver 10.89.0.1\noptions edns0 ndots:0\n");
	/* ndots set (by the host or --dns-option): kept, no ndots:0 */
	_cleanup_free_ char *s1 =
	    resolv("nameserver 192.0.2.53\noptions ndots:2 edns0\n", &o, false);
	CHECK_STREQ(s1, "nameserver 10.89.0.1\noptions ndots:2 edns0\n");
	const char *opts[] = {"ndots:3", NULL};
	net_resolv_opts o3 = {.options = opts, .internal_dns = "10.89.0.1"};
	_cleanup_free_ char *s3 = resolv("options rotate\n", &o3, false);
	CHECK_STREQ(s3, "nameserver 10.89.0.1\noptions ndots:3\n");
	_cleanup_free_ char *s4 = resolv("", &o, false);
	CHECK_STREQ(s4, "nameserver 10.89.0.1\noptions ndots:0\n");
	const char *dns[] = {"1.1.1.1", NULL};
	net_resolv_opts o2 = {.dns = dns, .internal_dns = "10.89.0.1"};
	_cleanup_free_ char *s2 = resolv("nameserver 192.0.2.53\n", &o2, false);
	CHECK_STREQ(s2, "nameserver 1.1.1.1\n"); /* --dns wins */
}

static void test_resolv_host_net(void)
{
	const char *host = "# host\nnameserver 127.0.0.53\nsearch lan\n";
	_cleanup_free_ char *s = resolv(host, NULL, true);
	CHECK_STREQ(s, host); /* as is: the host's loopback is reachable */
	const char *opts[] = {"ndots:2", NULL};
	net_resolv_opts o = {.options = opts};
	_cleanup_free_ char *s2 = resolv(host, &o, true);
	CHECK_STREQ(s2, "search lan\nnameserver 127.0.0.53\noptions ndots:2\n");
}

static void test_resolv_refused(void)
{
	const char *dns[] = {"1.1.1.1", "dns.example", NULL};
	const char *search[] = {"bad domain", NULL};
	const char *opts[] = {"ndots:1\nnameserver 6.6.6.6", NULL};
	net_resolv_opts o1 = {.dns = dns}, o2 = {.search = search}, o3 = {.options = opts};
	berr e1 = {0}, e2 = {0}, e3 = {0};
	char *a = net_resolv_text("", &o1, false, &e1);
	char *b = net_resolv_text("", &o2, false, &e2);
	char *c = net_resolv_text("", &o3, true, &e3);
	CHECK(!a && !b && !c);
	CHECK(e1.errnum == EINVAL && e2.errnum == EINVAL && e3.errnum == EINVAL);
	CHECK_CONTAINS(e1.msg, "--dns \"dns.example\"");
	CHECK_CONTAINS(e2.msg, "--dns-search \"bad domain\"");
	CHECK_CONTAINS(e3.msg, "--dns-option");
}

CHECK_MAIN(test_hosts_bridge, test_hosts_fqdn_and_two_networks, test_hosts_none,
	   test_add_host_forms, test_add_host_refused, test_resolv_stub_only, test_resolv_mixed,
	   test_resolv_no_host_file, test_resolv_dns_replaces, test_resolv_search_options,
	   test_resolv_search_dot_clears, test_resolv_internal_dns, test_resolv_host_net,
	   test_resolv_refused)
