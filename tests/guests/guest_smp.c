/* Starts the other vCPUs the MP table lists, the way an OS does: INIT,
 * SIPI, SIPI through the local APIC to a real-mode trampoline at 0x10000
 * that climbs to long mode. Each AP reports its APIC id (CPUID leaves 1
 * and 0xb); the BSP checks them against the MP table and "cpus=N" from the
 * command line, prints "guest_smp: N cpus up" and exits 0. */
#include "rt.h"

#define LAPIC	    0xfee00000ull
#define LAPIC_SVR   0x0f0
#define LAPIC_ICRLO 0x300
#define LAPIC_ICRHI 0x310
#define TRAMPOLINE  0x10000ull
#define MAX_CPUS    32

extern const uint8_t tramp_start[], tramp_end[], tramp_cr3[], tramp_entry[];
void ap_entry64(void);

volatile uint32_t ap_next, ap_up;
volatile uint32_t ap_apic[MAX_CPUS], ap_x2apic[MAX_CPUS];
uint8_t ap_stacks[MAX_CPUS][4096] __attribute__((aligned(4096)));

/* Real mode at CS=0x1000 -> 32-bit protected -> 64-bit long mode, then a
 * jump to ap_entry64 (address patched in by the BSP, as is CR3). Addresses
 * inside are 0x10000 + offset: the code runs from its copy there. */
__asm__(".section .rodata\n"
	".globl tramp_start, tramp_end, tramp_cr3, tramp_entry\n"
	".code16\n"
	"tramp_start:\n"
	"	cli\n"
	"	movw %cs, %ax\n"
	"	movw %ax, %ds\n"
	"	lgdtl tramp_gdtp - tramp_start\n"
	"	movl %cr0, %eax\n"
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $(0x10000 + tramp32 - tramp_start)\n"
	".code32\n"
	"tramp32:\n"
	"	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %ss\n"
	"	movl %cr4, %eax\n"
	"	orl $0x20, %eax\n"
	"	movl %eax, %cr4\n"
	"	movl (0x10000 + tramp_cr3 - tramp_start), %eax\n"
	"	movl %eax, %cr3\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	orl $0x100, %eax\n"
	"	wrmsr\n"
	"	movl %cr0, %eax\n"
	"	orl $0x80000000, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x18, $(0x10000 + tramp64 - tramp_start)\n"
	".code64\n"
	"tramp64:\n"
	"	movq (0x10000 + tramp_entry - tramp_start), %rax\n"
	"	jmp *%rax\n"
	".balign 8\n"
	"tramp_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n" /* 0x08 32-bit code */
	"	.quad 0x00cf92000000ffff\n" /* 0x10 data */
	"	.quad 0x00af9a000000ffff\n" /* 0x18 64-bit code */
	"tramp_gdtp:\n"
	"	.word tramp_gdtp - tramp_gdt - 1\n"
	"	.long 0x10000 + tramp_gdt - tramp_start\n"
	"tramp_cr3: .long 0\n"
	"tramp_entry: .quad 0\n"
	"tramp_end:\n"
	".text\n"
	".globl ap_entry64\n"
	"ap_entry64:\n"
	"	movl $1, %eax\n"
	"	lock xaddl %eax, ap_next(%rip)\n"
	"	movl %eax, %edi\n"
	"	incl %eax\n"
	"	shlq $12, %rax\n"
	"	leaq ap_stacks(%rip), %rsp\n"
	"	addq %rax, %rsp\n"
	"	call ap_main\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n");

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

void ap_main(uint32_t idx);
void ap_main(uint32_t idx)
{
	uint32_t r[4];
	if (idx >= MAX_CPUS)
		return;
	cpuid(1, 0, r);
	ap_apic[idx] = r[1] >> 24;
	cpuid(0, 0, r);
	uint32_t max = r[0];
	ap_x2apic[idx] = 0xffffffff;
	if (max >= 0xb) {
		cpuid(0xb, 0, r);
		ap_x2apic[idx] = r[3];
	}
	__atomic_add_fetch(&ap_up, 1, __ATOMIC_SEQ_CST);
}

/* The MP floating pointer: in the EBDA's last KiB or the BIOS area. */
static const uint8_t *find_mpf(void)
{
	static const uint64_t ranges[][2] = {{0x9fc00, 0xa0000}, {0xf0000, 0x100000}};
	for (int r = 0; r < 2; r++)
		for (uint64_t a = ranges[r][0]; a < ranges[r][1]; a += 16) {
			const uint8_t *p = (const uint8_t *)a;
			if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_')
				return p;
		}
	return 0;
}

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static int fail(int code, const char *what, uint64_t v)
{
	print("guest_smp: FAIL ");
	print(what);
	print(" ");
	print_hex(v);
	print("\n");
	return code;
}

static void lapic_ipi(uint32_t apic, uint32_t lo)
{
	mmio_write32(LAPIC + LAPIC_ICRHI, apic << 24);
	mmio_write32(LAPIC + LAPIC_ICRLO, lo);
	for (int i = 0; i < 100000 && (mmio_read32(LAPIC + LAPIC_ICRLO) & (1u << 12)); i++)
		cpu_relax();
}

int guest_main(const uint8_t *bp)
{
	(void)bp;
	uint32_t want = (uint32_t)cmdline_num("cpus", 1);
	const uint8_t *mpf = find_mpf();
	if (!mpf)
		return fail(10, "no MP floating pointer", 0);
	if (sum(mpf, 16))
		return fail(11, "MP floating pointer checksum", sum(mpf, 16));
	const uint8_t *t = (const uint8_t *)(uint64_t) * (const uint32_t *)(mpf + 4);
	if (t[0] != 'P' || t[1] != 'C' || t[2] != 'M' || t[3] != 'P')
		return fail(12, "no PCMP config table at", (uint64_t)t);
	uint16_t len = *(const uint16_t *)(t + 4), count = *(const uint16_t *)(t + 34);
	if (sum(t, len))
		return fail(13, "MP config table checksum", sum(t, len));
	uint32_t ids[MAX_CPUS], ncpu = 0, bsp = 0xff;
	const uint8_t *p = t + 44, *end = t + len;
	for (uint16_t i = 0; i < count && p < end; i++) {
		if (p[0] == 0) {
			if (ncpu < MAX_CPUS)
				ids[ncpu++] = p[1];
			if (p[3] & 2)
				bsp = p[1];
			p += 20;
		} else {
			p += 8;
		}
	}
	if (ncpu != want)
		return fail(14, "MP table processor count", ncpu);
	uint32_t r[4];
	cpuid(1, 0, r);
	if (bsp != (r[1] >> 24))
		return fail(15, "BSP APIC id differs from the MP table", r[1] >> 24);

	/* trampoline, then INIT-SIPI-SIPI each AP */
	memcpy((void *)TRAMPOLINE, tramp_start, (size_t)(tramp_end - tramp_start));
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	*(volatile uint32_t *)(TRAMPOLINE + (uint64_t)(tramp_cr3 - tramp_start)) = (uint32_t)cr3;
	*(volatile uint64_t *)(TRAMPOLINE + (uint64_t)(tramp_entry - tramp_start)) =
	    (uint64_t)ap_entry64;
	mmio_write32(LAPIC + LAPIC_SVR, mmio_read32(LAPIC + LAPIC_SVR) | 0x1ff);
	for (uint32_t i = 0; i < ncpu; i++) {
		if (ids[i] == bsp)
			continue;
		lapic_ipi(ids[i], 0x4500);				  /* INIT */
		lapic_ipi(ids[i], 0x4600 | (uint32_t)(TRAMPOLINE >> 12)); /* SIPI */
		lapic_ipi(ids[i], 0x4600 | (uint32_t)(TRAMPOLINE >> 12));
	}
	for (uint64_t i = 0; i < 200000000ull && ap_up < ncpu - 1; i++)
		cpu_relax();
	if (ap_up != ncpu - 1)
		return fail(20, "APs up", ap_up);
	uint32_t seen = 1u << bsp;
	for (uint32_t i = 0; i < ncpu - 1; i++) {
		print("guest_smp: AP apic id ");
		print_dec(ap_apic[i]);
		print(" x2apic id ");
		print_dec(ap_x2apic[i]);
		print("\n");
		if (ap_x2apic[i] != 0xffffffff && ap_x2apic[i] != ap_apic[i])
			return fail(21, "CPUID leaf 0xb id differs from leaf 1", ap_x2apic[i]);
		if (ap_apic[i] >= 32 || (seen & (1u << ap_apic[i])))
			return fail(22, "AP APIC id duplicate or out of range", ap_apic[i]);
		seen |= 1u << ap_apic[i];
	}
	for (uint32_t i = 0; i < ncpu; i++)
		if (!(seen & (1u << ids[i])))
			return fail(23, "MP table CPU never reported", ids[i]);
	print("guest_smp: ");
	print_dec(ncpu);
	print(" cpus up\n");
	return 0;
}
