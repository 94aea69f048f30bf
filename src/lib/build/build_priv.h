/* The executor's shared state (build_exec.c drives, build_image.c writes
 * images, build_step.c runs RUN and COPY/ADD, build_cache.c keeps keys). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "build/build.h"
#include "build/dockerfile.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/store.h"
#include "util/xalloc.h"

/* A stage as it runs: its current image (NULL: FROM scratch, nothing made
 * yet) and that image's config document. */
typedef struct bstage {
	char *image; /* "sha256:..." */
	json_object *doc;
	char **args;  /* the stage's ARGs in scope, "K=V" (declared without a value: absent) */
	bool cmd_set; /* a CMD came in this stage (ENTRYPOINT then keeps it) */
	bool needed, done;
} bstage;

/* A --secret: its id and content (build_secret.c). */
typedef struct bsecret {
	char *id;
	char *data; /* NUL-terminated too */
	size_t len;
} bsecret;

typedef struct bctx {
	build_opts *o;
	img_store *s;
	eng *g;
	df_file *df;
	const char *df_name; /* "Dockerfile" in messages */
	char *tmp;	     /* this build's temp dir (removed at the end) */
	int tmp_fd;
	int ctx_fd; /* the (filtered) context, a directory */
	char **global_args;
	char **used_args; /* build-arg names some ARG consumed */
	bstage *stages;
	size_t step, n_steps;
	unsigned seq; /* names in tmp */
	bsecret *secrets;
	size_t n_secrets;
	char **pulled; /* the FROM references pulled in this build (once each) */
} bctx;

static inline void strv_freep(char ***v)
{
	strv_free(*v);
}

/* ---- build_exec.c ---- */
void bx_progress(bctx *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The substitution vector of a stage: its args, then its config Env (later
 * wins: ENV overrides ARG). strv. */
char **bx_subst_env(const bstage *st);
/* A fresh name under b->tmp ("u3"), malloc'ed. */
char *bx_tmpname(bctx *b, const char *prefix);
/* The proxy build args given ("K=V", strv or NULL), for RUN's environment. */
char **bx_proxy_env(bctx *b);
/* The stage's shell ("SHELL", else /bin/sh -c) as a strv. */
char **bx_shell(const bstage *st);

/* ---- build_config.c ---- */
/* Apply a config instruction (ENV, LABEL, CMD, ...) to doc. */
int bx_config(bctx *b, bstage *st, const df_instr *in, char **env, json_object *doc, berr *e);

/* ---- build_image.c ---- */
/* A config document for FROM scratch. */
json_object *bimg_scratch_doc(void);
/* The config document of image id (a copy the caller owns). */
json_object *bimg_doc(bctx *b, const char *id, berr *e);
/* Append a history entry (created now, or at the build's timestamp) to doc. */
void bimg_history(const bctx *b, json_object *doc, const char *created_by, bool empty_layer);
/* A new image: parent's layers (parent NULL: none), upper (>= 0) as one more
 * layer (its diffID appended to doc's rootfs), doc as the config. */
int bimg_write(bctx *b, const char *parent, json_object *doc, int upper, bool stubs, dg_str *id,
	       berr *e);
/* The merged view of an image's layers, read-only: *fd a directory fd; *mnt
 * set (malloc'ed) when a mount was made (bimg_view_close unmounts it). An
 * image without layers: *fd -1. */
int bimg_view(bctx *b, const char *id, int *fd, char **mnt, berr *e);
void bimg_view_close(int fd, char *mnt);

/* ---- build_step.c ---- */
int bstep_run(bctx *b, bstage *st, const df_instr *in, char **env, dg_str *id, bool *cached,
	      berr *e);
int bstep_copy(bctx *b, bstage *st, const df_instr *in, char **env, dg_str *id, bool *cached,
	       berr *e);
/* WORKDIR: the config's WorkingDir, and the directory made (a layer) when
 * the image lacks it. */
int bstep_workdir(bctx *b, bstage *st, const df_instr *in, char **env, dg_str *id, bool *cached,
		  berr *e);

/* The step's image: the stage's doc with a history entry, upper (>= 0) as
 * a layer (stubs: the engine's mount points left out); cached under k. */
struct bkey;
int bstep_commit(bctx *b, bstage *st, const char *by, const struct bkey *k, int upper, bool stubs,
		 dg_str *id, berr *e);

/* ---- build_path.c ---- */
/* src cleaned, relative to its root ("a/b"); `..` above it: EPERM. */
int bpath_clean(const char *src, char **out, berr *e);
/* The matches of path's glob components under root, sorted (strv). */
int bpath_glob(int root, const char *path, char ***out, berr *e);
/* Whether path is a directory in the view (vfd -1: no). */
bool bpath_isdir(int vfd, const char *path);
/* dest with the view's symlinks on its way resolved in its root. */
int bpath_resolve(int vfd, const char *dest, char **out, berr *e);
/* mkdir -p of path in upper, modes and owners of the view's directories
 * (else 0755 root); a directory fd. */
int bpath_mkparents(int upper, int vfd, const char *path, berr *e);
int bpath_mkparents_owned(int upper, int vfd, const char *path, uid_t uid, gid_t gid, berr *e);

/* ---- build_secret.c ---- */
/* Parse and read o->secrets into b->secrets. */
int bsecret_load(bctx *b, berr *e);
const bsecret *bsecret_find(const bctx *b, const char *id);
void bsecret_free(bctx *b);

/* ---- build_mount.c: RUN's --network and --mount ---- */
typedef enum bm_type { BM_BIND, BM_CACHE, BM_TMPFS, BM_SECRET } bm_type;
typedef struct bmount {
	bm_type type;
	char *target;  /* absolute, cleaned (NULL: a secret as env only) */
	char *source;  /* bind: cleaned, relative to its root ("" the root) */
	char *from_id; /* bind from=: the image; NULL: the context */
	char *id;      /* cache, secret */
	bool rw, required, locked, skip;
	long mode, uid, gid; /* -1: unset */
	char *size, *env;
	/* made by brun_mount */
	char *host; /* the host path bind-mounted */
	int vfd;    /* a from= view (bimg_view) */
	char *vmnt;
	int lock_fd;	/* sharing=locked */
	char *tmpname;	/* under b->tmp: a secret's file, a rw bind's copy */
	char *real;	/* the target resolved in the rootfs (brun_targets) */
	size_t missing; /* its first component absent before the step (SIZE_MAX: none) */
} bmount;
typedef struct brun {
	bmount *m;
	size_t n;
	const char *network; /* "none", "host" */
	char *key;	     /* for the cache key: the normalised mounts, the network */
	char **specs;	     /* eng_run_opts.mounts */
	char **env;	     /* secrets as env=, "K=V" */
} brun;
/* The flags of in (variables expanded with env), the cache key's text. */
int brun_parse(bctx *b, bstage *st, const df_instr *in, char **env, brun *r, berr *e);
/* Make the mounts' sources (views, cache dirs, secret files) and specs. */
int brun_mount(bctx *b, brun *r, berr *e);
/* Before the step: which target components the rootfs lacks. */
int brun_targets(brun *r, int rootfd, berr *e);
/* After it: those components removed from upper while empty. */
void brun_scrub(brun *r, int upper);
void brun_free(bctx *b, brun *r);
/* A --mount spec's from= (malloc'ed), or NULL. */
char *brun_mount_from(const char *spec);
/* <root>/build-mounts (malloc'ed): the cache mounts' directories. */
char *bx_cache_mounts_dir(const bctx *b);

/* ---- build_gc.c ---- */
/* The name of the build's RUN container n: berth-build.X.n (X: the temp
 * dir's name; system check ties the two). */
char *bx_run_name(const bctx *b, unsigned n);
/* Record id as a step image (builder prune removes it once no name needs it). */
void bx_made(const bctx *b, const dg_str *id);

/* ---- build_cache.c ---- */
struct bkey {
	char hex[65];
};
typedef struct bkey bkey;
/* sha256 over the parent, the text, the args (each NUL-terminated) and
 * extra (a content digest, or NULL). */
void bcache_key(const char *parent, const char *text, char *const *args, const char *extra,
		bkey *k);
/* A recorded result whose image still exists: true and *id set. */
bool bcache_get(bctx *b, const bkey *k, dg_str *id);
int bcache_put(bctx *b, const bkey *k, const dg_str *id, berr *e);

/* ---- build_context.c ---- */
struct ignore_matcher;
/* Copy the context src into dst without what m excludes (the files
 * COPY/ADD may then see). */
int bctx_filter_copy(int src, const struct ignore_matcher *m, int dst, berr *e);
/* The digest of the directory's tree as a layer (mtimes clamped away). */
int bx_tree_digest(int dirfd, dg_str *d, berr *e);
/* Whether the regular file fd is a tar (plain or compressed), for ADD. */
bool bctx_is_tar(int fd);

/* --pull for an image a step names (FROM, COPY --from, RUN --mount from=):
 * pulled through the registry client (berth pull's code) when the policy
 * says so (missing: only when absent), once per reference and build. what
 * prefixes the error ("FROM ", "COPY --from="). */
int bx_pull_image(bctx *b, const char *what, const char *ref, berr *e);
