/* Loading an ELF64 vmlinux: PT_LOAD segments at their physical addresses,
 * entered at e_entry (translated to physical if it is a virtual address). */
#include <elf.h>
#include <string.h>

#include "vmm/machine.h"

#define ELF_MAX_PHDRS 64

int boot_load_elf(vm *m, const uint8_t *img, size_t len, berr *e)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG))
		return 1;
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return berr_set(e, 0, "ELF: not an x86-64 little-endian ELF64 image");
	if (eh.e_type != ET_EXEC)
		return berr_set(e, 0, "ELF: e_type %u is not ET_EXEC", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHDRS ||
	    eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return berr_set(e, 0, "ELF: bad program header table (phoff %#llx, phnum %u)",
				(unsigned long long)eh.e_phoff, eh.e_phnum);

	uint64_t lo = UINT64_MAX, hi = 0, entry = 0;
	bool entry_found = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset)
			return berr_set(e, 0, "ELF: segment %u: file range out of the image", i);
		uint8_t *dst = vm_mem_ptr(&m->mem, ph.p_paddr, ph.p_memsz);
		if (!dst || ph.p_paddr < GPA_HIMEM)
			return berr_set(
			    e, 0,
			    "ELF: segment %u: physical %#llx+%#llx is not in guest RAM "
			    "[%#llx, %#llx)",
			    i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
			    (unsigned long long)GPA_HIMEM, (unsigned long long)m->mem.size);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
		if (!entry_found && eh.e_entry >= ph.p_paddr &&
		    eh.e_entry - ph.p_paddr < ph.p_memsz) {
			entry = eh.e_entry;
			entry_found = true;
		} else if (!entry_found && eh.e_entry >= ph.p_vaddr &&
			   eh.e_entry - ph.p_vaddr < ph.p_memsz) {
			entry = ph.p_paddr + (eh.e_entry - ph.p_vaddr);
			entry_found = true;
		}
	}
	if (hi == 0)
		return berr_set(e, 0, "ELF: no PT_LOAD segment");
	if (!entry_found)
		return berr_set(e, 0, "ELF: entry point %#llx is in no loaded segment",
				(unsigned long long)eh.e_entry);
	m->kernel.load_addr = lo;
	m->kernel.load_end = hi;
	m->kernel.entry = entry;
	m->kernel.setup_hdr_len = 0;
	m->kernel.cmdline_size = 2047;
	m->kernel.initrd_addr_max = 0x7fffffff;
	return 0;
}
