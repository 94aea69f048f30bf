/* berth's networks: records, leases (IPAM) and what a container's start and
 * exit do to them. Mechanisms live in src/lib/net (netlink, nftables,
 * aardvark-dns, /etc files, slirp4netns/pasta); this is the policy.
 *
 * Layout under <root>/networks/:
 *   .lock          flock, exclusive while a record changes (taken after the
 *                  containers lock when both are held)
 *   <name>.json    the record, in Docker's `network inspect` shape; its
 *                  Containers map is the lease table: every container on the
 *                  network has its address there from create to rm
 *                  (BerthActive: running, in DNS, ports published)
 * Under the run root: aardvark/<name>, aardvark-dns's config of the network.
 *
 * The default network "bridge" (device berth0; no DNS, as Docker's) is made
 * on first use; user networks get berth1, berth2, ... and name resolution.
 * Subnets berth picks come from Docker's pools (172.17.0.0/16 ...
 * 172.31.0.0/16, then 192.168.0.0/20 ... 192.168.240.0/20), skipping any that
 * overlaps a host route or another network. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "net/ipam.h"
#include "net/ipam6.h"

#define ENG_NET_DEFAULT "bridge"

typedef struct eng_net_opts {
	const char *name, *driver, *subnet, *gateway, *ip_range;
	const char *subnet6, *gateway6, *ip_range6; /* the IPv6 ones (with ipv6) */
	bool internal, ipv6, disable_dns;
	char **labels;	/* KEY=VALUE */
	char **options; /* -o KEY=VALUE (com.docker.network.bridge.name=..., mtu=...) */
} eng_net_opts;

/* Make a network: the record, its bridge and its nftables rules; on error
 * nothing is left. Returns the record (json_object_put). EEXIST names it;
 * an overlapping subnet is refused naming the route or network it hits. */
json_object *eng_net_create(eng *g, const eng_net_opts *o, berr *e);
/* The record of a network by name, full id or unique id prefix; ENOENT
 * "no such network: x". *name (may be NULL): its name, malloc'ed. */
json_object *eng_net_load(eng *g, const char *ref, char **name, berr *e);
char **eng_net_names(eng *g); /* sorted, strv */
/* Remove a network no container uses (EBUSY names one that does): DNS
 * file, nftables rules, bridge, record. */
int eng_net_remove(eng *g, const char *ref, berr *e);
/* The default network's record, made if missing (ENG_NET_DEFAULT). */
int eng_net_ensure_default(eng *g, berr *e);

/* A container's place on a network (its lease). */
typedef struct eng_endpoint {
	char network[128];
	char bridge[16];
	uint32_t ip, gw; /* host order */
	int prefix;
	uint8_t mac[6];
	bool internal, dns;
	bool has6; /* a dual-stack network: ip6, gw6, prefix6 */
	net_ip6 ip6, gw6;
	int prefix6;
} eng_endpoint;

/* Lease an address on `net` for container id (ip_req/mac_req: --ip,
 * --mac-address, may be NULL); aliases: --network-alias. EADDRINUSE names
 * the holder of a requested address. Idempotent for the same container. */
int eng_net_lease(eng *g, const char *net, const char *id, const char *cname, const char *ip_req,
		  const char *ip6_req, const char *mac_req, char *const *aliases, eng_endpoint *ep,
		  berr *e);
/* One --network-alias of the lease added (present) or dropped, DNS told
 * when the container is active there; no lease or no change: 0 (kube
 * play's Service names, which follow the pods' readiness). */
int eng_net_alias_set(eng *g, const char *net, const char *id, const char *alias, bool present,
		      berr *e);
/* Free it (and drop the container from DNS); 0 when there is none. */
int eng_net_release(eng *g, const char *net, const char *id, berr *e);
/* A renamed container's leases (and so the networks' DNS) get its new name. */
int eng_net_rename(eng *g, const char *id, const char *name, berr *e);

/* ---- a container's start and exit (netattach.c) ---------------------- */

/* Before the launch (the parent): the networks of container.json `doc`
 * checked (a network removed since? ENOENT), container:ID resolved to that
 * container's running init (config.json rewritten), the host ports of
 * -p HOSTPORT-less bindings picked, NetworkSettings filled (the caller
 * saves doc). */
int eng_net_prepare(eng *g, const char *id, json_object *doc, berr *e);

/* Ports held open while the container runs (the monitor inherits them, as
 * conmon does): no other program can bind a published port meanwhile. */
typedef struct eng_net_hold {
	int fds[64];
	size_t n;
} eng_net_hold;

/* Between create and start, in the monitor-to-be (single-threaded): the
 * init `pid` waits in its netns; bridges ensured, veths made, addresses
 * set, ports published, names added to DNS. On error everything this call
 * did is undone. */
int eng_net_attach(eng *g, const char *id, json_object *doc, pid_t pid, eng_net_hold *hold,
		   berr *e);
/* After the exit (container cleanup): ports unpublished, names out of DNS.
 * The veths went with the netns. Safe to repeat. */
int eng_net_detach(eng *g, const char *id, json_object *doc, berr *e);
/* At rm: detach, then every lease freed. */
int eng_net_forget(eng *g, const char *id, json_object *doc, berr *e);

/* network connect / disconnect (netconnect.c): the lease and the record's
 * NetworkSettings.Networks entry; a running container gets (loses) the
 * interface at once. */
int eng_net_connect(eng *g, const char *ctr, const char *net, const char *ip, const char *ip6,
		    char *const *aliases, berr *e);
int eng_net_disconnect(eng *g, const char *ctr, const char *net, berr *e);

/* system check (netcheck.c): leaked leases, DNS entries, published ports
 * and veths of containers that are gone or stopped; repair frees them. */
void eng_net_check(eng *g, bool repair, char ***garbage, char ***repaired);

/* Parse -p/--publish "[IP:][HOSTPORT[-END]:]CTRPORT[-END][/tcp|udp]" into
 * HostConfig.PortBindings ("80/tcp": [{"HostIp": "", "HostPort": "8080"}])
 * and Config.ExposedPorts; EINVAL names the spec. */
int eng_port_spec_add(const char *spec, json_object *bindings, json_object *exposed, berr *e);
