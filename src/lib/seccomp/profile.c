/* berth's default seccomp profile for engine containers.
 *
 * Shape (the same as Docker's moby/profiles/seccomp and Podman's
 * containers/common seccomp.json, which derives from it):
 *   - defaultAction SCMP_ACT_ERRNO, defaultErrnoRet EPERM (1);
 *   - architectures: the native one plus its 32-bit/x32 companions
 *     (x86_64: X86_64, X86, X32; aarch64: AARCH64, ARM);
 *   - one allowlist of the syscalls an ordinary process uses (list below,
 *     written from the syscall table: files, memory, signals, time, sockets,
 *     IPC, threads, the 32-bit and *_time64 variants);
 *   - personality only with the harmless personas (0, PER_LINUX32, UNAME26,
 *     both, and 0xffffffff = query);
 *   - clone only without namespace flags (value is the mask
 *     CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP, MASKED_EQ 0);
 *     clone3 fails with ENOSYS (its flags live in memory that BPF cannot
 *     inspect), so libcs fall back to clone;
 *   - capability-gated groups: holding the capability adds the syscalls
 *     (CAP_SYS_ADMIN: mount API, unshare, setns, clone/clone3 unrestricted,
 *     bpf, perf_event_open, ...; CAP_SYS_PTRACE: ptrace, process_vm_*,
 *     kcmp, pidfd_getfd; CAP_SYS_MODULE; CAP_SYS_TIME; CAP_SYS_BOOT; ...).
 * Compared with Podman's profile (Debian 12 containers-common 0.50.1,
 * /usr/share/containers/seccomp.json; test_default_profile_vs_podman keeps
 * this true):
 *   - Podman's default is ERRNO(ENOSYS) with explicit EPERM for the dangerous
 *     syscalls; ours is ERRNO(EPERM) with ENOSYS for syscalls newer than the
 *     profile (compile.c). Every syscall Podman always denies, we deny too,
 *     with any capabilities (io_pgetevents and vmsplice included, which
 *     Docker allows).
 *   - Podman allows to everyone, we only with a capability: clone/clone3
 *     with namespace flags, unshare, setns, the mount API, pivot_root,
 *     umount (CAP_SYS_ADMIN); ptrace, process_vm_*, pidfd_getfd
 *     (CAP_SYS_PTRACE: Docker allows ptrace on >= 4.8 too, so strace/gdb in
 *     a container need --cap-add SYS_PTRACE here); syslog (CAP_SYSLOG or
 *     CAP_SYS_ADMIN); reboot (CAP_SYS_BOOT); mbind/get_mempolicy/
 *     set_mempolicy (CAP_SYS_NICE). keyctl is always denied (the keyring is
 *     not namespaced; Docker denies it too).
 *   - Podman refuses socket(AF_NETLINK, *, NETLINK_AUDIT) without
 *     CAP_AUDIT_WRITE; we allow socket() wholesale.
 *   - io_uring_* are denied (as in Docker >= 25 and this Podman).
 *   - No per-architecture rules: the arch-specific names are listed for all
 *     (harmless where unknown); s390's swapped clone arguments not handled.
 *   - No minKernel/includes/excludes metadata: the profile is computed in
 *     code from a capability mask, not filtered from a JSON template.
 * Syscall names unknown to the libseccomp in use become compile warnings, and
 * the ENOSYS rule covers them (Debian 12's 2.5.4 knows up to futex_requeue,
 * 456, so the list below compiles without warnings there). */
#include "seccomp/seccomp.h"

#include <errno.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

// clang-format off
static const char *const allow_always[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
	"capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
	"clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
	"clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
	"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
	"faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
	"fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
	"fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
	"fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
	"ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
	"futex_wake", "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd",
	"getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid",
	"getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp",
	"getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
	"getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid",
	"gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
	"io_setup", "io_submit", "ioctl", "ioprio_get",
	"ioprio_set", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
	"listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat",
	"lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
	"mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
	"mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
	"mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
	"msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
	"name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
	"pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
	"pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
	"prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
	"pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
	"recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
	"renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
	"rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
	"sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
	"semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
	"set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
	"setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
	"setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
	"setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt",
	"setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
	"sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall",
	"socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
	"symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
	"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
	"timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
	"timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
	"truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
	"utimensat_time64", "utimes", "vfork", "wait4", "waitid", "waitpid", "write",
	"writev",
	/* legacy and architecture-specific names (harmless where unknown) */
	"readdir", "sigaction", "signal", "sigpending", "sigsuspend", "syscall", "timerfd",
	"arch_prctl", "modify_ldt", "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
	"breakpoint", "cacheflush", "set_tls",
	NULL};

/* Granted by one capability each (Docker's "includes": {"caps": [...]}). */
static const struct cap_group {
	int cap;
	const char *const *names;
} cap_groups[] = {
	{CAP_SYS_ADMIN, (const char *const[]){
		"bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
		"lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
		"perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
		"setns", "syslog", "umount", "umount2", "unshare", "clone", "clone3", "pivot_root",
		NULL}},
	{CAP_SYS_BOOT, (const char *const[]){
		"reboot",
		NULL}},
	{CAP_SYS_CHROOT, (const char *const[]){
		"chroot",
		NULL}},
	{CAP_SYS_MODULE, (const char *const[]){
		"delete_module", "init_module", "finit_module", "query_module",
		NULL}},
	{CAP_SYS_PACCT, (const char *const[]){
		"acct",
		NULL}},
	{CAP_SYS_PTRACE, (const char *const[]){
		"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
		"ptrace",
		NULL}},
	{CAP_SYS_RAWIO, (const char *const[]){
		"iopl", "ioperm",
		NULL}},
	{CAP_SYS_TIME, (const char *const[]){
		"settimeofday", "stime", "clock_settime", "clock_settime64",
		NULL}},
	{CAP_SYS_TTY_CONFIG, (const char *const[]){
		"vhangup",
		NULL}},
	{CAP_SYS_NICE, (const char *const[]){
		"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node",
		NULL}},
	{CAP_SYSLOG, (const char *const[]){
		"syslog",
		NULL}},
	{CAP_DAC_READ_SEARCH, (const char *const[]){
		"open_by_handle_at",
		NULL}},
	{CAP_BPF, (const char *const[]){
		"bpf",
		NULL}},
	{CAP_PERFMON, (const char *const[]){
		"perf_event_open",
		NULL}},
};
// clang-format on

/* personality(2) values a container may set (Docker's list). */
static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

#define CLONE_NS_FLAGS 0x7E020000ULL /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */

static spec_seccomp_rule *new_rule(spec_seccomp *s, enum spec_seccomp_action act)
{
	s->rules = xreallocarray(s->rules, s->n_rules + 1, sizeof(*s->rules));
	spec_seccomp_rule *r = &s->rules[s->n_rules++];
	*r = (spec_seccomp_rule){.action = act};
	return r;
}

static void add_arg(spec_seccomp_rule *r, unsigned index, enum spec_seccomp_op op, uint64_t v,
		    uint64_t v2)
{
	r->args = xreallocarray(r->args, r->n_args + 1, sizeof(*r->args));
	r->args[r->n_args++] =
	    (spec_seccomp_arg){.index = index, .op = op, .value = v, .value_two = v2};
}

static bool has(uint64_t caps, int cap)
{
	return cap >= 0 && cap < 64 && (caps >> cap) & 1;
}

void seccomp_default_profile(uint64_t caps, spec_seccomp *out)
{
	spec_seccomp s = {.present = true, .default_action = SECCOMP_ACT_ERRNO};
	s.default_errno_ret = (opt_u64){.set = true, .v = EPERM};
#if defined(__x86_64__)
	strv_push(&s.architectures, "SCMP_ARCH_X86_64");
	strv_push(&s.architectures, "SCMP_ARCH_X86");
	strv_push(&s.architectures, "SCMP_ARCH_X32");
#elif defined(__aarch64__)
	strv_push(&s.architectures, "SCMP_ARCH_AARCH64");
	strv_push(&s.architectures, "SCMP_ARCH_ARM");
#endif
	spec_seccomp_rule *r = new_rule(&s, SECCOMP_ACT_ALLOW);
	r->names = strv_dup((char *const *)allow_always);

	for (size_t i = 0; i < ARRAY_SIZE(personas); i++) {
		r = new_rule(&s, SECCOMP_ACT_ALLOW);
		strv_push(&r->names, "personality");
		add_arg(r, 0, SECCOMP_OP_EQ, personas[i], 0);
	}

	/* Capability groups, merged into one allow rule without duplicates. */
	r = new_rule(&s, SECCOMP_ACT_ALLOW);
	for (size_t g = 0; g < ARRAY_SIZE(cap_groups); g++) {
		if (!has(caps, cap_groups[g].cap))
			continue;
		for (const char *const *n = cap_groups[g].names; *n; n++) {
			bool dup = false;
			for (size_t k = 0; r->names && r->names[k]; k++)
				dup = dup || !strcmp(r->names[k], *n);
			if (!dup)
				strv_push(&r->names, *n);
		}
	}
	if (!r->names)
		s.n_rules--; /* no capability granted anything */

	if (!has(caps, CAP_SYS_ADMIN)) {
		r = new_rule(&s, SECCOMP_ACT_ALLOW);
		strv_push(&r->names, "clone");
		add_arg(r, 0, SECCOMP_OP_MASKED_EQ, CLONE_NS_FLAGS, 0);
		r = new_rule(&s, SECCOMP_ACT_ERRNO);
		strv_push(&r->names, "clone3");
		r->errno_ret = (opt_u64){.set = true, .v = ENOSYS};
	}
	*out = s;
}

void seccomp_profile_clear(spec_seccomp *s)
{
	strv_free(s->architectures);
	strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_rules; i++) {
		strv_free(s->rules[i].names);
		free(s->rules[i].args);
	}
	free(s->rules);
	*s = (spec_seccomp){0};
}

static json_object *strv_json(char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

char *seccomp_profile_json(const spec_seccomp *s)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "defaultAction",
			       json_object_new_string(seccomp_action_name(s->default_action)));
	if (s->default_errno_ret.set)
		json_object_object_add(o, "defaultErrnoRet",
				       json_object_new_uint64(s->default_errno_ret.v));
	if (s->architectures)
		json_object_object_add(o, "architectures", strv_json(s->architectures));
	if (s->flags)
		json_object_object_add(o, "flags", strv_json(s->flags));
	if (s->listener_path)
		json_object_object_add(o, "listenerPath", json_object_new_string(s->listener_path));
	if (s->listener_metadata)
		json_object_object_add(o, "listenerMetadata",
				       json_object_new_string(s->listener_metadata));
	json_object *rules = json_object_new_array();
	for (size_t i = 0; i < s->n_rules; i++) {
		const spec_seccomp_rule *r = &s->rules[i];
		json_object *jr = json_object_new_object();
		json_object_object_add(jr, "names", strv_json(r->names));
		json_object_object_add(jr, "action",
				       json_object_new_string(seccomp_action_name(r->action)));
		if (r->errno_ret.set)
			json_object_object_add(jr, "errnoRet",
					       json_object_new_uint64(r->errno_ret.v));
		if (r->n_args) {
			json_object *args = json_object_new_array();
			for (size_t k = 0; k < r->n_args; k++) {
				const spec_seccomp_arg *a = &r->args[k];
				json_object *ja = json_object_new_object();
				json_object_object_add(ja, "index", json_object_new_int(a->index));
				json_object_object_add(ja, "value",
						       json_object_new_uint64(a->value));
				json_object_object_add(ja, "valueTwo",
						       json_object_new_uint64(a->value_two));
				json_object_object_add(
				    ja, "op", json_object_new_string(seccomp_op_name(a->op)));
				json_object_array_add(args, ja);
			}
			json_object_object_add(jr, "args", args);
		}
		json_object_array_add(rules, jr);
	}
	json_object_object_add(o, "syscalls", rules);
	char *text = xstrdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}
