/* The executor's images: each step's result written to the store as an
 * image (config, optional layer, manifest), and the read-only merged view
 * of an image's layers (COPY --from, the checks of WORKDIR and COPY's
 * destination). Crash safety as image_commit_layer's: blobs first, the
 * index last, what was written removed again on failure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "build/build_priv.h"
#include "image/gc.h"
#include "image/image_commit.h"
#include "image/layerdiff.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

json_object *bimg_scratch_doc(void)
{
	json_object *d = json_object_new_object();
	json_object_object_add(d, "architecture", json_object_new_string("amd64"));
	json_object_object_add(d, "os", json_object_new_string("linux"));
	json_object_object_add(d, "config", json_object_new_object());
	json_object *r = json_object_new_object();
	json_object_object_add(r, "type", json_object_new_string("layers"));
	json_object_object_add(r, "diff_ids", json_object_new_array());
	json_object_object_add(d, "rootfs", r);
	json_object_object_add(d, "history", json_object_new_array());
	return d;
}

json_object *bimg_doc(bctx *b, const char *id, berr *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (store_blob_read(b->s, id, &buf, &len, e) < 0)
		return NULL;
	json_object *c = json_tokener_parse(buf);
	if (!c || !json_object_is_type(c, json_type_object)) {
		json_object_put(c);
		berr_set(e, EINVAL, "image %s: config is not a JSON object", id);
		return NULL;
	}
	json_object *x;
	if (!json_object_object_get_ex(c, "config", &x) ||
	    !json_object_is_type(x, json_type_object))
		json_object_object_add(c, "config", json_object_new_object());
	if (!json_object_object_get_ex(c, "history", &x) ||
	    !json_object_is_type(x, json_type_array))
		json_object_object_add(c, "history", json_object_new_array());
	return c;
}

void bimg_history(const bctx *b, json_object *doc, const char *created_by, bool empty_layer)
{
	json_object *hist;
	json_object_object_get_ex(doc, "history", &hist);
	char *t = time_rfc3339(b->o->reproducible ? (time_t)b->o->timestamp : time(NULL));
	json_object *h = json_object_new_object();
	json_object_object_add(h, "created", json_object_new_string(t));
	json_object_object_add(h, "created_by", json_object_new_string(created_by));
	if (empty_layer)
		json_object_object_add(h, "empty_layer", json_object_new_boolean(1));
	json_object_array_add(hist, h);
	json_object_object_add(doc, "created", json_object_new_string(t));
	free(t);
}

static int write_layer(const bctx *b, int upper, bool stubs, img_desc *d, dg_str *diff_id, berr *e)
{
	ld_tar_opts t = {.compression = 1,
			 .layer = true,
			 .stubs = stubs ? ld_engine_stubs : NULL,
			 .clamp = b->o->reproducible,
			 .epoch = b->o->timestamp};
	return image_layer_blob(b->s, upper, &t, "the step's changes", d, diff_id, e);
}

int bimg_write(bctx *b, const char *parent, json_object *doc, int upper, bool stubs, dg_str *id,
	       berr *e)
{
	img_store *s = b->s;
	if (store_lock_shared(s, e) < 0)
		return -1;
	img_image pim = {0};
	img_desc layer = {0};
	char **wrote = NULL, **layers = NULL;
	dg_str diff_id;
	int ret = -1;
	if (parent && image_resolve(s, parent, &pim, e) < 0)
		goto out;
	if (upper >= 0) {
		if (write_layer(b, upper, stubs, &layer, &diff_id, e) < 0)
			goto out;
		strv_push(&wrote, dg_hex(layer.digest.s));
		strv_push(&layers, dg_hex(diff_id.s));
		json_object *rootfs, *ids;
		if (!json_object_object_get_ex(doc, "rootfs", &rootfs) ||
		    !json_object_object_get_ex(rootfs, "diff_ids", &ids) ||
		    !json_object_is_type(ids, json_type_array)) {
			berr_set(e, EINVAL, "image config has no rootfs.diff_ids");
			goto out;
		}
		json_object_array_add(ids, json_object_new_string(diff_id.s));
	}
	const char *cfg = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (image_write_rest(s, parent ? &pim : NULL, cfg, upper >= 0 ? &layer : NULL, NULL, id,
			     &wrote, e) < 0)
		goto out;
	ret = 0;
out:
	desc_free(&layer);
	if (parent)
		image_free(&pim);
	store_unlock(s);
	if (ret < 0) {
		berr ig;
		store_discard(s, wrote, strv_len(wrote), layers, strv_len(layers), &ig);
	}
	strv_free(wrote);
	strv_free(layers);
	return ret;
}

int bimg_view(bctx *b, const char *id, int *fd, char **mnt, berr *e)
{
	*fd = -1;
	*mnt = NULL;
	if (!id)
		return 0;
	img_image im;
	if (image_resolve(b->s, id, &im, e) < 0)
		return -1;
	int ret = -1;
	if (im.n_layers == 0) {
		ret = 0;
	} else if (im.n_layers == 1) {
		if ((*fd = open(im.layer_dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			berr_sys(e, "open %s", im.layer_dirs[0]);
		else
			ret = 0;
	} else {
		/* two or more lowers and no upper: a read-only overlay */
		_cleanup_free_ char *name = bx_tmpname(b, "view");
		char *path = xasprintf("%s/%s", b->tmp, name);
		_cleanup_free_ char *lower = image_lowerdir(&im);
		_cleanup_free_ char *opts = xasprintf("lowerdir=%s", lower);
		if (mkdir(path, 0700) < 0) {
			berr_sys(e, "mkdir %s", path);
			free(path);
		} else if (mount("overlay", path, "overlay", MS_RDONLY, opts) < 0) {
			berr_sys(e, "mount the layers of %s", id);
			rmdir(path);
			free(path);
		} else if ((*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			berr_sys(e, "open %s", path);
			umount2(path, MNT_DETACH);
			rmdir(path);
			free(path);
		} else {
			*mnt = path;
			ret = 0;
		}
	}
	image_free(&im);
	return ret;
}

void bimg_view_close(int fd, char *mnt)
{
	if (fd >= 0)
		close(fd);
	if (mnt) {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
		free(mnt);
	}
}
