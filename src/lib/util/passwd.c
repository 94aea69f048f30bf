#include "util/passwd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

bool passwd_find_uid(const char *path, uid_t uid, char **name, char **home)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool found = false;
	char line[1024];
	while (!found && fgets(line, sizeof(line), f)) {
		char *fields[7] = {0};
		char *p = line;
		int n = 0;
		/* strsep keeps empty fields (an empty password is common) */
		while (n < 7 && (fields[n] = strsep(&p, ":\n")) != NULL)
			n++;
		if (n < 6 || !*fields[2])
			continue;
		char *end;
		unsigned long v = strtoul(fields[2], &end, 10);
		if (*end || v != (unsigned long)uid)
			continue;
		found = true;
		if (name)
			*name = xstrdup(fields[0]);
		if (home)
			*home = xstrdup(fields[5]);
	}
	fclose(f);
	return found;
}
