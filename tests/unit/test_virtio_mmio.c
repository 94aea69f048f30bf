/* The virtio-mmio transport and the devices driven without KVM: this file
 * provides the core's side of vmm/device.h (a fake machine with malloc'ed
 * memory, an event loop pumped by hand) and plays the guest driver through
 * the device's MMIO read/write callbacks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util/cleanup.h"
#include "vmm/virtio/virtio.h"
#include "vmm/virtio/virtio_mmio.h"

/* ---- the fake core ---------------------------------------------------- */

struct watch {
	int fd;
	vm_event_fn fn;
	void *opaque;
};

struct vm {
	vm_mem mem;
	vm_device *devs[8];
	int ndev;
	struct watch w[16];
	int nw;
	int irqs;
	char errors[16384];
};

int vm_alloc_mmio_slot(vm *m, uint64_t *base, uint32_t *gsi, berr *e)
{
	(void)e;
	*base = 0xd0000000ull + 0x200ull * (uint64_t)m->ndev;
	*gsi = 5 + (uint32_t)m->ndev;
	return 0;
}

int vm_add_device(vm *m, vm_device *d, berr *e)
{
	if (m->ndev == 8)
		return berr_set(e, 0, "too many devices");
	m->devs[m->ndev++] = d;
	return 0;
}

void vm_irq_raise(vm_device *d)
{
	d->machine->irqs++;
}

const vm_mem *vm_memory(vm *m)
{
	return &m->mem;
}

int vm_watch_fd(vm *m, int fd, uint32_t events, vm_event_fn fn, void *opaque, berr *e)
{
	(void)events;
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode))
		return berr_set(e, EPERM, "epoll refuses fd %d", fd);
	m->w[m->nw++] = (struct watch){fd, fn, opaque};
	return 0;
}

int vm_unwatch_fd(vm *m, int fd)
{
	(void)m;
	(void)fd;
	return 0;
}

int vm_ioeventfd(vm *m, uint64_t addr, uint32_t datamatch, int efd, berr *e)
{
	(void)m, (void)addr, (void)datamatch, (void)efd;
	return berr_set(e, ENOSYS, "no KVM here"); /* exercises the MMIO fallback */
}

void vm_request_stop(vm *m, int status, const char *why)
{
	(void)m, (void)status, (void)why;
}

void vm_guest_error(vm *m, const char *fmt, ...)
{
	size_t n = strlen(m->errors);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->errors + n, sizeof(m->errors) - n, fmt, ap);
	va_end(ap);
	n = strlen(m->errors);
	if (n + 1 < sizeof(m->errors))
		strcpy(m->errors + n, "\n");
}

/* Run ready event-loop callbacks until nothing is ready (bounded). */
static void pump(vm *m)
{
	for (int round = 0; round < 100; round++) {
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

#define MEM_SIZE (4u << 20)

static vm *vm_new(void)
{
	vm *m = calloc(1, sizeof(*m));
	m->mem.host = aligned_alloc(4096, MEM_SIZE);
	memset(m->mem.host, 0, MEM_SIZE);
	m->mem.size = MEM_SIZE;
	return m;
}

static void vm_free(vm *m)
{
	for (int i = 0; i < m->ndev; i++)
		m->devs[i]->ops->destroy(m->devs[i]);
	free(m->mem.host);
	free(m);
}

/* ---- the guest driver ------------------------------------------------- */

#define QSIZE	 8
#define DESC(q)	 (0x1000u + 0x4000u * (q))
#define AVAIL(q) (DESC(q) + 0x1000u)
#define USED(q)	 (DESC(q) + 0x2000u)
#define BUF	 0x40000u

static uint32_t rd(vm_device *d, uint32_t off)
{
	uint32_t v;
	d->ops->read(d, off, (uint8_t *)&v, 4);
	return v;
}

static void wr(vm_device *d, uint32_t off, uint32_t v)
{
	d->ops->write(d, off, (const uint8_t *)&v, 4);
}

static uint16_t g16(vm *m, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, m->mem.host + gpa, 2);
	return v;
}

static void p16(vm *m, uint64_t gpa, uint16_t v)
{
	memcpy(m->mem.host + gpa, &v, 2);
}

static void setup_queue(vm_device *d, uint32_t q)
{
	wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(q));
	wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL(q));
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED(q));
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Reset, negotiate VERSION_1 (plus extra), set up nq queues, DRIVER_OK. */
static int bring_up(vm_device *d, uint64_t extra, int nq)
{
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t feat = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat |= (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	uint64_t want = (BIT64(VIRTIO_F_VERSION_1) | extra) & feat;
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	wr(d, VIRTIO_MMIO_STATUS, 1 | 2 | VIRTIO_STATUS_FEATURES_OK);
	if (!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return -1;
	for (int q = 0; q < nq; q++)
		setup_queue(d, (uint32_t)q);
	wr(d, VIRTIO_MMIO_STATUS, 1 | 2 | 8 | VIRTIO_STATUS_DRIVER_OK);
	return 0;
}

struct seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

/* Post one chain on queue q (descriptors from 0), kick, run the loop.
 * Returns the used length, or -1 if the device did not return it. */
static int64_t submit(vm *m, vm_device *d, uint32_t q, const struct seg *s, int n)
{
	for (int i = 0; i < n; i++) {
		vq_desc desc = {s[i].addr, s[i].len, s[i].flags, (uint16_t)(i + 1)};
		if (i + 1 < n)
			desc.flags |= VIRTQ_DESC_F_NEXT;
		memcpy(m->mem.host + DESC(q) + 16u * (uint32_t)i, &desc, 16);
	}
	uint16_t idx = g16(m, AVAIL(q) + 2), used = g16(m, USED(q) + 2);
	p16(m, AVAIL(q) + 4 + 2u * (idx % QSIZE), 0);
	p16(m, AVAIL(q) + 2, (uint16_t)(idx + 1));
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	pump(m);
	if (g16(m, USED(q) + 2) != (uint16_t)(used + 1))
		return -1;
	uint32_t len;
	memcpy(&len, m->mem.host + USED(q) + 4 + 8u * (used % QSIZE) + 4, 4);
	return len;
}

static char tmpl[] = "/tmp/test_virtio_mmio.XXXXXX";

static char *disk(size_t size)
{
	char *p = strdup(tmpl);
	int fd = mkstemp(p);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	close(fd);
	return p;
}

/* ---- tests ------------------------------------------------------------ */

static void test_registers(void)
{
	vm *m = vm_new();
	berr e;
	CHECK(virtio_rng_create(m, &e) == 0);
	vm_device *d = m->devs[0];
	CHECK(d->base == 0xd0000000 && d->len == 0x200 && d->gsi == 5);
	CHECK(rd(d, VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
	CHECK(rd(d, VIRTIO_MMIO_VERSION) == 2);
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_RNG);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & 1); /* VERSION_1 */
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) == VQ_MAX_SIZE);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
	CHECK(bring_up(d, 0, 1) == 0);
	CHECK(rd(d, VIRTIO_MMIO_STATUS) == 15);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_READY) == 1);
	CHECK(m->errors[0] == '\0');
	wr(d, VIRTIO_MMIO_STATUS, 0);
	CHECK(rd(d, VIRTIO_MMIO_STATUS) == 0);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_READY) == 0);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 0); /* Linux's teardown after a reset: fine */
	CHECK(m->errors[0] == '\0');
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	vm_free(m);
}

static void test_status_order(void)
{
	vm *m = vm_new();
	berr e;
	CHECK(virtio_rng_create(m, &e) == 0);
	vm_device *d = m->devs[0];
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, VIRTIO_MMIO_STATUS, 1 | 2 | VIRTIO_STATUS_DRIVER_OK);
	CHECK_CONTAINS(m->errors, "DRIVER_OK set without FEATURES_OK");
	CHECK(rd(d, VIRTIO_MMIO_STATUS) == 3);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_CONTAINS(m->errors, "virtio-rng: QueueReady written before FEATURES_OK");
	CHECK(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_READY) == 0);

	/* FEATURES_OK without VERSION_1, then with a feature never offered */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, 1);
	wr(d, VIRTIO_MMIO_STATUS, 3);
	wr(d, VIRTIO_MMIO_STATUS, 3 | 8);
	CHECK_CONTAINS(m->errors, "did not accept VIRTIO_F_VERSION_1");
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & 8));
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1 | 4); /* VERSION_1 | RING_PACKED */
	wr(d, VIRTIO_MMIO_STATUS, 3 | 8);
	CHECK_CONTAINS(m->errors, "features 0x400000000 that were not offered");
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & 8));

	/* bad queue sizes are reported and leave the queue unusable */
	CHECK(bring_up(d, 0, 0) == 0);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 100);
	CHECK_CONTAINS(m->errors, "queue size 100 is not a power of two");
	wr(d, VIRTIO_MMIO_STATUS, 0);
	CHECK(bring_up(d, 0, 0) == 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 1024);
	CHECK_CONTAINS(m->errors, "queue size 1024 exceeds QueueNumMax 256");
	CHECK(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

	/* rings outside memory refused at QueueReady */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	CHECK(bring_up(d, 0, 0) == 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1); /* 4 GiB, past our 1 MiB */
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_CONTAINS(m->errors, "QueueReady refused: descriptor table 0x100000000");
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_READY) == 0);
	vm_free(m);
}

static void test_rng(void)
{
	vm *m = vm_new();
	berr e;
	CHECK(virtio_rng_create(m, &e) == 0);
	vm_device *d = m->devs[0];
	CHECK(bring_up(d, 0, 1) == 0);
	struct seg s[] = {{BUF, 32, VIRTQ_DESC_F_WRITE}, {BUF + 100, 32, VIRTQ_DESC_F_WRITE}};
	int irqs = m->irqs;
	CHECK(submit(m, d, 0, s, 2) == 64);
	CHECK(m->irqs == irqs + 1);
	CHECK(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_USED);
	wr(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	CHECK(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	static const uint8_t zero[32];
	CHECK(memcmp(m->mem.host + BUF, zero, 32) && memcmp(m->mem.host + BUF + 100, zero, 32));
	vm_free(m);
}

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static int64_t blk_rw(vm *m, vm_device *d, uint32_t type, uint64_t sector, uint32_t len,
		      uint8_t *status)
{
	struct blk_req h = {type, 0, sector};
	memcpy(m->mem.host + BUF, &h, sizeof(h));
	m->mem.host[BUF + 0x8000] = 0xff;
	bool in = type == 0 || type == 8;
	struct seg s[3] = {{BUF, 16, 0}};
	int n = 1;
	if (len)
		s[n++] = (struct seg){BUF + 0x1000, len, in ? VIRTQ_DESC_F_WRITE : 0};
	s[n++] = (struct seg){BUF + 0x8000, 1, VIRTQ_DESC_F_WRITE};
	int64_t r = submit(m, d, 0, s, n);
	*status = m->mem.host[BUF + 0x8000];
	return r;
}

static void test_blk(void)
{
	vm *m = vm_new();
	berr e;
	_cleanup_free_ char *path = disk(64 * 512 + 100); /* partial sector ignored */
	CHECK(virtio_blk_create(m, path, false, &e) == 0);
	vm_device *d = m->devs[0];
	uint64_t cap;
	d->ops->read(d, VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8);
	CHECK(cap == 64);
	CHECK(bring_up(d, 0, 1) == 0);
	uint8_t st;
	for (int i = 0; i < 1024; i++)
		m->mem.host[BUF + 0x1000 + i] = (uint8_t)(i * 7 + 1);
	CHECK(blk_rw(m, d, 1 /* OUT */, 3, 1024, &st) == 1 && st == 0);
	CHECK(blk_rw(m, d, 4 /* FLUSH */, 0, 0, &st) == 1 && st == 0);
	int fd = open(path, O_RDONLY);
	uint8_t buf[1024];
	CHECK(pread(fd, buf, sizeof(buf), 3 * 512) == 1024);
	close(fd);
	for (int i = 0; i < 1024; i++)
		CHECK(buf[i] == (uint8_t)(i * 7 + 1));
	memset(m->mem.host + BUF + 0x1000, 0, 1024);
	CHECK(blk_rw(m, d, 0 /* IN */, 3, 1024, &st) == 1025 && st == 0);
	CHECK(memcmp(m->mem.host + BUF + 0x1000, buf, 1024) == 0);
	/* past the end, partial sectors, unknown type: errors, not crashes */
	CHECK(blk_rw(m, d, 0, 63, 1024, &st) == 1025 && st == 1);
	CHECK(blk_rw(m, d, 1, UINT64_MAX, 512, &st) == 1 && st == 1);
	CHECK(blk_rw(m, d, 0, 0, 100, &st) == 101 && st == 1);
	CHECK(blk_rw(m, d, 99, 0, 0, &st) == 1 && st == 2);
	CHECK(blk_rw(m, d, 8 /* GET_ID */, 0, 20, &st) == 21 && st == 0);
	CHECK(memcmp(m->mem.host + BUF + 0x1000, "berth", 5) == 0);
	/* discard sectors 3..4 reads back as zeroes */
	struct {
		uint64_t sector;
		uint32_t num, flags;
	} range = {3, 2, 0};
	memcpy(m->mem.host + BUF + 0x1000, &range, 16);
	CHECK(blk_rw(m, d, 11 /* DISCARD */, 0, 16, &st) == 1 && st == 0);
	CHECK(blk_rw(m, d, 0, 3, 512, &st) == 513 && st == 0);
	static const uint8_t zero[512];
	CHECK(memcmp(m->mem.host + BUF + 0x1000, zero, 512) == 0);
	/* a read larger than size_max * seg_max (16 MiB) is refused */
	struct blk_req big_hdr = {0, 0, 0};
	memcpy(m->mem.host + BUF, &big_hdr, sizeof(big_hdr));
	struct seg big[8] = {{BUF, 16, 0}};
	for (int i = 1; i < 7; i++)
		big[i] = (struct seg){0, MEM_SIZE, VIRTQ_DESC_F_WRITE};
	big[7] = (struct seg){BUF + 0x8000, 1, VIRTQ_DESC_F_WRITE};
	CHECK(submit(m, d, 0, big, 8) == 1 && m->mem.host[BUF + 0x8000] == 1);
	CHECK_CONTAINS(m->errors, "virtio-blk: request of 25165824 bytes exceeds size_max");
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	/* a header without a status byte is a protocol error */
	struct seg bad[] = {{BUF, 16, 0}};
	CHECK(submit(m, d, 0, bad, 1) == -1);
	CHECK_CONTAINS(m->errors,
		       "virtio-blk: queue 0: request (type 0) without a writable status");
	CHECK(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	/* reset and it works again */
	memset(m->mem.host, 0, 0x10000);
	CHECK(bring_up(d, 0, 1) == 0);
	CHECK(blk_rw(m, d, 4, 0, 0, &st) == 1 && st == 0);
	vm_free(m);
	unlink(path);
}

static void test_blk_ro(void)
{
	vm *m = vm_new();
	berr e;
	_cleanup_free_ char *path = disk(8 * 512);
	CHECK(virtio_blk_create(m, path, true, &e) == 0);
	vm_device *d = m->devs[0];
	CHECK(bring_up(d, 0, 1) == 0);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << 5)); /* VIRTIO_BLK_F_RO */
	memset(m->mem.host + BUF + 0x1000, 0xaa, 512);
	uint8_t st;
	CHECK(blk_rw(m, d, 1, 0, 512, &st) == 1 && st == 1);
	CHECK_CONTAINS(m->errors, "virtio-blk: write to a read-only disk (sector 0)");
	int fd = open(path, O_RDONLY);
	uint8_t b = 1;
	CHECK(pread(fd, &b, 1, 0) == 1 && b == 0);
	close(fd);
	CHECK(blk_rw(m, d, 0, 0, 512, &st) == 513 && st == 0);
	vm_free(m);
	unlink(path);
	/* an image is locked: one writer or many readers */
	m = vm_new();
	free(path);
	path = disk(8 * 512);
	CHECK(virtio_blk_create(m, path, true, &e) == 0);
	CHECK(virtio_blk_create(m, path, true, &e) == 0);
	CHECK(virtio_blk_create(m, path, false, &e) < 0);
	CHECK_CONTAINS(e.msg, "in use by another VM");
	CHECK(m->ndev == 2);
	vm_free(m);
	m = vm_new();
	CHECK(virtio_blk_create(m, path, false, &e) == 0);
	CHECK(virtio_blk_create(m, path, true, &e) < 0);
	CHECK_CONTAINS(e.msg, "in use by another VM (opened for writing)");
	vm_free(m);
	unlink(path);
	CHECK(virtio_blk_create(m = vm_new(), "/nonexistent/disk.img", false, &e) < 0);
	CHECK_CONTAINS(e.msg, "open /nonexistent/disk.img");
	CHECK(m->ndev == 0);
	vm_free(m);
}

static void test_console(void)
{
	vm *m = vm_new();
	berr e;
	int in[2], out[2];
	CHECK(pipe(in) == 0 && pipe(out) == 0);
	CHECK(virtio_console_create(m, in[0], out[1], &e) == 0);
	vm_device *d = m->devs[0];
	CHECK(rd(d, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_CONSOLE);
	CHECK(bring_up(d, 0, 2) == 0);
	memcpy(m->mem.host + BUF, "hello ", 6);
	memcpy(m->mem.host + BUF + 0x100, "console", 7);
	struct seg tx[] = {{BUF, 6, 0}, {BUF + 0x100, 7, 0}};
	CHECK(submit(m, d, 1, tx, 2) == 0);
	char got[32] = {0};
	CHECK(read(out[0], got, sizeof(got)) == 13);
	CHECK_STREQ(got, "hello console");
	/* input: written before the guest posts a buffer, delivered after */
	CHECK(write(in[1], "typed", 5) == 5);
	pump(m);
	struct seg rx[] = {{BUF + 0x200, 3, VIRTQ_DESC_F_WRITE}};
	CHECK(submit(m, d, 0, rx, 1) == 3);
	CHECK(memcmp(m->mem.host + BUF + 0x200, "typ", 3) == 0);
	CHECK(submit(m, d, 0, rx, 1) == 2);
	CHECK(memcmp(m->mem.host + BUF + 0x200, "ed", 2) == 0);
	vm_free(m);
	close(in[0]), close(in[1]), close(out[0]), close(out[1]);
}

/* A chain that loops, submitted through the device: reported, device stops,
 * nothing hangs. */
static void test_hostile_chain(void)
{
	vm *m = vm_new();
	berr e;
	CHECK(virtio_rng_create(m, &e) == 0);
	vm_device *d = m->devs[0];
	CHECK(bring_up(d, 0, 1) == 0);
	vq_desc loop = {BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0};
	memcpy(m->mem.host + DESC(0), &loop, 16);
	p16(m, AVAIL(0) + 4, 0);
	p16(m, AVAIL(0) + 2, 1);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pump(m);
	CHECK_CONTAINS(m->errors, "virtio-rng: queue 0: descriptor chain from head 0 longer than "
				  "queue size 8 (loop?)");
	CHECK(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(g16(m, USED(0) + 2) == 0);
	/* more kicks are ignored until reset */
	size_t len = strlen(m->errors);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pump(m);
	CHECK(strlen(m->errors) == len);
	vm_free(m);
}

/* virtio-net against a real tap in a private network namespace (the
 * namespace, and with it the tap, goes away with this process). */
static void test_net(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		printf("skip test_net: unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return;
	}
	vm *m = vm_new();
	berr e;
	const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	CHECK(virtio_net_create(m, "bvtest0", mac, &e) == 0);
	vm_device *d = m->devs[0];
	uint8_t cfg[8];
	for (int i = 0; i < 8; i++)
		d->ops->read(d, VIRTIO_MMIO_CONFIG + (uint64_t)i, cfg + i, 1);
	CHECK(memcmp(cfg, mac, 6) == 0 && cfg[6] == 1 /* LINK_UP */);
	CHECK(bring_up(d, 0, 2) == 0);

	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88b5));
	CHECK(s >= 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "bvtest0");
	CHECK(ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
	int fd = open("/proc/sys/net/ipv6/conf/bvtest0/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) { /* fewer stray frames; best effort */
		CHECK(write(fd, "1", 1) == 1);
		close(fd);
	}
	ifr.ifr_flags |= IFF_UP;
	CHECK(ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(0x88b5),
				  .sll_ifindex = (int)if_nametoindex("bvtest0")};
	CHECK(bind(s, (struct sockaddr *)&sll, sizeof(sll)) == 0);

	/* tx: a guest header with GSO fields set must not reach the tap */
	uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x11, 0x22, 0x33,
			     0x44, 0x55, 0x88, 0xb5, 'g',  'u',	 'e',  's',  't'};
	uint8_t bad_hdr[12] = {1, 4 /* GSO_TCPV6 */, 54, 0, 0xdc, 0x05};
	memcpy(m->mem.host + BUF, bad_hdr, 12);
	memcpy(m->mem.host + BUF + 0x100, frame, sizeof(frame));
	struct seg tx[] = {{BUF, 12, 0}, {BUF + 0x100, sizeof(frame), 0}};
	CHECK(submit(m, d, 1, tx, 2) == 0);
	uint8_t got[2048];
	struct pollfd p = {s, POLLIN, 0};
	CHECK(poll(&p, 1, 5000) == 1);
	CHECK(recv(s, got, sizeof(got), 0) == (ssize_t)sizeof(frame));
	CHECK(memcmp(got, frame, sizeof(frame)) == 0);

	/* rx: a frame that arrives before any buffer is posted waits. Other
	 * frames (IPv6 chatter of a fresh link) may come first: skip them. */
	uint8_t reply[60] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0,   0,
			     0,	   0,	 1,    0x88, 0xb5, 'h',	 'o',  's', 't'};
	CHECK(send(s, reply, sizeof(reply), 0) == (ssize_t)sizeof(reply));
	usleep(10000);
	pump(m);
	const uint8_t *rxb = m->mem.host + BUF + 0x1000;
	int64_t n = -1;
	for (int i = 0; i < 20; i++) {
		memset(m->mem.host + BUF + 0x1000, 0xee, 2048);
		struct seg rx[] = {{BUF + 0x1000, 1526, VIRTQ_DESC_F_WRITE}};
		n = submit(m, d, 0, rx, 1);
		if (n < 0 || (n >= 26 && rxb[24] == 0x88 && rxb[25] == 0xb5))
			break;
	}
	CHECK(n == 12 + 60);
	static const uint8_t want_hdr[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	CHECK(memcmp(rxb, want_hdr, 12) == 0);
	CHECK(memcmp(rxb + 12, reply, sizeof(reply)) == 0);

	/* rx: a buffer too small for a frame gets it dropped (length 0) */
	struct seg small[] = {{BUF + 0x1000, 40, VIRTQ_DESC_F_WRITE}};
	CHECK(send(s, reply, sizeof(reply), 0) == (ssize_t)sizeof(reply));
	usleep(10000);
	CHECK(submit(m, d, 0, small, 1) == 0);
	CHECK(m->errors[0] == '\0');
	close(s);
	vm_free(m);
}

/* Random register accesses and random guest memory against every device
 * but net: no crash (ASan/UBSan), no hang, and the devices keep answering
 * the identification registers. */
static void test_fuzz_registers(void)
{
	vm *m = vm_new();
	berr e;
	_cleanup_free_ char *path = disk(256 * 512);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK(devnull >= 0);
	CHECK(virtio_rng_create(m, &e) == 0);
	CHECK(virtio_blk_create(m, path, false, &e) == 0);
	CHECK(virtio_console_create(m, -1, devnull, &e) == 0);
	static const uint32_t regs[] = {
	    VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	    VIRTIO_MMIO_DRIVER_FEATURES,
	    VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	    VIRTIO_MMIO_QUEUE_SEL,
	    VIRTIO_MMIO_QUEUE_NUM,
	    VIRTIO_MMIO_QUEUE_READY,
	    VIRTIO_MMIO_QUEUE_NOTIFY,
	    VIRTIO_MMIO_INTERRUPT_ACK,
	    VIRTIO_MMIO_STATUS,
	    VIRTIO_MMIO_QUEUE_DESC_LOW,
	    VIRTIO_MMIO_QUEUE_DESC_HIGH,
	    VIRTIO_MMIO_QUEUE_DRIVER_LOW,
	    VIRTIO_MMIO_QUEUE_DEVICE_LOW,
	    VIRTIO_MMIO_CONFIG,
	};
	srand(4242);
	for (int iter = 0; iter < 20000; iter++) {
		vm_device *d = m->devs[rand() % m->ndev];
		if (rand() % 64 == 0) { /* scribble over the rings and buffers */
			for (int i = 0; i < 256; i++) {
				uint32_t off = (uint32_t)rand() % 0x8000;
				m->mem.host[DESC(rand() % 2) + off % 0x3000] = (uint8_t)rand();
			}
		}
		if (rand() % 8 == 0) { /* a well-behaved setup, then chaos */
			if (bring_up(d, rand() & 1 ? BIT64(VIRTIO_F_INDIRECT_DESC) : 0,
				     (int)(rand() % 3)) < 0)
				continue;
		}
		uint32_t reg = regs[rand() % ARRAY_SIZE(regs)];
		uint32_t val;
		switch (rand() % 4) {
		case 0:
			val = (uint32_t)rand();
			break;
		case 1:
			val = (uint32_t)rand() % 16;
			break;
		case 2:
			val = reg == VIRTIO_MMIO_QUEUE_DESC_LOW ? DESC(rand() % 2) : 8;
			break;
		default:
			val = 1u << (rand() % 32);
		}
		if (rand() % 16 == 0) { /* odd sizes and offsets */
			uint8_t b[8] = {0};
			uint32_t sz = 1u << (rand() % 4);
			uint64_t off = (uint64_t)(rand() % 0x200);
			if (rand() & 1)
				d->ops->read(d, off, b, sz);
			else
				d->ops->write(d, off, b, sz);
		} else {
			wr(d, reg, val);
		}
		/* publish whatever the rings hold now */
		p16(m, AVAIL(0) + 2, (uint16_t)(g16(m, AVAIL(0) + 2) + rand() % 3));
		pump(m);
	}
	for (int i = 0; i < m->ndev; i++)
		CHECK(rd(m->devs[i], VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
	printf("fuzz: %d interrupts, %zu bytes of guest errors\n", m->irqs, strlen(m->errors));
	CHECK(strlen(m->errors) > 0); /* the chaos was noticed */
	vm_free(m);
	close(devnull);
	unlink(path);
}

CHECK_MAIN(test_registers, test_status_order, test_rng, test_blk, test_blk_ro, test_console,
	   test_hostile_chain, test_fuzz_registers, test_net)
