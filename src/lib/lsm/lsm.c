/* AppArmor / SELinux exec labels and the SELinux mount label. */
#include "lsm/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm/procfs.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static bool exists_at(int dirfd, const char *path)
{
	struct stat st;
	return fstatat(dirfd, path, &st, 0) == 0;
}

void lsm_detect_at(const char *sysfs, lsm_host *out)
{
	*out = (lsm_host){0};
	_cleanup_close_ int dir = open(sysfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	if (exists_at(dir, "kernel/security/apparmor")) {
		_cleanup_close_ int fd =
		    openat(dir, "module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
		char c = 0;
		out->apparmor = fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
	}
	out->selinux = exists_at(dir, "fs/selinux/enforce");
}

void lsm_detect(lsm_host *out)
{
	lsm_detect_at("/sys", out);
}

static void warnf(char ***warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(char ***warnings, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (warnings)
		strv_push(warnings, buf);
}

int lsm_apply_exec_label_at(int procfd, const lsm_host *h, const char *apparmor_profile,
			    const char *selinux_label, char ***warnings, berr *e)
{
	if (apparmor_profile && *apparmor_profile) {
		if (!h->apparmor) {
			warnf(warnings,
			      "apparmor profile \"%s\" requested but AppArmor is not enabled on "
			      "this host",
			      apparmor_profile);
		} else {
			_cleanup_free_ char *v = xasprintf("exec %s", apparmor_profile);
			/* The per-LSM file (Linux 5.8+) first: with several LSMs
			 * stacked, attr/exec may belong to another one. */
			int rc = procfs_write_at(procfd, "thread-self/attr/apparmor/exec", v, e);
			if (rc < 0 && e->errnum == ENOENT) /* kernel before 5.8 */
				rc = procfs_write_at(procfd, "thread-self/attr/exec", v, e);
			if (rc < 0)
				return berr_ctx(e, "apparmor profile \"%s\"", apparmor_profile);
		}
	}
	if (selinux_label && *selinux_label) {
		if (!h->selinux) {
			warnf(warnings,
			      "selinux label \"%s\" requested but SELinux is not enabled on this "
			      "host",
			      selinux_label);
		} else if (procfs_write_at(procfd, "thread-self/attr/exec", selinux_label, e) < 0) {
			return berr_ctx(e, "selinux label \"%s\"", selinux_label);
		}
	}
	return 0;
}

int lsm_apply_exec_label(const char *apparmor_profile, const char *selinux_label, char ***warnings,
			 berr *e)
{
	lsm_host h;
	lsm_detect(&h);
	bool aa = apparmor_profile && *apparmor_profile && h.apparmor;
	bool se = selinux_label && *selinux_label && h.selinux;
	if (!aa && !se) /* nothing to write: no procfs needed, just warnings */
		return lsm_apply_exec_label_at(-1, &h, apparmor_profile, selinux_label, warnings,
					       e);
	_cleanup_close_ int procfd = procfs_root_open(e);
	if (procfd < 0)
		return -1;
	return lsm_apply_exec_label_at(procfd, &h, apparmor_profile, selinux_label, warnings, e);
}

char *lsm_set_mount_label(const char *data, const char *mount_label, const lsm_host *h)
{
	if (!mount_label || !*mount_label || !h->selinux)
		return data ? xstrdup(data) : NULL;
	if (!data || !*data)
		return xasprintf("context=\"%s\"", mount_label);
	return xasprintf("%s,context=\"%s\"", data, mount_label);
}
