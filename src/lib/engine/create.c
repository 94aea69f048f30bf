/* eng_create: Docker's run flags + the image config -> container dir,
 * overlay rootfs, OCI config.json and container.json. Everything is
 * validated before anything is made; on a later error all is undone. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/healthpriv.h"
#include "engine/cgparent.h"
#include "engine/engine.h"
#include "engine/idmaps.h"
#include "engine/volspec.h"
#include "engine/netplan.h"
#include "engine/nsmode.h"
#include "engine/pod.h"
#include "engine/envset.h"
#include "image/image.h"
#include "seccomp/seccomp.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE",	   "CAP_FOWNER",     "CAP_FSETID",
    "CAP_KILL",	   "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
    "CAP_SETPCAP", "CAP_SETUID",	   "CAP_SYS_CHROOT", NULL};

typedef struct plan {
	uint64_t caps;
	int64_t memory, pids;
	int64_t quota, period;
	bool no_seccomp, no_new_privs;
	json_object *seccomp_file;
	eng_vols vols; /* -v, --mount, --tmpfs */
	struct {
		int res;
		uint64_t soft, hard;
		char type[32];
	} ulim[16];
	size_t n_ulim;
	bool host_net;
	eng_net_plan net;
	strv_builder env_extra; /* --env-file lines, -e */
	eng_log_cfg log;
	eng_idmaps userns; /* --userns, --uidmap, --gidmap */
	eng_ns_plan ns;	   /* --ipc, --pid, --uts, --cgroup-parent */
} plan;

static void plan_free(plan *p)
{
	eng_vols_free(&p->vols);
	json_object_put(p->seccomp_file);
	strvb_free(&p->env_extra);
	eng_net_plan_free(&p->net);
	eng_ns_plan_free(&p->ns);
}

static int cap_parse(const char *n, int *out)
{
	char buf[64];
	if (strncasecmp(n, "CAP_", 4))
		snprintf(buf, sizeof(buf), "CAP_%s", n);
	else
		snprintf(buf, sizeof(buf), "%s", n);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	int c = spec_cap_from_name(buf);
	if (c < 0)
		return -1;
	*out = c;
	return 0;
}

static uint64_t all_caps(void)
{
	int last = spec_cap_last();
	/* what this kernel knows (capset refuses more) */
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int k;
	if (f) {
		if (fscanf(f, "%d", &k) == 1 && k < last)
			last = k;
		fclose(f);
	}
	uint64_t all = last >= 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
	/* and what we hold ourselves: a container cannot get more */
	f = fopen("/proc/self/status", "re");
	if (f) {
		char line[256];
		unsigned long long bnd;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapBnd: %llx", &bnd) == 1)
				all &= bnd;
		fclose(f);
	}
	return all;
}

static const struct {
	const char *name;
	int res;
} ulimit_names[] = {{"core", RLIMIT_CORE},
		    {"cpu", RLIMIT_CPU},
		    {"data", RLIMIT_DATA},
		    {"fsize", RLIMIT_FSIZE},
		    {"locks", RLIMIT_LOCKS},
		    {"memlock", RLIMIT_MEMLOCK},
		    {"msgqueue", RLIMIT_MSGQUEUE},
		    {"nice", RLIMIT_NICE},
		    {"nofile", RLIMIT_NOFILE},
		    {"nproc", RLIMIT_NPROC},
		    {"rss", RLIMIT_RSS},
		    {"rtprio", RLIMIT_RTPRIO},
		    {"sigpending", RLIMIT_SIGPENDING},
		    {"stack", RLIMIT_STACK},
		    {"as", RLIMIT_AS}};

static int parse_ulimit(plan *p, const char *s, berr *e)
{
	_cleanup_free_ char *c = xstrdup(s);
	char *v = strchr(c, '=');
	if (!v || p->n_ulim >= 16)
		return berr_set(e, EINVAL, "invalid ulimit \"%s\" (want NAME=SOFT[:HARD])", s);
	*v++ = 0;
	size_t i;
	for (i = 0; i < ARRAY_SIZE(ulimit_names); i++)
		if (!strcmp(ulimit_names[i].name, c))
			break;
	if (i == ARRAY_SIZE(ulimit_names))
		return berr_set(e, EINVAL, "invalid ulimit \"%s\": unknown name \"%s\"", s, c);
	char *end;
	uint64_t soft = strtoull(v, &end, 10), hard = soft;
	if (end == v || (*end && *end != ':'))
		return berr_set(e, EINVAL, "invalid ulimit \"%s\"", s);
	if (*end == ':') {
		char *h = end + 1;
		hard = strtoull(h, &end, 10);
		if (end == h || *end)
			return berr_set(e, EINVAL, "invalid ulimit \"%s\"", s);
	}
	if (soft > hard)
		return berr_set(e, EINVAL, "invalid ulimit \"%s\": soft limit above hard limit", s);
	p->ulim[p->n_ulim].res = ulimit_names[i].res;
	p->ulim[p->n_ulim].soft = soft;
	p->ulim[p->n_ulim].hard = hard;
	snprintf(p->ulim[p->n_ulim].type, 32, "RLIMIT_%s", c);
	for (char *q = p->ulim[p->n_ulim].type; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	p->n_ulim++;
	return 0;
}

static int add_env_line(plan *p, const char *l, berr *e)
{
	if (!*l || l[0] == '=')
		return berr_set(e, EINVAL, "invalid environment variable \"%s\"", l);
	if (strchr(l, '=')) {
		strvb_push(&p->env_extra, l);
	} else {
		const char *v = getenv(l);
		if (v) {
			strvb_push_take(&p->env_extra, xasprintf("%s=%s", l, v));
		}
	}
	return 0;
}

/* Check every flag before anything is made. */
static int plan_make(eng *g, const eng_run_opts *o, plan *p, berr *e)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; default_caps[i]; i++)
		p->caps |= 1ULL << spec_cap_from_name(default_caps[i]);
	if (o->privileged)
		p->caps = all_caps();
	for (char **c = o->cap_add; c && *c; c++) {
		int n;
		if (!strcasecmp(*c, "ALL"))
			p->caps = all_caps();
		else if (cap_parse(*c, &n) < 0)
			return berr_set(e, EINVAL, "unknown capability \"%s\"", *c);
		else
			p->caps |= 1ULL << n;
	}
	for (char **c = o->cap_drop; c && *c; c++) {
		int n;
		if (!strcasecmp(*c, "ALL"))
			p->caps = 0;
		else if (cap_parse(*c, &n) < 0)
			return berr_set(e, EINVAL, "unknown capability \"%s\"", *c);
		else
			p->caps &= ~(1ULL << n);
	}
	/* cap-add wins over cap-drop ALL (Docker) */
	if (o->cap_drop)
		for (char **c = o->cap_add; c && *c; c++) {
			int n;
			if (strcasecmp(*c, "ALL") && cap_parse(*c, &n) == 0)
				p->caps |= 1ULL << n;
		}
	p->no_seccomp = o->privileged;
	for (char **s = o->security_opt; s && *s; s++) {
		if (!strcmp(*s, "seccomp=unconfined") || !strcmp(*s, "seccomp:unconfined")) {
			p->no_seccomp = true;
		} else if (!strncmp(*s, "seccomp=", 8)) {
			_cleanup_free_ char *txt = NULL;
			size_t len;
			if (fs_read_file_at(AT_FDCWD, *s + 8, &txt, &len, e) < 0)
				return berr_ctx(e, "--security-opt %s", *s);
			json_object_put(p->seccomp_file);
			p->seccomp_file = json_tokener_parse(txt);
			if (!p->seccomp_file)
				return berr_set(e, EINVAL, "--security-opt %s: not valid JSON", *s);
		} else if (!strcmp(*s, "no-new-privileges") ||
			   !strcmp(*s, "no-new-privileges=true") ||
			   !strcmp(*s, "no-new-privileges:true")) {
			p->no_new_privs = true;
		} else {
			return berr_set(e, EINVAL, "unsupported --security-opt \"%s\"", *s);
		}
	}
	if (eng_log_cfg_parse(o->log_driver, o->log_opts, &p->log, e) < 0)
		return -1;
	if (eng_idmaps_parse(o, &p->userns, e) < 0)
		return -1;
	if (o->memory && (eng_parse_size(o->memory, &p->memory) < 0 || p->memory < 6 * 1024 * 1024))
		return berr_set(e, EINVAL, "invalid --memory \"%s\" (minimum 6m)", o->memory);
	if (o->pids_limit) {
		char *end;
		p->pids = strtoll(o->pids_limit, &end, 10);
		if (end == o->pids_limit || *end)
			return berr_set(e, EINVAL, "invalid --pids-limit \"%s\"", o->pids_limit);
	}
	if (o->cpus) {
		char *end;
		double c = strtod(o->cpus, &end);
		if (end == o->cpus || *end || c <= 0 || c > 1024)
			return berr_set(e, EINVAL, "invalid --cpus \"%s\"", o->cpus);
		p->period = 100000;
		p->quota = (int64_t)(c * 100000);
	}
	for (char **v = o->volumes; v && *v; v++)
		if (eng_vols_add_volume(g, &p->vols, *v, e) < 0)
			return -1;
	for (char **v = o->mounts; v && *v; v++)
		if (eng_vols_add_mount(g, &p->vols, *v, e) < 0)
			return -1;
	for (char **v = o->tmpfs; v && *v; v++)
		if (eng_vols_add_tmpfs(&p->vols, *v, e) < 0)
			return -1;
	for (char **u = o->ulimits; u && *u; u++)
		if (parse_ulimit(p, *u, e) < 0)
			return -1;
	if (eng_net_plan_make(g, o, &p->net, e) < 0)
		return -1;
	p->host_net = !strcmp(p->net.mode, "host");
	if (eng_ns_plan_make(g, o, &p->ns, e) < 0)
		return -1;
	for (char **f = o->env_files; f && *f; f++) {
		_cleanup_free_ char *txt = NULL;
		size_t len;
		if (fs_read_file_at(AT_FDCWD, *f, &txt, &len, e) < 0)
			return berr_ctx(e, "--env-file");
		char *sv = NULL;
		for (char *l = strtok_r(txt, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
			while (isspace((unsigned char)*l))
				l++;
			if (*l && *l != '#' && add_env_line(p, l, e) < 0)
				return -1;
		}
	}
	for (char **v = o->env; v && *v; v++)
		if (add_env_line(p, *v, e) < 0)
			return -1;
	for (char **l = o->labels; l && *l; l++)
		if (!**l || **l == '=')
			return berr_set(e, EINVAL, "invalid --label \"%s\": expected KEY[=VALUE]",
					*l);
	if (o->name) {
		const char *n = o->name[0] == '/' ? o->name + 1 : o->name;
		if (!eng_volume_name_valid(n)) /* the same character rule */
			return berr_set(e, EINVAL,
					"invalid container name \"%s\": only "
					"[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
					o->name);
	}
	return 0;
}

/* ---- JSON helpers ---- */

static json_object *jstrv(char *const *v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *jget(json_object *o, const char *k)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, k, &v);
	return v;
}

static json_object *jmount(const char *dst, const char *type, const char *src,
			   const char *const *opts)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dst));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(src));
	json_object *a = json_object_new_array();
	for (; opts && *opts; opts++)
		json_object_array_add(a, json_object_new_string(*opts));
	json_object_object_add(m, "options", a);
	return m;
}

static json_object *caps_json(uint64_t caps)
{
	json_object *a = json_object_new_array();
	for (int c = 0; c <= spec_cap_last() && c < 64; c++)
		if (caps & (1ULL << c)) {
			const char *n = spec_cap_name(c);
			if (n)
				json_object_array_add(a, json_object_new_string(n));
		}
	return a;
}

static int write_file(const char *dir, const char *name, const char *txt, berr *e)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	return fs_write_atomic(p, txt, strlen(txt), 0644, false, e);
}

typedef struct made {
	char id[65];
	char *dir;
	const char *name; /* taken */
	bool mounted, held;
	char **new_anon; /* anonymous volumes made for it */
} made;

static void undo(eng *g, img_store *s, made *m)
{
	berr ig;
	if (m->mounted) {
		_cleanup_free_ char *r = xasprintf("%s/rootfs", m->dir);
		umount2(r, MNT_DETACH);
	}
	if (m->held)
		image_release(s, m->id, &ig);
	if (m->name)
		eng_name_drop(g, m->name, m->id);
	for (char **v = m->new_anon; v && *v; v++)
		eng_volume_remove(g, *v, &ig);
	strv_free(m->new_anon);
	if (m->dir)
		fs_rm_rf_at(g->ctrs_fd, m->id, &ig);
	free(m->dir);
	*m = (made){0};
}

/* Bind sources that do not exist are made (as Docker's -v does); the
 * image's VOLUMEs not covered by a mount become anonymous volumes; every
 * volume is looked up or made, a new one with the image's files at its
 * mount point copied in. */
static int make_volumes(eng *g, plan *p, const img_config *ic, const char *rootfs, made *m, berr *e)
{
	for (char **v = ic->volumes; v && *v; v++) {
		if (!eng_vols_has(&p->vols, *v) &&
		    eng_vols_add(g, &p->vols, "volume", NULL, *v, false, *v, e) < 0)
			return berr_ctx(e, "image config: Volumes");
	}
	_cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return berr_sys(e, "open %s", rootfs);
	for (size_t i = 0; i < p->vols.n; i++) {
		eng_vol *v = &p->vols.v[i];
		if (!strcmp(v->type, "tmpfs"))
			continue;
		if (strcmp(v->type, "volume")) {
			if (access(v->src, F_OK) != 0 && fs_mkdir_p(v->src, 0755, e) < 0)
				return -1;
			continue;
		}
		berr ig;
		_cleanup_close_ int from =
		    fs_open_in_root(rfd, v->dst, O_RDONLY | O_DIRECTORY, 0, &ig);
		char *name;
		bool created;
		if (eng_volume_get(g, v->name, from, &name, &created, e) < 0)
			return -1;
		if (!v->name) {
			strv_push(&m->new_anon, name);
			v->name = name;
		} else {
			free(name);
		}
		free(v->src);
		v->src = eng_volume_data(g, v->name);
		if (eng_idmaps_volume(g, &p->userns, v->name, created, e) < 0)
			return -1;
	}
	return 0;
}

static int build(eng *g, const eng_run_opts *o, plan *p, img_image *im, made *m, const char *name,
		 const char *init_path, berr *e);

static int create(eng *g, const eng_run_opts *o, const char *init_path, char id[65], berr *e);

int eng_create(eng *g, const eng_run_opts *o, const char *init_path, char id[65], berr *e)
{
	if (!o->pod || o->pod_infra)
		return create(g, o, init_path, id, e);
	/* --pod: the pod's namespaces and cgroup parent (pod.h) */
	eng_run_opts mo;
	eng_pod_member hold;
	int r = eng_pod_member_opts(g, o->pod, o, &mo, &hold, e);
	if (r == 0)
		r = create(g, &mo, init_path, id, e);
	eng_pod_member_free(&hold);
	return r;
}

static int create(eng *g, const eng_run_opts *o, const char *init_path, char id[65], berr *e)
{
	eng_restart_policy pol;
	if (eng_restart_check_opts(o, &pol, e) < 0)
		return -1;
	plan p;
	int r = plan_make(g, o, &p, e);
	if (r < 0) {
		plan_free(&p);
		return -1;
	}
	img_store *s = store_open(g->root, e);
	if (!s) {
		plan_free(&p);
		return -1;
	}
	img_image im;
	if (image_resolve(s, o->image, &im, e) < 0) {
		if (o->image_missing && e->errnum == ENOENT)
			*o->image_missing = true;
		store_close(s);
		plan_free(&p);
		return -1;
	}
	made m = {0};
	_cleanup_free_ char *name = NULL;
	if ((r = eng_lock(g, true, e)) < 0)
		goto out;
	/* an explicit name is taken (or refused as in use) with the record */
	name = o->name ? xstrdup(o->name[0] == '/' ? o->name + 1 : o->name) : eng_new_name(g);
	eng_new_id(m.id);
	m.dir = xasprintf("%s/%s", g->ctrs, m.id);
	if (mkdirat(g->ctrs_fd, m.id, 0700) < 0) {
		r = berr_sys(e, "mkdir %s", m.dir);
		free(m.dir);
		m.dir = NULL;
		goto unlock;
	}
	/* make the record first so a parallel name check sees it */
	{
		json_object *d = json_object_new_object();
		json_object_object_add(d, "Id", json_object_new_string(m.id));
		_cleanup_free_ char *slash = xasprintf("/%s", name);
		json_object_object_add(d, "Name", json_object_new_string(slash));
		json_object *st = json_object_new_object();
		json_object_object_add(st, "Status", json_object_new_string("creating"));
		/* who is creating it: if that process dies half-way, the record
		 * reads as "dead" (removable) instead of "creating" forever */
		json_object_object_add(st, "CreatorPid", json_object_new_int(getpid()));
		json_object_object_add(st, "CreatorStart",
				       json_object_new_int64((int64_t)eng_proc_start(getpid())));
		json_object_object_add(d, "State", st);
		r = eng_save(g, m.id, d, e);
		json_object_put(d);
		if (r == 0 && (r = eng_name_take(g, name, m.id, e)) == 0)
			m.name = name;
		if (r < 0) {
			undo(g, s, &m);
			goto unlock;
		}
	}
	eng_unlock(g);
	r = image_hold(s, m.id, &im, e);
	if (r == 0) {
		m.held = true;
		r = build(g, o, &p, &im, &m, name, init_path, e);
	}
	if (r < 0) {
		eng_net_plan_undo(g, &p.net, m.id);
		undo(g, s, &m);
	} else
		snprintf(id, 65, "%s", m.id);
	goto out;
unlock:
	eng_unlock(g);
out:
	free(m.dir);
	strv_free(m.new_anon);
	image_free(&im);
	store_close(s);
	plan_free(&p);
	return r;
}

static int build(eng *g, const eng_run_opts *o, plan *p, img_image *im, made *m, const char *name,
		 const char *init_path, berr *e)
{
	const char *dir = m->dir;
	img_config *ic = &im->config;
	/* command */
	strv_builder ab = {0};
	json_object *cfg_ep, *cfg_cmd;
	if (o->entrypoint_set) {
		if (o->entrypoint && *o->entrypoint)
			strvb_push(&ab, o->entrypoint);
		cfg_ep = o->entrypoint && *o->entrypoint
			     ? jstrv((char *const[]){(char *)o->entrypoint, NULL})
			     : NULL;
		for (char **c = o->command; c && *c; c++)
			strvb_push(&ab, *c);
		cfg_cmd = o->command ? jstrv(o->command) : NULL;
	} else {
		for (char **c = ic->entrypoint; c && *c; c++)
			strvb_push(&ab, *c);
		cfg_ep = ic->entrypoint ? jstrv(ic->entrypoint) : NULL;
		char **cmd = o->command && *o->command ? o->command : ic->cmd;
		for (char **c = cmd; c && *c; c++)
			strvb_push(&ab, *c);
		cfg_cmd = cmd ? jstrv(cmd) : NULL;
	}
	char **args = strvb_take(&ab);
	if (!args || !*args) {
		json_object_put(cfg_ep);
		json_object_put(cfg_cmd);
		strv_free(args);
		return berr_set(e, EINVAL, "no command specified");
	}
	strv_builder fb = {0};
	if (o->init) {
		strvb_push(&fb, "/dev/init");
		strvb_push(&fb, "--");
	}
	for (char **a = args; *a; a++)
		strvb_push(&fb, *a);
	char **argv_final = strvb_take(&fb);

	/* env */
	envset env = {0};
	envset_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char **v = ic->env; v && *v; v++)
		envset_set(&env, *v);
	char hn[64];
	snprintf(hn, sizeof(hn), "%.12s", m->id);
	const char *hostname = o->hostname ? o->hostname : p->ns.hostname ? p->ns.hostname : hn;
	if (!envset_has(&env, "HOSTNAME")) {
		char *h = xasprintf("HOSTNAME=%s", hostname);
		envset_set(&env, h);
		free(h);
	}
	if (o->tty && !envset_has(&env, "TERM"))
		envset_set(&env, "TERM=xterm");
	for (char **v = p->env_extra.v; v && *v; v++)
		envset_set(&env, *v);

	int r = -1;
	json_object *cfg = NULL, *doc = NULL, *jmounts = NULL, *binds = NULL;
	_cleanup_free_ char *hostline = NULL, *def = NULL, *p_hn = NULL, *p_hosts = NULL,
			    *p_res = NULL, *logp = NULL, *slash = NULL;
	char *user_home = NULL;
	gid_t *groups = NULL;
	size_t n_groups = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	_cleanup_free_ char *lower = image_lowerdir(im);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
	_cleanup_free_ char *upper = xasprintf("%s/upper", dir);
	_cleanup_free_ char *work = xasprintf("%s/work", dir);
	if (mkdir(rootfs, 0755) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
		berr_sys(e, "mkdir in %s", dir);
		goto out;
	}
	char keep_user[32];
	const char *user =
	    eng_idmaps_user(&p->userns, o->user ? o->user : ic->user, keep_user, sizeof(keep_user));
	if (eng_idmaps_check_user(&p->userns, user, e) < 0 ||
	    eng_idmaps_lower(g, &p->userns, &lower, dir, e) < 0)
		goto out;
	if (eng_overlay_mount(lower, upper, work, rootfs, e) < 0)
		goto out;
	m->mounted = true;
	if (eng_idmaps_passwd(&p->userns, rootfs, e) < 0)
		goto out;
	if (user && *user) {
		int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rfd < 0) {
			berr_sys(e, "open %s", rootfs);
			goto out;
		}
		int rr = eng_resolve_user(rfd, user, &uid, &gid, &groups, &n_groups, &user_home, e);
		close(rfd);
		if (rr < 0)
			goto out;
	}
	if (user_home && *user_home && !envset_has(&env, "HOME")) {
		char *h = xasprintf("HOME=%s", user_home);
		envset_set(&env, h);
		free(h);
	}
	/* etc files: hosts and resolv.conf with the network (netplan.c) */
	hostline = xasprintf("%s\n", hostname);
	if (write_file(dir, "hostname", hostline, e) < 0)
		goto out;
	if (make_volumes(g, p, ic, rootfs, m, e) < 0)
		goto out;

	/* OCI config */
	def = spec_default_json(false);
	cfg = json_tokener_parse(def);
	json_object *proc = jget(cfg, "process");
	json_object_object_add(proc, "terminal", json_object_new_boolean(o->tty));
	json_object_object_add(proc, "args", jstrv(argv_final));
	json_object_object_add(proc, "env", jstrv(env.v.v));
	const char *cwd =
	    o->workdir ? o->workdir : (ic->working_dir && *ic->working_dir ? ic->working_dir : "/");
	if (cwd[0] != '/') {
		berr_set(e, EINVAL, "the working directory \"%s\" is not an absolute path", cwd);
		goto out;
	}
	json_object_object_add(proc, "cwd", json_object_new_string(cwd));
	json_object *ju = json_object_new_object();
	json_object_object_add(ju, "uid", json_object_new_int64(uid));
	json_object_object_add(ju, "gid", json_object_new_int64(gid));
	if (n_groups) {
		json_object *ga = json_object_new_array();
		for (size_t i = 0; i < n_groups; i++)
			json_object_array_add(ga, json_object_new_int64(groups[i]));
		json_object_object_add(ju, "additionalGids", ga);
	}
	json_object_object_add(proc, "user", ju);
	json_object *cp = json_object_new_object();
	json_object_object_add(cp, "bounding", caps_json(p->caps));
	json_object_object_add(cp, "effective", caps_json(p->caps));
	json_object_object_add(cp, "permitted", caps_json(p->caps));
	json_object_object_add(proc, "capabilities", cp);
	json_object_object_add(proc, "noNewPrivileges", json_object_new_boolean(p->no_new_privs));
	json_object *rls = json_object_new_array();
	bool have_nofile = false;
	for (size_t i = 0; i < p->n_ulim; i++) {
		json_object *rlo = json_object_new_object();
		json_object_object_add(rlo, "type", json_object_new_string(p->ulim[i].type));
		json_object_object_add(rlo, "soft", json_object_new_uint64(p->ulim[i].soft));
		json_object_object_add(rlo, "hard", json_object_new_uint64(p->ulim[i].hard));
		json_object_array_add(rls, rlo);
		have_nofile |= p->ulim[i].res == RLIMIT_NOFILE;
	}
	if (!have_nofile) {
		/* Docker's 1048576, or what this host allows */
		struct rlimit hl;
		uint64_t lim = 1048576;
		if (getrlimit(RLIMIT_NOFILE, &hl) == 0 && hl.rlim_max < lim)
			lim = hl.rlim_max;
		json_object *rlo = json_object_new_object();
		json_object_object_add(rlo, "type", json_object_new_string("RLIMIT_NOFILE"));
		json_object_object_add(rlo, "soft", json_object_new_uint64(lim));
		json_object_object_add(rlo, "hard", json_object_new_uint64(lim));
		json_object_array_add(rls, rlo);
	}
	json_object_object_add(proc, "rlimits", rls);
	json_object *root = jget(cfg, "root");
	json_object_object_add(root, "path", json_object_new_string(rootfs));
	json_object_object_add(root, "readonly", json_object_new_boolean(o->read_only));
	json_object_object_add(cfg, "hostname", json_object_new_string(hostname));

	json_object *mounts = jget(cfg, "mounts");
	if (o->privileged) /* /sys read-write */
		for (size_t i = 0; i < json_object_array_length(mounts); i++) {
			json_object *mo = json_object_array_get_idx(mounts, i);
			if (!strcmp(json_object_get_string(jget(mo, "destination")), "/sys"))
				json_object_object_add(
				    mo, "options",
				    jstrv((char *const[]){"nosuid", "noexec", "nodev", NULL}));
		}
	const char *const bind_rw[] = {"rbind", "rprivate", NULL};
	const char *const bind_ro[] = {"rbind", "rprivate", "ro", NULL};
	p_hn = xasprintf("%s/hostname", dir);
	p_hosts = xasprintf("%s/hosts", dir);
	p_res = xasprintf("%s/resolv.conf", dir);
	jmounts = json_object_new_array();
	binds = json_object_new_array();
	for (size_t i = 0; i < p->vols.n; i++) {
		eng_vol *v = &p->vols.v[i];
		if (!strcmp(v->type, "tmpfs")) {
			json_object_array_add(
			    mounts, jmount(v->dst, "tmpfs", "tmpfs", (const char *const *)v->opts));
			json_object *jm = json_object_new_object();
			json_object_object_add(jm, "Type", json_object_new_string("tmpfs"));
			json_object_object_add(jm, "Source", json_object_new_string(""));
			json_object_object_add(jm, "Destination", json_object_new_string(v->dst));
			json_object_object_add(jm, "RW", json_object_new_boolean(!v->ro));
			json_object_array_add(jmounts, jm);
			continue;
		}
		json_object_array_add(mounts,
				      jmount(v->dst, "bind", v->src, v->ro ? bind_ro : bind_rw));
		json_object *jm = json_object_new_object();
		json_object_object_add(jm, "Type", json_object_new_string(v->type));
		if (v->name)
			json_object_object_add(jm, "Name", json_object_new_string(v->name));
		json_object_object_add(jm, "Source", json_object_new_string(v->src));
		json_object_object_add(jm, "Destination", json_object_new_string(v->dst));
		json_object_object_add(jm, "RW", json_object_new_boolean(!v->ro));
		json_object_array_add(jmounts, jm);
		char *b =
		    xasprintf("%s:%s%s", v->name ? v->name : v->src, v->dst, v->ro ? ":ro" : "");
		json_object_array_add(binds, json_object_new_string(b));
		free(b);
	}
	/* after the volumes: a volume at /etc still gets these (as Docker) */
	json_object_array_add(mounts, jmount("/etc/hostname", "bind", p_hn, bind_rw));
	json_object_array_add(mounts, jmount("/etc/hosts", "bind", p_hosts, bind_rw));
	json_object_array_add(mounts, jmount("/etc/resolv.conf", "bind", p_res, bind_rw));
	if (o->init)
		json_object_array_add(mounts, jmount("/dev/init", "bind", init_path, bind_ro));
	json_object *lx = jget(cfg, "linux");
	if (p->host_net) {
		json_object *ns = jget(lx, "namespaces"), *nns = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(ns); i++) {
			json_object *n = json_object_array_get_idx(ns, i);
			if (strcmp(json_object_get_string(jget(n, "type")), "network"))
				json_object_array_add(nns, json_object_get(n));
		}
		json_object_object_add(lx, "namespaces", nns);
	}
	if (o->privileged) {
		json_object_object_add(lx, "maskedPaths", json_object_new_array());
		json_object_object_add(lx, "readonlyPaths", json_object_new_array());
		json_object_object_add(lx, "devices", eng_host_devices());
	}
	json_object *res = json_object_new_object();
	json_object *devs = json_object_new_array();
	if (o->privileged) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "allow", json_object_new_boolean(1));
		json_object_object_add(d, "access", json_object_new_string("rwm"));
		json_object_array_add(devs, d);
	} else {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "allow", json_object_new_boolean(0));
		json_object_object_add(d, "access", json_object_new_string("rwm"));
		json_object_array_add(devs, d);
	}
	json_object_object_add(res, "devices", devs);
	if (p->memory) {
		json_object *mo = json_object_new_object();
		json_object_object_add(mo, "limit", json_object_new_int64(p->memory));
		json_object_object_add(res, "memory", mo);
	}
	if (p->quota) {
		json_object *co = json_object_new_object();
		json_object_object_add(co, "quota", json_object_new_int64(p->quota));
		json_object_object_add(co, "period", json_object_new_int64(p->period));
		json_object_object_add(res, "cpu", co);
	}
	if (o->pids_limit) {
		json_object *po = json_object_new_object();
		json_object_object_add(po, "limit", json_object_new_int64(p->pids));
		json_object_object_add(res, "pids", po);
	}
	json_object_object_add(lx, "resources", res);
	char *cgpath = idmap_in_userns() ? eng_cgroup_parent_self(m->id) : NULL;
	if (cgpath) /* rootless: under the caller's delegated cgroup (cgparent.h) */
		json_object_object_add(lx, "cgroupsPath", json_object_new_string(cgpath));
	free(cgpath);
	if (p->seccomp_file) {
		json_object_object_add(lx, "seccomp", json_object_get(p->seccomp_file));
	} else if (!p->no_seccomp) {
		spec_seccomp sc;
		seccomp_default_profile(p->caps, &sc);
		char *txt = seccomp_profile_json(&sc);
		seccomp_profile_clear(&sc);
		json_object_object_add(lx, "seccomp", json_tokener_parse(txt));
		free(txt);
	}
	if (eng_idmaps_config(&p->userns, cfg, uid, gid, groups, n_groups, e) < 0 ||
	    eng_ns_plan_config(g, &p->ns, m->id, dir, cfg, e) < 0)
		goto out;
	const char *cj = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
	if (write_file(dir, "config.json", cj, e) < 0)
		goto out;

	/* container.json */
	doc = json_object_new_object();
	json_object_object_add(doc, "Id", json_object_new_string(m->id));
	char *t = eng_time_now();
	json_object_object_add(doc, "Created", json_object_new_string(t));
	free(t);
	json_object_object_add(doc, "Path", json_object_new_string(args[0]));
	json_object_object_add(doc, "Args", jstrv(args + 1));
	json_object *st = json_object_new_object();
	json_object_object_add(st, "Status", json_object_new_string("created"));
	json_object_object_add(st, "Running", json_object_new_boolean(0));
	json_object_object_add(st, "Paused", json_object_new_boolean(0));
	json_object_object_add(st, "ExitCode", json_object_new_int(0));
	json_object_object_add(st, "Pid", json_object_new_int(0));
	json_object_object_add(st, "StartedAt", json_object_new_string("0001-01-01T00:00:00Z"));
	json_object_object_add(st, "FinishedAt", json_object_new_string("0001-01-01T00:00:00Z"));
	json_object_object_add(doc, "State", st);
	char *iid = xasprintf("%s", im->rec.id.s);
	json_object_object_add(doc, "Image", json_object_new_string(iid));
	free(iid);
	logp = xasprintf("%s/ctr.log", dir);
	json_object_object_add(doc, "LogPath", json_object_new_string(logp));
	slash = xasprintf("/%s", name);
	json_object_object_add(doc, "Name", json_object_new_string(slash));
	if (o->pod) { /* berth's (Podman's inspect has Pod too) */
		json_object_object_add(doc, "Pod", json_object_new_string(o->pod));
		if (o->pod_infra)
			json_object_object_add(doc, "IsInfra", json_object_new_boolean(1));
	}
	json_object_object_add(doc, "Driver", json_object_new_string("overlay"));
	json_object *gd = json_object_new_object();
	json_object_object_add(gd, "LowerDir", json_object_new_string(lower));
	json_object_object_add(gd, "UpperDir", json_object_new_string(upper));
	json_object_object_add(gd, "WorkDir", json_object_new_string(work));
	json_object_object_add(gd, "MergedDir", json_object_new_string(rootfs));
	json_object_object_add(doc, "GraphDriver", gd);
	json_object_object_add(doc, "Mounts", jmounts);
	jmounts = NULL;
	json_object *cf = json_object_new_object();
	json_object_object_add(cf, "Hostname", json_object_new_string(hostname));
	json_object_object_add(cf, "User", json_object_new_string(user ? user : ""));
	json_object_object_add(cf, "Tty", json_object_new_boolean(o->tty));
	json_object_object_add(cf, "OpenStdin", json_object_new_boolean(o->interactive));
	json_object_object_add(cf, "Env", jstrv(env.v.v));
	json_object_object_add(cf, "Cmd", cfg_cmd ? cfg_cmd : NULL);
	cfg_cmd = NULL;
	json_object_object_add(cf, "Image", json_object_new_string(o->image));
	json_object_object_add(
	    cf, "WorkingDir",
	    json_object_new_string(o->workdir ? o->workdir
					      : (ic->working_dir ? ic->working_dir : "")));
	json_object_object_add(cf, "Entrypoint", cfg_ep ? cfg_ep : NULL);
	cfg_ep = NULL;
	json_object_object_add(cf, "StopSignal",
			       json_object_new_string(ic->stop_signal && *ic->stop_signal
							  ? ic->stop_signal
							  : "SIGTERM"));
	/* the image's labels, then --label over them (Docker) */
	json_object *labels = json_object_new_object();
	for (size_t k = 0; ic->label_keys && ic->label_keys[k]; k++)
		json_object_object_add(labels, ic->label_keys[k],
				       json_object_new_string(ic->label_values[k]));
	for (char **l = o->labels; l && *l; l++) {
		const char *eq = strchr(*l, '=');
		_cleanup_free_ char *k = eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
		json_object_object_add(labels, k, json_object_new_string(eq ? eq + 1 : ""));
	}
	json_object_object_add(cf, "Labels", labels);
	json_object_object_add(doc, "Config", cf);
	json_object *hc = json_object_new_object();
	json_object_object_add(hc, "Binds", binds);
	binds = NULL;
	json_object_object_add(hc, "AutoRemove", json_object_new_boolean(o->rm));
	json_object_object_add(hc, "Privileged", json_object_new_boolean(o->privileged));
	json_object_object_add(hc, "ReadonlyRootfs", json_object_new_boolean(o->read_only));
	json_object_object_add(hc, "Init", json_object_new_boolean(o->init));
	json_object_object_add(hc, "Memory", json_object_new_int64(p->memory));
	json_object_object_add(hc, "NanoCpus", json_object_new_int64(p->quota * 10000));
	json_object_object_add(hc, "CpuQuota", json_object_new_int64(p->quota));
	json_object_object_add(hc, "CpuPeriod", json_object_new_int64(p->period));
	json_object_object_add(hc, "PidsLimit", json_object_new_int64(p->pids));
	json_object_object_add(hc, "CapAdd", jstrv(o->cap_add));
	json_object_object_add(hc, "CapDrop", jstrv(o->cap_drop));
	json_object_object_add(hc, "LogConfig", eng_log_cfg_json(&p->log));
	json_object_object_add(doc, "HostConfig", hc);
	eng_idmaps_host_config(&p->userns, hc);
	eng_ns_plan_host_config(&p->ns, hc);
	if (eng_health_record(o, ic->raw, doc, e) < 0)
		goto out;
	if (eng_net_plan_apply(g, &p->net, o, m->id, name, dir, hostname, ic->exposed_ports, hc, cf,
			       doc, e) < 0 ||
	    eng_idmaps_own_files(&p->userns, dir, e) < 0)
		goto out;
	if (eng_lock(g, true, e) < 0)
		goto out;
	r = eng_save(g, m->id, doc, e);
	eng_unlock(g);
out:
	json_object_put(jmounts);
	json_object_put(binds);
	json_object_put(cfg_ep);
	json_object_put(cfg_cmd);
	json_object_put(cfg);
	json_object_put(doc);
	strv_free(args);
	strv_free(argv_final);
	envset_free(&env);
	free(user_home);
	free(groups);
	return r;
}
