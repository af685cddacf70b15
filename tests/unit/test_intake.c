/* Unit tests for the intake edge: the HTTP status of every error code (transient trouble is
 * never 4xx, because Alertmanager does not retry 4xx), the metrics exposition format, and the
 * generated API reference. */
#include "unit.h"

#include <unistd.h>

#include "core/metrics.h"
#include "intake/http.h"
#include "intake/metrics.h"
#include "store/store.h"

static void test_transient_errors_are_503(void **state)
{
    const enum fs_errcode transient[] = {FS_E_BUSY,     FS_E_DISK_FULL,  FS_E_FAILSTOP,
                                         FS_E_SHUTDOWN, FS_E_OVERLOADED, FS_E_IO,
                                         FS_E_STORE,    FS_E_NOMEM};
    for (size_t i = 0; i < FS_ARRAY_LEN(transient); i++)
        assert_int_equal(fs_http_status_for(-(int)transient[i]), 503);
    assert_int_equal(fs_http_status_for(-FS_E_INVALID_PAYLOAD), 400);
    assert_int_equal(fs_http_status_for(FS_E_INVALID_JSON), 400);
    assert_int_equal(fs_http_status_for(FS_E_TOO_DEEP), 400);
    assert_int_equal(fs_http_status_for(FS_E_TOO_LARGE), 413);
    assert_int_equal(fs_http_status_for(FS_E_UNAUTHORIZED), 401);
    assert_int_equal(fs_http_status_for(FS_E_MEDIA_TYPE), 415);
    /* every code maps to something a client understands */
    for (int c = 0; c < FS_E__COUNT; c++) {
        int st = fs_http_status_for(c);
        assert_true(st == 200 || (st >= 400 && st <= 503));
    }
}

static void test_histogram_exposition(void **state)
{
    static const double bounds[] = {0.001, 0.01};
    struct fs_hist h = {.bounds = bounds, .n = 2};
    fs_hist_observe(&h, 0.0005);
    fs_hist_observe(&h, 0.005);
    fs_hist_observe(&h, 5);
    struct fs_buf b = FS_BUF_INIT(0);
    fs_metric_hist(&b, "x_seconds", "", &h);
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"0.001\"} 1\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"0.01\"} 2\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.data, "x_seconds_count 3\n"));
    assert_non_null(strstr(b.data, "x_seconds_sum 5.0055\n"));
    fs_buf_release(&b);
    char esc[32];
    fs_metric_escape(esc, sizeof(esc), "a\"b\\c\nd");
    assert_string_equal(esc, "a\\\"b\\\\c\\nd");
}

static void test_metrics_render_has_every_family(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0), doc = FS_BUF_INIT(0);
    /* a real store, so the gauges counted in it at scrape time are there too */
    char dir[] = "/tmp/fs-metrics-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/m.db", dir);
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 100};
    struct fs_store *store = NULL;
    struct fs_err err;
    assert_int_equal(fs_store_open(&o, &store, &err), 0);
    assert_int_equal(fs_metrics_render(&b, store), 0);
    fs_store_close(store);
    assert_int_equal(fs_metrics_doc_markdown(&doc), 0);
    /* every documented family appears in the exposition */
    const char *line = doc.data;
    int families = 0;
    while ((line = strstr(line, "| `forestall_"))) {
        char name[96], needle[128];
        sscanf(line + 3, "%95[a-z_]", name);
        snprintf(needle, sizeof(needle), "# TYPE %s ", name);
        if (!strstr(b.data, needle))
            fail_msg("%s is documented but not exposed", name);
        families++;
        line++;
    }
    assert_true(families >= 15);
    fs_buf_release(&b);
    fs_buf_release(&doc);
}

static void test_api_reference_lists_intake_routes(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_http_doc_markdown(&b), 0);
    assert_non_null(strstr(b.data, "| POST | `/api/v1/alerts/alertmanager` | any token |"));
    assert_non_null(strstr(b.data, "| POST | `/api/v1/alerts/grafana` | any token |"));
    assert_non_null(strstr(b.data, "| POST | `/api/v1/events` | any token |"));
    assert_non_null(strstr(b.data, "| GET | `/healthz` | none |"));
    assert_non_null(strstr(b.data, "| `store_failed` | 503 |"));
    /* the roles column is derived from the capability table, not written by hand */
    assert_non_null(strstr(b.data, "| POST | `/api/v1/proposals/{id}/approve` | approver, "
                                   "overrider, admin |"));
    assert_non_null(strstr(b.data, "| POST | `/api/v1/unfreeze` | admin |"));
    assert_non_null(strstr(b.data, "| POST | `/api/v1/proposals` | agent, admin |"));
    assert_non_null(strstr(b.data, "| `force_override_required` | 409 |"));
    assert_non_null(strstr(b.data, "| `self_approval` | 403 |"));
    fs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient_errors_are_503),
        cmocka_unit_test(test_histogram_exposition),
        cmocka_unit_test(test_metrics_render_has_every_family),
        cmocka_unit_test(test_api_reference_lists_intake_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
