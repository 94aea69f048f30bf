/* `berth build --secret id=ID,src=FILE` (or env=VAR): the secrets RUN
 * --mount=type=secret reads, loaded once at the start of the build and kept
 * in memory only (a RUN step gets a private copy in the build's temp dir,
 * removed after it). Their content goes into no layer, history entry or
 * cache key. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_priv.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* BuildKit's limit for one secret */
#define SECRET_MAX (500u << 10)

static bool valid_id(const char *s)
{
	if (!*s || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.", *s)))
			return false;
	return true;
}

static int read_secret_file(const char *path, const char *sspec, bsecret *s, berr *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return berr_sys(e, "--secret %s: open %s", sspec, path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "--secret %s: stat %s", sspec, path);
	if (!S_ISREG(st.st_mode))
		return berr_set(e, EINVAL, "--secret %s: %s is not a regular file", sspec, path);
	if (st.st_size > (off_t)SECRET_MAX)
		return berr_set(e, EFBIG, "--secret %s: %s is larger than %u bytes", sspec, path,
				SECRET_MAX);
	if (fs_read_fd(fd, &s->data, &s->len, e) < 0)
		return berr_ctx(e, "--secret %s: read %s", sspec, path);
	if (s->len > SECRET_MAX)
		return berr_set(e, EFBIG, "--secret %s: %s is larger than %u bytes", sspec, path,
				SECRET_MAX);
	return 0;
}

/* id=ID,src=FILE | id=ID,env=VAR (type=file|env; src also source; without
 * src and env: the variable named ID). */
static int parse_one(const char *sspec, bsecret *s, berr *e)
{
	_cleanup_free_ char *c = xstrdup(sspec);
	const char *id = NULL, *src = NULL, *env = NULL, *type = NULL;
	for (char *sv = NULL, *t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
		char *v = strchr(t, '=');
		if (!v)
			return berr_set(e, EINVAL, "--secret %s: \"%s\" is not KEY=VALUE", sspec,
					t);
		*v++ = '\0';
		if (!strcmp(t, "id"))
			id = v;
		else if (!strcmp(t, "src") || !strcmp(t, "source"))
			src = v;
		else if (!strcmp(t, "env"))
			env = v;
		else if (!strcmp(t, "type"))
			type = v;
		else
			return berr_set(e, EINVAL, "--secret %s: unknown key \"%s\"", sspec, t);
	}
	if (!id || !valid_id(id))
		return berr_set(e, EINVAL,
				"--secret %s: id= is required (letters, digits, '-', '_', '.')",
				sspec);
	if (type && strcmp(type, "file") && strcmp(type, "env"))
		return berr_set(e, EINVAL, "--secret %s: type must be file or env", sspec);
	if (src && env)
		return berr_set(e, EINVAL, "--secret %s: src and env exclude each other", sspec);
	if (type && !strcmp(type, "env") && src)
		env = src, src = NULL;
	s->id = xstrdup(id);
	if (src)
		return read_secret_file(src, sspec, s, e);
	const char *var = env ? env : id;
	const char *val = getenv(var);
	if (!val)
		return berr_set(e, ENOENT, "--secret %s: the environment variable %s is not set",
				sspec, var);
	if (strlen(val) > SECRET_MAX)
		return berr_set(e, EFBIG, "--secret %s: larger than %u bytes", sspec, SECRET_MAX);
	s->data = xstrdup(val);
	s->len = strlen(val);
	return 0;
}

int bsecret_load(bctx *b, berr *e)
{
	size_t n = strv_len((char **)b->o->secrets);
	if (!n)
		return 0;
	b->secrets = xzalloc(sizeof(bsecret) * n);
	for (size_t i = 0; i < n; i++) {
		bsecret s = {0};
		if (parse_one(b->o->secrets[i], &s, e) < 0) {
			free(s.id);
			free(s.data);
			return -1;
		}
		for (size_t j = 0; j < b->n_secrets; j++)
			if (!strcmp(b->secrets[j].id, s.id)) {
				berr_set(e, EINVAL, "--secret: id %s given twice", s.id);
				free(s.id);
				free(s.data);
				return -1;
			}
		b->secrets[b->n_secrets++] = s;
	}
	return 0;
}

const bsecret *bsecret_find(const bctx *b, const char *id)
{
	for (size_t i = 0; i < b->n_secrets; i++)
		if (!strcmp(b->secrets[i].id, id))
			return &b->secrets[i];
	return NULL;
}

void bsecret_free(bctx *b)
{
	for (size_t i = 0; i < b->n_secrets; i++) {
		/* not left in freed memory */
		if (b->secrets[i].data)
			explicit_bzero(b->secrets[i].data, b->secrets[i].len);
		free(b->secrets[i].id);
		free(b->secrets[i].data);
	}
	free(b->secrets);
	b->secrets = NULL;
	b->n_secrets = 0;
}
