/* Shared by the intake parsers (parse_*.c) and nothing else: loading a body, the batch
 * skeleton, and the checks every alert format repeats (label maps, timestamps, fingerprints).
 *
 * Ownership: batch->root is a fresh object {"payload": <parsed body>, "alerts": [{"labels",
 * "annotations", "extra"}, ...]}. Every json_t a struct fs_alert borrows is held (by reference)
 * under root.alerts[i], so fs_alert_batch_release frees everything with one json_decref. */
#ifndef FS_PARSE_INT_H
#define FS_PARSE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "incidents/alert.h"

/* Parse body with the limits' depth bound and check the top-level type (JSON_OBJECT or
 * JSON_ARRAY): otherwise FS_E_INVALID_PAYLOAD "expected object, got array", path "".
 * *doc is a new reference on success, NULL on failure. */
int fs_parse_load(const char *body, size_t len, const struct fs_parse_limits *lim, json_type want,
                  json_t **doc, struct fs_err *err);

/* Check n against lim->max_alerts (FS_E_TOO_MANY naming arr_path and counting n nouns: "alerts",
 * "events"), then set up out: source, root (steals doc, also on failure), a zeroed alerts array
 * of n entries. out->n stays 0; fs_parse_keep counts alerts in. */
int fs_parse_batch_init(struct fs_alert_batch *out, enum fs_alert_source src, json_t *doc, size_t n,
                        const struct fs_parse_limits *lim, const char *arr_path, const char *noun,
                        struct fs_err *err);

/* Append *a as out->alerts[out->n++], holding its labels, annotations and extra under
 * root.alerts. Consumes a's references whatever the outcome (a is zeroed). */
int fs_parse_keep(struct fs_alert_batch *out, struct fs_alert *a, struct fs_err *err);

/* Release whatever out holds and zero it; returns rc so callers can `return fs_parse_fail()`. */
int fs_parse_fail(struct fs_alert_batch *out, int rc);

/* FS_E_NOMEM with a path, for jansson or fs_* allocation failures. */
int fs_parse_nomem(const char *path, struct fs_err *err);

/* A string value for messages: quoted, control bytes escaped, cut (at a UTF-8 boundary) with
 * "..." after about 40 bytes. */
void fs_parse_quote(char *out, size_t size, const char *s);

/* A string-to-string map at obj[key] (path base.key). required: missing is an error; missing
 * and optional leaves *out NULL. nonempty: {} is an error. Label names must be non-empty;
 * strict_names additionally requires Prometheus syntax [A-Za-z_][A-Za-z0-9_]* and non-empty
 * values (the generic event format). */
int fs_parse_str_map(const json_t *obj, const char *key, const char *base, bool required,
                     bool nonempty, bool strict_names, json_t **out, struct fs_err *err);

/* An RFC 3339 timestamp at obj[key]. Missing: error when required, else *present = false and
 * *out untouched. Go's zero time gives FS_TIME_UNSET, an error ("must be set") unless
 * allow_zero. present may be NULL. */
int fs_parse_time(const json_t *obj, const char *key, const char *base, bool required,
                  bool allow_zero, int64_t *out, bool *present, struct fs_err *err);

/* An optional string member: type-checked and, when extra is not NULL, copied to extra[key]. */
int fs_parse_opt_str(const json_t *obj, const char *key, const char *base, json_t *extra,
                     struct fs_err *err);

/* Exactly 16 hex digits (either case) → out, lowercased. */
bool fs_parse_fingerprint_ok(const char *s, char out[17]);

/* severity from labels["severity"] through fs_severity_parse. */
void fs_parse_label_severity(struct fs_alert *a);

/* One alert in the Alertmanager shape, shared by the Alertmanager and Grafana webhooks and
 * the Alertmanager API (api = true: no status field, fingerprint required, endsAt is
 * Alertmanager's prediction and not copied to ends_at). Fills a: status, labels, annotations
 * (an empty object when absent), starts_at, ends_at, fingerprint, severity, and a new extra
 * object holding generatorURL when present. The references in a are new: hand a to
 * fs_parse_keep, or drop them with fs_parse_alert_drop (done here on failure). */
int fs_parse_am_alert(const json_t *v, const char *path, bool api,
                      const struct fs_parse_limits *lim, struct fs_alert *a, struct fs_err *err);
void fs_parse_alert_drop(struct fs_alert *a);

/* The optional top-level fields both webhook formats share (status, receiver, groupKey,
 * externalURL, groupLabels, commonLabels, commonAnnotations, truncatedAlerts); sets
 * out->truncated. */
int fs_parse_webhook_common(const json_t *doc, struct fs_alert_batch *out, struct fs_err *err);

/* An Alertmanager-shaped webhook (Alertmanager v4, Grafana): load, check the version and the
 * top-level fields (check_top may be NULL), then every alert of `alerts`; alert_extras (may be
 * NULL) adds format-specific fields to an alert's extra. */
struct fs_webhook_format {
    enum fs_alert_source source;
    int (*check_version)(const json_t *doc, struct fs_err *err);
    int (*check_top)(const json_t *doc, struct fs_err *err);
    int (*alert_extras)(const json_t *alert, const char *path, json_t *extra, struct fs_err *err);
};

int fs_parse_webhook(const struct fs_webhook_format *fmt, const char *body, size_t len,
                     const struct fs_parse_limits *lim, struct fs_alert_batch *out,
                     struct fs_err *err);

#endif
