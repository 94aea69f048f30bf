/* /dev/kvm, the VM and its vCPUs: file descriptors, the in-kernel interrupt
 * controllers and PIT, and the shared kvm_run pages. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vmm/machine.h"

static int kvm_check_cap(vm *m, long cap, const char *name, berr *e)
{
	int r = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, cap);
	if (r <= 0)
		return berr_set(e, 0, "KVM lacks %s", name);
	return 0;
}

static int kvm_get_cpuid(vm *m, berr *e)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = xzalloc(sizeof(*c) + n * sizeof(c->entries[0]));
		c->nent = n;
		if (ioctl(m->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			m->cpuid = c;
			return 0;
		}
		int err = errno;
		free(c);
		if (err != E2BIG)
			return berr_errno(e, err, "KVM_GET_SUPPORTED_CPUID");
	}
	return berr_set(e, 0, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

int kvm_open_vm(vm *m, berr *e)
{
	m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm_fd < 0)
		return berr_sys(e, "open /dev/kvm");
	int v = ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION)
		return berr_set(e, 0, "/dev/kvm: API version %d, want %d", v, KVM_API_VERSION);
	static const struct {
		long cap;
		const char *name;
	} caps[] = {
	    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
	    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
	    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
	    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
	    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (kvm_check_cap(m, caps[i].cap, caps[i].name, e) < 0)
			return -1;
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		return berr_sys(e, "KVM_CREATE_VM");
	if (fcntl(m->vm_fd, F_SETFD, FD_CLOEXEC) < 0)
		return berr_sys(e, "fcntl vm fd");
	if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)GPA_TSS) < 0)
		return berr_sys(e, "KVM_SET_TSS_ADDR");
	uint64_t ident = GPA_IDENTITY;
	if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return berr_sys(e, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return berr_sys(e, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return berr_sys(e, "KVM_CREATE_PIT2");
	return kvm_get_cpuid(m, e);
}

int kvm_create_vcpus(vm *m, berr *e)
{
	int sz = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return berr_sys(e, "KVM_GET_VCPU_MMAP_SIZE");
	for (unsigned i = 0; i < m->ncpus; i++) {
		vm_vcpu *c = &m->vcpus[i];
		c->m = m;
		c->id = i;
		c->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (c->fd < 0)
			return berr_sys(e, "KVM_CREATE_VCPU %u", i);
		if (fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0)
			return berr_sys(e, "fcntl vcpu fd");
		void *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (run == MAP_FAILED)
			return berr_sys(e, "mmap kvm_run of vCPU %u", i);
		c->run = run;
		c->run_size = (size_t)sz;
		if (cpu_setup_vcpu(m, c, e) < 0)
			return berr_ctx(e, "vCPU %u", i);
	}
	return 0;
}

void kvm_close(vm *m)
{
	for (unsigned i = 0; i < VMM_MAX_CPUS; i++) {
		vm_vcpu *c = &m->vcpus[i];
		if (c->run)
			munmap(c->run, c->run_size);
		c->run = NULL;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	if (m->kvm_fd >= 0)
		close(m->kvm_fd);
	m->vm_fd = m->kvm_fd = -1;
	free(m->cpuid);
	m->cpuid = NULL;
}
