/* The backend contract behind store.h: each engine fills one struct fs_store_ops and embeds
 * struct fs_store at the start of its own handle. Callers never include this file. */
#ifndef FS_STORE_INT_H
#define FS_STORE_INT_H

#include "store/store.h"

struct fs_store_ops {
    const char *driver;
    void (*close)(struct fs_store *s);
    int (*schema_version)(struct fs_store *s);
    int (*begin)(struct fs_store *s, struct fs_err *err);
    int (*commit)(struct fs_store *s, struct fs_err *err);
    void (*rollback)(struct fs_store *s);
    int (*inbox_insert)(struct fs_store *s, const struct fs_inbox_row *row, int64_t *id,
                        struct fs_err *err);
    int (*inbox_set_applied)(struct fs_store *s, int64_t id, bool applied, const char *error,
                             struct fs_err *err);
    int (*dead_letter_insert)(struct fs_store *s, const struct fs_dead_letter *dl, int64_t *id,
                              struct fs_err *err);
    int (*event_id_claim)(struct fs_store *s, const char *id, int64_t now, bool *seen,
                          struct fs_err *err);
    int (*episode_open)(struct fs_store *s, const char *fp, struct fs_episode *out,
                        struct fs_err *err);
    int (*episode_at_or_before)(struct fs_store *s, const char *fp, int64_t t,
                                struct fs_episode *out, struct fs_err *err);
    int (*episode_after)(struct fs_store *s, const char *fp, int64_t t, struct fs_episode *out,
                         struct fs_err *err);
    int (*episode_insert)(struct fs_store *s, struct fs_episode *e, struct fs_err *err);
    int (*episode_update)(struct fs_store *s, const struct fs_episode *e, struct fs_err *err);
    int (*episodes_expired)(struct fs_store *s, int64_t now, struct fs_episode *out, int max,
                            int *n, struct fs_err *err);
    int (*episodes_firing_fps)(struct fs_store *s, const char *source, json_t **out,
                               struct fs_err *err);
    int (*incident_latest)(struct fs_store *s, const char *group_key, struct fs_incident *out,
                           struct fs_err *err);
    int (*incident_load)(struct fs_store *s, int64_t id, struct fs_incident *out,
                         struct fs_err *err);
    int (*incident_insert)(struct fs_store *s, struct fs_incident *i, struct fs_err *err);
    int (*incident_update)(struct fs_store *s, const struct fs_incident *i, struct fs_err *err);
    int (*incident_event)(struct fs_store *s, int64_t incident_id, int64_t ts, const char *kind,
                          int64_t episode_id, const char *detail_json, struct fs_err *err);
    int (*prune)(struct fs_store *s, int64_t inbox_before, int64_t dead_letter_before,
                 int64_t event_ids_before, int64_t *deleted, struct fs_err *err);
    int (*inbox_unapplied)(struct fs_store *s, int limit, json_t **out, struct fs_err *err);
    int (*incidents_list)(struct fs_store *s, const struct fs_incident_filter *f, json_t **out,
                          struct fs_err *err);
    int (*incident_get)(struct fs_store *s, int64_t id, json_t **out, struct fs_err *err);
    int (*incidents_count)(struct fs_store *s, const char *status, int64_t *n, struct fs_err *err);
    int (*proposals_count)(struct fs_store *s, const char *status, int64_t *n, struct fs_err *err);
    int (*dead_letters_list)(struct fs_store *s, int limit, bool with_body, json_t **out,
                             struct fs_err *err);
    int (*stats)(struct fs_store *s, json_t **out, struct fs_err *err);
    /* safety */
    int (*proposal_insert)(struct fs_store *s, struct fs_proposal_row *r, struct fs_err *err);
    int (*proposal_load)(struct fs_store *s, int64_t id, struct fs_proposal_row *out,
                         struct fs_err *err);
    int (*proposal_set_status)(struct fs_store *s, int64_t id, const char *status,
                               const char *decided_by, int64_t decided_at, const char *reason,
                               int64_t now, struct fs_err *err);
    int (*proposals_due)(struct fs_store *s, int64_t now, int64_t *ids, int max, int *n,
                         struct fs_err *err);
    int (*proposals_list)(struct fs_store *s, const struct fs_proposal_filter *f, json_t **out,
                          struct fs_err *err);
    int (*proposal_get)(struct fs_store *s, int64_t id, json_t **out, struct fs_err *err);
    int (*approval_insert)(struct fs_store *s, struct fs_approval_row *r, struct fs_err *err);
    int (*approval_latest)(struct fs_store *s, int64_t proposal_id, struct fs_approval_row *out,
                           struct fs_err *err);
    int (*approval_consume)(struct fs_store *s, int64_t id, int64_t now, bool *changed,
                            struct fs_err *err);
    int (*control_get)(struct fs_store *s, const char *key, char **value, struct fs_err *err);
    int (*control_put)(struct fs_store *s, const char *key, const char *value, const char *actor,
                       int64_t now, struct fs_err *err);
    int (*controls_list)(struct fs_store *s, json_t **out, struct fs_err *err);
    int (*observation_insert)(struct fs_store *s, const struct fs_observation_row *o, int64_t *id,
                              struct fs_err *err);
    int (*observation_ids)(struct fs_store *s, int64_t incident_id, json_t **out,
                           struct fs_err *err);
    int (*observations_list)(struct fs_store *s, int64_t incident_id, json_t **out,
                             struct fs_err *err);
    int (*incident_episode_labels)(struct fs_store *s, int64_t incident_id, json_t **out,
                                   struct fs_err *err);
    int (*execution_insert)(struct fs_store *s, const struct fs_execution_row *e, int64_t *id,
                            struct fs_err *err);
    int (*action_history)(struct fs_store *s, const char *action, const char *target_key,
                          int64_t now, int64_t *executions_1h, int64_t *failures_24h,
                          struct fs_err *err);
    /* audit chain */
    int (*audit_head)(struct fs_store *s, int64_t *seq, char hash[65], struct fs_err *err);
    int (*audit_insert)(struct fs_store *s, const struct fs_audit_row *r, struct fs_err *err);
    int (*audit_scan)(struct fs_store *s, const struct fs_audit_filter *f, fs_audit_row_fn fn,
                      void *arg, struct fs_err *err);
    int (*audit_last)(struct fs_store *s, int64_t *seq, char hash[65], struct fs_err *err);
    /* engine */
    int (*incident_set_state)(struct fs_store *s, int64_t id, const char *state, int64_t now,
                              struct fs_err *err);
    int (*incidents_in_state)(struct fs_store *s, const char *state, int64_t *ids, int max, int *n,
                              struct fs_err *err);
    int (*investigation_insert)(struct fs_store *s, const struct fs_investigation_row *r,
                                int64_t *id, struct fs_err *err);
    int (*investigation_finish)(struct fs_store *s, int64_t id,
                                const struct fs_investigation_row *r, struct fs_err *err);
    int (*investigations_list)(struct fs_store *s, int64_t incident_id, json_t **out,
                               struct fs_err *err);
    int (*proposals_ready)(struct fs_store *s, int64_t *ids, int max, int *n, struct fs_err *err);
    int (*execution_of_proposal)(struct fs_store *s, int64_t proposal_id, int64_t *id,
                                 struct fs_err *err);
    int (*execution_describe)(struct fs_store *s, int64_t id, int64_t incident_id,
                              const char *target_kind, const char *spec, struct fs_err *err);
    int (*execution_finish)(struct fs_store *s, int64_t id, const char *outcome,
                            int64_t finished_at, const char *result, struct fs_err *err);
    int (*exec_step_insert)(struct fs_store *s, int64_t execution_id, int64_t ts, const char *state,
                            const char *detail, struct fs_err *err);
    int (*executions_open)(struct fs_store *s, json_t **out, struct fs_err *err);
    int (*executions_list)(struct fs_store *s, int64_t incident_id, json_t **out,
                           struct fs_err *err);
    int (*entity_history_insert)(struct fs_store *s, const struct fs_entity_history_row *r,
                                 struct fs_err *err);
    int (*entity_history)(struct fs_store *s, const char *entity, int limit, json_t **out,
                          struct fs_err *err);
    int (*kpi_facts)(struct fs_store *s, int64_t since, int64_t now, int64_t settle_ms,
                     json_t **out, struct fs_err *err);
    int (*engine_counts)(struct fs_store *s, json_t **out, struct fs_err *err);
    int (*incidents_unconcluded)(struct fs_store *s, int64_t *ids, int max, int *n,
                                 struct fs_err *err);
    int (*postmortem_put)(struct fs_store *s, int64_t incident_id, int64_t now,
                          const char *markdown, const char *data, struct fs_err *err);
    int (*postmortem_get)(struct fs_store *s, int64_t incident_id, json_t **out,
                          struct fs_err *err);
    /* MCP server registry */
    int (*mcp_server_upsert)(struct fs_store *s, const struct fs_mcp_server_row *r, int64_t now,
                             struct fs_err *err);
    int (*mcp_server_get)(struct fs_store *s, const char *name, json_t **out, struct fs_err *err);
    int (*mcp_servers_list)(struct fs_store *s, json_t **out, struct fs_err *err);
    int (*mcp_server_remove)(struct fs_store *s, const char *name, int64_t *pins,
                             struct fs_err *err);
    int (*mcp_pin_put)(struct fs_store *s, const struct fs_mcp_pin_row *r, int64_t now,
                       struct fs_err *err);
    int (*mcp_pins_get)(struct fs_store *s, const char *server, json_t **out, struct fs_err *err);
    int (*mcp_pin_approve)(struct fs_store *s, const char *server, const char *tool,
                           const char *sha256, const char *actor, int64_t now, bool *changed,
                           struct fs_err *err);
    /* notifications */
    int (*delivery_insert)(struct fs_store *s, const struct fs_delivery_row *r, bool *inserted,
                           struct fs_err *err);
    int (*delivery_update)(struct fs_store *s, int64_t id, const char *status, int64_t attempts,
                           int64_t next_at, const char *last_error, const char *ref,
                           int64_t sent_at, struct fs_err *err);
    int (*notify_cursor_get)(struct fs_store *s, int64_t *seq, struct fs_err *err);
    int (*notify_cursor_set)(struct fs_store *s, int64_t seq, int64_t now, struct fs_err *err);
    int (*deliveries_due)(struct fs_store *s, const char *channel, int64_t now, int limit,
                          json_t **out, struct fs_err *err);
    int (*delivery_next_at)(struct fs_store *s, const char *channel, int64_t *next_at,
                            struct fs_err *err);
    int (*delivery_ref)(struct fs_store *s, const char *channel, int64_t incident_id, char **ref,
                        struct fs_err *err);
    int (*notification_by_ref)(struct fs_store *s, const char *channel, const char *ref,
                               json_t **row, struct fs_err *err);
    int (*deliveries_list)(struct fs_store *s, int64_t incident_id, int limit, json_t **out,
                           struct fs_err *err);
    int (*deliveries_counts)(struct fs_store *s, json_t **out, struct fs_err *err);
};

struct fs_store {
    const struct fs_store_ops *ops;
};

int fs_store_sqlite_open(const struct fs_store_options *opt, struct fs_store **out,
                         struct fs_err *err);

#endif
