/* Published ports over IPv6 (netports6.c): internal to the engine's
 * network code. A container with a v6 address gets, for each port bound on
 * every v4 address, the same port on [::] (NetworkSettings.Ports holds both,
 * as Docker 27), and `-p [ADDR]:P:Q` binds one v6 address. The elements go
 * into `ip6 berth` (net/nft6.h); the host ports are held like the v4 ones. */
#pragma once

#include <json-c/json.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/network.h"
#include "net/nft6.h"
#include "util/error.h"

/* A bound v6-only socket on [ip]:port; EADDRINUSE names it. */
int port_hold6(int proto, const struct in6_addr *ip, uint16_t port, berr *e);
int port_pick6(int proto, const struct in6_addr *ip, long lo, long hi, uint16_t *out, berr *e);
/* The v6 address of the container's first network (none: false). */
bool ctr_first_ip6(json_object *doc, struct in6_addr *out);
/* The v6 entries of NetworkSettings.Ports as elements to ctr_ip. */
bnft_port6 *ports6_of(json_object *doc, const struct in6_addr *ctr_ip, size_t *np);
/* At attach: hold and publish them (stale elements of containers that
 * are not running taken over); at detach: remove ours. */
int publish6(eng *g, json_object *doc, eng_net_hold *hold, berr *e);
int unpublish6(json_object *doc, berr *e);
