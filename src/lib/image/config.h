/* The image configuration (OCI image-spec config.json / Docker image JSON):
 * what a container made from the image runs, and its rootfs diff_ids. */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "util/error.h"

typedef struct img_config {
	char *architecture, *os, *variant, *created, *author;
	/* config section; vectors are NULL-terminated (NULL if absent) */
	char *user, *working_dir, *stop_signal;
	char **entrypoint, **cmd, **env;
	char **exposed_ports; /* "80/tcp" */
	char **volumes;
	char **label_keys, **label_values; /* parallel vectors */
	char **diff_ids;		   /* rootfs.diff_ids, bottom layer first */
	size_t n_diff_ids;
	json_object *raw; /* the whole document (owned) */
} img_config;

int config_parse(const char *buf, size_t len, img_config *out, berr *e);
void config_free(img_config *c);
/* Value of a label, NULL if absent. */
const char *config_label(const img_config *c, const char *key);
