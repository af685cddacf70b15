/* Unit tests for the KPIs (report/kpi.c over fs_store_kpi_facts): a store written row by row
 * with known times and outcomes, and every KPI checked against the count it must give —
 * including the edges: refusals are not remediations, an escalation is judged only after the
 * settle time, a person's decision makes an escalation warranted, an alert that resolved by
 * itself makes it noise, a started rollback that did not complete is a failed rollback, and
 * incidents outside the window count for nothing. */
#include "unit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "report/kpi.h"
#include "store/store.h"

#define MIN 60000LL
#define T0 1795000000000LL /* the window's start */

static char dir[] = "/tmp/fs-kpi-XXXXXX";

static void sql(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql(sqlite3 *db, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    char *msg = NULL;
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", text, msg);
}

/* An incident created at t (minutes after T0), in handling state `state` since `state_at`,
 * with alert status `status`, resolved at resolved (or -1). */
static void incident(sqlite3 *db, int id, int t, const char *state, int state_at,
                     const char *status, int resolved)
{
    char res[32] = "NULL";
    if (resolved >= 0)
        snprintf(res, sizeof(res), "%lld", T0 + resolved * MIN);
    sql(db,
        "INSERT INTO incidents(id,group_key,status,severity,title,labels,open_episodes,"
        "created_at,updated_at,resolved_at,state,state_at) VALUES(%d,'g%d','%s','warning','t',"
        "'{}',1,%lld,%lld,%s,'%s',%lld)",
        id, id, status, T0 + t * MIN, T0 + t * MIN, res, state, T0 + state_at * MIN);
}

static void proposal(sqlite3 *db, int id, int incident)
{
    sql(db,
        "INSERT INTO proposals(id,incident_id,status,decision,proposer,action,target_key,body,gate,"
        "risk_score,risk_level,action_hash,catalog_version,policy_version,created_at,updated_at) "
        "VALUES(%d,%d,'approved','needs_approval','p','a','h','{}','{}',1,'LOW','x','c','p',0,0)",
        id, incident);
}

static void approval(sqlite3 *db, int proposal, const char *kind)
{
    sql(db,
        "INSERT INTO approvals(proposal_id,kind,actor,role,action_hash,created_at) "
        "VALUES(%d,'%s','alice','approver','x',0)",
        proposal, kind);
}

static void execution(sqlite3 *db, int id, int incident, int started, const char *outcome,
                      const char *steps)
{
    sql(db,
        "INSERT INTO executions(id,proposal_id,action,target_key,started_at,finished_at,outcome,"
        "incident_id) VALUES(%d,NULL,'a','h',%lld,%lld,'%s',%d)",
        id, T0 + started * MIN, T0 + started * MIN, outcome, incident);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", steps);
    for (char *save = NULL, *st = strtok_r(buf, ",", &save); st; st = strtok_r(NULL, ",", &save))
        sql(db, "INSERT INTO exec_steps(execution_id,ts,state,detail) VALUES(%d,0,'%s','{}')", id,
            st);
}

static void test_kpis(void **state)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/k.db", dir);
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 1000};
    struct fs_store *s = NULL;
    struct fs_err err;
    if (fs_store_open(&o, &s, &err) < 0) /* creates the schema */
        fail_msg("open: %s", err.msg);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* 1: remediated on its own, first action 2 min after creation */
    incident(db, 1, 0, "resolved", 3, "resolved", 4);
    execution(db, 1, 1, 2, "succeeded", "intent,started,result,verified");
    /* 2: remediated after a person approved; a refusal first (not a remediation), action at 6 */
    incident(db, 2, 0, "resolved", 7, "open", -1);
    proposal(db, 2, 2);
    approval(db, 2, "approve");
    execution(db, 2, 2, 1, "refused", "refused");
    execution(db, 3, 2, 6, "succeeded", "intent,started,result,verified");
    /* 3: verification failed, rollback completed, escalated at 10; a person rejected later */
    incident(db, 3, 0, "escalated", 10, "open", -1);
    execution(db, 4, 3, 5, "rolled_back", "intent,started,result,rollback_started,rolled_back");
    proposal(db, 4, 3);
    approval(db, 4, "reject");
    /* 4: escalated at 20, its alert resolved by itself at 25: noise */
    incident(db, 4, 0, "escalated", 20, "resolved", 25);
    /* 5: escalated at 30, alert still firing: warranted; rollback started and never completed */
    incident(db, 5, 0, "escalated", 30, "open", -1);
    execution(db, 5, 5, 29, "failed", "intent,started,result,rollback_started,escalated");
    /* 6: escalated 5 min before "now": too recent to judge */
    incident(db, 6, 0, "escalated", 95, "open", -1);
    /* 7: no action (recovered) */
    incident(db, 7, 0, "no_action", 1, "resolved", 1);
    /* 8: still investigating: not ended */
    incident(db, 8, 0, "investigating", 1, "open", -1);
    /* 9: created before the window */
    incident(db, 9, -60, "resolved", -50, "resolved", -50);
    execution(db, 9, 9, -55, "failed", "intent,started,result,escalated");
    sqlite3_close(db);

    json_t *k = NULL;
    assert_int_equal(fs_kpis_compute(s, T0, T0 + 100 * MIN, &k, &err), 0);
    char *text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    print_message("      %s\n", text);
    free(text);
    json_t *t = json_object_get(k, "timeToFirstUsefulAction");
    assert_int_equal(json_integer_value(json_object_get(t, "incidents")), 2);
    assert_true(json_real_value(json_object_get(t, "medianSeconds")) == 120.0);
    assert_true(json_real_value(json_object_get(t, "p90Seconds")) == 360.0);
    json_t *h = json_object_get(k, "handledWithoutHuman");
    /* ended: 1,2,3,4,5,6,7 — without a human: 1 and 7 (2 was approved) */
    assert_int_equal(json_integer_value(json_object_get(h, "ended")), 7);
    assert_int_equal(json_integer_value(json_object_get(h, "withoutHuman")), 2);
    json_t *f = json_object_get(k, "falseRemediation");
    /* executions 1,3,4,5 (the refusal is left out, 9 is outside): bad = 4 (rolled back), 5 */
    assert_int_equal(json_integer_value(json_object_get(f, "executions")), 4);
    assert_int_equal(json_integer_value(json_object_get(f, "failedOrRolledBack")), 2);
    assert_true(json_real_value(json_object_get(f, "rate")) == 0.5);
    json_t *e = json_object_get(k, "escalationPrecision");
    /* judged: 3, 4, 5 (6 too recent); warranted: 3 (a person rejected), 5 (still firing) */
    assert_int_equal(json_integer_value(json_object_get(e, "escalated")), 3);
    assert_int_equal(json_integer_value(json_object_get(e, "warranted")), 2);
    json_t *r = json_object_get(k, "rollbackSuccess");
    assert_int_equal(json_integer_value(json_object_get(r, "attempted")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "rolledBack")), 1);
    json_decref(k);
    /* an empty window: every rate null, no percentile */
    assert_int_equal(fs_kpis_compute(s, T0 + 1000 * MIN, T0 + 2000 * MIN, &k, &err), 0);
    assert_true(json_is_null(json_object_get(json_object_get(k, "falseRemediation"), "rate")));
    assert_true(json_is_null(
        json_object_get(json_object_get(k, "timeToFirstUsefulAction"), "medianSeconds")));
    json_decref(k);
    fs_store_close(s);
}

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char p[200];
    static const char *const files[] = {"k.db", "k.db-wal", "k.db-shm"};
    for (size_t i = 0; i < FS_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kpis)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
