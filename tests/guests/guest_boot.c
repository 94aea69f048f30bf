/* Checks what the loader put in boot_params against the command line the
 * test passed:
 *   mem_mib=N      guest RAM size in MiB (e820: RAM at 1 MiB up to N MiB)
 *   initrd_size=N  initrd length (0: none); its byte i is (i * 7 + 3) & 0xff
 * Prints "guest_boot: PASS" and exits 0, or "guest_boot: FAIL <what>" and
 * exits with the code of the first failed check. */
#include "rt.h"

static int fail(int code, const char *what, uint64_t v)
{
	print("guest_boot: FAIL ");
	print(what);
	print(" ");
	print_hex(v);
	print("\n");
	return code;
}

int guest_main(const uint8_t *bp)
{
	(void)bp;
	print("guest_boot: cmdline: ");
	print(cmdline());
	print("\n");

	uint16_t cs, ds;
	__asm__ volatile("mov %%cs, %0; mov %%ds, %1" : "=r"(cs), "=r"(ds));
	if (cs != 0x10 || ds != 0x18)
		return fail(10, "segments cs/ds", (uint64_t)cs << 16 | ds);
	if (bp_u32(0x202) != 0x53726448) /* "HdrS" */
		return fail(11, "setup header magic", bp_u32(0x202));
	if (bp_u8(0x210) != 0xff)
		return fail(12, "type_of_loader", bp_u8(0x210));
	if (!bp_u32(0x228))
		return fail(13, "cmd_line_ptr", 0);
	uint64_t mem = cmdline_num("mem_mib", 0) << 20;
	if (!mem)
		return fail(14, "mem_mib= missing on the command line", 0);

	/* e820: RAM at 0 below 640 KiB, RAM from 1 MiB to the end of memory */
	uint8_t n = bp_u8(0x1e8);
	int low = 0, high = 0;
	if (n == 0 || n > 128)
		return fail(20, "e820_entries", n);
	for (uint8_t i = 0; i < n; i++) {
		uint64_t a = bp_u64(0x2d0 + 20u * i), s = bp_u64(0x2d0 + 20u * i + 8);
		uint32_t t = bp_u32(0x2d0 + 20u * i + 16);
		if (t == 1 && a == 0 && s >= 0x9f000 && s <= 0xa0000)
			low = 1;
		if (t == 1 && a == 0x100000) {
			if (s != mem - 0x100000)
				return fail(21, "e820 RAM at 1 MiB has size", s);
			high = 1;
		}
		if (t == 1 && a < 0x100000 && a + s > 0xa0000)
			return fail(22, "e820 RAM over the legacy hole at", a);
	}
	if (!low || !high)
		return fail(23, "e820 lacks RAM at 0 or 1 MiB", (uint64_t)low << 1 | high);

	uint64_t isz = cmdline_num("initrd_size", 0);
	uint64_t img = bp_u32(0x218) | (uint64_t)bp_u32(0x0c0) << 32;
	uint64_t rsz = bp_u32(0x21c) | (uint64_t)bp_u32(0x0c4) << 32;
	if (rsz != isz)
		return fail(30, "ramdisk_size", rsz);
	if (isz) {
		uint64_t max = (uint64_t)bp_u32(0x22c) + 1, top = mem < max ? mem : max;
		if (img & 0xfff)
			return fail(31, "ramdisk_image not page aligned", img);
		if (img + isz > top)
			return fail(32, "ramdisk beyond RAM / initrd_addr_max", img);
		if (img != ((top - isz) & ~0xfffull))
			return fail(33, "ramdisk not placed as high as possible", img);
		const uint8_t *p = (const uint8_t *)img;
		for (uint64_t i = 0; i < isz; i++)
			if (p[i] != (uint8_t)(i * 7 + 3))
				return fail(34, "initrd content differs at offset", i);
	} else if (img) {
		return fail(35, "ramdisk_image without an initrd", img);
	}
	print("guest_boot: PASS\n");
	return 0;
}
