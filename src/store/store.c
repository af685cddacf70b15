/* store: dispatch from the public store interface to the configured backend, and the row
 * helpers every backend shares. No SQL and no business rules here. */
#include "core/common.h"

#include <stdlib.h>

#include <time.h>

#include "store/store_int.h"

int fs_store_open(const struct fs_store_options *opt, struct fs_store **out, struct fs_err *err)
{
    *out = NULL;
    if (!opt->driver || strcmp(opt->driver, "sqlite") == 0)
        return fs_store_sqlite_open(opt, out, err);
    return fs_err_set(err, FS_E_CONFIG, "store.driver", "store.driver: unknown driver \"%s\"",
                      opt->driver);
}

void fs_episode_clear(struct fs_episode *e)
{
    free(e->alertname);
    free(e->labels);
    free(e->annotations);
    free(e->extra);
    memset(e, 0, sizeof(*e));
}

void fs_incident_clear(struct fs_incident *i)
{
    free(i->group_key);
    free(i->title);
    free(i->labels);
    memset(i, 0, sizeof(*i));
}

const char *fs_store_driver(struct fs_store *s)
{
    return s->ops->driver;
}

void fs_store_close(struct fs_store *s)
{
    if (s)
        s->ops->close(s);
}

int fs_store_schema_version(struct fs_store *s)
{
    return s->ops->schema_version(s);
}

int fs_store_begin(struct fs_store *s, struct fs_err *err)
{
    return s->ops->begin(s, err);
}

int fs_store_commit(struct fs_store *s, struct fs_err *err)
{
    return s->ops->commit(s, err);
}

void fs_store_rollback(struct fs_store *s)
{
    s->ops->rollback(s);
}

int fs_store_inbox_insert(struct fs_store *s, const struct fs_inbox_row *row, int64_t *id,
                          struct fs_err *err)
{
    return s->ops->inbox_insert(s, row, id, err);
}

int fs_store_inbox_set_applied(struct fs_store *s, int64_t id, bool applied, const char *error,
                               struct fs_err *err)
{
    return s->ops->inbox_set_applied(s, id, applied, error, err);
}

int fs_store_dead_letter_insert(struct fs_store *s, const struct fs_dead_letter *dl, int64_t *id,
                                struct fs_err *err)
{
    return s->ops->dead_letter_insert(s, dl, id, err);
}

int fs_store_event_id_claim(struct fs_store *s, const char *id, int64_t now, bool *seen,
                            struct fs_err *err)
{
    return s->ops->event_id_claim(s, id, now, seen, err);
}

int fs_store_episode_open(struct fs_store *s, const char *fp, struct fs_episode *out,
                          struct fs_err *err)
{
    return s->ops->episode_open(s, fp, out, err);
}

int fs_store_episode_at_or_before(struct fs_store *s, const char *fp, int64_t t,
                                  struct fs_episode *out, struct fs_err *err)
{
    return s->ops->episode_at_or_before(s, fp, t, out, err);
}

int fs_store_episode_after(struct fs_store *s, const char *fp, int64_t t, struct fs_episode *out,
                           struct fs_err *err)
{
    return s->ops->episode_after(s, fp, t, out, err);
}

int fs_store_episode_insert(struct fs_store *s, struct fs_episode *e, struct fs_err *err)
{
    return s->ops->episode_insert(s, e, err);
}

int fs_store_episode_update(struct fs_store *s, const struct fs_episode *e, struct fs_err *err)
{
    return s->ops->episode_update(s, e, err);
}

int fs_store_episodes_expired(struct fs_store *s, int64_t now, struct fs_episode *out, int max,
                              int *n, struct fs_err *err)
{
    return s->ops->episodes_expired(s, now, out, max, n, err);
}

int fs_store_episodes_firing_fps(struct fs_store *s, const char *source, json_t **out,
                                 struct fs_err *err)
{
    return s->ops->episodes_firing_fps(s, source, out, err);
}

int fs_store_incident_latest(struct fs_store *s, const char *group_key, struct fs_incident *out,
                             struct fs_err *err)
{
    return s->ops->incident_latest(s, group_key, out, err);
}

int fs_store_incident_load(struct fs_store *s, int64_t id, struct fs_incident *out,
                           struct fs_err *err)
{
    return s->ops->incident_load(s, id, out, err);
}

int fs_store_incident_insert(struct fs_store *s, struct fs_incident *i, struct fs_err *err)
{
    return s->ops->incident_insert(s, i, err);
}

int fs_store_incident_update(struct fs_store *s, const struct fs_incident *i, struct fs_err *err)
{
    return s->ops->incident_update(s, i, err);
}

int fs_store_incident_event(struct fs_store *s, int64_t incident_id, int64_t ts, const char *kind,
                            int64_t episode_id, const char *detail_json, struct fs_err *err)
{
    return s->ops->incident_event(s, incident_id, ts, kind, episode_id, detail_json, err);
}

int fs_store_prune(struct fs_store *s, int64_t inbox_before, int64_t dead_letter_before,
                   int64_t event_ids_before, int64_t *deleted, struct fs_err *err)
{
    return s->ops->prune(s, inbox_before, dead_letter_before, event_ids_before, deleted, err);
}

int fs_store_inbox_unapplied(struct fs_store *s, int limit, json_t **out, struct fs_err *err)
{
    return s->ops->inbox_unapplied(s, limit, out, err);
}

int fs_store_incidents_list(struct fs_store *s, const struct fs_incident_filter *f, json_t **out,
                            struct fs_err *err)
{
    return s->ops->incidents_list(s, f, out, err);
}

int fs_store_incident_get(struct fs_store *s, int64_t id, json_t **out, struct fs_err *err)
{
    return s->ops->incident_get(s, id, out, err);
}

int fs_store_incidents_count(struct fs_store *s, const char *status, int64_t *n, struct fs_err *err)
{
    return s->ops->incidents_count(s, status, n, err);
}

int fs_store_proposals_count(struct fs_store *s, const char *status, int64_t *n, struct fs_err *err)
{
    return s->ops->proposals_count(s, status, n, err);
}

int fs_store_dead_letters_list(struct fs_store *s, int limit, bool with_body, json_t **out,
                               struct fs_err *err)
{
    return s->ops->dead_letters_list(s, limit, with_body, out, err);
}

int fs_store_stats(struct fs_store *s, json_t **out, struct fs_err *err)
{
    return s->ops->stats(s, out, err);
}

/* ---- safety ------------------------------------------------------------------------------ */

void fs_proposal_row_clear(struct fs_proposal_row *r)
{
    free(r->proposer);
    free(r->action);
    free(r->target_key);
    free(r->body);
    free(r->gate);
    free(r->decided_by);
    free(r->reason);
    memset(r, 0, sizeof(*r));
}

void fs_approval_row_clear(struct fs_approval_row *r)
{
    free(r->actor);
    free(r->reason);
    memset(r, 0, sizeof(*r));
}

void fs_audit_row_clear(struct fs_audit_row *r)
{
    free(r->actor);
    free(r->data);
    memset(r, 0, sizeof(*r));
}

int fs_store_proposal_insert(struct fs_store *s, struct fs_proposal_row *r, struct fs_err *err)
{
    return s->ops->proposal_insert(s, r, err);
}

int fs_store_proposal_load(struct fs_store *s, int64_t id, struct fs_proposal_row *out,
                           struct fs_err *err)
{
    return s->ops->proposal_load(s, id, out, err);
}

int fs_store_proposal_set_status(struct fs_store *s, int64_t id, const char *status,
                                 const char *decided_by, int64_t decided_at, const char *reason,
                                 int64_t now, struct fs_err *err)
{
    return s->ops->proposal_set_status(s, id, status, decided_by, decided_at, reason, now, err);
}

int fs_store_proposals_due(struct fs_store *s, int64_t now, int64_t *ids, int max, int *n,
                           struct fs_err *err)
{
    return s->ops->proposals_due(s, now, ids, max, n, err);
}

int fs_store_proposals_list(struct fs_store *s, const struct fs_proposal_filter *f, json_t **out,
                            struct fs_err *err)
{
    return s->ops->proposals_list(s, f, out, err);
}

int fs_store_proposal_get(struct fs_store *s, int64_t id, json_t **out, struct fs_err *err)
{
    return s->ops->proposal_get(s, id, out, err);
}

int fs_store_approval_insert(struct fs_store *s, struct fs_approval_row *r, struct fs_err *err)
{
    return s->ops->approval_insert(s, r, err);
}

int fs_store_approval_latest(struct fs_store *s, int64_t proposal_id, struct fs_approval_row *out,
                             struct fs_err *err)
{
    return s->ops->approval_latest(s, proposal_id, out, err);
}

int fs_store_approval_consume(struct fs_store *s, int64_t id, int64_t now, bool *changed,
                              struct fs_err *err)
{
    return s->ops->approval_consume(s, id, now, changed, err);
}

int fs_store_control_get(struct fs_store *s, const char *key, char **value, struct fs_err *err)
{
    return s->ops->control_get(s, key, value, err);
}

int fs_store_control_put(struct fs_store *s, const char *key, const char *value, const char *actor,
                         int64_t now, struct fs_err *err)
{
    return s->ops->control_put(s, key, value, actor, now, err);
}

int fs_store_controls_list(struct fs_store *s, json_t **out, struct fs_err *err)
{
    return s->ops->controls_list(s, out, err);
}

int fs_store_observation_insert(struct fs_store *s, const struct fs_observation_row *o, int64_t *id,
                                struct fs_err *err)
{
    return s->ops->observation_insert(s, o, id, err);
}

int fs_store_observation_ids(struct fs_store *s, int64_t incident_id, json_t **out,
                             struct fs_err *err)
{
    return s->ops->observation_ids(s, incident_id, out, err);
}

int fs_store_observations_list(struct fs_store *s, int64_t incident_id, json_t **out,
                               struct fs_err *err)
{
    return s->ops->observations_list(s, incident_id, out, err);
}

int fs_store_incident_episode_labels(struct fs_store *s, int64_t incident_id, json_t **out,
                                     struct fs_err *err)
{
    return s->ops->incident_episode_labels(s, incident_id, out, err);
}

int fs_store_execution_insert(struct fs_store *s, const struct fs_execution_row *e, int64_t *id,
                              struct fs_err *err)
{
    return s->ops->execution_insert(s, e, id, err);
}

int fs_store_action_history(struct fs_store *s, const char *action, const char *target_key,
                            int64_t now, int64_t *executions_1h, int64_t *failures_24h,
                            struct fs_err *err)
{
    return s->ops->action_history(s, action, target_key, now, executions_1h, failures_24h, err);
}

/* ---- writers ----------------------------------------------------------------------------- */

static int direct_run(const struct fs_writer *w, fs_store_tx_fn fn, void *arg, struct fs_err *err)
{
    for (int attempt = 0;; attempt++) {
        int rc = fs_store_begin(w->store, err);
        if (rc == 0) {
            rc = fn(w->store, arg, err);
            if (rc < 0)
                fs_store_rollback(w->store);
            else
                rc = fs_store_commit(w->store, err);
        }
        /* the lock is held by another process (the daemon, the executor) past busy_timeout */
        if (rc != -FS_E_BUSY || attempt >= 5)
            return rc;
        struct timespec ts = {0, 50 * 1000 * 1000L << (attempt < 4 ? attempt : 4)};
        nanosleep(&ts, NULL);
    }
}

void fs_store_direct_writer(struct fs_store *s, struct fs_writer *w)
{
    *w = (struct fs_writer){.store = s, .run = direct_run, .impl = NULL};
}

/* ---- engine ------------------------------------------------------------------------------ */

int fs_store_incident_set_state(struct fs_store *s, int64_t id, const char *state, int64_t now,
                                struct fs_err *err)
{
    return s->ops->incident_set_state(s, id, state, now, err);
}

int fs_store_incidents_in_state(struct fs_store *s, const char *state, int64_t *ids, int max,
                                int *n, struct fs_err *err)
{
    return s->ops->incidents_in_state(s, state, ids, max, n, err);
}

int fs_store_investigation_insert(struct fs_store *s, const struct fs_investigation_row *r,
                                  int64_t *id, struct fs_err *err)
{
    return s->ops->investigation_insert(s, r, id, err);
}

int fs_store_investigation_finish(struct fs_store *s, int64_t id,
                                  const struct fs_investigation_row *r, struct fs_err *err)
{
    return s->ops->investigation_finish(s, id, r, err);
}

int fs_store_investigations_list(struct fs_store *s, int64_t incident_id, json_t **out,
                                 struct fs_err *err)
{
    return s->ops->investigations_list(s, incident_id, out, err);
}

int fs_store_proposals_ready(struct fs_store *s, int64_t *ids, int max, int *n, struct fs_err *err)
{
    return s->ops->proposals_ready(s, ids, max, n, err);
}

int fs_store_execution_of_proposal(struct fs_store *s, int64_t proposal_id, int64_t *id,
                                   struct fs_err *err)
{
    return s->ops->execution_of_proposal(s, proposal_id, id, err);
}

int fs_store_execution_describe(struct fs_store *s, int64_t id, int64_t incident_id,
                                const char *target_kind, const char *spec, struct fs_err *err)
{
    return s->ops->execution_describe(s, id, incident_id, target_kind, spec, err);
}

int fs_store_execution_finish(struct fs_store *s, int64_t id, const char *outcome,
                              int64_t finished_at, const char *result, struct fs_err *err)
{
    return s->ops->execution_finish(s, id, outcome, finished_at, result, err);
}

int fs_store_exec_step_insert(struct fs_store *s, int64_t execution_id, int64_t ts,
                              const char *state, const char *detail, struct fs_err *err)
{
    return s->ops->exec_step_insert(s, execution_id, ts, state, detail, err);
}

int fs_store_executions_open(struct fs_store *s, json_t **out, struct fs_err *err)
{
    return s->ops->executions_open(s, out, err);
}

int fs_store_executions_list(struct fs_store *s, int64_t incident_id, json_t **out,
                             struct fs_err *err)
{
    return s->ops->executions_list(s, incident_id, out, err);
}

int fs_store_entity_history_insert(struct fs_store *s, const struct fs_entity_history_row *r,
                                   struct fs_err *err)
{
    return s->ops->entity_history_insert(s, r, err);
}

int fs_store_entity_history(struct fs_store *s, const char *entity, int limit, json_t **out,
                            struct fs_err *err)
{
    return s->ops->entity_history(s, entity, limit, out, err);
}

int fs_store_kpi_facts(struct fs_store *s, int64_t since, int64_t now, int64_t settle_ms,
                       json_t **out, struct fs_err *err)
{
    return s->ops->kpi_facts(s, since, now, settle_ms, out, err);
}

int fs_store_engine_counts(struct fs_store *s, json_t **out, struct fs_err *err)
{
    return s->ops->engine_counts(s, out, err);
}

int fs_store_incidents_unconcluded(struct fs_store *s, int64_t *ids, int max, int *n,
                                   struct fs_err *err)
{
    return s->ops->incidents_unconcluded(s, ids, max, n, err);
}

int fs_store_postmortem_put(struct fs_store *s, int64_t incident_id, int64_t now,
                            const char *markdown, const char *data, struct fs_err *err)
{
    return s->ops->postmortem_put(s, incident_id, now, markdown, data, err);
}

int fs_store_postmortem_get(struct fs_store *s, int64_t incident_id, json_t **out,
                            struct fs_err *err)
{
    return s->ops->postmortem_get(s, incident_id, out, err);
}

/* ---- audit chain ------------------------------------------------------------------------- */

int fs_store_audit_head(struct fs_store *s, int64_t *seq, char hash[65], struct fs_err *err)
{
    return s->ops->audit_head(s, seq, hash, err);
}

int fs_store_audit_insert(struct fs_store *s, const struct fs_audit_row *r, struct fs_err *err)
{
    return s->ops->audit_insert(s, r, err);
}

int fs_store_audit_scan(struct fs_store *s, const struct fs_audit_filter *f, fs_audit_row_fn fn,
                        void *arg, struct fs_err *err)
{
    return s->ops->audit_scan(s, f, fn, arg, err);
}

int fs_store_audit_last(struct fs_store *s, int64_t *seq, char hash[65], struct fs_err *err)
{
    return s->ops->audit_last(s, seq, hash, err);
}

int fs_store_mcp_server_upsert(struct fs_store *s, const struct fs_mcp_server_row *r, int64_t now,
                               struct fs_err *err)
{
    return s->ops->mcp_server_upsert(s, r, now, err);
}

int fs_store_mcp_server_get(struct fs_store *s, const char *name, json_t **out, struct fs_err *err)
{
    return s->ops->mcp_server_get(s, name, out, err);
}

int fs_store_mcp_servers_list(struct fs_store *s, json_t **out, struct fs_err *err)
{
    return s->ops->mcp_servers_list(s, out, err);
}

int fs_store_mcp_server_remove(struct fs_store *s, const char *name, int64_t *pins,
                               struct fs_err *err)
{
    return s->ops->mcp_server_remove(s, name, pins, err);
}

int fs_store_mcp_pin_put(struct fs_store *s, const struct fs_mcp_pin_row *r, int64_t now,
                         struct fs_err *err)
{
    return s->ops->mcp_pin_put(s, r, now, err);
}

int fs_store_mcp_pins_get(struct fs_store *s, const char *server, json_t **out, struct fs_err *err)
{
    return s->ops->mcp_pins_get(s, server, out, err);
}

int fs_store_mcp_pin_approve(struct fs_store *s, const char *server, const char *tool,
                             const char *sha256, const char *actor, int64_t now, bool *changed,
                             struct fs_err *err)
{
    return s->ops->mcp_pin_approve(s, server, tool, sha256, actor, now, changed, err);
}

int fs_store_delivery_insert(struct fs_store *s, const struct fs_delivery_row *r, bool *inserted,
                             struct fs_err *err)
{
    return s->ops->delivery_insert(s, r, inserted, err);
}

int fs_store_delivery_update(struct fs_store *s, int64_t id, const char *status, int64_t attempts,
                             int64_t next_at, const char *last_error, const char *ref,
                             int64_t sent_at, struct fs_err *err)
{
    return s->ops->delivery_update(s, id, status, attempts, next_at, last_error, ref, sent_at, err);
}

int fs_store_notify_cursor_get(struct fs_store *s, int64_t *seq, struct fs_err *err)
{
    return s->ops->notify_cursor_get(s, seq, err);
}

int fs_store_notify_cursor_set(struct fs_store *s, int64_t seq, int64_t now, struct fs_err *err)
{
    return s->ops->notify_cursor_set(s, seq, now, err);
}

int fs_store_deliveries_due(struct fs_store *s, const char *channel, int64_t now, int limit,
                            json_t **out, struct fs_err *err)
{
    return s->ops->deliveries_due(s, channel, now, limit, out, err);
}

int fs_store_delivery_next_at(struct fs_store *s, const char *channel, int64_t *next_at,
                              struct fs_err *err)
{
    return s->ops->delivery_next_at(s, channel, next_at, err);
}

int fs_store_delivery_ref(struct fs_store *s, const char *channel, int64_t incident_id, char **ref,
                          struct fs_err *err)
{
    return s->ops->delivery_ref(s, channel, incident_id, ref, err);
}

int fs_store_notification_by_ref(struct fs_store *s, const char *channel, const char *ref,
                                 json_t **row, struct fs_err *err)
{
    return s->ops->notification_by_ref(s, channel, ref, row, err);
}

int fs_store_deliveries_list(struct fs_store *s, int64_t incident_id, int limit, json_t **out,
                             struct fs_err *err)
{
    return s->ops->deliveries_list(s, incident_id, limit, out, err);
}

int fs_store_deliveries_counts(struct fs_store *s, json_t **out, struct fs_err *err)
{
    return s->ops->deliveries_counts(s, out, err);
}
