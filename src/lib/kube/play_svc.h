/* kube play's Services and network (play_svc.c).
 *
 * The play's network: a berth user network "kube-<first Pod or Deployment's
 * name>" labelled io.berth.kube.owner=<its Kind/name>, made by the play
 * unless --network names one; its DNS (aardvark-dns) answers the pods'
 * names and, as a network alias of every ready pod a Service selects (set
 * by kube_svc_sync), the Service's name (one A record per ready pod: DNS
 * round robin, no virtual address).
 *
 * A Service's ports are published on the host (nodePort for NodePort, else
 * port) and spread over the ready pods it selects (net/nft_lb.h: nft
 * numgen round robin, DNAT to the pod's address and targetPort). Which pods
 * are ready is recomputed by kube_svc_sync: at the end of a play, and by
 * `berth kube sync`, the readiness hook (eng_run_opts.readiness_hook) of
 * the containers of the pods a Service selects. The hook carries the
 * Service as three words (kube_svc_args), so no state of its own is kept:
 *   NAME SELECTOR PORTS    web app=web,tier=front tcp:30080:8080,udp:53:53 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "kube/model.h"
#include "util/error.h"
#include "util/xalloc.h"

#define KUBE_SVC_MAX_PORTS 64

typedef struct kube_svc_port_rt {
	int proto; /* IPPROTO_TCP, IPPROTO_UDP */
	uint16_t host_port, target;
} kube_svc_port_rt;

typedef struct kube_svc_rt {
	char *name;
	char **selector; /* K=V (strv); never empty */
	kube_svc_port_rt ports[KUBE_SVC_MAX_PORTS];
	size_t n_ports;
} kube_svc_rt;

void kube_svc_rt_free(kube_svc_rt *s);

/* The Service obj of f at run time: a named targetPort resolved against
 * the first Pod / Deployment template it selects. 1 when the Service acts
 * (a selector and a pod it selects), 0 when it has nothing to do (*out
 * empty), -1 on error (naming the port). */
int kube_svc_rt_of(const kube_file *f, const kube_obj *svc, kube_svc_rt *out, berr *e);
/* Whether s selects the pods with these labels. */
bool kube_svc_selects(const kube_svc_rt *s, const kube_meta *labels);

/* As the three words of the hook (pushed onto b), and back. */
void kube_svc_args(const kube_svc_rt *s, strv_builder *b);
int kube_svc_from_args(char *const argv[3], kube_svc_rt *out, berr *e);

/* The backends of s's ports set to the ready pods it selects on network
 * (their infra's address there), and s's name an alias of those pods
 * only; *n_ready how many. */
int kube_svc_sync(eng *g, const char *network, const kube_svc_rt *s, size_t *n_ready, berr *e);
/* Whether a program on the host (or a berth container's published port,
 * held open by its monitor) has s's host ports: EADDRINUSE naming the port.
 * The DNAT of a Service holds none, so a re-play passes. */
int kube_svc_ports_free(const kube_svc_rt *s, berr *e);
/* The Service obj's host ports no longer published (absent: 0); what
 * kube down does (no pod needed). */
int kube_svc_down(const kube_obj *svc, berr *e);
/* s's host ports no longer published (absent: 0). */
int kube_svc_unpublish(const kube_svc_rt *s, berr *e);

/* Rootless (not root, or root of a user namespace): no bridge networks,
 * no host nftables, so no play network and no Services. */
bool kube_rootless(void);

/* The play's network name for f ("kube-NAME", malloc'ed) and its owner
 * label K=V; NULL when f makes no pod. */
char *kube_net_name(const kube_file *f, char **owner_kv);
/* That network, made if missing (*made); one of that name another owner
 * has is EEXIST. */
int kube_net_ensure(eng *g, const char *name, const char *owner_kv, bool *made, berr *e);
