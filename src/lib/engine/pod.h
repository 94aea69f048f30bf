/* Pods (issue #18 part 1): containers that share namespaces and a cgroup
 * parent, as Podman's pods (pod.c).
 *
 * A pod is a record, <root>/pods/<id>.json (written atomically, changed
 * under the containers' lock), and its containers, each of whose
 * container.json has "Pod": <pod id>. With an infra container (the
 * default), that container holds the shared namespaces: it runs
 * berth-pause from the local image localhost/berth-pause:<version>, made on
 * first use (image_make_pause), and is named "<pod id, 12>-infra". The pod's
 * network (--network, -p) is the infra's; the members join its namespaces
 * (--share, Podman's default "ipc,net,uts"; pid on request) through the
 * --ipc/--network/--uts/--pid container: modes (nsmode.h), so the infra must
 * run while they do: starting a member starts its infra first.
 *
 * Every container of a pod gets the cgroup parent "/berth/pod-<pod id>"
 * (unless rootless: no parent then), removed with the pod.
 *
 * Record (Podman's `pod inspect` names): Id, Name, Created, Hostname,
 * SharedNamespaces [..], InfraContainerID ("" without infra), CgroupParent,
 * Labels {}, CreateInfra. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "util/version.h"

#define ENG_PAUSE_IMAGE "localhost/berth-pause:" BERTH_VERSION

typedef struct eng_pod_opts {
	const char *name;     /* NULL: a generated one */
	const char *hostname; /* NULL: the pod's name */
	const char *share;    /* "ipc,net,uts" when NULL; "" shares nothing */
	bool no_infra;
	char **labels; /* K=V */
	/* the infra's network: as `berth run`'s flags of the same names */
	const char *network;
	char **publish, **dns, **dns_search, **dns_opts, **add_hosts, **net_aliases;
	const char *ip, *mac;
	bool publish_all;
	const char *pause_image; /* NULL: ENG_PAUSE_IMAGE */
} eng_pod_opts;

/* Make the pod and its infra container (created, not started). An image
 * that is missing is ENOENT with *image_missing set (the front end makes it
 * and calls again). On error nothing is left. */
int eng_pod_create(eng *g, const eng_pod_opts *o, bool *image_missing, char id[65], berr *e);

/* Find a pod by id, name or unique id prefix: ENOENT "no such pod: x". */
int eng_pod_lookup(eng *g, const char *ref, char id[65], berr *e);
json_object *eng_pod_load(eng *g, const char *id, berr *e);
char **eng_pod_list(eng *g); /* ids (strv), sorted */
/* The pod's containers, the infra first, the others by creation time. */
char **eng_pod_members(eng *g, const char *id);

/* Podman's pod status from its containers' states: Created, Running,
 * Paused, Exited, Degraded (some running, not all), or Error (no
 * container). Into out. */
void eng_pod_status(eng *g, const char *id, char out[16]);

/* The record and the cgroup parent removed; the containers must be gone
 * (EBUSY names one that is not). */
int eng_pod_remove(eng *g, const char *id, berr *e);
/* The pod's cgroup parent, once the pod record is gone (best effort: a
 * member's cgroup still there keeps it). The trash sweeper calls it after a
 * member's runtime delete: a pod removed right after its members (rm -f,
 * kube down) had their cgroups still in it, as those go in the sweeper. */
void eng_pod_cgroup_gc(eng *g, const char *pod);

/* `run/create --pod REF`: the options of a member, from o with the pod's
 * shared namespaces, cgroup parent and "Pod" filled in (strings in *hold,
 * freed by eng_pod_member_free). Flags that conflict with what the pod
 * shares are refused, as Podman does (-p, --network, --ipc, --uts, --pid,
 * --hostname). */
typedef struct eng_pod_member {
	char pod[65];
	char *ipc, *net, *uts, *pid, *cgroup_parent;
} eng_pod_member;
int eng_pod_member_opts(eng *g, const char *ref, const eng_run_opts *o, eng_run_opts *out,
			eng_pod_member *hold, berr *e);
void eng_pod_member_free(eng_pod_member *hold);
