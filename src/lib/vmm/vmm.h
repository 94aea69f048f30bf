/* berth's KVM micro-VM monitor: the public API the front end uses.
 *
 *   vmm_config c = {...};  vm *m;
 *   if (vmm_create(&c, &m, &e) < 0) ... ;   // KVM, memory, kernel, devices
 *   vmm_exit x;
 *   vmm_run(m, &x, &e);                       // until the guest stops
 *   vmm_destroy(m);
 *
 * Machine: x86-64, the kernel entered directly in 64-bit long mode (Linux
 * boot protocol 2.06+, bzImage with XLF_KERNEL_64, or an ELF64 vmlinux),
 * in-kernel LAPIC/IOAPIC/PIC and PIT, an MP table for the vCPUs, an 8250 UART
 * on COM1 (0x3f8, IRQ 4), an i8042 that only resets, and the berth exit port.
 *
 * Guest physical memory map:
 *   0x000500 GDT (0x10 code, 0x18 data, 0x20 TSS)   0x000520 IDT (empty)
 *   0x007000 boot_params (zero page)                 0x009000 page tables
 *   0x020000 kernel command line                     0x09fc00 MP table
 *   0x100000 kernel (or its preferred address)       initrd: top of RAM
 *   0xd0000000.. virtio-mmio windows (0x1000 apart, 0x200 long, GSI 5..)
 *   0xfec00000 IOAPIC, 0xfee00000 LAPIC
 * RAM is [0, mem_size) and must end below 0xd0000000 (3.25 GiB).
 *
 * Exit port: I/O port 0x501. A 1-, 2- or 4-byte write of V stops the VM
 * with status V (values above 255 give 255). i8042 command 0xFE on port 0x64
 * (keyboard-controller reset, Linux reboot=k) stops it with status 0.
 *
 * Status of a run (vmm_exit.status), also the `berth vm run` exit status:
 *   V     guest wrote V to the exit port     0    i8042 reset
 *   1     guest crashed: triple fault (KVM_EXIT_SHUTDOWN), KVM internal
 *         error, failed VM entry, unhandled exit (reason says which)
 *   130   SIGINT, 143 SIGTERM (128 + signal), the VM is stopped cleanly
 *
 * Signals during vmm_run: SIGINT and SIGTERM are blocked in the calling
 * thread and read through a signalfd; VMM_KICK_SIGNAL (SIGRTMIN + 2) gets an
 * empty handler and is used to kick vCPU threads out of KVM_RUN. The
 * previous signal mask is restored when vmm_run returns. With `seccomp`, a
 * filter covering the whole process (TSYNC) stays in force afterwards: call
 * vmm_run last, from a single-threaded process. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/device.h"

#define VMM_MAX_CPUS	 32
#define VMM_MAX_DISKS	 8
#define VMM_MEM_MIN	 (4ull << 20)
#define VMM_MEM_MAX	 0xd0000000ull
#define VMM_EXIT_PORT	 0x501
#define VMM_STATUS_CRASH 1

typedef struct vmm_disk {
	const char *path;
	bool read_only;
} vmm_disk;

typedef void (*vmm_log_fn)(void *opaque, const char *msg);

typedef struct vmm_config {
	const char *kernel;  /* bzImage or ELF64 vmlinux (required) */
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* NULL: "" */
	uint64_t mem_size;   /* bytes, VMM_MEM_MIN..VMM_MEM_MAX, 0: 128 MiB */
	unsigned ncpus;	     /* 1..VMM_MAX_CPUS, 0: 1 */
	vmm_disk disks[VMM_MAX_DISKS];
	unsigned ndisks;
	const char *tap;     /* virtio-net on this tap device, NULL: none */
	bool virtio_console; /* virtio-console on console_in/out too */
	int console_out;     /* COM1 output goes here (e.g. 1) */
	int console_in;	     /* COM1 input from here (e.g. 0), -1: none */
	bool no_seccomp;     /* run without the seccomp filter */
	bool debug;	     /* log unhandled port/MMIO accesses */
	vmm_log_fn log;	     /* debug messages and guest errors; may be NULL */
	void *log_opaque;
} vmm_config;

enum vmm_exit_kind {
	VMM_EXIT_POWEROFF, /* exit port */
	VMM_EXIT_RESET,	   /* i8042 reset */
	VMM_EXIT_CRASH,	   /* triple fault, internal error, ... */
	VMM_EXIT_SIGNAL,   /* SIGINT/SIGTERM */
};

typedef struct vmm_exit {
	int status; /* process exit status to use, see above */
	enum vmm_exit_kind kind;
	char reason[256];      /* e.g. "guest triple fault (shutdown) at rip 0x100234" */
	unsigned guest_errors; /* vm_guest_error() calls during the run */
	char first_guest_error[256];
} vmm_exit;

/* Build the machine: open KVM, map memory, load the kernel and initrd, set
 * up vCPUs and devices. Nothing runs yet. */
int vmm_create(const vmm_config *c, vm **out, berr *e);

/* Run until the guest powers off, resets, crashes or a signal stops it.
 * Returns 0 with *x filled, or -1 if the VMM itself failed. Once only. */
int vmm_run(vm *m, vmm_exit *x, berr *e);

void vmm_destroy(vm *m);

/* Parse "64M", "1G", "512K", "1048576B" or a plain number of MiB. */
int vmm_parse_size(const char *s, uint64_t *out, berr *e);
