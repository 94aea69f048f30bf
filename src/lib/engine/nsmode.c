/* --ipc, --pid, --uts and --cgroup-parent: the contract is in nsmode.h. */
#include "engine/nsmode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/netpriv.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/xalloc.h"

/* The OCI names of the three namespaces, and /proc/PID/ns/<name>. */
static const struct {
	const char *flag, *oci, *proc, *hc;
	bool shareable_none; /* ipc's extra modes */
} ns_kinds[] = {
    {"--ipc", "ipc", "ipc", "IpcMode", true},
    {"--pid", "pid", "pid", "PidMode", false},
    {"--uts", "uts", "uts", "UTSMode", false},
};

static eng_ns_mode *mode_of(eng_ns_plan *p, size_t i)
{
	return i == 0 ? &p->ipc : i == 1 ? &p->pid : &p->uts;
}
static const eng_ns_mode *cmode_of(const eng_ns_plan *p, size_t i)
{
	return i == 0 ? &p->ipc : i == 1 ? &p->pid : &p->uts;
}

static int parse_mode(eng *g, size_t i, const char *s, eng_ns_mode *m, berr *e)
{
	*m = (eng_ns_mode){ENG_NS_PRIVATE, ""};
	if (!s || !*s || !strcmp(s, "private"))
		return 0;
	if (!strcmp(s, "host")) {
		m->kind = ENG_NS_HOST;
		return 0;
	}
	if (ns_kinds[i].shareable_none && !strcmp(s, "shareable")) {
		m->kind = ENG_NS_SHAREABLE;
		return 0;
	}
	if (ns_kinds[i].shareable_none && !strcmp(s, "none")) {
		m->kind = ENG_NS_NONE;
		return 0;
	}
	if (!strncmp(s, "container:", 10) && s[10]) {
		m->kind = ENG_NS_CONTAINER;
		if (eng_lookup(g, s + 10, m->target, e) < 0)
			return berr_ctx(e, "%s %s", ns_kinds[i].flag, s);
		return 0;
	}
	return berr_set(e, EINVAL, "invalid %s \"%s\": expected private, host, %scontainer:NAME|ID",
			ns_kinds[i].flag, s, ns_kinds[i].shareable_none ? "shareable, none, " : "");
}

/* A cgroup path a user may name: no "..", no empty result, printable. */
static char *clean_parent(const char *s, berr *e)
{
	if (!s || !*s)
		return berr_set(e, EINVAL, "invalid --cgroup-parent \"\": empty"), NULL;
	if (strlen(s) > 512)
		return berr_set(e, EINVAL, "invalid --cgroup-parent: longer than 512 bytes"), NULL;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f)
			return berr_set(e, EINVAL,
					"invalid --cgroup-parent \"%s\": a space or control "
					"character",
					s),
			       NULL;
	/* one pass: components copied, "." dropped, ".." refused */
	size_t n = strlen(s);
	char *out = xzalloc(n + 2), *w = out;
	if (s[0] == '/')
		*w++ = '/';
	for (const char *c = s; *c;) {
		while (*c == '/')
			c++;
		const char *end = strchrnul(c, '/');
		size_t len = (size_t)(end - c);
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			free(out);
			return berr_set(e, EINVAL, "invalid --cgroup-parent \"%s\": \"..\"", s),
			       NULL;
		}
		if (len && !(len == 1 && c[0] == '.')) {
			if (w > out && w[-1] != '/')
				*w++ = '/';
			memcpy(w, c, len);
			w += len;
		}
		c = end;
	}
	*w = 0;
	if (!*out || !strcmp(out, "/")) {
		free(out);
		return berr_set(e, EINVAL, "invalid --cgroup-parent \"%s\": the root cgroup", s),
		       NULL;
	}
	return out;
}

/* The target's record, checked: running (for start) and its init's pid. */
static int target_pid(eng *g, const char *flag, const char *tid, int *pid, berr *e)
{
	json_object *t = eng_load(g, tid, e);
	if (!t)
		return berr_ctx(e, "%s container:%.12s", flag, tid);
	const char *st = eng_reconcile(g, tid, t);
	json_object *jp = jpath(t, "State.Pid");
	*pid = jp ? json_object_get_int(jp) : 0;
	json_object_put(t);
	if (strcmp(st, "running") || *pid <= 0)
		return berr_set(e, EINVAL, "%s container:%.12s: that container is not running",
				flag, tid);
	return 0;
}

static bool is_mount(const char *dir, const char *name)
{
	char p[4096];
	struct stat a, b;
	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return false;
	return stat(p, &a) == 0 && stat(dir, &b) == 0 && a.st_dev != b.st_dev;
}

int eng_ns_plan_make(eng *g, const eng_run_opts *o, eng_ns_plan *p, berr *e)
{
	memset(p, 0, sizeof(*p));
	p->rootless = idmap_in_userns();
	const char *given[] = {o->ipc, o->pid, o->uts};
	for (size_t i = 0; i < 3; i++)
		if (parse_mode(g, i, given[i], mode_of(p, i), e) < 0)
			return -1;
	if (p->rootless && (p->ipc.kind == ENG_NS_SHAREABLE || p->ipc.kind == ENG_NS_CONTAINER))
		return berr_set(e, EINVAL,
				"--ipc %s: not for rootless containers (the shared /dev/shm is a "
				"host mount)",
				o->ipc);
	if (p->ipc.kind == ENG_NS_CONTAINER) {
		/* Docker's rule: the donor said it shares (its shm is a host mount) */
		json_object *t = eng_load(g, p->ipc.target, e);
		if (!t)
			return berr_ctx(e, "--ipc %s", o->ipc);
		const char *m = jstr(jget(t, "HostConfig"), "IpcMode");
		bool ok = m && !strcmp(m, "shareable");
		json_object_put(t);
		if (!ok)
			return berr_set(e, EINVAL,
					"--ipc %s: that container's IPC is not shareable (create "
					"it with --ipc shareable)",
					o->ipc);
	}
	if (p->uts.kind != ENG_NS_PRIVATE && o->hostname)
		return berr_set(e, EINVAL, "--hostname conflicts with --uts %s", o->uts);
	if (p->uts.kind == ENG_NS_HOST) {
		char hn[256] = "";
		if (gethostname(hn, sizeof(hn) - 1) < 0)
			return berr_sys(e, "gethostname");
		p->hostname = xstrdup(hn);
	} else if (p->uts.kind == ENG_NS_CONTAINER) {
		json_object *t = eng_load(g, p->uts.target, e);
		if (!t)
			return berr_ctx(e, "--uts %s", o->uts);
		const char *h = jstr(jget(t, "Config"), "Hostname");
		p->hostname = xstrdup(h ? h : "");
		json_object_put(t);
	}
	if (o->cgroup_parent && !(p->cgroup_parent = clean_parent(o->cgroup_parent, e)))
		return -1;
	return 0;
}

void eng_ns_plan_free(eng_ns_plan *p)
{
	free(p->hostname);
	free(p->cgroup_parent);
	memset(p, 0, sizeof(*p));
}

/* linux.namespaces without the one of type t (--X host). */
static void drop_ns(json_object *lx, const char *t)
{
	json_object *ns = jget(lx, "namespaces"), *out = json_object_new_array();
	for (size_t i = 0; ns && i < json_object_array_length(ns); i++) {
		json_object *n = json_object_array_get_idx(ns, i);
		const char *nt = jstr(n, "type");
		if (!nt || strcmp(nt, t))
			json_object_array_add(out, json_object_get(n));
	}
	json_object_object_add(lx, "namespaces", out);
}

/* The /dev/shm entry of config.json's mounts: replaced by a bind of src, or
 * removed (src NULL). */
static void set_shm(json_object *cfg, const char *src)
{
	json_object *ms = jget(cfg, "mounts"), *out = json_object_new_array();
	for (size_t i = 0; ms && i < json_object_array_length(ms); i++) {
		json_object *m = json_object_array_get_idx(ms, i);
		const char *d = jstr(m, "destination");
		if (!d || strcmp(d, "/dev/shm")) {
			json_object_array_add(out, json_object_get(m));
			continue;
		}
		if (!src)
			continue;
		json_object *b = json_object_new_object();
		json_object_object_add(b, "destination", json_object_new_string("/dev/shm"));
		json_object_object_add(b, "type", json_object_new_string("bind"));
		json_object_object_add(b, "source", json_object_new_string(src));
		json_object *opts = json_object_new_array();
		const char *const o[] = {"rbind", "rprivate", "nosuid", "nodev", "noexec"};
		for (size_t k = 0; k < sizeof(o) / sizeof(*o); k++)
			json_object_array_add(opts, json_object_new_string(o[k]));
		json_object_object_add(b, "options", opts);
		json_object_array_add(out, b);
	}
	json_object_object_add(cfg, "mounts", out);
}

static char *hc_value(const eng_ns_mode *m, size_t i)
{
	switch (m->kind) {
	case ENG_NS_HOST:
		return xstrdup("host");
	case ENG_NS_CONTAINER:
		return xasprintf("container:%s", m->target);
	case ENG_NS_SHAREABLE:
		return xstrdup("shareable");
	case ENG_NS_NONE:
		return xstrdup("none");
	case ENG_NS_PRIVATE:
		break;
	}
	return xstrdup(i == 0 ? "private" : ""); /* Docker's inspect */
}

void eng_ns_plan_host_config(const eng_ns_plan *p, json_object *hc)
{
	for (size_t i = 0; i < 3; i++) {
		char *v = hc_value(cmode_of(p, i), i);
		json_object_object_add(hc, ns_kinds[i].hc, json_object_new_string(v));
		free(v);
	}
	json_object_object_add(hc, "CgroupParent",
			       json_object_new_string(p->cgroup_parent ? p->cgroup_parent : ""));
}

int eng_ns_plan_config(eng *g, const eng_ns_plan *p, const char *id, const char *dir,
		       json_object *cfg, berr *e)
{
	json_object *lx = jobj(cfg, "linux");
	for (size_t i = 0; i < 3; i++)
		if (cmode_of(p, i)->kind == ENG_NS_HOST)
			drop_ns(lx, ns_kinds[i].oci);
	if (p->uts.kind != ENG_NS_PRIVATE) /* the runtime sets none without its own uts */
		json_object_object_del(cfg, "hostname");
	if (p->ipc.kind == ENG_NS_HOST) {
		set_shm(cfg, "/dev/shm");
	} else if (p->ipc.kind == ENG_NS_NONE) {
		set_shm(cfg, NULL);
	} else if (p->ipc.kind == ENG_NS_SHAREABLE || p->ipc.kind == ENG_NS_CONTAINER) {
		_cleanup_free_ char *own = xasprintf("%s/shm", dir);
		_cleanup_free_ char *src = p->ipc.kind == ENG_NS_SHAREABLE
					       ? xstrdup(own)
					       : eng_path(g, p->ipc.target, "shm");
		if (p->ipc.kind == ENG_NS_SHAREABLE && mkdir(own, 0700) < 0)
			return berr_sys(e, "mkdir %s", own);
		set_shm(cfg, src);
	}
	if (p->cgroup_parent) {
		char *cg = xasprintf("%s/%s", p->cgroup_parent, id);
		json_object_object_add(lx, "cgroupsPath", json_object_new_string(cg));
		free(cg);
	}
	return 0;
}

/* namespaces[type == t].path = path */
static void set_ns_path(json_object *cfg, const char *t, const char *path)
{
	json_object *nss = jpath(cfg, "linux.namespaces");
	for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
		json_object *n = json_object_array_get_idx(nss, i);
		if (jstr(n, "type") && !strcmp(jstr(n, "type"), t))
			json_object_object_add(n, "path", json_object_new_string(path));
	}
}

static int mount_own_shm(eng *g, const char *id, berr *e)
{
	_cleanup_free_ char *dir = eng_path(g, id, ".");
	if (is_mount(dir, "shm"))
		return 0;
	_cleanup_free_ char *shm = eng_path(g, id, "shm");
	/* Docker's: 64 MiB, 1777 */
	if (mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") <
	    0)
		return berr_sys(e, "mount tmpfs on %s", shm);
	return 0;
}

int eng_ns_prepare(eng *g, const char *id, json_object *doc, berr *e)
{
	json_object *hc = jget(doc, "HostConfig");
	const char *ipc = jstr(hc, "IpcMode");
	if (ipc && !strcmp(ipc, "shareable") && mount_own_shm(g, id, e) < 0)
		return -1;
	/* every target checked before config.json is touched */
	int pids[3] = {0, 0, 0};
	bool any = false;
	for (size_t i = 0; i < 3; i++) {
		const char *m = jstr(hc, ns_kinds[i].hc);
		if (!m || strncmp(m, "container:", 10))
			continue;
		if (target_pid(g, ns_kinds[i].flag, m + 10, &pids[i], e) < 0)
			return -1;
		if (i == 0) { /* its shm is up while it runs */
			_cleanup_free_ char *tdir = eng_path(g, m + 10, ".");
			if (!is_mount(tdir, "shm"))
				return berr_set(
				    e, EINVAL, "--ipc container:%.12s: its /dev/shm is not mounted",
				    m + 10);
		}
		any = true;
	}
	if (!any)
		return 0;
	_cleanup_free_ char *cfgp = eng_path(g, id, "config.json"), *txt = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, cfgp, &txt, &len, e) < 0)
		return -1;
	json_object *cfg = json_tokener_parse(txt);
	if (!cfg)
		return berr_set(e, EINVAL, "%s: not valid JSON", cfgp);
	for (size_t i = 0; i < 3; i++) {
		if (!pids[i])
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pids[i], ns_kinds[i].proc);
		set_ns_path(cfg, ns_kinds[i].oci, path);
	}
	const char *out = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
	int r = fs_write_atomic(cfgp, out, strlen(out), 0600, false, e);
	json_object_put(cfg);
	return r;
}

int eng_shm_unmount(const char *dir, berr *e)
{
	if (!is_mount(dir, "shm"))
		return 0;
	char p[4096];
	snprintf(p, sizeof(p), "%s/shm", dir);
	if (umount2(p, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return berr_sys(e, "unmount %s", p);
	return 0;
}
