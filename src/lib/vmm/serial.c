/* 8250/16550A UART on COM1 (ports 0x3f8-0x3ff, IRQ 4). Transmit is
 * immediate (the byte goes to the output fd), receive comes from the input
 * fd through the event loop into a FIFO. The interrupt line is level:
 * raised while IIR reports a cause, through KVM_IRQ_LINE. */
#include <stdlib.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/xalloc.h"
#include "vmm/machine.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ  4
#define RX_SIZE	  1024

/* register offsets */
#define UART_RX	 0 /* RBR/THR, DLL with DLAB */
#define UART_IER 1 /* DLM with DLAB */
#define UART_IIR 2 /* FCR on write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI	    0x01
#define IER_THRI    0x02
#define IIR_NO_INT  0x01
#define IIR_THRI    0x02
#define IIR_RDI	    0x04
#define IIR_FIFO    0xc0
#define FCR_ENABLE  0x01
#define FCR_CLEARRX 0x02
#define LCR_DLAB    0x80
#define MCR_LOOP    0x10
#define LSR_DR	    0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

typedef struct vm_serial {
	vm_device dev; /* first: the core sees a vm_device */
	pthread_mutex_t lock;
	int in_fd, out_fd;
	bool in_paused; /* FIFO full: input fd not watched */
	bool in_eof;
	uint8_t ier, iir, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thri_pending;
	int irq_level;
	uint8_t rx[RX_SIZE];
	size_t rx_head, rx_len;
} vm_serial;

/* Recompute IIR and drive the interrupt line; lock held. */
static void serial_update_irq(vm_serial *s)
{
	uint8_t iir = IIR_NO_INT;
	if ((s->ier & IER_RDI) && s->rx_len)
		iir = IIR_RDI;
	else if ((s->ier & IER_THRI) && s->thri_pending)
		iir = IIR_THRI;
	s->iir = iir | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	int level = !(iir & IIR_NO_INT);
	if (level != s->irq_level) {
		struct kvm_irq_level l = {.irq = COM1_IRQ, .level = (uint32_t)level};
		if (ioctl(s->dev.machine->vm_fd, KVM_IRQ_LINE, &l) == 0)
			s->irq_level = level;
	}
}

static void rx_push(vm_serial *s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n && s->rx_len < RX_SIZE; i++)
		s->rx[(s->rx_head + s->rx_len++) % RX_SIZE] = b[i];
}

static void serial_input(void *opaque, uint32_t events)
{
	(void)events;
	vm_serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	size_t space = RX_SIZE - s->rx_len;
	if (space == 0) {
		/* FIFO full: stop watching until the guest drains it */
		vm_unwatch_fd(s->dev.machine, s->in_fd);
		s->in_paused = true;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	uint8_t buf[RX_SIZE];
	ssize_t n = read(s->in_fd, buf, space);
	if (n > 0) {
		rx_push(s, buf, (size_t)n);
		serial_update_irq(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		vm_unwatch_fd(s->dev.machine, s->in_fd); /* EOF or error: no more input */
		s->in_eof = true;
	}
	pthread_mutex_unlock(&s->lock);
}

static void serial_tx(vm_serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, &c, 1);
	} else if (s->out_fd >= 0) {
		ssize_t r;
		do
			r = write(s->out_fd, &c, 1);
		while (r < 0 && errno == EINTR);
	}
	s->thri_pending = true;
}

static uint8_t serial_rx_pop(vm_serial *s)
{
	if (!s->rx_len)
		return 0;
	uint8_t c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_SIZE;
	s->rx_len--;
	if (s->in_paused && s->rx_len < RX_SIZE / 2 && !s->in_eof) {
		berr e;
		if (vm_watch_fd(s->dev.machine, s->in_fd, 0, serial_input, s, &e) == 0)
			s->in_paused = false;
	}
	return c;
}

static void serial_read(vm_device *d, uint64_t off, uint8_t *data, uint32_t size)
{
	vm_serial *s = (vm_serial *)d;
	memset(data, 0, size);
	pthread_mutex_lock(&s->lock);
	uint8_t v = 0xff;
	switch (off) {
	case UART_RX:
		v = (s->lcr & LCR_DLAB) ? s->dll : serial_rx_pop(s);
		break;
	case UART_IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		v = s->iir;
		if ((s->iir & 0x0f) == IIR_THRI)
			s->thri_pending = false; /* reading IIR clears THRE */
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
		break;
	case UART_MSR:
		if (s->mcr & MCR_LOOP) /* outputs looped back to the inputs */
			v = (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
				      ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		else
			v = MSR_DEFAULT;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	data[0] = v;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(vm_device *d, uint64_t off, const uint8_t *data, uint32_t size)
{
	(void)size;
	vm_serial *s = (vm_serial *)d;
	uint8_t v = data[0];
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_tx(s, v);
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			if (!(s->ier & IER_THRI) && (v & IER_THRI))
				s->thri_pending = true; /* THR is empty: interrupt at once */
			s->ier = v & 0x0f;
		}
		break;
	case UART_IIR: /* FCR */
		s->fcr = v & 0xc9;
		if (v & FCR_CLEARRX)
			s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR, MSR: read-only */
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_destroy(vm_device *d)
{
	vm_serial *s = (vm_serial *)d;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const vm_device_ops serial_ops = {
    .name = "serial",
    .read = serial_read,
    .write = serial_write,
    .destroy = serial_destroy,
};

int serial_create(vm *m, int in_fd, int out_fd, berr *e)
{
	vm_serial *s = xzalloc(sizeof(*s));
	s->dev = (vm_device){.ops = &serial_ops, .base = COM1_BASE, .len = 8, .is_pio = true};
	pthread_mutex_init(&s->lock, NULL);
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->iir = IIR_NO_INT;
	s->dll = 12; /* 9600 baud */
	if (vm_add_device(m, &s->dev, e) < 0) {
		serial_destroy(&s->dev);
		return -1;
	}
	m->serial = s;
	if (in_fd >= 0) {
		berr ignored;
		/* not pollable (a regular file, /dev/null): the guest gets no input */
		vm_watch_fd(m, in_fd, 0, serial_input, s, &ignored);
	}
	return 0;
}
