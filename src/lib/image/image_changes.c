/* `berth commit -c INSTRUCTION`: the Dockerfile instructions Docker accepts
 * as --change, applied to an image config's "config" object. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/image_commit.h"
#include "util/xalloc.h"

/* Words of a shell-form argument: blanks separate, "..." and '...' quote,
 * a backslash escapes the next character (outside '...'). */
static int split_words(const char *s, char ***out, berr *e)
{
	strv_builder b = {0};
	size_t n = strlen(s);
	char *w = xmalloc(n + 1);
	size_t wl = 0;
	bool in_word = false;
	char q = 0;
	for (const char *p = s; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
			else if (*p == '\\' && q == '"' && p[1])
				w[wl++] = *++p;
			else
				w[wl++] = *p;
			continue;
		}
		if (isspace((unsigned char)*p)) {
			if (in_word) {
				w[wl] = 0;
				strvb_push(&b, w);
				wl = 0;
				in_word = false;
			}
			continue;
		}
		in_word = true;
		if (*p == '"' || *p == '\'')
			q = *p;
		else if (*p == '\\' && p[1])
			w[wl++] = *++p;
		else
			w[wl++] = *p;
	}
	if (q) {
		free(w);
		strvb_free(&b);
		return berr_set(e, EINVAL, "unterminated quote");
	}
	if (in_word) {
		w[wl] = 0;
		strvb_push(&b, w);
	}
	free(w);
	*out = strvb_take(&b);
	return 0;
}

/* JSON form (an array of strings) or shell form (sh -c ARG); NULL with e. */
static json_object *exec_form(const char *arg, bool shell_ok, berr *e)
{
	if (arg[0] == '[') {
		json_object *v = json_tokener_parse(arg);
		bool ok = v && json_object_is_type(v, json_type_array);
		for (size_t i = 0; ok && i < json_object_array_length(v); i++)
			ok = json_object_is_type(json_object_array_get_idx(v, i), json_type_string);
		if (ok)
			return v;
		json_object_put(v);
		if (!shell_ok) {
			berr_set(e, EINVAL, "not a JSON array of strings");
			return NULL;
		}
	}
	json_object *v = json_object_new_array();
	json_object_array_add(v, json_object_new_string("/bin/sh"));
	json_object_array_add(v, json_object_new_string("-c"));
	json_object_array_add(v, json_object_new_string(arg));
	return v;
}

static json_object *obj_field(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object)) {
		v = json_object_new_object();
		json_object_object_add(o, key, v);
	}
	return v;
}

/* ENV and LABEL: "k=v k2=v2" or the old "k v". */
static int pairs(const char *arg, bool legacy_ok, char ***keys, char ***vals, berr *e)
{
	char **w;
	*keys = *vals = NULL;
	if (split_words(arg, &w, e) < 0)
		return -1;
	strv_builder k = {0}, v = {0};
	int ret = 0;
	if (w[0] && !strchr(w[0], '=') && legacy_ok) {
		const char *sp = arg;
		while (*sp && !isspace((unsigned char)*sp))
			sp++;
		while (isspace((unsigned char)*sp))
			sp++;
		if (!*sp)
			ret = berr_set(e, EINVAL, "%s: no value", w[0]);
		strvb_push(&k, w[0]);
		strvb_push(&v, sp);
	} else {
		for (size_t i = 0; w[i] && ret == 0; i++) {
			char *eq = strchr(w[i], '=');
			if (!eq || eq == w[i]) {
				ret = berr_set(e, EINVAL, "\"%s\": not KEY=VALUE", w[i]);
				break;
			}
			*eq = 0;
			strvb_push(&k, w[i]);
			strvb_push(&v, eq + 1);
		}
	}
	strv_free(w);
	*keys = strvb_take(&k);
	*vals = strvb_take(&v);
	if (ret == 0 && !(*keys)[0])
		ret = berr_set(e, EINVAL, "no KEY=VALUE");
	return ret;
}

static void env_set(json_object *cfg, const char *k, const char *v)
{
	json_object *env;
	if (!json_object_object_get_ex(cfg, "Env", &env) ||
	    !json_object_is_type(env, json_type_array)) {
		env = json_object_new_array();
		json_object_object_add(cfg, "Env", env);
	}
	char *kv = xasprintf("%s=%s", k, v);
	size_t kl = strlen(k);
	for (size_t i = 0; i < json_object_array_length(env); i++) {
		const char *cur = json_object_get_string(json_object_array_get_idx(env, i));
		if (cur && !strncmp(cur, k, kl) && cur[kl] == '=') {
			json_object_array_put_idx(env, i, json_object_new_string(kv));
			free(kv);
			return;
		}
	}
	json_object_array_add(env, json_object_new_string(kv));
	free(kv);
}

static int expose(json_object *cfg, const char *arg, berr *e)
{
	char **w;
	if (split_words(arg, &w, e) < 0)
		return -1;
	json_object *ports = obj_field(cfg, "ExposedPorts");
	int ret = w[0] ? 0 : berr_set(e, EINVAL, "no port");
	for (size_t i = 0; w[i] && ret == 0; i++) {
		char *slash = strchr(w[i], '/');
		const char *proto = slash ? slash + 1 : "tcp";
		if (slash)
			*slash = 0;
		char *end;
		errno = 0;
		long p = strtol(w[i], &end, 10);
		if (errno || end == w[i] || *end || p < 1 || p > 65535 ||
		    (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))) {
			ret = berr_set(e, EINVAL, "invalid port \"%s%s%s\"", w[i], slash ? "/" : "",
				       slash ? proto : "");
			break;
		}
		char key[32];
		snprintf(key, sizeof(key), "%ld/%s", p, proto);
		json_object_object_add(ports, key, json_object_new_object());
	}
	strv_free(w);
	return ret;
}

static int volume(json_object *cfg, const char *arg, berr *e)
{
	char **w = NULL;
	if (arg[0] == '[') {
		json_object *v = exec_form(arg, false, e);
		if (!v)
			return -1;
		strv_builder b = {0};
		for (size_t i = 0; i < json_object_array_length(v); i++)
			strvb_push(&b, json_object_get_string(json_object_array_get_idx(v, i)));
		json_object_put(v);
		w = strvb_take(&b);
	} else if (split_words(arg, &w, e) < 0) {
		return -1;
	}
	json_object *vols = obj_field(cfg, "Volumes");
	int ret = w[0] ? 0 : berr_set(e, EINVAL, "no path");
	for (size_t i = 0; w[i] && ret == 0; i++) {
		if (!w[i][0])
			ret = berr_set(e, EINVAL, "an empty path");
		else
			json_object_object_add(vols, w[i], json_object_new_object());
	}
	strv_free(w);
	return ret;
}

static char *one_word(const char *arg, berr *e)
{
	char **w;
	if (split_words(arg, &w, e) < 0)
		return NULL;
	char *r = NULL;
	if (!w[0] || w[1])
		berr_set(e, EINVAL, "takes exactly one argument");
	else
		r = xstrdup(w[0]);
	strv_free(w);
	return r;
}

static int workdir(json_object *cfg, const char *arg, berr *e)
{
	char *d = one_word(arg, e);
	if (!d)
		return -1;
	json_object *cur;
	const char *old =
	    json_object_object_get_ex(cfg, "WorkingDir", &cur) ? json_object_get_string(cur) : NULL;
	char *full = d[0] == '/' ? xstrdup(d) : xasprintf("%s/%s", old && old[0] ? old : "", d);
	json_object_object_add(cfg, "WorkingDir", json_object_new_string(full));
	free(full);
	free(d);
	return 0;
}

static int apply_one(json_object *cfg, const char *instr, bool *cmd_set, berr *e)
{
	while (isspace((unsigned char)*instr))
		instr++;
	size_t kl = 0;
	while (instr[kl] && !isspace((unsigned char)instr[kl]))
		kl++;
	char kw[16];
	if (kl == 0 || kl >= sizeof(kw))
		return berr_set(e, EINVAL, "\"%.*s\" is not a valid change instruction", (int)kl,
				instr);
	for (size_t i = 0; i < kl; i++)
		kw[i] = (char)toupper((unsigned char)instr[i]);
	kw[kl] = 0;
	const char *arg = instr + kl;
	while (isspace((unsigned char)*arg))
		arg++;
	size_t al = strlen(arg);
	char *a = xstrndup(arg, al);
	while (al && isspace((unsigned char)a[al - 1]))
		a[--al] = 0;
	int ret = 0;
	if (!a[0]) {
		ret = berr_set(e, EINVAL, "%s requires an argument", kw);
	} else if (!strcmp(kw, "CMD") || !strcmp(kw, "ENTRYPOINT")) {
		json_object *v = exec_form(a, true, e);
		bool is_cmd = kw[0] == 'C';
		json_object_object_add(cfg, is_cmd ? "Cmd" : "Entrypoint", v);
		if (is_cmd)
			*cmd_set = true;
		else if (!*cmd_set) /* as a Dockerfile: ENTRYPOINT drops the inherited CMD */
			json_object_object_add(cfg, "Cmd", NULL);
	} else if (!strcmp(kw, "ENV") || !strcmp(kw, "LABEL")) {
		char **k, **v;
		bool env = kw[0] == 'E';
		if ((ret = pairs(a, env, &k, &v, e)) == 0) {
			json_object *labels = env ? NULL : obj_field(cfg, "Labels");
			for (size_t i = 0; k[i]; i++) {
				if (env)
					env_set(cfg, k[i], v[i]);
				else
					json_object_object_add(labels, k[i],
							       json_object_new_string(v[i]));
			}
		}
		strv_free(k);
		strv_free(v);
	} else if (!strcmp(kw, "EXPOSE")) {
		ret = expose(cfg, a, e);
	} else if (!strcmp(kw, "VOLUME")) {
		ret = volume(cfg, a, e);
	} else if (!strcmp(kw, "WORKDIR")) {
		ret = workdir(cfg, a, e);
	} else if (!strcmp(kw, "USER") || !strcmp(kw, "STOPSIGNAL")) {
		char *w = one_word(a, e);
		if (!w)
			ret = -1;
		else
			json_object_object_add(cfg, kw[0] == 'U' ? "User" : "StopSignal",
					       json_object_new_string(w));
		free(w);
	} else {
		ret =
		    berr_set(e, EINVAL,
			     "%s is not a valid change instruction (CMD, ENTRYPOINT, ENV, EXPOSE, "
			     "LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)",
			     kw);
		free(a);
		return ret;
	}
	free(a);
	if (ret < 0)
		berr_ctx(e, "%s", kw);
	return ret;
}

int image_config_changes(json_object *cfg, char *const *changes, berr *e)
{
	bool cmd_set = false;
	for (size_t i = 0; changes && changes[i]; i++)
		if (apply_one(cfg, changes[i], &cmd_set, e) < 0)
			return berr_ctx(e, "change \"%s\"", changes[i]);
	return 0;
}
