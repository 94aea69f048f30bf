/* Guest RAM: one anonymous mapping, read/write but never executable on the
 * host, not reserved up front, kept out of core dumps and out of KSM. */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm/machine.h"

int vm_memory_map(vm *m, uint64_t size, berr *e)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return berr_sys(e, "mmap guest memory (%llu bytes)", (unsigned long long)size);
	m->mem.host = p;
	m->mem.size = size;
	if (madvise(p, size, MADV_DONTDUMP) < 0)
		return berr_sys(e, "madvise guest memory MADV_DONTDUMP");
	/* Never share guest pages with other processes' through KSM: merging
	 * leaks contents through timing. Explicitly opt out (EINVAL: no KSM). */
	if (madvise(p, size, MADV_UNMERGEABLE) < 0 && errno != EINVAL)
		return berr_sys(e, "madvise guest memory MADV_UNMERGEABLE");

	struct kvm_userspace_memory_region r = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)p,
	};
	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return berr_sys(e, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

void vm_memory_unmap(vm *m)
{
	if (m->mem.host)
		munmap(m->mem.host, m->mem.size);
	m->mem.host = NULL;
	m->mem.size = 0;
}

const vm_mem *vm_memory(vm *machine)
{
	return &machine->mem;
}
