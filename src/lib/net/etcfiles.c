#include "net/etcfiles.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *const default_dns[] = {"8.8.8.8", "8.8.4.4"};

/* A text being built: open_memstream grows it; out of memory aborts, as
 * xmalloc does. */
typedef struct text {
	FILE *f;
	char *buf;
	size_t len;
} text;

static void text_open(text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	if (!t->f)
		abort();
}

static char *text_close(text *t)
{
	if (fclose(t->f) != 0)
		abort();
	return t->buf;
}

char *net_hosts_text(const char *hostname, const char *const *addrs, size_t naddrs,
		     const net_host_entry *extra, size_t nextra)
{
	text t;
	text_open(&t);
	fputs("127.0.0.1\tlocalhost\n"
	      "::1\tlocalhost ip6-localhost ip6-loopback\n"
	      "fe00::0\tip6-localnet\n"
	      "ff00::0\tip6-mcastprefix\n"
	      "ff02::1\tip6-allnodes\n"
	      "ff02::2\tip6-allrouters\n",
	      t.f);
	for (size_t i = 0; i < nextra; i++)
		fprintf(t.f, "%s\t%s\n", extra[i].ip, extra[i].name);
	if (hostname && *hostname) {
		/* Docker: a dotted hostname is written as "fqdn short". */
		const char *dot = strchr(hostname, '.');
		for (size_t i = 0; i < naddrs; i++) {
			if (dot)
				fprintf(t.f, "%s\t%s %.*s\n", addrs[i], hostname,
					(int)(dot - hostname), hostname);
			else
				fprintf(t.f, "%s\t%s\n", addrs[i], hostname);
		}
	}
	return text_close(&t);
}

static bool is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* 127.0.0.0/8, ::1, and ::ffff:127.x (the same loopback, mapped). */
static bool is_loopback(const char *s)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

int net_add_host_parse(const char *spec, const char *host_gateway, char **name, char **ip, berr *e)
{
	*name = *ip = NULL;
	const char *sep = strchr(spec, '=');
	if (!sep)
		sep = strchr(spec, ':');
	if (!sep || sep == spec || memchr(spec, ':', (size_t)(sep - spec)) || has_space(spec))
		return berr_set(e, EINVAL,
				"--add-host \"%s\": bad format (want NAME:IP or NAME=IP)", spec);
	const char *v = sep + 1;
	size_t vlen = strlen(v);
	_cleanup_free_ char *addr = NULL;
	if (!strcmp(v, "host-gateway")) {
		if (!host_gateway)
			return berr_set(e, EINVAL,
					"--add-host \"%s\": host-gateway needs a network with a "
					"gateway",
					spec);
		addr = xstrdup(host_gateway);
	} else {
		if (vlen > 2 && v[0] == '[' && v[vlen - 1] == ']')
			addr = xstrndup(v + 1, vlen - 2);
		else
			addr = xstrdup(v);
		if (!is_ip(addr))
			return berr_set(e, EINVAL, "--add-host \"%s\": invalid IP address \"%s\"",
					spec, addr);
	}
	*name = xstrndup(spec, (size_t)(sep - spec));
	*ip = take_ptr(addr);
	return 0;
}

/* The next line of s (without its '\n'); *s moves past it. NULL at the end. */
static const char *next_line(const char **s, size_t *len)
{
	if (!**s)
		return NULL;
	const char *l = *s;
	const char *nl = strchr(l, '\n');
	*len = nl ? (size_t)(nl - l) : strlen(l);
	*s = nl ? nl + 1 : l + *len;
	return l;
}

/* White space between words, as musl's resolver takes it (glibc: ' ', '\t'
 * only): the filter removes what either would use. */
static bool is_sp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split a line into at most max white-space separated words (in buf, of size
 * bufsz); a '#' or ';' starts a comment. Returns the count (more words are
 * ignored: as glibc, "nameserver ADDR junk" uses ADDR). */
static size_t words(const char *l, size_t len, char *buf, size_t bufsz, char **w, size_t max)
{
	size_t n = 0, o = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && is_sp(l[i]))
			i++;
		if (i >= len || l[i] == '#' || l[i] == ';')
			break;
		size_t st = i;
		while (i < len && !is_sp(l[i]) && l[i] != '#' && l[i] != ';')
			i++;
		if (n == max || o + (i - st) + 1 > bufsz)
			break;
		memcpy(buf + o, l + st, i - st);
		buf[o + (i - st)] = '\0';
		w[n++] = buf + o;
		o += i - st + 1;
	}
	return n;
}

static bool is_ipv6(const char *s)
{
	struct in6_addr a6;
	return inet_pton(AF_INET6, s, &a6) == 1;
}

/* Can a container not on the host's network use this nameserver? Not a
 * loopback one (the host's, not the container's), nor an IPv6 one when the
 * container has no IPv6 (Docker's TransformForLegacyNw). */
static bool usable_ns(const char *ip, bool ipv6)
{
	return !is_loopback(ip) && (ipv6 || !is_ipv6(ip));
}

/* Is this line "nameserver <address a container cannot use>"? */
static bool unusable_ns_line(const char *l, size_t len, bool ipv6)
{
	char buf[128], *w[2];
	size_t n = words(l, len, buf, sizeof(buf), w, 2);
	return n == 2 && !strcmp(w[0], "nameserver") && is_ip(w[1]) && !usable_ns(w[1], ipv6);
}

/* What Build takes from the host file: its nameservers (valid addresses;
 * unless all, only the usable ones), its last search line and its last
 * options line (Docker keeps the last of each). */
typedef struct host_resolv {
	strv_builder ns;
	char *search;  /* the words after "search", NULL if none */
	char *options; /* the words after "options" */
} host_resolv;

static char *rest_after(const char *l, size_t len, size_t keylen)
{
	size_t i = keylen; /* the key starts the line */
	while (i < len && is_sp(l[i]))
		i++;
	size_t end = i;
	while (end < len && l[end] != '#' && l[end] != ';')
		end++;
	while (end > i && is_sp(l[end - 1]))
		end--;
	return end > i ? xstrndup(l + i, end - i) : NULL;
}

static void host_resolv_read(const char *s, bool all, bool ipv6, host_resolv *h)
{
	size_t len;
	for (const char *l; (l = next_line(&s, &len));) {
		while (len && is_sp(*l)) {
			l++;
			len--;
		}
		char buf[128], *w[2];
		size_t n = words(l, len, buf, sizeof(buf), w, 2);
		if (n == 0)
			continue;
		if (!strcmp(w[0], "nameserver")) {
			if (n == 2 && is_ip(w[1]) && (all || usable_ns(w[1], ipv6)))
				strvb_push(&h->ns, w[1]);
		} else if (!strcmp(w[0], "search")) {
			free(h->search);
			h->search = rest_after(l, len, strlen("search"));
		} else if (!strcmp(w[0], "options")) {
			free(h->options);
			h->options = rest_after(l, len, strlen("options"));
		}
	}
}

/* Does an options line (its words) set ndots? */
static bool has_ndots(const char *opts)
{
	for (const char *p = opts; (p = strstr(p, "ndots:")); p++)
		if (p == opts || is_sp(p[-1]))
			return true;
	return false;
}

static void host_resolv_free(host_resolv *h)
{
	strvb_free(&h->ns);
	free(h->search);
	free(h->options);
}

static size_t vlen(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* Docker's domain rule: labels of letters, digits and '-' (not at either
 * end), an optional final dot, at most 255 bytes. */
static bool valid_domain(const char *s)
{
	size_t len = strlen(s);
	if (!len || len > 255)
		return false;
	size_t lab = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return false;
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || (c == '-' && lab > 0)) {
			lab++;
		} else {
			return false;
		}
	}
	return lab == 0 || s[len - 1] != '-';
}

static int validate(const net_resolv_opts *o, berr *e)
{
	for (size_t i = 0; o->dns && o->dns[i]; i++)
		if (!is_ip(o->dns[i]))
			return berr_set(e, EINVAL, "--dns \"%s\": not an IP address", o->dns[i]);
	for (size_t i = 0; o->search && o->search[i]; i++)
		if (strcmp(o->search[i], ".") && !valid_domain(o->search[i]))
			return berr_set(e, EINVAL, "--dns-search \"%s\": not a domain name",
					o->search[i]);
	for (size_t i = 0; o->options && o->options[i]; i++)
		if (!*o->options[i] || has_space(o->options[i]))
			return berr_set(e, EINVAL,
					"--dns-option \"%s\": must be one word without white space",
					o->options[i]);
	if (o->internal_dns && !is_ip(o->internal_dns))
		return berr_set(e, EINVAL, "internal DNS \"%s\": not an IP address",
				o->internal_dns);
	return 0;
}

/* The host's text without the nameservers a container cannot use (Docker's
 * FilterResolvDNS), the defaults appended when none is left. */
static char *filtered(const char *host_text, bool ipv6)
{
	text t;
	text_open(&t);
	bool any_ns = false;
	size_t len;
	const char *s = host_text;
	for (const char *l; (l = next_line(&s, &len));) {
		if (unusable_ns_line(l, len, ipv6))
			continue;
		char buf[128], *w[2];
		if (words(l, len, buf, sizeof(buf), w, 2) == 2 && !strcmp(w[0], "nameserver") &&
		    is_ip(w[1]))
			any_ns = true;
		fprintf(t.f, "%.*s\n", (int)len, l);
	}
	if (!any_ns)
		for (size_t i = 0; i < ARRAY_SIZE(default_dns); i++)
			fprintf(t.f, "nameserver %s\n", default_dns[i]);
	return text_close(&t);
}

char *net_resolv_text(const char *host_text, const net_resolv_opts *o, bool host_net, berr *e)
{
	static const net_resolv_opts none = {0};
	if (!o)
		o = &none;
	if (validate(o, e) < 0)
		return NULL;
	if (!host_text)
		host_text = "";
	size_t ndns = vlen(o->dns), nsearch = vlen(o->search), nopt = vlen(o->options);
	bool given = ndns || nsearch || nopt;
	if (host_net && !given)
		return xstrdup(host_text);
	if (!host_net && !given && !o->internal_dns)
		return filtered(host_text, o->ipv6);

	host_resolv h = {0};
	host_resolv_read(host_text, host_net, o->ipv6, &h);
	text t;
	text_open(&t);
	if (nsearch) {
		bool any = false;
		for (size_t i = 0; i < nsearch; i++) {
			if (!strcmp(o->search[i], "."))
				continue; /* "." clears the host's list */
			fprintf(t.f, "%s%s", any ? " " : "search ", o->search[i]);
			any = true;
		}
		if (any)
			fputc('\n', t.f);
	} else if (h.search) {
		fprintf(t.f, "search %s\n", h.search);
	}
	if (ndns) {
		for (size_t i = 0; i < ndns; i++)
			fprintf(t.f, "nameserver %s\n", o->dns[i]);
	} else if (o->internal_dns && !host_net) {
		fprintf(t.f, "nameserver %s\n", o->internal_dns);
	} else if (h.ns.n) {
		for (size_t i = 0; i < h.ns.n; i++)
			fprintf(t.f, "nameserver %s\n", h.ns.v[i]);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(default_dns); i++)
			fprintf(t.f, "nameserver %s\n", default_dns[i]);
	}
	/* Docker, with its own resolver: "ndots:0" unless ndots is set, so a
	 * peer's bare name goes to aardvark as is, not first with each search
	 * domain appended (forwarded upstream, one round trip each). */
	bool internal = !ndns && o->internal_dns && !host_net, ndots = false;
	if (nopt) {
		fputs("options", t.f);
		for (size_t i = 0; i < nopt; i++) {
			fprintf(t.f, " %s", o->options[i]);
			ndots |= !strncmp(o->options[i], "ndots:", 6);
		}
	} else if (h.options) {
		fprintf(t.f, "options %s", h.options);
		ndots = has_ndots(h.options);
	}
	if (internal && !ndots)
		fputs(nopt || h.options ? " ndots:0" : "options ndots:0", t.f);
	if (nopt || h.options || internal)
		fputc('\n', t.f);
	host_resolv_free(&h);
	return text_close(&t);
}
