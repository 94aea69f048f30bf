/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): a NUL-terminated
 * copy of the input, and a private scratch directory for the harnesses that
 * write files (under $TMPDIR, removed at exit: tests/test_fuzz.py gives each
 * run its own TMPDIR, so even a crashed run leaves nothing behind). */
#pragma once

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a C string (what the parsers that take `const char *` see). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A harness that cannot set up its scratch space stops the run: that is no
 * finding, but it must not pass silently either. */
static inline void fuzz_die(const char *what, const berr *e)
{
	fprintf(stderr, "fuzz harness: %s: %s\n", what, e ? e->msg : "failed");
	abort();
}

static char fuzz_scratch_path[4096];

static inline void fuzz_scratch_remove(void)
{
	if (!fuzz_scratch_path[0])
		return;
	berr e;
	fs_rm_rf_at(AT_FDCWD, fuzz_scratch_path, &e);
	fuzz_scratch_path[0] = '\0';
}

/* mkdtemp under $TMPDIR (or /tmp), removed at exit; returns its path. */
static inline const char *fuzz_scratch(const char *tag)
{
	if (fuzz_scratch_path[0])
		return fuzz_scratch_path;
	const char *t = getenv("TMPDIR");
	snprintf(fuzz_scratch_path, sizeof(fuzz_scratch_path), "%s/berth-%s.XXXXXX",
		 t && *t ? t : "/tmp", tag);
	if (!mkdtemp(fuzz_scratch_path)) {
		fuzz_scratch_path[0] = '\0';
		fuzz_die("mkdtemp", NULL);
	}
	atexit(fuzz_scratch_remove);
	return fuzz_scratch_path;
}
