/* virtio-rng (virtio 1.2, 5.4): fill the driver's writable buffers from
 * getrandom(), at most RNG_MAX_REQ bytes per request. */
#include <errno.h>
#include <sys/random.h>

#include "util/xalloc.h"
#include "vmm/virtio/virtio.h"
#include "vmm/virtio/virtio_mmio.h"

#define RNG_MAX_REQ 4096

static int64_t rng_request(virtio_dev *v, vq_chain *c, berr *e)
{
	(void)v;
	if (c->n_out)
		return berr_set(e, 0, "entropy request with device-readable buffers");
	uint64_t done = 0;
	for (uint32_t i = c->n_out; i < (uint32_t)c->n_out + c->n_in && done < RNG_MAX_REQ; i++) {
		uint64_t want = c->seg[i].len;
		if (want > RNG_MAX_REQ - done)
			want = RNG_MAX_REQ - done;
		uint64_t got = 0;
		while (got < want) {
			ssize_t r = getrandom(c->seg[i].p + got, want - got, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return (int64_t)(done + got); /* hand over what we have */
			got += (uint64_t)r;
		}
		done += got;
	}
	return (int64_t)done;
}

static void rng_notify(virtio_dev *v, uint16_t qi)
{
	virtio_dev_process(v, qi, rng_request);
}

static const virtio_dev_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_notify = rng_notify,
};

int virtio_rng_create(vm *m, berr *e)
{
	virtio_dev *v = xzalloc(sizeof(*v));
	virtio_dev_init(v, &rng_ops);
	if (virtio_dev_register(v, m, e) < 0) {
		if (!v->dev.machine)
			virtio_dev_free(v);
		return -1;
	}
	return 0;
}
