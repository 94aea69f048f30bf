/* Namespaces: which to create, which to join, id and time maps. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int ns_clone_flag(enum spec_ns ns)
{
	switch (ns) {
	case NS_PID:
		return CLONE_NEWPID;
	case NS_NET:
		return CLONE_NEWNET;
	case NS_MNT:
		return CLONE_NEWNS;
	case NS_IPC:
		return CLONE_NEWIPC;
	case NS_UTS:
		return CLONE_NEWUTS;
	case NS_USER:
		return CLONE_NEWUSER;
	case NS_CGROUP:
		return CLONE_NEWCGROUP;
	case NS_TIME:
		return CLONE_NEWTIME;
	case NS_COUNT:
		break;
	}
	return 0;
}

uint64_t ns_new_flags(const spec *s)
{
	uint64_t f = 0;
	for (int i = 0; i < NS_COUNT; i++)
		if (s->linux_.ns[i].present && !s->linux_.ns[i].path)
			f |= (uint64_t)ns_clone_flag(i);
	return f;
}

bool ns_needs_two_stages(const spec *s)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (s->linux_.ns[i].present && s->linux_.ns[i].path)
			return true;
	/* offsets must be written before the first process enters a time ns */
	return s->linux_.ns[NS_TIME].present;
}

static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "a file";
}

/* The names under /proc/PID/ns/, in enum spec_ns order. */
static const char *const proc_names[NS_COUNT] = {"pid", "net",	"mnt",	  "ipc",
						 "uts", "user", "cgroup", "time"};

static const char *ns_name_of_flag(int flag)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (ns_clone_flag(i) == flag)
			return spec_ns_name(i);
	return "unknown";
}

/* Opens a namespace file to join, looking before it reads: an open(2) for
 * reading of a fifo blocks until a writer comes (forever), of a device it
 * may act. Only an nsfs file of the wanted type is opened for real. */
static int open_ns_file(const spec_namespace *n, enum spec_ns ns, berr *e)
{
	_cleanup_close_ int pfd = open(n->path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return berr_sys(e, "linux.namespaces[%zu].path: %s", n->index, n->path);
	struct stat st;
	struct statfs sf;
	if (fstat(pfd, &st) < 0 || fstatfs(pfd, &sf) < 0)
		return berr_sys(e, "linux.namespaces[%zu].path: %s", n->index, n->path);
	if (!S_ISREG(st.st_mode) || sf.f_type != NSFS_MAGIC)
		return berr_set(e, EINVAL,
				"linux.namespaces[%zu].path: %s is %s, not a namespace file (such "
				"as /proc/PID/ns/%s)",
				n->index, n->path,
				S_ISREG(st.st_mode) ? "a regular file" : file_kind(st.st_mode),
				proc_names[ns]);
	int fd = open(n->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return berr_sys(e, "linux.namespaces[%zu].path: %s", n->index, n->path);
	struct stat st2;
	int type = -1;
	if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		berr_set(e, EAGAIN, "linux.namespaces[%zu].path: %s changed while being opened",
			 n->index, n->path);
	} else if ((type = ioctl(fd, NS_GET_NSTYPE)) < 0) {
		if (errno == ENOTTY) /* before Linux 4.11: setns checks the type */
			type = ns_clone_flag(ns);
		else
			berr_sys(e, "linux.namespaces[%zu].path: %s", n->index, n->path);
	} else if (type != ns_clone_flag(ns)) {
		berr_set(e, EINVAL, "linux.namespaces[%zu].path: %s is a %s namespace, not %s",
			 n->index, n->path, ns_name_of_flag(type), spec_ns_name(ns));
		type = -1;
	}
	if (type < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int join_one(const spec *s, enum spec_ns ns, berr *e)
{
	const spec_namespace *n = &s->linux_.ns[ns];
	_cleanup_close_ int fd = open_ns_file(n, ns, e);
	if (fd < 0)
		return -1;
	if (setns(fd, ns_clone_flag(ns)) < 0)
		return berr_sys(e, "linux.namespaces[%zu].path: join %s namespace %s", n->index,
				spec_ns_name(ns), n->path);
	return 0;
}

int ns_join_paths(const spec *s, berr *e)
{
	static const enum spec_ns order[] = {NS_USER, NS_IPC,	 NS_UTS,  NS_NET,
					     NS_PID,  NS_CGROUP, NS_TIME, NS_MNT};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (s->linux_.ns[order[i]].present && s->linux_.ns[order[i]].path &&
		    join_one(s, order[i], e) < 0)
			return -1;
	return 0;
}

static int write_map(pid_t pid, const char *file, const spec_idmap *m, size_t n, berr *e)
{
	char buf[4096];
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container_id,
				 m[i].host_id, m[i].size);
		if (w < 0 || (size_t)w >= sizeof(buf) - off)
			return berr_set(e, E2BIG, "linux.%s: too many mappings", file);
		off += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", path);
	if (write(fd, buf, off) != (ssize_t)off)
		return berr_sys(e, "write %s", path);
	return 0;
}

/* newuidmap/newgidmap PID ID HOSTID SIZE...: the setuid helpers from the
 * uidmap package that grant an unprivileged user its /etc/subuid ranges. */
static int run_idmap_helper(const char *helper, pid_t pid, const spec_idmap *m, size_t n, berr *e)
{
	char **argv = NULL;
	strv_push(&argv, helper);
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	strv_push(&argv, buf);
	for (size_t i = 0; i < n; i++) {
		uint32_t v[3] = {m[i].container_id, m[i].host_id, m[i].size};
		for (int k = 0; k < 3; k++) {
			snprintf(buf, sizeof(buf), "%u", v[k]);
			strv_push(&argv, buf);
		}
	}
	pid_t child = fork();
	if (child < 0) {
		strv_free(argv);
		return berr_sys(e, "fork %s", helper);
	}
	if (child == 0) {
		execvp(helper, argv);
		_exit(127);
	}
	strv_free(argv);
	int st;
	if (waitpid(child, &st, 0) < 0)
		return berr_sys(e, "wait for %s", helper);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return berr_set(e, EPERM,
				"%s failed (exit %d): are the ranges in /etc/sub%cid granted to "
				"this user? (uidmap package)",
				helper, WIFEXITED(st) ? WEXITSTATUS(st) : -1, helper[3]);
	return 0;
}

/* An unprivileged caller may map exactly its own id, once. */
static bool self_map_only(const spec_idmap *m, size_t n, uint32_t own)
{
	return n == 1 && m[0].host_id == own && m[0].size == 1;
}

int ns_write_id_maps(pid_t pid, const spec *s, berr *e)
{
	const spec_linux *l = &s->linux_;
	if (l->n_uid_mappings == 0 && l->n_gid_mappings == 0)
		return berr_set(
		    e, EINVAL,
		    "linux.uidMappings: a new user namespace needs uid and gid mappings");
	if (geteuid() != 0) {
		if (self_map_only(l->uid_mappings, l->n_uid_mappings, geteuid())) {
			if (write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, e) < 0)
				return berr_ctx(e, "linux.uidMappings");
		} else if (run_idmap_helper("newuidmap", pid, l->uid_mappings, l->n_uid_mappings,
					    e) < 0) {
			return berr_ctx(e, "linux.uidMappings");
		}
		if (self_map_only(l->gid_mappings, l->n_gid_mappings, getegid())) {
			/* the kernel requires setgroups to be denied first */
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
			if (fs_write_str_at(AT_FDCWD, path, "deny", e) < 0)
				return berr_ctx(e, "linux.gidMappings");
			if (write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, e) < 0)
				return berr_ctx(e, "linux.gidMappings");
		} else if (run_idmap_helper("newgidmap", pid, l->gid_mappings, l->n_gid_mappings,
					    e) < 0) {
			return berr_ctx(e, "linux.gidMappings");
		}
		return 0;
	}
	if (write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, e) < 0)
		return berr_ctx(e, "linux.uidMappings");
	if (write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, e) < 0)
		return berr_ctx(e, "linux.gidMappings");
	return 0;
}

int ns_write_time_offsets(const spec *s, berr *e)
{
	const spec_time_offset *mono = &s->linux_.time_monotonic, *boot = &s->linux_.time_boottime;
	char buf[256];
	int n = 0;
	if (mono->set)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "monotonic %lld %u\n",
			      (long long)mono->secs, mono->nanosecs);
	if (boot->set)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "boottime %lld %u\n",
			      (long long)boot->secs, boot->nanosecs);
	if (n == 0)
		return 0;
	_cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "linux.timeOffsets: open /proc/self/timens_offsets");
	if (write(fd, buf, (size_t)n) != n)
		return berr_sys(e, "linux.timeOffsets: write /proc/self/timens_offsets");
	return 0;
}

pid_t ns_clone(uint64_t flags, int *pidfd)
{
	bool placed;
	return ns_clone_into(flags, pidfd, -1, &placed);
}

pid_t ns_clone_into(uint64_t flags, int *pidfd, int cgroup_fd, bool *placed)
{
	*placed = false;
	struct clone_args args = {
	    .flags = flags | (pidfd ? CLONE_PIDFD : 0),
	    .pidfd = (uint64_t)(uintptr_t)pidfd,
	    .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD,
	};
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
		pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0) {
			*placed = pid > 0;
			return pid;
		}
		/* A kernel before 5.7 (EINVAL/E2BIG) or a cgroup it will not
		 * clone into (EOPNOTSUPP, EBUSY): the caller migrates instead. */
		if (errno != EINVAL && errno != E2BIG && errno != EOPNOTSUPP && errno != EBUSY)
			return -1;
		args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
		args.cgroup = 0;
	}
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}
