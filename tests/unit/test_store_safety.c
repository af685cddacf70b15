/* Unit tests for the safety part of the SQLite store: proposals and their approvals, controls,
 * observations, executions and their history windows, and the migration of a version-1
 * database to version 2 with its data kept. Each test gets its own database file. */
#include "unit.h"

#include <sqlite3.h>
#include <unistd.h>

#include "core/embed.h"
#include "core/time.h"
#include "store/store.h"

static char dir[] = "/tmp/fs-store-safety-XXXXXX";
static char path[160];
static int dbno;

static int setup_group(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int setup(void **state)
{
    snprintf(path, sizeof(path), "%s/t%d.db", dir, ++dbno);
    return 0;
}

static struct fs_store *open_store(void)
{
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 1000};
    struct fs_store *s = NULL;
    struct fs_err err;
    if (fs_store_open(&o, &s, &err) < 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static void begin(struct fs_store *s)
{
    struct fs_err err;
    if (fs_store_begin(s, &err) < 0)
        fail_msg("begin: %s", err.msg);
}

static void commit(struct fs_store *s)
{
    struct fs_err err;
    if (fs_store_commit(s, &err) < 0)
        fail_msg("commit: %s", err.msg);
}

static int64_t add_incident(struct fs_store *s, const char *key)
{
    struct fs_incident i = {.group_key = (char *)key,
                            .title = "disk filling",
                            .labels = "{\"alertname\":\"DiskFilling\"}",
                            .open_episodes = 1,
                            .created_at = 1000,
                            .updated_at = 1000,
                            .resolved_at = FS_TIME_UNSET};
    fs_strlcpy(i.status, "open", sizeof(i.status));
    fs_strlcpy(i.severity, "warning", sizeof(i.severity));
    struct fs_err err;
    assert_int_equal(fs_store_incident_insert(s, &i, &err), 0);
    return i.id;
}

static void add_episode(struct fs_store *s, int64_t incident, const char *fp, int64_t starts,
                        const char *labels)
{
    struct fs_episode e = {.status = FS_EP_FIRING,
                           .starts_at = starts,
                           .starts_at_max = starts,
                           .ends_at = FS_TIME_UNSET,
                           .expires_at = FS_TIME_UNSET,
                           .alertname = "DiskFilling",
                           .labels = (char *)labels,
                           .annotations = "{}",
                           .extra = "{}",
                           .incident_id = incident,
                           .created_at = starts,
                           .updated_at = starts};
    fs_strlcpy(e.fingerprint, fp, sizeof(e.fingerprint));
    fs_strlcpy(e.source, "alertmanager", sizeof(e.source));
    fs_strlcpy(e.severity, "warning", sizeof(e.severity));
    struct fs_err err;
    assert_int_equal(fs_store_episode_insert(s, &e, &err), 0);
}

static int64_t add_proposal(struct fs_store *s, int64_t incident, const char *status,
                            int64_t created, int64_t expires)
{
    struct fs_proposal_row r = {.incident_id = incident,
                                .created_at = created,
                                .updated_at = created,
                                .expires_at = expires,
                                .proposer = "agent:investigator",
                                .action = "restart_service",
                                .target_key = "host=web-1,service=api",
                                .body = "{\"action\":\"restart_service\",\"params\":{\"n\":1}}",
                                .gate = "{\"decision\":\"REQUIRE_APPROVAL\",\"score\":42}",
                                .risk_score = 42,
                                .decided_at = FS_TIME_UNSET};
    fs_strlcpy(r.status, status, sizeof(r.status));
    fs_strlcpy(r.decision, "REQUIRE_APPROVAL", sizeof(r.decision));
    fs_strlcpy(r.risk_level, "medium", sizeof(r.risk_level));
    memset(r.action_hash, 'a', 64);
    fs_strlcpy(r.catalog_version, "catalog-7", sizeof(r.catalog_version));
    fs_strlcpy(r.policy_version, "policy-3", sizeof(r.policy_version));
    struct fs_err err;
    if (fs_store_proposal_insert(s, &r, &err) < 0)
        fail_msg("proposal insert: %s", err.msg);
    assert_true(r.id > 0);
    return r.id;
}

static int64_t add_approval(struct fs_store *s, int64_t proposal, const char *kind,
                            const char *actor, int64_t created)
{
    struct fs_approval_row a = {.proposal_id = proposal,
                                .created_at = created,
                                .expires_at = created + 600000,
                                .consumed_at = FS_TIME_UNSET,
                                .actor = (char *)actor,
                                .reason = "looks right"};
    fs_strlcpy(a.kind, kind, sizeof(a.kind));
    fs_strlcpy(a.role, "operator", sizeof(a.role));
    if (strcmp(kind, "reject") != 0)
        memset(a.action_hash, 'a', 64);
    struct fs_err err;
    if (fs_store_approval_insert(s, &a, &err) < 0)
        fail_msg("approval insert: %s", err.msg);
    return a.id;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void test_migration_from_version_1(void **state)
{
    /* a version-1 database exactly as the migration runner of version 1 leaves it */
    const struct fs_embed_file *v1 = fs_embed_find("src/store/sql/sqlite/0001_init.sql");
    assert_non_null(v1);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db,
                          "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT "
                          "NOT NULL, applied_at INTEGER NOT NULL)",
                          NULL, NULL, &msg);
    assert_int_equal(rc, SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, (const char *)v1->start, NULL, NULL, &msg), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA user_version=1; INSERT INTO schema_migrations "
                                  "VALUES(1,'0001_init.sql',1); INSERT INTO incidents(group_key,"
                                  "status,severity,title,labels,open_episodes,created_at,"
                                  "updated_at) VALUES('g','open','warning','old','{}',0,5,5)",
                                  NULL, NULL, &msg),
                     SQLITE_OK);
    sqlite3_close(db);

    struct fs_store *s = open_store();
    assert_int_equal(fs_store_schema_version(s), FS_STORE_SCHEMA_VERSION);
    struct fs_err err;
    json_t *stats;
    assert_int_equal(fs_store_stats(s, &stats, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "incidents")), 1);
    assert_int_equal(json_integer_value(json_object_get(stats, "proposals")), 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "schema_version")), FS_STORE_SCHEMA_VERSION);
    json_decref(stats);
    /* the new tables work against the old data */
    begin(s);
    int64_t p = add_proposal(s, 1, "pending", 10, FS_TIME_UNSET);
    commit(s);
    assert_int_equal(p, 1);
    fs_store_close(s);

    s = open_store(); /* reopening applies nothing again */
    assert_int_equal(fs_store_schema_version(s), FS_STORE_SCHEMA_VERSION);
    fs_store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT (SELECT count(*) FROM schema_migrations), user_version FROM "
                       "pragma_user_version",
                       -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), FS_STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite3_column_int(st, 1), FS_STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_fresh_database_is_latest_version(void **state)
{
    struct fs_store *s = open_store();
    assert_int_equal(fs_store_schema_version(s), FS_STORE_SCHEMA_VERSION);
    struct fs_err err;
    json_t *stats;
    assert_int_equal(fs_store_stats(s, &stats, &err), 0);
    static const char *const tables[] = {"proposals",    "approvals",  "controls",
                                         "observations", "executions", "audit_log"};
    for (size_t i = 0; i < FS_ARRAY_LEN(tables); i++) {
        json_t *n = json_object_get(stats, tables[i]);
        assert_true(json_is_integer(n));
        assert_int_equal(json_integer_value(n), 0);
    }
    json_decref(stats);
    fs_store_close(s);
}

static void test_proposals(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    begin(s);
    int64_t inc = add_incident(s, "g1");
    int64_t inc2 = add_incident(s, "g2");
    int64_t p1 = add_proposal(s, inc, "pending", 100, 1000);
    int64_t p2 = add_proposal(s, inc, "pending", 200, 5000);
    int64_t p3 = add_proposal(s, inc2, "shadow", 300, FS_TIME_UNSET);
    int64_t p4 = add_proposal(s, 0, "pending", 400, 500);
    commit(s);

    /* load (writer) */
    struct fs_proposal_row r;
    assert_int_equal(fs_store_proposal_load(s, p1, &r, &err), 1);
    assert_int_equal(r.id, p1);
    assert_int_equal(r.incident_id, inc);
    assert_string_equal(r.status, "pending");
    assert_string_equal(r.decision, "REQUIRE_APPROVAL");
    assert_string_equal(r.proposer, "agent:investigator");
    assert_string_equal(r.target_key, "host=web-1,service=api");
    assert_string_equal(r.risk_level, "medium");
    assert_int_equal(r.risk_score, 42);
    assert_int_equal(strlen(r.action_hash), 64);
    assert_string_equal(r.catalog_version, "catalog-7");
    assert_int_equal(r.expires_at, 1000);
    assert_int_equal(r.decided_at, FS_TIME_UNSET);
    assert_null(r.decided_by);
    assert_null(r.reason);
    fs_proposal_row_clear(&r);
    assert_int_equal(fs_store_proposal_load(s, p4, &r, &err), 1);
    assert_int_equal(r.incident_id, 0);
    fs_proposal_row_clear(&r);
    assert_int_equal(fs_store_proposal_load(s, 999, &r, &err), 0);

    /* due: pending with expires_at <= now, earliest expiry first, up to max */
    int64_t ids[8];
    int n = -1;
    assert_int_equal(fs_store_proposals_due(s, 2000, ids, 8, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], p4);
    assert_int_equal(ids[1], p1);
    assert_int_equal(fs_store_proposals_due(s, 2000, ids, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(fs_store_proposals_due(s, 1000, ids, 8, &n, &err), 0);
    assert_int_equal(n, 2); /* expires_at == now is due */
    assert_int_equal(fs_store_proposals_due(s, 499, ids, 8, &n, &err), 0);
    assert_int_equal(n, 0);

    begin(s);
    assert_int_equal(
        fs_store_proposal_set_status(s, p1, "expired", "policy", 2000, "no approval", 2001, &err),
        0);
    assert_int_equal(
        fs_store_proposal_set_status(s, 12345, "expired", "policy", 2000, NULL, 2001, &err),
        -FS_E_NOT_FOUND);
    commit(s);
    assert_int_equal(fs_store_proposals_due(s, 1000000, ids, 8, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], p4);
    assert_int_equal(ids[1], p2);
    assert_int_equal(fs_store_proposal_load(s, p1, &r, &err), 1);
    assert_string_equal(r.status, "expired");
    assert_string_equal(r.decided_by, "policy");
    assert_int_equal(r.decided_at, 2000);
    assert_string_equal(r.reason, "no approval");
    assert_int_equal(r.updated_at, 2001);
    fs_proposal_row_clear(&r);

    /* list: newest first, filters, pagination */
    json_t *arr;
    struct fs_proposal_filter f = {0};
    assert_int_equal(fs_store_proposals_list(s, &f, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 4);
    json_t *o = json_array_get(arr, 0);
    assert_string_equal(jstr(o, "id"), "prop-4");
    assert_true(json_is_null(json_object_get(o, "incidentId")));
    o = json_array_get(arr, 3);
    assert_string_equal(jstr(o, "id"), "prop-1");
    assert_string_equal(jstr(o, "incidentId"), "inc-1");
    assert_string_equal(jstr(o, "status"), "expired");
    assert_string_equal(jstr(o, "decision"), "REQUIRE_APPROVAL");
    assert_string_equal(jstr(o, "proposer"), "agent:investigator");
    assert_string_equal(jstr(o, "action"), "restart_service");
    assert_string_equal(jstr(o, "targetKey"), "host=web-1,service=api");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(o, "proposal"), "params"), "n")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "gate"), "score")), 42);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "risk"), "score")), 42);
    assert_string_equal(jstr(json_object_get(o, "risk"), "level"), "medium");
    assert_int_equal(strlen(jstr(o, "actionHash")), 64);
    assert_string_equal(jstr(o, "catalogVersion"), "catalog-7");
    assert_string_equal(jstr(o, "policyVersion"), "policy-3");
    assert_string_equal(jstr(o, "createdAt"), "1970-01-01T00:00:00.100Z");
    assert_string_equal(jstr(o, "updatedAt"), "1970-01-01T00:00:02.001Z");
    assert_string_equal(jstr(o, "expiresAt"), "1970-01-01T00:00:01.000Z");
    assert_string_equal(jstr(o, "decidedBy"), "policy");
    assert_string_equal(jstr(o, "decidedAt"), "1970-01-01T00:00:02.000Z");
    assert_string_equal(jstr(o, "reason"), "no approval");
    json_decref(arr);

    f.status = "pending";
    assert_int_equal(fs_store_proposals_list(s, &f, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
    f = (struct fs_proposal_filter){.incident_id = inc};
    assert_int_equal(fs_store_proposals_list(s, &f, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(jstr(json_array_get(arr, 0), "id"), "prop-2");
    json_decref(arr);
    f = (struct fs_proposal_filter){.before_id = p4, .limit = 2};
    assert_int_equal(fs_store_proposals_list(s, &f, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(jstr(json_array_get(arr, 0), "id"), "prop-3");
    assert_string_equal(jstr(json_array_get(arr, 1), "id"), "prop-2");
    json_t *p3j = json_array_get(arr, 0);
    assert_true(json_is_null(json_object_get(p3j, "expiresAt")));
    assert_true(json_is_null(json_object_get(p3j, "decidedBy")));
    assert_true(json_is_null(json_object_get(p3j, "decidedAt")));
    json_decref(arr);
    assert_int_equal(fs_store_proposals_list(s, NULL, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 4);
    json_decref(arr);
    FS_UNUSED(p3);

    /* get: one proposal with (no) approvals; missing → not found */
    assert_int_equal(fs_store_proposal_get(s, p2, &o, &err), 0);
    assert_string_equal(jstr(o, "id"), "prop-2");
    assert_true(json_is_array(json_object_get(o, "approvals")));
    assert_int_equal(json_array_size(json_object_get(o, "approvals")), 0);
    json_decref(o);
    assert_int_equal(fs_store_proposal_get(s, 777, &o, &err), -FS_E_NOT_FOUND);
    assert_int_equal(err.code, FS_E_NOT_FOUND);
    fs_store_close(s);
}

static void test_approvals(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    begin(s);
    int64_t p = add_proposal(s, 0, "pending", 100, 100000);
    int64_t other = add_proposal(s, 0, "pending", 100, 100000);
    struct fs_approval_row a;
    assert_int_equal(fs_store_approval_latest(s, p, &a, &err), 0);
    int64_t a1 = add_approval(s, p, "approve", "alice", 1000);
    int64_t a2 = add_approval(s, p, "force_override", "carol", 2000);
    int64_t a3 = add_approval(s, p, "reject", "bob", 3000); /* not an approval */
    add_approval(s, other, "approve", "dave", 4000);
    commit(s);

    assert_int_equal(fs_store_approval_latest(s, p, &a, &err), 1);
    assert_int_equal(a.id, a2);
    assert_int_equal(a.proposal_id, p);
    assert_string_equal(a.kind, "force_override");
    assert_string_equal(a.actor, "carol");
    assert_string_equal(a.role, "operator");
    assert_string_equal(a.reason, "looks right");
    assert_int_equal(a.created_at, 2000);
    assert_int_equal(a.expires_at, 602000);
    assert_int_equal(a.consumed_at, FS_TIME_UNSET);
    assert_int_equal(strlen(a.action_hash), 64);
    fs_approval_row_clear(&a);

    /* an approval is used once */
    bool changed = false;
    begin(s);
    assert_int_equal(fs_store_approval_consume(s, a2, 5000, &changed, &err), 0);
    assert_true(changed);
    assert_int_equal(fs_store_approval_consume(s, a2, 6000, &changed, &err), 0);
    assert_false(changed);
    assert_int_equal(fs_store_approval_consume(s, 999, 6000, &changed, &err), -FS_E_NOT_FOUND);
    assert_false(changed);
    commit(s);
    assert_int_equal(fs_store_approval_latest(s, p, &a, &err), 1);
    assert_int_equal(a.consumed_at, 5000); /* the first use stands */
    fs_approval_row_clear(&a);

    json_t *o;
    assert_int_equal(fs_store_proposal_get(s, p, &o, &err), 0);
    json_t *apr = json_object_get(o, "approvals");
    assert_int_equal(json_array_size(apr), 3);
    json_t *x = json_array_get(apr, 0);
    assert_string_equal(jstr(x, "id"), "apr-1");
    assert_int_equal(a1, 1);
    assert_string_equal(jstr(x, "kind"), "approve");
    assert_string_equal(jstr(x, "actor"), "alice");
    assert_string_equal(jstr(x, "role"), "operator");
    assert_string_equal(jstr(x, "reason"), "looks right");
    assert_int_equal(strlen(jstr(x, "actionHash")), 64);
    assert_string_equal(jstr(x, "createdAt"), "1970-01-01T00:00:01.000Z");
    assert_string_equal(jstr(x, "expiresAt"), "1970-01-01T00:10:01.000Z");
    assert_true(json_is_null(json_object_get(x, "consumedAt")));
    x = json_array_get(apr, 1);
    assert_string_equal(jstr(x, "consumedAt"), "1970-01-01T00:00:05.000Z");
    x = json_array_get(apr, 2);
    assert_int_equal(a3, 3);
    assert_string_equal(jstr(x, "kind"), "reject");
    assert_true(json_is_null(json_object_get(x, "actionHash")));
    json_decref(o);

    /* approvals must belong to a proposal */
    begin(s);
    struct fs_approval_row bad = {.proposal_id = 4242,
                                  .created_at = 1,
                                  .expires_at = FS_TIME_UNSET,
                                  .consumed_at = FS_TIME_UNSET,
                                  .actor = "x"};
    fs_strlcpy(bad.kind, "approve", sizeof(bad.kind));
    fs_strlcpy(bad.role, "operator", sizeof(bad.role));
    assert_true(fs_store_approval_insert(s, &bad, &err) < 0);
    fs_store_rollback(s);
    fs_store_close(s);
}

static void test_controls(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    char *v = (char *)"untouched";
    assert_int_equal(fs_store_control_get(s, "freeze", &v, &err), 0);
    assert_null(v);
    begin(s);
    assert_int_equal(
        fs_store_control_put(s, "freeze", "{\"on\":true,\"why\":\"deploy\"}", "alice", 1000, &err),
        0);
    assert_int_equal(fs_store_control_put(s, "mode:global", "\"shadow\"", "bob", 1500, &err), 0);
    commit(s);
    assert_int_equal(fs_store_control_get(s, "freeze", &v, &err), 1);
    assert_string_equal(v, "{\"on\":true,\"why\":\"deploy\"}");
    free(v);
    begin(s);
    assert_int_equal(fs_store_control_put(s, "freeze", "{\"on\":false}", "carol", 2000, &err), 0);
    commit(s);
    assert_int_equal(fs_store_control_get(s, "freeze", &v, &err), 1);
    assert_string_equal(v, "{\"on\":false}");
    free(v);

    json_t *o;
    assert_int_equal(fs_store_controls_list(s, &o, &err), 0);
    assert_int_equal(json_object_size(o), 2);
    json_t *fz = json_object_get(o, "freeze");
    assert_true(json_is_false(json_object_get(json_object_get(fz, "value"), "on")));
    assert_string_equal(jstr(fz, "updatedBy"), "carol");
    assert_string_equal(jstr(fz, "updatedAt"), "1970-01-01T00:00:02.000Z");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "mode:global"), "value")), "shadow");
    json_decref(o);

    begin(s);
    assert_int_equal(fs_store_control_put(s, "freeze", NULL, "dave", 3000, &err), 0);
    assert_int_equal(fs_store_control_put(s, "never-set", NULL, "dave", 3000, &err), 0);
    commit(s);
    assert_int_equal(fs_store_control_get(s, "freeze", &v, &err), 0);
    assert_int_equal(fs_store_controls_list(s, &o, &err), 0);
    assert_int_equal(json_object_size(o), 1);
    assert_null(json_object_get(o, "freeze"));
    json_decref(o);
    fs_store_close(s);
}

static void test_observations(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    begin(s);
    int64_t i1 = add_incident(s, "g1");
    int64_t i2 = add_incident(s, "g2");
    struct fs_observation_row o = {.incident_id = i1,
                                   .ts = 1000,
                                   .tool = "prometheus.query",
                                   .input = "{\"query\":\"up\"}",
                                   .output = "up{job=\"api\"} 1",
                                   .duration_ms = 12,
                                   .actor = "agent:investigator"};
    int64_t id = 0, ids[4];
    for (int k = 0; k < 4; k++) {
        o.incident_id = k == 2 ? i2 : i1;
        o.ts = 1000 + k;
        o.input = k == 3 ? NULL : o.input;
        assert_int_equal(fs_store_observation_insert(s, &o, &id, &err), 0);
        ids[k] = id;
    }
    json_t *arr;
    assert_int_equal(fs_store_observation_ids(s, i1, &arr, &err), 0); /* writer, in the tx */
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(json_string_value(json_array_get(arr, 0)), "obs-1");
    assert_string_equal(json_string_value(json_array_get(arr, 1)), "obs-2");
    assert_string_equal(json_string_value(json_array_get(arr, 2)), "obs-4");
    json_decref(arr);
    commit(s);
    assert_int_equal(ids[3], 4);

    assert_int_equal(fs_store_observations_list(s, i1, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 3);
    json_t *x = json_array_get(arr, 0);
    assert_string_equal(jstr(x, "id"), "obs-1");
    assert_string_equal(jstr(x, "incidentId"), "inc-1");
    assert_string_equal(jstr(x, "ts"), "1970-01-01T00:00:01.000Z");
    assert_string_equal(jstr(x, "tool"), "prometheus.query");
    assert_string_equal(jstr(json_object_get(x, "input"), "query"), "up");
    assert_string_equal(jstr(x, "output"), "up{job=\"api\"} 1");
    assert_int_equal(json_integer_value(json_object_get(x, "durationMs")), 12);
    assert_string_equal(jstr(x, "actor"), "agent:investigator");
    assert_true(json_is_null(json_object_get(json_array_get(arr, 2), "input")));
    json_decref(arr);
    assert_int_equal(fs_store_observations_list(s, 99, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    assert_int_equal(fs_store_observation_ids(s, 99, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    fs_store_close(s);
}

static void test_incident_episode_labels(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    begin(s);
    int64_t inc = add_incident(s, "g1");
    int64_t other = add_incident(s, "g2");
    add_episode(s, inc, "00000000000000b2", 2000, "{\"alertname\":\"B\",\"host\":\"web-2\"}");
    add_episode(s, inc, "00000000000000a1", 1000, "{\"alertname\":\"A\",\"host\":\"web-1\"}");
    add_episode(s, other, "00000000000000c3", 500, "{\"alertname\":\"C\"}");
    json_t *arr;
    assert_int_equal(fs_store_incident_episode_labels(s, inc, &arr, &err), 0);
    commit(s);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(jstr(json_array_get(arr, 0), "host"), "web-1"); /* by starts_at */
    assert_string_equal(jstr(json_array_get(arr, 1), "alertname"), "B");
    json_decref(arr);
    assert_int_equal(fs_store_incident_episode_labels(s, 42, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    fs_store_close(s);
}

static void add_exec(struct fs_store *s, int64_t proposal, const char *action, const char *target,
                     int64_t started, const char *outcome)
{
    struct fs_execution_row e = {.proposal_id = proposal,
                                 .action = action,
                                 .target_key = target,
                                 .started_at = started,
                                 .finished_at =
                                     strcmp(outcome, "running") ? started + 5 : FS_TIME_UNSET,
                                 .outcome = outcome};
    int64_t id = 0;
    struct fs_err err;
    if (fs_store_execution_insert(s, &e, &id, &err) < 0)
        fail_msg("execution insert: %s", err.msg);
    assert_true(id > 0);
}

static void test_action_history_windows(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    const int64_t now = 10LL * 86400000, H = 3600000, D = 86400000;
    const char *A = "restart_service", *T = "host=web-1,service=api";
    begin(s);
    int64_t p = add_proposal(s, 0, "approved", 1, FS_TIME_UNSET);
    add_exec(s, p, A, T, now, "succeeded");                     /* 1h, not a failure */
    add_exec(s, 0, A, T, now - H + 1, "failed");                /* 1h and 24h failure */
    add_exec(s, 0, A, T, now - H, "failed");                    /* out of 1h; 24h failure */
    add_exec(s, 0, A, T, now - 2 * H, "rolled_back");           /* 24h failure */
    add_exec(s, 0, A, T, now - 3 * H, "unknown");               /* neither */
    add_exec(s, 0, A, T, now - 4 * H, "running");               /* neither */
    add_exec(s, 0, A, T, now - D + 1, "failed");                /* 24h failure, at the edge */
    add_exec(s, 0, A, T, now - D, "failed");                    /* just outside 24h */
    add_exec(s, 0, A, T, now + 1, "failed");                    /* in the future of now: outside */
    add_exec(s, 0, A, "host=web-2,service=api", now, "failed"); /* other target */
    add_exec(s, 0, "drain_node", T, now, "failed");             /* other action */
    int64_t n1h = -1, f24 = -1;
    assert_int_equal(fs_store_action_history(s, A, T, now, &n1h, &f24, &err), 0);
    commit(s);
    assert_int_equal(n1h, 2);
    assert_int_equal(f24, 4);
    /* an hour later: (now, now+H] holds only the one at now+1, which also joins the 24h
     * failures, while the one at now-D+1 falls out of them */
    assert_int_equal(fs_store_action_history(s, A, T, now + H, &n1h, &f24, &err), 0);
    assert_int_equal(n1h, 1);
    assert_int_equal(f24, 4);
    assert_int_equal(fs_store_action_history(s, "nothing", T, now, &n1h, &f24, &err), 0);
    assert_int_equal(n1h, 0);
    assert_int_equal(f24, 0);

    json_t *stats;
    assert_int_equal(fs_store_stats(s, &stats, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "executions")), 11);
    assert_int_equal(json_integer_value(json_object_get(stats, "proposals")), 1);
    json_decref(stats);
    fs_store_close(s);
}

static void test_audit_primitives(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    int64_t seq = -1;
    char hash[65];
    assert_int_equal(fs_store_audit_head(s, &seq, hash, &err), 0);
    assert_int_equal(seq, 0);
    assert_string_equal(hash, "0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(fs_store_audit_last(s, &seq, hash, &err), 0);
    assert_int_equal(seq, 0);
    struct fs_audit_row r = {.seq = 1, .ts = 5, .actor = "alice", .data = "{}"};
    fs_strlcpy(r.type, "freeze", sizeof(r.type));
    memset(r.prev_hash, '0', 64);
    memset(r.hash, 'b', 64);
    begin(s);
    assert_int_equal(fs_store_audit_insert(s, &r, &err), 0);
    assert_true(fs_store_audit_insert(s, &r, &err) < 0); /* seq is unique */
    assert_int_equal(fs_store_audit_head(s, &seq, hash, &err), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(hash[0], 'b');
    commit(s);
    assert_int_equal(fs_store_audit_last(s, &seq, hash, &err), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(strlen(hash), 64);
    fs_store_close(s);

    /* append-only: the table refuses updates and deletes */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE audit_log SET actor='mallory'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit_log", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_migration_from_version_1, setup),
        cmocka_unit_test_setup(test_fresh_database_is_latest_version, setup),
        cmocka_unit_test_setup(test_proposals, setup),
        cmocka_unit_test_setup(test_approvals, setup),
        cmocka_unit_test_setup(test_controls, setup),
        cmocka_unit_test_setup(test_observations, setup),
        cmocka_unit_test_setup(test_incident_episode_labels, setup),
        cmocka_unit_test_setup(test_action_history_windows, setup),
        cmocka_unit_test_setup(test_audit_primitives, setup),
    };
    return cmocka_run_group_tests(tests, setup_group, NULL);
}
