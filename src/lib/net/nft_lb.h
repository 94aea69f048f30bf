/* A host port spread over several backends (kube play's Services): a table
 * of its own, `ip berth-kube`, so that berth's table (nft_rules.c) is not
 * touched:
 *
 * table ip berth-kube {
 *   map ports { type inet_proto . inet_service : verdict; }   tcp . 30080 : jump svc-tcp-30080
 *   chain pre { type nat hook prerouting priority dstnat - 1;
 *     ip daddr != 127.0.0.0/8 fib daddr type local meta l4proto . th dport vmap @ports }
 *   chain out { type nat hook output priority -101;
 *     fib daddr type local meta l4proto . th dport vmap @ports }
 *   chain svc-tcp-30080 {                     one per published port
 *     meta l4proto tcp dnat to numgen inc mod 3 map { 0 : 10.89.0.2, 1 : ..., 2 : ... } : 80 }
 * }
 *
 * New connections go round-robin (numgen inc) over the backends; an
 * established one stays where conntrack put it. No backend: the chain is
 * empty and the connection goes where it would without it (nothing
 * listens: refused). berth's own postrouting and forward rules (ct status
 * dnat: masquerade of the host's 127.0.0.1, hairpin, forward accept) apply
 * to these DNATs as to its published ports'. Host network namespace only. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "net/nft.h"
#include "util/error.h"

#define BNFT_LB_MAX 1024 /* backends per port */

/* Set the backends of (proto, host_port) to ips:port (n may be 0): one
 * transaction, made if missing. */
int bnft_lb_set(bnft *n, int proto, uint16_t host_port, const struct in_addr *ips, size_t nips,
		uint16_t port, berr *e);
/* Remove the port's chain (absent: 0); the table too once no port is left. */
int bnft_lb_del(bnft *n, int proto, uint16_t host_port, berr *e);
