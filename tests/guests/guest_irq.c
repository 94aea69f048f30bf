/* Interrupt-driven COM1 input: IDT entry for vector 0x24, the IOAPIC pin 4
 * routed to it (the MP table wires ISA IRQ 4 to pin 4), LAPIC enabled, PIC
 * masked, UART receive interrupt on (IER=1, MCR OUT2). Then halts until the
 * interrupt handler has collected a line; prints "guest_irq: line: LINE
 * (N interrupts)" and exits 0, or 20 if no interrupt came in time. */
#include "rt.h"

#define LAPIC	 0xfee00000ull
#define IOAPIC	 0xfec00000ull
#define VEC_COM1 0x24
#define VEC_SPUR 0xff

struct interrupt_frame;

struct __attribute__((packed)) gate {
	uint16_t off0, sel;
	uint8_t ist, attr;
	uint16_t off1;
	uint32_t off2, zero;
};

static struct gate idt[256] __attribute__((aligned(16)));
static volatile char line[128];
static volatile uint32_t nline, done, irqs;

__attribute__((interrupt)) static void com1_isr(struct interrupt_frame *f)
{
	(void)f;
	irqs++;
	while (inb(COM1 + 5) & 1) {
		char c = (char)inb(COM1);
		if (c == '\n' || c == '\r' || nline + 1 >= sizeof(line))
			done = 1;
		else if (!done)
			line[nline++] = c;
	}
	mmio_write32(LAPIC + 0xb0, 0); /* EOI */
}

__attribute__((interrupt)) static void spurious_isr(struct interrupt_frame *f)
{
	(void)f;
}

static void set_gate(int v, void (*fn)(struct interrupt_frame *))
{
	uint64_t a = (uint64_t)fn;
	idt[v] = (struct gate){.off0 = (uint16_t)a,
			       .sel = 0x10,
			       .attr = 0x8e,
			       .off1 = (uint16_t)(a >> 16),
			       .off2 = (uint32_t)(a >> 32)};
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC, reg);
	mmio_write32(IOAPIC + 0x10, v);
}

int guest_main(const uint8_t *bp)
{
	(void)bp;
	set_gate(VEC_COM1, com1_isr);
	set_gate(VEC_SPUR, spurious_isr);
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = {sizeof(idt) - 1, (uint64_t)idt};
	__asm__ volatile("lidt %0" ::"m"(idtr));

	outb(0x21, 0xff); /* mask both 8259s */
	outb(0xa1, 0xff);
	mmio_write32(LAPIC + 0xf0, 0x100 | VEC_SPUR); /* enable, spurious vector */
	mmio_write32(LAPIC + 0x80, 0);		      /* TPR */
	ioapic_write(0x10 + 2 * 4 + 1, 0u << 24);     /* pin 4 -> APIC 0 */
	ioapic_write(0x10 + 2 * 4, VEC_COM1);	      /* fixed, edge, high, unmasked */

	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
	outb(COM1 + 1, 0x01); /* receive interrupt */
	print("guest_irq: ready\n");
	for (uint64_t i = 0; i < 100000000ull && !done; i++)
		__asm__ volatile("sti; hlt; cli");
	if (!done)
		return 20;
	line[nline] = 0;
	print("guest_irq: line: ");
	print((const char *)line);
	print(" (");
	print_dec(irqs);
	print(" interrupts)\n");
	return irqs ? 0 : 21;
}
