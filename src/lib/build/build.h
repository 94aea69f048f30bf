/* The Dockerfile executor (`berth build`): a parsed Dockerfile (dockerfile.h)
 * run step by step on images of the store, as Docker's classic builder does.
 *
 * Each stage the target needs runs in order. Every instruction of a stage
 * makes an image (dangling until the end tags the result): config
 * instructions change the config with an empty_layer history entry, RUN runs
 * the step as a container of the engine (its upper directory becomes a layer
 * when it changed anything), COPY/ADD write the sources into a fresh
 * directory that becomes a layer. A step's cache key is a function of its
 * parent image, its text after substitution, the build args in scope and for
 * COPY/ADD the content copied (build_cache.c): a hit reuses the image the
 * step made before.
 *
 * The library prints nothing: progress lines ("STEP 2/5: RUN make",
 * " --> Using cache", " --> 3f2a...") go to the caller's callback; a RUN
 * step's own output goes to the process's stdout and stderr (the front end
 * arranges them). On error nothing is left behind (no container, mount,
 * temp dir); the images earlier steps made stay (they are the cache). */
#pragma once

#include <stdbool.h>

#include "image/digest.h"
#include "registry/registry.h"
#include "util/error.h"

typedef void (*build_progress_fn)(void *ctx, const char *line);

/* When FROM's image is pulled (registry_pull) before the stage runs. */
typedef enum build_pull {
	BUILD_PULL_MISSING, /* when the store lacks it (the default, as Podman) */
	BUILD_PULL_ALWAYS,  /* every time (a newer one replaces the tag) */
	BUILD_PULL_NEVER,   /* never: a missing image is an error */
} build_pull;

typedef struct build_opts {
	const char *root, *run_root; /* the store, the runtime state */
	const char *context;	     /* a directory */
	const char *file;      /* the Dockerfile (NULL: Containerfile, Dockerfile in context) */
	const char *file_data; /* or its bytes (`-f -`: the front end reads stdin) */
	size_t file_len;
	char *const *build_args; /* "K=V" or "K" (from the environment), may be NULL */
	char *const *labels;	 /* "K=V", set on the final image */
	char *const *tags;	 /* names the final image gets */
	const char *target;	 /* a stage name or index; NULL: the last */
	bool no_cache;
	build_pull pull;
	const reg_opts *reg;  /* for the pulls (NULL: the defaults) */
	char *const *secrets; /* --secret id=ID,src=FILE | id=ID,env=VAR */
	/* --timestamp / SOURCE_DATE_EPOCH: the config's and history's created
	 * time, and every layer file's mtime clamped to it (reproducible) */
	bool reproducible;
	long long timestamp;
	bool host_network; /* RUN with the host's network; else none */
	/* berth-init: RUN's PID 1 when given (it forwards signals, so an
	 * interrupted build ends its step; without it a PID 1 ignores them) */
	const char *init_path;
	/* set (by a signal handler) to stop after the current step, cleaning up;
	 * a RUN step meanwhile gets the signals the runtime forwards */
	const volatile int *cancel;
	build_progress_fn progress;
	void *progress_ctx;
	char **warnings; /* out: lines for the front end (strv, caller frees) */
} build_opts;

/* Build; *id is the final image's ID. */
int build_run(build_opts *o, dg_str *id, berr *e);

/* berth builder prune (build_gc.c): the step images no name needs (not
 * those a container uses), the cache entries whose image is gone (all with
 * all), the RUN cache mounts no step uses; lines for the user in *out. */
int build_prune(const char *root, bool all, char ***out, berr *e);

/* system check's part: <root>/build-tmp/X of builds that are not running
 * and their RUN containers (berth-build.X.N), removed with repair. */
struct eng;
int build_check(struct eng *g, const char *root, bool repair, char ***garbage, char ***repaired,
		berr *e);

/* Extract a tar (the `-` context on stdin) into the empty directory dirfd,
 * safely: no entry is written outside it (absolute names, `..`, symlinks
 * and hard links resolved in it), devices skipped, at most max_bytes. */
int build_context_untar(int in_fd, int dirfd, unsigned long long max_bytes, berr *e);

/* A tar context (build_tarctx.c): extracted into a new directory under
 * <root>/build-tmp, held (flock) while the build runs; dir is the context
 * for build_opts. On failure nothing is left. _done removes it. */
typedef struct build_tar_ctx {
	char *dir, *root;
	int fd;
} build_tar_ctx;
int build_tar_context(const char *root, int in_fd, unsigned long long max_bytes, build_tar_ctx *out,
		      berr *e);
void build_tar_context_done(build_tar_ctx *c);
