/* api_safety: the HTTP routes of the safety core — proposals, approvals, rejections, the kill
 * switch, runtime modes, observations, the gate's dry run, the catalog and policy in force, and
 * the audit trail. Handlers only translate HTTP to safety/ and audit/ calls: state changes run
 * on the ingest writer (CALL jobs) and are answered after their commit; no rule lives here. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "core/config.h"
#include "core/json.h"
#include "core/time.h"
#include "intake/http_int.h"
#include "intake/metrics.h"
#include "safety/gate.h"
#include "store/store.h"

#define EXPORT_MAX ((size_t)256 << 20)

void fs_api_release(struct req *r)
{
    json_decref(r->json);
    r->json = NULL;
    fs_safety_request_reset(&r->sq);
    fs_rules_release(r->rules);
    r->rules = NULL;
}

/* Parse the body; answer and return <0 when it is not a JSON object. */
static int body_json(struct req *r)
{
    if (r->too_large) {
        fs_http_error(r, FS_E_TOO_LARGE, NULL, "the body is larger than server.max_body");
        return -1;
    }
    struct fs_config *cfg = fs_config_acquire();
    int depth = (int)cfg->server.max_json_depth;
    fs_config_release(cfg);
    struct fs_err err;
    int rc = r->body.len ? fs_json_parse(fs_buf_str(&r->body), r->body.len, depth, &r->json, &err)
                         : (r->json = json_object(), 0);
    if (rc < 0) {
        fs_http_err(r, rc, &err);
        return -1;
    }
    if (!json_is_object(r->json)) {
        fs_http_error(r, FS_E_INVALID_PAYLOAD, "", "the body must be a JSON object");
        return -1;
    }
    return 0;
}

/* "as": with tokens, it must name the token's owner (or be absent); without, it is the caller's
 * name and required where the action is recorded. Removed from the body afterwards. */
static int claim_identity(struct req *r, bool required)
{
    json_t *as = json_object_get(r->json, "as");
    const char *name = json_string_value(as);
    if (as && (!name || !*name || strlen(name) > 64)) {
        fs_http_error(r, FS_E_INVALID_PAYLOAD, "as", "as: expected a name of 1-64 characters");
        return -1;
    }
    for (const char *c = name; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            fs_http_error(r, FS_E_INVALID_PAYLOAD, "as", "as: control characters");
            return -1;
        }
    if (r->who.authenticated || r->via_session) { /* the console: the session's name */
        if (name && strcmp(name, r->who.name) != 0) {
            char msg[300];
            snprintf(msg, sizeof(msg), "this token belongs to %s, not %s", r->who.name, name);
            fs_http_error(r, FS_E_FORBIDDEN, "as", msg);
            return -1;
        }
    } else if (name) {
        fs_strlcpy(r->who_name, name, sizeof(r->who_name));
    } else if (required) {
        fs_http_error(r, FS_E_INVALID_PAYLOAD, "as",
                      "as: required — say who you are (no tokens are configured, so the name "
                      "is taken from the request)");
        return -1;
    }
    json_object_del(r->json, "as");
    return 0;
}

static int run_op(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct req *r = arg;
    r->sq.now = fs_now_ms();
    return r->op(s, &r->sq, err);
}

/* Counted once the outcome is durable (a CALL job may run more than once before that). */
static void count(struct req *r)
{
    bool approve = r->op == fs_safety_approve, reject = r->op == fs_safety_reject;
    if (r->sq.rc < 0) {
        if ((approve || reject) && -r->sq.rc < FS_E__COUNT)
            fs_counter_add(&fs_metrics.approval_refusals[-r->sq.rc], 1);
        return;
    }
    enum fs_decision d;
    if (r->op == fs_safety_propose &&
        fs_decision_parse(json_string_value(json_object_get(r->sq.result, "decision")), &d) == 0)
        fs_counter_add(&fs_metrics.gate_decisions[d], 1);
    if (approve)
        fs_counter_add(&fs_metrics.approvals[r->sq.force ? 1 : 0], 1);
    if (reject)
        fs_counter_add(&fs_metrics.approvals[2], 1);
}

static void op_answer(struct req *r)
{
    if (r->job.rc < 0)
        return fs_http_err(r, r->job.rc, &r->job.err);
    count(r);
    if (r->sq.rc < 0)
        return fs_http_err(r, r->sq.rc, &r->sq.err);
    fs_http_json(r, r->created ? 201 : 200, json_incref(r->sq.result));
}

/* Hand a safety operation to the writer; answered after its commit. */
static void submit(struct req *r,
                   int (*op)(struct fs_store *, struct fs_safety_request *, struct fs_err *))
{
    r->rules = fs_rules_acquire();
    if (!r->rules)
        return fs_http_error(r, FS_E_SHUTDOWN, NULL, "the safety rules are not loaded");
    struct fs_config *cfg = fs_config_acquire();
    fs_strlcpy(r->def_env, cfg->safety.default_env, sizeof(r->def_env));
    fs_strlcpy(r->def_class, cfg->safety.default_resource_class, sizeof(r->def_class));
    fs_config_release(cfg);
    r->sq.who = &r->who;
    if (r->via_session)
        r->sq.channel = "console";
    r->sq.rules = r->rules;
    r->sq.defaults = (struct fs_safety_defaults){r->def_env, r->def_class};
    r->sq.body = r->json;
    r->op = op;
    memset(&r->job, 0, sizeof(r->job));
    r->job.kind = FS_INGEST_CALL;
    r->job.call = run_op;
    r->job.call_arg = r;
    fs_http_wait_for_writer(r, op_answer);
}

static int id_param(struct req *r, const char *prefix, int64_t *id)
{
    if (fs_parse_id(r->param, prefix, id) < 0) {
        char msg[100];
        snprintf(msg, sizeof(msg), "no such resource (ids look like %s-42)", prefix);
        fs_http_error(r, FS_E_NOT_FOUND, NULL, msg);
        return -1;
    }
    return 0;
}

static const char *opt_string(struct req *r, const char *key, bool *bad)
{
    json_t *v = json_object_get(r->json, key);
    if (v && !json_is_string(v)) {
        char msg[100];
        snprintf(msg, sizeof(msg), "%s: expected a string", key);
        fs_http_error(r, FS_E_INVALID_PAYLOAD, key, msg);
        *bad = true;
    }
    return json_string_value(v);
}

/* Only these keys (besides "as"). */
static int only_keys(struct req *r, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(r->json, key, v)
    {
        bool ok = false;
        for (const char *const *k = keys; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok) {
            char msg[200];
            snprintf(msg, sizeof(msg), "%s: unknown field", key);
            fs_http_error(r, FS_E_INVALID_PAYLOAD, key, msg);
            return -1;
        }
    }
    return 0;
}

/* ---- writes -----------------------------------------------------------------------------------
 */

void fs_api_propose(struct req *r)
{
    if (body_json(r) < 0 || claim_identity(r, true) < 0)
        return;
    r->created = 1;
    submit(r, fs_safety_propose);
}

void fs_api_approve(struct req *r)
{
    static const char *const keys[] = {"comment", "force_override", NULL};
    bool bad = false;
    if (body_json(r) < 0 || claim_identity(r, true) < 0 || only_keys(r, keys) < 0 ||
        id_param(r, "prop", &r->sq.id) < 0)
        return;
    r->sq.reason = opt_string(r, "comment", &bad);
    json_t *f = json_object_get(r->json, "force_override");
    if (f && !json_is_boolean(f))
        return fs_http_error(r, FS_E_INVALID_PAYLOAD, "force_override",
                             "force_override: expected true or false");
    if (!bad)
        r->sq.force = json_is_true(f);
    if (!bad)
        submit(r, fs_safety_approve);
}

void fs_api_reject(struct req *r)
{
    static const char *const keys[] = {"reason", NULL};
    bool bad = false;
    if (body_json(r) < 0 || claim_identity(r, true) < 0 || only_keys(r, keys) < 0 ||
        id_param(r, "prop", &r->sq.id) < 0)
        return;
    r->sq.reason = opt_string(r, "reason", &bad);
    if (!bad)
        submit(r, fs_safety_reject);
}

static void freeze_like(struct req *r,
                        int (*op)(struct fs_store *, struct fs_safety_request *, struct fs_err *))
{
    static const char *const keys[] = {"reason", NULL};
    bool bad = false;
    if (body_json(r) < 0 || claim_identity(r, true) < 0 || only_keys(r, keys) < 0)
        return;
    r->sq.reason = opt_string(r, "reason", &bad);
    if (!bad)
        submit(r, op);
}

void fs_api_freeze(struct req *r)
{
    freeze_like(r, fs_safety_freeze);
}

void fs_api_unfreeze(struct req *r)
{
    freeze_like(r, fs_safety_unfreeze);
}

void fs_api_modes(struct req *r)
{
    if (body_json(r) < 0 || claim_identity(r, true) < 0)
        return;
    submit(r, fs_safety_set_mode);
}

void fs_api_observe(struct req *r)
{
    if (body_json(r) < 0 || claim_identity(r, true) < 0)
        return;
    r->created = 1;
    submit(r, fs_safety_observe);
}

/* ---- reads
 * --------------------------------------------------------------------------------------- */

void fs_api_proposals_list(struct req *r)
{
    struct fs_proposal_filter f = {0};
    f.status = fs_http_query(r, "status");
    static const char *const statuses[] = {"pending", "approved", "rejected",
                                           "expired", "blocked",  "shadow"};
    bool known = !f.status;
    for (size_t i = 0; i < FS_ARRAY_LEN(statuses) && !known; i++)
        known = strcmp(f.status, statuses[i]) == 0;
    if (!known)
        return fs_http_error(r, FS_E_INVALID, "status",
                             "status: expected pending, approved, rejected, expired, blocked or "
                             "shadow");
    const char *inc = fs_http_query(r, "incident");
    if (inc && fs_parse_id(inc, "inc", &f.incident_id) < 0)
        return fs_http_error(r, FS_E_INVALID, "incident", "incident: expected an id like inc-4");
    const char *before = fs_http_query(r, "before");
    if (before && fs_parse_id(before, "prop", &f.before_id) < 0)
        return fs_http_error(r, FS_E_INVALID, "before", "before: expected an id like prop-4");
    if (fs_http_limit(r, 100, &f.limit) < 0)
        return;
    json_t *arr;
    struct fs_err err;
    int rc = fs_store_proposals_list(r->srv->store, &f, &arr, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, arr);
}

void fs_api_proposal_get(struct req *r)
{
    int64_t id;
    if (id_param(r, "prop", &id) < 0)
        return;
    json_t *o;
    struct fs_err err;
    int rc = fs_store_proposal_get(r->srv->store, id, &o, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, o);
}

void fs_api_observations(struct req *r)
{
    int64_t id;
    if (id_param(r, "inc", &id) < 0)
        return;
    json_t *o;
    struct fs_err err;
    int rc = fs_store_observations_list(r->srv->store, id, &o, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, o);
}

void fs_api_explain(struct req *r)
{
    if (body_json(r) < 0)
        return;
    struct fs_proposal p;
    struct fs_err err;
    if (fs_proposal_from_json(r->json, &p, &err) < 0)
        return fs_http_err(r, -(int)err.code, &err);
    struct fs_rules *rules = fs_rules_acquire();
    if (!rules) {
        fs_proposal_release(&p);
        return fs_http_error(r, FS_E_SHUTDOWN, NULL, "the safety rules are not loaded");
    }
    struct fs_gate_result g;
    fs_gate_decide(rules->policy, rules->catalog, &p, &g);
    json_t *out = fs_gate_result_json(&g, rules->policy, rules->catalog);
    fs_rules_release(rules);
    fs_proposal_release(&p);
    if (!out)
        return fs_http_error(r, FS_E_NOMEM, NULL, NULL);
    fs_http_json(r, 200, out);
}

void fs_api_controls(struct req *r)
{
    struct fs_rules *rules = fs_rules_acquire();
    json_t *o;
    struct fs_err err;
    int rc = fs_safety_controls(r->srv->store, rules, &o, &err);
    fs_rules_release(rules);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, o);
}

void fs_api_catalog(struct req *r)
{
    struct fs_rules *rules = fs_rules_acquire();
    if (!rules)
        return fs_http_error(r, FS_E_SHUTDOWN, NULL, "the safety rules are not loaded");
    json_t *arr = json_array();
    for (size_t i = 0; i < rules->catalog->n; i++) {
        json_t *a = fs_action_json(&rules->catalog->actions[i]);
        if (a)
            json_object_set_new(a, "paramsSchema",
                                fs_action_params_schema(&rules->catalog->actions[i]));
        json_array_append_new(arr, a ? a : json_null());
    }
    json_t *o = json_pack("{s:s,s:o}", "version", rules->catalog->version, "actions", arr);
    fs_rules_release(rules);
    fs_http_json(r, 200, o);
}

void fs_api_policy(struct req *r)
{
    struct fs_rules *rules = fs_rules_acquire();
    if (!rules)
        return fs_http_error(r, FS_E_SHUTDOWN, NULL, "the safety rules are not loaded");
    json_t *o = json_pack("{s:s,s:s,s:O}", "version", rules->policy->version, "source",
                          rules->policy->source, "policy",
                          rules->policy->doc ? rules->policy->doc : json_null());
    fs_rules_release(rules);
    fs_http_json(r, 200, o);
}

static int to_buf(void *arg, const char *data, size_t len)
{
    return fs_buf_append(arg, data, len) < 0 ? -1 : 0;
}

void fs_api_audit(struct req *r)
{
    struct fs_audit_filter f = {.since_ms = FS_TIME_UNSET};
    enum fs_audit_format fmt = FS_AUDIT_JSON;
    const char *format = fs_http_query(r, "format");
    if (format && fs_audit_format_parse(format, &fmt) < 0)
        return fs_http_error(r, FS_E_INVALID, "format", "format: expected json, jsonl or csv");
    const char *since = fs_http_query(r, "since");
    if (since && fs_time_parse_rfc3339(since, (size_t)-1, &f.since_ms) < 0)
        return fs_http_error(r, FS_E_INVALID, "since", "since: expected an RFC 3339 time");
    f.types = fs_http_query(r, "type");
    struct fs_err terr;
    if (f.types && fs_audit_types_check(f.types, &terr) < 0) {
        /* a misspelt type would otherwise select nothing: an empty trail, not a mistake */
        char msg[sizeof(terr.msg) + 8];
        snprintf(msg, sizeof(msg), "type: %s", terr.msg);
        return fs_http_error(r, FS_E_INVALID, "type", msg);
    }
    f.actor = fs_http_query(r, "actor");
    const char *after = fs_http_query(r, "after");
    if (after) {
        char *end;
        long long v = strtoll(after, &end, 10);
        if (*end || end == after || v < 0)
            return fs_http_error(r, FS_E_INVALID, "after", "after: expected a sequence number");
        f.after_seq = v;
    }
    int limit;
    if (fs_http_limit(r, 1000, &limit) < 0)
        return;
    f.limit = limit;
    struct fs_buf b = FS_BUF_INIT(EXPORT_MAX);
    struct fs_err err;
    int rc = fs_audit_export(r->srv->store, &f, fmt, to_buf, &b, &err);
    if (rc < 0) {
        fs_buf_release(&b);
        return fs_http_err(r, rc, &err);
    }
    size_t n;
    char *text = fs_buf_detach(&b, &n);
    if (!text)
        return fs_http_error(r, FS_E_NOMEM, NULL, NULL);
    const char *ctype = fmt == FS_AUDIT_CSV     ? "text/csv; charset=utf-8"
                        : fmt == FS_AUDIT_JSONL ? "application/jsonl"
                                                : "application/json";
    fs_http_text(r, 200, ctype, text, n);
}

void fs_api_audit_verify(struct req *r)
{
    struct fs_audit_report rep;
    struct fs_err err;
    struct fs_server *srv = r->srv;
    int rc = fs_audit_verify(srv->store, srv->checkpoint_file, srv->checkpoint_key,
                             srv->checkpoint_keylen, &rep, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200,
                 json_pack("{s:b,s:I,s:I,s:I,s:s,s:I,s:I,s:I}", "ok", rep.ok, "records",
                           (json_int_t)rep.records, "headSeq", (json_int_t)rep.head_seq, "badSeq",
                           (json_int_t)rep.bad_seq, "problem", rep.problem, "checkpoints",
                           (json_int_t)rep.checkpoints, "checkpointSeq",
                           (json_int_t)rep.checkpoint_seq, "unanchored",
                           (json_int_t)rep.unanchored));
}
