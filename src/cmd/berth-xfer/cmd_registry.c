/* Registry commands of berth-xfer: pull, push, login, logout. */
#include <errno.h>
#include <getopt.h>
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

/* --tls-verify[=bool] and --authfile PATH, common to the commands here. */
static int parse_common(int o, reg_opts *ro)
{
	if (o == 'T') {
		ro->tls_verify = !optarg || !strcmp(optarg, "true") || !strcmp(optarg, "1");
		if (optarg && !ro->tls_verify && strcmp(optarg, "false") && strcmp(optarg, "0"))
			return cli_failf(125, "--tls-verify: invalid value \"%s\"", optarg);
		return 0;
	}
	if (o == 'A') {
		ro->auth_file = optarg;
		return 0;
	}
	return 125;
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

#define COMMON_OPTS                                                                                \
	{"tls-verify", optional_argument, 0, 'T'},                                                 \
	{                                                                                          \
		"authfile", required_argument, 0, 'A'                                              \
	}

int cmd_pull(cli *c, int argc, char **argv)
{
	reg_opts ro = {.tls_verify = -1};
	bool quiet = false, max_set = false;
	unsigned long long max = 0;
	static const struct option opts[] = {COMMON_OPTS,
					     {"quiet", no_argument, 0, 'q'},
					     {"max-layer-size", required_argument, 0, 'M'},
					     {0}};
	int o, rc;
	optind = 1;
	while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		if (o == 'q')
			quiet = true;
		else if (o == 'M' && (rc = xfer_max_layer_size(optarg, &max)) != 0)
			return rc;
		else if (o == 'M')
			max_set = true;
		else if (parse_common(o, &ro))
			return 125;
	}
	if (optind != argc - 1)
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
	int r = registry_pull(s, argv[optind], &ro, &id, &dig, &e);
	store_close(s);
	if (r < 0)
		return cli_fail(125, &e);
	if (!quiet)
		fprintf(stderr, "Digest: %s\nStatus: Downloaded image for %s\n", dig.s,
			argv[optind]);
	printf("%s\n", id.s);
	return 0;
}

int cmd_push(cli *c, int argc, char **argv)
{
	reg_opts ro = {.tls_verify = -1};
	bool quiet = false;
	static const struct option opts[] = {COMMON_OPTS, {"quiet", no_argument, 0, 'q'}, {0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		if (o == 'q')
			quiet = true;
		else if (parse_common(o, &ro))
			return 125;
	}
	if (optind >= argc || argc - optind > 2)
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
	int r = registry_push(s, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &ro,
			      &dig, &e);
	store_close(s);
	if (r < 0)
		return cli_fail(125, &e);
	printf("%s\n", dig.s);
	return 0;
}

int cmd_login(cli *c, int argc, char **argv)
{
	reg_opts ro = {.tls_verify = -1};
	const char *user = NULL, *pass = NULL;
	bool stdin_pass = false;
	static const struct option opts[] = {COMMON_OPTS,
					     {"username", required_argument, 0, 'u'},
					     {"password", required_argument, 0, 'p'},
					     {"password-stdin", no_argument, 0, 'S'},
					     {0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "u:p:", opts, NULL)) != -1) {
		if (o == 'u')
			user = optarg;
		else if (o == 'p')
			pass = optarg;
		else if (o == 'S')
			stdin_pass = true;
		else if (parse_common(o, &ro))
			return 125;
	}
	if (optind != argc - 1)
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
	int r = registry_login(s, argv[optind], user, pass, &ro, &e);
	store_close(s);
	if (r < 0)
		return cli_fail(125, &e);
	printf("Login Succeeded\n");
	return 0;
}

int cmd_logout(cli *c, int argc, char **argv)
{
	(void)c;
	reg_opts ro = {.tls_verify = -1};
	static const struct option opts[] = {COMMON_OPTS, {0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (parse_common(o, &ro))
			return 125;
	const char *host = optind < argc ? argv[optind] : "docker.io";
	berr e;
	if (registry_logout(host, &ro, &e) < 0)
		return cli_fail(125, &e);
	printf("Removing login credentials for %s\n", host);
	return 0;
}
