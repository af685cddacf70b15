/* policy: the gate's numbers and rules as data. Loads the embedded etc/policy.yaml, merges an
 * operator file over it (objects key by key, lists and scalars replace), validates every key
 * with file:line in each message, compiles the forbidden patterns (JIT when available) and
 * computes the policy version. It must not decide anything: the rules run in gate.c, and a
 * loaded policy is never modified (threads share it). */
#include "core/common.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/diag.h"
#include "core/embed.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "core/yaml.h"
#include "safety/catalog.h"
#include "safety/policy.h"

#define EMBED_NAME "etc/policy.yaml"
#define EMBED_DOC_NAME "(embedded)etc/policy.yaml"
/* A forbidden pattern that needs more backtracking than this on one string counts as a match
 * (the gate blocks rather than let a pathological pattern decide by timing out). */
#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 20000
#define MAX_LIST 10000

static const char *const mode_names[] = {"shadow", "supervised", "autonomous"};
static const char *const level_names[] = {"LOW", "MEDIUM", "HIGH"};
static const char *const severity_names[] = {"info", "warning", "critical", NULL};

/* Index of s in names[0..n), or -1; icase for the level names, which read as "high" too. */
static int name_index(const char *const *names, size_t n, const char *s, bool icase)
{
    for (size_t i = 0; s && i < n; i++)
        if ((icase ? strcasecmp(s, names[i]) : strcmp(s, names[i])) == 0)
            return (int)i;
    return -1;
}

const char *fs_mode_name(enum fs_mode m)
{
    return (unsigned)m < FS_ARRAY_LEN(mode_names) ? mode_names[m] : "?";
}

int fs_mode_parse(const char *s, enum fs_mode *out)
{
    int i = name_index(mode_names, FS_ARRAY_LEN(mode_names), s, false);
    if (i < 0)
        return -FS_E_INVALID;
    *out = (enum fs_mode)i;
    return 0;
}

const char *fs_level_name(enum fs_level l)
{
    return (unsigned)l < FS_ARRAY_LEN(level_names) ? level_names[l] : "?";
}

int fs_level_parse(const char *s, enum fs_level *out)
{
    int i = name_index(level_names, FS_ARRAY_LEN(level_names), s, true);
    if (i < 0)
        return -FS_E_INVALID;
    *out = (enum fs_level)i;
    return 0;
}

enum fs_level fs_policy_level(const struct fs_policy *p, int score)
{
    if (score >= p->levels.high)
        return FS_LEVEL_HIGH;
    if (score >= p->levels.medium)
        return FS_LEVEL_MEDIUM;
    return FS_LEVEL_LOW;
}

/* ---- matching --------------------------------------------------------------------------- */

static bool values_match(const struct fs_match_values *mv, const char *s)
{
    if (mv->n == 0)
        return true;
    if (!s)
        return false;
    for (size_t i = 0; i < mv->n; i++)
        if (strcmp(mv->v[i], s) == 0)
            return true;
    return false;
}

bool fs_match_test(const struct fs_match *m, const struct fs_match_subject *s)
{
    return values_match(&m->service, s->service) && values_match(&m->env, s->env) &&
           values_match(&m->severity, s->severity) && values_match(&m->host, s->host) &&
           values_match(&m->action, s->action) && values_match(&m->category, s->category);
}

enum fs_mode fs_policy_mode_for(const struct fs_policy *p, const struct fs_match_subject *s,
                                int *rule)
{
    for (size_t i = 0; i < p->nmodes; i++)
        if (fs_match_test(&p->modes[i].match, s)) {
            if (rule)
                *rule = (int)i;
            return p->modes[i].mode;
        }
    if (rule)
        *rule = -1;
    return p->mode;
}

/* ---- freeing ---------------------------------------------------------------------------- */

static void values_free(struct fs_match_values *mv)
{
    for (size_t i = 0; i < mv->n; i++)
        free(mv->v[i]);
    free(mv->v);
    mv->v = NULL;
    mv->n = 0;
}

static void match_free(struct fs_match *m)
{
    values_free(&m->service);
    values_free(&m->env);
    values_free(&m->severity);
    values_free(&m->host);
    values_free(&m->action);
    values_free(&m->category);
}

void fs_policy_free(struct fs_policy *p)
{
    if (!p)
        return;
    free(p->version);
    free(p->declared);
    free(p->source);
    for (size_t i = 0; i < p->nmodes; i++)
        match_free(&p->modes[i].match);
    free(p->modes);
    for (size_t i = 0; i < p->ndeny; i++) {
        match_free(&p->deny[i].match);
        values_free(&p->deny[i].actions);
        free(p->deny[i].reason);
    }
    free(p->deny);
    for (size_t i = 0; i < p->nforbidden; i++) {
        free(p->forbidden[i].source);
        pcre2_code_free(p->forbidden[i].re);
    }
    free(p->forbidden);
    for (size_t i = 0; i < p->nrequire; i++)
        match_free(&p->require_approval[i]);
    free(p->require_approval);
    values_free(&p->force_override_severities);
    json_decref(p->incident_risk.resource_class);
    json_decref(p->incident_risk.severity);
    pcre2_match_context_free(p->match_ctx);
    json_decref(p->doc);
    free(p);
}

/* ---- loading ---------------------------------------------------------------------------- */

struct loader {
    struct fs_policy *p;
    const struct fs_yaml_doc *def; /* embedded default, or NULL */
    const struct fs_yaml_doc *op;  /* the operator document, or NULL */
    struct fs_diag d;
};

/* Does d set path itself, or a list that path is inside of (lists replace, so everything
 * inside one the operator wrote is the operator's)? */
static bool owns(const struct fs_yaml_doc *d, const char *path)
{
    if (fs_yaml_line(d, path) > 0)
        return true;
    char p[300];
    fs_strlcpy(p, path, sizeof(p));
    for (char *br = strchr(p, '['); br; br = strchr(br + 1, '[')) {
        char c = *br;
        *br = '\0';
        bool listed = *p && fs_yaml_line(d, p) > 0;
        *br = c;
        if (listed)
            return true;
    }
    return false;
}

/* Where a path of the merged document was written: the operator file when it sets the path
 * (lists and scalars replace, so everything under a path it sets is its own), else the
 * default. *line is that of the path or its nearest ancestor (a missing key has no line of its
 * own: name the mapping it is missing from, but never just the top level); 0 when neither
 * file knows the path. */
static const char *origin(const struct loader *L, const char *path, int *line)
{
    if (L->op && owns(L->op, path)) {
        *line = fs_diag_line(L->op, path, false);
        return L->op->name;
    }
    if (L->def && (*line = fs_diag_line(L->def, path, false)) > 0)
        return L->def->name;
    if (L->op && (*line = fs_diag_line(L->op, path, false)) > 0)
        return L->op->name;
    *line = 0;
    return L->op ? L->op->name : L->def ? L->def->name : "policy";
}

static int line_of(const struct loader *L, const char *path)
{
    int line;
    origin(L, path, &line);
    return line;
}

static int problem(struct loader *L, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int problem(struct loader *L, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int line;
    const char *name = origin(L, path, &line);
    int rc = fs_diag_vreport(&L->d, name, line, path, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(struct loader *L)
{
    if (L->d.problems++ == 0)
        fs_err_set(L->d.err, FS_E_NOMEM, NULL, NULL);
    if (L->d.out)
        fs_buf_puts(L->d.out, "out of memory\n");
    return -FS_E_NOMEM;
}

static void child_path(char *out, size_t size, const char *base, const char *key)
{
    fs_jpath_key(out, size, base, key);
}

/* Reject keys of obj not in allowed (NULL-terminated). */
static void check_keys(struct loader *L, const json_t *obj, const char *base,
                       const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = true;
        if (!ok) {
            char path[300], list[400];
            fs_diag_join(list, sizeof(list), allowed);
            child_path(path, sizeof(path), base, key);
            problem(L, path, "unknown key (known: %s)", list);
        }
    }
}

/* A member; NULL when absent (a problem when required). */
static json_t *member(struct loader *L, const json_t *obj, const char *base, const char *key,
                      bool required)
{
    json_t *v = json_object_get(obj, key);
    if (!v && required) {
        char path[300];
        child_path(path, sizeof(path), base, key);
        problem(L, path, "required key is missing");
    }
    return v;
}

static bool get_int(struct loader *L, const json_t *obj, const char *base, const char *key,
                    bool required, int min, int max, int *out)
{
    json_t *v = member(L, obj, base, key, required);
    if (!v)
        return false;
    char path[300];
    child_path(path, sizeof(path), base, key);
    if (!json_is_integer(v)) {
        problem(L, path, "expected an integer, got %s", fs_json_type_name(v));
        return false;
    }
    json_int_t i = json_integer_value(v);
    if (i < min || i > max) {
        problem(L, path, "must be between %d and %d, got %" JSON_INTEGER_FORMAT, min, max, i);
        return false;
    }
    *out = (int)i;
    return true;
}

static const json_t *get_obj(struct loader *L, const json_t *obj, const char *base, const char *key,
                             bool required)
{
    json_t *v = member(L, obj, base, key, required);
    if (!v)
        return NULL;
    if (!json_is_object(v)) {
        char path[300];
        child_path(path, sizeof(path), base, key);
        problem(L, path, "expected a mapping, got %s", fs_json_type_name(v));
        return NULL;
    }
    return v;
}

static const json_t *get_arr(struct loader *L, const json_t *obj, const char *base, const char *key,
                             bool required)
{
    json_t *v = member(L, obj, base, key, required);
    if (!v)
        return NULL;
    char path[300];
    child_path(path, sizeof(path), base, key);
    if (!json_is_array(v)) {
        problem(L, path, "expected a list, got %s", fs_json_type_name(v));
        return NULL;
    }
    if (json_array_size(v) > MAX_LIST) {
        problem(L, path, "more than %d entries", MAX_LIST);
        return NULL;
    }
    return v;
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* A string or a list of non-empty strings. allowed (NULL-terminated) restricts the values. */
static int parse_values(struct loader *L, const json_t *v, const char *path,
                        const char *const *allowed, struct fs_match_values *out)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (json_is_array(v) && n == 0)
        return problem(L, path,
                       "an empty list matches nothing; leave the key out to match "
                       "anything");
    if (n > MAX_LIST)
        return problem(L, path, "more than %d values", MAX_LIST);
    if (!json_is_array(v) && !json_is_string(v))
        return problem(L, path, "expected a string or a list of strings, got %s",
                       fs_json_type_name(v));
    char **vals = fs_calloc(n, sizeof(char *));
    if (!vals)
        return nomem(L);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        char ipath[300];
        if (json_is_array(v))
            fs_jpath_index(ipath, sizeof(ipath), path, i);
        else
            fs_strlcpy(ipath, path, sizeof(ipath));
        if (!json_is_string(item) || !*json_string_value(item)) {
            rc = problem(L, ipath, "expected a non-empty string, got %s",
                         json_is_string(item) ? "\"\"" : fs_json_type_name(item));
            break;
        }
        const char *s = json_string_value(item);
        if (allowed && !in_list(s, allowed)) {
            char list[300];
            fs_diag_join(list, sizeof(list), allowed);
            rc = problem(L, ipath, "unknown value \"%s\" (expected one of %s)", s, list);
            break;
        }
        if (!(vals[i] = fs_strdup(s))) {
            rc = nomem(L);
            break;
        }
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free(vals[i]);
        free(vals);
        return rc;
    }
    out->v = vals;
    out->n = n;
    return 0;
}

static const char *const match_keys[] = {"service", "env",      "severity", "host",
                                         "action",  "category", NULL};

static int parse_match(struct loader *L, const json_t *v, const char *path, struct fs_match *m)
{
    memset(m, 0, sizeof(*m));
    if (!json_is_object(v))
        return problem(L, path,
                       "expected a mapping of service, env, severity, host, action, "
                       "category; got %s",
                       fs_json_type_name(v));
    int before = L->d.problems;
    check_keys(L, v, path, match_keys);
    struct {
        const char *key;
        struct fs_match_values *mv;
        const char *const *allowed;
    } fields[] = {
        {"service", &m->service, NULL},
        {"env", &m->env, NULL},
        {"severity", &m->severity, severity_names},
        {"host", &m->host, NULL},
        {"action", &m->action, NULL},
        {"category", &m->category, fs_categories},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(fields); i++) {
        json_t *x = json_object_get(v, fields[i].key);
        if (!x)
            continue;
        char kpath[300];
        child_path(kpath, sizeof(kpath), path, fields[i].key);
        parse_values(L, x, kpath, fields[i].allowed, fields[i].mv);
    }
    return L->d.problems > before ? -FS_E_CONFIG : 0;
}

static void parse_modes(struct loader *L, const json_t *root)
{
    const json_t *arr = get_arr(L, root, "", "modes", true);
    if (!arr || !json_array_size(arr))
        return;
    struct fs_policy *p = L->p;
    if (!(p->modes = fs_calloc(json_array_size(arr), sizeof(*p->modes)))) {
        nomem(L);
        return;
    }
    static const char *const keys[] = {"match", "mode", NULL};
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        char path[300];
        fs_jpath_index(path, sizeof(path), "modes", i);
        struct fs_policy_mode_rule *r = &p->modes[p->nmodes++];
        r->line = line_of(L, path);
        if (!json_is_object(item)) {
            problem(L, path, "expected {match: {...}, mode: ...}, got %s", fs_json_type_name(item));
            continue;
        }
        check_keys(L, item, path, keys);
        const json_t *m = member(L, item, path, "match", true);
        char mpath[300];
        child_path(mpath, sizeof(mpath), path, "match");
        if (m)
            parse_match(L, m, mpath, &r->match);
        json_t *mode = member(L, item, path, "mode", true);
        char modepath[300];
        child_path(modepath, sizeof(modepath), path, "mode");
        if (mode && fs_mode_parse(json_string_value(mode), &r->mode) < 0)
            problem(L, modepath, "expected shadow, supervised or autonomous");
    }
}

static void parse_deny(struct loader *L, const json_t *root)
{
    const json_t *arr = get_arr(L, root, "", "deny", true);
    if (!arr || !json_array_size(arr))
        return;
    struct fs_policy *p = L->p;
    if (!(p->deny = fs_calloc(json_array_size(arr), sizeof(*p->deny)))) {
        nomem(L);
        return;
    }
    static const char *const keys[] = {"match", "actions", "reason", NULL};
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        char path[300], sub[300];
        fs_jpath_index(path, sizeof(path), "deny", i);
        struct fs_policy_deny *d = &p->deny[p->ndeny++];
        d->line = line_of(L, path);
        if (!json_is_object(item)) {
            problem(L, path, "expected {match: {...}, actions: [...], reason: ...}, got %s",
                    fs_json_type_name(item));
            continue;
        }
        check_keys(L, item, path, keys);
        json_t *m = json_object_get(item, "match");
        if (m) {
            child_path(sub, sizeof(sub), path, "match");
            parse_match(L, m, sub, &d->match);
        }
        json_t *a = json_object_get(item, "actions");
        if (a) {
            child_path(sub, sizeof(sub), path, "actions");
            parse_values(L, a, sub, NULL, &d->actions);
        }
        json_t *r = json_object_get(item, "reason");
        if (r) {
            child_path(sub, sizeof(sub), path, "reason");
            if (!json_is_string(r) || !*json_string_value(r))
                problem(L, sub, "expected a non-empty string");
            else if (!(d->reason = fs_strdup(json_string_value(r))))
                nomem(L);
        }
        if (!m && !a)
            problem(L, path,
                    "a deny rule needs match, actions or both (it would block every "
                    "proposal)");
    }
}

static void parse_patterns(struct loader *L, const json_t *root)
{
    const json_t *arr = get_arr(L, root, "", "forbidden_patterns", true);
    if (!arr || !json_array_size(arr))
        return;
    struct fs_policy *p = L->p;
    if (!(p->forbidden = fs_calloc(json_array_size(arr), sizeof(*p->forbidden)))) {
        nomem(L);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        char path[300];
        fs_jpath_index(path, sizeof(path), "forbidden_patterns", i);
        if (!json_is_string(item) || !*json_string_value(item)) {
            problem(L, path, "expected a non-empty regular expression (PCRE2)");
            continue;
        }
        int ec;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)json_string_value(item),
                                       json_string_length(item), PCRE2_UTF, &ec, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof(msg));
            problem(L, path, "not a valid regular expression at offset %zu: %s", (size_t)off,
                    (const char *)msg);
            continue;
        }
        /* JIT is an optimisation: without it (unsupported CPU, no executable memory) the
         * interpreter gives the same answers. */
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        struct fs_policy_pattern *pat = &p->forbidden[p->nforbidden++];
        pat->re = re;
        if (!(pat->source = fs_strdup(json_string_value(item))))
            nomem(L);
    }
}

static void parse_require(struct loader *L, const json_t *root)
{
    const json_t *arr = get_arr(L, root, "", "require_approval", true);
    if (!arr || !json_array_size(arr))
        return;
    struct fs_policy *p = L->p;
    if (!(p->require_approval = fs_calloc(json_array_size(arr), sizeof(struct fs_match)))) {
        nomem(L);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        char path[300];
        fs_jpath_index(path, sizeof(path), "require_approval", i);
        parse_match(L, item, path, &p->require_approval[p->nrequire++]);
        if (json_is_object(item) && json_object_size(item) == 0)
            problem(L, path,
                    "an empty match would make every action need approval; use "
                    "mode: supervised for that");
    }
}

/* An object of name -> weight (0..100). A new reference in *out. */
static void parse_weights(struct loader *L, const json_t *obj, const char *base, const char *key,
                          const char *const *allowed, json_t **out)
{
    const json_t *w = get_obj(L, obj, base, key, true);
    if (!w)
        return;
    char path[300];
    child_path(path, sizeof(path), base, key);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)w, k, v)
    {
        char kpath[300];
        child_path(kpath, sizeof(kpath), path, k);
        if (allowed && !in_list(k, allowed)) {
            char list[200];
            fs_diag_join(list, sizeof(list), allowed);
            problem(L, kpath, "unknown key (expected one of %s)", list);
        } else if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                   json_integer_value(v) > 100) {
            problem(L, kpath, "expected an integer between 0 and 100");
        }
    }
    *out = json_incref((json_t *)w);
}

static void parse_scores(struct loader *L, const json_t *root)
{
    struct fs_policy *p = L->p;
    static const char *const keys[] = {"production", "per_dependent", "dependents_max",
                                       "critical",   "irreversible",  "recent_failure",
                                       NULL};
    const json_t *s = get_obj(L, root, "", "scores", true);
    if (s) {
        check_keys(L, s, "scores", keys);
        get_int(L, s, "scores", "production", true, 0, 100, &p->scores.production);
        get_int(L, s, "scores", "per_dependent", true, 0, 100, &p->scores.per_dependent);
        get_int(L, s, "scores", "dependents_max", true, 0, 100, &p->scores.dependents_max);
        get_int(L, s, "scores", "critical", true, 0, 100, &p->scores.critical);
        get_int(L, s, "scores", "irreversible", true, 0, 100, &p->scores.irreversible);
        get_int(L, s, "scores", "recent_failure", true, 0, 100, &p->scores.recent_failure);
    }
    static const char *const lkeys[] = {"medium", "high", NULL};
    const json_t *l = get_obj(L, root, "", "levels", true);
    if (l) {
        check_keys(L, l, "levels", lkeys);
        bool m = get_int(L, l, "levels", "medium", true, 1, 100, &p->levels.medium);
        bool h = get_int(L, l, "levels", "high", true, 1, 100, &p->levels.high);
        if (m && h && p->levels.medium >= p->levels.high)
            problem(L, "levels.medium", "must be less than levels.high (%d), got %d",
                    p->levels.high, p->levels.medium);
    }
    static const char *const ikeys[] = {
        "resource_class", "resource_class_unknown", "severity", "severity_unknown",
        "per_dependent",  "dependents_max",         NULL};
    const json_t *ir = get_obj(L, root, "", "incident_risk", true);
    if (ir) {
        check_keys(L, ir, "incident_risk", ikeys);
        parse_weights(L, ir, "incident_risk", "resource_class", NULL,
                      &p->incident_risk.resource_class);
        get_int(L, ir, "incident_risk", "resource_class_unknown", true, 0, 100,
                &p->incident_risk.resource_class_unknown);
        parse_weights(L, ir, "incident_risk", "severity", severity_names,
                      &p->incident_risk.severity);
        get_int(L, ir, "incident_risk", "severity_unknown", true, 0, 100,
                &p->incident_risk.severity_unknown);
        get_int(L, ir, "incident_risk", "per_dependent", true, 0, 100,
                &p->incident_risk.per_dependent);
        get_int(L, ir, "incident_risk", "dependents_max", true, 0, 100,
                &p->incident_risk.dependents_max);
    }
}

static void parse_root(struct loader *L, const json_t *root)
{
    struct fs_policy *p = L->p;
    static const char *const keys[] = {"version",
                                       "threshold",
                                       "mode",
                                       "modes",
                                       "deny",
                                       "forbidden_patterns",
                                       "require_approval",
                                       "approval_tier",
                                       "approval_incident_risk",
                                       "force_override_severities",
                                       "rate_limit_per_action_target_per_hour",
                                       "evidence",
                                       "scores",
                                       "levels",
                                       "incident_risk",
                                       "approval_ttl",
                                       NULL};
    check_keys(L, root, "", keys);

    json_t *v = member(L, root, "", "version", true);
    if (v) {
        char tmp[32];
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            p->declared = fs_strdup(tmp);
        } else if (json_is_string(v) && *json_string_value(v) && json_string_length(v) < 64 &&
                   !strchr(json_string_value(v), '+')) {
            p->declared = fs_strdup(json_string_value(v));
        } else {
            problem(L, "version", "expected a non-negative integer or a short string without +");
        }
        if (!p->declared && !L->d.problems)
            nomem(L);
    }
    get_int(L, root, "", "threshold", true, 0, 100, &p->threshold);
    if ((v = member(L, root, "", "mode", true)) && fs_mode_parse(json_string_value(v), &p->mode))
        problem(L, "mode", "expected shadow, supervised or autonomous");
    parse_modes(L, root);
    parse_deny(L, root);
    parse_patterns(L, root);
    parse_require(L, root);
    /* tiers are 0..3; 4 means "no tier needs approval by itself" */
    get_int(L, root, "", "approval_tier", true, 0, 4, &p->approval_tier);
    if ((v = member(L, root, "", "approval_incident_risk", true)) &&
        fs_level_parse(json_string_value(v), &p->approval_incident_risk) < 0)
        problem(L, "approval_incident_risk", "expected LOW, MEDIUM or HIGH");
    const json_t *fo = get_arr(L, root, "", "force_override_severities", true);
    if (fo && json_array_size(fo))
        parse_values(L, fo, "force_override_severities", severity_names,
                     &p->force_override_severities);
    get_int(L, root, "", "rate_limit_per_action_target_per_hour", true, 1, 1000000,
            &p->rate_limit_per_action_target_per_hour);
    static const char *const ekeys[] = {"min_cited", "max_contradicting", NULL};
    const json_t *ev = get_obj(L, root, "", "evidence", true);
    if (ev) {
        check_keys(L, ev, "evidence", ekeys);
        get_int(L, ev, "evidence", "min_cited", true, 0, 1000, &p->evidence.min_cited);
        get_int(L, ev, "evidence", "max_contradicting", true, 0, 1000,
                &p->evidence.max_contradicting);
    }
    parse_scores(L, root);
    if ((v = member(L, root, "", "approval_ttl", true))) {
        int64_t ms;
        if (!json_is_string(v) || fs_duration_parse(json_string_value(v), &ms) < 0)
            problem(L, "approval_ttl", "expected a duration such as 30m, 1h or 1d");
        else if (ms <= 0 || ms > 30LL * 86400 * 1000)
            problem(L, "approval_ttl", "must be more than 0s and at most 30d");
        else
            p->approval_ttl_ms = ms;
    }
}

/* Objects merge key by key; anything else in over replaces. over is borrowed. */
static int merge_into(json_t *base, const json_t *over)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)over, key, v)
    {
        json_t *b = json_object_get(base, key);
        if (b && json_is_object(b) && json_is_object(v)) {
            /* the base's object may be shared with the default document: copy before writing */
            json_t *copy = json_copy(b);
            if (!copy)
                return -FS_E_NOMEM;
            if (merge_into(copy, v) < 0) {
                json_decref(copy);
                return -FS_E_NOMEM;
            }
            if (json_object_set_new(base, key, copy) < 0) /* frees copy */
                return -FS_E_NOMEM;
        } else if (json_object_set(base, key, v) < 0) {
            return -FS_E_NOMEM;
        }
    }
    return 0;
}

static int finish(struct loader *L, json_t *merged)
{
    struct fs_policy *p = L->p;
    if (!json_is_object(merged))
        return problem(L, "", "expected a mapping, got %s", fs_json_type_name(merged));
    parse_root(L, merged);
    if (L->d.problems)
        return L->d.err ? -(int)L->d.err->code : -FS_E_CONFIG;
    if (!(p->match_ctx = pcre2_match_context_create(NULL)))
        return nomem(L);
    pcre2_set_match_limit(p->match_ctx, MATCH_LIMIT);
    pcre2_set_depth_limit(p->match_ctx, DEPTH_LIMIT);
    char *canon = fs_json_canonical(merged);
    if (!canon)
        return nomem(L);
    char hex[FS_SHA256_HEX_LEN + 1];
    int rc = fs_sha256_hex(canon, strlen(canon), hex);
    free(canon);
    if (rc < 0)
        return fs_err_set(L->d.err, FS_E_SYSTEM, NULL, "cannot hash the policy");
    size_t n = strlen(p->declared) + 14;
    if (!(p->version = fs_malloc(n)))
        return nomem(L);
    snprintf(p->version, n, "%s+%.12s", p->declared, hex);
    fs_strlcpy(p->hash, hex, sizeof(p->hash));
    p->doc = json_incref(merged);
    return 0;
}

static int load(const char *buf, size_t len, const char *name, bool is_file, bool with_default,
                struct fs_policy **out, struct fs_buf *diag, struct fs_err *err)
{
    *out = NULL;
    struct fs_yaml_doc def = {0}, op = {0};
    json_t *merged = NULL;
    struct fs_policy *p = fs_calloc(1, sizeof(*p));
    if (!p)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct loader L = {.p = p, .d = {.out = diag, .err = err, .code = FS_E_CONFIG}};
    int rc = 0;
    if (with_default) {
        const struct fs_embed_file *f = fs_embed_find(EMBED_NAME);
        struct fs_err derr;
        if (!f)
            FS_BUG("the default policy is not embedded");
        if ((rc = fs_yaml_parse((const char *)f->start, fs_embed_len(f), EMBED_DOC_NAME, &def,
                                &derr)) < 0) {
            if (rc == -FS_E_NOMEM)
                goto out_nomem;
            FS_BUG("embedded default policy: %s", derr.msg);
        }
        L.def = &def;
    }
    if (buf || is_file) {
        if (is_file)
            rc = fs_yaml_load_file(name, &op, err);
        else
            rc = fs_yaml_parse(buf, len, name, &op, err);
        if (rc < 0) {
            if (diag)
                fs_buf_printf(diag, "%s\n", err ? err->msg : "cannot read the policy");
            goto out;
        }
        L.op = &op;
    }
    if (L.def) {
        if (!(merged = json_deep_copy(def.root)))
            goto out_nomem;
        if (L.op && op.root && !json_is_null(op.root)) {
            if (!json_is_object(op.root)) {
                rc = problem(&L, "", "expected a mapping, got %s", fs_json_type_name(op.root));
                goto out;
            }
            if (merge_into(merged, op.root) < 0)
                goto out_nomem;
        }
    } else {
        merged = op.root ? json_incref(op.root) : json_object();
        if (!merged)
            goto out_nomem;
    }
    const char *src = L.op ? name : "(embedded)";
    if (!(p->source = fs_strdup(src)))
        goto out_nomem;
    rc = finish(&L, merged);
    goto out;
out_nomem:
    rc = nomem(&L);
out:
    json_decref(merged);
    if (L.def)
        fs_yaml_doc_release(&def);
    if (L.op)
        fs_yaml_doc_release(&op);
    if (rc < 0) {
        fs_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int fs_policy_load(const char *file, struct fs_policy **out, struct fs_buf *diag,
                   struct fs_err *err)
{
    return load(NULL, 0, file, file != NULL, true, out, diag, err);
}

int fs_policy_load_buf(const char *buf, size_t len, const char *name, bool with_default,
                       struct fs_policy **out, struct fs_buf *diag, struct fs_err *err)
{
    return load(buf ? buf : "", buf ? len : 0, name ? name : "<policy>", false, with_default, out,
                diag, err);
}
