/* The kernel and initrd files, and the zero page (struct boot_params) the
 * kernel finds in %rsi: its setup header, the command line, the initrd and
 * the e820 memory map. Nothing here comes from the guest. */
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "vmm/machine.h"

#define KERNEL_FILE_MAX (512ull << 20)

int boot_load_kernel(vm *m, const char *path, berr *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open kernel %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "stat kernel %s", path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > KERNEL_FILE_MAX)
		return berr_set(e, 0, "kernel %s: not a regular file of at most 512 MiB", path);
	_cleanup_free_ char *img = NULL;
	size_t len;
	if (fs_read_fd(fd, &img, &len, e) < 0)
		return berr_ctx(e, "read kernel %s", path);
	int r = boot_load_bzimage(m, (const uint8_t *)img, len, e);
	if (r == 1)
		r = boot_load_elf(m, (const uint8_t *)img, len, e);
	if (r == 1)
		return berr_set(
		    e, 0, "kernel %s: neither a bzImage (no \"HdrS\") nor an ELF64 image", path);
	if (r < 0)
		return berr_ctx(e, "kernel %s", path);
	return 0;
}

int boot_load_initrd(vm *m, const char *path, berr *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open initrd %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "stat initrd %s", path);
	if (!S_ISREG(st.st_mode))
		return berr_set(e, 0, "initrd %s: not a regular file", path);
	uint64_t size = (uint64_t)st.st_size;
	/* As high as possible, page aligned, below initrd_addr_max and RAM's
	 * end, above the kernel. */
	uint64_t top = m->mem.size;
	if ((uint64_t)m->kernel.initrd_addr_max + 1 < top)
		top = (uint64_t)m->kernel.initrd_addr_max + 1;
	if (size == 0 || size > top || ((top - size) & ~0xfffull) < m->kernel.load_end)
		return berr_set(e, 0,
				"initrd %s: %llu bytes do not fit between the kernel's end %#llx "
				"and %#llx (RAM end / initrd_addr_max)",
				path, (unsigned long long)size,
				(unsigned long long)m->kernel.load_end, (unsigned long long)top);
	uint64_t addr = (top - size) & ~0xfffull;
	uint8_t *dst = vm_mem_ptr(&m->mem, addr, size);
	if (!dst)
		return berr_set(e, 0, "initrd %s: out of RAM", path);
	ssize_t n = fs_read_full(fd, dst, size);
	if (n < 0)
		return berr_sys(e, "read initrd %s", path);
	if ((uint64_t)n != size)
		return berr_set(e, 0, "read initrd %s: file shrank", path);
	m->initrd_addr = addr;
	m->initrd_size = size;
	return 0;
}

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	if (bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return;
	struct boot_e820_entry *x = &bp->e820_table[bp->e820_entries++];
	x->addr = addr;
	x->size = size;
	x->type = type;
}

int boot_write_params(vm *m, berr *e)
{
	struct boot_params *bp = vm_mem_ptr(&m->mem, GPA_ZERO_PAGE, sizeof(*bp));
	if (!bp)
		return berr_set(e, 0, "zero page out of RAM");
	memset(bp, 0, sizeof(*bp));
	if (m->kernel.setup_hdr_len) {
		memcpy(&bp->hdr, m->kernel.setup_hdr, m->kernel.setup_hdr_len);
	} else { /* ELF: the header a bzImage would have carried */
		bp->hdr.boot_flag = 0xaa55;
		bp->hdr.header = 0x53726448;
		bp->hdr.version = 0x020f;
		bp->hdr.kernel_alignment = 0x1000000;
		bp->hdr.initrd_addr_max = m->kernel.initrd_addr_max;
		bp->hdr.cmdline_size = m->kernel.cmdline_size;
	}
	bp->hdr.type_of_loader = 0xff;

	/* Command line: the user's, then what devices asked for. */
	const char *user = m->cfg.cmdline ? m->cfg.cmdline : "";
	const char *extra = m->extra_cmdline ? m->extra_cmdline : "";
	_cleanup_free_ char *cl = xasprintf("%s%s%s", user, *user && *extra ? " " : "", extra);
	size_t len = strlen(cl);
	uint64_t max = m->kernel.cmdline_size;
	if (max > CMDLINE_MAX - 1)
		max = CMDLINE_MAX - 1;
	if (len > max)
		return berr_set(e, 0,
				"kernel command line is %zu bytes, the kernel takes %llu "
				"(cmdline_size)",
				len, (unsigned long long)max);
	char *dst = vm_mem_ptr(&m->mem, GPA_CMDLINE, len + 1);
	if (!dst)
		return berr_set(e, 0, "command line out of RAM");
	memcpy(dst, cl, len + 1);
	bp->hdr.cmd_line_ptr = (uint32_t)GPA_CMDLINE;
	bp->ext_cmd_line_ptr = 0;

	bp->hdr.ramdisk_image = (uint32_t)m->initrd_addr;
	bp->ext_ramdisk_image = (uint32_t)(m->initrd_addr >> 32);
	bp->hdr.ramdisk_size = (uint32_t)m->initrd_size;
	bp->ext_ramdisk_size = (uint32_t)(m->initrd_size >> 32);

	/* RAM below the EBDA (where the MP table sits), the legacy hole
	 * reserved, RAM from 1 MiB to the end, KVM's TSS/identity pages. */
	e820_add(bp, 0, GPA_MPTABLE, E820_RAM);
	e820_add(bp, GPA_MPTABLE, GPA_HIMEM - GPA_MPTABLE, E820_RESERVED);
	e820_add(bp, GPA_HIMEM, m->mem.size - GPA_HIMEM, E820_RAM);
	e820_add(bp, GPA_IDENTITY, 0x100000000ull - GPA_IDENTITY, E820_RESERVED);
	return 0;
}
