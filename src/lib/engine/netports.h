/* Internal to the engine's network code (netports.c). */
#pragma once

#include <stdint.h>

#include "util/error.h"

/* "80/tcp" -> IPPROTO_TCP, 80 */
int port_key_parse(const char *key, int *proto, uint16_t *port);
/* A bound (not listening) socket on ip:port, O_CLOEXEC; EADDRINUSE names it. */
int port_hold(int proto, uint32_t ip, uint16_t port, berr *e);
/* A free port: the kernel's pick (lo 0) or the first free of lo..hi. */
int port_pick(int proto, uint32_t ip, long lo, long hi, uint16_t *out, berr *e);
