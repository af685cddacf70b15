/* The store interface. Callers see business-level operations (insert an inbox row, find an
 * episode, list incidents), never SQL; each backend (store_sqlite.c now, store_pg.c later)
 * implements struct fs_store_ops in its own file.
 *
 * Threading: write operations are called by one thread at a time, between fs_store_begin and
 * fs_store_commit/rollback (the ingest writer owns that). Read operations (fs_store_*_list,
 * _get, _count) may be called from any thread concurrently with writes.
 *
 * Durability: fs_store_commit returns 0 only once the transaction is on stable storage. A
 * failure to make it durable (fsync error) returns -FS_E_FAILSTOP: the caller must stop
 * acknowledging anything. Transient trouble is -FS_E_BUSY or -FS_E_DISK_FULL. */
#ifndef FS_STORE_H
#define FS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct fs_store;

struct fs_store_options {
    const char *driver; /* "sqlite" */
    const char *path;   /* database file */
    int64_t busy_timeout_ms;
};

/* ---- rows -------------------------------------------------------------------------------- */

struct fs_inbox_row {
    int64_t received_at; /* ms */
    const char *source;  /* "alertmanager", "grafana", "event", "reconcile" */
    const char *remote;  /* peer address, may be NULL */
    const void *body;
    size_t body_len;
    int alerts;
    bool applied;
    const char *error; /* why it was not applied, or NULL */
};

struct fs_dead_letter {
    int64_t received_at;
    const char *source;
    const char *remote;
    int http_status;
    const char *code; /* machine code, e.g. "invalid_payload" */
    const char *message;
    const char *path;
    const void *body;  /* kept bytes (may be a prefix) */
    size_t body_len;   /* kept bytes */
    size_t body_total; /* bytes the sender declared or sent */
};

enum fs_episode_status { FS_EP_FIRING, FS_EP_RESOLVED };

/* An episode: one firing of one alert fingerprint, from first notification to resolve. JSON
 * fields are compact text owned by the struct (fs_episode_clear frees them). */
struct fs_episode {
    int64_t id;
    char fingerprint[17];
    char source[16];
    enum fs_episode_status status;
    int64_t starts_at;     /* earliest startsAt seen for it (ms) */
    int64_t starts_at_max; /* latest startsAt seen for it (HA senders disagree) */
    int64_t ends_at;       /* FS_TIME_UNSET while firing */
    bool end_inferred;     /* ends_at deduced (superseded, expired), not reported */
    int64_t expires_at;    /* close it then if nothing says otherwise; FS_TIME_UNSET = never */
    char severity[16];
    char *alertname;
    char *labels;      /* JSON object text */
    char *annotations; /* JSON object text */
    char *extra;       /* JSON object text */
    int64_t incident_id;
    int64_t created_at, updated_at;
};

struct fs_incident {
    int64_t id;
    char *group_key;
    char status[24]; /* "open" | "resolved" */
    char severity[16];
    char *title;
    char *labels; /* JSON object text: labels common to all its episodes */
    int64_t open_episodes;
    int64_t created_at, updated_at;
    int64_t resolved_at; /* FS_TIME_UNSET while open */
};

void fs_episode_clear(struct fs_episode *e);
void fs_incident_clear(struct fs_incident *i);

struct fs_incident_filter {
    const char *status;   /* NULL = any */
    const char *severity; /* NULL = any */
    int64_t since_ms;     /* updated at or after; FS_TIME_UNSET = any */
    int64_t before_id;    /* pagination: only ids below this; 0 = none */
    int limit;            /* 0 = no limit */
};

/* ---- lifecycle --------------------------------------------------------------------------- */

int fs_store_open(const struct fs_store_options *opt, struct fs_store **out, struct fs_err *err);
void fs_store_close(struct fs_store *s);
int fs_store_schema_version(struct fs_store *s);
const char *fs_store_driver(struct fs_store *s);

/* ---- transactions (writer thread) -------------------------------------------------------- */

int fs_store_begin(struct fs_store *s, struct fs_err *err);
int fs_store_commit(struct fs_store *s, struct fs_err *err);
void fs_store_rollback(struct fs_store *s);

/* ---- writes (inside a transaction) ------------------------------------------------------- */

int fs_store_inbox_insert(struct fs_store *s, const struct fs_inbox_row *row, int64_t *id,
                          struct fs_err *err);
int fs_store_inbox_set_applied(struct fs_store *s, int64_t id, bool applied, const char *error,
                               struct fs_err *err);
int fs_store_dead_letter_insert(struct fs_store *s, const struct fs_dead_letter *dl, int64_t *id,
                                struct fs_err *err);
/* Record an event idempotency key; *seen = true if it was already there. */
int fs_store_event_id_claim(struct fs_store *s, const char *id, int64_t now, bool *seen,
                            struct fs_err *err);

/* Episodes of a fingerprint, by starts_at. Return 1 and fill *out when found, 0 when not. */
int fs_store_episode_open(struct fs_store *s, const char *fp, struct fs_episode *out,
                          struct fs_err *err);
int fs_store_episode_at_or_before(struct fs_store *s, const char *fp, int64_t t,
                                  struct fs_episode *out, struct fs_err *err);
int fs_store_episode_after(struct fs_store *s, const char *fp, int64_t t, struct fs_episode *out,
                           struct fs_err *err);
int fs_store_episode_insert(struct fs_store *s, struct fs_episode *e, struct fs_err *err);
int fs_store_episode_update(struct fs_store *s, const struct fs_episode *e, struct fs_err *err);
/* Firing episodes with expires_at <= now (up to max); caller frees with fs_episode_clear each. */
int fs_store_episodes_expired(struct fs_store *s, int64_t now, struct fs_episode *out, int max,
                              int *n, struct fs_err *err);
/* Fingerprints of firing episodes from a source; caller json_decref's *out (array of strings). */
int fs_store_episodes_firing_fps(struct fs_store *s, const char *source, json_t **out,
                                 struct fs_err *err);

int fs_store_incident_latest(struct fs_store *s, const char *group_key, struct fs_incident *out,
                             struct fs_err *err);
int fs_store_incident_load(struct fs_store *s, int64_t id, struct fs_incident *out,
                           struct fs_err *err);
int fs_store_incident_insert(struct fs_store *s, struct fs_incident *i, struct fs_err *err);
int fs_store_incident_update(struct fs_store *s, const struct fs_incident *i, struct fs_err *err);
int fs_store_incident_event(struct fs_store *s, int64_t incident_id, int64_t ts, const char *kind,
                            int64_t episode_id, const char *detail_json, struct fs_err *err);

/* Delete applied inbox rows and dead letters received before the given times. */
int fs_store_prune(struct fs_store *s, int64_t inbox_before, int64_t dead_letter_before,
                   int64_t event_ids_before, int64_t *deleted, struct fs_err *err);

/* ---- reads (any thread) ------------------------------------------------------------------ */

/* Inbox rows not applied (left by an apply failure); caller json_decref's *out: array of
 * {"id","source","received_at","body"}. */
int fs_store_inbox_unapplied(struct fs_store *s, int limit, json_t **out, struct fs_err *err);
/* JSON array of incidents with their episodes (API representation). */
int fs_store_incidents_list(struct fs_store *s, const struct fs_incident_filter *f, json_t **out,
                            struct fs_err *err);
/* One incident with episodes and timeline; -FS_E_NOT_FOUND if there is none. */
int fs_store_incident_get(struct fs_store *s, int64_t id, json_t **out, struct fs_err *err);
int fs_store_incidents_count(struct fs_store *s, const char *status, int64_t *n,
                             struct fs_err *err);
/* JSON array of dead letters (without bodies unless with_body). */
int fs_store_dead_letters_list(struct fs_store *s, int limit, bool with_body, json_t **out,
                               struct fs_err *err);
/* Row counts per table, for /metrics and `forestall status`. */
int fs_store_stats(struct fs_store *s, json_t **out, struct fs_err *err);

#endif
