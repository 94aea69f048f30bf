/* The OCI runtime configuration (config.json, runtime-spec 1.1+), as one
 * in-memory model, parsed and validated in one place (spec_parse.c).
 *
 * Everything the runtime, cgroup and seccomp modules need is here, already
 * converted to kernel terms where that is unambiguous (mount flags, signal
 * and capability numbers, rlimit resources). Optional scalars use the opt_*
 * types: `.set` says whether the config named the field. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

typedef struct opt_i64 {
	bool set;
	int64_t v;
} opt_i64;
typedef struct opt_u64 {
	bool set;
	uint64_t v;
} opt_u64;

typedef struct spec_kv {
	char *key;
	char *value;
} spec_kv;

/* ---- process -------------------------------------------------------- */

typedef struct spec_rlimit {
	int resource; /* RLIMIT_* */
	char *type;   /* as written, e.g. "RLIMIT_NOFILE" (for messages) */
	uint64_t soft, hard;
} spec_rlimit;

/* Capability sets as bitmasks of CAP_* numbers (bit n = capability n). */
typedef struct spec_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
} spec_caps;

typedef struct spec_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
} spec_user;

typedef struct spec_process {
	bool terminal;
	bool has_console_size;
	unsigned console_height, console_width;
	spec_user user;
	char **args; /* NULL-terminated, at least one */
	char **env;  /* NULL-terminated, "K=V" */
	char *cwd;   /* absolute */
	bool has_caps;
	spec_caps caps;
	spec_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	opt_i64 oom_score_adj;
	char *apparmor_profile;
	char *selinux_label;
	/* Names in the config that this kernel/libcap does not know: the
	 * front end warns about them (the spec says warn, not fail). */
	char **unknown_caps;
} spec_process;

/* ---- mounts --------------------------------------------------------- */

typedef struct spec_mount {
	char *destination; /* absolute, inside the container */
	char *type;	   /* may be NULL for bind mounts */
	char *source;	   /* may be NULL */
	char **options;	   /* as written */
	/* parsed from options */
	unsigned long flags;	   /* MS_* to set (MS_BIND|MS_REC for rbind) */
	unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, dev, ...) */
	unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [|MS_REC] */
	char *data;		   /* remaining options joined by ',' for mount(2) data */
	bool bind;
	bool rro; /* recursive read-only (mount_setattr) */
} spec_mount;

/* ---- hooks ---------------------------------------------------------- */

typedef struct spec_hook {
	char *path;
	char **args;
	char **env;
	int timeout; /* seconds; 0 = none */
} spec_hook;

enum spec_hook_kind {
	HOOK_PRESTART,
	HOOK_CREATE_RUNTIME,
	HOOK_CREATE_CONTAINER,
	HOOK_START_CONTAINER,
	HOOK_POSTSTART,
	HOOK_POSTSTOP,
	HOOK_KINDS
};

typedef struct spec_hooks {
	spec_hook *list[HOOK_KINDS];
	size_t n[HOOK_KINDS];
} spec_hooks;

/* ---- linux: namespaces, ids, devices -------------------------------- */

enum spec_ns { NS_PID, NS_NET, NS_MNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME, NS_COUNT };

typedef struct spec_namespace {
	bool present; /* listed in linux.namespaces */
	char *path;   /* join this one instead of creating a new one */
	size_t index; /* i in linux.namespaces[i], for messages */
} spec_namespace;

typedef struct spec_idmap {
	uint32_t container_id, host_id, size;
} spec_idmap;

typedef struct spec_device {
	char *path;
	char type; /* 'c', 'b', 'u' (= c), 'p' */
	int64_t major, minor;
	bool has_mode;
	mode_t mode;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
} spec_device;

typedef struct spec_time_offset {
	bool set;
	int64_t secs;
	uint32_t nanosecs;
} spec_time_offset;

/* ---- linux.resources ------------------------------------------------ */

typedef struct spec_dev_rule { /* linux.resources.devices[] (cgroup rules) */
	bool allow;
	char type;	      /* 'a', 'c', 'b' */
	int64_t major, minor; /* -1 = wildcard */
	char access[4];	      /* subset of "rwm" */
} spec_dev_rule;

typedef struct spec_weight_device {
	int64_t major, minor;
	opt_u64 weight, leaf_weight;
} spec_weight_device;

typedef struct spec_throttle_device {
	int64_t major, minor;
	uint64_t rate;
} spec_throttle_device;

typedef struct spec_hugepage {
	char *page_size; /* "2MB", "1GB" */
	uint64_t limit;
} spec_hugepage;

typedef struct spec_resources {
	bool present;
	struct {
		opt_i64 limit, reservation, swap, kernel, kernel_tcp;
		opt_u64 swappiness;
		bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;
	struct {
		opt_u64 shares, period, realtime_period, burst;
		opt_i64 quota, realtime_runtime, idle;
		char *cpus, *mems;
	} cpu;
	opt_i64 pids_limit;
	struct {
		opt_u64 weight, leaf_weight;
		spec_weight_device *weight_device;
		size_t n_weight_device;
		spec_throttle_device *throttle[4]; /* read_bps, write_bps, read_iops, write_iops */
		size_t n_throttle[4];
	} block_io;
	spec_hugepage *hugepages;
	size_t n_hugepages;
	spec_kv *unified;
	size_t n_unified;
	spec_dev_rule *devices;
	size_t n_devices;
	struct {
		opt_u64 class_id;
		spec_kv *priorities; /* name -> priority as text */
		size_t n_priorities;
	} network;
} spec_resources;

enum spec_throttle_kind {
	THROTTLE_READ_BPS,
	THROTTLE_WRITE_BPS,
	THROTTLE_READ_IOPS,
	THROTTLE_WRITE_IOPS
};

/* ---- linux.seccomp -------------------------------------------------- */

enum spec_seccomp_action {
	SECCOMP_ACT_KILL, /* = kill_thread */
	SECCOMP_ACT_KILL_PROCESS,
	SECCOMP_ACT_KILL_THREAD,
	SECCOMP_ACT_TRAP,
	SECCOMP_ACT_ERRNO,
	SECCOMP_ACT_TRACE,
	SECCOMP_ACT_ALLOW,
	SECCOMP_ACT_LOG,
	SECCOMP_ACT_NOTIFY,
};

enum spec_seccomp_op {
	SECCOMP_OP_NE,
	SECCOMP_OP_LT,
	SECCOMP_OP_LE,
	SECCOMP_OP_EQ,
	SECCOMP_OP_GE,
	SECCOMP_OP_GT,
	SECCOMP_OP_MASKED_EQ,
};

typedef struct spec_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	enum spec_seccomp_op op;
} spec_seccomp_arg;

typedef struct spec_seccomp_rule {
	char **names;
	enum spec_seccomp_action action;
	opt_u64 errno_ret;
	spec_seccomp_arg *args;
	size_t n_args;
} spec_seccomp_rule;

typedef struct spec_seccomp {
	bool present;
	enum spec_seccomp_action default_action;
	opt_u64 default_errno_ret;
	char **architectures; /* "SCMP_ARCH_X86_64", ... */
	char **flags;	      /* "SECCOMP_FILTER_FLAG_LOG", ... */
	char *listener_path;
	char *listener_metadata;
	spec_seccomp_rule *rules;
	size_t n_rules;
} spec_seccomp;

/* ---- the whole config ----------------------------------------------- */

typedef struct spec_linux {
	spec_namespace ns[NS_COUNT];
	spec_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	spec_time_offset time_monotonic, time_boottime;
	spec_device *devices;
	size_t n_devices;
	spec_kv *sysctl;
	size_t n_sysctl;
	char *cgroups_path;
	spec_resources resources;
	spec_seccomp seccomp;
	unsigned long rootfs_propagation; /* MS_* or 0 = default (rslave) */
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
	bool has_personality;
	unsigned long personality; /* PER_LINUX or PER_LINUX32 */
	bool has_intel_rdt;	   /* not supported: rejected at create */
} spec_linux;

typedef struct spec {
	char *oci_version;
	char *root_path; /* as written (absolute, or relative to the bundle) */
	bool root_readonly;
	bool has_process;
	spec_process process;
	char *hostname;
	char *domainname;
	spec_mount *mounts;
	size_t n_mounts;
	spec_hooks hooks;
	spec_kv *annotations;
	size_t n_annotations;
	bool has_linux;
	spec_linux linux_;
} spec;

/* Parse a config.json text. `file` names it in messages ("config.json").
 * On error *out is untouched and e says e.g.
 *   config.json: linux.namespaces[2].type: unknown namespace "foo" */
int spec_parse(const char *json, size_t len, const char *file, spec **out, berr *e);

/* Read and parse BUNDLE/config.json. */
int spec_load(const char *bundle, spec **out, berr *e);

/* Parse a process object alone (for `exec --process FILE`). */
int spec_parse_process(const char *json, size_t len, const char *file, spec_process *out, berr *e);
void spec_process_clear(spec_process *p);

void spec_free(spec *s);

/* The default config.json that `berth-runtime spec` writes (runc's default:
 * sh, terminal, pid/net/ipc/uts/mount/cgroup namespaces, default mounts,
 * masked and readonly paths). `rootless` gives runc's `spec --rootless`.
 * Returns a malloc'ed, pretty-printed JSON text. */
char *spec_default_json(bool rootless);

/* The runtime-spec "features" document for `berth-runtime features`. */
char *spec_features_json(void);

/* Name tables shared with the CLI. Return -1 if unknown. */
int spec_cap_from_name(const char *name);  /* "CAP_SYS_ADMIN" -> 21 */
const char *spec_cap_name(int cap);	   /* 21 -> "CAP_SYS_ADMIN", NULL if unknown */
int spec_cap_last(void);		   /* highest capability number known */
int spec_signal_from_name(const char *s);  /* "KILL", "SIGKILL", "9", "SIGRTMIN+3" */
int spec_rlimit_from_name(const char *s);  /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE */
const char *spec_ns_name(enum spec_ns ns); /* NS_NET -> "network" */
