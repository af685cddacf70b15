/* forecast: least-squares trend lines and threshold crossing times (forecast.h). Owns the
 * arithmetic and the sentence that says it ("95% in ~5d 2h ..."); it must stay free of I/O and
 * allocation, and never turn a NaN or an infinity into a confident-looking answer. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>

#include "context/forecast.h"

#define WEAK_R2 0.5
#define MAX_DURATION_S 1e9 /* ~31.7 years: beyond it a duration is not worth digits */

static bool usable(const struct fs_fc_sample *s)
{
    return isfinite(s->t) && isfinite(s->v);
}

int fs_fc_fit(const struct fs_fc_sample *s, size_t n, struct fs_fc_fit *out)
{
    memset(out, 0, sizeof(*out));
    out->last = NAN;
    out->t_first = out->t_last = NAN;
    double st = 0, sv = 0;
    for (size_t i = 0; i < n; i++) {
        if (!usable(&s[i])) {
            out->skipped++;
            continue;
        }
        if (out->n == 0 || s[i].t < out->t_first)
            out->t_first = s[i].t;
        if (out->n == 0 || s[i].t >= out->t_last) {
            out->t_last = s[i].t;
            out->last = s[i].v;
        }
        out->n++;
        st += s[i].t;
        sv += s[i].v;
    }
    if (out->n == 0)
        return -FS_E_INVALID;
    /* centred sums: Unix seconds squared would lose every digit that matters */
    double mt = st / (double)out->n, mv = sv / (double)out->n;
    out->t_ref = mt;
    out->intercept = mv;
    if (out->n < 2 || out->t_first == out->t_last)
        return -FS_E_INVALID;
    double sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!usable(&s[i]))
            continue;
        double dt = s[i].t - mt, dv = s[i].v - mv;
        sxx += dt * dt;
        sxy += dt * dv;
        syy += dv * dv;
    }
    if (!(sxx > 0) || !isfinite(sxy) || !isfinite(syy))
        return -FS_E_INVALID;
    out->slope = sxy / sxx;
    double res = 0;
    for (size_t i = 0; i < n; i++) {
        if (!usable(&s[i]))
            continue;
        double e = s[i].v - (mv + out->slope * (s[i].t - mt));
        res += e * e;
    }
    double r2 = syy > 0 ? 1.0 - res / syy : 1.0;
    out->r2 = r2 < 0 ? 0 : (r2 > 1 ? 1 : r2);
    return 0;
}

double fs_fc_predict(const struct fs_fc_fit *f, double t)
{
    if (f->n < 2)
        return f->last;
    return f->intercept + f->slope * (t - f->t_ref);
}

int fs_fc_eta(const struct fs_fc_fit *f, double threshold, enum fs_fc_dir dir, double now,
              double horizon_s, struct fs_fc_eta *out)
{
    out->state = FS_FC_NODATA;
    out->rising = true;
    out->seconds = NAN;
    out->at_horizon = NAN;
    if (!isfinite(threshold) || !isfinite(now))
        return -FS_E_INVALID;
    bool have_last = isfinite(f->last);
    bool line = f->n >= 2 && f->t_first < f->t_last && isfinite(f->slope);
    if (dir == FS_FC_AUTO)
        out->rising = !have_last || f->last <= threshold;
    else
        out->rising = dir == FS_FC_RISING;
    if (line && horizon_s > 0)
        out->at_horizon = fs_fc_predict(f, now + horizon_s);
    if (have_last && (out->rising ? f->last >= threshold : f->last <= threshold)) {
        out->state = FS_FC_PAST;
        out->seconds = 0;
        return 0;
    }
    if (!line)
        return 0;
    if (f->slope == 0) {
        out->state = FS_FC_FLAT;
        return 0;
    }
    if ((f->slope > 0) != out->rising) {
        out->state = FS_FC_AWAY;
        return 0;
    }
    double s = (threshold - fs_fc_predict(f, now)) / f->slope;
    out->state = FS_FC_CROSSES;
    out->seconds = s > 0 ? s : 0;
    if (!isfinite(out->seconds))
        out->seconds = HUGE_VAL; /* a slope too small to divide by: reached, but not soon */
    return 0;
}

/* A plain number: integers up to 1e12 in full, otherwise 3 significant digits. */
static void plain(double v, char *buf, size_t size)
{
    double a = fabs(v);
    if (a >= 1000 && a < 1e12)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.3g", v);
}

char *fs_fc_format_value(double v, enum fs_fc_unit u, char *buf, size_t size)
{
    if (!size)
        return buf;
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, size, "%sInf", v > 0 ? "+" : "-");
        return buf;
    }
    char num[40];
    switch (u) {
    case FS_FC_UNIT_PERCENT:
        plain(v, num, sizeof(num));
        snprintf(buf, size, "%s%%", num);
        break;
    case FS_FC_UNIT_BYTES: {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double a = fabs(v);
        size_t i = 0;
        while (a >= 1024 && i + 1 < FS_ARRAY_LEN(units)) {
            a /= 1024;
            i++;
        }
        if (i == 0)
            snprintf(buf, size, "%.0f B", v);
        else
            snprintf(buf, size, "%s%.*f %s", v < 0 ? "-" : "", a < 10 ? 1 : 0, a, units[i]);
        break;
    }
    default: plain(v, buf, size); break;
    }
    return buf;
}

char *fs_fc_format_duration(double seconds, char *buf, size_t size)
{
    if (!size)
        return buf;
    if (isnan(seconds)) {
        snprintf(buf, size, "never");
        return buf;
    }
    if (seconds > MAX_DURATION_S) {
        snprintf(buf, size, "more than 30 years");
        return buf;
    }
    if (seconds < 1) {
        snprintf(buf, size, "<1s");
        return buf;
    }
    long long s = (long long)(seconds + 0.5);
    static const struct {
        long long unit;
        const char *name;
    } u[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    for (size_t i = 0; i < FS_ARRAY_LEN(u); i++) {
        if (s < u[i].unit)
            continue;
        long long major = s / u[i].unit;
        long long minor = i + 1 < FS_ARRAY_LEN(u) ? (s % u[i].unit) / u[i + 1].unit : 0;
        if (minor)
            snprintf(buf, size, "%lld%s %lld%s", major, u[i].name, minor, u[i + 1].name);
        else
            snprintf(buf, size, "%lld%s", major, u[i].name);
        return buf;
    }
    snprintf(buf, size, "0s");
    return buf;
}

/* "+1.4 GiB/day, r²=0.98" (", weak trend" when r² is low) */
static void rate(const struct fs_fc_fit *f, enum fs_fc_unit u, char *buf, size_t size)
{
    char v[48];
    double per_day = f->slope * 86400.0;
    fs_fc_format_value(fabs(per_day), u, v, sizeof(v));
    snprintf(buf, size, "at %s%s/day, r²=%.2f%s", per_day < 0 ? "-" : "+", v, f->r2,
             f->r2 < WEAK_R2 ? ", weak trend" : "");
}

char *fs_fc_summary(const struct fs_fc_fit *f, const struct fs_fc_eta *e, double threshold,
                    enum fs_fc_unit u, double horizon_s, char *buf, size_t size)
{
    if (!size)
        return buf;
    char th[48], now[48], d[48], r[128];
    fs_fc_format_value(threshold, u, th, sizeof(th));
    fs_fc_format_value(f->last, u, now, sizeof(now));
    switch (e->state) {
    case FS_FC_CROSSES:
        rate(f, u, r, sizeof(r));
        fs_fc_format_duration(e->seconds, d, sizeof(d));
        if (e->seconds < 1)
            snprintf(buf, size, "%s now (%s)", th, r);
        else
            snprintf(buf, size, "%s in ~%s (%s)", th, d, r);
        break;
    case FS_FC_PAST: snprintf(buf, size, "already past %s (now %s)", th, now); break;
    case FS_FC_FLAT: snprintf(buf, size, "not reaching %s: flat at %s", th, now); break;
    case FS_FC_AWAY:
        rate(f, u, r, sizeof(r));
        snprintf(buf, size, "not reaching %s: moving away (%s; now %s)", th, r, now);
        break;
    default:
        snprintf(buf, size, "not enough data (%zu usable sample%s%s)", f->n, f->n == 1 ? "" : "s",
                 f->skipped ? ", others NaN or infinite" : "");
        return buf;
    }
    if (horizon_s > 0 && isfinite(e->at_horizon)) {
        size_t l = strlen(buf);
        char hv[48];
        fs_fc_format_value(e->at_horizon, u, hv, sizeof(hv));
        fs_fc_format_duration(horizon_s, d, sizeof(d));
        snprintf(buf + l, size - l, "; %s expected in %s", hv, d);
    }
    return buf;
}
