/* Image references as Docker writes them:
 *   debian                      -> docker.io/library/debian:latest
 *   debian:12, quay.io/a/b:tag, localhost:5000/x/y@sha256:..., host/ns/name:tag@digest
 * Grammar: github.com/distribution/reference (name components lowercase
 * alphanumerics with separators, tag [\w][\w.-]{0,127}, sha256 digests). */
#pragma once

#include <stdbool.h>

#include "util/error.h"

#define REF_DEFAULT_DOMAIN "docker.io"

typedef struct img_ref {
	char *domain; /* "docker.io", "localhost:5000" */
	char *path;   /* "library/debian" */
	char *tag;    /* "latest"; NULL when only a digest was given */
	char *digest; /* "sha256:..." or NULL */
} img_ref;

/* Parse and normalise. default_domain (NULL: docker.io) is used for names
 * without a registry part; on docker.io a single-component name gets the
 * "library/" prefix. Without tag and digest the tag is "latest". */
int ref_parse(const char *s, const char *default_domain, img_ref *out, berr *e);
void ref_free(img_ref *r);

/* "domain/path" */
char *ref_name(const img_ref *r);
/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest" */
char *ref_string(const img_ref *r);
/* "domain/path:tag" (NULL without tag) */
char *ref_tagged(const img_ref *r);

/* Shortest form for display: drops "docker.io/library/" and "docker.io/". */
char *ref_familiar(const char *full);

/* Tag syntax check only. */
bool ref_tag_valid(const char *tag);
