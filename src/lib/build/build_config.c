/* The config instructions of a Dockerfile applied to an image config
 * document ("config" object: Env, WorkingDir, User, ExposedPorts, Volumes,
 * Labels, Entrypoint, Cmd, StopSignal, Shell, Healthcheck, OnBuild; the
 * document's author for MAINTAINER), words substituted as the Dockerfile
 * reference's "Environment replacement" lists. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_priv.h"
#include "build/subst.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static json_object *jobj(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static json_object *jstrv(char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

char **bx_shell(const bstage *st)
{
	json_object *sh = jobj(jobj(st->doc, "config"), "Shell");
	char **v = NULL;
	if (sh && json_object_is_type(sh, json_type_array) && json_object_array_length(sh))
		for (size_t i = 0; i < json_object_array_length(sh); i++)
			strv_push(&v, json_object_get_string(json_object_array_get_idx(sh, i)));
	if (!v) {
		strv_push(&v, "/bin/sh");
		strv_push(&v, "-c");
	}
	return v;
}

/* A map object ({"80/tcp": {}}) in cfg, made if missing. */
static json_object *jmap(json_object *cfg, const char *k)
{
	json_object *m = jobj(cfg, k);
	if (!m || !json_object_is_type(m, json_type_object)) {
		m = json_object_new_object();
		json_object_object_add(cfg, k, m);
	}
	return m;
}

static void set_env(json_object *cfg, const char *k, const char *v)
{
	json_object *env = jobj(cfg, "Env");
	if (!env || !json_object_is_type(env, json_type_array)) {
		env = json_object_new_array();
		json_object_object_add(cfg, "Env", env);
	}
	char *line = xasprintf("%s=%s", k, v);
	size_t len = strlen(k);
	for (size_t i = 0; i < json_object_array_length(env); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(env, i));
		if (s && !strncmp(s, k, len) && s[len] == '=') {
			json_object_array_put_idx(env, i, json_object_new_string(line));
			free(line);
			return;
		}
	}
	json_object_array_add(env, json_object_new_string(line));
	free(line);
}

static char *word(bctx *b, const char *w, char **env, berr *e)
{
	return subst_word(w, b->df->escape, subst_env_lookup, env, e);
}

/* The command of CMD/ENTRYPOINT/HEALTHCHECK CMD: the exec form as is, the
 * shell form through the stage's shell. */
static json_object *command(const bstage *st, const df_instr *in, size_t from)
{
	if (in->json)
		return jstrv(in->args + from);
	char **sh = bx_shell(st);
	if (in->args[from])
		strv_push(&sh, in->args[from]);
	json_object *a = jstrv(sh);
	strv_free(sh);
	return a;
}

/* Go durations as HEALTHCHECK's flags take them ("30s", "1m30s", "500ms")
 * in nanoseconds. */
static int duration(const char *s, long long *ns)
{
	long long total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s)
			return -1;
		double unit;
		if (!strncmp(end, "ms", 2))
			unit = 1e6, end += 2;
		else if (!strncmp(end, "us", 2))
			unit = 1e3, end += 2;
		else if (!strncmp(end, "ns", 2))
			unit = 1, end += 2;
		else if (*end == 's')
			unit = 1e9, end++;
		else if (*end == 'm')
			unit = 60e9, end++;
		else if (*end == 'h')
			unit = 3600e9, end++;
		else
			return -1;
		total += (long long)(v * unit);
		s = end;
	}
	*ns = total;
	return 0;
}

static int healthcheck(const bstage *st, const df_instr *in, json_object *cfg, berr *e)
{
	json_object *h = json_object_new_object();
	if (in->n_args && !strcasecmp(in->args[0], "NONE")) {
		json_object *t = json_object_new_array();
		json_object_array_add(t, json_object_new_string("NONE"));
		json_object_object_add(h, "Test", t);
		json_object_object_add(cfg, "Healthcheck", h);
		return 0;
	}
	json_object *t = json_object_new_array();
	if (in->json) {
		json_object_array_add(t, json_object_new_string("CMD"));
		for (size_t i = 1; i < in->n_args; i++)
			json_object_array_add(t, json_object_new_string(in->args[i]));
	} else {
		json_object_array_add(t, json_object_new_string("CMD-SHELL"));
		json_object_array_add(t, json_object_new_string(in->n_args > 1 ? in->args[1] : ""));
	}
	(void)st;
	json_object_object_add(h, "Test", t);
	static const char *const keys[][2] = {{"interval", "Interval"},
					      {"timeout", "Timeout"},
					      {"start-period", "StartPeriod"},
					      {"start-interval", "StartInterval"}};
	for (size_t i = 0; i < in->n_flags; i++) {
		const df_kv *f = &in->flags[i];
		bool known = false;
		for (size_t k = 0; k < 4; k++)
			if (!strcmp(f->key, keys[k][0])) {
				long long ns;
				if (!f->value || duration(f->value, &ns) < 0) {
					json_object_put(h);
					return berr_set(e, EINVAL,
							"HEALTHCHECK --%s: bad duration \"%s\"",
							f->key, f->value ? f->value : "");
				}
				json_object_object_add(h, keys[k][1], json_object_new_int64(ns));
				known = true;
			}
		if (!strcmp(f->key, "retries")) {
			json_object_object_add(h, "Retries",
					       json_object_new_int(f->value ? atoi(f->value) : 0));
			known = true;
		}
		if (!known) {
			json_object_put(h);
			return berr_set(e, EINVAL, "HEALTHCHECK: unknown flag --%s", f->key);
		}
	}
	json_object_object_add(cfg, "Healthcheck", h);
	return 0;
}

static int pairs(bctx *b, const df_instr *in, char **env, json_object *cfg, berr *e)
{
	json_object *labels = in->kind == DF_LABEL ? jmap(cfg, "Labels") : NULL;
	for (size_t i = 0; i < in->n_pairs; i++) {
		_cleanup_free_ char *k = word(b, in->pairs[i].key, env, e);
		_cleanup_free_ char *v =
		    k ? word(b, in->pairs[i].value ? in->pairs[i].value : "", env, e) : NULL;
		if (!v)
			return -1;
		if (labels)
			json_object_object_add(labels, k, json_object_new_string(v));
		else
			set_env(cfg, k, v);
		/* ENV a=1 b=$a: each pair sees the ones before (Docker's rule is that
		 * all see the old values; BuildKit agrees: keep the old env) */
	}
	return 0;
}

static int words_into(bctx *b, const df_instr *in, char **env, json_object *m, bool port, berr *e)
{
	for (size_t i = 0; i < in->n_args; i++) {
		_cleanup_free_ char *w =
		    in->json ? xstrdup(in->args[i]) : word(b, in->args[i], env, e);
		if (!w)
			return -1;
		if (!*w)
			continue;
		if (port && !strchr(w, '/')) {
			char *p = xasprintf("%s/tcp", w);
			free(w);
			w = p;
		}
		if (port)
			for (char *c = strchr(w, '/'); c && *c; c++)
				*c = (char)tolower((unsigned char)*c);
		json_object_object_add(m, w, json_object_new_object());
	}
	return 0;
}

int bx_config(bctx *b, bstage *st, const df_instr *in, char **env, json_object *doc, berr *e)
{
	json_object *cfg = jobj(doc, "config");
	_cleanup_free_ char *one = NULL;
	switch (in->kind) {
	case DF_ENV:
	case DF_LABEL:
		return pairs(b, in, env, cfg, e);
	case DF_USER:
	case DF_STOPSIGNAL:
		if (!(one = word(b, in->n_args ? in->args[0] : "", env, e)))
			return -1;
		json_object_object_add(cfg, in->kind == DF_USER ? "User" : "StopSignal",
				       json_object_new_string(one));
		return 0;
	case DF_MAINTAINER:
		json_object_object_add(doc, "author",
				       json_object_new_string(in->n_args ? in->args[0] : ""));
		return 0;
	case DF_EXPOSE:
		return words_into(b, in, env, jmap(cfg, "ExposedPorts"), true, e);
	case DF_VOLUME:
		return words_into(b, in, env, jmap(cfg, "Volumes"), false, e);
	case DF_CMD:
		json_object_object_add(cfg, "Cmd", command(st, in, 0));
		return 0;
	case DF_ENTRYPOINT:
		json_object_object_add(cfg, "Entrypoint", command(st, in, 0));
		/* an inherited CMD does not survive a new ENTRYPOINT */
		if (!st->cmd_set)
			json_object_object_add(cfg, "Cmd", NULL);
		return 0;
	case DF_SHELL:
		if (!in->json || !in->n_args)
			return berr_set(e, EINVAL, "SHELL requires the arguments in JSON form");
		json_object_object_add(cfg, "Shell", jstrv(in->args));
		return 0;
	case DF_HEALTHCHECK:
		return healthcheck(st, in, cfg, e);
	case DF_ONBUILD: {
		json_object *ob = jobj(cfg, "OnBuild");
		if (!ob || !json_object_is_type(ob, json_type_array)) {
			ob = json_object_new_array();
			json_object_object_add(cfg, "OnBuild", ob);
		}
		const char *t = in->onbuild ? in->onbuild->original : "";
		json_object_array_add(ob, json_object_new_string(t));
		return 0;
	}
	case DF_WORKDIR:
		return berr_set(e, EINVAL, "WORKDIR is not a config-only step");
	default:
		return berr_set(e, EINVAL, "%s: not supported", df_kind_name(in->kind));
	}
}
