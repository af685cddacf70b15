/* Unit tests for the simulated servers (src/eval/sim_net.c) on a world built by hand: the
 * Prometheus API (instant and range queries, linear and point series, Prometheus's number and
 * time formatting, its 11,000-point limit and its bad_data bodies), the Loki API (selectors with
 * each matcher, each line filter, limit, direction, the time window, Loki's parse errors), 404s,
 * and the certificates through forestall's own PEM reader. Then the real tools run against the
 * world through the core/sim.h seam, to show their answers are what the tools accept. */
#include "unit.h"

#include <math.h>
#include <pthread.h>

#include "core/time.h"
#include "eval/world.h"
#include "tools/host_int.h"
#include "tools/obs_int.h"
#include "tools/registry.h"

#define NOW 1722506400123LL /* 2024-08-01T10:00:00.123Z */
#define MINUTE 60000LL
#define HOUR 3600000LL
#define DAY 86400000LL
#define PROM "http://prometheus.sim:9090"
#define LOKI "http://loki.sim:3100"

static struct fs_world *W;

/* ---- the world ------------------------------------------------------------------------------ */

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static struct fs_sim_series *add_series(const char *match, const char *labels, double value,
                                        double per_hour)
{
    W->series = realloc(W->series, (W->nseries + 1) * sizeof(*W->series));
    struct fs_sim_series *s = &W->series[W->nseries++];
    memset(s, 0, sizeof(*s));
    s->match = strdup(match);
    s->labels = J(labels);
    s->value = value;
    s->per_hour = per_hour;
    return s;
}

struct line_spec {
    int64_t age_ms;
    const char *text;
};

static void add_stream(const char *labels, const struct line_spec *lines, size_t n)
{
    W->streams = realloc(W->streams, (W->nstreams + 1) * sizeof(*W->streams));
    struct fs_sim_stream *st = &W->streams[W->nstreams++];
    st->labels = J(labels);
    st->lines = calloc(n, sizeof(*st->lines));
    st->n = n;
    for (size_t i = 0; i < n; i++) {
        st->lines[i].t_ms = NOW - lines[i].age_ms;
        st->lines[i].text = strdup(lines[i].text);
    }
}

static void add_endpoint(const char *host, int64_t port, const char *subject, const char *issuer,
                         int64_t not_before, int64_t not_after)
{
    W->endpoints = realloc(W->endpoints, (W->nendpoints + 1) * sizeof(*W->endpoints));
    struct fs_sim_cert *c = &W->endpoints[W->nendpoints++];
    memset(c, 0, sizeof(*c));
    c->host = strdup(host);
    c->port = port;
    c->subject = strdup(subject);
    c->issuer = strdup(issuer);
    c->not_before_ms = not_before;
    c->not_after_ms = not_after;
}

static void world_free(struct fs_world *w)
{
    for (size_t i = 0; i < w->nseries; i++) {
        free(w->series[i].match);
        json_decref(w->series[i].labels);
        free(w->series[i].points);
    }
    for (size_t i = 0; i < w->nstreams; i++) {
        json_decref(w->streams[i].labels);
        for (size_t j = 0; j < w->streams[i].n; j++)
            free(w->streams[i].lines[j].text);
        free(w->streams[i].lines);
    }
    for (size_t i = 0; i < w->nendpoints; i++) {
        free(w->endpoints[i].host);
        free(w->endpoints[i].subject);
        free(w->endpoints[i].issuer);
    }
    free(w->series);
    free(w->streams);
    free(w->endpoints);
    fs_world_pem_release(w);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static int setup(void **state)
{
    W = calloc(1, sizeof(*W));
    pthread_mutex_init(&W->mu, NULL);
    W->now_ms = NOW;
    add_series("disk_used_percent",
               "{\"__name__\":\"disk_used_percent\",\"instance\":\"web-1:9100\","
               "\"mountpoint\":\"/\"}",
               80, 1);
    add_series("node_load1", "{\"__name__\":\"node_load1\",\"instance\":\"web-1:9100\"}", 0.5, 0);
    struct fs_sim_series *s =
        add_series("req_rate", "{\"__name__\":\"req_rate\",\"job\":\"api\"}", 0, 0);
    s->points = calloc(3, sizeof(*s->points));
    s->npoints = 3;
    s->points[0] = (struct fs_sim_point){NOW - 10 * MINUTE, 1};
    s->points[1] = (struct fs_sim_point){NOW - 5 * MINUTE, 6};
    s->points[2] = (struct fs_sim_point){NOW - 2 * MINUTE, 0};
    add_series("fmt_tiny", "{\"f\":\"tiny\"}", 1e-7, 0);
    add_series("fmt_huge", "{\"f\":\"huge\"}", 1e21, 0);
    add_series("fmt_big", "{\"f\":\"big\"}", 1e20, 0);
    add_series("fmt_third", "{\"f\":\"third\"}", 0.1 + 0.2, 0);
    add_series("fmt_small", "{\"f\":\"small\"}", -1.5e-6, 0);

    static const struct line_spec api[] = {
        {50 * MINUTE, "GET /health 200"},       {40 * MINUTE, "POST /orders 500 error: timeout"},
        {30 * MINUTE, "GET /orders 200"},       {20 * MINUTE, "error: db connection refused"},
        {10 * MINUTE, "warn: slow query 2.5s"},
    };
    static const struct line_spec worker[] = {
        {45 * MINUTE, "job 1 done"},
        {25 * MINUTE, "note: say \"hi\"\tpath C:\\temp"},
        {15 * MINUTE, "error: job 2 failed"},
    };
    static const struct line_spec staging[] = {
        {90 * MINUTE, "old line"},
        {5 * MINUTE, "error: staging only"},
    };
    add_stream("{\"app\":\"api\",\"env\":\"prod\"}", api, FS_ARRAY_LEN(api));
    add_stream("{\"app\":\"worker\",\"env\":\"prod\"}", worker, FS_ARRAY_LEN(worker));
    add_stream("{\"app\":\"api\",\"env\":\"staging\"}", staging, FS_ARRAY_LEN(staging));

    add_endpoint("old.example.com", 443, "CN=old.example.com, O=Example, C=GB",
                 "C=US, O=Let's Encrypt, CN=R11", 0, NOW - 3 * DAY);
    add_endpoint("new.example.com", 8443, "CN=new.example.com", "C=US, O=Let's Encrypt, CN=R11",
                 NOW - 80 * DAY, NOW + 9 * DAY);
    return 0;
}

static int teardown(void **state)
{
    world_free(W);
    return 0;
}

/* ---- requests ------------------------------------------------------------------------------- */

static struct fs_buf body = FS_BUF_INIT(FS_OBS_MAX_BODY);

/* One request; the status. The body is in `body`. */
static long http(const char *url, bool post, const char *form)
{
    long status = -1;
    struct fs_err e = {0};
    fs_buf_release(&body);
    int rc = fs_world_http(W, url, post, form, &status, &body, &e);
    if (rc != 0)
        fail_msg("fs_world_http %s: %d %s", url, rc, e.msg);
    return status;
}

/* A form from pairs (NULL-terminated), each value percent-encoded. */
static char *form_of(const char *k, ...)
{
    struct fs_buf f = FS_BUF_INIT(0);
    va_list ap;
    va_start(ap, k);
    for (; k; k = va_arg(ap, const char *))
        assert_int_equal(fs_obs_form_add(&f, k, va_arg(ap, const char *)), 0);
    va_end(ap);
    if (!f.data)
        fs_buf_puts(&f, "");
    return fs_buf_detach(&f, NULL);
}

/* POST a form to Prometheus, expect success: the parsed data (caller decrefs). */
static json_t *prom_ok(const char *path, char *form)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", PROM, path);
    long st = http(url, true, form);
    if (st != 200)
        fail_msg("%s %s: %ld %s", path, form, st, fs_buf_str(&body));
    free(form);
    json_t *data = NULL;
    struct fs_prom_error pe;
    struct fs_err e = {0};
    int rc = fs_prom_parse(body.data, body.len, &data, &pe, &e);
    if (rc != 0)
        fail_msg("fs_prom_parse: %d %s in %s", rc, e.msg, fs_buf_str(&body));
    return data;
}

/* POST a form to Prometheus, expect a 400 with exactly this bad_data message. */
static void prom_bad(const char *path, char *form, const char *msg)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", PROM, path);
    assert_int_equal(http(url, true, form), 400);
    free(form);
    json_t *j =
        json_pack("{s:s,s:s,s:s}", "status", "error", "errorType", "bad_data", "error", msg);
    char *want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(fs_buf_str(&body), want);
    free(want);
    json_decref(j);
    /* and forestall's parser reads it as Prometheus's own error */
    json_t *data = NULL;
    struct fs_prom_error pe;
    struct fs_err e = {0};
    assert_int_equal(fs_prom_parse(body.data, body.len, &data, &pe, &e), 1);
    assert_string_equal(pe.type, "bad_data");
    assert_string_equal(pe.msg, msg);
}

static const char *sval(json_t *v)
{
    return json_string_value(v);
}

/* The value of result[i] of an instant query, read back from Prometheus's text. */
static double value_at(json_t *data, size_t i)
{
    return json_number_value(
        json_object_get(json_array_get(json_object_get(data, "result"), i), "value"));
}

/* values[j] of result[i] of a range query: [t, v]. */
static json_t *point_at(json_t *data, size_t i, size_t j)
{
    return json_array_get(
        json_object_get(json_array_get(json_object_get(data, "result"), i), "values"), j);
}

/* ---- Prometheus ----------------------------------------------------------------------------- */

static void test_prom_instant(void **state)
{
    json_t *d = prom_ok("/api/v1/query", form_of("query", "disk_used_percent{mountpoint=\"/\"}",
                                                 "timeout", "10.000", NULL));
    assert_non_null(strstr(fs_buf_str(&body), "\"value\":[1722506400.123,\"80\"]"));
    assert_string_equal(sval(json_object_get(d, "resultType")), "vector");
    json_t *r = json_object_get(d, "result");
    assert_int_equal(json_array_size(r), 1);
    json_t *m = json_object_get(json_array_get(r, 0), "metric");
    assert_string_equal(sval(json_object_get(m, "__name__")), "disk_used_percent");
    assert_string_equal(sval(json_object_get(m, "instance")), "web-1:9100");
    assert_string_equal(sval(json_object_get(m, "mountpoint")), "/");
    assert_true(json_number_value(json_object_get(json_array_get(r, 0), "value")) == 80.0);
    assert_true(json_number_value(json_object_get(json_array_get(r, 0), "time")) == 1722506400.123);
    json_decref(d);

    /* the same as a GET */
    char *f = form_of("query", "disk_used_percent", NULL);
    char url[512];
    snprintf(url, sizeof(url), "%s/api/v1/query?%s", PROM, f);
    free(f);
    assert_int_equal(http(url, false, NULL), 200);
    assert_non_null(strstr(fs_buf_str(&body), "\"value\":[1722506400.123,\"80\"]"));

    /* no series matches: an empty vector, not an error */
    d = prom_ok("/api/v1/query", form_of("query", "up{job=\"node\"}", NULL));
    assert_string_equal(fs_buf_str(&body),
                        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                        "\"result\":[]}}");
    json_decref(d);

    /* an earlier time, as Unix seconds and as RFC 3339: an hour back is 1 less */
    d = prom_ok("/api/v1/query",
                form_of("query", "disk_used_percent", "time", "1722502800.123", NULL));
    assert_non_null(strstr(fs_buf_str(&body), "\"value\":[1722502800.123,\"79\"]"));
    json_decref(d);
    d = prom_ok("/api/v1/query",
                form_of("query", "disk_used_percent", "time", "2024-08-01T09:30:00Z", NULL));
    assert_non_null(strstr(fs_buf_str(&body), "\"value\":[1722504600,\""));
    assert_true(value_at(d, 0) == 80.0 - 1800123.0 / 3600000.0);
    json_decref(d);

    /* two matches, sorted by their labels; the points series ended before now: no sample */
    d = prom_ok("/api/v1/query",
                form_of("query", "node_load1 / disk_used_percent + req_rate", NULL));
    r = json_object_get(d, "result");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(
        sval(json_object_get(json_object_get(json_array_get(r, 0), "metric"), "__name__")),
        "disk_used_percent");
    assert_true(value_at(d, 1) == 0.5);
    json_decref(d);
    /* inside its points: interpolated */
    d = prom_ok("/api/v1/query", form_of("query", "req_rate", "time", "1722505950.123", NULL));
    assert_true(value_at(d, 0) == 3.5); /* 7.5 min back: halfway from 1 (10 min) to 6 (5 min) */
    json_decref(d);
}

/* Values written as Prometheus writes them: shortest round trip, exponents only below 1e-6 and
 * from 1e21 up. */
static void test_prom_number_format(void **state)
{
    static const struct {
        const char *q, *want;
    } cases[] = {
        {"fmt_tiny", "\"1e-07\""},
        {"fmt_huge", "\"1e+21\""},
        {"fmt_big", "\"100000000000000000000\""},
        {"fmt_third", "\"0.30000000000000004\""},
        {"fmt_small", "\"-0.0000015\""},
        {"node_load1", "\"0.5\""},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        json_t *d = prom_ok("/api/v1/query", form_of("query", cases[i].q, NULL));
        char want[128];
        snprintf(want, sizeof(want), "[1722506400.123,%s]", cases[i].want);
        if (!strstr(fs_buf_str(&body), want))
            fail_msg("%s: want %s in %s", cases[i].q, want, fs_buf_str(&body));
        json_decref(d);
    }
}

static void test_prom_range(void **state)
{
    /* linear: 61 points a minute apart over the last hour, 79 → 80 */
    json_t *d = prom_ok("/api/v1/query_range",
                        form_of("query", "disk_used_percent", "start", "1722502800.123", "end",
                                "1722506400.123", "step", "60", "timeout", "10.000", NULL));
    assert_string_equal(sval(json_object_get(d, "resultType")), "matrix");
    json_t *vals = json_object_get(json_array_get(json_object_get(d, "result"), 0), "values");
    assert_int_equal(json_array_size(vals), 61);
    assert_true(json_number_value(json_array_get(point_at(d, 0, 0), 0)) == 1722502800.123);
    assert_true(json_number_value(json_array_get(point_at(d, 0, 0), 1)) == 79.0);
    assert_true(json_number_value(json_array_get(point_at(d, 0, 30), 1)) == 79.5);
    assert_true(json_number_value(json_array_get(point_at(d, 0, 60), 1)) == 80.0);
    assert_true(json_number_value(json_array_get(point_at(d, 0, 60), 0)) == 1722506400.123);
    assert_true(json_number_value(json_array_get(point_at(d, 0, 1), 1)) == 80.0 - 59.0 / 60.0);
    assert_non_null(strstr(fs_buf_str(&body), "[1722502800.123,\"79\"],[1722502860.123,"));
    json_decref(d);

    /* a duration step and RFC 3339 bounds give the same */
    d = prom_ok("/api/v1/query_range",
                form_of("query", "disk_used_percent", "start", "2024-08-01T09:00:00.123Z", "end",
                        "2024-08-01T10:00:00.123Z", "step", "1m", NULL));
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(json_object_get(d, "result"), 0), "values")),
        61);
    json_decref(d);

    /* points: samples only from the first point to the last, interpolated between */
    d = prom_ok("/api/v1/query_range", form_of("query", "req_rate", "start", "1722505500.123",
                                               "end", "1722506400.123", "step", "60", NULL));
    static const double want[] = {1, 2, 3, 4, 5, 6, 4, 2, 0};
    vals = json_object_get(json_array_get(json_object_get(d, "result"), 0), "values");
    assert_int_equal(json_array_size(vals), FS_ARRAY_LEN(want));
    assert_true(json_number_value(json_array_get(json_array_get(vals, 0), 0)) ==
                (NOW - 10 * MINUTE) / 1000.0);
    for (size_t i = 0; i < FS_ARRAY_LEN(want); i++)
        assert_true(json_number_value(json_array_get(json_array_get(vals, i), 1)) == want[i]);
    json_decref(d);

    /* a range entirely outside the points: the series is left out of the matrix */
    d = prom_ok("/api/v1/query_range", form_of("query", "req_rate", "start", "1722500000", "end",
                                               "1722501000", "step", "60", NULL));
    assert_int_equal(json_array_size(json_object_get(d, "result")), 0);
    json_decref(d);

    /* 11000 steps is the most Prometheus answers: 11001 points */
    d = prom_ok("/api/v1/query_range",
                form_of("query", "node_load1", "start", "1000", "end", "12000", "step", "1", NULL));
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(json_object_get(d, "result"), 0), "values")),
        11001);
    json_decref(d);
    prom_bad("/api/v1/query_range",
             form_of("query", "node_load1", "start", "1000", "end", "12001", "step", "1", NULL),
             "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
             "query resolution (?step=XX)");
    prom_bad("/api/v1/query_range",
             form_of("query", "node_load1", "start", "1722502800", "end", "1722506400", "step",
                     "0.3", NULL),
             "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
             "query resolution (?step=XX)");
}

static void test_prom_bad_params(void **state)
{
    prom_bad("/api/v1/query", form_of("time", "1722506400", NULL),
             "invalid parameter \"query\": 1:1: parse error: no expression found in input");
    prom_bad("/api/v1/query", form_of("query", "  ", NULL),
             "invalid parameter \"query\": 1:1: parse error: no expression found in input");
    prom_bad("/api/v1/query", form_of("query", "up", "time", "yesterday", NULL),
             "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp");
    prom_bad("/api/v1/query", form_of("query", "up", "timeout", "soon", NULL),
             "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration");
    prom_bad("/api/v1/query_range", form_of("query", "up", "end", "2", "step", "1", NULL),
             "invalid parameter \"start\": cannot parse \"\" to a valid timestamp");
    prom_bad("/api/v1/query_range",
             form_of("query", "up", "start", "1", "end", "2\n\"x", "step", "1", NULL),
             "invalid parameter \"end\": cannot parse \"2\\n\\\"x\" to a valid timestamp");
    prom_bad("/api/v1/query_range",
             form_of("query", "up", "start", "5", "end", "2", "step", "1", NULL),
             "end timestamp must not be before start time");
    prom_bad("/api/v1/query_range",
             form_of("query", "up", "start", "1", "end", "2", "step", "abc", NULL),
             "invalid parameter \"step\": cannot parse \"abc\" to a valid duration");
    prom_bad("/api/v1/query_range", form_of("query", "up", "start", "1", "end", "2", NULL),
             "invalid parameter \"step\": cannot parse \"\" to a valid duration");
    prom_bad("/api/v1/query_range",
             form_of("query", "up", "start", "1", "end", "2", "step", "0", NULL),
             "zero or negative query resolution step widths are not accepted. Try a positive "
             "integer");
    prom_bad("/api/v1/query_range",
             form_of("query", "up", "start", "1", "end", "2", "step", "-15s", NULL),
             "invalid parameter \"step\": cannot parse \"-15s\" to a valid duration");
    prom_bad("/api/v1/query_range",
             form_of("query", "up", "start", "1", "end", "2", "step", "-15", NULL),
             "zero or negative query resolution step widths are not accepted. Try a positive "
             "integer");
    prom_bad("/api/v1/query_range", form_of("start", "1", "end", "2", "step", "1", NULL),
             "invalid parameter \"query\": 1:1: parse error: no expression found in input");
}

/* ---- Loki ----------------------------------------------------------------------------------- */

/* GET a Loki query_range; the status (body in `body`). start/end NULL = left out. */
static long loki(const char *query, const char *start, const char *end, const char *limit,
                 const char *direction)
{
    struct fs_buf f = FS_BUF_INIT(0);
    assert_int_equal(fs_obs_form_add(&f, "query", query), 0);
    if (start)
        assert_int_equal(fs_obs_form_add(&f, "start", start), 0);
    if (end)
        assert_int_equal(fs_obs_form_add(&f, "end", end), 0);
    if (limit)
        assert_int_equal(fs_obs_form_add(&f, "limit", limit), 0);
    if (direction)
        assert_int_equal(fs_obs_form_add(&f, "direction", direction), 0);
    char *url = malloc(f.len + 128);
    snprintf(url, f.len + 128, "%s/loki/api/v1/query_range?%s", LOKI, fs_buf_str(&f));
    long st = http(url, false, NULL);
    free(url);
    fs_buf_release(&f);
    return st;
}

static char hour_ago_ns[32], now_ns[32];

/* The lines of a successful answer, stream by stream, as "line|line;line" (streams split by
 * ';'), checked through forestall's own parser. */
static const char *loki_lines(const char *query, const char *limit, const char *direction)
{
    static char out[2048];
    long st = loki(query, hour_ago_ns, now_ns, limit, direction);
    if (st != 200)
        fail_msg("%s: %ld %s", query, st, fs_buf_str(&body));
    json_t *res = NULL;
    struct fs_err e = {0};
    if (fs_loki_parse(body.data, body.len, 4096, &res, NULL, &e) != 0)
        fail_msg("fs_loki_parse: %s in %s", e.msg, fs_buf_str(&body));
    size_t o = 0, i, j;
    json_t *s, *l;
    out[0] = '\0';
    json_array_foreach(json_object_get(res, "streams"), i, s)
    {
        json_array_foreach(json_object_get(s, "lines"), j, l)
        {
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
                                  j   ? "|"
                                  : i ? ";"
                                      : "",
                                  sval(json_object_get(l, "line")));
        }
    }
    json_decref(res);
    return out;
}

static void loki_bad(const char *query, const char *start, const char *end, const char *limit,
                     const char *direction, const char *want)
{
    assert_int_equal(loki(query, start, end, limit, direction), 400);
    assert_string_equal(fs_buf_str(&body), want);
}

static void test_loki_selector(void **state)
{
    snprintf(hour_ago_ns, sizeof(hour_ago_ns), "%lld", (long long)(NOW - HOUR) * 1000000);
    snprintf(now_ns, sizeof(now_ns), "%lld", (long long)NOW * 1000000);
    /* backward (the default): newest first, per stream; the 90-minute-old line is outside */
    assert_string_equal(loki_lines("{app=\"api\"}", NULL, NULL),
                        "warn: slow query 2.5s|error: db connection refused|GET /orders 200|"
                        "POST /orders 500 error: timeout|GET /health 200;error: staging only");
    char ts[40];
    snprintf(ts, sizeof(ts), "[[\"%lld\",\"warn: slow query 2.5s\"]",
             (long long)(NOW - 10 * MINUTE) * 1000000);
    assert_non_null(strstr(fs_buf_str(&body), ts));
    assert_non_null(
        strstr(fs_buf_str(&body), "{\"stream\":{\"app\":\"api\",\"env\":\"prod\"},\"values\":"));
    /* each matcher */
    assert_string_equal(loki_lines("{app=~\"api|worker\", env!=\"prod\"}", NULL, NULL),
                        "error: staging only");
    assert_string_equal(loki_lines("{ app =~ \"a.*\" , env =~ \"prod\" }", "1", NULL),
                        "warn: slow query 2.5s");
    assert_string_equal(loki_lines("{app!~\"a.*\",env=\"prod\"}", NULL, "forward"),
                        "job 1 done|note: say \"hi\"\tpath C:\\temp|error: job 2 failed");
    /* label regexes are anchored: "ap" is not "api" */
    assert_string_equal(loki_lines("{app=~\"ap\"}", NULL, NULL), "");
    assert_string_equal(fs_buf_str(&body),
                        "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\","
                        "\"result\":[],\"stats\":{}}}");
    /* a label a stream lacks is the empty string */
    assert_string_equal(loki_lines("{app=\"api\",team=\"\"}", "2", NULL),
                        "warn: slow query 2.5s;error: staging only");
    assert_string_equal(loki_lines("{app=\"api\",team!=\"\"}", NULL, NULL), "");
    /* backticks and escapes */
    assert_string_equal(loki_lines("{app=`worker`} |= `C:\\temp`", NULL, NULL),
                        "note: say \"hi\"\tpath C:\\temp");
    assert_string_equal(
        loki_lines("{app=\"\\x61p\\u0069\",env=\"\\160rod\"} |= \"\\u0077arn\"", NULL, NULL),
        "warn: slow query 2.5s");
}

static void test_loki_filters(void **state)
{
    const char *prod = "{app=\"api\",env=\"prod\"}";
    char q[256];
    snprintf(q, sizeof(q), "%s |= \"error\"", prod);
    assert_string_equal(loki_lines(q, NULL, NULL),
                        "error: db connection refused|POST /orders 500 error: timeout");
    snprintf(q, sizeof(q), "%s != \"error\"", prod);
    assert_string_equal(loki_lines(q, NULL, NULL),
                        "warn: slow query 2.5s|GET /orders 200|GET /health 200");
    snprintf(q, sizeof(q), "%s |~ \"^(GET|POST) /orders\"", prod);
    assert_string_equal(loki_lines(q, NULL, NULL),
                        "GET /orders 200|POST /orders 500 error: timeout");
    snprintf(q, sizeof(q), "%s !~ \"[0-9]{3}$\"", prod);
    assert_string_equal(loki_lines(q, NULL, NULL),
                        "warn: slow query 2.5s|error: db connection refused|POST /orders 500 "
                        "error: timeout");
    /* chained, left to right, across streams */
    assert_string_equal(loki_lines("{env=\"prod\"} |= \"error\" != \"timeout\"", NULL, NULL),
                        "error: db connection refused;error: job 2 failed");
    assert_string_equal(loki_lines("{env=\"prod\"} |~ \"(?i)ERROR\" !~ \"job\"", NULL, "forward"),
                        "POST /orders 500 error: timeout|error: db connection refused");
    /* what fs_logql_quote writes reads back as the same text */
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, "{app=\"worker\"} |= ");
    fs_logql_quote(&b, "say \"hi\"\tpath C:\\temp");
    assert_string_equal(loki_lines(fs_buf_str(&b), NULL, NULL), "note: say \"hi\"\tpath C:\\temp");
    fs_buf_release(&b);
}

static void test_loki_limit_direction_window(void **state)
{
    /* the limit counts lines over all streams, nearest the start of the direction */
    assert_string_equal(loki_lines("{env=\"prod\"}", "2", "backward"),
                        "warn: slow query 2.5s;error: job 2 failed");
    assert_string_equal(loki_lines("{env=\"prod\"}", "2", "FORWARD"), "GET /health 200;job 1 done");
    assert_string_equal(loki_lines("{env=\"prod\"}", "3", "forward"),
                        "GET /health 200|POST /orders 500 error: timeout;job 1 done");
    /* [start, end], each form of time Loki takes */
    char a[40], z[40];
    snprintf(a, sizeof(a), "%lld", (long long)(NOW - 30 * MINUTE) * 1000000);
    snprintf(z, sizeof(z), "%lld", (long long)(NOW - 20 * MINUTE) * 1000000);
    assert_int_equal(loki("{app=\"api\",env=\"prod\"}", a, z, NULL, "forward"), 200);
    assert_non_null(strstr(fs_buf_str(&body), "GET /orders 200\"],[\""));
    assert_non_null(strstr(fs_buf_str(&body), "error: db connection refused\"]]"));
    assert_null(strstr(fs_buf_str(&body), "warn"));
    assert_int_equal(
        loki("{app=\"api\",env=\"prod\"}", "1722504600.123", "2024-08-01T09:39:00Z", NULL, NULL),
        200);
    assert_non_null(strstr(fs_buf_str(&body), "GET /orders 200"));
    assert_null(strstr(fs_buf_str(&body), "POST"));
    assert_null(strstr(fs_buf_str(&body), "connection refused"));
    /* start and end left out: the last hour up to the world's now */
    assert_int_equal(loki("{app=\"api\",env=\"staging\"}", NULL, NULL, NULL, NULL), 200);
    assert_non_null(strstr(fs_buf_str(&body), "error: staging only"));
    assert_null(strstr(fs_buf_str(&body), "old line"));
    /* seconds (10 digits or fewer) */
    assert_int_equal(loki("{app=\"api\",env=\"staging\"}", "1722502000", NULL, NULL, NULL), 200);
    assert_null(strstr(fs_buf_str(&body), "old line"));
    assert_non_null(strstr(fs_buf_str(&body), "error: staging only"));
    assert_int_equal(loki("{app=\"api\",env=\"staging\"}", "1722500000", "1722502000", NULL, NULL),
                     200);
    assert_non_null(strstr(fs_buf_str(&body), "old line"));
}

static void test_loki_errors(void **state)
{
    loki_bad("{app=~\".*\"}", NULL, NULL, NULL, NULL,
             "parse error : queries require at least one regexp or equality matcher that does "
             "not have an empty-compatible value. For instance, app=~\".*\" does not meet this "
             "requirement, but app=~\".+\" will\n");
    loki_bad("{app!=\"api\"}", NULL, NULL, NULL, NULL,
             "parse error : queries require at least one regexp or equality matcher that does "
             "not have an empty-compatible value. For instance, app=~\".*\" does not meet this "
             "requirement, but app=~\".+\" will\n");
    loki_bad("{app=\"api\"", NULL, NULL, NULL, NULL,
             "parse error at line 1, col 11: syntax error: unexpected $end, expecting , or }\n");
    loki_bad("{}", NULL, NULL, NULL, NULL,
             "parse error at line 1, col 2: syntax error: unexpected }, expecting IDENTIFIER\n");
    loki_bad("", NULL, NULL, NULL, NULL,
             "parse error at line 1, col 1: syntax error: unexpected $end, expecting {\n");
    loki_bad("{app=\"api\"} |= error", NULL, NULL, NULL, NULL,
             "parse error at line 1, col 16: syntax error: unexpected IDENTIFIER, expecting "
             "STRING\n");
    loki_bad("{app=\"api\"}\n  |= 5", NULL, NULL, NULL, NULL,
             "parse error at line 2, col 6: syntax error: unexpected NUMBER, expecting STRING\n");
    loki_bad("{app: \"api\"}", NULL, NULL, NULL, NULL,
             "parse error at line 1, col 5: syntax error: unexpected :, expecting = or != or =~ "
             "or !~\n");
    loki_bad("{app=\"api}", NULL, NULL, NULL, NULL,
             "parse error at line 1, col 6: literal not terminated\n");
    loki_bad("{app=\"a\\qb\"}", NULL, NULL, NULL, NULL,
             "parse error at line 1, col 8: invalid char escape\n");
    assert_int_equal(loki("{app=~\"(\"}", NULL, NULL, NULL, NULL), 400);
    assert_true(!strncmp(fs_buf_str(&body), "parse error at line 1, col 7: invalid regex: ", 45));
    assert_int_equal(loki("{app=\"api\"} |~ \"[a\"", NULL, NULL, NULL, NULL), 400);
    assert_true(!strncmp(fs_buf_str(&body), "parse error at line 1, col 16: invalid regex: ", 46));
    assert_int_equal(loki("{app=\"api\"} | json", NULL, NULL, NULL, NULL), 400);
    assert_true(!strncmp(fs_buf_str(&body), "parse error at line 1, col 13: ", 31));
    assert_int_equal(loki("count_over_time({app=\"api\"}[5m])", NULL, NULL, NULL, NULL), 400);
    assert_true(!strncmp(fs_buf_str(&body), "parse error at line 1, col 1: ", 30));

    loki_bad("{app=\"api\"}", NULL, NULL, "0", NULL, "limit must be a positive value\n");
    loki_bad("{app=\"api\"}", NULL, NULL, "ten", NULL,
             "strconv.ParseInt: parsing \"ten\": invalid syntax\n");
    loki_bad("{app=\"api\"}", NULL, NULL, "5001", NULL,
             "max entries limit per query exceeded, limit > max_entries_limit (5001 > 5000)\n");
    loki_bad("{app=\"api\"}", NULL, NULL, NULL, "sideways", "invalid direction \"sideways\"\n");
    loki_bad("{app=\"api\"}", "1722506400", "1722500000", NULL, NULL,
             "end timestamp must not be before or equal to start time\n");
    loki_bad("{app=\"api\"}", "an hour ago", NULL, NULL, NULL,
             "cannot parse \"an hour ago\" to a valid timestamp\n");
    /* Loki refuses a form it cannot decode */
    assert_int_equal(
        http(LOKI "/loki/api/v1/query_range?query=%7Bapp%3D%22api%22%7D&limit=%zz", false, NULL),
        400);
    assert_string_equal(fs_buf_str(&body), "invalid URL escape \"%zz\"\n");
}

static void test_not_found(void **state)
{
    assert_int_equal(http(PROM "/api/v2/query", true, "query=up"), 404);
    assert_string_equal(fs_buf_str(&body), "404 page not found\n");
    assert_int_equal(http(LOKI "/loki/api/v1/query?query=%7Bapp%3D%22api%22%7D", false, NULL), 404);
    assert_string_equal(fs_buf_str(&body), "404 page not found\n");
    assert_int_equal(http(PROM "/", false, NULL), 404);
    assert_int_equal(http("", false, NULL), 404);
    /* a prefix before the API path is served, as behind a reverse proxy */
    assert_int_equal(http(PROM "/prom/api/v1/query", true, "query=node_load1"), 200);
}

/* ---- certificates --------------------------------------------------------------------------- */

static json_t *pem_of(const struct fs_sim_cert *c)
{
    struct fs_buf pem = FS_BUF_INIT(1 << 20);
    struct fs_err e = {0};
    int rc = fs_world_pem(W, c, &pem, &e);
    if (rc != 0)
        fail_msg("fs_world_pem: %s", e.msg);
    assert_non_null(strstr(fs_buf_str(&pem), "-----BEGIN CERTIFICATE-----\n"));
    json_t *res = NULL;
    rc = fs_hp_pem(pem.data, pem.len, NOW, &res, &e);
    if (rc != 0)
        fail_msg("fs_hp_pem: %s", e.msg);
    fs_buf_release(&pem);
    return res;
}

static void test_pem(void **state)
{
    char want[40];
    json_t *r = pem_of(&W->endpoints[0]);
    json_t *c = json_array_get(json_object_get(r, "certificates"), 0);
    assert_string_equal(sval(json_object_get(c, "subject")), "CN=old.example.com,O=Example,C=GB");
    assert_string_equal(sval(json_object_get(c, "issuer")), "C=US,O=Let's Encrypt,CN=R11");
    assert_int_equal(json_integer_value(json_object_get(c, "days_left")), -3);
    assert_true(json_is_true(json_object_get(c, "expired")));
    /* whole seconds: the expiry rounded up, the start (90 days before) rounded down */
    assert_string_equal(sval(json_object_get(c, "not_after")),
                        fs_time_format(NOW - 3 * DAY - 123 + 1000, want, sizeof(want)));
    assert_string_equal(sval(json_object_get(c, "not_before")),
                        fs_time_format(NOW - 93 * DAY - 123, want, sizeof(want)));
    assert_int_equal(json_integer_value(json_object_get(r, "min_days_left")), -3);
    void *key = W->pem_key;
    assert_non_null(key);
    json_decref(r);

    r = pem_of(&W->endpoints[1]);
    c = json_array_get(json_object_get(r, "certificates"), 0);
    assert_string_equal(sval(json_object_get(c, "subject")), "CN=new.example.com");
    assert_string_equal(sval(json_object_get(c, "issuer")), "C=US,O=Let's Encrypt,CN=R11");
    assert_int_equal(json_integer_value(json_object_get(c, "days_left")), 9);
    assert_true(json_is_false(json_object_get(c, "expired")));
    assert_string_equal(sval(json_object_get(c, "not_before")),
                        fs_time_format(NOW - 80 * DAY - 123, want, sizeof(want)));
    assert_ptr_equal(W->pem_key, key); /* one key per world */
    json_decref(r);

    /* a bare name is a common name; a backslash escapes a comma */
    struct fs_sim_cert odd = {.subject = "legacy.example.com",
                              .issuer = "CN=Example CA\\, Inc., O=Example",
                              .not_after_ms = NOW + DAY};
    r = pem_of(&odd);
    c = json_array_get(json_object_get(r, "certificates"), 0);
    assert_string_equal(sval(json_object_get(c, "subject")), "CN=legacy.example.com");
    assert_string_equal(sval(json_object_get(c, "issuer")), "CN=Example CA\\, Inc.,O=Example");
    assert_int_equal(json_integer_value(json_object_get(c, "days_left")), 1);
    json_decref(r);

    /* an attribute OpenSSL does not know is an error naming it */
    struct fs_sim_cert bad = {.subject = "CN=x, QQ=y", .issuer = "CN=x", .not_after_ms = NOW};
    struct fs_buf pem = FS_BUF_INIT(0);
    struct fs_err e = {0};
    assert_int_equal(fs_world_pem(W, &bad, &pem, &e), -FS_E_SYSTEM);
    assert_non_null(strstr(e.msg, "QQ=y"));
    assert_int_equal(pem.len, 0);
    fs_buf_release(&pem);
}

/* ---- the real tools against the world ------------------------------------------------------- */

/* Programs are not this file's business: a standin that has none. */
static int sim_run_standin(const struct fs_sim *s, const char *host, struct fs_child *c,
                           struct fs_err *err)
{
    return fs_err_set(err, FS_E_NOT_FOUND, NULL, "standin: no programs in this world");
}

static struct fs_tool_result call(const char *tool, const char *args)
{
    static struct fs_registry *reg;
    struct fs_err e = {0};
    if (!reg)
        assert_int_equal(fs_registry_new(&reg, &e), 0);
    struct fs_sim sim;
    fs_world_sim(W, &sim); /* the simulator's hooks, with the world's lock */
    sim.run = sim_run_standin;
    struct fs_tool_ctx ctx = {.target = FS_TOOL_SIM,
                              .sim = &sim,
                              .sim_host = "",
                              .now_ms = NOW,
                              .prometheus_url = PROM,
                              .loki_url = LOKI};
    struct fs_tool_result r = {0};
    json_t *a = J(args);
    int rc = fs_tools_call(reg, tool, a, &ctx, &r, &e);
    json_decref(a);
    if (rc != 0)
        fail_msg("%s %s: %d %s", tool, args, rc, e.msg);
    return r;
}

static json_t *at(json_t *v, const char *path)
{
    char key[64];
    for (const char *p = path; *p && v;) {
        if (*p == '.')
            p++;
        if (*p == '[') {
            v = json_array_get(v, strtoul(p + 1, NULL, 10));
            p = strchr(p, ']') + 1;
            continue;
        }
        size_t n = strcspn(p, ".[");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        v = json_object_get(v, key);
        p += n;
    }
    return v;
}

static void test_tools_prometheus(void **state)
{
    struct fs_tool_result r = call("prometheus.query", "{\"query\":\"disk_used_percent\"}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_string_equal(sval(at(r.structured, "resultType")), "vector");
    assert_true(json_number_value(at(r.structured, "result[0].value")) == 80.0);
    assert_string_equal(sval(at(r.structured, "result[0].metric.instance")), "web-1:9100");
    assert_non_null(strstr(r.text, "vector: 1 result at 2024-08-01T10:00:00.123Z"));
    fs_tool_result_release(&r);

    r = call("prometheus.query_range",
             "{\"query\":\"disk_used_percent\",\"start\":\"-1h\",\"step\":\"60\"}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_string_equal(sval(at(r.structured, "resultType")), "matrix");
    assert_int_equal(json_integer_value(at(r.structured, "result[0].summary.count")), 61);
    assert_true(json_number_value(at(r.structured, "result[0].summary.first")) == 79.0);
    assert_true(json_number_value(at(r.structured, "result[0].summary.last")) == 80.0);
    fs_tool_result_release(&r);

    /* a bad expression reaches the tool as Prometheus's own error */
    r = call("prometheus.query_range", "{\"query\":\" \"}");
    assert_true(r.is_error);
    assert_string_equal(r.text, "prometheus: bad_data: invalid parameter \"query\": 1:1: parse "
                                "error: no expression found in input");
    fs_tool_result_release(&r);

    /* 80 rising 1 per hour reaches 95 in 15 hours */
    r = call("prometheus.forecast", "{\"query\":\"disk_used_percent\",\"threshold\":95}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_string_equal(sval(at(r.structured, "series[0].state")), "crosses");
    double secs = json_number_value(at(r.structured, "series[0].seconds_to_threshold"));
    assert_true(fabs(secs - 15 * 3600.0) < 1.0);
    assert_true(fabs(json_number_value(at(r.structured, "series[0].slope_per_s")) * 3600 - 1.0) <
                1e-9);
    assert_true(json_is_object(at(r.structured, "earliest")));
    assert_string_equal(sval(at(r.structured, "series[0].reaches_at")), "2024-08-02T01:00:00.123Z");
    fs_tool_result_release(&r);
}

static void test_tools_loki(void **state)
{
    struct fs_tool_result r =
        call("loki.query_range", "{\"selector\":{\"app\":\"api\",\"env\":\"prod\"},"
                                 "\"contains\":[\"error\"]}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_int_equal(json_integer_value(at(r.structured, "lines_total")), 2);
    assert_string_equal(sval(at(r.structured, "streams[0].lines[0].line")),
                        "error: db connection refused");
    assert_string_equal(sval(at(r.structured, "streams[0].lines[0].ts")),
                        "2024-08-01T09:40:00.123000000Z");
    assert_string_equal(sval(at(r.structured, "streams[0].labels.env")), "prod");
    assert_non_null(strstr(r.text, "2 lines from 1 stream"));
    fs_tool_result_release(&r);

    /* every filter kind through the real LogQL builder, quoting included */
    r = call("loki.query_range",
             "{\"selector\":{\"app\":\"worker\"},\"contains\":[\"say \\\"hi\\\"\\tpath C:\\\\\"],"
             "\"not_contains\":[\"done\"],\"regex\":[\"^note\"],\"not_regex\":[\"^error\"]}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_int_equal(json_integer_value(at(r.structured, "lines_total")), 1);
    assert_non_null(strstr(sval(at(r.structured, "streams[0].lines[0].line")), "note: say"));
    fs_tool_result_release(&r);

    r = call("loki.query_range", "{\"selector\":{\"env\":\"prod\"},\"regex\":[\"^(GET|job)\"],"
                                 "\"direction\":\"forward\",\"limit\":2}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_int_equal(json_integer_value(at(r.structured, "lines_total")), 2);
    assert_true(json_is_true(at(r.structured, "limit_reached")));
    const char *first = strstr(r.text, "GET /health 200"), *second = strstr(r.text, "job 1 done");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    fs_tool_result_release(&r);

    r = call("loki.query_range", "{\"selector\":{\"app\":\"api\"},\"since\":\"2h\"}");
    assert_int_equal(json_integer_value(at(r.structured, "lines_total")), 7);
    fs_tool_result_release(&r);
}

static void test_tools_cert_expiry(void **state)
{
    struct fs_tool_result r =
        call("host.cert_expiry", "{\"host\":\"old.example.com\",\"port\":443}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_string_equal(sval(at(r.structured, "certificates[0].subject")),
                        "CN=old.example.com,O=Example,C=GB");
    assert_string_equal(sval(at(r.structured, "certificates[0].issuer")),
                        "C=US,O=Let's Encrypt,CN=R11");
    assert_int_equal(json_integer_value(at(r.structured, "certificates[0].days_left")), -3);
    assert_true(json_is_true(at(r.structured, "certificates[0].expired")));
    assert_int_equal(json_integer_value(at(r.structured, "min_days_left")), -3);
    assert_string_equal(sval(at(r.structured, "host")), "old.example.com");
    fs_tool_result_release(&r);

    r = call("host.cert_expiry", "{\"host\":\"new.example.com\",\"port\":8443}");
    if (r.is_error)
        fail_msg("%s", r.text);
    assert_int_equal(json_integer_value(at(r.structured, "min_days_left")), 9);
    assert_string_equal(sval(at(r.structured, "certificates[0].issuer")),
                        "C=US,O=Let's Encrypt,CN=R11");
    assert_true(json_is_false(at(r.structured, "certificates[0].expired")));
    fs_tool_result_release(&r);

    r = call("host.cert_expiry", "{\"host\":\"new.example.com\"}"); /* port 443: none there */
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "TLS handshake with new.example.com:443 failed"));
    fs_tool_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_instant),
        cmocka_unit_test(test_prom_number_format),
        cmocka_unit_test(test_prom_range),
        cmocka_unit_test(test_prom_bad_params),
        cmocka_unit_test(test_loki_selector),
        cmocka_unit_test(test_loki_filters),
        cmocka_unit_test(test_loki_limit_direction_window),
        cmocka_unit_test(test_loki_errors),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_pem),
        cmocka_unit_test(test_tools_prometheus),
        cmocka_unit_test(test_tools_loki),
        cmocka_unit_test(test_tools_cert_expiry),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    fs_buf_release(&body);
    return rc;
}
