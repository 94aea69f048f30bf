/* Container names: <root>/containers/.names/<name> is a symlink to the id.
 * symlinkat() fails with EEXIST when the name is taken, so checking and
 * taking a name is one syscall instead of reading every container.json;
 * a link whose container has no container.json any more (a crash between
 * removing the container and its name) is stale and is taken over. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"

#define NAMES ".names"

static int names_dir(eng *g)
{
	if (mkdirat(g->ctrs_fd, NAMES, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(g->ctrs_fd, NAMES, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static bool name_ok(const char *name)
{
	return *name && *name != '.' && !strchr(name, '/') && strlen(name) < 200;
}

/* The id `name` points to, if that container still exists. */
static bool lookup(eng *g, int dfd, const char *name, char id[65])
{
	char buf[80];
	ssize_t n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	if (n != 64)
		return false;
	buf[n] = 0;
	char p[96];
	snprintf(p, sizeof(p), "%s/container.json", buf);
	if (faccessat(g->ctrs_fd, p, F_OK, 0) < 0)
		return false;
	memcpy(id, buf, 65);
	return true;
}

bool eng_name_used(eng *g, const char *name, char id[65])
{
	if (!name_ok(name))
		return false;
	int dfd = openat(g->ctrs_fd, NAMES, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false;
	bool r = lookup(g, dfd, name, id);
	close(dfd);
	return r;
}

int eng_name_take(eng *g, const char *name, const char *id, berr *e)
{
	if (!name_ok(name))
		return berr_set(e, EINVAL, "invalid container name \"%s\"", name);
	int dfd = names_dir(g);
	if (dfd < 0)
		return berr_sys(e, "open %s/" NAMES, g->ctrs);
	int r = 0;
	for (int tries = 0; tries < 2; tries++) {
		if (symlinkat(id, dfd, name) == 0)
			goto out;
		if (errno != EEXIST) {
			r = berr_sys(e, "name %s: symlink in %s/" NAMES, name, g->ctrs);
			goto out;
		}
		char other[65];
		if (lookup(g, dfd, name, other)) {
			r = berr_set(e, EEXIST, "the container name \"%s\" is already in use by %s",
				     name, other);
			goto out;
		}
		unlinkat(dfd, name, 0); /* stale */
	}
	r = berr_set(e, EEXIST, "the container name \"%s\" is already in use", name);
out:
	close(dfd);
	return r;
}

void eng_name_drop(eng *g, const char *name, const char *id)
{
	if (!name_ok(name))
		return;
	int dfd = openat(g->ctrs_fd, NAMES, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	char buf[80];
	ssize_t n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	if (n == 64 && !memcmp(buf, id, 64))
		unlinkat(dfd, name, 0);
	close(dfd);
}
