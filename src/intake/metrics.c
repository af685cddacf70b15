/* metrics: the daemon's metric values and their exposition on /metrics. Writers anywhere
 * update fs_metrics with relaxed atomics; only the scrape reads them all. */
#include "core/common.h"

#include <stdio.h>

#include "core/time.h"
#include "intake/metrics.h"
#include "notify/notify.h"
#include "report/kpi.h"
#include "safety/gate.h"
#include "store/store.h"
#include "version.h"

static const double latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

struct fs_intake_metrics fs_metrics = {
    .ingest_duration = {.bounds = latency_bounds, .n = (int)FS_ARRAY_LEN(latency_bounds)},
    .commit_duration = {.bounds = latency_bounds, .n = (int)FS_ARRAY_LEN(latency_bounds)},
    .commit_batch = {.bounds = batch_bounds, .n = (int)FS_ARRAY_LEN(batch_bounds)},
};

#define LOAD(x) ((double)atomic_load_explicit(&(x), memory_order_relaxed))

enum {
#define FS_METRIC_ENUM(f, name, type, labels, help) M_##f,
    FS_METRIC_FAMILIES(FS_METRIC_ENUM)
#undef FS_METRIC_ENUM
};

static const struct {
    const char *name, *type, *labels, *help;
} families[] = {
#define FS_METRIC_ROW(f, name, type, labels, help) {name, type, labels, help},
    FS_METRIC_FAMILIES(FS_METRIC_ROW)
#undef FS_METRIC_ROW
};

static void head(struct fs_buf *b, int m)
{
    fs_metric_header(b, families[m].name, families[m].type, families[m].help);
}

static void labeled(struct fs_buf *b, int m, const char *label, const char *value, double v)
{
    char esc[128], lab[192];
    fs_metric_escape(esc, sizeof(esc), value);
    snprintf(lab, sizeof(lab), "%s=\"%s\"", label, esc);
    fs_metric_sample(b, families[m].name, lab, v);
}

int fs_metrics_render(struct fs_buf *b, struct fs_store *store)
{
    static const char *const okerr[] = {"ok", "error"};
    static const char *const corr[] = {"firing", "resolved"};
    head(b, M_build_info);
    labeled(b, M_build_info, "version", FS_VERSION, 1);

    head(b, M_alerts_received);
    for (int s = 0; s < FS_SRC__COUNT; s++)
        labeled(b, M_alerts_received, "source", fs_alert_source_name(s),
                LOAD(fs_metrics.alerts_received[s]));
    head(b, M_alerts_deduplicated);
    for (int s = 0; s < FS_SRC__COUNT; s++)
        labeled(b, M_alerts_deduplicated, "source", fs_alert_source_name(s),
                LOAD(fs_metrics.alerts_deduplicated[s]));
    head(b, M_requests_rejected);
    for (int c = 1; c < FS_E__COUNT; c++) {
        double v = LOAD(fs_metrics.requests_rejected[c]);
        if (v > 0)
            labeled(b, M_requests_rejected, "code", fs_err_name(c), v);
    }
    head(b, M_http_responses);
    for (int c = 100; c < 600; c++) {
        double v = LOAD(fs_metrics.http_responses[c]);
        if (v > 0) {
            char code[8];
            snprintf(code, sizeof(code), "%d", c);
            labeled(b, M_http_responses, "code", code, v);
        }
    }
    head(b, M_ingest_duration);
    fs_metric_hist(b, families[M_ingest_duration].name, "", &fs_metrics.ingest_duration);
    head(b, M_commit_duration);
    fs_metric_hist(b, families[M_commit_duration].name, "", &fs_metrics.commit_duration);
    head(b, M_commit_batch);
    fs_metric_hist(b, families[M_commit_batch].name, "", &fs_metrics.commit_batch);

    int64_t open = 0;
    struct fs_err err;
    if (store && fs_store_incidents_count(store, "open", &open, &err) == 0) {
        head(b, M_incidents_open);
        fs_metric_sample(b, families[M_incidents_open].name, "", (double)open);
    }
    head(b, M_incidents_opened);
    fs_metric_sample(b, families[M_incidents_opened].name, "", LOAD(fs_metrics.incidents_opened));
    head(b, M_incidents_resolved);
    fs_metric_sample(b, families[M_incidents_resolved].name, "",
                     LOAD(fs_metrics.incidents_resolved));
    head(b, M_dead_letters);
    fs_metric_sample(b, families[M_dead_letters].name, "", LOAD(fs_metrics.dead_letters));
    head(b, M_ingest_queue);
    fs_metric_sample(b, families[M_ingest_queue].name, "", LOAD(fs_metrics.ingest_queue));
    head(b, M_failstop);
    fs_metric_sample(b, families[M_failstop].name, "", LOAD(fs_metrics.failstop));
    head(b, M_episodes_expired);
    fs_metric_sample(b, families[M_episodes_expired].name, "", LOAD(fs_metrics.episodes_expired));
    head(b, M_reconcile_runs);
    for (int i = 0; i < 2; i++)
        labeled(b, M_reconcile_runs, "result", okerr[i], LOAD(fs_metrics.reconcile_runs[i]));
    head(b, M_reconcile_corrections);
    for (int i = 0; i < 2; i++)
        labeled(b, M_reconcile_corrections, "kind", corr[i],
                LOAD(fs_metrics.reconcile_corrections[i]));
    head(b, M_config_reloads);
    for (int i = 0; i < 2; i++)
        labeled(b, M_config_reloads, "result", okerr[i], LOAD(fs_metrics.config_reloads[i]));
    static const char *const kinds[] = {"approve", "force_override", "reject"};
    head(b, M_gate_decisions);
    for (int i = 0; i < 5; i++)
        labeled(b, M_gate_decisions, "decision", fs_decision_name((enum fs_decision)i),
                LOAD(fs_metrics.gate_decisions[i]));
    head(b, M_approvals);
    for (int i = 0; i < 3; i++)
        labeled(b, M_approvals, "kind", kinds[i], LOAD(fs_metrics.approvals[i]));
    head(b, M_approval_refusals);
    for (int c = 1; c < FS_E__COUNT; c++) {
        double v = LOAD(fs_metrics.approval_refusals[c]);
        if (v > 0)
            labeled(b, M_approval_refusals, "code", fs_err_name(c), v);
    }
    json_t *controls = NULL;
    int64_t pending = 0;
    if (store && fs_store_proposals_count(store, "pending", &pending, &err) == 0) {
        head(b, M_proposals_pending);
        fs_metric_sample(b, families[M_proposals_pending].name, "", (double)pending);
    }
    if (store && fs_store_controls_list(store, &controls, &err) == 0) {
        head(b, M_frozen);
        fs_metric_sample(b, families[M_frozen].name, "",
                         json_object_get(controls, "freeze") ? 1 : 0);
    }
    json_decref(controls);
    json_t *counts = NULL;
    if (store && fs_store_engine_counts(store, &counts, &err) == 0) {
        static const struct {
            int family;
            const char *key, *label;
        } groups[] = {{M_incidents_state, "incidents", "state"},
                      {M_investigations, "investigations", "status"},
                      {M_executions, "executions", "outcome"}};
        for (size_t g = 0; g < FS_ARRAY_LEN(groups); g++) {
            head(b, groups[g].family);
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(counts, groups[g].key), k, v)
                labeled(b, groups[g].family, groups[g].label, k, (double)json_integer_value(v));
        }
        json_t *llm = json_object_get(counts, "llm");
        head(b, M_llm_calls);
        fs_metric_sample(b, families[M_llm_calls].name, "",
                         json_number_value(json_object_get(llm, "calls")));
        head(b, M_llm_tokens);
        labeled(b, M_llm_tokens, "direction", "input",
                json_number_value(json_object_get(llm, "inputTokens")));
        labeled(b, M_llm_tokens, "direction", "output",
                json_number_value(json_object_get(llm, "outputTokens")));
        head(b, M_llm_cost);
        fs_metric_sample(b, families[M_llm_cost].name, "",
                         json_number_value(json_object_get(llm, "costUsd")));
        head(b, M_llm_refusals);
        fs_metric_sample(b, families[M_llm_refusals].name, "",
                         json_number_value(json_object_get(llm, "refusals")));
        head(b, M_llm_fallbacks);
        fs_metric_sample(b, families[M_llm_fallbacks].name, "",
                         json_number_value(json_object_get(llm, "fallbacks")));
    }
    json_decref(counts);
    /* the KPIs (a rate without a denominator is left out rather than written as 0) */
    json_t *k = NULL;
    int64_t now = fs_now_ms();
    if (store && fs_kpis_compute(store, now - 30LL * 86400000, now, &k, &err) == 0) {
        json_t *t = json_object_get(k, "timeToFirstUsefulAction");
        head(b, M_kpi_first_action);
        if (json_is_number(json_object_get(t, "medianSeconds"))) {
            labeled(b, M_kpi_first_action, "quantile", "0.5",
                    json_number_value(json_object_get(t, "medianSeconds")));
            labeled(b, M_kpi_first_action, "quantile", "0.9",
                    json_number_value(json_object_get(t, "p90Seconds")));
        }
        static const struct {
            int family;
            const char *key, *rate;
        } rates[] = {{M_kpi_autonomy, "handledWithoutHuman", "rate"},
                     {M_kpi_false_remediation, "falseRemediation", "rate"},
                     {M_kpi_escalation_precision, "escalationPrecision", "precision"},
                     {M_kpi_rollback_success, "rollbackSuccess", "rate"}};
        for (size_t i = 0; i < FS_ARRAY_LEN(rates); i++) {
            head(b, rates[i].family);
            json_t *v = json_object_get(json_object_get(k, rates[i].key), rates[i].rate);
            if (json_is_number(v))
                fs_metric_sample(b, families[rates[i].family].name, "", json_number_value(v));
        }
    }
    json_decref(k);
    if (fs_notify_metrics_render(b, store) < 0)
        return -FS_E_NOMEM;
    return b->data ? 0 : -FS_E_NOMEM;
}

int fs_metrics_doc_markdown(struct fs_buf *b)
{
    fs_buf_puts(b,
                "# Metrics reference\n\n"
                "<!-- generated by `forestall docs metrics` from FS_METRIC_FAMILIES in "
                "src/intake/metrics.h; do not edit -->\n\n"
                "`GET /metrics` answers in the Prometheus text exposition format (version "
                "0.0.4). Like /healthz and /readyz it needs no token, so Prometheus and probes can "
                "reach it.\n\n"
                "| metric | type | labels | description |\n|---|---|---|---|\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(families); i++)
        fs_buf_printf(b, "| `%s` | %s | %s | %s |\n", families[i].name, families[i].type,
                      *families[i].labels ? families[i].labels : "—", families[i].help);
    return fs_notify_metrics_doc_markdown(b);
}
