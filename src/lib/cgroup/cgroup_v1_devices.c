/* linux.resources.devices -> the v1 devices controller.
 *
 * The kernel keeps a default (allow or deny everything) plus a list of
 * exceptions. Replaying the OCI list means "devices.deny a" first, which on a
 * running container (update) briefly takes away every device, /dev/null
 * included. So we emulate the kernel on the rule list, compare with
 * devices.list, and when both are deny-by-default write only the difference;
 * a check of devices.list afterwards falls back to the full replay if the
 * kernel disagrees. A new cgroup (inheriting "a *:* rwm") gets the replay. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

enum { ACC_R = 1, ACC_W = 2, ACC_M = 4, ACC_ALL = 7 };

typedef struct devex {
	char type;
	int64_t major, minor; /* -1 = '*' */
	unsigned acc;
} devex;

typedef struct devstate {
	bool deny_default;
	devex *ex;
	size_t n;
} devstate;

static unsigned acc_bits(const char *s)
{
	unsigned a = 0;
	for (; *s; s++)
		a |= *s == 'r' ? ACC_R : *s == 'w' ? ACC_W : *s == 'm' ? ACC_M : 0;
	return a;
}

static void acc_str(unsigned a, char out[4])
{
	size_t k = 0;
	if (a & ACC_R)
		out[k++] = 'r';
	if (a & ACC_W)
		out[k++] = 'w';
	if (a & ACC_M)
		out[k++] = 'm';
	out[k] = '\0';
}

static char *ex_str(char type, int64_t major, int64_t minor, unsigned acc)
{
	char maj[24], min[24], a[4];
	if (major < 0)
		strcpy(maj, "*");
	else
		snprintf(maj, sizeof(maj), "%" PRId64, major);
	if (minor < 0)
		strcpy(min, "*");
	else
		snprintf(min, sizeof(min), "%" PRId64, minor);
	acc_str(acc, a);
	return xasprintf("%c %s:%s %s", type, maj, min, a);
}

static devex *find(devstate *s, char type, int64_t major, int64_t minor)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ex[i].type == type && s->ex[i].major == major && s->ex[i].minor == minor)
			return &s->ex[i];
	return NULL;
}

/* The kernel's bookkeeping: a rule that goes against the default adds (or
 * widens) an exception, one in line with it narrows or drops one. */
static void st_rule(devstate *s, bool allow, char type, int64_t major, int64_t minor, unsigned acc)
{
	devex *x = find(s, type, major, minor);
	if (allow == s->deny_default) {
		if (x) {
			x->acc |= acc;
			return;
		}
		s->ex = xreallocarray(s->ex, s->n + 1, sizeof(*s->ex));
		s->ex[s->n++] = (devex){type, major, minor, acc};
		return;
	}
	if (!x)
		return;
	x->acc &= ~acc;
	if (!x->acc)
		*x = s->ex[--s->n];
}

static bool is_all(const spec_dev_rule *d)
{
	return d->type == 'a' && acc_bits(d->access[0] ? d->access : "rwm") == ACC_ALL &&
	       d->major < 0 && d->minor < 0;
}

static int check_rules(const spec_resources *r, berr *e)
{
	for (size_t i = 0; i < r->n_devices; i++) {
		const spec_dev_rule *dr = &r->devices[i];
		if (dr->type != 'a' && dr->type != 'c' && dr->type != 'b')
			return berr_set(e, EINVAL, "linux.resources.devices[%zu]: bad type '%c'", i,
					dr->type);
		if (strspn(dr->access, "rwm") != strlen(dr->access))
			return berr_set(e, EINVAL,
					"linux.resources.devices[%zu]: bad access \"%s\"", i,
					dr->access);
	}
	return 0;
}

/* What the cgroup will hold after the replay (which starts with deny a). */
static void emulate(const spec_resources *r, devstate *s)
{
	*s = (devstate){.deny_default = true};
	for (size_t i = 0; i < r->n_devices; i++) {
		const spec_dev_rule *dr = &r->devices[i];
		if (is_all(dr)) {
			s->deny_default = !dr->allow;
			s->n = 0;
			continue;
		}
		unsigned acc = acc_bits(dr->access[0] ? dr->access : "rwm");
		const char *types = dr->type == 'a' ? "cb" : (dr->type == 'c' ? "c" : "b");
		for (const char *t = types; *t; t++)
			st_rule(s, dr->allow, *t, dr->major, dr->minor, acc);
	}
}

/* devices.list: "a *:* rwm" alone for allow-all, else the exceptions of a
 * deny-by-default cgroup. */
static int read_list(const char *dir, devstate *s, berr *e)
{
	*s = (devstate){.deny_default = true};
	_cleanup_free_ char *text = cg_read(dir, "devices.list", e);
	if (!text)
		return -1;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char type, maj[24], min[24], acc[8];
		if (sscanf(l, "%c %23[^:]:%23s %7s", &type, maj, min, acc) != 4)
			continue;
		if (type == 'a') {
			s->deny_default = false;
			s->n = 0;
			break;
		}
		int64_t ma = maj[0] == '*' ? -1 : strtoll(maj, NULL, 10);
		int64_t mi = min[0] == '*' ? -1 : strtoll(min, NULL, 10);
		st_rule(s, true, type, ma, mi, acc_bits(acc));
	}
	return 0;
}

static bool same(devstate *a, devstate *b)
{
	if (a->deny_default != b->deny_default || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		devex *x = find(b, a->ex[i].type, a->ex[i].major, a->ex[i].minor);
		if (!x || x->acc != a->ex[i].acc)
			return false;
	}
	return true;
}

static int write_ex(const char *d, const char *file, const devex *x, unsigned acc, berr *e)
{
	_cleanup_free_ char *s = ex_str(x->type, x->major, x->minor, acc);
	return cg_write(d, file, s, e);
}

/* Both deny-by-default: widen first, then narrow, so a device allowed before
 * and after never loses access in between. */
static int write_diff(const char *d, devstate *cur, devstate *want, berr *e)
{
	for (size_t i = 0; i < want->n; i++) {
		devex *c = find(cur, want->ex[i].type, want->ex[i].major, want->ex[i].minor);
		unsigned add = want->ex[i].acc & ~(c ? c->acc : 0);
		if (add && write_ex(d, "devices.allow", &want->ex[i], add, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < cur->n; i++) {
		devex *w = find(want, cur->ex[i].type, cur->ex[i].major, cur->ex[i].minor);
		unsigned drop = cur->ex[i].acc & ~(w ? w->acc : 0);
		if (drop && write_ex(d, "devices.deny", &cur->ex[i], drop, e) < 0)
			return -1;
	}
	return 0;
}

static int replay(const char *d, const spec_resources *r, berr *e)
{
	if (cg_write(d, "devices.deny", "a", e) < 0)
		return -1;
	for (size_t i = 0; i < r->n_devices; i++) {
		const spec_dev_rule *dr = &r->devices[i];
		const char *file = dr->allow ? "devices.allow" : "devices.deny";
		/* The kernel reads "a" as "everything, rwm" and ignores the rest
		 * of the line: a narrower "all" rule becomes one per type. */
		if (is_all(dr)) {
			if (cg_write(d, file, "a", e) < 0)
				return -1;
			continue;
		}
		unsigned acc = acc_bits(dr->access[0] ? dr->access : "rwm");
		const char *types = dr->type == 'a' ? "cb" : (dr->type == 'c' ? "c" : "b");
		for (const char *t = types; *t; t++) {
			_cleanup_free_ char *s = ex_str(*t, dr->major, dr->minor, acc);
			if (cg_write(d, file, s, e) < 0)
				return -1;
		}
	}
	return 0;
}

int cg_v1_devices(const cgroup *cg, const spec_resources *r, berr *e)
{
	if (!r->n_devices)
		return 0;
	const char *d = cg_v1_dir(cg, CG_DEVICES);
	if (!d)
		return berr_set(e, ENOTSUP,
				"cgroup: devices controller is not mounted "
				"(linux.resources.devices)");
	if (check_rules(r, e) < 0)
		return -1;
	devstate want, cur = {0}, after = {0};
	emulate(r, &want);
	int rc;
	if (want.deny_default && read_list(d, &cur, e) == 0 && cur.deny_default) {
		rc = write_diff(d, &cur, &want, e);
		if (rc == 0 && (read_list(d, &after, e) < 0 || !same(&after, &want)))
			rc = replay(d, r, e);
	} else {
		rc = replay(d, r, e);
	}
	free(want.ex);
	free(cur.ex);
	free(after.ex);
	return rc;
}
