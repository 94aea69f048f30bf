/* Pods: the contract is in pod.h. */
#include "engine/pod.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/netpriv.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/xalloc.h"

#define PODS	     "pods"
#define POD_NAME_MAX 128
#define SHARE_KINDS  4

static const char *const share_kinds[SHARE_KINDS] = {"ipc", "net", "uts", "pid"};

static bool is_hex_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/* <root>/pods, made when mk. */
static int pods_fd(eng *g, bool mk, berr *e)
{
	_cleanup_free_ char *p = xasprintf("%s/" PODS, g->root);
	if (mk && mkdir(p, 0700) < 0 && errno != EEXIST)
		return berr_sys(e, "mkdir %s", p);
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && !mk ? -2 : berr_sys(e, "open %s", p);
	return fd;
}

static int rec_write(eng *g, const char *id, json_object *rec, berr *e)
{
	int fd = pods_fd(g, true, e);
	if (fd < 0)
		return -1;
	char name[80];
	snprintf(name, sizeof(name), "%s.json", id);
	const char *txt = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	int r = fs_write_atomic_at(fd, name, txt, strlen(txt), 0600, false, e);
	close(fd);
	return r;
}

json_object *eng_pod_load(eng *g, const char *id, berr *e)
{
	if (!is_hex_id(id))
		return berr_set(e, ENOENT, "no such pod: %s", id), NULL;
	int fd = pods_fd(g, false, e);
	if (fd == -2)
		return berr_set(e, ENOENT, "no such pod: %s", id), NULL;
	if (fd < 0)
		return NULL;
	char name[80];
	snprintf(name, sizeof(name), "%s.json", id);
	_cleanup_free_ char *txt = NULL;
	size_t len;
	int r = fs_read_file_at(fd, name, &txt, &len, e);
	close(fd);
	if (r < 0)
		return e->errnum == ENOENT ? berr_set(e, ENOENT, "no such pod: %s", id),
		       NULL		   : NULL;
	json_object *rec = json_tokener_parse(txt);
	if (!rec || !json_object_is_type(rec, json_type_object)) {
		json_object_put(rec);
		return berr_set(e, EINVAL, "%s/" PODS "/%s: not a pod record", g->root, name), NULL;
	}
	return rec;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **eng_pod_list(eng *g)
{
	berr ig;
	strv_builder v = strvb_from(xzalloc(sizeof(char *)));
	int fd = pods_fd(g, false, &ig);
	if (fd < 0)
		return strvb_take(&v);
	char **names = fs_list_at(fd, ".", &ig);
	close(fd);
	for (char **n = names; n && *n; n++) {
		size_t l = strlen(*n);
		if (l == 69 && !strcmp(*n + 64, ".json")) {
			(*n)[64] = 0;
			if (is_hex_id(*n))
				strvb_push(&v, *n);
		}
	}
	strv_free(names);
	char **out = strvb_take(&v);
	qsort(out, strv_len(out), sizeof(*out), cmp_str);
	return out;
}

int eng_pod_lookup(eng *g, const char *ref, char id[65], berr *e)
{
	if (!ref || !*ref)
		return berr_set(e, EINVAL, "a pod name or id is required");
	_cleanup_strv_ char **ids = eng_pod_list(g);
	const char *found = NULL;
	size_t n_prefix = 0;
	const char *prefix = NULL;
	for (char **i = ids; *i; i++) {
		berr ig;
		json_object *rec = eng_pod_load(g, *i, &ig);
		const char *name = rec ? jstr(rec, "Name") : NULL;
		bool by_name = name && !strcmp(name, ref);
		json_object_put(rec);
		if (by_name || !strcmp(*i, ref)) {
			found = *i;
			break;
		}
		if (!strncmp(*i, ref, strlen(ref))) {
			n_prefix++;
			prefix = *i;
		}
	}
	if (!found && n_prefix == 1)
		found = prefix;
	if (!found)
		return n_prefix > 1
			   ? berr_set(e, EINVAL, "pod %s: more than one pod has that prefix", ref)
			   : berr_set(e, ENOENT, "no such pod: %s", ref);
	snprintf(id, 65, "%s", found);
	return 0;
}

/* The pod's containers, infra first then by Created. */
typedef struct member {
	char *id, *created;
	bool infra;
} member;

static int cmp_member(const void *a, const void *b)
{
	const member *x = a, *y = b;
	if (x->infra != y->infra)
		return x->infra ? -1 : 1;
	int c = strcmp(x->created, y->created);
	return c ? c : strcmp(x->id, y->id);
}

char **eng_pod_members(eng *g, const char *id)
{
	_cleanup_strv_ char **all = eng_list(g);
	size_t n = 0, cap = strv_len(all);
	member *m = xzalloc((cap + 1) * sizeof(*m));
	for (char **c = all; *c; c++) {
		berr ig;
		json_object *doc = eng_load(g, *c, &ig);
		const char *pod = doc ? jstr(doc, "Pod") : NULL;
		if (pod && !strcmp(pod, id)) {
			const char *cr = jstr(doc, "Created");
			m[n++] =
			    (member){xstrdup(*c), xstrdup(cr ? cr : ""), jbool(doc, "IsInfra")};
		}
		json_object_put(doc);
	}
	qsort(m, n, sizeof(*m), cmp_member);
	strv_builder v = strvb_from(xzalloc(sizeof(char *)));
	for (size_t i = 0; i < n; i++) {
		strvb_push(&v, m[i].id);
		free(m[i].id);
		free(m[i].created);
	}
	free(m);
	return strvb_take(&v);
}

void eng_pod_status(eng *g, const char *id, char out[16])
{
	_cleanup_strv_ char **ms = eng_pod_members(g, id);
	size_t n = 0, created = 0, running = 0, paused = 0, exited = 0;
	for (char **c = ms; *c; c++, n++) {
		berr ig;
		json_object *doc = eng_load(g, *c, &ig);
		const char *st = doc ? eng_reconcile(g, *c, doc) : "dead";
		if (!strcmp(st, "running"))
			running++;
		else if (!strcmp(st, "paused"))
			paused++;
		else if (!strcmp(st, "created") || !strcmp(st, "creating"))
			created++;
		else
			exited++;
		json_object_put(doc);
	}
	const char *s = !n		    ? "Error"
			: running == n	    ? "Running"
			: paused == n	    ? "Paused"
			: created == n	    ? "Created"
			: running || paused ? "Degraded"
					    : "Exited";
	snprintf(out, 16, "%s", s);
}

/* ---- create ---- */

static bool shares(json_object *rec, const char *kind)
{
	json_object *sh = jget(rec, "SharedNamespaces");
	for (size_t i = 0; sh && i < json_object_array_length(sh); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(sh, i)), kind))
			return true;
	return false;
}

/* "ipc,net" -> the array; "none" or "" -> empty. Unknown kinds refused. */
static json_object *parse_share(const char *s, berr *e)
{
	json_object *a = json_object_new_array();
	if (!strcmp(s, "none") || !*s)
		return a;
	_cleanup_free_ char *t = xstrdup(s);
	char *sv = NULL;
	bool seen[SHARE_KINDS] = {0};
	for (char *k = strtok_r(t, ",", &sv); k; k = strtok_r(NULL, ",", &sv)) {
		size_t i = 0;
		while (i < SHARE_KINDS && strcmp(share_kinds[i], k))
			i++;
		if (i == SHARE_KINDS) {
			json_object_put(a);
			return berr_set(e, EINVAL,
					"--share: unknown namespace \"%s\" (ipc, net, uts, pid, or "
					"none)",
					k),
			       NULL;
		}
		if (!seen[i])
			json_object_array_add(a, json_object_new_string(k));
		seen[i] = true;
	}
	return a;
}

static bool any(char **v)
{
	return v && *v;
}

static int check_opts(const eng_pod_opts *o, berr *e)
{
	if (o->name && (!eng_volume_name_valid(o->name) || strlen(o->name) > POD_NAME_MAX))
		return berr_set(
		    e, EINVAL,
		    "invalid pod name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o->name);
	bool net = o->network || any(o->publish) || o->publish_all || any(o->dns) ||
		   any(o->dns_search) || any(o->dns_opts) || any(o->add_hosts) ||
		   any(o->net_aliases) || o->ip || o->mac;
	if (o->no_infra && net)
		return berr_set(e, EINVAL,
				"a pod without an infra container has no network of its own: "
				"--network, -p and the DNS flags need one");
	if (o->no_infra && o->share && strcmp(o->share, "none") && *o->share)
		return berr_set(e, EINVAL,
				"--share %s: a pod without an infra container "
				"shares no namespace",
				o->share);
	if (o->hostname && *o->hostname && !eng_volume_name_valid(o->hostname))
		return berr_set(e, EINVAL, "invalid pod --hostname \"%s\"", o->hostname);
	for (char **l = o->labels; l && *l; l++)
		if (!strchr(*l, '=') || **l == '=')
			return berr_set(e, EINVAL, "invalid --label \"%s\": expected KEY=VALUE",
					*l);
	return 0;
}

static bool pod_name_used(eng *g, const char *name)
{
	char id[65];
	berr ig;
	if (eng_pod_lookup(g, name, id, &ig) < 0)
		return false;
	json_object *rec = eng_pod_load(g, id, &ig);
	bool used = rec && jstr(rec, "Name") && !strcmp(jstr(rec, "Name"), name);
	json_object_put(rec);
	return used;
}

static int unlink_record(eng *g, const char *id, berr *e)
{
	int fd = pods_fd(g, false, e);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	char name[80];
	snprintf(name, sizeof(name), "%s.json", id);
	int r = unlinkat(fd, name, 0) < 0 && errno != ENOENT
		    ? berr_sys(e, "unlink %s/" PODS "/%s", g->root, name)
		    : 0;
	close(fd);
	return r;
}

static char *cgroup_parent_of(const char *id)
{
	return idmap_in_userns() ? NULL : xasprintf("/berth/pod-%s", id);
}

static int create_infra(eng *g, const eng_pod_opts *o, json_object *rec, const char *id,
			bool *image_missing, char iid[65], berr *e)
{
	char name[32];
	snprintf(name, sizeof(name), "%.12s-infra", id);
	_cleanup_free_ char *cg = cgroup_parent_of(id);
	bool net = shares(rec, "net");
	eng_run_opts io = {
	    .image = o->pause_image ? o->pause_image : ENG_PAUSE_IMAGE,
	    /* set, not the image's: an image from before the pause image had
	     * its Entrypoint (pause_image.c) has none */
	    .entrypoint = "/pause",
	    .entrypoint_set = true,
	    .name = name,
	    .hostname = shares(rec, "uts") ? jstr(rec, "Hostname") : NULL,
	    .ipc = shares(rec, "ipc") ? "shareable" : NULL,
	    .network = net ? o->network : "none",
	    .publish = o->publish,
	    .publish_all = o->publish_all,
	    .dns = o->dns,
	    .dns_search = o->dns_search,
	    .dns_opts = o->dns_opts,
	    .add_hosts = o->add_hosts,
	    .net_aliases = o->net_aliases,
	    .ip = o->ip,
	    .mac = o->mac,
	    .cgroup_parent = cg,
	    .pod = id,
	    .pod_infra = true,
	    .image_missing = image_missing,
	};
	if (!net && (o->network || any(o->publish) || o->publish_all))
		return berr_set(e, EINVAL, "--network and -p need the pod to share net");
	return eng_create(g, &io, NULL, iid, e);
}

int eng_pod_create(eng *g, const eng_pod_opts *o, bool *image_missing, char id[65], berr *e)
{
	if (check_opts(o, e) < 0)
		return -1;
	json_object *share = parse_share(o->share      ? o->share
					 : o->no_infra ? "none"
						       : "ipc,net,uts",
					 e);
	if (!share)
		return -1;
	if (eng_lock(g, true, e) < 0) {
		json_object_put(share);
		return -1;
	}
	char pid[65];
	eng_new_id(pid);
	_cleanup_free_ char *name = NULL;
	if (o->name) {
		if (pod_name_used(g, o->name)) {
			eng_unlock(g);
			json_object_put(share);
			return berr_set(e, EEXIST, "the pod name \"%s\" is already in use",
					o->name);
		}
		name = xstrdup(o->name);
	} else {
		char *n = eng_new_name(g);
		name = xasprintf("%s_pod", n); /* apart from the containers' names */
		free(n);
	}
	json_object *rec = json_object_new_object();
	json_object_object_add(rec, "Id", json_object_new_string(pid));
	json_object_object_add(rec, "Name", json_object_new_string(name));
	char *t = eng_time_now();
	json_object_object_add(rec, "Created", json_object_new_string(t));
	free(t);
	json_object_object_add(
	    rec, "Hostname",
	    json_object_new_string(o->hostname && *o->hostname ? o->hostname : name));
	json_object_object_add(rec, "SharedNamespaces", share);
	json_object_object_add(rec, "CreateInfra", json_object_new_boolean(!o->no_infra));
	json_object_object_add(rec, "InfraContainerID", json_object_new_string(""));
	_cleanup_free_ char *cg = cgroup_parent_of(pid);
	json_object_object_add(rec, "CgroupParent", json_object_new_string(cg ? cg : ""));
	json_object *labels = json_object_new_object();
	for (char **l = o->labels; l && *l; l++) {
		char *eq = strchr(*l, '=');
		_cleanup_free_ char *k = xstrndup(*l, (size_t)(eq - *l));
		json_object_object_add(labels, k, json_object_new_string(eq + 1));
	}
	json_object_object_add(rec, "Labels", labels);
	/* the record first (a kill -9 later leaves a pod that rm removes) */
	int r = rec_write(g, pid, rec, e);
	eng_unlock(g);
	if (r == 0 && !o->no_infra) {
		char iid[65];
		r = create_infra(g, o, rec, pid, image_missing, iid, e);
		if (r == 0) {
			json_object_object_add(rec, "InfraContainerID",
					       json_object_new_string(iid));
			if (eng_lock(g, true, e) == 0) {
				r = rec_write(g, pid, rec, e);
				eng_unlock(g);
			} else {
				r = -1;
			}
			if (r < 0) {
				berr ig;
				eng_remove(g, iid, false, &ig);
			}
		}
		if (r < 0) {
			berr ig;
			unlink_record(g, pid, &ig);
		}
	}
	json_object_put(rec);
	if (r == 0)
		snprintf(id, 65, "%s", pid);
	return r;
}

/* ---- remove ---- */

/* rmdir of the pod's cgroup parent in every hierarchy (v1, hybrid, v2). */
static int cgroup_parent_remove(const char *id, berr *e)
{
	int r = 0;
	char p[4096];
	snprintf(p, sizeof(p), "/sys/fs/cgroup/berth/pod-%s", id);
	if (rmdir(p) < 0 && errno != ENOENT && errno != ENOTDIR)
		r = berr_sys(e, "rmdir %s", p);
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d)
		return r;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/berth/pod-%s", de->d_name, id) >=
		    (int)sizeof(p))
			continue;
		if (rmdir(p) < 0 && errno != ENOENT && errno != ENOTDIR && r == 0)
			r = berr_sys(e, "rmdir %s", p);
	}
	closedir(d);
	return r;
}

void eng_pod_cgroup_gc(eng *g, const char *pod)
{
	berr ig;
	if (!is_hex_id(pod) || idmap_in_userns())
		return;
	json_object *rec = eng_pod_load(g, pod, &ig);
	if (rec) { /* the pod is still there: its parent stays */
		json_object_put(rec);
		return;
	}
	if (ig.errnum == ENOENT)
		cgroup_parent_remove(pod, &ig);
}

int eng_pod_remove(eng *g, const char *id, berr *e)
{
	_cleanup_strv_ char **ms = eng_pod_members(g, id);
	if (*ms)
		return berr_set(e, EBUSY,
				"pod %.12s: container %.12s is still in it (rm -f removes "
				"it)",
				id, ms[0]);
	if (eng_lock(g, true, e) < 0)
		return -1;
	int r = unlink_record(g, id, e);
	eng_unlock(g);
	if (r == 0 && !idmap_in_userns())
		r = cgroup_parent_remove(id, e);
	return r;
}

/* ---- members ---- */

int eng_pod_member_opts(eng *g, const char *ref, const eng_run_opts *o, eng_run_opts *out,
			eng_pod_member *hold, berr *e)
{
	memset(hold, 0, sizeof(*hold));
	if (eng_pod_lookup(g, ref, hold->pod, e) < 0)
		return berr_ctx(e, "--pod");
	json_object *rec = eng_pod_load(g, hold->pod, e);
	if (!rec)
		return -1;
	*out = *o;
	out->pod = hold->pod;
	const char *infra = jstr(rec, "InfraContainerID");
	bool has_infra = infra && *infra;
	int r = 0;
	if (has_infra && shares(rec, "net") &&
	    (o->network || any(o->publish) || o->publish_all || o->ip || o->mac || any(o->dns) ||
	     any(o->dns_search) || any(o->dns_opts) || any(o->add_hosts)))
		r = berr_set(
		    e, EINVAL,
		    "--pod %s: the pod's network is its own: -p, --network, --ip, --dns and "
		    "--add-host go to `berth pod create`",
		    ref);
	else if (has_infra && shares(rec, "ipc") && o->ipc)
		r = berr_set(e, EINVAL, "--pod %s: the pod shares ipc: --ipc does not apply", ref);
	else if (has_infra && shares(rec, "uts") && (o->uts || o->hostname))
		r = berr_set(e, EINVAL,
			     "--pod %s: the pod shares uts: --uts and --hostname do not apply",
			     ref);
	else if (has_infra && shares(rec, "pid") && o->pid)
		r = berr_set(e, EINVAL, "--pod %s: the pod shares pid: --pid does not apply", ref);
	else if (o->cgroup_parent)
		r = berr_set(e, EINVAL, "--pod %s: the pod's cgroup is the parent", ref);
	if (r == 0 && has_infra) {
		if (shares(rec, "ipc"))
			out->ipc = hold->ipc = xasprintf("container:%s", infra);
		if (shares(rec, "net"))
			out->network = hold->net = xasprintf("container:%s", infra);
		if (shares(rec, "uts"))
			out->uts = hold->uts = xasprintf("container:%s", infra);
		if (shares(rec, "pid"))
			out->pid = hold->pid = xasprintf("container:%s", infra);
	}
	const char *cg = jstr(rec, "CgroupParent");
	if (r == 0 && cg && *cg)
		out->cgroup_parent = hold->cgroup_parent = xstrdup(cg);
	json_object_put(rec);
	return r;
}

void eng_pod_member_free(eng_pod_member *hold)
{
	free(hold->ipc);
	free(hold->net);
	free(hold->uts);
	free(hold->pid);
	free(hold->cgroup_parent);
	memset(hold, 0, sizeof(*hold));
}
