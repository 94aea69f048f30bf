/* Loading a bzImage: the setup header (Documentation/arch/x86/boot.rst)
 * decides where the protected-mode kernel goes; we enter it at its 64-bit
 * entry (load address + 0x200), so the real-mode setup code is never run. */
#include <asm/bootparam.h>
#include <string.h>

#include "vmm/machine.h"

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Can [addr, addr+need) hold the kernel: in RAM, above the low 1 MiB? */
static bool fits(const vm *m, uint64_t addr, uint64_t need)
{
	return addr >= GPA_HIMEM && addr <= m->mem.size && need <= m->mem.size - addr;
}

int boot_load_bzimage(vm *m, const uint8_t *img, size_t len, berr *e)
{
	if (len < 0x270 || memcmp(img + 0x202, "HdrS", 4))
		return 1;
	uint16_t ver = le16(img + 0x206);
	if (ver < 0x206)
		return berr_set(e, 0, "bzImage: boot protocol %u.%02u is too old (need 2.06)",
				ver >> 8, ver & 0xff);
	if (!(img[0x211] & LOADED_HIGH))
		return berr_set(e, 0, "bzImage: loadflags lack LOADED_HIGH (a zImage?)");
	uint16_t xloadflags = ver >= 0x20c ? le16(img + 0x236) : 0;
	if (!(xloadflags & XLF_KERNEL_64))
		return berr_set(e, 0,
				"bzImage: no 64-bit entry point (xloadflags lacks "
				"XLF_KERNEL_64, boot protocol %u.%02u)",
				ver >> 8, ver & 0xff);
	size_t setup_sects = img[0x1f1] ? img[0x1f1] : 4;
	size_t setup_size = (setup_sects + 1) * 512;
	if (setup_size >= len)
		return berr_set(e, 0, "bzImage: setup_sects %zu is past the end of the file",
				setup_sects);
	const uint8_t *pm = img + setup_size;
	uint64_t pm_len = len - setup_size;

	/* The header runs from 0x1f1 to 0x202 + the jump's offset byte. */
	size_t hdr_end = 0x202 + img[0x201];
	if (hdr_end > 0x1f1 + sizeof(struct setup_header))
		hdr_end = 0x1f1 + sizeof(struct setup_header);
	if (hdr_end > len)
		return berr_set(e, 0, "bzImage: truncated setup header");
	m->kernel.setup_hdr_len = hdr_end - 0x1f1;
	memcpy(m->kernel.setup_hdr, img + 0x1f1, m->kernel.setup_hdr_len);

	uint64_t init_size = ver >= 0x20a ? le32(img + 0x260) : 0;
	uint64_t need = init_size > pm_len ? init_size : pm_len;
	uint64_t pref = ver >= 0x20a ? le64(img + 0x258) : GPA_HIMEM;
	uint64_t align = le32(img + 0x230);
	bool relocatable = img[0x234] != 0;
	uint64_t addr;
	if (fits(m, pref, need)) {
		addr = pref;
	} else if (relocatable && align && !(align & (align - 1)) &&
		   fits(m, (GPA_HIMEM + align - 1) & ~(align - 1), need)) {
		addr = (GPA_HIMEM + align - 1) & ~(align - 1);
	} else {
		return berr_set(e, 0,
				"bzImage: the kernel needs %#llx bytes at %#llx (init_size), "
				"guest RAM ends at %#llx",
				(unsigned long long)need, (unsigned long long)pref,
				(unsigned long long)m->mem.size);
	}
	uint8_t *dst = vm_mem_ptr(&m->mem, addr, need);
	if (!dst)
		return berr_set(e, 0, "bzImage: load address out of RAM");
	memcpy(dst, pm, pm_len);
	m->kernel.load_addr = addr;
	m->kernel.load_end = addr + need;
	m->kernel.entry = addr + 0x200;
	m->kernel.cmdline_size = le32(img + 0x238);
	m->kernel.initrd_addr_max = le32(img + 0x22c);
	return 0;
}
