/* The last steps before execve: limits, executable lookup, identity
 * (groups, uid, gid, capabilities), fds. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/passwd.h"
#include "util/xalloc.h"

int process_apply_rlimits(const spec_process *p, berr *e)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const spec_rlimit *r = &p->rlimits[i];
		struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};
		if (setrlimit(r->resource, &rl) == 0)
			continue;
		int err = errno;
		struct rlimit cur;
		if (err == EPERM && getrlimit(r->resource, &cur) == 0 && r->hard > cur.rlim_max)
			return berr_set(e, EPERM,
					"process.rlimits[%zu] (%s): hard limit %llu is above this "
					"host's hard limit %llu, which cannot be raised",
					i, r->type, (unsigned long long)r->hard,
					(unsigned long long)cur.rlim_max);
		errno = err;
		return berr_sys(e, "process.rlimits[%zu] (%s): setrlimit soft %llu hard %llu", i,
				r->type, (unsigned long long)r->soft, (unsigned long long)r->hard);
	}
	return 0;
}

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], key, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int process_lookup_exe(const spec_process *p, char *out, size_t outsz, berr *e)
{
	const char *name = p->args[0];
	if (strchr(name, '/')) {
		struct stat st;
		if (stat(name, &st) < 0)
			return berr_sys(e, "exec: \"%s\"", name);
		if (!S_ISREG(st.st_mode) || access(name, X_OK) < 0)
			return berr_set(e, EACCES, "exec: \"%s\": permission denied", name);
		snprintf(out, outsz, "%s", name);
		return 0;
	}
	const char *path = env_get(p->env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(out, outsz, "%s/%s", *dir ? dir : ".", name) >= (int)outsz)
			continue;
		if (is_executable(out))
			return 0;
	}
	return berr_set(e, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

static int set_caps(const spec_caps *c, berr *e)
{
	cap_t caps = cap_init();
	if (!caps)
		return berr_sys(e, "cap_init");
	int last = spec_cap_last();
	for (int i = 0; i <= last && i < 64; i++) {
		cap_value_t v = i;
		uint64_t bit = 1ULL << i;
		if ((c->effective & bit) && cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
			goto fail;
		if ((c->permitted & bit) && cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) < 0)
			goto fail;
		if ((c->inheritable & bit) &&
		    cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_SET) < 0)
			goto fail;
	}
	if (cap_set_proc(caps) < 0)
		goto fail;
	cap_free(caps);
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return berr_sys(e, "process.capabilities.ambient: reset");
	/* The kernel only allows ambient capabilities that are also permitted
	 * and inheritable; runc skips the others with a warning, so do we. */
	uint64_t ambient = c->ambient & c->permitted & c->inheritable;
	for (int i = 0; i <= last && i < 64; i++)
		if ((ambient & (1ULL << i)) && cap_set_ambient(i, CAP_SET) < 0)
			return berr_sys(e, "process.capabilities.ambient: raise %s",
					spec_cap_name(i));
	return 0;
fail:
	berr_sys(e, "process.capabilities: capset");
	cap_free(caps);
	return -1;
}

int process_set_identity(const spec_process *p, berr *e)
{
	if (p->has_caps) {
		int last = spec_cap_last();
		for (int i = 0; i <= last && i < 64; i++)
			if (!(p->caps.bounding & (1ULL << i)) &&
			    prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
				return berr_sys(e, "process.capabilities.bounding: drop %s",
						spec_cap_name(i));
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return berr_sys(e, "prctl PR_SET_KEEPCAPS");
	}
	const spec_user *u = &p->user;
	if (setgroups(u->n_additional_gids, u->additional_gids) < 0 && errno != EPERM)
		return berr_sys(e, "process.user.additionalGids: setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return berr_sys(e, "process.user.gid: setgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return berr_sys(e, "process.user.uid: setuid %u", (unsigned)u->uid);
	if (p->has_caps) {
		if (set_caps(&p->caps, e) < 0)
			return -1;
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			return berr_sys(e, "prctl PR_SET_KEEPCAPS");
	}
	if (p->user.has_umask)
		umask(p->user.umask);
	return 0;
}

/* Without close_range (before 5.9, CLOSE_RANGE_CLOEXEC before 5.11, or
 * refused by a seccomp filter the runtime itself runs under): walk
 * /proc/self/fd, as runc does. The directory's own fd is skipped. */
static int cloexec_by_walk(unsigned first, berr *e)
{
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "close_range unavailable; open /proc/self/fd");
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return berr_sys(e, "fdopendir /proc/self/fd");
	}
	int ret = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd < (long)first || fd == dfd)
			continue;
		int fl = fcntl((int)fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			ret = berr_sys(e, "mark fd %ld close-on-exec", fd);
			break;
		}
		errno = 0;
	}
	if (ret == 0 && errno)
		ret = berr_sys(e, "read /proc/self/fd");
	closedir(d);
	return ret;
}

int process_prepare_fds(int preserve_fds, berr *e)
{
	unsigned first = 3u + (unsigned)preserve_fds;
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		if (errno != ENOSYS && errno != EPERM && errno != EINVAL)
			return berr_sys(e, "close_range");
		if (cloexec_by_walk(first, e) < 0)
			return -1;
	}
	for (int fd = 3; fd < (int)first; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
			return berr_sys(e, "keep fd %d", fd);
	}
	return 0;
}

int process_set_oom_score(const spec_process *p, berr *e)
{
	if (!p->oom_score_adj.set)
		return 0;
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)p->oom_score_adj.v);
	if (fs_write_str_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, e) < 0)
		return berr_ctx(e, "process.oomScoreAdj");
	return 0;
}

int process_install_seccomp(const seccomp_prog *sec, int report, berr *e)
{
	if (!sec || sec->len == 0)
		return 0;
	int listener = -1;
	if (seccomp_install(sec, 0, &listener, e) < 0)
		return -1;
	if (listener >= 0) {
		int r = sync_send(report, SYNC_SECCOMP, 0, NULL, listener);
		close(listener);
		if (r < 0)
			return berr_sys(e, "send the seccomp listener to the runtime");
	}
	return 0;
}

int process_finish(const spec_process *p, const seccomp_prog *sec, const lsm_host *lsm, int report,
		   berr *e)
{
	bool label = (p->apparmor_profile && *p->apparmor_profile && lsm->apparmor) ||
		     (p->selinux_label && *p->selinux_label && lsm->selinux);
	if (label) {
		char **warnings = NULL;
		int r = lsm_apply_exec_label(lsm->apparmor ? p->apparmor_profile : NULL,
					     lsm->selinux ? p->selinux_label : NULL, &warnings, e);
		strv_free(warnings);
		if (r < 0)
			return -1;
	}
	/* As runc: without no_new_privs the filter needs CAP_SYS_ADMIN, so it
	 * goes in before the identity drops it; with it, as late as possible.
	 * After it, only calls every profile a container can run under allows
	 * (prctl, setgroups, setres[ug]id, capset, chdir, sendmsg, execve):
	 * the fds were marked close-on-exec by the caller, before the root
	 * changed (process_prepare_fds), not here. */
	if (!p->no_new_privileges && process_install_seccomp(sec, report, e) < 0)
		return -1;
	if (process_set_identity(p, e) < 0)
		return -1;
	if (chdir(p->cwd) < 0)
		return berr_sys(e, "process.cwd: chdir %s", p->cwd);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return berr_sys(e, "process.noNewPrivileges");
	if (p->no_new_privileges && process_install_seccomp(sec, report, e) < 0)
		return -1;
	return 0;
}

/* Home directory of uid from the container's /etc/passwd, "/" if none. */
static char *passwd_home(uid_t uid)
{
	char *home = NULL;
	if (passwd_find_uid("/etc/passwd", uid, NULL, &home) && *home)
		return home;
	free(home);
	return xstrdup("/");
}

void process_default_home(spec_process *p)
{
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (!strncmp(p->env[i], "HOME=", 5))
			return;
	_cleanup_free_ char *home = passwd_home(p->user.uid);
	_cleanup_free_ char *kv = xasprintf("HOME=%s", home);
	strv_push(&p->env, kv);
}
