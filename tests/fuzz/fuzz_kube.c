/* Kubernetes YAML (berth kube check / play input: a file anyone may hand
 * over). The bytes go to the YAML tree (kube/yaml) and to the model
 * (kube/model). Properties: an error is one non-empty line naming the file
 * and a line inside the input; a tree's nodes have lines inside the input,
 * maps hold scalar keys, counts stay under the bounds; a model's objects
 * have valid names, pods at least one container, quantities either unset
 * (-1) or non-negative, ports in range, Secret values NUL-terminated at
 * their length. */
#include "fuzz.h"
#include "kube/model.h"
#include "kube/yaml.h"

static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xa8 ||
			 data[i] == 0xa9;
	return lines;
}

static void check_err(const berr *e, const char *what)
{
	if (!e->msg[0] || strchr(e->msg, '\n') || strncmp(e->msg, "in.yaml", 7))
		fuzz_die(what, e);
}

static void check_tree(const ky_stream *s, size_t lines)
{
	if (s->n_all > KY_MAX_NODES)
		fuzz_die("more nodes than the bound", NULL);
	for (size_t i = 0; i < s->n_all; i++) {
		const ky_node *n = s->all[i];
		if (n->line < 1 || n->line > lines)
			fuzz_die("a node's line is outside the input", NULL);
		if (n->kind == KY_SCALAR && (!n->str || strlen(n->str) != n->len))
			fuzz_die("a scalar whose length is not its text's", NULL);
		if (n->kind == KY_MAP)
			for (size_t k = 0; k < n->n; k++)
				if (n->items[2 * k]->kind != KY_SCALAR)
					fuzz_die("a mapping key that is no scalar", NULL);
	}
}

static void check_spec(const kube_pod_spec *p)
{
	if (!p->n_containers)
		fuzz_die("a pod spec without containers", NULL);
	for (size_t i = 0; i < p->n_containers; i++) {
		const kube_container *c = &p->containers[i];
		if (!c->name || !c->name[0] || !c->image || !c->image[0])
			fuzz_die("a container without a name or an image", NULL);
		const kube_resources *r = &c->resources;
		if (r->cpu_request_m < -1 || r->cpu_limit_m < -1 || r->mem_request < -1 ||
		    r->mem_limit < -1)
			fuzz_die("a negative quantity", NULL);
		if ((r->cpu_limit_m >= 0 && r->cpu_request_m > r->cpu_limit_m) ||
		    (r->mem_limit >= 0 && r->mem_request > r->mem_limit))
			fuzz_die("a request over its limit", NULL);
		for (size_t j = 0; j < c->n_ports; j++)
			if (c->ports[j].container_port < 1 || c->ports[j].container_port > 65535 ||
			    c->ports[j].host_port < 0 || c->ports[j].host_port > 65535)
				fuzz_die("a port out of range", NULL);
		for (size_t j = 0; j < c->n_mounts; j++)
			if (c->mounts[j].mount_path[0] != '/')
				fuzz_die("a relative mount path", NULL);
	}
}

static void check_file(const kube_file *f)
{
	for (size_t i = 0; i < f->n_objs; i++) {
		const kube_obj *o = &f->objs[i];
		if (!o->meta.name || !o->meta.name[0] || strlen(o->meta.name) > 253)
			fuzz_die("an object without a valid name", NULL);
		switch (o->kind) {
		case KUBE_POD:
			check_spec(&o->u.pod.spec);
			break;
		case KUBE_DEPLOYMENT:
			check_spec(&o->u.deploy.tmpl);
			if (o->u.deploy.replicas < 0 || !o->u.deploy.n_selector)
				fuzz_die("a deployment without replicas or selector", NULL);
			break;
		case KUBE_SERVICE:
			if (!o->u.svc.n_ports)
				fuzz_die("a service without ports", NULL);
			for (size_t j = 0; j < o->u.svc.n_ports; j++)
				if (o->u.svc.ports[j].port < 1 || o->u.svc.ports[j].port > 65535)
					fuzz_die("a service port out of range", NULL);
			break;
		case KUBE_SECRET:
			for (size_t j = 0; j < o->u.secret.n_data; j++)
				if (o->u.secret.data[j].value[o->u.secret.data[j].len] != '\0')
					fuzz_die("a secret value not NUL-terminated", NULL);
			break;
		case KUBE_PVC:
			if (o->u.pvc.storage < 0)
				fuzz_die("a claim without storage", NULL);
			break;
		case KUBE_CONFIGMAP:
			break;
		}
		if (!kube_kind_name(o->kind))
			fuzz_die("a kind without a name", NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t lines = count_lines(data, size);
	berr e = {0};
	/* an exact-size heap copy, so ASan sees any read past the input */
	char *buf = xmalloc(size ? size : 1);
	memcpy(buf, data, size);
	ky_stream *s = ky_parse(buf, size, "in.yaml", &e);
	if (!s)
		check_err(&e, "ky_parse failed without a message");
	else
		check_tree(s, lines);
	ky_free(s);
	memset(&e, 0, sizeof(e));
	kube_file *f = kube_parse(buf, size, "in.yaml", &e);
	if (!f)
		check_err(&e, "kube_parse failed without a message");
	else
		check_file(f);
	kube_file_free(f);
	free(buf);
	return 0;
}
