/* Files and paths.
 *
 * Paths inside a container's root are never joined as strings: they are
 * resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to an
 * fd of the root, so `..` and symlinks (even absolute ones) stay inside it, and
 * the caller works on the fd it gets back. All fds returned are O_CLOEXEC. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"
#include "util/fs_tree.h" /* fs_copy_at, fs_copy_tree, fs_rm_rf_at */

/* openat2 with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS (O_CLOEXEC is added).
 * Returns an fd, or -1 with e set (e->errnum carries errno). */
int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode, berr *e);

/* mkdir -p of `path` inside the root; every component is resolved in the
 * root. Returns an O_PATH|O_DIRECTORY fd of the final directory. */
int fs_mkdir_in_root(int rootfd, const char *path, mode_t mode, berr *e);

/* Make sure a regular file exists at `path` inside the root (creating the
 * parent directories), e.g. as a bind-mount target. Returns an O_PATH fd. */
int fs_mkfile_in_root(int rootfd, const char *path, mode_t mode, berr *e);

/* Split `path` into its parent (resolved and created in the root, returned as
 * an O_PATH fd) and its last component, copied into `name` (size namesz). */
int fs_parent_in_root(int rootfd, const char *path, char *name, size_t namesz, bool create,
		      berr *e);

/* "/proc/self/fd/N" for mount(2) and friends. */
typedef struct fs_fdpath {
	char s[32];
} fs_fdpath;
fs_fdpath fs_fd_path(int fd);

/* Whole-file reads. *out is NUL-terminated; len excludes the NUL. */
int fs_read_fd(int fd, char **out, size_t *len, berr *e);
int fs_read_file_at(int dirfd, const char *path, char **out, size_t *len, berr *e);

/* Write via a temporary file and rename(2), so readers see the old or the new
 * content, never a torn one. With `durable`, fsync file and directory. */
int fs_write_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
		       bool durable, berr *e);

/* The same for a path (relative to the cwd or absolute): the temporary
 * file is made in the path's own directory. */
int fs_write_atomic(const char *path, const void *buf, size_t len, mode_t mode, bool durable,
		    berr *e);

/* Write a string to an existing file (sysfs, procfs, cgroupfs knobs). */
int fs_write_str_at(int dirfd, const char *path, const char *s, berr *e);

/* mkdir -p on the host. */
int fs_mkdir_p(const char *path, mode_t mode, berr *e);

/* Names in the directory `name` under `at` (without . and ..; strv_free);
 * NULL with e if it cannot be read. */
char **fs_list_at(int at, const char *name, berr *e);

/* Write all of buf (retrying short writes and EINTR). */
int fs_write_all(int fd, const void *buf, size_t len);

/* In a freshly forked child: close every fd from 3 up except the n in keep
 * (at most 16; negative entries ignored), by close_range over the gaps (a walk of
 * /proc/self/fd where close_range is refused). */
void fs_close_all_but(const int *keep, size_t n);
/* Read exactly len bytes; returns bytes read (< len only at EOF) or -1. */
ssize_t fs_read_full(int fd, void *buf, size_t len);
