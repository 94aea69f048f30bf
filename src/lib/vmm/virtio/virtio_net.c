/* virtio-net (virtio 1.2, 5.1) on a tap device opened with IFF_VNET_HDR and
 * a 12-byte header (virtio_net_hdr_v1). No offloads are offered, so every
 * header is all zeroes except num_buffers (1: no MRG_RXBUF).
 *
 * rx: the tap fd is watched edge-triggered. A frame is read into a one-frame
 * stash and copied into the next receive chain; with no chain posted it
 * waits in the stash (and further frames in the tap's queue) until the
 * driver kicks the receive queue. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vmm/virtio/virtio.h"
#include "vmm/virtio/virtio_mmio.h"

#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_F_STATUS  16
#define VIRTIO_NET_S_LINK_UP 1

#define NET_HDR_LEN   12
#define NET_MAX_FRAME (65535 + 14 + 4) /* largest frame a tap hands us */
#define RX_QUEUE      0
#define TX_QUEUE      1
#define RX_BUDGET     64 /* frames per callback before yielding */

typedef struct net {
	virtio_dev v; /* first */
	int tap;
	bool rx_stashed;
	size_t rx_len;
	uint8_t rx[NET_HDR_LEN + NET_MAX_FRAME];
} net;

/* Move tap frames into posted receive chains. Lock held. */
static void rx_fill(net *n)
{
	virtio_dev *v = &n->v;
	vq *q = &v->queues[RX_QUEUE];
	const vm_mem *mem = virtio_dev_mem(v);
	bool pushed = false;
	int i;
	if (!virtio_dev_running(v) || !q->ready)
		return;
	for (i = 0; i < RX_BUDGET; i++) {
		if (!n->rx_stashed) {
			ssize_t r = read(n->tap, n->rx, sizeof(n->rx));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break; /* EAGAIN: drained (another edge will come) */
			if (r < NET_HDR_LEN)
				continue;
			n->rx_len = (size_t)r;
			n->rx_stashed = true;
		}
		berr e = {0};
		int p = vq_pop(q, mem, &v->chain, &e);
		if (p < 0) {
			virtio_dev_fail(v, RX_QUEUE, "%s", e.msg);
			return;
		}
		if (p == 0)
			break; /* no buffers: the frame waits for the next rx kick */
		vq_chain *c = &v->chain;
		if (c->n_out) {
			virtio_dev_fail(v, RX_QUEUE, "receive buffer %u has device-readable parts",
					c->head);
			return;
		}
		uint32_t len = 0;
		if (c->in_len >= n->rx_len) {
			uint8_t hdr[NET_HDR_LEN] = {0};
			hdr[10] = 1; /* num_buffers = 1 (le16) */
			vq_chain_write(c, 0, hdr, NET_HDR_LEN);
			vq_chain_write(c, NET_HDR_LEN, n->rx + NET_HDR_LEN,
				       n->rx_len - NET_HDR_LEN);
			len = (uint32_t)n->rx_len;
		} /* else: too small for the frame (5.1.6.3.1): dropped, len 0 */
		n->rx_stashed = false;
		if (vq_push(q, mem, c->head, len, &e) < 0) {
			virtio_dev_fail(v, RX_QUEUE, "%s", e.msg);
			return;
		}
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal_used(v, RX_QUEUE);
	if (i == RX_BUDGET)
		virtio_dev_requeue(v, RX_QUEUE);
}

static int64_t tx_request(virtio_dev *v, vq_chain *c, berr *e)
{
	net *n = (net *)v;
	if (c->out_len < NET_HDR_LEN)
		return berr_set(e, 0, "transmit chain %u shorter than the %d-byte header", c->head,
				NET_HDR_LEN);
	if (c->out_len > NET_HDR_LEN + NET_MAX_FRAME)
		return berr_set(e, 0, "transmit chain %u of %llu bytes exceeds the largest frame",
				c->head, (unsigned long long)c->out_len);
	/* No offloads were negotiated: send an all-zero header whatever the
	 * guest wrote, so the tap never sees guest-chosen GSO fields. */
	static const uint8_t zero_hdr[NET_HDR_LEN];
	struct iovec iov[VQ_MAX_SIZE + 1];
	int cnt = 0;
	iov[cnt++] = (struct iovec){(void *)zero_hdr, NET_HDR_LEN};
	uint64_t skip = NET_HDR_LEN;
	for (uint32_t i = 0; i < c->n_out; i++) {
		const vq_seg *s = &c->seg[i];
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		iov[cnt++] = (struct iovec){s->p + skip, s->len - skip};
		skip = 0;
	}
	ssize_t r;
	do
		r = writev(n->tap, iov, cnt);
	while (r < 0 && errno == EINTR);
	/* A full tap queue (EAGAIN) or a frame the tap refuses drops the frame,
	 * as a NIC would; the chain is returned either way. */
	return 0;
}

static void net_notify(virtio_dev *v, uint16_t qi)
{
	if (qi == RX_QUEUE)
		rx_fill((net *)v);
	else
		virtio_dev_process(v, qi, tx_request);
}

static void net_reset(virtio_dev *v)
{
	((net *)v)->rx_stashed = false;
}

static void on_tap(void *opaque, uint32_t events)
{
	net *n = opaque;
	(void)events;
	virtio_dev_lock(&n->v);
	rx_fill(n);
	virtio_dev_unlock(&n->v);
}

static void net_destroy(virtio_dev *v)
{
	net *n = (net *)v;
	if (n->tap >= 0)
		close(n->tap);
}

static const virtio_dev_ops net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_notify = net_notify,
    .reset = net_reset,
    .destroy = net_destroy,
};

static int tap_open(const char *name, berr *e)
{
	struct ifreq ifr = {0};
	if (strlen(name) >= IFNAMSIZ)
		return berr_set(e, 0, "virtio-net: tap name \"%s\" too long", name);
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "virtio-net: open /dev/net/tun");
	strcpy(ifr.ifr_name, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return berr_sys(e, "virtio-net: TUNSETIFF %s", name);
	int hdr = NET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return berr_sys(e, "virtio-net: TUNSETVNETHDRSZ %s", name);
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		return berr_sys(e, "virtio-net: TUNSETOFFLOAD %s", name);
	return take_fd(&fd);
}

int virtio_net_create(vm *m, const char *tap_name, const uint8_t *mac, berr *e)
{
	int tap = tap_open(tap_name, e);
	if (tap < 0)
		return -1;
	net *n = xzalloc(sizeof(*n));
	virtio_dev_init(&n->v, &net_ops);
	n->tap = tap;
	n->v.device_features = BIT64(VIRTIO_NET_F_MAC) | BIT64(VIRTIO_NET_F_STATUS);
	n->v.config[6] = VIRTIO_NET_S_LINK_UP; /* status, le16 */
	n->v.config_len = 8;		       /* mac[6], status */
	if (virtio_dev_register(&n->v, m, e) < 0) {
		if (!n->v.dev.machine)
			virtio_dev_free(&n->v);
		return berr_ctx(e, "%s", tap_name);
	}
	/* Registered: the core owns n now. Not yet running, no lock needed. */
	if (mac) {
		memcpy(n->v.config, mac, 6);
	} else {
		/* Locally administered unicast, stable for a tap name (DHCP
		 * leases survive restarts) and distinct between taps. */
		uint32_t h = 2166136261u; /* FNV-1a */
		for (const char *p = tap_name; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		uint8_t def[6] = {
		    0x02,      0xbe, (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8),
		    (uint8_t)h};
		memcpy(n->v.config, def, 6);
	}
	if (vm_watch_fd(m, n->tap, EPOLLIN | EPOLLET, on_tap, n, e) < 0)
		return berr_ctx(e, "virtio-net: %s", tap_name);
	return 0;
}
