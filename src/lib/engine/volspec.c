/* -v, --mount and --tmpfs of `berth run` (volspec.h). */
#include "engine/volspec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

bool eng_vols_has(const eng_vols *l, const char *dst)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].dst, dst))
			return true;
	return false;
}

void eng_vols_free(eng_vols *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].type);
		free(l->v[i].name);
		free(l->v[i].src);
		free(l->v[i].dst);
		strv_free(l->v[i].opts);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int add_tmpfs(eng_vols *l, const char *dst, bool ro, char **opts, const char *vspec, berr *e)
{
	if (!dst || dst[0] != '/') {
		strv_free(opts);
		return berr_set(e, EINVAL,
				"invalid tmpfs \"%s\": the container path must be absolute", vspec);
	}
	if (eng_vols_has(l, dst)) {
		strv_free(opts);
		return berr_set(e, EINVAL, "duplicate mount point: %s", dst);
	}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] =
	    (eng_vol){.type = xstrdup("tmpfs"), .dst = xstrdup(dst), .ro = ro, .opts = opts};
	return 0;
}

/* size= (bytes, k/m/g) and mode= (octal) as the kernel takes them, checked */
static int add_size_mode(strv_builder *o, const char *size, const char *mode, const char *vspec,
			 berr *e)
{
	if (size) {
		int64_t b;
		if (eng_parse_size(size, &b) < 0 || b <= 0)
			return berr_set(e, EINVAL, "tmpfs \"%s\": invalid size \"%s\"", vspec,
					size);
		char *v = xasprintf("size=%lld", (long long)b);
		strvb_push_take(o, v);
	}
	if (mode) {
		char *end;
		errno = 0;
		unsigned long m = strtoul(mode, &end, 8);
		if (errno || end == mode || *end || m > 07777)
			return berr_set(e, EINVAL, "tmpfs \"%s\": invalid mode \"%s\"", vspec,
					mode);
		char *v = xasprintf("mode=%lo", m);
		strvb_push_take(o, v);
	}
	return 0;
}

static bool numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int eng_vols_add_tmpfs(eng_vols *l, const char *ts, berr *e)
{
	_cleanup_free_ char *c = xstrdup(ts);
	char *colon = strchr(c, ':');
	if (colon)
		*colon++ = 0;
	/* Docker's defaults, then the options given (a later flag wins) */
	const char *flags[4][2] = {
	    {"rw", "ro"}, {"noexec", "exec"}, {"nosuid", "suid"}, {"nodev", "dev"}};
	int pick[4] = {0, 0, 0, 0};
	const char *size = NULL, *mode = NULL;
	strv_builder extra = {0};
	char *sv = NULL;
	for (char *t = colon ? strtok_r(colon, ",", &sv) : NULL; t; t = strtok_r(NULL, ",", &sv)) {
		bool known = false;
		for (int k = 0; k < 4 && !known; k++)
			for (int j = 0; j < 2 && !known; j++)
				if (!strcmp(t, flags[k][j]))
					pick[k] = j, known = true;
		if (known)
			continue;
		if (!strncmp(t, "size=", 5))
			size = t + 5;
		else if (!strncmp(t, "mode=", 5))
			mode = t + 5;
		else if ((!strncmp(t, "nr_inodes=", 10) && numeric(t + 10)) ||
			 (!strncmp(t, "uid=", 4) && numeric(t + 4)) ||
			 (!strncmp(t, "gid=", 4) && numeric(t + 4)))
			strvb_push(&extra, t);
		else {
			strvb_free(&extra);
			return berr_set(e, EINVAL, "invalid tmpfs \"%s\": unknown option \"%s\"",
					ts, t);
		}
	}
	strv_builder o = {0};
	for (int k = 0; k < 4; k++)
		strvb_push(&o, flags[k][pick[k]]);
	char **ex = strvb_take(&extra);
	for (char **x = ex; x && *x; x++)
		strvb_push(&o, *x);
	strv_free(ex);
	if (add_size_mode(&o, size, mode, ts, e) < 0) {
		strvb_free(&o);
		return -1;
	}
	return add_tmpfs(l, c, pick[0] == 1, strvb_take(&o), ts, e);
}

int eng_vols_add(eng *g, eng_vols *l, const char *type, const char *src, const char *dst, bool ro,
		 const char *vspec, berr *e)
{
	if (!dst || dst[0] != '/')
		return berr_set(
		    e, EINVAL,
		    "invalid volume specification \"%s\": the container path must be absolute",
		    vspec);
	if ((!src || !*src) && strcmp(type, "volume"))
		return berr_set(e, EINVAL, "invalid volume specification \"%s\"", vspec);
	if (eng_vols_has(l, dst))
		return berr_set(e, EINVAL, "duplicate mount point: %s", dst);
	eng_vol v = {.type = xstrdup(type), .dst = xstrdup(dst), .ro = ro};
	if (!strcmp(type, "bind")) {
		if (src[0] != '/') {
			free(v.type);
			free(v.dst);
			return berr_set(
			    e, EINVAL,
			    "invalid volume specification \"%s\": bind source must be absolute",
			    vspec);
		}
		v.src = xstrdup(src);
	} else if (src && *src) {
		if (!eng_volume_name_valid(src)) {
			free(v.type);
			free(v.dst);
			return berr_set(e, EINVAL, "invalid volume name \"%s\"", src);
		}
		v.name = xstrdup(src);
		v.src = eng_volume_data(g, src);
	} /* else anonymous: named and made when the container is */
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = v;
	return 0;
}

int eng_vols_add_volume(eng *g, eng_vols *l, const char *s, berr *e)
{
	_cleanup_free_ char *c = xstrdup(s);
	char *parts[4] = {0};
	int n = 0;
	for (char *t = c, *sv; n < 4 && (t = strtok_r(n ? NULL : t, ":", &sv)); n++)
		parts[n] = t;
	if (n == 1 && parts[0][0] == '/') /* -v /path: an anonymous volume */
		return eng_vols_add(g, l, "volume", NULL, parts[0], false, s, e);
	if (n < 2 || n > 3)
		return berr_set(e, EINVAL,
				"invalid volume specification \"%s\" (want [SRC:]DST[:ro|rw])", s);
	bool ro = false;
	if (n == 3) {
		if (!strcmp(parts[2], "ro"))
			ro = true;
		else if (strcmp(parts[2], "rw"))
			return berr_set(e, EINVAL,
					"invalid volume specification \"%s\": mode \"%s\"", s,
					parts[2]);
	}
	return eng_vols_add(g, l, parts[0][0] == '/' ? "bind" : "volume", parts[0], parts[1], ro, s,
			    e);
}

int eng_vols_add_mount(eng *g, eng_vols *l, const char *s, berr *e)
{
	_cleanup_free_ char *c = xstrdup(s);
	const char *type = "volume", *src = NULL, *dst = NULL, *tsize = NULL, *tmode = NULL;
	bool ro = false;
	for (char *t = c, *sv; (t = strtok_r(t == c ? c : NULL, ",", &sv)); t = NULL) {
		char *v = strchr(t, '=');
		if (v)
			*v++ = 0;
		if (!strcmp(t, "type") && v)
			type = v;
		else if ((!strcmp(t, "source") || !strcmp(t, "src")) && v)
			src = v;
		else if ((!strcmp(t, "target") || !strcmp(t, "destination") || !strcmp(t, "dst")) &&
			 v)
			dst = v;
		else if (!strcmp(t, "readonly") || !strcmp(t, "ro"))
			ro = !v || !strcmp(v, "true") || !strcmp(v, "1");
		else if (!strcmp(t, "tmpfs-size") && v)
			tsize = v;
		else if (!strcmp(t, "tmpfs-mode") && v)
			tmode = v;
		else
			return berr_set(e, EINVAL, "--mount \"%s\": unknown option \"%s\"", s, t);
		if (t != c)
			continue;
	}
	if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs"))
		return berr_set(e, EINVAL, "--mount \"%s\": type must be bind, volume or tmpfs", s);
	if ((tsize || tmode) && strcmp(type, "tmpfs"))
		return berr_set(e, EINVAL,
				"--mount \"%s\": tmpfs-size and tmpfs-mode are for "
				"type=tmpfs",
				s);
	if (!strcmp(type, "tmpfs")) {
		if (src)
			return berr_set(e, EINVAL, "--mount \"%s\": a tmpfs has no source", s);
		/* --mount's tmpfs: nosuid,nodev as Docker's (exec allowed) */
		strv_builder o = {0};
		strvb_push(&o, ro ? "ro" : "rw");
		strvb_push(&o, "nosuid");
		strvb_push(&o, "nodev");
		if (add_size_mode(&o, tsize, tmode, s, e) < 0) {
			strvb_free(&o);
			return -1;
		}
		return add_tmpfs(l, dst, ro, strvb_take(&o), s, e);
	}
	if (!strcmp(type, "bind")) {
		struct stat st;
		if (!src || stat(src, &st) < 0)
			return berr_set(e, ENOENT,
					"--mount \"%s\": bind source path does not exist", s);
	}
	return eng_vols_add(g, l, type, src, dst, ro, s, e);
}
