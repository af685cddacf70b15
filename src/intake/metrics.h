/* The metrics the daemon exposes on GET /metrics, defined in one table (FS_METRIC_FAMILIES) so
 * docs/metrics.md is generated from the same list the exposition is written from. */
#ifndef FS_INTAKE_METRICS_H
#define FS_INTAKE_METRICS_H

#include "core/buf.h"
#include "core/err.h"
#include "core/metrics.h"
#include "incidents/alert.h"

struct fs_store;

/* X(field, "name", "type", "labels", "help") */
#define FS_METRIC_FAMILIES(X)                                                                      \
    X(build_info, "forestall_build_info", "gauge", "version", "Always 1; the running version.")    \
    X(alerts_received, "forestall_alerts_received_total", "counter", "source",                     \
      "Alerts in payloads that were durably stored, by source.")                                   \
    X(alerts_deduplicated, "forestall_alerts_deduplicated_total", "counter", "source",             \
      "Alerts that changed nothing (repeats, HA duplicates, stale replays), by source.")           \
    X(requests_rejected, "forestall_requests_rejected_total", "counter", "code",                   \
      "Requests answered with an error, by machine error code.")                                   \
    X(http_responses, "forestall_http_responses_total", "counter", "code",                         \
      "HTTP responses, by status code.")                                                           \
    X(ingest_duration, "forestall_ingest_duration_seconds", "histogram", "",                       \
      "From a complete request body to its acknowledgement (parse, durable commit).")              \
    X(commit_duration, "forestall_store_commit_duration_seconds", "histogram", "",                 \
      "Duration of one group commit (all its writes and the fsync).")                              \
    X(commit_batch, "forestall_store_commit_batch_size", "histogram", "",                          \
      "Requests that shared one durable commit.")                                                  \
    X(incidents_open, "forestall_incidents_open", "gauge", "", "Incidents currently open.")        \
    X(incidents_opened, "forestall_incidents_opened_total", "counter", "", "Incidents created.")   \
    X(incidents_resolved, "forestall_incidents_resolved_total", "counter", "",                     \
      "Incidents that became resolved.")                                                           \
    X(dead_letters, "forestall_dead_letters_total", "counter", "",                                 \
      "Rejected bodies kept in the dead-letter table.")                                            \
    X(ingest_queue, "forestall_ingest_queue_depth", "gauge", "",                                   \
      "Requests waiting for a durable commit.")                                                    \
    X(failstop, "forestall_store_failstop", "gauge", "",                                           \
      "1 after a durable write failed; the daemon then acknowledges nothing.")                     \
    X(episodes_expired, "forestall_episodes_expired_total", "counter", "",                         \
      "Firing episodes closed because their expiry passed (events without a resolve).")            \
    X(reconcile_runs, "forestall_reconcile_runs_total", "counter", "result",                       \
      "Alertmanager reconciliation polls, by result (ok, error).")                                 \
    X(reconcile_corrections, "forestall_reconcile_corrections_total", "counter", "kind",           \
      "Changes reconciliation made: firing (missed firing), resolved (missed resolve).")           \
    X(config_reloads, "forestall_config_reloads_total", "counter", "result",                       \
      "SIGHUP configuration reloads, by result (ok, error).")                                      \
    X(gate_decisions, "forestall_gate_decisions_total", "counter", "decision",                     \
      "Proposals judged by the gate, by decision (execute, needs_approval, "                       \
      "needs_force_override, blocked, shadow).")                                                   \
    X(approvals, "forestall_approvals_total", "counter", "kind",                                   \
      "Decisions by people on pending proposals, by kind (approve, force_override, reject).")      \
    X(approval_refusals, "forestall_approval_refusals_total", "counter", "code",                   \
      "Approvals and rejections refused, by error code (self_approval, "                           \
      "force_override_required, expired, stale, ...).")                                            \
    X(proposals_pending, "forestall_proposals_pending", "gauge", "",                               \
      "Proposals waiting for a person (counted in the store at scrape time).")                     \
    X(frozen, "forestall_frozen", "gauge", "",                                                     \
      "1 while the kill switch is on (read from the store at scrape time).")                       \
    X(llm_calls, "forestall_llm_requests_total", "counter", "",                                    \
      "Model calls made by LLM investigations (from the store at scrape time).")                   \
    X(llm_tokens, "forestall_llm_tokens_total", "counter", "direction",                            \
      "Tokens LLM investigations sent (input) and received (output).")                             \
    X(llm_cost, "forestall_llm_cost_usd_total", "counter", "",                                     \
      "Estimated cost of the model calls in US dollars (llm.price_*_per_mtok).")                   \
    X(llm_refusals, "forestall_llm_refusals_total", "counter", "",                                 \
      "Requests of the model the planner refused (unknown actions, bad params, uncited evidence, " \
      "tools not offered).")                                                                       \
    X(llm_fallbacks, "forestall_llm_fallbacks_total", "counter", "",                               \
      "LLM investigations the playbooks decided because the model could not be reached.")          \
    X(incidents_state, "forestall_incidents_by_state", "gauge", "state",                           \
      "Incidents in each handling state (docs/states.md), counted in the store at scrape time.")   \
    X(investigations, "forestall_investigations_total", "counter", "status",                       \
      "Investigations by how they ended (proposed, escalated, no_action; running), from the "      \
      "store.")                                                                                    \
    X(executions, "forestall_executions_total", "counter", "outcome",                              \
      "Executions of catalog actions by outcome (succeeded, failed, rolled_back, refused, "        \
      "unknown; running), from the store.")                                                        \
    X(kpi_first_action, "forestall_kpi_time_to_first_useful_action_seconds", "gauge", "quantile",  \
      "KPI over the last 30 days: from an incident's creation to its first successful action "     \
      "(docs/kpis.md), median and 90th percentile.")                                               \
    X(kpi_autonomy, "forestall_kpi_handled_without_human_ratio", "gauge", "",                      \
      "KPI over the last 30 days: ended incidents resolved or closed without a person's "          \
      "approval.")                                                                                 \
    X(kpi_false_remediation, "forestall_kpi_false_remediation_ratio", "gauge", "",                 \
      "KPI over the last 30 days: executions that failed, were rolled back or ended unknown.")     \
    X(kpi_escalation_precision, "forestall_kpi_escalation_precision_ratio", "gauge", "",           \
      "KPI over the last 30 days: escalations a person acted on or whose alert kept firing.")      \
    X(kpi_rollback_success, "forestall_kpi_rollback_success_ratio", "gauge", "",                   \
      "KPI over the last 30 days: rollbacks that completed, of those started.")

struct fs_intake_metrics {
    atomic_uint_fast64_t alerts_received[FS_SRC__COUNT];
    atomic_uint_fast64_t alerts_deduplicated[FS_SRC__COUNT];
    atomic_uint_fast64_t requests_rejected[FS_E__COUNT];
    atomic_uint_fast64_t http_responses[600];
    struct fs_hist ingest_duration;
    struct fs_hist commit_duration;
    struct fs_hist commit_batch;
    atomic_uint_fast64_t incidents_opened;
    atomic_uint_fast64_t incidents_resolved;
    atomic_uint_fast64_t dead_letters;
    atomic_int_fast64_t ingest_queue;
    atomic_int failstop;
    atomic_uint_fast64_t episodes_expired;
    atomic_uint_fast64_t reconcile_runs[2];        /* ok, error */
    atomic_uint_fast64_t reconcile_corrections[2]; /* firing, resolved */
    atomic_uint_fast64_t config_reloads[2];        /* ok, error */
    atomic_uint_fast64_t gate_decisions[5];        /* enum fs_decision */
    atomic_uint_fast64_t approvals[3];             /* approve, force_override, reject */
    atomic_uint_fast64_t approval_refusals[FS_E__COUNT];
};

extern struct fs_intake_metrics fs_metrics;

/* Write the exposition (open incidents are counted in the store at scrape time). */
int fs_metrics_render(struct fs_buf *b, struct fs_store *store);
/* docs/metrics.md */
int fs_metrics_doc_markdown(struct fs_buf *b);

#endif
