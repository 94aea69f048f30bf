/* The IPC, PID and UTS namespaces of `berth run/create` (--ipc, --pid, --uts)
 * and the container's cgroup parent (--cgroup-parent): nsmode.c.
 *
 * Modes, as Docker's (and Podman's, for --uts container:):
 *   --ipc  private (the default) | shareable | none | host | container:REF
 *   --pid  private (the default) | host | container:REF
 *   --uts  private (the default) | host | container:REF
 * host leaves the namespace out of config.json (the runtime's own is kept);
 * container:REF joins that container's namespace at every start (the path
 * /proc/<its init>/ns/<type> is written into config.json then: the target
 * must be running). --ipc shareable gives the container a /dev/shm that
 * others may join: a tmpfs at <container dir>/shm on the host, mounted at
 * start and unmounted at the exit, bound into the container; --ipc
 * container:REF binds that same tmpfs (REF must be shareable, as Docker
 * wants), never a path inside REF's root, which REF could point elsewhere.
 * --ipc host binds the host's /dev/shm; none mounts no /dev/shm.
 * --uts host/container: the host's or REF's host name; --hostname conflicts.
 *
 * --cgroup-parent P: cgroupsPath "P/<id>" (the runtime's rule: absolute from
 * the hierarchies' roots, relative under the caller's own cgroup), where the
 * default is "/berth/<id>". P itself stays after rm, as with Docker. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "engine/engine.h"

typedef enum {
	ENG_NS_PRIVATE,
	ENG_NS_HOST,
	ENG_NS_CONTAINER,
	ENG_NS_SHAREABLE, /* ipc only */
	ENG_NS_NONE,	  /* ipc only */
} eng_ns_kind;

typedef struct eng_ns_mode {
	eng_ns_kind kind;
	char target[65]; /* ENG_NS_CONTAINER: the target's id */
} eng_ns_mode;

typedef struct eng_ns_plan {
	eng_ns_mode ipc, pid, uts;
	char *hostname;	     /* --uts host/container: the name to use (malloc'ed), or NULL */
	char *cgroup_parent; /* --cgroup-parent, cleaned (malloc'ed), or NULL */
	bool rootless;
} eng_ns_plan;

/* Parse and check --ipc, --pid, --uts and --cgroup-parent (targets looked up:
 * they must exist; --ipc container: needs a shareable one). */
int eng_ns_plan_make(eng *g, const eng_run_opts *o, eng_ns_plan *p, berr *e);
void eng_ns_plan_free(eng_ns_plan *p);

/* Apply the plan to config.json (linux.namespaces, hostname, the /dev/shm
 * mount, linux.cgroupsPath); dir: the container's directory (its shm is
 * made there). */
int eng_ns_plan_config(eng *g, const eng_ns_plan *p, const char *id, const char *dir,
		       json_object *cfg, berr *e);
/* And to HostConfig: IpcMode, PidMode, UTSMode, CgroupParent. */
void eng_ns_plan_host_config(const eng_ns_plan *p, json_object *hc);

/* Before every start: the joined namespaces' paths written into
 * config.json (each target running, and for --ipc container: its shm
 * mounted), and a shareable container's own shm mounted. */
int eng_ns_prepare(eng *g, const char *id, json_object *doc, berr *e);

/* <dir>/shm unmounted if it is a mount (after the exit, at rm, by system
 * check); nothing to do is success. */
int eng_shm_unmount(const char *dir, berr *e);
