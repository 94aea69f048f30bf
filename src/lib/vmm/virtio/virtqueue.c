/* Split virtqueue walking. See virtqueue.h for the rules this file keeps:
 * copy before use, vm_mem_ptr() for every guest range, every loop bounded. */
#include "vmm/virtio/virtqueue.h"

#include <string.h>

/* Ring layout (2.7): avail = flags, idx, ring[size], used_event;
 * used = flags, idx, {id, len}[size], avail_event. */
#define AVAIL_BYTES(n) (6u + 2u * (uint64_t)(n))
#define USED_BYTES(n)  (6u + 8u * (uint64_t)(n))
#define DESC_BYTES(n)  (16u * (uint64_t)(n))

void vq_reset(vq *q)
{
	memset(q, 0, sizeof(*q));
}

int vq_check_size(uint32_t num, berr *e)
{
	if (num == 0)
		return berr_set(e, 0, "queue size 0");
	if (num > VQ_MAX_SIZE)
		return berr_set(e, 0, "queue size %u exceeds QueueNumMax %u", num, VQ_MAX_SIZE);
	if (num & (num - 1))
		return berr_set(e, 0, "queue size %u is not a power of two", num);
	return 0;
}

int vq_check_rings(vq *q, const vm_mem *m, berr *e)
{
	if (vq_check_size(q->size, e) < 0)
		return -1;
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return berr_set(e, 0,
				"misaligned rings (desc 0x%llx, driver 0x%llx, device 0x%llx)",
				(unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
				(unsigned long long)q->used_gpa);
	if (!vm_mem_ptr(m, q->desc_gpa, DESC_BYTES(q->size)))
		return berr_set(e, 0, "descriptor table 0x%llx (%u entries) outside guest memory",
				(unsigned long long)q->desc_gpa, q->size);
	if (!vm_mem_ptr(m, q->avail_gpa, AVAIL_BYTES(q->size)))
		return berr_set(e, 0, "driver (avail) ring 0x%llx outside guest memory",
				(unsigned long long)q->avail_gpa);
	if (!vm_mem_ptr(m, q->used_gpa, USED_BYTES(q->size)))
		return berr_set(e, 0, "device (used) ring 0x%llx outside guest memory",
				(unsigned long long)q->used_gpa);
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->broken = false;
	return 0;
}

/* The rings were validated by vq_check_rings and guest memory never shrinks,
 * but go through vm_mem_ptr anyway: a NULL here means a bug, not a guest. */
static uint16_t *ring16(const vm_mem *m, uint64_t gpa)
{
	return vm_mem_ptr(m, gpa, 2);
}

static uint16_t load16(const vm_mem *m, uint64_t gpa, int order)
{
	uint16_t *p = ring16(m, gpa);
	return p ? __atomic_load_n(p, order) : 0;
}

static void store16(const vm_mem *m, uint64_t gpa, uint16_t v, int order)
{
	uint16_t *p = ring16(m, gpa);
	if (p)
		__atomic_store_n(p, v, order);
}

static int broken(vq *q, berr *e)
{
	(void)e;
	q->broken = true;
	return -1;
}

bool vq_has_avail(const vq *q, const vm_mem *m)
{
	if (!q->ready || q->broken)
		return false;
	return load16(m, q->avail_gpa + 2, __ATOMIC_ACQUIRE) != q->last_avail;
}

/* Walk the chain starting at `head`: zero or more direct descriptors, then
 * optionally one indirect descriptor (without NEXT) whose table continues the
 * chain (2.7.5.3.2). `visited` counts buffer descriptors
 * (direct and indirect) and is bounded by the queue size, which is both the
 * spec's limit on a chain and our loop detector. */
static int walk_chain(vq *q, const vm_mem *m, uint16_t head, vq_chain *c, berr *e)
{
	uint64_t table = q->desc_gpa;
	uint32_t table_n = q->size;
	bool in_indirect = false;
	uint32_t idx = head, visited = 0;

	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;

	for (uint32_t steps = 0;; steps++) {
		/* Each step either visits a buffer (bounded below) or enters the
		 * single allowed indirect table: at most size + 1 steps. */
		if (steps > q->size)
			return berr_set(e, 0, "descriptor chain from head %u does not end (loop?)",
					head);
		vq_desc d;
		const void *src = vm_mem_ptr(m, table + 16u * (uint64_t)idx, 16);
		if (!src)
			return berr_set(e, 0, "descriptor %u outside guest memory", idx);
		memcpy(&d, src, sizeof(d)); /* read once: the guest may change it */

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return berr_set(
				    e, 0,
				    "descriptor %u is indirect but VIRTIO_F_INDIRECT_DESC "
				    "was not negotiated",
				    idx);
			if (in_indirect)
				return berr_set(e, 0,
						"indirect descriptor %u inside an indirect table "
						"(nested indirect)",
						idx);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return berr_set(e, 0, "indirect descriptor %u also has NEXT set",
						idx);
			if (d.len == 0 || d.len % 16)
				return berr_set(
				    e, 0,
				    "indirect table length %u is not a non-zero multiple "
				    "of 16",
				    d.len);
			if (d.len / 16 > q->size)
				return berr_set(
				    e, 0, "indirect table of %u descriptors exceeds queue size %u",
				    d.len / 16, q->size);
			if (!vm_mem_ptr(m, d.addr, d.len))
				return berr_set(e, 0,
						"indirect table 0x%llx+%u outside guest memory",
						(unsigned long long)d.addr, d.len);
			in_indirect = true;
			table = d.addr;
			table_n = d.len / 16;
			idx = 0;
			continue;
		}

		if (++visited > q->size)
			return berr_set(e, 0,
					"descriptor chain from head %u longer than queue size %u "
					"(loop?)",
					head, q->size);
		if (d.len == 0)
			return berr_set(e, 0, "descriptor %u has length 0", idx);
		uint8_t *p = vm_mem_ptr(m, d.addr, d.len);
		if (!p)
			return berr_set(e, 0,
					"descriptor %u buffer 0x%llx+0x%x outside guest memory",
					idx, (unsigned long long)d.addr, d.len);
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			c->seg[c->n_out + c->n_in++] = (vq_seg){p, d.len};
			c->in_len += d.len;
		} else {
			if (c->n_in)
				return berr_set(e, 0,
						"device-readable descriptor %u after a "
						"device-writable one",
						idx);
			c->seg[c->n_out++] = (vq_seg){p, d.len};
			c->out_len += d.len;
		}

		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_n)
			return berr_set(e, 0, "descriptor %u: next %u out of range (table of %u)",
					idx, d.next, table_n);
		idx = d.next;
	}
}

int vq_pop(vq *q, const vm_mem *m, vq_chain *c, berr *e)
{
	if (!q->ready || q->broken)
		return 0;
	uint16_t avail_idx = load16(m, q->avail_gpa + 2, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size) {
		berr_set(e, 0, "avail idx jumped from %u to %u, more than queue size %u",
			 q->last_avail, avail_idx, q->size);
		return broken(q, e);
	}
	uint16_t head =
	    load16(m, q->avail_gpa + 4 + 2u * (q->last_avail % q->size), __ATOMIC_RELAXED);
	if (head >= q->size) {
		berr_set(e, 0, "avail ring slot %u names descriptor %u, queue size is %u",
			 q->last_avail % q->size, head, q->size);
		return broken(q, e);
	}
	if (walk_chain(q, m, head, c, e) < 0)
		return broken(q, e);
	q->last_avail++;
	if (q->event_idx) { /* ask for a kick as soon as anything new arrives */
		store16(m, q->used_gpa + 4 + 8u * q->size, q->last_avail, __ATOMIC_RELAXED);
		/* ... and order that store before our next read of avail idx, so a
		 * buffer added meanwhile is either seen or kicked (store -> load). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return 1;
}

int vq_push(vq *q, const vm_mem *m, uint16_t head, uint32_t written, berr *e)
{
	if (!q->ready || q->broken)
		return 0;
	if (head >= q->size) {
		berr_set(e, 0, "used element for descriptor %u, queue size %u", head, q->size);
		return broken(q, e);
	}
	uint64_t elem = q->used_gpa + 4 + 8u * (q->used_idx % q->size);
	uint8_t *p = vm_mem_ptr(m, elem, 8);
	if (!p) {
		berr_set(e, 0, "used ring 0x%llx outside guest memory",
			 (unsigned long long)q->used_gpa);
		return broken(q, e);
	}
	uint32_t id = head;
	memcpy(p, &id, 4);
	memcpy(p + 4, &written, 4);
	/* The element must be visible before the index that publishes it. */
	q->used_idx++;
	store16(m, q->used_gpa + 2, q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

/* 2.7.7.2: interrupt if used_event lies in (old, new]. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_interrupt(vq *q, const vm_mem *m)
{
	if (!q->ready || q->broken)
		return false;
	/* Our used->idx store must be ordered before reading the driver's
	 * suppression fields (store -> load needs a full fence). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(m, q->avail_gpa, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t event = load16(m, q->avail_gpa + 4 + 2u * q->size, __ATOMIC_RELAXED);
	bool valid = q->signalled_valid;
	uint16_t old = q->signalled_used;
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	return !valid || need_event(event, q->used_idx, old);
}

size_t vq_chain_read(const vq_chain *c, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;
	for (uint32_t i = 0; i < c->n_out && done < len; i++) {
		const vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done, s->p + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vq_chain_write(const vq_chain *c, uint64_t off, const void *buf, size_t len)
{
	size_t done = 0;
	for (uint32_t i = c->n_out; i < (uint32_t)c->n_out + c->n_in && done < len; i++) {
		const vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy(s->p + off, (const uint8_t *)buf + done, n);
		done += n;
		off = 0;
	}
	return done;
}
