/* The host's /etc/resolv.conf as net_resolv_text reads it (anyone who can
 * write the host's file, or a DHCP client writing it), and --add-host specs
 * (net_add_host_parse). The input's first byte picks the options; the rest
 * is the host's text, its first line also an --add-host spec. Properties:
 * no loopback nameserver reaches a container off the host network, nor an
 * IPv6 one a container without IPv6 (but its own --dns), there is
 * always a nameserver, filtering is idempotent, a parsed --add-host name has
 * no ':' or white space and its address parses. */
#include <arpa/inet.h>
#include <ctype.h>

#include "fuzz.h"
#include "net/etcfiles.h"
#include "util/cleanup.h"

static bool loopback_or_none(const char *s, bool *any_ns, bool *any_v6)
{
	for (const char *l = s; *l;) {
		size_t ll = strcspn(l, "\n");
		char buf[256];
		int n = snprintf(buf, sizeof(buf), "%.*s", (int)ll, l);
		char w0[64], w1[128];
		if (n > 0 && sscanf(buf, " %63s %127s", w0, w1) == 2 && !strcmp(w0, "nameserver")) {
			char *c = strpbrk(w1, "#;");
			if (c)
				*c = '\0';
			struct in_addr a4;
			struct in6_addr a6;
			if (inet_pton(AF_INET, w1, &a4) == 1) {
				*any_ns = true;
				if ((ntohl(a4.s_addr) >> 24) == 127)
					return true;
			} else if (inet_pton(AF_INET6, w1, &a6) == 1) {
				*any_ns = *any_v6 = true;
				if (IN6_IS_ADDR_LOOPBACK(&a6))
					return true;
			}
		}
		l += ll;
		if (*l == '\n')
			l++;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	_cleanup_free_ char *host = fuzz_cstr(data + 1, size - 1);
	const char *dns[] = {"192.0.2.1", NULL},
		   *search[] = {mode & 0x10 ? "." : "x.example", NULL}, *opts[] = {"ndots:2", NULL};
	net_resolv_opts o = {
	    .dns = mode & 1 ? dns : NULL,
	    .search = mode & 2 ? search : NULL,
	    .options = mode & 4 ? opts : NULL,
	    .internal_dns = mode & 8 ? "10.89.0.1" : NULL,
	};
	o.ipv6 = mode & 0x80;
	bool host_net = mode & 0x20;
	berr e = {0};
	_cleanup_free_ char *out = net_resolv_text(host, &o, host_net, &e);
	if (!out)
		fuzz_die("net_resolv_text refused valid options", &e);
	if (!host_net) {
		bool any = false, v6 = false;
		if (loopback_or_none(out, &any, &v6))
			fuzz_die("a loopback nameserver left for a container", NULL);
		if (v6 && !o.ipv6 && !o.dns)
			fuzz_die("an IPv6 nameserver for a container without IPv6", NULL);
		if (!any)
			fuzz_die("no nameserver in a container's resolv.conf", NULL);
		_cleanup_free_ char *again = net_resolv_text(out, &o, false, &e);
		if (!again ||
		    (!o.dns && !o.search && !o.options && !o.internal_dns && strcmp(again, out)))
			fuzz_die("filtering the filtered text changed it", &e);
	} else if (!o.dns && !o.search && !o.options && strcmp(out, host)) {
		fuzz_die("host network without options: not the host's text", NULL);
	}

	char *nl = strchr(host, '\n');
	if (nl)
		*nl = '\0';
	char *name = NULL, *ip = NULL;
	berr e2 = {0};
	if (net_add_host_parse(host, mode & 0x40 ? "10.89.0.1" : NULL, &name, &ip, &e2) == 0) {
		unsigned char a[sizeof(struct in6_addr)];
		if (!*name || strchr(name, ':'))
			fuzz_die("--add-host name empty or with ':'", NULL);
		for (const char *p = name; *p; p++)
			if (isspace((unsigned char)*p))
				fuzz_die("--add-host name with white space", NULL);
		if (inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) != 1)
			fuzz_die("--add-host address does not parse", NULL);
	}
	free(name);
	free(ip);
	return 0;
}
