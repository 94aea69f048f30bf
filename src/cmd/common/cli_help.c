/* Help, man page and completion answers, made from a command's cli_doc and
 * its flag table (see cli_help.h). */
#include "cli_help.h"

#include <errno.h>
#include <string.h>

#define HELP_COL_MAX 34

static bool is_help_word(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "-help");
}

static bool defines_short(const flag_def *defs, char s)
{
	for (const flag_def *d = defs; d && d->name; d++)
		if (d->short_name == s)
			return true;
	return false;
}

static bool defines_long(const flag_def *defs, const char *n)
{
	for (const flag_def *d = defs; d && d->name; d++)
		if (!strcmp(d->name, n))
			return true;
	return false;
}

/* ---- help ---- */

/* "  -a, --all" / "      --time int": the left column of one flag. */
static int flag_left(char *buf, size_t n, const flag_def *d, bool runc)
{
	const char *arg = flags_arg_name(d);
	if (runc) {
		const char *v = d->type == FLAG_BOOL ? "" : " value";
		if (d->short_name)
			return snprintf(buf, n, "--%s%s, -%c%s", d->name, v, d->short_name, v);
		return snprintf(buf, n, "--%s%s", d->name, v);
	}
	if (d->short_name)
		return snprintf(buf, n, "-%c, --%s%s%s", d->short_name, d->name, *arg ? " " : "",
				arg);
	return snprintf(buf, n, "    --%s%s%s", d->name, *arg ? " " : "", arg);
}

static void print_flags(FILE *f, const flag_def *defs, bool runc)
{
	static const flag_def help_h = {"help", 'h', FLAG_BOOL, NULL, "Print this help"};
	static const flag_def help_only = {"help", 0, FLAG_BOOL, NULL, "Print this help"};
	const flag_def *help = defines_short(defs, 'h') ? &help_only : &help_h;
	int col = 0;
	char buf[128];
	for (const flag_def *d = defs; d && d->name; d++) {
		int w = flag_left(buf, sizeof(buf), d, runc);
		if (w > col)
			col = w;
	}
	int hw = flag_left(buf, sizeof(buf), help, runc);
	col = (hw > col ? hw : col) + 2;
	if (col > HELP_COL_MAX)
		col = HELP_COL_MAX;
	const char *indent = runc ? "   " : "  ";
	for (const flag_def *d = defs;; d++) {
		bool last = !d || !d->name;
		if (last && defines_long(defs, "help"))
			break;
		const flag_def *x = last ? help : d;
		int w = flag_left(buf, sizeof(buf), x, runc);
		fprintf(f, "%s%s", indent, buf);
		if (w + 1 >= col)
			fprintf(f, "\n%s%*s", indent, col, "");
		else
			fprintf(f, "%*s", col - w, "");
		fputs(x->help ? x->help : "", f);
		if (x->def)
			fprintf(f, runc ? " (default: %s)" : " (default %s)", x->def);
		fputc('\n', f);
		if (last)
			break;
	}
}

/* Text with '\n' ending paragraphs, each indented and wrapped at 80
 * columns (a word longer than a line stays whole). */
static void print_wrapped(FILE *f, const char *indent, const char *s)
{
	const int width = 80 - (int)strlen(indent);
	while (*s) {
		const char *nl = strchr(s, '\n');
		const char *end = nl ? nl : s + strlen(s);
		if (s == end)
			fputc('\n', f);
		while (s < end) {
			const char *brk = NULL, *p = s;
			for (; p < end && (p - s <= width || !brk); p++)
				if (*p == ' ')
					brk = p;
			if (p >= end)
				brk = end;
			fprintf(f, "%s%.*s\n", indent, (int)(brk - s), s);
			s = brk;
			while (s < end && *s == ' ')
				s++;
		}
		s = end + (nl != NULL);
	}
}

/* Lines as they are ('\n'-separated), each indented. */
static void print_indented(FILE *f, const char *indent, const char *s)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		fprintf(f, "%s%.*s\n", indent, (int)n, s);
		s += n + (nl != NULL);
	}
}

static void print_help_runc(FILE *f, const cli_prog *p, const cli_doc *d, const flag_def *defs,
			    const cli_sub *subs, size_t nsubs)
{
	const char *sp = *d->name ? " " : "";
	fprintf(f, "NAME:\n   %s%s%s - %s\n\n", p->name, sp, d->name, d->summary);
	fprintf(f, "USAGE:\n   %s%s%s %s\n\n", p->name, sp, d->name, d->usage);
	if (d->description) {
		fputs("DESCRIPTION:\n", f);
		print_wrapped(f, "   ", d->description);
		fputc('\n', f);
	}
	if (nsubs) {
		fputs("COMMANDS:\n", f);
		for (size_t k = 0; k < nsubs; k++)
			fprintf(f, "   %-10s %s\n", subs[k].name, subs[k].summary);
		fputc('\n', f);
	}
	fputs(*d->name ? "OPTIONS:\n" : "GLOBAL OPTIONS:\n", f);
	print_flags(f, defs, true);
	if (d->examples) {
		fputs("\nEXAMPLES:\n", f);
		print_indented(f, "   ", d->examples);
	}
}

void cli_print_help(FILE *f, const cli_prog *p, const cli_doc *d, const flag_def *defs,
		    const cli_sub *subs, size_t nsubs)
{
	if (p->runc_style) {
		print_help_runc(f, p, d, defs, subs, nsubs);
		return;
	}
	const char *sp = *d->name ? " " : "";
	fprintf(f, "Usage:  %s%s%s %s\n\n%s\n", p->name, sp, d->name, d->usage, d->summary);
	if (d->description) {
		fputc('\n', f);
		print_wrapped(f, "", d->description);
	}
	if (nsubs) {
		fputs("\nCommands:\n", f);
		for (size_t k = 0; k < nsubs; k++)
			fprintf(f, "  %-10s %s\n", subs[k].name, subs[k].summary);
	}
	fputs(*d->name ? "\nOptions:\n" : "\nGlobal Options:\n", f);
	print_flags(f, defs, false);
	if (d->examples) {
		fputs("\nExamples:\n", f);
		print_indented(f, "  ", d->examples);
	}
	if (nsubs)
		fprintf(f, "\nRun '%s%s%s COMMAND --help' for more information on a command.\n",
			p->name, sp, d->name);
}

void cli_see_help(FILE *f, const cli_prog *p, const cli_doc *d)
{
	fprintf(f, "See '%s%s%s --help'.\n", p->name, *d->name ? " " : "", d->name);
}

/* ---- man ---- */

/* Text for roff: backslashes and dashes escaped, a line never starting with
 * a control character; '\n' starts a new paragraph when para is set. */
static void roff(FILE *f, const char *s, bool para)
{
	bool bol = true;
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = false;
		switch (*s) {
		case '\\':
			fputs("\\e", f);
			break;
		case '-':
			fputs("\\-", f);
			break;
		case '\n':
			fputs(para && s[1] ? "\n.PP\n" : "\n", f);
			bol = true;
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void man_upper(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ' ' ? '-' : *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s, f);
}

/* "berth\-volume\-rm": the page's name, the command's words joined by dashes. */
static void man_name(FILE *f, const cli_prog *p, const cli_doc *d)
{
	roff(f, p->name, false);
	if (*d->name)
		fputs("\\-", f);
	for (const char *s = d->name; *s; s++)
		if (*s == ' ')
			fputs("\\-", f);
		else
			fputc(*s, f);
}

static void man_flag(FILE *f, const flag_def *d)
{
	fputs(".TP\n", f);
	if (d->short_name)
		fprintf(f, "\\fB\\-%c\\fR, ", d->short_name);
	fputs("\\fB\\-\\-", f);
	roff(f, d->name, false);
	fputs("\\fR", f);
	const char *arg = flags_arg_name(d);
	if (*arg) {
		fputs(" \\fI", f);
		roff(f, arg, false);
		fputs("\\fR", f);
	}
	fputc('\n', f);
	roff(f, d->help ? d->help : "", false);
	if (d->def) {
		fputs(" (default: ", f);
		roff(f, d->def, false);
		fputc(')', f);
	}
	fputc('\n', f);
}

void cli_print_man(FILE *f, const cli_prog *p, const cli_doc *d, const flag_def *defs,
		   const cli_sub *subs, size_t nsubs)
{
	fputs(".TH \"", f);
	man_upper(f, p->name);
	if (*d->name) {
		fputc('-', f);
		man_upper(f, d->name);
	}
	fprintf(f, "\" \"%d\" \"\" \"%s\" \"%s\"\n", p->man_section, p->name, p->title);
	fputs(".SH NAME\n", f);
	man_name(f, p, d);
	fputs(" \\- ", f);
	roff(f, d->summary, false);
	fputs("\n.SH SYNOPSIS\n.B ", f);
	roff(f, p->name, false);
	if (*d->name) {
		fputc(' ', f);
		roff(f, d->name, false);
	}
	fputc('\n', f);
	roff(f, d->usage, false);
	fputs("\n.SH DESCRIPTION\n", f);
	roff(f, d->summary, false);
	fputs(".\n", f);
	if (d->description) {
		fputs(".PP\n", f);
		roff(f, d->description, true);
		if (d->description[strlen(d->description) - 1] != '\n')
			fputc('\n', f);
	}
	if (nsubs) {
		fputs(".SH COMMANDS\n", f);
		for (size_t k = 0; k < nsubs; k++) {
			fputs(".TP\n\\fB", f);
			roff(f, subs[k].name, false);
			fputs("\\fR\n", f);
			roff(f, subs[k].summary, false);
			fputs(".\n", f);
		}
	}
	fputs(*d->name ? ".SH OPTIONS\n" : ".SH GLOBAL OPTIONS\n", f);
	for (const flag_def *x = defs; x && x->name; x++)
		man_flag(f, x);
	const flag_def help = {"help", defines_short(defs, 'h') ? 0 : 'h', FLAG_BOOL, NULL,
			       "Print the help of the command and exit."};
	if (!defines_long(defs, "help"))
		man_flag(f, &help);
	if (d->examples) {
		fputs(".SH EXAMPLES\n.PP\n.RS 4\n.nf\n", f);
		roff(f, d->examples, false);
		fputs("\n.fi\n.RE\n", f);
	}
	fputs(".SH SEE ALSO\n", f);
	if (*d->name) {
		fputs(".BR ", f);
		roff(f, p->name, false);
		fprintf(f, " (%d)\n", p->man_section);
	} else {
		fputs("The page of each command, e.g.\n.BR ", f);
		roff(f, p->name, false);
		fprintf(f, "\\-%s (%d).\n", nsubs ? subs[0].name : "help", p->man_section);
	}
}

/* ---- completion ---- */

static bool prefix(const char *s, const char *cur)
{
	return !strncmp(s, cur, strlen(cur));
}

void cli_complete_flags(FILE *f, const flag_def *defs, const char *cur)
{
	for (const flag_def *d = defs; d && d->name; d++) {
		char buf[96];
		snprintf(buf, sizeof(buf), "--%s", d->name);
		if (prefix(buf, cur))
			fprintf(f, "%s\n", buf);
		snprintf(buf, sizeof(buf), "-%c", d->short_name);
		if (d->short_name && prefix(buf, cur) && *cur)
			fprintf(f, "%s\n", buf);
	}
	if (!defines_long(defs, "help") && prefix("--help", cur))
		fputs("--help\n", f);
	if (!defines_short(defs, 'h') && !defines_long(defs, "help") && *cur && prefix("-h", cur))
		fputs("-h\n", f);
}

void cli_complete_subs(FILE *f, const cli_sub *subs, size_t n, const char *cur)
{
	for (size_t k = 0; k < n; k++)
		if (prefix(subs[k].name, cur))
			fprintf(f, "%s\n", subs[k].name);
}

static bool names_a_path(const char *arg)
{
	return arg && (strstr(arg, "FILE") || strstr(arg, "DIR") || strstr(arg, "PATH"));
}

/* The last word of argv is the one being completed. */
static void complete_leaf(const cli_ui *u, const cli_doc *d, const flag_def *defs, int argc,
			  char **argv)
{
	const char *cur = argc > 1 ? argv[argc - 1] : "";
	const flag_def *pending = NULL;
	int npos = 0;
	bool ddash = false;
	for (int k = 1; k < argc - 1; k++) {
		const char *a = argv[k];
		bool inl;
		if (pending) {
			pending = NULL;
		} else if (npos > 0 || ddash) {
			npos++;
		} else if (!strcmp(a, "--")) {
			ddash = true;
		} else if (a[0] == '-' && a[1]) {
			const flag_def *x = flags_lookup(defs ? defs : &(flag_def){0}, a, &inl);
			if (x && x->type != FLAG_BOOL && !inl)
				pending = x;
		} else {
			npos++;
		}
	}
	if (pending) {
		if (names_a_path(pending->arg))
			puts(":files");
		return;
	}
	if (!npos && !ddash && cur[0] == '-') {
		cli_complete_flags(stdout, defs, cur);
		return;
	}
	enum cli_args kind = d->args;
	if (kind == CLI_ARGS_CONTAINER_CMD || kind == CLI_ARGS_IMAGE_CMD) {
		if (npos > 0) {
			puts(":files");
			return;
		}
		kind = kind == CLI_ARGS_CONTAINER_CMD ? CLI_ARGS_CONTAINERS : CLI_ARGS_IMAGES;
	}
	if (kind == CLI_ARGS_FILES)
		puts(":files");
	else if (kind != CLI_ARGS_NONE && u->complete)
		u->complete(u->opaque, kind, cur);
}

/* ---- the entry points ---- */

int cli_leaf(const cli_ui *u, const cli_doc *d, const flag_def *defs, int argc, char **argv,
	     berr *e)
{
	static const flag_def none[] = {{0}};
	const flag_def *t = defs ? defs : none;
	switch (u->mode) {
	case CLI_HELP:
		cli_print_help(stdout, u->prog, d, defs, NULL, 0);
		return CLI_DONE;
	case CLI_MAN:
		cli_print_man(stdout, u->prog, d, defs, NULL, 0);
		return CLI_DONE;
	case CLI_COMPLETE:
		complete_leaf(u, d, defs, argc, argv);
		return CLI_DONE;
	case CLI_RUN:
	case CLI_PARSE:
		break;
	}
	int i = flags_parse(t, argc, argv, 1, e);
	if (i == FLAGS_HELP) {
		cli_print_help(stdout, u->prog, d, defs, NULL, 0);
		return CLI_DONE;
	}
	if (i < 0)
		return CLI_BAD;
	return u->mode == CLI_PARSE ? CLI_DONE : i;
}

int cli_parent(const cli_ui *u, const cli_doc *d, const cli_sub *subs, size_t nsubs, int argc,
	       char **argv, berr *e)
{
	if (u->mode == CLI_COMPLETE && argc <= 2) {
		const char *cur = argc == 2 ? argv[1] : "";
		if (cur[0] == '-')
			cli_complete_flags(stdout, NULL, cur);
		else
			cli_complete_subs(stdout, subs, nsubs, cur);
		return CLI_DONE;
	}
	if (argc < 2 || is_help_word(argv[1])) {
		if (u->mode == CLI_MAN)
			cli_print_man(stdout, u->prog, d, NULL, subs, nsubs);
		else
			cli_print_help(stdout, u->prog, d, NULL, subs, nsubs);
		return CLI_DONE;
	}
	for (size_t k = 0; k < nsubs; k++)
		if (!strcmp(subs[k].name, argv[1]))
			return 1;
	if (argv[1][0] == '-')
		return berr_set(e, EINVAL, "unknown flag: %s", argv[1]);
	return berr_set(e, EINVAL, "%s: unknown command \"%s\"", d->name, argv[1]);
}
