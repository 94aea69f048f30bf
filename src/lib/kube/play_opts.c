/* kube play: a pod's container as eng_run_opts (play_opts.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/play_map.h"
#include "kube/play_opts.h"
#include "kube/play_vols.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

void kube_opts_free(kube_opts_hold *h)
{
	strv_free(h->command);
	strv_free(h->env);
	strv_free(h->volumes);
	strv_free(h->tmpfs);
	strv_free(h->security_opt);
	strv_free(h->labels);
	free(h->memory);
	free(h->cpus);
	free(h->user);
	memset(h, 0, sizeof(*h));
}

static const kube_volume *find_volume(const kube_pod_spec *ps, const char *name)
{
	for (size_t i = 0; i < ps->n_volumes; i++)
		if (!strcmp(ps->volumes[i].name, name))
			return &ps->volumes[i];
	return NULL;
}

/* A configMap / secret volume's file or directory at subPath, bound on its
 * own (these volumes hold only what play_vols.c wrote: no symlink of the
 * container's can be in the path; other volumes' subPath is refused). */
static char *sub_path_bind(eng *g, const char *vname, const kube_mount *m)
{
	_cleanup_free_ char *data = eng_volume_data(g, vname);
	return xasprintf("%s/%s:%s:ro", data, m->sub_path, m->mount_path);
}

static int mounts_fill(eng *g, const kube_pod_spec *ps, const kube_container *c,
		       const char *pod_name, const char *what, kube_opts_hold *h, berr *e)
{
	strv_builder vols = {0}, tmpfs = {0};
	for (size_t i = 0; i < c->n_mounts; i++) {
		const kube_mount *m = &c->mounts[i];
		const kube_volume *v = find_volume(ps, m->name);
		const char *ro = m->read_only ? ":ro" : "";
		if (!v) {
			berr_set(e, ENOENT, "%s.volumeMounts[%zu]: no volume named \"%s\"", what, i,
				 m->name);
			goto fail;
		}
		bool cfg = v->kind == KUBE_VOL_CONFIGMAP || v->kind == KUBE_VOL_SECRET;
		if (m->sub_path && (!cfg || !g)) {
			berr_set(
			    e, EOPNOTSUPP,
			    "%s.volumeMounts[%zu].subPath: only of a configMap or secret volume "
			    "in berth kube play",
			    what, i);
			goto fail;
		}
		_cleanup_free_ char *vn = kube_pod_vol_name(pod_name, v->name);
		switch (v->kind) {
		case KUBE_VOL_HOSTPATH:
			strvb_push_take(&vols, xasprintf("%s:%s%s", v->source, m->mount_path, ro));
			break;
		case KUBE_VOL_EMPTYDIR:
			if (!strcmp(v->medium, "Memory")) {
				if (v->size_limit > 0)
					strvb_push_take(&tmpfs,
							xasprintf("%s:size=%" PRId64 "%s",
								  m->mount_path, v->size_limit,
								  m->read_only ? ",ro" : ""));
				else
					strvb_push_take(&tmpfs,
							xasprintf("%s%s", m->mount_path,
								  m->read_only ? ":ro" : ""));
			} else {
				/* the pod's volume (play_vols.h), shared by its containers */
				strvb_push_take(&vols, xasprintf("%s:%s%s", vn, m->mount_path, ro));
			}
			break;
		case KUBE_VOL_PVC:
			strvb_push_take(&vols,
					xasprintf("%s:%s%s", v->source, m->mount_path,
						  m->read_only || v->read_only ? ":ro" : ""));
			break;
		case KUBE_VOL_CONFIGMAP:
		case KUBE_VOL_SECRET:
		default:
			strvb_push_take(&vols, m->sub_path
						   ? sub_path_bind(g, vn, m)
						   : xasprintf("%s:%s:ro", vn, m->mount_path));
			break;
		}
	}
	h->volumes = strvb_take(&vols);
	h->tmpfs = strvb_take(&tmpfs);
	return 0;
fail:
	strvb_free(&vols);
	strvb_free(&tmpfs);
	return -1;
}

static int security_fill(const kube_container *c, const char *what, eng_run_opts *o,
			 kube_opts_hold *h, berr *e)
{
	if (!c->has_security)
		return 0;
	const kube_security *s = &c->security;
	if (s->run_as_group >= 0 && s->run_as_user < 0)
		return berr_set(e, EOPNOTSUPP,
				"%s.securityContext.runAsGroup: without runAsUser: not supported "
				"by berth kube play",
				what);
	if (s->run_as_user >= 0)
		h->user = s->run_as_group >= 0
			      ? xasprintf("%" PRId64 ":%" PRId64, s->run_as_user, s->run_as_group)
			      : xasprintf("%" PRId64, s->run_as_user);
	o->user = h->user;
	o->privileged = s->privileged == 1;
	o->read_only = s->read_only_root_fs == 1;
	o->cap_add = s->cap_add;
	o->cap_drop = s->cap_drop;
	if (s->allow_privilege_escalation == 0) {
		strv_push(&h->security_opt, "no-new-privileges");
		o->security_opt = h->security_opt;
	}
	return 0;
}

static void label_num(char ***v, const char *key, int64_t n)
{
	char *kv = xasprintf("%s=%" PRId64, key, n);
	strv_push(v, kv);
	free(kv);
}

static void resources_fill(const kube_container *c, eng_run_opts *o, kube_opts_hold *h)
{
	const kube_resources *r = &c->resources;
	if (r->mem_limit > 0) {
		h->memory = xasprintf("%" PRId64, r->mem_limit);
		o->memory = h->memory;
	}
	if (r->cpu_limit_m > 0) {
		h->cpus = xasprintf("%" PRId64 ".%03" PRId64, r->cpu_limit_m / 1000,
				    r->cpu_limit_m % 1000);
		o->cpus = h->cpus;
	}
	/* requests: recorded, not enforced (berth has no scheduler) */
	if (r->cpu_request_m >= 0)
		label_num(&h->labels, "io.berth.kube.cpu-request-m", r->cpu_request_m);
	if (r->mem_request >= 0)
		label_num(&h->labels, "io.berth.kube.memory-request", r->mem_request);
}

int kube_opts_fill(eng *g, const kube_file *f, const kube_pod_spec *ps, const kube_container *c,
		   const char *pod_name, const char *what, eng_run_opts *out, kube_opts_hold *h,
		   berr *e)
{
	memset(out, 0, sizeof(*out));
	memset(h, 0, sizeof(*h));
	out->image = c->image;
	if (c->command) {
		/* Docker's --entrypoint "" then the whole argv: Kubernetes' command */
		out->entrypoint = "";
		out->entrypoint_set = true;
		strv_builder b = strvb_from(strv_dup(c->command));
		for (size_t i = 0; c->args && c->args[i]; i++)
			strvb_push(&b, c->args[i]);
		h->command = strvb_take(&b);
	} else if (c->args) {
		h->command = strv_dup(c->args); /* replaces the image's Cmd, keeps Entrypoint */
	}
	out->command = h->command;
	h->env = kube_environ(f, c, pod_name, what, e);
	if (!h->env)
		goto fail;
	out->env = h->env;
	out->workdir = c->working_dir;
	out->tty = c->tty;
	out->interactive = c->stdin_open;
	if (mounts_fill(g, ps, c, pod_name, what, h, e) < 0 ||
	    security_fill(c, what, out, h, e) < 0)
		goto fail;
	out->volumes = h->volumes;
	out->tmpfs = h->tmpfs;
	resources_fill(c, out, h);
	out->labels = h->labels;
	out->restart = kube_restart_arg(ps->restart);
	size_t n = 0;
	if (kube_probes(c, h->probes, &n, what, e) < 0)
		goto fail;
	out->probes = n ? h->probes : NULL;
	out->n_probes = n;
	return 0;
fail:
	kube_opts_free(h);
	memset(out, 0, sizeof(*out));
	return -1;
}
