/* The text of a container's /etc/hosts and /etc/resolv.conf, as Docker
 * (libnetwork etchosts + resolvconf) writes them. Text only: the caller
 * writes the files and bind-mounts them.
 *
 * Choices made (Docker's behaviour unless said otherwise):
 * - --network none (no address): no line for the hostname, as Docker (not
 *   Podman's "127.0.1.1 hostname"); `hostname -i` fails there as in Docker.
 * Differences from Docker:
 * - --dns-search/--dns-option without --dns: Docker copies the host's
 *   nameservers unfiltered, so a host with only 127.0.0.53 gives a container
 *   that cannot resolve; berth filters loopback servers on every path but
 *   host_net, and falls back to the defaults as the plain path does.
 * - The defaults when no nameserver is left: 8.8.8.8 and 8.8.4.4 (Docker's
 *   IPv4 ones); Docker's IPv6 defaults are not added, even with ipv6.
 * - A user network uses aardvark-dns at the gateway (internal_dns) where
 *   Docker has its embedded 127.0.0.11: the gateway is the only nameserver
 *   (Docker also lists the host's IPv6 ones), "ndots:0" added as Docker
 *   does unless ndots is set; --dns replaces it (Docker keeps its resolver
 *   and forwards to the --dns servers; a berth container with --dns does not
 *   resolve its peers). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct net_host_entry {
	const char *name;
	const char *ip;
} net_host_entry; /* --add-host */

/* Docker's /etc/hosts: the localhost lines (127.0.0.1 localhost; ::1 localhost
 * ip6-localhost ip6-loopback; fe00::0 ip6-localnet; ff00::0 ip6-mcastprefix;
 * ff02::1 ip6-allnodes; ff02::2 ip6-allrouters), the --add-host entries in
 * order ("<ip>\t<name>"), then "<ip>\t<hostname>" for each address of the
 * container ("<ip>\tweb.example.com web" for a dotted hostname, as Docker).
 * naddrs 0 (--network none): no hostname line. hostname NULL or "": none
 * either. --network host is not built here: Docker copies the host's
 * /etc/hosts (and builds this text only when --add-host is given).
 * malloc'ed. */
char *net_hosts_text(const char *hostname, const char *const *addrs, size_t naddrs,
		     const net_host_entry *extra, size_t nextra);

/* "--add-host NAME:IP" or "NAME=IP" (Docker 25's form), split at the first
 * '=' if there is one, else at the first ':' ("h:::1" is h -> ::1); an IP in
 * brackets ("h=[::1]") loses them; "host-gateway" is replaced by host_gateway
 * (the network's gateway; NULL: EINVAL, no gateway on this network). NAME
 * must be non-empty, without ':' or white space. EINVAL names the bad value.
 * *name and *ip malloc'ed. */
int net_add_host_parse(const char *spec, const char *host_gateway, char **name, char **ip, berr *e);

typedef struct net_resolv_opts {
	const char *const *dns;	    /* --dns (replace nameservers), NULL-terminated, may be NULL */
	const char *const *search;  /* --dns-search ("." alone: no search line), may be NULL */
	const char *const *options; /* --dns-option, may be NULL */
	const char *internal_dns;   /* aardvark's address (user networks): the only nameserver
				       unless --dns; NULL otherwise */
	bool ipv6; /* the container has IPv6: the host's IPv6 nameservers are kept */
} net_resolv_opts;

/* The container's resolv.conf from the host's text (host_text NULL: no host
 * file, as Docker: the defaults).
 * - Nothing given (no --dns*, no internal_dns): the host's text with every
 *   "nameserver" line of a loopback address (127.0.0.0/8, ::1) removed, and
 *   of an IPv6 one unless ipv6 (as Docker, whose containers without IPv6
 *   would wait out an unreachable server), the rest kept as is; if no
 *   nameserver is left, 8.8.8.8 and 8.8.4.4 appended.
 * - Otherwise, built as Docker's resolvconf.Build: "search ..." (--dns-search,
 *   else the host's last search line), "nameserver ..." (--dns, else
 *   internal_dns, else the host's usable ones or the defaults),
 *   "options ..." (--dns-option, else the host's last options line; with
 *   internal_dns as the nameserver, "ndots:0" appended unless ndots is set).
 * - host_net: the host's text as is when nothing is given, else built as
 *   above with the host's nameservers unfiltered (loopback is the host's);
 *   internal_dns is ignored.
 * --dns values must be IP addresses, --dns-search/--dns-option values
 * non-empty without white space: EINVAL names the value. malloc'ed. */
char *net_resolv_text(const char *host_text, const net_resolv_opts *o, bool host_net, berr *e);
