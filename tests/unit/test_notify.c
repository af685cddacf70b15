/* Unit tests for notifications: audit records mapped to notice events, the retry schedule,
 * the webhook signature against a fixed vector, PagerDuty Events v2 bodies through the dedup_key
 * lifecycle, HTTP status → retry/permanent, secret references resolved, the config lists in step
 * with the code, and the outbox in the store (idempotent queueing, per-incident order, refs). */
#include "unit.h"

#include <unistd.h>

#include "core/config.h"
#include "core/time.h"
#include "notify/notify.h"
#include "store/store.h"

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    if (!v)
        fail_msg("bad JSON in test: %s", text);
    return v;
}

static int map(const char *type, const char *data, const char **ev, int64_t *inc, int64_t *prop)
{
    json_t *d = J(data);
    int n = fs_notify_map_audit(type, d, ev, 2, inc, prop);
    json_decref(d);
    return n;
}

static void test_event_mapping(void **state)
{
    const char *ev[2];
    int64_t inc, prop;
    /* the gate asked for a person */
    assert_int_equal(
        map("decision", "{\"proposal\":\"prop-7\",\"status\":\"pending\"}", ev, &inc, &prop), 1);
    assert_string_equal(ev[0], "proposal_pending");
    assert_int_equal(prop, 7);
    /* the gate passed it: nobody needs to hear */
    assert_int_equal(
        map("decision", "{\"proposal\":\"prop-7\",\"status\":\"approved\"}", ev, &inc, &prop), 0);
    assert_int_equal(
        map("proposal", "{\"proposal\":\"prop-7\",\"incident\":\"inc-3\"}", ev, &inc, &prop), 0);
    const char *people[] = {"approval", "override", "rejection", "expiry"};
    for (size_t i = 0; i < FS_ARRAY_LEN(people); i++) {
        assert_int_equal(map(people[i], "{\"proposal\":\"prop-9\"}", ev, &inc, &prop), 1);
        assert_string_equal(ev[0], "decision");
        assert_int_equal(prop, 9);
    }
    assert_int_equal(
        map("execution", "{\"phase\":\"intent\",\"proposal\":\"prop-2\"}", ev, &inc, &prop), 0);
    assert_int_equal(
        map("execution", "{\"phase\":\"result\",\"proposal\":\"prop-2\"}", ev, &inc, &prop), 0);
    assert_int_equal(
        map("execution",
            "{\"phase\":\"verified\",\"proposal\":\"prop-2\",\"execution\":\"exec-4\"}", ev, &inc,
            &prop),
        1);
    assert_string_equal(ev[0], "execution");
    assert_int_equal(prop, 2);
    assert_int_equal(map("execution", "{\"phase\":\"rolled_back\",\"ok\":true}", ev, &inc, &prop),
                     1);
    assert_string_equal(ev[0], "execution");
    /* a verification failure without a rollback: the execution ended and it failed to verify */
    assert_int_equal(map("execution",
                         "{\"phase\":\"escalated\",\"outcome\":\"failed\",\"reason\":"
                         "\"verification failed: still 97% used\"}",
                         ev, &inc, &prop),
                     2);
    assert_string_equal(ev[0], "execution");
    assert_string_equal(ev[1], "verification_failed");
    /* with a rollback, the failure is told when the rollback starts */
    assert_int_equal(map("execution",
                         "{\"phase\":\"rollback_started\",\"reason\":\"verification failed: x\"}",
                         ev, &inc, &prop),
                     1);
    assert_string_equal(ev[0], "verification_failed");
    assert_int_equal(
        map("execution", "{\"phase\":\"rollback_started\",\"reason\":\"exit 1\"}", ev, &inc, &prop),
        0);
    assert_int_equal(
        map("execution", "{\"phase\":\"frozen\",\"outcome\":\"refused\"}", ev, &inc, &prop), 1);
    assert_string_equal(ev[0], "execution");
    assert_int_equal(map("incident",
                         "{\"incident\":\"inc-5\",\"from\":\"verifying\",\"to\":"
                         "\"resolved\"}",
                         ev, &inc, &prop),
                     1);
    assert_string_equal(ev[0], "resolution");
    assert_int_equal(inc, 5);
    assert_int_equal(
        map("incident", "{\"incident\":\"inc-5\",\"to\":\"escalated\"}", ev, &inc, &prop), 1);
    assert_string_equal(ev[0], "escalation");
    assert_int_equal(
        map("incident", "{\"incident\":\"inc-5\",\"to\":\"investigating\"}", ev, &inc, &prop), 0);
    assert_int_equal(map("mode", "{}", ev, &inc, &prop), 0);
    assert_int_equal(map("freeze", "{}", ev, &inc, &prop), 0);
}

static void test_backoff_schedule(void **state)
{
    /* no jitter: the lower half of each step; full jitter: the whole step; capped at max */
    int64_t lo[] = {500, 1000, 2000, 4000, 4000, 4000};
    int64_t hi[] = {1000, 2000, 4000, 8000, 8000, 8000};
    for (int a = 1; a <= 6; a++) {
        assert_int_equal(fs_notify_backoff_ms(a, 1000, 8000, 0.0), lo[a - 1]);
        int64_t h = fs_notify_backoff_ms(a, 1000, 8000, 0.999999);
        assert_true(h <= hi[a - 1] && h >= hi[a - 1] - 1);
        int64_t m = fs_notify_backoff_ms(a, 1000, 8000, 0.5);
        assert_true(m > lo[a - 1] && m < hi[a - 1]);
    }
    /* many attempts never overflow */
    assert_int_equal(fs_notify_backoff_ms(1000, 5000, 600000, 0.0), 300000);
}

static void test_webhook_signature(void **state)
{
    char sig[128];
    assert_int_equal(fs_webhook_signature("whsec_test_secret", 1700000000,
                                          "{\"event\":\"decision\"}", sig, sizeof(sig)),
                     0);
    /* python3: hmac.new(b"whsec_test_secret", b'1700000000.{"event":"decision"}', sha256) */
    assert_string_equal(sig, "t=1700000000,v1=40b05adcfdaec77c3602df2050e40c99c3bd413b821cb4cad42f"
                             "7785b82baa1a");
    char small[20];
    assert_true(fs_webhook_signature("k", 1, "b", small, sizeof(small)) < 0);
}

static void test_webhook_body(void **state)
{
    json_t *data = J("{\"incident\":{\"id\":\"inc-3\",\"title\":\"DiskFilling\"},\"decision\":"
                     "\"approved\",\"actor\":\"alice\"}");
    struct fs_notice n = {.id = 41,
                          .event = "decision",
                          .incident_id = 3,
                          .proposal_id = 8,
                          .data = data,
                          .link = "http://x/ui/#/incidents/inc-3",
                          .ref = NULL};
    json_t *b = fs_webhook_body(&n);
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(b, "id")), 41);
    assert_string_equal(json_string_value(json_object_get(b, "event")), "decision");
    assert_string_equal(json_string_value(json_object_get(b, "incidentId")), "inc-3");
    assert_string_equal(json_string_value(json_object_get(b, "proposalId")), "prop-8");
    assert_string_equal(json_string_value(json_object_get(b, "link")),
                        "http://x/ui/#/incidents/inc-3");
    assert_string_equal(json_string_value(json_object_get(b, "actor")), "alice");
    assert_non_null(strstr(json_string_value(json_object_get(b, "summary")), "approved by alice"));
    json_decref(b);
    json_decref(data);
}

static void test_pagerduty_bodies(void **state)
{
    json_t *data =
        J("{\"incident\":{\"id\":\"inc-12\",\"title\":\"DiskFilling on node1\","
          "\"severity\":\"critical\",\"labels\":{\"instance\":\"node1\"}},"
          "\"proposal\":{\"id\":\"prop-4\",\"action\":\"journal_vacuum\",\"score\":40}}");
    struct fs_notice n = {.id = 1,
                          .event = "proposal_pending",
                          .incident_id = 12,
                          .proposal_id = 4,
                          .data = data,
                          .link = "https://fs/ui/#/incidents/inc-12"};
    json_t *b = fs_pagerduty_body(&n, "R0UT1NGKEY0000000000000000000000");
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "routing_key")),
                        "R0UT1NGKEY0000000000000000000000");
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "trigger");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), "forestall-inc-12");
    json_t *p = json_object_get(b, "payload");
    const char *summary = json_string_value(json_object_get(p, "summary"));
    assert_non_null(summary);
    assert_true(strlen(summary) <= 1024);
    assert_non_null(strstr(summary, "journal_vacuum"));
    assert_string_equal(json_string_value(json_object_get(p, "source")), "node1");
    assert_string_equal(json_string_value(json_object_get(p, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(b, "client_url")),
                        "https://fs/ui/#/incidents/inc-12");
    json_decref(b);

    /* approval acknowledges, with the key PagerDuty returned (kept as ref) */
    json_object_set_new(data, "decision", json_string("approved"));
    n.event = "decision";
    n.ref = "forestall-inc-12";
    b = fs_pagerduty_body(&n, "k");
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "acknowledge");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), "forestall-inc-12");
    assert_null(json_object_get(b, "payload"));
    json_decref(b);
    /* a rejection does not page (the escalation that follows does) */
    json_object_set_new(data, "decision", json_string("rejected"));
    assert_null(fs_pagerduty_body(&n, "k"));
    n.event = "execution";
    assert_null(fs_pagerduty_body(&n, "k"));
    n.event = "resolution";
    b = fs_pagerduty_body(&n, "k");
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "resolve");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), "forestall-inc-12");
    json_decref(b);
    /* an unknown severity pages as a warning */
    json_object_set_new(json_object_get(data, "incident"), "severity", json_string("sev9"));
    n.event = "escalation";
    b = fs_pagerduty_body(&n, "k");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(b, "payload"), "severity")), "warning");
    json_decref(b);
    json_decref(data);
}

static void test_http_status(void **state)
{
    struct fs_notify_result r;
    struct fs_err err;
    memset(&r, 0, sizeof(r));
    assert_int_equal(fs_notify_http_status(202, NULL, &r, &err), 0);
    long retry[] = {408, 429, 500, 502, 503};
    for (size_t i = 0; i < FS_ARRAY_LEN(retry); i++) {
        memset(&r, 0, sizeof(r));
        assert_true(fs_notify_http_status(retry[i], "busy", &r, &err) < 0);
        assert_false(r.permanent);
    }
    long perm[] = {400, 401, 403, 404, 410};
    for (size_t i = 0; i < FS_ARRAY_LEN(perm); i++) {
        memset(&r, 0, sizeof(r));
        assert_true(fs_notify_http_status(perm[i], "{\"status\":\"invalid event\"}", &r, &err) < 0);
        assert_true(r.permanent);
        assert_non_null(strstr(r.error, "invalid event"));
    }
}

static void test_secrets_resolved(void **state)
{
    setenv("FORESTALL_TEST_HOOK_SECRET", "s3cr3t-value-for-tests", 1);
    char path[] = "/tmp/fs-notify-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-secret-123456\n", 19), 19);
    close(fd);
    char conf_text[400];
    snprintf(conf_text, sizeof(conf_text),
             "{\"url\":\"http://x\",\"secret\":{\"env\":\"FORESTALL_TEST_HOOK_SECRET\"},"
             "\"headers\":{\"Authorization\":{\"file\":\"%s\",\"prefix\":\"Bearer \"}}}",
             path);
    json_t *conf = J(conf_text), *out = NULL;
    struct fs_err err;
    assert_true(fs_notify_is_secret_ref(json_object_get(conf, "secret")));
    assert_false(fs_notify_is_secret_ref(json_object_get(conf, "url")));
    assert_int_equal(fs_notify_resolve_secrets(conf, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "secret")),
                        "s3cr3t-value-for-tests");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "headers"), "Authorization")),
        "Bearer file-secret-123456");
    /* the configuration itself still holds references only */
    assert_true(json_is_object(json_object_get(conf, "secret")));
    json_decref(out);
    unsetenv("FORESTALL_TEST_HOOK_SECRET");
    assert_true(fs_notify_resolve_secrets(conf, &out, &err) < 0);
    json_decref(conf);
    unlink(path);
}

/* The lists in core/config.h follow FS_NOTIFY_EVENTS and the kind table. */
static void test_config_lists_in_step(void **state)
{
    char want[300] = "";
#define EV_CAT(e, name)                                                                            \
    snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", want[0] ? "|" : "", name);
    FS_NOTIFY_EVENTS(EV_CAT)
#undef EV_CAT
    assert_string_equal(want, FS_CONFIG_NOTIFY_EVENTS);
    want[0] = '\0';
    for (size_t i = 0; fs_channel_kind_at(i); i++) {
        const struct fs_channel_kind *k = fs_channel_kind_at(i);
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", want[0] ? "|" : "",
                 k->type);
        assert_ptr_equal(fs_channel_kind_find(k->type), k);
        assert_non_null(k->check);
        assert_non_null(k->deliver);
    }
    assert_string_equal(want, FS_CONFIG_NOTIFY_TYPES);
    assert_null(fs_channel_kind_find("carrier_pigeon"));
}

struct probs {
    int n;
    char first[300];
};

static void rep(void *arg, const char *key, const char *msg)
{
    struct probs *p = arg;
    if (p->n++ == 0)
        snprintf(p->first, sizeof(p->first), "%s: %s", key, msg);
}

static void test_kind_checks(void **state)
{
    json_t *ok = J("{\"channels\":[{\"name\":\"h\",\"type\":\"webhook\",\"url\":\"https://h/x\","
                   "\"secret\":{\"env\":\"FORESTALL_H\"},\"headers\":{\"X-Team\":\"sre\"}},"
                   "{\"name\":\"pd\",\"type\":\"pagerduty\",\"routing_key\":{\"file\":\"/k\"}}]}");
    struct probs p = {0};
    assert_int_equal(fs_notify_check_config(ok, rep, &p), 0);
    json_decref(ok);
    json_t *bad = J("{\"channels\":[{\"name\":\"h\",\"type\":\"webhook\",\"url\":\"ftp://h\","
                    "\"secret\":\"plain\"}]}");
    memset(&p, 0, sizeof(p));
    assert_int_equal(fs_notify_check_config(bad, rep, &p), 2);
    assert_non_null(strstr(p.first, "notify.channels[0].url"));
    json_decref(bad);
    bad = J("{\"channels\":[{\"name\":\"pd\",\"type\":\"pagerduty\",\"routing_key\":\"abc\","
            "\"colour\":\"red\"}]}");
    memset(&p, 0, sizeof(p));
    assert_int_equal(fs_notify_check_config(bad, rep, &p), 2);
    json_decref(bad);
}

/* ---- the outbox in the store ---- */

static char dir[] = "/tmp/fs-notify-XXXXXX";

static struct fs_store *open_store(void)
{
    static char path[160];
    if (!path[0]) {
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/t.db", dir);
    }
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 100};
    struct fs_store *s = NULL;
    struct fs_err err;
    if (fs_store_open(&o, &s, &err) < 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static void insert(struct fs_store *s, const char *ch, const char *ev, int64_t seq, int64_t inc,
                   int64_t prop, int64_t next_at, bool want_inserted)
{
    struct fs_err err;
    struct fs_delivery_row r = {.channel = ch,
                                .event = ev,
                                .audit_seq = seq,
                                .incident_id = inc,
                                .proposal_id = prop,
                                .notice = "{\"a\":1}",
                                .created_at = 1000,
                                .next_at = next_at};
    bool inserted = !want_inserted;
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(fs_store_delivery_insert(s, &r, &inserted, &err), 0);
    assert_int_equal(fs_store_commit(s, &err), 0);
    assert_int_equal(inserted, want_inserted);
}

static void test_outbox_store(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    assert_int_equal(fs_store_schema_version(s), FS_STORE_SCHEMA_VERSION);
    int64_t seq = -1;
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(fs_store_notify_cursor_get(s, &seq, &err), 0);
    assert_int_equal(fs_store_notify_cursor_set(s, 42, 1000, &err), 0);
    assert_int_equal(fs_store_notify_cursor_get(s, &seq, &err), 1);
    assert_int_equal(fs_store_commit(s, &err), 0);
    assert_int_equal(seq, 42);

    insert(s, "hook", "proposal_pending", 10, 3, 7, 1000, true);
    insert(s, "hook", "proposal_pending", 10, 3, 7, 1000, false); /* queued once */
    insert(s, "pd", "proposal_pending", 10, 3, 7, 1000, true);
    insert(s, "hook", "decision", 11, 3, 7, 1000, true);
    insert(s, "hook", "resolution", 12, 4, 0, 5000, true);

    json_t *due = NULL;
    assert_int_equal(fs_store_deliveries_due(s, "hook", 2000, 10, &due, &err), 0);
    /* inc-3's decision waits for its proposal_pending; inc-4's is not due yet */
    assert_int_equal(json_array_size(due), 1);
    json_t *first = json_array_get(due, 0);
    int64_t id1 = json_integer_value(json_object_get(first, "id"));
    assert_string_equal(json_string_value(json_object_get(first, "event")), "proposal_pending");
    assert_int_equal(json_integer_value(json_object_get(first, "incidentId")), 3);
    assert_int_equal(json_integer_value(json_object_get(first, "proposalId")), 7);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "notice"), "a")), 1);
    json_decref(due);

    int64_t next = 0;
    assert_int_equal(fs_store_delivery_next_at(s, "hook", &next, &err), 1);
    assert_int_equal(next, 1000);
    assert_int_equal(fs_store_delivery_next_at(s, "nobody", &next, &err), 0);

    /* a failed attempt keeps the order: still nothing else of inc-3 is due */
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(
        fs_store_delivery_update(s, id1, "pending", 1, 3000, "HTTP 500", NULL, FS_TIME_UNSET, &err),
        0);
    assert_int_equal(fs_store_commit(s, &err), 0);
    assert_int_equal(fs_store_deliveries_due(s, "hook", 2000, 10, &due, &err), 0);
    assert_int_equal(json_array_size(due), 0);
    json_decref(due);
    char *ref = NULL;
    assert_int_equal(fs_store_delivery_ref(s, "hook", 3, &ref, &err), 0);

    /* sent, with a reference; the next of inc-3 is due and sees the reference */
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(
        fs_store_delivery_update(s, id1, "sent", 2, 3000, NULL, "1700000000.000100", 3000, &err),
        0);
    assert_int_equal(fs_store_commit(s, &err), 0);
    assert_int_equal(fs_store_deliveries_due(s, "hook", 6000, 10, &due, &err), 0);
    assert_int_equal(json_array_size(due), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(due, 0), "event")),
                        "decision");
    json_decref(due);
    assert_int_equal(fs_store_delivery_ref(s, "hook", 3, &ref, &err), 1);
    assert_string_equal(ref, "1700000000.000100");
    free(ref);

    json_t *row = NULL;
    assert_int_equal(fs_store_notification_by_ref(s, "hook", "1700000000.000100", &row, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "proposalId")), 7);
    assert_int_equal(json_integer_value(json_object_get(row, "incidentId")), 3);
    assert_string_equal(json_string_value(json_object_get(row, "event")), "proposal_pending");
    json_decref(row);
    assert_int_equal(fs_store_notification_by_ref(s, "pd", "1700000000.000100", &row, &err),
                     -FS_E_NOT_FOUND);

    json_t *counts = NULL;
    assert_int_equal(fs_store_deliveries_counts(s, &counts, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(counts, "hook"), "sent")),
                     1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(counts, "hook"), "pending")), 2);
    json_decref(counts);
    json_t *list = NULL;
    assert_int_equal(fs_store_deliveries_list(s, 3, 0, &list, &err), 0);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
    fs_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_mapping),     cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_webhook_signature), cmocka_unit_test(test_webhook_body),
        cmocka_unit_test(test_pagerduty_bodies),  cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_secrets_resolved),  cmocka_unit_test(test_config_lists_in_step),
        cmocka_unit_test(test_kind_checks),       cmocka_unit_test(test_outbox_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
