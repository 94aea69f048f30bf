/* Name tables: capabilities, signals, rlimits, namespaces. */
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "spec/spec.h"
#include "util/cleanup.h"

/* Kernel capability numbers (include/uapi/linux/capability.h). */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int spec_cap_from_name(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (!strcmp(cap_names[i], name))
			return (int)i;
	return -1;
}

const char *spec_cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

int spec_cap_last(void)
{
	return (int)ARRAY_SIZE(cap_names) - 1;
}

static const struct {
	const char *name;
	int sig;
} sig_names[] = {
    {"HUP", SIGHUP},	   {"INT", SIGINT},	{"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},	   {"ABRT", SIGABRT},	{"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},	   {"KILL", SIGKILL},	{"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},	   {"PIPE", SIGPIPE},	{"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},	{"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP},	   {"TSTP", SIGTSTP},	{"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},	   {"XCPU", SIGXCPU},	{"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},	   {"WINCH", SIGWINCH}, {"IO", SIGIO},	   {"POLL", SIGPOLL},
    {"PWR", SIGPWR},	   {"SYS", SIGSYS},
};

#define SIG_MAX 64

/* A decimal number in [lo, hi] spanning all of s, or -1. */
static int small_number(const char *s, int lo, int hi)
{
	if (!*s)
		return -1;
	int v = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
		if (v > hi)
			return -1;
	}
	return v < lo ? -1 : v;
}

int spec_signal_from_name(const char *s)
{
	if (!s || !*s)
		return -1;
	if (isdigit((unsigned char)s[0]))
		return small_number(s, 1, SIG_MAX);
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
		bool min = !strncasecmp(s, "RTMIN", 5);
		const char *rest = s + 5;
		int base = min ? SIGRTMIN : SIGRTMAX;
		if (!*rest)
			return base;
		if ((min && rest[0] != '+') || (!min && rest[0] != '-'))
			return -1;
		int off = small_number(rest + 1, 0, SIG_MAX);
		if (off < 0)
			return -1;
		int sig = min ? base + off : base - off;
		if (sig < SIGRTMIN || sig > SIGRTMAX)
			return -1;
		return sig;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sig_names); i++)
		if (!strcasecmp(sig_names[i].name, s))
			return sig_names[i].sig;
	return -1;
}

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int spec_rlimit_from_name(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (!strcmp(rlimit_names[i].name, s))
			return rlimit_names[i].res;
	return -1;
}

static const char *const ns_names[NS_COUNT] = {
    [NS_PID] = "pid", [NS_NET] = "network", [NS_MNT] = "mount",	    [NS_IPC] = "ipc",
    [NS_UTS] = "uts", [NS_USER] = "user",   [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
};

const char *spec_ns_name(enum spec_ns ns)
{
	if ((unsigned)ns >= NS_COUNT)
		return NULL;
	return ns_names[ns];
}
