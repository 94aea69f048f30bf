/* Docker's variable substitution (see subst.h), after BuildKit's shell
 * lexer (frontend/dockerfile/shell/lex.go): one pass building both the
 * joined result and the split words. A `${A:-word}` word is lexed by the
 * same loop one level deeper; the depth is bounded. */
#include "build/subst.h"

#include <stdlib.h>
#include <string.h>

#include "build/buf.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

typedef struct lexer {
	const char *s;
	size_t i, n;
	char esc;
	subst_lookup_fn fn;
	void *ctx;
	berr *e;
	int depth;
	bool raw_quotes; /* quotes are plain characters (a here-document's body) */
} lexer;

/* What one lexing level builds: the joined result, and the words. */
typedef struct out {
	bbuf result;
	bbuf word;
	bool in_word;
	strv_builder words;
} out;

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void end_word(out *o)
{
	if (o->in_word && o->word.n)
		strvb_push(&o->words, o->word.p);
	o->word.n = 0;
	if (o->word.p)
		o->word.p[0] = '\0';
	o->in_word = false;
}

/* Unquoted text: white space ends a word. */
static void add_split(out *o, const char *s, size_t len)
{
	bbuf_add(&o->result, s, len);
	for (size_t k = 0; k < len; k++) {
		if (is_space(s[k])) {
			end_word(o);
		} else {
			bbuf_addc(&o->word, s[k]);
			o->in_word = true;
		}
	}
}

/* Quoted or escaped text: kept in the word as is. */
static void add_raw(out *o, const char *s, size_t len)
{
	bbuf_add(&o->result, s, len);
	bbuf_add(&o->word, s, len);
	o->in_word = true;
}

static void out_free(out *o)
{
	free(o->result.p);
	free(o->word.p);
	strvb_free(&o->words);
}

static int peek(const lexer *lx)
{
	return lx->i < lx->n ? (unsigned char)lx->s[lx->i] : -1;
}

/* BuildKit takes unicode.IsLetter: any non-ASCII byte counts as part of a
 * letter here (so `$A한` names "A한", as there), an approximation for the
 * rare non-ASCII symbol that is no letter. */
static bool name_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static bool name_char(int c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static bool special_param(int c)
{
	return c && strchr("@*#?-$!", c) != NULL;
}

/* A variable's name at the cursor: [letter_][letter digit _]*, digits (a
 * positional parameter) or one special parameter; "" when none. */
static char *lex_name(lexer *lx)
{
	size_t start = lx->i;
	int c = peek(lx);
	if (c >= '0' && c <= '9') {
		while (peek(lx) >= '0' && peek(lx) <= '9')
			lx->i++;
	} else if (name_start(c)) {
		while (name_char(peek(lx)))
			lx->i++;
	} else if (special_param(c)) {
		lx->i++;
	}
	return xstrndup(lx->s + start, lx->i - start);
}

static int lex_until(lexer *lx, int stop, out *o);

static const char *lookup(lexer *lx, const char *name)
{
	return lx->fn ? lx->fn(lx->ctx, name) : NULL;
}

/* After a '$': the expansion, or NULL on error. */
static char *lex_dollar(lexer *lx)
{
	if (peek(lx) != '{') {
		_cleanup_free_ char *name = lex_name(lx);
		if (!*name)
			return xstrdup("$");
		const char *v = lookup(lx, name);
		return xstrdup(v ? v : "");
	}
	lx->i++;
	_cleanup_free_ char *name = lex_name(lx);
	if (!*name) {
		berr_set(lx->e, 0, "bad substitution: \"${\" without a variable name");
		return NULL;
	}
	int c = peek(lx);
	if (c < 0) {
		berr_set(lx->e, 0, "variable \"%s\": missing '}' in \"${%s\"", name, name);
		return NULL;
	}
	lx->i++;
	const char *v = lookup(lx, name);
	if (c == '}')
		return xstrdup(v ? v : "");
	bool colon = c == ':';
	if (colon) {
		c = peek(lx);
		if (c < 0) {
			berr_set(lx->e, 0, "variable \"%s\": missing '}' in \"${%s:\"", name, name);
			return NULL;
		}
		lx->i++;
	}
	if (c != '-' && c != '+') {
		berr_set(lx->e, 0, "variable \"%s\": unsupported modifier \"%s%c\"", name,
			 colon ? ":" : "", c);
		return NULL;
	}
	if (lx->depth >= SUBST_MAX_DEPTH) {
		berr_set(lx->e, 0, "variable \"%s\": substitutions nested deeper than %d", name,
			 SUBST_MAX_DEPTH);
		return NULL;
	}
	out w = {0};
	lx->depth++;
	int r = lex_until(lx, '}', &w);
	lx->depth--;
	if (r < 0) {
		out_free(&w);
		return NULL;
	}
	if (r == 0) {
		out_free(&w);
		berr_set(lx->e, 0, "variable \"%s\": missing '}'", name);
		return NULL;
	}
	char *word = bbuf_take(&w.result);
	out_free(&w);
	bool set = v && (!colon || *v);
	if (c == '-') {
		if (set) {
			free(word);
			return xstrdup(v);
		}
		return word;
	}
	if (set)
		return word;
	free(word);
	return xstrdup("");
}

static int lex_single(lexer *lx, out *o)
{
	size_t start = lx->i;
	const char *q = memchr(lx->s + start, '\'', lx->n - start);
	if (!q)
		return berr_set(
		    lx->e, 0,
		    "unexpected end of statement while looking for matching single-quote");
	add_raw(o, lx->s + start, (size_t)(q - (lx->s + start)));
	o->in_word = true;
	lx->i = (size_t)(q - lx->s) + 1;
	return 0;
}

static int lex_double(lexer *lx, out *o)
{
	o->in_word = true;
	for (;;) {
		int c = peek(lx);
		if (c < 0)
			return berr_set(
			    lx->e, 0,
			    "unexpected end of statement while looking for matching double-quote");
		lx->i++;
		if (c == '"')
			return 0;
		if (c == '$') {
			_cleanup_free_ char *v = lex_dollar(lx);
			if (!v)
				return -1;
			add_raw(o, v, strlen(v));
			continue;
		}
		if (c == lx->esc) {
			int d = peek(lx);
			if (d < 0)
				continue; /* an escape at the very end is dropped */
			if (d == '"' || d == '$' || d == lx->esc) {
				lx->i++;
				c = d; /* other escapes stay as they are */
			}
		}
		char ch = (char)c;
		add_raw(o, &ch, 1);
	}
}

/* Lex up to the unquoted stop character (consumed) or the end. Returns 1 when
 * stop was found, 0 at the end, -1 on error. */
static int lex_until(lexer *lx, int stop, out *o)
{
	while (lx->i < lx->n) {
		int c = peek(lx);
		lx->i++;
		if (c == stop)
			return 1;
		if ((c == '\'' || c == '"') && lx->raw_quotes) {
			char ch = (char)c;
			add_split(o, &ch, 1);
		} else if (c == '\'') {
			if (lex_single(lx, o) < 0)
				return -1;
		} else if (c == '"') {
			if (lex_double(lx, o) < 0)
				return -1;
		} else if (c == '$') {
			_cleanup_free_ char *v = lex_dollar(lx);
			if (!v)
				return -1;
			add_split(o, v, strlen(v));
		} else if (c == lx->esc && lx->raw_quotes && !(peek(lx) == '$' || peek(lx) == c)) {
			char ch = (char)c; /* as a shell's here-document: only \$ and \\ */
			add_split(o, &ch, 1);
		} else if (c == lx->esc) {
			if (lx->i < lx->n) {
				add_raw(o, lx->s + lx->i, 1);
				lx->i++;
			}
		} else {
			char ch = (char)c;
			add_split(o, &ch, 1);
		}
	}
	return 0;
}

static int lex_all(const char *text, char escape, bool raw_quotes, subst_lookup_fn fn, void *ctx,
		   out *o, berr *e)
{
	lexer lx = {.s = text,
		    .n = strlen(text),
		    .esc = escape,
		    .fn = fn,
		    .ctx = ctx,
		    .e = e,
		    .raw_quotes = raw_quotes};
	return lex_until(&lx, -2, o) < 0 ? -1 : 0;
}

char *subst_word(const char *word, char escape, subst_lookup_fn fn, void *ctx, berr *e)
{
	out o = {0};
	if (lex_all(word, escape, false, fn, ctx, &o, e) < 0) {
		out_free(&o);
		return NULL;
	}
	char *r = bbuf_take(&o.result);
	out_free(&o);
	return r;
}

char *subst_heredoc(const char *body, subst_lookup_fn fn, void *ctx, berr *e)
{
	out o = {0};
	if (lex_all(body, '\\', true, fn, ctx, &o, e) < 0) {
		out_free(&o);
		return NULL;
	}
	char *r = bbuf_take(&o.result);
	out_free(&o);
	return r ? r : xstrdup("");
}

char **subst_words(const char *text, char escape, subst_lookup_fn fn, void *ctx, berr *e)
{
	out o = {0};
	if (lex_all(text, escape, false, fn, ctx, &o, e) < 0) {
		out_free(&o);
		return NULL;
	}
	end_word(&o);
	char **v = strvb_take(&o.words);
	out_free(&o);
	return v ? v : xzalloc(sizeof(char *));
}

const char *subst_env_lookup(void *ctx, const char *name)
{
	char **env = ctx;
	size_t len = strlen(name);
	const char *found = NULL;
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], name, len) && env[i][len] == '=')
			found = env[i] + len + 1;
	return found;
}
