/* The context: libnftables loaded with dlopen at the first call that needs
 * it (bnft_lib), one batch per bnft_run; bnft_close for both back ends.
 *
 * libnftables.h is not included: the few entry points are declared here, so
 * that berth builds without libnftables-dev and runs without libnftables1
 * until a network is touched. Their ABI is the soname's (libnftables.so.1).
 */
#include "net/nft.h"
#include "net/nft_priv.h"

#include <dirent.h>
#include <dlfcn.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/proc.h"
#include "util/xalloc.h"

#define NFT_SONAME "libnftables.so.1"

/* From libnftables.h (stable since nftables 0.9). */
#define NFT_CTX_DEFAULT		     0u
#define NFT_CTX_OUTPUT_JSON	     (1u << 4)
#define NFT_CTX_OUTPUT_NUMERIC_ALL   ((1u << 7) | (1u << 8) | (1u << 9) | (1u << 10))
#define NFT_CTX_OUTPUT_NUMERIC_PROTO (1u << 7)

static int load_sym(bnft *n, void *slot, const char *name, berr *e)
{
	void *p = dlsym(n->dl, name);
	if (!p)
		return berr_set(e, ELIBACC, "%s: no symbol %s (install libnftables1)", NFT_SONAME,
				name);
	memcpy(slot, &p, sizeof(p)); /* object pointer to function pointer, as POSIX allows */
	return 0;
}

bnft *bnft_open(berr *e)
{
	(void)e; /* nothing can fail here: each back end is made at its first use */
	bnft *n = xzalloc(sizeof(*n));
	n->memfd = -1;
	return n;
}

int bnft_lib(bnft *n, berr *e)
{
	if (n->ctx)
		return 0;
	if (!n->dl) {
		n->dl = dlopen(NFT_SONAME, RTLD_NOW | RTLD_LOCAL);
		if (!n->dl) {
			const char *why = dlerror();
			return berr_set(e, ENOENT, "%s not found (install libnftables1): %s",
					NFT_SONAME, why ? why : "dlopen failed");
		}
	}
	if (load_sym(n, &n->ctx_new, "nft_ctx_new", e) < 0 ||
	    load_sym(n, &n->ctx_free, "nft_ctx_free", e) < 0 ||
	    load_sym(n, &n->buffer_output, "nft_ctx_buffer_output", e) < 0 ||
	    load_sym(n, &n->buffer_error, "nft_ctx_buffer_error", e) < 0 ||
	    load_sym(n, &n->get_output, "nft_ctx_get_output_buffer", e) < 0 ||
	    load_sym(n, &n->get_error, "nft_ctx_get_error_buffer", e) < 0 ||
	    load_sym(n, &n->set_output_flags, "nft_ctx_output_set_flags", e) < 0 ||
	    load_sym(n, &n->run_buffer, "nft_run_cmd_from_buffer", e) < 0 ||
	    load_sym(n, &n->run_file, "nft_run_cmd_from_filename", e) < 0)
		return -1;
	struct nft_ctx *ctx = n->ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return berr_set(e, ENOMEM, "nft_ctx_new failed");
	/* Both streams into memory: the library never prints. */
	if (n->buffer_output(ctx) != 0 || n->buffer_error(ctx) != 0) {
		n->ctx_free(ctx);
		return berr_set(e, ENOMEM, "nft: cannot buffer output");
	}
	n->ctx = ctx;
	n->set_output_flags(n->ctx, NFT_CTX_OUTPUT_NUMERIC_PROTO);
	if (n->memfd < 0)
		n->memfd = memfd_create("berth-nft", MFD_CLOEXEC);
	if (n->memfd >= 0) {
		snprintf(n->path, sizeof(n->path), "/proc/self/fd/%d", n->memfd);
		if (access(n->path, R_OK) < 0) { /* no /proc: batches from the buffer */
			close(n->memfd);
			n->memfd = -1;
		}
	}
	return 0;
}

/* After a transaction that deleted something, nf_tables frees the old
 * objects in a work item after an RCU grace period (~10 ms here), and the
 * last close of any nfnetlink socket while that work is pending waits for
 * it, holding the commit mutex (nft_rcv_nl_event on NETLINK_URELEASE): on
 * the path of every `run --rm -p` and `rm`, and of the next transaction
 * (libnftables' socket and the raw one of nft_ports.c alike).
 * So that last close is left to a detached child that keeps nothing
 * else open (no pipe of ours stays open in it) and closes only after the
 * work is done, so that nobody waits: the caller's own close is then not
 * the last, and returns at once. */
#define CLOSE_LATER_NS 200000000L /* many grace periods */
static bool is_nfnetlink(int fd)
{
	int dom = 0, proto = 0;
	socklen_t l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_NETLINK)
		return false;
	l = sizeof(int);
	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) == 0 &&
	       proto == NETLINK_NETFILTER;
}

static void close_later(void)
{
	/* one fork, not waited for: berth's commands exit soon after (the
	 * child is then init's), and the monitor-to-be's children become the
	 * monitor's, which reaps every child */
	/* a threaded caller (the API service) closes here: its child could
	 * wait forever on a lock another thread held (opendir allocates) */
	if (proc_is_threaded())
		return;
	pid_t c = fork();
	if (c < 0)
		return; /* then the caller's close waits: slow, not wrong */
	if (c == 0) {
		/* the child: every fd but the nfnetlink sockets closed
		 * (without /proc, at least stdio: the pipes that matter) */
		DIR *d = opendir("/proc/self/fd");
		int dfd = d ? dirfd(d) : -1;
		for (int fd = 0; !d && fd < 3; fd++)
			close(fd);
		for (struct dirent *de; d && (de = readdir(d));) {
			int fd = atoi(de->d_name);
			if (de->d_name[0] != '.' && fd != dfd && !is_nfnetlink(fd))
				close(fd);
		}
		if (d)
			closedir(d);
		struct timespec ts = {0, CLOSE_LATER_NS};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		_exit(0); /* the sockets' last close happens here */
	}
}

void bnft_close(bnft *n)
{
	if (!n)
		return;
	if ((n->ctx || n->nl) && n->deleted)
		close_later(); /* before our closes: the child holds both sockets */
	if (n->ctx)
		n->ctx_free(n->ctx);
	if (n->dl)
		dlclose(n->dl);
	if (n->nl)
		mnl_socket_close(n->nl);
	if (n->memfd >= 0)
		close(n->memfd);
	free(n);
}

/* The errno nft's message names ("Could not process rule: File exists"). */
static int errno_of(const char *msg)
{
	static const int known[] = {EEXIST, ENOENT, EPERM,     EBUSY,	     ENOMEM, EOPNOTSUPP,
				    ENOSPC, EINVAL, E2BIG,     EAFNOSUPPORT, EACCES, ERANGE,
				    ENFILE, EMFILE, EOVERFLOW, ENOBUFS};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strstr(msg, strerror(known[i])))
			return known[i];
	return EINVAL; /* syntax and evaluation errors name no errno */
}

static size_t line_len(const char *s)
{
	return strcspn(s, "\n");
}

/* A line of carets and spaces (nft's pointer under the command). */
static bool is_marker(const char *s, size_t len)
{
	if (!len)
		return true;
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '^' && s[i] != '~' && s[i] != '\t')
			return false;
	return true;
}

/* nft reports each error as "[LOCATION: ]Error: TEXT\nCOMMAND\n   ^^^\n":
 * keep the first, as "nft: TEXT: COMMAND". */
static int set_nft_error(berr *e, const char *buf)
{
	if (!buf || !*buf)
		return berr_set(e, EINVAL, "nft: command failed (no message)");
	const char *err = strstr(buf, "Error: ");
	const char *text = err ? err + strlen("Error: ") : buf;
	size_t tlen = line_len(text);
	const char *cmd = text[tlen] ? text + tlen + 1 : "";
	size_t clen = line_len(cmd);
	while (clen && (*cmd == ' ' || *cmd == '\t'))
		cmd++, clen--;
	char one[sizeof(e->msg)];
	snprintf(one, sizeof(one), "%.*s", (int)tlen, text);
	int errnum = errno_of(one);
	if (is_marker(cmd, clen))
		return berr_set(e, errnum, "nft: %s", one);
	return berr_set(e, errnum, "nft: %s: %.*s", one, (int)clen, cmd);
}

/* A batch is run from a file (a memfd, through /proc/self/fd): nft 1.0.6
 * names the failing command of a buffer as the buffer's first line, but of a
 * file as the right one. Without a memfd (or /proc), from the buffer. */
static int run(bnft *n, const char *cmds)
{
	size_t len = strlen(cmds);
	if (n->memfd >= 0 && ftruncate(n->memfd, 0) == 0 &&
	    pwrite(n->memfd, cmds, len, 0) == (ssize_t)len)
		return n->run_file(n->ctx, n->path);
	return n->run_buffer(n->ctx, cmds);
}

int bnft_run(bnft *n, const char *cmds, berr *e)
{
	if (bnft_lib(n, e) < 0)
		return -1;
	n->set_output_flags(n->ctx, NFT_CTX_OUTPUT_NUMERIC_PROTO);
	if (strstr(cmds, "delete ") || strstr(cmds, "flush ") || strstr(cmds, "destroy "))
		n->deleted = true;
	int r = run(n, cmds);
	const char *err = n->get_error(n->ctx); /* also empties it for the next call */
	n->get_output(n->ctx);
	if (r != 0)
		return set_nft_error(e, err);
	return 0;
}

int bnft_list_json(bnft *n, const char *cmd, const char **json, berr *e)
{
	if (bnft_lib(n, e) < 0)
		return -1;
	n->set_output_flags(n->ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_ALL);
	int r = n->run_buffer(n->ctx, cmd);
	n->set_output_flags(n->ctx, NFT_CTX_OUTPUT_NUMERIC_PROTO);
	const char *err = n->get_error(n->ctx);
	const char *out = n->get_output(n->ctx);
	if (r != 0)
		return set_nft_error(e, err);
	*json = out ? out : "";
	return 0;
}
