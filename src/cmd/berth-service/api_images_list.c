/* GET /images/json (all, digests, filters: reference, dangling, label,
 * before, since) and POST /images/prune (filters: dangling, label, until):
 * the image store's index in Docker's shapes, each image's labels read from
 * its config blob. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/ctr_filter.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/index.h"
#include "image/reference.h"
#include "service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* The config's Labels (an object, maybe empty; never NULL). */
static json_object *labels_of(img_store *s, const img_rec *rec)
{
	char *buf = NULL;
	size_t len = 0;
	berr ig;
	json_object *out = NULL;
	if (rec->config_size > 0 && rec->config_size <= ARCHIVE_JSON_MAX &&
	    store_blob_read(s, rec->id.s, &buf, &len, &ig) == 0) {
		json_object *c = json_tokener_parse(buf), *cfg, *l;
		if (c && json_object_object_get_ex(c, "config", &cfg) &&
		    json_object_object_get_ex(cfg, "Labels", &l) &&
		    json_object_is_type(l, json_type_object))
			out = json_object_get(l);
		json_object_put(c);
	}
	free(buf);
	return out ? out : json_object_new_object();
}

/* ns: images built in one second still have an order for before/since */
static long long created_ns(const img_rec *rec)
{
	int64_t t = rec->created ? eng_time_parse(rec->created) : 0;
	return t ? t : rec->added * 1000000000LL;
}

static long long created_of(const img_rec *rec)
{
	return created_ns(rec) / 1000000000;
}

static bool dangling(const img_rec *rec)
{
	return !strv_len(rec->names) && !strv_len(rec->repo_digests);
}

/* reference=PATTERN: a glob against a name, with or without its tag, in the
 * stored form or the familiar one (busybox for docker.io/library/busybox) */
static bool ref_match(const img_rec *rec, const char *pat)
{
	for (char **n = rec->names; n && *n; n++) {
		_cleanup_free_ char *fam = ref_familiar(*n);
		const char *forms[2] = {*n, fam};
		for (int k = 0; k < 2; k++) {
			if (!forms[k])
				continue;
			_cleanup_free_ char *repo = xstrdup(forms[k]);
			char *colon = strrchr(repo, ':');
			if (colon && !strchr(colon, '/'))
				*colon = 0;
			if (!fnmatch(pat, forms[k], 0) || !fnmatch(pat, repo, 0))
				return true;
		}
	}
	return false;
}

/* The filters, parsed once: times resolved, values kept as given. */
typedef struct img_filter {
	char **specs;			/* "key=value" */
	long long before, since, until; /* ns; 0: not given */
} img_filter;

static int filter_times(req *q, resp *r, img_store *s, img_filter *f)
{
	for (char **p = f->specs; p && *p; p++) {
		const char *v = strchr(*p, '=') + 1;
		if (!strncmp(*p, "dangling=", 9) && strcmp(v, "true") && strcmp(v, "false") &&
		    strcmp(v, "1") && strcmp(v, "0")) {
			resp_error(r, 400, "invalid filter 'dangling=%s': true or false", v);
			return -1;
		}
		if (!strncmp(*p, "until=", 6)) {
			berr e;
			int64_t ns, now = (int64_t)time(NULL) * 1000000000;
			if (eng_logs_time_parse("until", v, now, &ns, &e) < 0) {
				resp_error(r, 400, "invalid filter 'until=%s': %s", v, e.msg);
				return -1;
			}
			f->until = ns;
		}
		bool bef = !strncmp(*p, "before=", 7);
		if (bef || !strncmp(*p, "since=", 6)) {
			img_index x;
			berr e;
			if (index_load(s, &x, &e) < 0) {
				resp_error(r, 500, "%s", e.msg);
				return -1;
			}
			int i = index_find(&x, v, NULL, &e);
			if (i >= 0)
				*(bef ? &f->before : &f->since) = created_ns(&x.v[i]);
			index_free(&x);
			if (i < 0) {
				resp_error(r, 404, "No such image: %s", v);
				return -1;
			}
		}
	}
	(void)q;
	return 0;
}

/* Does rec pass every filter key (one value of a key enough; labels all)? */
static bool passes(const img_filter *f, const img_rec *rec, json_object *labels)
{
	bool ref_given = false, ref_ok = false;
	for (char **p = f->specs; p && *p; p++) {
		const char *v = strchr(*p, '=') + 1;
		if (!strncmp(*p, "dangling=", 9)) {
			bool want = !strcmp(v, "true") || !strcmp(v, "1");
			if (dangling(rec) != want)
				return false;
		} else if (!strncmp(*p, "label=", 6)) {
			if (!eng_labels_match(labels, v))
				return false;
		} else if (!strncmp(*p, "reference=", 10)) {
			ref_given = true;
			ref_ok = ref_ok || ref_match(rec, v);
		}
	}
	long long c = created_ns(rec);
	if ((f->before && c >= f->before) || (f->since && c <= f->since) ||
	    (f->until && c >= f->until))
		return false;
	return !ref_given || ref_ok;
}

static json_object *strs(char *const *v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

void api_images_list(req *q, resp *r)
{
	static const char *const keys[] = {"reference", "dangling", "label",
					   "before",	"since",    NULL};
	img_filter f = {0};
	if (req_filters(q, r, keys, &f.specs) < 0)
		return;
	bool all = req_arg_bool(q, "all");
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	img_index x;
	if (!s || index_load(s, &x, &e) < 0) {
		strv_free(f.specs);
		resp_error(r, 500, "%s", e.msg);
		return;
	}
	if (filter_times(q, r, s, &f) < 0) {
		strv_free(f.specs);
		index_free(&x);
		return;
	}
	/* dangling=true lists the untagged ones without all */
	bool dangling_asked = false;
	for (char **p = f.specs; p && *p; p++)
		dangling_asked = dangling_asked || !strncmp(*p, "dangling=", 9);
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < x.n; i++) {
		const img_rec *rec = &x.v[i];
		if (!all && !dangling_asked && !rec->names) /* dangling: docker images -a */
			continue;
		json_object *labels = labels_of(s, rec);
		if (!passes(&f, rec, labels)) {
			json_object_put(labels);
			continue;
		}
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Id", json_object_new_string(rec->id.s));
		json_object_object_add(o, "ParentId", json_object_new_string(""));
		json_object *tags = strs(rec->names);
		if (!json_object_array_length(tags))
			json_object_array_add(tags, json_object_new_string("<none>:<none>"));
		json_object_object_add(o, "RepoTags", tags);
		json_object *digests = strs(rec->repo_digests);
		if (!json_object_array_length(digests) && !rec->names)
			json_object_array_add(digests, json_object_new_string("<none>@<none>"));
		json_object_object_add(o, "RepoDigests", digests);
		json_object_object_add(o, "Created", json_object_new_int64(created_of(rec)));
		json_object_object_add(o, "Size", json_object_new_int64(rec->size));
		json_object_object_add(o, "VirtualSize", json_object_new_int64(rec->size));
		json_object_object_add(o, "SharedSize", json_object_new_int(-1));
		json_object_object_add(o, "Labels", labels);
		json_object_object_add(o, "Containers", json_object_new_int(-1));
		json_object_array_add(arr, o);
	}
	index_free(&x);
	strv_free(f.specs);
	r->json = arr;
}

/* Docker's prune: dangling images (dangling=false: every image no container
 * uses), narrowed by label and until; SpaceReclaimed is the sum of the
 * removed images' sizes. */
void api_images_prune(req *q, resp *r)
{
	static const char *const keys[] = {"dangling", "label", "until", NULL};
	img_filter f = {0};
	if (req_filters(q, r, keys, &f.specs) < 0)
		return;
	bool only_dangling = true;
	for (char **p = f.specs; p && *p; p++)
		if (!strcmp(*p, "dangling=false") || !strcmp(*p, "dangling=0"))
			only_dangling = false;
	/* dangling is the mode, not a filter of it */
	img_filter sel = f;
	strv_builder rest = {0};
	for (char **p = f.specs; p && *p; p++)
		if (strncmp(*p, "dangling=", 9))
			strvb_push(&rest, *p);
	sel.specs = strvb_take(&rest);
	berr e;
	_cleanup_store_ img_store *s = store_open(q->s->c->root, &e);
	img_index x = {0};
	int rc = s && index_load(s, &x, &e) == 0 ? 0 : -1;
	if (rc < 0)
		resp_error(r, 500, "%s", e.msg);
	else if (filter_times(q, r, s, &sel) < 0)
		rc = -1;
	json_object *gone = json_object_new_array();
	long long reclaimed = 0;
	for (size_t i = 0; rc == 0 && i < x.n; i++) {
		const img_rec *rec = &x.v[i];
		if (only_dangling && !dangling(rec))
			continue;
		_cleanup_free_ char *holder = image_holder(s, rec->id.s);
		if (holder)
			continue;
		json_object *labels = labels_of(s, rec);
		bool ok = passes(&sel, rec, labels);
		json_object_put(labels);
		if (!ok)
			continue;
		char **out = NULL;
		berr ig;
		/* not held: force only untags every name of it */
		if (image_remove(s, rec->id.s, true, &out, &ig) == 0) {
			reclaimed += rec->size;
			for (char **l = out; l && *l; l++) {
				const char *colon = strchr(*l, ':');
				if (!colon || colon[1] != ' ')
					continue;
				json_object *o = json_object_new_object();
				_cleanup_free_ char *k = xstrndup(*l, (size_t)(colon - *l));
				json_object_object_add(o, k, json_object_new_string(colon + 2));
				json_object_array_add(gone, o);
			}
		}
		strv_free(out);
	}
	index_free(&x);
	strv_free(f.specs);
	strv_free(sel.specs);
	if (rc < 0) {
		json_object_put(gone);
		return;
	}
	r->json = json_object_new_object();
	json_object_object_add(r->json, "ImagesDeleted", gone);
	json_object_object_add(r->json, "SpaceReclaimed", json_object_new_int64(reclaimed));
}
