/* The container engine: berth's daemonless container store and the config
 * model of `berth run` (Docker's flags + the image config -> an OCI bundle).
 *
 * Layout under <root>/containers/:
 *   .lock                      flock: shared for readers, exclusive to change
 *   <id>/container.json        our record (Docker's inspect shape, see below)
 *   <id>/config.json           the OCI bundle config handed to the runtime
 *   <id>/rootfs, upper, work   overlayfs mount point and its upper/work dirs
 *   <id>/hostname, hosts, resolv.conf   bind-mounted into the container
 *   <id>/ctr.log               json-file log written by berth-monitor
 *   <id>/exit                  "STATUS FINISHED_NS", written by the monitor
 *   <id>/attach.sock           the monitor's attach socket
 * Volumes: <root>/volumes/<name>/_data.
 *
 * container.json is a json-c document with Docker's field names (Id, Name,
 * Created, Path, Args, Config{...}, HostConfig{...}, Mounts[], State{...})
 * plus berth fields (State.MonitorPid, State.MonitorStart). Status is
 * never trusted from disk: eng_reconcile() derives it from the exit file,
 * the monitor's pid + start time and the runtime's state. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/runtime.h"
#include "util/error.h"

typedef struct eng {
	char *root;    /* store root */
	char *ctrs;    /* <root>/containers */
	char *rt_root; /* runtime state root */
	int ctrs_fd;   /* O_PATH of <root>/containers */
	int lock_fd;   /* <root>/containers/.lock */
	rt_ctx rt;
	bool trash_pending; /* removed containers wait in .trash for eng_close */
	int trash_lock;	    /* LOCK_SH of .trash.lock while ours wait or are swept */
	int sweeper_fd;	    /* socket to a pre-forked sweeper (eng_trash_prefork) */
} eng;

/* Whether a remover has containers waiting in .trash or is sweeping them
 * (what is there then is not garbage yet). */
bool eng_trash_busy(eng *g);

/* run_root: where the runtime keeps its state (<run_root>/runtime). */
eng *eng_open(const char *root, const char *run_root, berr *e);
void eng_close(eng *g);
/* flock on .lock (exclusive or shared); eng_unlock releases. */
int eng_lock(eng *g, bool exclusive, berr *e);
void eng_unlock(eng *g);

/* 64 random hex digits. */
void eng_new_id(char out[65]);
/* A random "adjective_name" style name not used yet (call under the lock). */
char *eng_new_name(eng *g);

/* Find a container by full id, name, or unique id prefix. ENOENT:
 * `no such container: x`. */
int eng_lookup(eng *g, const char *ref, char id[65], berr *e);
/* The same for many refs (rm, stop, kill of a list): the store's ids listed
 * and sorted once, each prefix found by binary search. */
typedef struct eng_ids {
	char **ids;
	size_t n;
} eng_ids;
eng_ids *eng_ids_load(eng *g);
void eng_ids_free(eng_ids *l);
int eng_lookup_in(eng *g, const eng_ids *l, const char *ref, char id[65], berr *e);
/* Names (names.c): id of the container named `name` (without the leading
 * '/'), or false; take a name (under the lock; EEXIST "the container name
 * ... is already in use by ..."); drop it if it still names `id`. */
bool eng_name_used(eng *g, const char *name, char id[65]);
int eng_name_take(eng *g, const char *name, const char *id, berr *e);
void eng_name_drop(eng *g, const char *name, const char *id);
/* All container ids (NULL-terminated, strv_free). */
char **eng_list(eng *g);

json_object *eng_load(eng *g, const char *id, berr *e);
int eng_save(eng *g, const char *id, json_object *doc, berr *e); /* atomic */
/* <root>/containers/<id>/<name> (malloc'ed). */
char *eng_path(eng *g, const char *id, const char *name);

/* Derived status written into doc's State: Status (created, running,
 * paused, exited; "creating" while its creator lives, "dead" when the
 * creator was killed half-way), Running, Paused, ExitCode, Pid,
 * FinishedAt. Returns the status string (static). */
const char *eng_reconcile(eng *g, const char *id, json_object *doc);

/* Start time of a pid (clock ticks since boot, field 22 of /proc/PID/stat);
 * 0 if the process does not exist. */
unsigned long long eng_proc_start(pid_t pid);

/* RFC 3339 with nanoseconds, UTC, for now or a CLOCK_REALTIME ns value. */
char *eng_time_now(void);
char *eng_time_ns(int64_t ns);
/* Parse back to ns (0 if unparsable). */
int64_t eng_time_parse(const char *s);

/* Remove the container: stop nothing (callers kill first), release the
 * image hold and the name, move the dir to .trash (gone for every command
 * from then), and with `volumes` its anonymous volumes (rm -v, run --rm).
 * The runtime delete, the rootfs unmount and the rm -rf happen in one
 * detached child that eng_close (eng_trash_flush) forks for all of the
 * process's removals. Idempotent. */
int eng_remove(eng *g, const char *id, bool volumes, berr *e);
/* Fork the child that purges .trash if this process put anything there. */
void eng_trash_flush(eng *g);
/* Purge what .trash holds, here (`berth container sweep`). */
void eng_trash_sweep(eng *g);
/* Fork the sweeper now, at a moment the caller would wait anyway (run --rm
 * while its container runs), not on the way out: it holds .trash.lock and
 * waits; eng_trash_flush then only tells it to go (or, with nothing in
 * .trash, to exit). */
void eng_trash_prefork(eng *g);
/* Purge .trash/NAME (tfd: .trash): runtime delete (cgroups, state) when
 * NAME is a container id, unmount its rootfs (a busy mount keeps it there,
 * never deleted through), rm -rf. */
int eng_trash_purge(eng *g, int tfd, const char *name, berr *e);
/* The rootfs overlay (overlay.c): kernel overlayfs (with userxattr in a
 * rootless store), or fuse-overlayfs where the kernel refuses it in the user
 * namespace or BERTH_STORAGE_DRIVER=fuse-overlayfs forces it. A plain
 * umount2 of target unmounts either (and ends the fuse daemon). */
int eng_overlay_mount(const char *lower, const char *upper, const char *work, const char *target,
		      berr *e);
bool eng_overlay_fuse_forced(void);
/* "fuse-overlayfs" when forced, else "overlay" (static). */
const char *eng_overlay_driver(void);
/* After exit: runtime delete (cgroup, state) and unmount the rootfs. */
int eng_cleanup(eng *g, const char *id, berr *e);

/* ---- run options -> OCI config (ctrspec.c) ------------------------------ */

/* --log-driver json-file|none, --log-opt max-size=,max-file= (logcfg.c). */
typedef struct eng_log_cfg {
	bool none;
	int64_t max_size; /* bytes, 0: no rotation */
	int max_file;	  /* files kept, >= 1 */
} eng_log_cfg;
int eng_log_cfg_parse(const char *driver, char *const *opts, eng_log_cfg *out, berr *e);
json_object *eng_log_cfg_json(const eng_log_cfg *c);	 /* HostConfig.LogConfig */
void eng_log_cfg_of(json_object *doc, eng_log_cfg *out); /* from container.json */

struct eng_probe; /* health.h */

typedef struct eng_run_opts {
	const char *image; /* as typed */
	char **command;	   /* after IMAGE, may be NULL */
	const char *name;
	char **env, **env_files;
	const char *workdir, *user, *entrypoint, *hostname;
	bool entrypoint_set;
	char **volumes, **mounts, **tmpfs;
	bool read_only, privileged, tty, interactive, rm, detach, init;
	const char *memory, *cpus, *pids_limit;
	char **cap_add, **cap_drop, **security_opt, **ulimits;
	const char *network; /* none, host, container:ID, a network name; NULL: the default */
	char **publish;	     /* -p specs */
	bool publish_all;    /* -P */
	char **expose, **net_aliases, **dns, **dns_search, **dns_opts, **add_hosts;
	const char *ip, *ip6, *mac;
	const char *log_driver;
	char **log_opts;
	const char *userns;	     /* --userns: host, keep-id[:uid=U,gid=G] (idmaps.h) */
	char **uidmaps, **gidmaps;   /* --uidmap/--gidmap CONTAINER:HOST:SIZE */
	const char *ipc, *pid, *uts; /* --ipc, --pid, --uts (nsmode.h); NULL: private */
	const char *cgroup_parent;   /* --cgroup-parent (nsmode.h) */
	const char *pod;	     /* --pod: the pod's id (pod.h: eng_pod_member_opts) */
	char **labels;		     /* --label K=V (over the image's labels) */
	bool pod_infra;		     /* this is the pod's infra container */
	/* restart policy and probes (health.h): --restart; the probes given
	 * (--health-*, kube probes) over the image's HEALTHCHECK; no_healthcheck
	 * (--no-healthcheck) drops the image's. readiness_hook: argv the
	 * prober runs when the readiness changes (kube play's Services). */
	const char *restart;
	const struct eng_probe *probes;
	size_t n_probes;
	bool no_healthcheck;
	char **readiness_hook;
	bool *image_missing; /* out (may be NULL): set when the image is not in the store */
	char **warning;	     /* out (may be NULL): a line for the front end to print (malloc'ed) */
} eng_run_opts;

/* `system check` of <root>/containers (check.c): leftovers of a kill -9
 * (directories without a record, stale names, .trash) are appended to
 * *garbage, and removed with repair (then also appended to *repaired). */
int eng_check(eng *g, bool repair, char ***garbage, char ***repaired, berr *e);

/* ---- volumes (volume.c): <root>/volumes/<name>/{_data,volume.json} ---- */
bool eng_volume_name_valid(const char *name);
/* <root>/volumes/<name>/_data (malloc'ed). */
char *eng_volume_data(eng *g, const char *name);
/* The volume `name` (NULL: a new anonymous one), made if missing with the
 * files under copy_from (a directory fd, or -1) copied in; *created says
 * whether this call made it. *out_name: its name (malloc'ed). */
int eng_volume_get(eng *g, const char *name, int copy_from, char **out_name, bool *created,
		   berr *e);
char **eng_volume_list(eng *g); /* names (strv) */
/* volume.json as an object; ENOENT "no such volume: x". */
json_object *eng_volume_inspect(eng *g, const char *name, berr *e);
bool eng_volume_anonymous(eng *g, const char *name);
/* A container whose Mounts name the volume (id), or false. */
bool eng_volume_user(eng *g, const char *name, char id[65]);
/* Remove a volume no container uses (EBUSY names the user). */
int eng_volume_remove(eng *g, const char *name, berr *e);

/* `docker info` of this store (info.c): a new object, Docker's field names;
 * run_root is reported as RunRoot. */
json_object *eng_info(eng *g, const char *run_root, berr *e);

/* The host's device nodes as linux.devices entries, for --privileged
 * (hostdev.c). */
json_object *eng_host_devices(void);

/* Make the container: dir, overlay mount, image hold, config.json and
 * container.json. On error nothing is left behind. Takes the lock itself.
 * monitor_path/init_path: the helper binaries (berth-monitor, berth-init). */
int eng_create(eng *g, const eng_run_opts *o, const char *init_path, char id[65], berr *e);

/* Resolve "user[:group]" against the rootfs' /etc/passwd and /etc/group
 * (in-root resolution). */
int eng_resolve_user(int rootfd, const char *uspec, uid_t *uid, gid_t *gid, gid_t **groups,
		     size_t *n_groups, char **home, berr *e);
/* Docker-like size "512m", "1g", "100k", "1024" -> bytes. */
int eng_parse_size(const char *s, int64_t *out);

/* Mount the container's overlay rootfs again if it is not mounted (start
 * after an exit). */
int eng_mount_rootfs(eng *g, const char *id, json_object *doc, berr *e);
