/* schema: the JSON Schema subset tool inputs are checked against (schema.h lists it). Owns
 * compiling a schema (every keyword known and well-formed, every pattern anchored and compiled)
 * and validating values with errors that name the path of the offending argument. It must not
 * accept a keyword it does not enforce, and never runs or looks up anything. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/regex.h"
#include "tools/schema.h"

#define MAX_PATTERN 1024
#define MAX_PROPS 256
#define MAX_ENUM 256

enum stype { T_ANY, T_OBJECT, T_STRING, T_INTEGER, T_NUMBER, T_BOOLEAN, T_ARRAY, T_NULL };
static const char *const type_names[] = {NULL,     "object",  "string", "integer",
                                         "number", "boolean", "array",  "null"};

struct prop {
    char *name;
    struct fs_schema *s;
};

struct fs_schema {
    enum stype type;
    struct prop *props;
    size_t nprops;
    char **required;
    size_t nrequired;
    bool additional; /* additionalProperties */
    struct fs_schema *items;
    int64_t min_items, max_items; /* -1 = unset */
    bool unique;
    int64_t min_len, max_len; /* -1 = unset */
    char *pattern;
    pcre2_code *re;
    bool has_min, has_max, has_xmin, has_xmax;
    double min, max, xmin, xmax;
    json_t *enm; /* owned array or NULL */
    json_t *cnst;
};

static const char *const annotation_keys[] = {
    "title",    "description", "default",  "examples",  "$schema",
    "$comment", "deprecated",  "readOnly", "writeOnly", NULL,
};

static const char *const known_keys[] = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "enum",
    "const",
    NULL,
};

static bool in_list(const char *const *l, const char *k)
{
    for (; *l; l++)
        if (!strcmp(*l, k))
            return true;
    return false;
}

/* ---- regular expressions ---------------------------------------------------------------- */

/* ---- compile ---------------------------------------------------------------------------- */

void fs_schema_free(struct fs_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nprops; i++) {
        free(s->props[i].name);
        fs_schema_free(s->props[i].s);
    }
    free(s->props);
    for (size_t i = 0; i < s->nrequired; i++)
        free(s->required[i]);
    free(s->required);
    fs_schema_free(s->items);
    free(s->pattern);
    if (s->re)
        pcre2_code_free(s->re);
    json_decref(s->enm);
    json_decref(s->cnst);
    free(s);
}

static int get_count(const json_t *v, const char *path, int64_t *out, struct fs_err *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fs_err_at(err, FS_E_INVALID, path, "expected a non-negative integer");
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_number(const json_t *v, const char *path, double *out, struct fs_err *err)
{
    if (!json_is_number(v))
        return fs_err_at(err, FS_E_INVALID, path, "expected a number");
    *out = json_number_value(v);
    return 0;
}

static bool is_scalar(const json_t *v)
{
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v);
}

static int compile(const json_t *j, const char *path, int depth, struct fs_schema **out,
                   struct fs_err *err);

static int compile_props(struct fs_schema *s, const json_t *props, const char *path, int depth,
                         struct fs_err *err)
{
    char kp[256], pp[256];
    fs_jpath_key(kp, sizeof(kp), path, "properties");
    if (!json_is_object(props))
        return fs_err_at(err, FS_E_INVALID, kp, "expected an object");
    if (json_object_size(props) > MAX_PROPS)
        return fs_err_at(err, FS_E_INVALID, kp, "more than 256 properties");
    s->props = fs_calloc(json_object_size(props), sizeof(*s->props));
    if (!s->props)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        fs_jpath_key(pp, sizeof(pp), kp, k);
        struct prop *p = &s->props[s->nprops];
        if (!(p->name = fs_strdup(k)))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        s->nprops++;
        int rc = compile(v, pp, depth + 1, &p->s, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int compile_required(struct fs_schema *s, const json_t *req, const char *path,
                            struct fs_err *err)
{
    char kp[256], ip[256];
    fs_jpath_key(kp, sizeof(kp), path, "required");
    if (!json_is_array(req))
        return fs_err_at(err, FS_E_INVALID, kp, "expected an array of property names");
    s->required = fs_calloc(json_array_size(req), sizeof(char *));
    if (!s->required)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(req, i, v)
    {
        fs_jpath_index(ip, sizeof(ip), kp, i);
        if (!json_is_string(v))
            return fs_err_at(err, FS_E_INVALID, ip, "expected a property name");
        const char *name = json_string_value(v);
        bool found = false;
        for (size_t k = 0; k < s->nprops; k++)
            found = found || !strcmp(s->props[k].name, name);
        if (!found)
            return fs_err_at(err, FS_E_INVALID, ip,
                             "\"%s\" is required but not among the properties", name);
        if (!(s->required[s->nrequired] = fs_strdup(name)))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        s->nrequired++;
    }
    return 0;
}

static int compile_pattern(struct fs_schema *s, const json_t *v, const char *path,
                           struct fs_err *err)
{
    char kp[256];
    fs_jpath_key(kp, sizeof(kp), path, "pattern");
    if (!json_is_string(v))
        return fs_err_at(err, FS_E_INVALID, kp, "expected a string");
    const char *src = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > MAX_PATTERN || strlen(src) != n)
        return fs_err_at(err, FS_E_INVALID, kp, "longer than 1024 bytes or contains NUL");
    if (!fs_re_is_anchored(src, n))
        return fs_err_at(err, FS_E_INVALID, kp, "must be anchored: start with ^ and end with $");
    char msg[256];
    if (!(s->re = fs_re_compile_checked(src, n, msg, sizeof(msg))))
        return fs_err_at(err, FS_E_INVALID, kp, "%s", msg);
    if (!(s->pattern = fs_strdup(src)))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

static int compile_body(struct fs_schema *s, const json_t *j, const char *path, int depth,
                        struct fs_err *err)
{
    char kp[256];
    const char *k;
    json_t *v;
    int rc;
    /* every keyword first: an unknown one is refused before anything else is looked at */
    json_object_foreach((json_t *)j, k, v)
    {
        if (!in_list(known_keys, k) && !in_list(annotation_keys, k)) {
            fs_jpath_key(kp, sizeof(kp), path, k);
            return fs_err_at(err, FS_E_INVALID, kp, "unsupported JSON Schema keyword \"%s\"", k);
        }
    }
    if ((v = json_object_get(j, "type"))) {
        fs_jpath_key(kp, sizeof(kp), path, "type");
        if (!json_is_string(v))
            return fs_err_at(err, FS_E_INVALID, kp,
                             "expected one type name (a list of types is not supported)");
        for (int t = T_OBJECT; t <= T_NULL; t++)
            if (!strcmp(json_string_value(v), type_names[t]))
                s->type = (enum stype)t;
        if (s->type == T_ANY)
            return fs_err_at(err, FS_E_INVALID, kp, "unknown type \"%s\"", json_string_value(v));
    }
    /* keywords that only apply to one type must come with that type, so that a schema means
     * what it reads as */
    static const struct {
        const char *key;
        enum stype t1, t2;
    } owners[] = {
        {"properties", T_OBJECT, T_OBJECT},
        {"required", T_OBJECT, T_OBJECT},
        {"additionalProperties", T_OBJECT, T_OBJECT},
        {"items", T_ARRAY, T_ARRAY},
        {"minItems", T_ARRAY, T_ARRAY},
        {"maxItems", T_ARRAY, T_ARRAY},
        {"uniqueItems", T_ARRAY, T_ARRAY},
        {"minLength", T_STRING, T_STRING},
        {"maxLength", T_STRING, T_STRING},
        {"pattern", T_STRING, T_STRING},
        {"minimum", T_INTEGER, T_NUMBER},
        {"maximum", T_INTEGER, T_NUMBER},
        {"exclusiveMinimum", T_INTEGER, T_NUMBER},
        {"exclusiveMaximum", T_INTEGER, T_NUMBER},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(owners); i++) {
        if (json_object_get(j, owners[i].key) && s->type != owners[i].t1 &&
            s->type != owners[i].t2) {
            fs_jpath_key(kp, sizeof(kp), path, owners[i].key);
            return fs_err_at(err, FS_E_INVALID, kp, "applies only to %s schemas; declare the type",
                             owners[i].t1 == owners[i].t2 ? type_names[owners[i].t1]
                                                          : "integer or number");
        }
    }
    s->additional = true;
    if ((v = json_object_get(j, "properties")) && (rc = compile_props(s, v, path, depth, err)))
        return rc;
    if ((v = json_object_get(j, "required")) && (rc = compile_required(s, v, path, err)))
        return rc;
    if ((v = json_object_get(j, "additionalProperties"))) {
        fs_jpath_key(kp, sizeof(kp), path, "additionalProperties");
        if (!json_is_boolean(v))
            return fs_err_at(err, FS_E_INVALID, kp, "only true or false is supported");
        s->additional = json_is_true(v);
    }
    if ((v = json_object_get(j, "items"))) {
        fs_jpath_key(kp, sizeof(kp), path, "items");
        if ((rc = compile(v, kp, depth + 1, &s->items, err)))
            return rc;
    }
    s->min_items = s->max_items = s->min_len = s->max_len = -1;
    const struct {
        const char *key;
        int64_t *dst;
    } counts[] = {{"minItems", &s->min_items},
                  {"maxItems", &s->max_items},
                  {"minLength", &s->min_len},
                  {"maxLength", &s->max_len}};
    for (size_t i = 0; i < FS_ARRAY_LEN(counts); i++) {
        if ((v = json_object_get(j, counts[i].key))) {
            fs_jpath_key(kp, sizeof(kp), path, counts[i].key);
            if ((rc = get_count(v, kp, counts[i].dst, err)))
                return rc;
        }
    }
    if ((v = json_object_get(j, "uniqueItems"))) {
        fs_jpath_key(kp, sizeof(kp), path, "uniqueItems");
        if (!json_is_boolean(v))
            return fs_err_at(err, FS_E_INVALID, kp, "expected a boolean");
        s->unique = json_is_true(v);
    }
    if ((v = json_object_get(j, "pattern")) && (rc = compile_pattern(s, v, path, err)))
        return rc;
    const struct {
        const char *key;
        bool *has;
        double *dst;
    } nums[] = {{"minimum", &s->has_min, &s->min},
                {"maximum", &s->has_max, &s->max},
                {"exclusiveMinimum", &s->has_xmin, &s->xmin},
                {"exclusiveMaximum", &s->has_xmax, &s->xmax}};
    for (size_t i = 0; i < FS_ARRAY_LEN(nums); i++) {
        if ((v = json_object_get(j, nums[i].key))) {
            fs_jpath_key(kp, sizeof(kp), path, nums[i].key);
            if ((rc = get_number(v, kp, nums[i].dst, err)))
                return rc;
            *nums[i].has = true;
        }
    }
    if (s->min_items >= 0 && s->max_items >= 0 && s->min_items > s->max_items) {
        fs_jpath_key(kp, sizeof(kp), path, "minItems");
        return fs_err_at(err, FS_E_INVALID, kp, "greater than maxItems");
    }
    if (s->min_len >= 0 && s->max_len >= 0 && s->min_len > s->max_len) {
        fs_jpath_key(kp, sizeof(kp), path, "minLength");
        return fs_err_at(err, FS_E_INVALID, kp, "greater than maxLength");
    }
    if (s->has_min && s->has_max && s->min > s->max) {
        fs_jpath_key(kp, sizeof(kp), path, "minimum");
        return fs_err_at(err, FS_E_INVALID, kp, "greater than maximum");
    }
    if ((v = json_object_get(j, "enum"))) {
        char ip[256];
        fs_jpath_key(kp, sizeof(kp), path, "enum");
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > MAX_ENUM)
            return fs_err_at(err, FS_E_INVALID, kp,
                             "expected a non-empty array of at most 256 values");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            fs_jpath_index(ip, sizeof(ip), kp, i);
            if (!is_scalar(e))
                return fs_err_at(err, FS_E_INVALID, ip,
                                 "only strings, numbers, booleans and null are supported");
        }
        if (!(s->enm = json_deep_copy(v)))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if ((v = json_object_get(j, "const"))) {
        fs_jpath_key(kp, sizeof(kp), path, "const");
        if (!is_scalar(v))
            return fs_err_at(err, FS_E_INVALID, kp,
                             "only a string, number, boolean or null is supported");
        if (!(s->cnst = json_deep_copy(v)))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    return 0;
}

static int compile(const json_t *j, const char *path, int depth, struct fs_schema **out,
                   struct fs_err *err)
{
    *out = NULL;
    if (depth > FS_SCHEMA_MAX_DEPTH)
        return fs_err_at(err, FS_E_INVALID, path, "nested deeper than 8 levels");
    if (!json_is_object(j))
        return fs_err_at(err, FS_E_INVALID, path,
                         "a schema must be an object (boolean schemas are not supported)");
    struct fs_schema *s = fs_calloc(1, sizeof(*s));
    if (!s)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc = compile_body(s, j, path, depth, err);
    if (rc < 0) {
        fs_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int fs_schema_compile(const json_t *schema, struct fs_schema **out, struct fs_err *err)
{
    return compile(schema, "", 0, out, err);
}

const char *fs_schema_type(const struct fs_schema *s)
{
    return s ? type_names[s->type] : NULL;
}

/* ---- validate --------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int fail(struct fs_err *err, const char *path,
                                                      const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: %s", path[0] ? path : "arguments", msg);
}

static bool type_ok(enum stype t, const json_t *v)
{
    switch (t) {
    case T_ANY: return true;
    case T_OBJECT: return json_is_object(v);
    case T_STRING: return json_is_string(v);
    case T_INTEGER:
        if (json_is_integer(v))
            return true;
        if (json_is_real(v)) {
            double d = json_real_value(v);
            return isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0;
        }
        return false;
    case T_NUMBER: return json_is_number(v);
    case T_BOOLEAN: return json_is_boolean(v);
    case T_ARRAY: return json_is_array(v);
    case T_NULL: return json_is_null(v);
    }
    return false;
}

/* jansson compares 1 and 1.0 as different; JSON Schema does not */
static bool scalar_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static void short_value(const json_t *v, char *out, size_t size)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(out, size, "?");
        return;
    }
    if (strlen(s) > 40)
        snprintf(out, size, "%.37s...", s);
    else
        snprintf(out, size, "%s", s);
    free(s);
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static int validate(const struct fs_schema *s, const json_t *v, const char *path,
                    struct fs_err *err);

static int validate_object(const struct fs_schema *s, const json_t *v, const char *path,
                           struct fs_err *err)
{
    char kp[256];
    for (size_t i = 0; i < s->nrequired; i++) {
        if (!json_object_get(v, s->required[i])) {
            fs_jpath_key(kp, sizeof(kp), path, s->required[i]);
            return fail(err, kp, "required");
        }
    }
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m)
    {
        fs_jpath_key(kp, sizeof(kp), path, k);
        const struct fs_schema *ps = NULL;
        for (size_t i = 0; i < s->nprops && !ps; i++)
            if (!strcmp(s->props[i].name, k))
                ps = s->props[i].s;
        if (!ps) {
            if (s->additional)
                continue;
            char allowed[200] = "";
            size_t used = 0;
            for (size_t i = 0; i < s->nprops && used < sizeof(allowed); i++)
                used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
                                         i ? ", " : "", s->props[i].name);
            return fail(err, kp, "unknown argument (allowed: %s)", s->nprops ? allowed : "none");
        }
        int rc = validate(ps, m, kp, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int validate_array(const struct fs_schema *s, const json_t *v, const char *path,
                          struct fs_err *err)
{
    size_t n = json_array_size(v);
    if (s->min_items >= 0 && n < (uint64_t)s->min_items)
        return fail(err, path, "at least %lld items required, got %zu", (long long)s->min_items, n);
    if (s->max_items >= 0 && n > (uint64_t)s->max_items)
        return fail(err, path, "at most %lld items allowed, got %zu", (long long)s->max_items, n);
    char ip[256];
    for (size_t i = 0; i < n; i++) {
        fs_jpath_index(ip, sizeof(ip), path, i);
        json_t *e = json_array_get(v, i);
        if (s->items) {
            int rc = validate(s->items, e, ip, err);
            if (rc < 0)
                return rc;
        }
        if (s->unique)
            for (size_t k = 0; k < i; k++)
                if (json_equal(e, json_array_get(v, k)))
                    return fail(err, ip, "duplicate of item %zu", k);
    }
    return 0;
}

static int validate(const struct fs_schema *s, const json_t *v, const char *path,
                    struct fs_err *err)
{
    if (!type_ok(s->type, v))
        return fail(err, path, "expected %s, got %s", type_names[s->type], fs_json_type_name(v));
    if (s->enm) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(s->enm, i, e) found = found || scalar_equal(e, v);
        if (!found) {
            char list[240] = "";
            size_t used = 0;
            json_array_foreach(s->enm, i, e)
            {
                char one[48];
                short_value(e, one, sizeof(one));
                if (used < sizeof(list))
                    used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                             i ? ", " : "", one);
            }
            return fail(err, path, "must be one of %s", list);
        }
    }
    if (s->cnst && !scalar_equal(s->cnst, v)) {
        char one[48];
        short_value(s->cnst, one, sizeof(one));
        return fail(err, path, "must be %s", one);
    }
    if (json_is_string(v)) {
        const char *str = json_string_value(v);
        size_t n = json_string_length(v);
        size_t chars = utf8_chars(str, n);
        if (s->min_len >= 0 && chars < (uint64_t)s->min_len)
            return fail(err, path, "shorter than %lld characters", (long long)s->min_len);
        if (s->max_len >= 0 && chars > (uint64_t)s->max_len)
            return fail(err, path, "longer than %lld characters", (long long)s->max_len);
        if (s->re) {
            int m = fs_re_full_match(s->re, str, n);
            if (m < 0)
                return fail(err, path, "could not be matched against %s (match limit)", s->pattern);
            if (m == 0)
                return fail(err, path, "must match %s", s->pattern);
        }
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (s->has_min && d < s->min)
            return fail(err, path, "must be at least %.15g", s->min);
        if (s->has_max && d > s->max)
            return fail(err, path, "must be at most %.15g", s->max);
        if (s->has_xmin && d <= s->xmin)
            return fail(err, path, "must be greater than %.15g", s->xmin);
        if (s->has_xmax && d >= s->xmax)
            return fail(err, path, "must be less than %.15g", s->xmax);
    }
    if (json_is_object(v))
        return validate_object(s, v, path, err);
    if (json_is_array(v))
        return validate_array(s, v, path, err);
    return 0;
}

int fs_schema_validate(const struct fs_schema *s, const json_t *v, const char *base,
                       struct fs_err *err)
{
    if (!s || !v)
        return fs_err_set(err, FS_E_INVALID, NULL, "fs_schema_validate: NULL argument");
    return validate(s, v, base ? base : "", err);
}
