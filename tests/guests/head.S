/* Entry of every test guest.
 *
 * +0x000: 32-bit boot-protocol entry (flat 32-bit segments, paging off,
 *         %esi = boot_params), used by loaders that do not enter in 64-bit
 *         mode (e.g. QEMU's microvm firmware in bench/vmm.sh): builds an
 *         identity map of the first 4 GiB with 2 MiB pages and enters long
 *         mode, then joins the 64-bit entry.
 * +0x200: 64-bit entry (long mode, identity map, %rsi = boot_params), what
 *         berth uses (bzImage XLF_KERNEL_64 entry / ELF e_entry). */
	.section .head, "ax"
	.code32
	.globl _start32
_start32:
	cli
	movl	%esi, %ebp
	/* the tables live past .bss (not zeroed by the 64-bit entry) */
	movl	$boot_pml4, %edi
	movl	$(4096 * 6 / 4), %ecx
	xorl	%eax, %eax
	rep stosl
	/* PML4[0] -> PDPT, PDPT[0..3] -> PD[0..3], PD entries 2 MiB pages */
	movl	$boot_pml4, %edi
	leal	0x3(%edi), %eax
	addl	$0x1000, %eax
	movl	%eax, (%edi)
	movl	$boot_pdpt, %edi
	movl	$boot_pd + 3, %eax
	movl	$4, %ecx
1:	movl	%eax, (%edi)
	addl	$0x1000, %eax
	addl	$8, %edi
	loop	1b
	movl	$boot_pd, %edi
	xorl	%eax, %eax
	movl	$2048, %ecx
2:	movl	%eax, %edx
	shll	$21, %edx
	orl	$0x83, %edx
	movl	%edx, (%edi,%eax,8)
	incl	%eax
	loop	2b
	lgdt	boot_gdt_ptr
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$boot_pml4, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	orl	$0x100, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax
	movl	%eax, %cr0
	movl	%ebp, %esi
	ljmp	$0x10, $_start64

	.balign 8
boot_gdt:
	.quad	0
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x10: 64-bit code */
	.quad	0x00cf93000000ffff	/* 0x18: data */
boot_gdt_ptr:
	.word	boot_gdt_ptr - boot_gdt - 1
	.long	boot_gdt

	.org	0x200
	.code64
	.globl	_start64
_start64:
	cli
#ifdef EARLY_MARK
	/* benchmark guest: the very first act is a '!' on COM1 */
	movw	$0x3f8, %dx
	movb	$'!', %al
	outb	%al, %dx
#endif
	movq	%rsi, %rbx
	/* zero .bss (the bzImage payload does not carry it) */
	movq	$__bss_start, %rdi
	movq	$__bss_end, %rcx
	subq	%rdi, %rcx
	xorl	%eax, %eax
	rep stosb
	movq	$stack_top, %rsp
	movq	%rbx, %rdi
	call	rt_start
1:	cli
	hlt
	jmp	1b

	.section .boottables, "aw", @nobits
	.balign 4096
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4

	.section .bss
	.balign 16
	.skip	16384
	.globl	stack_top
stack_top:
