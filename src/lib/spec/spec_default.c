/* The default config (`runc spec`, `runc spec --rootless`) and the
 * runtime-spec features document (`runc features`). */
#include <unistd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "spec/spec_internal.h"
#include "util/xalloc.h"

static json_object *strs(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static void add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *mount(const char *dest, const char *type, const char *src,
			  const char *const *opts)
{
	json_object *m = json_object_new_object();
	add(m, "destination", json_object_new_string(dest));
	add(m, "type", json_object_new_string(type));
	add(m, "source", json_object_new_string(src));
	if (opts)
		add(m, "options", strs(opts));
	return m;
}

/* runc spec --rootless maps container root to the caller's own id. */
static json_object *idmap(unsigned host_id)
{
	json_object *a = json_object_new_array();
	json_object *m = json_object_new_object();
	add(m, "containerID", json_object_new_int(0));
	add(m, "hostID", json_object_new_int64(host_id));
	add(m, "size", json_object_new_int(1));
	json_object_array_add(a, m);
	return a;
}

static char *to_text(json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_SPACED |
		   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

char *spec_default_json(bool rootless)
{
	static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					   NULL};
	static const char *const env[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
	    NULL};
	json_object *top = json_object_new_object();
	add(top, "ociVersion", json_object_new_string("1.0.2-dev"));

	json_object *proc = json_object_new_object();
	add(proc, "terminal", json_object_new_boolean(1));
	json_object *user = json_object_new_object();
	add(user, "uid", json_object_new_int(0));
	add(user, "gid", json_object_new_int(0));
	add(proc, "user", user);
	add(proc, "args", strs((const char *const[]){"sh", NULL}));
	add(proc, "env", strs(env));
	add(proc, "cwd", json_object_new_string("/"));
	json_object *cp = json_object_new_object();
	add(cp, "bounding", strs(caps));
	add(cp, "effective", strs(caps));
	add(cp, "permitted", strs(caps));
	add(cp, "ambient", strs(caps));
	add(proc, "capabilities", cp);
	json_object *rl = json_object_new_object();
	add(rl, "type", json_object_new_string("RLIMIT_NOFILE"));
	add(rl, "hard", json_object_new_int(1024));
	add(rl, "soft", json_object_new_int(1024));
	json_object *rls = json_object_new_array();
	json_object_array_add(rls, rl);
	add(proc, "rlimits", rls);
	add(proc, "noNewPrivileges", json_object_new_boolean(1));
	add(top, "process", proc);

	json_object *root = json_object_new_object();
	add(root, "path", json_object_new_string("rootfs"));
	add(root, "readonly", json_object_new_boolean(1));
	add(top, "root", root);
	add(top, "hostname", json_object_new_string("runc"));

	json_object *mounts = json_object_new_array();
	json_object_array_add(mounts, mount("/proc", "proc", "proc", NULL));
	json_object_array_add(
	    mounts,
	    mount("/dev", "tmpfs", "tmpfs",
		  (const char *const[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL}));
	if (rootless)
		json_object_array_add(
		    mounts, mount("/dev/pts", "devpts", "devpts",
				  (const char *const[]){"nosuid", "noexec", "newinstance",
							"ptmxmode=0666", "mode=0620", NULL}));
	else
		json_object_array_add(
		    mounts,
		    mount("/dev/pts", "devpts", "devpts",
			  (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
						"mode=0620", "gid=5", NULL}));
	json_object_array_add(mounts,
			      mount("/dev/shm", "tmpfs", "shm",
				    (const char *const[]){"nosuid", "noexec", "nodev", "mode=1777",
							  "size=65536k", NULL}));
	json_object_array_add(mounts,
			      mount("/dev/mqueue", "mqueue", "mqueue",
				    (const char *const[]){"nosuid", "noexec", "nodev", NULL}));
	if (rootless)
		json_object_array_add(
		    mounts,
		    mount("/sys", "none", "/sys",
			  (const char *const[]){"rbind", "nosuid", "noexec", "nodev", "ro", NULL}));
	else
		json_object_array_add(
		    mounts, mount("/sys", "sysfs", "sysfs",
				  (const char *const[]){"nosuid", "noexec", "nodev", "ro", NULL}));
	json_object_array_add(mounts, mount("/sys/fs/cgroup", "cgroup", "cgroup",
					    (const char *const[]){"nosuid", "noexec", "nodev",
								  "relatime", "ro", NULL}));
	add(top, "mounts", mounts);

	json_object *lx = json_object_new_object();
	if (rootless) {
		add(lx, "uidMappings", idmap((unsigned)geteuid()));
		add(lx, "gidMappings", idmap((unsigned)getegid()));
	} else {
		json_object *res = json_object_new_object();
		json_object *devs = json_object_new_array();
		json_object *d = json_object_new_object();
		add(d, "allow", json_object_new_boolean(0));
		add(d, "access", json_object_new_string("rwm"));
		json_object_array_add(devs, d);
		add(res, "devices", devs);
		add(lx, "resources", res);
	}
	static const char *const ns_root[] = {"pid", "network", "ipc", "uts", "mount", NULL};
	static const char *const ns_rootless[] = {"pid", "ipc", "uts", "mount", "user", NULL};
	json_object *nss = json_object_new_array();
	for (const char *const *n = rootless ? ns_rootless : ns_root; *n; n++) {
		json_object *ns = json_object_new_object();
		add(ns, "type", json_object_new_string(*n));
		json_object_array_add(nss, ns);
	}
	add(lx, "namespaces", nss);
	add(lx, "maskedPaths",
	    strs((const char *const[]){"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				       "/proc/latency_stats", "/proc/timer_list",
				       "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
				       "/proc/scsi", NULL}));
	add(lx, "readonlyPaths",
	    strs((const char *const[]){"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
				       "/proc/sysrq-trigger", NULL}));
	add(top, "linux", lx);
	return to_text(top);
}

char *spec_features_json(void)
{
	json_object *top = json_object_new_object();
	add(top, "ociVersionMin", json_object_new_string("1.0.0"));
	add(top, "ociVersionMax", json_object_new_string("1.1.0"));
	add(top, "hooks",
	    strs((const char *const[]){"prestart", "createRuntime", "createContainer",
				       "startContainer", "poststart", "poststop", NULL}));
	json_object *mo = json_object_new_array();
	for (size_t i = 0; sp_mount_option_name(i); i++)
		json_object_array_add(mo, json_object_new_string(sp_mount_option_name(i)));
	add(top, "mountOptions", mo);

	json_object *lx = json_object_new_object();
	json_object *ns = json_object_new_array();
	for (int i = 0; i < NS_COUNT; i++)
		json_object_array_add(ns, json_object_new_string(spec_ns_name((enum spec_ns)i)));
	add(lx, "namespaces", ns);
	json_object *caps = json_object_new_array();
	for (int i = 0; i <= spec_cap_last(); i++)
		json_object_array_add(caps, json_object_new_string(spec_cap_name(i)));
	add(lx, "capabilities", caps);
	json_object *cg = json_object_new_object();
	add(cg, "v1", json_object_new_boolean(1));
	add(cg, "v2", json_object_new_boolean(1));
	add(cg, "systemd", json_object_new_boolean(1));
	add(cg, "systemdUser", json_object_new_boolean(0));
	add(lx, "cgroup", cg);
	json_object *sc = json_object_new_object();
	add(sc, "enabled", json_object_new_boolean(1));
	json_object *acts = json_object_new_array();
	for (int i = 0; sp_seccomp_action_name(i); i++)
		json_object_array_add(acts, json_object_new_string(sp_seccomp_action_name(i)));
	add(sc, "actions", acts);
	json_object *ops = json_object_new_array();
	for (int i = 0; sp_seccomp_op_name(i); i++)
		json_object_array_add(ops, json_object_new_string(sp_seccomp_op_name(i)));
	add(sc, "operators", ops);
	json_object *archs = json_object_new_array();
	for (size_t i = 0; sp_seccomp_arch_name(i); i++)
		json_object_array_add(archs, json_object_new_string(sp_seccomp_arch_name(i)));
	add(sc, "archs", archs);
	add(lx, "seccomp", sc);
	json_object *aa = json_object_new_object();
	add(aa, "enabled", json_object_new_boolean(1));
	add(lx, "apparmor", aa);
	json_object *se = json_object_new_object();
	add(se, "enabled", json_object_new_boolean(1));
	add(lx, "selinux", se);
	add(top, "linux", lx);

	json_object *ann = json_object_new_object();
	const struct scmp_version *v = seccomp_version();
	if (v) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->micro);
		add(ann, "io.github.seccomp.libseccomp.version", json_object_new_string(buf));
	}
	add(top, "annotations", ann);
	return to_text(top);
}
