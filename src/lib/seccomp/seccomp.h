/* seccomp for container processes (linux.seccomp of the OCI runtime spec).
 *
 * Compiling a profile with libseccomp is the slow part (milliseconds for a
 * Docker-sized profile), so the runtime does it in the parent BEFORE cloning
 * the container process: seccomp_compile() turns the spec model into a plain
 * classic-BPF program and releases libseccomp. The child then only calls
 * seccomp_install(), which is one seccomp(2) syscall: no allocation, no
 * library state, safe right before execve.
 *
 * Where the child installs it (as runc does):
 *   - process.noNewPrivileges = true: set PR_SET_NO_NEW_PRIVS, then install as
 *     the LAST step before execve, after setuid/setgid and capability drops,
 *     so the filter does not have to allow the setup syscalls.
 *   - noNewPrivileges = false: the kernel only lets a task with CAP_SYS_ADMIN
 *     (in its user namespace) install a filter without NO_NEW_PRIVS, so install
 *     BEFORE dropping capabilities / changing uid; the filter must then allow
 *     what follows (capset, setuid, setgroups, prctl, execve ...).
 * With a notify rule, install returns the listener fd; the runtime hands it to
 * the parent (SCM_RIGHTS or pidfd_getfd) and the parent calls
 * seccomp_send_listener() for linux.seccomp.listenerPath. Note that the notify
 * action is refused for "write" and as the default action (as runc): the child
 * could otherwise block forever reporting the fd.
 *
 * Semantics follow runc:
 *   - syscall names libseccomp does not know are skipped with a warning;
 *   - a rule whose action equals the default action is skipped;
 *   - conditions of one rule are ANDed, unless two of them test the same
 *     argument index: then every condition becomes its own rule (ORed);
 *   - errno/trace without errnoRet use EPERM;
 *   - unknown architecture or flag names are errors;
 *   - syscalls newer than every syscall the profile names (on the native
 *     architecture) fail with ENOSYS instead of the default errno/kill, so
 *     programs fall back to older syscalls (runc's "patchbpf"), when the default
 *     action is not allow/log. */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h"
#include "util/error.h"

typedef struct seccomp_prog {
	struct sock_filter *insns; /* NULL when len == 0 (no filter) */
	size_t len;
	unsigned flags;	 /* SECCOMP_FILTER_FLAG_* for seccomp(2), incl. NEW_LISTENER */
	bool notify;	 /* some rule uses SCMP_ACT_NOTIFY: install returns a listener */
	char **warnings; /* NULL-terminated (or NULL): unknown syscalls skipped, ... */
} seccomp_prog;

/* Compile the profile. A profile with present == false gives an empty
 * program (install is then a no-op). Errors name the field, e.g.
 *   linux.seccomp.flags: unknown flag "SECCOMP_FILTER_FLAG_FOO" */
int seccomp_compile(const spec_seccomp *s, seccomp_prog *out, berr *e);
void seccomp_prog_free(seccomp_prog *p);

/* seccomp_compile through a cache of compiled programs in cache_dir (made
 * 0700 if missing; ignored unless owned by us and private). profile_json is
 * the profile's JSON text as written in the config: the exact cache key,
 * with libseccomp's version and API level. */
int seccomp_compile_cached(const spec_seccomp *s, const char *profile_json, const char *cache_dir,
			   seccomp_prog *out, berr *e);

/* Install in the calling thread (the container process, right before execve).
 * `flags` are extra SECCOMP_FILTER_FLAG_* bits ORed with p->flags. Only
 * syscalls: async-signal-safe and allocation-free. *listener_fd (may be NULL)
 * receives the notify listener (O_CLOEXEC), or -1 when no rule notifies. */
int seccomp_install(const seccomp_prog *p, unsigned flags, int *listener_fd, berr *e);

/* Send the container process state to the seccomp agent at listener_path
 * (a unix stream socket), with listener_fd attached via SCM_RIGHTS, as the
 * runtime spec describes:
 *   {"ociVersion", "fds":["seccompFd"], "pid", "metadata", "state":{...}}
 * state_json is the container's state document (ociVersion, id, status, pid,
 * bundle, annotations); pid and ociVersion are taken from it. metadata may be
 * NULL (then omitted). */
int seccomp_send_listener(const char *listener_path, int listener_fd, const char *state_json,
			  const char *metadata, berr *e);

/* ---- the engine's default profile (profile.c) ------------------------ */

/* Fill *out with berth's default profile, in the spirit of Docker's/Podman's
 * (see docs in profile.c): default SCMP_ACT_ERRNO with errnoRet EPERM, an
 * allowlist of ~330 syscalls, personality and clone restricted by argument,
 * clone3 -> ENOSYS, plus syscalls granted by the capabilities in `caps`
 * (bitmask, bit n = capability n: CAP_SYS_ADMIN -> mount/unshare/setns/...,
 * CAP_SYS_PTRACE -> ptrace/process_vm_*, ...). Everything is malloc'ed; free
 * with seccomp_profile_clear(). */
void seccomp_default_profile(uint64_t caps, spec_seccomp *out);
void seccomp_profile_clear(spec_seccomp *s);

/* The profile as the JSON text of an OCI linux.seccomp object (for the
 * engine to put into a config.json). Malloc'ed, pretty-printed. */
char *seccomp_profile_json(const spec_seccomp *s);

/* Names for messages and JSON ("SCMP_ACT_ERRNO", "SCMP_CMP_MASKED_EQ"). */
const char *seccomp_action_name(enum spec_seccomp_action a);
const char *seccomp_op_name(enum spec_seccomp_op op);
