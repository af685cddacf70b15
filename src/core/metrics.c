/* metrics: counters, histograms and the Prometheus text format writer. Updates are relaxed
 * atomics: a scrape may see a histogram mid-update, which the format tolerates. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>

#include "core/metrics.h"

void fs_hist_observe(struct fs_hist *h, double v)
{
    int i = 0;
    while (i < h->n && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    if (v > 0)
        atomic_fetch_add_explicit(&h->sum_micro, (uint64_t)llround(v * 1e6), memory_order_relaxed);
}

void fs_metric_header(struct fs_buf *b, const char *name, const char *type, const char *help)
{
    fs_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void fmt_value(char *out, size_t size, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "%.9g", v);
}

void fs_metric_sample(struct fs_buf *b, const char *name, const char *labels, double v)
{
    char val[48];
    fmt_value(val, sizeof(val), v);
    if (labels && *labels)
        fs_buf_printf(b, "%s{%s} %s\n", name, labels, val);
    else
        fs_buf_printf(b, "%s %s\n", name, val);
}

void fs_metric_hist(struct fs_buf *b, const char *name, const char *labels, struct fs_hist *h)
{
    uint64_t cum = 0;
    const char *sep = labels && *labels ? "," : "";
    for (int i = 0; i <= h->n; i++) {
        cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        char le[32];
        if (i < h->n)
            fmt_value(le, sizeof(le), h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        fs_buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels ? labels : "", sep, le,
                      (unsigned long long)cum);
    }
    char lab[256];
    snprintf(lab, sizeof(lab), "%s", labels ? labels : "");
    char sn[300], cn[300];
    snprintf(sn, sizeof(sn), "%s_sum", name);
    snprintf(cn, sizeof(cn), "%s_count", name);
    fs_metric_sample(b, sn, lab,
                     (double)atomic_load_explicit(&h->sum_micro, memory_order_relaxed) / 1e6);
    fs_metric_sample(b, cn, lab, (double)cum);
}

void fs_metric_escape(char *out, size_t size, const char *v)
{
    size_t j = 0;
    for (const char *p = v; *p && j + 3 < size; p++) {
        if (*p == '\\' || *p == '"') {
            out[j++] = '\\';
            out[j++] = *p;
        } else if (*p == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else {
            out[j++] = *p;
        }
    }
    out[j] = '\0';
}
