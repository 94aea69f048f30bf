/* A guest driving virtio-blk through the virtio-mmio registers: the
 * transport's register state machine (status, features, queue setup) and the
 * block request parsing (header, sectors, data, discard ranges, status byte)
 * over a 64 KiB disk. The input is a list of 5-byte register writes (offset/4,
 * value; offset 0x50 QueueNotify also runs the device) up to a 0xff byte,
 * then guest RAM from address 0 (64 KiB, an exact-size heap block, so ASan
 * sees any access beyond it). This file is the VMM core's side of
 * vmm/device.h, as tests/unit/test_virtio_mmio.c fakes it: no KVM. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "vmm/virtio/virtio.h"
#include "vmm/virtio/virtio_mmio.h"

#define MEM_SIZE  (64u << 10)
#define DISK_SIZE (64u << 10)
#define MAX_OPS	  256

struct watch {
	int fd;
	vm_event_fn fn;
	void *opaque;
};

struct vm {
	vm_mem mem;
	vm_device *dev;
	struct watch w[8];
	int nw;
};

int vm_alloc_mmio_slot(vm *m, uint64_t *base, uint32_t *gsi, berr *e)
{
	(void)m, (void)e;
	*base = 0xd0000000ull;
	*gsi = 5;
	return 0;
}

int vm_add_device(vm *m, vm_device *d, berr *e)
{
	if (m->dev)
		return berr_set(e, 0, "one device only");
	m->dev = d;
	return 0;
}

void vm_irq_raise(vm_device *d)
{
	(void)d;
}

const vm_mem *vm_memory(vm *m)
{
	return &m->mem;
}

int vm_watch_fd(vm *m, int fd, uint32_t events, vm_event_fn fn, void *opaque, berr *e)
{
	(void)events;
	if (m->nw == (int)(sizeof(m->w) / sizeof(m->w[0])))
		return berr_set(e, 0, "too many watches");
	m->w[m->nw++] = (struct watch){fd, fn, opaque};
	return 0;
}

int vm_unwatch_fd(vm *m, int fd)
{
	for (int i = 0; i < m->nw; i++)
		if (m->w[i].fd == fd)
			m->w[i] = m->w[--m->nw];
	return 0;
}

int vm_ioeventfd(vm *m, uint64_t addr, uint32_t datamatch, int efd, berr *e)
{
	(void)m, (void)addr, (void)datamatch, (void)efd;
	return berr_set(e, ENOSYS, "no KVM here"); /* the MMIO fallback */
}

void vm_request_stop(vm *m, int status, const char *why)
{
	(void)m, (void)status, (void)why;
}

void vm_guest_error(vm *m, const char *fmt, ...)
{
	(void)m;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap); /* formats must hold for any guest */
	va_end(ap);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "guest error: %s\n", buf);
}

/* Run the ready event-loop callbacks (bounded). */
static void pump(vm *m)
{
	for (int round = 0; round < 16; round++) {
		bool any = false;
		for (int i = 0; i < m->nw; i++) {
			struct pollfd p = {m->w[i].fd, POLLIN, 0};
			if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
				m->w[i].fn(m->w[i].opaque, POLLIN);
				any = true;
			}
		}
		if (!any)
			return;
	}
}

static char disk_path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(disk_path, sizeof(disk_path), "%s/disk.img", fuzz_scratch("virtio-blk"));
	int fd = open(disk_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0 || close(fd) < 0)
		fuzz_die("create disk.img", NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vm m = {.mem = {.size = MEM_SIZE}};
	size_t nops = 0;
	while (nops < MAX_OPS && nops * 5 < size && data[nops * 5] != 0xff)
		nops++;
	size_t mem_off = nops * 5 + (nops * 5 < size); /* past the 0xff */
	if (mem_off > size)
		mem_off = size;
	m.mem.host = xzalloc(MEM_SIZE);
	size_t n = size - mem_off < MEM_SIZE ? size - mem_off : MEM_SIZE;
	memcpy(m.mem.host, data + mem_off, n);

	berr e = {0};
	if (virtio_blk_create(&m, disk_path, false, &e) < 0)
		fuzz_die("virtio_blk_create", &e);
	vm_device *d = m.dev;
	for (size_t i = 0; i < nops && (i + 1) * 5 <= size; i++) {
		const uint8_t *op = data + i * 5;
		uint32_t off = (uint32_t)op[0] * 4 % VIRTIO_MMIO_SIZE, val;
		memcpy(&val, op + 1, 4);
		if (op[0] & 0x80) { /* reads too: config space, status, queue regs */
			uint8_t out[8];
			d->ops->read(d, off & ~3u, out, 4);
			static const uint32_t sizes[] = {1, 2, 4, 8};
			d->ops->read(d, VIRTIO_MMIO_CONFIG + (val % 64), out, sizes[val >> 30]);
			continue;
		}
		d->ops->write(d, off, (const uint8_t *)&val, 4);
		if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
			pump(&m);
	}
	pump(&m);
	if (getenv("FUZZ_DEBUG")) /* the seeds' used ring is at 0x200 */
		fprintf(stderr, "used idx at 0x202: %u, status byte at 0x600: %u\n",
			m.mem.host[0x202] | m.mem.host[0x203] << 8, m.mem.host[0x600]);
	d->ops->destroy(d);
	free(m.mem.host);
	return 0;
}
