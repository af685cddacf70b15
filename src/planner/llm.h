/* The LLM planner (docs/llm.md): a ReAct investigation with a language model behind the same
 * interface as the playbook planner — the same read-only tools, the same observations, the same
 * gate after it. The model reasons and calls tools; it ends by calling one of three tools of its
 * own: propose_action (a catalog action with params, rationale, cited observation ids and a
 * confidence), escalate (a summary for the person) or resolve_no_action. Write actions are never
 * tools of the model, and its proposal decides nothing: the gate does.
 *
 * Guard rails are code: a proposal naming an unknown action, params the catalog's schema
 * refuses, or observation ids that are not in this investigation's trace is refused (the model
 * is told why and may try again within its budget) and recorded in the audit chain; a call of a
 * tool that was not offered likewise. Tool output reaches the model inside an observation frame
 * that says it is untrusted data; every request body is redacted by the provider layer. The
 * target of a proposal is the incident's own (from the alert), never the model's choice.
 *
 * Budgets per investigation: steps (tool calls), input and output tokens, wall time, and tool
 * calls per model turn; a spent budget ends the investigation in an escalation that says which.
 * A model that cannot be reached (after the provider's retries) is an error the caller may
 * answer with the playbook planner (dispatch.llm_fallback). */
#ifndef FS_PLANNER_LLM_H
#define FS_PLANNER_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "llm/llm.h"
#include "planner/playbook.h"

struct fs_catalog;

struct fs_llm_budget {
    int max_steps;             /* tool calls, the final one included; 0 = 12 */
    int64_t max_input_tokens;  /* summed over the calls; 0 = 200000 */
    int64_t max_output_tokens; /* 0 = 20000 */
    int64_t max_wall_ms;       /* 0 = 5 min */
    int max_calls_per_turn;    /* tool calls the model may make in one answer; 0 = 8 */
    size_t max_result_bytes;   /* of one tool result shown to the model; 0 = 16 KiB */
};

struct fs_llm_planner {
    struct fs_llm *model; /* borrowed */
    const struct fs_catalog *catalog;
    const struct fs_playbooks *hints; /* the matching playbook's steps become hints; may be NULL */
    struct fs_llm_budget budget;
    double price_input_per_mtok, price_output_per_mtok; /* USD, for the cost estimate */
    /* Where each call's request and response are appended as JSON Lines (the `replay`
     * provider's transcript format, docs/llm.md); NULL = not kept. */
    const char *transcript_path;
    /* A refusal to record (the audit chain): data is {reason, tool, input?}. May be NULL. */
    int (*refused)(void *arg, const json_t *data, struct fs_err *err);
    void *refused_arg;
};

/* What the investigation spent. */
struct fs_llm_usage {
    int calls;
    int64_t input_tokens, output_tokens;
    double cost_usd;
    int refusals;
    char model[128];
};

/* Run one investigation over scope (the incident as fs_investigate builds it: labels,
 * annotations, incident, context) with env's tools and observation recorder; fill out like
 * fs_playbook_run does (plan.playbook is "llm:<model>"). Returns 0 with out filled — a spent
 * budget or a model that never decides is an escalation, not an error — or:
 *   -FS_E_CONNECT / -FS_E_TIMEOUT / -FS_E_OVERLOADED / -FS_E_UNAUTHORIZED / -FS_E_NOT_FOUND /
 *   -FS_E_PROTOCOL   the model could not be used (before it decided anything); out is empty
 *   and the caller may fall back to the playbooks
 *   -FS_E_NOMEM, or what env->observe returned (the store is in trouble). */
int fs_llm_plan(const struct fs_llm_planner *p, const json_t *scope, const struct fs_plan_env *env,
                struct fs_plan_result *out, struct fs_llm_usage *usage, struct fs_err *err);

struct fs_config;
/* The model client of the configuration's llm.* keys and the planner over it (budgets and
 * prices from llm.*). *model is the caller's to free (fs_llm_free) after the planner's last
 * use. -FS_E_CONFIG when no model is configured or the configuration is incomplete. */
int fs_llm_planner_setup(const struct fs_config *cfg, const struct fs_catalog *cat,
                         const struct fs_playbooks *hints, struct fs_llm **model,
                         struct fs_llm_planner *p, struct fs_err *err);
/* Does an incident with these labels go to the LLM planner: a model is configured and
 * dispatch.planner is llm, or its alertname fully matches one of dispatch.llm_alerts. */
bool fs_llm_planner_wanted(const struct fs_config *cfg, const json_t *labels);

/* Is rc one of the errors above that mean the model could not be used (fall back)? */
bool fs_llm_plan_model_failed(int rc);

/* The three tools of the model's own, as tool definitions (name, description, input_schema). */
json_t *fs_llm_planner_tools(void);

#endif
