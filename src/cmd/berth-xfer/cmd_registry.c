/* Registry commands of berth-xfer: pull, push, login, logout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

typedef struct bar {
	bool tty;
	struct timespec last;
} bar;

/* Progress on stderr: an updating line per transfer on a terminal, one line
 * per finished step otherwise. */
static void on_progress(void *ctx, const char *digest, const char *status, unsigned long long done,
			unsigned long long total)
{
	bar *b = ctx;
	const char *hex = strchr(digest, ':') ? strchr(digest, ':') + 1 : digest;
	bool moving = !strcmp(status, "Downloading") || !strcmp(status, "Pushing");
	if (moving) {
		if (!b->tty)
			return;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - b->last.tv_sec) * 1000 +
			  (now.tv_nsec - b->last.tv_nsec) / 1000000;
		if (ms < 100)
			return;
		b->last = now;
		int width = 30, fill = total ? (int)((double)done / (double)total * width) : 0;
		if (fill > width)
			fill = width;
		char line[64];
		memset(line, '=', (size_t)fill);
		memset(line + fill, ' ', (size_t)(width - fill));
		line[width] = '\0';
		fprintf(stderr, "\r%.12s: %s [%s] %.1fMB/%.1fMB\033[K", hex, status, line,
			(double)done / 1e6, (double)total / 1e6);
		return;
	}
	fprintf(stderr, "%s%.12s: %s%s\n", b->tty ? "\r" : "", hex, status, b->tty ? "\033[K" : "");
}

/* --tls-verify[=bool] and --authfile PATH, common to the commands here:
 * the flags' entries, and whether --tls-verify was given (reg_opts keeps -1
 * for "not said"). */
#define COMMON_FLAGS(ro, tls)                                                                      \
	{                                                                                          \
	    "tls-verify", 0,	 FLAG_BOOL, &(tls), "Require HTTPS and verify certificates",       \
	    NULL,	  "true"},                                                                 \
	{                                                                                          \
		"authfile", 0, FLAG_STRING, &(ro).auth_file, "Path of the authentication file",    \
		    "FILE"                                                                         \
	}

static void tls_given(reg_opts *ro, bool tls, int argc, char **argv, int first)
{
	for (int k = 1; k < first && k < argc; k++)
		if (!strncmp(argv[k], "--tls-verify", 12) || !strncmp(argv[k], "-tls-verify", 11))
			ro->tls_verify = tls;
}

/* $BERTH_STALL_TIMEOUT: seconds without data before a transfer counts as
 * stalled (default 60). */
static int stall_timeout(reg_opts *ro)
{
	const char *v = getenv("BERTH_STALL_TIMEOUT");
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < 1 || n > 86400)
		return cli_failf(
		    125, "BERTH_STALL_TIMEOUT: invalid value \"%s\" (seconds, 1 to 86400)", v);
	ro->stall_timeout = (int)n;
	return 0;
}

int cmd_pull(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "pull",
	    "[OPTIONS] NAME[:TAG|@DIGEST]",
	    "Download an image from a registry",
	    "OCI distribution with bearer tokens; an interrupted pull resumes. Every blob is "
	    "verified. $BERTH_STALL_TIMEOUT: seconds without data before a transfer fails "
	    "(default 60).",
	    "berth pull docker.io/library/debian:12\nberth pull --tls-verify=false "
	    "127.0.0.1:5000/busybox",
	    CLI_ARGS_IMAGES};
	reg_opts ro = {.tls_verify = -1};
	bool quiet = false, tls = true;
	const char *max_s = NULL;
	unsigned long long max = 0;
	const flag_def defs[] = {COMMON_FLAGS(ro, tls),
				 {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress the progress output"},
				 XFER_MAX_LAYER_SIZE_FLAG(&max_s),
				 {0}};
	int rc, first = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (first < 0)
		return rc;
	tls_given(&ro, tls, argc, argv, first);
	if (max_s && (rc = xfer_max_layer_size(max_s, &max)) != 0)
		return rc;
	bool max_set = max_s != NULL;
	if (first != argc - 1)
		return cli_failf(125, "\"pull\" requires exactly 1 argument: berth pull "
				      "[--tls-verify=false] NAME[:TAG|@DIGEST]");
	if (stall_timeout(&ro))
		return 125;
	bar b = {.tty = isatty(2)};
	if (!quiet) {
		ro.progress = on_progress;
		ro.progress_ctx = &b;
	}
	berr e;
	img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	if (max_set)
		store_set_max_layer_size(s, max);
	dg_str id, dig;
	int r = registry_pull(s, argv[first], &ro, &id, &dig, &e);
	xfer_warn_unpack(s);
	store_close(s);
	if (r < 0)
		return cli_fail(125, &e);
	if (!quiet)
		fprintf(stderr, "Digest: %s\nStatus: Downloaded image for %s\n", dig.s,
			argv[first]);
	printf("%s\n", id.s);
	return 0;
}

int cmd_push(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "push",
	    "[OPTIONS] IMAGE [DESTINATION]",
	    "Upload an image to a registry",
	    NULL,
	    "berth push 127.0.0.1:5000/busybox\nberth push --tls-verify=false "
	    "localhost/busybox 127.0.0.1:5000/bb:1",
	    CLI_ARGS_IMAGES};
	reg_opts ro = {.tls_verify = -1};
	bool quiet = false, tls = true;
	const flag_def defs[] = {COMMON_FLAGS(ro, tls),
				 {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress the progress output"},
				 {0}};
	int rc, first = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (first < 0)
		return rc;
	tls_given(&ro, tls, argc, argv, first);
	if (first >= argc || argc - first > 2)
		return cli_failf(125, "\"push\" requires 1 or 2 arguments: berth push "
				      "[--tls-verify=false] IMAGE [DESTINATION]");
	if (stall_timeout(&ro))
		return 125;
	bar b = {.tty = isatty(2)};
	if (!quiet) {
		ro.progress = on_progress;
		ro.progress_ctx = &b;
	}
	berr e;
	img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	dg_str dig;
	int r = registry_push(s, argv[first], argc - first == 2 ? argv[first + 1] : NULL, &ro, &dig,
			      &e);
	store_close(s);
	if (r < 0)
		return cli_fail(125, &e);
	printf("%s\n", dig.s);
	return 0;
}

int cmd_login(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"login",
				    "[OPTIONS] REGISTRY",
				    "Log in to a registry",
				    "The credentials go to the authentication file (--authfile).",
				    "echo \"$TOKEN\" | berth login -u me --password-stdin "
				    "registry.example.com",
				    CLI_ARGS_NONE};
	reg_opts ro = {.tls_verify = -1};
	const char *user = NULL, *pass = NULL;
	bool stdin_pass = false, tls = true;
	const flag_def defs[] = {
	    COMMON_FLAGS(ro, tls),
	    {"username", 'u', FLAG_STRING, &user, "Username", "string"},
	    {"password", 'p', FLAG_STRING, &pass, "Password", "string"},
	    {"password-stdin", 0, FLAG_BOOL, &stdin_pass, "Take the password from stdin"},
	    {0}};
	int rc, first = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (first < 0)
		return rc;
	tls_given(&ro, tls, argc, argv, first);
	if (first != argc - 1)
		return cli_failf(125, "\"login\" requires 1 argument: berth login [-u USER] [-p "
				      "PASS | --password-stdin] REGISTRY");
	if (!user)
		return cli_failf(125, "login: a username is required (-u)");
	_cleanup_free_ char *buf = NULL;
	if (stdin_pass) {
		if (pass)
			return cli_failf(125, "--password and --password-stdin are exclusive");
		size_t cap = 0;
		ssize_t n = getline(&buf, &cap, stdin);
		if (n <= 0)
			return cli_failf(125, "login: no password on stdin");
		buf[strcspn(buf, "\r\n")] = '\0';
		pass = buf;
	}
	if (!pass)
		return cli_failf(125, "login: a password is required (-p or --password-stdin)");
	berr e;
	img_store *s = store_open(c->root, &e);
	if (!s)
		return cli_fail(125, &e);
	int r = registry_login(s, argv[first], user, pass, &ro, &e);
	store_close(s);
	if (r < 0)
		return cli_fail(125, &e);
	printf("Login Succeeded\n");
	return 0;
}

int cmd_logout(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"logout",
				    "[OPTIONS] [REGISTRY]",
				    "Log out from a registry",
				    "Without REGISTRY: docker.io.",
				    "berth logout registry.example.com",
				    CLI_ARGS_NONE};
	reg_opts ro = {.tls_verify = -1};
	bool tls = true;
	const flag_def defs[] = {COMMON_FLAGS(ro, tls), {0}};
	int rc, first = cli_flags(c, &doc, defs, argc, argv, &rc);
	if (first < 0)
		return rc;
	const char *host = first < argc ? argv[first] : "docker.io";
	berr e;
	if (registry_logout(host, &ro, &e) < 0)
		return cli_fail(125, &e);
	printf("Removing login credentials for %s\n", host);
	return 0;
}
