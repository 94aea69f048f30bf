/* --userns, --uidmap, --gidmap -> the container's user namespace (see
 * idmaps.h). */
#include "engine/idmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* A decimal u32 up to `end` (a separator or NUL); advances *p past it. */
static int parse_id(const char **p, char end, uint32_t *out)
{
	const char *s = *p;
	if (*s < '0' || *s > '9')
		return -1;
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	if (*s != end)
		return -1;
	*out = (uint32_t)v;
	*p = end ? s + 1 : s;
	return 0;
}

static int cmp_inside(const void *a, const void *b)
{
	const idmap_range *x = a, *y = b;
	return x->inside < y->inside ? -1 : x->inside > y->inside;
}

static int cmp_outside(const void *a, const void *b)
{
	const idmap_range *x = a, *y = b;
	return x->outside < y->outside ? -1 : x->outside > y->outside;
}

/* Is [first, first+count) all mapped in `have` (the engine's own map, as
 * seen inside)? Steps range by range, at most have->n + 1 of them. */
static bool covered(const idmap *have, uint32_t first, uint32_t count)
{
	uint64_t at = first, end = (uint64_t)first + count;
	for (size_t steps = 0; at < end && steps <= have->n; steps++) {
		bool moved = false;
		for (size_t i = 0; i < have->n && !moved; i++) {
			const idmap_range *r = &have->r[i];
			if (at >= r->inside && at < (uint64_t)r->inside + r->count) {
				at = (uint64_t)r->inside + r->count;
				moved = true;
			}
		}
		if (!moved)
			return false;
	}
	return at >= end;
}

/* The --uidmap/--gidmap list into m, checked against the engine's ids. */
static int parse_maps(const char *flag, char *const *specs, const idmap *have, idmap *m, berr *e)
{
	m->n = 0;
	for (char *const *s = specs; s && *s; s++) {
		if (m->n >= IDMAP_MAX)
			return berr_set(e, EINVAL, "--%s: more than %d ranges (the kernel's limit)",
					flag, IDMAP_MAX);
		idmap_range r;
		const char *p = *s;
		if (parse_id(&p, ':', &r.inside) < 0 || parse_id(&p, ':', &r.outside) < 0 ||
		    parse_id(&p, 0, &r.count) < 0)
			return berr_set(e, EINVAL,
					"--%s \"%s\": want CONTAINER_ID:HOST_ID:SIZE (decimal ids)",
					flag, *s);
		if (r.count == 0)
			return berr_set(e, EINVAL, "--%s \"%s\": the size must be at least 1", flag,
					*s);
		/* 4294967295 is (uid_t)-1, never an id */
		if ((uint64_t)r.inside + r.count > UINT32_MAX ||
		    (uint64_t)r.outside + r.count > UINT32_MAX)
			return berr_set(e, EINVAL, "--%s \"%s\": the range passes id 4294967294",
					flag, *s);
		if (!covered(have, r.outside, r.count)) {
			if (idmap_is_initial(have))
				return berr_set(e, EINVAL, "--%s \"%s\": ids out of range", flag,
						*s);
			return berr_set(
			    e, EINVAL,
			    "--%s \"%s\": host ids %u-%u are not all mapped into this "
			    "user's namespace (0-%u are: the caller and its /etc/sub%cid "
			    "range)",
			    flag, *s, r.outside, r.outside + r.count - 1, idmap_size(have) - 1,
			    flag[0]);
		}
		m->r[m->n++] = r;
	}
	/* the kernel refuses overlaps on either side: say which */
	_cleanup_free_ idmap_range *sorted = xreallocarray(NULL, m->n ? m->n : 1, sizeof(*sorted));
	for (int side = 0; side < 2; side++) {
		memcpy(sorted, m->r, m->n * sizeof(*sorted));
		qsort(sorted, m->n, sizeof(*sorted), side ? cmp_outside : cmp_inside);
		for (size_t i = 1; i < m->n; i++) {
			const idmap_range *a = &sorted[i - 1], *b = &sorted[i];
			uint32_t a0 = side ? a->outside : a->inside,
				 b0 = side ? b->outside : b->inside;
			if ((uint64_t)a0 + a->count > b0)
				return berr_set(
				    e, EINVAL,
				    "--%s: the ranges %u:%u:%u and %u:%u:%u overlap on the "
				    "%s side",
				    flag, a->inside, a->outside, a->count, b->inside, b->outside,
				    b->count, side ? "host" : "container");
		}
	}
	return 0;
}

/* The kernel maps each range of a child's map through one range of its
 * parent's (map_id_range_down): a range crossing a boundary of the
 * engine's own map (the caller's id, then each /etc/subuid range) is cut
 * there. m's engine ids are all mapped (checked before). */
static int split_at_parent(idmap *m, const idmap *self, const char *flag, berr *e)
{
	idmap *out = xmalloc(sizeof(*out));
	out->n = 0;
	int r = 0;
	for (size_t i = 0; i < m->n && r == 0; i++) {
		uint64_t off = 0;
		while (off < m->r[i].count && r == 0) {
			uint64_t at = (uint64_t)m->r[i].outside + off, len = 0;
			for (size_t k = 0; k < self->n && !len; k++) {
				const idmap_range *p = &self->r[k];
				if (at >= p->inside && at < (uint64_t)p->inside + p->count)
					len = (uint64_t)p->inside + p->count - at;
			}
			if (!len) { /* not mapped: the kernel says EPERM, we say which */
				r = berr_set(e, EINVAL, "--%s: host id %llu is not mapped", flag,
					     (unsigned long long)at);
				break;
			}
			if (len > m->r[i].count - off)
				len = m->r[i].count - off;
			if (out->n >= IDMAP_MAX) {
				r = berr_set(e, EINVAL,
					     "--%s: more than %d ranges once cut at the user's "
					     "namespace's ranges",
					     flag, IDMAP_MAX);
				break;
			}
			out->r[out->n++] = (idmap_range){(uint32_t)(m->r[i].inside + off),
							 (uint32_t)at, (uint32_t)len};
			off += len;
		}
	}
	if (r == 0)
		*m = *out;
	free(out);
	return r;
}

/* keep-id[:uid=U,gid=G] */
static int parse_keep_id(const char *opts, eng_idmaps *u, berr *e)
{
	if (!*opts)
		return 0;
	if (*opts++ != ':')
		return berr_set(e, EINVAL, "unsupported --userns mode \"%s\"", u->mode);
	_cleanup_free_ char *c = xstrdup(opts);
	char *sv = NULL;
	for (char *t = strtok_r(c, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
		const char *v = strchr(t, '=');
		uint32_t *dst = !strncmp(t, "uid=", 4)	 ? &u->uid
				: !strncmp(t, "gid=", 4) ? &u->gid
							 : NULL;
		if (!dst || !v)
			return berr_set(
			    e, EINVAL,
			    "--userns \"%s\": unknown keep-id option \"%s\" (uid=, gid=)", u->mode,
			    t);
		v++;
		if (parse_id(&v, 0, dst) < 0 || *dst == UINT32_MAX)
			return berr_set(e, EINVAL, "--userns \"%s\": bad id in \"%s\"", u->mode, t);
	}
	return 0;
}

/* Podman's keep-id layout over the engine's ids 0..n (0 the caller). */
static void keep_id_map(idmap *m, uint32_t id, uint32_t n)
{
	m->n = 0;
	uint32_t low = id < n ? id : n;
	if (low)
		m->r[m->n++] = (idmap_range){0, 1, low};
	m->r[m->n++] = (idmap_range){id, 0, 1};
	if (n > id)
		m->r[m->n++] = (idmap_range){id + 1, id + 1, n - id};
}

/* Which engine id is the host id `host` (the caller: the outside of the
 * range whose inside is 0). */
static uint32_t caller_of(const idmap *self)
{
	for (size_t i = 0; i < self->n; i++)
		if (self->r[i].inside == 0)
			return self->r[i].outside;
	return 0;
}

int eng_idmaps_parse(const eng_run_opts *o, eng_idmaps *u, berr *e)
{
	memset(u, 0, sizeof(*u));
	u->mode = o->userns ? o->userns : "";
	bool maps = o->uidmaps || o->gidmaps;
	if (maps && *u->mode && strcmp(u->mode, "host"))
		return berr_set(e, EINVAL, "--userns \"%s\" and --uidmap/--gidmap are exclusive",
				u->mode);
	bool keep = !strncmp(u->mode, "keep-id", 7);
	if (!maps && !keep) {
		if (*u->mode && strcmp(u->mode, "host"))
			return berr_set(e, EINVAL,
					"unsupported --userns mode \"%s\" (host, keep-id[:uid=U,"
					"gid=G])",
					u->mode);
		return 0;
	}
	if (maps && !strcmp(u->mode, "host"))
		return berr_set(e, EINVAL, "--userns \"host\" and --uidmap/--gidmap are exclusive");
	idmap *self_u = xmalloc(sizeof(*self_u)), *self_g = xmalloc(sizeof(*self_g));
	int r = -1;
	if (idmap_read_self("uid", self_u, e) < 0 || idmap_read_self("gid", self_g, e) < 0)
		goto out;
	if (keep) {
		if (idmap_is_initial(self_u)) {
			berr_set(e, EINVAL,
				 "--userns \"%s\": keep-id is only supported in rootless "
				 "mode",
				 u->mode);
			goto out;
		}
		u->keep_id = true;
		u->host_uid = caller_of(self_u);
		u->uid = u->host_uid;
		u->gid = caller_of(self_g);
		if (parse_keep_id(u->mode + 7, u, e) < 0)
			goto out;
		keep_id_map(&u->uids, u->uid, idmap_size(self_u) - 1);
		keep_id_map(&u->gids, u->gid, idmap_size(self_g) - 1);
	} else {
		char *const *um = o->uidmaps ? o->uidmaps : o->gidmaps;
		char *const *gm = o->gidmaps ? o->gidmaps : o->uidmaps;
		if (parse_maps(o->uidmaps ? "uidmap" : "gidmap", um, self_u, &u->uids, e) < 0 ||
		    parse_maps(o->gidmaps ? "gidmap" : "uidmap", gm, self_g, &u->gids, e) < 0)
			goto out;
	}
	/* the runtime sets up the container as its root before it becomes the
	 * process's user */
	if (!idmap_maps(&u->uids, 0) || !idmap_maps(&u->gids, 0)) {
		if (keep)
			berr_set(e, EINVAL,
				 "--userns \"%s\": the container's root needs an id of its own: "
				 "give this user a range in /etc/subuid and /etc/subgid",
				 u->mode);
		else
			berr_set(e, EINVAL,
				 "--%s: container id 0 (the container's root) is not mapped",
				 idmap_maps(&u->uids, 0) ? "gidmap" : "uidmap");
		goto out;
	}
	if (split_at_parent(&u->uids, self_u, "uidmap", e) < 0 ||
	    split_at_parent(&u->gids, self_g, "gidmap", e) < 0)
		goto out;
	u->nested = true;
	r = 0;
out:
	free(self_u);
	free(self_g);
	return r;
}

int eng_idmaps_check_user(const eng_idmaps *u, const char *uspec, berr *e)
{
	if (!u->nested)
		return 0;
	uint32_t uid = 0, gid = 0;
	const char *p = uspec ? uspec : "";
	if (*p) {
		const char *colon = strchr(p, ':');
		if (parse_id(&p, colon ? ':' : 0, &uid) < 0 || (colon && parse_id(&p, 0, &gid) < 0))
			return 0; /* names: checked once resolved */
		if (!colon)
			gid = idmap_maps(&u->gids, 0) ? 0 : u->gids.r[0].inside;
	}
	if (!idmap_maps(&u->uids, uid) || !idmap_maps(&u->gids, gid))
		return berr_set(e, EINVAL,
				"the container's user %u:%u is not mapped in its user namespace "
				"(--uidmap/--gidmap)",
				uid, gid);
	return 0;
}

const char *eng_idmaps_user(const eng_idmaps *u, const char *given, char *buf, size_t bufsz)
{
	if (!u->keep_id || (given && *given))
		return given;
	snprintf(buf, bufsz, "%u:%u", u->uid, u->gid);
	return buf;
}

uint32_t eng_idmaps_to_engine(const idmap *m, uint32_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->r[i].inside && id - m->r[i].inside < m->r[i].count)
			return m->r[i].outside + (id - m->r[i].inside);
	return id;
}

static json_object *maps_json(const idmap *m)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < m->n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "containerID", json_object_new_int64(m->r[i].inside));
		json_object_object_add(o, "hostID", json_object_new_int64(m->r[i].outside));
		json_object_object_add(o, "size", json_object_new_int64(m->r[i].count));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *maps_strv(const idmap *m)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < m->n; i++) {
		char b[40];
		snprintf(b, sizeof(b), "%u:%u:%u", m->r[i].inside, m->r[i].outside, m->r[i].count);
		json_object_array_add(a, json_object_new_string(b));
	}
	return a;
}

void eng_idmaps_host_config(const eng_idmaps *u, json_object *hc)
{
	json_object_object_add(hc, "UsernsMode", json_object_new_string(u->mode));
	if (!u->nested)
		return;
	json_object_object_add(hc, "UIDMaps", maps_strv(&u->uids));
	json_object_object_add(hc, "GIDMaps", maps_strv(&u->gids));
}

int eng_idmaps_config(const eng_idmaps *u, json_object *cfg, uid_t uid, gid_t gid,
		      const gid_t *groups, size_t n_groups, berr *e)
{
	if (!u->nested)
		return 0;
	for (size_t i = 0; i < n_groups; i++)
		if (!idmap_maps(&u->gids, groups[i]))
			return berr_set(e, EINVAL,
					"the container's user's group %u is not mapped in its user "
					"namespace (--gidmap)",
					(unsigned)groups[i]);
	if (!idmap_maps(&u->uids, uid) || !idmap_maps(&u->gids, gid))
		return berr_set(e, EINVAL,
				"the container's user %u:%u is not mapped in its user namespace "
				"(--uidmap/--gidmap)",
				(unsigned)uid, (unsigned)gid);
	json_object *lx = NULL, *ns = NULL;
	if (!json_object_object_get_ex(cfg, "linux", &lx) ||
	    !json_object_object_get_ex(lx, "namespaces", &ns))
		return berr_set(e, EINVAL, "config.json: linux.namespaces missing");
	json_object *n = json_object_new_object();
	json_object_object_add(n, "type", json_object_new_string("user"));
	json_object_array_add(ns, n);
	json_object_object_add(lx, "uidMappings", maps_json(&u->uids));
	json_object_object_add(lx, "gidMappings", maps_json(&u->gids));
	return 0;
}

/* Does an /etc/passwd or /etc/group text have an entry whose third field
 * is id? */
static bool has_id(const char *txt, uint32_t id)
{
	char want[16];
	int n = snprintf(want, sizeof(want), "%u", id);
	for (const char *l = txt; l && *l;) {
		const char *eol = strchr(l, '\n');
		const char *f = l;
		for (int k = 0; k < 2 && f && (!eol || f < eol); k++) {
			f = strchr(f, ':');
			if (f)
				f++;
		}
		if (f && (!eol || f < eol) && !strncmp(f, want, (size_t)n) &&
		    (f[n] == ':' || f[n] == '\n' || !f[n]))
			return true;
		l = eol ? eol + 1 : NULL;
	}
	return false;
}

/* Append line to rootfs' path (made when missing, owned as the
 * container's root) unless an entry has id. */
static int add_entry(int rfd, const eng_idmaps *u, const char *path, uint32_t id, const char *line,
		     berr *e)
{
	_cleanup_free_ char *txt = NULL;
	size_t len = 0;
	_cleanup_close_ int fd = fs_open_in_root(rfd, path, O_RDWR | O_CREAT | O_NOFOLLOW, 0644, e);
	if (fd < 0)
		return berr_ctx(e, "keep-id: %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "keep-id: stat %s", path);
	if (st.st_size == 0 &&
	    fchown(fd, eng_idmaps_to_engine(&u->uids, 0), eng_idmaps_to_engine(&u->gids, 0)) < 0)
		return berr_sys(e, "keep-id: chown %s", path);
	if (fs_read_fd(fd, &txt, &len, e) < 0)
		return berr_ctx(e, "keep-id: %s", path);
	if (has_id(txt, id))
		return 0;
	const char *sep = len && txt[len - 1] != '\n' ? "\n" : "";
	_cleanup_free_ char *add = xasprintf("%s%s\n", sep, line);
	if (lseek(fd, 0, SEEK_END) < 0 || fs_write_all(fd, add, strlen(add)) < 0)
		return berr_sys(e, "keep-id: write %s", path);
	return 0;
}

int eng_idmaps_passwd(const eng_idmaps *u, const char *rootfs, berr *e)
{
	if (!u->keep_id)
		return 0;
	_cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return berr_sys(e, "open %s", rootfs);
	/* the caller's name and home from the host's passwd (readable from
	 * the user's namespace: the same files) */
	struct passwd pw, *res = NULL;
	char buf[4096];
	const char *name = "user", *home = "/";
	if (getpwuid_r(u->host_uid, &pw, buf, sizeof(buf), &res) == 0 && res) {
		name = res->pw_name;
		if (res->pw_dir && res->pw_dir[0] == '/')
			home = res->pw_dir;
	}
	_cleanup_free_ char *pl =
	    xasprintf("%s:*:%u:%u:%s:%s:/bin/sh", name, u->uid, u->gid, name, home);
	_cleanup_free_ char *gl = xasprintf("%s:x:%u:", name, u->gid);
	int etc = fs_mkdir_in_root(rfd, "/etc", 0755, e);
	if (etc < 0)
		return berr_ctx(e, "keep-id: /etc");
	close(etc);
	if (add_entry(rfd, u, "/etc/passwd", u->uid, pl, e) < 0 ||
	    add_entry(rfd, u, "/etc/group", u->gid, gl, e) < 0)
		return -1;
	return 0;
}
