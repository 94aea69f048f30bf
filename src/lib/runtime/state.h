/* The on-disk record of one container: <root>/<id>/state.json and friends. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/runtime.h"
#include "util/error.h"

#define STATE_FILE  "state.json"
#define CONFIG_COPY "config.json"
#define EXEC_SOCK   "exec.sock"
/* the cgroup, recorded as soon as it exists: a create killed before
 * state.json is written can still be cleaned up by delete */
#define CGROUP_FILE "cgroup.json"

typedef struct st_record {
	char *id;
	pid_t pid;
	uint64_t pid_start; /* /proc/<pid>/stat starttime, guards against pid reuse */
	char *bundle;
	char *rootfs;
	char *created;
	char *owner;
	char **annotations; /* "k=v" */
	bool own_pidns;	    /* the container has its own pid namespace */
	char *cgroup;	    /* serialized cgroup paths, NULL if none */
	/* start needs the config copy (poststart hooks, a seccomp notify
	 * listener); true too for a record without the field */
	bool start_config;
} st_record;

/* Open (and with create, make) the state root; returns an fd. */
int st_open_root(const char *root, bool create, berr *e);

/* mkdir <root>/<id> (error if it exists), returns its fd locked LOCK_EX. */
int st_create_dir(int rootfd, const char *id, berr *e);
/* Open an existing container dir; "container \"id\" does not exist" if not. */
int st_open_dir(int rootfd, const char *id, berr *e);
/* Remove <root>/<id> and everything in it. */
int st_remove_dir(int rootfd, const char *id, berr *e);

int st_write(int dirfd, const st_record *r, berr *e);
/* Returns 1 if read, 0 if there is no state.json yet (creating or debris). */
int st_read(int dirfd, st_record *r, berr *e);
void st_record_clear(st_record *r);

/* Start time of pid (field 22 of /proc/pid/stat), 0 if gone or a zombie. */
uint64_t st_pid_start_time(pid_t pid);

/* Is the recorded process still the one we started? */
bool st_process_alive(const st_record *r);

/* Derived status of a container dir (see runtime.h). */
enum rt_status st_status(int dirfd, const st_record *r, bool have_record);

/* RFC 3339 with nanoseconds, UTC. */
char *st_now_rfc3339(void);
/* The state JSON of the runtime spec (ociVersion, id, status, pid, bundle,
 * annotations). */
char *st_spec_state_json(const st_record *r, enum rt_status s);
