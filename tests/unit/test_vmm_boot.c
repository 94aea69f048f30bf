/* The boot loaders and tables against synthetic images, without KVM. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elf.h>

#include "check.h"
#include "util/xalloc.h"
#include "vmm/machine.h"

static vm *fake_vm(uint64_t mem)
{
	vm *m = xzalloc(sizeof(*m));
	m->mem.host = xzalloc(mem);
	m->mem.size = mem;
	m->ncpus = 1;
	return m;
}

static void free_vm(vm *m)
{
	free(m->mem.host);
	free(m->extra_cmdline);
	free(m);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A bzImage: setup_sects 1, payload of `pm` bytes filled with 0xab. */
static uint8_t *bzimage(size_t pm, size_t *len)
{
	*len = 1024 + pm;
	uint8_t *b = xzalloc(*len);
	b[0x1f1] = 1;
	put16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, 0x020f);
	b[0x211] = 0x01;
	put32(b + 0x22c, 0x7fffffff);
	put32(b + 0x230, 0x200000);
	put16(b + 0x236, 0x1);
	put32(b + 0x238, 255);
	put64(b + 0x258, 0x100000);
	put32(b + 0x260, (uint32_t)pm + 0x1000);
	memset(b + 1024, 0xab, pm);
	return b;
}

static void test_bzimage_at_pref_address(void)
{
	vm *m = fake_vm(8 << 20);
	size_t len;
	uint8_t *b = bzimage(0x3000, &len);
	berr e;
	CHECK(boot_load_bzimage(m, b, len, &e) == 0);
	CHECK(m->kernel.load_addr == 0x100000);
	CHECK(m->kernel.entry == 0x100200);
	CHECK(m->kernel.load_end == 0x100000 + 0x4000); /* init_size */
	CHECK(m->mem.host[0x100000] == 0xab && m->mem.host[0x102fff] == 0xab);
	CHECK(m->mem.host[0x103000] == 0);
	CHECK(m->kernel.setup_hdr_len == 0x26c - 0x1f1);
	CHECK(!memcmp(m->kernel.setup_hdr + (0x202 - 0x1f1), "HdrS", 4));
	CHECK(m->kernel.cmdline_size == 255);
	free(b);
	free_vm(m);
}

static void test_bzimage_relocated(void)
{
	vm *m = fake_vm(8 << 20);
	size_t len;
	uint8_t *b = bzimage(0x3000, &len);
	put64(b + 0x258, 0x1000000); /* prefers 16 MiB: past RAM */
	b[0x234] = 1;		     /* relocatable */
	berr e;
	CHECK(boot_load_bzimage(m, b, len, &e) == 0);
	CHECK(m->kernel.load_addr == 0x200000); /* 1 MiB aligned up to 2 MiB */
	CHECK(m->kernel.entry == 0x200200);
	b[0x234] = 0;
	CHECK(boot_load_bzimage(m, b, len, &e) < 0);
	CHECK_CONTAINS(e.msg, "needs");
	free(b);
	free_vm(m);
}

static void test_bzimage_rejects(void)
{
	vm *m = fake_vm(8 << 20);
	size_t len;
	uint8_t *b = bzimage(0x1000, &len);
	berr e;
	put32(b + 0x260, 0x10000000); /* init_size beyond RAM */
	CHECK(boot_load_bzimage(m, b, len, &e) < 0);
	put32(b + 0x260, 0x2000);
	put16(b + 0x236, 0);
	CHECK(boot_load_bzimage(m, b, len, &e) < 0);
	CHECK_CONTAINS(e.msg, "XLF_KERNEL_64");
	put16(b + 0x236, 1);
	b[0x1f1] = 0; /* 0 means 4 setup sectors: payload starts past the file */
	CHECK(boot_load_bzimage(m, b, 0x800, &e) < 0);
	CHECK_CONTAINS(e.msg, "setup_sects");
	memcpy(b + 0x202, "Hdrs", 4);
	CHECK(boot_load_bzimage(m, b, len, &e) == 1); /* not a bzImage */
	CHECK(boot_load_bzimage(m, b, 100, &e) == 1);
	free(b);
	free_vm(m);
}

/* ELF64 with one PT_LOAD: vaddr 0xffffffff81000000 -> paddr 0x1000000. */
static uint8_t *elf(size_t *len)
{
	*len = 0x2000;
	uint8_t *b = xzalloc(*len);
	Elf64_Ehdr eh = {.e_type = ET_EXEC,
			 .e_machine = EM_X86_64,
			 .e_version = 1,
			 .e_entry = 0xffffffff81000100ull,
			 .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = 1};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	Elf64_Phdr ph = {.p_type = PT_LOAD,
			 .p_offset = 0x1000,
			 .p_vaddr = 0xffffffff81000000ull,
			 .p_paddr = 0x1000000,
			 .p_filesz = 0x1000,
			 .p_memsz = 0x3000};
	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), &ph, sizeof(ph));
	memset(b + 0x1000, 0xcd, 0x1000);
	return b;
}

static void test_elf(void)
{
	vm *m = fake_vm(32 << 20);
	size_t len;
	uint8_t *b = elf(&len);
	berr e;
	m->mem.host[0x1001000] = 0x77; /* bss must be zeroed */
	CHECK(boot_load_elf(m, b, len, &e) == 0);
	CHECK(m->kernel.entry == 0x1000100);
	CHECK(m->kernel.load_addr == 0x1000000 && m->kernel.load_end == 0x1003000);
	CHECK(m->mem.host[0x1000fff] == 0xcd && m->mem.host[0x1001000] == 0);
	CHECK(m->kernel.setup_hdr_len == 0);
	free_vm(m);

	m = fake_vm(16 << 20); /* segment beyond RAM */
	CHECK(boot_load_elf(m, b, len, &e) < 0);
	CHECK_CONTAINS(e.msg, "not in guest RAM");
	free_vm(m);

	m = fake_vm(32 << 20);
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(Elf64_Ehdr));
	ph->p_filesz = 0x4000; /* > memsz and past the file */
	CHECK(boot_load_elf(m, b, len, &e) < 0);
	ph->p_filesz = 0x1000;
	ph->p_offset = UINT64_MAX - 10;
	CHECK(boot_load_elf(m, b, len, &e) < 0);
	free(b);
	free_vm(m);
}

static void test_params_and_cmdline(void)
{
	vm *m = fake_vm(64 << 20);
	size_t len;
	uint8_t *b = bzimage(0x1000, &len);
	berr e;
	CHECK(boot_load_bzimage(m, b, len, &e) == 0);
	m->cfg.cmdline = "console=ttyS0";
	m->extra_cmdline = xstrdup("virtio_mmio.device=512@0xd0000000:5");
	m->initrd_addr = 0x3fff000;
	m->initrd_size = 100;
	CHECK(boot_write_params(m, &e) == 0);
	const uint8_t *bp = m->mem.host + GPA_ZERO_PAGE;
	CHECK(bp[0x210] == 0xff);
	CHECK(!memcmp(bp + 0x202, "HdrS", 4));
	uint32_t cl, img, sz;
	memcpy(&cl, bp + 0x228, 4);
	memcpy(&img, bp + 0x218, 4);
	memcpy(&sz, bp + 0x21c, 4);
	CHECK(cl == GPA_CMDLINE && img == 0x3fff000 && sz == 100);
	CHECK_STREQ((const char *)m->mem.host + cl,
		    "console=ttyS0 virtio_mmio.device=512@0xd0000000:5");
	CHECK(bp[0x1e8] == 4);
	uint64_t a, s;
	memcpy(&a, bp + 0x2d0 + 40, 8);
	memcpy(&s, bp + 0x2d0 + 48, 8);
	CHECK(a == 0x100000 && s == (64 << 20) - 0x100000);

	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	m->cfg.cmdline = big; /* cmdline_size is 255 */
	CHECK(boot_write_params(m, &e) < 0);
	CHECK_CONTAINS(e.msg, "cmdline_size");
	free(b);
	free_vm(m);
}

static void test_initrd_placement(void)
{
	vm *m = fake_vm(64 << 20);
	m->kernel.load_end = 0x200000;
	m->kernel.initrd_addr_max = 0x1ffffff; /* 32 MiB - 1 */
	char path[] = "/tmp/berth-test-initrd-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "0123456789", 10) == 10);
	close(fd);
	berr e;
	int r = boot_load_initrd(m, path, &e);
	if (r == 0) {
		CHECK(m->initrd_addr == 0x2000000 - 0x1000 && m->initrd_size == 10);
		CHECK(!memcmp(m->mem.host + m->initrd_addr, "0123456789", 10));
		m->kernel.load_end = 0x1fff001; /* initrd would overlap the kernel */
		r = boot_load_initrd(m, path, &e);
		unlink(path);
		CHECK(r < 0);
		CHECK_CONTAINS(e.msg, "do not fit");
	} else {
		unlink(path);
		CHECK(r == 0);
	}
	free_vm(m);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void test_mptable(void)
{
	vm *m = fake_vm(8 << 20);
	m->ncpus = VMM_MAX_CPUS;
	berr e;
	CHECK(mptable_write(m, &e) == 0);
	const uint8_t *f = m->mem.host + GPA_MPTABLE;
	CHECK(!memcmp(f, "_MP_", 4) && sum(f, 16) == 0);
	uint32_t t;
	memcpy(&t, f + 4, 4);
	const uint8_t *c = m->mem.host + t;
	uint16_t len, count;
	memcpy(&len, c + 4, 2);
	memcpy(&count, c + 34, 2);
	CHECK(!memcmp(c, "PCMP", 4) && sum(c, len) == 0);
	CHECK(count == VMM_MAX_CPUS + 1 + 1 + 24 + 2);
	CHECK(t + len <= GPA_EBDA_END);
	CHECK(c[44] == 0 && c[44 + 3] == 3);	       /* CPU 0: enabled, BSP */
	CHECK(c[44 + 20] == 0 && c[44 + 20 + 3] == 1); /* CPU 1: enabled */
	free_vm(m);
}

CHECK_MAIN(test_bzimage_at_pref_address, test_bzimage_relocated, test_bzimage_rejects, test_elf,
	   test_params_and_cmdline, test_initrd_placement, test_mptable)
