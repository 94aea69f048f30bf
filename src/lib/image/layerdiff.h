/* A container's changes as a layer: what its overlay upper directory holds
 * compared with the image's layers below it (`berth diff`), and the same
 * upper directory as an OCI layer tar (`berth commit`, the build executor's
 * RUN/COPY steps); also the plain tar of a whole tree (`berth export`).
 *
 * Trees are walked through directory fds only (openat/fstatat, names taken
 * one component at a time from the directory listing, no symlink ever
 * followed), iteratively with one open directory at a time (down by name,
 * back up through ".." checked against the directory it came from), and at
 * most LD_MAX_DEPTH levels deep: a deeper tree is refused (ELOOP).
 *
 * Overlayfs' markers in an upper directory (what the kernel, berth's own
 * unpacker and a rootless store write):
 *   whiteout   a character device 0/0, or a file with the xattr
 *              trusted.overlay.whiteout / user.overlay.whiteout
 *   opaque     a directory with trusted.overlay.opaque=y (user.overlay.opaque
 *              or user.fuseoverlayfs.opaque in a rootless store): its lower
 *              contents are gone
 * and fuse-overlayfs' where it cannot make devices: a file .wh.NAME for a
 * whiteout of NAME, .wh..wh..opq in an opaque directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "image/digest.h"
#include "util/error.h"

#define LD_MAX_DEPTH 4096

/* ---- the walk (layerdiff_walk.c) ---- */

/* One entry met by ld_walk, in each directory in strcmp order of the names,
 * every entry of a directory before anything below it (so a parent always
 * comes before its children, and the order depends on the names only). */
typedef struct ld_node {
	const char *path; /* relative to the root: "etc/passwd" */
	const char *name; /* last component (points into path) */
	int dirfd;	  /* the directory holding it */
	int fd;		  /* directories (and with LD_WALK_OPEN_FILES regular files)
			     opened read-only, checked to be the entry stat'ed; else -1 */
	const struct stat *st;
	bool whiteout;	   /* LD_WALK_UPPER: a deletion marker */
	bool opaque;	   /* LD_WALK_UPPER: a directory hiding its lower contents */
	void *parent_data; /* what the visitor left in *child_data of the parent */
	void **child_data; /* directories: kept for their children (else NULL) */
} ld_node;
enum {
	LD_WALK_UPPER = 1 << 0,	     /* interpret overlay whiteouts and opaque dirs */
	LD_WALK_OPEN_FILES = 1 << 1, /* open regular files for the visitor */
	LD_WALK_ONE_FS = 1 << 2,     /* skip what is on another filesystem (mounts) */
};
/* A visitor's return: 0 goes on, -1 stops the walk (with e set). Skipping
 * into a directory: set *skip. free_data frees child_data left by the
 * visitor (when the walk leaves that directory, or stops). */
typedef struct ld_visitor {
	int (*visit)(void *ctx, const ld_node *n, bool *skip, berr *e);
	void (*free_data)(void *ctx, void *data);
	void *ctx;
} ld_visitor;
int ld_walk(int root, unsigned flags, const ld_visitor *v, berr *e);
/* Whether a directory (an fd that can read xattrs) is marked opaque. */
bool ld_is_opaque(int dirfd);

/* The files a container engine bind-mounts over (what Docker keeps in its
 * init layer): the runtime makes them as empty mount points in the upper
 * directory when the image lacks them. As empty regular files they are no
 * change of the container's (ld_changes_of and ld_tar skip them when given
 * this NULL-terminated list of paths relative to the root). */
extern const char *const ld_engine_stubs[];
bool ld_is_stub(const ld_node *n, const char *const *stubs);
/* A directory holding nothing but stubs (copied up or made to hold them). */
bool ld_only_stubs(const ld_node *n, const char *const *stubs);

/* ---- the change list (layerdiff_changes.c) ---- */

typedef struct ld_change {
	char kind;  /* 'A' added, 'C' changed, 'D' deleted */
	char *path; /* "/etc/passwd" */
} ld_change;
typedef struct ld_changes {
	ld_change *v;
	size_t n, cap;
} ld_changes;

/* The changes of upper over lowers (n directory fds, TOP layer first: the
 * order of overlayfs' lowerdir=), sorted by path as `docker diff` prints
 * them. A path is C when it exists in the merged lower view, else A; a
 * whiteout is D; an opaque directory (or one below it) that exists below
 * also gives D for every entry of its lower view it no longer has. */
int ld_changes_of(int upper, const int *lowers, size_t n, const char *const *stubs, ld_changes *out,
		  berr *e);
void ld_changes_free(ld_changes *c);

/* ---- tars (layerdiff_tar.c: links libarchive) ---- */

typedef struct ld_sink {
	int (*write)(void *ctx, const void *buf, size_t len, berr *e);
	void *ctx;
} ld_sink;
/* A sink writing to a file descriptor (ctx: a pointer to the int fd). */
int ld_sink_fd(void *ctx, const void *buf, size_t len, berr *e);

/* One range of a user namespace's id map (OCI linux.uidMappings). */
typedef struct ld_idmap {
	unsigned container, host, size;
} ld_idmap;

typedef struct ld_tar_opts {
	int compression;	  /* 0 none, 1 gzip, 2 zstd */
	bool layer;		  /* an upper dir: whiteouts as .wh.NAME, opaque dirs as
				     .wh..wh..opq; else a plain tree (export) */
	bool clamp;		  /* reproducible: every mtime clamped to `epoch` */
	long long epoch;	  /* seconds (SOURCE_DATE_EPOCH) */
	bool one_filesystem;	  /* skip other mounts below the root (export) */
	const char *const *stubs; /* ld_engine_stubs, or NULL */
	/* a container in a user namespace: its files are owned by host ids,
	 * written as the container's (an id outside every range: 65534) */
	const ld_idmap *uids, *gids;
	size_t n_uids, n_gids;
} ld_tar_opts;
typedef struct ld_tar_result {
	dg_str diff_id;		     /* sha256 of the uncompressed tar */
	dg_str digest;		     /* sha256 of what went to the sink */
	unsigned long long size;     /* bytes that went to the sink */
	unsigned long long tar_size; /* uncompressed bytes */
} ld_tar_result;
/* The tree under root as a pax tar (entries in ld_walk's order, no atime or
 * ctime, mtimes in whole seconds, uid/gid numeric only, xattrs except
 * trusted.* and the overlay's user.overlay.* / user.fuseoverlayfs.*; files
 * with several names in the tree as hard links; sockets skipped). */
int ld_tar(int root, const ld_tar_opts *o, const ld_sink *sink, ld_tar_result *r, berr *e);
/* One entry as a plain tar (the Docker API's container archive): fd (an
 * O_PATH of it, its last component not followed) named `as`; a directory
 * with its tree under that name ("as/", "as/x" ...). */
int ld_tar_entry(int fd, const char *as, const ld_tar_opts *o, const ld_sink *sink, berr *e);

/* The directories of an overlay mount's options: upperdir (a path) and
 * lowerdir ("top:...:bottom") opened as directory fds (*lowers malloc'ed,
 * top first; ld_dirs_close). ENOENT names the directory missing. */
int ld_dirs_open(const char *upperdir, const char *lowerdir, int *upper, int **lowers, size_t *n,
		 berr *e);
void ld_dirs_close(int upper, int *lowers, size_t n);
