/* The seccomp filter the VMM's threads run under once the guest runs:
 * KVM_RUN and the few ioctls a run needs, I/O on fds already open, epoll,
 * eventfd/signalfd reads, futexes, memory management without PROT_EXEC,
 * signals to our own threads, exit. No open, no socket, no exec, no new
 * threads or processes. Anything else kills the process (SIGSYS). */
#include <sys/ioctl.h>
#include <errno.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/machine.h"

#ifdef __SANITIZE_ADDRESS__
#define VMM_SANITIZER 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMM_SANITIZER 1
#endif
#endif

static const int plain_syscalls[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),
    SCMP_SYS(pwritev),
    SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(lseek),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(fallocate),
    SCMP_SYS(close),
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(futex),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(sched_yield),
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(madvise),
    SCMP_SYS(mremap),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(getrandom),
    SCMP_SYS(rseq),
    SCMP_SYS(set_robust_list), /* thread exit */
#ifdef VMM_SANITIZER
    /* AddressSanitizer/LeakSanitizer at exit: stop-the-world via a
     * ptrace'ing helper, /proc/self/maps. Sanitizer builds only. */
    SCMP_SYS(clone),
    SCMP_SYS(clone3),
    SCMP_SYS(ptrace),
    SCMP_SYS(wait4),
    SCMP_SYS(prctl),
    SCMP_SYS(openat),
    SCMP_SYS(open),
    SCMP_SYS(getdents64),
    SCMP_SYS(getdents),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(readlink),
    SCMP_SYS(getppid),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(dup2),
    SCMP_SYS(pipe2),
    SCMP_SYS(kill),
    SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64),
    SCMP_SYS(mprotect),
    SCMP_SYS(mmap),
#endif
};

static const unsigned long allowed_ioctls[] = {
    KVM_RUN, KVM_IRQ_LINE, KVM_GET_REGS,	  /* vCPU loop, serial IRQ, crash report */
    TCGETS,  TCSETS,	   TCSETSW,	 TCSETSF, /* restoring the terminal */
};

int vmm_seccomp_install(vm *m, berr *e)
{
	(void)m;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return berr_set(e, 0, "seccomp_init failed");
	int r = 0;
	for (size_t i = 0; i < sizeof(plain_syscalls) / sizeof(plain_syscalls[0]) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain_syscalls[i], 0);
	for (size_t i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, allowed_ioctls[i]));
#ifndef VMM_SANITIZER
	/* memory for malloc, never executable */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
#endif
	/* signals only to threads of this process (pthread_kill) */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r)
		return berr_errno(e, -r, "seccomp filter for the VMM threads");
	return 0;
}
