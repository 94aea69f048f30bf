/* OCI image manifest / index and Docker schema2 manifest / manifest list:
 * parsing, platform selection, and building an OCI manifest for images made
 * locally (import, load). Media types are the wire strings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"
#include "util/error.h"

#define MT_OCI_MANIFEST	     "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX	     "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST   "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST	     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_CONFIG	     "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG     "application/vnd.docker.container.image.v1+json"
#define MT_OCI_LAYER	     "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP    "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD    "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER	     "application/vnd.docker.image.rootfs.diff.tar"

/* Accept header for manifest requests: every kind we can read. */
#define MT_ACCEPT_ALL MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST

typedef struct img_desc {
	char *media_type;
	dg_str digest;
	long long size;
	char *os, *arch, *variant; /* index entries only */
	char *ref_name;		   /* annotation org.opencontainers.image.ref.name */
} img_desc;

typedef struct img_manifest {
	char *media_type;
	bool is_index; /* OCI index or Docker manifest list */
	img_desc config;
	img_desc *layers;
	size_t n_layers;
	img_desc *manifests; /* index entries */
	size_t n_manifests;
} img_manifest;

/* content_type (HTTP Content-Type, may be NULL) is used when the document
 * has no mediaType field. */
int manifest_parse(const char *buf, size_t len, const char *content_type, img_manifest *out,
		   berr *e);
void manifest_free(img_manifest *m);
void desc_free(img_desc *d);

/* Index entry for os/arch (NULLs: linux/amd64); -1 with e if none. */
int manifest_pick(const img_manifest *idx, const char *os, const char *arch, berr *e);

/* An OCI image manifest JSON document (returned malloc'ed). */
char *manifest_build_oci(const img_desc *config, const img_desc *layers, size_t n);

/* Layer compression from the media type: 0 none, 1 gzip, 2 zstd, -1 unknown
 * (or NULL). */
int mt_layer_compression(const char *mt);
bool mt_is_manifest(const char *mt);
