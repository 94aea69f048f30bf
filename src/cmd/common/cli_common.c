#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "util/xalloc.h"

/* Length of the UTF-8 sequence at p (0 if it is not a valid one). */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (p[0] >= 0xf5)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

void cli_print_clean(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p >= 0x20 && *p < 0x7f) {
			fputc(*p++, f);
			continue;
		}
		size_t n = *p >= 0x80 ? utf8_len(p) : 0;
		/* U+0080..U+009F are the C1 controls (0xc2 0x80..0x9f) */
		if (n > 0 && !(n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		if (n == 2) { /* a C1 control */
			fprintf(f, "\\u%04x", p[1]);
			p += 2;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			fprintf(f, "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
			p++;
		} else { /* C0, DEL, ESC, a byte that is no UTF-8 */
			fprintf(f, "\\x%02x", *p++);
		}
	}
}

int cli_fail(int status, const berr *e)
{
	fputs("berth: ", stderr);
	cli_print_clean(stderr, e->msg);
	fputc('\n', stderr);
	return status;
}

int cli_failf(int status, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("berth: ", stderr);
	cli_print_clean(stderr, msg);
	fputc('\n', stderr);
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
