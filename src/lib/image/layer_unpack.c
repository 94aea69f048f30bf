/* Unpacking a stored layer blob into layers/<diffID> once: under a per-layer
 * lock in tmp/, into a private directory, checked against the diffID, then
 * renamed into place. Apart from store.c so that readers of the store (the
 * container commands) do not link libarchive. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void remove_stale_unpacks(img_store *s, const char *diff_id)
{
	_cleanup_free_ char *prefix = xasprintf("%s.unpack-", dg_hex(diff_id));
	int fd = openat(store_tmp_fd(s), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		berr ig;
		if (!strncmp(de->d_name, prefix, strlen(prefix)) &&
		    strcmp(de->d_name + strlen(prefix), "lock"))
			fs_rm_rf_at(store_tmp_fd(s), de->d_name, &ig);
	}
	closedir(d);
}

int store_layer_unpack(img_store *s, const char *blob_digest, const char *diff_id, berr *e)
{
	if (dg_validate(diff_id, e) < 0)
		return -1;
	if (store_layer_exists(s, diff_id))
		return 0;
	/* One unpacker per layer at a time, across processes. */
	char lockname[96];
	snprintf(lockname, sizeof(lockname), "%s.unpack-lock", dg_hex(diff_id));
	_cleanup_close_ int lfd =
	    openat(store_tmp_fd(s), lockname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return berr_sys(e, "create tmp/%s", lockname);
	while (flock(lfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return berr_sys(e, "flock tmp/%s", lockname);
	if (store_layer_exists(s, diff_id)) {
		unlinkat(store_tmp_fd(s), lockname, 0);
		return 0;
	}
	remove_stale_unpacks(s, diff_id);
	char tmpdir[96];
	snprintf(tmpdir, sizeof(tmpdir), "%s.unpack-%d", dg_hex(diff_id), (int)getpid());
	fs_rm_rf_at(store_tmp_fd(s), tmpdir, e);
	if (mkdirat(store_tmp_fd(s), tmpdir, 0755) < 0)
		return berr_sys(e, "mkdir tmp/%s", tmpdir);
	int ret = -1;
	_cleanup_close_ int blob = store_blob_open(s, blob_digest, e);
	_cleanup_close_ int dfd =
	    openat(store_tmp_fd(s), tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (blob < 0)
		goto out;
	if (dfd < 0) {
		berr_sys(e, "open tmp/%s", tmpdir);
		goto out;
	}
	dg_str got;
	unsigned long long max;
	if (store_max_layer_size(s, &max, e) < 0)
		goto out;
	unpack_stats st = {0};
	if (unpack_layer_stats(blob, dfd, max, &got, &st, e) < 0) {
		berr_ctx(e, "layer %s", blob_digest);
		goto out;
	}
	if (strcmp(got.s, diff_id)) {
		berr_set(e, EIO, "layer %s: diffID mismatch: config says %s, content is %s",
			 blob_digest, diff_id, got.s);
		goto out;
	}
	if (renameat(store_tmp_fd(s), tmpdir, store_layers_fd(s), dg_hex(diff_id)) < 0 &&
	    errno != EEXIST && errno != ENOTEMPTY) {
		berr_sys(e, "rename tmp/%s into layers", tmpdir);
		goto out;
	}
	fsync(store_layers_fd(s));
	store_unpack_counts(s, st.remapped, st.devices);
	ret = 0;
out : {
	berr ignore;
	fs_rm_rf_at(store_tmp_fd(s), tmpdir, &ignore);
	unlinkat(store_tmp_fd(s), lockname, 0);
}
	return ret;
}
