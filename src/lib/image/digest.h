/* Content digests: "sha256:" + 64 lowercase hex digits, computed with
 * OpenSSL EVP in a streaming fashion. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define DG_HEX_LEN 64
#define DG_STR_LEN (7 + DG_HEX_LEN) /* "sha256:" + hex, without NUL */

typedef struct dg_str {
	char s[DG_STR_LEN + 1];
} dg_str;

typedef struct dg_hasher dg_hasher;

dg_hasher *dg_new(void);
void dg_update(dg_hasher *h, const void *buf, size_t len);
/* Digest of everything fed so far; the hasher stays usable for dg_free only. */
dg_str dg_final(dg_hasher *h);
void dg_free(dg_hasher *h);
/* Bytes fed so far. */
unsigned long long dg_count(const dg_hasher *h);

dg_str dg_of_buf(const void *buf, size_t len);
/* Digest of a whole file (streamed). */
int dg_of_fd(int fd, dg_str *out, unsigned long long *size, berr *e);

/* Validates "sha256:<64 lowercase hex>"; the message names the problem. */
int dg_validate(const char *d, berr *e);
static inline bool dg_valid(const char *d)
{
	return dg_validate(d, NULL) == 0;
}
/* Pointer to the hex part of a valid digest. */
static inline const char *dg_hex(const char *d)
{
	return d + 7;
}
