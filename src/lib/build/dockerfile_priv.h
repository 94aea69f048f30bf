/* Internal to the Dockerfile parser: dockerfile.c reads lines (directives,
 * continuations, heredoc bodies, stages); dockerfile_instr.c parses one
 * instruction's line (its flags and arguments). */
#pragma once

#include "build/dockerfile.h"

typedef struct df_ctx {
	const char *name; /* "Dockerfile" */
	char escape;
	berr *e;
} df_ctx;

/* "<name>:<line>: <message>"; returns -1. */
int df_perr(const df_ctx *c, size_t line, const char *fmt, ...) BERR_FMT(3, 4);

/* Parse one logical line (continuations joined) into *in, which the caller
 * zeroed. Heredoc markers (RUN, COPY, ADD) are recorded in in->heredocs
 * with empty contents, for the caller to read their bodies. On error *in
 * may hold parts: the caller clears it with df_instr_clear. */
int df_parse_instr(const df_ctx *c, const char *logical, size_t line, bool in_onbuild,
		   df_instr *in);
void df_instr_clear(df_instr *in);
