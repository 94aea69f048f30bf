/* A cache of compiled filters. Compiling a Podman-sized profile with
 * libseccomp costs tens of milliseconds, more than starting the container;
 * crun caches for the same reason. A cache file holds the exact key (the
 * profile's JSON text, libseccomp's version and API level) and the program;
 * a hit requires the whole key to match, so the file name's hash only picks
 * the slot and a collision can never serve the wrong filter. The cache
 * directory lives in the runtime's state root (root-owned, 0700). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seccomp/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define CACHE_MAGIC "berth-seccomp-cache-1\n"

static char *full_key(const char *profile_json)
{
	const struct scmp_version *v = seccomp_version();
	return xasprintf("libseccomp %u.%u.%u api %u\n%s", v->major, v->minor, v->micro,
			 seccomp_api_get(), profile_json);
}

/* FNV-1a, 64 bit: only names the slot. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void put(char **buf, size_t *len, const void *p, size_t n)
{
	*buf = xrealloc(*buf, *len + n);
	memcpy(*buf + *len, p, n);
	*len += n;
}

static int load(int dirfd, const char *name, const char *key, seccomp_prog *out)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	berr ignore;
	if (fs_read_file_at(dirfd, name, &data, &len, &ignore) < 0)
		return -1;
	size_t off = strlen(CACHE_MAGIC), klen = strlen(key) + 1;
	if (len < off + klen || memcmp(data, CACHE_MAGIC, off) || memcmp(data + off, key, klen))
		return -1;
	off += klen;
	uint32_t flags, notify;
	uint64_t n;
	if (len - off < 16)
		return -1;
	memcpy(&flags, data + off, 4);
	memcpy(&notify, data + off + 4, 4);
	memcpy(&n, data + off + 8, 8);
	off += 16;
	if (n == 0 || n > BPF_MAXINSNS || (len - off) < n * sizeof(struct sock_filter))
		return -1;
	out->insns = xmalloc(n * sizeof(struct sock_filter));
	memcpy(out->insns, data + off, n * sizeof(struct sock_filter));
	off += n * sizeof(struct sock_filter);
	out->len = n;
	out->flags = flags;
	out->notify = notify != 0;
	/* the warnings the compile gave, NUL-separated */
	while (off < len) {
		size_t w = strnlen(data + off, len - off);
		if (off + w >= len)
			break;
		strv_push(&out->warnings, data + off);
		off += w + 1;
	}
	return 0;
}

static void store(int dirfd, const char *name, const char *key, const seccomp_prog *p)
{
	char *buf = NULL;
	size_t len = 0;
	put(&buf, &len, CACHE_MAGIC, strlen(CACHE_MAGIC));
	put(&buf, &len, key, strlen(key) + 1);
	uint32_t flags = p->flags, notify = p->notify;
	uint64_t n = p->len;
	put(&buf, &len, &flags, 4);
	put(&buf, &len, &notify, 4);
	put(&buf, &len, &n, 8);
	put(&buf, &len, p->insns, n * sizeof(struct sock_filter));
	for (size_t i = 0; p->warnings && p->warnings[i]; i++)
		put(&buf, &len, p->warnings[i], strlen(p->warnings[i]) + 1);
	berr ignore;
	fs_write_atomic_at(dirfd, name, buf, len, 0600, false, &ignore); /* best effort */
	free(buf);
}

int seccomp_compile_cached(const spec_seccomp *s, const char *profile_json, const char *cache_dir,
			   seccomp_prog *out, berr *e)
{
	*out = (seccomp_prog){0};
	if (!s->present || !profile_json || !cache_dir)
		return seccomp_compile(s, out, e);
	_cleanup_free_ char *key = full_key(profile_json);
	char name[32];
	snprintf(name, sizeof(name), "%016llx.bpf", (unsigned long long)fnv1a(key));
	berr ignore;
	if (fs_mkdir_p(cache_dir, 0700, &ignore) < 0)
		return seccomp_compile(s, out, e);
	_cleanup_close_ int dirfd =
	    open(cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	/* only a directory of our own (root-only) is trusted */
	if (dirfd < 0 || fstat(dirfd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077))
		return seccomp_compile(s, out, e);
	if (load(dirfd, name, key, out) == 0)
		return 0;
	seccomp_prog_free(out);
	if (seccomp_compile(s, out, e) < 0)
		return -1;
	if (out->len > 0)
		store(dirfd, name, key, out);
	return 0;
}
