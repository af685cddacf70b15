/* Approval binding through the safety service on a real store: an approval covers exactly the
 * action, params, target, catalog and policy it was given for, expires, is never the
 * proposer's, is used once, cannot move to another proposal, and a critical proposal needs
 * FORCE_OVERRIDE. Every refusal is itself an audit record. */
#include "unit.h"

#include <sqlite3.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/config.h"
#include "core/time.h"
#include "safety/approval.h"
#include "safety/service.h"
#include "store/store.h"

static char dir[] = "/tmp/fs-approvals-XXXXXX";
static char path[128];
static struct fs_store *store;
static struct fs_rules *rules;
static int64_t now;

static const struct fs_identity planner = {"planner", FS_ROLE_AGENT, true};
static const struct fs_identity alice = {"alice", FS_ROLE_APPROVER, true};
static const struct fs_identity bob = {"bob", FS_ROLE_OVERRIDER, true};
static const struct fs_identity root = {"root", FS_ROLE_ADMIN, true};
static const struct fs_identity executor = {"forestall", FS_ROLE_ADMIN, true};

static const char *write_tmp(const char *name, const char *text, char *out, size_t size)
{
    if (!text)
        return NULL;
    snprintf(out, size, "%s/%s-%d.yaml", dir, name, rand());
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return out;
}

static struct fs_rules *load_rules2(const char *policy_yaml, const char *catalog_yaml)
{
    struct fs_rules *r = NULL;
    struct fs_err err;
    char pfile[200], cfile[200];
    const char *pf = write_tmp("policy", policy_yaml, pfile, sizeof(pfile));
    const char *cf = write_tmp("catalog", catalog_yaml, cfile, sizeof(cfile));
    if (fs_rules_load(pf, cf, NULL, &r, NULL, &err) < 0)
        fail_msg("rules: %s", err.msg);
    return r;
}

static struct fs_rules *load_rules(const char *policy_yaml)
{
    return load_rules2(policy_yaml, NULL);
}

typedef int (*op_fn)(struct fs_store *, struct fs_safety_request *, struct fs_err *);

/* Run one operation in its own transaction, as the writer does. */
static int run(op_fn op, struct fs_safety_request *q)
{
    struct fs_err err;
    assert_int_equal(fs_store_begin(store, &err), 0);
    int rc = op(store, q, &err);
    if (rc < 0)
        fail_msg("store trouble: %s", err.msg);
    assert_int_equal(fs_store_commit(store, &err), 0);
    return q->rc;
}

static int64_t incident(const char *severity)
{
    struct fs_err err;
    struct fs_incident inc = {0};
    inc.group_key = (char *)(strcmp(severity, "critical") == 0 ? "g-crit" : "g-warn");
    fs_strlcpy(inc.status, "open", sizeof(inc.status));
    fs_strlcpy(inc.severity, severity, sizeof(inc.severity));
    inc.title = (char *)"DiskSpaceWarning";
    inc.labels = (char *)"{\"alertname\":\"DiskSpaceWarning\",\"env\":\"production\","
                         "\"instance\":\"web-1:9100\",\"service\":\"monitoring\"}";
    inc.open_episodes = 1;
    inc.created_at = inc.updated_at = now;
    inc.resolved_at = FS_TIME_UNSET;
    struct fs_episode ep = {0};
    snprintf(ep.fingerprint, sizeof(ep.fingerprint), "%016llx",
             (unsigned long long)(strcmp(severity, "critical") == 0 ? 1 : 2));
    fs_strlcpy(ep.source, "alertmanager", sizeof(ep.source));
    ep.status = FS_EP_FIRING;
    ep.starts_at = ep.starts_at_max = now;
    ep.ends_at = ep.expires_at = FS_TIME_UNSET;
    fs_strlcpy(ep.severity, severity, sizeof(ep.severity));
    ep.alertname = (char *)"DiskSpaceWarning";
    ep.labels = inc.labels;
    ep.annotations = (char *)"{}";
    ep.extra = (char *)"{}";
    ep.created_at = ep.updated_at = now;
    assert_int_equal(fs_store_begin(store, &err), 0);
    assert_int_equal(fs_store_incident_insert(store, &inc, &err), 0);
    ep.incident_id = inc.id;
    assert_int_equal(fs_store_episode_insert(store, &ep, &err), 0);
    assert_int_equal(fs_store_commit(store, &err), 0);
    return inc.id;
}

static char obs_id[32];

static void observe(int64_t inc)
{
    char incs[32];
    snprintf(incs, sizeof(incs), "inc-%lld", (long long)inc);
    json_t *b =
        json_pack("{s:s,s:s,s:s}", "incident", incs, "tool", "host.df", "output", "/dev/sda1 84%");
    struct fs_safety_request q = {.who = &planner, .rules = rules, .now = now, .body = b};
    assert_int_equal(run(fs_safety_observe, &q), 0);
    fs_strlcpy(obs_id, json_string_value(json_object_get(q.result, "id")), sizeof(obs_id));
    fs_safety_request_reset(&q);
    json_decref(b);
}

/* Propose; return the proposal id and check the decision. */
static int64_t propose(const struct fs_identity *who, int64_t inc, const char *action,
                       json_t *params, const char *want_decision)
{
    char incs[32];
    snprintf(incs, sizeof(incs), "inc-%lld", (long long)inc);
    json_t *b = json_pack("{s:s,s:o,s:{s:s,s:s},s:{s:s},s:{s:[s]}}", "action", action, "params",
                          params, "target", "host", "web-1", "service", "monitoring", "incident",
                          "id", incs, "evidence", "cited", obs_id);
    struct fs_safety_request q = {.who = who,
                                  .rules = rules,
                                  .defaults = {"production", "application"},
                                  .now = now,
                                  .body = b};
    if (run(fs_safety_propose, &q) != 0)
        fail_msg("propose: %s", q.err.msg);
    assert_string_equal(json_string_value(json_object_get(q.result, "decision")), want_decision);
    int64_t id = 0;
    assert_int_equal(fs_parse_id(json_string_value(json_object_get(q.result, "id")), "prop", &id),
                     0);
    fs_safety_request_reset(&q);
    json_decref(b);
    return id;
}

static int decide(op_fn op, const struct fs_identity *who, int64_t id, bool force,
                  const char *reason, int64_t at, const struct fs_rules *r)
{
    struct fs_safety_request q = {
        .who = who, .rules = r ? r : rules, .now = at, .id = id, .force = force, .reason = reason};
    int rc = run(op, &q);
    fs_safety_request_reset(&q);
    return rc;
}

static int begin_exec(int64_t id, int64_t at, const struct fs_rules *r)
{
    return decide(fs_safety_begin_execution, &executor, id, false, NULL, at, r);
}

static void sql(const char *stmt)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", stmt, msg);
    sqlite3_close(db);
}

static int64_t count_audit(const char *type)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_log WHERE type=?", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int setup(void **state)
{
    static bool made;
    if (!made && !mkdtemp(dir))
        return -1;
    made = true;
    static char n = 0;
    snprintf(path, sizeof(path), "%s/t%d.db", dir, n++);
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 1000};
    struct fs_err err;
    if (fs_store_open(&o, &store, &err) < 0)
        return -1;
    rules = load_rules(NULL);
    now = 1795000000000LL;
    return 0;
}

static int teardown(void **state)
{
    fs_store_close(store);
    fs_rules_release(rules);
    unlink(path);
    return 0;
}

static json_t *unit(const char *u)
{
    return json_pack("{s:s}", "unit", u);
}

static void test_approved_runs_once(void **state)
{
    int64_t inc = incident("warning");
    observe(inc);
    int64_t id = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    assert_int_equal(begin_exec(id, now + 1, NULL), -FS_E_FORBIDDEN); /* not approved yet */
    assert_int_equal(decide(fs_safety_approve, &alice, id, false, "ok", now + 2, NULL), 0);
    assert_int_equal(begin_exec(id, now + 3, NULL), 0);
    /* the approval is used up: it cannot start the action a second time */
    assert_int_equal(begin_exec(id, now + 4, NULL), -FS_E_NOT_PENDING);
    assert_int_equal(count_audit("execution"), 1);
    assert_int_equal(count_audit("refusal"), 2);
}

/* Any change to what was approved, between the approval and the start, refuses the start. */
static void test_changed_after_approval_is_refused(void **state)
{
    static const char *const tamper[] = {
        "UPDATE proposals SET body=replace(body,'nginx.service','sshd.service')",
        "UPDATE proposals SET body=replace(body,'\"action\":\"service_restart\"',"
        "'\"action\":\"package_upgrade\"')",
        "UPDATE proposals SET body=replace(body,'\"host\":\"web-1\"','\"host\":\"db-1\"')",
        "UPDATE proposals SET body=replace(body,'\"env\":\"production\"','\"env\":\"dev\"')",
        "UPDATE proposals SET expires_at=expires_at+3600000",
    };
    int64_t inc = incident("warning");
    observe(inc);
    for (size_t i = 0; i < FS_ARRAY_LEN(tamper); i++) {
        int64_t id =
            propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
        assert_int_equal(decide(fs_safety_approve, &alice, id, false, NULL, now + 1, NULL), 0);
        char stmt[400];
        snprintf(stmt, sizeof(stmt), "%s WHERE id=%lld", tamper[i], (long long)id);
        sql(stmt);
        int rc = begin_exec(id, now + 2, NULL);
        if (rc != -FS_E_STALE)
            fail_msg("tamper %zu (%s): expected stale, got %d", i, tamper[i], rc);
    }
    assert_int_equal(count_audit("execution"), 0);
}

static void test_policy_or_catalog_change_after_approval_is_refused(void **state)
{
    int64_t inc = incident("warning");
    observe(inc);
    int64_t id = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    assert_int_equal(decide(fs_safety_approve, &alice, id, false, NULL, now + 1, NULL), 0);
    struct fs_rules *stricter = load_rules("version: 1\nthreshold: 30\n");
    assert_string_not_equal(stricter->policy->version, rules->policy->version);
    assert_int_equal(begin_exec(id, now + 2, stricter), -FS_E_STALE);
    fs_rules_release(stricter);
    struct fs_rules *fewer = load_rules2(NULL, "remove: [cache_flush]\n");
    assert_string_not_equal(fewer->catalog->version, rules->catalog->version);
    assert_int_equal(begin_exec(id, now + 2, fewer), -FS_E_STALE);
    fs_rules_release(fewer);
    /* and under the rules it was approved with, it may start */
    assert_int_equal(begin_exec(id, now + 3, NULL), 0);
}

static void test_expired_is_refused(void **state)
{
    int64_t inc = incident("warning");
    observe(inc);
    int64_t ttl = rules->policy->approval_ttl_ms;
    int64_t a = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    /* approving after the window closed: refused, and the proposal is marked expired */
    assert_int_equal(decide(fs_safety_approve, &alice, a, false, NULL, now + ttl, NULL),
                     -FS_E_EXPIRED);
    assert_int_equal(count_audit("expiry"), 1);
    /* approved in time, started too late */
    int64_t b = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    assert_int_equal(decide(fs_safety_approve, &alice, b, false, NULL, now + ttl - 10, NULL), 0);
    assert_int_equal(begin_exec(b, now + ttl, NULL), -FS_E_EXPIRED);
    /* housekeeping expires pending ones on its own */
    int64_t c = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    struct fs_err err;
    int n = 0;
    assert_int_equal(fs_store_begin(store, &err), 0);
    assert_int_equal(fs_safety_expire(store, now + ttl - 1, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(fs_safety_expire(store, now + ttl, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(fs_store_commit(store, &err), 0);
    assert_int_equal(decide(fs_safety_approve, &alice, c, false, NULL, now + 1, NULL),
                     -FS_E_EXPIRED);
}

static void test_self_approval_is_refused(void **state)
{
    int64_t inc = incident("warning");
    observe(inc);
    int64_t id = propose(&root, inc, "service_restart", unit("nginx.service"), "needs_approval");
    assert_int_equal(decide(fs_safety_approve, &root, id, false, NULL, now + 1, NULL),
                     -FS_E_SELF_APPROVAL);
    assert_int_equal(count_audit("refusal"), 1);
    /* a forged approval row by the proposer does not let it start either */
    char stmt[300];
    snprintf(stmt, sizeof(stmt),
             "UPDATE proposals SET status='approved' WHERE id=%lld; "
             "INSERT INTO approvals(proposal_id,created_at,expires_at,kind,actor,role,"
             "action_hash) SELECT id,%lld,expires_at,'approve','root','admin',action_hash "
             "FROM proposals WHERE id=%lld",
             (long long)id, (long long)now, (long long)id);
    sql(stmt);
    assert_int_equal(begin_exec(id, now + 2, NULL), -FS_E_SELF_APPROVAL);
}

static void test_critical_needs_force_override(void **state)
{
    int64_t inc = incident("critical");
    observe(inc);
    int64_t id = propose(&planner, inc, "journal_vacuum", json_pack("{s:s}", "max_size", "1G"),
                         "needs_force_override");
    assert_int_equal(decide(fs_safety_approve, &alice, id, false, NULL, now + 1, NULL),
                     -FS_E_FORCE_REQUIRED);
    assert_int_equal(decide(fs_safety_approve, &alice, id, true, NULL, now + 1, NULL),
                     -FS_E_FORBIDDEN);
    assert_int_equal(decide(fs_safety_approve, &bob, id, false, NULL, now + 1, NULL),
                     -FS_E_FORCE_REQUIRED);
    /* a plain approval forged into the store is not an override */
    char stmt[300];
    snprintf(stmt, sizeof(stmt),
             "UPDATE proposals SET status='approved' WHERE id=%lld; "
             "INSERT INTO approvals(proposal_id,created_at,expires_at,kind,actor,role,"
             "action_hash) SELECT id,%lld,expires_at,'approve','alice','approver',action_hash "
             "FROM proposals WHERE id=%lld",
             (long long)id, (long long)now, (long long)id);
    sql(stmt);
    assert_int_equal(begin_exec(id, now + 2, NULL), -FS_E_FORCE_REQUIRED);
    sql("UPDATE proposals SET status='pending'");
    assert_int_equal(decide(fs_safety_approve, &bob, id, true, "disk full in 10m", now + 3, NULL),
                     0);
    assert_int_equal(count_audit("override"), 1);
    assert_int_equal(begin_exec(id, now + 4, NULL), 0);
}

static void test_approval_cannot_be_replayed_on_another_proposal(void **state)
{
    int64_t inc = incident("warning");
    observe(inc);
    int64_t a = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    int64_t b = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    assert_int_equal(decide(fs_safety_approve, &alice, a, false, NULL, now + 1, NULL), 0);
    /* same action, params and target, yet b has no approval of its own */
    assert_int_equal(begin_exec(b, now + 2, NULL), -FS_E_FORBIDDEN);
    /* move a's approval to b: the hash a's approver saw is not b's, although both were
     * proposed in the same millisecond for the same action, params and target */
    char stmt[300];
    snprintf(stmt, sizeof(stmt),
             "UPDATE proposals SET status='approved' WHERE id=%lld; "
             "UPDATE approvals SET proposal_id=%lld WHERE proposal_id=%lld",
             (long long)b, (long long)b, (long long)a);
    sql(stmt);
    assert_int_equal(begin_exec(b, now + 2, NULL), -FS_E_STALE);
    /* and the pure check names the mismatch when the row still points at a */
    struct fs_proposal_row pb = {.id = b, .proposer = (char *)"planner", .expires_at = now + 99999};
    fs_strlcpy(pb.status, "approved", sizeof(pb.status));
    fs_strlcpy(pb.decision, "needs_approval", sizeof(pb.decision));
    struct fs_approval_row ra = {
        .id = 1, .proposal_id = a, .expires_at = now + 99999, .consumed_at = FS_TIME_UNSET};
    ra.actor = (char *)"alice";
    fs_strlcpy(ra.kind, "approve", sizeof(ra.kind));
    struct fs_err err;
    assert_int_equal(fs_approval_check_execution(&pb, &ra, "x", now, &err), -FS_E_FORBIDDEN);
    assert_non_null(strstr(err.msg, "was given for"));
}

static void test_frozen_stops_every_start(void **state)
{
    int64_t inc = incident("warning");
    observe(inc);
    int64_t id = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    assert_int_equal(decide(fs_safety_approve, &alice, id, false, NULL, now + 1, NULL), 0);
    assert_int_equal(decide(fs_safety_freeze, &alice, 0, false, "incident bridge", now + 2, NULL),
                     0);
    assert_int_equal(begin_exec(id, now + 3, NULL), -FS_E_FROZEN);
    /* new proposals are blocked by rule 1 while frozen */
    propose(&planner, inc, "journal_vacuum", json_pack("{s:s}", "max_size", "1G"), "blocked");
    assert_int_equal(decide(fs_safety_unfreeze, &alice, 0, false, NULL, now + 4, NULL),
                     -FS_E_FORBIDDEN);
    assert_int_equal(decide(fs_safety_unfreeze, &root, 0, false, "done", now + 5, NULL), 0);
    assert_int_equal(begin_exec(id, now + 6, NULL), 0);
    assert_int_equal(count_audit("freeze"), 1);
    assert_int_equal(count_audit("unfreeze"), 1);
}

/* The data of the audit records of one type, in order, as a JSON array. */
static json_t *audit_data(const char *type)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT actor, data FROM audit_log WHERE type=? ORDER BY seq", -1,
                           &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    json_t *out = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *d = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        assert_non_null(d);
        json_object_set_new(d, "_actor", json_string((const char *)sqlite3_column_text(st, 0)));
        json_array_append_new(out, d);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static const char *str_at(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_second_freeze_keeps_the_first(void **state)
{
    struct fs_safety_request q = {
        .who = &alice, .rules = rules, .now = now + 1, .reason = "database migration"};
    assert_int_equal(run(fs_safety_freeze, &q), 0);
    assert_false(json_is_true(json_object_get(q.result, "alreadyFrozen")));
    fs_safety_request_reset(&q);
    q = (struct fs_safety_request){
        .who = &bob, .rules = rules, .now = now + 2, .reason = "disk alarm on db-2"};
    assert_int_equal(run(fs_safety_freeze, &q), 0);
    /* the answer is the freeze in force: the first one */
    assert_true(json_is_true(json_object_get(q.result, "alreadyFrozen")));
    assert_true(json_is_true(json_object_get(q.result, "frozen")));
    assert_string_equal(str_at(q.result, "reason"), "database migration");
    assert_string_equal(str_at(q.result, "by"), "alice");
    fs_safety_request_reset(&q);

    /* the stored freeze is still the first one */
    json_t *c = NULL;
    struct fs_err err;
    assert_int_equal(fs_safety_controls(store, rules, &c, &err), 0);
    json_t *f = json_object_get(c, "freeze");
    assert_true(json_is_true(json_object_get(c, "frozen")));
    assert_string_equal(str_at(f, "reason"), "database migration");
    assert_string_equal(str_at(f, "by"), "alice");
    char at[40];
    fs_time_format(now + 1, at, sizeof(at));
    assert_string_equal(str_at(f, "at"), at);
    json_decref(c);

    /* both are records: the second one says it found the switch already on, and its reason */
    json_t *recs = audit_data("freeze");
    assert_int_equal(json_array_size(recs), 2);
    json_t *r0 = json_array_get(recs, 0), *r1 = json_array_get(recs, 1);
    assert_true(json_is_false(json_object_get(r0, "already_frozen")));
    assert_string_equal(str_at(r0, "reason"), "database migration");
    assert_string_equal(str_at(r0, "_actor"), "alice");
    assert_true(json_is_true(json_object_get(r1, "already_frozen")));
    assert_string_equal(str_at(r1, "reason"), "disk alarm on db-2");
    assert_string_equal(str_at(r1, "_actor"), "bob");
    assert_string_equal(str_at(r1, "frozen_by"), "alice");
    assert_string_equal(str_at(r1, "frozen_since"), at);
    json_decref(recs);

    /* unfreezing records what was in force: the first freeze */
    assert_int_equal(decide(fs_safety_unfreeze, &root, 0, false, "done", now + 3, NULL), 0);
    recs = audit_data("unfreeze");
    assert_string_equal(str_at(json_object_get(json_array_get(recs, 0), "was"), "by"), "alice");
    json_decref(recs);
}

static bool policy_sync(const struct fs_rules *r, const char *actor)
{
    struct fs_err err;
    bool recorded = true;
    assert_int_equal(fs_store_begin(store, &err), 0);
    if (fs_safety_policy_sync(store, r->policy, actor, now, &recorded, &err) < 0)
        fail_msg("policy sync: %s", err.msg);
    assert_int_equal(fs_store_commit(store, &err), 0);
    return recorded;
}

static void test_policy_change_is_audited(void **state)
{
    /* the first policy a store sees is no change; the same one again neither */
    assert_false(policy_sync(rules, "system:start"));
    assert_false(policy_sync(rules, "system:sighup"));
    assert_int_equal(count_audit("policy"), 0);

    struct fs_rules *next = load_rules("version: 2\nmode: supervised\nmodes:\n"
                                       "  - match: {service: billing, env: production}\n"
                                       "    mode: shadow\nthreshold: 35\n");
    assert_true(policy_sync(next, "system:sighup"));
    assert_false(policy_sync(next, "system:sighup"));
    json_t *recs = audit_data("policy");
    assert_int_equal(json_array_size(recs), 1);
    json_t *d = json_array_get(recs, 0);
    assert_string_equal(str_at(d, "_actor"), "system:sighup");
    json_t *from = json_object_get(d, "from"), *to = json_object_get(d, "to");
    assert_string_equal(str_at(from, "version"), rules->policy->version);
    assert_string_equal(str_at(from, "hash"), rules->policy->hash);
    assert_string_equal(str_at(to, "version"), next->policy->version);
    assert_string_equal(str_at(to, "hash"), next->policy->hash);
    assert_int_equal(strlen(str_at(to, "hash")), 64);
    assert_int_equal(strncmp(str_at(to, "version"), "2+", 2), 0);
    json_t *mode = json_object_get(d, "mode");
    assert_string_equal(str_at(mode, "from"), "autonomous");
    assert_string_equal(str_at(mode, "to"), "supervised");
    json_t *modes = json_object_get(d, "modes");
    assert_int_equal(json_array_size(json_object_get(modes, "from")), 0);
    assert_int_equal(json_array_size(json_object_get(modes, "to")), 1);
    assert_string_equal(str_at(json_array_get(json_object_get(modes, "to"), 0), "mode"), "shadow");
    char *changed = json_dumps(json_object_get(d, "changed"), JSON_COMPACT);
    assert_string_equal(changed, "[\"mode\",\"modes\",\"threshold\",\"version\"]");
    free(changed);
    json_decref(recs);

    /* a change that leaves the modes alone says so by leaving them out */
    struct fs_rules *third = load_rules("version: 2\nmode: supervised\nmodes:\n"
                                        "  - match: {service: billing, env: production}\n"
                                        "    mode: shadow\nthreshold: 50\n");
    assert_true(policy_sync(third, "system:start"));
    recs = audit_data("policy");
    d = json_array_get(recs, 1);
    assert_null(json_object_get(d, "mode"));
    assert_null(json_object_get(d, "modes"));
    changed = json_dumps(json_object_get(d, "changed"), JSON_COMPACT);
    assert_string_equal(changed, "[\"threshold\"]");
    free(changed);
    json_decref(recs);
    fs_rules_release(next);
    fs_rules_release(third);

    struct fs_audit_report rep;
    struct fs_err err;
    assert_int_equal(fs_audit_verify(store, NULL, NULL, 0, &rep, &err), 0);
    assert_true(rep.ok);
}

static void test_role_table_matches_config(void **state)
{
    char roles[200] = "";
    for (int i = 0; i < FS_ROLE__COUNT; i++)
        snprintf(roles + strlen(roles), sizeof(roles) - strlen(roles), "%s%s", i ? "|" : "",
                 fs_role_name((enum fs_role)i));
    assert_string_equal(roles, FS_CONFIG_ROLES);
    assert_true(fs_role_can(FS_ROLE_OVERRIDER, FS_CAP_APPROVE));
    assert_false(fs_role_can(FS_ROLE_APPROVER, FS_CAP_OVERRIDE));
    assert_false(fs_role_can(FS_ROLE_AGENT, FS_CAP_APPROVE));
    assert_false(fs_role_can(FS_ROLE_VIEWER, FS_CAP_FREEZE));
    assert_true(fs_role_can(FS_ROLE_APPROVER, FS_CAP_FREEZE));
    assert_false(fs_role_can(FS_ROLE_OVERRIDER, FS_CAP_UNFREEZE));
}

static void test_audit_chain_stays_sound(void **state)
{
    int64_t inc = incident("warning");
    observe(inc);
    int64_t id = propose(&planner, inc, "service_restart", unit("nginx.service"), "needs_approval");
    decide(fs_safety_approve, &planner, id, false, NULL, now + 1, NULL);
    decide(fs_safety_reject, &alice, id, false, "not now", now + 2, NULL);
    struct fs_audit_report rep;
    struct fs_err err;
    assert_int_equal(fs_audit_verify(store, NULL, NULL, 0, &rep, &err), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.records, 5); /* observation, proposal, decision, refusal, rejection */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_approved_runs_once),
        T(test_changed_after_approval_is_refused),
        T(test_policy_or_catalog_change_after_approval_is_refused),
        T(test_expired_is_refused),
        T(test_self_approval_is_refused),
        T(test_critical_needs_force_override),
        T(test_approval_cannot_be_replayed_on_another_proposal),
        T(test_frozen_stops_every_start),
        T(test_second_freeze_keeps_the_first),
        T(test_policy_change_is_audited),
        T(test_role_table_matches_config),
        T(test_audit_chain_stays_sound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
