/* Trend forecasts: a least-squares line through (time, value) samples, and when that line
 * reaches a threshold. Pure arithmetic on doubles — no I/O, no allocation — so the same answer
 * comes out of a unit test, a fuzz run and prometheus.forecast.
 *
 * Times are seconds (Unix seconds from Prometheus, but any origin works: the fit centres them).
 * Samples that are NaN or ±Inf (Prometheus sends "NaN", "+Inf") are left out of the fit and
 * counted. Direction matters: usage "reaches" 95 % going up, free bytes reach 5 GiB going down;
 * FS_FC_AUTO takes the side of the threshold the series is on now. */
#ifndef FS_CONTEXT_FORECAST_H
#define FS_CONTEXT_FORECAST_H

#include <stdbool.h>
#include <stddef.h>

struct fs_fc_sample {
    double t; /* seconds */
    double v;
};

/* A fitted line v = intercept + slope * (t - t_ref). */
struct fs_fc_fit {
    size_t n;         /* finite samples used */
    size_t skipped;   /* samples left out: NaN, ±Inf value or time */
    double slope;     /* value units per second; 0 when n < 2 */
    double t_ref;     /* the mean time of the used samples */
    double intercept; /* fitted value at t_ref */
    double r2;        /* coefficient of determination, 0..1; 1 for an exact fit (constant too) */
    double t_first, t_last;
    double last; /* the observed value at t_last (the latest finite sample); NaN when n == 0 */
};

/* Fit s[0..n) (any order). Returns 0, or -FS_E_INVALID when fewer than 2 finite samples remain
 * or they all share one time; out is filled either way (n, skipped, last, t_last), with slope 0
 * and r2 0 when there is no line. */
int fs_fc_fit(const struct fs_fc_sample *s, size_t n, struct fs_fc_fit *out);

/* The fitted value at time t (the last observed value when there is no line). */
double fs_fc_predict(const struct fs_fc_fit *f, double t);

enum fs_fc_dir {
    FS_FC_AUTO,    /* toward the threshold from the side the latest value is on */
    FS_FC_RISING,  /* reaching = going up to it; at or above it = already past */
    FS_FC_FALLING, /* reaching = going down to it; at or below it = already past */
};

enum fs_fc_state {
    FS_FC_CROSSES, /* the line reaches the threshold after seconds */
    FS_FC_PAST,    /* the latest value is already at or past it */
    FS_FC_FLAT,    /* slope exactly 0 */
    FS_FC_AWAY,    /* the line moves away from the threshold */
    FS_FC_NODATA,  /* fewer than 2 usable samples, and not past */
};

struct fs_fc_eta {
    enum fs_fc_state state;
    bool rising;       /* the direction that counts as reaching (resolved from AUTO) */
    double seconds;    /* CROSSES: >= 0, from now; PAST: 0; otherwise NaN */
    double at_horizon; /* fitted value at now + horizon; NaN without a line or horizon <= 0 */
};

/* When does f reach threshold, seen from time now? Past is judged on the latest observed value
 * (what is true now, not what the line says); the crossing time on the fitted line, never less
 * than 0. Returns 0, or -FS_E_INVALID when threshold or now is not finite. */
int fs_fc_eta(const struct fs_fc_fit *f, double threshold, enum fs_fc_dir dir, double now,
              double horizon_s, struct fs_fc_eta *out);

/* How values are written in sentences. */
enum fs_fc_unit {
    FS_FC_UNIT_NONE,    /* 1234.5, 8.64e+06 */
    FS_FC_UNIT_PERCENT, /* 95% */
    FS_FC_UNIT_BYTES,   /* 1.4 GiB */
};

/* "95%", "1.4 GiB", "0.25", "NaN". buf >= 32 bytes is always enough. Returns buf. */
char *fs_fc_format_value(double v, enum fs_fc_unit u, char *buf, size_t size);
/* "5d 2h", "3h 10m", "4m 5s", "42s", "<1s", "more than 30 years". Returns buf. */
char *fs_fc_format_duration(double seconds, char *buf, size_t size);

/* One human sentence: "95% in ~5d 2h (at +1.4 GiB/day, r²=0.98)", "already past 95% (now
 * 96.2%)", "not reaching 95%: moving away (at -1%/day, r²=0.91)", "not reaching 95%: flat at
 * 80%", "not enough data (1 usable sample)"; with a horizon, "; 97.3% expected in 1d"
 * follows. A fit with r² under 0.5 is called a weak trend. Always NUL-terminates. Returns buf. */
char *fs_fc_summary(const struct fs_fc_fit *f, const struct fs_fc_eta *e, double threshold,
                    enum fs_fc_unit u, double horizon_s, char *buf, size_t size);

#endif
