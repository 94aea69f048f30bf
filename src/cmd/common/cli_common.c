#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "util/cleanup.h"
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

const cli_prog cli_berth_prog = {"berth", "berth Manual", 1, false};

void cli_global_defs(cli *c, flag_def defs[CLI_NGLOBAL])
{
	defs[0] = (flag_def){"root",
			     0,
			     FLAG_STRING,
			     &c->root,
			     "Root of the store (also $BERTH_ROOT)",
			     "DIR",
			     "/var/lib/berth"};
	defs[1] = (flag_def){"debug", 0, FLAG_BOOL, &c->debug, "Print debug messages"};
	defs[2] = (flag_def){"version", 'v', FLAG_BOOL, &c->version,
			     "Print version information and quit"};
	defs[3] = (flag_def){0};
}

static int globals(cli *c, int argc, char **argv, int i)
{
	flag_def defs[CLI_NGLOBAL];
	cli_global_defs(c, defs);
	berr e = {0};
	int k = flags_parse(defs, argc, argv, i, &e);
	if (k == FLAGS_HELP) {
		c->help = true;
		return argc;
	}
	if (k < 0 && c->ui.mode != CLI_COMPLETE) {
		cli_fail(125, &e);
		fputs("See 'berth --help'.\n", stderr);
	}
	return k;
}

int cli_front(cli *c, int argc, char **argv)
{
	*c = (cli){.root = getenv("BERTH_ROOT"),
		   .run_root = "/run/berth",
		   .argv = argv,
		   .ui = {.prog = &cli_berth_prog}};
	if (!c->root || !*c->root)
		c->root = "/var/lib/berth";
	const char *rr = getenv("BERTH_RUNROOT");
	if (rr && *rr)
		c->run_root = rr;
	cli_rootless_defaults(c);
	int i = globals(c, argc, argv, 1);
	if (i < 0 || i >= argc)
		return i;
	static const struct {
		const char *word;
		enum cli_mode mode;
	} meta[] = {{"help", CLI_HELP},
		    {"__complete", CLI_COMPLETE},
		    {"__man", CLI_MAN},
		    {"__parse", CLI_PARSE},
		    {"__commands", CLI_COMPLETE}};
	for (size_t k = 0; k < ARRAY_SIZE(meta); k++) {
		if (strcmp(argv[i], meta[k].word))
			continue;
		c->ui.mode = meta[k].mode;
		c->commands_only = !strcmp(meta[k].word, "__commands");
		i++;
		if (meta[k].mode == CLI_COMPLETE) {
			/* the word being completed is no global flag yet */
			int g = globals(c, argc - 1, argv, i);
			i = g < 0 ? argc - 1 : g;
		}
		if (i >= argc && meta[k].mode != CLI_COMPLETE)
			c->help = true;
		break;
	}
	return i;
}

int cli_dispatch(cli *c, const cli_cmd *cmds, size_t n, int argc, char **argv)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(cmds[k].name, argv[0]))
			return cmds[k].fn(c, argc, argv);
	if (c->ui.mode == CLI_COMPLETE)
		return 0;
	return cli_failf(125, "unknown command \"%s\" (see berth --help)", argv[0]);
}

int cli_flags(cli *c, const cli_doc *d, const flag_def *defs, int argc, char **argv, int *status)
{
	berr e = {0};
	int i = cli_leaf(&c->ui, d, defs, argc, argv, &e);
	if (i >= 0)
		return i;
	if (i == CLI_DONE) {
		*status = 0;
		return -1;
	}
	*status = cli_fail(125, &e);
	cli_see_help(stderr, c->ui.prog, d);
	return -1;
}

size_t cli_subs_of(const cli_cmd *cmds, size_t n, cli_sub out[CLI_MAX_SUBS])
{
	size_t k = 0;
	for (; k < n && k < CLI_MAX_SUBS; k++)
		out[k] = (cli_sub){cmds[k].name, cmds[k].help};
	return k;
}

int cli_subcommands(cli *c, const cli_doc *d, const cli_cmd *cmds, size_t n, int argc, char **argv)
{
	cli_sub subs[CLI_MAX_SUBS];
	size_t ns = cli_subs_of(cmds, n, subs);
	berr e = {0};
	int i = cli_parent(&c->ui, d, subs, ns, argc, argv, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0) {
		cli_fail(125, &e);
		cli_see_help(stderr, c->ui.prog, d);
		return 125;
	}
	return cli_dispatch(c, cmds, n, argc - i, argv + i);
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
