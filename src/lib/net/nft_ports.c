/* A container's published ports as raw nfnetlink messages (libmnl): the
 * elements of the maps tcp_any, tcp_ip, udp_any, udp_ip of table ip berth
 * (nft_rules.c makes them), without libnftables' parsing, caches and
 * evaluation.
 *
 * The elements' bytes are what nft sends for them: each field of a
 * concatenation padded to 4 bytes, an inet_service 2 bytes big endian, an
 * ipv4_addr 4 bytes in network order:
 *   *_any  key  PORT                (2 bytes)
 *   *_ip   key  IP . PORT,pad       (8 bytes)
 *   data        CIP . CPORT,pad     (8 bytes)
 * A change is one batch (NFNL_MSG_BATCH_BEGIN ... BATCH_END: one
 * transaction; the kernel goes on after a failing message, answers each
 * failing one with its errno, and aborts the whole batch when any failed:
 * so one absent element's ENOENT would undo a whole delete batch). A
 * look-up is one NFT_MSG_GETSETELEM with the key (or, for the clash check
 * below, a dump of one *_ip map, mostly empty).
 *
 * Conflicts (Docker's rule: a port on every address and the same port on
 * one address clash): a port on one address asserts in its batch that its
 * *_any key is absent (a create of that key and its delete: EEXIST when it
 * is there); a port on every address is checked against a dump of its
 * protocol's *_ip map before the batch. */
#include "net/nft.h"
#include "net/nft6.h"
#include "net/nft_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "net/netlink_priv.h"
#include "util/xalloc.h"

#define TABLE "berth"
/* A kernel that never answers would hang berth: a bound instead. */
#define RECV_TIMEOUT_S 10
#define RECV_BUF       32768
/* One element message (header, table, set, key and data) is under 128 bytes. */
#define MSG_MAX 192

/* ---- the socket ---- */

static int sock(bnft *n, berr *e)
{
	if (n->nl)
		return 0;
	struct mnl_socket *m = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!m)
		return berr_sys(e, "nfnetlink: socket(NETLINK_NETFILTER)");
	int fd = mnl_socket_get_fd(m), one = 1, err = 0;
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	if (mnl_socket_bind(m, 0, MNL_SOCKET_AUTOPID) < 0)
		err = errno;
	/* the kernel's reason in words, acks without a copy of the request */
	else if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 &&
		 errno != ENOPROTOOPT)
		err = errno;
	else if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 &&
		 errno != ENOPROTOOPT)
		err = errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		err = errno;
	if (err) {
		mnl_socket_close(m);
		return berr_errno(e, err, "nfnetlink: socket setup");
	}
	n->nl = m;
	n->portid = mnl_socket_get_portid(m);
	n->seq = (uint32_t)time(NULL);
	return 0;
}

/* ---- elements ---- */

static bool is_any(struct in_addr a)
{
	return a.s_addr == htonl(INADDR_ANY);
}

typedef struct elem {
	char set[8];		   /* tcp_any ... */
	uint8_t key[20], data[20]; /* ip6 . port, padded: 20 bytes at most */
	size_t klen, dlen;
	uint8_t family; /* NFPROTO_IPV4 (table ip berth) or NFPROTO_IPV6 (ip6 berth) */
} elem;

/* p's element (any: in the *_any map whatever p's address; that is the
 * absence assertion of a port on one address). */
static void encode(const bnft_port *p, bool any, elem *x)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->set, sizeof(x->set), "%s_%s", p->proto == IPPROTO_UDP ? "udp" : "tcp",
		 any ? "any" : "ip");
	uint16_t hp = htons(p->host_port), cp = htons(p->ctr_port);
	if (any) {
		memcpy(x->key, &hp, 2);
		x->klen = 2;
	} else {
		memcpy(x->key, &p->host_ip.s_addr, 4);
		memcpy(x->key + 4, &hp, 2);
		x->klen = 8;
	}
	memcpy(x->data, &p->ctr_ip.s_addr, 4);
	memcpy(x->data + 4, &cp, 2);
	x->dlen = 8;
	x->family = NFPROTO_IPV4;
}

/* The same for ip6 berth (nft6.c): keys PORT (2 bytes) or IP6 . PORT,pad
 * (20), data CIP6 . CPORT,pad (20). */
static void encode6(const bnft_port6 *p, elem *x)
{
	memset(x, 0, sizeof(*x));
	bool any = IN6_IS_ADDR_UNSPECIFIED(&p->host_ip);
	snprintf(x->set, sizeof(x->set), "%s_%s", p->proto == IPPROTO_UDP ? "udp" : "tcp",
		 any ? "any" : "ip");
	uint16_t hp = htons(p->host_port), cp = htons(p->ctr_port);
	if (any) {
		memcpy(x->key, &hp, 2);
		x->klen = 2;
	} else {
		memcpy(x->key, &p->host_ip, 16);
		memcpy(x->key + 16, &hp, 2);
		x->klen = 20;
	}
	memcpy(x->data, &p->ctr_ip, 16);
	memcpy(x->data + 16, &cp, 2);
	x->dlen = 20;
	x->family = NFPROTO_IPV6;
}

/* A growing buffer of messages. */
typedef struct msgs {
	char *buf;
	size_t len, cap;
	uint32_t seq0;	/* the batch header's (or first message's) sequence number */
	unsigned int n; /* messages after the header */
} msgs;

static struct nlmsghdr *msg_put(bnft *n, msgs *m, uint16_t type, uint16_t flags, uint8_t family,
				uint16_t res_id)
{
	if (m->len + MSG_MAX > m->cap) {
		m->cap = m->cap * 2 + 16 * MSG_MAX;
		m->buf = xrealloc(m->buf, m->cap);
	}
	memset(m->buf + m->len, 0, MSG_MAX);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->buf + m->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++n->seq;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return nlh;
}

static void msg_end(msgs *m, struct nlmsghdr *nlh)
{
	m->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void batch_begin(bnft *n, msgs *m)
{
	struct nlmsghdr *h =
	    msg_put(n, m, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	m->seq0 = h->nlmsg_seq;
	msg_end(m, h);
}

static void batch_end(bnft *n, msgs *m)
{
	msg_end(m, msg_put(n, m, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
}

static uint16_t nft_type(int msg)
{
	return (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | msg);
}

/* One NEWSETELEM / DELSETELEM / GETSETELEM of x (with its data when
 * with_data); flags: NLM_F_ACK for a lone request (in a batch: silence is
 * success, see talk). */
static void elem_msg(bnft *n, msgs *m, int msg, uint16_t flags, const elem *x, bool with_data)
{
	struct nlmsghdr *nlh = msg_put(n, m, nft_type(msg), flags, x->family, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, x->set);
	struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	struct nlattr *el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	struct nlattr *k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, x->klen, x->key);
	mnl_attr_nest_end(nlh, k);
	if (with_data) {
		struct nlattr *d = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, x->dlen, x->data);
		mnl_attr_nest_end(nlh, d);
	}
	mnl_attr_nest_end(nlh, el);
	mnl_attr_nest_end(nlh, list);
	msg_end(m, nlh);
	m->n++;
}

/* ---- answers ---- */

/* Elements of a NEWSETELEM answer (a get's reply or a dump's entries) as
 * ports of proto; any: keys of an *_any map. */
typedef struct found {
	int proto;
	bool any;
	bnft_port *v;
	size_t len, cap;
	bool bad;
} found;

static bool value_of(const struct nlattr *nest, uint8_t *out, size_t len)
{
	const struct nlattr *tb[NFTA_DATA_MAX + 1];
	if (!nest || nl_attrs_nested(nest, tb, NFTA_DATA_MAX) < 0 || !tb[NFTA_DATA_VALUE] ||
	    mnl_attr_get_payload_len(tb[NFTA_DATA_VALUE]) != len)
		return false;
	memcpy(out, mnl_attr_get_payload(tb[NFTA_DATA_VALUE]), len);
	return true;
}

static void found_elem(found *f, const struct nlattr *el)
{
	const struct nlattr *tb[NFTA_SET_ELEM_MAX + 1];
	uint8_t key[8] = {0}, data[8];
	size_t klen = f->any ? 2 : 8;
	if (nl_attrs_nested(el, tb, NFTA_SET_ELEM_MAX) < 0 ||
	    !value_of(tb[NFTA_SET_ELEM_KEY], key, klen) ||
	    !value_of(tb[NFTA_SET_ELEM_DATA], data, 8)) {
		f->bad = true;
		return;
	}
	if (f->len == f->cap)
		f->v = xreallocarray(f->v, f->cap = f->cap ? 2 * f->cap : 4, sizeof(*f->v));
	bnft_port *p = &f->v[f->len++];
	uint16_t hp, cp;
	memset(p, 0, sizeof(*p));
	p->proto = f->proto;
	if (!f->any)
		memcpy(&p->host_ip.s_addr, key, 4);
	memcpy(&hp, f->any ? key : key + 4, 2);
	memcpy(&p->ctr_ip.s_addr, data, 4);
	memcpy(&cp, data + 4, 2);
	p->host_port = ntohs(hp);
	p->ctr_port = ntohs(cp);
}

static void found_msg(found *f, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1], *it;
	if (nl_attrs(nlh, sizeof(struct nfgenmsg), tb, NFTA_SET_ELEM_LIST_MAX) < 0) {
		f->bad = true;
		return;
	}
	if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return;
	mnl_attr_for_each_nested(it, tb[NFTA_SET_ELEM_LIST_ELEMENTS])
	{
		if (mnl_attr_get_type(it) == NFTA_LIST_ELEM)
			found_elem(f, it);
	}
}

/* What a request's answers said. */
typedef struct answers {
	int *err;      /* per message after the header: its errno (0: ok) */
	int hdr_err;   /* an error answered to the batch header (a commit) */
	char ext[128]; /* the first error's extended ack message, "" if none */
	found *f;      /* NULL: data messages ignored */
} answers;

static const char *ext_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(err->msg.nlmsg_len) - sizeof(struct nlmsghdr);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off > mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	if (nl_attrs(nlh, off, tb, NLMSGERR_ATTR_MAX) < 0 || !tb[NLMSGERR_ATTR_MSG] ||
	    mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) < 0)
		return NULL;
	return mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
}

/* One answer message of the request m: its errno into a (the header's or a
 * message's; a data message to a->f). */
static void answer(const struct nlmsghdr *nlh, const msgs *m, bool batch, bool dump, answers *a,
		   unsigned int *left)
{
	uint32_t first = batch ? m->seq0 + 1 : m->seq0; /* the first message after the header */
	uint32_t idx = nlh->nlmsg_seq - first;
	bool hdr = batch && nlh->nlmsg_seq == m->seq0;
	if (!hdr && idx >= m->n)
		return; /* not this request's */
	if (nlh->nlmsg_type != NLMSG_ERROR && nlh->nlmsg_type != NLMSG_DONE) {
		if (a->f && !hdr)
			found_msg(a->f, nlh);
		return;
	}
	if (nlh->nlmsg_type == NLMSG_DONE && !dump)
		return;
	int code = 0;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
	int err = code < 0 ? -code : code ? EPROTO : 0;
	const char *x = NULL;
	if (err && nlh->nlmsg_type == NLMSG_ERROR &&
	    mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct nlmsgerr))
		x = ext_msg(nlh);
	if (x && !a->ext[0]) /* errors come in the order of the messages */
		snprintf(a->ext, sizeof(a->ext), "%s", x);
	if (hdr) {
		if (err)
			a->hdr_err = err; /* an ack of it (0): not the end */
	} else if (batch) {
		if (!a->err[idx])
			a->err[idx] = err;
	} else if (a->err[idx] < 0) {
		a->err[idx] = err;
		(*left)--;
	}
}

/* Send m and read its answers; -1 (e set) only when the socket fails, the
 * answers' errnos go to a.
 * - A batch (its messages ask no ack): the kernel handles it within our
 *   sendmsg(2) and has queued every error by its return (as nft reads it:
 *   until the queue is empty). Silence is success; a queue overflowing with
 *   errors (ENOBUFS) keeps the first ones, the ones that name the cause.
 * - A lone request (acked) or dump (NLMSG_DONE): until it is answered. */
static int talk(bnft *n, msgs *m, bool batch, bool dump, answers *a, berr *e)
{
	for (unsigned int i = 0; i < m->n; i++)
		a->err[i] = batch ? 0 : -1; /* -1: unanswered */
	a->hdr_err = 0;
	a->ext[0] = '\0';
	int fd = mnl_socket_get_fd(n->nl);
	if (m->len > 65536) { /* a long list of ports: room for it */
		int sz = (int)(m->len < (1u << 28) ? m->len * 2 : 1u << 29);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (mnl_socket_sendto(n->nl, m->buf, m->len) < 0)
		return berr_sys(e, "nfnetlink: send");
	unsigned int left = batch ? 1 : m->n; /* a batch: until the queue is empty */
	bool overflow = false;
	char *buf = xmalloc(RECV_BUF);
	int r = 0;
	while (left > 0 && !a->hdr_err) {
		ssize_t k = recv(fd, buf, RECV_BUF, batch ? MSG_DONTWAIT : 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == ENOBUFS) {
			overflow = true;
			continue;
		}
		if (k < 0 && batch && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* every answer read */
		if (k < 0) {
			r = errno == EAGAIN || errno == EWOULDBLOCK
				? berr_set(e, ETIMEDOUT,
					   "nfnetlink: no answer from the kernel in %d s",
					   RECV_TIMEOUT_S)
				: berr_sys(e, "nfnetlink: receive");
			break;
		}
		int len = (int)k;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_pid == n->portid)
				answer(nlh, m, batch, dump, a, &left);
	}
	free(buf);
	if (r == 0 && overflow && !a->hdr_err) {
		bool any = false;
		for (unsigned int i = 0; i < m->n && !any; i++)
			any = a->err[i] > 0;
		if (!any)
			a->hdr_err = ENOBUFS; /* failed, no telling why */
	}
	return r;
}

/* The first failing message's index, or -1 when all were fine (*err its
 * errno; a failed header: index m->n). */
static int first_failure(const msgs *m, const answers *a, int *err)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (a->err[i] > 0) {
			*err = a->err[i];
			return (int)i;
		}
	*err = a->hdr_err;
	return a->hdr_err ? (int)m->n : -1;
}

static int missing_table(berr *e)
{
	return berr_set(e, ENOENT,
			"nft table ip " TABLE " or its port maps are missing (the network is not "
			"set up)");
}

/* ---- look-ups ---- */

int bnft_port_get(bnft *n, const bnft_port *key, bnft_port *out, berr *e)
{
	if ((key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP) || !key->host_port)
		return berr_set(e, EINVAL, "nft: bad port key");
	if (sock(n, e) < 0)
		return -1;
	elem x;
	encode(key, is_any(key->host_ip), &x);
	msgs m = {0};
	elem_msg(n, &m, NFT_MSG_GETSETELEM, NLM_F_ACK, &x, false);
	m.seq0 = n->seq;
	found f = {.proto = key->proto, .any = is_any(key->host_ip)};
	int err1;
	answers a = {.err = &err1, .f = &f};
	int r = talk(n, &m, false, false, &a, e);
	free(m.buf);
	char spec[64];
	bnft_host_spec(key, spec, sizeof(spec));
	if (r == 0 && err1 == ENOENT)
		r = berr_set(e, ENOENT, "port %s is not published", spec);
	else if (r == 0 && err1)
		r = berr_errno(e, err1, "nfnetlink: get element %s%s%s", spec, a.ext[0] ? ": " : "",
			       a.ext);
	else if (r == 0 && (f.bad || f.len != 1))
		r = berr_set(e, EPROTO, "nfnetlink: get element %s: bad answer", spec);
	if (r == 0) {
		*out = f.v[0];
		out->host_ip = key->host_ip;
	}
	free(f.v);
	return r;
}

/* The elements of one *_ip map (a dump) into *f. No table or map: ENOENT. */
static int dump_ip_map(bnft *n, int proto, found *f, berr *e)
{
	bnft_port any = {.proto = proto, .host_ip = {htonl(INADDR_LOOPBACK)}};
	elem x;
	encode(&any, false, &x);
	msgs m = {0};
	struct nlmsghdr *nlh =
	    msg_put(n, &m, nft_type(NFT_MSG_GETSETELEM), NLM_F_DUMP, NFPROTO_IPV4, 0);
	m.seq0 = nlh->nlmsg_seq;
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, x.set);
	msg_end(&m, nlh);
	m.n = 1;
	*f = (found){.proto = proto, .any = false};
	int err1;
	answers a = {.err = &err1, .f = f};
	int r = talk(n, &m, false, true, &a, e);
	free(m.buf);
	if (r == 0 && err1 == ENOENT)
		return missing_table(e);
	if (r == 0 && err1)
		return berr_errno(e, err1, "nfnetlink: list map %s", x.set);
	if (r == 0 && f->bad)
		return berr_set(e, EPROTO, "nfnetlink: list map %s: bad element", x.set);
	return r;
}

/* ---- publish ---- */

/* What each message of an add batch is: the element of port i, or the
 * assertion that port i's *_any key is absent (its create; its delete
 * follows). */
typedef struct role {
	size_t port;
	bool assert_any;
} role;

/* The clash check before the batch: the new ports among themselves and, for
 * those on every address, against their protocol's *_ip map. */
static int precheck(bnft *n, const bnft_port *p, size_t np, berr *e)
{
	bool want[2] = {false, false}; /* tcp, udp: a port on every address */
	for (size_t i = 0; i < np; i++)
		if (is_any(p[i].host_ip))
			want[p[i].proto == IPPROTO_UDP] = true;
	found have[2] = {{0}, {0}};
	int r = 0;
	for (int k = 0; k < 2 && r == 0; k++)
		if (want[k])
			r = dump_ip_map(n, k ? IPPROTO_UDP : IPPROTO_TCP, &have[k], e);
	if (r == 0) {
		size_t nh = have[0].len + have[1].len;
		bnft_port *all = xreallocarray(NULL, nh ? nh : 1, sizeof(*all));
		if (have[0].len)
			memcpy(all, have[0].v, have[0].len * sizeof(*all));
		if (have[1].len)
			memcpy(all + have[0].len, have[1].v, have[1].len * sizeof(*all));
		r = bnft_find_conflict(all, nh, p, np, e);
		free(all);
	}
	free(have[0].v);
	free(have[1].v);
	return r;
}

/* Name the owner of the key that failed message `i` of an add. */
static int add_conflict(bnft *n, const bnft_port *p, const role *ro, berr *e)
{
	const bnft_port *want = &p[ro->port];
	bnft_port key = *want, have;
	if (ro->assert_any)
		key.host_ip.s_addr = htonl(INADDR_ANY);
	berr ge = {0};
	if (bnft_port_get(n, &key, &have, &ge) == 0)
		return bnft_conflict(want, &have, e);
	char spec[64];
	bnft_host_spec(want, spec, sizeof(spec));
	return berr_set(e, EADDRINUSE, "port %s is already published", spec);
}

int bnft_ports_add(bnft *n, const bnft_port *p, size_t np, berr *e)
{
	for (size_t i = 0; i < np; i++)
		if (bnft_port_check(&p[i], e) < 0)
			return -1;
	if (!np)
		return 0;
	if (sock(n, e) < 0)
		return -1;
	if (precheck(n, p, np, e) < 0)
		return -1;
	msgs m = {0};
	role *ro = xreallocarray(NULL, 3 * np, sizeof(*ro)); /* up to 3 messages a port */
	batch_begin(n, &m);
	for (size_t i = 0; i < np; i++) {
		elem x;
		bool any = is_any(p[i].host_ip);
		encode(&p[i], any, &x);
		/* create, not add: a key published meanwhile fails the batch
		 * instead of being overwritten */
		ro[m.n] = (role){i, false};
		elem_msg(n, &m, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, &x, true);
		if (any)
			continue;
		encode(&p[i], true, &x);
		ro[m.n] = (role){i, true};
		elem_msg(n, &m, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, &x, true);
		ro[m.n] = (role){i, true};
		elem_msg(n, &m, NFT_MSG_DELSETELEM, 0, &x, false);
		n->deleted = true;
	}
	batch_end(n, &m);
	int *errs = xreallocarray(NULL, m.n, sizeof(*errs));
	answers a = {.err = errs};
	int r = talk(n, &m, true, false, &a, e);
	int err = 0, bad = r < 0 ? -1 : first_failure(&m, &a, &err);
	if (bad >= 0) {
		n->deleted = true; /* an abort frees what the batch made */
		if (err == ENOENT)
			r = missing_table(e);
		else if (err == EEXIST && bad < (int)m.n)
			r = add_conflict(n, p, &ro[bad], e);
		else {
			char spec[64];
			bnft_host_spec(&p[bad < (int)m.n ? ro[bad].port : 0], spec, sizeof(spec));
			r = berr_errno(e, err, "nfnetlink: publish port %s%s%s", spec,
				       a.ext[0] ? ": " : "", a.ext);
		}
	}
	free(errs);
	free(ro);
	free(m.buf);
	return r;
}

/* ---- unpublish ---- */

/* One batch: for each port an add of its exact element (no error when it is
 * there with the same data, EEXIST when the key maps elsewhere, made when
 * absent) and its delete: absent elements are no error (a lone delete of an
 * absent element fails ENOENT, and one failure aborts the whole batch).
 * *err: the first failing message's errno, 0 when none. */
static int del_elems(bnft *n, const elem *x, size_t nx, int *err, berr *e)
{
	msgs m = {0};
	batch_begin(n, &m);
	for (size_t i = 0; i < nx; i++) {
		elem_msg(n, &m, NFT_MSG_NEWSETELEM, NLM_F_CREATE, &x[i], true);
		elem_msg(n, &m, NFT_MSG_DELSETELEM, 0, &x[i], false);
	}
	batch_end(n, &m);
	n->deleted = true;
	int *errs = xreallocarray(NULL, m.n, sizeof(*errs));
	answers a = {.err = errs};
	int r = talk(n, &m, true, false, &a, e);
	*err = 0;
	if (r == 0 && first_failure(&m, &a, err) >= 0 && *err != ENOENT && *err != EEXIST)
		r = berr_errno(e, *err, "nfnetlink: unpublish ports%s%s", a.ext[0] ? ": " : "",
			       a.ext);
	free(errs);
	free(m.buf);
	return r;
}

static int del_batch(bnft *n, const bnft_port *p, size_t np, int *err, berr *e)
{
	elem *x = xreallocarray(NULL, np ? np : 1, sizeof(*x));
	for (size_t i = 0; i < np; i++)
		encode(&p[i], is_any(p[i].host_ip), &x[i]);
	int r = del_elems(n, x, np, err, e);
	free(x);
	return r;
}

int bnft_ports_del(bnft *n, const bnft_port *p, size_t np, berr *e)
{
	for (size_t i = 0; i < np; i++)
		if (bnft_port_check(&p[i], e) < 0)
			return -1;
	if (!np)
		return 0;
	if (sock(n, e) < 0)
		return -1;
	int err;
	if (del_batch(n, p, np, &err, e) < 0)
		return -1;
	if (err != EEXIST)
		return 0; /* done, or ENOENT: no table or map, so no ports */
	/* some key maps to another container now: only the others, each on
	 * its own (a key given twice is deleted once) */
	for (size_t i = 0; i < np; i++) {
		bnft_port have;
		berr ge = {0};
		if (bnft_port_get(n, &p[i], &have, &ge) < 0) {
			if (ge.errnum == ENOENT)
				continue;
			*e = ge;
			return -1;
		}
		if (have.ctr_ip.s_addr != p[i].ctr_ip.s_addr || have.ctr_port != p[i].ctr_port)
			continue;
		if (del_batch(n, &p[i], 1, &err, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- IPv6 (ip6 berth, nft6.h): add and delete only, no clash check
 * between a port on [::] and the same port on one v6 address ---- */

static void spec6(const bnft_port6 *p, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];
	snprintf(buf, sz, "[%s]:%u/%s", inet_ntop(AF_INET6, &p->host_ip, a, sizeof(a)),
		 p->host_port, p->proto == IPPROTO_UDP ? "udp" : "tcp");
}

int bnft6_ports_add(bnft *n, const bnft_port6 *p, size_t np, berr *e)
{
	for (size_t i = 0; i < np; i++)
		if ((p[i].proto != IPPROTO_TCP && p[i].proto != IPPROTO_UDP) || !p[i].host_port ||
		    !p[i].ctr_port)
			return berr_set(e, EINVAL, "nft: bad IPv6 port mapping");
	if (!np)
		return 0;
	if (sock(n, e) < 0)
		return -1;
	msgs m = {0};
	batch_begin(n, &m);
	for (size_t i = 0; i < np; i++) {
		elem x;
		encode6(&p[i], &x);
		elem_msg(n, &m, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, &x, true);
	}
	batch_end(n, &m);
	int *errs = xreallocarray(NULL, m.n, sizeof(*errs));
	answers a = {.err = errs};
	int r = talk(n, &m, true, false, &a, e);
	int err = 0, bad = r < 0 ? -1 : first_failure(&m, &a, &err);
	if (bad >= 0) {
		n->deleted = true; /* an abort frees what the batch made */
		char spec[80];
		spec6(&p[bad < (int)m.n ? bad : 0], spec, sizeof(spec));
		if (err == ENOENT)
			r = berr_set(e, ENOENT,
				     "nft table ip6 " TABLE " or its port maps are missing");
		else if (err == EEXIST)
			r = berr_set(e, EADDRINUSE, "port %s is already published", spec);
		else
			r = berr_errno(e, err, "nfnetlink: publish port %s%s%s", spec,
				       a.ext[0] ? ": " : "", a.ext);
	}
	free(errs);
	free(m.buf);
	return r;
}

/* As del_batch: an absent element is no error, one mapped elsewhere
 * (EEXIST) aborts the batch. */
static int del6_batch(bnft *n, const bnft_port6 *p, size_t np, int *err, berr *e)
{
	elem *x = xreallocarray(NULL, np ? np : 1, sizeof(*x));
	for (size_t i = 0; i < np; i++)
		encode6(&p[i], &x[i]);
	int r = del_elems(n, x, np, err, e);
	free(x);
	return r;
}

int bnft6_ports_del(bnft *n, const bnft_port6 *p, size_t np, berr *e)
{
	if (!np)
		return 0;
	if (sock(n, e) < 0)
		return -1;
	int err;
	if (del6_batch(n, p, np, &err, e) < 0)
		return -1;
	/* EEXIST: a key maps to another container now; the others one by one
	 * (each such batch aborts alone, leaving that one) */
	for (size_t i = 0; err == EEXIST && np > 1 && i < np; i++) {
		int e1;
		if (del6_batch(n, &p[i], 1, &e1, e) < 0)
			return -1;
	}
	return 0;
}
