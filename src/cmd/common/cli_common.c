#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "util/xalloc.h"

int cli_fail(int status, const berr *e)
{
	fprintf(stderr, "berth: %s\n", e->msg);
	return status;
}

int cli_failf(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("berth: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

int cli_globals(cli *c, int argc, char **argv)
{
	*c = (cli){.root = getenv("BERTH_ROOT"), .run_root = "/run/berth", .argv = argv};
	if (!c->root || !*c->root)
		c->root = "/var/lib/berth";
	const char *rr = getenv("BERTH_RUNROOT");
	if (rr && *rr)
		c->run_root = rr;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc)
			c->root = argv[++i];
		else if (!strncmp(argv[i], "--root=", 7))
			c->root = argv[i] + 7;
		else if (!strcmp(argv[i], "--debug"))
			c->debug = true;
		else
			break;
	}
	return i;
}

int cli_dispatch(cli *c, const cli_cmd *cmds, size_t n, int argc, char **argv)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(cmds[k].name, argv[0]))
			return cmds[k].fn(c, argc, argv);
	return cli_failf(125, "unknown command \"%s\" (see berth --help)", argv[0]);
}

char *cli_self_dir(void)
{
	char p[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", p, sizeof(p) - 1);
	if (n < 0)
		return xstrdup(".");
	p[n] = 0;
	char *s = strrchr(p, '/');
	if (s)
		*s = 0;
	return xstrdup(p);
}
