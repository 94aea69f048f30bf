/* kube play: the volumes that live as long as their pod (play_vols.c).
 *
 * An emptyDir on disk, a configMap and a secret volume are the named berth
 * volume "<pod>_<volume>" ('_' is in no Kubernetes name, so the prefix
 * "<pod>_" is the pod's alone), shared by the pod's containers (init
 * containers too), removed with the pod. A configMap / secret volume holds
 * one file per key (or the `items` given, at their paths), mode
 * defaultMode, else 0644 for a ConfigMap and 0400 for a Secret; the
 * containers mount it read-only. */
#pragma once

#include "engine/engine.h"
#include "kube/model.h"
#include "util/error.h"

/* "<pod>_<volume>" (malloc'ed). */
char *kube_pod_vol_name(const char *pod, const char *vol);
/* Make and fill the pod's volumes (a missing ConfigMap/Secret or key:
 * ENOENT naming the volume, unless optional). On error the pod's volumes
 * made so far stay: kube_pod_volumes_rm removes them. */
int kube_pod_volumes_make(eng *g, const kube_file *f, const kube_pod_spec *ps, const char *pod,
			  const char *what, berr *e);
/* Every volume "<pod>_*" removed (best effort). */
void kube_pod_volumes_rm(eng *g, const char *pod);
