/* vCPU state for a direct 64-bit entry: CPUID, boot MSRs, LAPIC LINT pins,
 * FPU, segment/control registers, and the GDT/IDT/page tables in guest
 * memory (identity map of the first 4 GiB with 2 MiB pages). */
#include <string.h>
#include <sys/ioctl.h>

#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vmm/machine.h"

/* GDT as the Linux boot protocol expects: __BOOT_CS 0x10, __BOOT_DS 0x18. */
#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS	 0x20

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

int cpu_write_tables(vm *m, berr *e)
{
	uint64_t gdt[5] = {0};
	gdt[SEL_CODE / 8] = gdt_entry(0xa09b, 0, 0xfffff); /* 64-bit code, G, L */
	gdt[SEL_DATA / 8] = gdt_entry(0xc093, 0, 0xfffff); /* data, G, D/B */
	gdt[SEL_TSS / 8] = gdt_entry(0x808b, 0, 0xfffff);  /* busy TSS */
	void *g = vm_mem_ptr(&m->mem, GPA_GDT, sizeof(gdt));
	void *idt = vm_mem_ptr(&m->mem, GPA_IDT, 8);
	uint64_t *pml4 = vm_mem_ptr(&m->mem, GPA_PML4, 4096);
	uint64_t *pdpt = vm_mem_ptr(&m->mem, GPA_PDPT, 4096);
	uint64_t *pd = vm_mem_ptr(&m->mem, GPA_PD, 4 * 4096);
	if (!g || !idt || !pml4 || !pdpt || !pd)
		return berr_set(e, 0, "boot tables out of RAM");
	memcpy(g, gdt, sizeof(gdt));
	memset(idt, 0, 8);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = GPA_PDPT | 0x3; /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (GPA_PD + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	return 0;
}

static unsigned log2_ceil(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

/* The guest's CPUID: what KVM supports, with this vCPU's topology and the
 * features the VMM does not provide taken out. */
static int cpu_set_cpuid(vm *m, vm_vcpu *c, berr *e)
{
	size_t sz = sizeof(*m->cpuid) + m->cpuid->nent * sizeof(m->cpuid->entries[0]);
	struct kvm_cpuid2 *cp = xmalloc(sz);
	memcpy(cp, m->cpuid, sz);
	unsigned shift = log2_ceil(m->ncpus);
	for (uint32_t i = 0; i < cp->nent; i++) {
		struct kvm_cpuid_entry2 *x = &cp->entries[i];
		switch (x->function) {
		case 1:
			x->ebx = (x->ebx & 0x0000ffffu) | (c->id << 24) | ((m->ncpus & 0xff) << 16);
			x->ecx |= 1u << 31;    /* hypervisor */
			x->ecx &= ~(1u << 5);  /* VMX: no nested virtualisation */
			x->ecx &= ~(1u << 3);  /* MONITOR/MWAIT */
			x->ecx &= ~(1u << 15); /* PDCM: no perf capabilities MSR */
			if (m->ncpus > 1)
				x->edx |= 1u << 28; /* HTT: ebx[23:16] is valid */
			break;
		case 4: /* cores per package */
			x->eax = (x->eax & 0x03ffffffu) | ((m->ncpus - 1) << 26);
			break;
		case 6:
			x->ecx &= ~1u; /* no APERF/MPERF */
			break;
		case 0xb:
		case 0x1f:
			x->edx = c->id; /* x2APIC id */
			if (x->index == 0) {
				x->eax = 0;
				x->ebx = 1;
				x->ecx = 1u << 8; /* SMT level */
			} else if (x->index == 1) {
				x->eax = shift;
				x->ebx = m->ncpus;
				x->ecx = 2u << 8 | 1; /* core level */
			} else {
				x->eax = x->ebx = 0;
				x->ecx = x->index; /* invalid level */
			}
			break;
		case 0x8000001e: /* AMD extended APIC id */
			x->eax = c->id;
			x->ebx = 0;
			x->ecx = 0;
			break;
		}
	}
	int r = ioctl(c->fd, KVM_SET_CPUID2, cp);
	free(cp);
	if (r < 0)
		return berr_sys(e, "KVM_SET_CPUID2");
	return 0;
}

/* MSRs as Firecracker sets them at boot. */
static int cpu_set_msrs(vm_vcpu *c, berr *e)
{
	static const uint32_t zero_msrs[] = {
	    0x174,	/* SYSENTER_CS */
	    0x175,	/* SYSENTER_ESP */
	    0x176,	/* SYSENTER_EIP */
	    0xc0000081, /* STAR */
	    0xc0000082, /* LSTAR */
	    0xc0000083, /* CSTAR */
	    0xc0000102, /* KERNEL_GS_BASE */
	    0xc0000084, /* SYSCALL_MASK */
	    0x10,	/* TSC */
	};
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry x[16];
	} msrs;
	memset(&msrs, 0, sizeof(msrs));
	unsigned n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(zero_msrs); i++)
		msrs.x[n++].index = zero_msrs[i];
	msrs.x[n].index = 0x1a0; /* MISC_ENABLE: fast strings */
	msrs.x[n++].data = 1;
	msrs.x[n].index = 0x2ff; /* MTRRdefType: MTRRs on, default write-back */
	msrs.x[n++].data = (1u << 11) | 6;
	msrs.h.nmsrs = n;
	int r = ioctl(c->fd, KVM_SET_MSRS, &msrs);
	if (r < 0)
		return berr_sys(e, "KVM_SET_MSRS");
	if ((unsigned)r != n)
		return berr_set(e, 0, "KVM_SET_MSRS: MSR %#x refused", msrs.x[r].index);
	return 0;
}

/* LINT0 as ExtINT (the 8259 behind it), LINT1 as NMI, like a PC BIOS. */
static int cpu_set_lapic(vm_vcpu *c, berr *e)
{
	struct kvm_lapic_state l;
	if (ioctl(c->fd, KVM_GET_LAPIC, &l) < 0)
		return berr_sys(e, "KVM_GET_LAPIC");
	uint32_t lint0, lint1;
	memcpy(&lint0, l.regs + 0x350, 4);
	memcpy(&lint1, l.regs + 0x360, 4);
	lint0 = (lint0 & ~0x700u) | (7u << 8); /* ExtINT */
	lint1 = (lint1 & ~0x700u) | (4u << 8); /* NMI */
	memcpy(l.regs + 0x350, &lint0, 4);
	memcpy(l.regs + 0x360, &lint1, 4);
	if (ioctl(c->fd, KVM_SET_LAPIC, &l) < 0)
		return berr_sys(e, "KVM_SET_LAPIC");
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = !code64,
	    .s = 1,
	    .l = code64,
	    .g = 1,
	};
}

static int cpu_set_long_mode(vm *m, vm_vcpu *c, berr *e)
{
	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return berr_sys(e, "KVM_GET_SREGS");
	seg(&s.cs, SEL_CODE, 0xb, true);
	seg(&s.ds, SEL_DATA, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){
	    .base = 0, .limit = 0xfffff, .selector = SEL_TSS, .type = 0xb, .present = 1, .g = 1};
	s.gdt.base = GPA_GDT;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = GPA_IDT;
	s.idt.limit = 7;
	s.cr0 = 0x80000011; /* PG, ET, PE */
	s.cr3 = GPA_PML4;
	s.cr4 = 0x20;	/* PAE */
	s.efer = 0x500; /* LMA, LME */
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		return berr_sys(e, "KVM_SET_SREGS");

	struct kvm_regs r = {
	    .rflags = 2,
	    .rip = m->kernel.entry,
	    .rsi = GPA_ZERO_PAGE,
	    .rsp = GPA_BOOT_STACK,
	    .rbp = GPA_BOOT_STACK,
	};
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return berr_sys(e, "KVM_SET_REGS");
	struct kvm_fpu f = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(c->fd, KVM_SET_FPU, &f) < 0)
		return berr_sys(e, "KVM_SET_FPU");
	return 0;
}

int cpu_setup_vcpu(vm *m, vm_vcpu *c, berr *e)
{
	if (cpu_set_cpuid(m, c, e) < 0 || cpu_set_msrs(c, e) < 0 || cpu_set_lapic(c, e) < 0)
		return -1;
	/* Application processors wait for INIT/SIPI (KVM's default for
	 * vCPU != 0 with the in-kernel LAPIC); only the BSP gets an entry. */
	if (c->id == 0)
		return cpu_set_long_mode(m, c, e);
	return 0;
}
