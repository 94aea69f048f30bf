/* berth build: a Dockerfile's image (src/lib/build/build.h). Here since the
 * context from stdin is a tar (libarchive). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "xfer.h"

/* SIGINT/SIGTERM/SIGHUP: the build stops after the step it is in and
 * cleans up (a second one ends the process at once). */
static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	cancelled = 1;
	signal(sig, SIG_DFL);
}

static void progress(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
	fflush(stdout);
}

/* "K" alone takes K's value from the environment (left out when unset). */
static char **resolve_args(char **args)
{
	char **v = NULL;
	for (size_t i = 0; args && args[i]; i++) {
		if (strchr(args[i], '=')) {
			strv_push(&v, args[i]);
			continue;
		}
		const char *x = getenv(args[i]);
		if (x) {
			char *kv = xasprintf("%s=%s", args[i], x);
			strv_push(&v, kv);
			free(kv);
		}
	}
	return v;
}

/* --timestamp, else the SOURCE_DATE_EPOCH build arg, else the variable
 * (as buildah and BuildKit): seconds since the epoch. 0: none, 1: *t set,
 * -1: printed. */
static int timestamp_of(const char *flag, char *const *bargs, long long *t)
{
	const char *what = "--timestamp", *v = flag;
	for (size_t i = 0; !v && bargs && bargs[i]; i++)
		if (!strncmp(bargs[i], "SOURCE_DATE_EPOCH=", 18)) {
			v = bargs[i] + 18;
			what = "--build-arg SOURCE_DATE_EPOCH";
		}
	if (!v && (v = getenv("SOURCE_DATE_EPOCH")))
		what = "SOURCE_DATE_EPOCH";
	if (!v || (!flag && !*v))
		return 0;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	/* up to 9999-12-31 (RFC 3339's four-digit years) */
	if (errno || end == v || *end || x < 0 || x > 253402300799LL) {
		cli_failf(125, "build: %s=%s: not a number of seconds since 1970 (0..253402300799)",
			  what, v);
		return -1;
	}
	*t = x;
	return 1;
}

/* --pull takes an optional value (--pull, --pull=always|missing|never and
 * Podman's true|false|newer), which a bool flag can not: the words are
 * read here and become a plain --pull for the flag parser. Returns -1 on a
 * bad value (printed). */
static int pull_policy(int argc, char **argv, build_pull *p)
{
	for (int k = 1; k < argc && strcmp(argv[k], "--"); k++) {
		const char *a = argv[k];
		if (!strcmp(a, "--pull")) {
			*p = BUILD_PULL_ALWAYS;
			continue;
		}
		if (strncmp(a, "--pull=", 7))
			continue;
		const char *v = a + 7;
		if (!strcmp(v, "always") || !strcmp(v, "true") || !strcmp(v, "newer"))
			*p = BUILD_PULL_ALWAYS;
		else if (!strcmp(v, "missing"))
			*p = BUILD_PULL_MISSING;
		else if (!strcmp(v, "never") || !strcmp(v, "false"))
			*p = BUILD_PULL_NEVER;
		else {
			cli_failf(125, "build: --pull=%s: must be always, missing or never", v);
			return -1;
		}
		argv[k] = (char *)"--pull";
	}
	return 0;
}

static int redirect(int fd, int to)
{
	int saved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (saved >= 0 && dup2(to, fd) < 0) {
		close(saved);
		return -1;
	}
	return saved;
}

static void restore(int fd, int saved)
{
	if (saved >= 0) {
		dup2(saved, fd);
		close(saved);
	}
}

int cmd_build(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "build",
	    "[OPTIONS] CONTEXT",
	    "Build an image from a Dockerfile",
	    "Runs the Containerfile or Dockerfile of CONTEXT (a directory, or - for a tar on "
	    "STDIN) step by step: RUN steps as containers (network none unless --network host), "
	    "COPY/ADD from the context (less what .dockerignore excludes). Steps are cached: a "
	    "step whose parent and inputs did not change reuses its image (--no-cache: not). "
	    "FROM's images are pulled when the store lacks them (--pull). Prints the image's ID.",
	    "berth build -t app .\nberth build -f Containerfile.dev --build-arg V=2 -t app:dev .\n"
	    "tar -c . | berth build -t app -",
	    CLI_ARGS_NONE};
	char **tags = NULL, **args = NULL, **labels = NULL, **secrets = NULL;
	const char *file = NULL, *target = NULL, *iidfile = NULL, *network = NULL, *ts = NULL;
	bool no_cache = false, quiet = false, pull = false, pull_always = false, pull_never = false,
	     tls = true;
	build_pull policy = BUILD_PULL_MISSING;
	reg_opts ro = {.tls_verify = -1};
	char *sd = NULL, *initp = NULL; /* berth-init, next to us */
	char *df_data = NULL;		/* -f -: the Dockerfile read from stdin */
	char **bargs = NULL;
	size_t df_len = 0;
	const flag_def defs[] = {
	    {"tag", 't', FLAG_LIST, &tags, "Name the image (NAME[:TAG])", "list"},
	    {"file", 'f', FLAG_STRING, &file,
	     "The Dockerfile (- for STDIN; default CONTEXT/Containerfile, "
	     "CONTEXT/Dockerfile)",
	     "FILE"},
	    {"build-arg", 0, FLAG_LIST, &args,
	     "Set a build-time variable (K=V, or K from the "
	     "environment)",
	     "list"},
	    {"target", 0, FLAG_STRING, &target, "Build the stage named (and what it needs)",
	     "STAGE"},
	    {"no-cache", 0, FLAG_BOOL, &no_cache, "Do not use the cache", NULL},
	    {"quiet", 'q', FLAG_BOOL, &quiet, "Print only the image ID", NULL},
	    {"iidfile", 0, FLAG_STRING, &iidfile, "Write the image ID to the file", "FILE"},
	    {"label", 0, FLAG_LIST, &labels, "Set a label on the image (K=V)", "list"},
	    {"network", 0, FLAG_STRING, &network, "RUN's network: none (default) or host", "MODE"},
	    {"secret", 0, FLAG_LIST, &secrets,
	     "A secret for RUN --mount=type=secret (id=ID,src=FILE or id=ID,env=VAR)", "list"},
	    {"timestamp", 0, FLAG_STRING, &ts,
	     "Created times and layer file mtimes (clamped) set to SECONDS since the epoch "
	     "(default: SOURCE_DATE_EPOCH, as a build arg or in the environment)",
	     "SECONDS"},
	    {"pull", 0, FLAG_BOOL, &pull,
	     "FROM's images: --pull[=always] pulls them, =missing (default) when not in the "
	     "store, =never not",
	     NULL},
	    {"pull-always", 0, FLAG_BOOL, &pull_always, "The same as --pull=always", NULL},
	    {"pull-never", 0, FLAG_BOOL, &pull_never, "The same as --pull=never", NULL},
	    {"tls-verify", 0, FLAG_BOOL, &tls, "Pulls: require HTTPS and verify certificates", NULL,
	     "true"},
	    {"authfile", 0, FLAG_STRING, &ro.auth_file, "Pulls: the authentication file", "FILE"},
	    {0}};
	int rc = 125, i;
	if (pull_policy(argc, argv, &policy) < 0)
		goto done;
	if ((i = cli_flags(c, &doc, defs, argc, argv, &rc)) < 0)
		goto done;
	for (int k = 1; k < i; k++)
		if (!strncmp(argv[k], "--tls-verify", 12))
			ro.tls_verify = tls;
	if (pull_always)
		policy = BUILD_PULL_ALWAYS;
	if (pull_never)
		policy = BUILD_PULL_NEVER;
	rc = 125;
	if (argc - i != 1) {
		cli_failf(125, "\"build\" requires exactly 1 argument: usage: berth build "
			       "[OPTIONS] CONTEXT");
		goto done;
	}
	if (network && strcmp(network, "none") && strcmp(network, "host")) {
		cli_failf(125, "build: --network %s: only none and host are supported", network);
		goto done;
	}
	bargs = resolve_args(args);
	long long stamp = 0;
	int has_stamp = timestamp_of(ts, bargs, &stamp);
	if (has_stamp < 0)
		goto done;
	berr e;
	build_tar_ctx tc = {.fd = -1};
	const char *context = argv[i];
	bool df_stdin = file && !strcmp(file, "-");
	if (df_stdin && !strcmp(context, "-")) {
		cli_failf(125, "build: -f - and a context on stdin: only one can be read");
		goto done;
	}
	if (df_stdin && fs_read_fd(0, &df_data, &df_len, &e) < 0) {
		berr_ctx(&e, "build: the Dockerfile on stdin");
		cli_fail(125, &e);
		goto done;
	}
	if (!strcmp(context, "-")) {
		if (build_tar_context(c->root, 0, 0, &tc, &e) < 0) {
			berr_ctx(&e, "build: the context on stdin");
			cli_fail(125, &e);
			goto done;
		}
		context = tc.dir;
	}
	sd = cli_self_dir();
	initp = sd ? xasprintf("%s/berth-init", sd) : NULL;
	build_opts o = {.root = c->root,
			.run_root = c->run_root,
			.context = context,
			.file = df_stdin ? NULL : file,
			.file_data = df_data,
			.file_len = df_len,
			.build_args = bargs,
			.labels = labels,
			.tags = tags,
			.target = target,
			.no_cache = no_cache,
			.secrets = secrets,
			.pull = policy,
			.reg = &ro,
			.reproducible = has_stamp > 0,
			.timestamp = stamp,
			.host_network = network && !strcmp(network, "host"),
			.progress = quiet ? NULL : progress,
			.cancel = &cancelled,
			.init_path = initp && access(initp, X_OK) == 0 ? initp : NULL};
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, old[3];
	const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	for (int k = 0; k < 3; k++)
		sigaction(sigs[k], &sa, &old[k]);
	/* RUN steps read nothing and write to stdout (their stderr too); with -q
	 * their output goes nowhere. Errors are printed once stderr is back. */
	fflush(stdout);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int saved_in = nul >= 0 ? redirect(0, nul) : -1;
	int saved_out = quiet && nul >= 0 ? redirect(1, nul) : -1;
	int saved_err = redirect(2, 1);
	dg_str id;
	int r = build_run(&o, &id, &e);
	for (int k = 0; k < 3; k++)
		sigaction(sigs[k], &old[k], NULL);
	fflush(stdout);
	fflush(stderr);
	restore(2, saved_err);
	restore(1, saved_out);
	restore(0, saved_in);
	if (nul >= 0)
		close(nul);
	for (size_t k = 0; o.warnings && o.warnings[k]; k++)
		fprintf(stderr, "berth: warning: %s\n", o.warnings[k]);
	strv_free(o.warnings);
	build_tar_context_done(&tc);
	if (r < 0) {
		berr_ctx(&e, "build");
		cli_fail(1, &e);
		rc = 1;
		goto done;
	}
	if (iidfile && fs_write_atomic(iidfile, id.s, strlen(id.s), 0644, false, &e) < 0) {
		berr_ctx(&e, "build: --iidfile");
		cli_fail(125, &e);
		goto done;
	}
	printf("%s\n", id.s);
	rc = 0;
done:
	strv_free(bargs);
	free(df_data);
	free(sd);
	free(initp);
	strv_free(tags);
	strv_free(args);
	strv_free(labels);
	strv_free(secrets);
	return rc;
}
