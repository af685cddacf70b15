/* The playbook planner: machine-readable runbooks (YAML, docs/playbooks.md). A playbook matches
 * an incident by its alert labels, then runs steps in order: call a read-only tool, compute
 * values from what it returned, branch on conditions, and end in a proposal (a catalog action
 * with params, a rationale and the observations it rests on), an escalation with a summary for
 * a person, or "nothing to do". The built-in playbooks (etc/playbooks/NAME.yaml) are embedded in
 * the binary; an operator directory is read over them (same name replaces).
 *
 * The planner decides nothing about safety: its proposal goes through the gate like any other.
 * It only ever names catalog actions and fills their params from templates over evidence.
 *
 * Thread safety: a loaded set is immutable and may be run by any number of threads at once. */
#ifndef FS_PLAYBOOK_H
#define FS_PLAYBOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "tools/registry.h"

#define FS_PLAYBOOK_MAX_STEPS 200 /* steps in one playbook */

struct fs_playbooks;
struct fs_catalog;

/* Load the embedded playbooks, then every *.yaml in dir (may be NULL) over them. Tool names are
 * checked against reg and action names against catalog when they are given (NULL: not
 * checked). Every problem goes to diag as "file:line: path: message"; err gets the first. */
int fs_playbooks_load(const char *dir, const struct fs_registry *reg,
                      const struct fs_catalog *catalog, struct fs_playbooks **out,
                      struct fs_buf *diag, struct fs_err *err);
/* One playbook document from bytes, over base (may be NULL), for tests and `playbook check`. */
int fs_playbooks_load_buf(const char *buf, size_t len, const char *name,
                          const struct fs_registry *reg, const struct fs_catalog *catalog,
                          struct fs_playbooks **out, struct fs_buf *diag, struct fs_err *err);
void fs_playbooks_free(struct fs_playbooks *p);
size_t fs_playbooks_count(const struct fs_playbooks *p);
/* {"name", "title", "description", "priority", "match", "source", "steps"} of playbook i. */
json_t *fs_playbook_json(const struct fs_playbooks *p, size_t i);

/* What the planner reports as it goes (the live trace). kind is "reasoning", "call",
 * "result", "decision"; data may be NULL. */
typedef void (*fs_trace_fn)(void *arg, const char *kind, const char *text, const json_t *data);

/* Where a playbook's tool calls go and what becomes of them. */
struct fs_plan_env {
    const struct fs_registry *tools;
    const struct fs_tool_ctx *ctx; /* routed to the incident's host */
    int max_steps;                 /* tool calls; 0 = 40 */
    int64_t deadline_ms;           /* wall clock (fs_now_ms) after which it escalates; 0 = none */
    /* Record one tool call as an observation; fill obs_id ("obs-N"). Non-zero: the store is in
     * trouble; the run stops with that error. May be NULL (ids are then "local-N"). */
    int (*observe)(void *arg, const char *tool, const json_t *args, const struct fs_tool_result *r,
                   char obs_id[32], struct fs_err *err);
    fs_trace_fn trace; /* may be NULL */
    void *arg;
};

enum fs_plan_outcome { FS_PLAN_PROPOSE, FS_PLAN_ESCALATE, FS_PLAN_NO_ACTION };
const char *fs_plan_outcome_name(enum fs_plan_outcome o);

struct fs_plan_result {
    enum fs_plan_outcome outcome;
    char playbook[128];
    int steps;            /* tool calls made */
    json_t *proposal;     /* PROPOSE: {action, params, target, rationale, confidence,
                             evidence:{cited:[obs ids]}} */
    char *summary;        /* what was found, for a person */
    char *root_cause;     /* short label, e.g. "journal_bloat" */
    json_t *followups;    /* array of strings: the permanent fix */
    json_t *forecast;     /* the last forecast a step produced (its structured result), or NULL */
    json_t *reasoning;    /* array of the reasoning lines, in order */
    json_t *observations; /* array of {id, tool} in order */
};
void fs_plan_result_release(struct fs_plan_result *r);

/* The playbook that matches the incident (highest priority, then name), or NULL. incident is
 * the scope's "alert" object: {"labels", "annotations", "severity", ...}. */
const char *fs_playbooks_match(const struct fs_playbooks *p, const json_t *labels);

/* Run the matching playbook (or the named one) over scope — an object with at least
 * "labels", "annotations", "incident", "target" and optionally "context" — and fill out.
 * Budgets (steps, deadline) end the run in an escalation that says which budget ran out. A tool
 * that fails makes its step's `ok` false; a step that is not `optional` then escalates with
 * the tool's message. Returns <0 only when the run could not happen (out of memory, observe
 * failed); an escalation is a normal result. */
int fs_playbook_run(const struct fs_playbooks *p, const char *name, const json_t *scope,
                    const struct fs_plan_env *env, struct fs_plan_result *out, struct fs_err *err);

#endif
