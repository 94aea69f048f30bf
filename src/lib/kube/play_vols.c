/* kube play: a pod's emptyDir, configMap and secret volumes (play_vols.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/play_map.h"
#include "kube/play_vols.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

char *kube_pod_vol_name(const char *pod, const char *vol)
{
	return xasprintf("%s_%s", pod, vol);
}

/* The value of key in a ConfigMap or Secret; false when it has none. */
static bool obj_value(const kube_obj *o, const char *key, const void **v, size_t *len)
{
	if (o->kind == KUBE_CONFIGMAP) {
		for (size_t i = 0; i < o->u.cm.n_data; i++)
			if (!strcmp(o->u.cm.data[i].key, key)) {
				*v = o->u.cm.data[i].value;
				*len = strlen(o->u.cm.data[i].value);
				return true;
			}
		for (size_t i = 0; i < o->u.cm.n_binary; i++)
			if (!strcmp(o->u.cm.binary[i].key, key)) {
				*v = o->u.cm.binary[i].value;
				*len = o->u.cm.binary[i].len;
				return true;
			}
		return false;
	}
	for (size_t i = 0; i < o->u.secret.n_data; i++)
		if (!strcmp(o->u.secret.data[i].key, key)) {
			*v = o->u.secret.data[i].value;
			*len = o->u.secret.data[i].len;
			return true;
		}
	return false;
}

/* One file at the relative path (its directories made), in the volume. */
static int put_file(int dfd, const char *path, const void *v, size_t len, mode_t mode, berr *e)
{
	char name[256];
	_cleanup_close_ int pfd = fs_parent_in_root(dfd, path, name, sizeof(name), true, e);
	if (pfd < 0)
		return -1;
	_cleanup_close_ int fd =
	    fs_open_in_root(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600, e);
	if (fd < 0)
		return -1;
	if (fs_write_all(fd, v, len) < 0)
		return berr_sys(e, "write %s", path);
	if (fchmod(fd, mode) < 0)
		return berr_sys(e, "chmod %s", path);
	return 0;
}

static int fill(eng *g, const kube_file *f, const kube_volume *v, const char *vname,
		const char *what, berr *e)
{
	bool secret = v->kind == KUBE_VOL_SECRET;
	const kube_obj *o = kube_find_obj(f, secret ? KUBE_SECRET : KUBE_CONFIGMAP, v->source);
	const char *kind = secret ? "Secret" : "ConfigMap";
	if (!o)
		return v->optional ? 0
				   : berr_set(e, ENOENT, "%s: volume \"%s\": %s \"%s\" not found",
					      what, v->name, kind, v->source);
	mode_t mode = v->default_mode >= 0 ? (mode_t)v->default_mode : secret ? 0400 : 0644;
	_cleanup_free_ char *data = eng_volume_data(g, vname);
	_cleanup_close_ int dfd = open(data, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "open %s", data);
	int rc = 0;
	if (v->n_items) {
		for (size_t i = 0; i < v->n_items && !rc; i++) {
			const void *val;
			size_t len;
			if (!obj_value(o, v->items[i].key, &val, &len)) {
				if (v->optional)
					continue;
				return berr_set(
				    e, ENOENT,
				    "%s: volume \"%s\": items[%zu]: %s \"%s\" has no key "
				    "\"%s\"",
				    what, v->name, i, kind, v->source, v->items[i].key);
			}
			rc = put_file(dfd, v->items[i].value, val, len, mode, e);
		}
	} else if (o->kind == KUBE_CONFIGMAP) {
		for (size_t i = 0; i < o->u.cm.n_data && !rc; i++)
			rc = put_file(dfd, o->u.cm.data[i].key, o->u.cm.data[i].value,
				      strlen(o->u.cm.data[i].value), mode, e);
		for (size_t i = 0; i < o->u.cm.n_binary && !rc; i++)
			rc = put_file(dfd, o->u.cm.binary[i].key, o->u.cm.binary[i].value,
				      o->u.cm.binary[i].len, mode, e);
	} else {
		for (size_t i = 0; i < o->u.secret.n_data && !rc; i++)
			rc = put_file(dfd, o->u.secret.data[i].key, o->u.secret.data[i].value,
				      o->u.secret.data[i].len, mode, e);
	}
	return rc ? berr_ctx(e, "%s: volume \"%s\"", what, v->name) : 0;
}

int kube_pod_volumes_make(eng *g, const kube_file *f, const kube_pod_spec *ps, const char *pod,
			  const char *what, berr *e)
{
	for (size_t i = 0; i < ps->n_volumes; i++) {
		const kube_volume *v = &ps->volumes[i];
		bool disk = v->kind == KUBE_VOL_EMPTYDIR && strcmp(v->medium, "Memory");
		if (!disk && v->kind != KUBE_VOL_CONFIGMAP && v->kind != KUBE_VOL_SECRET)
			continue;
		_cleanup_free_ char *vn = kube_pod_vol_name(pod, v->name);
		char *got = NULL;
		bool created = false;
		if (eng_volume_get(g, vn, -1, &got, &created, e) < 0)
			return berr_ctx(e, "%s: volume \"%s\"", what, v->name);
		free(got);
		if (created && !disk && fill(g, f, v, vn, what, e) < 0)
			return -1;
	}
	return 0;
}

void kube_pod_volumes_rm(eng *g, const char *pod)
{
	_cleanup_strv_ char **vols = eng_volume_list(g);
	size_t pl = strlen(pod);
	for (size_t i = 0; vols && vols[i]; i++) {
		if (strncmp(vols[i], pod, pl) || vols[i][pl] != '_')
			continue;
		berr ig;
		eng_volume_remove(g, vols[i], &ig);
	}
}
