/* kube play's mapping of one container of the model (model.h) onto berth's
 * run options: the pieces that need no engine, kept here so that they can
 * be tested alone (tests/unit/test_kube_play_map.c).
 *
 * - kube_restart_arg: restartPolicy -> eng_run_opts.restart.
 * - kube_argv: command/args against the image's Entrypoint/Cmd, by
 *   Kubernetes' rules.
 * - kube_environ: env and envFrom resolved against the file's ConfigMaps and
 *   Secrets (and fieldRef metadata.name) into K=V.
 * - kube_probes: livenessProbe, readinessProbe, startupProbe ->
 *   eng_run_opts.probes (engine/health.h). */
#pragma once

#include <stddef.h>

#include "engine/health.h"
#include "kube/model.h"
#include "util/error.h"

/* Always -> "always", OnFailure -> "on-failure", Never -> "no". */
const char *kube_restart_arg(kube_restart r);

/* The process's argv (strv_free), as the kubelet makes it:
 *   command given:        command + args (the image's Entrypoint and Cmd ignored)
 *   only args given:      image Entrypoint + args (the image's Cmd ignored)
 *   neither:              image Entrypoint + image Cmd
 * entrypoint and cmd may be NULL. An empty result is EINVAL naming the
 * container ("no command: neither the container nor its image gives one"). */
char **kube_argv(const kube_container *c, char *const *entrypoint, char *const *cmd, berr *e);

/* The container's environment (strv_free of "K=V"): envFrom in order (each
 * key with its prefix), then env in order; a later name replaces an earlier
 * one, as in Kubernetes. A reference to a ConfigMap or Secret missing from f
 * (or a key missing from it) is ENOENT naming the path of the field
 * (spec.containers[0].env[1].valueFrom.configMapKeyRef: ConfigMap "x" not
 * found) unless it is optional (then the variable is left out). fieldRef:
 * only metadata.name (pod_name). A Secret value holding a NUL byte is EINVAL.
 * `what` names the container in messages ("spec.containers[0]"). */
char **kube_environ(const kube_file *f, const kube_container *c, const char *pod_name,
		    const char *what, berr *e);

/* The container's probes into out (up to 3: liveness, readiness, startup,
 * the ones given, in that order), *n set. Strings are borrowed from c (valid
 * while the model is). A port given by name is looked up in the
 * container's ports: a name not there is EINVAL naming the probe. */
int kube_probes(const kube_container *c, eng_probe out[3], size_t *n, const char *what, berr *e);

/* The object of kind k named name in f, or NULL. */
const kube_obj *kube_find_obj(const kube_file *f, kube_kind k, const char *name);
