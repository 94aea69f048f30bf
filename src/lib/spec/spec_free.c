/* Freeing the model. Every free function accepts partly filled structures
 * (the parser frees what it has built so far on error). */
#include <stdlib.h>

#include "spec/spec_internal.h"
#include "util/xalloc.h"

void sp_free_kv(spec_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void spec_process_clear(spec_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	for (size_t i = 0; p->rlimits && i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	strv_free(p->unknown_caps);
	*p = (spec_process){0};
}

void sp_free_resources(spec_resources *r)
{
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_device);
	for (int k = 0; k < 4; k++)
		free(r->block_io.throttle[k]);
	for (size_t i = 0; r->hugepages && i < r->n_hugepages; i++)
		free(r->hugepages[i].page_size);
	free(r->hugepages);
	sp_free_kv(r->unified, r->n_unified);
	free(r->devices);
	sp_free_kv(r->network.priorities, r->network.n_priorities);
	*r = (spec_resources){0};
}

void sp_free_seccomp(spec_seccomp *sc)
{
	strv_free(sc->architectures);
	strv_free(sc->flags);
	free(sc->listener_path);
	free(sc->listener_metadata);
	for (size_t i = 0; sc->rules && i < sc->n_rules; i++) {
		strv_free(sc->rules[i].names);
		free(sc->rules[i].args);
	}
	free(sc->rules);
	*sc = (spec_seccomp){0};
}

void sp_free_linux(spec_linux *l)
{
	for (int i = 0; i < NS_COUNT; i++)
		free(l->ns[i].path);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; l->devices && i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	sp_free_kv(l->sysctl, l->n_sysctl);
	free(l->cgroups_path);
	sp_free_resources(&l->resources);
	sp_free_seccomp(&l->seccomp);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	free(l->mount_label);
	*l = (spec_linux){0};
}

void spec_free(spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->root_path);
	spec_process_clear(&s->process);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; s->mounts && i < s->n_mounts; i++) {
		spec_mount *m = &s->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		strv_free(m->options);
		free(m->data);
	}
	free(s->mounts);
	for (int k = 0; k < HOOK_KINDS; k++) {
		for (size_t i = 0; s->hooks.list[k] && i < s->hooks.n[k]; i++) {
			spec_hook *h = &s->hooks.list[k][i];
			free(h->path);
			strv_free(h->args);
			strv_free(h->env);
		}
		free(s->hooks.list[k]);
	}
	sp_free_kv(s->annotations, s->n_annotations);
	sp_free_linux(&s->linux_);
	free(s);
}
