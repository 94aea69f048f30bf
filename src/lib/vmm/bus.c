/* Port I/O and MMIO routing: each exit goes to the device whose range holds
 * it; accesses outside every range read as all-ones and are dropped. Also
 * device registration, interrupts and the guest-error record. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/xalloc.h"
#include "vmm/machine.h"

#define UNHANDLED_LOG_MAX   64 /* debug log lines about unhandled accesses */
#define GUEST_ERROR_LOG_MAX 32

void vm_log(vm *m, const char *fmt, ...)
{
	if (!m->cfg.log)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m->cfg.log(m->cfg.log_opaque, buf);
}

void vm_guest_error(vm *machine, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	unsigned n = atomic_fetch_add(&machine->guest_errors, 1);
	if (n == 0) {
		pthread_mutex_lock(&machine->lock);
		snprintf(machine->exit.first_guest_error, sizeof(machine->exit.first_guest_error),
			 "%s", buf);
		pthread_mutex_unlock(&machine->lock);
	}
	if (n < GUEST_ERROR_LOG_MAX)
		vm_log(machine, "guest error: %s", buf);
	else if (n == GUEST_ERROR_LOG_MAX)
		vm_log(machine, "guest error: (further guest errors not logged)");
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vm_add_device(vm *machine, vm_device *d, berr *e)
{
	if (machine->ran)
		return berr_set(e, 0, "%s: devices must be added before the VM runs", d->ops->name);
	if (machine->ndevs >= VMM_MAX_DEVICES)
		return berr_set(e, 0, "%s: too many devices", d->ops->name);
	if (d->len == 0 || d->base + d->len < d->base || (d->is_pio && d->base + d->len > 0x10000))
		return berr_set(e, 0, "%s: bad range %#llx+%#llx", d->ops->name,
				(unsigned long long)d->base, (unsigned long long)d->len);
	for (size_t i = 0; i < machine->ndevs; i++) {
		vm_device *o = machine->devs[i];
		if (o->is_pio == d->is_pio && overlaps(o->base, o->len, d->base, d->len))
			return berr_set(e, 0, "%s: range %#llx+%#llx overlaps %s", d->ops->name,
					(unsigned long long)d->base, (unsigned long long)d->len,
					o->ops->name);
	}
	d->machine = machine;
	d->irqfd = -1;
	if (d->gsi) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return berr_sys(e, "%s: eventfd", d->ops->name);
		struct kvm_irqfd irq = {.fd = (uint32_t)fd, .gsi = d->gsi};
		if (ioctl(machine->vm_fd, KVM_IRQFD, &irq) < 0) {
			int err = errno;
			close(fd);
			return berr_errno(e, err, "%s: KVM_IRQFD gsi %u", d->ops->name, d->gsi);
		}
		d->irqfd = fd;
	}
	machine->devs[machine->ndevs++] = d;
	return 0;
}

void vm_irq_raise(vm_device *d)
{
	uint64_t one = 1;
	if (d->irqfd >= 0 && write(d->irqfd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, an interrupt is pending anyway */
	}
}

int vm_alloc_mmio_slot(vm *machine, uint64_t *base, uint32_t *gsi, berr *e)
{
	/* one IOAPIC pin each: GSI 5..23 */
	if (machine->next_mmio_slot >= MMIO_SLOTS || GSI_FIRST_MMIO + machine->next_mmio_slot >= 24)
		return berr_set(e, 0, "no free virtio-mmio slot (%u in use)",
				machine->next_mmio_slot);
	unsigned i = machine->next_mmio_slot++;
	*base = GPA_MMIO_BASE + i * MMIO_SLOT_SIZE;
	*gsi = GSI_FIRST_MMIO + i;
	char *old = machine->extra_cmdline;
	machine->extra_cmdline =
	    xasprintf("%s%svirtio_mmio.device=%llu@%#llx:%u", old ? old : "", old ? " " : "",
		      (unsigned long long)MMIO_SLOT_LEN, (unsigned long long)*base, *gsi);
	free(old);
	return 0;
}

static vm_device *bus_find(vm *m, bool pio, uint64_t addr, uint32_t size, uint64_t *off)
{
	for (size_t i = 0; i < m->ndevs; i++) {
		vm_device *d = m->devs[i];
		if (d->is_pio != pio || addr < d->base || addr - d->base >= d->len)
			continue;
		*off = addr - d->base;
		if (size > d->len - *off)
			return NULL; /* straddles the end of the range */
		return d;
	}
	return NULL;
}

static void unhandled(vm *m, const char *kind, bool write, uint64_t addr, uint32_t size)
{
	if (!m->cfg.debug)
		return;
	if (atomic_fetch_add(&m->unhandled_logged, 1) < UNHANDLED_LOG_MAX)
		vm_log(m, "unhandled %s %s at %#llx (size %u)", kind, write ? "write" : "read",
		       (unsigned long long)addr, size);
}

void bus_pio(vm *m, struct kvm_run *run, size_t run_size)
{
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;
	if ((size != 1 && size != 2 && size != 4) || off > run_size ||
	    (uint64_t)size * count > run_size - off)
		return;
	uint8_t *data = (uint8_t *)run + off;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	uint64_t doff;
	vm_device *d = bus_find(m, true, run->io.port, size, &doff);
	if (!d) {
		if (!write)
			memset(data, 0xff, (size_t)size * count);
		unhandled(m, "port", write, run->io.port, size);
		return;
	}
	for (uint32_t i = 0; i < count; i++, data += size) {
		if (write)
			d->ops->write(d, doff, data, size);
		else
			d->ops->read(d, doff, data, size);
	}
}

void bus_mmio(vm *m, struct kvm_run *run)
{
	uint32_t size = run->mmio.len;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return;
	uint64_t off;
	vm_device *d = bus_find(m, false, run->mmio.phys_addr, size, &off);
	if (!d) {
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, size);
		unhandled(m, "MMIO", run->mmio.is_write, run->mmio.phys_addr, size);
		return;
	}
	if (run->mmio.is_write)
		d->ops->write(d, off, run->mmio.data, size);
	else
		d->ops->read(d, off, run->mmio.data, size);
}

int vm_ioeventfd(vm *machine, uint64_t addr, uint32_t datamatch, int efd, berr *e)
{
	struct kvm_ioeventfd io = {
	    .datamatch = datamatch,
	    .addr = addr,
	    .len = 4,
	    .fd = efd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(machine->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return berr_sys(e, "KVM_IOEVENTFD at %#llx", (unsigned long long)addr);
	return 0;
}
