/* test_parsers: the four intake parsers (Alertmanager, Grafana, generic events, Alertmanager
 * API) — real bodies parse to the right normalized alerts, and every rejection names its code
 * and JSON path. Tests only; no parser logic lives here. */
#include "unit.h"

#include <jansson.h>

#include "core/fault.h"
#include "core/time.h"
#include "incidents/alert.h"

#define NOW_MS 1795258000000LL /* 2026-11-21T10:46:40Z */

static const struct fs_parse_limits LIM = {.max_depth = 32, .max_alerts = 1000, .now_ms = NOW_MS};

typedef int (*parse_fn)(const char *, size_t, const struct fs_parse_limits *,
                        struct fs_alert_batch *, struct fs_err *);

/* The body a real Alertmanager 0.25 posted (docs: test-peers.md). */
static const char AM_REAL[] =
    "{\"receiver\":\"sre-agent\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
    "\"labels\":{\"alertname\":\"TestDiskUsageWarning\",\"instance\":\"127.0.0.1:9100\","
    "\"job\":\"node\",\"mountpoint\":\"/data\",\"severity\":\"warning\"},\"annotations\":"
    "{\"runbook_url\":\"http://127.0.0.1/runbooks/disk\",\"summary\":\"Disk usage 92% on "
    "127.0.0.1:9100 (mount /data)\"},\"startsAt\":\"2026-11-21T10:43:25.506Z\",\"endsAt\":"
    "\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://vm:9090/graph?g0.expr="
    "sre_test_disk_used_percent+%3E+80\\u0026g0.tab=1\",\"fingerprint\":\"b60accbc9693d90c\"}],"
    "\"groupLabels\":{\"alertname\":\"TestDiskUsageWarning\"},\"commonLabels\":{\"alertname\":"
    "\"TestDiskUsageWarning\",\"instance\":\"127.0.0.1:9100\",\"job\":\"node\",\"mountpoint\":"
    "\"/data\",\"severity\":\"warning\"},\"commonAnnotations\":{\"runbook_url\":"
    "\"http://127.0.0.1/runbooks/disk\",\"summary\":\"Disk usage 92% on 127.0.0.1:9100 (mount "
    "/data)\"},\"externalURL\":\"http://vm:9093\",\"version\":\"4\",\"groupKey\":"
    "\"{}:{alertname=\\\"TestDiskUsageWarning\\\"}\",\"truncatedAlerts\":0}";

static const char GRAFANA_EXAMPLE[] =
    "{\"receiver\":\"My Webhook\",\"status\":\"firing\",\"orgId\":1,\"alerts\":[{"
    "\"status\":\"firing\",\"labels\":{\"alertname\":\"High CPU\",\"grafana_folder\":\"Infra\","
    "\"instance\":\"node1\"},\"annotations\":{\"summary\":\"CPU above 40%\"},"
    "\"startsAt\":\"2026-08-01T10:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"https://grafana/alerting/grafana/abc/view?orgId=1\","
    "\"fingerprint\":\"C6EADFFA33FCDF37\","
    "\"silenceURL\":\"https://grafana/alerting/silence/new?alertmanager=grafana\","
    "\"dashboardURL\":\"https://grafana/d/abc?orgId=1\",\"panelURL\":\"https://grafana/d/abc?"
    "viewPanel=4\",\"values\":{\"B\":44.24,\"C\":1,\"D\":null},\"valueString\":\"[ var='B' "
    "value=44.24 ]\",\"orgId\":1}],\"groupLabels\":{\"alertname\":\"High CPU\"},"
    "\"commonLabels\":{\"alertname\":\"High CPU\"},\"commonAnnotations\":{},"
    "\"externalURL\":\"https://grafana/\",\"version\":\"1\",\"groupKey\":\"{}:{alertname=\\\"High "
    "CPU\\\"}\",\"truncatedAlerts\":2,\"title\":\"[FIRING:1] High CPU\",\"state\":\"alerting\","
    "\"message\":\"rendered\"}";

static int parse(parse_fn fn, const char *body, struct fs_alert_batch *b, struct fs_err *err)
{
    memset(err, 0, sizeof(*err));
    return fn(body, strlen(body), &LIM, b, err);
}

static const char *label(const struct fs_alert *a, const char *name)
{
    return json_string_value(json_object_get(a->labels, name));
}

static const char *extra_str(const struct fs_alert *a, const char *name)
{
    return json_string_value(json_object_get(a->extra, name));
}

static void assert_empty_batch(const struct fs_alert_batch *b)
{
    assert_null(b->root);
    assert_null(b->alerts);
    assert_int_equal(b->n, 0);
    assert_string_equal(b->event_id, "");
}

/* A rejection: code, path, and a message that starts with the path (when there is one) and
 * contains want_msg. */
static void expect_fail(parse_fn fn, const char *body, enum fs_errcode code, const char *path,
                        const char *want_msg)
{
    struct fs_alert_batch b;
    struct fs_err err;
    int rc = parse(fn, body, &b, &err);
    if (rc != -(int)code || strcmp(err.path, path) != 0 || !strstr(err.msg, want_msg))
        print_error("body: %s\n got rc=%d code=%s path='%s' msg='%s'\n want %s '%s' ~'%s'\n", body,
                    rc, fs_err_name(err.code), err.path, err.msg, fs_err_name(code), path,
                    want_msg);
    assert_int_equal(rc, -(int)code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.path, path);
    assert_non_null(strstr(err.msg, want_msg));
    if (*path)
        assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
    assert_empty_batch(&b);
}

/* ---- fingerprints ---- */

static void test_fingerprint_matches_alertmanager(void **state)
{
    (void)state;
    json_t *labels =
        json_pack("{ssssssssss}", "alertname", "TestDiskUsageWarning", "instance", "127.0.0.1:9100",
                  "job", "node", "mountpoint", "/data", "severity", "warning");
    assert_non_null(labels);
    char fp[17];
    fs_alert_fingerprint(labels, fp);
    assert_string_equal(fp, "b60accbc9693d90c"); /* what Alertmanager 0.25 sent */
    json_decref(labels);

    /* the empty label set hashes to the FNV-1a offset basis, as model.LabelSet does */
    json_t *none = json_object();
    fs_alert_fingerprint(none, fp);
    assert_string_equal(fp, "cbf29ce484222325");
    json_decref(none);
}

/* ---- Alertmanager ---- */

static void test_am_real_body(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(parse(fs_parse_alertmanager, AM_REAL, &b, &err), 0);
    assert_int_equal(b.source, FS_SRC_ALERTMANAGER);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.truncated, 0);
    assert_string_equal(b.event_id, "");
    const struct fs_alert *a = &b.alerts[0];
    assert_int_equal(a->status, FS_ALERT_FIRING);
    assert_string_equal(a->fingerprint, "b60accbc9693d90c");
    assert_true(a->starts_known);
    assert_true(a->starts_at == 1795257805506LL);
    assert_true(a->ends_at == FS_TIME_UNSET);
    assert_true(a->has_severity);
    assert_int_equal(a->severity, FS_SEV_WARNING);
    assert_int_equal(json_object_size(a->labels), 5);
    assert_string_equal(label(a, "mountpoint"), "/data");
    assert_string_equal(json_string_value(json_object_get(a->annotations, "summary")),
                        "Disk usage 92% on 127.0.0.1:9100 (mount /data)");
    assert_string_equal(extra_str(a, "generatorURL"),
                        "http://vm:9090/graph?g0.expr=sre_test_disk_used_percent+%3E+80&g0.tab=1");
    fs_alert_batch_release(&b);
    assert_null(b.root);
}

static void test_am_computes_missing_fingerprint(void **state)
{
    (void)state;
    const char *body =
        "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"severity\":\"warning\",\"job\":\"node\","
        "\"mountpoint\":\"/data\",\"instance\":\"127.0.0.1:9100\",\"alertname\":"
        "\"TestDiskUsageWarning\"},\"startsAt\":\"2026-11-21T10:43:25.506Z\"}]}";
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(parse(fs_parse_alertmanager, body, &b, &err), 0);
    assert_string_equal(b.alerts[0].fingerprint, "b60accbc9693d90c");
    assert_int_equal(json_object_size(b.alerts[0].annotations), 0);
    assert_int_equal(json_object_size(b.alerts[0].extra), 0);
    fs_alert_batch_release(&b);
}

static void test_am_resolved_and_drift(void **state)
{
    (void)state;
    const char *body =
        "{\"version\":\"4\",\"status\":\"resolved\",\"notification_reason\":\"some alerts "
        "resolved\",\"routeLabels\":{\"team\":\"sre\"},\"truncatedAlerts\":3,\"alerts\":["
        "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"A\",\"severity\":\"page\"},"
        "\"startsAt\":\"2026-08-01T10:00:00Z\",\"endsAt\":\"2026-08-01T10:05:00Z\","
        "\"fingerprint\":\"C6EADFFA33FCDF37\",\"futureField\":[1,2]},"
        "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"B\",\"severity\":\"bogus\"},"
        "\"startsAt\":\"2026-08-01T12:00:00+02:00\",\"endsAt\":\"0001-01-01T00:00:00Z\"},"
        "{\"status\":\"firing\",\"labels\":{\"alertname\":\"C\"},"
        "\"startsAt\":\"2026-08-01T10:00:00.123456789Z\"}]}";
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(parse(fs_parse_alertmanager, body, &b, &err), 0);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.truncated, 3);
    assert_int_equal(b.alerts[0].status, FS_ALERT_RESOLVED);
    assert_true(b.alerts[0].ends_at == 1785578700000LL);
    assert_string_equal(b.alerts[0].fingerprint, "c6eadffa33fcdf37");
    assert_true(b.alerts[0].has_severity);
    assert_int_equal(b.alerts[0].severity, FS_SEV_CRITICAL);
    /* resolved without an end: the receipt time */
    assert_true(b.alerts[1].ends_at == NOW_MS);
    assert_true(b.alerts[1].starts_at == 1785578400000LL);
    assert_false(b.alerts[1].has_severity);
    assert_false(b.alerts[2].has_severity);
    assert_true(b.alerts[2].starts_at == 1785578400123LL);
    assert_true(b.alerts[2].ends_at == FS_TIME_UNSET);
    fs_alert_batch_release(&b);
}

static void test_am_empty_alerts(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(parse(fs_parse_alertmanager, "{\"alerts\":[]}", &b, &err), 0);
    assert_int_equal(b.n, 0);
    fs_alert_batch_release(&b);
}

#define A0(fields) "{\"alerts\":[{" fields "}]}"
#define OK_LABELS "\"labels\":{\"alertname\":\"X\"}"
#define OK_START "\"startsAt\":\"2026-08-01T10:00:00Z\""

static void test_am_rejections(void **state)
{
    (void)state;
    const enum fs_errcode P = FS_E_INVALID_PAYLOAD;
    parse_fn f = fs_parse_alertmanager;
    expect_fail(f, "[]", P, "", "expected object, got array");
    expect_fail(f, "\"x\"", P, "", "expected object, got string");
    expect_fail(f, "", FS_E_INVALID_JSON, "", "empty");
    expect_fail(f, "{\"alerts\":[", FS_E_INVALID_JSON, "", "ends early");
    expect_fail(f, "{}", P, "alerts", "alerts: required field is missing");
    expect_fail(f, "{\"alerts\":{}}", P, "alerts", "alerts: expected array, got object");
    expect_fail(f,
                "{\"alerts\":[{\"status\":\"firing\"," OK_LABELS "," OK_START "},"
                "{\"status\":\"firing\"," OK_LABELS "," OK_START "},"
                "{\"status\":\"firing\",\"labels\":\"a=b\"," OK_START "}]}",
                P, "alerts[2].labels", "alerts[2].labels: expected object, got string");
    expect_fail(f, "{\"alerts\":[42]}", P, "alerts[0]", "alerts[0]: expected object, got number");
    expect_fail(f, A0(OK_LABELS "," OK_START), P, "alerts[0].status", "required field is missing");
    expect_fail(f, A0("\"status\":\"pending\"," OK_LABELS "," OK_START), P, "alerts[0].status",
                "expected \"firing\" or \"resolved\", got \"pending\"");
    expect_fail(f, A0("\"status\":\"firing\"," OK_START), P, "alerts[0].labels",
                "required field is missing");
    expect_fail(f, A0("\"status\":\"firing\",\"labels\":{}," OK_START), P, "alerts[0].labels",
                "must not be empty");
    expect_fail(f, A0("\"status\":\"firing\",\"labels\":{\"a\":\"b\",\"job\":7}," OK_START), P,
                "alerts[0].labels.job", "expected string, got number");
    expect_fail(f, A0("\"status\":\"firing\",\"labels\":{\"\":\"b\"}," OK_START), P,
                "alerts[0].labels[\"\"]", "must not be empty");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS ",\"annotations\":[]," OK_START), P,
                "alerts[0].annotations", "expected object, got array");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS ",\"annotations\":{\"s\":null}," OK_START),
                P, "alerts[0].annotations.s", "expected string, got null");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS), P, "alerts[0].startsAt",
                "required field is missing");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS ",\"startsAt\":\"0001-01-01T00:00:00Z\""),
                P, "alerts[0].startsAt", "must be set");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS ",\"startsAt\":\"yesterday\""), P,
                "alerts[0].startsAt", "RFC 3339");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS ",\"startsAt\":1785578400"), P,
                "alerts[0].startsAt", "expected string, got number");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS ",\"startsAt\":\"2026-02-30T10:00:00Z\""),
                P, "alerts[0].startsAt", "RFC 3339");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"endsAt\":\"soon\""), P,
                "alerts[0].endsAt", "RFC 3339");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"fingerprint\":\"abc\""),
                P, "alerts[0].fingerprint", "expected 16 hex digits, got \"abc\"");
    expect_fail(
        f,
        A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"fingerprint\":\"b60accbc9693d90g\""),
        P, "alerts[0].fingerprint", "16 hex digits");
    expect_fail(f,
                A0("\"status\":\"firing\"," OK_LABELS "," OK_START
                   ",\"fingerprint\":\"b60accbc9693d90c0\""),
                P, "alerts[0].fingerprint", "16 hex digits");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"generatorURL\":false"), P,
                "alerts[0].generatorURL", "expected string, got boolean");
    expect_fail(f, "{\"alerts\":[],\"truncatedAlerts\":-1}", P, "truncatedAlerts", "negative");
    expect_fail(f, "{\"alerts\":[],\"truncatedAlerts\":\"0\"}", P, "truncatedAlerts",
                "expected integer, got string");
    expect_fail(f, "{\"alerts\":[],\"truncatedAlerts\":1.5}", P, "truncatedAlerts",
                "expected integer");
    expect_fail(f, "{\"alerts\":[],\"receiver\":7}", P, "receiver", "expected string, got number");
    expect_fail(f, "{\"alerts\":[],\"groupKey\":null}", P, "groupKey", "expected string, got null");
    expect_fail(f, "{\"alerts\":[],\"groupLabels\":[]}", P, "groupLabels",
                "expected object, got array");
    expect_fail(f, "{\"alerts\":[],\"commonLabels\":{\"a\":1}}", P, "commonLabels.a",
                "expected string, got number");
    expect_fail(f, "{\"alerts\":[],\"version\":4}", P, "version", "expected string, got number");
}

static void test_am_version_mismatch(void **state)
{
    (void)state;
    expect_fail(fs_parse_alertmanager, GRAFANA_EXAMPLE, FS_E_INVALID_PAYLOAD, "version",
                "/api/v1/alerts/grafana");
    expect_fail(fs_parse_alertmanager, "{\"version\":\"3\",\"alerts\":[]}", FS_E_INVALID_PAYLOAD,
                "version", "expected \"4\"");
    expect_fail(fs_parse_grafana, AM_REAL, FS_E_INVALID_PAYLOAD, "version",
                "expected \"1\" (Grafana webhook), got \"4\"");
}

static void test_too_many(void **state)
{
    (void)state;
    struct fs_parse_limits lim = LIM;
    lim.max_alerts = 2;
    const char *body = "{\"alerts\":[{},{},{}]}";
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(fs_parse_alertmanager(body, strlen(body), &lim, &b, &err), -FS_E_TOO_MANY);
    assert_string_equal(err.path, "alerts");
    assert_non_null(strstr(err.msg, "3 alerts, more than the limit of 2"));
    assert_empty_batch(&b);
    assert_int_equal(fs_parse_grafana(body, strlen(body), &lim, &b, &err), -FS_E_TOO_MANY);
    body = "{\"events\":[{},{},{}]}";
    assert_int_equal(fs_parse_event(body, strlen(body), &lim, &b, &err), -FS_E_TOO_MANY);
    assert_string_equal(err.path, "events");
    body = "[{},{},{}]";
    assert_int_equal(fs_parse_am_api_alerts(body, strlen(body), &lim, &b, &err), -FS_E_TOO_MANY);
    assert_string_equal(err.path, "");
    assert_empty_batch(&b);
}

static void test_json_level_rejections(void **state)
{
    (void)state;
    char deep[200];
    size_t n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"alerts\":", 9);
    n += 9;
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    for (int i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    expect_fail(fs_parse_alertmanager, deep, FS_E_TOO_DEEP, "", "deeper than 32");
    expect_fail(fs_parse_alertmanager, "{\"alerts\":[],\"receiver\":\"\xff\"}", FS_E_INVALID_UTF8,
                "", "UTF-8");
    expect_fail(fs_parse_alertmanager, "{\"alerts\":[],\"receiver\":\"a\\u0000b\"}",
                FS_E_INVALID_JSON, "", "\\u0000");
    expect_fail(fs_parse_alertmanager, "{\"alerts\":[],\"alerts\":[]}", FS_E_INVALID_JSON, "",
                "duplicate");
    expect_fail(fs_parse_event, "{\"type\":\"a.b\",\"data\":{\"n\":1e999}}", FS_E_INVALID_JSON, "",
                "invalid JSON");
}

/* ---- Grafana ---- */

static void test_grafana_example(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(parse(fs_parse_grafana, GRAFANA_EXAMPLE, &b, &err), 0);
    assert_int_equal(b.source, FS_SRC_GRAFANA);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.truncated, 2);
    const struct fs_alert *a = &b.alerts[0];
    assert_string_equal(a->fingerprint, "c6eadffa33fcdf37");
    assert_true(a->starts_at == 1785578400000LL);
    assert_true(a->ends_at == FS_TIME_UNSET);
    assert_false(a->has_severity);
    assert_string_equal(label(a, "grafana_folder"), "Infra");
    assert_string_equal(extra_str(a, "silenceURL"),
                        "https://grafana/alerting/silence/new?alertmanager=grafana");
    assert_string_equal(extra_str(a, "panelURL"), "https://grafana/d/abc?viewPanel=4");
    assert_string_equal(extra_str(a, "dashboardURL"), "https://grafana/d/abc?orgId=1");
    assert_non_null(extra_str(a, "generatorURL"));
    assert_non_null(extra_str(a, "valueString"));
    assert_null(json_object_get(a->extra, "imageURL"));
    json_t *values = json_object_get(a->extra, "values");
    assert_true(json_is_object(values));
    assert_true(json_real_value(json_object_get(values, "B")) == 44.24);
    assert_true(json_is_null(json_object_get(values, "D")));
    assert_int_equal(json_integer_value(json_object_get(a->extra, "orgId")), 1);
    fs_alert_batch_release(&b);
}

static void test_grafana_rejections(void **state)
{
    (void)state;
    const enum fs_errcode P = FS_E_INVALID_PAYLOAD;
    parse_fn f = fs_parse_grafana;
    expect_fail(f, "{\"version\":\"1\",\"alerts\":[],\"orgId\":\"1\"}", P, "orgId",
                "expected integer, got string");
    expect_fail(f, "{\"alerts\":[],\"state\":1}", P, "state", "expected string");
    expect_fail(f, "{\"alerts\":[],\"title\":[]}", P, "title", "expected string");
    expect_fail(f, "{\"alerts\":[],\"message\":{}}", P, "message", "expected string");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"values\":[1]"), P,
                "alerts[0].values", "expected object, got array");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"values\":{\"B\":\"1\"}"),
                P, "alerts[0].values.B", "expected number or null, got string");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"silenceURL\":1"), P,
                "alerts[0].silenceURL", "expected string");
    expect_fail(f, A0("\"status\":\"firing\"," OK_LABELS "," OK_START ",\"orgId\":1.5"), P,
                "alerts[0].orgId", "expected integer");
    expect_fail(f, A0("\"status\":\"resolved\",\"labels\":[]," OK_START), P, "alerts[0].labels",
                "expected object, got array");
}

/* ---- generic events ---- */

static void expect_event(const char *body, struct fs_alert_batch *b)
{
    struct fs_err err;
    int rc = parse(fs_parse_event, body, b, &err);
    if (rc != 0)
        print_error("body: %s\n rc=%d path='%s' msg='%s'\n", body, rc, err.path, err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(b->source, FS_SRC_EVENT);
}

/* The fingerprint is the one of the final labels, and labels hold exactly want (NULL-ended
 * name, value pairs). */
static void expect_labels(const struct fs_alert *a, const char *const *want)
{
    size_t n = 0;
    for (; want[n * 2]; n++)
        assert_string_equal(label(a, want[n * 2]), want[n * 2 + 1]);
    assert_int_equal(json_object_size(a->labels), n);
    char fp[17];
    fs_alert_fingerprint(a->labels, fp);
    assert_string_equal(a->fingerprint, fp);
}

static const char *summary(const struct fs_alert *a)
{
    return json_string_value(json_object_get(a->annotations, "summary"));
}

static void test_event_provider_unhealthy(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    expect_event("{\"type\":\"provider.unhealthy\",\"id\":\"evt-42:a.b_c\",\"data\":{"
                 "\"provider\":\"openai\",\"error_rate\":0.31,\"requests\":120,\"window_s\":300,"
                 "\"region\":\"eu\"}}",
                 &b);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.event_id, "evt-42:a.b_c");
    const struct fs_alert *a = &b.alerts[0];
    static const char *const want[] = {
        "alertname", "provider.unhealthy", "provider", "openai", "severity", "warning", NULL};
    expect_labels(a, want);
    assert_int_equal(a->status, FS_ALERT_FIRING);
    assert_true(a->has_severity);
    assert_int_equal(a->severity, FS_SEV_WARNING);
    assert_false(a->starts_known);
    assert_true(a->starts_at == NOW_MS);
    assert_true(a->ends_at == FS_TIME_UNSET);
    assert_string_equal(summary(a), "provider openai error rate 31% over 300s (120 requests)");
    assert_string_equal(extra_str(a, "type"), "provider.unhealthy");
    assert_string_equal(extra_str(a, "id"), "evt-42:a.b_c");
    assert_null(json_object_get(a->extra, "occurred_at"));
    json_t *data = json_object_get(a->extra, "data");
    assert_string_equal(json_string_value(json_object_get(data, "region")), "eu");
    fs_alert_batch_release(&b);
}

static void test_event_budget_exceeded(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    expect_event("{\"type\":\"budget.exceeded\",\"occurred_at\":\"2026-11-21T09:00:00Z\","
                 "\"data\":{\"scope\":\"team\",\"name\":\"ml-research\",\"limit_kind\":\"hard\","
                 "\"limit\":1000,\"spent\":1250.5,\"currency\":\"USD\"}}",
                 &b);
    const struct fs_alert *a = &b.alerts[0];
    static const char *const want[] = {"alertname", "budget.exceeded", "scope",      "team",
                                       "team",      "ml-research",     "limit_kind", "hard",
                                       "severity",  "critical",        NULL};
    expect_labels(a, want);
    assert_int_equal(a->severity, FS_SEV_CRITICAL);
    assert_true(a->starts_at == 1795251600000LL);
    assert_false(a->starts_known);
    assert_string_equal(summary(a),
                        "team ml-research exceeded its hard budget: spent 1250.5 of 1000 USD");
    fs_alert_batch_release(&b);

    /* soft → warning; org scope labels org=name; an explicit severity wins */
    expect_event("{\"type\":\"budget.exceeded\",\"data\":{\"scope\":\"org\",\"name\":\"acme\","
                 "\"limit_kind\":\"soft\",\"limit\":0,\"spent\":0}}",
                 &b);
    static const char *const want2[] = {
        "alertname", "budget.exceeded", "scope",   "org", "org", "acme", "limit_kind",
        "soft",      "severity",        "warning", NULL};
    expect_labels(&b.alerts[0], want2);
    fs_alert_batch_release(&b);
    expect_event("{\"type\":\"budget.exceeded\",\"severity\":\"info\",\"data\":{\"scope\":\"org\","
                 "\"name\":\"acme\",\"limit_kind\":\"hard\",\"limit\":5,\"spent\":6}}",
                 &b);
    assert_int_equal(b.alerts[0].severity, FS_SEV_INFO);
    assert_string_equal(label(&b.alerts[0], "severity"), "info");
    fs_alert_batch_release(&b);
}

static void test_event_sla_violation(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    expect_event("{\"type\":\"sla.violation\",\"status\":\"resolved\","
                 "\"started_at\":\"2026-11-21T09:00:00Z\",\"occurred_at\":\"2026-11-21T10:00:00Z\","
                 "\"labels\":{\"env\":\"prod\"},\"data\":{\"sla\":\"gold\",\"metric\":"
                 "\"p95_latency\",\"target\":1500,\"observed\":2300,\"provider\":\"anthropic\","
                 "\"model_group\":\"claude\"}}",
                 &b);
    const struct fs_alert *a = &b.alerts[0];
    static const char *const want[] = {"alertname", "sla.violation", "sla",      "gold",
                                       "metric",    "p95_latency",   "severity", "warning",
                                       "env",       "prod",          NULL};
    expect_labels(a, want);
    assert_int_equal(a->status, FS_ALERT_RESOLVED);
    assert_true(a->starts_known);
    assert_true(a->starts_at == 1795251600000LL);
    assert_true(a->ends_at == 1795255200000LL); /* resolved: ends at occurred_at */
    assert_string_equal(summary(a), "SLA gold p95_latency breached: observed 2300, target 1500 "
                                    "(provider anthropic, model group claude)");
    fs_alert_batch_release(&b);
}

static void test_event_latency_spike(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    const char *body = "{\"type\":\"latency.spike\",\"summary\":\"given\",\"data\":{\"provider\":"
                       "\"openai\",\"observed_ms\":4500,\"baseline_ms\":1500}}";
    expect_event(body, &b);
    const struct fs_alert *a = &b.alerts[0];
    static const char *const want[] = {"alertname", "latency.spike", "provider", "openai",
                                       "severity",  "warning",       NULL};
    expect_labels(a, want);
    assert_string_equal(summary(a), "given");
    json_t *xdata = json_object_get(a->extra, "data");
    assert_true(json_real_value(json_object_get(xdata, "ratio")) == 3.0);
    /* the payload itself is left as sent */
    json_t *payload = json_object_get(b.root, "payload");
    assert_null(json_object_get(json_object_get(payload, "data"), "ratio"));
    fs_alert_batch_release(&b);

    expect_event("{\"type\":\"latency.spike\",\"data\":{\"provider\":\"openai\",\"observed_ms\":"
                 "4500,\"baseline_ms\":1500,\"ratio\":2.5}}",
                 &b);
    assert_string_equal(summary(&b.alerts[0]),
                        "provider openai latency 4500ms, 2.5x the 1500ms baseline");
    fs_alert_batch_release(&b);
}

static void test_event_custom(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    expect_event("{\"type\":\"deploy.rollout_failed\",\"labels\":{\"service\":\"api\"},"
                 "\"annotations\":{\"runbook_url\":\"http://x\",\"summary\":\"from annotations\"},"
                 "\"ends_at\":\"0001-01-01T00:00:00Z\"}",
                 &b);
    const struct fs_alert *a = &b.alerts[0];
    static const char *const want[] = {"alertname", "deploy.rollout_failed", "service", "api",
                                       NULL};
    expect_labels(a, want);
    assert_false(a->has_severity);
    assert_null(json_object_get(a->extra, "data"));
    assert_string_equal(summary(a), "from annotations");
    assert_string_equal(json_string_value(json_object_get(a->annotations, "runbook_url")),
                        "http://x");
    assert_true(a->ends_at == FS_TIME_UNSET);
    fs_alert_batch_release(&b);

    expect_event("{\"type\":\"a.b.c9_x\",\"severity\":\"critical\",\"data\":{\"anything\":[1]}}",
                 &b);
    assert_true(b.alerts[0].has_severity);
    assert_int_equal(b.alerts[0].severity, FS_SEV_CRITICAL);
    assert_string_equal(label(&b.alerts[0], "severity"), "critical");
    assert_string_equal(summary(&b.alerts[0]), "a.b.c9_x");
    fs_alert_batch_release(&b);
}

static void test_event_batch(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    expect_event("{\"id\":\"batch-1\",\"events\":["
                 "{\"type\":\"provider.unhealthy\",\"id\":\"e1\",\"data\":{\"provider\":\"a\","
                 "\"error_rate\":1}},"
                 "{\"type\":\"provider.unhealthy\",\"id\":\"e2\",\"data\":{\"provider\":\"b\","
                 "\"error_rate\":0}},"
                 "{\"type\":\"x.y\"}]}",
                 &b);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.event_id, "batch-1");
    assert_string_equal(extra_str(&b.alerts[0], "id"), "e1");
    assert_string_equal(extra_str(&b.alerts[1], "id"), "e2");
    assert_null(extra_str(&b.alerts[2], "id"));
    assert_string_not_equal(b.alerts[0].fingerprint, b.alerts[1].fingerprint);
    assert_string_equal(summary(&b.alerts[0]), "provider a error rate 100%");
    fs_alert_batch_release(&b);

    expect_event("{\"events\":[]}", &b);
    assert_int_equal(b.n, 0);
    assert_string_equal(b.event_id, "");
    fs_alert_batch_release(&b);
}

#define PU(data) "{\"type\":\"provider.unhealthy\",\"data\":{\"provider\":\"p\"," data "}}"
#define PUX(extra)                                                                                 \
    "{\"type\":\"provider.unhealthy\"," extra ",\"data\":{\"provider\":\"p\","                     \
    "\"error_rate\":0.5}}"

static void test_event_rejections(void **state)
{
    (void)state;
    const enum fs_errcode P = FS_E_INVALID_PAYLOAD;
    parse_fn f = fs_parse_event;
    expect_fail(f, "[]", P, "", "expected object, got array");
    expect_fail(f, "{}", P, "type", "required field is missing");
    expect_fail(f, "{\"type\":7}", P, "type", "expected string, got number");
    expect_fail(f, "{\"type\":\"Provider.Unhealthy\"}", P, "type", "custom type");
    expect_fail(f, "{\"type\":\"deploy\"}", P, "type", "got \"deploy\"");
    expect_fail(f, "{\"type\":\"deploy.\"}", P, "type", "custom type");
    expect_fail(f, "{\"type\":\"a..b\"}", P, "type", "custom type");
    expect_fail(f, "{\"type\":\"1a.b\"}", P, "type", "custom type");
    expect_fail(f, "{\"type\":\"provider.unhealthy\"}", P, "data", "required field is missing");
    expect_fail(f, "{\"type\":\"x.y\",\"data\":[]}", P, "data", "expected object, got array");
    expect_fail(f, PU("\"error_rate\":1.5"), P, "data.error_rate", "between 0 and 1");
    expect_fail(f, PU("\"error_rate\":-0.1"), P, "data.error_rate", "between 0 and 1");
    expect_fail(f, PU("\"error_rate\":\"31%\""), P, "data.error_rate",
                "expected number, got string");
    expect_fail(f, PU("\"x\":1"), P, "data.error_rate", "required field is missing");
    expect_fail(f, PU("\"error_rate\":0.5,\"requests\":-1"), P, "data.requests", "negative");
    expect_fail(f, PU("\"error_rate\":0.5,\"requests\":1.5"), P, "data.requests",
                "expected integer");
    expect_fail(f, PU("\"error_rate\":0.5,\"window_s\":0"), P, "data.window_s", "greater than 0");
    expect_fail(f,
                "{\"type\":\"provider.unhealthy\",\"data\":{\"provider\":\"\","
                "\"error_rate\":0.5}}",
                P, "data.provider", "must not be empty");
    expect_fail(f, "{\"type\":\"provider.unhealthy\",\"data\":{\"error_rate\":0.5}}", P,
                "data.provider", "required");
    expect_fail(f,
                "{\"type\":\"budget.exceeded\",\"data\":{\"scope\":\"dept\",\"name\":\"n\","
                "\"limit_kind\":\"soft\",\"limit\":1,\"spent\":2}}",
                P, "data.scope", "expected \"team\" or \"org\", got \"dept\"");
    expect_fail(f,
                "{\"type\":\"budget.exceeded\",\"data\":{\"scope\":\"team\",\"name\":\"n\","
                "\"limit_kind\":\"firm\",\"limit\":1,\"spent\":2}}",
                P, "data.limit_kind", "\"soft\" or \"hard\"");
    expect_fail(f,
                "{\"type\":\"budget.exceeded\",\"data\":{\"scope\":\"team\",\"name\":\"n\","
                "\"limit_kind\":\"soft\",\"limit\":-1,\"spent\":2}}",
                P, "data.limit", "negative");
    expect_fail(f,
                "{\"type\":\"budget.exceeded\",\"data\":{\"scope\":\"team\",\"name\":\"n\","
                "\"limit_kind\":\"soft\",\"limit\":1,\"spent\":2,\"currency\":1}}",
                P, "data.currency", "expected string");
    expect_fail(f,
                "{\"type\":\"sla.violation\",\"data\":{\"sla\":\"g\",\"metric\":"
                "\"p50_latency\",\"target\":1,\"observed\":2}}",
                P, "data.metric", "\"p95_latency\", \"p99_latency\" or \"success_rate\"");
    expect_fail(f,
                "{\"type\":\"sla.violation\",\"data\":{\"sla\":\"g\",\"metric\":"
                "\"success_rate\",\"target\":0.99}}",
                P, "data.observed", "required");
    expect_fail(f,
                "{\"type\":\"latency.spike\",\"data\":{\"provider\":\"p\",\"observed_ms\":10,"
                "\"baseline_ms\":0}}",
                P, "data.baseline_ms", "greater than 0");
    expect_fail(f,
                "{\"type\":\"latency.spike\",\"data\":{\"provider\":\"p\",\"observed_ms\":10,"
                "\"baseline_ms\":5,\"ratio\":\"2x\"}}",
                P, "data.ratio", "expected number");
    expect_fail(f, PUX("\"occured_at\":\"2026-11-21T09:00:00Z\""), P, "occured_at",
                "unknown field");
    expect_fail(f, PUX("\"status\":\"open\""), P, "status", "\"firing\" or \"resolved\"");
    expect_fail(f, PUX("\"severity\":\"page\""), P, "severity", "\"info\", \"warning\" or");
    expect_fail(f, PUX("\"id\":\"\""), P, "id", "1 to 128 characters");
    expect_fail(f, PUX("\"id\":\"a b\""), P, "id", "got \"a b\"");
    expect_fail(f, PUX("\"id\":5"), P, "id", "expected string");
    expect_fail(f, PUX("\"occurred_at\":\"now\""), P, "occurred_at", "RFC 3339");
    expect_fail(f, PUX("\"occurred_at\":\"0001-01-01T00:00:00Z\""), P, "occurred_at",
                "must be set");
    expect_fail(f,
                PUX("\"started_at\":\"2026-11-21T10:00:00Z\",\"ends_at\":\"2026-11-21T09:00:00Z\""),
                P, "ends_at", "before started_at");
    expect_fail(f, PUX("\"summary\":1"), P, "summary", "expected string");
    expect_fail(f, PUX("\"annotations\":{\"a\":1}"), P, "annotations.a", "expected string");
    expect_fail(f, PUX("\"labels\":[]"), P, "labels", "expected object, got array");
    expect_fail(f, PUX("\"labels\":{\"env\":1}"), P, "labels.env", "expected string, got number");
    expect_fail(f, PUX("\"labels\":{\"bad-name\":\"x\"}"), P, "labels[\"bad-name\"]",
                "[A-Za-z_][A-Za-z0-9_]*");
    expect_fail(f, PUX("\"labels\":{\"env\":\"\"}"), P, "labels.env", "must not be empty");
    /* a derived label may not be overridden (repeating its own value is harmless) */
    expect_fail(f, PUX("\"labels\":{\"provider\":\"other\"}"), P, "labels.provider",
                "cannot override the label derived from the event, provider=\"p\"");
    expect_fail(f, PUX("\"labels\":{\"alertname\":\"Mine\"}"), P, "labels.alertname",
                "cannot override");
    expect_fail(f, PUX("\"labels\":{\"severity\":\"critical\"}"), P, "labels.severity",
                "severity field");
    expect_fail(f, "{\"type\":\"x.y\",\"labels\":{\"severity\":\"critical\"}}", P,
                "labels.severity", "severity field");
    expect_fail(f,
                "{\"type\":\"budget.exceeded\",\"labels\":{\"team\":\"other\"},\"data\":{"
                "\"scope\":\"team\",\"name\":\"n\",\"limit_kind\":\"soft\",\"limit\":1,"
                "\"spent\":2}}",
                P, "labels.team", "cannot override");
    /* batch form: paths name the event */
    expect_fail(f, "{\"events\":[" PUX("\"id\":\"a\"") "," PU("\"error_rate\":2") "]}", P,
                "events[1].data.error_rate", "events[1].data.error_rate: must be between 0 and 1");
    expect_fail(f, "{\"events\":[" PUX("\"id\":\"a\"") "," PUX("\"id\":\"a\"") "]}", P,
                "events[1].id", "duplicate of events[0].id");
    expect_fail(f, "{\"events\":[7]}", P, "events[0]", "events[0]: expected object, got number");
    expect_fail(f, "{\"events\":{}}", P, "events", "expected array, got object");
    expect_fail(f, "{\"events\":[],\"type\":\"x.y\"}", P, "type", "unknown field beside");
    expect_fail(f, "{\"events\":[],\"id\":\"a/b\"}", P, "id", "got \"a/b\"");
}

static void test_event_label_repeat_ok(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    expect_event(PUX("\"labels\":{\"provider\":\"p\",\"severity\":\"warning\",\"alertname\":"
                     "\"provider.unhealthy\",\"env\":\"prod\"}"),
                 &b);
    static const char *const want[] = {
        "alertname", "provider.unhealthy", "provider", "p", "severity", "warning", "env", "prod",
        NULL};
    expect_labels(&b.alerts[0], want);
    fs_alert_batch_release(&b);
}

/* ---- Alertmanager API ---- */

static void test_am_api(void **state)
{
    (void)state;
    const char *body =
        "[{\"annotations\":{\"summary\":\"s\"},\"endsAt\":\"2026-11-21T10:50:25.506Z\","
        "\"fingerprint\":\"b60accbc9693d90c\",\"receivers\":[{\"name\":\"sre-agent\"}],"
        "\"startsAt\":\"2026-11-21T10:43:25.506Z\",\"status\":{\"inhibitedBy\":[],"
        "\"silencedBy\":[],\"state\":\"active\"},\"updatedAt\":\"2026-11-21T10:46:25.506Z\","
        "\"generatorURL\":\"http://vm:9090/graph\",\"labels\":{\"alertname\":"
        "\"TestDiskUsageWarning\",\"instance\":\"127.0.0.1:9100\",\"job\":\"node\","
        "\"mountpoint\":\"/data\",\"severity\":\"warning\"}},"
        "{\"annotations\":{},\"endsAt\":\"2026-11-21T10:50:00Z\",\"fingerprint\":"
        "\"0000000000000001\",\"receivers\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"startsAt\":"
        "\"2026-11-21T10:00:00Z\",\"status\":{\"inhibitedBy\":[],\"silencedBy\":["
        "\"5f2c1b7e-1111-2222-3333-444455556666\"],\"state\":\"suppressed\"},\"updatedAt\":"
        "\"2026-11-21T10:46:00Z\",\"labels\":{\"alertname\":\"Other\",\"severity\":\"critical\"}}]";
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(parse(fs_parse_am_api_alerts, body, &b, &err), 0);
    assert_int_equal(b.source, FS_SRC_RECONCILE);
    assert_int_equal(b.n, 2);
    const struct fs_alert *a = &b.alerts[0];
    assert_int_equal(a->status, FS_ALERT_FIRING);
    assert_string_equal(a->fingerprint, "b60accbc9693d90c");
    assert_true(a->starts_known);
    assert_true(a->starts_at == 1795257805506LL);
    assert_true(a->ends_at == FS_TIME_UNSET);
    assert_string_equal(extra_str(a, "state"), "active");
    assert_string_equal(extra_str(a, "generatorURL"), "http://vm:9090/graph");
    assert_null(json_object_get(a->extra, "endsAt")); /* volatile: validated, not kept */
    assert_null(json_object_get(a->extra, "updatedAt"));
    json_t *r = json_object_get(a->extra, "receivers");
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "sre-agent");
    a = &b.alerts[1];
    assert_string_equal(extra_str(a, "state"), "suppressed");
    assert_int_equal(json_array_size(json_object_get(a->extra, "silencedBy")), 1);
    assert_int_equal(json_array_size(json_object_get(a->extra, "receivers")), 2);
    assert_int_equal(a->severity, FS_SEV_CRITICAL);
    fs_alert_batch_release(&b);

    assert_int_equal(parse(fs_parse_am_api_alerts, "[]", &b, &err), 0);
    assert_int_equal(b.n, 0);
    fs_alert_batch_release(&b);
}

#define API0(fields) "[{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2026-11-21T10:00:00Z\"," fields "}]"
#define API_FP "\"fingerprint\":\"0000000000000001\""

static void test_am_api_rejections(void **state)
{
    (void)state;
    const enum fs_errcode P = FS_E_INVALID_PAYLOAD;
    parse_fn f = fs_parse_am_api_alerts;
    expect_fail(f, "{\"alerts\":[]}", P, "", "expected array, got object");
    expect_fail(f, "[1]", P, "[0]", "[0]: expected object, got number");
    expect_fail(f, API0("\"status\":{\"state\":\"active\"}"), P, "[0].fingerprint",
                "required field is missing");
    expect_fail(f, API0(API_FP), P, "[0].status", "required field is missing");
    expect_fail(f, API0(API_FP ",\"status\":\"firing\""), P, "[0].status",
                "expected object, got string");
    expect_fail(f, API0(API_FP ",\"status\":{}"), P, "[0].status.state", "required");
    expect_fail(f, API0(API_FP ",\"status\":{\"state\":\"\"}"), P, "[0].status.state",
                "must not be empty");
    expect_fail(f, API0(API_FP ",\"status\":{\"state\":\"active\",\"silencedBy\":[1]}"), P,
                "[0].status.silencedBy[0]", "expected string, got number");
    expect_fail(f, API0(API_FP ",\"status\":{\"state\":\"active\",\"inhibitedBy\":{}}"), P,
                "[0].status.inhibitedBy", "expected array");
    expect_fail(f, API0(API_FP ",\"status\":{\"state\":\"active\"},\"receivers\":[\"x\"]"), P,
                "[0].receivers[0]", "expected object, got string");
    expect_fail(f, API0(API_FP ",\"status\":{\"state\":\"active\"},\"receivers\":[{}]"), P,
                "[0].receivers[0].name", "required");
    expect_fail(f, API0(API_FP ",\"status\":{\"state\":\"active\"},\"updatedAt\":\"x\""), P,
                "[0].updatedAt", "RFC 3339");
    expect_fail(f, API0(API_FP ",\"status\":{\"state\":\"active\"},\"endsAt\":7"), P, "[0].endsAt",
                "expected string");
}

/* ---- robustness ---- */

/* Bodies that walk most of the event and API code paths. */
static const char EVENTS_FULL[] =
    "{\"id\":\"b\",\"events\":[{\"type\":\"provider.unhealthy\",\"id\":\"a\",\"labels\":"
    "{\"env\":\"x\"},\"annotations\":{\"a\":\"b\"},\"data\":{\"provider\":\"p\","
    "\"error_rate\":0.5,\"requests\":3,\"window_s\":60}},{\"type\":\"latency.spike\","
    "\"data\":{\"provider\":\"p\",\"observed_ms\":3,\"baseline_ms\":1}}]}";
static const char API_FULL[] =
    "[{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2026-11-21T10:00:00Z\",\"fingerprint\":"
    "\"0000000000000001\",\"status\":{\"state\":\"active\",\"silencedBy\":[\"x\"]},"
    "\"receivers\":[{\"name\":\"r\"}],\"endsAt\":\"2026-11-21T10:00:00Z\"}]";

/* Every allocation the parsers make through fs_* may fail: the result is a clean error (or
 * success when the failing allocation was not on the path), never a crash or a half batch. */
static void test_alloc_failures(void **state)
{
    (void)state;
    const char *bodies[] = {AM_REAL, EVENTS_FULL};
    parse_fn fns[] = {fs_parse_alertmanager, fs_parse_event};
    for (size_t i = 0; i < FS_ARRAY_LEN(bodies); i++) {
        for (int n = 1; n <= 8; n++) {
            char spec[32];
            snprintf(spec, sizeof(spec), "alloc@%dx1", n);
            assert_int_equal(fs_fault_arm(spec), 0);
            struct fs_alert_batch b;
            struct fs_err err;
            int rc = parse(fns[i], bodies[i], &b, &err);
            fs_fault_arm(NULL);
            if (rc < 0) {
                assert_int_equal(rc, -FS_E_NOMEM);
                assert_empty_batch(&b);
            } else {
                assert_true(b.n > 0);
                fs_alert_batch_release(&b);
            }
        }
    }
}

/* jansson's own allocations fail at the n-th call: every parser either succeeds or fails
 * cleanly (under ASan this also proves nothing leaks on those paths). */
static long jansson_budget = -1;

static void *failing_malloc(size_t n)
{
    if (jansson_budget == 0)
        return NULL;
    if (jansson_budget > 0)
        jansson_budget--;
    return malloc(n);
}

static void test_jansson_alloc_failures(void **state)
{
    (void)state;
    const char *bodies[] = {AM_REAL, GRAFANA_EXAMPLE, EVENTS_FULL, API_FULL};
    parse_fn fns[] = {fs_parse_alertmanager, fs_parse_grafana, fs_parse_event,
                      fs_parse_am_api_alerts};
    json_set_alloc_funcs(failing_malloc, free);
    for (size_t i = 0; i < FS_ARRAY_LEN(bodies); i++) {
        bool succeeded = false;
        for (long n = 0; n < 400 && !succeeded; n++) {
            struct fs_alert_batch b;
            struct fs_err err;
            jansson_budget = n;
            int rc = parse(fns[i], bodies[i], &b, &err);
            jansson_budget = -1;
            if (rc < 0) {
                assert_empty_batch(&b);
            } else {
                assert_true(b.n > 0);
                fs_alert_batch_release(&b);
                succeeded = true;
            }
        }
        assert_true(succeeded);
    }
    json_set_alloc_funcs(malloc, free);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct fs_alert_batch b;
    struct fs_err err;
    assert_int_equal(fs_parse_alertmanager("{}", 2, NULL, &b, &err), -FS_E_INVALID);
    assert_empty_batch(&b);
    assert_int_equal(fs_parse_event(NULL, 5, &LIM, &b, &err), -FS_E_INVALID);
    assert_int_equal(fs_parse_event(NULL, 0, &LIM, &b, &err), -FS_E_INVALID_JSON);
    /* a body that is not NUL-terminated is read only up to len */
    assert_int_equal(fs_parse_alertmanager("{\"alerts\":[]}XXXX", 13, &LIM, &b, &err), 0);
    fs_alert_batch_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_matches_alertmanager),
        cmocka_unit_test(test_am_real_body),
        cmocka_unit_test(test_am_computes_missing_fingerprint),
        cmocka_unit_test(test_am_resolved_and_drift),
        cmocka_unit_test(test_am_empty_alerts),
        cmocka_unit_test(test_am_rejections),
        cmocka_unit_test(test_am_version_mismatch),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_json_level_rejections),
        cmocka_unit_test(test_grafana_example),
        cmocka_unit_test(test_grafana_rejections),
        cmocka_unit_test(test_event_provider_unhealthy),
        cmocka_unit_test(test_event_budget_exceeded),
        cmocka_unit_test(test_event_sla_violation),
        cmocka_unit_test(test_event_latency_spike),
        cmocka_unit_test(test_event_custom),
        cmocka_unit_test(test_event_batch),
        cmocka_unit_test(test_event_rejections),
        cmocka_unit_test(test_event_label_repeat_ok),
        cmocka_unit_test(test_am_api),
        cmocka_unit_test(test_am_api_rejections),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_jansson_alloc_failures),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("parsers", tests, NULL, NULL);
}
