/* Intel MultiProcessor Specification 1.4 table at the top of base memory
 * (0x9fc00, where Linux looks): the vCPUs, one ISA bus, the IOAPIC, its 24
 * pins wired 1:1 to ISA IRQs, and LINT0/LINT1 as ExtINT/NMI. */
#include <string.h>

#include "vmm/machine.h"

#define MP_APIC_VERSION	  0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_IOAPIC_PINS	  24

struct __attribute__((packed)) mpf {
	char signature[4];
	uint32_t physptr;
	uint8_t length, spec_rev, checksum, feature1, feature2, feature3[3];
};

struct __attribute__((packed)) mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec_rev, checksum;
	char oem[8], product[12];
	uint32_t oemptr;
	uint16_t oemsize, count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type, busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)-s;
}

int mptable_write(vm *m, berr *e)
{
	size_t size = sizeof(struct mpf) + sizeof(struct mpc_table) +
		      m->ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
		      sizeof(struct mpc_ioapic) + (MP_IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc);
	if (size > GPA_EBDA_END - GPA_MPTABLE)
		return berr_set(e, 0, "MP table for %u vCPUs does not fit", m->ncpus);
	uint8_t *base = vm_mem_ptr(&m->mem, GPA_MPTABLE, size);
	if (!base)
		return berr_set(e, 0, "MP table out of RAM");
	memset(base, 0, size);

	struct mpf *f = (struct mpf *)base;
	memcpy(f->signature, "_MP_", 4);
	f->physptr = (uint32_t)(GPA_MPTABLE + sizeof(*f));
	f->length = 1;
	f->spec_rev = 4;

	uint8_t *table = base + sizeof(*f), *p = table + sizeof(struct mpc_table);
	uint16_t count = 0;
	uint8_t ioapic_id = (uint8_t)m->ncpus; /* after the CPUs' APIC ids */
	for (unsigned i = 0; i < m->ncpus; i++, count++) {
		struct mpc_cpu c = {
		    .type = 0,
		    .apicid = (uint8_t)i,
		    .apicver = MP_APIC_VERSION,
		    .cpuflag = (uint8_t)(1 | (i == 0 ? 2 : 0)), /* enabled, BSP */
		    .cpufeature = 0x600,			/* family 6 */
		    .featureflag = 0x201,			/* FPU, APIC */
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	struct mpc_bus bus = {.type = 1, .busid = 0};
	memcpy(bus.bustype, "ISA   ", 6);
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	count++;
	struct mpc_ioapic io = {.type = 2,
				.apicid = ioapic_id,
				.apicver = MP_IOAPIC_VERSION,
				.flags = 1,
				.apicaddr = (uint32_t)GPA_IOAPIC};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	count++;
	for (uint8_t i = 0; i < MP_IOAPIC_PINS; i++, count++) {
		struct mpc_intsrc s = {.type = 3, /* I/O interrupt, INT, conforms to bus */
				       .srcbus = 0,
				       .srcbusirq = i,
				       .dstapic = ioapic_id,
				       .dstirq = i};
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
	}
	struct mpc_intsrc lint[2] = {
	    {.type = 4, .irqtype = 3, .dstapic = 0, .dstirq = 0},    /* ExtINT -> BSP LINT0 */
	    {.type = 4, .irqtype = 1, .dstapic = 0xff, .dstirq = 1}, /* NMI -> LINT1 */
	};
	memcpy(p, lint, sizeof(lint));
	p += sizeof(lint);
	count += 2;

	struct mpc_table t = {.length = (uint16_t)(p - table),
			      .spec_rev = 4,
			      .count = count,
			      .lapic = (uint32_t)GPA_LAPIC};
	memcpy(t.signature, "PCMP", 4);
	memcpy(t.oem, "BERTH   ", 8);
	memcpy(t.product, "MICROVM     ", 12);
	memcpy(table, &t, sizeof(t));
	table[offsetof(struct mpc_table, checksum)] = checksum(table, t.length);
	f->checksum = checksum(base, sizeof(*f));
	return 0;
}
