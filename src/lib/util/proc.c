#include "util/proc.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool proc_is_threaded(void)
{
	/* procfs counts a task directory's links as 2 + its threads */
	struct stat st;
	if (stat("/proc/self/task", &st) < 0)
		return true; /* no /proc: assume the worst */
	return st.st_nlink > 3;
}

bool proc_sibling(const char *name, char *buf, size_t n)
{
	char exe[4096];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (k <= 0)
		return false;
	exe[k] = 0;
	char *sl = strrchr(exe, '/');
	if (!sl)
		return false;
	int w = snprintf(buf, n, "%.*s/%s", (int)(sl - exe), exe, name);
	return w > 0 && (size_t)w < n;
}
