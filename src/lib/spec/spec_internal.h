/* Internals of the config parser shared by the spec_*.c files.
 *
 * Every field goes through the typed getters below, so every field gets type
 * and range checking and a message naming the file and the JSON path:
 *   config.json: process.user.uid: expected a number, got string
 * Getters return 1 when the value is present, 0 when it is absent (or JSON
 * null, as Go's decoder treats it) and -1 on error, with the message set. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"

typedef struct sctx {
	const char *file; /* "config.json", first word of every message */
	berr *e;
} sctx;

/* A JSON path for messages: "linux.namespaces[2].type" ("" = the document). */
typedef struct jpath {
	char s[256];
} jpath;

jpath jp_key(const char *parent, const char *key);
jpath jp_idx(const char *parent, size_t i);

/* "<file>: <path>: <message>"; returns -1. */
int sp_fail(sctx *c, const char *path, const char *fmt, ...) BERR_FMT(3, 4);

/* "a string", "a number", ... for "expected X, got Y". */
const char *sp_type_name(json_object *v);

/* ---- value level: check `v` (never NULL) found at `path` ---- */
int jx_type(sctx *c, json_object *v, const char *path, json_type want);
int jx_str(sctx *c, json_object *v, const char *path, char **out);
int jx_bool(sctx *c, json_object *v, const char *path, bool *out);
int jx_i64(sctx *c, json_object *v, const char *path, int64_t min, int64_t max, int64_t *out);
int jx_u64(sctx *c, json_object *v, const char *path, uint64_t max, uint64_t *out);

/* ---- key level: look up obj[key]; `ppath` is obj's path ---- */
/* Finds the value; 0 if absent or null (then "required" if req). */
int jk_get(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, json_object **v,
	   jpath *path);
int jk_obj(sctx *c, json_object *obj, const char *ppath, const char *key, bool req,
	   json_object **out, jpath *path);
/* *n = length of the array. */
int jk_arr(sctx *c, json_object *obj, const char *ppath, const char *key, bool req,
	   json_object **out, size_t *n, jpath *path);
/* Duplicates the string into *out (freeing what was there). */
int jk_str(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, char **out);
int jk_bool(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, bool *out);
int jk_i64(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, int64_t min,
	   int64_t max, int64_t *out);
int jk_u64(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, uint64_t max,
	   uint64_t *out);
int jk_opt_i64(sctx *c, json_object *obj, const char *ppath, const char *key, int64_t min,
	       int64_t max, opt_i64 *out);
int jk_opt_u64(sctx *c, json_object *obj, const char *ppath, const char *key, uint64_t max,
	       opt_u64 *out);
/* Array of strings into a NULL-terminated vector; absent gives an empty
 * vector (never NULL). */
int jk_strv(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, char ***out);
/* Object of string values into key/value pairs (in document order). */
int jk_kv(sctx *c, json_object *obj, const char *ppath, const char *key, spec_kv **out, size_t *n);

/* An absolute path string field ("must be an absolute path"). */
int jk_abspath(sctx *c, json_object *obj, const char *ppath, const char *key, bool req, char **out);

/* A field berth knows but does not implement: an error if it asks for
 * anything (rather than silently ignoring what the config requires). */
int jk_unsupported(sctx *c, json_object *obj, const char *ppath, const char *key);

/* ppath.env[i] must all be KEY=VALUE with a non-empty KEY. */
int sp_check_env(sctx *c, const char *ppath, char **env);

/* ---- sections ---- */
int sp_process(sctx *c, json_object *o, const char *path, spec_process *p);
/* Fills flags/clear_flags/propagation/data/bind/rro from m->options and
 * m->type. */
int sp_mount_options(sctx *c, const char *path, spec_mount *m);
/* "rprivate" -> MS_PRIVATE|MS_REC; 0 if unknown. */
unsigned long sp_propagation_flag(const char *name);
int sp_linux(sctx *c, json_object *o, const char *path, spec *s);
int sp_resources(sctx *c, json_object *o, const char *path, spec_resources *r);
int sp_seccomp(sctx *c, json_object *o, const char *path, spec_seccomp *sc);

/* Parse a JSON text into an object (messages "<file>: line N: JSON parse
 * error: ..."). Returns NULL on error. */
json_object *sp_parse_text(sctx *c, const char *json, size_t len);

/* ---- freeing parts (spec_free.c) ---- */
void sp_free_kv(spec_kv *kv, size_t n);
void sp_free_resources(spec_resources *r);
void sp_free_seccomp(spec_seccomp *sc);
void sp_free_linux(spec_linux *l);

/* Empty NULL-terminated vector. */
char **sp_strv_empty(void);

#define UID_MAX_VALID 4294967294ULL /* (uid_t)-1 is "no change", never an id */

/* Seccomp names (spec_seccomp.c), NULL past the end: for the features doc. */
const char *sp_seccomp_action_name(int a);
const char *sp_seccomp_op_name(int op);
const char *sp_seccomp_arch_name(size_t i);
/* Mount option names berth understands (spec_mountopts.c), NULL past the end. */
const char *sp_mount_option_name(size_t i);
