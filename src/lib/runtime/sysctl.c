#include "runtime/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb",	 "kernel.msgmni",
				       "kernel.sem",	"kernel.shmall",	 "kernel.shmmax",
				       "kernel.shmmni", "kernel.shm_rmid_forced"};

static bool own_ns(const spec *s, enum spec_ns ns)
{
	return s->linux_.ns[ns].present;
}

int sysctl_validate(const spec *s, berr *e)
{
	for (size_t i = 0; i < s->linux_.n_sysctl; i++) {
		const char *k = s->linux_.sysctl[i].key;
		bool ok = false;
		for (size_t j = 0; j < ARRAY_SIZE(ipc_keys); j++)
			if (!strcmp(k, ipc_keys[j]))
				ok = own_ns(s, NS_IPC);
		if (!strncmp(k, "fs.mqueue.", 10))
			ok = own_ns(s, NS_IPC);
		else if (!strncmp(k, "net.", 4))
			ok = own_ns(s, NS_NET);
		else if (!strcmp(k, "kernel.hostname") || !strcmp(k, "kernel.domainname"))
			ok = own_ns(s, NS_UTS);
		if (strstr(k, "..") || k[0] == '/' || k[0] == '.')
			return berr_set(e, EINVAL, "linux.sysctl: invalid key \"%s\"", k);
		if (!ok)
			return berr_set(
			    e, EINVAL,
			    "linux.sysctl: \"%s\" is not in a namespace the container owns", k);
	}
	return 0;
}

int sysctl_apply(const spec *s, berr *e)
{
	if (s->linux_.n_sysctl == 0)
		return 0;
	_cleanup_close_ int proc = open("/proc/sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (proc < 0)
		return berr_sys(e, "linux.sysctl: open /proc/sys (is /proc mounted?)");
	struct statfs sf;
	if (fstatfs(proc, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return berr_set(e, EPERM, "linux.sysctl: /proc/sys is not procfs");
	for (size_t i = 0; i < s->linux_.n_sysctl; i++) {
		_cleanup_free_ char *rel = xstrdup(s->linux_.sysctl[i].key);
		for (char *p = rel; *p; p++)
			if (*p == '.')
				*p = '/';
		struct open_how how = {.flags = O_WRONLY | O_CLOEXEC,
				       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
						  RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
		_cleanup_close_ int fd = (int)syscall(SYS_openat2, proc, rel, &how, sizeof(how));
		if (fd < 0)
			return berr_sys(e, "linux.sysctl: %s", s->linux_.sysctl[i].key);
		const char *v = s->linux_.sysctl[i].value;
		if (write(fd, v, strlen(v)) < 0)
			return berr_sys(e, "linux.sysctl: write %s=%s", s->linux_.sysctl[i].key, v);
	}
	return 0;
}
