/* berth kube play / kube down (play.c): the pods of a manifest's Pod and
 * Deployment objects made, their containers created in them and started;
 * and removed again.
 *
 * Names: a Pod becomes the berth pod metadata.name; a Deployment of N
 * replicas the pods <name>-0 .. <name>-(N-1) (stable ordinals, as a
 * StatefulSet's, so that a re-play or scale touches only the pods that must
 * go or come). A container is "<pod>-<container>" (podman's style). Every
 * pod and container is labelled io.berth.kube.owner=<Kind>/<name>, which
 * kube down removes.
 * The pods join the play's network (play_svc.h: DNS names, Services'
 * published ports spread over the ready pods); a pod's init containers run
 * in order to their end before its containers are made; its emptyDir,
 * configMap and secret volumes are its own named volumes (play_vols.h). */
#pragma once

#include <stdbool.h>

#include "engine/engine.h"
#include "kube/model.h"
#include "util/error.h"

#define KUBE_OWNER_LABEL "io.berth.kube.owner"

typedef struct kube_play_opts {
	const char *helper_dir; /* where berth-init and berth-monitor are */
	const char *network;	/* NULL: the play's own, kube-NAME (play_svc.h) */
	bool no_start;		/* nor are init containers run, nor ports published */
	/* argv of `berth ... kube sync` (the readiness hook: NETWORK and the
	 * Services' words follow, kube_svc_args); NULL: no hook */
	char **sync_hook;
} kube_play_opts;

typedef struct kube_play_result {
	char **pods;	     /* names made (strv) */
	char **removed;	     /* a Deployment's pods beyond its replicas, removed */
	char *missing_image; /* the image to pull (then play again); NULL if none */
	bool pause_missing;  /* the pods' infra image must be made first */
	char **warnings;     /* objects read but not acted on (a Service selecting nothing) */
} kube_play_result;

/* Make everything; on error nothing made is left (one line in e; ENOENT
 * with missing_image or pause_missing set when an image is missing). A
 * re-play converges: a pod already there that the same object owns is
 * kept as it is (--replace remakes it), a Deployment's pods beyond its
 * replicas are removed, the missing ones made; a pod of the name that
 * another owns is EEXIST. */
int kube_play(eng *g, const kube_file *f, const kube_play_opts *o, kube_play_result *r, berr *e);
void kube_play_result_free(kube_play_result *r);

/* Remove the pods (and their containers and volumes) whose owner label
 * names an object of f, the Services' published ports, the networks a play
 * of f made, and with volumes the PersistentVolumeClaims' volumes (the
 * file's PVC objects and claimNames); *removed: the pods' names (strv). */
int kube_down(eng *g, const kube_file *f, bool volumes, char ***removed, berr *e);
