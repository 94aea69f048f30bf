#include "image/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/digest.h"
#include "util/xalloc.h"

static char *ostr(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static int strv_field(json_object *o, const char *key, char ***out, berr *e)
{
	json_object *v;
	*out = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return berr_set(e, EINVAL, "config.%s: not an array", key);
	size_t n = json_object_array_length(v);
	char **r = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(v, i);
		if (!json_object_is_type(s, json_type_string)) {
			strv_free(r);
			return berr_set(e, EINVAL, "config.%s[%zu]: not a string", key, i);
		}
		r[i] = xstrdup(json_object_get_string(s));
	}
	*out = r;
	return 0;
}

/* {"80/tcp":{}} -> keys */
static char **keys_of(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	strv_builder r = {0};
	json_object_object_foreach(v, k, val)
	{
		(void)val;
		strvb_push(&r, k);
	}
	return strvb_take(&r);
}

void config_free(img_config *c)
{
	if (!c)
		return;
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->created);
	free(c->author);
	free(c->user);
	free(c->working_dir);
	free(c->stop_signal);
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	strv_free(c->exposed_ports);
	strv_free(c->volumes);
	strv_free(c->label_keys);
	strv_free(c->label_values);
	strv_free(c->diff_ids);
	json_object_put(c->raw);
	memset(c, 0, sizeof(*c));
}

int config_parse(const char *buf, size_t len, img_config *c, berr *e)
{
	memset(c, 0, sizeof(*c));
	json_tokener *tok = json_tokener_new();
	json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		return berr_set(e, EINVAL, "image config: invalid JSON: %s",
				json_tokener_error_desc(jerr));
	}
	c->raw = root;
	if (!json_object_is_type(root, json_type_object)) {
		berr_set(e, EINVAL, "image config: not a JSON object");
		goto fail;
	}
	c->architecture = ostr(root, "architecture");
	c->os = ostr(root, "os");
	c->variant = ostr(root, "variant");
	c->created = ostr(root, "created");
	c->author = ostr(root, "author");
	json_object *cfg = NULL;
	json_object_object_get_ex(root, "config", &cfg);
	if (cfg && json_object_is_type(cfg, json_type_object)) {
		c->user = ostr(cfg, "User");
		c->working_dir = ostr(cfg, "WorkingDir");
		c->stop_signal = ostr(cfg, "StopSignal");
		if (strv_field(cfg, "Entrypoint", &c->entrypoint, e) < 0 ||
		    strv_field(cfg, "Cmd", &c->cmd, e) < 0 ||
		    strv_field(cfg, "Env", &c->env, e) < 0)
			goto fail;
		c->exposed_ports = keys_of(cfg, "ExposedPorts");
		c->volumes = keys_of(cfg, "Volumes");
		json_object *labels;
		if (json_object_object_get_ex(cfg, "Labels", &labels) &&
		    json_object_is_type(labels, json_type_object)) {
			strv_builder keys = {0}, values = {0};
			json_object_object_foreach(labels, k, v)
			{
				strvb_push(&keys, k);
				strvb_push(&values, json_object_is_type(v, json_type_string)
							? json_object_get_string(v)
							: "");
			}
			c->label_keys = strvb_take(&keys);
			c->label_values = strvb_take(&values);
		}
	}
	json_object *rootfs, *ids;
	if (!json_object_object_get_ex(root, "rootfs", &rootfs) ||
	    !json_object_object_get_ex(rootfs, "diff_ids", &ids) ||
	    !json_object_is_type(ids, json_type_array)) {
		berr_set(e, EINVAL, "image config: rootfs.diff_ids: missing");
		goto fail;
	}
	if (strv_field(rootfs, "diff_ids", &c->diff_ids, e) < 0)
		goto fail;
	c->n_diff_ids = strv_len(c->diff_ids);
	for (size_t i = 0; i < c->n_diff_ids; i++)
		if (dg_validate(c->diff_ids[i], e) < 0) {
			berr_ctx(e, "image config: rootfs.diff_ids[%zu]", i);
			goto fail;
		}
	return 0;
fail:
	config_free(c);
	return -1;
}

const char *config_label(const img_config *c, const char *key)
{
	for (size_t i = 0; c->label_keys && c->label_keys[i]; i++)
		if (!strcmp(c->label_keys[i], key))
			return c->label_values[i];
	return NULL;
}
