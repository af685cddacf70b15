/* Metric primitives for the Prometheus text exposition format: lock-free counters and
 * histograms, and the writer for `# HELP`/`# TYPE` families. Which metrics exist is decided by
 * the modules that own them (intake/metrics.c), not here. */
#ifndef FS_METRICS_H
#define FS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"

#define FS_HIST_MAX_BUCKETS 24

struct fs_hist {
    const double *bounds; /* upper bounds in seconds (or units), ascending */
    int n;
    atomic_uint_fast64_t counts[FS_HIST_MAX_BUCKETS + 1]; /* last = +Inf */
    atomic_uint_fast64_t sum_micro;                       /* sum in millionths of the unit */
    atomic_uint_fast64_t count;
};

static inline void fs_counter_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void fs_hist_observe(struct fs_hist *h, double v);

/* Family header, then samples. labels is "" or `source="event"` (already escaped). */
void fs_metric_header(struct fs_buf *b, const char *name, const char *type, const char *help);
void fs_metric_sample(struct fs_buf *b, const char *name, const char *labels, double v);
void fs_metric_hist(struct fs_buf *b, const char *name, const char *labels, struct fs_hist *h);
/* Escape a label value per the exposition format into out. */
void fs_metric_escape(char *out, size_t size, const char *v);

#endif
