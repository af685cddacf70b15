/* sim_net: the simulated servers of a world (eval/world.h) — Prometheus's /api/v1/query and
 * /api/v1/query_range over its metric series, Loki's /loki/api/v1/query_range over its log
 * streams (a LogQL selector and line filters), and the X.509 certificates its files and TLS
 * endpoints present, signed by one EC P-256 key per world. Every answer is what the real server
 * sends — bodies, status codes, error texts, Prometheus's number formatting — so forestall's own
 * parsers read it. Nothing here changes the world; PromQL is not evaluated (a series answers
 * every query whose text contains its `match`). */
#include "core/common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/regex.h"
#include "core/time.h"
#include "eval/world.h"

#define PROM_MAX_POINTS 11000 /* Prometheus: (end-start)/step above this is refused */
#define LOKI_DEFAULT_LIMIT 100
#define LOKI_MAX_LIMIT 5000             /* Loki's default max_entries_limit_per_query */
#define LOKI_DEFAULT_SINCE_MS 3600000LL /* start = end - 1h when not given */
#define MS_PER_HOUR 3600000.0
#define NS_PER_MS 1000000LL
#define MAX_MS 9200000000000LL          /* |ms| beyond this does not fit int64 nanoseconds */
#define CERT_MAX_MS 253402300799000LL   /* 9999-12-31T23:59:59Z: the last X.509 time */
#define CERT_MIN_MS (-62135596800000LL) /* 0001-01-01T00:00:00Z */
#define CERT_DEFAULT_LIFE_MS (90LL * 86400000)

/* ---- writing -------------------------------------------------------------------------------- */

/* A body being written; the first failure sticks. */
struct wr {
    struct fs_buf *b;
    int rc;
};

static void put(struct wr *o, const char *s)
{
    if (o->rc == 0)
        o->rc = fs_buf_puts(o->b, s);
}

static void putn(struct wr *o, const char *s, size_t n)
{
    if (o->rc == 0)
        o->rc = fs_buf_append(o->b, s, n);
}

static void putf(struct wr *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct wr *o, const char *fmt, ...)
{
    if (o->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    o->rc = fs_buf_vprintf(o->b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence starting s[0] (n > 0 bytes left), or 0 when it is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp, min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* s[0..n) as a JSON string; invalid UTF-8 becomes U+FFFD, as Go's encoder writes it. */
static void json_str(struct wr *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    put(o, "\"");
    for (size_t i = 0; i < n && o->rc == 0;) {
        unsigned c = p[i];
        size_t l = utf8_len(p + i, n - i);
        if (c == '"' || c == '\\') {
            char e[3] = {'\\', (char)c, 0};
            put(o, e);
        } else if (c == '\n') {
            put(o, "\\n");
        } else if (c == '\r') {
            put(o, "\\r");
        } else if (c == '\t') {
            put(o, "\\t");
        } else if (c < 0x20) {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            put(o, u);
        } else if (l == 0) {
            put(o, "\\ufffd");
            l = 1;
        } else {
            putn(o, s + i, l);
        }
        i += l ? l : 1;
    }
    put(o, "\"");
}

/* s[0..n) quoted the way Go's %q does in the servers' messages: escapes for quotes,
 * backslashes and control bytes, \xHH for bytes that are not UTF-8. */
static void go_quote(struct wr *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    put(o, "\"");
    for (size_t i = 0; i < n && o->rc == 0;) {
        unsigned c = p[i];
        size_t l = utf8_len(p + i, n - i);
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\a' ? "\\a"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                          : c == '\v' ? "\\v"
                                      : NULL;
        if (esc)
            put(o, esc);
        else if (c < 0x20 || c == 0x7f || l == 0)
            putf(o, "\\x%02x", c);
        else
            putn(o, s + i, l);
        i += (esc || l == 0) ? 1 : l;
    }
    put(o, "\"");
}

/* A label set ({"k":"v",...}, keys sorted as Prometheus and Loki keep them); non-string
 * values are left out. */
static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **sorted_keys(const json_t *labels, size_t *n)
{
    size_t cnt = json_object_size(labels), i = 0;
    const char **keys = fs_calloc(cnt ? cnt : 1, sizeof(*keys));
    if (!keys)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v)
    {
        if (json_is_string(v) && i < cnt)
            keys[i++] = k;
    }
    qsort(keys, i, sizeof(*keys), cmp_cstr);
    *n = i;
    return keys;
}

static void put_labels(struct wr *o, const json_t *labels)
{
    size_t n = 0;
    const char **keys = sorted_keys(labels, &n);
    if (!keys) {
        if (o->rc == 0)
            o->rc = -FS_E_NOMEM;
        return;
    }
    put(o, "{");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(labels, keys[i]);
        if (i)
            put(o, ",");
        json_str(o, keys[i], strlen(keys[i]));
        put(o, ":");
        json_str(o, json_string_value(v), json_string_length(v));
    }
    put(o, "}");
    free(keys);
}

/* ---- requests ------------------------------------------------------------------------------- */

/* One decoded form parameter (NUL-terminated, may hold NULs of its own). */
struct kv {
    char *k, *v;
    size_t kl, vl;
};

/* application/x-www-form-urlencoded parameters the way Go's url.ParseQuery reads them: pairs
 * split on '&', '+' is a space, a pair with a bad escape or a ';' is skipped and the first
 * such problem kept in err (Prometheus ignores it, Loki refuses the request with it). */
struct form {
    struct kv *kv;
    size_t n, cap;
    char err[160];
};

static int hexval(int c)
{
    return isdigit(c)               ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* 0, 1 (a bad escape: why says so), -FS_E_NOMEM. */
static int unescape(const char *s, size_t n, char **out, size_t *len, char *why, size_t whysize)
{
    char *d = fs_malloc(n + 1);
    if (!d)
        return -FS_E_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            d[o++] = ' ';
        } else if (s[i] != '%') {
            d[o++] = s[i];
        } else if (i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            d[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            struct fs_buf b = FS_BUF_INIT(0);
            struct wr w = {&b, 0};
            put(&w, "invalid URL escape ");
            go_quote(&w, s + i, FS_MIN(n - i, 3));
            if (w.rc == 0)
                snprintf(why, whysize, "%s", fs_buf_str(&b));
            fs_buf_release(&b);
            free(d);
            return w.rc == -FS_E_NOMEM ? -FS_E_NOMEM : 1;
        }
    }
    d[o] = '\0';
    *out = d;
    *len = o;
    return 0;
}

static void form_release(struct form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->kv[i].k);
        free(f->kv[i].v);
    }
    free(f->kv);
    memset(f, 0, sizeof(*f));
}

static int form_parse(struct form *f, const char *s, size_t n)
{
    size_t i = 0;
    while (s && i < n) {
        size_t end = i;
        while (end < n && s[end] != '&')
            end++;
        const char *p = s + i;
        size_t pl = end - i;
        i = end + 1;
        if (pl == 0)
            continue;
        if (memchr(p, ';', pl)) {
            if (!f->err[0])
                snprintf(f->err, sizeof(f->err), "invalid semicolon separator in query");
            continue;
        }
        const char *eq = memchr(p, '=', pl);
        size_t kl = eq ? (size_t)(eq - p) : pl;
        struct kv kv = {0};
        char why[sizeof(f->err)] = "";
        int rc = unescape(p, kl, &kv.k, &kv.kl, why, sizeof(why));
        if (rc == 0)
            rc = unescape(eq ? eq + 1 : "", eq ? pl - kl - 1 : 0, &kv.v, &kv.vl, why, sizeof(why));
        if (rc != 0) {
            free(kv.k);
            if (rc < 0)
                return rc;
            if (!f->err[0])
                snprintf(f->err, sizeof(f->err), "%s", why);
            continue;
        }
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 8;
            struct kv *a = fs_realloc(f->kv, cap * sizeof(*a));
            if (!a) {
                free(kv.k);
                free(kv.v);
                return -FS_E_NOMEM;
            }
            f->kv = a;
            f->cap = cap;
        }
        f->kv[f->n++] = kv;
    }
    return 0;
}

/* The first value of key (Go's FormValue), or NULL. */
static const struct kv *form_get(const struct form *f, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < f->n; i++)
        if (f->kv[i].kl == kl && !memcmp(f->kv[i].k, key, kl))
            return &f->kv[i];
    return NULL;
}

/* A value usable as a C string: no NUL inside. */
static bool plain(const struct kv *v)
{
    return v && !memchr(v->v, '\0', v->vl);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t l = strlen(suffix);
    return n >= l && !memcmp(s + n - l, suffix, l);
}

/* ---- Prometheus ----------------------------------------------------------------------------- */

/* Prometheus's parseTime: float Unix seconds (the fraction rounded to milliseconds) or
 * RFC 3339. */
static bool prom_time(const struct kv *v, int64_t *ms)
{
    if (!plain(v) || v->vl == 0 || v->vl > 64)
        return false;
    if (strspn(v->v, "0123456789+-.eE") == v->vl) {
        char *end;
        errno = 0;
        double d = strtod(v->v, &end);
        if (*end || end == v->v || !isfinite(d) || fabs(d) > 9.2e12)
            return false;
        *ms = llround(d * 1000.0);
        return true;
    }
    return fs_time_parse_rfc3339(v->v, v->vl, ms) == 0 && *ms != FS_TIME_UNSET;
}

/* Prometheus's parseDuration into nanoseconds: float seconds or a duration ("1m", "1h30m").
 * 0, 1 (not a duration), 2 (overflows int64). */
static int prom_duration(const struct kv *v, int64_t *ns)
{
    if (!plain(v) || v->vl == 0 || v->vl > 64)
        return 1;
    if (strspn(v->v, "0123456789+-.eE") == v->vl) {
        char *end;
        double d = strtod(v->v, &end);
        if (*end || end == v->v || isnan(d))
            return 1;
        double t = d * 1e9;
        if (t >= 9.223372036854775807e18 || t < -9.223372036854775807e18)
            return 2;
        *ns = (int64_t)t;
        return 0;
    }
    int64_t ms;
    if (fs_duration_parse(v->v, &ms) < 0 || ms > INT64_MAX / NS_PER_MS)
        return 1;
    *ns = ms * NS_PER_MS;
    return 0;
}

/* The value of s at t (Unix ms): linear from its value at now, or interpolated between its
 * points (none outside the first..last point). */
static bool series_at(const struct fs_world *w, const struct fs_sim_series *s, int64_t t, double *v)
{
    if (!s->points || s->npoints == 0) {
        *v = s->value + s->per_hour * ((double)(t - w->now_ms) / MS_PER_HOUR);
        return true;
    }
    const struct fs_sim_point *p = s->points;
    size_t n = s->npoints, lo = 0, hi = n - 1;
    if (t < p[0].t_ms || t > p[n - 1].t_ms)
        return false;
    while (lo < hi) { /* the last point at or before t */
        size_t mid = lo + (hi - lo + 1) / 2;
        if (p[mid].t_ms <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (p[lo].t_ms == t || lo == n - 1) {
        *v = p[lo].v;
        return true;
    }
    double f = (double)(t - p[lo].t_ms) / (double)(p[lo + 1].t_ms - p[lo].t_ms);
    *v = p[lo].v + (p[lo + 1].v - p[lo].v) * f;
    return true;
}

/* A sample value as Prometheus writes it (jsonutil.MarshalValue): the shortest decimal that
 * reads back as v, in plain notation, or exponent notation below 1e-6 and from 1e21 up. */
static void prom_value_fmt(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(buf, size, "%s", signbit(v) ? "-0" : "0");
        return;
    }
    char e[48];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    double a = fabs(v);
    if (a < 1e-6 || a >= 1e21) { /* Go's 'e' format: the same shape as C's */
        snprintf(buf, size, "%s", e);
        return;
    }
    char dig[24];
    size_t nd = 0, o = 0;
    const char *q = e;
    bool neg = *q == '-';
    if (neg)
        q++;
    for (; *q && *q != 'e'; q++)
        if (isdigit((unsigned char)*q) && nd < sizeof(dig))
            dig[nd++] = *q;
    long ex = *q == 'e' ? strtol(q + 1, NULL, 10) : 0;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    char out[400];
    if (neg)
        out[o++] = '-';
    if (ex >= (long)nd - 1) {
        for (size_t i = 0; i < nd; i++)
            out[o++] = dig[i];
        for (long i = 0; i < ex - ((long)nd - 1) && o < sizeof(out) - 1; i++)
            out[o++] = '0';
    } else if (ex >= 0) {
        for (size_t i = 0; i < nd; i++) {
            out[o++] = dig[i];
            if ((long)i == ex)
                out[o++] = '.';
        }
    } else {
        out[o++] = '0';
        out[o++] = '.';
        for (long i = 0; i < -ex - 1 && o < sizeof(out) - 30; i++)
            out[o++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[o++] = dig[i];
    }
    out[o] = '\0';
    snprintf(buf, size, "%s", out);
}

/* A timestamp as Prometheus writes it (jsonutil.MarshalTimestamp): seconds, and when there
 * are milliseconds, a dot and three digits. */
static void put_prom_time(struct wr *o, int64_t ms)
{
    uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    putf(o, "%s%llu", ms < 0 ? "-" : "", (unsigned long long)(a / 1000));
    if (a % 1000)
        putf(o, ".%03llu", (unsigned long long)(a % 1000));
}

static void put_sample(struct wr *o, int64_t t, double v)
{
    char s[420];
    prom_value_fmt(v, s, sizeof(s));
    put(o, "[");
    put_prom_time(o, t);
    putf(o, ",\"%s\"]", s);
}

/* {"status":"error","errorType":"bad_data","error":msg} with 400. */
static int prom_error(struct wr *o, long *status, const char *msg, size_t len)
{
    *status = 400;
    put(o, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":");
    json_str(o, msg, len);
    put(o, "}");
    return o->rc;
}

/* `invalid parameter "name": cannot parse "value" to a valid timestamp|duration[...]` */
static int prom_bad_param(struct wr *o, long *status, const char *name, const struct kv *v,
                          const char *what)
{
    struct fs_buf m = FS_BUF_INIT(0);
    struct wr w = {&m, 0};
    putf(&w, "invalid parameter \"%s\": cannot parse ", name);
    go_quote(&w, v ? v->v : "", v ? v->vl : 0);
    putf(&w, " to a valid %s", what);
    int rc = w.rc ? w.rc : prom_error(o, status, fs_buf_str(&m), m.len);
    fs_buf_release(&m);
    return rc;
}

/* The series whose match occurs in the query text, sorted by their label sets (labels.Compare)
 * as Prometheus orders a result. */
struct hit {
    const struct fs_sim_series *s;
    const char **keys;
    size_t nkeys;
};

static int cmp_hit(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    for (size_t i = 0; i < x->nkeys && i < y->nkeys; i++) {
        int c = strcmp(x->keys[i], y->keys[i]);
        if (c)
            return c;
        c = strcmp(json_string_value(json_object_get(x->s->labels, x->keys[i])),
                   json_string_value(json_object_get(y->s->labels, y->keys[i])));
        if (c)
            return c;
    }
    if (x->nkeys != y->nkeys)
        return x->nkeys < y->nkeys ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

static void hits_free(struct hit *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++)
        free(h[i].keys);
    free(h);
}

static int find_series(const struct fs_world *w, const struct kv *q, struct hit **out, size_t *n)
{
    struct hit *h = fs_calloc(w->nseries ? w->nseries : 1, sizeof(*h));
    if (!h)
        return -FS_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < w->nseries; i++) {
        const struct fs_sim_series *s = &w->series[i];
        const char *m = s->match ? s->match : "";
        if (!memmem(q->v, q->vl, m, strlen(m)))
            continue;
        h[k].s = s;
        if (!(h[k].keys = sorted_keys(s->labels, &h[k].nkeys))) {
            hits_free(h, k);
            return -FS_E_NOMEM;
        }
        k++;
    }
    qsort(h, k, sizeof(*h), cmp_hit);
    *out = h;
    *n = k;
    return 0;
}

/* A query that is empty or blank is PromQL's "no expression found in input". */
static bool blank(const struct kv *q)
{
    if (!q)
        return true;
    for (size_t i = 0; i < q->vl; i++)
        if (!strchr(" \t\r\n", q->v[i]))
            return false;
    return true;
}

static const char NO_EXPR[] =
    "invalid parameter \"query\": 1:1: parse error: no expression found in input";

static int check_timeout(struct wr *o, long *status, const struct form *f, bool *bad)
{
    const struct kv *to = form_get(f, "timeout");
    int64_t ns;
    *bad = false;
    if (!to || to->vl == 0)
        return 0;
    int d = prom_duration(to, &ns);
    if (d == 0)
        return 0;
    *bad = true;
    return prom_bad_param(o, status, "timeout", to,
                          d == 2 ? "duration. It overflows int64" : "duration");
}

static int prom_instant(const struct fs_world *w, const struct form *f, long *status, struct wr *o)
{
    const struct kv *tv = form_get(f, "time"), *q = form_get(f, "query");
    int64_t t = w->now_ms;
    if (tv && tv->vl && !prom_time(tv, &t))
        return prom_bad_param(o, status, "time", tv, "timestamp");
    bool bad;
    int rc = check_timeout(o, status, f, &bad);
    if (rc < 0 || bad)
        return rc;
    if (blank(q))
        return prom_error(o, status, NO_EXPR, strlen(NO_EXPR));
    struct hit *h = NULL;
    size_t n = 0;
    if ((rc = find_series(w, q, &h, &n)) < 0)
        return rc;
    *status = 200;
    put(o, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (!series_at(w, h[i].s, t, &v))
            continue;
        put(o, first ? "{\"metric\":" : ",{\"metric\":");
        first = false;
        put_labels(o, h[i].s->labels);
        put(o, ",\"value\":");
        put_sample(o, t, v);
        put(o, "}");
    }
    put(o, "]}}");
    hits_free(h, n);
    return o->rc;
}

static int prom_range(const struct fs_world *w, const struct form *f, long *status, struct wr *o)
{
    const struct kv *sv = form_get(f, "start"), *ev = form_get(f, "end");
    const struct kv *stv = form_get(f, "step"), *q = form_get(f, "query");
    int64_t start, end, step_ns;
    if (!prom_time(sv, &start))
        return prom_bad_param(o, status, "start", sv, "timestamp");
    if (!prom_time(ev, &end))
        return prom_bad_param(o, status, "end", ev, "timestamp");
    if (end < start) {
        static const char m[] = "end timestamp must not be before start time";
        return prom_error(o, status, m, strlen(m));
    }
    int d = prom_duration(stv, &step_ns);
    if (d)
        return prom_bad_param(o, status, "step", stv,
                              d == 2 ? "duration. It overflows int64" : "duration");
    if (step_ns <= 0) {
        static const char m[] =
            "zero or negative query resolution step widths are not accepted. Try a positive "
            "integer";
        return prom_error(o, status, m, strlen(m));
    }
    /* end.Sub(start)/step, in nanoseconds, saturating like Go's time.Sub */
    __int128 span = (__int128)(end - start) * NS_PER_MS;
    if (span > INT64_MAX)
        span = INT64_MAX;
    if (span / step_ns > PROM_MAX_POINTS) {
        static const char m[] = "exceeded maximum resolution of 11,000 points per timeseries. "
                                "Try decreasing the query resolution (?step=XX)";
        return prom_error(o, status, m, strlen(m));
    }
    bool bad;
    int rc = check_timeout(o, status, f, &bad);
    if (rc < 0 || bad)
        return rc;
    if (blank(q))
        return prom_error(o, status, NO_EXPR, strlen(NO_EXPR));
    int64_t interval = FS_MAX(1, step_ns / NS_PER_MS); /* the engine steps in milliseconds */
    struct hit *h = NULL;
    size_t n = 0;
    if ((rc = find_series(w, q, &h, &n)) < 0)
        return rc;
    *status = 200;
    put(o, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[");
    bool first = true;
    for (size_t i = 0; i < n && o->rc == 0; i++) {
        bool any = false;
        for (int64_t t = start; t <= end && o->rc == 0; t += interval) {
            double v;
            if (!series_at(w, h[i].s, t, &v))
                continue;
            if (!any) {
                put(o, first ? "{\"metric\":" : ",{\"metric\":");
                put_labels(o, h[i].s->labels);
                put(o, ",\"values\":[");
                first = false;
            } else {
                put(o, ",");
            }
            any = true;
            put_sample(o, t, v);
            if (end - t < interval)
                break;
        }
        if (any)
            put(o, "]}");
    }
    put(o, "]}}");
    hits_free(h, n);
    return o->rc;
}

/* ---- LogQL ---------------------------------------------------------------------------------- */

enum lq_op { LQ_EQ, LQ_NEQ, LQ_RE, LQ_NRE };

struct lq_term { /* a label matcher (name set) or a line filter */
    char *name;
    char *val;
    size_t vlen;
    enum lq_op op;
    pcre2_code *re;
};

struct logql {
    struct lq_term *t;
    size_t n, cap, nmatchers; /* t[0..nmatchers) are the selector, the rest line filters */
};

struct lq_parser {
    const char *s;
    size_t n, i;
    char err[512]; /* the message after "parse error ..." */
    size_t err_at;
    bool positioned;
};

static void logql_release(struct logql *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->t[i].name);
        free(q->t[i].val);
        pcre2_code_free(q->t[i].re);
    }
    free(q->t);
    memset(q, 0, sizeof(*q));
}

static int lq_fail(struct lq_parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lq_fail(struct lq_parser *p, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    fs_utf8_cut(p->err);
    p->err_at = at;
    p->positioned = true;
    return 1;
}

static void lq_ws(struct lq_parser *p)
{
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p->i++;
        } else if (c == '#') { /* a comment, to the end of the line */
            while (p->i < p->n && p->s[p->i] != '\n')
                p->i++;
        } else {
            break;
        }
    }
}

/* What the next token is, for "unexpected X". */
static const char *lq_tok(const struct lq_parser *p, char *buf, size_t size)
{
    if (p->i >= p->n)
        return "$end";
    unsigned char c = (unsigned char)p->s[p->i];
    if (isalpha(c) || c == '_')
        return "IDENTIFIER";
    if (c == '"' || c == '`')
        return "STRING";
    if (isdigit(c))
        return "NUMBER";
    if (c >= 0x21 && c < 0x7f) {
        char d = p->i + 1 < p->n ? p->s[p->i + 1] : '\0';
        size_t two = d && strchr("=~>", d) && strchr("|!=", (char)c) ? 2 : 1;
        snprintf(buf, size, "%.*s", (int)two, p->s + p->i);
        return buf;
    }
    snprintf(buf, size, "\\x%02x", c);
    return buf;
}

static void put_utf8(char *d, size_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        d[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        d[(*o)++] = (char)(0xC0 | (cp >> 6));
        d[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        d[(*o)++] = (char)(0xE0 | (cp >> 12));
        d[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        d[(*o)++] = (char)(0xF0 | (cp >> 18));
        d[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        d[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* A string literal at p->i: "..." with Go's escapes (strconv.Unquote, what fs_logql_quote
 * writes) or `raw`. 0 with *out and *len (malloc'd, NUL-terminated), 1 (p->err), -FS_E_NOMEM. */
static int lq_string(struct lq_parser *p, char **out, size_t *len)
{
    size_t at = p->i;
    char q = p->s[p->i++];
    char *d = fs_malloc(p->n - at + 1); /* never longer than the literal */
    if (!d)
        return -FS_E_NOMEM;
    size_t o = 0;
    while (p->i < p->n && p->s[p->i] != q) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (q == '`' || c != '\\') {
            d[o++] = (char)c;
            p->i++;
            continue;
        }
        size_t esc = p->i;
        if (++p->i >= p->n)
            break;
        char e = p->s[p->i++];
        const char *simple = strchr("abfnrtv\\\"", e);
        if (simple && e) {
            static const char map[] = "\a\b\f\n\r\t\v\\\"";
            d[o++] = map[simple - "abfnrtv\\\""];
            continue;
        }
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : (e >= '0' && e <= '7') ? 2 : -1;
        uint32_t v = e >= '0' && e <= '7' ? (uint32_t)(e - '0') : 0;
        bool ok = digits > 0 && p->i + (size_t)digits <= p->n;
        for (int k = 0; ok && k < digits; k++) {
            int h = hexval((unsigned char)p->s[p->i + (size_t)k]);
            if (e >= '0' && e <= '7')
                ok = h >= 0 && h <= 7, v = v * 8 + (uint32_t)h;
            else
                ok = h >= 0, v = v * 16 + (uint32_t)h;
        }
        if (ok && (e == 'u' || e == 'U'))
            ok = v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF);
        if (ok && e >= '0' && e <= '7')
            ok = v <= 255;
        if (!ok) {
            free(d);
            return lq_fail(p, esc, "invalid char escape");
        }
        p->i += (size_t)digits;
        if (e == 'u' || e == 'U')
            put_utf8(d, &o, v);
        else
            d[o++] = (char)v;
    }
    if (p->i >= p->n) {
        free(d);
        return lq_fail(p, at, "literal not terminated");
    }
    p->i++; /* the closing quote */
    d[o] = '\0';
    *out = d;
    *len = o;
    return 0;
}

static struct lq_term *lq_add(struct logql *q)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        struct lq_term *t = fs_realloc(q->t, cap * sizeof(*t));
        if (!t)
            return NULL;
        q->t = t;
        q->cap = cap;
    }
    memset(&q->t[q->n], 0, sizeof(q->t[0]));
    return &q->t[q->n++];
}

static pcre2_match_context *line_limits;
static pthread_once_t line_limits_once = PTHREAD_ONCE_INIT;

static void line_limits_init(void)
{
    if ((line_limits = pcre2_match_context_create(NULL))) {
        pcre2_set_match_limit(line_limits, 1000000);
        pcre2_set_depth_limit(line_limits, 10000);
        pcre2_set_heap_limit(line_limits, 16384);
    }
}

/* A line filter's pattern: unanchored, any bytes in the subject. */
static pcre2_code *line_re(const char *s, size_t n, char *msg, size_t size)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, n,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C,
                                   &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR m[160];
        pcre2_get_error_message(ec, m, sizeof(m));
        snprintf(msg, size, "error parsing regexp at offset %zu: %s", (size_t)off, (const char *)m);
    }
    return re;
}

/* 1 when re matches somewhere in s, 0 when not or when the match ran out of its limits. */
static int line_match(const pcre2_code *re, const char *s, size_t n)
{
    pthread_once(&line_limits_once, line_limits_init);
    pcre2_match_data *md = fs_re_match_data();
    if (!md || !line_limits)
        return 0;
    return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, line_limits) >= 0;
}

static bool lq_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

/* One term's regex, if it has one: 0, 1 (p->err), -FS_E_NOMEM. */
static int lq_compile(struct lq_parser *p, struct lq_term *t, size_t at)
{
    if (t->op != LQ_RE && t->op != LQ_NRE)
        return 0;
    char msg[256];
    t->re = t->name ? fs_re_compile_checked(t->val, t->vlen, msg, sizeof(msg))
                    : line_re(t->val, t->vlen, msg, sizeof(msg));
    if (!t->re)
        return lq_fail(p, at, "invalid regex: %s", msg);
    return 0;
}

/* selector, then line filters: 0, 1 (p->err), -FS_E_NOMEM. */
static int logql_parse(struct lq_parser *p, struct logql *q)
{
    char tb[16];
    int rc;
    lq_ws(p);
    if (p->i < p->n && lq_ident_start(p->s[p->i]))
        return lq_fail(p, p->i,
                       "the simulated Loki answers log queries only ({selector} and "
                       "line filters), not metric queries");
    if (p->i >= p->n || p->s[p->i] != '{')
        return lq_fail(p, p->i, "syntax error: unexpected %s, expecting {", lq_tok(p, tb, 16));
    p->i++;
    for (;;) {
        lq_ws(p);
        if (p->i >= p->n || !lq_ident_start(p->s[p->i]))
            return lq_fail(p, p->i, "syntax error: unexpected %s, expecting IDENTIFIER",
                           lq_tok(p, tb, 16));
        size_t a = p->i;
        while (p->i < p->n && (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '_'))
            p->i++;
        struct lq_term *t = lq_add(q);
        if (!t || !(t->name = fs_strndup(p->s + a, p->i - a)))
            return -FS_E_NOMEM;
        q->nmatchers++;
        lq_ws(p);
        const char *s = p->s + p->i;
        size_t left = p->n - p->i, op_at = p->i;
        if (left >= 2 && s[0] == '=' && s[1] == '~')
            t->op = LQ_RE, p->i += 2;
        else if (left >= 2 && s[0] == '!' && s[1] == '~')
            t->op = LQ_NRE, p->i += 2;
        else if (left >= 2 && s[0] == '!' && s[1] == '=')
            t->op = LQ_NEQ, p->i += 2;
        else if (left >= 1 && s[0] == '=')
            t->op = LQ_EQ, p->i += 1;
        else
            return lq_fail(p, op_at, "syntax error: unexpected %s, expecting = or != or =~ or !~",
                           lq_tok(p, tb, 16));
        lq_ws(p);
        size_t v_at = p->i;
        if (p->i >= p->n || (p->s[p->i] != '"' && p->s[p->i] != '`'))
            return lq_fail(p, p->i, "syntax error: unexpected %s, expecting STRING",
                           lq_tok(p, tb, 16));
        if ((rc = lq_string(p, &t->val, &t->vlen)) != 0 || (rc = lq_compile(p, t, v_at)) != 0)
            return rc;
        lq_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            break;
        }
        return lq_fail(p, p->i, "syntax error: unexpected %s, expecting , or }", lq_tok(p, tb, 16));
    }
    for (;;) {
        lq_ws(p);
        if (p->i >= p->n)
            break;
        const char *s = p->s + p->i;
        size_t left = p->n - p->i, at = p->i;
        enum lq_op op;
        if (left >= 2 && s[0] == '|' && s[1] == '=')
            op = LQ_EQ;
        else if (left >= 2 && s[0] == '!' && s[1] == '=')
            op = LQ_NEQ;
        else if (left >= 2 && s[0] == '|' && s[1] == '~')
            op = LQ_RE;
        else if (left >= 2 && s[0] == '!' && s[1] == '~')
            op = LQ_NRE;
        else if (s[0] == '|' || (left >= 2 && s[0] == '!' && s[1] == '>'))
            return lq_fail(p, at,
                           "the simulated Loki supports only the line filters |= != |~ "
                           "!~ after the selector");
        else
            return lq_fail(p, at, "syntax error: unexpected %s", lq_tok(p, tb, 16));
        p->i += 2;
        lq_ws(p);
        size_t v_at = p->i;
        if (p->i >= p->n || (p->s[p->i] != '"' && p->s[p->i] != '`'))
            return lq_fail(p, p->i, "syntax error: unexpected %s, expecting STRING",
                           lq_tok(p, tb, 16));
        struct lq_term *t = lq_add(q);
        if (!t)
            return -FS_E_NOMEM;
        t->op = op;
        if ((rc = lq_string(p, &t->val, &t->vlen)) != 0 || (rc = lq_compile(p, t, v_at)) != 0)
            return rc;
    }
    /* Loki refuses a selector that every stream could match */
    for (size_t i = 0; i < q->nmatchers; i++) {
        const struct lq_term *t = &q->t[i];
        if ((t->op == LQ_EQ && t->vlen > 0) ||
            (t->op == LQ_RE && fs_re_full_match(t->re, "", 0) == 0))
            return 0;
    }
    p->positioned = false;
    snprintf(p->err, sizeof(p->err),
             "queries require at least one regexp or equality matcher that does not have an "
             "empty-compatible value. For instance, app=~\".*\" does not meet this requirement, "
             "but app=~\".+\" will");
    return 1;
}

static bool stream_matches(const struct logql *q, const json_t *labels)
{
    for (size_t i = 0; i < q->nmatchers; i++) {
        const struct lq_term *t = &q->t[i];
        json_t *v = json_object_get(labels, t->name);
        const char *s = json_is_string(v) ? json_string_value(v) : ""; /* absent = "" */
        size_t n = json_is_string(v) ? json_string_length(v) : 0;
        bool m;
        if (t->op == LQ_EQ || t->op == LQ_NEQ)
            m = n == t->vlen && !memcmp(s, t->val, n);
        else
            m = fs_re_full_match(t->re, s, n) == 1;
        if (m != (t->op == LQ_EQ || t->op == LQ_RE))
            return false;
    }
    return true;
}

static bool line_passes(const struct logql *q, const char *line)
{
    size_t n = strlen(line);
    for (size_t i = q->nmatchers; i < q->n; i++) {
        const struct lq_term *t = &q->t[i];
        bool m = (t->op == LQ_EQ || t->op == LQ_NEQ)
                     ? memmem(line, n, t->val, t->vlen) != NULL || t->vlen == 0
                     : line_match(t->re, line, n) == 1;
        if (m != (t->op == LQ_EQ || t->op == LQ_RE))
            return false;
    }
    return true;
}

/* ---- Loki ----------------------------------------------------------------------------------- */

/* A plain-text error as Loki writes it (http.Error: the message and a newline). */
static int loki_error(struct wr *o, long *status, const char *msg)
{
    *status = 400;
    put(o, msg);
    put(o, "\n");
    return o->rc;
}

static int loki_error_q(struct wr *o, long *status, const char *pre, const struct kv *v,
                        const char *post)
{
    struct fs_buf m = FS_BUF_INIT(0);
    struct wr w = {&m, 0};
    put(&w, pre);
    go_quote(&w, v->v, v->vl);
    put(&w, post);
    int rc = w.rc ? w.rc : loki_error(o, status, fs_buf_str(&m));
    fs_buf_release(&m);
    return rc;
}

/* Loki's timestamps: a number with a dot is float seconds; an integer is nanoseconds (seconds
 * when it has at most 10 digits); otherwise RFC 3339. */
static bool loki_time(const struct kv *v, int64_t *ns)
{
    if (!plain(v) || v->vl == 0 || v->vl > 64)
        return false;
    const char *s = v->v;
    char *end;
    if (strchr(s, '.') && strspn(s, "0123456789+-.eE") == v->vl) {
        double d = strtod(s, &end);
        if (!*end && end != s && isfinite(d) && fabs(d) < 9.2e9) {
            double ip, fp = modf(d, &ip);
            *ns = (int64_t)ip * 1000000000LL + llround(fp * 1000.0) * NS_PER_MS;
            return true;
        }
    }
    size_t digits = strspn(s + (*s == '+' || *s == '-'), "0123456789");
    if (digits > 0 && digits + (*s == '+' || *s == '-') == v->vl) {
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno || *end)
            return false;
        if (v->vl <= 10) {
            *ns = (int64_t)x * 1000000000LL;
            return true;
        }
        *ns = (int64_t)x;
        return true;
    }
    int64_t ms;
    if (fs_time_parse_rfc3339(s, v->vl, &ms) < 0 || ms == FS_TIME_UNSET || ms > MAX_MS ||
        ms < -MAX_MS)
        return false;
    *ns = ms * NS_PER_MS;
    return true;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0 && (a < 0) == (b < 0));
}

struct entry {
    size_t stream, line;
    int64_t t;
    size_t rank;
};

static int cmp_entry_time(const void *a, const void *b, void *backward)
{
    const struct entry *x = a, *y = b;
    int c = x->t != y->t             ? (x->t < y->t ? -1 : 1)
            : x->stream != y->stream ? (x->stream < y->stream ? -1 : 1)
            : x->line != y->line     ? (x->line < y->line ? -1 : 1)
                                     : 0;
    return *(const bool *)backward ? -c : c;
}

static int cmp_entry_stream(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->stream != y->stream)
        return x->stream < y->stream ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int loki_answer(const struct fs_world *w, const struct logql *q, int64_t lo_ms,
                       int64_t hi_ms, int64_t limit, bool backward, long *status, struct wr *o)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < w->nstreams; i++)
        total += w->streams[i].n;
    struct entry *e = fs_calloc(total ? total : 1, sizeof(*e));
    if (!e)
        return -FS_E_NOMEM;
    for (size_t i = 0; i < w->nstreams; i++) {
        const struct fs_sim_stream *st = &w->streams[i];
        if (!stream_matches(q, st->labels))
            continue;
        for (size_t j = 0; j < st->n; j++) {
            const struct fs_sim_line *l = &st->lines[j];
            if (l->t_ms < lo_ms || l->t_ms > hi_ms || !l->text || !line_passes(q, l->text))
                continue;
            e[k].stream = i;
            e[k].line = j;
            e[k].t = l->t_ms;
            k++;
        }
    }
    /* the limit's worth nearest the start of the direction, then grouped by stream */
    qsort_r(e, k, sizeof(*e), cmp_entry_time, &backward);
    if ((int64_t)k > limit)
        k = (size_t)limit;
    for (size_t i = 0; i < k; i++)
        e[i].rank = i;
    qsort(e, k, sizeof(*e), cmp_entry_stream);
    *status = 200;
    put(o, "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[");
    for (size_t i = 0; i < k && o->rc == 0; i++) {
        const struct fs_sim_stream *st = &w->streams[e[i].stream];
        bool first = i == 0 || e[i - 1].stream != e[i].stream;
        if (first) {
            put(o, i ? "]},{\"stream\":" : "{\"stream\":");
            put_labels(o, st->labels);
            put(o, ",\"values\":[");
        } else {
            put(o, ",");
        }
        const char *text = st->lines[e[i].line].text;
        putf(o, "[\"%lld\",", (long long)(e[i].t * NS_PER_MS));
        json_str(o, text, strlen(text));
        put(o, "]");
    }
    if (k)
        put(o, "]}");
    put(o, "],\"stats\":{}}}");
    free(e);
    return o->rc;
}

static int loki_range(const struct fs_world *w, const struct form *f, long *status, struct wr *o)
{
    if (f->err[0])
        return loki_error(o, status, f->err);
    const struct kv *sv = form_get(f, "start"), *ev = form_get(f, "end");
    const struct kv *since = form_get(f, "since"), *lv = form_get(f, "limit");
    const struct kv *dv = form_get(f, "direction"), *qv = form_get(f, "query");
    int64_t end = w->now_ms * NS_PER_MS, start, since_ns = LOKI_DEFAULT_SINCE_MS * NS_PER_MS;
    if (ev && ev->vl && !loki_time(ev, &end))
        return loki_error_q(o, status, "cannot parse ", ev, " to a valid timestamp");
    if (since && since->vl && prom_duration(since, &since_ns) != 0)
        return loki_error_q(o, status, "cannot parse ", since, " to a valid duration");
    if (__builtin_sub_overflow(end, since_ns, &start))
        start = INT64_MIN;
    if (sv && sv->vl && !loki_time(sv, &start))
        return loki_error_q(o, status, "cannot parse ", sv, " to a valid timestamp");
    if (end < start)
        return loki_error(o, status, "end timestamp must not be before or equal to start time");
    int64_t limit = LOKI_DEFAULT_LIMIT;
    if (lv && lv->vl) {
        char *e;
        errno = 0;
        long long x = plain(lv) ? strtoll(lv->v, &e, 10) : 0;
        if (!plain(lv) || *e || e == lv->v || isspace((unsigned char)lv->v[0]) || errno)
            return loki_error_q(o, status, "strconv.ParseInt: parsing ", lv,
                                errno ? ": value out of range" : ": invalid syntax");
        limit = x;
    }
    if (limit <= 0)
        return loki_error(o, status, "limit must be a positive value");
    bool backward = true;
    if (dv && dv->vl) {
        if (plain(dv) && !strcasecmp(dv->v, "forward"))
            backward = false;
        else if (!plain(dv) || strcasecmp(dv->v, "backward"))
            return loki_error_q(o, status, "invalid direction ", dv, "");
    }
    struct lq_parser p = {.s = qv ? qv->v : "", .n = qv ? qv->vl : 0};
    struct logql q = {0};
    int rc = logql_parse(&p, &q);
    if (rc == 1) {
        char msg[640];
        if (p.positioned) {
            size_t line = 1, col = 1;
            for (size_t i = 0; i < p.err_at && i < p.n; i++, col++)
                if (p.s[i] == '\n')
                    line++, col = 0;
            snprintf(msg, sizeof(msg), "parse error at line %zu, col %zu: %s", line, col, p.err);
        } else {
            snprintf(msg, sizeof(msg), "parse error : %s", p.err);
        }
        rc = loki_error(o, status, msg);
    } else if (rc == 0 && limit > LOKI_MAX_LIMIT) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "max entries limit per query exceeded, limit > max_entries_limit (%lld > %d)",
                 (long long)limit, LOKI_MAX_LIMIT);
        rc = loki_error(o, status, msg);
    } else if (rc == 0) {
        /* [start, end] in nanoseconds as whole milliseconds of the world's lines */
        int64_t lo = ceil_div(start, NS_PER_MS), hi = floor_div(end, NS_PER_MS);
        rc = loki_answer(w, &q, lo, hi, limit, backward, status, o);
    }
    logql_release(&q);
    return rc;
}

/* ---- the servers ---------------------------------------------------------------------------- */

int fs_world_http(struct fs_world *w, const char *url, bool post, const char *form, long *status,
                  struct fs_buf *body, struct fs_err *err)
{
    *status = 0;
    fs_buf_reset(body);
    /* scheme://authority, then the path up to '?' or '#', then the query */
    const char *p = url ? url : "";
    const char *sep = strstr(p, "://");
    if (sep)
        p = sep + 3 + strcspn(sep + 3, "/?#");
    size_t plen = strcspn(p, "?#");
    const char *query = p[plen] == '?' ? p + plen + 1 : NULL;
    struct form f = {0};
    int rc = 0;
    if (post && form)
        rc = form_parse(&f, form, strlen(form));
    if (rc == 0 && query)
        rc = form_parse(&f, query, strcspn(query, "#"));
    struct wr o = {body, rc};
    if (rc < 0)
        o.rc = rc;
    else if (ends_with(p, plen, "/loki/api/v1/query_range"))
        rc = loki_range(w, &f, status, &o);
    else if (ends_with(p, plen, "/loki/api/v1/query"))
        rc = 1;
    else if (ends_with(p, plen, "/api/v1/query_range"))
        rc = prom_range(w, &f, status, &o);
    else if (ends_with(p, plen, "/api/v1/query"))
        rc = prom_instant(w, &f, status, &o);
    else
        rc = 1;
    if (rc == 1) { /* Go's http.NotFound */
        fs_buf_reset(body);
        *status = 404;
        o.rc = 0;
        put(&o, "404 page not found\n");
        rc = o.rc;
    }
    form_release(&f);
    if (rc == -FS_E_TOO_LARGE)
        return fs_err_set(err, FS_E_TOO_LARGE, NULL, "response too large (more than %zu bytes)",
                          body->max);
    if (rc < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

/* ---- certificates --------------------------------------------------------------------------- */

static int ssl_fail(struct fs_err *err, const char *what)
{
    char m[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, m, sizeof(m));
    ERR_clear_error();
    return fs_err_set(err, FS_E_SYSTEM, NULL, "OpenSSL: %s%s%s", what, m[0] ? ": " : "", m);
}

/* "CN=old.example.com, O=Example, C=GB" → an X509_NAME that fs_hp_pem (RFC 2253, last RDN
 * first) prints back in the written order: the RDNs are added last first. A backslash escapes
 * the next character; a string without '=' is a common name. */
static int name_from(const char *s, X509_NAME **out, struct fs_err *err, const char *which)
{
    X509_NAME *nm = X509_NAME_new();
    size_t n = strlen(s ? s : "");
    char *buf = fs_malloc(n + 1);
    char **rdn = fs_calloc(n + 2, sizeof(*rdn));
    if (!nm || !buf || !rdn) {
        X509_NAME_free(nm);
        free(buf);
        free(rdn);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    size_t nr = 0, o = 0;
    bool has_eq = s && strchr(s, '=');
    rdn[nr++] = buf;
    for (size_t i = 0; has_eq && i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            buf[o++] = s[++i];
        } else if (s[i] == ',') {
            buf[o++] = '\0';
            rdn[nr++] = buf + o;
        } else {
            buf[o++] = s[i];
        }
    }
    buf[o] = '\0';
    int rc = 0;
    for (size_t i = nr; has_eq && rc == 0 && i-- > 0;) {
        char *r = rdn[i], *eq = strchr(r, '=');
        if (!eq)
            continue; /* an empty or stray piece */
        *eq = '\0';
        char *k = r, *v = eq + 1;
        while (*k == ' ')
            k++;
        for (size_t l = strlen(k); l && k[l - 1] == ' ';)
            k[--l] = '\0';
        while (*v == ' ')
            v++;
        for (size_t l = strlen(v); l && v[l - 1] == ' ';)
            v[--l] = '\0';
        if (!X509_NAME_add_entry_by_txt(nm, k, MBSTRING_UTF8, (const unsigned char *)v, -1, -1,
                                        0)) {
            char what[200];
            snprintf(what, sizeof(what), "certificate %s: cannot use %.40s=%.80s", which, k, v);
            rc = ssl_fail(err, what);
        }
    }
    if (rc == 0 && !has_eq && n &&
        !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)s, -1, -1, 0))
        rc = ssl_fail(err, "certificate name");
    free(buf);
    free(rdn);
    if (rc < 0) {
        X509_NAME_free(nm);
        return rc;
    }
    *out = nm;
    return 0;
}

static uint64_t cert_serial(const struct fs_sim_cert *c)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of what identifies it */
    const char *parts[] = {c->subject ? c->subject : "", c->issuer ? c->issuer : "",
                           c->host ? c->host : "", c->path ? c->path : ""};
    for (size_t i = 0; i < FS_ARRAY_LEN(parts); i++)
        for (const char *p = parts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h ^= (uint64_t)c->not_after_ms;
    return (h & 0x7fffffffffffffffULL) | 1;
}

int fs_world_pem(struct fs_world *w, const struct fs_sim_cert *c, struct fs_buf *out,
                 struct fs_err *err)
{
    if (!w->pem_key && !(w->pem_key = EVP_EC_gen("P-256")))
        return ssl_fail(err, "cannot make the world's P-256 key");
    EVP_PKEY *key = w->pem_key;
    int64_t na = c->not_after_ms;
    int64_t nb = c->not_before_ms ? c->not_before_ms : na - CERT_DEFAULT_LIFE_MS;
    if (na > CERT_MAX_MS || na < CERT_MIN_MS || nb > CERT_MAX_MS || nb < CERT_MIN_MS)
        return fs_err_set(err, FS_E_INVALID, NULL, "certificate validity out of range");
    /* whole seconds: notBefore down, notAfter up, so the certificate covers what was said and
     * "days left" counts from the exact expiry */
    time_t nb_s = (time_t)floor_div(nb, 1000), na_s = (time_t)ceil_div(na, 1000);
    X509 *x = X509_new();
    X509_NAME *subj = NULL, *iss = NULL;
    BIO *bio = NULL;
    int rc = x ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0)
        rc = name_from(c->subject, &subj, err, "subject");
    if (rc == 0)
        rc = name_from(c->issuer ? c->issuer : c->subject, &iss, err, "issuer");
    if (rc == 0 &&
        (!X509_set_version(x, X509_VERSION_3) ||
         !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), cert_serial(c)) ||
         !ASN1_TIME_set(X509_getm_notBefore(x), nb_s) ||
         !ASN1_TIME_set(X509_getm_notAfter(x), na_s) || !X509_set_subject_name(x, subj) ||
         !X509_set_issuer_name(x, iss) || !X509_set_pubkey(x, key)))
        rc = ssl_fail(err, "cannot fill in the certificate");
    if (rc == 0 && X509_sign(x, key, EVP_sha256()) <= 0)
        rc = ssl_fail(err, "cannot sign the certificate");
    if (rc == 0 && (!(bio = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509(bio, x)))
        rc = ssl_fail(err, "cannot write the certificate as PEM");
    if (rc == 0) {
        char *p;
        long len = BIO_get_mem_data(bio, &p);
        int arc = len > 0 ? fs_buf_append(out, p, (size_t)len) : -FS_E_SYSTEM;
        if (arc == -FS_E_NOMEM)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        else if (arc < 0)
            rc = fs_err_set(err, FS_E_SYSTEM, NULL, "the certificate PEM does not fit the buffer");
    }
    BIO_free(bio);
    X509_NAME_free(subj);
    X509_NAME_free(iss);
    X509_free(x);
    return rc;
}

void fs_world_pem_release(struct fs_world *w)
{
    if (w && w->pem_key) {
        EVP_PKEY_free(w->pem_key);
        w->pem_key = NULL;
    }
}
