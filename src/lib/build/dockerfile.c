/* The Dockerfile's lines (see dockerfile.h): parser directives, line
 * continuations, heredoc bodies, and the stages. One pass over the bytes;
 * dockerfile_instr.c reads each instruction's own line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "build/buf.h"
#include "build/dockerfile_priv.h"
#include "util/cleanup.h"

typedef struct reader {
	const char *data;
	size_t len, pos;
	size_t line; /* of the last line read */
} reader;

/* The next physical line (without its "\n" or "\r\n") into *s / *n; false at
 * the end. -1 in *err for an over-long line or a NUL byte. */
static bool next_line(reader *r, const df_ctx *c, const char **s, size_t *n, int *err)
{
	*err = 0;
	if (r->pos >= r->len)
		return false;
	const char *p = r->data + r->pos;
	const char *nl = memchr(p, '\n', r->len - r->pos);
	size_t ll = nl ? (size_t)(nl - p) : r->len - r->pos;
	r->pos += ll + (nl != NULL);
	r->line++;
	if (ll > DF_MAX_LINE) {
		*err = df_perr(c, r->line, "line longer than %u bytes", DF_MAX_LINE);
		return true;
	}
	if (memchr(p, '\0', ll)) {
		*err = df_perr(c, r->line, "NUL byte in the line");
		return true;
	}
	if (r->line == 1 && ll >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3, ll -= 3; /* a UTF-8 byte order mark */
	if (ll && p[ll - 1] == '\r')
		ll--;
	*s = p;
	*n = ll;
	return true;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static size_t skip_blank(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

/* A parser directive line: `# key = value` (key [A-Za-z][A-Za-z0-9]*). */
static bool directive(const char *s, size_t n, char *key, size_t keysz, const char **val,
		      size_t *vlen)
{
	size_t i = skip_blank(s, n);
	if (i >= n || s[i] != '#')
		return false;
	i++;
	i += skip_blank(s + i, n - i);
	size_t ks = i;
	if (i >= n || !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))
		return false;
	while (i < n &&
	       (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9')))
		i++;
	size_t kl = i - ks;
	i += skip_blank(s + i, n - i);
	if (i >= n || s[i] != '=')
		return false;
	i++;
	i += skip_blank(s + i, n - i);
	size_t ve = n;
	while (ve > i && is_blank(s[ve - 1]))
		ve--;
	if (ve == i)
		return false;
	snprintf(key, keysz, "%.*s", (int)kl, s + ks);
	for (char *k = key; *k; k++)
		*k = (char)((*k >= 'A' && *k <= 'Z') ? *k + 32 : *k);
	*val = s + i;
	*vlen = ve - i;
	return true;
}

/* The directives at the top: consumed from r while they last. An unknown
 * one ends them (and is a comment), as the reference says. */
static int read_directives(reader *r, df_ctx *c, df_file *f)
{
	bool seen_escape = false;
	for (;;) {
		reader save = *r;
		const char *s;
		size_t n;
		int err;
		if (!next_line(r, c, &s, &n, &err))
			return 0;
		if (err)
			return -1;
		char key[16];
		const char *v;
		size_t vl;
		if (!directive(s, n, key, sizeof(key), &v, &vl) ||
		    (strcmp(key, "syntax") && strcmp(key, "escape") && strcmp(key, "check"))) {
			*r = save;
			return 0;
		}
		bool dup = !strcmp(key, "escape")   ? seen_escape
			   : !strcmp(key, "syntax") ? f->syntax != NULL
						    : f->check != NULL;
		if (dup)
			return df_perr(c, r->line, "only one %s parser directive can be used", key);
		if (!strcmp(key, "escape")) {
			if (vl != 1 || (v[0] != '\\' && v[0] != '`'))
				return df_perr(c, r->line,
					       "invalid escape token \"%.*s\" (it must be \\ or `)",
					       (int)(vl > 16 ? 16 : vl), v);
			c->escape = f->escape = v[0];
			seen_escape = true;
		} else if (!strcmp(key, "syntax")) {
			f->syntax = xstrndup(v, vl);
		} else {
			f->check = xstrndup(v, vl);
		}
	}
}

/* Without its trailing escape character (and blanks after it): a
 * continuation. */
static bool continued(const df_ctx *c, const char *s, size_t *n)
{
	size_t e = *n;
	while (e && is_blank(s[e - 1]))
		e--;
	if (e && s[e - 1] == c->escape) {
		*n = e - 1;
		return true;
	}
	return false;
}

static bool comment_or_empty(const char *s, size_t n, bool *comment)
{
	size_t i = skip_blank(s, n);
	*comment = i < n && s[i] == '#';
	return i == n || *comment;
}

/* The logical line starting at the physical line s: continuation lines
 * joined, comment and empty lines inside them skipped (as BuildKit does). */
static int read_logical(reader *r, const df_ctx *c, const char *s, size_t n, bbuf *out)
{
	size_t i = skip_blank(s, n);
	s += i, n -= i;
	bool more = continued(c, s, &n);
	bbuf_add(out, s, n);
	while (more) {
		int err;
		if (!next_line(r, c, &s, &n, &err))
			break; /* a continuation at the end: the line as it is */
		if (err)
			return -1;
		bool comment;
		if (comment_or_empty(s, n, &comment))
			continue;
		more = continued(c, s, &n);
		if (out->n + n > DF_MAX_BYTES)
			return df_perr(c, r->line, "instruction longer than %u bytes",
				       DF_MAX_BYTES);
		bbuf_add(out, s, n);
	}
	if (!out->p)
		bbuf_add(out, "", 0);
	return 0;
}

/* Each heredoc's body, in order: the lines up to its delimiter (those of
 * an ONBUILD's trigger too: `ONBUILD RUN <<EOF`). */
static int read_heredocs(reader *r, const df_ctx *c, df_instr *top)
{
	df_instr *in = top->onbuild ? top->onbuild : top;
	for (size_t h = 0; h < in->n_heredocs; h++) {
		df_heredoc *d = &in->heredocs[h];
		bbuf body = {0};
		bool done = false;
		const char *s;
		size_t n;
		int err;
		while (next_line(r, c, &s, &n, &err)) {
			if (err) {
				free(body.p);
				return -1;
			}
			if (d->strip_tabs)
				while (n && *s == '\t')
					s++, n--;
			if (n == strlen(d->name) && !memcmp(s, d->name, n)) {
				done = true;
				break;
			}
			bbuf_add(&body, s, n);
			bbuf_addc(&body, '\n');
		}
		if (!done) {
			free(body.p);
			return df_perr(c, r->line,
				       "unterminated heredoc \"%s\" (started at line %zu)", d->name,
				       in->line);
		}
		free(d->content);
		d->content = bbuf_take(&body);
	}
	in->end_line = top->end_line = r->line;
	return 0;
}

static void instrs_push(df_instr **v, size_t *n, const df_instr *in)
{
	if ((*n & (*n - 1)) == 0)
		*v = xreallocarray(*v, *n ? *n * 2 : 1, sizeof(**v));
	(*v)[(*n)++] = *in;
}

static void stage_free(df_stage *s)
{
	for (size_t i = 0; i < s->n_instrs; i++)
		df_instr_clear(&s->instrs[i]);
	free(s->instrs);
	free(s->image);
	free(s->name);
	free(s->platform);
}

void df_free(df_file *f)
{
	if (!f)
		return;
	free(f->syntax);
	free(f->check);
	for (size_t i = 0; i < f->n_global_args; i++)
		df_instr_clear(&f->global_args[i]);
	free(f->global_args);
	for (size_t i = 0; i < f->n_stages; i++)
		stage_free(&f->stages[i]);
	free(f->stages);
	free(f);
}

static const char *flag_value(const df_instr *in, const char *key)
{
	for (size_t i = 0; i < in->n_flags; i++)
		if (!strcmp(in->flags[i].key, key))
			return in->flags[i].value ? in->flags[i].value : "";
	return NULL;
}

/* Add a parsed instruction: a FROM opens a stage, an ARG before any is a
 * global arg, anything else before a FROM is an error. Takes *in. */
static int add_instr(df_file *f, const df_ctx *c, df_instr *in)
{
	if (in->kind == DF_FROM) {
		const char *name = in->n_args == 3 ? in->args[2] : NULL;
		if ((f->n_stages & (f->n_stages - 1)) == 0)
			f->stages = xreallocarray(f->stages, f->n_stages ? f->n_stages * 2 : 1,
						  sizeof(*f->stages));
		const char *plat = flag_value(in, "platform");
		f->stages[f->n_stages++] = (df_stage){
		    .image = xstrdup(in->args[0]),
		    .name = name ? xstrdup(name) : NULL,
		    .platform = plat ? xstrdup(plat) : NULL,
		};
	} else if (!f->n_stages) {
		if (in->kind != DF_ARG)
			return df_perr(
			    c, in->line,
			    "%s: instruction before FROM (only ARG may come before FROM)",
			    df_kind_name(in->kind));
		instrs_push(&f->global_args, &f->n_global_args, in);
		*in = (df_instr){0};
		return 0;
	}
	df_stage *st = &f->stages[f->n_stages - 1];
	instrs_push(&st->instrs, &st->n_instrs, in);
	*in = (df_instr){0};
	return 0;
}

static int parse_body(reader *r, df_ctx *c, df_file *f)
{
	const char *s;
	size_t n;
	int err;
	while (next_line(r, c, &s, &n, &err)) {
		if (err)
			return -1;
		bool comment;
		if (comment_or_empty(s, n, &comment))
			continue;
		size_t start = r->line;
		bbuf logical = {0};
		if (read_logical(r, c, s, n, &logical) < 0) {
			free(logical.p);
			return -1;
		}
		size_t i = 0;
		while (logical.p[i] && (is_blank(logical.p[i]) || logical.p[i] == '\n'))
			i++;
		if (!logical.p[i]) { /* only continuations */
			free(logical.p);
			continue;
		}
		if (f->n_instructions == DF_MAX_INSTRUCTIONS) {
			free(logical.p);
			return df_perr(c, start, "more than %u instructions", DF_MAX_INSTRUCTIONS);
		}
		df_instr in = {0};
		int rc = df_parse_instr(c, logical.p, start, false, &in);
		free(logical.p);
		if (rc == 0)
			rc = read_heredocs(r, c, &in);
		if (rc == 0)
			rc = add_instr(f, c, &in);
		if (rc < 0) {
			df_instr_clear(&in);
			return -1;
		}
		f->n_instructions++;
	}
	return 0;
}

static int by_name_then_line(const void *a, const void *b)
{
	const df_stage *x = *(const df_stage *const *)a, *y = *(const df_stage *const *)b;
	int r = strcmp(x->name, y->name);
	if (r)
		return r;
	return x->instrs[0].line < y->instrs[0].line ? -1 : x->instrs[0].line > y->instrs[0].line;
}

/* Two stages of one name: the first repeat (by line) is the error. Sorted,
 * so that 10,000 named stages are not 50 million comparisons. */
static int check_stage_names(const df_file *f, const df_ctx *c)
{
	_cleanup_free_ const df_stage **v = xreallocarray(NULL, f->n_stages + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < f->n_stages; i++)
		if (f->stages[i].name)
			v[n++] = &f->stages[i];
	qsort(v, n, sizeof(*v), by_name_then_line);
	const df_stage *dup = NULL;
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i]->name, v[i - 1]->name) &&
		    (!dup || v[i]->instrs[0].line < dup->instrs[0].line))
			dup = v[i];
	if (dup)
		return df_perr(c, dup->instrs[0].line, "duplicate stage name \"%s\"", dup->name);
	return 0;
}

df_file *df_parse(const char *data, size_t len, const char *name, berr *e)
{
	if (!name)
		name = "Dockerfile";
	if (len > DF_MAX_BYTES) {
		berr_set(e, 0, "%s: larger than %u bytes", name, DF_MAX_BYTES);
		return NULL;
	}
	df_file *f = xzalloc(sizeof(*f));
	f->escape = '\\';
	df_ctx c = {.name = name, .escape = '\\', .e = e};
	reader r = {.data = data, .len = len};
	if (read_directives(&r, &c, f) < 0 || parse_body(&r, &c, f) < 0 ||
	    check_stage_names(f, &c) < 0) {
		df_free(f);
		return NULL;
	}
	if (!f->n_stages) {
		berr_set(e, 0, "%s: no FROM instruction", name);
		df_free(f);
		return NULL;
	}
	return f;
}

const df_stage *df_stage_find(const df_file *f, const char *name)
{
	if (!f || !name || !*name)
		return NULL;
	for (size_t i = 0; i < f->n_stages; i++)
		if (f->stages[i].name && !strcasecmp(f->stages[i].name, name))
			return &f->stages[i];
	char *end;
	unsigned long idx = strtoul(name, &end, 10);
	if (*end || name[0] < '0' || name[0] > '9' || idx >= f->n_stages)
		return NULL;
	return &f->stages[idx];
}
