/* Published ports: the -p pspec, host ports picked for -p CTRPORT and -P,
 * and the sockets that hold a published port while the container runs. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/netpriv.h"
#include "engine/netports.h"
#include "util/cleanup.h"

#define PORT_RANGE_MAX 1024 /* ports one -p may publish */

static int port_range(const char *s, size_t len, long *lo, long *hi)
{
	char b[16];
	if (!len || len >= sizeof(b))
		return -1;
	memcpy(b, s, len);
	b[len] = 0;
	char *end, *dash = strchr(b, '-');
	if (dash)
		*dash = 0;
	errno = 0;
	*lo = strtol(b, &end, 10);
	if (errno || *end || end == b || *lo < 1 || *lo > 65535)
		return -1;
	*hi = *lo;
	if (dash) {
		*hi = strtol(dash + 1, &end, 10);
		if (errno || *end || end == dash + 1 || *hi < *lo || *hi > 65535)
			return -1;
	}
	return 0;
}

int eng_port_spec_add(const char *pspec, json_object *bindings, json_object *exposed, berr *e)
{
	/* [IP:][HOSTPORT:]CTRPORT[/proto]; an IPv6 IP in brackets */
	_cleanup_free_ char *s = xstrdup(pspec);
	const char *proto = "tcp";
	char *slash = strrchr(s, '/');
	if (slash) {
		*slash = 0;
		proto = slash + 1;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
			return berr_set(e, EINVAL,
					"invalid port spec \"%s\": protocol \"%s\" (tcp or udp)",
					pspec, proto);
	}
	char *ip = NULL, *host = NULL, *ctr = s;
	char *last = strrchr(s, ':');
	if (last) {
		*last = 0;
		ctr = last + 1;
		char *prev = strrchr(s, ':');
		if (prev) {
			*prev = 0;
			ip = s;
			host = prev + 1;
		} else {
			host = s;
		}
	}
	struct in6_addr a6;
	bool v6 = ip && *ip == '[' && ip[strlen(ip) - 1] == ']';
	if (v6) {
		ip[strlen(ip) - 1] = 0;
		ip++;
		if (inet_pton(AF_INET6, ip, &a6) != 1)
			return berr_set(e, EINVAL,
					"invalid port spec \"%s\": bad IPv6 host address \"%s\"",
					pspec, ip);
		/* IPv6 has no route_localnet: a DNAT of ::1 to a container
		 * needs a userland proxy, which berth does not have */
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return berr_set(e, ENOTSUP,
					"invalid port spec \"%s\": [::1] cannot be published "
					"(IPv6 has no route_localnet and berth no userland proxy; "
					"use 127.0.0.1 or [::])",
					pspec);
	}
	struct in_addr a;
	if (ip && *ip && !v6 && inet_pton(AF_INET, ip, &a) != 1)
		return berr_set(e, EINVAL, "invalid port spec \"%s\": bad host address \"%s\"",
				pspec, ip);
	long clo, chi, hlo = 0, hhi = 0;
	if (port_range(ctr, strlen(ctr), &clo, &chi) < 0)
		return berr_set(e, EINVAL, "invalid port spec \"%s\": bad container port \"%s\"",
				pspec, ctr);
	if (host && *host) {
		if (port_range(host, strlen(host), &hlo, &hhi) < 0)
			return berr_set(e, EINVAL, "invalid port spec \"%s\": bad host port \"%s\"",
					pspec, host);
		if (hhi - hlo != chi - clo && !(hlo != hhi && clo == chi))
			return berr_set(e, EINVAL,
					"invalid port spec \"%s\": the host and container ranges "
					"differ in size",
					pspec);
	}
	if (chi - clo >= PORT_RANGE_MAX)
		return berr_set(e, EINVAL, "invalid port spec \"%s\": more than %d ports", pspec,
				PORT_RANGE_MAX);
	for (long p = clo; p <= chi; p++) {
		char key[24], hp[16] = "";
		snprintf(key, sizeof(key), "%ld/%s", p, proto);
		if (hlo && hlo == hhi)
			snprintf(hp, sizeof(hp), "%ld", hlo);
		else if (hlo && clo != chi)
			snprintf(hp, sizeof(hp), "%ld", hlo + (p - clo));
		else if (hlo) /* one container port, a host range: the first free of it */
			snprintf(hp, sizeof(hp), "%ld-%ld", hlo, hhi);
		json_object *arr = jget(bindings, key);
		if (!arr) {
			arr = json_object_new_array();
			json_object_object_add(bindings, key, arr);
		}
		json_object *b = json_object_new_object();
		json_object_object_add(b, "HostIp", json_object_new_string(ip ? ip : ""));
		json_object_object_add(b, "HostPort", json_object_new_string(hp));
		json_object_array_add(arr, b);
		if (exposed && !jget(exposed, key))
			json_object_object_add(exposed, key, json_object_new_object());
	}
	return 0;
}

int port_key_parse(const char *key, int *proto, uint16_t *port)
{
	long lo, hi;
	const char *sl = strchr(key, '/');
	size_t n = sl ? (size_t)(sl - key) : strlen(key);
	if (port_range(key, n, &lo, &hi) < 0 || lo != hi)
		return -1;
	*port = (uint16_t)lo;
	*proto = !sl || !strcmp(sl + 1, "tcp") ? IPPROTO_TCP
		 : !strcmp(sl + 1, "udp")      ? IPPROTO_UDP
					       : -1;
	return *proto < 0 ? -1 : 0;
}

/* A socket bound to ip:port (not listening): the port's reservation. */
int port_hold(int proto, uint32_t ip, uint16_t port, berr *e)
{
	int fd =
	    socket(AF_INET, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket");
	/* no SO_REUSEADDR: a bound socket then keeps every other one off the
	 * port, servers that set it included */
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(ip)}};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		char b[16];
		return berr_errno(e, err, "host port %s:%u/%s", net_ip_fmt(ip, b, sizeof(b)), port,
				  proto == IPPROTO_UDP ? "udp" : "tcp");
	}
	return fd;
}

/* A free host port on ip (lo..hi, or the kernel's ephemeral pick with 0). */
int port_pick(int proto, uint32_t ip, long lo, long hi, uint16_t *out, berr *e)
{
	if (!lo) {
		int fd = port_hold(proto, ip, 0, e);
		if (fd < 0)
			return -1;
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int r = getsockname(fd, (struct sockaddr *)&sa, &sl);
		close(fd);
		if (r < 0)
			return berr_sys(e, "getsockname");
		*out = ntohs(sa.sin_port);
		return 0;
	}
	for (long p = lo; p <= hi; p++) {
		berr ig;
		int fd = port_hold(proto, ip, (uint16_t)p, &ig);
		if (fd >= 0) {
			close(fd);
			*out = (uint16_t)p;
			return 0;
		}
	}
	return berr_set(e, EADDRINUSE, "no free host port in %ld-%ld", lo, hi);
}
