/* User namespace id maps (see idmap.h). */
#include "util/idmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

static int parse_u32(const char **p, uint32_t *out)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(*p, &end, 10);
	if (errno || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	*p = end;
	return 0;
}

int idmap_parse(const char *text, idmap *m, berr *e)
{
	m->n = 0;
	size_t line = 0;
	for (const char *p = text; *p;) {
		line++;
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *q = p;
		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if (q < p + len) {
			idmap_range r;
			if (m->n >= IDMAP_MAX)
				return berr_set(e, EINVAL, "id map: more than %d lines", IDMAP_MAX);
			if (parse_u32(&q, &r.inside) < 0 || parse_u32(&q, &r.outside) < 0 ||
			    parse_u32(&q, &r.count) < 0 || r.count == 0 ||
			    (uint64_t)r.inside + r.count - 1 > UINT32_MAX ||
			    (uint64_t)r.outside + r.count - 1 > UINT32_MAX)
				return berr_set(e, EINVAL,
						"id map: line %zu: expected INSIDE OUTSIDE COUNT",
						line);
			while (q < p + len && (*q == ' ' || *q == '\t'))
				q++;
			if (q != p + len)
				return berr_set(e, EINVAL, "id map: line %zu: trailing text", line);
			m->r[m->n++] = r;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

int idmap_read_self(const char *which, idmap *m, berr *e)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/self/%s_map", which);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (fs_read_file_at(-1, path, &text, &len, e) < 0)
		return -1;
	if (idmap_parse(text, m, e) < 0)
		return berr_ctx(e, "%s", path);
	return 0;
}

bool idmap_is_initial(const idmap *m)
{
	return m->n == 1 && m->r[0].inside == 0 && m->r[0].outside == 0 &&
	       m->r[0].count == UINT32_MAX;
}

bool idmap_maps(const idmap *m, uint32_t inside)
{
	for (size_t i = 0; i < m->n; i++)
		if (inside >= m->r[i].inside && inside - m->r[i].inside < m->r[i].count)
			return true;
	return false;
}

uint32_t idmap_size(const idmap *m)
{
	uint64_t n = 0;
	for (size_t i = 0; i < m->n; i++)
		n += m->r[i].count;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

bool idmap_in_userns(void)
{
	idmap *m = malloc(sizeof(*m));
	if (!m)
		return false;
	berr e = {0};
	bool in = idmap_read_self("uid", m, &e) == 0 && !idmap_is_initial(m);
	free(m);
	return in;
}
