/* The 8250 model and port routing, driven through the bus as a guest would
 * (no KVM: the interrupt line ioctl fails harmlessly on a fake VM). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/xalloc.h"
#include "vmm/machine.h"

static vm *fake_vm(void)
{
	vm *m = xzalloc(sizeof(*m));
	m->vm_fd = -1;
	m->epfd = -1;
	m->wake_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->watch_lock, NULL);
	return m;
}

static void free_vm(vm *m)
{
	for (size_t i = 0; i < m->ndevs; i++)
		m->devs[i]->ops->destroy(m->devs[i]);
	free(m);
}

/* One port access through bus_pio, as a KVM_EXIT_IO would arrive. */
static uint8_t pio(vm *m, uint16_t port, int write, uint8_t v)
{
	static _Alignas(8) uint8_t page[4096];
	struct kvm_run *run = (struct kvm_run *)page;
	memset(page, 0, sizeof(page));
	run->io.direction = write ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	run->io.size = 1;
	run->io.port = port;
	run->io.count = 1;
	run->io.data_offset = 1024;
	page[1024] = v;
	bus_pio(m, run, sizeof(page));
	return page[1024];
}

static void test_uart_registers(void)
{
	vm *m = fake_vm();
	int p[2];
	CHECK(pipe(p) == 0);
	berr e;
	CHECK(serial_create(m, -1, p[1], &e) == 0);
	CHECK(pio(m, 0x3fd, 0, 0) == 0x60);    /* LSR: THR empty, idle */
	CHECK((pio(m, 0x3fa, 0, 0) & 1) == 1); /* IIR: no interrupt */
	pio(m, 0x3f8, 1, 'A');		       /* THR -> output fd */
	char c = 0;
	CHECK(read(p[0], &c, 1) == 1 && c == 'A');
	pio(m, 0x3ff, 1, 0x5a);
	CHECK(pio(m, 0x3ff, 0, 0) == 0x5a); /* scratch */
	pio(m, 0x3fb, 1, 0x80);		    /* DLAB */
	pio(m, 0x3f8, 1, 0x01);
	pio(m, 0x3f9, 1, 0x02);
	CHECK(pio(m, 0x3f8, 0, 0) == 0x01 && pio(m, 0x3f9, 0, 0) == 0x02);
	pio(m, 0x3fb, 1, 0x03);
	CHECK(pio(m, 0x3f9, 0, 0) == 0); /* IER untouched by the divisor */
	/* THR-empty interrupt when enabled; reading IIR acknowledges it */
	pio(m, 0x3f9, 1, 0x02);
	CHECK((pio(m, 0x3fa, 0, 0) & 0x0f) == 0x02);
	CHECK((pio(m, 0x3fa, 0, 0) & 0x0f) == 0x01);
	/* loopback: THR comes back as received data, MSR mirrors MCR */
	pio(m, 0x3fc, 1, 0x10 | 0x0b);
	CHECK(pio(m, 0x3fe, 0, 0) == (0x10 | 0x20 | 0x80)); /* CTS, DSR, DCD */
	pio(m, 0x3f8, 1, 'z');
	CHECK(pio(m, 0x3fd, 0, 0) & 1); /* data ready */
	pio(m, 0x3f9, 1, 0x01);
	CHECK((pio(m, 0x3fa, 0, 0) & 0x0f) == 0x04); /* receive interrupt */
	CHECK(pio(m, 0x3f8, 0, 0) == 'z');
	CHECK(!(pio(m, 0x3fd, 0, 0) & 1));
	CHECK(pio(m, 0x3f8, 0, 0) == 0); /* empty FIFO reads 0 */
	/* FCR: FIFO enabled shows in IIR, clear-RX drops pending data */
	pio(m, 0x3f8, 1, 'y');
	pio(m, 0x3fa, 1, 0x03);
	CHECK(!(pio(m, 0x3fd, 0, 0) & 1));
	CHECK((pio(m, 0x3fa, 0, 0) & 0xc0) == 0xc0);
	close(p[0]);
	close(p[1]);
	free_vm(m);
}

static void test_unknown_and_bad_accesses(void)
{
	vm *m = fake_vm();
	berr e;
	CHECK(serial_create(m, -1, -1, &e) == 0);
	CHECK(pio(m, 0x2f8, 0, 0) == 0xff); /* no device: all-ones */
	static _Alignas(8) uint8_t page[4096];
	struct kvm_run *run = (struct kvm_run *)page;
	/* a string access claiming more data than the run page holds */
	memset(page, 0, sizeof(page));
	run->io.direction = KVM_EXIT_IO_IN;
	run->io.size = 4;
	run->io.port = 0x2f8;
	run->io.count = 0x40000000;
	run->io.data_offset = 1024;
	bus_pio(m, run, sizeof(page));
	CHECK(page[1024] == 0); /* ignored, nothing written */
	run->io.count = 2;
	run->io.data_offset = 0xffffffffffffull;
	bus_pio(m, run, sizeof(page));
	run->io.count = 1;
	run->io.size = 3;
	run->io.data_offset = 1024;
	bus_pio(m, run, sizeof(page));
	CHECK(page[1024] == 0);
	/* 4-byte access straddling the end of the UART's 8 ports */
	run->io.size = 4;
	run->io.port = 0x3fe;
	bus_pio(m, run, sizeof(page));
	CHECK(page[1024] == 0xff && page[1027] == 0xff);
	/* MMIO nowhere */
	memset(page, 0, sizeof(page));
	run->mmio.phys_addr = 0xd0000000;
	run->mmio.len = 4;
	bus_mmio(m, run);
	CHECK(!memcmp(run->mmio.data, "\xff\xff\xff\xff", 4));
	free_vm(m);
}

static void test_overlap_refused(void)
{
	vm *m = fake_vm();
	berr e;
	CHECK(serial_create(m, -1, -1, &e) == 0);
	CHECK(serial_create(m, -1, -1, &e) < 0);
	CHECK_CONTAINS(e.msg, "overlaps serial");
	CHECK(m->ndevs == 1);
	free_vm(m);
}

CHECK_MAIN(test_uart_registers, test_unknown_and_bad_accesses, test_overlap_refused)
