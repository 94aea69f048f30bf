/* Volumes: <root>/volumes/<name>/_data is what containers mount, and
 * <root>/volumes/<name>/volume.json what `volume inspect` shows (Docker's
 * fields, plus "Anonymous"). A volume is made complete in a private
 * directory (with the image's files at the mount point copied in, as
 * Docker does for a new volume) and renamed into place, so a kill -9 never
 * leaves half a volume and two containers racing for one new name get the
 * same volume. Anonymous volumes (`-v /path`, an image's VOLUME) are named
 * by 64 random hex digits and go with their container on `rm -v` and
 * `run --rm`. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define VOLUMES "volumes"

bool eng_volume_name_valid(const char *s)
{
	if (!isalnum((unsigned char)*s) || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

char *eng_volume_data(eng *g, const char *name)
{
	return xasprintf("%s/" VOLUMES "/%s/_data", g->root, name);
}

static int volumes_dir(eng *g, berr *e)
{
	_cleanup_free_ char *p = xasprintf("%s/" VOLUMES, g->root);
	if (fs_mkdir_p(p, 0700, e) < 0)
		return -1;
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", p);
	return fd;
}

static char *volume_json(eng *g, const char *name, bool anonymous)
{
	json_object *o = json_object_new_object();
	_cleanup_free_ char *now = eng_time_now();
	_cleanup_free_ char *mp = eng_volume_data(g, name);
	json_object_object_add(o, "CreatedAt", json_object_new_string(now));
	json_object_object_add(o, "Driver", json_object_new_string("local"));
	json_object *labels = json_object_new_object();
	if (anonymous)
		json_object_object_add(labels, "com.docker.volume.anonymous",
				       json_object_new_string(""));
	json_object_object_add(o, "Labels", labels);
	json_object_object_add(o, "Mountpoint", json_object_new_string(mp));
	json_object_object_add(o, "Name", json_object_new_string(name));
	json_object_object_add(o, "Options", json_object_new_object());
	json_object_object_add(o, "Scope", json_object_new_string("local"));
	json_object_object_add(o, "Anonymous", json_object_new_boolean(anonymous));
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return s;
}

int eng_volume_get(eng *g, const char *name, int copy_from, char **out_name, bool *created, berr *e)
{
	*created = false;
	char anon[65];
	if (!name) {
		eng_new_id(anon);
		name = anon;
	} else if (!eng_volume_name_valid(name)) {
		return berr_set(e, EINVAL, "invalid volume name \"%s\"", name);
	}
	_cleanup_close_ int vd = volumes_dir(g, e);
	if (vd < 0)
		return -1;
	char data[256];
	snprintf(data, sizeof(data), "%s/_data", name);
	if (faccessat(vd, data, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		*out_name = xstrdup(name);
		return 0;
	}
	char tmp[200];
	snprintf(tmp, sizeof(tmp), ".new-%s-%d", name, (int)getpid());
	_cleanup_free_ char *meta = NULL;
	_cleanup_close_ int tfd = -1;
	berr ig;
	fs_rm_rf_at(vd, tmp, &ig);
	int ret = -1;
	if (mkdirat(vd, tmp, 0700) < 0) {
		berr_sys(e, "volume %s: mkdir", name);
		goto out;
	}
	snprintf(data, sizeof(data), "%s/_data", tmp);
	if (mkdirat(vd, data, 0755) < 0) {
		berr_sys(e, "volume %s: mkdir _data", name);
		goto out;
	}
	if (copy_from >= 0) {
		_cleanup_close_ int dfd = openat(vd, data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			berr_sys(e, "volume %s: open _data", name);
			goto out;
		}
		if (fs_copy_tree(copy_from, dfd, e) < 0) {
			berr_ctx(e, "volume %s: copy the image's files", name);
			goto out;
		}
	}
	meta = volume_json(g, name, name == anon);
	tfd = openat(vd, tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0 ||
	    fs_write_atomic_at(tfd, "volume.json", meta, strlen(meta), 0600, false, e) < 0) {
		if (tfd < 0)
			berr_sys(e, "volume %s: open", name);
		goto out;
	}
	if (renameat(vd, tmp, vd, name) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			berr_sys(e, "volume %s: rename into place", name);
			goto out;
		}
		/* made meanwhile by someone else: use theirs */
	} else {
		*created = true;
	}
	*out_name = xstrdup(name);
	ret = 0;
out:
	fs_rm_rf_at(vd, tmp, &ig);
	return ret;
}

char **eng_volume_list(eng *g)
{
	berr ig;
	_cleanup_free_ char *p = xasprintf("%s/" VOLUMES, g->root);
	char **all = fs_list_at(AT_FDCWD, p, &ig);
	strv_builder v = strvb_from(xzalloc(sizeof(char *)));
	for (char **n = all; n && *n; n++)
		if (**n != '.')
			strvb_push(&v, *n);
	strv_free(all);
	return strvb_take(&v);
}

json_object *eng_volume_inspect(eng *g, const char *name, berr *e)
{
	if (!eng_volume_name_valid(name)) {
		berr_set(e, ENOENT, "no such volume: %s", name);
		return NULL;
	}
	_cleanup_free_ char *p = xasprintf("%s/" VOLUMES "/%s/volume.json", g->root, name);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	berr ig;
	if (fs_read_file_at(AT_FDCWD, p, &buf, &len, &ig) < 0) {
		berr_set(e, ENOENT, "no such volume: %s", name);
		return NULL;
	}
	json_object *o = json_tokener_parse(buf);
	if (!o)
		berr_set(e, EIO, "volume %s: volume.json is not JSON", name);
	return o;
}

bool eng_volume_anonymous(eng *g, const char *name)
{
	berr ig;
	json_object *o = eng_volume_inspect(g, name, &ig), *a;
	bool r = o && json_object_object_get_ex(o, "Anonymous", &a) && json_object_get_boolean(a);
	json_object_put(o);
	return r;
}

bool eng_volume_user(eng *g, const char *name, char id[65])
{
	char **ids = eng_list(g);
	bool found = false;
	for (char **p = ids; *p && !found; p++) {
		berr ig;
		json_object *d = eng_load(g, *p, &ig), *ms;
		if (d && json_object_object_get_ex(d, "Mounts", &ms))
			for (size_t i = 0; i < json_object_array_length(ms) && !found; i++) {
				json_object *n;
				if (json_object_object_get_ex(json_object_array_get_idx(ms, i),
							      "Name", &n) &&
				    !strcmp(json_object_get_string(n), name)) {
					snprintf(id, 65, "%s", *p);
					found = true;
				}
			}
		json_object_put(d);
	}
	strv_free(ids);
	return found;
}

int eng_volume_remove(eng *g, const char *name, berr *e)
{
	char id[65];
	json_object *o = eng_volume_inspect(g, name, e);
	if (!o)
		return -1;
	json_object_put(o);
	_cleanup_close_ int vd = volumes_dir(g, e);
	if (vd < 0 || eng_lock(g, true, e) < 0)
		return -1;
	int r = 0;
	/* out of sight in one rename, then the files */
	char gone[200];
	snprintf(gone, sizeof(gone), ".gone-%s-%d", name, (int)getpid());
	if (eng_volume_user(g, name, id))
		r = berr_set(e, EBUSY, "volume %s is in use by container %.12s", name, id);
	else if (renameat(vd, name, vd, gone) < 0)
		r = berr_sys(e, "remove volume %s", name);
	eng_unlock(g);
	return r < 0 ? r : fs_rm_rf_at(vd, gone, e);
}
