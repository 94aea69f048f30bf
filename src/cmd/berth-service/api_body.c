/* Tar request bodies (POST /images/load, POST /build, PUT
 * /containers/{id}/archive): streamed into an
 * unlinked temp file in the store's tmp/ as they come (up to BODY_FILE_MAX),
 * never held in memory. The file has no name, so nothing is left behind on
 * any path: closing it (svc_completed) frees it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/store.h"
#include "service.h"
#include "util/cleanup.h"

bool svc_body_is_file(const char *method, const char *url)
{
	bool put = !strcmp(method, "PUT");
	if ((!put && strcmp(method, "POST")) || url[0] != '/')
		return false;
	const char *p = url;
	unsigned maj, min;
	int n = 0;
	if (p[1] == 'v' && sscanf(p + 2, "%u.%u%n", &maj, &min, &n) == 2 && p[2 + n] == '/')
		p += 2 + n;
	if (put) { /* docker cp's tar: PUT /containers/ID/archive */
		const char *id = strncmp(p, "/containers/", 12) ? NULL : p + 12;
		const char *sl = id ? strchr(id, '/') : NULL;
		return sl && sl > id && !strcmp(sl, "/archive");
	}
	/* /images/create: docker import's tar (fromSrc=-); a pull sends none */
	return !strcmp(p, "/images/load") || !strcmp(p, "/build") || !strcmp(p, "/images/create");
}

int svc_body_file(const svc *s)
{
	berr e;
	_cleanup_store_ img_store *st = store_open(s->c->root, &e);
	if (!st) {
		errno = e.errnum ? e.errnum : EIO;
		return -1;
	}
	int fd = openat(store_tmp_fd(st), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	/* a filesystem without O_TMPFILE: a named file, unlinked at once */
	char name[] = "api-body-XXXXXX";
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "api-body-%06x", (unsigned)random() & 0xffffff);
		fd = openat(store_tmp_fd(st), name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0) {
			unlinkat(store_tmp_fd(st), name, 0);
			return fd;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}
