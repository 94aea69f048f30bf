/* Dockerfiles and .dockerignore files from a build context (anyone who can
 * hand berth a context: the build's input is outside input). The bytes go to
 * the Dockerfile parser, every word of an instruction that gets substitution
 * through build/subst, and the same bytes to the .dockerignore matcher with
 * each line as a path. Properties: a parsed file has a FROM first in every
 * stage, increasing line numbers inside the input, counted vectors that are
 * NULL-terminated; an error is one non-empty line; a word without `$`,
 * quotes or escapes expands to itself; a literal ignore pattern (without
 * exceptions around) excludes its own path. */
#include "build/dockerfile.h"
#include "build/ignore.h"
#include "build/subst.h"
#include "fuzz.h"
#include "util/cleanup.h"

static void check_err(const berr *e, const char *what)
{
	if (!e->msg[0] || strchr(e->msg, '\n'))
		fuzz_die(what, e);
}

static void expand(const char *w, char esc, char **env)
{
	berr e = {0};
	char *r = subst_word(w, esc, subst_env_lookup, env, &e);
	if (!r) {
		check_err(&e, "subst_word failed without a message");
	} else if (!strpbrk(w, "$'\"\\`") && strcmp(r, w)) {
		fuzz_die("a plain word changed in substitution", NULL);
	}
	free(r);
	char **v = subst_words(w, esc, subst_env_lookup, env, &e);
	if (!v)
		check_err(&e, "subst_words failed without a message");
	for (size_t i = 0; v && v[i]; i++)
		if (!v[i][0])
			fuzz_die("subst_words made an empty word", NULL);
	strv_free(v);
}

static void check_instr(const df_instr *in, size_t lines, char esc, char **env)
{
	if (in->line < 1 || in->end_line < in->line || in->end_line > lines)
		fuzz_die("an instruction's lines are outside the input", NULL);
	if (!in->original || !in->original[0] || !in->args || in->args[in->n_args])
		fuzz_die("an instruction without text or a NULL-terminated args", NULL);
	for (size_t i = 0; i < in->n_args; i++)
		if (!in->args[i])
			fuzz_die("a NULL argument inside the count", NULL);
	for (size_t i = 0; i < in->n_heredocs; i++)
		if (!in->heredocs[i].name[0] || !in->heredocs[i].content)
			fuzz_die("a heredoc without a name or content", NULL);
	if (in->kind == DF_ONBUILD &&
	    (!in->onbuild || in->onbuild->kind == DF_ONBUILD || in->onbuild->kind == DF_FROM))
		fuzz_die("ONBUILD without a valid trigger", NULL);
	if (!df_kind_expands(in->kind))
		return;
	for (size_t i = 0; i < in->n_args; i++)
		expand(in->args[i], esc, env);
	for (size_t i = 0; i < in->n_pairs; i++)
		if (in->pairs[i].value)
			expand(in->pairs[i].value, esc, env);
	for (size_t i = 0; i < in->n_flags; i++)
		if (in->flags[i].value)
			expand(in->flags[i].value, esc, env);
}

static void fuzz_dockerfile(const uint8_t *data, size_t size)
{
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	char *env[] = {"A=1", "B=a b", "EMPTY=", "PATH=/usr/bin:/bin", NULL};
	berr e = {0};
	df_file *f = df_parse((const char *)data, size, "Dockerfile", &e);
	if (!f) {
		check_err(&e, "df_parse failed without a message");
		return;
	}
	if (!f->n_stages || (f->escape != '\\' && f->escape != '`'))
		fuzz_die("a parsed Dockerfile without a stage or with a bad escape", NULL);
	size_t count = f->n_global_args, last = 0;
	for (size_t i = 0; i < f->n_global_args; i++) {
		if (f->global_args[i].kind != DF_ARG)
			fuzz_die("a global arg that is no ARG", NULL);
		check_instr(&f->global_args[i], lines, f->escape, env);
		last = f->global_args[i].end_line;
	}
	for (size_t s = 0; s < f->n_stages; s++) {
		const df_stage *st = &f->stages[s];
		if (!st->n_instrs || st->instrs[0].kind != DF_FROM || !st->image)
			fuzz_die("a stage that does not start with FROM", NULL);
		if (st->name && df_stage_find(f, st->name) != st)
			fuzz_die("a stage not found by its name", NULL);
		for (size_t i = 0; i < st->n_instrs; i++) {
			if (i && st->instrs[i].kind == DF_FROM)
				fuzz_die("a FROM inside a stage", NULL);
			if (st->instrs[i].line <= last)
				fuzz_die("line numbers do not increase", NULL);
			last = st->instrs[i].end_line;
			check_instr(&st->instrs[i], lines, f->escape, env);
		}
		count += st->n_instrs;
	}
	if (count != f->n_instructions || count > DF_MAX_INSTRUCTIONS)
		fuzz_die("the instruction count is wrong", NULL);
	df_free(f);
}

static bool literal(const char *p)
{
	return *p && strcmp(p, ".") && p[0] != '/' && !strpbrk(p, "*?[]\\!");
}

static void fuzz_ignore(const uint8_t *data, size_t size)
{
	berr e = {0};
	ignore_matcher *m = ignore_parse((const char *)data, size, ".dockerignore", &e);
	if (!m) {
		check_err(&e, "ignore_parse failed without a message");
		return;
	}
	bool exceptions = false;
	for (size_t i = 0; i < ignore_count(m); i++)
		exceptions |= ignore_pattern(m, i)[0] == '!';
	for (size_t i = 0; i < ignore_count(m); i++) {
		const char *p = ignore_pattern(m, i);
		if (!exceptions && literal(p) && !ignore_match(m, p, false))
			fuzz_die("a literal pattern does not exclude its own path", NULL);
		if (!exceptions && ignore_may_include_below(m, p))
			fuzz_die("re-inclusion below without any exception", NULL);
	}
	/* each input line as a path, a directory too */
	_cleanup_free_ char *s = fuzz_cstr(data, size);
	for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		bool ex = ignore_match(m, l, false);
		if (ex && ignore_count(m) == 0)
			fuzz_die("excluded without patterns", NULL);
		(void)ignore_may_include_below(m, l);
	}
	ignore_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dockerfile(data, size);
	fuzz_ignore(data, size);
	return 0;
}
