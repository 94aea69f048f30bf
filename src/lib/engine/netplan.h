/* The network part of `berth run/create` (netplan.c): checked before
 * anything is made, applied once the container has an id and a directory. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "engine/engine.h"

typedef struct eng_net_plan {
	char *mode;   /* "none", "host", "container:<id>", or a network name */
	bool bridged; /* a network of berth's: a lease, a veth */
	json_object *bindings,
	    *exposed; /* HostConfig.PortBindings, Config.ExposedPorts additions */
	bool leased;
	char ctr_ref[65]; /* container: mode: the target's id */
} eng_net_plan;

/* --network, -p, -P, --expose, --ip, --mac-address, --network-alias, --dns*,
 * --add-host checked. rootless: no bridge (none unless asked). */
int eng_net_plan_make(eng *g, const eng_run_opts *o, eng_net_plan *np, berr *e);
/* Lease the address, write dir/hosts and dir/resolv.conf (hostname given),
 * and add NetworkSettings, HostConfig.NetworkMode/PortBindings/PublishAllPorts
 * and Config.ExposedPorts to doc's parts. */
int eng_net_plan_apply(eng *g, eng_net_plan *np, const eng_run_opts *o, const char *id,
		       const char *name, const char *dir, const char *hostname,
		       char *const *image_exposed, json_object *hc, json_object *cf,
		       json_object *doc, berr *e);
/* A failed create: the lease freed. */
void eng_net_plan_undo(eng *g, eng_net_plan *np, const char *id);
void eng_net_plan_free(eng_net_plan *np);
