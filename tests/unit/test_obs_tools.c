/* Unit tests for the observability tools' internals and their failure paths: time, step and
 * form encoding, LogQL quoting and building (with argument paths), the Prometheus and Loki
 * response parsers on real-shaped bodies, and the handlers against a small libmicrohttpd
 * server in this process playing a misbehaving peer — a redirect to another host, a body over
 * 8 MiB, an HTML 502, Prometheus's error envelope, a slow answer — plus a refused port and
 * missing configuration. The real Prometheus is in tests/integration/test_observability.py. */
#include "unit.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "core/time.h"
#include "tools/obs_int.h"
#include "tools/registry.h"

static struct fs_registry *reg;
static struct MHD_Daemon *mhd;
static int port;

/* ---- a peer that misbehaves on request -------------------------------------------------- */

struct upload {
    struct fs_buf body;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len, const char *location)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    if (location)
        MHD_add_response_header(r, "Location", location);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The value of key in an x-www-form-urlencoded body, decoded; caller frees. */
static char *form_value(const char *form, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = form; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            const char *v = p + kl + 1;
            int n = (int)strcspn(v, "&");
            char *d = curl_easy_unescape(NULL, v, n, NULL);
            char *out = strdup(d);
            curl_free(d);
            return out;
        }
    }
    return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **state)
{
    struct upload *u = *state;
    if (!u) {
        u = calloc(1, sizeof(*u));
        fs_buf_init(&u->body, 1 << 20);
        *state = u;
        return MHD_YES;
    }
    if (*size) {
        fs_buf_append(&u->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    const char *form = fs_buf_str(&u->body);
    char loc[256];
    if (!strncmp(url, "/ok/api/v1/", 11)) {
        /* echo what arrived: the method and the decoded query, as a label */
        char *q = form_value(form, "query");
        json_t *res = json_pack(
            "{s:s,s:{s:s,s:[{s:{s:s,s:s,s:s},s:[f,s]},{s:{s:s},s:[f,s]}]},s:[s]}", "status",
            "success", "data", "resultType", "vector", "result", "metric", "__name__", "echo",
            "method", method, "q", q ? q : "(none)", "value", 1722506400.5, "+Inf", "metric", "x",
            "y", "value", 1722506400.5, "-0.25", "warnings", "a warning");
        free(q);
        char *s = json_dumps(res, JSON_COMPACT);
        json_decref(res);
        enum MHD_Result r = reply(c, 200, "application/json", s, strlen(s), NULL);
        free(s);
        return r;
    }
    if (!strncmp(url, "/redir-same/", 12)) {
        snprintf(loc, sizeof(loc), "http://127.0.0.1:%d/ok%s", port, url + 11);
        return reply(c, 307, NULL, "", 0, loc);
    }
    if (!strncmp(url, "/redir-other/", 13)) {
        snprintf(loc, sizeof(loc), "http://127.0.0.2:%d/ok%s", port, url + 12);
        return reply(c, 302, NULL, "", 0, loc);
    }
    if (!strncmp(url, "/redir-loop/", 12))
        return reply(c, 302, NULL, "", 0, url);
    if (!strncmp(url, "/big/", 5)) {
        size_t n = 9u << 20;
        char *b = malloc(n);
        memset(b, ' ', n);
        memcpy(b, "{\"status\":\"success\",\"data\":", 27);
        enum MHD_Result r = reply(c, 200, "application/json", b, n, NULL);
        free(b);
        return r;
    }
    if (!strncmp(url, "/html/", 6)) {
        const char *b = "<html><body>502 Bad Gateway\nnginx</body></html>";
        return reply(c, 502, "text/html", b, strlen(b), NULL);
    }
    if (!strncmp(url, "/err/", 5)) {
        const char *b = "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query "
                        "processing would load too many samples into memory\"}";
        return reply(c, 422, "application/json", b, strlen(b), NULL);
    }
    if (!strncmp(url, "/slow/", 6)) {
        usleep(1500 * 1000);
        return reply(c, 200, "application/json", "{}", 2, NULL);
    }
    if (!strncmp(url, "/loki/loki/api/v1/query_range", 29)) {
        const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "query");
        const char *st = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "start");
        const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
        const char *dir = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "direction");
        char line[512];
        snprintf(line, sizeof(line), "%s %s q=%s start=%s limit=%s dir=%s", method,
                 u->body.len ? "body" : "nobody", q ? q : "", st ? st : "", lim ? lim : "",
                 dir ? dir : "");
        json_t *res =
            json_pack("{s:s,s:{s:s,s:[{s:{s:s},s:[[s,s],[s,s]]}]}}", "status", "success", "data",
                      "resultType", "streams", "result", "stream", "app", "api", "values",
                      "1722506400000000002", line, "1722506400000000001", "older\nline");
        char *s = json_dumps(res, JSON_COMPACT);
        json_decref(res);
        enum MHD_Result r = reply(c, 200, "application/json", s, strlen(s), NULL);
        free(s);
        return r;
    }
    return reply(c, 404, "text/plain", "404 page not found\n", 19, NULL);
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *state;
    if (u) {
        fs_buf_release(&u->body);
        free(u);
    }
    *state = NULL;
}

static int setup(void **state)
{
    struct fs_err e = {0};
    if (fs_registry_new(&reg, &e) != 0)
        return -1;
    static struct sockaddr_in lo = {.sin_family = AF_INET};
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&lo, MHD_OPTION_END);
    if (!mhd)
        return -1;
    port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int teardown(void **state)
{
    MHD_stop_daemon(mhd);
    fs_registry_free(reg);
    return 0;
}

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

/* Call name with args on base (prefix path on our server, or NULL = not configured). */
static int call(const char *name, const char *args, const char *prom, const char *loki,
                int64_t timeout_ms, struct fs_tool_result *r, struct fs_err *e)
{
    struct fs_tool_ctx ctx = {.prometheus_url = prom, .loki_url = loki, .timeout_ms = timeout_ms};
    json_t *a = J(args);
    memset(e, 0, sizeof(*e));
    int rc = fs_tools_call(reg, name, a, &ctx, r, e);
    json_decref(a);
    return rc;
}

static char *url(const char *prefix)
{
    static char b[8][128];
    static int i;
    char *s = b[i++ % 8];
    snprintf(s, 128, "http://127.0.0.1:%d%s", port, prefix);
    return s;
}

/* ---- arguments ---------------------------------------------------------------------------- */

static void test_time_parse(void **state)
{
    int64_t now = 1722506400000, t;
    assert_int_equal(fs_obs_time_parse("now", now, &t), 0);
    assert_true(t == now);
    assert_int_equal(fs_obs_time_parse("-1h", now, &t), 0);
    assert_true(t == now - 3600000);
    assert_int_equal(fs_obs_time_parse("now-1h30m", now, &t), 0);
    assert_true(t == now - 5400000);
    assert_int_equal(fs_obs_time_parse("1722506400", now, &t), 0);
    assert_true(t == 1722506400000);
    assert_int_equal(fs_obs_time_parse("1722506400.25", now, &t), 0);
    assert_true(t == 1722506400250);
    assert_int_equal(fs_obs_time_parse("1722506400.1239", now, &t), 0);
    assert_true(t == 1722506400123);
    assert_int_equal(fs_obs_time_parse("2024-08-01T10:00:00Z", now, &t), 0);
    assert_true(t == 1722506400000);
    assert_int_equal(fs_obs_time_parse("2024-08-01T12:00:00.5+02:00", now, &t), 0);
    assert_true(t == 1722506400500);
    static const char *const bad[] = {"",
                                      "yesterday",
                                      "-1x",
                                      "-5",
                                      "now+1h",
                                      "1722506400.",
                                      ".5",
                                      "0001-01-01T00:00:00Z",
                                      "-1h ",
                                      "12e3",
                                      "99999999999999999999"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++)
        if (fs_obs_time_parse(bad[i], now, &t) == 0)
            fail_msg("\"%s\" parsed", bad[i]);
    assert_int_equal(fs_obs_time_parse(NULL, now, &t), -FS_E_INVALID);
}

static void test_step_and_seconds(void **state)
{
    int64_t ms;
    assert_int_equal(fs_obs_step_parse("15s", &ms), 0);
    assert_true(ms == 15000);
    assert_int_equal(fs_obs_step_parse("15", &ms), 0);
    assert_true(ms == 15000);
    assert_int_equal(fs_obs_step_parse("0.5", &ms), 0);
    assert_true(ms == 500);
    assert_int_equal(fs_obs_step_parse("1m30s", &ms), 0);
    assert_true(ms == 90000);
    static const char *const bad[] = {"0", "0s", "-1", "abc", "", "0.0001", "1.5s"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++)
        if (fs_obs_step_parse(bad[i], &ms) == 0)
            fail_msg("\"%s\" parsed", bad[i]);
    char b[32];
    assert_string_equal(fs_obs_seconds(1722506400123, b, sizeof(b)), "1722506400.123");
    assert_string_equal(fs_obs_seconds(5, b, sizeof(b)), "0.005");
}

static void test_form(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    const char *q = "sum(rate(x{a=\"b c\",d=~\"e|f\"}[5m])) > 0 & y + 1 #é";
    assert_int_equal(fs_obs_form_add(&b, "query", q), 0);
    assert_int_equal(fs_obs_form_add(&b, "time", "1722506400.000"), 0);
    const char *s = fs_buf_str(&b);
    assert_null(strpbrk(s + 6, " \"{}|+#"));
    assert_non_null(strstr(s, "&time=1722506400.000"));
    assert_int_equal(strchr(s, '&') - s, strstr(s, "&time") - s); /* q's & is encoded */
    char *back = form_value(s, "query");
    assert_string_equal(back, q);
    free(back);
    fs_buf_release(&b);
}

/* ---- LogQL -------------------------------------------------------------------------------- */

static void test_logql_quote(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "\"plain\""},
        {"a\"b", "\"a\\\"b\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"l1\nl2\tx\r", "\"l1\\nl2\\tx\\r\""},
        {"\x01\x1b[31m\x7f", "\"\\x01\\x1b[31m\\x7f\""},
        {"é ünï", "\"é ünï\""},
        {"`", "\"`\""},
        {"", "\"\""},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_buf b = FS_BUF_INIT(0);
        assert_int_equal(fs_logql_quote(&b, cases[i].in), 0);
        assert_string_equal(fs_buf_str(&b), cases[i].want);
        fs_buf_release(&b);
    }
}

static void expect_build(const char *args, const char *want, int rc_want, const char *path)
{
    json_t *a = J(args);
    struct fs_buf b = FS_BUF_INIT(0);
    struct fs_err e = {0};
    int rc = fs_logql_build(a, &b, &e);
    if (rc != rc_want)
        fail_msg("%s: rc %d (%s), want %d", args, rc, e.msg, rc_want);
    if (want)
        assert_string_equal(fs_buf_str(&b), want);
    if (path) {
        assert_string_equal(e.path, path);
        assert_int_equal(strncmp(e.msg, path, strlen(path)), 0);
    }
    fs_buf_release(&b);
    json_decref(a);
}

static void test_logql_build(void **state)
{
    expect_build("{\"selector\":{\"namespace\":\"prod\",\"app\":\"api\"}}",
                 "{app=\"api\",namespace=\"prod\"}", 0, NULL);
    expect_build("{\"selector\":{\"app\":\"api\"},\"not_regex\":[\"x.*y\"],"
                 "\"contains\":[\"error\",\"db\"],\"not_contains\":[\"timeout\"],"
                 "\"regex\":[\"(?i)fail\\\\w+\"]}",
                 "{app=\"api\"} |= \"error\" |= \"db\" != \"timeout\" |~ \"(?i)fail\\\\w+\" "
                 "!~ \"x.*y\"",
                 0, NULL);
    /* a hostile value stays inside its string */
    expect_build(
        "{\"selector\":{\"app\":\"x\\\"} |= \\\"\"},\"contains\":[\"\\\"} or {a=~\\\".*\"]}",
        "{app=\"x\\\"} |= \\\"\"} |= \"\\\"} or {a=~\\\".*\"", 0, NULL);
    expect_build("{\"selector\":{}}", NULL, -FS_E_INVALID_PAYLOAD, "selector");
    expect_build("{}", NULL, -FS_E_INVALID_PAYLOAD, "selector");
    expect_build("{\"selector\":{\"1app\":\"x\"}}", NULL, -FS_E_INVALID_PAYLOAD, "selector.1app");
    expect_build("{\"selector\":{\"a-b\":\"x\"}}", NULL, -FS_E_INVALID_PAYLOAD, "selector.a-b");
    expect_build("{\"selector\":{\"app\":\"\"}}", NULL, -FS_E_INVALID_PAYLOAD, "selector.app");
    expect_build("{\"selector\":{\"app\":3}}", NULL, -FS_E_INVALID_PAYLOAD, "selector.app");
    expect_build("{\"selector\":{\"app\":\"a\"},\"contains\":[\"ok\",7]}", NULL,
                 -FS_E_INVALID_PAYLOAD, "contains[1]");
    expect_build("{\"selector\":{\"app\":\"a\"},\"regex\":\"x\"}", NULL, -FS_E_INVALID_PAYLOAD,
                 "regex");
}

/* ---- parsers ------------------------------------------------------------------------------ */

static int prom(const char *body, json_t **d, struct fs_prom_error *pe, struct fs_err *e)
{
    memset(e, 0, sizeof(*e));
    return fs_prom_parse(body, strlen(body), d, pe, e);
}

static void test_prom_parse(void **state)
{
    json_t *d;
    struct fs_prom_error pe;
    struct fs_err e;
    assert_int_equal(
        prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
             "{\"metric\":{\"__name__\":\"up\",\"job\":\"node\"},\"value\":[1722506400.125,\"1\"]},"
             "{\"metric\":{},\"value\":[1722506400,\"NaN\"]},"
             "{\"metric\":{\"a\":\"b\"},\"value\":[1722506400,\"+Inf\"]},"
             "{\"metric\":{\"h\":\"1\"},\"histogram\":[1722506400,{\"count\":\"3\",\"sum\":\"1.5\","
             "\"buckets\":[[0,\"0\",\"1\",\"3\"]]}]}]},\"warnings\":[\"careful\"]}",
             &d, &pe, &e),
        0);
    char *s = json_dumps(d, JSON_COMPACT);
    assert_string_equal(
        s,
        "{\"resultType\":\"vector\",\"result\":["
        "{\"metric\":{\"__name__\":\"up\",\"job\":\"node\"},\"value\":1.0,\"time\":1722506400.125},"
        "{\"metric\":{},\"value\":\"NaN\",\"time\":1722506400.0},"
        "{\"metric\":{\"a\":\"b\"},\"value\":\"+Inf\",\"time\":1722506400.0},"
        "{\"metric\":{\"h\":\"1\"},\"histogram\":{\"count\":3.0,\"sum\":1.5},\"time\":1722506400.0,"
        "\"value\":null}],\"warnings\":[\"careful\"]}");
    free(s);
    json_decref(d);

    assert_int_equal(
        prom("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
             "{\"metric\":{\"i\":\"a\"},\"values\":[[1,\"1\"],[2,\"-Inf\"],[3,\"2e3\"]]}]}}",
             &d, &pe, &e),
        0);
    s = json_dumps(d, JSON_COMPACT);
    assert_string_equal(s, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"i\":\"a\"},"
                           "\"values\":[[1.0,1.0],[2.0,\"-Inf\"],[3.0,2000.0]]}]}");
    free(s);
    json_decref(d);

    assert_int_equal(prom("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                          "\"result\":[1722506400.5,\"42\"]}}",
                          &d, &pe, &e),
                     0);
    json_t *r0 = json_array_get(json_object_get(d, "result"), 0);
    assert_true(json_number_value(json_object_get(r0, "value")) == 42);
    assert_int_equal(json_object_size(json_object_get(r0, "metric")), 0);
    json_decref(d);
    assert_int_equal(prom("{\"status\":\"success\",\"data\":{\"resultType\":\"string\","
                          "\"result\":[1,\"NaN\"]}}",
                          &d, &pe, &e),
                     0);
    r0 = json_array_get(json_object_get(d, "result"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "value")), "NaN");
    json_decref(d);

    assert_int_equal(prom("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid "
                          "parameter \\\"query\\\": 1:5: parse error\"}",
                          &d, &pe, &e),
                     1);
    assert_null(d);
    assert_string_equal(pe.type, "bad_data");
    assert_string_equal(pe.msg, "invalid parameter \"query\": 1:5: parse error");

    static const struct {
        const char *body, *path;
        int rc;
    } bad[] = {
        {"not json", "", -FS_E_INVALID_JSON},
        {"[]", "(root)", -FS_E_INVALID_PAYLOAD},
        {"{\"data\":{}}", "status", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"maybe\"}", "status", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\"}", "data", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"tensor\",\"result\":[]}}",
         "data.resultType", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
         "data.result", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
         "{},\"value\":[1,1]}]}}",
         "data.result[0].value[1]", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
         "{},\"value\":[1,\"0x10\"]}]}}",
         "data.result[0].value[1]", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
         "{\"a\":1},\"value\":[1,\"1\"]}]}}",
         "data.result[0].metric.a", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
         "{},\"values\":[[1,\"1\"],[\"2\",\"1\"]]}]}}",
         "data.result[0].values[1][0]", -FS_E_INVALID_PAYLOAD},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
         "{}}]}}",
         "data.result[0]", -FS_E_INVALID_PAYLOAD},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        int rc = prom(bad[i].body, &d, &pe, &e);
        if (rc != bad[i].rc || (bad[i].path[0] && strcmp(e.path, bad[i].path) != 0))
            fail_msg("%s: rc %d path \"%s\" (%s)", bad[i].body, rc, e.path, e.msg);
        assert_null(d);
        assert_true(e.msg[0] != '\0');
    }

    double v;
    assert_int_equal(fs_prom_value("-2.5e3", &v), 0);
    assert_true(v == -2500);
    assert_int_equal(fs_prom_value("NaN", &v), 0);
    assert_true(isnan(v));
    assert_int_equal(fs_prom_value("+Inf", &v), 0);
    assert_true(isinf(v) && v > 0);
    static const char *const badv[] = {"", "0x10", "inf", " 1", "1 ", "nan", "Infinity", "1,5"};
    for (size_t i = 0; i < FS_ARRAY_LEN(badv); i++)
        if (fs_prom_value(badv[i], &v) == 0)
            fail_msg("\"%s\" parsed", badv[i]);
}

static void test_loki_parse(void **state)
{
    char big[6000];
    memset(big, 'x', sizeof(big));
    memcpy(big + 4095, "é", 2); /* bytes 4095 and 4096: a cut at 4096 would split it */
    big[sizeof(big) - 1] = '\0';
    json_t *src = json_pack(
        "{s:s,s:{s:s,s:[{s:{s:s,s:s},s:[[s,s],[s,s,{}]]},{s:{s:s},s:[[s,s]]}],s:{}}}", "status",
        "success", "data", "resultType", "streams", "result", "stream", "job", "varlogs",
        "filename", "/var/log/syslog", "values", "1569266497240578000", "log line",
        "1569266492548155000", big, "stream", "job", "b", "values", "0", "epoch", "stats");
    char *body = json_dumps(src, JSON_COMPACT);
    json_decref(src);
    json_t *out;
    size_t cut = 0;
    struct fs_err e = {0};
    assert_int_equal(fs_loki_parse(body, strlen(body), 4096, &out, &cut, &e), 0);
    free(body);
    assert_int_equal(cut, 1);
    json_t *st = json_array_get(json_object_get(out, "streams"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "labels"), "job")),
                        "varlogs");
    json_t *l0 = json_array_get(json_object_get(st, "lines"), 0);
    json_t *l1 = json_array_get(json_object_get(st, "lines"), 1);
    assert_string_equal(json_string_value(json_object_get(l0, "ts")),
                        "2019-09-23T19:21:37.240578000Z");
    assert_string_equal(json_string_value(json_object_get(l0, "line")), "log line");
    assert_null(json_object_get(l0, "cut_bytes"));
    /* cut before the é rather than through it */
    assert_int_equal(json_string_length(json_object_get(l1, "line")), 4095);
    assert_int_equal(json_integer_value(json_object_get(l1, "cut_bytes")), strlen(big) - 4095);
    json_t *st2 = json_array_get(json_object_get(out, "streams"), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(st2, "lines"), 0), "ts")),
        "1970-01-01T00:00:00.000000000Z");
    json_decref(out);

    /* a NUL inside a line is kept (the registry strips it) */
    const char *nul = "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{"
                      "\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"a\\u0000b\"]]}]}}";
    assert_int_equal(fs_loki_parse(nul, strlen(nul), 4096, &out, NULL, &e), 0);
    json_t *ln = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(out, "streams"), 0), "lines"),
                       0),
        "line");
    assert_int_equal(json_string_length(ln), 3);
    json_decref(out);

    static const struct {
        const char *body, *path;
    } bad[] = {
        {"{\"status\":\"error\",\"data\":{}}", "status"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}",
         "data.resultType"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":"
         "{},\"values\":[[\"12a\",\"x\"]]}]}}",
         "data.result[0].values[0][0]"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":"
         "{},\"values\":[[\"99999999999999999999\",\"x\"]]}]}}",
         "data.result[0].values[0][0]"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":"
         "{},\"values\":[[\"1\",2]]}]}}",
         "data.result[0].values[0][1]"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":"
         "{\"a\":[]},\"values\":[]}]}}",
         "data.result[0].stream.a"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"values\":"
         "[]}]}}",
         "data.result[0].stream"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        memset(&e, 0, sizeof(e));
        int rc = fs_loki_parse(bad[i].body, strlen(bad[i].body), 4096, &out, NULL, &e);
        if (rc != -FS_E_INVALID_PAYLOAD || strcmp(e.path, bad[i].path) != 0)
            fail_msg("%s: rc %d path \"%s\" (%s)", bad[i].body, rc, e.path, e.msg);
        assert_null(out);
    }
    assert_int_equal(fs_loki_parse("[[[", 3, 4096, &out, NULL, &e), -FS_E_INVALID_JSON);
}

/* ---- handlers against a misbehaving peer -------------------------------------------------- */

static void expect_fail(const char *name, const char *args, const char *prom_url,
                        const char *loki_url, const char *text_prefix)
{
    struct fs_tool_result r;
    struct fs_err e;
    int rc = call(name, args, prom_url, loki_url, 1000, &r, &e);
    if (rc != 0)
        fail_msg("%s %s: rc %d %s", name, args, rc, e.msg);
    if (!r.is_error || strncmp(r.text, text_prefix, strlen(text_prefix)) != 0)
        fail_msg("%s %s: is_error %d, text \"%s\", want \"%s...\"", name, args, r.is_error, r.text,
                 text_prefix);
    assert_null(r.structured);
    fs_tool_result_release(&r);
}

static void test_prom_handler_peer(void **state)
{
    struct fs_tool_result r;
    struct fs_err e;
    /* the query arrives form-encoded in a POST body, exactly */
    const char *q = "{\"query\":\"sum by (a) (rate(x{a=\\\"b c\\\"}[5m])) > 0 & 1\"}";
    assert_int_equal(call("prometheus.query", q, url("/ok"), NULL, 2000, &r, &e), 0);
    assert_false(r.is_error);
    json_t *m =
        json_object_get(json_array_get(json_object_get(r.structured, "result"), 0), "metric");
    assert_string_equal(json_string_value(json_object_get(m, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(m, "q")),
                        "sum by (a) (rate(x{a=\"b c\"}[5m])) > 0 & 1");
    assert_non_null(strstr(r.text, "+Inf             echo{"));
    assert_non_null(strstr(r.text, "-0.25            {x=\"y\"}"));
    assert_non_null(strstr(r.text, "warning: a warning"));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r.structured, "warnings"), 0)),
        "a warning");
    fs_tool_result_release(&r);

    /* a same-host 307 is followed with the method and body kept */
    assert_int_equal(
        call("prometheus.query", "{\"query\":\"up\"}", url("/redir-same"), NULL, 2000, &r, &e), 0);
    assert_false(r.is_error);
    m = json_object_get(json_array_get(json_object_get(r.structured, "result"), 0), "metric");
    assert_string_equal(json_string_value(json_object_get(m, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(m, "q")), "up");
    fs_tool_result_release(&r);

    expect_fail("prometheus.query", "{\"query\":\"up\"}", url("/redir-other"), NULL,
                "prometheus at http://127.0.0.1");
    assert_int_equal(
        call("prometheus.query", "{\"query\":\"up\"}", url("/redir-other"), NULL, 2000, &r, &e), 0);
    assert_non_null(strstr(r.text, "another host; not followed"));
    fs_tool_result_release(&r);
    expect_fail("prometheus.query", "{\"query\":\"up\"}", url("/redir-loop"), NULL,
                "prometheus at http://127.0.0.1");
    expect_fail("prometheus.query", "{\"query\":\"up\"}", url("/big"), NULL,
                "prometheus: response too large (more than 8 MiB)");
    expect_fail("prometheus.query", "{\"query\":\"up\"}", url("/html"), NULL,
                "prometheus: HTTP 502 from http://127.0.0.1");
    expect_fail("prometheus.query_range", "{\"query\":\"up\"}", url("/err"), NULL,
                "prometheus: execution: query processing would load too many samples");
    expect_fail("prometheus.query", "{\"query\":\"up\"}", url("/slow"), NULL,
                "prometheus at http://127.0.0.1");
    expect_fail("prometheus.query", "{\"query\":\"up\"}", url("/nothing-here"), NULL,
                "prometheus: HTTP 404");
    expect_fail("prometheus.query", "{\"query\":\"up\"}", NULL, NULL,
                "prometheus is not configured (tools.prometheus_url)");
    expect_fail("prometheus.forecast", "{\"query\":\"up\",\"threshold\":1}", NULL, NULL,
                "prometheus is not configured (tools.prometheus_url)");
    expect_fail("prometheus.query", "{\"query\":\"up\"}", "ftp://127.0.0.1/", NULL,
                "prometheus: the configured URL is not usable");

    /* a port nobody listens on */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char dead[64], want[96];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(want, sizeof(want), "prometheus unreachable at %s: ", dead);
    expect_fail("prometheus.query", "{\"query\":\"up\"}", dead, NULL, want);
    snprintf(want, sizeof(want), "loki unreachable at %s: ", dead);
    expect_fail("loki.query_range", "{\"selector\":{\"app\":\"a\"}}", NULL, dead, want);
}

static void expect_bad_args(const char *name, const char *args, const char *path)
{
    struct fs_tool_result r;
    struct fs_err e;
    int rc = call(name, args, url("/ok"), url("/loki"), 1000, &r, &e);
    if (rc != -FS_E_INVALID_PAYLOAD || strcmp(e.path, path) != 0)
        fail_msg("%s %s: rc %d path \"%s\" (%s), want path %s", name, args, rc, e.path, e.msg,
                 path);
}

static void test_argument_errors(void **state)
{
    expect_bad_args("prometheus.query", "{\"query\":\"up\",\"time\":\"tomorrow\"}", "time");
    expect_bad_args("prometheus.query", "{}", "query");
    expect_bad_args("prometheus.query_range",
                    "{\"query\":\"up\",\"start\":\"-1h\",\"end\":\"-2h\"}", "end");
    expect_bad_args("prometheus.query_range", "{\"query\":\"up\",\"step\":\"0s\"}", "step");
    expect_bad_args("prometheus.query_range",
                    "{\"query\":\"up\",\"start\":\"-1d\",\"step\":\"7s\"}", "step");
    expect_bad_args("prometheus.forecast", "{\"query\":\"up\"}", "threshold");
    expect_bad_args("prometheus.forecast", "{\"query\":\"up\",\"threshold\":1,\"range\":\"1x\"}",
                    "range");
    expect_bad_args("prometheus.forecast",
                    "{\"query\":\"up\",\"threshold\":1,\"horizon\":\"soon\"}", "horizon");
    expect_bad_args("prometheus.forecast",
                    "{\"query\":\"up\",\"threshold\":1,\"direction\":\"up\"}", "direction");
    expect_bad_args("loki.query_range", "{\"selector\":{\"a.b\":\"x\"}}", "selector.a.b");
    expect_bad_args("loki.query_range", "{\"selector\":{\"a\":\"x\"},\"limit\":0}", "limit");
    expect_bad_args("loki.query_range", "{\"selector\":{\"a\":\"x\"},\"since\":\"0s\"}", "since");
    expect_bad_args("loki.query_range",
                    "{\"selector\":{\"a\":\"x\"},\"start\":\"now\",\"end\":\"-1h\"}", "end");
    expect_bad_args("loki.query_range", "{\"selector\":{\"a\":\"x\"},\"contains\":[\"\"]}",
                    "contains[0]");
    /* exactly 11000 points is allowed; one more is not */
    struct fs_tool_result r;
    struct fs_err e;
    assert_int_equal(call("prometheus.query_range",
                          "{\"query\":\"up\",\"start\":\"1722506400\",\"end\":\"1722517400\","
                          "\"step\":\"1\"}",
                          url("/ok"), NULL, 2000, &r, &e),
                     0);
    fs_tool_result_release(&r);
    expect_bad_args("prometheus.query_range",
                    "{\"query\":\"up\",\"start\":\"1722506400\",\"end\":\"1722517401\","
                    "\"step\":\"1\"}",
                    "step");
}

static void test_loki_handler_peer(void **state)
{
    struct fs_tool_result r;
    struct fs_err e;
    struct fs_tool_ctx ctx = {.loki_url = url("/loki"), .now_ms = 1722506400000};
    json_t *a = J("{\"selector\":{\"app\":\"api\"},\"contains\":[\"a b\"],\"since\":\"2h\","
                  "\"limit\":7,\"direction\":\"forward\"}");
    assert_int_equal(fs_tools_call(reg, "loki.query_range", a, &ctx, &r, &e), 0);
    json_decref(a);
    assert_false(r.is_error);
    json_t *lines =
        json_object_get(json_array_get(json_object_get(r.structured, "streams"), 0), "lines");
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 0), "line")),
                        "GET nobody q={app=\"api\"} |= \"a b\" start=1722499200000000000 limit=7 "
                        "dir=forward");
    assert_string_equal(json_string_value(json_object_get(r.structured, "query")),
                        "{app=\"api\"} |= \"a b\"");
    assert_int_equal(json_integer_value(json_object_get(r.structured, "lines_total")), 2);
    /* forward: the older line first in the text, its newline escaped */
    const char *older = strstr(r.text, "older\\nline");
    const char *newer = strstr(r.text, "GET nobody");
    assert_non_null(older);
    assert_non_null(newer);
    assert_true(older < newer);
    assert_non_null(strstr(r.text, "2024-08-01T10:00:00.000000001Z {app=\"api\"} older\\nline\n"));
    fs_tool_result_release(&r);
    expect_fail("loki.query_range", "{\"selector\":{\"app\":\"api\"}}", NULL, url("/html"),
                "loki: HTTP 502: <html><body>502 Bad Gateway nginx");
    expect_fail("loki.query_range", "{\"selector\":{\"app\":\"api\"}}", NULL, url("/ok/x"),
                "loki: HTTP 404: 404 page not found");
    expect_fail("loki.query_range", "{\"selector\":{\"app\":\"api\"}}", NULL, NULL,
                "loki is not configured (tools.loki_url)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_step_and_seconds),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_logql_quote),
        cmocka_unit_test(test_logql_build),
        cmocka_unit_test(test_prom_parse),
        cmocka_unit_test(test_loki_parse),
        cmocka_unit_test(test_prom_handler_peer),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_loki_handler_peer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
