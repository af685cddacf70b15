/* The normalized alert: what every intake format (Alertmanager v4, Grafana, generic events,
 * Alertmanager's API during reconciliation) is turned into before the incident logic sees it.
 * Parsers live in src/intake; episodes and incidents are built from these in incidents.c. */
#ifndef FS_ALERT_H
#define FS_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

enum fs_alert_source {
    FS_SRC_ALERTMANAGER,
    FS_SRC_GRAFANA,
    FS_SRC_EVENT,
    FS_SRC_RECONCILE, /* Alertmanager GET /api/v2/alerts */
    FS_SRC__COUNT
};

enum fs_alert_status { FS_ALERT_FIRING, FS_ALERT_RESOLVED };

/* Ordered: a higher value is more severe. */
enum fs_severity { FS_SEV_INFO, FS_SEV_WARNING, FS_SEV_CRITICAL, FS_SEV__COUNT };

struct fs_alert {
    enum fs_alert_status status;
    char fingerprint[17]; /* 16 lowercase hex digits */
    int64_t starts_at;    /* ms since epoch; see starts_known */
    int64_t ends_at;      /* ms since epoch or FS_TIME_UNSET */
    /* false for events that did not say when their condition began: such an alert continues
     * the open episode of its fingerprint whatever its time, and starts_at is the receipt or
     * occurrence time. */
    bool starts_known;
    bool has_severity;         /* a recognised severity label or field was present */
    enum fs_severity severity; /* valid when has_severity */
    json_t *labels;            /* object string->string, non-empty; borrowed from the batch */
    json_t *annotations;       /* object string->string (may be empty); borrowed */
    json_t *extra; /* object: source-specific fields (generatorURL, values...); borrowed */
};

struct fs_alert_batch {
    enum fs_alert_source source;
    json_t *root; /* owns every borrowed value above; freed by release */
    struct fs_alert *alerts;
    size_t n;
    char event_id[129]; /* generic events: the sender's idempotency key, or "" */
    int64_t truncated;  /* alerts the sender said it left out (Alertmanager truncatedAlerts) */
};

struct fs_parse_limits {
    int max_depth; /* JSON nesting */
    size_t max_alerts;
    int64_t now_ms; /* receipt time (defaults for events) */
};

/* Fill err with code, message and JSON path on failure; batch is empty then. */
int fs_parse_alertmanager(const char *body, size_t len, const struct fs_parse_limits *lim,
                          struct fs_alert_batch *out, struct fs_err *err);
int fs_parse_grafana(const char *body, size_t len, const struct fs_parse_limits *lim,
                     struct fs_alert_batch *out, struct fs_err *err);
int fs_parse_event(const char *body, size_t len, const struct fs_parse_limits *lim,
                   struct fs_alert_batch *out, struct fs_err *err);
/* Alertmanager API v2 GET /api/v2/alerts (an array of gettable alerts): every entry, as a
 * firing alert whose extra.state says "active", "suppressed" or "unprocessed". */
int fs_parse_am_api_alerts(const char *body, size_t len, const struct fs_parse_limits *lim,
                           struct fs_alert_batch *out, struct fs_err *err);

void fs_alert_batch_release(struct fs_alert_batch *b);

/* Alertmanager/Prometheus label fingerprint: FNV-1a 64 over label names and values sorted by
 * name, each followed by the 0xff separator; 16 lowercase hex digits. */
void fs_alert_fingerprint(const json_t *labels, char out[17]);
/* Map a severity word ("critical", "warning", "info", "page", "error", ...) to a level. */
bool fs_severity_parse(const char *s, enum fs_severity *out);
const char *fs_severity_name(enum fs_severity s);
const char *fs_alert_source_name(enum fs_alert_source s);

#endif
