/* berth generate kube CTR|POD (generate.c): a container or a pod as a
 * Kubernetes Pod manifest, written with libyaml's emitter, that kube play
 * reads back.
 *
 * A pod becomes the Pod of its name with its containers (not the infra),
 * each named as it is without the "<pod>-" prefix kube play gives; a
 * container alone becomes a Pod of its name holding it. Per container:
 * image (as typed), command (the record's Entrypoint + Cmd: the whole argv,
 * so the image's are not needed), env (Config.Env, the image's included;
 * not HOSTNAME, the engine's), workingDir, ports (HostConfig.PortBindings: containerPort, hostPort,
 * protocol; a pod's are its infra's, given to its first container) and,
 * for a pod, its labels (io.berth.* left out). Strings are double-quoted,
 * so YAML 1.1 typing ("8080", "yes") never changes them. */
#pragma once

#include "engine/engine.h"
#include "util/error.h"

/* The YAML (malloc'ed); ENOENT "no such pod or container: x". */
char *kube_generate(eng *g, const char *ref, berr *e);
