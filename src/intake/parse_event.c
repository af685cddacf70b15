/* parse_event: forestall's own generic event format (docs/events.md) into a normalized alert
 * batch: one event object, or {"events": [...], "id": ...}. It owns the event vocabulary — the
 * four known types' data schemas, the labels derived from them (which form the fingerprint),
 * default severities and generated summaries. Strict on the envelope (an unknown field is an
 * error, so a misspelt "occured_at" cannot pass silently), lenient inside data (extra context is
 * kept). It must not decide anything about incidents or touch the store. */
#include "core/common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/time.h"
#include "intake/parse_int.h"

#define EV_TYPE_MAX 128
#define EV_ID_MAX 128

/* What the type-specific checks produce besides validation. */
struct ev {
    const char *path;      /* the event's path: "" (single event) or "events[3]" */
    char dpath[256];       /* path of data */
    const json_t *data;    /* NULL only for custom types without data */
    json_t *labels;        /* derived labels; new */
    json_t *xdata;         /* what goes to extra.data (a new reference), or NULL */
    struct fs_buf summary; /* generated summary */
    bool has_sev;          /* the type's default, then the severity field */
    enum fs_severity sev;
};

/* ---- small typed checks on data members, each naming data.<key> on failure ---- */

static int bad(struct fs_err *err, const char *base, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(struct fs_err *err, const char *base, const char *key, const char *fmt, ...)
{
    char path[256], msg[400];
    va_list ap;
    fs_jpath_key(path, sizeof(path), base, key);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: %s", path, msg);
}

static int need_str(const struct ev *e, const char *key, const char **out, struct fs_err *err)
{
    int rc = fs_json_get_str(e->data, key, e->dpath, true, out, err);
    if (rc < 0)
        return rc;
    if (!**out)
        return bad(err, e->dpath, key, "must not be empty");
    return 0;
}

static int opt_str(const struct ev *e, const char *key, const char **out, struct fs_err *err)
{
    *out = NULL;
    return fs_json_get_str(e->data, key, e->dpath, false, out, err);
}

/* One of two words; *which = 0 or 1. */
static int need_word(const struct ev *e, const char *key, const char *w0, const char *w1,
                     const char *w2, int *which, struct fs_err *err)
{
    const char *s;
    int rc = fs_json_get_str(e->data, key, e->dpath, true, &s, err);
    if (rc < 0)
        return rc;
    const char *words[] = {w0, w1, w2};
    for (int i = 0; i < 3; i++) {
        if (words[i] && strcmp(s, words[i]) == 0) {
            *which = i;
            return 0;
        }
    }
    char q[64];
    fs_parse_quote(q, sizeof(q), s);
    if (w2)
        return bad(err, e->dpath, key, "expected \"%s\", \"%s\" or \"%s\", got %s", w0, w1, w2, q);
    return bad(err, e->dpath, key, "expected \"%s\" or \"%s\", got %s", w0, w1, q);
}

enum bound { B_ANY, B_GE0, B_GT0, B_UNIT };

static int num(const struct ev *e, const char *key, bool required, enum bound b, double *out,
               bool *present, struct fs_err *err)
{
    bool have = false;
    int rc = fs_json_get_num(e->data, key, e->dpath, required, out, &have, err);
    if (present)
        *present = have;
    if (rc < 0 || !have)
        return rc;
    double d = *out;
    switch (b) {
    case B_ANY: break;
    case B_GE0:
        if (d < 0)
            return bad(err, e->dpath, key, "must not be negative, got %g", d);
        break;
    case B_GT0:
        if (d <= 0)
            return bad(err, e->dpath, key, "must be greater than 0, got %g", d);
        break;
    case B_UNIT:
        if (d < 0 || d > 1)
            return bad(err, e->dpath, key, "must be between 0 and 1 (a fraction), got %g", d);
        break;
    }
    return 0;
}

static int opt_int(const struct ev *e, const char *key, bool positive, int64_t *out, bool *present,
                   struct fs_err *err)
{
    int rc = fs_json_get_int(e->data, key, e->dpath, false, out, present, err);
    if (rc < 0 || !*present)
        return rc;
    if (positive && *out <= 0)
        return bad(err, e->dpath, key, "must be greater than 0, got %lld", (long long)*out);
    if (!positive && *out < 0)
        return bad(err, e->dpath, key, "must not be negative, got %lld", (long long)*out);
    return 0;
}

static int label(struct ev *e, const char *name, const char *value, struct fs_err *err)
{
    if (json_object_set_new(e->labels, name, json_string(value)))
        return fs_parse_nomem(e->path, err);
    return 0;
}

/* Short human form of a number for summaries: two decimals at most from 1 up (1250.5, 31.42),
 * six significant digits below 1 (0.999 must not print as 1), no trailing zeros. */
static const char *fmt_num(char *buf, size_t size, double d)
{
    if (fabs(d) >= 1e15 || (d != 0 && fabs(d) < 1)) {
        snprintf(buf, size, "%.6g", d);
        return buf;
    }
    snprintf(buf, size, "%.2f", d);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0')
            *--end = '\0';
        if (end == dot + 1)
            *dot = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        fs_strlcpy(buf, "0", size);
    return buf;
}

static int summary_nomem(struct ev *e, int rc, struct fs_err *err)
{
    return rc == -FS_E_NOMEM ? fs_parse_nomem(e->path, err) : 0;
}

/* ---- the four known types ---- */

static int provider_unhealthy(struct ev *e, struct fs_err *err)
{
    const char *provider;
    double rate;
    int64_t requests = 0, window = 0;
    bool has_req, has_win;
    int rc;
    if ((rc = need_str(e, "provider", &provider, err)) < 0 ||
        (rc = num(e, "error_rate", true, B_UNIT, &rate, NULL, err)) < 0 ||
        (rc = opt_int(e, "requests", false, &requests, &has_req, err)) < 0 ||
        (rc = opt_int(e, "window_s", true, &window, &has_win, err)) < 0 ||
        (rc = label(e, "provider", provider, err)) < 0)
        return rc;
    e->has_sev = true;
    e->sev = FS_SEV_WARNING;
    char n[48];
    rc = fs_buf_printf(&e->summary, "provider %s error rate %s%%", provider,
                       fmt_num(n, sizeof(n), rate * 100));
    if (rc == 0 && has_win)
        rc = fs_buf_printf(&e->summary, " over %llds", (long long)window);
    if (rc == 0 && has_req)
        rc = fs_buf_printf(&e->summary, " (%lld requests)", (long long)requests);
    return summary_nomem(e, rc, err);
}

static int budget_exceeded(struct ev *e, struct fs_err *err)
{
    const char *name, *currency;
    int scope, kind, rc;
    double limit, spent;
    if ((rc = need_word(e, "scope", "team", "org", NULL, &scope, err)) < 0 ||
        (rc = need_str(e, "name", &name, err)) < 0 ||
        (rc = need_word(e, "limit_kind", "soft", "hard", NULL, &kind, err)) < 0 ||
        (rc = num(e, "limit", true, B_GE0, &limit, NULL, err)) < 0 ||
        (rc = num(e, "spent", true, B_GE0, &spent, NULL, err)) < 0 ||
        (rc = opt_str(e, "currency", &currency, err)) < 0)
        return rc;
    const char *scope_word = scope == 0 ? "team" : "org";
    const char *kind_word = kind == 0 ? "soft" : "hard";
    if ((rc = label(e, "scope", scope_word, err)) < 0 ||
        (rc = label(e, scope_word, name, err)) < 0 ||
        (rc = label(e, "limit_kind", kind_word, err)) < 0)
        return rc;
    e->has_sev = true;
    e->sev = kind == 0 ? FS_SEV_WARNING : FS_SEV_CRITICAL;
    char a[48], b[48];
    rc = fs_buf_printf(&e->summary, "%s %s exceeded its %s budget: spent %s of %s%s%s", scope_word,
                       name, kind_word, fmt_num(a, sizeof(a), spent), fmt_num(b, sizeof(b), limit),
                       currency ? " " : "", currency ? currency : "");
    return summary_nomem(e, rc, err);
}

static int sla_violation(struct ev *e, struct fs_err *err)
{
    static const char *const metrics[] = {"p95_latency", "p99_latency", "success_rate"};
    const char *sla, *provider, *group;
    int metric, rc;
    double target, observed;
    if ((rc = need_str(e, "sla", &sla, err)) < 0 ||
        (rc = need_word(e, "metric", metrics[0], metrics[1], metrics[2], &metric, err)) < 0 ||
        (rc = num(e, "target", true, B_ANY, &target, NULL, err)) < 0 ||
        (rc = num(e, "observed", true, B_ANY, &observed, NULL, err)) < 0 ||
        (rc = opt_str(e, "provider", &provider, err)) < 0 ||
        (rc = opt_str(e, "model_group", &group, err)) < 0 || (rc = label(e, "sla", sla, err)) < 0 ||
        (rc = label(e, "metric", metrics[metric], err)) < 0)
        return rc;
    e->has_sev = true;
    e->sev = FS_SEV_WARNING;
    char a[48], b[48];
    rc = fs_buf_printf(&e->summary, "SLA %s %s breached: observed %s, target %s", sla,
                       metrics[metric], fmt_num(a, sizeof(a), observed),
                       fmt_num(b, sizeof(b), target));
    if (rc == 0 && (provider || group))
        rc = fs_buf_printf(&e->summary, " (%s%s%s%s%s)", provider ? "provider " : "",
                           provider ? provider : "", provider && group ? ", " : "",
                           group ? "model group " : "", group ? group : "");
    return summary_nomem(e, rc, err);
}

static int latency_spike(struct ev *e, struct fs_err *err)
{
    const char *provider;
    double observed, baseline, ratio = 0;
    bool has_ratio;
    int rc;
    if ((rc = need_str(e, "provider", &provider, err)) < 0 ||
        (rc = num(e, "observed_ms", true, B_GT0, &observed, NULL, err)) < 0 ||
        (rc = num(e, "baseline_ms", true, B_GT0, &baseline, NULL, err)) < 0 ||
        (rc = num(e, "ratio", false, B_GT0, &ratio, &has_ratio, err)) < 0 ||
        (rc = label(e, "provider", provider, err)) < 0)
        return rc;
    if (!has_ratio) {
        ratio = observed / baseline;
        /* extra.data gets the computed ratio; the payload itself is not modified */
        json_t *copy = json_copy((json_t *)e->data);
        if (!copy || !isfinite(ratio) || json_object_set_new(copy, "ratio", json_real(ratio))) {
            json_decref(copy);
            if (!isfinite(ratio))
                return bad(err, e->dpath, "ratio", "observed_ms / baseline_ms is out of range");
            return fs_parse_nomem(e->dpath, err);
        }
        json_decref(e->xdata);
        e->xdata = copy;
    }
    e->has_sev = true;
    e->sev = FS_SEV_WARNING;
    char a[48], b[48], c[48];
    rc = fs_buf_printf(&e->summary, "provider %s latency %sms, %sx the %sms baseline", provider,
                       fmt_num(a, sizeof(a), observed), fmt_num(c, sizeof(c), ratio),
                       fmt_num(b, sizeof(b), baseline));
    return summary_nomem(e, rc, err);
}

static const struct ev_type {
    const char *name;
    int (*check)(struct ev *e, struct fs_err *err);
} known_types[] = {
    {"provider.unhealthy", provider_unhealthy},
    {"budget.exceeded", budget_exceeded},
    {"sla.violation", sla_violation},
    {"latency.spike", latency_spike},
};

/* ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$ */
static bool custom_type_ok(const char *t)
{
    size_t segs = 0;
    const char *p = t;
    for (;;) {
        if (*p < 'a' || *p > 'z')
            return false;
        p++;
        while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
            p++;
        segs++;
        if (*p != '.')
            break;
        p++;
    }
    return *p == '\0' && segs >= 2 && (size_t)(p - t) <= EV_TYPE_MAX;
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EV_ID_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._:-", *p))
            return false;
    return true;
}

static int check_id(const json_t *obj, const char *base, const char **out, struct fs_err *err)
{
    *out = NULL;
    int rc = fs_json_get_str(obj, "id", base, false, out, err);
    if (rc < 0 || !*out || id_ok(*out))
        return rc;
    char q[64];
    fs_parse_quote(q, sizeof(q), *out);
    return bad(err, base, "id", "expected 1 to %d characters of A-Z a-z 0-9 . _ : -, got %s",
               EV_ID_MAX, q);
}

static const char *const event_fields[] = {
    "type",    "id",      "status", "severity",    "occurred_at", "started_at",
    "ends_at", "summary", "labels", "annotations", "data",
};

static int check_fields(const json_t *v, const char *base, struct fs_err *err)
{
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        size_t i;
        for (i = 0; i < FS_ARRAY_LEN(event_fields); i++)
            if (strcmp(k, event_fields[i]) == 0)
                break;
        if (i == FS_ARRAY_LEN(event_fields))
            return bad(err, base, k,
                       "unknown field; an event has type, id, status, severity, occurred_at, "
                       "started_at, ends_at, summary, labels, annotations, data");
    }
    return 0;
}

/* User labels join the derived ones; a derived label may be repeated only with its own value. */
static int merge_labels(struct ev *e, const json_t *user, struct fs_err *err)
{
    char lp[256];
    fs_jpath_key(lp, sizeof(lp), e->path, "labels");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)user, k, v)
    {
        const char *mine = json_string_value(json_object_get(e->labels, k));
        const char *theirs = json_string_value(v);
        if (strcmp(k, "severity") == 0 && !mine)
            return bad(err, lp, k,
                       "is derived from the event's severity; set the severity field instead");
        if (mine && strcmp(mine, theirs) != 0) {
            char q[64];
            fs_parse_quote(q, sizeof(q), mine);
            const char *why = strcmp(k, "alertname") == 0  ? " (the event type)"
                              : strcmp(k, "severity") == 0 ? " (set the severity field instead)"
                                                           : "";
            return bad(err, lp, k, "cannot override the label derived from the event, %s=%s%s", k,
                       q, why);
        }
        if (!mine && json_object_set(e->labels, k, v))
            return fs_parse_nomem(lp, err);
    }
    return 0;
}

static int event_annotations(struct ev *e, const json_t *v, json_t **out, struct fs_err *err)
{
    json_t *user;
    const char *summary = NULL;
    int rc = fs_parse_str_map(v, "annotations", e->path, false, false, false, &user, err);
    if (rc < 0 || (rc = fs_json_get_str(v, "summary", e->path, false, &summary, err)) < 0)
        return rc;
    json_t *ann = user ? json_copy(user) : json_object();
    if (!ann)
        return fs_parse_nomem(e->path, err);
    /* the summary field wins over annotations.summary, which wins over the generated one */
    if (summary)
        rc = json_object_set(ann, "summary", json_object_get(v, "summary"));
    else if (!json_object_get(ann, "summary") && e->summary.len)
        rc = json_object_set_new(ann, "summary", json_string(fs_buf_str(&e->summary)));
    if (rc) {
        json_decref(ann);
        return fs_parse_nomem(e->path, err);
    }
    *out = ann;
    return 0;
}

static int parse_one(const json_t *v, const char *path, const struct fs_parse_limits *lim,
                     struct fs_alert *a, const char **id_out, struct fs_err *err)
{
    struct ev e = {.path = path, .summary = FS_BUF_INIT(0)};
    const char *type, *id, *status = NULL, *sevword = NULL;
    json_t *data = NULL, *user_labels = NULL;
    char q[64], tp[256];
    int rc;

    memset(a, 0, sizeof(*a));
    if (!json_is_object(v))
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s%sexpected object, got %s", path,
                          *path ? ": " : "", fs_json_type_name(v));
    if ((rc = check_fields(v, path, err)) < 0)
        return rc;

    /* type */
    if (!*path && !json_object_get(v, "type"))
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "type",
                          "type: required field is missing (a body is one event, or "
                          "{\"events\": [...]})");
    if ((rc = fs_json_get_str(v, "type", path, true, &type, err)) < 0)
        return rc;
    const struct ev_type *known = NULL;
    for (size_t i = 0; i < FS_ARRAY_LEN(known_types); i++)
        if (strcmp(type, known_types[i].name) == 0)
            known = &known_types[i];
    if (!known && !custom_type_ok(type)) {
        fs_parse_quote(q, sizeof(q), type);
        return bad(err, path, "type",
                   "expected provider.unhealthy, budget.exceeded, sla.violation, latency.spike "
                   "or a custom type of lowercase dotted words such as \"deploy.failed\", got %s",
                   q);
    }
    fs_jpath_key(tp, sizeof(tp), path, "type");

    /* envelope */
    if ((rc = check_id(v, path, &id, err)) < 0 ||
        (rc = fs_json_get_str(v, "status", path, false, &status, err)) < 0 ||
        (rc = fs_json_get_str(v, "severity", path, false, &sevword, err)) < 0)
        return rc;
    a->status = FS_ALERT_FIRING;
    if (status && strcmp(status, "resolved") == 0) {
        a->status = FS_ALERT_RESOLVED;
    } else if (status && strcmp(status, "firing") != 0) {
        fs_parse_quote(q, sizeof(q), status);
        return bad(err, path, "status", "expected \"firing\" or \"resolved\", got %s", q);
    }
    enum fs_severity sev = FS_SEV_WARNING;
    if (sevword) {
        if (strcmp(sevword, "info") == 0)
            sev = FS_SEV_INFO;
        else if (strcmp(sevword, "warning") == 0)
            sev = FS_SEV_WARNING;
        else if (strcmp(sevword, "critical") == 0)
            sev = FS_SEV_CRITICAL;
        else {
            fs_parse_quote(q, sizeof(q), sevword);
            return bad(err, path, "severity",
                       "expected \"info\", \"warning\" or \"critical\", got %s", q);
        }
    }
    int64_t occurred = lim->now_ms, started = FS_TIME_UNSET, ends = FS_TIME_UNSET;
    bool has_started;
    if ((rc = fs_parse_time(v, "occurred_at", path, false, false, &occurred, NULL, err)) < 0 ||
        (rc = fs_parse_time(v, "started_at", path, false, false, &started, &has_started, err)) <
            0 ||
        (rc = fs_parse_time(v, "ends_at", path, false, true, &ends, NULL, err)) < 0)
        return rc;
    if (has_started && ends != FS_TIME_UNSET && ends < started)
        return bad(err, path, "ends_at", "is before started_at");
    if ((rc = fs_parse_str_map(v, "labels", path, false, false, true, &user_labels, err)) < 0 ||
        (rc = fs_json_get_obj(v, "data", path, known != NULL, &data, err)) < 0)
        return rc;

    /* data and the labels it derives */
    fs_jpath_key(e.dpath, sizeof(e.dpath), path, "data");
    e.data = data;
    e.xdata = data ? json_incref(data) : NULL;
    e.labels = json_object();
    if (!e.labels || json_object_set(e.labels, "alertname", json_object_get(v, "type"))) {
        rc = fs_parse_nomem(tp, err);
        goto out;
    }
    if (known && (rc = known->check(&e, err)) < 0)
        goto out;
    if (sevword) {
        e.has_sev = true;
        e.sev = sev;
    }
    if (e.has_sev && (rc = label(&e, "severity", fs_severity_name(e.sev), err)) < 0)
        goto out;
    if (user_labels && (rc = merge_labels(&e, user_labels, err)) < 0)
        goto out;
    if (!known && !e.summary.len && fs_buf_puts(&e.summary, type) < 0) {
        rc = fs_parse_nomem(path, err);
        goto out;
    }

    /* the alert */
    a->labels = e.labels;
    e.labels = NULL;
    a->has_severity = e.has_sev;
    a->severity = e.has_sev ? e.sev : FS_SEV_WARNING;
    fs_alert_fingerprint(a->labels, a->fingerprint);
    a->starts_known = has_started;
    a->starts_at = has_started ? started : occurred;
    a->ends_at = ends;
    if (a->status == FS_ALERT_RESOLVED && ends == FS_TIME_UNSET)
        a->ends_at = occurred;
    if ((rc = event_annotations(&e, v, &a->annotations, err)) < 0)
        goto out;
    /* no occurred_at here: it changes with every report, and an unchanged extra is how the
     * incident logic recognises a repeat */
    a->extra = json_object();
    if (!a->extra || json_object_set(a->extra, "type", json_object_get(v, "type")) ||
        (id && json_object_set(a->extra, "id", json_object_get(v, "id"))) ||
        (e.xdata && json_object_set(a->extra, "data", e.xdata))) {
        rc = fs_parse_nomem(path, err);
        goto out;
    }
    *id_out = id;
out:
    if (rc < 0)
        fs_parse_alert_drop(a);
    json_decref(e.labels);
    json_decref(e.xdata);
    fs_buf_release(&e.summary);
    return rc;
}

static int parse_batch(json_t *doc, const struct fs_parse_limits *lim, struct fs_alert_batch *out,
                       struct fs_err *err)
{
    json_t *events;
    const char *bid, *k;
    json_t *x;
    int rc;
    json_object_foreach(doc, k, x)
    {
        if (strcmp(k, "events") != 0 && strcmp(k, "id") != 0) {
            rc = bad(err, "", k,
                     "unknown field beside \"events\"; a body is either one event or "
                     "{\"events\": [...], \"id\": \"...\"}");
            json_decref(doc);
            return rc;
        }
    }
    if ((rc = fs_json_get_arr(doc, "events", "", true, &events, err)) < 0 ||
        (rc = check_id(doc, "", &bid, err)) < 0) {
        json_decref(doc);
        return rc;
    }
    rc = fs_parse_batch_init(out, FS_SRC_EVENT, doc, json_array_size(events), lim, "events",
                             "events", err);
    if (rc < 0)
        return fs_parse_fail(out, rc);
    if (bid)
        fs_strlcpy(out->event_id, bid, sizeof(out->event_id));

    /* ids seen so far → index, to reject a repeated idempotency key within one body */
    json_t *seen = json_object();
    if (!seen)
        return fs_parse_fail(out, fs_parse_nomem("events", err));
    size_t i;
    json_t *v;
    json_array_foreach(events, i, v)
    {
        char path[64];
        struct fs_alert a;
        const char *id = NULL;
        fs_jpath_index(path, sizeof(path), "events", i);
        if ((rc = parse_one(v, path, lim, &a, &id, err)) < 0)
            break;
        if (id) {
            json_t *prev = json_object_get(seen, id);
            if (prev) {
                char ip[80];
                fs_jpath_key(ip, sizeof(ip), path, "id");
                rc = fs_err_set(err, FS_E_INVALID_PAYLOAD, ip, "%s: duplicate of events[%lld].id",
                                ip, (long long)json_integer_value(prev));
                fs_parse_alert_drop(&a);
                break;
            }
            if (json_object_set_new(seen, id, json_integer((json_int_t)i))) {
                rc = fs_parse_nomem(path, err);
                fs_parse_alert_drop(&a);
                break;
            }
        }
        if ((rc = fs_parse_keep(out, &a, err)) < 0)
            break;
    }
    json_decref(seen);
    return rc < 0 ? fs_parse_fail(out, rc) : 0;
}

int fs_parse_event(const char *body, size_t len, const struct fs_parse_limits *lim,
                   struct fs_alert_batch *out, struct fs_err *err)
{
    json_t *doc;
    memset(out, 0, sizeof(*out));
    int rc = fs_parse_load(body, len, lim, JSON_OBJECT, &doc, err);
    if (rc < 0)
        return rc;
    if (json_object_get(doc, "events"))
        return parse_batch(doc, lim, out, err);

    rc = fs_parse_batch_init(out, FS_SRC_EVENT, doc, 1, lim, "", "events", err);
    if (rc < 0)
        return fs_parse_fail(out, rc);
    struct fs_alert a;
    const char *id = NULL;
    if ((rc = parse_one(doc, "", lim, &a, &id, err)) < 0 || (rc = fs_parse_keep(out, &a, err)) < 0)
        return fs_parse_fail(out, rc);
    if (id)
        fs_strlcpy(out->event_id, id, sizeof(out->event_id));
    return 0;
}
