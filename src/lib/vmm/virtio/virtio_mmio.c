/* virtio-mmio transport: the register file, the device status state machine
 * and queue notifications. Out-of-order or invalid driver writes are refused
 * and reported with vm_guest_error; after a protocol error the device sets
 * DEVICE_NEEDS_RESET and does nothing until the driver resets it. */
#include "vmm/virtio/virtio_mmio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TRANSPORT_FEATURES                                                                         \
	(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_F_INDIRECT_DESC) | BIT64(VIRTIO_F_EVENT_IDX))

void virtio_dev_init(virtio_dev *v, const virtio_dev_ops *ops)
{
	v->dev.ops = &virtio_mmio_ops;
	v->dev.irqfd = -1;
	v->vops = ops;
	pthread_mutex_init(&v->lock, NULL);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vq_reset(&v->queues[i]);
		v->kick_fd[i] = -1;
	}
}

void virtio_dev_lock(virtio_dev *v)
{
	pthread_mutex_lock(&v->lock);
}

void virtio_dev_unlock(virtio_dev *v)
{
	pthread_mutex_unlock(&v->lock);
}

bool virtio_dev_running(const virtio_dev *v)
{
	return (v->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(v->status & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static uint64_t offered(const virtio_dev *v)
{
	return v->device_features | TRANSPORT_FEATURES;
}

void virtio_dev_fail(virtio_dev *v, int qi, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (qi >= 0)
		vm_guest_error(v->dev.machine, "%s: queue %d: %s", v->vops->name, qi, msg);
	else
		vm_guest_error(v->dev.machine, "%s: %s", v->vops->name, msg);
	if (qi >= 0 && qi < VIRTIO_MAX_QUEUES)
		v->queues[qi].broken = true;
	bool was_running = virtio_dev_running(v);
	v->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (was_running) { /* 4.2.3.4: tell a live driver through a config interrupt */
		v->isr |= VIRTIO_INT_CONFIG;
		vm_irq_raise(&v->dev);
	}
}

/* Report a driver mistake that we simply ignore (no reset needed). */
static void complain(virtio_dev *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void complain(virtio_dev *v, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vm_guest_error(v->dev.machine, "%s: %s", v->vops->name, msg);
}

void virtio_dev_signal_used(virtio_dev *v, uint16_t qi)
{
	if (vq_should_interrupt(&v->queues[qi], virtio_dev_mem(v))) {
		v->isr |= VIRTIO_INT_USED;
		vm_irq_raise(&v->dev);
	}
}

void virtio_dev_requeue(virtio_dev *v, uint16_t qi)
{
	if (v->kick_fd[qi] >= 0 && v->kick_watched[qi]) {
		uint64_t one = 1;
		/* An eventfd write only fails when the counter would overflow,
		 * and then a wake-up is pending anyway. */
		ssize_t n = write(v->kick_fd[qi], &one, sizeof(one));
		(void)n;
	}
}

void virtio_dev_process(virtio_dev *v, uint16_t qi, virtio_req_fn fn)
{
	vq *q = &v->queues[qi];
	const vm_mem *mem = virtio_dev_mem(v);
	bool pushed = false;
	if (!virtio_dev_running(v))
		return;
	for (uint32_t n = 0; n < q->size; n++) {
		berr e = {0};
		int r = vq_pop(q, mem, &v->chain, &e);
		if (r < 0) {
			virtio_dev_fail(v, qi, "%s", e.msg);
			return;
		}
		if (r == 0)
			break;
		int64_t written = fn(v, &v->chain, &e);
		if (written < 0) {
			virtio_dev_fail(v, qi, "%s", e.msg);
			return;
		}
		if ((uint64_t)written > v->chain.in_len)
			written = (int64_t)v->chain.in_len;
		if (vq_push(q, mem, v->chain.head, (uint32_t)written, &e) < 0) {
			virtio_dev_fail(v, qi, "%s", e.msg);
			return;
		}
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal_used(v, qi);
	if (vq_has_avail(q, mem))
		virtio_dev_requeue(v, qi);
}

/* ---- status and reset ------------------------------------------------ */

static void device_reset(virtio_dev *v)
{
	v->driver_features = 0;
	v->device_features_sel = v->driver_features_sel = v->queue_sel = 0;
	v->status = 0;
	v->isr = 0;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vq_reset(&v->queues[i]);
	if (v->vops->reset)
		v->vops->reset(v);
}

static void kick_all(virtio_dev *v)
{
	for (uint16_t i = 0; i < v->vops->num_queues; i++)
		if (v->queues[i].ready)
			v->vops->queue_notify(v, i);
}

static void write_status(virtio_dev *v, uint32_t val)
{
	uint32_t old = v->status;
	if (val == 0) {
		device_reset(v);
		return;
	}
	val &= ~(uint32_t)VIRTIO_STATUS_DEVICE_NEEDS_RESET; /* device-owned bit */
	val |= old & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if ((val & old) != old) {
		complain(v, "status 0x%x clears bits of 0x%x without a reset; refused", val, old);
		return;
	}
	uint32_t add = val & ~old;
	if (add & VIRTIO_STATUS_FAILED) { /* the driver gave up: accepted any time */
		v->status = val;
		return;
	}
	if ((add & VIRTIO_STATUS_DRIVER) && !(val & VIRTIO_STATUS_ACKNOWLEDGE)) {
		complain(v, "status DRIVER set before ACKNOWLEDGE; refused");
		return;
	}
	if ((add & VIRTIO_STATUS_FEATURES_OK) && !(val & VIRTIO_STATUS_DRIVER)) {
		complain(v, "status FEATURES_OK set before DRIVER; refused");
		return;
	}
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !(val & VIRTIO_STATUS_FEATURES_OK)) {
		complain(v, "status DRIVER_OK set without FEATURES_OK; refused");
		return;
	}
	if (add & VIRTIO_STATUS_FEATURES_OK) {
		uint64_t extra = v->driver_features & ~offered(v);
		if (extra) {
			/* Leave FEATURES_OK clear: the driver reads it back (3.1.1). */
			complain(v,
				 "driver accepted features 0x%llx that were not offered; "
				 "FEATURES_OK refused",
				 (unsigned long long)extra);
			v->status = val & ~(uint32_t)VIRTIO_STATUS_FEATURES_OK &
				    ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
			return;
		}
		if (!(v->driver_features & BIT64(VIRTIO_F_VERSION_1))) {
			complain(v, "driver did not accept VIRTIO_F_VERSION_1 (legacy drivers "
				    "are not supported); FEATURES_OK refused");
			v->status = val & ~(uint32_t)VIRTIO_STATUS_FEATURES_OK &
				    ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
			return;
		}
		for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
			v->queues[i].event_idx = v->driver_features & BIT64(VIRTIO_F_EVENT_IDX);
			v->queues[i].indirect = v->driver_features & BIT64(VIRTIO_F_INDIRECT_DESC);
		}
	}
	v->status = val;
	if ((add & VIRTIO_STATUS_DRIVER_OK) && virtio_dev_running(v))
		kick_all(v); /* buffers posted before DRIVER_OK */
}

/* ---- queue registers ------------------------------------------------- */

/* The selected queue, if the driver may configure queues now. */
static vq *queue_for_setup(virtio_dev *v, const char *reg)
{
	if (v->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return NULL; /* already reported; ignore until reset */
	if (!(v->status & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_dev_fail(v, -1, "%s written before FEATURES_OK", reg);
		return NULL;
	}
	if (v->queue_sel >= v->vops->num_queues) {
		virtio_dev_fail(v, -1, "%s written for queue %u, device has %u", reg, v->queue_sel,
				v->vops->num_queues);
		return NULL;
	}
	return &v->queues[v->queue_sel];
}

enum ring { RING_DESC, RING_DRIVER, RING_DEVICE };

static void set_addr(virtio_dev *v, enum ring which, uint32_t val, bool high, const char *reg)
{
	vq *q = queue_for_setup(v, reg);
	if (!q)
		return;
	if (q->ready) {
		virtio_dev_fail(v, (int)v->queue_sel, "%s written while the queue is ready", reg);
		return;
	}
	uint64_t *field = which == RING_DESC	 ? &q->desc_gpa
			  : which == RING_DRIVER ? &q->avail_gpa
						 : &q->used_gpa;
	if (high)
		*field = (*field & 0xffffffffull) | ((uint64_t)val << 32);
	else
		*field = (*field & ~0xffffffffull) | val;
}

static void set_queue_num(virtio_dev *v, uint32_t val)
{
	vq *q = queue_for_setup(v, "QueueNum");
	if (!q)
		return;
	if (q->ready) {
		virtio_dev_fail(v, (int)v->queue_sel, "QueueNum written while the queue is ready");
		return;
	}
	berr e = {0};
	if (vq_check_size(val, &e) < 0) {
		q->size = 0;
		virtio_dev_fail(v, (int)v->queue_sel, "%s", e.msg);
		return;
	}
	q->size = (uint16_t)val;
}

static void set_queue_ready(virtio_dev *v, uint32_t val)
{
	if (val == 0) {
		/* Always allowed: Linux disables its queues this way after a
		 * reset when it tears the device down. */
		if (v->queue_sel < v->vops->num_queues)
			v->queues[v->queue_sel].ready = false;
		return;
	}
	vq *q = queue_for_setup(v, "QueueReady");
	if (!q)
		return;
	if (q->ready)
		return;
	berr e = {0};
	if (vq_check_rings(q, virtio_dev_mem(v), &e) < 0) {
		virtio_dev_fail(v, (int)v->queue_sel, "QueueReady refused: %s", e.msg);
		return;
	}
	q->ready = true;
}

static void queue_notify(virtio_dev *v, uint32_t val)
{
	if (val >= v->vops->num_queues) {
		complain(v, "QueueNotify for queue %u, device has %u", val, v->vops->num_queues);
		return;
	}
	if (!virtio_dev_running(v) || !v->queues[val].ready)
		return; /* processed at DRIVER_OK / ignored after an error */
	if (v->kick_watched[val])
		virtio_dev_requeue(v, (uint16_t)val); /* keep device work on the loop */
	else
		v->vops->queue_notify(v, (uint16_t)val);
}

/* ---- register access ------------------------------------------------- */

static uint32_t read_reg(virtio_dev *v, uint64_t off)
{
	vq *q = v->queue_sel < v->vops->num_queues ? &v->queues[v->queue_sel] : NULL;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return v->vops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (v->device_features_sel > 1)
			return 0;
		return (uint32_t)(offered(v) >> (32 * v->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return q ? q->size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return v->isr;
	case VIRTIO_MMIO_STATUS:
		return v->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		return q ? (uint32_t)q->avail_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		return q ? (uint32_t)(q->avail_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		return q ? (uint32_t)q->used_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		return q ? (uint32_t)(q->used_gpa >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return v->config_generation;
	default:
		return 0;
	}
}

static void write_reg(virtio_dev *v, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		v->device_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		v->driver_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (!(v->status & VIRTIO_STATUS_DRIVER) ||
		    (v->status & VIRTIO_STATUS_FEATURES_OK)) {
			complain(v, "DriverFeatures written outside DRIVER..FEATURES_OK; ignored");
			return;
		}
		if (v->driver_features_sel == 0)
			v->driver_features = (v->driver_features & ~0xffffffffull) | val;
		else if (v->driver_features_sel == 1)
			v->driver_features =
			    (v->driver_features & 0xffffffffull) | ((uint64_t)val << 32);
		else if (val)
			complain(v, "DriverFeatures word %u set to 0x%x; no such features",
				 v->driver_features_sel, val);
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		v->queue_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		set_queue_num(v, val);
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		set_queue_ready(v, val);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		queue_notify(v, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		v->isr &= ~val;
		return;
	case VIRTIO_MMIO_STATUS:
		write_status(v, val);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		return; /* no shared memory regions: every SHMLen reads ~0 */
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_addr(v, RING_DESC, val, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, "QueueDesc");
		return;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_addr(v, RING_DRIVER, val, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, "QueueDriver");
		return;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		set_addr(v, RING_DEVICE, val, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, "QueueDevice");
		return;
	default:
		complain(v, "write of 0x%x to read-only or unknown register 0x%03llx; ignored", val,
			 (unsigned long long)off);
	}
}

static void mmio_read(vm_device *d, uint64_t off, uint8_t *data, uint32_t size)
{
	virtio_dev *v = (virtio_dev *)d;
	memset(data, 0, size);
	virtio_dev_lock(v);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		if (c < v->config_len && size <= v->config_len - c)
			memcpy(data, v->config + c, size);
	} else if (size == 4 && off % 4 == 0) {
		uint32_t val = read_reg(v, off);
		memcpy(data, &val, 4);
	} else {
		complain(v, "register 0x%03llx read with size %u (must be 4)",
			 (unsigned long long)off, size);
	}
	virtio_dev_unlock(v);
}

static void mmio_write(vm_device *d, uint64_t off, const uint8_t *data, uint32_t size)
{
	virtio_dev *v = (virtio_dev *)d;
	virtio_dev_lock(v);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* Our config spaces are read-only (no CONFIG_WCE, no MAC writes). */
	} else if (size == 4 && off % 4 == 0) {
		uint32_t val;
		memcpy(&val, data, 4);
		write_reg(v, off, val);
	} else {
		complain(v, "register 0x%03llx written with size %u (must be 4)",
			 (unsigned long long)off, size);
	}
	virtio_dev_unlock(v);
}

void virtio_dev_free(virtio_dev *v)
{
	if (v->vops->destroy)
		v->vops->destroy(v);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (v->kick_fd[i] >= 0)
			close(v->kick_fd[i]);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static void mmio_destroy(vm_device *d)
{
	virtio_dev_free((virtio_dev *)d);
}

const vm_device_ops virtio_mmio_ops = {
    .name = "virtio-mmio",
    .read = mmio_read,
    .write = mmio_write,
    .destroy = mmio_destroy,
};

/* ---- registration ---------------------------------------------------- */

static void on_kick(void *opaque, uint32_t events)
{
	virtio_dev *v = opaque;
	(void)events;
	/* All of a device's kick eventfds share this callback: drain each
	 * (non-blocking) and serve the queues that were kicked. */
	for (uint16_t i = 0; i < v->vops->num_queues; i++) {
		uint64_t cnt;
		if (v->kick_fd[i] < 0 || read(v->kick_fd[i], &cnt, sizeof(cnt)) != sizeof(cnt))
			continue;
		virtio_dev_lock(v);
		if (virtio_dev_running(v) && v->queues[i].ready)
			v->vops->queue_notify(v, i);
		virtio_dev_unlock(v);
	}
}

int virtio_dev_register(virtio_dev *v, vm *m, berr *e)
{
	uint64_t base;
	uint32_t gsi;
	if (vm_alloc_mmio_slot(m, &base, &gsi, e) < 0)
		return berr_ctx(e, "%s", v->vops->name);
	for (uint16_t i = 0; i < v->vops->num_queues; i++) {
		v->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->kick_fd[i] < 0)
			return berr_sys(e, "%s: eventfd", v->vops->name);
	}
	v->dev.base = base;
	v->dev.len = VIRTIO_MMIO_SIZE;
	v->dev.is_pio = false;
	v->dev.gsi = gsi;
	v->dev.irqfd = -1;
	v->dev.machine = m;
	if (vm_add_device(m, &v->dev, e) < 0) {
		v->dev.machine = NULL;
		return berr_ctx(e, "%s", v->vops->name);
	}
	/* From here the core owns v. Without a working watch the MMIO exit
	 * path handles QueueNotify itself; only a watched eventfd is bound. */
	for (uint16_t i = 0; i < v->vops->num_queues; i++) {
		berr e2 = {0};
		if (vm_watch_fd(m, v->kick_fd[i], EPOLLIN, on_kick, v, &e2) < 0)
			continue;
		v->kick_watched[i] = true;
		if (vm_ioeventfd(m, base + VIRTIO_MMIO_QUEUE_NOTIFY, i, v->kick_fd[i], &e2) < 0)
			continue; /* fall back to the MMIO exit, which writes the eventfd */
	}
	return 0;
}
