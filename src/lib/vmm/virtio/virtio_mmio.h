/* The virtio-mmio transport (virtio 1.2, 4.2, register layout version 2),
 * shared by the virtio devices. A device embeds virtio_dev at the start of
 * its state, fills vops, features and config, and calls virtio_dev_register.
 *
 * Locking: one mutex per device. Register accesses (vCPU threads) and the
 * queue callbacks (event loop thread) run with it held; a device's own
 * event-loop callbacks (tap, console input) take it with virtio_dev_lock. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/device.h"
#include "vmm/virtio/virtqueue.h"

#define VIRTIO_MMIO_SIZE   0x200
#define VIRTIO_MAX_QUEUES  2
#define VIRTIO_CONFIG_SIZE 64

/* Registers (4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x48545242 /* "BRTH" */

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1
#define VIRTIO_STATUS_DRIVER		 2
#define VIRTIO_STATUS_DRIVER_OK		 4
#define VIRTIO_STATUS_FEATURES_OK	 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED		 128

/* InterruptStatus bits. */
#define VIRTIO_INT_USED	  1
#define VIRTIO_INT_CONFIG 2

/* Reserved feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4

#define BIT64(n) (1ull << (n))

typedef struct virtio_dev virtio_dev;

typedef struct virtio_dev_ops {
	const char *name; /* "virtio-blk": prefixes every guest error */
	uint32_t device_id;
	uint16_t num_queues;
	/* Queue qi was kicked (or the driver just became ready with qi set up).
	 * Lock held, event loop thread (or the vCPU thread without ioeventfd). */
	void (*queue_notify)(virtio_dev *v, uint16_t qi);
	/* The driver reset the device (Status 0). Optional. Lock held. */
	void (*reset)(virtio_dev *v);
	/* Release the device's own resources (not v). Optional. */
	void (*destroy)(virtio_dev *v);
} virtio_dev_ops;

struct virtio_dev {
	vm_device dev; /* first: the core holds &dev and hands it back */
	const virtio_dev_ops *vops;
	pthread_mutex_t lock;

	uint64_t device_features; /* offered; the transport adds VERSION_1 etc. */
	uint64_t driver_features; /* accepted by the driver */
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t status;
	uint32_t isr;
	uint32_t config_generation;
	uint8_t config[VIRTIO_CONFIG_SIZE];
	uint32_t config_len;

	vq queues[VIRTIO_MAX_QUEUES];
	int kick_fd[VIRTIO_MAX_QUEUES]; /* eventfd per queue, -1 if none */
	bool kick_watched[VIRTIO_MAX_QUEUES];
	vq_chain chain; /* scratch for popping chains (big: keep it off the stack) */
};

/* Initialise the transport part of v (before filling config/features). */
void virtio_dev_init(virtio_dev *v, const virtio_dev_ops *ops);

/* Allocate a slot, register with the core, bind queue notifications. On -1
 * the caller still owns v if v->dev.machine is NULL afterwards (registration
 * failed: release it with virtio_dev_free); otherwise the core owns it. */
int virtio_dev_register(virtio_dev *v, vm *m, berr *e);

/* vops->destroy, close the transport's fds, free v (the device state that
 * embeds it). What the core's teardown calls through vm_device_ops. */
void virtio_dev_free(virtio_dev *v);

void virtio_dev_lock(virtio_dev *v);
void virtio_dev_unlock(virtio_dev *v);

/* Is the driver done with setup and the device not stopped by an error? */
bool virtio_dev_running(const virtio_dev *v);

static inline const vm_mem *virtio_dev_mem(const virtio_dev *v)
{
	return vm_memory(v->dev.machine);
}

/* The guest misbehaved on queue qi (-1: not queue specific): report it with
 * vm_guest_error, set DEVICE_NEEDS_RESET, stop processing, and tell the
 * driver with a config-change interrupt. Lock held. */
void virtio_dev_fail(virtio_dev *v, int qi, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* After pushing used buffers on qi: interrupt the driver unless it asked not
 * to be. Lock held. */
void virtio_dev_signal_used(virtio_dev *v, uint16_t qi);

/* Ask for qi to be processed again later on the event loop (used to bound
 * the work done per callback). */
void virtio_dev_requeue(virtio_dev *v, uint16_t qi);

/* Typical request/response processing: pop chains from qi (at most the
 * queue size per call, then requeue), hand each to fn, push with the byte
 * count fn returns, interrupt once at the end. fn returns -1 with e set when
 * the guest broke the protocol; the queue then stops (virtio_dev_fail). */
typedef int64_t (*virtio_req_fn)(virtio_dev *v, vq_chain *c, berr *e);
void virtio_dev_process(virtio_dev *v, uint16_t qi, virtio_req_fn fn);

/* The vm_device_ops every virtio device uses (exposed for unit tests). */
extern const vm_device_ops virtio_mmio_ops;
