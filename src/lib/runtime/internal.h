/* Shared between the runtime's files; not part of its public contract. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "lsm/lsm.h"
#include "runtime/runtime.h"
#include "seccomp/seccomp.h"
#include "spec/spec.h"
#include "util/error.h"

/* Everything the container's init needs; built by the parent before clone,
 * inherited by the child through fork's copy of memory. */
/* v1 cgroups made after the clone: the parent creates and limits them
 * while the init sets up its root, says SYNC_CG_READY, and the init joins
 * them (and makes its cgroup namespace) before its first cgroup mount
 * (launch_join_late). */
typedef struct launch_cg_late {
	bool pending;
	int hostroot; /* O_PATH fd of the host's "/", opened before the clone */
} launch_cg_late;

typedef struct rt_launch {
	const spec *s;
	const char *id;
	const char *bundle; /* absolute */
	const char *rootfs; /* absolute */
	int sync_fd;	    /* child's end of the socketpair */
	int console_fd;	    /* connected --console-socket, or -1 */
	int exec_listen_fd; /* create mode: listening exec.sock; run mode: -1 */
	int state_fds[2];   /* the state root and the container's locked state
			     * directory: the first processes close their
			     * copies at once (the lock says "creating") */
	bool send_pty;	    /* run/exec attach: send the pty master to the parent */
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	bool wait_go;		 /* init waits until the parent wrote maps / entered the cgroup */
	uint64_t unshare_first;	 /* CLONE_NEW* the init makes itself, first thing */
	const cgroup *cg;	 /* the container's cgroup (never NULL once created) */
	cgroup_join *cgj;	 /* fds to join it with (cgroup_join_self), or NULL */
	launch_cg_late *cg_late; /* NULL unless the v1 cgroups come late */
	const seccomp_prog *sec;
	lsm_host lsm;
} rt_launch;

/* ---- create.c ---- */
/* linux.seccomp of a config text as compact JSON (NULL if none). */
char *config_seccomp_json(const char *config_text);
/* seccomp_compile through the cache in <state root>/.seccomp-cache. */
int compile_seccomp(rt_ctx *c, const spec_seccomp *sc, const char *config_text, seccomp_prog *out,
		    berr *e);
/* The runtime-spec state JSON for hooks. */
char *launch_state_json(const rt_launch *l, pid_t pid, const char *status);
/* Hooks that need the parent/child handshake before pivot_root. */
bool launch_has_hooks(const spec *s);

/* ---- init.c ---- */
/* In the init: wait for SYNC_CG_READY and join the late v1 cgroups, then
 * make the cgroup namespace; nothing if there is nothing pending. */
int launch_join_late(const rt_launch *l, berr *e);

/* ---- ops.c: an existing container ---- */
#include "runtime/state.h"
typedef struct container {
	int rootfd, dirfd;
	st_record r;
	bool have; /* state.json was there */
	enum rt_status status;
} container;
int container_open(rt_ctx *c, const char *id, container *k, berr *e);
void container_close(container *k);
/* pidfd of the recorded process, verified against its start time. */
int container_pidfd(const st_record *r);
/* The config copied at create time, parsed; *text_out (if given) gets
 * its text. NULL with e set when missing or broken. */
spec *container_config(const container *k, char **text_out, berr *e);
/* The container's cgroup from state.json (NULL if it has none). */
cgroup *container_cgroup(const container *k);

/* ---- seccomp in the init/exec child ---- */
/* Install the filter; a notify listener goes to the parent over `report`
 * (SYNC_SECCOMP with the fd attached) for the seccomp agent. */
int process_install_seccomp(const seccomp_prog *sec, int report, berr *e);
/* release.c: GO to the init, forward a seccomp listener, wait for execve
 * (returns 0) or its error. */
int release_init(int sock, const spec *s, const char *state_json, berr *e);
/* Parent side: hand a received listener fd to linux.seccomp.listenerPath. */
int seccomp_forward_listener(const spec *s, int fd, const char *state_json, berr *e);

/* ---- init.c: the container side (never returns) ---- */
_Noreturn void rt_init_main(rt_launch *l);
/* Stage 1 when namespaces are joined by path or a time ns is made. */
_Noreturn void rt_stage1_main(rt_launch *l, uint64_t new_flags);

/* ---- ns.c ---- */
int ns_clone_flag(enum spec_ns ns);
/* CLONE_NEW* flags for the namespaces the config asks to create. */
uint64_t ns_new_flags(const spec *s);
bool ns_needs_two_stages(const spec *s);
/* setns() into every namespace given by path, user first. */
int ns_join_paths(const spec *s, berr *e);
int ns_write_id_maps(pid_t pid, const spec *s, berr *e);
int ns_write_time_offsets(const spec *s, berr *e);
pid_t ns_clone(uint64_t flags, int *pidfd);
/* ns_clone into the v2 cgroup behind cgroup_fd (-1: none) with
 * CLONE_INTO_CGROUP; *placed tells the parent whether that happened (if the
 * kernel refused, the child was made without it and must be moved). */
pid_t ns_clone_into(uint64_t flags, int *pidfd, int cgroup_fd, bool *placed);

/* ---- rootfs.c / mounts.c / devices.c ---- */
int rootfs_prepare(const rt_launch *l, int *rootfd, berr *e);
int rootfs_pivot(const rt_launch *l, berr *e);
int rootfs_finish(const rt_launch *l, berr *e); /* after pivot: ro root, masks, sysctl */
int mount_one(const rt_launch *l, int rootfd, const spec_mount *m, size_t idx, berr *e);
int devices_create(const rt_launch *l, int rootfd, berr *e);
/* tmpcopyup: copy a directory's content (fd before the mount) into the new
 * mount (fd after it). */
int mount_copy_up(int src_dirfd, int dst_dirfd, berr *e);
/* Remount `target_fd`'s mount with flags, keeping the flags a user namespace
 * locked (nosuid, nodev, noexec, atime). */
int mount_remount_bind(int target_fd, unsigned long flags, berr *e);
/* Bind src_fd's file or tree onto dst_fd; a read-only empty tmpfs onto the
 * directory dst_fd (masking). Through /proc/self/fd, or, where the root
 * has no /proc, through the fd-based mount calls. */
int mount_bind_fd(int src_fd, int dst_fd, bool recursive, berr *e);
int mount_mask_dir(int dst_fd, berr *e);

/* ---- process.c ---- */
int process_apply_rlimits(const spec_process *p, berr *e);
int process_lookup_exe(const spec_process *p, char *out, size_t outsz, berr *e);
int process_set_identity(const spec_process *p, berr *e); /* caps, groups, uid, gid */
/* Marks every fd from 3 + preserve_fds close-on-exec (close_range, else a
 * walk of /proc/self/fd) and keeps 3 .. 3 + preserve_fds - 1 open across
 * execve. Call while /proc is the host's and before any seccomp filter. */
int process_prepare_fds(int preserve_fds, berr *e);
int process_set_oom_score(const spec_process *p, berr *e);
/* HOME from the container's /etc/passwd (or "/") when the env lacks it, as
 * runc does; call inside the container's root. */
void process_default_home(spec_process *p);
/* Everything between "released" and execve: LSM label, seccomp (before or
 * after the identity, as runc orders it), identity, cwd, no_new_privs. The
 * fds must already be prepared (process_prepare_fds). */
int process_finish(const spec_process *p, const seccomp_prog *sec, const lsm_host *lsm, int report,
		   berr *e);

/* ---- terminal.c ---- */
/* Open a pty from the current /dev/ptmx; returns master, *slave. */
int term_open_pty(const spec_process *p, int *slave, berr *e);
int term_send_master(int sock, int master, berr *e);
int term_make_controlling(int slave, bool bind_console, berr *e);
/* Parent side: proxy the caller's stdio to the pty master until the
 * child exits; returns the wait status through *status. */
int term_attach_and_wait(int master, pid_t child, int pidfd, int *status, berr *e);

/* ---- hooks.c ---- */
/* prestart, createRuntime, createContainer, startContainer: the first
 * failure stops the sequence and fails the operation. */
int hooks_run(const spec *s, enum spec_hook_kind kind, const char *state_json, berr *e);
/* poststart, poststop: every hook runs; each failure is appended to
 * *warnings ("hooks.poststop[1]: /bin/false: exited with status 1").
 * Returns the number of failures. */
size_t hooks_run_all(const spec *s, enum spec_hook_kind kind, const char *state_json,
		     char ***warnings);
const char *hooks_kind_name(enum spec_hook_kind kind);

/* ---- wait.c ---- */
/* Forward signals to pid and wait for it; status as from waitpid. */
int wait_forwarding(pid_t pid, int pidfd, int *status, berr *e);
/* Block the signals wait_forwarding forwards (the mask before: old). */
void wait_block_forwarded(sigset_t *old);
int status_to_exit_code(int status);
/* A detached process that holds the container's mount namespace until its
 * init (pidfd) is gone, so its teardown is not in the wait (see wait.c). */
int ns_hold_open(pid_t pid);
/* Forks the holder (or returns -1: then the caller waits for the
 * teardown); *order_fd is its end of a socketpair: "g" (send with
 * MSG_NOSIGNAL: the holder may have been killed) once the caller
 * has renamed the container's state directory (in the state root, rootfd)
 * to ns_holder_trash_name(holder): the holder deletes it after the init's
 * end, off the caller's path. EOF: nothing to delete. */
pid_t ns_holder_start(int nsfd, int pidfd, int rootfd, int *order_fd);
void ns_holder_trash_name(pid_t holder, char *buf, size_t size);
