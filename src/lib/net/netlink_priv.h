/* What the netlink files share (src/lib/net/netlink*.c); not part of the API.
 *
 * A request is a batch: up to NL_BATCH_MAX messages built into one buffer and
 * sent with one sendmsg(2). rtnetlink handles the messages of one datagram in
 * order and answers each (an ack, or a dump's entries and NLMSG_DONE); the
 * batch is done when every message has its answer. Each message carries a
 * label ("create bridge berth3") that names it in an error. */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/netlink.h"

#define NL_BATCH_MAX 4
/* The largest message berth builds (a veth pair with its peer's nested
 * ifinfomsg, names, MAC, MTU and netns fd) is under 200 bytes. */
#define NL_MSG_MAX  512
#define NL_WHAT_MAX 96

typedef struct nl_batch {
	union {
		char buf[NL_BATCH_MAX * NL_MSG_MAX];
		struct nlmsghdr align_;
	};
	size_t len;			      /* bytes of the finished messages */
	struct nlmsghdr *cur;		      /* the message being built */
	unsigned int n, seq0;		      /* messages; the first one's sequence number */
	bool dump[NL_BATCH_MAX];	      /* answered by NLMSG_DONE, not an ack */
	int ok_errno[NL_BATCH_MAX];	      /* an answer with this errno counts as success */
	int got_errno[NL_BATCH_MAX];	      /* out: the errno answered (0 or ok_errno) */
	bool intr;			      /* out: a dump saw a concurrent change */
	char what[NL_BATCH_MAX][NL_WHAT_MAX]; /* each message's label */
} nl_batch;

/* A zeroed batch (nl_batch b; nl_batch_init(&b);). */
void nl_batch_init(nl_batch *b);

/* Start a new message of the batch (NLM_F_REQUEST, NLM_F_ACK unless flags has
 * NLM_F_DUMP; sequence numbers from s). hdr_len bytes of family header follow,
 * zeroed; the return value is that header. */
void *nl_batch_add(nl_sock *s, nl_batch *b, uint16_t type, uint16_t flags, size_t hdr_len,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The data messages of the answers (a GET's reply, a dump's entries): idx is
 * the message of the batch they answer. A return < 0 (e set) fails that
 * message. */
typedef int (*nl_data_cb)(const struct nlmsghdr *nlh, unsigned int idx, void *data, berr *e);

/* Send the batch, read until every message is answered. Returns 0, or -1 with
 * e set by the first message that failed (its label, the kernel's extended
 * ack message if any, strerror), e->errnum its errno. */
int nl_batch_run(nl_sock *s, nl_batch *b, nl_data_cb cb, void *data, berr *e);

/* A dump (RTM_GETLINK or RTM_GETROUTE of family) through cb, read again
 * after reset(data) while a concurrent change interrupts it (a few times). */
int nl_dump(nl_sock *s, uint16_t type, uint8_t family, const char *what, nl_data_cb cb, void *data,
	    void (*reset)(void *), berr *e);

/* The current message answers ok also with errno `err` (EEXIST, ENODEV). */
void nl_batch_allow(nl_batch *b, int err);

/* A link name as the kernel takes it (1..15 bytes, no '/', ':' or space, not
 * "." or ".."); EINVAL naming it otherwise. `role` says which name ("veth
 * peer name"). */
int nl_name_check(const char *name, const char *role, berr *e);

/* Attributes by type into tb[0..max] (zeroed first; the last of a type
 * wins; types above max are ignored), walked with mnl_attr_parse's bounds:
 * those of a message after `off` bytes of family header, or those nested in
 * `nest`. -1 on a malformed attribute. */
struct nlattr;
int nl_attrs(const struct nlmsghdr *nlh, size_t off, const struct nlattr **tb, unsigned int max);
int nl_attrs_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max);
/* A string attribute into out (size n, NUL-terminated, cut to fit); false
 * when a is NULL or empty. */
bool nl_attr_str(const struct nlattr *a, char *out, size_t n);

/* An RTM_NEWLINK's ifindex, flags, name and kind. -1 when malformed. */
typedef struct nl_link_info {
	int index;
	unsigned int flags;
	char name[16];
	char kind[16]; /* IFLA_INFO_KIND, "" when none */
	int master;    /* IFLA_MASTER (the bridge of a port), 0 when none */
} nl_link_info;
int nl_parse_link(const struct nlmsghdr *nlh, nl_link_info *li);

/* The link `name`: 1 and *li filled, 0 when there is none, -1 on error. */
int nl_link_get(nl_sock *s, const char *name, nl_link_info *li, berr *e);

/* Append to the batch an RTM_NEWADDR of addr/prefix (family AF_INET or
 * AF_INET6) on ifindex, labelled "add address A/P to DEV" (dev: the link's
 * name for the label). Arguments checked: EINVAL with e set. */
int nl_put_addr(nl_sock *s, nl_batch *b, int ifindex, int family, const void *addr, int prefix,
		const char *dev, berr *e);
/* Append an RTM_NEWROUTE of the default route via gw on ifindex. */
int nl_put_default_route(nl_sock *s, nl_batch *b, int family, const void *gw, int ifindex,
			 const char *dev, berr *e);
