/* -u user[:group] against the image's /etc/passwd and /etc/group, read
 * through the rootfs fd with in-root resolution (a symlinked /etc/passwd
 * cannot point at the host's). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static bool numeric(const char *s, unsigned long *v)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	*v = strtoul(s, NULL, 10);
	return true;
}

static char *read_in_root(int rootfd, const char *path)
{
	berr e;
	int fd = fs_open_in_root(rootfd, path, O_RDONLY, 0, &e);
	if (fd < 0)
		return NULL;
	char *txt = NULL;
	size_t len;
	if (fs_read_fd(fd, &txt, &len, &e) < 0)
		txt = NULL;
	close(fd);
	return txt;
}

/* Field i (0-based) of a colon-separated line, copied into out. */
static void field(const char *line, int i, char *out, size_t sz)
{
	const char *p = line;
	for (int k = 0; k < i && p; k++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	out[0] = 0;
	if (!p)
		return;
	size_t n = strcspn(p, ":\n");
	if (n >= sz)
		n = sz - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

int eng_resolve_user(int rootfd, const char *uspec, uid_t *uid, gid_t *gid, gid_t **groups,
		     size_t *n_groups, char **home, berr *e)
{
	_cleanup_free_ char *u = xstrdup(uspec);
	char *g = strchr(u, ':');
	if (g)
		*g++ = 0;
	*uid = 0;
	*gid = 0;
	*groups = NULL;
	*n_groups = 0;
	*home = NULL;
	_cleanup_free_ char *passwd = read_in_root(rootfd, "/etc/passwd");
	_cleanup_free_ char *group = read_in_root(rootfd, "/etc/group");
	unsigned long v;
	bool found = false;
	char name[256] = "", f[256];
	if (*u) {
		bool num = numeric(u, &v);
		for (char *line = passwd; line && *line;) {
			char *nl = strchr(line, '\n');
			field(line, 0, f, sizeof(f));
			char uidf[32];
			field(line, 2, uidf, sizeof(uidf));
			if ((num && !strcmp(uidf, u)) || (!num && !strcmp(f, u))) {
				snprintf(name, sizeof(name), "%s", f);
				*uid = (uid_t)strtoul(uidf, NULL, 10);
				field(line, 3, f, sizeof(f));
				*gid = (gid_t)strtoul(f, NULL, 10);
				field(line, 5, f, sizeof(f));
				*home = xstrdup(f);
				found = true;
				break;
			}
			line = nl ? nl + 1 : NULL;
		}
		if (!found) {
			if (!num)
				return berr_set(
				    e, ENOENT,
				    "unable to find user %s: no matching entries in passwd file",
				    u);
			*uid = (uid_t)v;
			*gid = 0;
		}
	}
	if (g && *g) {
		if (numeric(g, &v)) {
			*gid = (gid_t)v;
		} else {
			bool gf = false;
			for (char *line = group; line && *line;) {
				char *nl = strchr(line, '\n');
				field(line, 0, f, sizeof(f));
				if (!strcmp(f, g)) {
					field(line, 2, f, sizeof(f));
					*gid = (gid_t)strtoul(f, NULL, 10);
					gf = true;
					break;
				}
				line = nl ? nl + 1 : NULL;
			}
			if (!gf) {
				free(*home);
				*home = NULL;
				return berr_set(
				    e, ENOENT,
				    "unable to find group %s: no matching entries in group file",
				    g);
			}
		}
	}
	/* supplementary groups: groups listing the user by name */
	if (*name && group) {
		for (char *line = group; *line;) {
			char *nl = strchr(line, '\n');
			char members[1024], gidf[32];
			field(line, 3, members, sizeof(members));
			field(line, 2, gidf, sizeof(gidf));
			for (char *tok = strtok(members, ","); tok; tok = strtok(NULL, ","))
				if (!strcmp(tok, name)) {
					*groups =
					    xreallocarray(*groups, *n_groups + 1, sizeof(gid_t));
					(*groups)[(*n_groups)++] = (gid_t)strtoul(gidf, NULL, 10);
				}
			if (!nl)
				break;
			line = nl + 1;
		}
	}
	return 0;
}

int eng_parse_size(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return -1;
	int64_t m = 1;
	switch (tolower((unsigned char)*end)) {
	case 0:
		break;
	case 'b':
		break;
	case 'k':
		m = 1024;
		break;
	case 'm':
		m = 1024 * 1024;
		break;
	case 'g':
		m = 1024LL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (*end && end[1] && !(tolower((unsigned char)end[1]) == 'b' && !end[2]))
		return -1;
	*out = (int64_t)(v * (double)m);
	return 0;
}
