/* build_run: the stages a target needs, in order, one step at a time; ARG
 * and ENV scoping as the Dockerfile reference documents it; the config
 * instructions (build_config.c applies them); the final image's labels and
 * tags. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/buf.h"
#include "build/build_priv.h"
#include "build/ignore.h"
#include "build/subst.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Docker's predefined ARGs: usable without a declaration, from --build-arg
 * only, in RUN's environment but not in the cache key or history. */
static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
					 "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
					 "ALL_PROXY",  "all_proxy",  NULL};
/* BuildKit's automatic platform ARGs, in the global scope. */
static const char *const platform_args[] = {"TARGETPLATFORM=linux/amd64",
					    "TARGETOS=linux",
					    "TARGETARCH=amd64",
					    "TARGETVARIANT=",
					    "BUILDPLATFORM=linux/amd64",
					    "BUILDOS=linux",
					    "BUILDARCH=amd64",
					    "BUILDVARIANT=",
					    NULL};

void bx_progress(bctx *b, const char *fmt, ...)
{
	if (!b->o->progress)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line)
		b->o->progress(b->o->progress_ctx, line);
	free(line);
}

char *bx_tmpname(bctx *b, const char *prefix)
{
	return xasprintf("%s%u", prefix, b->seq++);
}

static const char *kv_get(char *const *v, const char *name)
{
	return subst_env_lookup((void *)v, name);
}

/* Set "name=value" in *v (replacing an earlier one). */
static void kv_set(char ***v, const char *name, const char *value)
{
	size_t len = strlen(name);
	char *line = xasprintf("%s=%s", name, value);
	for (size_t i = 0; *v && (*v)[i]; i++)
		if (!strncmp((*v)[i], name, len) && (*v)[i][len] == '=') {
			free((*v)[i]);
			(*v)[i] = line;
			return;
		}
	strv_push(v, line);
	free(line);
}

static json_object *jobj(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

char **bx_subst_env(const bstage *st)
{
	char **v = strv_dup(st->args);
	json_object *env = jobj(jobj(st->doc, "config"), "Env");
	for (size_t i = 0;
	     env && json_object_is_type(env, json_type_array) && i < json_object_array_length(env);
	     i++)
		strv_push(&v, json_object_get_string(json_object_array_get_idx(env, i)));
	if (!v)
		v = xzalloc(sizeof(char *));
	return v;
}

static const char *build_arg(bctx *b, const char *name)
{
	const char *v = kv_get(b->o->build_args, name);
	if (v && !kv_get(b->used_args, name))
		kv_set(&b->used_args, name, "");
	return v;
}

/* ARG name[=default]: its value in scope (NULL: declared without one). */
static int arg_value(bctx *b, const df_kv *kv, char *const *scope, bool global, char **out, berr *e)
{
	*out = NULL;
	const char *given = build_arg(b, kv->key);
	if (given) {
		*out = xstrdup(given);
		return 0;
	}
	if (kv->value) {
		*out = subst_word(kv->value, b->df->escape, subst_env_lookup, (void *)scope, e);
		return *out ? 0 : -1;
	}
	const char *g = global ? NULL : kv_get(b->global_args, kv->key);
	if (g)
		*out = xstrdup(g);
	return 0;
}

static int global_args(bctx *b, berr *e)
{
	for (size_t i = 0; platform_args[i]; i++)
		strv_push(&b->global_args, platform_args[i]);
	for (size_t i = 0; i < b->df->n_global_args; i++) {
		const df_instr *in = &b->df->global_args[i];
		for (size_t j = 0; j < in->n_pairs; j++) {
			char *v;
			if (arg_value(b, &in->pairs[j], b->global_args, true, &v, e) < 0)
				return berr_ctx(e, "%s:%zu", b->df_name, in->line);
			if (v)
				kv_set(&b->global_args, in->pairs[j].key, v);
			free(v);
		}
	}
	return 0;
}

/* An earlier stage by name or index, else -1. */
static long stage_ref(bctx *b, const char *name, size_t before)
{
	const df_stage *s = df_stage_find(b->df, name);
	if (!s)
		return -1;
	long i = s - b->df->stages;
	return (size_t)i < before ? i : -1;
}

static char *from_ref(bctx *b, const df_stage *s, berr *e)
{
	return subst_word(s->image, b->df->escape, subst_env_lookup, b->global_args, e);
}

/* The stages the target needs: it, and what its FROM and COPY --from name,
 * transitively (a worklist over the earlier stages). */
static int mark_needed(bctx *b, size_t target, berr *e)
{
	size_t *work = xzalloc(sizeof(size_t) * (b->df->n_stages + 1)), n = 0;
	work[n++] = target;
	b->stages[target].needed = true;
	while (n) {
		size_t i = work[--n];
		const df_stage *s = &b->df->stages[i];
		char *ref = from_ref(b, s, e);
		if (!ref) {
			free(work);
			return berr_ctx(e, "%s:%zu", b->df_name, s->instrs[0].line);
		}
		long dep = stage_ref(b, ref, i);
		free(ref);
		if (dep >= 0 && !b->stages[dep].needed) {
			b->stages[dep].needed = true;
			work[n++] = (size_t)dep;
		}
		for (size_t j = 1; j < s->n_instrs; j++) {
			const df_instr *in = &s->instrs[j];
			if (in->kind != DF_COPY && in->kind != DF_ADD && in->kind != DF_RUN)
				continue;
			for (size_t k = 0; k < in->n_flags; k++) {
				const df_kv *f = &in->flags[k];
				bool run = in->kind == DF_RUN;
				if (strcmp(f->key, run ? "mount" : "from") || !f->value)
					continue;
				_cleanup_free_ char *from =
				    run ? brun_mount_from(f->value) : xstrdup(f->value);
				if (!from)
					continue;
				dep = stage_ref(b, from, i);
				if (dep >= 0 && !b->stages[dep].needed) {
					b->stages[dep].needed = true;
					work[n++] = (size_t)dep;
				}
			}
		}
	}
	free(work);
	return 0;
}

/* A step that only changes the config: cached by its text. */

/* The stage goes on from image id: its config is the stage's now. */
static int stage_take(bctx *b, bstage *st, const dg_str *id, berr *e)
{
	json_object *doc = bimg_doc(b, id->s, e);
	if (!doc)
		return -1;
	json_object_put(st->doc);
	st->doc = doc;
	free(st->image);
	st->image = xstrdup(id->s);
	return 0;
}

static int config_step(bctx *b, bstage *st, const df_instr *in, char **env, berr *e)
{
	_cleanup_free_ char *text =
	    df_kind_expands(in->kind)
		? subst_word(in->original, b->df->escape, subst_env_lookup, env, e)
		: xstrdup(in->original);
	if (!text)
		return -1;
	_cleanup_free_ char *by = xasprintf("/bin/sh -c #(nop) %s", text);
	bkey k;
	bcache_key(st->image, by, st->args, NULL, &k);
	dg_str id;
	if (bcache_get(b, &k, &id)) {
		bx_progress(b, " --> Using cache %s", dg_hex(id.s));
	} else {
		json_object *doc = NULL;
		if (json_object_deep_copy(st->doc, &doc, NULL) < 0)
			return berr_set(e, ENOMEM, "copy the image config");
		if (bx_config(b, st, in, env, doc, e) < 0) {
			json_object_put(doc);
			return -1;
		}
		bimg_history(b, doc, by, true);
		int r = bimg_write(b, st->image, doc, -1, false, &id, e);
		json_object_put(doc);
		if (r < 0 || bcache_put(b, &k, &id, e) < 0)
			return -1;
		bx_progress(b, " --> %.12s", dg_hex(id.s));
	}
	if (stage_take(b, st, &id, e) < 0)
		return -1;
	if (in->kind == DF_CMD)
		st->cmd_set = true;
	return 0;
}

static int stage_arg(bctx *b, bstage *st, const df_instr *in, char **env, berr *e)
{
	for (size_t j = 0; j < in->n_pairs; j++) {
		char *v;
		if (arg_value(b, &in->pairs[j], env, false, &v, e) < 0)
			return -1;
		if (v)
			kv_set(&st->args, in->pairs[j].key, v);
		free(v);
	}
	return 0;
}

int bx_pull_image(bctx *b, const char *what, const char *ref, berr *e)
{
	if (b->o->pull == BUILD_PULL_NEVER)
		return 0;
	for (size_t i = 0; b->pulled && b->pulled[i]; i++)
		if (!strcmp(b->pulled[i], ref))
			return 0;
	img_image im;
	berr ig;
	bool present = image_resolve(b->s, ref, &im, &ig) == 0;
	if (present)
		image_free(&im);
	if (present && b->o->pull == BUILD_PULL_MISSING)
		return 0;
	bx_progress(b, " --> Pulling %s", ref);
	reg_opts ro = b->o->reg ? *b->o->reg : (reg_opts){.tls_verify = -1};
	ro.progress = NULL;
	dg_str id, digest;
	if (registry_pull(b->s, ref, &ro, &id, &digest, e) < 0) {
		if (present)
			return berr_ctx(e, "%s%s: --pull=always", what, ref);
		return berr_ctx(e, "%s%s: image not found locally, and the pull failed", what, ref);
	}
	bx_progress(b, " --> Pulled %s (%s)", ref, digest.s);
	strv_push(&b->pulled, ref);
	return 0;
}

static int from_step(bctx *b, size_t i, berr *e)
{
	bstage *st = &b->stages[i];
	const df_stage *s = &b->df->stages[i];
	_cleanup_free_ char *ref = from_ref(b, s, e);
	if (!ref)
		return -1;
	if (!*ref)
		return berr_set(e, EINVAL, "FROM: no image given (\"%s\" is empty)", s->image);
	long dep = stage_ref(b, ref, i);
	for (size_t k = 0; k < s->instrs[0].n_flags; k++)
		if (!strcmp(s->instrs[0].flags[k].key, "pull"))
			return berr_set(e, ENOTSUP,
					"FROM --pull: berth build does not pull "
					"yet (berth pull the image first)");
	if (dep >= 0) {
		st->image = b->stages[dep].image ? xstrdup(b->stages[dep].image) : NULL;
		json_object_deep_copy(b->stages[dep].doc, &st->doc, NULL);
		return st->doc ? 0 : berr_set(e, ENOMEM, "copy a stage's config");
	}
	if (!strcasecmp(ref, "scratch")) {
		st->doc = bimg_scratch_doc();
		return 0;
	}
	if (bx_pull_image(b, "FROM ", ref, e) < 0)
		return -1;
	img_image im;
	if (image_resolve(b->s, ref, &im, e) < 0) {
		if (e->errnum == ENOENT)
			return berr_set(e, ENOENT,
					"FROM %s: image not found locally (--pull=never; "
					"--pull=missing pulls it)",
					ref);
		return -1;
	}
	st->image = xstrdup(im.rec.id.s);
	image_free(&im);
	st->doc = bimg_doc(b, st->image, e);
	return st->doc ? 0 : -1;
}

static int run_step(bctx *b, bstage *st, const df_instr *in, berr *e)
{
	__attribute__((cleanup(strv_freep))) char **env = bx_subst_env(st);
	dg_str id;
	bool cached = false;
	int r = 0;
	switch (in->kind) {
	case DF_ARG:
		return stage_arg(b, st, in, env, e);
	case DF_RUN:
		r = bstep_run(b, st, in, env, &id, &cached, e);
		break;
	case DF_COPY:
	case DF_ADD:
		r = bstep_copy(b, st, in, env, &id, &cached, e);
		break;
	case DF_WORKDIR:
		r = bstep_workdir(b, st, in, env, &id, &cached, e);
		break;
	case DF_FROM:
		return berr_set(e, EINVAL, "FROM inside a stage");
	default:
		return config_step(b, st, in, env, e);
	}
	if (r < 0)
		return -1;
	if (cached)
		bx_progress(b, " --> Using cache %s", dg_hex(id.s));
	else
		bx_progress(b, " --> %.12s", dg_hex(id.s));
	return stage_take(b, st, &id, e);
}

/* The base image's ONBUILD triggers, run right after FROM as Docker does;
 * the new image does not inherit them. */
static int onbuild_triggers(bctx *b, bstage *st, berr *e)
{
	json_object *cfg = jobj(st->doc, "config"), *ob = jobj(cfg, "OnBuild");
	if (!ob || !json_object_is_type(ob, json_type_array) || !json_object_array_length(ob))
		return 0;
	json_object_get(ob);
	json_object_object_del(cfg, "OnBuild");
	size_t n = json_object_array_length(ob);
	bx_progress(b, " --> Executing %zu build trigger%s", n, n > 1 ? "s" : "");
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(ob, i));
		_cleanup_free_ char *data = xasprintf("FROM scratch\n%s\n", t ? t : "");
		df_file *f = df_parse(data, strlen(data), "ONBUILD", e);
		if (!f) {
			ret = -1;
			break;
		}
		const df_instr *in = f->stages[0].n_instrs == 2 ? &f->stages[0].instrs[1] : NULL;
		if (!in || in->kind == DF_FROM || in->kind == DF_ONBUILD ||
		    in->kind == DF_MAINTAINER)
			ret =
			    berr_set(e, EINVAL, "ONBUILD trigger \"%s\": not allowed", t ? t : "");
		else if (run_step(b, st, in, e) < 0)
			ret = berr_ctx(e, "ONBUILD trigger %s", in->original);
		df_free(f);
	}
	json_object_put(ob);
	return ret;
}

static int run_stage(bctx *b, size_t i, berr *e)
{
	const df_stage *s = &b->df->stages[i];
	bstage *st = &b->stages[i];
	b->step++;
	bx_progress(b, "STEP %zu/%zu: %s", b->step, b->n_steps, s->instrs[0].original);
	if (from_step(b, i, e) < 0 || onbuild_triggers(b, st, e) < 0)
		return berr_ctx(e, "step %zu/%zu %s", b->step, b->n_steps, s->instrs[0].original);
	for (size_t j = 1; j < s->n_instrs; j++) {
		const df_instr *in = &s->instrs[j];
		b->step++;
		if (b->o->cancel && *b->o->cancel)
			return berr_set(e, EINTR, "interrupted before step %zu/%zu", b->step,
					b->n_steps);
		bx_progress(b, "STEP %zu/%zu: %s", b->step, b->n_steps, in->original);
		if (run_step(b, st, in, e) < 0)
			return berr_ctx(e, "step %zu/%zu %s", b->step, b->n_steps, in->original);
	}
	st->done = true;
	return 0;
}

/* --label K=V on the final image: one more config step (cached). */
static int final_labels(bctx *b, bstage *st, berr *e)
{
	if (!b->o->labels || !*b->o->labels)
		return 0;
	bbuf by = {0};
	const char *nop = "/bin/sh -c #(nop) LABEL";
	bbuf_add(&by, nop, strlen(nop));
	for (char *const *l = b->o->labels; *l; l++) {
		bbuf_add(&by, " ", 1);
		bbuf_add(&by, *l, strlen(*l));
	}
	bkey k;
	bcache_key(st->image, by.p, NULL, NULL, &k);
	dg_str id;
	int r = 0;
	if (bcache_get(b, &k, &id)) {
		bx_progress(b, " --> Using cache %s", dg_hex(id.s));
	} else {
		json_object *doc = NULL;
		if (json_object_deep_copy(st->doc, &doc, NULL) < 0) {
			free(by.p);
			return berr_set(e, ENOMEM, "copy the image config");
		}
		json_object *cfg = jobj(doc, "config"), *labels = jobj(cfg, "Labels");
		if (!labels || !json_object_is_type(labels, json_type_object)) {
			labels = json_object_new_object();
			json_object_object_add(cfg, "Labels", labels);
		}
		for (char *const *l = b->o->labels; *l; l++) {
			const char *eq = strchr(*l, '=');
			_cleanup_free_ char *key =
			    eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
			json_object_object_add(labels, key,
					       json_object_new_string(eq ? eq + 1 : ""));
		}
		bimg_history(b, doc, by.p, true);
		r = bimg_write(b, st->image, doc, -1, false, &id, e);
		json_object_put(doc);
		if (r == 0)
			r = bcache_put(b, &k, &id, e);
	}
	free(by.p);
	if (r < 0)
		return -1;
	free(st->image);
	st->image = xstrdup(id.s);
	return 0;
}

/* A regular file of at most max bytes (a fifo or a device named Dockerfile
 * is refused, never read): 0, 1 when it does not exist, -1. */
static int read_small(int dirfd, const char *path, bool in_root, size_t max, char **data,
		      size_t *len, berr *e)
{
	int fd = in_root ? fs_open_in_root(dirfd, path, O_RDONLY | O_NONBLOCK, 0, e)
			 : openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && (in_root ? e->errnum : errno) == ENOENT)
		return 1;
	if (fd < 0)
		return in_root ? -1 : berr_sys(e, "open %s", path);
	struct stat st;
	int r = -1;
	if (fstat(fd, &st) < 0)
		berr_sys(e, "stat %s", path);
	else if (!S_ISREG(st.st_mode))
		berr_set(e, EINVAL, "%s: not a regular file", path);
	else if ((unsigned long long)st.st_size > max)
		berr_set(e, EFBIG, "%s: larger than %zu bytes", path, max);
	else
		r = fs_read_fd(fd, data, len, e);
	close(fd);
	return r;
}

/* The Dockerfile's bytes: -f FILE, else Containerfile or Dockerfile in the
 * context. */
static int read_dockerfile(bctx *b, int cfd, char **data, size_t *len, berr *e)
{
	if (b->o->file_data) {
		if (b->o->file_len > DF_MAX_BYTES)
			return berr_set(e, EFBIG, "the Dockerfile: larger than %u bytes",
					DF_MAX_BYTES);
		*data = xstrndup(b->o->file_data, b->o->file_len);
		*len = b->o->file_len;
		return 0;
	}
	if (b->o->file) {
		const char *sl = strrchr(b->o->file, '/');
		b->df_name = sl ? sl + 1 : b->o->file;
		int r = read_small(AT_FDCWD, b->o->file, false, DF_MAX_BYTES, data, len, e);
		return r == 1 ? berr_set(e, ENOENT, "%s: no such file", b->o->file) : r;
	}
	const char *names[] = {"Containerfile", "Dockerfile"};
	for (size_t i = 0; i < 2; i++) {
		int r = read_small(cfd, names[i], true, DF_MAX_BYTES, data, len, e);
		if (r == 1)
			continue;
		b->df_name = names[i];
		return r;
	}
	return berr_set(e, ENOENT, "%s: no Containerfile or Dockerfile in the context",
			b->o->context);
}

static ignore_matcher *read_ignore(int cfd, berr *e)
{
	const char *names[] = {".containerignore", ".dockerignore"};
	for (size_t i = 0; i < 2; i++) {
		char *data;
		size_t len;
		int r = read_small(cfd, names[i], true, IGNORE_MAX_BYTES, &data, &len, e);
		if (r == 1)
			continue;
		if (r < 0)
			return NULL;
		ignore_matcher *m = ignore_parse(data, len, names[i], e);
		free(data);
		return m;
	}
	return ignore_parse("", 0, ".dockerignore", e);
}

static int prepare(bctx *b, berr *e)
{
	_cleanup_close_ int cfd = open(b->o->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0)
		return berr_sys(e, "open the context %s", b->o->context);
	char *data = NULL;
	size_t len;
	if (read_dockerfile(b, cfd, &data, &len, e) < 0)
		return -1;
	b->df = df_parse(data, len, b->df_name, e);
	free(data);
	if (!b->df)
		return -1;
	if (!b->df->n_stages)
		return berr_set(e, EINVAL, "%s: no FROM instruction", b->df_name);
	ignore_matcher *m = read_ignore(cfd, e);
	if (!m)
		return -1;
	_cleanup_free_ char *base = xasprintf("%s/build-tmp", b->o->root);
	if (mkdir(base, 0700) < 0 && errno != EEXIST) {
		ignore_free(m);
		return berr_sys(e, "mkdir %s", base);
	}
	char *t = xasprintf("%s/XXXXXX", base);
	if (!mkdtemp(t)) {
		free(t);
		ignore_free(m);
		return berr_sys(e, "mkdtemp in %s", base);
	}
	b->tmp = t;
	int r = -1;
	if ((b->tmp_fd = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		berr_sys(e, "open %s", t);
	else if (flock(b->tmp_fd, LOCK_EX) < 0) /* "a live build's" (build_gc.c) */
		berr_sys(e, "lock %s", t);
	else if (mkdirat(b->tmp_fd, "context", 0755) < 0)
		berr_sys(e, "mkdir %s/context", t);
	else if ((b->ctx_fd = openat(b->tmp_fd, "context", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		berr_sys(e, "open %s/context", t);
	else
		r = bctx_filter_copy(cfd, m, b->ctx_fd, e);
	ignore_free(m);
	return r < 0 ? berr_ctx(e, "the build context") : 0;
}

static void finish(bctx *b)
{
	bsecret_free(b);
	strv_free(b->pulled);
	if (b->ctx_fd >= 0)
		close(b->ctx_fd);
	if (b->tmp_fd >= 0)
		close(b->tmp_fd);
	if (b->tmp) {
		berr ig;
		fs_rm_rf_at(AT_FDCWD, b->tmp, &ig);
		_cleanup_free_ char *base = xasprintf("%s/build-tmp", b->o->root);
		rmdir(base); /* another build may still use it */
		free(b->tmp);
	}
	for (size_t i = 0; b->df && b->stages && i < b->df->n_stages; i++) {
		free(b->stages[i].image);
		json_object_put(b->stages[i].doc);
		strv_free(b->stages[i].args);
	}
	free(b->stages);
	strv_free(b->global_args);
	strv_free(b->used_args);
	df_free(b->df);
	eng_close(b->g);
	store_close(b->s);
}

static void warn_unused(bctx *b)
{
	for (char *const *a = b->o->build_args; a && *a; a++) {
		_cleanup_free_ char *k = xstrndup(*a, strcspn(*a, "="));
		bool proxy = !strcmp(k, "SOURCE_DATE_EPOCH"); /* the front end's */
		for (size_t i = 0; proxy_args[i]; i++)
			proxy |= !strcmp(proxy_args[i], k);
		if (!proxy && !kv_get(b->used_args, k)) {
			char *w = xasprintf("one or more build-args [%s] were not consumed", k);
			strv_push(&b->o->warnings, w);
			free(w);
		}
	}
}

/* The proxy args given, for RUN's environment. */
char **bx_proxy_env(bctx *b)
{
	char **v = NULL;
	for (size_t i = 0; proxy_args[i]; i++) {
		const char *x = kv_get(b->o->build_args, proxy_args[i]);
		if (x)
			kv_set(&v, proxy_args[i], x);
	}
	return v;
}

int build_run(build_opts *o, dg_str *id, berr *e)
{
	bctx b = {.o = o, .tmp_fd = -1, .ctx_fd = -1, .df_name = "Dockerfile"};
	int ret = -1;
	if (!(b.s = store_open(o->root, e)) || !(b.g = eng_open(o->root, o->run_root, e)) ||
	    bsecret_load(&b, e) < 0 || prepare(&b, e) < 0 || global_args(&b, e) < 0)
		goto out;
	b.stages = xzalloc(sizeof(bstage) * b.df->n_stages);
	size_t target = b.df->n_stages - 1;
	if (o->target) {
		const df_stage *t = df_stage_find(b.df, o->target);
		if (!t) {
			berr_set(e, ENOENT, "target stage \"%s\" could not be found", o->target);
			goto out;
		}
		target = (size_t)(t - b.df->stages);
	}
	if (mark_needed(&b, target, e) < 0)
		goto out;
	for (size_t i = 0; i <= target; i++)
		if (b.stages[i].needed)
			b.n_steps += b.df->stages[i].n_instrs;
	for (size_t i = 0; i <= target; i++)
		if (b.stages[i].needed && run_stage(&b, i, e) < 0)
			goto out;
	bstage *st = &b.stages[target];
	if (final_labels(&b, st, e) < 0)
		goto out;
	if (!st->image) {
		/* FROM scratch and nothing else: an image of the config alone */
		bimg_history(&b, st->doc, "/bin/sh -c #(nop) FROM scratch", true);
		if (bimg_write(&b, NULL, st->doc, -1, false, id, e) < 0)
			goto out;
		st->image = xstrdup(id->s);
	}
	snprintf(id->s, sizeof(id->s), "%s", st->image);
	for (char *const *t = o->tags; t && *t; t++)
		if (image_tag(b.s, id->s, *t, e) < 0) {
			berr_ctx(e, "tag %s", *t);
			goto out;
		}
	warn_unused(&b);
	ret = 0;
out:
	finish(&b);
	return ret;
}
