/* What the nft files share (src/lib/net/nft*.c); not part of the API.
 *
 * A context has two independent back ends, each made at its first use:
 * libnftables (dlopen'ed, for the table, its rules and listings: nft.c,
 * nft_rules.c) and a raw NETLINK_NETFILTER socket through libmnl (for the
 * per-container port map elements: nft_ports.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/nft.h"

struct nft_ctx;
struct mnl_socket;

struct bnft {
	/* libnftables, loaded by bnft_lib() */
	void *dl;
	struct nft_ctx *ctx;
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*buffer_output)(struct nft_ctx *ctx);
	int (*buffer_error)(struct nft_ctx *ctx);
	const char *(*get_output)(struct nft_ctx *ctx);
	const char *(*get_error)(struct nft_ctx *ctx);
	void (*set_output_flags)(struct nft_ctx *ctx, unsigned int flags);
	int (*run_buffer)(struct nft_ctx *ctx, const char *buf);
	int (*run_file)(struct nft_ctx *ctx, const char *filename);
	int memfd;     /* the batch, as a file: see run() */
	char path[32]; /* /proc/self/fd/N of memfd */
	/* the raw socket (nft_ports.c) */
	struct mnl_socket *nl;
	uint32_t seq, portid;
	bool deleted; /* a transaction deleted something (or aborted): see bnft_close */
};

/* libnftables loaded and its context made (once); ENOENT/ELIBACC when the
 * library is missing. */
int bnft_lib(bnft *n, berr *e);

/* nft_rules.c's port helpers, shared with nft_ports.c. */
int bnft_port_check(const bnft_port *p, berr *e);
/* "8080/tcp" or "127.0.0.1:8080/tcp" */
void bnft_host_spec(const bnft_port *p, char *buf, size_t size);
/* EADDRINUSE "port SPEC is already published (to CIP:CPORT)" (have NULL:
 * "is given twice"). */
int bnft_conflict(const bnft_port *want, const bnft_port *have, berr *e);
/* The first clash between the new ports p and those in have, or within p
 * (a port on every address clashes with the same port on one address). */
int bnft_find_conflict(const bnft_port *have, size_t nh, const bnft_port *p, size_t np, berr *e);

/* A growing command buffer for libnftables' text (nft_rules.c, nft6.c). */
typedef struct cmdbuf {
	char *s;
	size_t len, cap;
} cmdbuf;
__attribute__((format(printf, 2, 3))) void cb_addf(cmdbuf *b, const char *fmt, ...);
/* Interface names go into nft's text between quotes: letters, digits and
 * "-_." only, at most 15 bytes (IFNAMSIZ - 1); EINVAL names it. */
int bnft_check_bridge(const char *bridge, berr *e);
