/* Paths of COPY/ADD and WORKDIR: sources cleaned (never above their root)
 * and glob-expanded, the destination resolved through the image's symlinks
 * in its root, and directories made in a layer directory with the modes the
 * image has for them. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_priv.h"
#include "build/subst.h"
#include "image/layerdiff.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* A source path cleaned, relative to its root; `..` above it refused. */
int bpath_clean(const char *src, char **out, berr *e)
{
	char **parts = NULL;
	size_t n = 0;
	_cleanup_free_ char *p = xstrdup(src);
	int ret = 0;
	for (char *save = NULL, *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (!n) {
				ret = berr_set(e, EPERM,
					       "forbidden path outside the build context: %s", src);
				break;
			}
			free(parts[--n]);
			parts[n] = NULL;
			continue;
		}
		strv_push(&parts, c);
		n++;
	}
	if (ret == 0) {
		char *r = xstrdup("");
		for (size_t i = 0; i < n; i++) {
			char *x = xasprintf("%s%s%s", r, i ? "/" : "", parts[i]);
			free(r);
			r = x;
		}
		*out = r;
	}
	strv_free(parts);
	return ret;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expand the glob components of a cleaned path against root (each
 * component matched against one directory's names, as filepath.Match). */
int bpath_glob(int root, const char *path, char ***out, berr *e)
{
	char **cur = NULL;
	strv_push(&cur, "");
	_cleanup_free_ char *p = xstrdup(path);
	for (char *save = NULL, *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		char **next = NULL;
		bool glob = strpbrk(c, "*?[") != NULL;
		for (size_t i = 0; cur && cur[i]; i++) {
			if (!glob) {
				char *x = xasprintf("%s%s%s", cur[i], *cur[i] ? "/" : "", c);
				strv_push(&next, x);
				free(x);
				continue;
			}
			berr ig;
			int d = fs_open_in_root(root, *cur[i] ? cur[i] : ".",
						O_RDONLY | O_DIRECTORY, 0, &ig);
			if (d < 0)
				continue;
			char **names = fs_list_at(d, ".", &ig);
			close(d);
			size_t k = strv_len(names);
			if (k)
				qsort(names, k, sizeof(char *), cmpstr);
			for (size_t j = 0; j < k; j++)
				if (fnmatch(c, names[j], 0) == 0) {
					char *x = xasprintf("%s%s%s", cur[i], *cur[i] ? "/" : "",
							    names[j]);
					strv_push(&next, x);
					free(x);
				}
			strv_free(names);
		}
		strv_free(cur);
		cur = next;
	}
	*out = cur;
	(void)e;
	return 0;
}

bool bpath_isdir(int vfd, const char *path)
{
	if (vfd < 0)
		return false;
	berr ig;
	int fd = fs_open_in_root(vfd, path, O_PATH, 0, &ig);
	if (fd < 0)
		return false;
	struct stat s;
	bool d = fstat(fd, &s) == 0 && S_ISDIR(s.st_mode);
	close(fd);
	return d;
}

/* dest with the symlinks the image has on its way resolved in the image's
 * root (COPY x /var/run/y where /var/run -> /run writes /run/y, as
 * Docker): lexically, component by component, at most 40 links. */
int bpath_resolve(int vfd, const char *dest, char **out, berr *e)
{
	char *rest = xstrdup(dest), *done = xstrdup("");
	int links = 0;
	while (*rest) {
		char *c = rest + strspn(rest, "/");
		size_t len = strcspn(c, "/");
		char *tail = xstrdup(c + len);
		char *comp = xstrndup(c, len);
		free(rest);
		rest = tail;
		if (!*comp || !strcmp(comp, ".")) {
			free(comp);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *sl = strrchr(done, '/');
			if (sl)
				*sl = '\0';
			free(comp);
			continue;
		}
		char *cand = xasprintf("%s/%s", done, comp);
		free(comp);
		char target[PATH_MAX];
		ssize_t n = -1;
		if (vfd >= 0) {
			berr ig;
			int pfd =
			    fs_open_in_root(vfd, *done ? done : "/", O_PATH | O_DIRECTORY, 0, &ig);
			if (pfd >= 0) {
				n = readlinkat(pfd, strrchr(cand, '/') + 1, target,
					       sizeof(target) - 1);
				close(pfd);
			}
		}
		if (n < 0) {
			free(done);
			done = cand;
			continue;
		}
		free(cand);
		if (++links > 40) {
			free(rest);
			free(done);
			return berr_set(e, ELOOP, "%s: too many levels of symbolic links", dest);
		}
		target[n] = '\0';
		char *next = xasprintf("%s/%s", target, rest);
		free(rest);
		rest = next;
		if (target[0] == '/') {
			free(done);
			done = xstrdup("");
		}
	}
	free(rest);
	*out = *done ? done : (free(done), xstrdup("/"));
	return 0;
}

/* mkdir -p of the absolute path in upper; a directory the image has keeps
 * its mode and owner, a new one is 0755 root. A directory fd. */
int bpath_mkparents(int upper, int vfd, const char *path, berr *e)
{
	return bpath_mkparents_owned(upper, vfd, path, 0, 0, e);
}

/* The same, a new directory uid:gid's (COPY --chown, WORKDIR under USER:
 * BuildKit and buildah give what they make to that owner). */
int bpath_mkparents_owned(int upper, int vfd, const char *path, uid_t nuid, gid_t ngid, berr *e)
{
	int cur = openat(upper, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return berr_sys(e, "open the layer directory");
	_cleanup_free_ char *p = xstrdup(path), *sofar = xstrdup("");
	for (char *save = NULL, *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		char *x = xasprintf("%s/%s", sofar, c);
		free(sofar);
		sofar = x;
		struct stat s;
		if (fstatat(cur, c, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			mode_t mode = 0755;
			uid_t uid = nuid;
			gid_t gid = ngid;
			berr ig;
			int v = vfd >= 0 ? fs_open_in_root(vfd, sofar, O_PATH, 0, &ig) : -1;
			struct stat vs;
			if (v >= 0 && fstat(v, &vs) == 0 && S_ISDIR(vs.st_mode)) {
				mode = vs.st_mode & 07777;
				uid = vs.st_uid;
				gid = vs.st_gid;
			}
			if (v >= 0)
				close(v);
			if (mkdirat(cur, c, 0700) < 0 || fchmodat(cur, c, mode, 0) < 0 ||
			    fchownat(cur, c, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
				close(cur);
				return berr_sys(e, "mkdir %s", sofar);
			}
		} else if (!S_ISDIR(s.st_mode)) {
			close(cur);
			return berr_set(e, ENOTDIR, "%s: not a directory", sofar);
		}
		int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		if (next < 0)
			return berr_sys(e, "open %s", sofar);
		cur = next;
	}
	return cur;
}
