/* catalog: the action catalog as data. Loads etc/catalog.yaml (embedded) and an operator file
 * over it, validating every action and naming file, line and key of each problem; checks a
 * proposal's params against an action's typed schema; renders an action's template for one
 * target kind. It never runs anything, and never takes a program, command line or URL from a
 * proposer: a param value only fills a {placeholder} inside one template element, so it can
 * never become two arguments. Loaded catalogs are immutable (shared by threads). */
#include "core/common.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/diag.h"
#include "core/embed.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "core/yaml.h"
#include "core/regex.h"
#include "safety/catalog.h"

#define EMBEDDED_NAME "(embedded)etc/catalog.yaml"

/* Limits on what a catalog file may declare; all far above what a real catalog needs. */
#define MAX_ACTIONS 1000
#define MAX_PARAMS 32
#define MAX_NAME 64
#define MAX_DESCRIPTION 2000
#define MAX_VERSION 64
#define MAX_ARGV 64
#define MAX_TEMPLATE 1024 /* bytes of one template string */
#define MAX_PATTERN 1024
#define MAX_VALUES 256
#define MAX_UNDER 16
#define MAX_PRECONDITIONS 16
#define MAX_EXPECT 512
#define MAX_WAIT_MS (3600LL * 1000)
#define DEFAULT_MAX_LENGTH 256
#define MAX_MAX_LENGTH 65536
#define MAX_RENDERED (1u << 20) /* bytes of one rendered element */
#define MAX_TARGET_FIELD 253

const char *const fs_categories[] = {
    "read_only",       "log_cleanup",   "cache_cleanup",
    "service_restart", "process_kill",  "scale",
    "package_change",  "data_deletion", "config_change",
    "security_change", "circuit_break", "reroute",
    "rate_limit",      "page",          "guardrail",
    "budget",          "sla",           NULL,
};

static const char *const kind_names[FS_TARGET__COUNT] = {"local", "ssh", "kubectl", "http", "mcp"};
static const char *const type_names[] = {"string", "integer", "enum", "path", "boolean"};
static const char *const target_fields[] = {"host", "service", "namespace", NULL};

const char *fs_target_kind_name(enum fs_target_kind k)
{
    return (unsigned)k < FS_TARGET__COUNT ? kind_names[k] : "?";
}

int fs_target_kind_parse(const char *s, enum fs_target_kind *out)
{
    for (int k = 0; s && k < FS_TARGET__COUNT; k++)
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (enum fs_target_kind)k;
            return 0;
        }
    return -FS_E_INVALID;
}

static const char *reversible_name(enum fs_reversible r)
{
    return r == FS_REV_YES ? "yes" : r == FS_REV_NOTIFICATION ? "notification" : "no";
}

static const char *idempotent_name(enum fs_idempotent i)
{
    return i == FS_IDEM_ABSOLUTE ? "absolute" : i == FS_IDEM_KEYED ? "keyed" : "no";
}

/* ---- small checks ----------------------------------------------------------------------- */

/* ^[a-z][a-z0-9_]*$, at most MAX_NAME bytes: action, param and probe names. */
static bool is_name_n(const char *s, size_t n)
{
    if (n == 0 || n > MAX_NAME || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool is_name(const char *s)
{
    return s && is_name_n(s, strlen(s));
}

/* C0 controls, DEL and C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F); NUL included. */
static bool has_ctrl(const char *s, size_t len, bool allow_ws)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            if (allow_ws && (p[i] == '\n' || p[i] == '\t'))
                continue;
            return true;
        }
        if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return true;
    }
    return false;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

/* A value quoted for a message: printable ASCII kept, anything else \xNN, at most ~60 bytes. */
static const char *quoted(const char *s, size_t len, char *buf, size_t size)
{
    size_t j = 0;
    if (size < 8)
        return "";
    buf[j++] = '"';
    for (size_t i = 0; i < len && j + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 60) {
            j += (size_t)snprintf(buf + j, size - j, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            buf[j++] = (char)c;
        else
            j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
    }
    buf[j++] = '"';
    buf[j] = '\0';
    return buf;
}

/* Why s is not an absolute normalised path, or NULL when it is one. */
static const char *path_problem(const char *s, size_t len)
{
    if (len == 0 || s[0] != '/')
        return "must be an absolute path";
    if (strlen(s) != len)
        return "must not contain NUL bytes";
    if (has_ctrl(s, len, false))
        return "must not contain control characters";
    if (len > 1 && s[len - 1] == '/')
        return "must not end with /";
    if (strstr(s, "//"))
        return "must not contain //";
    for (const char *c = s + 1; *c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return "must not contain . or .. components";
        c += n + (e ? 1 : 0);
    }
    return NULL;
}

/* Equal to root or below it on a component boundary ("/var/logx" is not under "/var/log"). */
static bool path_under(const char *s, const char *root)
{
    if (strcmp(root, "/") == 0)
        return true;
    size_t n = strlen(root);
    return strncmp(s, root, n) == 0 && (s[n] == '\0' || s[n] == '/');
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* ---- regular expressions ---------------------------------------------------------------- */

/* ---- placeholders ----------------------------------------------------------------------- */

enum piece_kind { P_END, P_LIT, P_PH, P_ERR };

struct piece {
    enum piece_kind kind;
    const char *s; /* literal text or placeholder name (without braces) */
    size_t n;
    size_t off;      /* offset in the template, for messages */
    const char *msg; /* P_ERR */
};

/* Template syntax: {name} is a placeholder, {{ and }} are literal braces, anything else is
 * literal text. A name is a param ([a-z][a-z0-9_]*) or target.<field>. */
static enum piece_kind next_piece(const char *start, const char **cur, struct piece *pc)
{
    const char *s = *cur;
    pc->off = (size_t)(s - start);
    if (!*s)
        return pc->kind = P_END;
    if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
        pc->s = s;
        pc->n = 1;
        *cur = s + 2;
        return pc->kind = P_LIT;
    }
    if (s[0] == '}') {
        pc->msg = "a lone } (write }} for a literal brace)";
        return pc->kind = P_ERR;
    }
    if (s[0] == '{') {
        const char *e = s + 1;
        while (*e && *e != '}' && *e != '{')
            e++;
        if (*e != '}') {
            pc->msg = "unterminated placeholder (write {{ for a literal brace)";
            return pc->kind = P_ERR;
        }
        pc->s = s + 1;
        pc->n = (size_t)(e - s - 1);
        bool ok = is_name_n(pc->s, pc->n) || (pc->n > 7 && strncmp(pc->s, "target.", 7) == 0 &&
                                              is_name_n(pc->s + 7, pc->n - 7));
        if (!ok) {
            pc->msg = "malformed placeholder (expected {param} or {target.field}; write {{ for a "
                      "literal brace)";
            return pc->kind = P_ERR;
        }
        *cur = e + 1;
        return pc->kind = P_PH;
    }
    const char *e = s;
    while (*e && *e != '{' && *e != '}')
        e++;
    pc->s = s;
    pc->n = (size_t)(e - s);
    *cur = e;
    return pc->kind = P_LIT;
}

static const struct fs_param *param_find_n(const struct fs_action *a, const char *name, size_t n)
{
    for (size_t i = 0; i < a->nparams; i++)
        if (a->params[i].name && strlen(a->params[i].name) == n &&
            memcmp(a->params[i].name, name, n) == 0)
            return &a->params[i];
    return NULL;
}

static const struct fs_param *param_find(const struct fs_action *a, const char *name)
{
    return param_find_n(a, name, strlen(name));
}

/* The target field a placeholder names ("host"), or NULL when it is not {target.*}. */
static const char *target_field_n(const char *name, size_t n)
{
    if (n <= 7 || strncmp(name, "target.", 7) != 0)
        return NULL;
    for (const char *const *f = target_fields; *f; f++)
        if (strlen(*f) == n - 7 && memcmp(*f, name + 7, n - 7) == 0)
            return *f;
    return NULL;
}

/* ---- loading: problems ------------------------------------------------------------------ */

struct loader {
    const struct fs_yaml_doc *doc;
    struct fs_diag d;
    bool oom; /* an allocation failed: the result is out_of_memory, not invalid_config */
};

/* Every problem names the line of its key, or of the nearest ancestor the document knows. */
#define problem(L, path, ...) fs_diag_at(&(L)->d, (L)->doc, (path), __VA_ARGS__)
#define line_of(doc, path) fs_diag_line((doc), (path), true)

static int nomem(struct loader *L, const char *path)
{
    L->oom = true;
    return problem(L, path, "out of memory");
}

static void check_keys(struct loader *L, json_t *obj, const char *path, const char *const *allowed)
{
    fs_diag_unknown_keys(&L->d, L->doc, obj, path, allowed);
}

/* A member that must be a string; NULL when absent (a problem if required) or not a string. */
static const char *get_str(struct loader *L, json_t *obj, const char *key, const char *base,
                           bool required, size_t maxlen)
{
    char path[512];
    json_t *v = json_object_get(obj, key);
    fs_jpath_key(path, sizeof(path), base, key);
    if (!v) {
        if (required)
            problem(L, path, "required");
        return NULL;
    }
    if (!json_is_string(v)) {
        problem(L, path, "expected a string, got %s", fs_json_type_name(v));
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0) {
        problem(L, path, "must not be empty");
        return NULL;
    }
    if (len > maxlen) {
        problem(L, path, "longer than %zu bytes", maxlen);
        return NULL;
    }
    /* descriptions may hold the newlines of a folded YAML scalar; nothing else may */
    if (strlen(s) != len || has_ctrl(s, len, maxlen == MAX_DESCRIPTION)) {
        problem(L, path, "must not contain control characters");
        return NULL;
    }
    return s;
}

/* A member that must be an integer in [lo, hi]. true when present and valid. */
static bool get_int(struct loader *L, json_t *obj, const char *key, const char *base, bool required,
                    int64_t lo, int64_t hi, int64_t *out)
{
    char path[512];
    json_t *v = json_object_get(obj, key);
    fs_jpath_key(path, sizeof(path), base, key);
    if (!v) {
        if (required)
            problem(L, path, "required");
        return false;
    }
    if (!json_is_integer(v)) {
        problem(L, path, "expected an integer between %" PRId64 " and %" PRId64 ", got %s", lo, hi,
                fs_json_type_name(v));
        return false;
    }
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi) {
        problem(L, path, "must be between %" PRId64 " and %" PRId64 ", got %lld", lo, hi,
                (long long)i);
        return false;
    }
    *out = i;
    return true;
}

/* ---- loading: params -------------------------------------------------------------------- */

static void param_release(struct fs_param *p)
{
    free(p->name);
    free(p->description);
    free(p->pattern);
    pcre2_code_free(p->re);
    for (size_t i = 0; i < p->nvalues; i++)
        free(p->values[i]);
    free(p->values);
    for (size_t i = 0; i < p->nunder; i++)
        free(p->under[i]);
    free(p->under);
    json_decref(p->default_value);
    memset(p, 0, sizeof(*p));
}

/* Check one value against a param. 0, or -1 with a message (without the path) in msg. */
static int check_value(const struct fs_param *p, const json_t *v, char *msg, size_t size)
{
    char q[200];
    switch (p->type) {
    case FS_PARAM_STRING:
    case FS_PARAM_PATH: {
        if (!json_is_string(v)) {
            snprintf(msg, size, "expected %s, got %s",
                     p->type == FS_PARAM_PATH ? "a path (string)" : "string", fs_json_type_name(v));
            return -1;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (strlen(s) != len) {
            snprintf(msg, size, "must not contain NUL bytes");
            return -1;
        }
        if (has_ctrl(s, len, false)) {
            snprintf(msg, size, "must not contain control characters");
            return -1;
        }
        size_t chars = utf8_chars(s, len);
        if (chars > p->max_length) {
            snprintf(msg, size, "must be at most %zu characters, got %zu", p->max_length, chars);
            return -1;
        }
        if (p->type == FS_PARAM_PATH) {
            const char *why = path_problem(s, len);
            if (why) {
                snprintf(msg, size, "%s, got %s", why, quoted(s, len, q, sizeof(q)));
                return -1;
            }
            bool under = false;
            for (size_t i = 0; i < p->nunder && !under; i++)
                under = path_under(s, p->under[i]);
            if (!under) {
                size_t j = (size_t)snprintf(msg, size, "%s is not ", quoted(s, len, q, sizeof(q)));
                for (size_t i = 0; i < p->nunder && j < size; i++)
                    j += (size_t)snprintf(msg + j, size - j, "%s%s", i ? " or " : "", p->under[i]);
                if (j < size)
                    snprintf(msg + j, size - j, " or below");
                return -1;
            }
        }
        if (p->re) {
            int m = fs_re_full_match(p->re, s, len);
            if (m <= 0) {
                snprintf(msg, size, "%s %s %s", quoted(s, len, q, sizeof(q)),
                         m == 0 ? "does not match" : "could not be matched against (limits)",
                         p->pattern);
                return -1;
            }
        }
        return 0;
    }
    case FS_PARAM_INTEGER: {
        if (!json_is_integer(v)) {
            snprintf(msg, size, "expected integer, got %s%s", fs_json_type_name(v),
                     json_is_real(v) ? " with a fraction or exponent" : "");
            return -1;
        }
        json_int_t i = json_integer_value(v);
        if ((p->has_min && i < p->min) || (p->has_max && i > p->max)) {
            if (p->has_min && p->has_max)
                snprintf(msg, size, "must be between %" PRId64 " and %" PRId64 ", got %lld", p->min,
                         p->max, (long long)i);
            else if (p->has_min)
                snprintf(msg, size, "must be at least %" PRId64 ", got %lld", p->min, (long long)i);
            else
                snprintf(msg, size, "must be at most %" PRId64 ", got %lld", p->max, (long long)i);
            return -1;
        }
        return 0;
    }
    case FS_PARAM_ENUM: {
        if (!json_is_string(v)) {
            snprintf(msg, size, "expected string, got %s", fs_json_type_name(v));
            return -1;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t i = 0; i < p->nvalues; i++)
            if (strlen(p->values[i]) == len && memcmp(p->values[i], s, len) == 0)
                return 0;
        size_t j = (size_t)snprintf(msg, size, "expected one of ");
        for (size_t i = 0; i < p->nvalues && j < size; i++)
            j += (size_t)snprintf(msg + j, size - j, "%s%s", i ? ", " : "", p->values[i]);
        if (j < size)
            snprintf(msg + j, size - j, "; got %s", quoted(s, len, q, sizeof(q)));
        return -1;
    }
    case FS_PARAM_BOOLEAN:
        if (!json_is_boolean(v)) {
            snprintf(msg, size, "expected true or false, got %s", fs_json_type_name(v));
            return -1;
        }
        return 0;
    }
    snprintf(msg, size, "unknown parameter type");
    return -1;
}

static const char *const param_keys[] = {"type",    "description", "required", "default",
                                         "pattern", "max_length",  "min",      "max",
                                         "values",  "under",       NULL};

/* Which param keys each type accepts beyond type/description/required/default. */
static bool key_allowed_for(const char *key, enum fs_param_type t)
{
    if (!strcmp(key, "pattern") || !strcmp(key, "max_length"))
        return t == FS_PARAM_STRING || t == FS_PARAM_PATH;
    if (!strcmp(key, "min") || !strcmp(key, "max"))
        return t == FS_PARAM_INTEGER;
    if (!strcmp(key, "values"))
        return t == FS_PARAM_ENUM;
    if (!strcmp(key, "under"))
        return t == FS_PARAM_PATH;
    return true;
}

/* A list of non-empty strings; NULL (with a problem) when it is not one. */
static char **get_strlist(struct loader *L, json_t *v, const char *path, size_t max, size_t *n)
{
    *n = 0;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        problem(L, path, "expected a non-empty list of strings, got %s",
                json_is_array(v) ? "an empty list" : fs_json_type_name(v));
        return NULL;
    }
    if (json_array_size(v) > max) {
        problem(L, path, "more than %zu entries", max);
        return NULL;
    }
    char **out = fs_calloc(json_array_size(v), sizeof(char *));
    if (!out) {
        nomem(L, path);
        return NULL;
    }
    size_t i;
    json_t *item;
    bool ok = true;
    json_array_foreach(v, i, item)
    {
        char ipath[512];
        fs_jpath_index(ipath, sizeof(ipath), path, i);
        const char *s = json_string_value(item);
        size_t len = json_string_length(item);
        if (!s || len == 0 || len > MAX_TEMPLATE || strlen(s) != len || has_ctrl(s, len, false)) {
            problem(L, ipath, "expected a non-empty string without control characters");
            ok = false;
            continue;
        }
        for (size_t j = 0; j < *n; j++)
            if (strcmp(out[j], s) == 0) {
                problem(L, ipath, "%s is listed twice", s);
                ok = false;
            }
        if (!(out[(*n)++] = fs_strdup(s))) {
            nomem(L, ipath);
            ok = false;
            (*n)--;
        }
    }
    if (!ok) {
        for (size_t j = 0; j < *n; j++)
            free(out[j]);
        free(out);
        *n = 0;
        return NULL;
    }
    return out;
}

static void parse_param(struct loader *L, const char *name, json_t *spec, const char *path,
                        struct fs_param *p)
{
    char kpath[512];
    int before = L->d.problems;
    p->max_length = DEFAULT_MAX_LENGTH;
    p->required = true;
    if (!(p->name = fs_strdup(name))) {
        nomem(L, path);
        return;
    }
    if (!is_name(name))
        problem(L, path, "parameter names are lowercase identifiers ([a-z][a-z0-9_]*, at most %d)",
                MAX_NAME);
    if (!json_is_object(spec)) {
        problem(L, path, "expected a mapping with type and description, got %s",
                fs_json_type_name(spec));
        return;
    }
    check_keys(L, spec, path, param_keys);

    const char *type = get_str(L, spec, "type", path, true, 32);
    bool typed = false;
    for (size_t i = 0; type && i < FS_ARRAY_LEN(type_names); i++)
        if (strcmp(type, type_names[i]) == 0) {
            p->type = (enum fs_param_type)i;
            typed = true;
        }
    if (type && !typed) {
        fs_jpath_key(kpath, sizeof(kpath), path, "type");
        problem(L, kpath, "expected string, integer, enum, path or boolean, got \"%s\"", type);
    }
    const char *desc = get_str(L, spec, "description", path, true, MAX_DESCRIPTION);
    if (desc && !(p->description = fs_strdup(desc)))
        nomem(L, path);
    if (!typed)
        return;

    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v)
    {
        if (in_list(key, param_keys) && !key_allowed_for(key, p->type)) {
            fs_jpath_key(kpath, sizeof(kpath), path, key);
            problem(L, kpath, "not allowed for a parameter of type %s", type);
        }
    }

    json_t *req = json_object_get(spec, "required");
    if (req && !json_is_boolean(req)) {
        fs_jpath_key(kpath, sizeof(kpath), path, "required");
        problem(L, kpath, "expected true or false, got %s", fs_json_type_name(req));
    }

    if (p->type == FS_PARAM_STRING || p->type == FS_PARAM_PATH) {
        int64_t ml;
        if (get_int(L, spec, "max_length", path, false, 1, MAX_MAX_LENGTH, &ml))
            p->max_length = (size_t)ml;
        json_t *pat = json_object_get(spec, "pattern");
        fs_jpath_key(kpath, sizeof(kpath), path, "pattern");
        if (pat) {
            const char *s = json_string_value(pat);
            size_t len = json_string_length(pat);
            char msg[300];
            if (!s || len == 0 || len > MAX_PATTERN || strlen(s) != len)
                problem(L, kpath, "expected a regular expression (a string of at most %d bytes)",
                        MAX_PATTERN);
            else if (!fs_re_is_anchored(s, len))
                problem(L, kpath,
                        "must start with ^ and end with $ (it has to match the whole "
                        "value)");
            else if (!(p->re = fs_re_compile_checked(s, len, msg, sizeof(msg))))
                problem(L, kpath, "%s", msg);
            else if (!(p->pattern = fs_strdup(s)))
                nomem(L, kpath);
        }
    }
    if (p->type == FS_PARAM_INTEGER) {
        int64_t x;
        if (get_int(L, spec, "min", path, false, INT64_MIN, INT64_MAX, &x)) {
            p->min = x;
            p->has_min = true;
        }
        if (get_int(L, spec, "max", path, false, INT64_MIN, INT64_MAX, &x)) {
            p->max = x;
            p->has_max = true;
        }
        if (p->has_min && p->has_max && p->min > p->max) {
            fs_jpath_key(kpath, sizeof(kpath), path, "max");
            problem(L, kpath, "max (%" PRId64 ") is less than min (%" PRId64 ")", p->max, p->min);
        }
    }
    if (p->type == FS_PARAM_ENUM) {
        fs_jpath_key(kpath, sizeof(kpath), path, "values");
        json_t *vals = json_object_get(spec, "values");
        if (!vals)
            problem(L, kpath, "required for an enum");
        else
            p->values = get_strlist(L, vals, kpath, MAX_VALUES, &p->nvalues);
    }
    if (p->type == FS_PARAM_PATH) {
        fs_jpath_key(kpath, sizeof(kpath), path, "under");
        json_t *roots = json_object_get(spec, "under");
        if (!roots)
            problem(L, kpath, "required for a path: the roots the value must be at or below");
        else if ((p->under = get_strlist(L, roots, kpath, MAX_UNDER, &p->nunder)))
            for (size_t i = 0; i < p->nunder; i++) {
                const char *why = path_problem(p->under[i], strlen(p->under[i]));
                if (why) {
                    char ipath[512];
                    fs_jpath_index(ipath, sizeof(ipath), kpath, i);
                    problem(L, ipath, "%s", why);
                }
            }
    }

    json_t *def = json_object_get(spec, "default");
    if (def) {
        fs_jpath_key(kpath, sizeof(kpath), path, "default");
        if (json_is_true(req))
            problem(L, kpath, "a parameter with a default is not required; drop required: true");
        char msg[400];
        if (L->d.problems != before) {
            /* the default cannot be checked against a broken param; the file is refused
             * anyway, and templates are not also told the param has no default */
        } else if (check_value(p, def, msg, sizeof(msg)) < 0) {
            problem(L, kpath, "%s", msg);
        } else if (!(p->default_value = json_deep_copy(def))) {
            nomem(L, kpath);
        } else {
            p->required = false;
        }
    } else if (json_is_false(req)) {
        p->required = false;
    }
}

/* ---- loading: templates ----------------------------------------------------------------- */

enum tpl_mode {
    TPL_FIXED,  /* argv[0], server, tool: no placeholders */
    TPL_ARGV,   /* one argv element */
    TPL_URL,    /* an http path: values are percent-encoded */
    TPL_MEMBER, /* a string member of a JSON object: "{x}" alone may name an optional param */
    TPL_ELEM,   /* any other string in a JSON template */
};

/* Check the placeholders of a template string; true when it is fine. */
static bool check_tpl(struct loader *L, const struct fs_action *a, const json_t *v,
                      const char *path, enum tpl_mode mode)
{
    if (!json_is_string(v)) {
        problem(L, path, "expected a string%s, got %s", json_is_number(v) ? " (quote numbers)" : "",
                fs_json_type_name(v));
        return false;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > MAX_TEMPLATE) {
        problem(L, path, "longer than %d bytes", MAX_TEMPLATE);
        return false;
    }
    if (strlen(s) != len || has_ctrl(s, len, false)) {
        problem(L, path, "must not contain control characters");
        return false;
    }
    const char *cur = s;
    struct piece pc;
    int npieces = 0;
    bool ok = true;
    while (next_piece(s, &cur, &pc) != P_END) {
        npieces++;
        if (pc.kind == P_ERR) {
            problem(L, path, "%s at offset %zu", pc.msg, pc.off);
            return false;
        }
        if (pc.kind == P_LIT) {
            if (mode == TPL_URL)
                for (size_t i = 0; i < pc.n; i++)
                    if (!isalnum((unsigned char)pc.s[i]) &&
                        !strchr("-._~/!$&'()*+,;=:@%", pc.s[i])) {
                        problem(L, path, "'%c' is not allowed in an http path", pc.s[i]);
                        return false;
                    }
            continue;
        }
        if (mode == TPL_FIXED) {
            problem(L, path, "must be fixed text: no placeholders");
            return false;
        }
        const struct fs_param *p = param_find_n(a, pc.s, pc.n);
        if (!p && !target_field_n(pc.s, pc.n)) {
            problem(L, path,
                    "unknown placeholder {%.*s}: not a declared parameter or target.host, "
                    "target.service, target.namespace",
                    (int)pc.n, pc.s);
            ok = false;
            continue;
        }
        if (p && !p->required && !p->default_value) {
            const char *rest = cur;
            struct piece after;
            bool alone =
                mode == TPL_MEMBER && npieces == 1 && next_piece(s, &rest, &after) == P_END;
            if (!alone) {
                problem(L, path,
                        "{%s} names an optional parameter without a default; such a parameter can "
                        "only be a whole string member of an http body or mcp arguments",
                        p->name);
                ok = false;
            }
        }
    }
    return ok;
}

static void check_tpl_json(struct loader *L, const struct fs_action *a, const json_t *v,
                           const char *path, bool member)
{
    char child[512];
    if (json_is_string(v)) {
        check_tpl(L, a, v, path, member ? TPL_MEMBER : TPL_ELEM);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *m;
        json_object_foreach((json_t *)v, key, m)
        {
            fs_jpath_key(child, sizeof(child), path, key);
            if (strchr(key, '{') || strchr(key, '}'))
                problem(L, child, "placeholders are not allowed in keys");
            else
                check_tpl_json(L, a, m, child, true);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            fs_jpath_index(child, sizeof(child), path, i);
            check_tpl_json(L, a, m, child, false);
        }
    }
}

/* argv[0] of local/ssh: a bare program name or an absolute path; of kubectl: a subcommand. */
static void check_program(struct loader *L, enum fs_target_kind kind, const char *s,
                          const char *path)
{
    if (kind == FS_TARGET_KUBECTL) {
        bool ok = s[0] >= 'a' && s[0] <= 'z';
        for (const char *c = s; *c && ok; c++)
            ok = (*c >= 'a' && *c <= 'z') || *c == '-';
        if (!ok)
            problem(L, path, "expected a kubectl subcommand such as rollout or scale");
        return;
    }
    if (s[0] == '/') {
        const char *why = path_problem(s, strlen(s));
        if (why)
            problem(L, path, "the program %s", why);
        return;
    }
    bool ok = isalnum((unsigned char)s[0]) || s[0] == '_';
    for (const char *c = s; *c && ok; c++)
        ok = isalnum((unsigned char)*c) || strchr("._+-", *c);
    if (!ok)
        problem(L, path, "expected a program name (letters, digits, ._+-) or an absolute path");
}

/* ---- no shells ------------------------------------------------------------------------------ */

/* An argv is forestall's promise that a parameter fills exactly one argument of a known program.
 * A shell, or an interpreter given its code inline, turns an argument back into a command line
 * (`sh -c "{s}"`, `python3 -c ...`), and a wrapper (env, timeout, sudo, ...) can hide either one
 * behind an innocent argv[0]. The catalog refuses all three, at load time, naming the element. */

static const char *const shells[] = {"sh",   "bash", "dash", "zsh",   "ksh",     "mksh", "csh",
                                     "tcsh", "fish", "ash",  "rbash", "busybox", "yash", NULL};
static const char *const awks[] = {"awk", "gawk", "mawk", "nawk", NULL};
/* Programs that run their arguments as another program (find: -exec). */
static const char *const wrappers[] = {
    "env",     "xargs",  "nice",    "timeout", "sudo", "su",      "nohup", "setsid",
    "stdbuf",  "doas",   "runuser", "ionice",  "chrt", "taskset", "flock", "unshare",
    "nsenter", "chroot", "setpriv", "time",    "find", NULL};

struct interpreter {
    const char *stem;
    const char *inline_short;       /* short options whose value is code: -c, -e, ... */
    const char *const *inline_long; /* long ones: --eval, ... */
    const char *valued_short;       /* short options that take the next argument as a value */
    const char *stop_short;         /* options after which the rest belongs to a module: -m */
};
static const char *const node_long[] = {"--eval", "--print", NULL};
static const char *const php_long[] = {"--run", NULL};
static const struct interpreter interpreters[] = {
    {"python", "c", NULL, "WX", "m"},     {"pypy", "c", NULL, "WX", "m"},
    {"perl", "eE", NULL, "", ""},         {"ruby", "e", NULL, "IrC", ""},
    {"node", "ep", node_long, "r", ""},   {"nodejs", "ep", node_long, "r", ""},
    {"lua", "e", NULL, "l", ""},          {"luajit", "e", NULL, "l", ""},
    {"php", "rBRE", php_long, "cdz", ""},
};

/* name is stem, or stem followed by a version made of digits and dots (python3.11, lua5.4). */
static bool versioned_name(const char *name, const char *stem)
{
    size_t n = strlen(stem);
    if (strncmp(name, stem, n) != 0)
        return false;
    for (const char *c = name + n; *c; c++)
        if (!isdigit((unsigned char)*c) && *c != '.')
            return false;
    return true;
}

static bool in_names(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (versioned_name(name, *names))
            return true;
    return false;
}

static const struct interpreter *interpreter_of(const char *name)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(interpreters); i++)
        if (versioned_name(name, interpreters[i].stem))
            return &interpreters[i];
    return NULL;
}

static const char *base_name(const char *s)
{
    const char *b = strrchr(s, '/');
    return b ? b + 1 : s;
}

/* A program whose argv this check looks into: a shell, an interpreter, awk or a wrapper. */
static bool watched(const char *s)
{
    const char *b = base_name(s);
    return in_names(b, shells) || in_names(b, awks) || in_names(b, wrappers) ||
           interpreter_of(b) != NULL;
}

static const char *arg_at(const json_t *argv, size_t i)
{
    return json_string_value(json_array_get(argv, i));
}

/* The index of the first argument after i that gives an interpreter code inline, or 0. */
static size_t interpreter_inline(const struct interpreter *in, const json_t *argv, size_t i)
{
    size_t n = json_array_size(argv);
    for (size_t j = i + 1; j < n; j++) {
        const char *a = arg_at(argv, j);
        if (!a || a[0] != '-' || a[1] == '\0')
            return 0; /* the script (or "-", stdin): what follows is its own arguments */
        if (strcmp(a, "--") == 0)
            return 0;
        if (a[1] == '-') {
            size_t eq = strcspn(a, "=");
            for (const char *const *l = in->inline_long; l && *l; l++)
                if (strlen(*l) == eq && strncmp(a, *l, eq) == 0)
                    return j;
            continue;
        }
        for (const char *c = a + 1; *c; c++) {
            if (strchr(in->inline_short, *c))
                return j;
            if (strchr(in->stop_short, *c))
                return 0;
            if (strchr(in->valued_short, *c)) {
                if (c[1] == '\0')
                    j++; /* the value is the next argument */
                break;   /* or the rest of this one */
            }
        }
    }
    return 0;
}

/* awk runs its first operand as a program unless the program comes from a file (-f). The index
 * of the argument that is program text (or gives it with -e/--source), or 0. */
static size_t awk_inline(const json_t *argv, size_t i)
{
    size_t n = json_array_size(argv);
    for (size_t j = i + 1; j < n; j++) {
        const char *a = arg_at(argv, j);
        if (!a)
            return 0;
        if (strcmp(a, "--") == 0)
            return j + 1 < n ? j + 1 : 0;
        if (a[0] != '-' || a[1] == '\0')
            return j; /* the first operand is the program */
        if (strcmp(a, "-f") == 0 || strncmp(a, "--file", 6) == 0 || (a[1] == 'f' && a[2] != '\0'))
            return 0;
        if (strcmp(a, "-e") == 0 || strncmp(a, "--source", 8) == 0 || (a[1] == 'e' && a[2] != '\0'))
            return j;
        if ((strcmp(a, "-v") == 0 || strcmp(a, "-F") == 0) && j + 1 < n)
            j++;
    }
    return 0;
}

/* Options of a wrapper that make it run a shell itself. */
static bool wrapper_shell_option(const char *w, const char *a)
{
    static const struct {
        const char *wrapper, *const opts[5];
    } table[] = {
        {"env", {"-S", "--split-string", NULL}},
        {"sudo", {"-s", "--shell", "-i", "--login", NULL}},
        {"doas", {"-s", NULL}},
        {"su", {"-c", "--command", "--session-command", "-s", NULL}},
        {"runuser", {"-c", "--command", "--session-command", NULL}},
        {"flock", {"-c", "--command", NULL}},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(table); i++) {
        if (strcmp(table[i].wrapper, w) != 0)
            continue;
        for (const char *const *o = table[i].opts; *o; o++) {
            size_t n = strlen(*o);
            if ((*o)[1] == '-' ? strncmp(a, *o, n) == 0 && (a[n] == '\0' || a[n] == '=')
                               /* a short option anywhere in a cluster: -Es, -iu */
                               : a[0] == '-' && a[1] != '-' && strchr(a + 1, (*o)[1]))
                return true;
        }
    }
    return false;
}

/* ---- programs a param could choose -------------------------------------------------------- */

/* The literal text of template s before its first placeholder, into buf; true when s has a
 * placeholder. Only for templates check_tpl has accepted. */
static bool tpl_prefix(const char *s, char *buf, size_t size)
{
    const char *cur = s;
    struct piece pc;
    size_t j = 0;
    buf[0] = '\0';
    while (next_piece(s, &cur, &pc) == P_LIT) {
        size_t n = FS_MIN(pc.n, size - 1 - j);
        memcpy(buf + j, pc.s, n);
        j += n;
        buf[j] = '\0';
    }
    return pc.kind == P_PH;
}

static bool has_placeholder(const char *s)
{
    char pre[MAX_TEMPLATE + 1];
    return tpl_prefix(s, pre, sizeof(pre));
}

/* Every placeholder of s names an integer param: its value is digits (and a sign), which can
 * neither name an option letter nor a program. */
static bool int_placeholders(const struct fs_action *a, const char *s)
{
    const char *cur = s;
    struct piece pc;
    while (next_piece(s, &cur, &pc) != P_END) {
        if (pc.kind == P_ERR)
            return false;
        if (pc.kind != P_PH)
            continue;
        const struct fs_param *p = param_find_n(a, pc.s, pc.n);
        if (!p || p->type != FS_PARAM_INTEGER)
            return false;
    }
    return true;
}

static bool literal_has(const char *s, char c)
{
    const char *cur = s;
    struct piece pc;
    while (next_piece(s, &cur, &pc) != P_END && pc.kind != P_ERR)
        if (pc.kind == P_LIT && memchr(pc.s, c, pc.n))
            return true;
    return false;
}

/* How a wrapper reads its own arguments up to the program it runs. Its options end at its
 * first operand (these programs stop there: `timeout 5 prog -s` gives -s to prog) or at "--".
 * A wrapper missing from this table has no options with values and no operands. */
struct wrapper {
    const char *name;
    const char *valued_short;       /* short options followed by a value: -u NAME or -uNAME */
    const char *const *valued_long; /* long ones whose value may be the next argument */
    int operands;                   /* operands before the program: timeout DURATION, ... */
    bool assignments;               /* NAME=VALUE operands before the program (env, sudo) */
    /* options whose value is the root directory the program is looked up below: the program's
     * name means whatever file is there, so a param must not choose it */
    const char *root_short;
    const char *const *root_long;
    bool root_operand; /* the first operand is that root (chroot NEWROOT) */
};
#define L(...) ((const char *const[]){__VA_ARGS__, NULL})
static const struct wrapper wrapper_specs[] = {
    {"env", "uC", L("unset", "chdir", "split-string"), 0, true, "", NULL, false},
    {"sudo", "CDghpRrTtUu",
     L("close-from", "chdir", "group", "host", "prompt", "chroot", "role", "type",
       "command-timeout", "other-user", "user"),
     0, true, "R", L("chroot"), false},
    {"doas", "uC", NULL, 0, false, "", NULL, false},
    {"runuser", "ugGsw", L("user", "group", "supp-group", "shell", "whitelist-environment"), 0,
     false, "", NULL, false},
    {"xargs", "adEILnPs",
     L("arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"), 0, false,
     "", NULL, false},
    {"nice", "n", L("adjustment"), 0, false, "", NULL, false},
    {"timeout", "ks", L("kill-after", "signal"), 1, false, "", NULL, false},
    {"stdbuf", "ioe", L("input", "output", "error"), 0, false, "", NULL, false},
    {"ionice", "cnpPu", L("class", "classdata", "pid", "pgid", "uid"), 0, false, "", NULL, false},
    {"chrt", "TPD", L("sched-runtime", "sched-period", "sched-deadline"), 1, false, "", NULL,
     false},
    {"taskset", "", NULL, 1, false, "", NULL, false},
    {"flock", "wE", L("timeout", "wait", "conflict-exit-code"), 1, false, "", NULL, false},
    {"unshare", "SGRw",
     L("setuid", "setgid", "root", "wd", "map-user", "map-group", "map-users", "map-groups",
       "propagation", "setgroups"),
     0, false, "R", L("root"), false},
    {"nsenter", "tSG", L("target", "setuid", "setgid"), 0, false, "r", L("root"), false},
    {"chroot", "", L("userspec", "groups"), 1, false, "", NULL, true},
    {"setpriv", "",
     L("reuid", "regid", "ruid", "euid", "rgid", "egid", "groups", "inh-caps", "ambient-caps",
       "bounding-set", "securebits", "pdeathsig", "selinux-label", "apparmor-profile",
       "landlock-access", "landlock-rule"),
     0, false, "", NULL, false},
    {"time", "fo", L("format", "output"), 0, false, "", NULL, false},
};
#undef L

static const struct wrapper *wrapper_of(const char *name)
{
    static const struct wrapper plain = {"", "", NULL, 0, false, "", NULL, false};
    for (size_t i = 0; i < FS_ARRAY_LEN(wrapper_specs); i++)
        if (versioned_name(name, wrapper_specs[i].name))
            return &wrapper_specs[i];
    return &plain;
}

static bool in_opt_list(const char *const *list, const char *s, size_t n)
{
    for (; list && *list; list++)
        if (strlen(*list) == n && strncmp(*list, s, n) == 0)
            return true;
    return false;
}

/* One option element of wrapper w at argv[j] (literal text pre, placeholder or not): a param
 * may fill an option's value, never its name, and never a root option's value. Returns how
 * many elements the option uses (1, or 2 when its value is the next one). */
static size_t wrapper_option(struct loader *L, const struct fs_action *a, const struct wrapper *w,
                             const char *wname, const json_t *argv, size_t j, const char *pre,
                             bool ph, const char *kpath)
{
    char epath[512];
    const char *s = arg_at(argv, j), *next = arg_at(argv, j + 1);
    fs_jpath_index(epath, sizeof(epath), kpath, j);
    if (pre[1] == '-') {
        const char *name = pre + 2, *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        bool valued = !eq && !ph && in_opt_list(w->valued_long, name, n);
        if (ph && !eq && !int_placeholders(a, s))
            problem(L, epath,
                    "a param must not choose an option of %s: write --option={param} so that it "
                    "fills only the value",
                    wname);
        else if (in_opt_list(w->root_long, name, n) &&
                 ((eq && ph) || (valued && next && has_placeholder(next)))) {
            if (!eq)
                fs_jpath_index(epath, sizeof(epath), kpath, j + 1);
            problem(L, epath,
                    "%s --%.*s: the root a program is found below must be fixed text, or a "
                    "param would choose which program runs",
                    wname, (int)n, name);
        }
        return valued ? 2 : 1;
    }
    for (const char *c = pre + 1; *c; c++) {
        bool valued = strchr(w->valued_short, *c) != NULL;
        bool attached = c[1] != '\0' || ph;
        if (strchr(w->root_short, *c) &&
            ((attached && ph) || (valued && !attached && next && has_placeholder(next)))) {
            if (!attached)
                fs_jpath_index(epath, sizeof(epath), kpath, j + 1);
            problem(L, epath,
                    "%s -%c: the root a program is found below must be fixed text, or a param "
                    "would choose which program runs",
                    wname, *c);
            return 1;
        }
        if (valued)
            return attached ? 1 : 2;
    }
    if (ph && !int_placeholders(a, s))
        problem(L, epath,
                "a param must not choose an option of %s: only an option's value may hold a "
                "placeholder (-o {param})",
                wname);
    return 1;
}

/* The index of the program the wrapper at argv[i] runs, or the argv's size when it names none.
 * Reports what would let a param choose that program short of naming it: an option whose name
 * holds a placeholder, a root directory from a param, an environment variable a param names,
 * or a PATH or LD_* variable a param fills. */
static size_t wrapped_program(struct loader *L, const struct fs_action *a, const json_t *argv,
                              size_t i, const char *kpath)
{
    const char *wname = base_name(arg_at(argv, i));
    const struct wrapper *w = wrapper_of(wname);
    size_t n = json_array_size(argv);
    bool options = true;
    int operands = 0;
    char epath[512], pre[MAX_TEMPLATE + 1];
    for (size_t j = i + 1; j < n;) {
        const char *s = arg_at(argv, j);
        if (!s)
            return n;
        bool ph = tpl_prefix(s, pre, sizeof(pre));
        fs_jpath_index(epath, sizeof(epath), kpath, j);
        if (options && strcmp(s, "--") == 0) {
            options = false;
            j++;
            continue;
        }
        /* a value never starts an argument with "-" (fs_action_render), so an element that
         * starts with a placeholder is an operand */
        if (options && pre[0] == '-') {
            j += wrapper_option(L, a, w, wname, argv, j, pre, ph, kpath);
            continue;
        }
        options = false;
        if (w->assignments && literal_has(s, '=')) {
            const char *eq = strchr(pre, '=');
            if (!eq || eq == pre)
                problem(L, epath,
                        "%s %s: a param must not name an environment variable (write "
                        "NAME={param})",
                        wname, s);
            else if (ph && (strncmp(pre, "PATH=", 5) == 0 || strncmp(pre, "LD_", 3) == 0))
                problem(L, epath,
                        "%s %.*s: a param must not fill PATH or LD_* (it would choose which "
                        "program or library runs)",
                        wname, (int)(eq - pre), pre);
            j++;
            continue;
        }
        if (operands < w->operands) {
            if (w->root_operand && operands == 0 && ph)
                problem(L, epath,
                        "%s: the root a program is found below must be fixed text, or a param "
                        "would choose which program runs",
                        wname);
            operands++;
            j++;
            continue;
        }
        return j;
    }
    return n;
}

/* Programs that run a command line through a shell of their own or of another host. */
static const char *const remote_shells[] = {"ssh", "slogin", "rsh", "watch", NULL};

static void check_runs(struct loader *L, const struct fs_action *a, const json_t *argv, size_t i,
                       const char *kpath, bool scan);

/* argv[p] is the program a wrapper (or find -exec) runs: fixed text naming a program, which is
 * then checked like any argv[0]. */
static void check_wrapped(struct loader *L, const struct fs_action *a, const json_t *argv, size_t p,
                          const char *wname, const char *kpath)
{
    char epath[512];
    const char *s = arg_at(argv, p);
    fs_jpath_index(epath, sizeof(epath), kpath, p);
    if (has_placeholder(s)) {
        problem(L, epath,
                "%s runs this argument as its program: a param must never choose which program "
                "runs (name it as fixed text)",
                wname);
        return;
    }
    int before = L->d.problems;
    check_program(L, FS_TARGET_LOCAL, s, epath);
    if (L->d.problems == before)
        check_runs(L, a, argv, p, kpath, false);
}

/* find runs the program after -exec, -execdir, -ok and -okdir; a predicate a param could spell
 * would be one of those. */
static void check_find(struct loader *L, const struct fs_action *a, const json_t *argv, size_t i,
                       const char *kpath)
{
    static const char *const execs[] = {"-exec", "-execdir", "-ok", "-okdir", NULL};
    size_t n = json_array_size(argv);
    char epath[512], pre[MAX_TEMPLATE + 1];
    for (size_t j = i + 1; j < n; j++) {
        const char *s = arg_at(argv, j);
        if (!s)
            return;
        if (tpl_prefix(s, pre, sizeof(pre)) && pre[0] == '-' && !int_placeholders(a, s)) {
            fs_jpath_index(epath, sizeof(epath), kpath, j);
            problem(L, epath,
                    "find %s: a param must not spell a find predicate (it could make it -exec); "
                    "give the predicate's value as an argument of its own",
                    s);
        } else if (in_list(s, execs) && j + 1 < n) {
            check_wrapped(L, a, argv, j + 1, "find", kpath);
            /* the program's own arguments run to ";" or "+" */
            for (j += 2;
                 j < n && !fs_streq(arg_at(argv, j), ";") && !fs_streq(arg_at(argv, j), "+"); j++)
                ;
        }
    }
}

/* What the program at argv[i] runs. scan (the outermost call only): also look at every later
 * argument a wrapper's program could be; nested calls do not scan again, which would take
 * exponential time on a chain of wrappers (nohup nohup nohup ...). */
static void check_runs(struct loader *L, const struct fs_action *a, const json_t *argv, size_t i,
                       const char *kpath, bool scan)
{
    char epath[512];
    const char *prog = arg_at(argv, i);
    if (!prog)
        return;
    const char *b = base_name(prog);
    const struct interpreter *in = interpreter_of(b);
    size_t j, n = json_array_size(argv);
    fs_jpath_index(epath, sizeof(epath), kpath, i);
    if (in_names(b, shells)) {
        problem(L, epath,
                "%s is a shell: an action runs one program with fixed arguments, never a shell "
                "that reads a command line (name the program itself; no sh -c)",
                b);
    } else if (versioned_name(b, "watch")) {
        problem(L, epath,
                "watch runs its command through sh -c: an action runs one program with fixed "
                "arguments (name the program itself)");
    } else if (in_names(b, remote_shells)) {
        problem(L, epath,
                "%s runs its command line through a shell on the far side: use an ssh target, "
                "where forestall quotes every argument",
                b);
    } else if (in && (j = interpreter_inline(in, argv, i)) > 0) {
        fs_jpath_index(epath, sizeof(epath), kpath, j);
        problem(L, epath,
                "%s %s runs code given inline: put the code in a script installed on the host and "
                "name that script as the program",
                b, arg_at(argv, j));
    } else if (in_names(b, awks) && (j = awk_inline(argv, i)) > 0) {
        fs_jpath_index(epath, sizeof(epath), kpath, j);
        problem(L, epath,
                "%s with a program text runs code given inline: keep the program in a file "
                "installed on the host (-f FILE)",
                b);
    } else if (in_names(b, wrappers)) {
        for (j = i + 1; j < n; j++) {
            const char *x = arg_at(argv, j);
            if (x && wrapper_shell_option(b, x)) {
                fs_jpath_index(epath, sizeof(epath), kpath, j);
                problem(L, epath, "%s %s runs a shell: name the program itself", b, x);
                return;
            }
        }
        if (strcmp(b, "su") == 0) {
            problem(L, epath, "su runs a shell: name the program itself");
            return;
        }
        int before = L->d.problems;
        size_t p = n;
        if (versioned_name(b, "find")) {
            check_find(L, a, argv, i, kpath);
        } else {
            p = wrapped_program(L, a, argv, i, kpath);
            if (L->d.problems == before && p < n)
                check_wrapped(L, a, argv, p, b, kpath);
        }
        if (L->d.problems != before || !scan)
            return;
        /* and every argument the program could be, should the table above misread an option */
        for (j = i + 1; j < n; j++) {
            const char *x = arg_at(argv, j);
            if (j != p && x && !strchr(x, '{') && watched(x)) {
                check_runs(L, a, argv, j, kpath, false);
                if (L->d.problems != before)
                    return;
            }
        }
    }
}

/* kubectl subcommands that run commands in pods or open tunnels: a catalog action is a typed
 * change of an object (rollout, scale, patch, ...), never a command line in a container. */
static const char *const kubectl_denied[] = {"exec",  "debug",        "attach", "run",
                                             "proxy", "port-forward", "cp",     NULL};

static void check_kubectl(struct loader *L, const json_t *argv, const char *kpath)
{
    char epath[512];
    size_t at = 0;
    const char *sub = arg_at(argv, 0);
    if (fs_streq(sub, "alpha") && json_array_size(argv) > 1) {
        at = 1; /* kubectl alpha debug, ... */
        sub = arg_at(argv, 1);
    }
    fs_jpath_index(epath, sizeof(epath), kpath, at);
    if (at == 1 && sub && has_placeholder(sub))
        problem(L, epath, "kubectl alpha: a param must not choose the subcommand");
    else if (sub && in_list(sub, kubectl_denied))
        problem(L, epath,
                "kubectl %s runs a command in a pod or opens a tunnel: a catalog action is a "
                "typed change (rollout, scale, patch, ...), not a command line in a container",
                sub);
}

static const char *const argv_keys[] = {"argv", NULL};
static const char *const http_keys[] = {"method", "path", "body", NULL};
static const char *const mcp_keys[] = {"server", "tool", "arguments", NULL};
static const char *const http_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};

/* A checked copy of one target template, or NULL after reporting problems. */
static json_t *parse_target(struct loader *L, const struct fs_action *a, enum fs_target_kind kind,
                            json_t *t, const char *path)
{
    char kpath[512];
    int before = L->d.problems;
    if (!json_is_object(t)) {
        problem(L, path, "expected a mapping, got %s", fs_json_type_name(t));
        return NULL;
    }
    switch (kind) {
    case FS_TARGET_LOCAL:
    case FS_TARGET_SSH:
    case FS_TARGET_KUBECTL: {
        check_keys(L, t, path, argv_keys);
        json_t *argv = json_object_get(t, "argv");
        fs_jpath_key(kpath, sizeof(kpath), path, "argv");
        if (!argv) {
            problem(L, kpath, "required");
            break;
        }
        if (!json_is_array(argv) || json_array_size(argv) == 0 ||
            json_array_size(argv) > MAX_ARGV) {
            char got[40];
            if (!json_is_array(argv))
                snprintf(got, sizeof(got), "%s", fs_json_type_name(argv));
            else
                snprintf(got, sizeof(got), "%zu elements", json_array_size(argv));
            problem(L, kpath, "expected a list of 1 to %d strings, got %s", MAX_ARGV, got);
            break;
        }
        size_t i;
        json_t *el;
        int argv_problems = L->d.problems;
        json_array_foreach(argv, i, el)
        {
            char epath[512];
            fs_jpath_index(epath, sizeof(epath), kpath, i);
            if (check_tpl(L, a, el, epath, i == 0 ? TPL_FIXED : TPL_ARGV) && i == 0) {
                if (json_string_length(el) == 0)
                    problem(L, epath, "must not be empty");
                else
                    check_program(L, kind, json_string_value(el), epath);
            }
        }
        if (L->d.problems != argv_problems)
            break;
        if (kind == FS_TARGET_KUBECTL)
            check_kubectl(L, argv, kpath);
        else
            check_runs(L, a, argv, 0, kpath, true);
        break;
    }
    case FS_TARGET_HTTP: {
        check_keys(L, t, path, http_keys);
        const char *method = get_str(L, t, "method", path, true, 16);
        if (method && !in_list(method, http_methods)) {
            fs_jpath_key(kpath, sizeof(kpath), path, "method");
            problem(L, kpath, "expected GET, POST, PUT, PATCH or DELETE, got \"%s\"", method);
        }
        json_t *up = json_object_get(t, "path");
        fs_jpath_key(kpath, sizeof(kpath), path, "path");
        if (!up)
            problem(L, kpath, "required");
        else if (check_tpl(L, a, up, kpath, TPL_URL) && json_string_value(up)[0] != '/')
            problem(L, kpath, "must start with /");
        json_t *body = json_object_get(t, "body");
        fs_jpath_key(kpath, sizeof(kpath), path, "body");
        if (body && !json_is_object(body))
            problem(L, kpath, "expected a mapping, got %s", fs_json_type_name(body));
        else if (body)
            check_tpl_json(L, a, body, kpath, true);
        break;
    }
    case FS_TARGET_MCP: {
        check_keys(L, t, path, mcp_keys);
        json_t *server = json_object_get(t, "server"), *tool = json_object_get(t, "tool");
        fs_jpath_key(kpath, sizeof(kpath), path, "server");
        if (!server)
            problem(L, kpath, "required");
        else if (check_tpl(L, a, server, kpath, TPL_FIXED)) {
            const char *s = json_string_value(server);
            bool ok = *s && (isalnum((unsigned char)s[0]));
            for (const char *c = s; *c && ok; c++)
                ok = isalnum((unsigned char)*c) || strchr("._-", *c);
            if (!ok || strlen(s) > MAX_NAME)
                problem(L, kpath, "expected a server name (letters, digits, ._-)");
        }
        fs_jpath_key(kpath, sizeof(kpath), path, "tool");
        if (!tool)
            problem(L, kpath, "required");
        else if (check_tpl(L, a, tool, kpath, TPL_FIXED)) {
            const char *s = json_string_value(tool);
            bool ok = *s != '\0';
            for (const char *c = s; *c && ok; c++)
                ok = isalnum((unsigned char)*c) || strchr("._-/", *c);
            if (!ok || strlen(s) > 128)
                problem(L, kpath, "expected a tool name (letters, digits, ._-/)");
        }
        json_t *args = json_object_get(t, "arguments");
        fs_jpath_key(kpath, sizeof(kpath), path, "arguments");
        if (args && !json_is_object(args))
            problem(L, kpath, "expected a mapping, got %s", fs_json_type_name(args));
        else if (args)
            check_tpl_json(L, a, args, kpath, true);
        break;
    }
    default: FS_BUG("target kind %d", (int)kind);
    }
    if (L->d.problems != before)
        return NULL;
    json_t *copy = json_deep_copy(t);
    if (!copy)
        nomem(L, path);
    return copy;
}

/* ---- probes ----------------------------------------------------------------------------- */

/* The probes an action may name, and the read-only tool that answers each (fs_probe_def). Kept
 * here, not in exec or tools, so that loading a catalog needs neither; test_catalog.c holds it
 * to the tool registry. Sorted by name. */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})
static const struct fs_probe_def probes[] = {
    /* no tool answers the NULL ones yet: the built-in catalog's LLM-gateway actions name them,
     * so they load, but their probe always fails (and the docs say so) */
    {"budget_status", NULL, ARGS("scope"), ARGS("scope")},
    {"cert_expiry", "host.cert_expiry", ARGS("path", "host", "port", "server_name"), NONE},
    {"config_get", "host.config_get", ARGS("file", "key"), ARGS("file", "key")},
    {"dir_sizes", "host.dir_sizes", ARGS("path", "depth", "limit"), ARGS("path")},
    {"file_stat", "host.file_stat", ARGS("path"), ARGS("path")},
    {"fs_usage", "host.fs_usage", ARGS("mount", "include_pseudo"), NONE},
    {"guardrail_rule_status", NULL, ARGS("rule"), ARGS("rule")},
    {"http_status", NULL, ARGS("path"), ARGS("path")},
    {"inode_usage", "host.inode_usage", ARGS("mount", "include_pseudo"), NONE},
    {"journal_disk_usage", "host.journal_disk_usage", ARGS("directory"), NONE},
    {"journal_lines", "host.journal_lines",
     ARGS("lines", "kernel", "unit", "since", "priority", "filter"), NONE},
    /* the executor reshapes kubernetes.get's row (exec/probe.c) */
    {"k8s_deployment_status", "kubernetes.get", ARGS("namespace", "deployment"),
     ARGS("namespace", "deployment")},
    {"largest_files", "host.largest_files", ARGS("path", "limit", "min_size_bytes"), ARGS("path")},
    {"listening_ports", "host.listening_ports", NONE, NONE},
    {"load", "host.load", NONE, NONE},
    {"log_lines", "host.log_lines", ARGS("path", "lines", "filter"), ARGS("path")},
    {"memory", "host.memory", NONE, NONE},
    {"model_group_route", NULL, ARGS("model_group"), ARGS("model_group")},
    {"package_version", "host.package_version", ARGS("package"), ARGS("package")},
    {"process_info", "host.process_info", ARGS("pid"), ARGS("pid")},
    {"provider_status", NULL, ARGS("provider"), ARGS("provider")},
    {"rate_limit_status", NULL, ARGS("team"), ARGS("team")},
    {"service_status", "host.service_status", ARGS("unit"), ARGS("unit")},
    {"sla_contract_status", NULL, ARGS("contract"), ARGS("contract")},
    {"top_processes", "host.top_processes", ARGS("sort", "limit"), NONE},
};
#undef ARGS
#undef NONE

const struct fs_probe_def *fs_catalog_probe(const char *name)
{
    for (size_t i = 0; name && i < FS_ARRAY_LEN(probes); i++)
        if (strcmp(probes[i].name, name) == 0)
            return &probes[i];
    return NULL;
}

const struct fs_probe_def *fs_catalog_probes(size_t *n)
{
    *n = FS_ARRAY_LEN(probes);
    return probes;
}

/* ---- loading: probes -------------------------------------------------------------------- */

static const char *const precondition_keys[] = {"probe", "args", "expect", NULL};
static const char *const verify_keys[] = {"probe", "args", "expect", "wait", NULL};

/* A probe nothing answers would fail every run (or, before this check, go unnoticed until an
 * action ran: k8s_deployment_status did). */
static void unknown_probe(struct loader *L, const char *probe, const char *path)
{
    struct fs_suggest s;
    fs_suggest_init(&s, probe, FS_MAX(4, strlen(probe) / 3 + 1)); /* k8s_deploy_status */
    for (size_t i = 0; i < FS_ARRAY_LEN(probes); i++)
        fs_suggest_offer(&s, probes[i].name, strlen(probes[i].name));
    const char *best = fs_suggest_best(&s);
    if (best) {
        problem(L, path, "unknown probe \"%s\" (did you mean %s?)", probe, best);
        return;
    }
    char list[1024];
    size_t j = 0;
    list[0] = '\0';
    for (size_t i = 0; i < FS_ARRAY_LEN(probes) && j < sizeof(list); i++)
        if (probes[i].tool)
            j +=
                (size_t)snprintf(list + j, sizeof(list) - j, "%s%s", j ? ", " : "", probes[i].name);
    problem(L, path, "unknown probe \"%s\": a probe is a read-only tool the executor calls (%s)",
            probe, list);
}

/* The probe's arguments are the ones its tool takes: a misspelt one would make the tool refuse
 * the call, and the probe fail, on every run. */
static void check_probe_args(struct loader *L, const struct fs_probe_def *pd, const json_t *args,
                             const char *path)
{
    char child[512], list[400];
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v)
    {
        if (in_list(key, pd->args))
            continue;
        fs_jpath_key(child, sizeof(child), path, key);
        struct fs_suggest s;
        fs_suggest_init(&s, key, 3);
        for (const char *const *k = pd->args; *k; k++)
            fs_suggest_offer(&s, *k, strlen(*k));
        const char *best = fs_suggest_best(&s);
        fs_diag_join(list, sizeof(list), pd->args);
        if (best)
            problem(L, child, "probe %s has no argument %s (did you mean %s?)", pd->name, key,
                    best);
        else if (!pd->args[0])
            problem(L, child, "probe %s takes no arguments", pd->name);
        else
            problem(L, child, "probe %s has no argument %s (it takes %s)", pd->name, key, list);
    }
    for (const char *const *k = pd->required; *k; k++)
        if (!json_object_get(args, *k)) {
            fs_jpath_key(child, sizeof(child), path, *k);
            problem(L, child, "required by probe %s", pd->name);
        }
}

/* {probe, args, expect[, wait]} → {probe, args, expect[, wait_ms]}; NULL after problems. */
static json_t *parse_probe(struct loader *L, const struct fs_action *a, json_t *v, const char *path,
                           bool verify)
{
    int before = L->d.problems;
    char kpath[512];
    if (!json_is_object(v)) {
        problem(L, path, "expected a mapping with probe, args and expect, got %s",
                fs_json_type_name(v));
        return NULL;
    }
    check_keys(L, v, path, verify ? verify_keys : precondition_keys);
    const char *probe = get_str(L, v, "probe", path, true, MAX_NAME);
    const struct fs_probe_def *pd = NULL;
    fs_jpath_key(kpath, sizeof(kpath), path, "probe");
    if (probe && !is_name(probe))
        problem(L, kpath, "expected a probe name ([a-z][a-z0-9_]*)");
    else if (probe && !(pd = fs_catalog_probe(probe)))
        unknown_probe(L, probe, kpath);
    json_t *args = json_object_get(v, "args");
    fs_jpath_key(kpath, sizeof(kpath), path, "args");
    if (args && !json_is_object(args))
        problem(L, kpath, "expected a mapping, got %s", fs_json_type_name(args));
    else if (args)
        check_tpl_json(L, a, args, kpath, true);
    if (pd && (!args || json_is_object(args)))
        check_probe_args(L, pd, args, kpath);
    const char *expect = get_str(L, v, "expect", path, true, MAX_EXPECT);
    int64_t wait_ms = 0;
    json_t *wait = json_object_get(v, "wait");
    if (verify && wait) {
        fs_jpath_key(kpath, sizeof(kpath), path, "wait");
        if (!json_is_string(wait) || fs_duration_parse(json_string_value(wait), &wait_ms) < 0)
            problem(L, kpath, "expected a duration such as 30s or 2m");
        else if (wait_ms < 0 || wait_ms > MAX_WAIT_MS)
            problem(L, kpath, "must be between 0s and 1h");
    }
    if (L->d.problems != before)
        return NULL;
    json_t *out = json_object();
    json_t *acopy = args ? json_deep_copy(args) : json_object();
    if (!out || !acopy || json_object_set_new(out, "probe", json_string(probe)) < 0 ||
        json_object_set_new(out, "args", acopy) < 0 ||
        json_object_set_new(out, "expect", json_string(expect)) < 0 ||
        (verify && json_object_set_new(out, "wait_ms", json_integer(wait_ms)) < 0)) {
        json_decref(out);
        nomem(L, path);
        return NULL;
    }
    return out;
}

/* ---- loading: actions ------------------------------------------------------------------- */

static void action_release(struct fs_action *a)
{
    free(a->name);
    free(a->description);
    free(a->category);
    for (size_t i = 0; i < a->nparams; i++)
        param_release(&a->params[i]);
    free(a->params);
    for (int k = 0; k < FS_TARGET__COUNT; k++)
        json_decref(a->targets[k]);
    json_decref(a->preconditions);
    json_decref(a->verify);
    free(a->rollback);
    memset(a, 0, sizeof(*a));
}

static const char *const action_keys[] = {
    "name",   "description",   "category", "tier",     "baseline_risk", "reversible", "idempotent",
    "params", "preconditions", "verify",   "rollback", "targets",       NULL,
};

/* Fill a from one entry of actions:. Problems are reported; a may be partly filled. */
static void parse_action(struct loader *L, json_t *obj, const char *path, struct fs_action *a)
{
    char kpath[512];
    int line = line_of(L->doc, path);
    snprintf(a->source, sizeof(a->source), "%s:%d", L->doc->name, line);
    if (!json_is_object(obj)) {
        problem(L, path, "expected a mapping, got %s", fs_json_type_name(obj));
        return;
    }
    check_keys(L, obj, path, action_keys);

    const char *name = get_str(L, obj, "name", path, true, MAX_NAME);
    if (name) {
        if (!is_name(name)) {
            fs_jpath_key(kpath, sizeof(kpath), path, "name");
            problem(L, kpath, "expected a lowercase identifier ([a-z][a-z0-9_]*), got \"%s\"",
                    name);
        }
        a->name = fs_strdup(name);
    }
    const char *desc = get_str(L, obj, "description", path, true, MAX_DESCRIPTION);
    if (desc)
        a->description = fs_strdup(desc);
    const char *cat = get_str(L, obj, "category", path, true, MAX_NAME);
    if (cat) {
        if (!in_list(cat, fs_categories)) {
            fs_jpath_key(kpath, sizeof(kpath), path, "category");
            problem(L, kpath,
                    "unknown category \"%s\" (known: read_only, log_cleanup, "
                    "cache_cleanup, service_restart, process_kill, scale, package_change, "
                    "data_deletion, config_change, security_change, circuit_break, reroute, "
                    "rate_limit, page, guardrail, budget, sla)",
                    cat);
        }
        a->category = fs_strdup(cat);
    }
    int64_t x;
    if (get_int(L, obj, "tier", path, true, 0, 3, &x))
        a->tier = (int)x;
    if (get_int(L, obj, "baseline_risk", path, true, 0, 100, &x))
        a->baseline_risk = (int)x;

    json_t *rev = json_object_get(obj, "reversible");
    fs_jpath_key(kpath, sizeof(kpath), path, "reversible");
    if (!rev)
        problem(L, kpath, "required");
    else if (json_is_boolean(rev))
        a->reversible = json_is_true(rev) ? FS_REV_YES : FS_REV_NO;
    else if (fs_streq(json_string_value(rev), "notification"))
        a->reversible = FS_REV_NOTIFICATION;
    else
        problem(L, kpath, "expected true, false or notification");

    const char *idem = get_str(L, obj, "idempotent", path, true, 16);
    if (idem) {
        if (!strcmp(idem, "absolute"))
            a->idempotent = FS_IDEM_ABSOLUTE;
        else if (!strcmp(idem, "keyed"))
            a->idempotent = FS_IDEM_KEYED;
        else if (!strcmp(idem, "no"))
            a->idempotent = FS_IDEM_NO;
        else {
            fs_jpath_key(kpath, sizeof(kpath), path, "idempotent");
            problem(L, kpath, "expected absolute, keyed or no, got \"%s\"", idem);
        }
    }

    /* params before the templates that refer to them */
    json_t *params = json_object_get(obj, "params");
    fs_jpath_key(kpath, sizeof(kpath), path, "params");
    if (params && !json_is_null(params)) {
        if (!json_is_object(params))
            problem(L, kpath, "expected a mapping of parameter names, got %s",
                    fs_json_type_name(params));
        else if (json_object_size(params) > MAX_PARAMS)
            problem(L, kpath, "more than %d parameters", MAX_PARAMS);
        else if (json_object_size(params) > 0 &&
                 !(a->params = fs_calloc(json_object_size(params), sizeof(struct fs_param))))
            nomem(L, kpath);
        else {
            const char *pname;
            json_t *spec;
            json_object_foreach(params, pname, spec)
            {
                char ppath[512];
                fs_jpath_key(ppath, sizeof(ppath), kpath, pname);
                parse_param(L, pname, spec, ppath, &a->params[a->nparams++]);
            }
        }
    }

    json_t *targets = json_object_get(obj, "targets");
    fs_jpath_key(kpath, sizeof(kpath), path, "targets");
    if (!targets)
        problem(L, kpath, "required: at least one of local, ssh, kubectl, http, mcp");
    else if (!json_is_object(targets) || json_object_size(targets) == 0)
        problem(L, kpath, "expected a mapping with at least one of local, ssh, kubectl, http, mcp");
    else {
        const char *kname;
        json_t *t;
        json_object_foreach(targets, kname, t)
        {
            char tpath[512];
            enum fs_target_kind k;
            fs_jpath_key(tpath, sizeof(tpath), kpath, kname);
            if (fs_target_kind_parse(kname, &k) < 0)
                problem(L, tpath,
                        "unknown target kind (expected local, ssh, kubectl, http or mcp)");
            else
                a->targets[k] = parse_target(L, a, k, t, tpath);
        }
    }

    json_t *pre = json_object_get(obj, "preconditions");
    fs_jpath_key(kpath, sizeof(kpath), path, "preconditions");
    if (pre && !json_is_null(pre)) {
        if (!json_is_array(pre) || json_array_size(pre) > MAX_PRECONDITIONS)
            problem(L, kpath, "expected a list of at most %d {probe, args, expect}",
                    MAX_PRECONDITIONS);
        else if (!(a->preconditions = json_array()))
            nomem(L, kpath);
        else {
            size_t i;
            json_t *item;
            json_array_foreach(pre, i, item)
            {
                char ipath[512];
                fs_jpath_index(ipath, sizeof(ipath), kpath, i);
                json_t *p = parse_probe(L, a, item, ipath, false);
                if (p && json_array_append_new(a->preconditions, p) < 0)
                    nomem(L, ipath);
            }
        }
    }
    json_t *ver = json_object_get(obj, "verify");
    fs_jpath_key(kpath, sizeof(kpath), path, "verify");
    if (ver && !json_is_null(ver))
        a->verify = parse_probe(L, a, ver, kpath, true);

    json_t *rb = json_object_get(obj, "rollback");
    fs_jpath_key(kpath, sizeof(kpath), path, "rollback");
    if (rb && !json_is_null(rb)) {
        if (!is_name(json_string_value(rb)))
            problem(L, kpath, "expected null or the name of another action");
        else if (!(a->rollback = fs_strdup(json_string_value(rb))))
            nomem(L, kpath);
    }
    if ((name && !a->name) || (desc && !a->description) || (cat && !a->category))
        nomem(L, path);
}

/* ---- copying (an operator file's catalog keeps the built-in actions it does not touch) ---- */

static char **strv_copy(char *const *v, size_t n, bool *bad)
{
    if (n == 0)
        return NULL;
    char **out = fs_calloc(n, sizeof(char *));
    if (!out) {
        *bad = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = fs_strdup(v[i])))
            *bad = true;
    return out;
}

static int action_copy(struct fs_action *d, const struct fs_action *s)
{
    bool bad = false;
    memset(d, 0, sizeof(*d));
    d->name = fs_strdup(s->name);
    d->description = fs_strdup(s->description);
    d->category = fs_strdup(s->category);
    d->tier = s->tier;
    d->baseline_risk = s->baseline_risk;
    d->reversible = s->reversible;
    d->idempotent = s->idempotent;
    memcpy(d->source, s->source, sizeof(d->source));
    if (s->nparams && !(d->params = fs_calloc(s->nparams, sizeof(struct fs_param))))
        bad = true;
    for (size_t i = 0; d->params && i < s->nparams; i++) {
        const struct fs_param *sp = &s->params[i];
        struct fs_param *dp = &d->params[d->nparams++];
        *dp = *sp;
        dp->name = fs_strdup(sp->name);
        dp->description = fs_strdup(sp->description);
        dp->pattern = sp->pattern ? fs_strdup(sp->pattern) : NULL;
        dp->re = sp->re ? pcre2_code_copy(sp->re) : NULL;
        dp->values = dp->under = NULL;
        dp->nvalues = dp->nunder = 0;
        dp->values = strv_copy(sp->values, sp->nvalues, &bad);
        if (dp->values)
            dp->nvalues = sp->nvalues;
        dp->under = strv_copy(sp->under, sp->nunder, &bad);
        if (dp->under)
            dp->nunder = sp->nunder;
        dp->default_value = sp->default_value ? json_deep_copy(sp->default_value) : NULL;
        if (!dp->name || !dp->description || (sp->pattern && (!dp->pattern || !dp->re)) ||
            (sp->default_value && !dp->default_value))
            bad = true;
    }
    for (int k = 0; k < FS_TARGET__COUNT; k++)
        if (s->targets[k] && !(d->targets[k] = json_deep_copy(s->targets[k])))
            bad = true;
    if (s->preconditions && !(d->preconditions = json_deep_copy(s->preconditions)))
        bad = true;
    if (s->verify && !(d->verify = json_deep_copy(s->verify)))
        bad = true;
    if (s->rollback && !(d->rollback = fs_strdup(s->rollback)))
        bad = true;
    if (bad || !d->name || !d->description || !d->category) {
        action_release(d);
        return -FS_E_NOMEM;
    }
    return 0;
}

/* ---- JSON views ------------------------------------------------------------------------- */

struct jb {
    bool bad;
};

static void jset(struct jb *j, json_t *o, const char *k, json_t *v)
{
    if (!o || json_object_set_new(o, k, v) < 0)
        j->bad = true;
}

static json_t *strv_json(struct jb *j, char *const *v, size_t n)
{
    json_t *a = json_array();
    if (!a)
        j->bad = true;
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0)
            j->bad = true;
    return a;
}

static json_t *param_json(struct jb *j, const struct fs_param *p)
{
    json_t *o = json_object();
    jset(j, o, "type", json_string(type_names[p->type]));
    jset(j, o, "description", json_string(p->description));
    jset(j, o, "required", json_boolean(p->required));
    if (p->default_value)
        jset(j, o, "default", json_deep_copy(p->default_value));
    if (p->pattern)
        jset(j, o, "pattern", json_string(p->pattern));
    if (p->type == FS_PARAM_STRING || p->type == FS_PARAM_PATH)
        jset(j, o, "max_length", json_integer((json_int_t)p->max_length));
    if (p->has_min)
        jset(j, o, "min", json_integer(p->min));
    if (p->has_max)
        jset(j, o, "max", json_integer(p->max));
    if (p->type == FS_PARAM_ENUM)
        jset(j, o, "values", strv_json(j, p->values, p->nvalues));
    if (p->type == FS_PARAM_PATH)
        jset(j, o, "under", strv_json(j, p->under, p->nunder));
    return o;
}

/* Everything that defines the action; not where it was written (so comments and reordering
 * in the file do not change the catalog version). */
static json_t *action_def_json(const struct fs_action *a)
{
    struct jb j = {false};
    json_t *o = json_object();
    jset(&j, o, "name", json_string(a->name));
    jset(&j, o, "description", json_string(a->description));
    jset(&j, o, "category", json_string(a->category));
    jset(&j, o, "tier", json_integer(a->tier));
    jset(&j, o, "baseline_risk", json_integer(a->baseline_risk));
    jset(&j, o, "reversible",
         a->reversible == FS_REV_NOTIFICATION ? json_string("notification")
                                              : json_boolean(a->reversible == FS_REV_YES));
    jset(&j, o, "idempotent", json_string(idempotent_name(a->idempotent)));
    json_t *params = json_object();
    for (size_t i = 0; i < a->nparams; i++)
        jset(&j, params, a->params[i].name, param_json(&j, &a->params[i]));
    jset(&j, o, "params", params);
    json_t *targets = json_object();
    for (int k = 0; k < FS_TARGET__COUNT; k++)
        if (a->targets[k])
            jset(&j, targets, kind_names[k], json_deep_copy(a->targets[k]));
    jset(&j, o, "targets", targets);
    jset(&j, o, "preconditions",
         a->preconditions ? json_deep_copy(a->preconditions) : json_array());
    jset(&j, o, "verify", a->verify ? json_deep_copy(a->verify) : json_null());
    jset(&j, o, "rollback", a->rollback ? json_string(a->rollback) : json_null());
    if (j.bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *fs_action_json(const struct fs_action *a)
{
    json_t *o = action_def_json(a);
    if (o && json_object_set_new(o, "source", json_string(a->source)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Regex text for JSON Schema: metacharacters of a root escaped (ECMA-262 and PCRE agree). */
static bool re_escape(struct fs_buf *b, const char *s)
{
    bool bad = false;
    for (; *s; s++) {
        if (strchr("^$\\.*+?()[]{}|", *s))
            bad |= fs_buf_putc(b, '\\') < 0;
        bad |= fs_buf_putc(b, *s) < 0;
    }
    return bad;
}

#define SCHEMA_SEG "(?!\\.\\.?(?:/|$))[^/\\x00-\\x1f\\x7f-\\x9f]+"
#define SCHEMA_NO_CTRL "^[^\\x00-\\x1f\\x7f-\\x9f]*$"

/* A pattern equivalent to the path rules: absolute, normalised, at or below a root. NULL when
 * out of memory. */
static char *path_schema_pattern(const struct fs_param *p)
{
    struct fs_buf b = FS_BUF_INIT(0);
    bool root = false, bad = false;
    for (size_t i = 0; i < p->nunder; i++)
        root = root || strcmp(p->under[i], "/") == 0;
    if (root) {
        bad |= fs_buf_puts(&b, "^/(?:" SCHEMA_SEG "(?:/" SCHEMA_SEG ")*)?$") < 0;
    } else {
        bad |= fs_buf_puts(&b, "^(?:") < 0;
        for (size_t i = 0; i < p->nunder; i++) {
            if (i)
                bad |= fs_buf_putc(&b, '|') < 0;
            bad |= re_escape(&b, p->under[i]);
        }
        bad |= fs_buf_puts(&b, ")(?:/" SCHEMA_SEG ")*$") < 0;
    }
    if (bad) {
        fs_buf_release(&b);
        return NULL;
    }
    return fs_buf_detach(&b, NULL);
}

static char *wrap_pattern(const char *pat)
{
    size_t n = strlen(pat) + 8;
    char *s = fs_malloc(n);
    if (s)
        snprintf(s, n, "^(?:%s)$", pat);
    return s;
}

json_t *fs_action_params_schema(const struct fs_action *a)
{
    struct jb j = {false};
    json_t *o = json_object(), *props = json_object(), *req = json_array();
    jset(&j, o, "$schema", json_string("https://json-schema.org/draft/2020-12/schema"));
    jset(&j, o, "title", json_string(a->name));
    jset(&j, o, "description", json_string(a->description));
    jset(&j, o, "type", json_string("object"));
    for (size_t i = 0; i < a->nparams; i++) {
        const struct fs_param *p = &a->params[i];
        json_t *s = json_object(), *all = json_array();
        jset(&j, s, "description", json_string(p->description));
        switch (p->type) {
        case FS_PARAM_STRING:
        case FS_PARAM_PATH: {
            jset(&j, s, "type", json_string("string"));
            jset(&j, s, "maxLength", json_integer((json_int_t)p->max_length));
            if (p->type == FS_PARAM_PATH) {
                char *pp = path_schema_pattern(p);
                jset(&j, s, "pattern", json_string(pp));
                free(pp);
                jset(&j, s, "x-under", strv_json(&j, p->under, p->nunder));
            } else {
                json_t *nc = json_object();
                jset(&j, nc, "pattern", json_string(SCHEMA_NO_CTRL));
                if (json_array_append_new(all, nc) < 0)
                    j.bad = true;
            }
            if (p->pattern) {
                char *w = wrap_pattern(p->pattern);
                if (p->type == FS_PARAM_STRING) {
                    jset(&j, s, "pattern", json_string(w));
                } else {
                    json_t *pc = json_object();
                    jset(&j, pc, "pattern", json_string(w));
                    if (json_array_append_new(all, pc) < 0)
                        j.bad = true;
                }
                free(w);
            }
            break;
        }
        case FS_PARAM_INTEGER:
            jset(&j, s, "type", json_string("integer"));
            if (p->has_min)
                jset(&j, s, "minimum", json_integer(p->min));
            if (p->has_max)
                jset(&j, s, "maximum", json_integer(p->max));
            break;
        case FS_PARAM_ENUM:
            jset(&j, s, "type", json_string("string"));
            jset(&j, s, "enum", strv_json(&j, p->values, p->nvalues));
            break;
        case FS_PARAM_BOOLEAN: jset(&j, s, "type", json_string("boolean")); break;
        }
        if (json_array_size(all) > 0)
            jset(&j, s, "allOf", all);
        else
            json_decref(all);
        if (p->default_value)
            jset(&j, s, "default", json_deep_copy(p->default_value));
        jset(&j, props, p->name, s);
        if (p->required && json_array_append_new(req, json_string(p->name)) < 0)
            j.bad = true;
    }
    jset(&j, o, "properties", props);
    jset(&j, o, "required", req);
    jset(&j, o, "additionalProperties", json_false());
    if (j.bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- loading: the whole file ------------------------------------------------------------ */

static int cmp_action(const void *x, const void *y)
{
    return strcmp(((const struct fs_action *)x)->name, ((const struct fs_action *)y)->name);
}

static void actions_free(struct fs_action *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        action_release(&v[i]);
    free(v);
}

void fs_catalog_free(struct fs_catalog *c)
{
    if (!c)
        return;
    actions_free(c->actions, c->n);
    free(c->version);
    free(c);
}

const struct fs_action *fs_catalog_find(const struct fs_catalog *c, const char *name)
{
    if (!c || !name || c->n == 0)
        return NULL;
    struct fs_action key = {.name = (char *)name};
    return bsearch(&key, c->actions, c->n, sizeof(key), cmp_action);
}

static bool valid_version(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_VERSION || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

/* The declared version as text: a string as written, a number in its shortest exact form. */
static char *parse_version(struct loader *L, json_t *v)
{
    char buf[80];
    if (json_is_string(v)) {
        snprintf(buf, sizeof(buf), "%s", json_string_value(v));
        if (json_string_length(v) > MAX_VERSION)
            buf[0] = '\0';
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
    } else {
        problem(L, "version", "expected a string such as \"2026.11\", got %s",
                fs_json_type_name(v));
        return NULL;
    }
    if (!valid_version(buf)) {
        problem(L, "version",
                "expected 1 to %d letters, digits and ._- (starting with a letter "
                "or digit)",
                MAX_VERSION);
        return NULL;
    }
    char *s = fs_strdup(buf);
    if (!s)
        nomem(L, "version");
    return s;
}

static int make_version(const char *declared, const struct fs_action *acts, size_t n, char **out)
{
    json_t *arr = json_array();
    int rc = arr ? 0 : -FS_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *d = action_def_json(&acts[i]);
        if (!d || json_array_append_new(arr, d) < 0)
            rc = -FS_E_NOMEM;
    }
    char *canon = rc == 0 ? fs_json_canonical(arr) : NULL;
    json_decref(arr);
    char hex[FS_SHA256_HEX_LEN + 1];
    if (rc == 0 && (!canon || fs_sha256_hex(canon, strlen(canon), hex) < 0))
        rc = -FS_E_NOMEM;
    free(canon);
    if (rc < 0)
        return rc;
    size_t len = strlen(declared) + 14;
    if (!(*out = fs_malloc(len)))
        return -FS_E_NOMEM;
    snprintf(*out, len, "%s+%.12s", declared, hex);
    return 0;
}

static bool removed_by(const json_t *remove, const char *name)
{
    for (size_t k = 0; k < json_array_size(remove); k++)
        if (fs_streq(json_string_value(json_array_get(remove, k)), name))
            return true;
    return false;
}

static bool defined_in(const struct fs_action *acts, size_t n, const char *name)
{
    for (size_t j = 0; j < n; j++)
        if (fs_streq(acts[j].name, name))
            return true;
    return false;
}

/* Will name be an action once this file is merged over base? */
static bool exists_after(const struct fs_catalog *base, const struct fs_action *acts, size_t n,
                         const json_t *remove, const char *name)
{
    return defined_in(acts, n, name) || (fs_catalog_find(base, name) && !removed_by(remove, name));
}

static const char *const top_keys[] = {"version", "actions", "remove", NULL};

static int load_doc(const struct fs_yaml_doc *doc, const struct fs_catalog *base,
                    struct fs_catalog **out, struct fs_buf *diag, struct fs_err *err)
{
    struct loader L = {.doc = doc, .d = {.out = diag, .err = err, .code = FS_E_CONFIG}};
    json_t *root = doc->root;
    struct fs_action *acts = NULL, *merged = NULL;
    size_t nacts = 0, nmerged = 0;
    char *declared = NULL;
    json_t *remove = NULL;
    char path[512];
    int rc;

    if (!root || json_is_null(root)) {
        if (!base)
            problem(&L, "", "empty catalog: expected a mapping with version and actions");
    } else if (!json_is_object(root)) {
        problem(&L, "", "expected a mapping with version and actions, got %s",
                fs_json_type_name(root));
    } else {
        check_keys(&L, root, "", top_keys);
        json_t *v = json_object_get(root, "version");
        if (v)
            declared = parse_version(&L, v);
        else if (!base)
            problem(&L, "version", "required");

        json_t *list = json_object_get(root, "actions");
        if (!list && !base)
            problem(&L, "actions", "required");
        else if (list && (!json_is_array(list) || json_array_size(list) > MAX_ACTIONS))
            problem(&L, "actions", "expected a list of at most %d actions, got %s", MAX_ACTIONS,
                    json_is_array(list) ? "more" : fs_json_type_name(list));
        else if (list && json_array_size(list) > 0) {
            if (!(acts = fs_calloc(json_array_size(list), sizeof(*acts))))
                nomem(&L, "actions");
            size_t i;
            json_t *item;
            json_array_foreach(list, i, item)
            {
                if (!acts)
                    break;
                fs_jpath_index(path, sizeof(path), "actions", i);
                parse_action(&L, item, path, &acts[nacts++]);
            }
        }
        /* names are unique within a file */
        for (size_t i = 0; i < nacts; i++)
            for (size_t j = 0; acts[i].name && j < i; j++)
                if (acts[j].name && strcmp(acts[i].name, acts[j].name) == 0) {
                    char first[512];
                    fs_jpath_index(first, sizeof(first), "actions", j);
                    snprintf(path, sizeof(path), "actions[%zu].name", i);
                    problem(&L, path, "duplicate action name %s (first defined at line %d)",
                            acts[i].name, line_of(doc, first));
                    break;
                }

        remove = json_object_get(root, "remove");
        if (remove && !json_is_null(remove)) {
            if (!json_is_array(remove)) {
                problem(&L, "remove", "expected a list of action names, got %s",
                        fs_json_type_name(remove));
                remove = NULL;
            } else {
                size_t i;
                json_t *item;
                json_array_foreach(remove, i, item)
                {
                    fs_jpath_index(path, sizeof(path), "remove", i);
                    const char *n = json_string_value(item);
                    if (!n) {
                        problem(&L, path, "expected an action name, got %s",
                                fs_json_type_name(item));
                        continue;
                    }
                    if (!fs_catalog_find(base, n))
                        problem(&L, path, "no built-in action named \"%s\" to remove",
                                is_name(n) ? n : "(invalid name)");
                    for (size_t j = 0; j < nacts; j++)
                        if (fs_streq(acts[j].name, n)) {
                            char apath[64];
                            snprintf(apath, sizeof(apath), "actions[%zu]", j);
                            problem(&L, path,
                                    "%s is also defined in this file (line %d); "
                                    "defining it replaces the built-in one",
                                    n, line_of(doc, apath));
                        }
                    for (size_t j = 0; j < i; j++)
                        if (fs_streq(json_string_value(json_array_get(remove, j)), n))
                            problem(&L, path, "%s is listed twice", n);
                }
            }
        } else {
            remove = NULL;
        }
    }

    /* every rollback names an action of the merged catalog */
    for (size_t i = 0; i < nacts; i++)
        if (acts[i].rollback && !exists_after(base, acts, nacts, remove, acts[i].rollback)) {
            snprintf(path, sizeof(path), "actions[%zu].rollback", i);
            problem(&L, path, "no action named \"%s\"", acts[i].rollback);
        }
    for (size_t i = 0; base && i < base->n; i++) {
        const struct fs_action *b = &base->actions[i];
        if (removed_by(remove, b->name) || defined_in(acts, nacts, b->name) || !b->rollback ||
            exists_after(base, acts, nacts, remove, b->rollback))
            continue;
        for (size_t k = 0; k < json_array_size(remove); k++)
            if (fs_streq(json_string_value(json_array_get(remove, k)), b->rollback)) {
                fs_jpath_index(path, sizeof(path), "remove", k);
                problem(&L, path, "cannot remove %s: it is the rollback of %s", b->rollback,
                        b->name);
            }
    }

    /* merge: the built-in actions this file neither replaces nor removes, then the file's */
    size_t nbase = base ? base->n : 0;
    if (!L.d.problems && nbase + nacts > 0 && !(merged = fs_calloc(nbase + nacts, sizeof(*merged))))
        nomem(&L, "");
    for (size_t i = 0; merged && !L.d.problems && i < nbase; i++) {
        const struct fs_action *b = &base->actions[i];
        if (removed_by(remove, b->name) || defined_in(acts, nacts, b->name))
            continue;
        if (action_copy(&merged[nmerged], b) < 0)
            nomem(&L, "");
        else
            nmerged++;
    }
    if (merged && !L.d.problems) {
        for (size_t j = 0; j < nacts; j++) {
            merged[nmerged++] = acts[j];
            memset(&acts[j], 0, sizeof(acts[j]));
        }
        if (nmerged > 1)
            qsort(merged, nmerged, sizeof(*merged), cmp_action);
    }
    if (L.d.problems) {
        rc = L.oom ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : -FS_E_CONFIG;
        goto out;
    }

    if (!declared && base) {
        const char *plus = strrchr(base->version, '+');
        size_t n = plus ? (size_t)(plus - base->version) : strlen(base->version);
        declared = fs_strndup(base->version, n);
    }
    struct fs_catalog *c = fs_calloc(1, sizeof(*c));
    if (!declared || !c || (rc = make_version(declared, merged, nmerged, &c->version)) < 0) {
        free(c);
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    c->actions = merged;
    c->n = nmerged;
    merged = NULL;
    nmerged = 0;
    *out = c;
    rc = 0;
out:
    actions_free(acts, nacts);
    actions_free(merged, nmerged);
    free(declared);
    return rc;
}

int fs_catalog_load_buf(const char *buf, size_t len, const char *name,
                        const struct fs_catalog *base, struct fs_catalog **out, struct fs_buf *diag,
                        struct fs_err *err)
{
    struct fs_yaml_doc doc;
    struct fs_err local;
    *out = NULL;
    if (!err)
        err = &local;
    int rc = fs_yaml_parse(buf, len, name ? name : "catalog", &doc, err);
    if (rc < 0) {
        if (diag)
            fs_buf_printf(diag, "%s\n", err->msg);
        return rc;
    }
    rc = load_doc(&doc, base, out, diag, err);
    fs_yaml_doc_release(&doc);
    return rc;
}

int fs_catalog_load(const char *file, struct fs_catalog **out, struct fs_buf *diag,
                    struct fs_err *err)
{
    struct fs_err local;
    *out = NULL;
    if (!err)
        err = &local;
    const struct fs_embed_file *def = fs_embed_find("etc/catalog.yaml");
    if (!def)
        FS_BUG("the default catalog is not embedded");
    struct fs_catalog *builtin;
    int rc = fs_catalog_load_buf((const char *)def->start, fs_embed_len(def), EMBEDDED_NAME, NULL,
                                 &builtin, diag, err);
    if (rc < 0 || !file) {
        *out = rc < 0 ? NULL : builtin;
        return rc;
    }
    struct fs_yaml_doc doc;
    if ((rc = fs_yaml_load_file(file, &doc, err)) < 0) {
        if (diag)
            fs_buf_printf(diag, "%s\n", err->msg);
    } else {
        rc = load_doc(&doc, builtin, out, diag, err);
        fs_yaml_doc_release(&doc);
    }
    fs_catalog_free(builtin);
    return rc;
}

/* ---- params ----------------------------------------------------------------------------- */

int fs_action_check_params(const struct fs_action *a, const json_t *params, json_t **normalized,
                           struct fs_err *err)
{
    char path[256], msg[400];
    if (normalized)
        *normalized = NULL;
    if (!a)
        return fs_err_set(err, FS_E_INVALID, NULL, "no action");
    if (params && !json_is_object(params))
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "params", "params: expected object, got %s",
                          fs_json_type_name(params));
    const char *key;
    json_t *v;
    if (params)
        json_object_foreach((json_t *)params, key, v)
        {
            if (!param_find(a, key)) {
                fs_jpath_key(path, sizeof(path), "params", key);
                return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: unknown parameter", path);
            }
        }
    json_t *norm = NULL;
    if (normalized && !(norm = json_object()))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    for (size_t i = 0; i < a->nparams; i++) {
        const struct fs_param *p = &a->params[i];
        fs_jpath_key(path, sizeof(path), "params", p->name);
        v = params ? json_object_get(params, p->name) : NULL;
        json_t *keep = v;
        if (!v) {
            if (p->required) {
                json_decref(norm);
                return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: required", path);
            }
            keep = p->default_value;
        } else if (check_value(p, v, msg, sizeof(msg)) < 0) {
            json_decref(norm);
            return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: %s", path, msg);
        }
        if (norm && keep && json_object_set_new(norm, p->name, json_deep_copy(keep)) < 0) {
            json_decref(norm);
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
    }
    if (normalized)
        *normalized = norm;
    return 0;
}

/* ---- rendering -------------------------------------------------------------------------- */

enum render_mode { R_ARGV, R_URL, R_PLAIN };

/* {target.*} values: a conservative shape (host names, IP addresses, unit and namespace names)
 * that can never be read as an option. */
static int target_value(const json_t *target, const char *field, const char **out,
                        struct fs_err *err)
{
    char path[64];
    snprintf(path, sizeof(path), "target.%s", field);
    const json_t *v = json_is_object(target) ? json_object_get(target, field) : NULL;
    if (!v)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: required by the template", path);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    bool ok = s && n > 0 && n <= MAX_TARGET_FIELD && strlen(s) == n &&
              (isalnum((unsigned char)s[0]) || (s[0] == ':' && !strcmp(field, "host")));
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || strchr("._:@-", s[i]);
    if (!ok)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path,
                          "%s: expected a name (letters, digits, ._:@-, starting with a letter "
                          "or digit)",
                          path);
    *out = s;
    return 0;
}

static int percent_encode(struct fs_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            rc = fs_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = fs_buf_append(b, e, 3);
        }
    }
    return rc;
}

/* The text of one placeholder's value: a param (strings as they are, integers in decimal) or
 * a {target.*} field. */
static int placeholder_text(const struct piece *pc, const json_t *params, const json_t *target,
                            char *num, size_t numsize, char *path, size_t pathsize,
                            const char **val, size_t *vlen, struct fs_err *err)
{
    const char *field = target_field_n(pc->s, pc->n);
    if (field) {
        snprintf(path, pathsize, "target.%s", field);
        int rc = target_value(target, field, val, err);
        if (rc == 0)
            *vlen = strlen(*val);
        return rc;
    }
    char name[MAX_NAME + 1];
    snprintf(path, pathsize, "params.%.*s", (int)pc->n, pc->s);
    snprintf(name, sizeof(name), "%.*s", (int)pc->n, pc->s);
    const json_t *v = json_object_get(params, name);
    if (!v)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: required by the template", path);
    if (json_is_string(v)) {
        *val = json_string_value(v);
        *vlen = json_string_length(v);
    } else if (json_is_integer(v)) {
        snprintf(num, numsize, "%lld", (long long)json_integer_value(v));
        *val = num;
        *vlen = strlen(num);
    } else if (json_is_boolean(v)) {
        *val = json_is_true(v) ? "true" : "false";
        *vlen = strlen(*val);
    } else {
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: cannot render %s", path,
                          fs_json_type_name(v));
    }
    return 0;
}

/* Render one template string into b. */
static int render_str(const struct fs_action *a, const char *tpl, const json_t *params,
                      const json_t *target, enum render_mode mode, struct fs_buf *b,
                      struct fs_err *err)
{
    const char *cur = tpl;
    struct piece pc;
    bool first = true, any = false;
    int rc = 0;
    while (rc == 0 && next_piece(tpl, &cur, &pc) != P_END) {
        if (pc.kind == P_ERR)
            return fs_err_set(err, FS_E_INVALID, NULL, "%s: template: %s", a->name, pc.msg);
        if (pc.kind == P_LIT) {
            rc = fs_buf_append(b, pc.s, pc.n);
            first = false;
            continue;
        }
        any = true;
        char num[32], path[128];
        const char *val = NULL;
        size_t vlen = 0;
        if ((rc = placeholder_text(&pc, params, target, num, sizeof(num), path, sizeof(path), &val,
                                   &vlen, err)) < 0)
            return rc;
        /* "-x" where an argument starts would be read as an option */
        if (mode == R_ARGV && first && vlen > 0 && val[0] == '-')
            return fs_err_set(err, FS_E_INVALID_PAYLOAD, path,
                              "%s: a value at the start of an argument must not begin with \"-\"",
                              path);
        rc = mode == R_URL ? percent_encode(b, val, vlen) : fs_buf_append(b, val, vlen);
        first = false;
    }
    if (rc < 0)
        return fs_err_set(err, rc == -FS_E_TOO_LARGE ? FS_E_TOO_LARGE : FS_E_NOMEM, NULL,
                          "%s: a rendered argument is larger than %u bytes or out of memory",
                          a->name, MAX_RENDERED);
    if (mode == R_ARGV && any && b->len == 0)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "params",
                          "params: an argument of %s would be empty", a->name);
    return 0;
}

static int render_string(const struct fs_action *a, const char *tpl, const json_t *params,
                         const json_t *target, enum render_mode mode, json_t **out,
                         struct fs_err *err)
{
    struct fs_buf b = FS_BUF_INIT(MAX_RENDERED);
    *out = NULL;
    int rc = render_str(a, tpl, params, target, mode, &b, err);
    if (rc == 0 && !(*out = json_stringn(fs_buf_str(&b), b.len)))
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    fs_buf_release(&b);
    return rc;
}

/* A JSON template: a string that is exactly "{x}" becomes x's typed value (or is omitted when
 * x is optional and absent, *omit set); other strings are rendered as text. */
static int render_json(const struct fs_action *a, const json_t *tpl, const json_t *params,
                       const json_t *target, json_t **out, bool *omit, struct fs_err *err)
{
    *out = NULL;
    *omit = false;
    if (json_is_string(tpl)) {
        const char *s = json_string_value(tpl), *cur = s;
        struct piece pc, end;
        if (next_piece(s, &cur, &pc) == P_PH && next_piece(s, &cur, &end) == P_END &&
            !target_field_n(pc.s, pc.n)) {
            char name[MAX_NAME + 1];
            snprintf(name, sizeof(name), "%.*s", (int)pc.n, pc.s);
            const json_t *v = json_object_get(params, name);
            if (!v) {
                *omit = true;
                return 0;
            }
            if (!(*out = json_deep_copy(v)))
                return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            return 0;
        }
        return render_string(a, s, params, target, R_PLAIN, out, err);
    }
    if (json_is_object(tpl)) {
        json_t *o = json_object();
        const char *key;
        json_t *m;
        if (!o)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_object_foreach((json_t *)tpl, key, m)
        {
            json_t *r;
            bool skip;
            int rc = render_json(a, m, params, target, &r, &skip, err);
            if (rc < 0) {
                json_decref(o);
                return rc;
            }
            if (!skip && json_object_set_new(o, key, r) < 0) {
                json_decref(o);
                return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            }
        }
        *out = o;
        return 0;
    }
    if (json_is_array(tpl)) {
        json_t *arr = json_array();
        size_t i;
        json_t *m;
        if (!arr)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_array_foreach(tpl, i, m)
        {
            json_t *r;
            bool skip;
            int rc = render_json(a, m, params, target, &r, &skip, err);
            if (rc == 0 && skip)
                rc = fs_err_set(err, FS_E_INVALID_PAYLOAD, "params",
                                "params: a list element of %s's template has no value", a->name);
            if (rc < 0 || json_array_append_new(arr, r) < 0) {
                json_decref(arr);
                return rc < 0 ? rc : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            }
        }
        *out = arr;
        return 0;
    }
    if (!(*out = json_deep_copy(tpl)))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

/* obj[key] = a copy of tpl[key]; false when out of memory. */
static bool copy_member(json_t *obj, const json_t *tpl, const char *key)
{
    return json_object_set_new(obj, key, json_deep_copy(json_object_get(tpl, key))) == 0;
}

int fs_action_render(const struct fs_action *a, enum fs_target_kind kind, const json_t *params,
                     const json_t *target, json_t **out, struct fs_err *err)
{
    *out = NULL;
    if (!a || (unsigned)kind >= FS_TARGET__COUNT)
        return fs_err_set(err, FS_E_INVALID, NULL, "no such action or target kind");
    const json_t *tpl = a->targets[kind];
    if (!tpl)
        return fs_err_set(err, FS_E_INVALID, NULL, "%s has no %s target", a->name,
                          kind_names[kind]);
    if (target && !json_is_object(target))
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "target", "target: expected object, got %s",
                          fs_json_type_name(target));
    /* the params are checked again: rendering unchecked values is never possible */
    json_t *norm;
    int rc = fs_action_check_params(a, params, &norm, err);
    if (rc < 0)
        return rc;
    json_t *res = NULL;
    if (kind == FS_TARGET_LOCAL || kind == FS_TARGET_SSH || kind == FS_TARGET_KUBECTL) {
        json_t *argv = json_object_get(tpl, "argv");
        res = json_array();
        size_t i;
        json_t *el;
        if (!res)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_array_foreach(argv, i, el)
        {
            if (rc < 0)
                break;
            json_t *s;
            rc = render_string(a, json_string_value(el), norm, target, R_ARGV, &s, err);
            if (rc == 0 && json_array_append_new(res, s) < 0)
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
    } else if (kind == FS_TARGET_HTTP) {
        json_t *path = NULL, *body = NULL;
        bool skip = false;
        const json_t *btpl = json_object_get(tpl, "body");
        rc = render_string(a, json_string_value(json_object_get(tpl, "path")), norm, target, R_URL,
                           &path, err);
        if (rc == 0 && btpl)
            rc = render_json(a, btpl, norm, target, &body, &skip, err);
        if (rc == 0) {
            res = json_object();
            if (!res || !copy_member(res, tpl, "method") ||
                json_object_set(res, "path", path) < 0 ||
                (body && json_object_set(res, "body", body) < 0))
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        json_decref(path);
        json_decref(body);
    } else {
        json_t *args = NULL;
        bool skip = false;
        const json_t *atpl = json_object_get(tpl, "arguments");
        if (atpl)
            rc = render_json(a, atpl, norm, target, &args, &skip, err);
        else if (!(args = json_object()))
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        if (rc == 0) {
            res = json_object();
            if (!res || !copy_member(res, tpl, "server") || !copy_member(res, tpl, "tool") ||
                json_object_set(res, "arguments", args) < 0)
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        json_decref(args);
    }
    json_decref(norm);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* ---- reference -------------------------------------------------------------------------- */

/* The page is built in its own buffer; any failed append fails the whole page. */
struct md {
    struct fs_buf b;
    bool bad;
};

static void md_puts(struct md *m, const char *s)
{
    if (fs_buf_puts(&m->b, s) < 0)
        m->bad = true;
}

static void md_putc(struct md *m, char c)
{
    if (fs_buf_putc(&m->b, c) < 0)
        m->bad = true;
}

static void md_printf(struct md *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void md_printf(struct md *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (fs_buf_vprintf(&m->b, fmt, ap) < 0)
        m->bad = true;
    va_end(ap);
}

/* Text for a Markdown table cell: one line, | escaped. */
static void md_text(struct md *m, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\n' || *s == '\t')
            md_putc(m, ' ');
        else if (*s == '|')
            md_puts(m, "\\|");
        else
            md_putc(m, *s);
    }
}

/* A code span (inside a table cell: | escaped there as GitHub requires). */
static void md_code(struct md *m, const char *s)
{
    if (!s)
        s = "";
    bool tick = strchr(s, '`') != NULL;
    md_puts(m, tick ? "`` " : "`");
    md_text(m, s);
    md_puts(m, tick ? " ``" : "`");
}

static void md_json(struct md *m, const json_t *v)
{
    char *s = fs_json_compact(v);
    md_code(m, s ? s : "?");
    free(s);
}

static void md_param_constraints(struct md *m, const struct fs_param *p)
{
    bool sep = false;
    if (p->type == FS_PARAM_PATH) {
        md_puts(m, "absolute, normalised, at or below ");
        for (size_t i = 0; i < p->nunder; i++) {
            md_puts(m, i ? " or " : "");
            md_code(m, p->under[i]);
        }
        sep = true;
    }
    if (p->pattern) {
        md_puts(m, sep ? "; pattern " : "pattern ");
        md_code(m, p->pattern);
        sep = true;
    }
    if (p->type == FS_PARAM_STRING || p->type == FS_PARAM_PATH) {
        md_printf(m, "%sat most %zu characters, no control characters", sep ? "; " : "",
                  p->max_length);
        sep = true;
    }
    if (p->type == FS_PARAM_INTEGER) {
        if (p->has_min && p->has_max)
            md_printf(m, "%" PRId64 "–%" PRId64, p->min, p->max);
        else if (p->has_min)
            md_printf(m, "≥ %" PRId64, p->min);
        else if (p->has_max)
            md_printf(m, "≤ %" PRId64, p->max);
        else
            md_puts(m, "any integer");
    }
    if (p->type == FS_PARAM_ENUM)
        for (size_t i = 0; i < p->nvalues; i++) {
            md_puts(m, i ? ", " : "one of ");
            md_code(m, p->values[i]);
        }
    if (p->type == FS_PARAM_BOOLEAN)
        md_puts(m, "true or false");
}

static void md_probe(struct md *m, const json_t *p, bool verify)
{
    const char *name = json_string_value(json_object_get(p, "probe"));
    const struct fs_probe_def *pd = fs_catalog_probe(name);
    md_puts(m, "probe ");
    md_code(m, name);
    if (!pd || !pd->tool)
        md_puts(m, " (no tool answers it yet: it always fails)");
    md_puts(m, " with ");
    md_json(m, json_object_get(p, "args"));
    md_puts(m, ", expect ");
    md_code(m, json_string_value(json_object_get(p, "expect")));
    if (verify) {
        char d[32];
        md_printf(
            m, ", after %s",
            fs_duration_format(json_integer_value(json_object_get(p, "wait_ms")), d, sizeof(d)));
    }
}

static void md_action(struct md *m, const struct fs_action *a)
{
    md_printf(m, "## %s\n\n", a->name);
    md_text(m, a->description);
    md_puts(m, "\n\n| category | tier | baseline risk | reversible | idempotent | rollback |\n"
               "|---|---|---|---|---|---|\n");
    md_printf(m, "| %s | %d | %d | %s | %s | ", a->category, a->tier, a->baseline_risk,
              reversible_name(a->reversible), idempotent_name(a->idempotent));
    if (a->rollback)
        md_printf(m, "[`%s`](#%s) |\n\n", a->rollback, a->rollback);
    else
        md_puts(m, "none |\n\n");

    if (a->nparams == 0) {
        md_puts(m, "Params: none.\n\n");
    } else {
        md_puts(m, "| param | type | required | default | constraints | description |\n"
                   "|---|---|---|---|---|---|\n");
        for (size_t i = 0; i < a->nparams; i++) {
            const struct fs_param *p = &a->params[i];
            md_printf(m, "| `%s` | %s | %s | ", p->name, type_names[p->type],
                      p->required ? "yes" : "no");
            if (p->default_value)
                md_json(m, p->default_value);
            else
                md_puts(m, "—");
            md_puts(m, " | ");
            md_param_constraints(m, p);
            md_puts(m, " | ");
            md_text(m, p->description);
            md_puts(m, " |\n");
        }
        md_puts(m, "\n");
    }

    md_puts(m, "Targets:\n\n");
    for (int k = 0; k < FS_TARGET__COUNT; k++) {
        const json_t *t = a->targets[k];
        if (!t)
            continue;
        md_printf(m, "- **%s**: ", kind_names[k]);
        if (k == FS_TARGET_HTTP) {
            char line[MAX_TEMPLATE + 16];
            snprintf(line, sizeof(line), "%s %s", json_string_value(json_object_get(t, "method")),
                     json_string_value(json_object_get(t, "path")));
            md_code(m, line);
            if (json_object_get(t, "body")) {
                md_puts(m, " body ");
                md_json(m, json_object_get(t, "body"));
            }
        } else if (k == FS_TARGET_MCP) {
            md_puts(m, "server ");
            md_code(m, json_string_value(json_object_get(t, "server")));
            md_puts(m, ", tool ");
            md_code(m, json_string_value(json_object_get(t, "tool")));
            if (json_object_get(t, "arguments")) {
                md_puts(m, ", arguments ");
                md_json(m, json_object_get(t, "arguments"));
            }
        } else {
            md_json(m, json_object_get(t, "argv"));
        }
        md_puts(m, "\n");
    }
    md_puts(m, "\n");
    size_t i;
    json_t *p;
    json_array_foreach(a->preconditions, i, p)
    {
        md_puts(m, i == 0 ? "Preconditions:\n\n" : "");
        md_puts(m, "- ");
        md_probe(m, p, false);
        md_puts(m, "\n");
    }
    if (json_array_size(a->preconditions) > 0)
        md_puts(m, "\n");
    if (a->verify) {
        md_puts(m, "Verify: ");
        md_probe(m, a->verify, true);
        md_puts(m, ".\n\n");
    }
    md_printf(m, "Defined at %s.\n\n", a->source);
}

int fs_catalog_doc_markdown(const struct fs_catalog *c, struct fs_buf *b)
{
    if (!c || !b)
        return -FS_E_INVALID;
    struct md page = {FS_BUF_INIT(0), false}, *m = &page;
    md_puts(m, "# Action catalog\n\n"
               "<!-- generated by `forestall docs catalog` from the loaded catalog "
               "(etc/catalog.yaml and src/safety/catalog.c); do not edit -->\n\n"
               "Every write forestall can perform. A proposer (the LLM or a playbook) only "
               "names an action and fills its typed params; the command that runs comes from "
               "the action's template for the target kind. A param value fills one "
               "`{placeholder}` inside one argv element: it can never become two arguments, "
               "and a value at the start of an argument may not begin with `-`. In an http "
               "path values are percent-encoded; in an http body or mcp arguments a string "
               "that is exactly `{name}` becomes the param's typed JSON value. "
               "`{target.host}`, `{target.service}` and `{target.namespace}` come from the "
               "proposal's target.\n\n"
               "Params are checked before anything is rendered: unknown params, missing "
               "required ones, wrong JSON types (integers must be JSON integers), values "
               "outside a range, an enum, a pattern (which must match the whole value) or a "
               "path's roots are refused, as are control characters in any string. Paths "
               "must be absolute and normalised (no `.`, `..`, `//` or trailing `/`) and at "
               "or below one of their roots on a `/` boundary.\n\n"
               "An operator file (`--catalog FILE`, or the configuration's `safety.catalog`) "
               "has the same shape as etc/catalog.yaml: an "
               "action with an existing name replaces it, `remove: [name]` drops one. No "
               "catalog may run a shell: a local or ssh argv whose program is a shell (sh, "
               "bash, dash, zsh, ksh, mksh, csh, tcsh, fish, ash, busybox), an interpreter "
               "given code inline (`python3 -c`, `perl -e`, `ruby -e`, `node --eval`, "
               "`lua -e`, `php -r`, awk with a program text instead of `-f FILE`), or a "
               "wrapper (env, xargs, nice, timeout, sudo, su, nohup, setsid, stdbuf, find "
               "-exec, ...) that runs either is refused at load time, naming file, line and "
               "argv element (docs/decisions/0003). Nor may a param choose which program "
               "runs: argv[0] is fixed text, and so are the program a wrapper or `find -exec` "
               "runs, the name of an option or predicate in front of it (`env -{x}`, "
               "`find -{x}`), the root it is found below (`chroot`, `sudo -R`, "
               "`unshare --root`), the name of a variable a wrapper sets and the value of "
               "PATH and LD_*. `ssh` and `watch`, which hand their command to a shell, are "
               "refused as programs (an action reaches another host through its ssh target), "
               "and so are the kubectl subcommands that run a command in a pod or open a "
               "tunnel: exec, debug, attach, run, proxy, port-forward, cp.\n\n"
               "## Probes\n\n"
               "Preconditions and verify name one of these probes: the read-only tool the "
               "executor calls for it, with the arguments that tool takes. A catalog that names "
               "another probe, gives an argument the probe does not take or leaves out one it "
               "requires is refused at load time. A probe no tool answers yet always fails: "
               "the action's verification fails, and the executor rolls back or escalates.\n\n"
               "| probe | answered by | arguments |\n|---|---|---|\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(probes); i++) {
        const struct fs_probe_def *p = &probes[i];
        md_printf(m, "| `%s` | ", p->name);
        if (p->tool)
            md_code(m, p->tool);
        else
            md_puts(m, "none yet: always fails");
        md_puts(m, " | ");
        for (const char *const *a = p->args; *a; a++) {
            md_puts(m, a == p->args ? "" : ", ");
            md_code(m, *a);
            if (in_list(*a, p->required))
                md_puts(m, " (required)");
        }
        md_puts(m, p->args[0] ? " |\n" : "none |\n");
    }
    md_puts(m, "\n## Actions\n\n");
    md_printf(m, "Catalog version `%s`, %zu actions.\n\n", c->version, c->n);
    md_puts(m, "| action | category | tier | baseline risk | reversible | idempotent | "
               "targets |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < c->n; i++) {
        const struct fs_action *a = &c->actions[i];
        md_printf(m, "| [`%s`](#%s) | %s | %d | %d | %s | %s | ", a->name, a->name, a->category,
                  a->tier, a->baseline_risk, reversible_name(a->reversible),
                  idempotent_name(a->idempotent));
        bool any = false;
        for (int k = 0; k < FS_TARGET__COUNT; k++)
            if (a->targets[k]) {
                md_printf(m, "%s%s", any ? ", " : "", kind_names[k]);
                any = true;
            }
        md_puts(m, " |\n");
    }
    md_puts(m, "\n");
    for (size_t i = 0; i < c->n; i++)
        md_action(m, &c->actions[i]);
    int rc = page.bad ? -FS_E_NOMEM : fs_buf_append(b, page.b.data, page.b.len);
    fs_buf_release(&page.b);
    return rc;
}
