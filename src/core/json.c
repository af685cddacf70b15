/* json: the one place outside bytes become JSON values. Depth is bounded before jansson runs
 * (jansson's own limit is a compile-time 2048), and every failure carries a code, a message and,
 * where it can, the JSON path. */
#include "core/common.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/hash.h"
#include "core/json.h"

int fs_json_depth_check(const char *buf, size_t len, int max_depth, struct fs_err *err)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        switch (c) {
        case '"': in_str = true; break;
        case '{':
        case '[':
            if (++depth > max_depth)
                return fs_err_set(err, FS_E_TOO_DEEP, "",
                                  "JSON nesting deeper than %d levels at byte %zu", max_depth, i);
            break;
        case '}':
        case ']':
            if (depth > 0)
                depth--;
            break;
        default: break;
        }
    }
    return 0;
}

int fs_json_parse(const char *buf, size_t len, int max_depth, json_t **out, struct fs_err *err)
{
    *out = NULL;
    if (len == 0)
        return fs_err_set(err, FS_E_INVALID_JSON, "", "the body is empty; expected a JSON object");
    int rc = fs_json_depth_check(buf, len, max_depth, err);
    if (rc < 0)
        return rc;
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v) {
        *out = v;
        return 0;
    }
    enum json_error_code jc = json_error_code(&je);
    switch (jc) {
    case json_error_invalid_utf8:
        return fs_err_set(err, FS_E_INVALID_UTF8, "",
                          "invalid UTF-8 at byte %d (line %d, column %d)", je.position, je.line,
                          je.column);
    case json_error_null_character:
        return fs_err_set(err, FS_E_INVALID_JSON, "",
                          "a string contains \\u0000 (NUL), which is not accepted (line %d, "
                          "column %d)",
                          je.line, je.column);
    case json_error_duplicate_key:
        return fs_err_set(err, FS_E_INVALID_JSON, "",
                          "duplicate object key (line %d, column %d): %s", je.line, je.column,
                          je.text);
    case json_error_stack_overflow:
        return fs_err_set(err, FS_E_TOO_DEEP, "", "JSON nesting too deep");
    case json_error_premature_end_of_input:
        return fs_err_set(err, FS_E_INVALID_JSON, "",
                          "the JSON ends early at byte %d (truncated body?)", je.position);
    default:
        return fs_err_set(err, FS_E_INVALID_JSON, "", "invalid JSON at line %d, column %d: %s",
                          je.line, je.column, je.text);
    }
}

static bool is_ident(const char *k)
{
    if (!*k || isdigit((unsigned char)*k))
        return false;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

/* A path cut to size ends in "..." after whole characters only. */
static void path_fit(char *out, size_t size, int n)
{
    if (n >= 0 && (size_t)n >= size && size > 4) {
        out[size - 4] = '\0';
        fs_utf8_cut(out);
        size_t k = strlen(out);
        memcpy(out + k, "...", 4);
    }
}

void fs_jpath_key(char *out, size_t size, const char *base, const char *key)
{
    int n;
    if (is_ident(key)) {
        n = snprintf(out, size, "%s%s%s", base ? base : "", base && *base ? "." : "", key);
    } else {
        /* quote the key; escape " and \ and control bytes so the path stays one line */
        char q[160];
        size_t j = 0;
        for (const unsigned char *p = (const unsigned char *)key; *p && j + 7 < sizeof(q); p++) {
            if (*p == '"' || *p == '\\') {
                q[j++] = '\\';
                q[j++] = (char)*p;
            } else if (*p < 0x20 || *p == 0x7f) {
                j += (size_t)snprintf(q + j, sizeof(q) - j, "\\u%04x", *p);
            } else {
                q[j++] = (char)*p;
            }
        }
        q[j] = '\0';
        fs_utf8_cut(q); /* a key cut short keeps whole characters */
        n = snprintf(out, size, "%s[\"%s\"]", base ? base : "", q);
    }
    path_fit(out, size, n);
}

void fs_jpath_index(char *out, size_t size, const char *base, size_t index)
{
    int n = snprintf(out, size, "%s[%zu]", base ? base : "", index);
    path_fit(out, size, n);
}

const char *fs_json_type_name(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* Paths are only composed when there is an error to report: this runs for every field of
 * every webhook. */
static int missing(const char *base, const char *key, struct fs_err *err)
{
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: required field is missing", path);
}

static int type_error(const char *base, const char *key, const char *want, const json_t *got,
                      struct fs_err *err)
{
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: expected %s, got %s", path, want,
                      fs_json_type_name(got));
}

#define GET_MEMBER(v)                                                                              \
    json_t *v = json_object_get(obj, key);                                                         \
    if (!v)                                                                                        \
    return required ? missing(base, key, err) : 0

int fs_json_get_str(const json_t *obj, const char *key, const char *base, bool required,
                    const char **out, struct fs_err *err)
{
    GET_MEMBER(v);
    if (!json_is_string(v))
        return type_error(base, key, "string", v, err);
    *out = json_string_value(v);
    return 0;
}

int fs_json_get_obj(const json_t *obj, const char *key, const char *base, bool required,
                    json_t **out, struct fs_err *err)
{
    GET_MEMBER(v);
    if (!json_is_object(v))
        return type_error(base, key, "object", v, err);
    *out = v;
    return 0;
}

int fs_json_get_arr(const json_t *obj, const char *key, const char *base, bool required,
                    json_t **out, struct fs_err *err)
{
    GET_MEMBER(v);
    if (!json_is_array(v))
        return type_error(base, key, "array", v, err);
    *out = v;
    return 0;
}

int fs_json_get_num(const json_t *obj, const char *key, const char *base, bool required,
                    double *out, bool *present, struct fs_err *err)
{
    if (present)
        *present = false;
    GET_MEMBER(v);
    if (!json_is_number(v))
        return type_error(base, key, "number", v, err);
    double d = json_number_value(v);
    if (!isfinite(d)) {
        char path[256];
        fs_jpath_key(path, sizeof(path), base, key);
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: number out of range", path);
    }
    *out = d;
    if (present)
        *present = true;
    return 0;
}

int fs_json_get_int(const json_t *obj, const char *key, const char *base, bool required,
                    int64_t *out, bool *present, struct fs_err *err)
{
    if (present)
        *present = false;
    GET_MEMBER(v);
    if (!json_is_integer(v))
        return type_error(base, key, "integer", v, err);
    *out = json_integer_value(v);
    if (present)
        *present = true;
    return 0;
}

char *fs_json_canonical(const json_t *v)
{
    return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
}

char *fs_json_compact(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint64_t hash_value(uint64_t h, const json_t *v, int depth)
{
    unsigned char tag = v ? (unsigned char)json_typeof(v) : 0xff;
    h = fs_fnv64a_add_byte(h, tag);
    if (!v || depth > 64)
        return h;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char *stack[32];
        const char **keys = n <= 32 ? stack : malloc(n * sizeof(*keys));
        if (!keys)
            return fs_fnv64a_add_byte(h, 0);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), cmp_keys);
        for (i = 0; i < n; i++) {
            h = fs_fnv64a_add(h, keys[i], strlen(keys[i]) + 1);
            h = hash_value(h, json_object_get(v, keys[i]), depth + 1);
        }
        if (keys != stack)
            free(keys);
        return h;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) h = hash_value(h, x, depth + 1);
        return fs_fnv64a_add_byte(h, ']');
    }
    case JSON_STRING: return fs_fnv64a_add(h, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        return fs_fnv64a_add(h, &i, sizeof(i));
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        return fs_fnv64a_add(h, &d, sizeof(d));
    }
    default: return h;
    }
}

uint64_t fs_json_hash(const json_t *v)
{
    if (!v) /* absent hashes like {}, as stores keep {} for "nothing" */
        return fs_fnv64a_add_byte(FS_FNV64_OFFSET, (unsigned char)JSON_OBJECT);
    return hash_value(FS_FNV64_OFFSET, v, 0);
}
