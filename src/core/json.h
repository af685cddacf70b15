/* JSON helpers over jansson: bounded parsing with precise errors, JSON paths for error
 * messages ("alerts[2].labels"), typed field access that names what is wrong and where, and
 * canonical serialisation for hashing. */
#ifndef FS_JSON_H
#define FS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* Parse len bytes into a JSON value. Rejects nesting deeper than max_depth (checked before
 * jansson sees the bytes), invalid UTF-8, "\u0000" in strings and duplicate object keys, each
 * with its own code and a message that says where. On success *out is a new reference. */
int fs_json_parse(const char *buf, size_t len, int max_depth, json_t **out, struct fs_err *err);

/* Check nesting depth without parsing; fills err with the byte offset of the first violation. */
int fs_json_depth_check(const char *buf, size_t len, int max_depth, struct fs_err *err);

/* Path composition for messages: base + ".key" (or ["key"] when key is not an identifier),
 * base + "[i]". Output is truncated with "..." if it does not fit. */
void fs_jpath_key(char *out, size_t size, const char *base, const char *key);
void fs_jpath_index(char *out, size_t size, const char *base, size_t index);

/* A JSON type name for messages: "object", "array", "string", "number", "boolean", "null". */
const char *fs_json_type_name(const json_t *v);

/* Typed member access. Missing and required → FS_E_INVALID_PAYLOAD "base.key: required";
 * wrong type → "base.key: expected string, got number". Missing and optional → 0, *out
 * NULL/untouched. */
int fs_json_get_str(const json_t *obj, const char *key, const char *base, bool required,
                    const char **out, struct fs_err *err);
int fs_json_get_obj(const json_t *obj, const char *key, const char *base, bool required,
                    json_t **out, struct fs_err *err);
int fs_json_get_arr(const json_t *obj, const char *key, const char *base, bool required,
                    json_t **out, struct fs_err *err);
int fs_json_get_num(const json_t *obj, const char *key, const char *base, bool required,
                    double *out, bool *present, struct fs_err *err);
int fs_json_get_int(const json_t *obj, const char *key, const char *base, bool required,
                    int64_t *out, bool *present, struct fs_err *err);

/* A 64-bit hash of a value's content, independent of object key order (FNV-1a over a
 * canonical walk). NULL hashes like an empty object. Not for security; for noticing that a
 * value did not change. */
uint64_t fs_json_hash(const json_t *v);

/* Canonical text: sorted keys, compact, no trailing newline. Caller frees with free(). */
char *fs_json_canonical(const json_t *v);
/* Compact text, keys in insertion order. Caller frees with free(). */
char *fs_json_compact(const json_t *v);

#endif
