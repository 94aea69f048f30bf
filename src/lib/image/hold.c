/* Holds: a container pins the layers of the image it runs from. A hold is
 * <root>/image/holds/<holder>.json = {"image": "<id>", "layers": [diffIDs]},
 * so the layers stay even if the image itself is removed with force; gc and
 * system check treat held layers as referenced, rmi and prune refuse to
 * delete a held image unless forced. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int holds_dir(img_store *s, berr *e)
{
	if (mkdirat(store_fd(s), "holds", 0700) < 0 && errno != EEXIST)
		return berr_sys(e, "mkdir holds");
	int fd = openat(store_fd(s), "holds", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berr_sys(e, "open holds");
	return fd;
}

static bool holder_valid(const char *h)
{
	if (!*h || strlen(h) > 128 || h[0] == '.')
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

int image_hold(img_store *s, const char *holder, const img_image *im, berr *e)
{
	if (!holder_valid(holder))
		return berr_set(e, EINVAL, "invalid holder name \"%s\"", holder);
	_cleanup_free_ char *name = xasprintf("%s.json", holder);
	/* shared lock: no gc between the check below and the write */
	if (store_lock_shared(s, e) < 0)
		return -1;
	int ret = -1;
	_cleanup_close_ int dfd = holds_dir(s, e);
	if (dfd < 0)
		goto out;
	for (size_t i = 0; i < im->rec.n_layers; i++)
		if (!store_layer_exists(s, im->rec.layers[i].diff_id.s)) {
			berr_set(e, ENOENT, "image %s: layer %s was removed meanwhile",
				 im->rec.id.s, im->rec.layers[i].diff_id.s);
			goto out;
		}
	json_object *o = json_object_new_object(), *ls = json_object_new_array();
	json_object_object_add(o, "image", json_object_new_string(im->rec.id.s));
	for (size_t i = 0; i < im->rec.n_layers; i++)
		json_object_array_add(ls, json_object_new_string(im->rec.layers[i].diff_id.s));
	json_object_object_add(o, "layers", ls);
	const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	/* no fsync: the rename is atomic against kill -9; a hold lost to a power
	 * cut only matters to a later gc, and containers do not survive one */
	ret = fs_write_atomic_at(dfd, name, txt, strlen(txt), 0600, false, e);
	json_object_put(o);
out:
	store_unlock(s);
	return ret;
}

int image_release(img_store *s, const char *holder, berr *e)
{
	if (!holder_valid(holder))
		return berr_set(e, EINVAL, "invalid holder name \"%s\"", holder);
	_cleanup_close_ int dfd = holds_dir(s, e);
	if (dfd < 0)
		return -1;
	_cleanup_free_ char *name = xasprintf("%s.json", holder);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return berr_sys(e, "remove hold %s", holder);
	return 0;
}

/* Calls fn for each hold; stops early when fn returns non-zero. */
static void each_hold(img_store *s, int (*fn)(void *, const char *, json_object *), void *ctx)
{
	berr e;
	int dfd = holds_dir(s, &e);
	if (dfd < 0)
		return;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") || de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *buf = NULL;
		if (fs_read_file_at(dirfd(d), de->d_name, &buf, NULL, &e) < 0)
			continue;
		json_object *o = json_tokener_parse(buf);
		_cleanup_free_ char *holder = xstrndup(de->d_name, n - 5);
		int stop = o ? fn(ctx, holder, o) : 0;
		json_object_put(o);
		if (stop)
			break;
	}
	closedir(d);
}

typedef struct find_ctx {
	const char *id;
	char *holder;
} find_ctx;

static int find_cb(void *ctx, const char *holder, json_object *o)
{
	find_ctx *f = ctx;
	json_object *v;
	if (json_object_object_get_ex(o, "image", &v) &&
	    !strcmp(json_object_get_string(v), f->id)) {
		f->holder = xstrdup(holder);
		return 1;
	}
	return 0;
}

char *image_holder(img_store *s, const char *id)
{
	find_ctx f = {.id = id};
	each_hold(s, find_cb, &f);
	return f.holder;
}

static int layers_cb(void *ctx, const char *holder, json_object *o)
{
	(void)holder;
	strv_builder *out = ctx;
	json_object *ls;
	if (!json_object_object_get_ex(o, "layers", &ls) ||
	    !json_object_is_type(ls, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(ls); i++) {
		const char *d = json_object_get_string(json_object_array_get_idx(ls, i));
		if (dg_valid(d))
			strvb_push(out, dg_hex(d));
	}
	return 0;
}

char **image_held_layers(img_store *s)
{
	strv_builder v = strvb_from(xzalloc(sizeof(char *)));
	each_hold(s, layers_cb, &v);
	return strvb_take(&v);
}
