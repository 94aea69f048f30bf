/* Ends the VM the way the command line asks:
 *   exit=N     4-byte write of N to the exit port (exit8=N: 1-byte write)
 *   mode=triple  triple fault (empty IDT, then #UD)
 *   mode=reset   i8042 reset (0xFE to port 0x64)
 *   mode=spin    busy loop forever (for the Ctrl-C test)
 *   mode=halt    cli; hlt forever
 *   mode=echo    read a line from COM1 (polling LSR), print "echo: LINE",
 *                exit with its length
 *   mode=loop    run loops=N iterations of a 2-instruction loop, exit 0
 *                (tests time it to tell hardware KVM from an emulating one)
 *   mode=probe   unknown port/MMIO reads must be all-ones, i8042 idle */
#include "rt.h"

int guest_main(const uint8_t *bp)
{
	(void)bp;
	char mode[16];
	print("guest_status: ");
	print(cmdline());
	print("\n");
	if (cmdline_get("exit8", mode, sizeof(mode)) > 0) {
		outb(EXIT_PORT, (uint8_t)cmdline_num("exit8", 255));
		return 250;
	}
	if (cmdline_get("mode", mode, sizeof(mode)) < 0)
		return (int)cmdline_num("exit", 255);
	if (!str_neq(mode, "triple", 7)) {
		struct __attribute__((packed)) {
			uint16_t limit;
			uint64_t base;
		} idt = {0, 0};
		__asm__ volatile("lidt %0; ud2" ::"m"(idt));
	} else if (!str_neq(mode, "reset", 6)) {
		for (int i = 0; i < 1000 && (inb(0x64) & 2); i++)
			cpu_relax();
		outb(0x64, 0xfe);
		for (int i = 0; i < 1000000; i++)
			cpu_relax();
		print("guest_status: reset did not happen\n");
		return 251;
	} else if (!str_neq(mode, "spin", 5)) {
		print("guest_status: spinning\n");
		for (;;)
			cpu_relax();
	} else if (!str_neq(mode, "halt", 5)) {
		print("guest_status: halting\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	} else if (!str_neq(mode, "echo", 5)) {
		char line[128];
		size_t n = 0;
		print("guest_status: ready\n");
		for (;;) {
			while (!(inb(COM1 + 5) & 1))
				cpu_relax();
			char c = (char)inb(COM1);
			if (c == '\n' || c == '\r' || n + 1 == sizeof(line))
				break;
			line[n++] = c;
		}
		line[n] = 0;
		print("echo: ");
		print(line);
		print("\n");
		return (int)n;
	} else if (!str_neq(mode, "loop", 5)) {
		uint64_t n = cmdline_num("loops", 0);
		if (n)
			__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
		return 0;
	} else if (!str_neq(mode, "probe", 6)) {
		if (inb(0x2f8) != 0xff) /* no COM2 */
			return 10;
		if (mmio_read32(0xd0f00000) != 0xffffffff) /* MMIO gap, no device */
			return 11;
		if (inb(0x64) != 0 || inb(0x60) != 0)
			return 12;
		if (inb(COM1 + 5) != 0x60) /* LSR: THR empty, idle, no data */
			return 13;
		outb(COM1 + 7, 0x5a); /* scratch register */
		if (inb(COM1 + 7) != 0x5a)
			return 14;
		outb(0x2f8, 1); /* dropped */
		print("guest_status: probe ok\n");
		return 0;
	}
	print("guest_status: unknown mode\n");
	return 252;
}
