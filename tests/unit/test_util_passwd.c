/* util/passwd: the runtime's NSS-free uid lookup (the owner in state.json,
 * HOME of the container's user, the rootless store's default under HOME),
 * and the other small helpers this file's neighbours added: util/timefmt
 * and fs_close_all_but. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "util/fs.h"
#include "util/passwd.h"
#include "util/timefmt.h"

static char path[64];

static void write_passwd(const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void test_lookup(void)
{
	snprintf(path, sizeof(path), "/tmp/berth-passwd-%d", (int)getpid());
	write_passwd("# a comment line\n"
		     "root:x:0:0:root:/root:/bin/sh\n"
		     "nopw::1000:1000::/home/nopw:/bin/sh\n" /* empty password and gecos */
		     "bad:x:12x:1:bad:/nowhere:/bin/sh\n"    /* not a number: no match */
		     "short:x:7\n"			     /* too few fields */
		     "nohome:x:33:33:www:\n"		     /* empty home */
		     "dup:x:1000:1000::/home/second:/bin/sh\n");
	char *name = NULL, *home = NULL;
	CHECK(passwd_find_uid(path, 0, &name, &home));
	CHECK_STREQ(name, "root");
	CHECK_STREQ(home, "/root");
	free(name);
	free(home);
	name = home = NULL;
	CHECK(passwd_find_uid(path, 1000, &name, &home)); /* the first entry wins */
	CHECK_STREQ(name, "nopw");
	CHECK_STREQ(home, "/home/nopw");
	free(name);
	free(home);
	home = NULL;
	CHECK(passwd_find_uid(path, 33, NULL, &home));
	CHECK_STREQ(home, "");
	free(home);
	CHECK(!passwd_find_uid(path, 12, NULL, NULL)); /* "12x" is not 12 */
	CHECK(!passwd_find_uid(path, 7, NULL, NULL));  /* no home field at all */
	CHECK(!passwd_find_uid(path, 4242, NULL, NULL));
	unlink(path);
	CHECK(!passwd_find_uid(path, 0, NULL, NULL)); /* no file */
}

static void test_rfc3339(void)
{
	char *s = time_rfc3339(0);
	CHECK_STREQ(s, "1970-01-01T00:00:00Z");
	free(s);
	s = time_rfc3339(1796655180); /* 2026-12-07T14:53:00Z */
	CHECK_STREQ(s, "2026-12-07T14:53:00Z");
	free(s);
}

static void test_close_all_but(void)
{
	int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int gone[3];
	for (int i = 0; i < 3; i++)
		gone[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(keep >= 3 && gone[2] > keep);
	pid_t p = fork();
	if (p == 0) {
		int k[3] = {-1, keep, 1}; /* negatives and stdio are ignored */
		fs_close_all_but(k, 3);
		bool ok = fcntl(keep, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0;
		for (int i = 0; i < 3; i++)
			ok = ok && fcntl(gone[i], F_GETFD) < 0;
		_exit(ok ? 0 : 1);
	}
	int st;
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(keep);
	for (int i = 0; i < 3; i++)
		close(gone[i]);
}

CHECK_MAIN(test_lookup, test_rfc3339, test_close_all_but)
