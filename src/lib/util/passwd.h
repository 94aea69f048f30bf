/* Looking a uid up in a passwd file, without NSS: the runtime is linked
 * statically, where glibc's getpwuid would dlopen the host's NSS modules
 * (and runc reads /etc/passwd directly too). */
#ifndef BERTH_UTIL_PASSWD_H
#define BERTH_UTIL_PASSWD_H

#include <stdbool.h>
#include <sys/types.h>

/* The first entry for uid in the file at path (opened as the caller sees
 * it: the host's, or the container's after pivot_root). On a match *name and
 * *home (either may be NULL) get malloc'd copies of its fields and it
 * returns true; false if the file is missing or has no such uid. */
bool passwd_find_uid(const char *path, uid_t uid, char **name, char **home);

#endif
