/* create and run: the parent's side of bringing a container up. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/sysctl.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/passwd.h"
#include "util/xalloc.h"

bool launch_has_hooks(const spec *s)
{
	return s->hooks.n[HOOK_PRESTART] || s->hooks.n[HOOK_CREATE_RUNTIME] ||
	       s->hooks.n[HOOK_CREATE_CONTAINER] || s->hooks.n[HOOK_START_CONTAINER];
}

static char **annotations_strv(const spec *s)
{
	strv_builder v = {0};
	for (size_t i = 0; i < s->n_annotations; i++)
		strvb_push_take(&v,
				xasprintf("%s=%s", s->annotations[i].key, s->annotations[i].value));
	return strvb_take(&v);
}

char *launch_state_json(const rt_launch *l, pid_t pid, const char *status)
{
	st_record r = {.id = (char *)l->id, .pid = pid, .bundle = (char *)l->bundle};
	r.annotations = annotations_strv(l->s);
	enum rt_status st = !strcmp(status, "creating")	 ? RT_CREATING
			    : !strcmp(status, "created") ? RT_CREATED
			    : !strcmp(status, "stopped") ? RT_STOPPED
							 : RT_RUNNING;
	char *json = st_spec_state_json(&r, st);
	strv_free(r.annotations);
	return json;
}

int rt_validate_id(const char *id, berr *e)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024)
		return berr_set(e, EINVAL, "invalid container id \"%s\"", id);
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') ||
			  (i > 0 && (ch == '_' || ch == '-' || ch == '.'));
		if (!ok)
			return berr_set(
			    e, EINVAL,
			    "invalid container id \"%s\": use letters, digits, '_', '-' "
			    "and '.', starting with a letter or digit",
			    id);
	}
	return 0;
}

/* Without a mount namespace the container's root is a chroot in the
 * runtime's own mount table (as runc and crun do it): what would mount
 * there would change the host's, so it is refused, not done. */
static bool needs_own_mntns(const spec *s, berr *e)
{
	const char *field =
	    s->n_mounts						      ? "mounts"
	    : s->linux_.n_devices				      ? "linux.devices"
	    : s->linux_.masked_paths && s->linux_.masked_paths[0]     ? "linux.maskedPaths"
	    : s->linux_.readonly_paths && s->linux_.readonly_paths[0] ? "linux.readonlyPaths"
	    : s->root_readonly					      ? "root.readonly"
	    : s->linux_.rootfs_propagation			      ? "linux.rootfsPropagation"
								      : NULL;
	if (!field)
		return false;
	berr_set(e, EINVAL,
		 "config.json: %s: needs a mount namespace of its own (linux.namespaces has "
		 "none: the container's root is a chroot in the runtime's mount namespace, "
		 "which berth does not mount in)",
		 field);
	return true;
}

/* Checks that need the whole config, before anything is created. */
static int validate(const spec *s, bool terminal_allowed, berr *e)
{
	if (!s->has_process)
		return berr_set(e, EINVAL, "config.json: process: required to create a container");
	if (s->process.terminal && !terminal_allowed)
		return berr_set(e, EINVAL,
				"config.json: process.terminal: a container with a terminal needs "
				"--console-socket when the runtime does not stay attached");
	if (!s->linux_.ns[NS_MNT].present && needs_own_mntns(s, e))
		return -1;
	if ((s->hostname && *s->hostname) && !s->linux_.ns[NS_UTS].present)
		return berr_set(e, EINVAL,
				"config.json: hostname: needs a uts namespace of its own");
	if ((s->domainname && *s->domainname) && !s->linux_.ns[NS_UTS].present)
		return berr_set(e, EINVAL,
				"config.json: domainname: needs a uts namespace of its own");
	if (s->linux_.has_intel_rdt)
		return berr_set(e, ENOTSUP, "config.json: linux.intelRdt: not supported by berth");
	if ((s->linux_.time_monotonic.set || s->linux_.time_boottime.set) &&
	    !s->linux_.ns[NS_TIME].present)
		return berr_set(
		    e, EINVAL, "config.json: linux.timeOffsets: needs a time namespace of its own");
	if (s->linux_.ns[NS_USER].present && !s->linux_.ns[NS_USER].path &&
	    (!s->linux_.n_uid_mappings || !s->linux_.n_gid_mappings))
		return berr_set(
		    e, EINVAL,
		    "config.json: linux.uidMappings: a new user namespace needs uid and "
		    "gid mappings");
	if (sysctl_validate(s, e) < 0)
		return berr_ctx(e, "config.json");
	return 0;
}

/* Everything the create/run parent holds; released by launch_cleanup. */
typedef struct launch_state {
	rt_launch l;
	spec *s;
	char *config_text;
	size_t config_len;
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	int rootfd; /* state root */
	int dirfd;  /* state dir, locked */
	bool made_dir;
	int sync[2];
	pid_t pid;
	int pidfd;
	int pty_master;
	cgroup_ctx cgctx;
	cgroup *cg;
	cgroup_join cgj;
	launch_cg_late late; /* the v1 cgroups, made after the clone */
	pid_t holder;	     /* run: the mount namespace's holder, or -1 */
	int holder_order;    /* our end of its socketpair (ns_holder_start) */
	seccomp_prog sec;
} launch_state;

static void launch_cleanup(launch_state *ls, const char *id, bool failed)
{
	if (failed && ls->pid > 0) {
		kill(ls->pid, SIGKILL);
		waitpid(ls->pid, NULL, 0);
	}
	berr ignore;
	if (failed && ls->cg)
		cgroup_destroy(ls->cg, &ignore);
	if (failed && ls->made_dir)
		st_remove_dir(ls->rootfd, id, &ignore);
	cgroup_join_close(&ls->cgj);
	if (ls->late.hostroot >= 0)
		close(ls->late.hostroot);
	ls->late.hostroot = -1;
	cgroup_free(ls->cg);
	ls->cg = NULL;
	cgroup_ctx_clear(&ls->cgctx);
	seccomp_prog_free(&ls->sec);
	int *fds[] = {&ls->dirfd,	&ls->rootfd,	 &ls->sync[0],	    &ls->sync[1],
		      &ls->pidfd,	&ls->pty_master, &ls->l.console_fd, &ls->l.exec_listen_fd,
		      &ls->holder_order};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	spec_free(ls->s);
	free(ls->config_text);
}

static int load_bundle(launch_state *ls, const char *bundle, berr *e)
{
	if (!realpath(bundle ? bundle : ".", ls->bundle))
		return berr_sys(e, "bundle %s", bundle ? bundle : ".");
	_cleanup_close_ int bfd = open(ls->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return berr_sys(e, "bundle %s", ls->bundle);
	if (fs_read_file_at(bfd, "config.json", &ls->config_text, &ls->config_len, e) < 0)
		return berr_ctx(e, "bundle %s", ls->bundle);
	if (spec_parse(ls->config_text, ls->config_len, "config.json", &ls->s, e) < 0)
		return -1;
	const char *root = ls->s->root_path;
	_cleanup_free_ char *joined =
	    root[0] == '/' ? xstrdup(root) : xasprintf("%s/%s", ls->bundle, root);
	if (!realpath(joined, ls->rootfs))
		return berr_sys(e, "config.json: root.path: %s", joined);
	struct stat st;
	if (stat(ls->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
		return berr_set(e, ENOTDIR, "config.json: root.path: %s is not a directory",
				ls->rootfs);
	return 0;
}

static int connect_console(const char *path, berr *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return berr_set(e, ENAMETOOLONG, "--console-socket %s: path too long", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		berr_sys(e, "--console-socket %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* exec.sock in the state dir, bound through the dir's fd (no path limit). */
static int listen_exec_sock(int dirfd, berr *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, EXEC_SOCK);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		berr_sys(e, "bind %s", EXEC_SOCK);
		close(fd);
		return -1;
	}
	return fd;
}

static int wait_child_pid(launch_state *ls, berr *e)
{
	for (;;) {
		sync_msg m;
		int r = sync_recv(ls->sync[0], &m, NULL, e);
		if (r < 0)
			return -1;
		if (r == 0)
			return berr_set(e, EPIPE, "container setup exited unexpectedly");
		if (m.type == SYNC_ERROR)
			return berr_set(e, m.value, "%s", m.text);
		if (m.type == SYNC_NEED_MAPS) {
			if (ns_write_id_maps(m.value, ls->s, e) < 0)
				return -1;
			sync_send(ls->sync[0], SYNC_GO, 0, NULL, -1);
		} else if (m.type == SYNC_CHILD_PID) {
			ls->pid = m.value;
			return 0;
		}
	}
}

/* The init waits for GO until it is in its cgroup (and, in a new user
 * namespace, has its id maps). A cgroup namespace is made by the init
 * itself after that, so its root is the container's cgroup. */
static int spawn(launch_state *ls, berr *e)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ls->sync) < 0)
		return berr_sys(e, "socketpair");
	ls->l.sync_fd = ls->sync[1];
	ls->l.wait_go = true;
	uint64_t flags = ns_new_flags(ls->s) & ~(uint64_t)CLONE_NEWCGROUP;
	if (ls->cg) {
		unsigned parts = ls->late.pending ? CG_PART_V2 : CG_PART_V1 | CG_PART_V2;
		if (cgroup_join_open_part(ls->cg, &ls->cgj, parts, e) < 0)
			return -1;
		ls->l.cgj = &ls->cgj;
	}
	bool in_v2 = false;
	if (ns_needs_two_stages(ls->s)) {
		pid_t stage1 = ns_clone_into(0, NULL, ls->cgj.v2_dir, &in_v2);
		if (stage1 < 0)
			return berr_sys(e, "clone");
		if (stage1 == 0) {
			close(ls->sync[0]);
			rt_stage1_main(&ls->l, flags);
		}
		int r = wait_child_pid(ls, e);
		int st;
		waitpid(stage1, &st, 0);
		if (r < 0)
			return -1;
		ls->pidfd = (int)syscall(SYS_pidfd_open, ls->pid, 0);
		if (ls->pidfd < 0)
			return berr_sys(e, "pidfd_open");
	} else {
		/* The network namespace, the dearest to make (most of clone3's
		 * time), is made by the init itself while this process makes the
		 * v1 cgroups (late_cgroups). Not in a new user namespace, which
		 * must own it: there clone3 makes both. */
		if (!(flags & CLONE_NEWUSER)) {
			ls->l.unshare_first = flags & CLONE_NEWNET;
			flags &= ~(uint64_t)CLONE_NEWNET;
		}
		ls->pid = ns_clone_into(flags, &ls->pidfd, ls->cgj.v2_dir, &in_v2);
		if (ls->pid < 0)
			return berr_sys(e, "clone into new namespaces");
		if (ls->pid == 0) {
			close(ls->sync[0]);
			rt_init_main(&ls->l);
		}
		if ((flags & CLONE_NEWUSER) && ns_write_id_maps(ls->pid, ls->s, e) < 0)
			return -1;
	}
	close(ls->sync[1]);
	ls->sync[1] = -1;
	cgroup_join_close(&ls->cgj);
	if (ls->cg && !in_v2 && cgroup_enter_v2(ls->cg, ls->pid, e) < 0)
		return -1;
	sync_send(ls->sync[0], SYNC_GO, 0, NULL, -1);
	return 0;
}

/* Serve the child until it reports READY. */
static int until_ready(launch_state *ls, berr *e)
{
	for (;;) {
		sync_msg m;
		int fd = -1;
		int r = sync_recv(ls->sync[0], &m, &fd, e);
		if (r < 0)
			return -1;
		if (r == 0) {
			uint64_t ooms = 0;
			berr ignore;
			if (ls->cg && cgroup_oom_count(ls->cg, &ooms, &ignore) == 0 && ooms > 0)
				return berr_set(e, ENOMEM,
						"container init was OOM-killed during setup "
						"(linux.resources.memory.limit too low?)");
			return berr_set(e, EPIPE, "container init exited during setup");
		}
		switch (m.type) {
		case SYNC_ERROR:
			return berr_set(e, m.value, "%s", m.text);
		case SYNC_PTY:
			ls->pty_master = fd;
			break;
		case SYNC_HOOKS: {
			/* "created", as crun passes and the spec's lifecycle has it
			 * (these hooks follow step 2, "creating"); runc passes
			 * "creating" */
			_cleanup_free_ char *st = launch_state_json(&ls->l, ls->pid, "created");
			if (hooks_run(ls->s, HOOK_PRESTART, st, e) < 0 ||
			    hooks_run(ls->s, HOOK_CREATE_RUNTIME, st, e) < 0)
				return -1;
			sync_send(ls->sync[0], SYNC_GO, ls->pid, NULL, -1);
			break;
		}
		case SYNC_READY:
			return 0;
		default:
			if (fd >= 0)
				close(fd);
		}
	}
}

static char *owner_name(void)
{
	char *name = NULL;
	return passwd_find_uid("/etc/passwd", geteuid(), &name, NULL) ? name : xstrdup("");
}

/* The state is recorded as soon as the init exists, while it sets up its
 * root (on the other CPU, if there is one): `state` says "creating" until
 * create or run lets go of the directory's lock (st_status). */
static int record_state(launch_state *ls, const char *id, berr *e)
{
	st_record r = {
	    .id = (char *)id,
	    .pid = ls->pid,
	    .pid_start = st_pid_start_time(ls->pid),
	    .bundle = ls->bundle,
	    .rootfs = ls->rootfs,
	    .created = st_now_rfc3339(),
	    .owner = owner_name(),
	    .own_pidns = ls->s->linux_.ns[NS_PID].present && !ls->s->linux_.ns[NS_PID].path,
	    .start_config = ls->s->hooks.n[HOOK_POSTSTART] || ls->s->linux_.seccomp.listener_path,
	};
	r.annotations = annotations_strv(ls->s);
	r.cgroup = ls->cg ? cgroup_serialize(ls->cg) : NULL;
	int ret = fs_write_atomic_at(ls->dirfd, CONFIG_COPY, ls->config_text, ls->config_len, 0600,
				     false, e);
	if (ret == 0)
		ret = st_write(ls->dirfd, &r, e);
	free(r.created);
	free(r.owner);
	free(r.cgroup);
	strv_free(r.annotations);
	return ret;
}

/* --pid-file: once the container is created */
static int write_pid_file(const launch_state *ls, const char *pid_file, berr *e)
{
	if (!pid_file)
		return 0;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)ls->pid);
	if (fs_write_atomic(pid_file, buf, (size_t)n, 0644, false, e) < 0)
		return berr_ctx(e, "--pid-file");
	return 0;
}

char *config_seccomp_json(const char *config_text)
{
	json_object *o = json_tokener_parse(config_text), *l, *sc;
	char *r = NULL;
	if (o && json_object_object_get_ex(o, "linux", &l) &&
	    json_object_object_get_ex(l, "seccomp", &sc))
		r = xstrdup(json_object_to_json_string_ext(sc, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return r;
}

int compile_seccomp(rt_ctx *c, const spec_seccomp *sc, const char *config_text, seccomp_prog *out,
		    berr *e)
{
	if (!sc->present)
		return seccomp_compile(sc, out, e);
	_cleanup_free_ char *json = config_seccomp_json(config_text);
	_cleanup_free_ char *dir = xasprintf("%s/.seccomp-cache", c->state_root);
	return seccomp_compile_cached(sc, json, dir, out, e);
}

/* Device rules as runc builds them: the config's rules, then the devices
 * every container gets (mknod of anything, the default nodes, ptys, tun),
 * then one allow rule for each node in linux.devices. */
static const spec_dev_rule default_rules[] = {
    {true, 'c', -1, -1, "m"},	 {true, 'b', -1, -1, "m"}, {true, 'c', 1, 3, "rwm"},
    {true, 'c', 1, 8, "rwm"},	 {true, 'c', 1, 7, "rwm"}, {true, 'c', 5, 0, "rwm"},
    {true, 'c', 1, 5, "rwm"},	 {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 1, "rwm"},
    {true, 'c', 136, -1, "rwm"}, {true, 'c', 5, 2, "rwm"}, {true, 'c', 10, 200, "rwm"},
};

/* Rootless: what was made is recorded, the limits of the controllers it
 * could not get are named in one warning. */
static int rootless_record(rt_ctx *c, launch_state *ls, unsigned missing, berr *e)
{
	_cleanup_free_ char *recorded = cgroup_serialize(ls->cg);
	if (fs_write_atomic_at(ls->dirfd, CGROUP_FILE, recorded, strlen(recorded), 0600, false, e) <
	    0)
		return -1;
	unsigned lost = missing & cgroup_asked(&ls->s->linux_.resources);
	if (!lost)
		return 0;
	_cleanup_free_ char *names = cgroup_limit_names(lost);
	_cleanup_free_ char *w = xasprintf(
	    "rootless: cgroup controllers not delegated; these limits are NOT enforced: %s", names);
	strv_push(&c->warnings, w);
	return 0;
}

/* `missing` (rootless): controllers whose limits are dropped, and no device
 * rules (they need CAP_SYS_ADMIN on the host). */
static int apply_resources(const cgroup *cg, const spec *s, unsigned missing, char ***warn, berr *e)
{
	spec_resources r = s->linux_.resources;
	cgroup_unask(&r, missing);
	size_t n = r.n_devices + ARRAY_SIZE(default_rules) + s->linux_.n_devices;
	_cleanup_free_ spec_dev_rule *rules = xreallocarray(NULL, n, sizeof(*rules));
	size_t k = 0;
	for (size_t i = 0; i < r.n_devices; i++)
		rules[k++] = r.devices[i];
	for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++)
		rules[k++] = default_rules[i];
	for (size_t i = 0; i < s->linux_.n_devices; i++) {
		const spec_device *d = &s->linux_.devices[i];
		rules[k++] = (spec_dev_rule){.allow = true,
					     .type = d->type == 'b' ? 'b' : 'c',
					     .major = d->major,
					     .minor = d->minor,
					     .access = "rwm"};
		if (d->type == 'p')
			k--; /* fifos are not devices to the cgroup */
	}
	r.devices = rules;
	r.n_devices = missing & CG_DEVICES ? 0 : k;
	return cgroup_apply(cg, &r, warn, e);
}

static void warn_skipped_limits(rt_ctx *c, const spec_resources *r, const berr *why)
{
	unsigned asked = cgroup_asked(r);
	if (!asked && !r->n_unified)
		return; /* nothing was asked that a cgroup would enforce */
	_cleanup_free_ char *names = cgroup_limit_names(asked);
	_cleanup_free_ char *w =
	    xasprintf("rootless: no cgroup (%s); these limits are NOT enforced: %s%s%s", why->msg,
		      names, *names && r->n_unified ? ", " : "", r->n_unified ? "unified" : "");
	strv_push(&c->warnings, w);
}

/* A label the host's LSMs cannot apply: a warning, as runc gives. */
static void warn_unused_label(rt_ctx *c, const char *field, const char *label, bool host_has,
			      const char *lsm)
{
	if (!label || !*label || host_has)
		return;
	_cleanup_free_ char *w =
	    xasprintf("%s \"%s\" ignored: %s is not enabled on this host", field, label, lsm);
	strv_push(&c->warnings, w);
}

/* Right after the clone, on this CPU while the init mounts its root on
 * the other: the v1 cgroups (a mkdir and its kernfs files per hierarchy,
 * the dearest part of a start on a hybrid host) and their limits, then
 * SYNC_CG_READY. The init joins them before its first cgroup mount and
 * before anything of the container's runs (launch_join_late); a failure
 * here leaves it waiting until the caller kills it. */
static int late_cgroups(rt_ctx *c, launch_state *ls, berr *e)
{
	if (!ls->late.pending)
		return 0;
	ls->late.pending = false;
	close(ls->late.hostroot);
	ls->late.hostroot = -1;
	if (cgroup_create_part(ls->cg, CG_PART_V1, e) < 0)
		return -1;
	if (apply_resources(ls->cg, ls->s, 0, &c->warnings, e) < 0)
		return berr_ctx(e, "config.json: linux.resources");
	if (sync_send(ls->sync[0], SYNC_CG_READY, 0, NULL, -1) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		return berr_sys(e, "cgroups ready: tell the container's init");
	return 0; /* a gone init: until_ready reads why */
}

/* cgroup (created and limited), seccomp (compiled here, installed by the
 * init), LSM (detected here, applied by the init). */
static int setup_confinement(rt_ctx *c, launch_state *ls, const char *id, berr *e)
{
	const spec *s = ls->s;
	if (cgroup_ctx_detect(&ls->cgctx, NULL, e) < 0)
		return -1;
	ls->cg = cgroup_resolve(&ls->cgctx, s->linux_.cgroups_path, id, c->systemd_cgroup, e);
	if (!ls->cg)
		return berr_ctx(e, "config.json: linux.cgroupsPath");
	_cleanup_free_ char *recorded = cgroup_serialize(ls->cg);
	if (fs_write_atomic_at(ls->dirfd, CGROUP_FILE, recorded, strlen(recorded), 0600, false, e) <
	    0)
		return -1;
	bool rootless = geteuid() != 0 || idmap_in_userns();
	unsigned missing = 0;
	/* The v1 hierarchies (eleven on a hybrid host) are made and limited
	 * after the clone, while the init sets up its root: see late_cgroups. */
	bool late = !rootless && ls->cg->mode != CGROUP_V2 && ls->cg->n_v1 > 0 &&
		    !ns_needs_two_stages(s) && !s->linux_.ns[NS_USER].present;
	if (late) {
		ls->late.hostroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (ls->late.hostroot < 0)
			return berr_sys(e, "open /");
		ls->late.pending = true;
		ls->l.cg_late = &ls->late;
	}
	int made = rootless
		       ? cgroup_create_rootless(ls->cg, &missing, e)
		       : cgroup_create_part(ls->cg, late ? CG_PART_V2 : CG_PART_V1 | CG_PART_V2, e);
	if (made < 0) {
		cgroup_free(ls->cg);
		ls->cg = NULL;
		unlinkat(ls->dirfd, CGROUP_FILE, 0);
		/* Rootless without a delegated cgroup: run without one, and
		 * say which limits are not enforced. */
		if (rootless && (e->errnum == EACCES || e->errnum == EPERM || e->errnum == EROFS)) {
			warn_skipped_limits(c, &s->linux_.resources, e);
			goto no_cgroup;
		}
		return -1;
	}
	missing |= rootless ? CG_DEVICES : 0;
	if (rootless && rootless_record(c, ls, missing, e) < 0)
		return -1;
	if (!late && apply_resources(ls->cg, s, missing, &c->warnings, e) < 0)
		return berr_ctx(e, "config.json: linux.resources");
no_cgroup:
	if (compile_seccomp(c, &s->linux_.seccomp, ls->config_text, &ls->sec, e) < 0)
		return berr_ctx(e, "config.json");
	for (size_t i = 0; ls->sec.warnings && ls->sec.warnings[i]; i++)
		strv_push(&c->warnings, ls->sec.warnings[i]);
	lsm_detect(&ls->l.lsm);
	warn_unused_label(c, "process.apparmorProfile", s->process.apparmor_profile,
			  ls->l.lsm.apparmor, "AppArmor");
	warn_unused_label(c, "process.selinuxLabel", s->process.selinux_label, ls->l.lsm.selinux,
			  "SELinux");
	warn_unused_label(c, "linux.mountLabel", s->linux_.mount_label, ls->l.lsm.selinux,
			  "SELinux");
	ls->l.cg = ls->cg;
	ls->l.sec = &ls->sec;
	return 0;
}

static int launch_begin(rt_ctx *c, const char *id, const rt_create_opts *o, launch_state *ls,
			bool attach, berr *e)
{
	memset(ls, 0, sizeof(*ls));
	ls->rootfd = ls->dirfd = ls->sync[0] = ls->sync[1] = ls->pidfd = ls->pty_master = -1;
	ls->l.console_fd = ls->l.exec_listen_fd = -1;
	ls->cgj.v2_dir = -1;
	ls->late.hostroot = -1;
	ls->holder = ls->holder_order = -1;
	if (rt_validate_id(id, e) < 0 || load_bundle(ls, o->bundle, e) < 0)
		return -1;
	bool terminal_ok = o->console_socket || attach;
	if (validate(ls->s, terminal_ok, e) < 0)
		return -1;
	for (size_t i = 0; ls->s->process.unknown_caps && ls->s->process.unknown_caps[i]; i++) {
		_cleanup_free_ char *w = xasprintf("config.json: process.capabilities: unknown "
						   "capability \"%s\" ignored",
						   ls->s->process.unknown_caps[i]);
		strv_push(&c->warnings, w);
	}
	ls->rootfd = st_open_root(c->state_root, true, e);
	if (ls->rootfd < 0)
		return -1;
	ls->dirfd = st_create_dir(ls->rootfd, id, e);
	if (ls->dirfd < 0)
		return -1;
	ls->made_dir = true;
	ls->l = (rt_launch){
	    .s = ls->s,
	    .id = id,
	    .bundle = ls->bundle,
	    .rootfs = ls->rootfs,
	    .console_fd = -1,
	    .exec_listen_fd = -1,
	    .state_fds = {ls->rootfd, ls->dirfd},
	    .send_pty = attach && ls->s->process.terminal && !o->console_socket,
	    .no_pivot = o->no_pivot,
	    .no_new_keyring = o->no_new_keyring,
	    .preserve_fds = o->preserve_fds,
	};
	if (setup_confinement(c, ls, id, e) < 0)
		return -1;
	if (o->console_socket && ls->s->process.terminal) {
		ls->l.console_fd = connect_console(o->console_socket, e);
		if (ls->l.console_fd < 0)
			return -1;
	}
	return 0;
}

static void remove_container(rt_ctx *c, launch_state *ls, const char *id);

int rt_create(rt_ctx *c, const char *id, const rt_create_opts *o, berr *e)
{
	launch_state ls;
	int r = launch_begin(c, id, o, &ls, false, e);
	if (r == 0) {
		ls.l.exec_listen_fd = listen_exec_sock(ls.dirfd, e);
		r = ls.l.exec_listen_fd < 0 ? -1 : 0;
	}
	if (r == 0)
		r = spawn(&ls, e);
	if (r == 0)
		r = late_cgroups(c, &ls, e);
	if (r == 0)
		r = record_state(&ls, id, e);
	if (r == 0)
		r = until_ready(&ls, e);
	if (r == 0)
		r = write_pid_file(&ls, o->pid_file, e);
	if (r == 0 && o->pid_out)
		*o->pid_out = ls.pid;
	if (r < 0 && ls.pid > 0) {
		/* as run does: a container that failed after its init came
		 * (a failing prestart, createRuntime or createContainer hook) is
		 * destroyed and then gets its poststop hooks (runtime-spec
		 * Lifecycle, steps 12 and 13) */
		kill(ls.pid, SIGKILL);
		waitpid(ls.pid, NULL, 0);
		ls.pid = -1;
		remove_container(c, &ls, id);
		ls.made_dir = false;
	}
	launch_cleanup(&ls, id, r < 0);
	return r;
}

static void remove_container(rt_ctx *c, launch_state *ls, const char *id)
{
	berr ignore;
	_cleanup_free_ char *st = launch_state_json(&ls->l, ls->pid, "stopped");
	if (ls->cg)
		cgroup_destroy(ls->cg, &ignore);
	hooks_run_all(ls->s, HOOK_POSTSTOP, st, &c->warnings);
	/* With a holder: the state directory is renamed away (the id is free
	 * at once) and the holder deletes it after we are gone. */
	char gone[32];
	if (ls->holder > 0) {
		ns_holder_trash_name(ls->holder, gone, sizeof(gone));
		if (renameat(ls->rootfd, id, ls->rootfd, gone) == 0 &&
		    send(ls->holder_order, "g", 1, MSG_NOSIGNAL) == 1)
			return;
		if (renameat(ls->rootfd, gone, ls->rootfd, id) < 0)
			fs_rm_rf_at(ls->rootfd, gone, &ignore);
	}
	st_remove_dir(ls->rootfd, id, &ignore);
}

int rt_run(rt_ctx *c, const char *id, const rt_create_opts *o, bool detach, int *exit_status,
	   berr *e)
{
	launch_state ls;
	*exit_status = 0;
	int r = launch_begin(c, id, o, &ls, !detach, e);
	if (r == 0)
		r = spawn(&ls, e);
	if (r == 0)
		r = late_cgroups(c, &ls, e);
	if (r == 0)
		r = record_state(&ls, id, e);
	/* A mount namespace of its own: the one whose teardown is in the
	 * exit. Its holder is forked now, while the init sets up its root, not
	 * on the path after the exec. */
	bool own_mnt = r == 0 && ls.s->linux_.ns[NS_MNT].present && !ls.s->linux_.ns[NS_MNT].path;
	if (own_mnt && !detach)
		ls.holder =
		    ns_holder_start(ns_hold_open(ls.pid), ls.pidfd, ls.rootfd, &ls.holder_order);
	if (r == 0)
		r = until_ready(&ls, e);
	if (r == 0)
		r = write_pid_file(&ls, o->pid_file, e);
	/* The signals to forward are blocked before the init runs: one that
	 * comes before the wait is pending for it, not lost to a handler. */
	sigset_t unfwd;
	bool fwd = !detach && ls.pty_master < 0;
	if (fwd)
		wait_block_forwarded(&unfwd);
	if (r == 0) {
		_cleanup_free_ char *st = launch_state_json(&ls.l, ls.pid, "created");
		r = release_init(ls.sync[0], ls.s, st, e);
	}
	/* Running: the lock goes (state says "running" from here, also to the
	 * poststart hooks), so state/kill/exec work meanwhile. */
	if (r == 0) {
		close(ls.dirfd);
		ls.dirfd = -1;
	}
	if (r == 0 && ls.s->hooks.n[HOOK_POSTSTART]) {
		/* a failure is a warning: the lifecycle goes on (runtime-spec) */
		_cleanup_free_ char *st = launch_state_json(&ls.l, ls.pid, "running");
		hooks_run_all(ls.s, HOOK_POSTSTART, st, &c->warnings);
	}
	if (r < 0) {
		if (fwd)
			sigprocmask(SIG_SETMASK, &unfwd, NULL);
		if (ls.pid > 0) {
			kill(ls.pid, SIGKILL);
			waitpid(ls.pid, NULL, 0);
			ls.pid = -1;
			remove_container(c, &ls, id);
			ls.made_dir = false;
		}
		launch_cleanup(&ls, id, true);
		return -1;
	}
	if (detach) {
		launch_cleanup(&ls, id, false);
		return 0;
	}
	int status = 0;
	if (ls.pty_master >= 0)
		r = term_attach_and_wait(ls.pty_master, ls.pid, ls.pidfd, &status, e);
	else
		r = wait_forwarding(ls.pid, ls.pidfd, &status, e);
	if (fwd)
		sigprocmask(SIG_SETMASK, &unfwd, NULL);
	ls.pid = -1;
	if (r == 0)
		*exit_status = status_to_exit_code(status);
	remove_container(c, &ls, id);
	launch_cleanup(&ls, id, false);
	return r;
}
