/* Control groups for the OCI runtime: one interface, one writer per mode.
 *
 * Modes (detected once by cgroup_ctx_detect(), carried in a cgroup_ctx):
 *   CGROUP_V1      every controller mounted under ROOT/<name> (cpu, memory, ...)
 *   CGROUP_V2      ROOT is a cgroup2 mount (unified)
 *   CGROUP_HYBRID  v1 controllers + cgroup2 at ROOT/unified. The v2 tree only
 *                  tracks processes; every limit (devices included) goes to v1.
 * The root ("/sys/fs/cgroup") is a parameter so tests can aim the writers at a
 * fake tree (cgroup_ctx_init()).
 *
 * How the runtime uses it:
 *   create:  cgroup_ctx_detect(); cgroup_resolve(ctx, cgroupsPath, id, systemd);
 *            cgroup_create(); cgroup_apply(); cgroup_serialize() -> state.json;
 *            cgroup_join_open(), clone3 with its v2 fd, cgroup_join_self() in
 *            the child (or cgroup_enter(init pid) from outside)
 *   start:   nothing
 *   pause/resume: cgroup_freeze(true/false); state: cgroup_is_frozen()
 *   update:  cgroup_apply() with the new resources (also usable on a live cgroup)
 *   events:  cgroup_stats() + cgroup_stats_json(); cgroup_oom_open/read() for OOM
 *   kill --all: cgroup_kill_all()
 *   delete:  cgroup_deserialize(state) then cgroup_destroy() (idempotent)
 *   mounts:  cgroup_mount_setup() for an OCI mount of type "cgroup".
 *
 * cgroupsPath (as runc reads it):
 *   "/a/b"    absolute: ROOT/<hierarchy>/a/b in each hierarchy
 *   "a/b"     relative: under the caller's own cgroup in each hierarchy
 *             (/proc/self/cgroup), as runc does
 *   ""/NULL   "/berth/<id>"
 *   "slice:prefix:name" with the systemd driver: refused with "systemd cgroup
 *             driver requested but systemd is not running" when
 *             /run/systemd/system is absent; when systemd runs, mapped to the
 *             cgroupfs path systemd would use (cgroup_systemd_path(); no D-Bus).
 *
 * Values that mean unset (absent, 0, "": cg_u64_given() and friends) are
 * never written and need no controller. Fields that the mode cannot honour
 * and that are safe to skip produce a warning string (pushed onto a
 * NULL-terminated strv the caller prints and frees with strv_free());
 * fields that would silently weaken a limit are errors, and so is a knob
 * the host's controller does not offer when the config asks for it, as in
 * runc (docs/engine.md has the table, field by field). Every write error
 * names the file and the value:
 *   cgroup /sys/fs/cgroup/memory/x/memory.limit_in_bytes: write 1000: Device or resource busy
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec/spec.h"
#include "util/error.h"

enum cgroup_mode { CGROUP_V1 = 1, CGROUP_V2, CGROUP_HYBRID };

/* v1 controller bits (also used for v2 controller names in messages). */
enum {
	CG_CPU = 1u << 0,
	CG_CPUACCT = 1u << 1,
	CG_CPUSET = 1u << 2,
	CG_MEMORY = 1u << 3,
	CG_DEVICES = 1u << 4,
	CG_FREEZER = 1u << 5,
	CG_BLKIO = 1u << 6,
	CG_PIDS = 1u << 7,
	CG_HUGETLB = 1u << 8,
	CG_NET_CLS = 1u << 9,
	CG_NET_PRIO = 1u << 10,
	CG_PERF_EVENT = 1u << 11,
	CG_RDMA = 1u << 12,
	CG_MISC = 1u << 13,
	CG_NAMED = 1u << 14, /* name=systemd and other named hierarchies */
};

typedef struct cgroup_hier {
	char *name;    /* directory under root: "memory", "cpu,cpuacct", "systemd" */
	unsigned ctrl; /* CG_* bits it carries */
} cgroup_hier;

typedef struct cgroup_ctx {
	enum cgroup_mode mode;
	char *root;	   /* "/sys/fs/cgroup" */
	char *proc_cgroup; /* "/proc/self/cgroup" (for relative paths) */
	bool systemd_running;
	cgroup_hier *hier; /* v1/hybrid hierarchies */
	size_t n_hier;
} cgroup_ctx;

/* Detect the mode of `root` (NULL = /sys/fs/cgroup) with statfs and find the
 * v1 hierarchies (cgroup mounts directly under root). */
int cgroup_ctx_detect(cgroup_ctx *ctx, const char *root, berr *e);
/* A context for a given mode and root without any filesystem checks (tests:
 * fake trees). v1 hierarchies are the directories under root (not symlinks),
 * named after the controllers they carry; "unified" is the v2 part of hybrid. */
int cgroup_ctx_init(cgroup_ctx *ctx, enum cgroup_mode mode, const char *root, berr *e);
void cgroup_ctx_clear(cgroup_ctx *ctx);
const char *cgroup_mode_name(enum cgroup_mode m);

/* One container's cgroup: the directory in every hierarchy. Self-contained
 * (copies what it needs from the ctx), so it can be rebuilt from state.json. */
typedef struct cgroup_dir {
	char *name;	  /* hierarchy name as in cgroup_hier, "" for the v2 tree */
	unsigned ctrl;	  /* CG_* (v1) or 0 (v2) */
	char *path;	  /* absolute directory */
	size_t n_created; /* how many trailing components cgroup_create() made */
} cgroup_dir;

typedef struct cgroup {
	enum cgroup_mode mode;
	char *path; /* the cgroups path as resolved ("/berth/x" or "rel/x") */
	cgroup_dir *v1;
	size_t n_v1;
	char *v2; /* v2 directory (v2 and hybrid), else NULL */
	size_t v2_created;
	char *v2_root; /* the v2 hierarchy root (NULL after deserialize) */
} cgroup;

/* Resolve cgroupsPath into directories (nothing is created). `systemd` says
 * the caller asked for the systemd driver (--systemd-cgroup). */
cgroup *cgroup_resolve(const cgroup_ctx *ctx, const char *cgroups_path, const char *id,
		       bool systemd, berr *e);
/* "machine.slice:libpod:abc" -> "/machine.slice/libpod-abc.scope";
 * "a-b.slice" expands to "/a.slice/a-b.slice". NULL + e on a malformed path. */
char *cgroup_systemd_path(const char *slice_path, const char *id, berr *e);
void cgroup_free(cgroup *cg);

/* mkdir in every hierarchy (parents too); on v1 cpuset copies cpus/mems down
 * from the parents, on v2 enables the available controllers in the parents'
 * cgroup.subtree_control. On any failure everything it made is removed. */
int cgroup_create(cgroup *cg, berr *e);
/* Which trees cgroup_create_part and cgroup_join_open_part deal with: the
 * runtime makes the v2 directory before the clone (CLONE_INTO_CGROUP) and,
 * on a v1 or hybrid host, the v1 directories after it, while the init sets
 * up its root. */
#define CG_PART_V1 1u
#define CG_PART_V2 2u
int cgroup_create_part(cgroup *cg, unsigned parts, berr *e);
/* Rootless (cgroup_rootless.c): cgroup_create() that keeps the hierarchies
 * the caller may write (EACCES/EPERM/EROFS drop one, other errors fail) and
 * never makes the devices hierarchy. *missing gets the CG_* bits it could
 * not get (v2: the controllers absent from the new cgroup.controllers).
 * Fails (errnum of the first refusal) when nothing at all could be made;
 * the dropped directories leave cg, so serialize it afterwards. */
int cgroup_create_rootless(cgroup *cg, unsigned *missing, berr *e);
/* The CG_* controllers the limits in r need (values meaning unset: none). */
unsigned cgroup_asked(const spec_resources *r);
/* Remove from r the limits of the `ctrl` controllers. */
void cgroup_unask(spec_resources *r, unsigned ctrl);
/* "memory, pids": the limits of `ctrl` as the warnings name them. */
char *cgroup_limit_names(unsigned ctrl);
/* Move a process into the cgroup in every hierarchy. */
int cgroup_enter(const cgroup *cg, pid_t pid, berr *e);
/* Only the v2 tree (after a clone3 whose CLONE_INTO_CGROUP was refused). */
int cgroup_enter_v2(const cgroup *cg, pid_t pid, berr *e);

/* How a new process enters the cgroup without a migration from outside.
 * Writing a pid to cgroup.procs takes the kernel's global threadgroup
 * rwsem for writing, and the first such write waits for an RCU grace
 * period (5-15 ms measured here; cgroup2's favordynmods avoids it, nobody
 * mounts with it). A single-threaded process writing "0" to a v1 `tasks`
 * file moves itself without that lock, and clone3(CLONE_INTO_CGROUP) puts
 * a child straight into the v2 tree. So: cgroup_join_open() in the parent,
 * clone3 with CLONE_INTO_CGROUP and `v2_dir` (when >= 0), then
 * cgroup_join_self() first thing in the (single-threaded) child. The fds
 * carry the opener's credentials, so the child may already be in a new
 * user namespace. */
typedef struct cgroup_join {
	int *v1_tasks; /* O_WRONLY fds of each v1 hierarchy's `tasks` */
	size_t n_v1;
	int v2_dir; /* O_PATH fd of the v2 directory, or -1 (v1 mode) */
} cgroup_join;
int cgroup_join_open(const cgroup *cg, cgroup_join *j, berr *e);
/* In the child: write "0" to every v1 `tasks` fd (the names of the files
 * are in the error). Closes the v1 fds. */
int cgroup_join_self(const cgroup *cg, cgroup_join *j, berr *e);
int cgroup_join_open_part(const cgroup *cg, cgroup_join *j, unsigned parts, berr *e);
/* In a (single-threaded) child made before its v1 directories existed:
 * open each v1 `tasks` file through hostroot (an fd of the host's "/",
 * opened before the clone, so the child's own mounts do not matter) and
 * write "0". */
int cgroup_join_self_v1_at(const cgroup *cg, int hostroot, berr *e);
void cgroup_join_close(cgroup_join *j);
/* Write linux.resources (create and update). Warnings are appended to *warn. */
int cgroup_apply(const cgroup *cg, const spec_resources *r, char ***warn, berr *e);
/* Freeze (true) or thaw; waits until the kernel reports the state (bounded). */
int cgroup_freeze(const cgroup *cg, bool frozen, berr *e);
int cgroup_is_frozen(const cgroup *cg, bool *frozen, berr *e);
/* Pids in the cgroup and its sub-cgroups (tracking tree: the v2 dir in v2
 * and hybrid, else the v1 pids/freezer hierarchy). *pids is malloc'ed. */
int cgroup_pids(const cgroup *cg, pid_t **pids, size_t *n, berr *e);
/* Kill everything: cgroup.kill when the kernel has it (v2 tree; in hybrid
 * too, the processes are tracked there), else freeze, SIGKILL every pid,
 * thaw, until empty (bounded, ~5 s). */
int cgroup_kill_all(const cgroup *cg, berr *e);
/* Signal every process, sub-cgroups included (kill --all with a signal
 * other than SIGKILL; no freeze, so a process forked meanwhile may be
 * missed). */
int cgroup_signal_all(const cgroup *cg, int sig, berr *e);
/* Remove every directory bottom-up (sub-cgroups of the container too),
 * killing leftovers (cgroup.kill, then SIGKILL on EBUSY, bounded ~2 s per
 * directory). Missing directories are fine: safe to call twice or after a
 * crash, from a cgroup rebuilt by cgroup_deserialize(). Parents that were
 * shared ("/berth") stay, as with runc. */
int cgroup_destroy(const cgroup *cg, berr *e);

/* O_PATH|O_DIRECTORY fd of the v2 directory for clone3 CLONE_INTO_CGROUP
 * (v2 and hybrid). -1 with e on v1. In hybrid it only places the child in
 * the v2 tree: cgroup_enter() is still needed for the v1 hierarchies. */
int cgroup_v2_dir_fd(const cgroup *cg, berr *e);

/* state.json: {"mode":"hybrid","path":"/berth/x","dirs":{"memory":"/sys/...",
 * ...,"":"/sys/fs/cgroup/unified/berth/x"}} as a json text (malloc'ed). */
char *cgroup_serialize(const cgroup *cg);
cgroup *cgroup_deserialize(const char *json, berr *e);

/* ---- stats (runc `events --stats`) ------------------------------------ */

typedef struct cgroup_mem_entry {
	uint64_t limit, usage, max, failcnt;
} cgroup_mem_entry;

typedef struct cgroup_blkio_entry {
	uint64_t major, minor, value;
	const char *op; /* "Read", "Write", "Sync", "Async", "Discard", "Total" */
} cgroup_blkio_entry;

typedef struct cgroup_stat_kv {
	char *key;
	uint64_t value;
} cgroup_stat_kv;

typedef struct cgroup_hugetlb_stat {
	char size[16]; /* "2MB" */
	uint64_t usage, max, failcnt;
} cgroup_hugetlb_stat;

typedef struct cgroup_stats {
	struct {
		uint64_t total, kernel, user;
		uint64_t *percpu;
		size_t n_percpu;
		uint64_t periods, throttled_periods, throttled_time;
	} cpu;
	struct {
		uint64_t cache;
		cgroup_mem_entry usage, swap, kernel, kernel_tcp;
		cgroup_stat_kv *raw; /* memory.stat as is */
		size_t n_raw;
	} memory;
	struct {
		uint64_t current, limit;
	} pids;
	struct {
		cgroup_blkio_entry *service_bytes, *serviced;
		size_t n_service_bytes, n_serviced;
	} blkio;
	cgroup_hugetlb_stat *hugetlb;
	size_t n_hugetlb;
} cgroup_stats;

int cgroup_stats_read(const cgroup *cg, cgroup_stats *st, berr *e);
void cgroup_stats_clear(cgroup_stats *st);
/* {"type":"stats","id":ID,"data":{...}} in runc's types.Stats shape. */
char *cgroup_stats_json(const cgroup_stats *st, const char *id);

/* ---- OOM events -------------------------------------------------------- */

typedef struct cgroup_oom {
	int fd;	       /* poll for POLLIN */
	bool inotify;  /* v2: inotify on memory.events; v1: eventfd */
	uint64_t seen; /* oom_kill count at open / last read */
	char *events;  /* file holding the oom_kill counter */
} cgroup_oom;

int cgroup_oom_open(const cgroup *cg, cgroup_oom *o, berr *e);
/* After POLLIN: drain the fd and report how many OOM events happened since
 * the last call in *n: kills counted, or on v1 the OOM notifications if
 * more (the kill may be counted only after the notification); 0 when the
 * wakeup was something else. v1 also signals the
 * eventfd when the cgroup is removed: then this fails with e->errnum ENOENT,
 * the caller's cue to stop watching. */
int cgroup_oom_read(cgroup_oom *o, uint64_t *n, berr *e);
/* The cgroup's oom_kill counter (memory.oom_control / memory.events). */
int cgroup_oom_count(const cgroup *cg, uint64_t *count, berr *e);
void cgroup_oom_close(cgroup_oom *o);

/* ---- mount inside the container --------------------------------------- */

/* For an OCI mount of type "cgroup" at `dest` inside the root `rootfd` (run in
 * the container's mount namespace before pivot_root). v2: with own cgroupns a
 * fresh cgroup2 mount, else a bind mount of the container's cgroup. v1/hybrid:
 * a tmpfs with one directory per hierarchy (the container's cgroup bind
 * mounted, or fresh v1 mounts with own cgroupns), symlinks for combined
 * controllers (cpu -> cpu,cpuacct), and "unified" in hybrid. MS_RDONLY in
 * flags makes all of it read-only. */
int cgroup_mount_setup(const cgroup *cg, int rootfd, const char *dest, unsigned long flags,
		       bool own_cgroupns, berr *e);

/* ---- internals shared by the drivers (cgroup_*.c) ---------------------- */

/* Write `val` to dir/file (O_WRONLY|O_APPEND, so a fake tree keeps a log). */
int cg_write(const char *dir, const char *file, const char *val, berr *e);
int cg_writef(const char *dir, const char *file, berr *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* cg_write for a value the config asked for: when dir exists but not the
 * file (the controller does not offer it), the message says so and names
 * the config field ("linux.resources.blockIO.weight"). */
int cg_set(const char *dir, const char *file, const char *field, const char *val, berr *e);
int cg_setf(const char *dir, const char *file, const char *field, berr *e, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "Unset" as runc and crun read linux.resources: a scalar absent or 0 (a
 * weight, shares, a limit or period of 0 asks for nothing), a string absent
 * or empty. Values the config gives but that mean unset are never written:
 * Docker sends `"blockIO": {"weight": 0}` and `"cpu": {"shares": 0}` for
 * every container, and 0 for every limit it does not change on update. */
static inline bool cg_u64_given(opt_u64 o)
{
	return o.set && o.v != 0;
}
static inline bool cg_i64_given(opt_i64 o)
{
	return o.set && o.v != 0;
}
static inline bool cg_str_given(const char *s)
{
	return s && *s;
}
/* mkdir -p of a cgroup directory (cpuset: cpus/mems copied down; v2_root:
 * controllers enabled from there down), counting the levels it made; and
 * the removal of those levels. */
int cg_mkdir_tracked(const char *path, bool cpuset, const char *v2_root, size_t *n_created,
		     berr *e);
void cg_rmdir_created(const char *path, size_t n);
/* Read dir/file; NULL + e on error (e->errnum = errno). */
char *cg_read(const char *dir, const char *file, berr *e);
bool cg_exists(const char *dir, const char *file);
/* hugepageLimits into dir: hugetlb.<size>.<limit>, and the reservation's
 * hugetlb.<size>.rsvd.<limit> where the kernel has it (as runc); limit is
 * "max" on v2, "limit_in_bytes" on v1. */
int cg_hugetlb_limits(const char *dir, const spec_resources *r, const char *limit, berr *e);
/* Value of "key N" in a flat-keyed file text; false if absent. */
bool cg_kv(const char *text, const char *key, uint64_t *v);
const char *cg_v1_dir(const cgroup *cg, unsigned ctrl);
/* checkBeforeUpdate: refuse a memory limit below the current usage. */
int cg_check_usage(const char *dir, const char *file, int64_t limit, berr *e);
int cg_apply_v1(const cgroup *cg, const spec_resources *r, char ***warn, berr *e);
int cg_v1_devices(const cgroup *cg, const spec_resources *r, berr *e);
int cg_apply_v2(const cgroup *cg, const spec_resources *r, char ***warn, berr *e);
int cg_stats_v1(const cgroup *cg, cgroup_stats *st, berr *e);
int cg_stats_v2(const cgroup *cg, cgroup_stats *st, berr *e);
/* runc's conversions. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
uint64_t cgroup_blkio_to_io_weight(uint64_t w);
/* memory.swap.max from (memory+swap, memory); -1 = "max", -2 = leave unset. */
int cgroup_swap_v2(int64_t swap, int64_t limit, int64_t *out, berr *e);

/* ---- eBPF device filter (cgroup_bpf.c) -------------------------------- */

struct bpf_insn;
/* Build a BPF_PROG_TYPE_CGROUP_DEVICE program for the rules (last matching
 * rule wins, default deny). *insns is malloc'ed. */
int cgroup_bpf_devices_prog(const spec_dev_rule *rules, size_t n, struct bpf_insn **insns,
			    size_t *n_insns, berr *e);
/* Load it; returns the prog fd. log (optional) receives the verifier log. */
int cgroup_bpf_load(const struct bpf_insn *insns, size_t n, char *log, size_t logsz, berr *e);
/* Load and attach to the v2 cgroup dir (BPF_F_ALLOW_MULTI), then detach the
 * device programs that were attached before (update replaces the rules). */
int cgroup_bpf_devices_apply(const char *dir, const spec_dev_rule *rules, size_t n, berr *e);
