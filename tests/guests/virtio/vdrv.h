/* A minimal virtio-mmio (version 2) driver for the test guests: find a
 * device from the `virtio_mmio.device=SIZE@BASE:IRQ` command-line entries,
 * negotiate features, set up split queues in static memory, submit chains
 * and poll the used ring (no interrupts). */
#pragma once

#include <stdint.h>

#include "rt.h"

#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4

#define VRING_MAX 64 /* queue size the guests use */

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

/* register offsets */
#define VM_MAGIC	  0x000
#define VM_VERSION	  0x004
#define VM_DEVICE_ID	  0x008
#define VM_DEV_FEAT	  0x010
#define VM_DEV_FEAT_SEL	  0x014
#define VM_DRV_FEAT	  0x020
#define VM_DRV_FEAT_SEL	  0x024
#define VM_QUEUE_SEL	  0x030
#define VM_QUEUE_NUM_MAX  0x034
#define VM_QUEUE_NUM	  0x038
#define VM_QUEUE_READY	  0x044
#define VM_QUEUE_NOTIFY	  0x050
#define VM_INT_STATUS	  0x060
#define VM_INT_ACK	  0x064
#define VM_STATUS	  0x070
#define VM_QUEUE_DESC_LO  0x080
#define VM_QUEUE_DESC_HI  0x084
#define VM_QUEUE_AVAIL_LO 0x090
#define VM_QUEUE_AVAIL_HI 0x094
#define VM_QUEUE_USED_LO  0x0a0
#define VM_QUEUE_USED_HI  0x0a4
#define VM_CONFIG	  0x100

#define ST_ACK	       1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 64

#define F_INDIRECT_DESC 28
#define F_EVENT_IDX	29
#define F_VERSION_1	32

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One queue's memory: desc table, avail ring (+used_event), used ring. */
struct vring_mem {
	struct vring_desc desc[VRING_MAX];
	uint16_t avail_flags, avail_idx, avail_ring[VRING_MAX], used_event;
	uint8_t pad[4096 - 16 * VRING_MAX - 6 - 2 * VRING_MAX];
	uint16_t used_flags, used_idx;
	struct {
		uint32_t id, len;
	} used_ring[VRING_MAX];
	uint16_t avail_event;
} __attribute__((aligned(4096)));

typedef struct vdev {
	uint64_t base;
	uint32_t irq;
	uint32_t id;
	uint64_t features; /* negotiated */
} vdev;

typedef struct vring {
	vdev *d;
	uint16_t qi, size;
	uint16_t next_desc; /* next free descriptor (round robin) */
	uint16_t last_used;
	uint32_t last_isr; /* InterruptStatus seen (and acked) by the last poll */
	struct vring_mem *m;
} vring;

struct vbuf {
	const void *addr;
	uint32_t len;
	uint16_t flags; /* VRING_DESC_F_WRITE for device-writable */
};

static inline uint32_t vd_read(const vdev *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}
static inline void vd_write(const vdev *d, uint32_t off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* Find the n-th (0-based) device of type id; 0 on success. Prints what it
 * finds on failure. */
int vdrv_find(uint32_t id, int n, vdev *d);
/* Reset, ACKNOWLEDGE, DRIVER, accept VERSION_1 plus `want` (masked by what
 * the device offers), FEATURES_OK (checked). 0 on success. */
int vdrv_init(vdev *d, uint64_t want);
/* Set up queue qi with size entries in m (zeroed here). 0 on success. */
int vdrv_queue(vdev *d, vring *r, uint16_t qi, uint16_t size, struct vring_mem *m);
/* Set DRIVER_OK. */
void vdrv_ready(vdev *d);
/* Put a chain of n buffers on the ring, publish it and notify; returns the
 * head descriptor. */
uint16_t vdrv_submit(vring *r, const struct vbuf *b, int n);
/* Wait up to ms milliseconds (roughly) for the next used element; 0 with
 * *len set, -1 on timeout. */
int vdrv_poll(vring *r, uint32_t *len, uint32_t ms);
/* Device config space byte access. */
uint8_t vdrv_cfg8(vdev *d, uint32_t off);
uint32_t vdrv_cfg32(vdev *d, uint32_t off);

/* Time: rough, from the TSC (assumes >= 1 GHz; only bounds waiting). */
uint64_t vdrv_ms(void);
