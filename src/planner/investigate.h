/* One investigation of one incident, from its record to a decision: moves the incident to
 * investigating, builds what the planner sees (labels, annotations, the knowledge graph's entity
 * and what happened to it before), routes tool calls to the incident's host, records every
 * tool call as an observation (trace + audit), runs the planner, and sends its proposal through
 * the gate. The incident ends this step in one of: proposed (the gate said execute: the
 * executor takes it from here), awaiting_approval, shadowed, blocked, escalated or no_action.
 *
 * Used by the daemon's dispatcher (a worker thread; writes go to the ingest writer) and by
 * `forestall investigate` (writes go to a store of its own). Never runs a write action. */
#ifndef FS_INVESTIGATE_H
#define FS_INVESTIGATE_H

#include <jansson.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "incidents/state.h"
#include "planner/llm.h"
#include "planner/playbook.h"
#include "safety/service.h"
#include "store/store.h"

struct fs_runner_opts;

struct fs_investigation_opts {
    const struct fs_writer *w;
    const struct fs_config *cfg;
    const struct fs_rules *rules;
    const struct fs_registry *tools;
    const struct fs_playbooks *playbooks;
    fs_trace_fn trace; /* live trace, may be NULL */
    void *trace_arg;
    int64_t now_ms; /* 0 = the clock (tests pin it) */
    /* Write observations in batches (one commit per 16 calls, per second, and at the end)
     * rather than one commit per call: the daemon. The CLI writes each at once, so its live
     * trace shows final ids. */
    bool batch;
    /* The LLM planner for this investigation (docs/llm.md), or NULL: the playbooks. With
     * llm_fallback, a model that cannot be reached before it decided anything hands the
     * investigation to the playbooks; without it, the investigation escalates. */
    const struct fs_llm_planner *llm;
    bool llm_by_config; /* only for incidents fs_llm_planner_wanted (the daemon) */
    bool llm_fallback;
    /* Directory for the LLM transcripts (inc-N-START.jsonl), or NULL: not kept. */
    const char *transcript_dir;
    /* The external-agent runner (runner/runner.h, docs/runner.md), or NULL. When set it
     * investigates every incident (the planner "claude_code"), whatever llm says: Claude Code
     * works through the gateway, whose read-only calls are the observations and whose action
     * calls are the proposals (already through the gate); the newest proposal it made for the
     * incident during the run is the outcome's, and none escalates with its summary. */
    const struct fs_runner_opts *runner;
};

struct fs_investigation_outcome {
    int64_t investigation_id;
    enum fs_incident_state state; /* where the incident is now */
    int64_t proposal_id;          /* 0 when none was made */
    char decision[32];            /* the gate's decision, "" when no proposal */
    struct fs_plan_result plan;   /* what the planner found (owned) */
    json_t *gate;                 /* the gate's result, or NULL */
    char planner[16];             /* "playbook", "llm" or "claude_code": who decided */
    struct fs_llm_usage llm;      /* what the model spent (planner "llm") */
    bool fell_back;               /* the model was unreachable: the playbooks decided */
    json_t *runner; /* planner "claude_code": how the run went (the record's "runner"), owned */
};
void fs_investigation_outcome_release(struct fs_investigation_outcome *o);

/* The planner's view of an incident (what fs_investigate hands a planner): {labels,
 * annotations, incident: {id, severity, title, startsAt}, context: {entity, history}}. Reads
 * o->w->store, o->rules (the graph) and nothing else. New reference, or NULL with err set. */
json_t *fs_investigation_scope(const struct fs_investigation_opts *o, int64_t incident_id,
                               struct fs_err *err);

/* Returns <0 when the investigation could not be recorded (the store is in trouble); the
 * incident is then left where it was, for the dispatcher to retry, and *out holds nothing. */
int fs_investigate(const struct fs_investigation_opts *o, int64_t incident_id,
                   struct fs_investigation_outcome *out, struct fs_err *err);

#endif
