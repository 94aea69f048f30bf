/* SHA-256 through libcrypto's SHA256_* functions rather than EVP: the
 * first EVP digest in a process initialises OpenSSL 3's provider machinery
 * (about 1 ms measured, 0.7 ms without loading openssl.cnf), which would be
 * most of a `berth ps`; SHA256_* run the same optimised code (SHA-NI/AVX)
 * without it. They are deprecated for new designs with pluggable
 * algorithms, which a content digest fixed by the OCI spec is not. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "image/digest.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xalloc.h"

struct dg_hasher {
	SHA256_CTX ctx;
	unsigned long long n;
};

dg_hasher *dg_new(void)
{
	dg_hasher *h = xzalloc(sizeof(*h));
	if (SHA256_Init(&h->ctx) != 1)
		abort(); /* cannot fail for SHA-256 */
	return h;
}

void dg_update(dg_hasher *h, const void *buf, size_t len)
{
	if (len && SHA256_Update(&h->ctx, buf, len) != 1)
		abort();
	h->n += len;
}

unsigned long long dg_count(const dg_hasher *h)
{
	return h->n;
}

dg_str dg_final(dg_hasher *h)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	dg_str r;
	if (SHA256_Final(md, &h->ctx) != 1)
		abort();
	static const char hexd[] = "0123456789abcdef";
	memcpy(r.s, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++) {
		r.s[7 + 2 * i] = hexd[md[i] >> 4];
		r.s[8 + 2 * i] = hexd[md[i] & 15];
	}
	r.s[DG_STR_LEN] = '\0';
	return r;
}

void dg_free(dg_hasher *h)
{
	if (!h)
		return;
	free(h);
}

dg_str dg_of_buf(const void *buf, size_t len)
{
	dg_hasher *h = dg_new();
	dg_update(h, buf, len);
	dg_str r = dg_final(h);
	dg_free(h);
	return r;
}

int dg_of_fd(int fd, dg_str *out, unsigned long long *size, berr *e)
{
	dg_hasher *h = dg_new();
	/* a small buffer: system check hashes every blob, most of them small,
	 * and a 1 MiB allocation per blob cost more than the hashing */
	char buf[64 << 10];
	int ret = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = berr_sys(e, "read");
			break;
		}
		if (r == 0)
			break;
		dg_update(h, buf, (size_t)r);
	}
	if (ret == 0) {
		*out = dg_final(h);
		if (size)
			*size = dg_count(h);
	}
	dg_free(h);
	return ret;
}

int dg_validate(const char *d, berr *e)
{
	if (!d)
		return berr_set(e, EINVAL, "missing digest");
	const char *colon = strchr(d, ':');
	if (!colon)
		return berr_set(e, EINVAL, "invalid digest \"%s\": missing algorithm", d);
	if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6))
		return berr_set(e, EINVAL, "invalid digest \"%s\": unsupported algorithm", d);
	size_t n = strlen(colon + 1);
	if (n != DG_HEX_LEN)
		return berr_set(e, EINVAL, "invalid digest \"%s\": want 64 hex digits, got %zu", d,
				n);
	for (const char *p = colon + 1; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return berr_set(e, EINVAL,
					"invalid digest \"%s\": not lowercase hexadecimal", d);
	return 0;
}
