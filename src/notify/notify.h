/* Notifications: the audit trail turned into notices, queued durably per channel, delivered with
 * retry.
 *
 * The notifier (a thread of the daemon) reads audit records after a cursor kept in the store,
 * maps the ones people need to hear about to notices and enqueues one delivery per configured
 * channel whose events include it, in the same transaction as the cursor move. The delivery
 * worker sends pending deliveries with exponential backoff and jitter; a dead channel never
 * blocks the incident, the executor or another channel. Channel kinds (webhook, pagerduty,
 * slack, email, jira) implement struct fs_channel_kind; the table is in channels.c. */
#ifndef FS_NOTIFY_H
#define FS_NOTIFY_H

#include "core/common.h"

#include <jansson.h>

/* The events a notice can carry (notice.event). */
#define FS_NOTIFY_EVENTS(X)                                                                        \
    X(PROPOSAL_PENDING, "proposal_pending")                                                        \
    X(DECISION, "decision")                                                                        \
    X(EXECUTION, "execution")                                                                      \
    X(VERIFICATION_FAILED, "verification_failed")                                                  \
    X(ESCALATION, "escalation")                                                                    \
    X(RESOLUTION, "resolution")

struct fs_notice {
    int64_t id;          /* outbox row id */
    const char *event;   /* one of the events above */
    int64_t incident_id; /* 0 when none */
    int64_t proposal_id; /* 0 when none */
    const json_t *data;  /* {"incident": {id,title,severity,state,labels,summary},
                             "proposal": {id, action, params, target, decision, score,
                                          contributions, reasons, rationale, expiresAt},
                             "execution": {id, outcome, reason}, "actor", "channel",
                             "postmortem": {summary, markdown} (escalation/resolution, when
                             one is stored)} — keys present when they apply */
    const char *link;    /* deep link: notify.public_url + "/ui/#/incidents/inc-N" */
    const char *ref;     /* the external reference an earlier delivery on the same channel for
                            the same incident returned (Slack message ts, Jira issue key,
                            PagerDuty dedup_key), or NULL */
};

struct fs_notify_result {
    char ref[256];   /* an external reference to keep for later notices of this incident */
    bool permanent;  /* failed for good (a 4xx other than 408/429): do not retry */
    char error[512]; /* what went wrong, sanitized, no secrets */
};

/* One kind of channel (a row of the table in src/notify/channels.c). conf is the channel's
 * configuration object (from notify.channels[i]; secret references already resolved into a
 * private copy only for deliver). That copy also carries "timeout_ms" (integer: notify.timeout,
 * unless the channel sets its own) — the longest one exchange with the peer may take. */
struct fs_channel_kind {
    const char *type; /* "webhook", "pagerduty", "slack", "email", "jira" */
    /* config check: report(arg, key, message) for each problem; 0 when fine */
    int (*check)(const json_t *conf, void (*report)(void *arg, const char *key, const char *msg),
                 void *arg);
    /* deliver one notice; 0 when the peer accepted it, <0 otherwise (res says why/permanent) */
    int (*deliver)(const json_t *conf, const struct fs_notice *n, struct fs_notify_result *res,
                   struct fs_err *err);
    /* the events a channel of this kind takes when its config names none; NULL = all */
    const char *const *default_events;
};
const struct fs_channel_kind *fs_channel_kind_find(const char *type);
/* The i-th kind of the table, NULL past the end (docs, tests). */
const struct fs_channel_kind *fs_channel_kind_at(size_t i);

/* ---- helpers shared by the channel kinds (notify.c / channels.c) ---- */

/* true when event is one of FS_NOTIFY_EVENTS. */
bool fs_notify_event_known(const char *event);

/* The HTTP status of a finished exchange mapped into res: 2xx → 0; 408/429/5xx → <0 retryable;
 * other 4xx → <0 with res->permanent. body (may be NULL) is quoted, sanitized and capped, into
 * res->error. */
int fs_notify_http_status(long status, const char *body, struct fs_notify_result *res,
                          struct fs_err *err);

/* POST body (Content-Type content_type) to url with extra headers ("Name: value", NULL-ended),
 * timeout_ms for the whole exchange (connect at most 5 s). *status gets the HTTP status; *resp
 * (if not NULL) the response body capped at 64 KiB, to free(). Transport failures return
 * -FS_E_CONNECT / -FS_E_TIMEOUT with err filled (no secrets: the URL's query is not quoted). */
int fs_notify_http_post(const char *url, const char *content_type, const char *body,
                        const char *const *headers, long timeout_ms, long *status, char **resp,
                        struct fs_err *err);

/* A private copy of a channel's configuration with every secret reference ({env: NAME} or
 * {file: PATH}, with an optional "prefix") replaced by its value; each value is also registered
 * for redaction. The delivery worker calls it for each attempt and frees the copy after. */
int fs_notify_resolve_secrets(const json_t *conf, json_t **out, struct fs_err *err);
/* Is v a secret reference ({env: ...} or {file: ...}, optionally with "prefix")? For check(). */
bool fs_notify_is_secret_ref(const json_t *v);

/* A short one-line summary of a notice ("Proposal pending: journal_vacuum on inc-3 — Disk ...")
 * into buf. */
void fs_notify_summary(const struct fs_notice *n, char *buf, size_t size);

/* ---- the pieces the unit tests reach (pure) ---- */

/* Map one audit record (its type and its data object) to the notice events it produces: up to
 * 2 events written into out (e.g. an execution that failed verification → "execution" and
 * "verification_failed"); returns how many. *incident_id / *proposal_id are set from the
 * record when it names them (0 otherwise). */
int fs_notify_map_audit(const char *type, const json_t *data, const char **out, int max,
                        int64_t *incident_id, int64_t *proposal_id);

/* The delay before attempt `attempts`+1 (attempts already made ≥ 1): initial·2^(attempts−1)
 * capped at max, then jittered into [d/2, d] by jitter01 ∈ [0,1). Milliseconds. */
int64_t fs_notify_backoff_ms(int attempts, int64_t initial_ms, int64_t max_ms, double jitter01);

/* X-Forestall-Signature value "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" into out
 * (at least 80 bytes). */
int fs_webhook_signature(const char *secret, int64_t t, const char *body, char *out, size_t size);

/* The PagerDuty Events v2 body for a notice (NULL when the event does not page: the caller
 * treats it as delivered with nothing to send). The dedup_key is n->ref or "forestall-inc-N".
 * New reference, caller decrefs. */
json_t *fs_pagerduty_body(const struct fs_notice *n, const char *routing_key);

/* The webhook body for a notice: {"id","event","incidentId","proposalId","link","ref", ...data}.
 * New reference. */
json_t *fs_webhook_body(const struct fs_notice *n);

/* ---- the daemon side ---- */

struct fs_store;
struct fs_writer;
struct fs_config;
struct fs_notifier;

/* Start the notifier and the delivery workers (returns 0 and *out = NULL when notify.channels is
 * empty: nothing to do). The writer carries every store write (enqueue + cursor, delivery
 * outcomes). base_url (may be NULL) is where the daemon actually listens ("http://127.0.0.1:
 * 9797"), the deep links' base when notify.public_url is null. */
int fs_notifier_start(const struct fs_config *cfg, struct fs_store *store, struct fs_writer *w,
                      const char *base_url, struct fs_notifier **out, struct fs_err *err);
/* Wake the notifier early (an audit record was appended). NULL-safe. */
void fs_notifier_kick(struct fs_notifier *nf);
/* Stop and join every thread; NULL-safe. */
void fs_notifier_stop(struct fs_notifier *nf);

/* /metrics: forestall_notifications_total{channel,status} (sent, dead) and
 * forestall_notifications_pending{channel}, counted in the outbox at scrape time. */
struct fs_buf;
int fs_notify_metrics_render(struct fs_buf *b, struct fs_store *store);
/* The rows docs/metrics.md needs for them ("| name | type | labels | help |" lines). */
int fs_notify_metrics_doc_markdown(struct fs_buf *b);

/* Check notify.* (channel names unique, known types, known events, each kind's check()).
 * report as in struct fs_channel_kind. Returns the number of problems. */
/* Report every key of conf that is neither one every channel has (name, type, events,
 * timeout_ms) nor in known (NULL-terminated): "unknown key (TYPE takes a, b, c)". Returns the
 * number reported. */
int fs_notify_unknown_keys(const json_t *conf, const char *type, const char *const *known,
                           void (*report)(void *arg, const char *key, const char *msg), void *arg);

/* {"channels": [...]} from the configuration's notify.channels (new reference; NULL: out of
 * memory). */
struct fs_config;
json_t *fs_notify_config_json(const struct fs_config *cfg);
int fs_notify_check_config(const json_t *notify,
                           void (*report)(void *arg, const char *key, const char *msg), void *arg);

#endif
