/* proposal: the gate's input document (docs/proposals.md) from JSON bytes or a JSON value into
 * struct fs_proposal, rejecting every structural problem (unknown keys, wrong types, bad
 * timestamps) with the JSON path of the field. It must not judge the proposal: whether the
 * action exists, the params fit its schema or the target is in scope are the gate's rules,
 * explained in its decision, never parse errors. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/time.h"
#include "safety/gate.h"

#define PROPOSAL_MAX_DEPTH 64
#define PROPOSAL_MAX_LIST 1000 /* ids per evidence/scope list: the gate compares them pairwise */

static int check_keys(const json_t *obj, const char *base, const char *const *allowed,
                      struct fs_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            char path[256];
            fs_jpath_key(path, sizeof(path), base, key);
            return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "unknown field");
        }
    }
    return 0;
}

/* An optional object member; wrong types are errors. */
static int opt_obj(const json_t *obj, const char *key, const char *base, const json_t **out,
                   struct fs_err *err)
{
    json_t *v = NULL;
    int rc = fs_json_get_obj(obj, key, base, false, &v, err);
    *out = v;
    return rc;
}

static int opt_str(const json_t *obj, const char *key, const char *base, const char **out,
                   struct fs_err *err)
{
    *out = NULL;
    return fs_json_get_str(obj, key, base, false, out, err);
}

static int opt_count(const json_t *obj, const char *key, const char *base, int64_t *out,
                     struct fs_err *err)
{
    bool present;
    int64_t v = 0;
    int rc = fs_json_get_int(obj, key, base, false, &v, &present, err);
    if (rc < 0)
        return rc;
    if (present && v < 0) {
        char path[256];
        fs_jpath_key(path, sizeof(path), base, key);
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "must not be negative, got %lld",
                         (long long)v);
    }
    *out = present ? v : 0;
    return 0;
}

static int opt_bool(const json_t *obj, const char *key, const char *base, bool *out,
                    struct fs_err *err)
{
    json_t *v = json_object_get(obj, key);
    *out = false;
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        char path[256];
        fs_jpath_key(path, sizeof(path), base, key);
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected true or false, got %s",
                         fs_json_type_name(v));
    }
    *out = json_is_true(v);
    return 0;
}

/* An optional list of strings into s (the array of pointers is allocated, the strings
 * borrowed). */
static int opt_strs(const json_t *obj, const char *key, const char *base, struct fs_strs *s,
                    struct fs_err *err)
{
    json_t *arr = NULL;
    s->v = NULL;
    s->n = 0;
    int rc = fs_json_get_arr(obj, key, base, false, &arr, err);
    if (rc < 0 || !arr)
        return rc;
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    size_t n = json_array_size(arr);
    if (n > PROPOSAL_MAX_LIST)
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "more than %d entries",
                         PROPOSAL_MAX_LIST);
    if (n == 0)
        return 0;
    if (!(s->v = fs_calloc(n, sizeof(*s->v))))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        if (!json_is_string(item)) {
            char ipath[256];
            fs_jpath_index(ipath, sizeof(ipath), path, i);
            return fs_err_at(err, FS_E_INVALID_PAYLOAD, ipath, "expected string, got %s",
                             fs_json_type_name(item));
        }
        s->v[s->n++] = json_string_value(item);
    }
    return 0;
}

static int parse_target(struct fs_proposal *p, struct fs_err *err)
{
    static const char *const keys[] = {"host",      "service",  "env", "resource_class",
                                       "namespace", "workload", NULL};
    int rc;
    if ((rc = check_keys(p->target, "target", keys, err)) < 0 ||
        (rc = opt_str(p->target, "host", "target", &p->t.host, err)) < 0 ||
        (rc = opt_str(p->target, "service", "target", &p->t.service, err)) < 0 ||
        (rc = opt_str(p->target, "env", "target", &p->t.env, err)) < 0 ||
        (rc = opt_str(p->target, "resource_class", "target", &p->t.resource_class, err)) < 0 ||
        (rc = opt_str(p->target, "namespace", "target", &p->t.namespace, err)) < 0 ||
        (rc = opt_str(p->target, "workload", "target", &p->t.workload, err)) < 0)
        return rc;
    return 0;
}

static int parse_incident(struct fs_proposal *p, const json_t *inc, struct fs_err *err)
{
    static const char *const keys[] = {"id", "severity", "labels", "scope", NULL};
    static const char *const scope_keys[] = {"hosts", "services", "workloads", NULL};
    int rc;
    p->incident.severity = "warning";
    if (!inc)
        return 0;
    if ((rc = check_keys(inc, "incident", keys, err)) < 0 ||
        (rc = opt_str(inc, "id", "incident", &p->incident.id, err)) < 0 ||
        (rc = opt_str(inc, "severity", "incident", &p->incident.severity, err)) < 0 ||
        (rc = opt_obj(inc, "labels", "incident", &p->incident.labels, err)) < 0)
        return rc;
    if (!p->incident.severity)
        p->incident.severity = "warning";
    else if (strcmp(p->incident.severity, "info") != 0 &&
             strcmp(p->incident.severity, "warning") != 0 &&
             strcmp(p->incident.severity, "critical") != 0)
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, "incident.severity",
                         "expected info, warning or critical, got \"%s\"", p->incident.severity);
    if (p->incident.labels) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)p->incident.labels, k, v)
        {
            if (!json_is_string(v)) {
                char path[256];
                fs_jpath_key(path, sizeof(path), "incident.labels", k);
                return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected string, got %s",
                                 fs_json_type_name(v));
            }
        }
    }
    const json_t *scope;
    if ((rc = opt_obj(inc, "scope", "incident", &scope, err)) < 0 || !scope)
        return rc;
    if ((rc = check_keys(scope, "incident.scope", scope_keys, err)) < 0 ||
        (rc = opt_strs(scope, "hosts", "incident.scope", &p->incident.hosts, err)) < 0 ||
        (rc = opt_strs(scope, "services", "incident.scope", &p->incident.services, err)) < 0 ||
        (rc = opt_strs(scope, "workloads", "incident.scope", &p->incident.workloads, err)) < 0)
        return rc;
    return 0;
}

static int parse_evidence(struct fs_proposal *p, const json_t *ev, struct fs_err *err)
{
    static const char *const keys[] = {"cited", "trace", "contradicting", NULL};
    int rc;
    if (!ev)
        return 0;
    if ((rc = check_keys(ev, "evidence", keys, err)) < 0 ||
        (rc = opt_strs(ev, "cited", "evidence", &p->evidence.cited, err)) < 0 ||
        (rc = opt_strs(ev, "trace", "evidence", &p->evidence.trace, err)) < 0 ||
        (rc = opt_strs(ev, "contradicting", "evidence", &p->evidence.contradicting, err)) < 0)
        return rc;
    return 0;
}

static int parse_context(struct fs_proposal *p, const json_t *ctx, struct fs_err *err)
{
    static const char *const keys[] = {"dependents",   "change_freeze", "frozen", "mode",
                                       "failures_24h", "executions_1h", NULL};
    int rc;
    if (!ctx)
        return 0;
    const char *mode = NULL;
    if ((rc = check_keys(ctx, "context", keys, err)) < 0 ||
        (rc = opt_count(ctx, "dependents", "context", &p->context.dependents, err)) < 0 ||
        (rc = opt_bool(ctx, "change_freeze", "context", &p->context.change_freeze, err)) < 0 ||
        (rc = opt_bool(ctx, "frozen", "context", &p->context.frozen, err)) < 0 ||
        (rc = opt_str(ctx, "mode", "context", &mode, err)) < 0 ||
        (rc = opt_count(ctx, "failures_24h", "context", &p->context.failures_24h, err)) < 0 ||
        (rc = opt_count(ctx, "executions_1h", "context", &p->context.executions_1h, err)) < 0)
        return rc;
    if (mode) {
        if (fs_mode_parse(mode, &p->context.mode) < 0)
            return fs_err_at(err, FS_E_INVALID_PAYLOAD, "context.mode",
                             "expected shadow, supervised or autonomous, got \"%s\"", mode);
        p->context.has_mode = true;
    }
    return 0;
}

static int parse(struct fs_proposal *p, struct fs_err *err)
{
    static const char *const keys[] = {"id",      "key",    "proposer", "rationale", "confidence",
                                       "action",  "params", "target",   "incident",  "evidence",
                                       "context", "now",    NULL};
    const json_t *root = p->root, *inc, *ev, *ctx;
    int rc;
    if ((rc = check_keys(root, "", keys, err)) < 0 ||
        (rc = opt_str(root, "id", "", &p->id, err)) < 0 ||
        (rc = opt_str(root, "key", "", &p->key, err)) < 0 ||
        (rc = opt_str(root, "proposer", "", &p->proposer, err)) < 0 ||
        (rc = opt_str(root, "rationale", "", &p->rationale, err)) < 0 ||
        (rc = fs_json_get_str(root, "action", "", true, &p->action, err)) < 0)
        return rc;
    if (!*p->action)
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, "action", "must not be empty");
    double conf;
    bool has_conf;
    if ((rc = fs_json_get_num(root, "confidence", "", false, &conf, &has_conf, err)) < 0)
        return rc;
    if (has_conf && (conf < 0 || conf > 1))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, "confidence", "must be between 0 and 1");
    json_t *params = json_object_get(root, "params");
    if (params && !json_is_object(params))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, "params", "expected object, got %s",
                         fs_json_type_name(params));
    p->params = params;
    json_t *target = NULL;
    if ((rc = fs_json_get_obj(root, "target", "", true, &target, err)) < 0)
        return rc;
    p->target = target;
    if ((rc = parse_target(p, err)) < 0)
        return rc;
    if ((rc = opt_obj(root, "incident", "", &inc, err)) < 0 || (rc = parse_incident(p, inc, err)))
        return rc;
    if ((rc = opt_obj(root, "evidence", "", &ev, err)) < 0 || (rc = parse_evidence(p, ev, err)))
        return rc;
    if ((rc = opt_obj(root, "context", "", &ctx, err)) < 0 || (rc = parse_context(p, ctx, err)))
        return rc;
    const char *now = NULL;
    if ((rc = opt_str(root, "now", "", &now, err)) < 0)
        return rc;
    if (now) {
        int64_t ms;
        if (fs_time_parse_rfc3339(now, (size_t)-1, &ms) < 0 || ms == FS_TIME_UNSET)
            return fs_err_at(err, FS_E_INVALID_PAYLOAD, "now",
                             "expected an RFC 3339 time such as 2026-11-21T03:00:00Z");
        p->now_ms = ms;
    }
    return 0;
}

int fs_proposal_from_json(json_t *v, struct fs_proposal *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(v))
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "", "expected a proposal object, got %s",
                          fs_json_type_name(v));
    /* An absent params becomes {} in our own shallow copy, so every borrowed pointer lives
     * exactly as long as root and the caller's value is left as it was. */
    if (!json_object_get(v, "params")) {
        json_t *copy = json_copy(v), *empty = json_object();
        if (!copy || !empty || json_object_set_new(copy, "params", empty) < 0) {
            if (copy)
                json_decref(copy);
            else
                json_decref(empty);
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        out->root = copy;
    } else {
        out->root = json_incref(v);
    }
    int rc = parse(out, err);
    if (rc == 0 && !out->params)
        out->params = json_object_get(out->root, "params");
    if (rc < 0)
        fs_proposal_release(out);
    return rc;
}

int fs_proposal_parse(const char *buf, size_t len, struct fs_proposal *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *v;
    int rc = fs_json_parse(buf, len, PROPOSAL_MAX_DEPTH, &v, err);
    if (rc < 0)
        return rc;
    rc = fs_proposal_from_json(v, out, err);
    json_decref(v);
    return rc;
}

void fs_proposal_release(struct fs_proposal *p)
{
    if (!p)
        return;
    free(p->incident.hosts.v);
    free(p->incident.services.v);
    free(p->incident.workloads.v);
    free(p->evidence.cited.v);
    free(p->evidence.trace.v);
    free(p->evidence.contradicting.v);
    json_decref(p->root);
    memset(p, 0, sizeof(*p));
}
