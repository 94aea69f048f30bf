/* Container filters: berth ps --filter and the API's filters (ctr_filter.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "engine/engine.h"

typedef struct ps_filter ps_filter;
/* specs: "key=value" strings (NULL-terminated, may be NULL); root: the
 * store root (ancestor names are normalised with its default registry).
 * An unknown key or a bad value: EINVAL "invalid filter 'x'". */
ps_filter *ps_filter_parse(char **specs, const char *root, berr *e);
void ps_filter_free(ps_filter *f);
/* A status or exited filter lists stopped containers without -a. */
bool ps_filter_shows_stopped(const ps_filter *f);
/* doc: container.json; status: the reconciled state; g: the store (pod
 * names are read from it). */
bool ps_filter_match(ps_filter *f, eng *g, json_object *doc, const char *status);
/* A label filter's KEY or KEY=VALUE against a Labels object (may be NULL:
 * no match): Docker's rule, for containers, images, volumes, networks and
 * events alike. */
bool eng_labels_match(json_object *labels, const char *want);
