/* Published ports of a container with an IPv6 address (netports6.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/netports.h"
#include "engine/netports6.h"
#include "engine/netpriv.h"
#include "net/nft6.h"
#include "util/cleanup.h"

int port_hold6(int proto, const struct in6_addr *ip, uint16_t port, berr *e)
{
	int fd =
	    socket(AF_INET6, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket (IPv6)");
	int one = 1; /* the v4 side is held on its own socket */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
		int err = errno;
		close(fd);
		return berr_errno(e, err, "setsockopt IPV6_V6ONLY");
	}
	struct sockaddr_in6 sa = {
	    .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = *ip};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		char b[INET6_ADDRSTRLEN];
		return berr_errno(e, err, "host port [%s]:%u/%s",
				  inet_ntop(AF_INET6, ip, b, sizeof(b)), port,
				  proto == IPPROTO_UDP ? "udp" : "tcp");
	}
	return fd;
}

int port_pick6(int proto, const struct in6_addr *ip, long lo, long hi, uint16_t *out, berr *e)
{
	if (!lo) {
		int fd = port_hold6(proto, ip, 0, e);
		if (fd < 0)
			return -1;
		struct sockaddr_in6 sa;
		socklen_t sl = sizeof(sa);
		int r = getsockname(fd, (struct sockaddr *)&sa, &sl);
		close(fd);
		if (r < 0)
			return berr_sys(e, "getsockname");
		*out = ntohs(sa.sin6_port);
		return 0;
	}
	for (long p = lo; p <= hi && p <= 65535; p++) {
		berr ig;
		int fd = port_hold6(proto, ip, (uint16_t)p, &ig);
		if (fd >= 0) {
			close(fd);
			*out = (uint16_t)p;
			return 0;
		}
	}
	return berr_set(e, EADDRINUSE, "no free host port in %ld-%ld", lo, hi);
}

bool ctr_first_ip6(json_object *doc, struct in6_addr *out)
{
	json_object_object_foreach(jpath(doc, "NetworkSettings.Networks"), name, v)
	{
		(void)name;
		const char *a = jstr(v, "GlobalIPv6Address");
		return a && *a && inet_pton(AF_INET6, a, out) == 1;
	}
	return false;
}

bnft_port6 *ports6_of(json_object *doc, const struct in6_addr *ctr_ip, size_t *np)
{
	json_object *ports = jpath(doc, "NetworkSettings.Ports");
	size_t cap = 0, n = 0;
	bnft_port6 *v = NULL;
	json_object_object_foreach(ports, key, arr)
	{
		int proto;
		uint16_t cport;
		if (port_key_parse(key, &proto, &cport) < 0 ||
		    !json_object_is_type(arr, json_type_array))
			continue;
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *b = json_object_array_get_idx(arr, i);
			struct in6_addr hip;
			const char *h = jstr(b, "HostIp");
			if (!h || !strchr(h, ':') || inet_pton(AF_INET6, h, &hip) != 1)
				continue;
			long hp = jstr(b, "HostPort") ? strtol(jstr(b, "HostPort"), NULL, 10) : 0;
			if (hp < 1 || hp > 65535)
				continue;
			if (n == cap)
				v = xreallocarray(v, cap = cap ? 2 * cap : 8, sizeof(*v));
			v[n++] = (bnft_port6){.proto = proto,
					      .host_ip = hip,
					      .host_port = (uint16_t)hp,
					      .ctr_ip = *ctr_ip,
					      .ctr_port = cport};
		}
	}
	*np = n;
	return v;
}

int publish6(eng *g, json_object *doc, eng_net_hold *hold, berr *e)
{
	struct in6_addr cip;
	size_t np = 0;
	_cleanup_free_ bnft_port6 *p = NULL;
	if (ctr_first_ip6(doc, &cip))
		p = ports6_of(doc, &cip, &np);
	if (!np)
		return 0;
	for (size_t i = 0; i < np; i++) {
		int fd = port_hold6(p[i].proto, &p[i].host_ip, p[i].host_port, e);
		if (fd < 0)
			return berr_ctx(e, "publish");
		if (hold->n < sizeof(hold->fds) / sizeof(hold->fds[0]))
			hold->fds[hold->n++] = fd;
		else
			close(fd);
	}
	bnft *n = bnft_open(e);
	if (!n)
		return -1;
	int r = bnft6_ports_add(n, p, np, e);
	if (r < 0 && e->errnum == EADDRINUSE) {
		/* stale elements of a container killed before its cleanup */
		bnft_port6 *have = NULL;
		size_t nh = 0;
		berr ig;
		if (bnft6_ports_list(n, &have, &nh, &ig) == 0) {
			for (size_t j = 0; j < nh; j++)
				if (net_addr_owner_gone(g, AF_INET6, &have[j].ctr_ip))
					bnft6_ports_del(n, &have[j], 1, &ig);
			r = bnft6_ports_add(n, p, np, e);
		}
		free(have);
	}
	bnft_close(n);
	return r;
}

int unpublish6(json_object *doc, berr *e)
{
	struct in6_addr cip;
	size_t np = 0;
	_cleanup_free_ bnft_port6 *p = NULL;
	if (ctr_first_ip6(doc, &cip))
		p = ports6_of(doc, &cip, &np);
	if (!np)
		return 0;
	bnft *n = bnft_open(e);
	int r = n ? bnft6_ports_del(n, p, np, e) : -1;
	bnft_close(n);
	return r;
}
