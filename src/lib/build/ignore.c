/* .dockerignore matching (see ignore.h). A pattern compiles to a list of
 * tokens over code points; a path is matched by walking the set of live
 * token positions (an NFA), so `**` / `*` never backtrack. */
#include "build/ignore.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

enum tok_kind {
	T_LIT,	       /* one code point */
	T_ANY,	       /* ?: one code point but '/' */
	T_CLASS,       /* [...]: one code point in (or not in) the ranges, never '/' */
	T_STAR,	       /* *: any run without '/' */
	T_DSTAR_SLASH, /* ** before more pattern: any run of whole directories, or none */
	T_DSTAR_END,   /* ** at the end: .* */
};

typedef struct tok {
	uint8_t kind;
	bool negated;	   /* T_CLASS */
	uint32_t c;	   /* T_LIT */
	size_t r_off, r_n; /* T_CLASS: its ranges */
} tok;

typedef struct range {
	uint32_t lo, hi;
} range;

typedef struct pattern {
	char *text; /* cleaned, with '!' for an exception */
	bool exclusion;
	tok *toks;
	size_t n;
	range *ranges;
} pattern;

struct ignore_matcher {
	pattern *p;
	size_t n, cap;
	size_t max_toks;
};

/* Code points of s (len bytes); an invalid byte b stands for 0x110000 + b,
 * so it only ever equals itself. Returns the count; out has room for len. */
static size_t utf8_decode(const char *s, size_t len, uint32_t *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		unsigned b = u[i];
		size_t need = b < 0x80		   ? 0
			      : (b & 0xe0) == 0xc0 ? 1
			      : (b & 0xf0) == 0xe0 ? 2
			      : (b & 0xf8) == 0xf0 ? 3
						   : 9;
		uint32_t cp = need == 0	  ? b
			      : need == 1 ? (b & 0x1f)
			      : need == 2 ? (b & 0x0f)
					  : b & 0x07;
		bool ok = need != 9 && need < len - i;
		for (size_t k = 1; ok && k <= need; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				ok = false;
			else
				cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (!ok) {
			out[n++] = 0x110000u + b;
			i++;
			continue;
		}
		out[n++] = cp;
		i += need + 1;
	}
	return n;
}

/* Go's filepath.Clean on a '/'-separated path. */
static char *clean_path(const char *in)
{
	size_t len = strlen(in);
	bool rooted = len && in[0] == '/';
	char *out = xmalloc(len + 2);
	size_t o = 0;
	size_t dotdot = 0; /* out[0..dotdot) cannot be popped by ".." */
	if (rooted)
		out[o++] = '/', dotdot = 1;
	for (size_t i = 0; i < len;) {
		while (i < len && in[i] == '/')
			i++;
		size_t s = i;
		while (i < len && in[i] != '/')
			i++;
		size_t el = i - s;
		if (el == 0 || (el == 1 && in[s] == '.'))
			continue;
		if (el == 2 && in[s] == '.' && in[s + 1] == '.') {
			if (o > dotdot) {
				o--;
				while (o > dotdot && out[o] != '/')
					o--;
				continue;
			}
			if (!rooted) {
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				dotdot = o;
			}
			continue;
		}
		if (o > (size_t)rooted)
			out[o++] = '/';
		memcpy(out + o, in + s, el);
		o += el;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

/* How moby's compile classifies a pattern (its fast paths): a pattern whose
 * only special part is a leading `**` (not followed by '/') is a suffix
 * match there, so `**file` also matches "myfile", which the equivalent
 * regular expression would not. */
enum match_type { M_EXACT, M_PREFIX, M_SUFFIX, M_REGEXP };

/* A class's next member (lo, or hi of a range); -1 for an unescaped '-' or
 * ']' where a character must be, or the end (filepath.Match's ErrBadPattern). */
static int64_t class_char(const uint32_t *cp, size_t n, size_t *i)
{
	if (*i >= n || cp[*i] == '-' || cp[*i] == ']')
		return -1;
	uint32_t c = cp[(*i)++];
	if (c == '\\') {
		if (*i >= n)
			return -1;
		c = cp[(*i)++];
	}
	return c;
}

/* Compile text (the pattern without its '!'); -1 for a bad pattern. */
static int compile(pattern *p, const char *text)
{
	size_t len = strlen(text);
	_cleanup_free_ uint32_t *cp = xreallocarray(NULL, len + 1, sizeof(*cp));
	size_t n = utf8_decode(text, len, cp);
	p->toks = xreallocarray(NULL, n + 1, sizeof(*p->toks));
	p->ranges = xreallocarray(NULL, n + 1, sizeof(*p->ranges));
	size_t nt = 0, nr = 0;
	enum match_type type = M_EXACT;
	bool lead_dstar_bare = false; /* a leading `**` not followed by '/' */
	for (size_t i = 0; i < n;) {
		bool first = i == 0;
		tok *t = &p->toks[nt++];
		*t = (tok){.kind = T_LIT};
		uint32_t c = cp[i++];
		if (c == '*') {
			if (i < n && cp[i] == '*') {
				i++;
				bool slash = i < n && cp[i] == '/';
				i += slash;
				t->kind = i == n ? T_DSTAR_END : T_DSTAR_SLASH;
				if (i == n)
					type = type == M_EXACT ? M_PREFIX : M_REGEXP;
				else
					type = M_REGEXP;
				if (first) {
					type = M_SUFFIX;
					lead_dstar_bare = !slash && i < n;
				}
			} else {
				t->kind = T_STAR;
				type = M_REGEXP;
			}
		} else if (c == '?') {
			t->kind = T_ANY;
			type = M_REGEXP;
		} else if (c == '\\') {
			if (i == n)
				return -1; /* filepath.Match: ErrBadPattern */
			t->c = cp[i++];
			type = M_REGEXP;
		} else if (c == '[') {
			t->kind = T_CLASS;
			type = M_REGEXP;
			t->r_off = nr;
			if (i < n && cp[i] == '^')
				t->negated = true, i++;
			for (size_t k = 0;; k++) {
				if (k > 0 && i < n && cp[i] == ']') {
					i++;
					break;
				}
				int64_t lo = class_char(cp, n, &i), hi = lo;
				if (lo < 0)
					return -1;
				if (i < n && cp[i] == '-') {
					i++;
					hi = class_char(cp, n, &i);
					if (hi < 0 || hi < lo)
						return -1;
				}
				p->ranges[nr++] = (range){(uint32_t)lo, (uint32_t)hi};
			}
			t->r_n = nr - t->r_off;
		} else if (c == ']') {
			return -1; /* as filepath.Match: an unopened ']' */
		} else {
			t->c = c;
		}
	}
	/* the suffix fast path: `**` + literal text is ".*" + that text */
	if (type == M_SUFFIX && lead_dstar_bare)
		p->toks[0].kind = T_DSTAR_END;
	p->n = nt;
	return 0;
}

static bool class_has(const pattern *p, const tok *t, uint32_t c)
{
	if (c == '/')
		return false;
	bool in = false;
	for (size_t k = 0; k < t->r_n && !in; k++)
		in = c >= p->ranges[t->r_off + k].lo && c <= p->ranges[t->r_off + k].hi;
	return in != t->negated;
}

/* The NFA's state: at[q] (before token q; q == n accepts) and in[q] (inside
 * the ".*" of a T_DSTAR_SLASH at q). */
typedef struct nfa {
	uint8_t *at, *in, *nat, *nin;
} nfa;

static void closure(const pattern *p, uint8_t *at)
{
	for (size_t q = 0; q < p->n; q++)
		if (at[q] && p->toks[q].kind >= T_STAR)
			at[q + 1] = 1;
}

/* One code point; returns whether any state is still live. */
static bool step(const pattern *p, nfa *s, uint32_t c)
{
	memset(s->nat, 0, p->n + 1);
	memset(s->nin, 0, p->n + 1);
	bool live = false;
	for (size_t q = 0; q < p->n; q++) {
		const tok *t = &p->toks[q];
		if (s->in[q]) {
			s->nin[q] = 1;
			if (c == '/')
				s->nat[q + 1] = 1;
		}
		if (!s->at[q])
			continue;
		switch (t->kind) {
		case T_LIT:
			if (c == t->c)
				s->nat[q + 1] = 1;
			break;
		case T_ANY:
			if (c != '/')
				s->nat[q + 1] = 1;
			break;
		case T_CLASS:
			if (class_has(p, t, c))
				s->nat[q + 1] = 1;
			break;
		case T_STAR:
			if (c != '/')
				s->nat[q] = 1;
			break;
		case T_DSTAR_END:
			s->nat[q] = 1;
			break;
		case T_DSTAR_SLASH:
			s->nin[q] = 1;
			if (c == '/')
				s->nat[q + 1] = 1;
			break;
		}
	}
	uint8_t *x = s->at;
	s->at = s->nat, s->nat = x;
	x = s->in;
	s->in = s->nin, s->nin = x;
	closure(p, s->at);
	for (size_t q = 0; q <= p->n && !live; q++)
		live = s->at[q] || s->in[q];
	return live;
}

static void nfa_start(const pattern *p, nfa *s)
{
	memset(s->at, 0, p->n + 1);
	memset(s->in, 0, p->n + 1);
	s->at[0] = 1;
	closure(p, s->at);
}

/* Whether p matches path cp[0..n) or one of its parent directories (the
 * prefixes ending before a '/'). With prefix_live, instead: whether some
 * state is live after the whole of cp (a longer path could match). */
static bool pattern_run(const pattern *p, nfa *s, const uint32_t *cp, size_t n, bool prefix_live)
{
	nfa_start(p, s);
	for (size_t i = 0; i < n; i++) {
		if (cp[i] == '/' && s->at[p->n])
			return true; /* a parent directory matches */
		if (!step(p, s, cp[i]))
			return false;
	}
	if (s->at[p->n])
		return true;
	if (!prefix_live)
		return false;
	for (size_t q = 0; q <= p->n; q++)
		if (s->at[q] || s->in[q])
			return true;
	return false;
}

static void pattern_free(pattern *p)
{
	free(p->text);
	free(p->toks);
	free(p->ranges);
}

void ignore_free(ignore_matcher *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		pattern_free(&m->p[i]);
	free(m->p);
	free(m);
}

static char *trim(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

static int add_pattern(ignore_matcher *m, const char *raw, size_t line, const char *name, berr *e)
{
	_cleanup_free_ char *t = trim(raw, strlen(raw));
	if (!*t)
		return 0;
	bool excl = t[0] == '!';
	_cleanup_free_ char *body = excl ? trim(t + 1, strlen(t + 1)) : xstrdup(t);
	if (!*body)
		return berr_set(e, 0, "%s:%zu: illegal exclusion pattern: \"!\"", name, line);
	if (strlen(body) > IGNORE_MAX_PATTERN)
		return berr_set(e, 0, "%s:%zu: pattern longer than %u bytes", name, line,
				IGNORE_MAX_PATTERN);
	char *c = clean_path(body);
	if (strlen(c) > 1 && c[0] == '/')
		memmove(c, c + 1, strlen(c));
	if (m->n == IGNORE_MAX_PATTERNS) {
		free(c);
		return berr_set(e, 0, "%s:%zu: more than %u patterns", name, line,
				IGNORE_MAX_PATTERNS);
	}
	pattern p = {.exclusion = excl};
	if (compile(&p, c) < 0) {
		berr_set(e, 0, "%s:%zu: bad pattern \"%s\"", name, line, t);
		free(c);
		pattern_free(&p);
		return -1;
	}
	p.text = excl ? xasprintf("!%s", c) : xstrdup(c);
	free(c);
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->p = xreallocarray(m->p, m->cap, sizeof(*m->p));
	}
	if (p.n > m->max_toks)
		m->max_toks = p.n;
	m->p[m->n++] = p;
	return 0;
}

ignore_matcher *ignore_parse(const char *data, size_t len, const char *name, berr *e)
{
	if (len > IGNORE_MAX_BYTES) {
		berr_set(e, 0, "%s: larger than %u bytes", name, IGNORE_MAX_BYTES);
		return NULL;
	}
	ignore_matcher *m = xzalloc(sizeof(*m));
	size_t line = 0;
	for (size_t i = 0; i < len;) {
		const char *s = data + i;
		const char *nl = memchr(s, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - s) : len - i;
		i += ll + (nl != NULL);
		line++;
		if (line == 1 && ll >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
			s += 3, ll -= 3;
		if (ll && s[0] == '#')
			continue;
		if (memchr(s, '\0', ll)) {
			ignore_free(m);
			berr_set(e, 0, "%s:%zu: NUL byte in a pattern", name, line);
			return NULL;
		}
		_cleanup_free_ char *raw = xstrndup(s, ll);
		if (add_pattern(m, raw, line, name, e) < 0) {
			ignore_free(m);
			return NULL;
		}
	}
	return m;
}

typedef struct query {
	uint8_t *buf;
	uint32_t *cp;
	size_t n;
	nfa s;
} query;

static void query_init(query *qr, const ignore_matcher *m, const char *path, bool trailing_slash)
{
	char *c = clean_path(path);
	const char *rel = c;
	while (rel[0] == '/' && rel[1])
		rel++;
	size_t len = strlen(rel);
	qr->cp = xreallocarray(NULL, len + 2, sizeof(*qr->cp));
	qr->n = utf8_decode(rel, len, qr->cp);
	if (trailing_slash)
		qr->cp[qr->n++] = '/';
	free(c);
	size_t w = m->max_toks + 1;
	uint8_t *buf = xzalloc(4 * w);
	qr->buf = buf;
	qr->s = (nfa){buf, buf + w, buf + 2 * w, buf + 3 * w};
}

static void query_free(query *qr)
{
	free(qr->cp);
	free(qr->buf);
}

bool ignore_match(const ignore_matcher *m, const char *path, bool is_dir)
{
	(void)is_dir;
	if (!m || !m->n)
		return false;
	query qr;
	query_init(&qr, m, path, false);
	bool matched = false;
	if (qr.n == 1 && qr.cp[0] == '.') { /* the context itself: never excluded */
		query_free(&qr);
		return false;
	}
	for (size_t i = 0; i < m->n; i++) {
		const pattern *p = &m->p[i];
		/* an inclusion cannot change a match, nor an exception a non-match */
		if (p->exclusion != matched)
			continue;
		if (pattern_run(p, &qr.s, qr.cp, qr.n, false))
			matched = !p->exclusion;
	}
	query_free(&qr);
	return matched;
}

bool ignore_may_include_below(const ignore_matcher *m, const char *dir)
{
	if (!m)
		return false;
	query qr;
	query_init(&qr, m, dir, true);
	bool may = false;
	for (size_t i = 0; i < m->n && !may; i++)
		if (m->p[i].exclusion)
			may = pattern_run(&m->p[i], &qr.s, qr.cp, qr.n, true);
	query_free(&qr);
	return may;
}

size_t ignore_count(const ignore_matcher *m)
{
	return m ? m->n : 0;
}

const char *ignore_pattern(const ignore_matcher *m, size_t i)
{
	return m && i < m->n ? m->p[i].text : NULL;
}
