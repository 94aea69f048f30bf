/* Container filters (berth ps --filter KEY=VALUE, the API's filters), Docker's semantics: the same
 * key given again widens (OR), different keys narrow (AND), except label: every label given must
 * match (AND), as Docker's. Keys: id (prefix of the ID), name (regular expression, unanchored,
 * against "/name" as Docker's), status, exited (exit code of an exited container), ancestor (the
 * image the value resolves to in the store, as Docker; also by the name as typed, its normalised
 * form, or a prefix of the image ID, so containers of a since removed or re-tagged image still
 * match), label (KEY or KEY=VALUE of Config.Labels), pod (the pod's ID, a prefix of it, or its
 * name: Podman's), health (starting, healthy, unhealthy, none: State.Health.Status). */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "engine/container.h"
#include "engine/pod.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/store.h"
#include "engine/ctr_filter.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

enum { K_ID, K_NAME, K_STATUS, K_EXITED, K_ANCESTOR, K_LABEL, K_POD, K_HEALTH, K_N };
static const char *const keys[K_N] = {"id",	  "name",  "status", "exited",
				      "ancestor", "label", "pod",    "health"};

typedef struct fval {
	char *v;
	char *norm; /* ancestor: normalised name, or NULL */
	char *iid;  /* ancestor: the ID it resolves to in the store, or NULL */
	int code;   /* exited */
	regex_t re; /* name */
} fval;

struct ps_filter {
	fval *vals[K_N];
	size_t n[K_N];
	const char *root;
	img_store *st;		/* opened for the first ancestor name */
	json_object *pod_names; /* pod: id -> name */
};

static const char *const states[] = {"created", "restarting", "running", "removing",
				     "paused",	"exited",     "dead"};

static char *normalise(img_store **st, const char *root, const char *ref)
{
	berr e;
	if (!*st && !(*st = store_open(root, &e)))
		return NULL;
	img_ref r;
	if (image_normalize(*st, ref, &r, &e) < 0)
		return NULL;
	char *s = ref_string(&r);
	ref_free(&r);
	return s;
}

ps_filter *ps_filter_parse(char **specs, const char *root, berr *e)
{
	ps_filter *f = xzalloc(sizeof(*f));
	f->root = root;
	for (char **p = specs; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		int k = K_N;
		for (int i = 0; eq && i < K_N; i++)
			if (strlen(keys[i]) == (size_t)(eq - *p) &&
			    !strncmp(*p, keys[i], (size_t)(eq - *p)))
				k = i;
		if (k == K_N) {
			berr_set(e, EINVAL, "invalid filter '%.*s'",
				 eq ? (int)(eq - *p) : (int)strlen(*p), *p);
			goto fail;
		}
		fval v = {.v = xstrdup(eq + 1)};
		bool ok = true;
		if (k == K_STATUS) {
			ok = false;
			for (size_t i = 0; i < sizeof(states) / sizeof(*states); i++)
				ok |= !strcmp(v.v, states[i]);
		} else if (k == K_EXITED) {
			char *end;
			long c = strtol(v.v, &end, 10);
			ok = *v.v && !*end && c >= 0 && c <= 255;
			v.code = (int)c;
		} else if (k == K_HEALTH) { /* Docker's words */
			ok = !strcmp(v.v, "starting") || !strcmp(v.v, "healthy") ||
			     !strcmp(v.v, "unhealthy") || !strcmp(v.v, "none");
		} else if (k == K_NAME) {
			ok = regcomp(&v.re, v.v, REG_EXTENDED | REG_NOSUB) == 0;
		} else if (k == K_ANCESTOR) {
			v.norm = normalise(&f->st, root, v.v);
			img_image im;
			berr ig;
			if (f->st && image_resolve(f->st, v.v, &im, &ig) == 0) {
				v.iid = xstrdup(im.rec.id.s);
				image_free(&im);
			}
		}
		if (!ok) {
			berr_set(e, EINVAL, "invalid filter '%s'", *p);
			free(v.v);
			goto fail;
		}
		f->vals[k] = xrealloc(f->vals[k], (f->n[k] + 1) * sizeof(fval));
		f->vals[k][f->n[k]++] = v;
	}
	return f;
fail:
	ps_filter_free(f);
	return NULL;
}

void ps_filter_free(ps_filter *f)
{
	if (!f)
		return;
	for (int k = 0; k < K_N; k++) {
		for (size_t i = 0; i < f->n[k]; i++) {
			free(f->vals[k][i].v);
			free(f->vals[k][i].norm);
			free(f->vals[k][i].iid);
			if (k == K_NAME)
				regfree(&f->vals[k][i].re);
		}
		free(f->vals[k]);
	}
	store_close(f->st);
	json_object_put(f->pod_names);
	free(f);
}

bool ps_filter_shows_stopped(const ps_filter *f)
{
	return f && (f->n[K_STATUS] || f->n[K_EXITED]);
}

static bool ancestor_match(const fval *v, const char *typed, const char *iid, const char *root,
			   img_store **st)
{
	if (typed && !strcmp(v->v, typed))
		return true;
	if (iid && v->iid && !strcmp(iid, v->iid))
		return true; /* docker: the image the name resolves to */
	if (iid) {
		const char *hex = strncmp(iid, "sha256:", 7) ? iid : iid + 7;
		const char *pre = strncmp(v->v, "sha256:", 7) ? v->v : v->v + 7;
		size_t l = strlen(pre);
		if (l >= 4 && strspn(pre, "0123456789abcdef") == l && !strncmp(hex, pre, l))
			return true;
	}
	if (!v->norm || !typed)
		return false;
	_cleanup_free_ char *tn = normalise(st, root, typed);
	return tn && !strcmp(tn, v->norm);
}

bool eng_labels_match(json_object *labels, const char *want)
{
	json_object *val;
	if (!labels || !json_object_is_type(labels, json_type_object))
		return false;
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *k = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
	if (!json_object_object_get_ex(labels, k, &val))
		return false;
	return !eq || !strcmp(json_object_get_string(val), eq + 1);
}

static bool label_match(json_object *doc, const char *want)
{
	json_object *cfg, *labels;
	return json_object_object_get_ex(doc, "Config", &cfg) &&
	       json_object_object_get_ex(cfg, "Labels", &labels) && eng_labels_match(labels, want);
}

/* By the pod's id, a prefix of it, or its name (the record read once per
 * pod: f->pod_names caches id -> name). */
static bool pod_match(ps_filter *f, eng *g, json_object *doc, const char *want)
{
	const char *pod = eng_doc_str(doc, "Pod");
	if (!pod)
		return false;
	if (!strncmp(pod, want, strlen(want)))
		return true;
	if (!f->pod_names)
		f->pod_names = json_object_new_object();
	json_object *n;
	if (!json_object_object_get_ex(f->pod_names, pod, &n)) {
		berr ig;
		json_object *rec = eng_pod_load(g, pod, &ig);
		json_object *nm = rec ? json_object_object_get(rec, "Name") : NULL;
		n = json_object_new_string(nm ? json_object_get_string(nm) : "");
		json_object_put(rec);
		json_object_object_add(f->pod_names, pod, n);
	}
	return !strcmp(json_object_get_string(n), want);
}

bool ps_filter_match(ps_filter *f, eng *g, json_object *doc, const char *status)
{
	if (!f)
		return true;
	const char *id = eng_doc_str(doc, "Id"), *name = eng_doc_str(doc, "Name");
	bool ok = true;
	for (int k = 0; ok && k < K_N; k++) {
		if (!f->n[k])
			continue;
		if (k == K_LABEL) { /* as Docker: every label given must match */
			for (size_t i = 0; ok && i < f->n[k]; i++)
				ok = label_match(doc, f->vals[k][i].v);
			continue;
		}
		bool any = false;
		for (size_t i = 0; !any && i < f->n[k]; i++) {
			const fval *v = &f->vals[k][i];
			switch (k) {
			case K_ID:
				any = id && !strncmp(id, v->v, strlen(v->v));
				break;
			case K_NAME:
				any = name && regexec(&v->re, name, 0, NULL, 0) == 0;
				break;
			case K_STATUS:
				any = !strcmp(status, v->v);
				break;
			case K_EXITED:
				any = !strcmp(status, "exited") &&
				      eng_doc_int(doc, "State.ExitCode") == v->code;
				break;
			case K_ANCESTOR:
				any = ancestor_match(v, eng_doc_str(doc, "Config.Image"),
						     eng_doc_str(doc, "Image"), f->root, &f->st);
				break;
			case K_LABEL:
				any = label_match(doc, v->v);
				break;
			case K_POD:
				any = pod_match(f, g, doc, v->v);
				break;
			case K_HEALTH: {
				const char *h = eng_doc_str(doc, "State.Health.Status");
				any = !strcmp(v->v, h ? h : "none");
				break;
			}
			}
		}
		ok = any;
	}
	return ok;
}
