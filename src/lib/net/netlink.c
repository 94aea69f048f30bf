/* rtnetlink core: the socket, batches of requests and their answers, link
 * look-ups, names and deletion (netlink_link.c makes bridges and veths,
 * netlink_addr.c addresses and routes). */
#include "net/netlink.h"
#include "net/netlink_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* A kernel that never answers would hang berth forever: a bound instead. */
#define NL_RECV_TIMEOUT_S 10
/* The answers' buffer: a dump's datagrams are at most 32 KiB (the size libmnl
 * calls MNL_SOCKET_DUMP_SIZE in later versions). */
#define NL_RECV_BUF 32768

int nl_open(nl_sock *s, int netns_fd, berr *e)
{
	*s = (nl_sock){0};
	_cleanup_close_ int own = -1;
	if (netns_fd >= 0) {
		own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (own < 0)
			return berr_sys(e, "netlink: open /proc/thread-self/ns/net");
		if (setns(netns_fd, CLONE_NEWNET) < 0)
			return berr_sys(e, "netlink: setns to network namespace fd %d", netns_fd);
	}
	struct mnl_socket *m = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int err = errno;
	if (own >= 0 && setns(own, CLONE_NEWNET) < 0) {
		err = errno;
		if (m)
			mnl_socket_close(m);
		return berr_errno(e, err, "netlink: setns back to this thread's network namespace");
	}
	if (!m)
		return berr_errno(e, err, "netlink: socket(NETLINK_ROUTE)");
	if (mnl_socket_bind(m, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(m);
		return berr_errno(e, err, "netlink: bind");
	}
	int fd = mnl_socket_get_fd(m), one = 1;
	/* The kernel's reason in words (NLMSGERR_ATTR_MSG), and acks without a
	 * copy of the request. Kernels without them (< 4.12, < 4.3) answer
	 * ENOPROTOOPT: their errors are the errno alone. */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 &&
	    errno != ENOPROTOOPT) {
		err = errno;
		mnl_socket_close(m);
		return berr_errno(e, err, "netlink: setsockopt NETLINK_EXT_ACK");
	}
	if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 &&
	    errno != ENOPROTOOPT) {
		err = errno;
		mnl_socket_close(m);
		return berr_errno(e, err, "netlink: setsockopt NETLINK_CAP_ACK");
	}
	struct timeval tv = {.tv_sec = NL_RECV_TIMEOUT_S};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = errno;
		mnl_socket_close(m);
		return berr_errno(e, err, "netlink: setsockopt SO_RCVTIMEO");
	}
	s->s = m;
	s->portid = mnl_socket_get_portid(m);
	s->seq = (unsigned int)time(NULL);
	return 0;
}

void nl_close(nl_sock *s)
{
	if (s->s)
		mnl_socket_close(s->s);
	s->s = NULL;
}

/* --- batches --- */

void nl_batch_init(nl_batch *b)
{
	memset(b, 0, sizeof(*b));
}

static void batch_finish_msg(nl_batch *b)
{
	if (b->cur) {
		b->len += NLMSG_ALIGN(b->cur->nlmsg_len);
		b->cur = NULL;
	}
}

void *nl_batch_add(nl_sock *s, nl_batch *b, uint16_t type, uint16_t flags, size_t hdr_len,
		   const char *fmt, ...)
{
	batch_finish_msg(b);
	/* Fixed-size messages (NL_MSG_MAX) in a fixed batch: a call beyond them
	 * is a bug in this module, not an input. */
	if (b->n >= NL_BATCH_MAX || b->len + NL_MSG_MAX > sizeof(b->buf))
		abort();
	/* NLM_F_DUMP's bits mean NLM_F_EXCL|NLM_F_REPLACE in a NEW request:
	 * a dump is a GET (rtnetlink's types come in fours: NEW, DEL, GET, SET). */
	bool dump = (flags & NLM_F_DUMP) == NLM_F_DUMP && type >= RTM_BASE && (type & 3) == 2;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags | (dump ? 0 : NLM_F_ACK);
	nlh->nlmsg_seq = ++s->seq;
	if (b->n == 0)
		b->seq0 = nlh->nlmsg_seq;
	b->dump[b->n] = dump;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->what[b->n], NL_WHAT_MAX, fmt, ap);
	va_end(ap);
	b->n++;
	b->cur = nlh;
	return mnl_nlmsg_put_extra_header(nlh, hdr_len);
}

void nl_batch_allow(nl_batch *b, int err)
{
	if (b->n > 0)
		b->ok_errno[b->n - 1] = err;
}

/* NLMSGERR_ATTR_MSG of an error or NLMSG_DONE answer whose TLVs start `off`
 * bytes into its payload; NULL when there is none. */
static const char *ext_ack_msg(const struct nlmsghdr *nlh, size_t off)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off > mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	if (nl_attrs(nlh, off, tb, NLMSGERR_ATTR_MAX) < 0 || !tb[NLMSGERR_ATTR_MSG] ||
	    mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) < 0)
		return NULL;
	return mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
}

/* The errno an NLMSG_ERROR or NLMSG_DONE answer carries (0: success), its
 * extended ack message in *msg. */
static int answer_errno(const struct nlmsghdr *nlh, const char **msg)
{
	*msg = NULL;
	size_t plen = mnl_nlmsg_get_payload_len(nlh);
	if (plen < sizeof(int))
		return EBADMSG;
	int code;
	memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
	size_t off = sizeof(int);
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (plen < sizeof(struct nlmsgerr))
			return EBADMSG;
		const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
		off = sizeof(*err);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += NLMSG_ALIGN(err->msg.nlmsg_len) - sizeof(struct nlmsghdr);
	}
	if (code == 0)
		return 0;
	*msg = ext_ack_msg(nlh, off);
	return code < 0 ? -code : EPROTO;
}

static void set_failure(berr *e, int errnum, const char *what, const char *ext)
{
	if (ext && *ext)
		berr_errno(e, errnum, "netlink: %s: %s", what, ext);
	else
		berr_errno(e, errnum, "netlink: %s", what);
}

int nl_batch_run(nl_sock *s, nl_batch *b, nl_data_cb cb, void *data, berr *e)
{
	batch_finish_msg(b);
	if (b->n == 0)
		return 0;
	if (mnl_socket_sendto(s->s, b->buf, b->len) < 0)
		return berr_sys(e, "netlink: %s: send", b->what[0]);
	bool answered[NL_BATCH_MAX] = {false};
	unsigned int left = b->n, first = NL_BATCH_MAX;
	berr first_e = {0};
	_Static_assert(NL_RECV_BUF >= 8192, "a datagram of the kernel fits");
	_cleanup_free_ char *buf = xmalloc(NL_RECV_BUF);
	while (left > 0) {
		ssize_t r = mnl_socket_recvfrom(s->s, buf, NL_RECV_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return berr_set(
			    e, ETIMEDOUT, "netlink: %s: no answer from the kernel in %d s",
			    b->what[first < NL_BATCH_MAX ? first : 0], NL_RECV_TIMEOUT_S);
		if (r < 0)
			return berr_sys(e, "netlink: %s: receive", b->what[0]);
		int len = (int)r;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			/* Answers to this socket carry its port id and a sequence
			 * number of this batch; anything else (a late answer to an
			 * earlier request that failed locally) is not ours. */
			unsigned int idx = nlh->nlmsg_seq - b->seq0;
			if (nlh->nlmsg_pid != s->portid || idx >= b->n || answered[idx])
				continue;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				b->intr = true;
			int err = 0;
			const char *ext = NULL;
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    (nlh->nlmsg_type == NLMSG_DONE && b->dump[idx])) {
				err = answer_errno(nlh, &ext);
				answered[idx] = true;
				left--;
				if (err && err == b->ok_errno[idx]) {
					b->got_errno[idx] = err;
					err = 0;
				}
				if (err && idx < first) {
					first = idx;
					set_failure(&first_e, err, b->what[idx], ext);
				}
			} else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb) {
				berr ce = {0};
				if (cb(nlh, idx, data, &ce) < 0 && idx < first) {
					first = idx;
					first_e = ce;
					berr_ctx(&first_e, "netlink: %s", b->what[idx]);
				}
			}
		}
	}
	if (first < NL_BATCH_MAX) {
		*e = first_e;
		return -1;
	}
	return 0;
}

/* --- attributes --- */

typedef struct attr_tab {
	const struct nlattr **tb;
	unsigned int max;
} attr_tab;

static int attr_cb(const struct nlattr *a, void *data)
{
	attr_tab *t = data;
	unsigned int type = mnl_attr_get_type(a);
	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

int nl_attrs(const struct nlmsghdr *nlh, size_t off, const struct nlattr **tb, unsigned int max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	attr_tab t = {tb, max};
	return mnl_attr_parse(nlh, (unsigned int)off, attr_cb, &t) == MNL_CB_ERROR ? -1 : 0;
}

int nl_attrs_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	attr_tab t = {tb, max};
	return mnl_attr_parse_nested(nest, attr_cb, &t) == MNL_CB_ERROR ? -1 : 0;
}

bool nl_attr_str(const struct nlattr *a, char *out, size_t n)
{
	out[0] = '\0';
	if (!a)
		return false;
	size_t len = mnl_attr_get_payload_len(a);
	const char *p = mnl_attr_get_payload(a);
	const char *nul = memchr(p, '\0', len);
	if (nul)
		len = (size_t)(nul - p);
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return len > 0;
}

/* --- links --- */

int nl_name_check(const char *name, const char *role, berr *e)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0)
		return berr_set(e, EINVAL, "netlink: %s: empty", role);
	if (len >= IFNAMSIZ)
		return berr_set(e, EINVAL, "netlink: %s %s: longer than %d bytes", role, name,
				IFNAMSIZ - 1);
	if (!strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/: \t\n\r\v\f"))
		return berr_set(e, EINVAL, "netlink: %s \"%s\": not a valid link name", role, name);
	return 0;
}

int nl_parse_link(const struct nlmsghdr *nlh, nl_link_info *li)
{
	memset(li, 0, sizeof(*li));
	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return -1;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1];
	if (nl_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX) < 0)
		return -1;
	li->index = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	nl_attr_str(tb[IFLA_IFNAME], li->name, sizeof(li->name));
	if (tb[IFLA_MASTER] && mnl_attr_get_payload_len(tb[IFLA_MASTER]) >= sizeof(uint32_t))
		li->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	const struct nlattr *info[IFLA_INFO_MAX + 1];
	if (tb[IFLA_LINKINFO] && nl_attrs_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX) == 0)
		nl_attr_str(info[IFLA_INFO_KIND], li->kind, sizeof(li->kind));
	return 0;
}

static int link_cb(const struct nlmsghdr *nlh, unsigned int idx, void *data, berr *e)
{
	(void)idx;
	nl_link_info *li = data;
	if (nl_parse_link(nlh, li) < 0 || li->index <= 0)
		return berr_set(e, EBADMSG, "malformed link message");
	return 0;
}

int nl_link_get(nl_sock *s, const char *name, nl_link_info *li, berr *e)
{
	if (nl_name_check(name, "link name", e) < 0)
		return -1;
	nl_batch b;
	nl_batch_init(&b);
	struct ifinfomsg *ifi =
	    nl_batch_add(s, &b, RTM_GETLINK, 0, sizeof(*ifi), "look up link %s", name);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, name);
	mnl_attr_put_u32(b.cur, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	nl_batch_allow(&b, ENODEV);
	memset(li, 0, sizeof(*li));
	if (nl_batch_run(s, &b, link_cb, li, e) < 0)
		return -1;
	return b.got_errno[0] == ENODEV || li->index <= 0 ? 0 : 1;
}

int nl_link_index(nl_sock *s, const char *name, berr *e)
{
	nl_link_info li;
	int r = nl_link_get(s, name, &li, e);
	return r <= 0 ? r : li.index;
}

int nl_link_del(nl_sock *s, const char *name, berr *e)
{
	if (nl_name_check(name, "link name", e) < 0)
		return -1;
	nl_batch b;
	nl_batch_init(&b);
	struct ifinfomsg *ifi =
	    nl_batch_add(s, &b, RTM_DELLINK, 0, sizeof(*ifi), "delete link %s", name);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(b.cur, IFLA_IFNAME, name);
	nl_batch_allow(&b, ENODEV);
	return nl_batch_run(s, &b, NULL, NULL, e);
}

int nl_link_up(nl_sock *s, int ifindex, berr *e)
{
	if (ifindex <= 0)
		return berr_set(e, EINVAL, "netlink: set link up: bad ifindex %d", ifindex);
	nl_batch b;
	nl_batch_init(&b);
	struct ifinfomsg *ifi =
	    nl_batch_add(s, &b, RTM_SETLINK, 0, sizeof(*ifi), "set ifindex %d up", ifindex);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_batch_run(s, &b, NULL, NULL, e);
}

typedef struct names_ctx {
	const char *prefix;
	size_t plen;
	strv_builder v;
	int master; /* only ports of this bridge (> 0) */
} names_ctx;

static int names_cb(const struct nlmsghdr *nlh, unsigned int idx, void *data, berr *e)
{
	(void)idx;
	(void)e;
	names_ctx *c = data;
	nl_link_info li;
	if (nl_parse_link(nlh, &li) == 0 && li.name[0] && !strncmp(li.name, c->prefix, c->plen) &&
	    (c->master <= 0 || li.master == c->master))
		strvb_push(&c->v, li.name);
	return 0;
}

/* A dump read again while a concurrent change interrupts it. */
#define NL_DUMP_TRIES 5

int nl_dump(nl_sock *s, uint16_t type, uint8_t family, const char *what, nl_data_cb cb, void *data,
	    void (*reset)(void *), berr *e)
{
	for (int tries = 0;; tries++) {
		nl_batch b;
		nl_batch_init(&b);
		if (type == RTM_GETLINK) {
			struct ifinfomsg *ifi =
			    nl_batch_add(s, &b, type, NLM_F_DUMP, sizeof(*ifi), "%s", what);
			ifi->ifi_family = family;
			mnl_attr_put_u32(b.cur, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
		} else {
			struct rtmsg *rtm =
			    nl_batch_add(s, &b, type, NLM_F_DUMP, sizeof(*rtm), "%s", what);
			rtm->rtm_family = family;
		}
		if (nl_batch_run(s, &b, cb, data, e) < 0)
			return -1;
		if (!b.intr || tries + 1 >= NL_DUMP_TRIES)
			return 0;
		reset(data);
	}
}

static void names_reset(void *data)
{
	strvb_free(&((names_ctx *)data)->v);
}

char **nl_link_names(nl_sock *s, const char *prefix, berr *e)
{
	return nl_link_names_on(s, prefix, 0, e);
}

char **nl_link_names_on(nl_sock *s, const char *prefix, int master, berr *e)
{
	names_ctx c = {prefix ? prefix : "", strlen(prefix ? prefix : ""), {0}, master};
	if (nl_dump(s, RTM_GETLINK, AF_UNSPEC, "list links", names_cb, &c, names_reset, e) < 0) {
		strvb_free(&c.v);
		return NULL;
	}
	char **v = strvb_take(&c.v);
	return v ? v : xzalloc(sizeof(char *));
}

/* --- sysctl --- */

int nl_ip_forward_enable(berr *e)
{
	static const char path[] = "/proc/sys/net/ipv4/ip_forward";
	_cleanup_free_ char *cur = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, &cur, &len, e) < 0)
		return -1;
	if (len > 0 && cur[0] != '0')
		return 0;
	return fs_write_str_at(AT_FDCWD, path, "1", e);
}
