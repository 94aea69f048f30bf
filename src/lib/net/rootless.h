/* Rootless container networking through pasta (passt) or slirp4netns.
 *
 * A rootless container has its own user and network namespace, so no veth or
 * bridge of the host can reach it; a user-mode helper process instead holds a
 * tap device in the container's netns and turns its packets into ordinary
 * sockets of the caller in the host's netns. The helper is a separate program
 * (the only per-container process of berth networking), spawned here with
 * posix_spawn and every other fd close-on-exec.
 *
 * What the container gets (podman's defaults, for the same reasons):
 *   slirp4netns: eth0 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder 10.0.2.3,
 *                MTU 65520, --disable-host-loopback (10.0.2.2 does NOT reach
 *                the host's 127.0.0.1: services bound to the host's loopback
 *                stay private; the host is reached at its other addresses).
 *   pasta:       eth0 with a copy of the host's address and routes (outbound
 *                connections keep the host's source address), DNS forwarder
 *                169.254.1.1 (pasta sends it to the host's resolver, loopback
 *                resolvers included), --no-map-gw (the gateway address does not
 *                reach the host's loopback), -T none -U none (no automatic
 *                forwarding of the host's bound ports into the container).
 *                As the container holds the host's own address, it reaches the
 *                host only at an address the host has on another interface.
 * Published ports listen on the host (host_ip, or every address) and forward
 * to the container's port.
 *
 * Lifetime: slirp4netns exits when the write end of its exit pipe (out->exit_fd,
 * close-on-exec, held by the caller) is closed, so it dies with its holder.
 * pasta (this Debian 12 version) has no such fd and outlives the container's
 * netns: net_rl_detach must be called when the container stops.
 *
 * Needs /dev/net/tun readable and writable by the caller (mode 0666, as udev
 * sets it); a host without udev may have it 0600, which is named in the error.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

typedef struct net_rl_port {
	int proto;	     /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t host_port;  /* 1..65535 */
	uint16_t ctr_port;   /* 1..65535 */
	const char *host_ip; /* NULL or "": every host address; else one IPv4/IPv6 address */
} net_rl_port;

typedef struct net_rl {
	pid_t pid;     /* the helper process (slirp4netns or pasta), 0 when none */
	int exit_fd;   /* write end the caller holds: closing it (or dying) makes the helper exit,
			* where the tool supports it (slirp4netns --exit-fd); -1 otherwise */
	char tool[16]; /* "pasta" or "slirp4netns" */
} net_rl;

/* Give the netns of `ctr_pid` (a rootless container's process, in its own user
 * + net namespace) a network through `tool` ("pasta",
 * "slirp4netns", or NULL: pasta when installed, else slirp4netns), with
 * `ports` forwarded from the host. Returns 0 once eth0 is configured and every
 * port listens (bounded wait), the DNS forwarder's address in `dns`.
 * Errors (-1, nothing left running): ENOENT naming the missing package,
 * EADDRINUSE naming the host port in use, EACCES for /dev/net/tun or a
 * privileged host port, EINVAL for a bad tool name or port, ETIMEDOUT when
 * the helper does not get ready.
 * The caller and the helper must be able to open /proc/PID/ns/{net,user}: the
 * kernel hides them from an unprivileged caller while the process is not
 * dumpable (berth-runtime's init waiting for `start` is not, today): EACCES
 * saying so. */
int net_rl_attach(pid_t ctr_pid, const char *tool, const net_rl_port *ports, size_t nports,
		  net_rl *out, char dns[64], berr *e);

/* The tool net_rl_attach picks for NULL: "pasta" when installed, else
 * "slirp4netns", NULL when neither is (static strings). */
const char *net_rl_default_tool(void);

/* Stop the helper (closes exit_fd, SIGTERM, then SIGKILL if it lingers; reaps
 * it when it is our child) and reset `rl`. Fine after the helper exited, on a
 * zeroed or already detached `rl`. */
void net_rl_detach(net_rl *rl);
