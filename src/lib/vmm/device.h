/* The contract between the VMM core (KVM, memory, boot, vCPUs, event loop)
 * and its devices. The core never knows a device by name: a device fills a
 * vm_device with its ops and registers an MMIO or port range; the core routes
 * exits to it. Interrupts go through irqfd (vm_irq_raise), queue
 * notifications through ioeventfd + the event loop.
 *
 * Guest memory is reached only through vm_mem_ptr(), which bounds-checks
 * every (address, length) the guest hands us. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* ---- guest memory ---------------------------------------------------- */

typedef struct vm_mem {
	uint8_t *host; /* mmap of guest RAM, PROT_READ|PROT_WRITE, never PROT_EXEC */
	uint64_t size; /* bytes; guest physical [0, size) is RAM */
} vm_mem;

/* Host pointer for guest-physical [gpa, gpa+len), or NULL if any byte of it
 * lies outside guest RAM (overflow-safe). len 0 is valid at gpa <= size. */
static inline void *vm_mem_ptr(const vm_mem *m, uint64_t gpa, uint64_t len)
{
	if (gpa > m->size || len > m->size - gpa)
		return (void *)0;
	return m->host + gpa;
}

/* ---- devices --------------------------------------------------------- */

typedef struct vm vm;               /* the VMM core's machine (opaque to devices) */
typedef struct vm_device vm_device; /* embedded at the start of each device's state */

typedef struct vm_device_ops {
	const char *name;
	/* Guest access to [base, base+len) of the device's range; off is
	 * relative to base; size is 1, 2, 4 or 8. Reads fill data. */
	void (*read)(vm_device *d, uint64_t off, uint8_t *data, uint32_t size);
	void (*write)(vm_device *d, uint64_t off, const uint8_t *data, uint32_t size);
	void (*destroy)(vm_device *d);
} vm_device_ops;

struct vm_device {
	const vm_device_ops *ops;
	vm *machine;
	uint64_t base, len;
	bool is_pio; /* port I/O instead of MMIO */
	uint32_t gsi; /* interrupt line (IOAPIC pin) if the device has one */
	int irqfd;    /* eventfd bound with KVM_IRQFD to gsi, -1 if none */
};

/* Registered by the device's init; the core owns d afterwards and calls
 * ops->destroy at teardown. Overlapping ranges are an error. */
int vm_add_device(vm *machine, vm_device *d, berr *e);

/* Assert the device's interrupt (edge) through its irqfd. */
void vm_irq_raise(vm_device *d);

/* Guest memory of the machine. */
const vm_mem *vm_memory(vm *machine);

/* Allocate the next free virtio-mmio window (base address, 0x200 bytes) and
 * interrupt line, and record "virtio_mmio.device=512@0xBASE:GSI" for the
 * kernel command line. */
int vm_alloc_mmio_slot(vm *machine, uint64_t *base, uint32_t *gsi, berr *e);

/* ---- event loop ------------------------------------------------------ */

typedef void (*vm_event_fn)(void *opaque, uint32_t events);

/* Watch fd (EPOLLIN unless events says otherwise) on the VMM's event loop
 * thread; fn runs on that thread. */
int vm_watch_fd(vm *machine, int fd, uint32_t events, vm_event_fn fn, void *opaque, berr *e);
int vm_unwatch_fd(vm *machine, int fd);

/* Bind an eventfd to a guest MMIO write of `datamatch` (4 bytes) at addr via
 * KVM_IOEVENTFD, so the vCPU does not exit to user space for it. */
int vm_ioeventfd(vm *machine, uint64_t addr, uint32_t datamatch, int efd, berr *e);

/* Stop the machine from a device (e.g. i8042 reset, exit port): the run
 * ends with `status`, and `why` is recorded for the front end. */
void vm_request_stop(vm *machine, int status, const char *why);

/* A device reports guest misbehaviour (bad descriptor, out-of-range
 * address): recorded, rate-limited, shown by the front end; the device
 * then stops processing the offending queue (sets DEVICE_NEEDS_RESET). */
void vm_guest_error(vm *machine, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
