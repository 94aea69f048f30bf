/* Split virtqueues (virtio 1.2, 2.7) walked defensively.
 *
 * Everything here reads guest memory the guest can change under us, so each
 * descriptor is copied once into host memory before it is looked at, every
 * (address, length) goes through vm_mem_ptr(), and every loop is bounded by
 * the queue size. A function that finds the guest misbehaving returns -1 with
 * a berr saying what the guest did wrong; the transport then reports it with
 * vm_guest_error() and stops the queue (DEVICE_NEEDS_RESET).
 *
 * x86 only (little-endian host, like the guest). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/device.h"

#define VQ_MAX_SIZE 256 /* QueueNumMax we offer; also bounds every chain */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

typedef struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} vq_desc;

/* One queue as configured by the driver through the transport. */
typedef struct vq {
	uint16_t size; /* QueueNum: power of two, 1..VQ_MAX_SIZE */
	bool ready;
	bool broken;	/* the guest broke it; no more processing until reset */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;	 /* next avail ring slot to consume */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when we last interrupted (event idx) */
	bool signalled_valid;
} vq;

/* A popped chain: host pointers of its buffers, device-readable ones first. */
typedef struct vq_seg {
	uint8_t *p;
	uint32_t len;
} vq_seg;

typedef struct vq_chain {
	uint16_t head;		  /* id for vq_push */
	uint16_t n_out;		  /* device-readable segments: seg[0, n_out) */
	uint16_t n_in;		  /* device-writable segments: seg[n_out, n_out + n_in) */
	uint64_t out_len, in_len; /* total bytes of each kind */
	vq_seg seg[VQ_MAX_SIZE];
} vq_chain;

/* Return the queue to its reset state (not ready, everything zero). */
void vq_reset(vq *q);

/* Check a queue size the driver wrote to QueueNum. */
int vq_check_size(uint32_t num, berr *e);

/* Validate the configured rings (size, alignment, inside guest memory) when
 * the driver sets QueueReady; initialises the ring indices. */
int vq_check_rings(vq *q, const vm_mem *m, berr *e);

/* Pop the next available chain into c. Returns 1 if one was popped, 0 if the
 * ring is empty, -1 (and marks the queue broken) if the guest misbehaved. */
int vq_pop(vq *q, const vm_mem *m, vq_chain *c, berr *e);

/* Put a chain back onto the used ring with `written` bytes written into its
 * device-writable buffers (the caller keeps written <= the chain's in_len). */
int vq_push(vq *q, const vm_mem *m, uint16_t head, uint32_t written, berr *e);

/* After one or more vq_push: should the driver be interrupted? Honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT or, with event_idx, used_event. */
bool vq_should_interrupt(vq *q, const vm_mem *m);

/* Does the ring hold chains we have not popped yet? (no validation) */
bool vq_has_avail(const vq *q, const vm_mem *m);

/* Copy from the chain's readable bytes [off, off+len) into buf; returns the
 * number of bytes copied (short at the end of the chain). */
size_t vq_chain_read(const vq_chain *c, uint64_t off, void *buf, size_t len);
/* Copy buf into the chain's writable bytes at [off, off+len); returns bytes
 * copied (short at the end). */
size_t vq_chain_write(const vq_chain *c, uint64_t off, const void *buf, size_t len);
