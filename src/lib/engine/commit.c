/* A container's changes as a new image (`berth commit`, the API's POST
 * /commit), and the pieces `berth export` shares: the container's record
 * with its filesystem layer, its user namespace's maps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/commit.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *jpath(json_object *o, const char *a, const char *b)
{
	json_object *v;
	if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The container's record (doc, id), after the lookup of ref. */
int eng_ctr_fs_load(eng *g, const char *ref, char id[65], json_object **doc, berr *e)
{
	if (eng_lookup(g, ref, id, e) < 0 || !(*doc = eng_load(g, id, e)))
		return -1;
	if (!jpath(*doc, "GraphDriver", "UpperDir") || !jpath(*doc, "GraphDriver", "LowerDir")) {
		json_object_put(*doc);
		*doc = NULL;
		return berr_set(e, EINVAL, "container %s has no filesystem layer (a VM container)",
				ref);
	}
	return 0;
}

/* linux.uidMappings / gidMappings of the container's bundle (none: no user
 * namespace of its own); *v malloc'ed. */
int eng_ctr_idmaps(eng *g, const char *id, const char *key, ld_idmap **v, size_t *n, berr *e)
{
	*v = NULL;
	*n = 0;
	_cleanup_free_ char *path = eng_path(g, id, "config.json");
	json_object *cfg = json_object_from_file(path), *lx, *m;
	if (!cfg)
		return berr_set(e, EINVAL, "read %s: %s", path, json_util_get_last_err());
	if (json_object_object_get_ex(cfg, "linux", &lx) &&
	    json_object_object_get_ex(lx, key, &m) && json_object_is_type(m, json_type_array)) {
		size_t k = json_object_array_length(m);
		*v = xzalloc(sizeof(ld_idmap) * (k ? k : 1));
		for (size_t i = 0; i < k; i++) {
			json_object *r = json_object_array_get_idx(m, i), *x;
			unsigned *f[3] = {&(*v)[i].container, &(*v)[i].host, &(*v)[i].size};
			const char *names[3] = {"containerID", "hostID", "size"};
			for (int j = 0; j < 3; j++)
				if (json_object_object_get_ex(r, names[j], &x))
					*f[j] = (unsigned)json_object_get_int64(x);
		}
		*n = k;
	}
	json_object_put(cfg);
	return 0;
}

/* "Path Args..." as Docker's history shows what made a committed layer. */
static char *command_line(json_object *doc)
{
	const char *path = jpath(doc, "Path", NULL);
	char *r = xstrdup(path ? path : "");
	json_object *args;
	if (json_object_object_get_ex(doc, "Args", &args) &&
	    json_object_is_type(args, json_type_array))
		for (size_t i = 0; i < json_object_array_length(args); i++) {
			char *n = xasprintf(
			    "%s %s", r, json_object_get_string(json_object_array_get_idx(args, i)));
			free(r);
			r = n;
		}
	return r;
}

int eng_commit(eng *g, const char *ref, img_commit_opts *o, bool pause, dg_str *nid, char **warning,
	       berr *e)
{
	char id[65];
	json_object *doc = NULL;
	*warning = NULL;
	if (eng_ctr_fs_load(g, ref, id, &doc, e) < 0)
		return -1;
	int ret = -1;
	bool paused = false;
	_cleanup_free_ char *by = command_line(doc);
	_cleanup_store_ img_store *s = NULL;
	const char *status = eng_reconcile(g, id, doc);
	const char *image = jpath(doc, "Image", NULL);
	_cleanup_close_ int upper =
	    open(jpath(doc, "GraphDriver", "UpperDir"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (upper < 0) {
		berr_sys(e, "container %s: open its upper directory", ref);
		goto out;
	}
	if (!image) {
		berr_set(e, EINVAL, "container %s: no image recorded", ref);
		goto out;
	}
	if (!(s = store_open(g->root, e)))
		goto out;
	if (pause && !strcmp(status, "running")) {
		if (rt_pause(&g->rt, id, true, e) < 0)
			goto out;
		paused = true;
	}
	ld_idmap *um = NULL, *gm = NULL;
	if (eng_ctr_idmaps(g, id, "uidMappings", &um, &o->n_uids, e) < 0 ||
	    eng_ctr_idmaps(g, id, "gidMappings", &gm, &o->n_gids, e) < 0) {
		free(um);
		goto out;
	}
	o->uids = um;
	o->gids = gm;
	o->parent = image;
	o->upper = upper;
	o->created_by = by;
	int r = image_commit_layer(s, o, nid, e);
	free(um);
	free(gm);
	if (r < 0)
		goto out;
	ret = 0;
out:
	if (paused) {
		berr ue;
		if (rt_pause(&g->rt, id, false, &ue) < 0)
			*warning = xasprintf("unpause %s: %s", ref, ue.msg);
	}
	json_object_put(doc);
	return ret;
}
