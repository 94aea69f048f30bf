/* Mount options -> mount(2) flags, propagation and data, as runc does
 * (libcontainer/specconv parseMountOptions). */
#include <string.h>
#include <sys/mount.h>

#include "spec/spec_internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} flag_opts[] = {
    {"acl", false, MS_POSIXACL},
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noacl", true, MS_POSIXACL},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"sync", false, MS_SYNCHRONOUS},
};

static const struct {
	const char *name;
	unsigned long flag;
} prop_opts[] = {
    {"private", MS_PRIVATE},	   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},	   {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},	   {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

unsigned long sp_propagation_flag(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(prop_opts); i++)
		if (!strcmp(prop_opts[i].name, name))
			return prop_opts[i].flag;
	return 0;
}

static void append_data(char **data, const char *opt)
{
	if (!*data) {
		*data = xstrdup(opt);
		return;
	}
	char *n = xasprintf("%s,%s", *data, opt);
	free(*data);
	*data = n;
}

int sp_mount_options(sctx *c, const char *path, spec_mount *m)
{
	(void)c;
	(void)path;
	m->flags = m->clear_flags = m->propagation = 0;
	free(m->data);
	m->data = NULL;
	m->rro = false;
	for (char **o = m->options; o && *o; o++) {
		bool done = false;
		for (size_t i = 0; i < ARRAY_SIZE(flag_opts) && !done; i++) {
			if (strcmp(flag_opts[i].name, *o))
				continue;
			if (flag_opts[i].clear) {
				m->flags &= ~flag_opts[i].flag;
				m->clear_flags |= flag_opts[i].flag;
			} else {
				m->flags |= flag_opts[i].flag;
				m->clear_flags &= ~flag_opts[i].flag;
			}
			done = true;
		}
		if (done)
			continue;
		unsigned long p = sp_propagation_flag(*o);
		if (p) {
			m->propagation = p; /* the last one wins */
			continue;
		}
		if (!strcmp(*o, "rro")) {
			m->rro = true;
			continue;
		}
		if (!strcmp(*o, "rrw")) {
			m->rro = false;
			continue;
		}
		append_data(&m->data, *o);
	}
	if (m->flags & MS_BIND)
		m->bind = true;
	if (m->type && !strcmp(m->type, "bind")) {
		m->bind = true;
		m->flags |= MS_BIND;
	}
	return 0;
}

const char *sp_mount_option_name(size_t i)
{
	static const char *const extra[] = {"rro", "rrw"};
	if (i < ARRAY_SIZE(flag_opts))
		return flag_opts[i].name;
	i -= ARRAY_SIZE(flag_opts);
	if (i < ARRAY_SIZE(prop_opts))
		return prop_opts[i].name;
	i -= ARRAY_SIZE(prop_opts);
	return i < ARRAY_SIZE(extra) ? extra[i] : NULL;
}
