/* kube play: one container of a pod as berth's run options (eng_run_opts),
 * everything that needs no engine: command/args (through Docker's rules,
 * which give Kubernetes' result: command -> --entrypoint "" + command +
 * args; only args -> they replace the image's Cmd), env (play_map.h),
 * workingDir, resources (limits -> --memory, --cpus; requests are recorded
 * as labels only), securityContext (runAsUser[:runAsGroup] -> --user,
 * capabilities -> --cap-add/--cap-drop, privileged, readOnlyRootFilesystem
 * -> --read-only, allowPrivilegeEscalation: false -> no-new-privileges),
 * restartPolicy, the probes, and the volume mounts berth maps without
 * writing files: hostPath (-v path:dst[:ro]), emptyDir (Memory: --tmpfs,
 * else the pod's named volume "<pod>_<volume>", play_vols.h),
 * persistentVolumeClaim (the named volume claimName), configMap and secret
 * (the pod's volume the caller filled, read-only; subPath of these only, a
 * bind of that file: needs g, NULL refuses it).
 *
 * The image, name, pod, labels, network and hooks are the caller's. */
#pragma once

#include "engine/engine.h"
#include "engine/health.h"
#include "kube/model.h"
#include "util/error.h"

/* What the filled options point to (kube_opts_free frees it). */
typedef struct kube_opts_hold {
	char **command, **env, **volumes, **tmpfs, **security_opt, **labels;
	char *memory, *cpus, *user;
	eng_probe probes[3];
} kube_opts_hold;

/* Fill out (zeroed first) (g: the store, for subPath; may be NULL) for container c of a pod named
 * pod_name whose spec is ps, in file f; what names the container in messages
 * ("spec.containers[0]"). On error nothing is held. */
int kube_opts_fill(eng *g, const kube_file *f, const kube_pod_spec *ps, const kube_container *c,
		   const char *pod_name, const char *what, eng_run_opts *out, kube_opts_hold *h,
		   berr *e);
void kube_opts_free(kube_opts_hold *h);
