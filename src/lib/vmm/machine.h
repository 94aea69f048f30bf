/* Internal to the VMM core: the machine and the functions its files share.
 * Devices see only device.h; the front end only vmm.h. */
#pragma once

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/device.h"
#include "vmm/vmm.h"

/* Guest-physical layout (see vmm.h). */
#define GPA_GDT	       0x500ull
#define GPA_IDT	       0x520ull
#define GPA_ZERO_PAGE  0x7000ull
#define GPA_BOOT_STACK 0x8ff0ull
#define GPA_PML4       0x9000ull
#define GPA_PDPT       0xa000ull
#define GPA_PD	       0xb000ull /* 4 pages: 4 GiB of 2 MiB pages */
#define GPA_CMDLINE    0x20000ull
#define CMDLINE_MAX    0x10000ull /* bytes including NUL */
#define GPA_MPTABLE    0x9fc00ull
#define GPA_EBDA_END   0xa0000ull
#define GPA_HIMEM      0x100000ull
#define GPA_MMIO_BASE  0xd0000000ull
#define MMIO_SLOT_SIZE 0x1000ull
#define MMIO_SLOT_LEN  0x200ull
#define MMIO_SLOTS     32
#define GSI_FIRST_MMIO 5
#define GPA_IOAPIC     0xfec00000ull
#define GPA_LAPIC      0xfee00000ull
#define GPA_TSS	       0xfffbd000ull
#define GPA_IDENTITY   0xfffbc000ull

#define VMM_KICK_SIGNAL (SIGRTMIN + 2)
#define VMM_MAX_DEVICES 64
#define VMM_MAX_WATCHES 64

typedef struct vm_vcpu {
	vm *m;
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
} vm_vcpu;

typedef struct vm_watch {
	int fd;
	vm_event_fn fn;
	void *opaque;
	bool active;
} vm_watch;

/* Kernel image as loaded: where it went and how to enter it. */
typedef struct vm_kernel {
	uint64_t entry;		 /* 64-bit entry point (RIP) */
	uint64_t load_addr;	 /* lowest guest address used */
	uint64_t load_end;	 /* one past the highest (incl. init_size/bss) */
	uint8_t setup_hdr[0x80]; /* boot_params.hdr image (0x1f1..0x270) */
	size_t setup_hdr_len;	 /* bytes valid in setup_hdr, 0 for ELF */
	uint32_t cmdline_size;	 /* maximum command-line length (excl. NUL) */
	uint32_t initrd_addr_max;
} vm_kernel;

struct vm {
	vmm_config cfg; /* strings borrowed from the caller for vm's lifetime */
	int kvm_fd, vm_fd;
	vm_mem mem;
	unsigned ncpus;
	vm_vcpu vcpus[VMM_MAX_CPUS];
	struct kvm_cpuid2 *cpuid; /* supported CPUID, normalised per vCPU at setup */

	vm_device *devs[VMM_MAX_DEVICES];
	size_t ndevs;
	unsigned next_mmio_slot;
	char *extra_cmdline; /* "virtio_mmio.device=..." parts */

	vm_kernel kernel;
	uint64_t initrd_addr, initrd_size;

	struct vm_serial *serial;

	/* event loop */
	int epfd;
	int wake_fd; /* eventfd: stop requested */
	pthread_mutex_t watch_lock;
	vm_watch watches[VMM_MAX_WATCHES];
	/* vCPU threads wait for go (after the seccomp filter is in) */
	pthread_mutex_t go_lock;
	pthread_cond_t go_cond;
	bool go;

	/* run state */
	pthread_mutex_t lock;
	atomic_bool stopping;
	bool ran;
	vmm_exit exit;
	bool exit_set;
	atomic_uint guest_errors;
	atomic_uint unhandled_logged;
};

/* memory.c */
int vm_memory_map(vm *m, uint64_t size, berr *e);
void vm_memory_unmap(vm *m);

/* kvm.c */
int kvm_open_vm(vm *m, berr *e);
int kvm_create_vcpus(vm *m, berr *e);
void kvm_close(vm *m);

/* boot_bzimage.c / boot_elf.c: load into guest memory, fill m->kernel.
 * Return 1 if the image is not of that format (nothing done). */
int boot_load_bzimage(vm *m, const uint8_t *img, size_t len, berr *e);
int boot_load_elf(vm *m, const uint8_t *img, size_t len, berr *e);
int boot_load_kernel(vm *m, const char *path, berr *e);
int boot_load_initrd(vm *m, const char *path, berr *e);

/* boot_params.c: zero page, e820, command line. */
int boot_write_params(vm *m, berr *e);

/* cpu_setup.c */
int cpu_setup_vcpu(vm *m, vm_vcpu *c, berr *e);
int cpu_write_tables(vm *m, berr *e); /* GDT, IDT, page tables */

/* mptable.c */
int mptable_write(vm *m, berr *e);

/* bus.c: exits routed to devices. */
void bus_pio(vm *m, struct kvm_run *run, size_t run_size);
void bus_mmio(vm *m, struct kvm_run *run);
void vm_log(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vcpu.c */
int vcpu_start_all(vm *m, berr *e); /* threads wait on m->go */
void vcpu_release_all(vm *m);	    /* let the threads run (or see stopping) */
void vcpu_kick_all(vm *m);
void vcpu_join_all(vm *m);

/* eventloop.c */
int eventloop_init(vm *m, berr *e);
int eventloop_run(vm *m, int sigfd, berr *e);
void eventloop_fini(vm *m);

/* core devices */
int serial_create(vm *m, int in_fd, int out_fd, berr *e);
int i8042_create(vm *m, berr *e);
int exitport_create(vm *m, berr *e);

/* vmm_seccomp.c: filter for every thread of the process (TSYNC). */
int vmm_seccomp_install(vm *m, berr *e);

/* Stop with a crash: status VMM_STATUS_CRASH and the reason. */
void vm_request_stop_kind(vm *m, int status, enum vmm_exit_kind kind, const char *why);
int vmm_create_virtio(vm *m, berr *e);
