/* virtio-console (virtio 1.2, 5.3) with a single port and no multiport:
 * queue 0 (receiveq) carries host input to the guest, queue 1 (transmitq)
 * guest output to the host.
 *
 * Input is read without blocking the event loop: a tty or pipe is reopened
 * through /proc/self/fd with O_NONBLOCK (its own open file description, so
 * the caller's stdin keeps its flags) and watched edge-triggered. Input that
 * arrives while the guest has no buffer posted waits in a small stash. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/xalloc.h"
#include "vmm/virtio/virtio.h"
#include "vmm/virtio/virtio_mmio.h"

#define RX_QUEUE  0
#define TX_QUEUE  1
#define RX_BUDGET 64

typedef struct cons {
	virtio_dev v; /* first */
	int in_fd;    /* ours (reopened), -1 if no input */
	int out_fd;   /* borrowed */
	size_t in_off, in_len;
	uint8_t in[4096];
} cons;

static void rx_fill(cons *k)
{
	virtio_dev *v = &k->v;
	vq *q = &v->queues[RX_QUEUE];
	const vm_mem *mem = virtio_dev_mem(v);
	bool pushed = false;
	int i;
	if (k->in_fd < 0 || !virtio_dev_running(v) || !q->ready)
		return;
	for (i = 0; i < RX_BUDGET; i++) {
		if (k->in_off == k->in_len) {
			ssize_t r = read(k->in_fd, k->in, sizeof(k->in));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break; /* EAGAIN, EOF or error: nothing to hand over */
			k->in_off = 0;
			k->in_len = (size_t)r;
		}
		berr e = {0};
		int p = vq_pop(q, mem, &v->chain, &e);
		if (p < 0) {
			virtio_dev_fail(v, RX_QUEUE, "%s", e.msg);
			return;
		}
		if (p == 0)
			break;
		size_t n = vq_chain_write(&v->chain, 0, k->in + k->in_off, k->in_len - k->in_off);
		k->in_off += n;
		if (vq_push(q, mem, v->chain.head, (uint32_t)n, &e) < 0) {
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
	cons *k = (cons *)v;
	(void)e;
	for (uint32_t i = 0; i < c->n_out; i++) {
		const uint8_t *p = c->seg[i].p;
		size_t left = c->seg[i].len;
		while (left) {
			ssize_t r = write(k->out_fd, p, left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return 0; /* output gone: drop, like a disconnected port */
			p += r;
			left -= (size_t)r;
		}
	}
	return 0;
}

static void cons_notify(virtio_dev *v, uint16_t qi)
{
	if (qi == RX_QUEUE)
		rx_fill((cons *)v);
	else
		virtio_dev_process(v, qi, tx_request);
}

static void cons_reset(virtio_dev *v)
{
	cons *k = (cons *)v;
	k->in_off = k->in_len = 0;
}

static void on_input(void *opaque, uint32_t events)
{
	cons *k = opaque;
	(void)events;
	virtio_dev_lock(&k->v);
	rx_fill(k);
	virtio_dev_unlock(&k->v);
}

static void cons_destroy(virtio_dev *v)
{
	cons *k = (cons *)v;
	if (k->in_fd >= 0)
		close(k->in_fd);
}

static const virtio_dev_ops cons_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_notify = cons_notify,
    .reset = cons_reset,
    .destroy = cons_destroy,
};

/* A non-blocking descriptor of our own for in_fd, or -1 (no input). */
static int reopen_input(int in_fd)
{
	char path[64];
	if (in_fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", in_fd);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		return fd;
	/* Not reopenable (a socket): a duplicate shares the file status
	 * flags, so the borrowed fd becomes non-blocking too. */
	fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -1;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int virtio_console_create(vm *m, int in_fd, int out_fd, berr *e)
{
	if (out_fd < 0)
		return berr_set(e, 0, "virtio-console: no output fd");
	cons *k = xzalloc(sizeof(*k));
	virtio_dev_init(&k->v, &cons_ops);
	k->out_fd = out_fd;
	k->in_fd = reopen_input(in_fd);
	k->v.config_len = 12; /* cols, rows, max_nr_ports, emerg_write: unused */
	if (virtio_dev_register(&k->v, m, e) < 0) {
		if (!k->v.dev.machine)
			virtio_dev_free(&k->v);
		return -1;
	}
	if (k->in_fd >= 0) {
		berr e2 = {0};
		/* epoll refuses regular files and /dev/null: no input then. */
		if (vm_watch_fd(m, k->in_fd, EPOLLIN | EPOLLET, on_input, k, &e2) < 0) {
			close(k->in_fd);
			k->in_fd = -1;
		}
	}
	return 0;
}
