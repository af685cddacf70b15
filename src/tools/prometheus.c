/* prometheus: the prometheus.* tools and their table (fs_prometheus_tools) — an instant query,
 * a range query, and a trend forecast over a range query (context/forecast.c). Each handler
 * turns typed arguments into one POST to tools.prometheus_url (form-encoded, so the query is
 * never spliced into a URL by hand), reads the answer with prom_parse.c and reports what
 * Prometheus said: its own errors as "prometheus: bad_data: ...", never a made-up result. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "context/forecast.h"
#include "core/buf.h"
#include "core/time.h"
#include "tools/obs_int.h"
#include "tools/registry.h"

#define MAX_TEXT_SERIES 200    /* series written out in the text form */
#define MAX_FORECAST_SERIES 50 /* series kept in a forecast's structured result */
#define DEFAULT_POINTS 250     /* points per series when no step is given */
#define TEXT_MAX (4 * 1024 * 1024)

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *arg_str(const json_t *args, const char *k)
{
    return json_string_value(json_object_get(args, k));
}

static int bad_arg(struct fs_err *err, const char *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_arg(struct fs_err *err, const char *arg, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, arg, "%s: %s", arg, msg);
}

static int64_t now_ms(const struct fs_tool_ctx *ctx)
{
    return ctx->now_ms ? ctx->now_ms : fs_now_ms();
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static char *rfc3339_s(double t, char *buf, size_t size)
{
    return fs_time_format((int64_t)llround(t * 1000.0), buf, size);
}

/* A time argument (absent: def) into *ms; a bad one is an argument error naming it. */
static int time_arg(const json_t *args, const char *k, const char *def, int64_t now, int64_t *ms,
                    struct fs_err *err)
{
    const char *s = arg_str(args, k);
    if (fs_obs_time_parse(s ? s : def, now, ms) < 0)
        return bad_arg(err, k,
                       "expected RFC 3339, Unix seconds, \"now\" or a duration back from now "
                       "(\"-1h\"), got \"%.64s\"",
                       s);
    return 0;
}

/* Step for a range: the argument, else range/(DEFAULT_POINTS-1) rounded up, at least 1 s; and
 * never more points than Prometheus answers. */
static int step_arg(const json_t *args, int64_t range_ms, int64_t *step, struct fs_err *err)
{
    const char *s = arg_str(args, "step");
    if (s && fs_obs_step_parse(s, step) < 0)
        return bad_arg(err, "step",
                       "expected seconds (\"15\") or a duration (\"15s\"), got "
                       "\"%.32s\"",
                       s);
    if (!s)
        *step = FS_MAX(1000, (range_ms + DEFAULT_POINTS - 2) / (DEFAULT_POINTS - 1));
    if (range_ms / *step > FS_PROM_MAX_POINTS) {
        char need[32];
        int64_t min_step = (range_ms + FS_PROM_MAX_POINTS - 1) / FS_PROM_MAX_POINTS;
        return bad_arg(err, "step",
                       "%lld points per series; Prometheus answers at most %d: use a step of "
                       "at least %s s or a shorter range",
                       (long long)(range_ms / *step), FS_PROM_MAX_POINTS,
                       fs_obs_seconds(min_step, need, sizeof(need)));
    }
    return 0;
}

static int form_time(struct fs_buf *f, const char *k, int64_t ms)
{
    char s[40];
    return fs_obs_form_add(f, k, fs_obs_seconds(ms, s, sizeof(s)));
}

/* One API call. Returns 0 with *data set (Prometheus answered success), 0 with *data NULL and
 * out failed (not configured, unreachable, Prometheus's own error, a body that is no API
 * response), or <0 when out of memory. */
static int prom_api(const struct fs_tool_ctx *ctx, const char *path, const char *form,
                    json_t **data, struct fs_tool_result *out, struct fs_err *err)
{
    *data = NULL;
    const char *base = ctx->prometheus_url;
    if (!base || !*base)
        return fs_obs_fail(out, "prometheus is not configured (tools.prometheus_url)");
    struct fs_obs_req req = {
        base, path, form, true, ctx->timeout_ms, 0, ctx->target == FS_TOOL_SIM ? ctx->sim : NULL};
    struct fs_obs_reply rep;
    struct fs_err e = {0};
    int rc = fs_obs_http(&req, &rep, &e);
    if (rc < 0) {
        rc = fs_obs_transport_fail(out, "prometheus", base, rc, &e);
        goto out;
    }
    struct fs_prom_error pe;
    rc = fs_prom_parse(rep.body.data ? rep.body.data : "", rep.body.len, data, &pe, &e);
    if (rc == 1) {
        rc = fs_obs_fail(out, "prometheus: %s: %s", pe.type[0] ? pe.type : "error", pe.msg);
    } else if (rc == -FS_E_NOMEM) {
        fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    } else if (rc < 0) {
        char snip[320];
        fs_obs_snippet(&rep.body, 300, snip, sizeof(snip));
        if (rep.status < 200 || rep.status > 299)
            rc = fs_obs_fail(out, "prometheus: HTTP %ld from %s: %s", rep.status, base, snip);
        else
            rc = fs_obs_fail(out,
                             "prometheus at %s answered something other than an API "
                             "response (%s): %s",
                             base, e.msg, snip);
    }
out:
    fs_obs_reply_release(&rep);
    return rc;
}

static int put_value(struct fs_buf *b, const json_t *v)
{
    if (json_is_number(v))
        return fs_buf_printf(b, "%.10g", json_number_value(v));
    if (json_is_string(v))
        return fs_buf_puts(b, json_string_value(v));
    return fs_buf_puts(b, "-");
}

static int put_warnings(struct fs_buf *b, const json_t *data)
{
    int rc = 0;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(data, "warnings"), i, w)
    {
        rc |= fs_buf_printf(b, "warning: %s\n", json_string_value(w));
    }
    json_array_foreach(json_object_get(data, "infos"), i, w)
    {
        rc |= fs_buf_printf(b, "info: %s\n", json_string_value(w));
    }
    return rc ? -FS_E_NOMEM : 0;
}

/* count, first, last, min, max of one matrix series (min/max over finite values); added to the
 * series as "summary" and written to b as one line. */
static int series_summary(json_t *s, struct fs_buf *b)
{
    json_t *vals = json_object_get(s, "values");
    size_t n = json_array_size(vals);
    double mn = NAN, mx = NAN;
    size_t i;
    json_t *p;
    json_array_foreach(vals, i, p)
    {
        double v = fs_prom_json_value(json_array_get(p, 1));
        if (!isfinite(v))
            continue;
        if (isnan(mn) || v < mn)
            mn = v;
        if (isnan(mx) || v > mx)
            mx = v;
    }
    json_t *first = json_array_get(json_array_get(vals, 0), 1);
    json_t *last = json_array_get(json_array_get(vals, n ? n - 1 : 0), 1);
    json_t *sum = json_pack("{s:I,s:O?,s:O?,s:o,s:o}", "count", (json_int_t)n, "first", first,
                            "last", last, "min", num_or_null(mn), "max", num_or_null(mx));
    if (!sum || json_object_set_new(s, "summary", sum) < 0)
        return -FS_E_NOMEM;
    if (!b)
        return 0;
    int rc = fs_obs_labels(b, json_object_get(s, "metric"), true);
    rc |= fs_buf_printf(b, ": count=%zu", n);
    const char *names[] = {"first", "last", "min", "max"};
    for (size_t k = 0; k < FS_ARRAY_LEN(names); k++) {
        rc |= fs_buf_printf(b, " %s=", names[k]);
        rc |= put_value(b, json_object_get(sum, names[k]));
    }
    rc |= fs_buf_putc(b, '\n');
    return rc ? -FS_E_NOMEM : 0;
}

/* The text form of a parsed result (and a "summary" on each matrix series). */
static int render(json_t *data, struct fs_buf *b)
{
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *res = json_object_get(data, "result");
    size_t n = json_array_size(res);
    bool matrix = fs_streq(type, "matrix");
    int rc = 0;
    if (!matrix) {
        char when[40] = "";
        if (n)
            rfc3339_s(json_number_value(json_object_get(json_array_get(res, 0), "time")), when,
                      sizeof(when));
        rc |= fs_buf_printf(b, "%s: %zu result%s%s%s\n", type, n, n == 1 ? "" : "s",
                            n ? " at " : "", when);
        if (n)
            rc |= fs_buf_printf(b, "%-16s %s\n", "VALUE", "SERIES");
    } else {
        rc |= fs_buf_printf(b, "matrix: %zu series\n", n);
    }
    rc |= put_warnings(b, data);
    size_t i;
    json_t *s;
    json_array_foreach(res, i, s)
    {
        if (rc < 0)
            break;
        bool show = i < MAX_TEXT_SERIES;
        if (matrix) {
            rc = series_summary(s, show ? b : NULL);
            continue;
        }
        if (!show)
            continue;
        struct fs_buf v = FS_BUF_INIT(0);
        rc |= put_value(&v, json_object_get(s, "value"));
        rc |= fs_buf_printf(b, "%-16s ", fs_buf_str(&v));
        fs_buf_release(&v);
        rc |= fs_obs_labels(b, json_object_get(s, "metric"), true);
        rc |= fs_buf_putc(b, '\n');
    }
    if (rc == 0 && n > MAX_TEXT_SERIES)
        rc =
            fs_buf_printf(b, "... %zu more series in the structured result\n", n - MAX_TEXT_SERIES);
    return rc ? -FS_E_NOMEM : 0;
}

static int finish(json_t *data, struct fs_tool_result *out, int rc)
{
    if (rc == 0 && data) {
        struct fs_buf b = FS_BUF_INIT(TEXT_MAX);
        rc = render(data, &b);
        if (rc == -FS_E_TOO_LARGE) { /* the registry caps far below this anyway */
            out->truncated = true;
            rc = 0;
        }
        if (rc == 0) {
            free(out->text);
            out->text = fs_buf_detach(&b, NULL);
            out->structured = json_incref(data);
            rc = out->text ? 0 : -FS_E_NOMEM;
        }
        fs_buf_release(&b);
    }
    json_decref(data);
    return rc;
}

/* ---- prometheus.query --------------------------------------------------------------------- */

static int h_query(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                   struct fs_tool_result *out, struct fs_err *err)
{
    int64_t now = now_ms(ctx), t;
    int rc = time_arg(args, "time", "now", now, &t, err);
    if (rc < 0)
        return rc;
    struct fs_buf form = FS_BUF_INIT(0);
    rc = fs_obs_form_add(&form, "query", arg_str(args, "query"));
    if (rc == 0 && json_object_get(args, "time"))
        rc = form_time(&form, "time", t);
    if (rc == 0)
        rc = form_time(&form, "timeout", ctx->timeout_ms);
    json_t *data = NULL;
    if (rc == 0)
        rc = prom_api(ctx, "/api/v1/query", fs_buf_str(&form), &data, out, err);
    fs_buf_release(&form);
    return finish(data, out, rc);
}

/* ---- prometheus.query_range --------------------------------------------------------------- */

/* start, end, step from the arguments into a form with the query. */
static int range_form(const json_t *args, int64_t start, int64_t end, int64_t step,
                      const struct fs_tool_ctx *ctx, struct fs_buf *form)
{
    int rc = fs_obs_form_add(form, "query", arg_str(args, "query"));
    if (rc == 0)
        rc = form_time(form, "start", start);
    if (rc == 0)
        rc = form_time(form, "end", end);
    if (rc == 0)
        rc = form_time(form, "step", step);
    if (rc == 0)
        rc = form_time(form, "timeout", ctx->timeout_ms);
    return rc;
}

static int h_query_range(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                         struct fs_tool_result *out, struct fs_err *err)
{
    int64_t now = now_ms(ctx), start, end, step;
    int rc = time_arg(args, "start", "-1h", now, &start, err);
    if (rc == 0)
        rc = time_arg(args, "end", "now", now, &end, err);
    if (rc == 0 && end < start)
        rc = bad_arg(err, "end", "is before start");
    if (rc == 0)
        rc = step_arg(args, end - start, &step, err);
    if (rc < 0)
        return rc;
    struct fs_buf form = FS_BUF_INIT(0);
    json_t *data = NULL;
    rc = range_form(args, start, end, step, ctx, &form);
    if (rc == 0)
        rc = prom_api(ctx, "/api/v1/query_range", fs_buf_str(&form), &data, out, err);
    fs_buf_release(&form);
    if (rc == 0 && data) {
        char a[40], z[40];
        if (json_object_set_new(data, "start", json_string(fs_time_format(start, a, 40))) < 0 ||
            json_object_set_new(data, "end", json_string(fs_time_format(end, z, 40))) < 0 ||
            json_object_set_new(data, "step_s", json_real((double)step / 1000.0)) < 0)
            rc = -FS_E_NOMEM;
    }
    return finish(data, out, rc);
}

/* ---- prometheus.forecast ------------------------------------------------------------------ */

struct ranked {
    double key; /* seconds to threshold; +inf when it is never reached */
    size_t index;
    json_t *obj;
};

static int by_key(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static const char *state_name(enum fs_fc_state s)
{
    switch (s) {
    case FS_FC_CROSSES: return "crosses";
    case FS_FC_PAST: return "already_past";
    case FS_FC_FLAT: return "flat";
    case FS_FC_AWAY: return "moving_away";
    default: return "no_data";
    }
}

struct fc_args {
    double threshold;
    enum fs_fc_dir dir;
    enum fs_fc_unit unit;
    double horizon_s;
    double now_s;
};

/* The forecast of one series (a matrix element) as a JSON object; *key its sort key. */
static json_t *forecast_series(const json_t *s, const struct fc_args *a, double *key)
{
    json_t *vals = json_object_get(s, "values");
    size_t n = json_array_size(vals);
    struct fs_fc_sample *smp = fs_calloc(n ? n : 1, sizeof(*smp));
    if (!smp)
        return NULL;
    size_t i;
    json_t *p;
    json_array_foreach(vals, i, p)
    {
        smp[i].t = json_number_value(json_array_get(p, 0));
        smp[i].v = fs_prom_json_value(json_array_get(p, 1));
    }
    struct fs_fc_fit fit;
    struct fs_fc_eta eta;
    bool line = fs_fc_fit(smp, n, &fit) == 0;
    free(smp);
    fs_fc_eta(&fit, a->threshold, a->dir, a->now_s, a->horizon_s, &eta);
    char sum[320], when[40];
    fs_fc_summary(&fit, &eta, a->threshold, a->unit, a->horizon_s, sum, sizeof(sum));
    bool reach = eta.state == FS_FC_CROSSES || eta.state == FS_FC_PAST;
    bool finite = reach && isfinite(eta.seconds);
    *key = finite ? eta.seconds : INFINITY;
    json_t *o = json_pack(
        "{s:O,s:o,s:I,s:I,s:o,s:o,s:o,s:f,s:s,s:s,s:o,s:o,s:s}", "metric",
        json_object_get(s, "metric"), "current", num_or_null(fit.last), "samples",
        (json_int_t)fit.n, "skipped", (json_int_t)fit.skipped, "slope_per_s",
        line ? num_or_null(fit.slope) : json_null(), "slope_per_day",
        line ? num_or_null(fit.slope * 86400.0) : json_null(), "r2",
        line ? num_or_null(fit.r2) : json_null(), "threshold", a->threshold, "direction",
        eta.rising ? "rising" : "falling", "state", state_name(eta.state), "seconds_to_threshold",
        finite ? json_real(eta.seconds) : json_null(), "reaches_at",
        finite ? json_string(fs_time_format((int64_t)llround((a->now_s + eta.seconds) * 1000.0),
                                            when, sizeof(when)))
               : json_null(),
        "summary", sum);
    if (o && a->horizon_s > 0 &&
        json_object_set_new(o, "predicted_at_horizon", num_or_null(eta.at_horizon)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int forecast_text(struct fs_buf *b, const json_t *res)
{
    json_t *earliest = json_object_get(res, "earliest"), *series = json_object_get(res, "series");
    size_t total = (size_t)json_integer_value(json_object_get(res, "series_total"));
    int rc = 0;
    if (json_is_object(earliest)) {
        rc |= fs_buf_puts(b, "earliest: ");
        rc |= fs_obs_labels(b, json_object_get(earliest, "metric"), true);
        rc |= fs_buf_printf(b, ": %s\n", json_string_value(json_object_get(earliest, "summary")));
    } else {
        rc |= fs_buf_printf(b, "no series reaches the threshold (%zu series)\n", total);
    }
    size_t i;
    json_t *s;
    json_array_foreach(series, i, s)
    {
        rc |= fs_obs_labels(b, json_object_get(s, "metric"), true);
        rc |= fs_buf_printf(b, ": %s\n", json_string_value(json_object_get(s, "summary")));
    }
    if (total > json_array_size(series))
        rc |= fs_buf_printf(b, "... %zu more series reach it later or never\n",
                            total - json_array_size(series));
    return rc ? -FS_E_NOMEM : 0;
}

static int h_forecast(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                      struct fs_tool_result *out, struct fs_err *err)
{
    struct fc_args a = {.threshold = json_number_value(json_object_get(args, "threshold"))};
    const char *range_s = arg_str(args, "range") ? arg_str(args, "range") : "1h";
    const char *hz = arg_str(args, "horizon");
    const char *dir = arg_str(args, "direction");
    const char *unit = arg_str(args, "unit");
    int64_t range, horizon = 0, step;
    if (fs_duration_parse(range_s, &range) < 0 || range < 1000)
        return bad_arg(err, "range", "expected a duration of at least 1s (\"1h\", \"6h\")");
    if (hz && (fs_duration_parse(hz, &horizon) < 0 || horizon <= 0))
        return bad_arg(err, "horizon", "expected a duration (\"1d\", \"12h\")");
    int rc = step_arg(args, range, &step, err);
    if (rc < 0)
        return rc;
    a.dir = fs_streq(dir, "rising")    ? FS_FC_RISING
            : fs_streq(dir, "falling") ? FS_FC_FALLING
                                       : FS_FC_AUTO;
    a.unit = fs_streq(unit, "percent") ? FS_FC_UNIT_PERCENT
             : fs_streq(unit, "bytes") ? FS_FC_UNIT_BYTES
                                       : FS_FC_UNIT_NONE;
    a.horizon_s = (double)horizon / 1000.0;
    int64_t end = now_ms(ctx), start = end - range;
    a.now_s = (double)end / 1000.0;

    struct fs_buf form = FS_BUF_INIT(0);
    json_t *data = NULL, *res = NULL;
    struct ranked *rk = NULL;
    rc = range_form(args, start, end, step, ctx, &form);
    if (rc == 0)
        rc = prom_api(ctx, "/api/v1/query_range", fs_buf_str(&form), &data, out, err);
    fs_buf_release(&form);
    if (rc < 0 || !data)
        goto out;
    json_t *result = json_object_get(data, "result");
    size_t n = json_array_size(result);
    if (!fs_streq(json_string_value(json_object_get(data, "resultType")), "matrix")) {
        rc = fs_obs_fail(out, "prometheus: a range query answered %s, not matrix",
                         json_string_value(json_object_get(data, "resultType")));
        goto out;
    }
    rk = fs_calloc(n ? n : 1, sizeof(*rk));
    char now_txt[40];
    res = json_pack(
        "{s:s,s:s,s:f,s:f,s:s,s:s,s:s,s:[],s:I,s:n}", "query", arg_str(args, "query"), "range",
        range_s, "step_s", (double)step / 1000.0, "threshold", a.threshold, "direction",
        a.dir == FS_FC_AUTO     ? "auto"
        : a.dir == FS_FC_RISING ? "rising"
                                : "falling",
        "unit", unit ? unit : "none", "now", fs_time_format(end, now_txt, sizeof(now_txt)),
        "series", "series_total", (json_int_t)n, "earliest");
    if (!rk || !res) {
        rc = -FS_E_NOMEM;
        goto out;
    }
    size_t i;
    json_t *s;
    json_array_foreach(result, i, s)
    {
        rk[i].index = i;
        if (!(rk[i].obj = forecast_series(s, &a, &rk[i].key))) {
            rc = -FS_E_NOMEM;
            goto out;
        }
    }
    qsort(rk, n, sizeof(*rk), by_key);
    json_t *arr = json_object_get(res, "series");
    for (i = 0; i < n && i < MAX_FORECAST_SERIES; i++)
        if (json_array_append(arr, rk[i].obj) < 0)
            rc = -FS_E_NOMEM;
    if (n > MAX_FORECAST_SERIES)
        out->truncated = true;
    if (rc == 0 && n && isfinite(rk[0].key) && json_object_set(res, "earliest", rk[0].obj) < 0)
        rc = -FS_E_NOMEM;
    json_t *w = json_object_get(data, "warnings");
    if (rc == 0 && w && json_object_set(res, "warnings", w) < 0)
        rc = -FS_E_NOMEM;
    if (rc == 0) {
        struct fs_buf b = FS_BUF_INIT(TEXT_MAX);
        rc = forecast_text(&b, res);
        if (rc == 0)
            rc = put_warnings(&b, data);
        if (rc == 0) {
            out->text = fs_buf_detach(&b, NULL);
            out->structured = json_incref(res);
            rc = out->text ? 0 : -FS_E_NOMEM;
        }
        fs_buf_release(&b);
    }
out:
    for (size_t j = 0; rk && j < n; j++)
        json_decref(rk[j].obj);
    free(rk);
    json_decref(res);
    json_decref(data);
    if (rc == -FS_E_NOMEM)
        fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return rc;
}

/* ---- the table ---------------------------------------------------------------------------- */

#define RO                                                                                         \
    {                                                                                              \
        .read_only = true, .destructive = false, .idempotent = true, .open_world = false           \
    }
#define QUERY_PROP(desc)                                                                           \
    "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":16384,\"description\":\"" desc   \
    "\"}"
#define TIME_PROP(name, def, desc)                                                                 \
    "\"" name "\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64,\"default\":\"" def        \
    "\",\"description\":\"" desc " RFC 3339, Unix seconds, now, or a duration back from now "      \
    "(-1h, now-30m).\"}"
#define STEP_PROP(desc)                                                                            \
    "\"step\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":32,\"description\":\"Seconds "    \
    "between points (15, 0.5) or a duration (15s, 1m). " desc "\"}"

static const struct fs_tool_def
    prometheus_tools[] =
        {
            {"prometheus.query", "Prometheus instant query",
             "Evaluate a PromQL expression at one instant (POST /api/v1/query on "
             "tools.prometheus_url). "
             "Returns the result type and, for each series, its labels, value and sample time; "
             "values "
             "are numbers, or the strings NaN, +Inf, -Inf. Prometheus's own errors (a bad "
             "expression: "
             "bad_data) come back as a tool error with its message.",
             "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"query\"],"
             "\"properties\":{" QUERY_PROP(
                 "PromQL expression, e.g. node_filesystem_avail_bytes{"
                 "mountpoint=\\\"/\\\"}.") ","
                                           "\"time\":{\"type\":\"string\",\"minLength\":1,"
                                           "\"maxLength\":64,\"description\":"
                                           "\"Evaluation time: RFC 3339, Unix seconds, now, or a "
                                           "duration back from now (-1h). "
                                           "Default: now.\"}}}",
             RO, h_query},
            {"prometheus.query_range", "Prometheus range query",
             "Evaluate a PromQL expression over a time range (POST /api/v1/query_range). Returns "
             "each "
             "series with its labels and [time, value] points, and per series the count, first, "
             "last, "
             "min and max values. A range and step that would give more than 11000 points per "
             "series "
             "(Prometheus's limit) are refused before asking.",
             "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"query\"],"
             "\"properties\":{" QUERY_PROP("PromQL expression.") "," TIME_PROP(
                 "start", "-1h",
                 "Start of the range.") "," TIME_PROP("end", "now",
                                                      "End of the range.") "," STEP_PROP("Default: "
                                                                                         "the "
                                                                                         "range "
                                                                                         "divided "
                                                                                         "into 249 "
                                                                                         "steps, "
                                                                                         "at least "
                                                                                         "1s.") "}"
                                                                                                "}",
             RO, h_query_range},
            {"prometheus.forecast", "Prometheus trend forecast",
             "Fit a least-squares line to each series of a PromQL expression over a recent range "
             "and "
             "say when it reaches a threshold: seconds to the threshold (0 when already past, null "
             "when flat or moving away), when that is, slope per second and per day, r², the "
             "current "
             "value and a sentence such as \"95% in ~5d 2h (at +1.4%/day, r²=0.98)\". Series are "
             "sorted soonest first (at most 50); earliest is the first to reach it. NaN and "
             "infinite "
             "samples are left out of the fit.",
             "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"query\","
             "\"threshold\"],\"properties\":{" QUERY_PROP(
                 "PromQL expression whose trend to follow, e.g. 100 * (1 - "
                 "node_filesystem_avail_bytes "
                 "/ node_filesystem_size_bytes).") ","
                                                   "\"threshold\":{\"type\":\"number\","
                                                   "\"description\":\"The value to reach.\"},"
                                                   "\"range\":{\"type\":\"string\",\"minLength\":2,"
                                                   "\"maxLength\":32,\"default\":\"1h\","
                                                   "\"description\":\"How far back to fit, a "
                                                   "duration (1h, 6h, 7d).\"}," STEP_PROP(
                                                       "Default: the range divided into 249 steps, "
                                                       "at least 1s.") ","
                                                                       "\"horizon\":{\"type\":"
                                                                       "\"string\",\"minLength\":2,"
                                                                       "\"maxLength\":32,"
                                                                       "\"description\":"
                                                                       "\"Also predict the value "
                                                                       "this far ahead (1d, "
                                                                       "12h).\"},"
                                                                       "\"direction\":{\"type\":"
                                                                       "\"string\",\"enum\":["
                                                                       "\"auto\",\"rising\","
                                                                       "\"falling\"],"
                                                                       "\"default\":\"auto\","
                                                                       "\"description\":\"rising: "
                                                                       "the threshold is reached "
                                                                       "going up "
                                                                       "(usage; at or above it is "
                                                                       "already past); falling: "
                                                                       "going down (free space); "
                                                                       "auto: toward "
                                                                       "the threshold from the "
                                                                       "side the latest value is "
                                                                       "on.\"},"
                                                                       "\"unit\":{\"type\":"
                                                                       "\"string\",\"enum\":["
                                                                       "\"none\",\"percent\","
                                                                       "\"bytes\"],\"default\":"
                                                                       "\"none\",\"description\":"
                                                                       "\"How values are written "
                                                                       "in the summary.\"}}}",
             RO, h_forecast},
};

const struct fs_tool_table fs_prometheus_tools = {prometheus_tools, FS_ARRAY_LEN(prometheus_tools)};
