/* Real-mode setup code of the test guests' bzImage (file offset 0x26c,
 * right after the setup header), for loaders that start a bzImage the
 * 16-bit way (QEMU's microvm/pc firmware): CS:0 is the setup's offset
 * 0x200. Switches to 32-bit protected mode with flat segments (0x10 code,
 * 0x18 data, as the boot protocol's 32-bit entry wants), %esi = the setup
 * area (its header sits where boot_params.hdr does), and jumps to the
 * protected-mode kernel at code32_start (0x100000). berth never runs this:
 * it enters the kernel at its 64-bit entry. */
	.code16
	.section .text
	.globl setup16
#define OFF(x) (0x6c + (x) - setup16)
setup16:
	cli
	movw	%cs, %ax
	movw	%ax, %ds
	xorl	%eax, %eax
	movw	%cs, %ax
	shll	$4, %eax
	movl	%eax, %esi
	subl	$0x200, %esi
	addl	$OFF(gdt), %eax
	movl	%eax, OFF(gdtp) + 2
	lgdtl	OFF(gdtp)
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	movw	$0x18, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	ljmpl	$0x10, $0x100000
	.balign	8
gdt:
	.quad	0
	.quad	0
	.quad	0x00cf9a000000ffff
	.quad	0x00cf92000000ffff
gdtp:
	.word	31
	.long	0
