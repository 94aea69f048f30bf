/* The container's user namespace (`--userns`, `--uidmap`, `--gidmap`), as
 * Podman has them (idmaps.c, idmaps_chown.c).
 *
 * Ids here are of three kinds: the container's (inside the nested
 * namespace), the engine's (what berth sees: the host's for root, the
 * "intermediate" ids of the user's namespace when rootless, where the caller
 * is 0 and its /etc/subuid range is 1..N) and the host's. A map sends
 * container ids to engine ids.
 *
 *   (none), host, ""     no user namespace in config.json: the container
 *                        shares the engine's (for rootless, the user's).
 *   keep-id[:uid=U,gid=G] rootless only: container U is the caller (engine
 *                        id 0), 0..U-1 are engine 1..U, U+1..N are
 *                        engine U+1..N (Podman's layout); the process runs
 *                        as U:G unless --user says otherwise, with an
 *                        /etc/passwd and /etc/group entry added when the
 *                        image has none.
 *   --uidmap C:E:S ...   these ranges (repeatable); a missing --gidmap is
 *                        the --uidmap (and the other way round), as Podman.
 *
 * The image's files keep their owners as the container sees them: a nested
 * namespace gets a copy of the image's merged tree with every owner sent
 * through the map, cached per (layers, maps) under
 * <root>/containers/.idmapped/ (idmaps_chown.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "util/idmap.h"

typedef struct eng_idmaps {
	bool nested;	   /* a new user namespace for the container */
	bool keep_id;	   /* --userns=keep-id */
	uint32_t uid, gid; /* keep-id: the container's ids of the caller */
	uint32_t host_uid; /* keep-id: the caller's uid on the host (passwd) */
	const char *mode;  /* as given, for HostConfig.UsernsMode */
	idmap uids, gids;  /* container -> engine ids */
} eng_idmaps;

/* Parse and check the flags against the ids the engine has (EINVAL naming
 * the flag: bad syntax, overlapping ranges, ids not mapped into the user's
 * namespace, keep-id as root, --userns with --uidmap). */
int eng_idmaps_parse(const eng_run_opts *o, eng_idmaps *u, berr *e);

/* EINVAL when a numeric user spec ("" is 0:0) is not mapped: checked
 * before the image is copied (a name is checked by eng_idmaps_config). */
int eng_idmaps_check_user(const eng_idmaps *u, const char *uspec, berr *e);

/* The user spec the process runs as: keep-id's "U:G" unless one is given. */
const char *eng_idmaps_user(const eng_idmaps *u, const char *given, char *buf, size_t bufsz);

/* Engine id of container id `id` (idmap m), or `id` itself if unmapped. */
uint32_t eng_idmaps_to_engine(const idmap *m, uint32_t id);

/* linux.namespaces += user, linux.uidMappings, gidMappings; EINVAL when the
 * process's uid, gid or one of its groups is not mapped. */
int eng_idmaps_config(const eng_idmaps *u, json_object *cfg, uid_t uid, gid_t gid,
		      const gid_t *groups, size_t n_groups, berr *e);
/* HostConfig.UsernsMode (and UIDMaps, GIDMaps: "C:E:S" strings). */
void eng_idmaps_host_config(const eng_idmaps *u, json_object *hc);

/* keep-id: add the caller to the rootfs' /etc/passwd and /etc/group when
 * no entry has its uid/gid (Podman's), owned as the files it joins. */
int eng_idmaps_passwd(const eng_idmaps *u, const char *rootfs, berr *e);

/* The lowerdir to mount for the container: *lower itself without a nested
 * namespace, else (replacing *lower) the copy of its merged tree with the
 * owners mapped, made once per (layers, maps). dir: the container's
 * directory; it and its upper/ are given to the container's root (the
 * runtime reaches them by path from inside the namespace) and
 * <root>/containers gets o+x. Paths above <root> must be searchable by the
 * container's root too (root's default /var/lib/berth is; a rootless store
 * in a 0700 home is when the map includes the caller, as keep-id's). */
int eng_idmaps_lower(eng *g, const eng_idmaps *u, char **lower, const char *dir, berr *e);

/* A volume mounted into a nested namespace: <root>/volumes and the
 * volume's dir searchable by the container's root (ACL), a new volume's
 * _data given to it. An existing volume keeps its owners. */
int eng_idmaps_volume(eng *g, const eng_idmaps *u, const char *name, bool created, berr *e);

/* The container's hostname, hosts and resolv.conf (bind-mounted from its
 * dir) given to its root, as Podman does. */
int eng_idmaps_own_files(const eng_idmaps *u, const char *dir, berr *e);
