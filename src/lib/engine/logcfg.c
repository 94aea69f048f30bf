/* --log-driver and --log-opt: Docker's json-file driver with its rotation
 * options (max-size, max-file), or none. Kept in container.json as Docker
 * keeps it (HostConfig.LogConfig {Type, Config}); the monitor gets it on its
 * command line and rotates ctr.log -> ctr.log.1 -> ... itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

int eng_log_cfg_parse(const char *driver, char *const *opts, eng_log_cfg *out, berr *e)
{
	*out = (eng_log_cfg){.max_file = 1};
	if (driver && strcmp(driver, "json-file") && strcmp(driver, "none"))
		return berr_set(e, EINVAL,
				"--log-driver \"%s\": berth has the json-file and none drivers",
				driver);
	out->none = driver && !strcmp(driver, "none");
	bool files_set = false;
	for (char *const *o = opts; o && *o; o++) {
		const char *eq = strchr(*o, '=');
		if (out->none)
			return berr_set(e, EINVAL, "unknown log opt '%s' for none log driver", *o);
		if (eq && !strncmp(*o, "max-size=", 9)) {
			if (eng_parse_size(eq + 1, &out->max_size) < 0 || out->max_size <= 0)
				return berr_set(e, EINVAL, "--log-opt %s: not a size", *o);
		} else if (eq && !strncmp(*o, "max-file=", 9)) {
			char *end;
			long n = strtol(eq + 1, &end, 10);
			if (*end || end == eq + 1 || n < 1 || n > 1000)
				return berr_set(e, EINVAL, "--log-opt %s: want a count from 1", *o);
			out->max_file = (int)n;
			files_set = true;
		} else {
			return berr_set(e, EINVAL,
					"unknown log opt '%.*s' for json-file log driver",
					eq ? (int)(eq - *o) : (int)strlen(*o), *o);
		}
	}
	if (files_set && out->max_file > 1 && !out->max_size)
		return berr_set(e, EINVAL, "--log-opt max-file needs max-size (as Docker's)");
	return 0;
}

json_object *eng_log_cfg_json(const eng_log_cfg *c)
{
	json_object *o = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(o, "Type", json_object_new_string(c->none ? "none" : "json-file"));
	if (c->max_size) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", (long long)c->max_size);
		json_object_object_add(cfg, "max-size", json_object_new_string(v));
		snprintf(v, sizeof(v), "%d", c->max_file);
		json_object_object_add(cfg, "max-file", json_object_new_string(v));
	}
	json_object_object_add(o, "Config", cfg);
	return o;
}

void eng_log_cfg_of(json_object *doc, eng_log_cfg *out)
{
	*out = (eng_log_cfg){.max_file = 1};
	json_object *hc, *lc, *t, *cfg, *v;
	if (!json_object_object_get_ex(doc, "HostConfig", &hc) ||
	    !json_object_object_get_ex(hc, "LogConfig", &lc))
		return;
	out->none =
	    json_object_object_get_ex(lc, "Type", &t) && !strcmp(json_object_get_string(t), "none");
	if (!json_object_object_get_ex(lc, "Config", &cfg))
		return;
	if (json_object_object_get_ex(cfg, "max-size", &v))
		out->max_size = strtoll(json_object_get_string(v), NULL, 10);
	if (json_object_object_get_ex(cfg, "max-file", &v))
		out->max_file = atoi(json_object_get_string(v));
	if (out->max_file < 1 || out->max_file > 1000) /* as --log-opt allows */
		out->max_file = 1;
}
