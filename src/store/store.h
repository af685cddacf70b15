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
 * acknowledging anything. The same holds for a backend's own background I/O (SQLite's WAL
 * checkpoints): once it failed, every later fs_store_begin/commit returns -FS_E_FAILSTOP (a
 * commit that was running meanwhile too, although it is on disk). Transient trouble is
 * -FS_E_BUSY or -FS_E_DISK_FULL. */
#ifndef FS_STORE_H
#define FS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* The schema version this forestall migrates a database to (src/store/sql/<driver>/NNNN_*.sql). */
#define FS_STORE_SCHEMA_VERSION 5

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
    char state[24];      /* handling state (fs_incident_states, incidents/incidents.h) */
    int64_t state_at;    /* when it entered it; FS_TIME_UNSET = never moved */
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

/* Writers: who runs a function inside a write transaction. The daemon hands it to its ingest
 * writer thread (group commit, intake/ingest.h); the CLI and the executor process use a
 * transaction of their own on their handle. Code that records things (planner traces, the
 * executor's step log, post-mortems) takes a writer and works in both. run() returns fn's
 * error (its writes rolled back) or the commit's; fn may run more than once (a busy retry or a
 * batch redo), so it must rebuild any result it returns. */
typedef int (*fs_store_tx_fn)(struct fs_store *s, void *arg, struct fs_err *err);
struct fs_writer {
    struct fs_store *store; /* for reads */
    int (*run)(const struct fs_writer *w, fs_store_tx_fn fn, void *arg, struct fs_err *err);
    void *impl;
};
/* A writer that runs each function in its own transaction on s, retrying a busy lock for up to
 * the store's busy timeout. */
void fs_store_direct_writer(struct fs_store *s, struct fs_writer *w);
static inline int fs_writer_run(const struct fs_writer *w, fs_store_tx_fn fn, void *arg,
                                struct fs_err *err)
{
    return w->run(w, fn, arg, err);
}

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

/* ---- safety: proposals, approvals, controls, observations, executions --------------------- *
 * Writes, and the reads marked (writer), use the writer connection inside a transaction; the
 * others are reads from any thread. JSON text fields are owned by the row structs. */

struct fs_proposal_row {
    int64_t id;
    int64_t incident_id; /* 0: none */
    int64_t created_at, updated_at, expires_at;
    char status[24];   /* pending | approved | rejected | expired | blocked | shadow */
    char decision[32]; /* the gate's decision (enum fs_decision name) */
    char *proposer;
    char *action;
    char *target_key; /* canonical target ("host=web-1,service=api"), for history */
    char *body;       /* JSON text: the gate input as decided (proposal + resolved context) */
    char *gate;       /* JSON text: the gate's result */
    int risk_score;
    char risk_level[8];
    char action_hash[65];
    char catalog_version[80];
    char policy_version[80];
    char *decided_by;   /* approver/rejecter, "policy" when the gate said execute; NULL pending */
    int64_t decided_at; /* FS_TIME_UNSET while pending */
    char *reason;       /* rejection reason, approval comment; may be NULL */
};
void fs_proposal_row_clear(struct fs_proposal_row *r);

struct fs_proposal_filter {
    const char *status;  /* NULL = any */
    int64_t incident_id; /* 0 = any */
    int64_t before_id;   /* pagination; 0 = none */
    int limit;           /* 0 = no limit */
};

struct fs_approval_row {
    int64_t id;
    int64_t proposal_id;
    int64_t created_at;
    int64_t expires_at;
    int64_t consumed_at; /* FS_TIME_UNSET until an execution used it */
    char kind[24];       /* approve | force_override | reject */
    char *actor;
    char role[16];
    char *reason;
    char action_hash[65]; /* the hash the approver saw; empty for reject */
};
void fs_approval_row_clear(struct fs_approval_row *r);

int fs_store_proposal_insert(struct fs_store *s, struct fs_proposal_row *r, struct fs_err *err);
/* (writer) 1 and *out filled when found, 0 when not. */
int fs_store_proposal_load(struct fs_store *s, int64_t id, struct fs_proposal_row *out,
                           struct fs_err *err);
int fs_store_proposal_set_status(struct fs_store *s, int64_t id, const char *status,
                                 const char *decided_by, int64_t decided_at, const char *reason,
                                 int64_t now, struct fs_err *err);
/* (writer) Ids of pending proposals with expires_at <= now, oldest first, up to max. */
int fs_store_proposals_due(struct fs_store *s, int64_t now, int64_t *ids, int max, int *n,
                           struct fs_err *err);
/* JSON array of proposals (API representation, newest first). */
int fs_store_proposals_list(struct fs_store *s, const struct fs_proposal_filter *f, json_t **out,
                            struct fs_err *err);
/* Proposals with this status (NULL = all). */
int fs_store_proposals_count(struct fs_store *s, const char *status, int64_t *n,
                             struct fs_err *err);
/* One proposal with its approvals; -FS_E_NOT_FOUND if there is none. */
int fs_store_proposal_get(struct fs_store *s, int64_t id, json_t **out, struct fs_err *err);

int fs_store_approval_insert(struct fs_store *s, struct fs_approval_row *r, struct fs_err *err);
/* (writer) The latest approve/force_override of a proposal: 1 found, 0 none. */
int fs_store_approval_latest(struct fs_store *s, int64_t proposal_id, struct fs_approval_row *out,
                             struct fs_err *err);
/* Mark an approval used; *changed false when it already was (an approval is used once). */
int fs_store_approval_consume(struct fs_store *s, int64_t id, int64_t now, bool *changed,
                              struct fs_err *err);

/* Controls: small named JSON values (the kill switch "freeze", runtime modes "mode:..."). */
/* (writer) 1 and *value (caller frees) when set, 0 when not. */
int fs_store_control_get(struct fs_store *s, const char *key, char **value, struct fs_err *err);
/* value NULL deletes the key. */
int fs_store_control_put(struct fs_store *s, const char *key, const char *value, const char *actor,
                         int64_t now, struct fs_err *err);
/* Object: key -> {"value": <parsed JSON>, "updatedBy", "updatedAt"}. */
int fs_store_controls_list(struct fs_store *s, json_t **out, struct fs_err *err);

/* Observations: what a tool call (or a person, or an external agent) saw during an
 * investigation. Evidence in proposals cites their ids ("obs-N"). */
struct fs_observation_row {
    int64_t incident_id;
    int64_t ts;
    const char *tool;
    const char *input;  /* JSON text, may be NULL */
    const char *output; /* bounded text */
    int64_t duration_ms;
    const char *actor;
    int64_t investigation_id; /* 0: none */
};
int fs_store_observation_insert(struct fs_store *s, const struct fs_observation_row *o, int64_t *id,
                                struct fs_err *err);
/* (writer) Array of "obs-N" ids recorded for an incident, in order. */
int fs_store_observation_ids(struct fs_store *s, int64_t incident_id, json_t **out,
                             struct fs_err *err);
/* JSON array of an incident's observations (API representation). */
int fs_store_observations_list(struct fs_store *s, int64_t incident_id, json_t **out,
                               struct fs_err *err);
/* (writer) Array of the labels objects of an incident's episodes. */
int fs_store_incident_episode_labels(struct fs_store *s, int64_t incident_id, json_t **out,
                                     struct fs_err *err);

/* Executions of catalog actions (the executor writes them; the gate reads their history). */
struct fs_execution_row {
    int64_t proposal_id;
    const char *action;
    const char *target_key;
    int64_t started_at;
    int64_t finished_at;     /* FS_TIME_UNSET while running */
    const char *outcome;     /* running | succeeded | failed | rolled_back | escalated | unknown |
                                refused (nothing ran: docs/executor.md) */
    int64_t incident_id;     /* 0: none */
    const char *target_kind; /* local | ssh | kubectl | http | mcp; NULL before rendering */
    const char *spec;        /* JSON text: what runs (rendered argv/request, params, target) */
};
int fs_store_execution_insert(struct fs_store *s, const struct fs_execution_row *e, int64_t *id,
                              struct fs_err *err);
/* (writer) Executions of action on target_key started in (now-1h, now], and those of them that
 * failed or were rolled back in (now-24h, now]. */
int fs_store_action_history(struct fs_store *s, const char *action, const char *target_key,
                            int64_t now, int64_t *executions_1h, int64_t *failures_24h,
                            struct fs_err *err);

/* ---- engine: incident handling, investigations, the executor's step log, knowledge -------- *
 * Writes and (writer) reads run inside the caller's transaction; the others from any thread. */

/* Move an incident to a handling state (incidents/incidents.h wraps this with the timeline and
 * the audit record). */
int fs_store_incident_set_state(struct fs_store *s, int64_t id, const char *state, int64_t now,
                                struct fs_err *err);
/* Ids of incidents in a handling state, oldest first, up to max (any thread). */
int fs_store_incidents_in_state(struct fs_store *s, const char *state, int64_t *ids, int max,
                                int *n, struct fs_err *err);

struct fs_investigation_row {
    int64_t incident_id;
    const char *planner;
    const char *playbook; /* may be NULL */
    const char *status;   /* running | proposed | escalated | no_action | failed */
    int64_t started_at;
    int64_t finished_at; /* FS_TIME_UNSET while running */
    int64_t steps;
    const char *root_cause, *summary; /* may be NULL */
    const char *result;               /* JSON text, may be NULL */
};
int fs_store_investigation_insert(struct fs_store *s, const struct fs_investigation_row *r,
                                  int64_t *id, struct fs_err *err);
/* Record how an investigation ended (every field of r but incident_id/planner/started_at). */
int fs_store_investigation_finish(struct fs_store *s, int64_t id,
                                  const struct fs_investigation_row *r, struct fs_err *err);
/* JSON array of an incident's investigations (API representation). */
int fs_store_investigations_list(struct fs_store *s, int64_t incident_id, json_t **out,
                                 struct fs_err *err);

/* (writer) Approved proposals that no execution has picked up yet, oldest first. */
int fs_store_proposals_ready(struct fs_store *s, int64_t *ids, int max, int *n, struct fs_err *err);
/* (writer) The execution of a proposal: 1 and *id when there is one, 0 when none. */
int fs_store_execution_of_proposal(struct fs_store *s, int64_t proposal_id, int64_t *id,
                                   struct fs_err *err);
/* Record what an execution runs, in its intent transaction (the executor): the incident, the
 * target kind (local | ssh | kubectl | http | mcp) and the spec JSON text. */
int fs_store_execution_describe(struct fs_store *s, int64_t id, int64_t incident_id,
                                const char *target_kind, const char *spec, struct fs_err *err);
/* Record an execution's end (outcome, finished_at, result JSON text). */
int fs_store_execution_finish(struct fs_store *s, int64_t id, const char *outcome,
                              int64_t finished_at, const char *result, struct fs_err *err);
/* Append one step to an execution's log (exec_steps is append-only). */
int fs_store_exec_step_insert(struct fs_store *s, int64_t execution_id, int64_t ts,
                              const char *state, const char *detail, struct fs_err *err);
/* (writer) Executions still "running" (a crash interrupted them), each with its step log:
 * [{"id", "proposalId", "incidentId", "action", "targetKey", "targetKind", "spec",
 *   "startedAt", "steps": [{"state", "ts", "detail"}]}]. */
int fs_store_executions_open(struct fs_store *s, json_t **out, struct fs_err *err);
/* JSON array of an incident's executions with their step logs (API representation). */
int fs_store_executions_list(struct fs_store *s, int64_t incident_id, json_t **out,
                             struct fs_err *err);

struct fs_entity_history_row {
    const char *entity;
    int64_t incident_id;
    int64_t ts;
    const char *outcome;
    const char *action, *root_cause, *summary; /* may be NULL */
};
/* One row per (entity, incident): a second insert for the same pair replaces the first's
 * ts, outcome, action, root cause and summary (an incident concluded again). */
int fs_store_entity_history_insert(struct fs_store *s, const struct fs_entity_history_row *r,
                                   struct fs_err *err);
/* JSON array of an entity's latest outcomes, newest first, up to limit. */
int fs_store_entity_history(struct fs_store *s, const char *entity, int limit, json_t **out,
                            struct fs_err *err);

/* For /metrics: {"incidents": {state: n}, "investigations": {status: n}, "executions":
 * {outcome: n}} counted now (any thread). */
int fs_store_engine_counts(struct fs_store *s, json_t **out, struct fs_err *err);

/* The facts the KPIs (report/kpi.h) are computed from, for incidents created in
 * [since, now) — one read snapshot (any thread):
 *   "first_action_ms":   [ms from each incident's creation to the start of its first
 *                         execution that succeeded] (incidents without one left out)
 *   "ended", "autonomous": incidents whose handling ended; of them, resolved or no_action
 *                         with no approval or force-override given by a person
 *   "executions":        {outcome: n} of finished executions
 *   "rollback_started", "rolled_back": executions whose rollback began; of them, finished
 *   "escalated", "escalated_warranted": incidents escalated at least settle_ms before now;
 *                         of them, those a person acted on (approved, overrode, rejected) or
 *                         whose alerts still fired settle_ms after the escalation */
int fs_store_kpi_facts(struct fs_store *s, int64_t since, int64_t now, int64_t settle_ms,
                       json_t **out, struct fs_err *err);

/* Incidents whose handling ended (resolved, escalated, no_action, shadowed, blocked) and whose
 * post-mortem is missing or older than that end, oldest first, up to max (any thread). */
int fs_store_incidents_unconcluded(struct fs_store *s, int64_t *ids, int max, int *n,
                                   struct fs_err *err);

/* Post-mortems: one per incident, replaced when it is written again. */
int fs_store_postmortem_put(struct fs_store *s, int64_t incident_id, int64_t now,
                            const char *markdown, const char *data, struct fs_err *err);
/* {"incidentId", "createdAt", "markdown", "data"}; -FS_E_NOT_FOUND when there is none. */
int fs_store_postmortem_get(struct fs_store *s, int64_t incident_id, json_t **out,
                            struct fs_err *err);

/* ---- MCP server registry (mcp/registry.h builds on these) -------------------------------- *
 * Writes and (writer) reads run on the writer connection (inside the caller's transaction for
 * writes); the others from any thread. Definitions hold secret references, never values. */

struct fs_mcp_server_row {
    const char *name;
    const char *transport; /* stdio | http */
    const char *command;   /* stdio; NULL for http */
    const char *args;      /* JSON text: array of strings */
    const char *env;       /* JSON text: object NAME -> {"env"|"file"} reference */
    const char *url;       /* http; NULL for stdio */
    const char *headers;   /* JSON text: object NAME -> text | reference (with "prefix") */
    bool enabled;
    const char *trust;           /* none | read_only_hints | listed */
    const char *read_only_tools; /* JSON text: array of tool names */
    const char *tool_mappings;   /* JSON text: object catalog action -> remote tool */
    const char *source;          /* cli | config */
};
/* Insert or replace a server by name; created_at is kept on a replace. */
int fs_store_mcp_server_upsert(struct fs_store *s, const struct fs_mcp_server_row *r, int64_t now,
                               struct fs_err *err);
/* (writer) One server, keyed like its definition (docs/mcp.md): {"name", "transport",
 * "command", "args", "env", "url", "headers", "enabled", "trust", "read_only_tools",
 * "tool_mappings", "source", "created_at", "updated_at"} (JSON columns as values, times as
 * RFC 3339 text); -FS_E_NOT_FOUND when there is none. */
int fs_store_mcp_server_get(struct fs_store *s, const char *name, json_t **out, struct fs_err *err);
/* Every server in that shape, by name. */
int fs_store_mcp_servers_list(struct fs_store *s, json_t **out, struct fs_err *err);
/* Delete a server and its tool pins (*pins: how many, may be NULL); -FS_E_NOT_FOUND. */
int fs_store_mcp_server_remove(struct fs_store *s, const char *name, int64_t *pins,
                               struct fs_err *err);

struct fs_mcp_pin_row {
    const char *server, *tool;
    const char *sha256;     /* of the canonical definition seen now */
    const char *status;     /* approved | changed | new */
    const char *definition; /* JSON text */
};
/* Record a tool as seen now: a new pin (first_seen = now), or the pin's sha256, status,
 * definition and last_seen replaced (who approved what, and when, is kept). */
int fs_store_mcp_pin_put(struct fs_store *s, const struct fs_mcp_pin_row *r, int64_t now,
                         struct fs_err *err);
/* (writer) A server's pins by tool: [{"server", "tool", "sha256", "status", "first_seen",
 * "last_seen", "approved_by", "approved_at", "approved_sha256", "definition"}]. */
int fs_store_mcp_pins_get(struct fs_store *s, const char *server, json_t **out, struct fs_err *err);
/* Approve a pin if it still has this sha256 and is not approved yet: status approved,
 * approved_by/at/sha256 set. *changed: whether it did. */
int fs_store_mcp_pin_approve(struct fs_store *s, const char *server, const char *tool,
                             const char *sha256, const char *actor, int64_t now, bool *changed,
                             struct fs_err *err);

/* ---- notifications: the outbox and the notifier's cursor (notify/notify.h) ---------------- *
 * Writes and (writer) reads run on the writer connection inside the caller's transaction; the
 * others are reads from any thread. Notices never hold secrets. */

struct fs_delivery_row {
    const char *channel;  /* notify.channels[].name */
    const char *event;    /* proposal_pending | decision | execution | ... */
    int64_t audit_seq;    /* the audit record the notice comes from */
    int64_t incident_id;  /* 0: none */
    int64_t proposal_id;  /* 0: none */
    const char *notice;   /* JSON text: the notice's data */
    int64_t created_at;
    int64_t next_at;      /* first attempt not before then */
};
/* Queue a delivery: *inserted (may be NULL) false when this (channel, audit_seq, event) was
 * already queued (a notifier that crashed before moving its cursor reads the record again). */
int fs_store_delivery_insert(struct fs_store *s, const struct fs_delivery_row *r, bool *inserted,
                             struct fs_err *err);
/* Record one attempt: status pending | sent | dead, the attempts made so far, when to try
 * again (pending), the error (NULL when sent), the peer's reference (NULL: keep the one it had),
 * sent_at (FS_TIME_UNSET unless sent). */
int fs_store_delivery_update(struct fs_store *s, int64_t id, const char *status, int64_t attempts,
                             int64_t next_at, const char *last_error, const char *ref,
                             int64_t sent_at, struct fs_err *err);
/* (writer) The notifier's cursor: 1 and *seq when it was ever set, 0 when not. */
int fs_store_notify_cursor_get(struct fs_store *s, int64_t *seq, struct fs_err *err);
int fs_store_notify_cursor_set(struct fs_store *s, int64_t seq, int64_t now, struct fs_err *err);
/* Deliveries of a channel to attempt now, oldest first, up to limit: pending, next_at <= now,
 * and no older pending delivery of the same channel and incident (a channel delivers an
 * incident's notices in order). Array of {"id", "channel", "event", "auditSeq", "incidentId",
 * "proposalId" (integers, 0 = none), "notice" (value), "attempts", "createdAt", "nextAt" (ms)}. */
int fs_store_deliveries_due(struct fs_store *s, const char *channel, int64_t now, int limit,
                            json_t **out, struct fs_err *err);
/* The earliest next_at of a channel's pending deliveries: 1 and *next_at, 0 when none. */
int fs_store_delivery_next_at(struct fs_store *s, const char *channel, int64_t *next_at,
                              struct fs_err *err);
/* The reference the channel's latest sent delivery for an incident kept: 1 and *ref (caller
 * frees), 0 when none. */
int fs_store_delivery_ref(struct fs_store *s, const char *channel, int64_t incident_id, char **ref,
                          struct fs_err *err);
/* The delivery of channel whose kept reference is ref (the newest, one with a proposal first):
 * {"id", "channel", "event", "incidentId", "proposalId" (integers, 0 = none), "ref"};
 * -FS_E_NOT_FOUND when none. */
int fs_store_notification_by_ref(struct fs_store *s, const char *channel, const char *ref,
                                 json_t **row, struct fs_err *err);
/* Deliveries (API representation, newest first): of an incident (0 = any), up to limit (0 = no
 * limit): [{"id", "channel", "event", "incidentId" ("inc-N"), "proposalId", "status",
 * "attempts", "nextAt", "lastError", "ref", "createdAt", "sentAt"}]. */
int fs_store_deliveries_list(struct fs_store *s, int64_t incident_id, int limit, json_t **out,
                             struct fs_err *err);
/* {channel: {status: n}} over the whole outbox (for /metrics). */
int fs_store_deliveries_counts(struct fs_store *s, json_t **out, struct fs_err *err);

/* ---- audit chain (audit/audit.h builds on these) ------------------------------------------ */

struct fs_audit_row {
    int64_t seq; /* 1, 2, ... without gaps */
    int64_t ts;  /* ms */
    char type[40];
    char *actor;
    char *data; /* canonical JSON text */
    char prev_hash[65];
    char hash[65];
};
void fs_audit_row_clear(struct fs_audit_row *r);

struct fs_audit_filter {
    int64_t after_seq; /* only seq > after_seq */
    int64_t since_ms;  /* only ts >= since_ms; FS_TIME_UNSET = any */
    const char *types; /* comma-separated list of types, NULL = any */
    const char *actor; /* NULL = any */
    int64_t limit;     /* 0 = no limit */
};

/* (writer) The last record's seq and hash: seq 0 and 64 '0's when the chain is empty. */
int fs_store_audit_head(struct fs_store *s, int64_t *seq, char hash[65], struct fs_err *err);
int fs_store_audit_insert(struct fs_store *s, const struct fs_audit_row *r, struct fs_err *err);
/* Rows in seq order; fn returns non-zero to stop (that value is returned). The row passed to fn
 * is valid only during the call. */
typedef int (*fs_audit_row_fn)(const struct fs_audit_row *r, void *arg);
int fs_store_audit_scan(struct fs_store *s, const struct fs_audit_filter *f, fs_audit_row_fn fn,
                        void *arg, struct fs_err *err);
/* The last record's seq and hash from a read connection (any thread). */
int fs_store_audit_last(struct fs_store *s, int64_t *seq, char hash[65], struct fs_err *err);

#endif
