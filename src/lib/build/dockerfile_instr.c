/* One instruction's line: its name, its `--flags`, and its arguments in the
 * form the instruction takes (after BuildKit's parser: line_parsers.go). */
#include <ctype.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "build/buf.h"
#include "build/dockerfile_priv.h"
#include "util/cleanup.h"

/* How an instruction's arguments are read. */
enum arg_form {
	A_FROM,	      /* image [AS name] */
	A_MAYBE_JSON, /* exec form or one string: RUN CMD ENTRYPOINT */
	A_JSON_ONLY,  /* SHELL */
	A_JSON_LIST,  /* exec form or white-space separated words: COPY ADD VOLUME */
	A_WORDS,      /* white-space separated words: EXPOSE */
	A_PAIRS,      /* k=v k2="v 2", or the legacy `k v`: ENV LABEL */
	A_ARGS,	      /* name or name=default, several: ARG */
	A_STRING,     /* the rest of the line: WORKDIR USER STOPSIGNAL MAINTAINER */
	A_HEALTH,     /* NONE, or CMD and a command */
	A_ONBUILD,    /* another instruction */
};

/* Everything per instruction in one table: its name, how its arguments
 * parse, whether it gets variable substitution (the reference's
 * "Environment replacement" list, plus ARG: BuildKit expands ARG defaults
 * too), whether it may carry here-documents, its minimum argument count and
 * the flags it takes (a trailing '*': may repeat). */
static const struct kind_info {
	const char *name;
	enum arg_form form;
	bool expands;
	bool heredoc;
	unsigned min_args;
	const char *const flags[8];
} kinds[DF_KIND_COUNT] = {
    [DF_FROM] = {"FROM", A_FROM, true, false, 1, {"platform"}},
    [DF_RUN] = {"RUN", A_MAYBE_JSON, false, true, 1, {"mount*", "network", "security"}},
    [DF_CMD] = {"CMD", A_MAYBE_JSON, false, false, 0, {0}},
    [DF_ENTRYPOINT] = {"ENTRYPOINT", A_MAYBE_JSON, false, false, 0, {0}},
    [DF_COPY] = {"COPY",
		 A_JSON_LIST,
		 true,
		 true,
		 2,
		 {"from", "chown", "chmod", "link", "parents", "exclude*"}},
    [DF_ADD] = {"ADD",
		A_JSON_LIST,
		true,
		true,
		2,
		{"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude*", "unpack"}},
    [DF_ENV] = {"ENV", A_PAIRS, true, false, 1, {0}},
    [DF_ARG] = {"ARG", A_ARGS, true, false, 1, {0}},
    [DF_WORKDIR] = {"WORKDIR", A_STRING, true, false, 1, {0}},
    [DF_USER] = {"USER", A_STRING, true, false, 1, {0}},
    [DF_EXPOSE] = {"EXPOSE", A_WORDS, true, false, 1, {0}},
    [DF_VOLUME] = {"VOLUME", A_JSON_LIST, true, false, 1, {0}},
    [DF_LABEL] = {"LABEL", A_PAIRS, true, false, 1, {0}},
    [DF_STOPSIGNAL] = {"STOPSIGNAL", A_STRING, true, false, 1, {0}},
    [DF_HEALTHCHECK] = {"HEALTHCHECK",
			A_HEALTH,
			false,
			false,
			1,
			{"interval", "timeout", "start-period", "start-interval", "retries"}},
    [DF_SHELL] = {"SHELL", A_JSON_ONLY, false, false, 1, {0}},
    [DF_ONBUILD] = {"ONBUILD", A_ONBUILD, false, false, 1, {0}},
    [DF_MAINTAINER] = {"MAINTAINER", A_STRING, false, false, 1, {0}},
};

const char *df_kind_name(df_kind k)
{
	return k < DF_KIND_COUNT ? kinds[k].name : "?";
}

bool df_kind_expands(df_kind k)
{
	return k < DF_KIND_COUNT && kinds[k].expands;
}

int df_perr(const df_ctx *c, size_t line, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berr_set(c->e, 0, "%s:%zu: %s", c->name, line, msg);
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Append to a NULL-terminated vector with a count. */
static void args_push(df_instr *in, char *s)
{
	size_t used = in->n_args + 1; /* the NULL too: full at powers of two */
	if (!in->args || (used & (used - 1)) == 0)
		in->args = xreallocarray(in->args, used * 2, sizeof(char *));
	in->args[in->n_args++] = s;
	in->args[in->n_args] = NULL;
}

static void kv_push(df_kv **v, size_t *n, char *key, char *value)
{
	/* doubling at powers of two keeps the pushes amortised O(1) */
	if ((*n & (*n - 1)) == 0)
		*v = xreallocarray(*v, *n ? *n * 2 : 1, sizeof(**v));
	(*v)[(*n)++] = (df_kv){key, value};
}

/* The leading `--flag[=value]` words (BuildKit's extractBuilderFlags: quotes
 * removed, `\` escapes, `--` ends them). Returns where the arguments start. */
static const char *extract_flags(const df_ctx *c, const char *s, size_t line, df_instr *in,
				 int *err)
{
	*err = 0;
	for (;;) {
		while (is_ws(*s))
			s++;
		if (s[0] != '-' || s[1] != '-')
			return s;
		bbuf w = {0};
		char quote = 0;
		const char *p = s;
		for (; *p && (quote || !is_ws(*p)); p++) {
			if (quote) {
				if (*p == quote) {
					quote = 0;
					continue;
				}
			} else if (*p == '\'' || *p == '"') {
				quote = *p;
				continue;
			}
			if (*p == '\\') {
				if (!p[1])
					continue;
				p++;
			}
			bbuf_addc(&w, *p);
		}
		char *word = bbuf_take(&w);
		if (!strcmp(word, "--")) {
			free(word);
			return p;
		}
		char *eq = strchr(word, '=');
		char *key = xstrndup(word + 2, eq ? (size_t)(eq - word - 2) : strlen(word + 2));
		char *value = eq ? xstrdup(eq + 1) : NULL;
		free(word);
		const struct kind_info *k = &kinds[in->kind];
		bool known = false, repeat = false;
		for (size_t i = 0; i < ARRAY_SIZE(k->flags) && k->flags[i]; i++) {
			size_t fl = strcspn(k->flags[i], "*");
			if (strlen(key) == fl && !strncmp(key, k->flags[i], fl)) {
				known = true;
				repeat = k->flags[i][fl] == '*';
			}
		}
		for (size_t i = 0; known && !repeat && i < in->n_flags; i++)
			if (!strcmp(in->flags[i].key, key)) {
				*err = df_perr(c, line, "%s: duplicate flag --%s", k->name, key);
				break;
			}
		if (!known)
			*err = df_perr(c, line, "unknown flag --%s for %s", key, k->name);
		kv_push(&in->flags, &in->n_flags, key, value);
		if (*err)
			return NULL;
		s = p;
	}
}

/* BuildKit's parseWords: split at white space outside quotes, keeping the
 * quotes and escapes in the words (substitution removes them later). */
static char **parse_words(const char *s, char esc, size_t *count)
{
	strv_builder b = {0};
	bbuf w = {0};
	bool in_word = false, blank_ok = false;
	char quote = 0;
	for (const char *p = s;; p++) {
		char ch = *p;
		if (!ch) {
			if (in_word && (blank_ok || w.n))
				strvb_push(&b, w.p ? w.p : "");
			break;
		}
		if (quote) {
			if (ch == quote)
				quote = 0;
			else if (ch == esc && quote != '\'') {
				if (!p[1])
					continue;
				bbuf_addc(&w, ch);
				ch = *++p;
			}
			bbuf_addc(&w, ch);
			continue;
		}
		if (is_ws(ch)) {
			if (in_word && (blank_ok || w.n))
				strvb_push(&b, w.p ? w.p : "");
			w.n = 0;
			if (w.p)
				w.p[0] = '\0';
			in_word = blank_ok = false;
			continue;
		}
		in_word = true;
		if (ch == '\'' || ch == '"') {
			quote = ch;
			blank_ok = true;
		} else if (ch == esc) {
			if (!p[1])
				continue;
			bbuf_addc(&w, ch);
			ch = *++p;
		}
		bbuf_addc(&w, ch);
	}
	free(w.p);
	*count = b.n;
	char **v = strvb_take(&b);
	return v ? v : xzalloc(sizeof(char *));
}

/* Plain white-space split (BuildKit's parseStringsWhitespaceDelimited). */
static void split_ws(const char *s, df_instr *in)
{
	while (*s) {
		while (is_ws(*s))
			s++;
		const char *st = s;
		while (*s && !is_ws(*s))
			s++;
		if (s > st)
			args_push(in, xstrndup(st, (size_t)(s - st)));
	}
}

/* The exec form: a JSON array of strings and nothing else. false (and no
 * args) when s is not one: the caller falls back to the shell form. */
static bool parse_json(const char *s, df_instr *in)
{
	if (*s != '[')
		return false;
	size_t len = strlen(s);
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return false;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, s, (int)len);
	bool ok = o && json_tokener_get_error(tok) == json_tokener_success &&
		  json_object_is_type(o, json_type_array);
	if (ok) {
		for (size_t i = (size_t)json_tokener_get_parse_end(tok); i < len; i++)
			if (!is_ws(s[i]))
				ok = false;
	}
	size_t n = ok ? json_object_array_length(o) : 0;
	for (size_t i = 0; ok && i < n; i++) {
		json_object *el = json_object_array_get_idx(o, i);
		if (!json_object_is_type(el, json_type_string) ||
		    strlen(json_object_get_string(el)) != (size_t)json_object_get_string_len(el))
			ok = false; /* not a string, or one with a NUL inside */
	}
	for (size_t i = 0; ok && i < n; i++)
		args_push(in, xstrdup(json_object_get_string(json_object_array_get_idx(o, i))));
	json_object_put(o);
	json_tokener_free(tok);
	if (ok && !in->args)
		in->args = xzalloc(sizeof(char *));
	in->json = ok;
	return ok;
}

/* ENV and LABEL: k=v pairs, or the legacy `k v` (one pair, the value the
 * rest of the line). */
static int parse_pairs(const df_ctx *c, const char *s, size_t line, df_instr *in)
{
	size_t n;
	char **w = parse_words(s, c->escape, &n);
	int r = 0;
	if (n && !strchr(w[0], '=')) {
		size_t kl = strcspn(s, " \t\r\n\v\f");
		const char *v = s + kl;
		while (is_ws(*v))
			v++;
		if (!*v)
			r = df_perr(c, line, "%s must have two arguments", kinds[in->kind].name);
		else
			kv_push(&in->pairs, &in->n_pairs, xstrndup(s, kl), xstrdup(v));
	}
	for (size_t i = 0; !r && i < n && strchr(w[0], '='); i++) {
		char *eq = strchr(w[i], '=');
		if (!eq)
			r = df_perr(
			    c, line,
			    "%s: can't find = in \"%s\" (it must be of the form name=value)",
			    kinds[in->kind].name, w[i]);
		else if (eq == w[i])
			r = df_perr(c, line, "%s names can not be blank", kinds[in->kind].name);
		else
			kv_push(&in->pairs, &in->n_pairs, xstrndup(w[i], (size_t)(eq - w[i])),
				xstrdup(eq + 1));
	}
	strv_free(w);
	return r;
}

static int parse_args(const df_ctx *c, const char *s, size_t line, df_instr *in)
{
	size_t n;
	char **w = parse_words(s, c->escape, &n);
	int r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		char *eq = strchr(w[i], '=');
		if (eq == w[i])
			r = df_perr(c, line, "ARG names can not be blank");
		else
			kv_push(&in->pairs, &in->n_pairs,
				xstrndup(w[i], eq ? (size_t)(eq - w[i]) : strlen(w[i])),
				eq ? xstrdup(eq + 1) : NULL);
	}
	strv_free(w);
	return r;
}

static bool valid_stage_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("-_.", *s)))
			return false;
	return true;
}

static int parse_from(const df_ctx *c, const char *s, size_t line, df_instr *in)
{
	split_ws(s, in);
	if (in->n_args == 0)
		return df_perr(c, line, "FROM requires an image");
	if (in->n_args == 3 && strcasecmp(in->args[1], "AS"))
		return df_perr(c, line, "FROM: the second argument must be AS, not \"%s\"",
			       in->args[1]);
	if (in->n_args != 1 && in->n_args != 3)
		return df_perr(c, line,
			       "FROM requires either one or three arguments (image AS name)");
	if (in->n_args == 3) {
		for (char *p = in->args[2]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!valid_stage_name(in->args[2]))
			return df_perr(c, line,
				       "invalid name for build stage: \"%s\" (it must start with a "
				       "letter and hold only letters, digits, '-', '_' and '.')",
				       in->args[2]);
	}
	return 0;
}

static int parse_health(const df_ctx *c, const char *s, size_t line, df_instr *in)
{
	size_t tl = strcspn(s, " \t\r\n\v\f");
	const char *rest = s + tl;
	while (is_ws(*rest))
		rest++;
	if (tl == 4 && !strncasecmp(s, "NONE", 4)) {
		if (*rest)
			return df_perr(c, line, "HEALTHCHECK NONE takes no arguments");
		args_push(in, xstrdup("NONE"));
		return 0;
	}
	if (!(tl == 3 && !strncasecmp(s, "CMD", 3)))
		return df_perr(c, line, "HEALTHCHECK: unknown type \"%.*s\" (try CMD or NONE)",
			       (int)tl, s);
	if (!*rest)
		return df_perr(c, line, "HEALTHCHECK CMD requires a command");
	df_instr cmd = {0};
	if (!parse_json(rest, &cmd))
		args_push(&cmd, xstrdup(rest));
	args_push(in, xstrdup("CMD"));
	for (size_t i = 0; i < cmd.n_args; i++)
		args_push(in, cmd.args[i]);
	in->json = cmd.json;
	free(cmd.args);
	return 0;
}

/* A heredoc marker as BuildKit reads one: [fd]<<[-]WORD with no '<' in
 * WORD (`<< WORD`, the word apart, too). Quotes in WORD (in part or whole)
 * mean no expansion; `\` makes the next character literal. Returns 1 for a
 * marker, 0 for none, -1 for an unterminated quote. */
static int heredoc_marker(const df_ctx *c, size_t line, const char *w, const char *next,
			  df_instr *in)
{
	const char *p = w;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] != '<' || p[1] != '<')
		return 0;
	int fd = p > w ? atoi(w) : -1;
	p += 2;
	bool chomp = *p == '-';
	p += chomp;
	int used_next = 0;
	if (!*p && next) { /* `<< EOF`: the name is the next word */
		p = next;
		used_next = 1;
	}
	if (!*p || strchr(p, '<'))
		return 0;
	bbuf name = {0};
	bool quoted = false;
	char quote = 0;
	for (; *p; p++) {
		if (quote) {
			if (*p == quote) {
				quote = 0;
				continue;
			}
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
			quoted = true;
			continue;
		} else if (*p == '\\' && p[1]) {
			p++;
		}
		bbuf_addc(&name, *p);
	}
	char *nm = bbuf_take(&name);
	if (quote) {
		free(nm);
		return df_perr(c, line, "heredoc %s: unterminated quote", w);
	}
	if (!*nm) {
		free(nm);
		return 0;
	}
	if ((in->n_heredocs & (in->n_heredocs - 1)) == 0)
		in->heredocs = xreallocarray(in->heredocs, in->n_heredocs ? in->n_heredocs * 2 : 1,
					     sizeof(*in->heredocs));
	in->heredocs[in->n_heredocs++] = (df_heredoc){
	    .name = nm, .content = xstrdup(""), .expand = !quoted, .strip_tabs = chomp, .fd = fd};
	return 1 + used_next;
}

static int find_heredocs(const df_ctx *c, size_t line, const char *s, df_instr *in)
{
	if (!strstr(s, "<<"))
		return 0;
	size_t n;
	char **w = parse_words(s, '\\', &n);
	int r = 0;
	for (size_t i = 0; i < n && r >= 0; i++) {
		r = heredoc_marker(c, line, w[i], w[i + 1], in);
		if (r == 2)
			i++; /* the name was the next word */
	}
	strv_free(w);
	return r < 0 ? -1 : 0;
}

static bool kind_lookup(const char *word, size_t len, df_kind *k)
{
	for (size_t i = 0; i < DF_KIND_COUNT; i++)
		if (strlen(kinds[i].name) == len && !strncasecmp(kinds[i].name, word, len)) {
			*k = (df_kind)i;
			return true;
		}
	return false;
}

static int parse_rest(const df_ctx *c, const char *rest, size_t line, df_instr *in)
{
	const struct kind_info *k = &kinds[in->kind];
	switch (k->form) {
	case A_FROM:
		return parse_from(c, rest, line, in);
	case A_MAYBE_JSON:
		if (!parse_json(rest, in) && *rest)
			args_push(in, xstrdup(rest));
		break;
	case A_JSON_ONLY:
		if (!parse_json(rest, in))
			return df_perr(c, line, "%s requires the arguments to be in JSON form",
				       k->name);
		break;
	case A_JSON_LIST:
		if (!parse_json(rest, in))
			split_ws(rest, in);
		break;
	case A_WORDS:
		split_ws(rest, in);
		break;
	case A_PAIRS:
		if (parse_pairs(c, rest, line, in) < 0)
			return -1;
		break;
	case A_ARGS:
		if (parse_args(c, rest, line, in) < 0)
			return -1;
		break;
	case A_STRING:
		if (*rest)
			args_push(in, xstrdup(rest));
		break;
	case A_HEALTH:
		if (*rest)
			return parse_health(c, rest, line, in);
		break;
	case A_ONBUILD:
		break;
	}
	size_t have = k->form == A_PAIRS || k->form == A_ARGS ? in->n_pairs : in->n_args;
	if (have < k->min_args) {
		if (k->min_args == 2)
			return df_perr(
			    c, line,
			    "%s requires at least two arguments (sources and a destination)",
			    k->name);
		return df_perr(c, line, "%s requires at least one argument", k->name);
	}
	return 0;
}

int df_parse_instr(const df_ctx *c, const char *logical, size_t line, bool in_onbuild, df_instr *in)
{
	const char *s = logical;
	while (is_ws(*s))
		s++;
	size_t end = strlen(s);
	while (end && is_ws(s[end - 1]))
		end--;
	in->original = xstrndup(s, end);
	in->line = in->end_line = line;
	const char *o = in->original;
	size_t wl = strcspn(o, " \t\r\n\v\f");
	df_kind kind;
	if (!kind_lookup(o, wl, &kind))
		return df_perr(c, line, "unknown instruction \"%.*s\"", (int)(wl > 64 ? 64 : wl),
			       o);
	in->kind = kind;
	if (in_onbuild && (kind == DF_FROM || kind == DF_MAINTAINER))
		return df_perr(c, line, "%s isn't allowed as an ONBUILD trigger", kinds[kind].name);
	int err;
	const char *rest = extract_flags(c, o + wl, line, in, &err);
	if (err)
		return -1;
	while (is_ws(*rest))
		rest++; /* after `--` */
	if (kind == DF_ONBUILD) {
		if (in_onbuild)
			return df_perr(c, line, "ONBUILD ONBUILD isn't allowed");
		if (!*rest)
			return df_perr(c, line, "ONBUILD requires at least one argument");
		in->onbuild = xzalloc(sizeof(*in->onbuild));
		if (df_parse_instr(c, rest, line, true, in->onbuild) < 0)
			return -1;
		in->args = xzalloc(sizeof(char *));
		return 0;
	}
	if (parse_rest(c, rest, line, in) < 0)
		return -1;
	if (!in->args)
		in->args = xzalloc(sizeof(char *));
	if (kinds[kind].heredoc && !in->json)
		return find_heredocs(c, line, rest, in);
	return 0;
}

static void kv_free(df_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static void instr_clear_one(df_instr *in)
{
	free(in->original);
	kv_free(in->flags, in->n_flags);
	kv_free(in->pairs, in->n_pairs);
	strv_free(in->args);
	for (size_t i = 0; i < in->n_heredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].content);
	}
	free(in->heredocs);
}

void df_instr_clear(df_instr *in)
{
	if (!in)
		return;
	instr_clear_one(in);
	if (in->onbuild) { /* one level only: ONBUILD ONBUILD is refused */
		instr_clear_one(in->onbuild);
		free(in->onbuild);
	}
	*in = (df_instr){0};
}
