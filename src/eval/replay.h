/* Shadow replay (docs/replay.md): re-run recorded investigations under other rules or another
 * planner and say what would have changed. For every investigation in a time range, what was
 * recorded in the store (the incident's alerts, the tool calls and their results, the proposal
 * and the gate's decision) is played again: the incident is re-created in a scratch store of its
 * own, the production investigation (planner/investigate.h) runs there against the recorded tool
 * results — a call that was not recorded gets an error result and marks the replay diverged; no
 * tool ever runs — and its proposal goes through the production gate (safety/service.h) under
 * the new rules, as of the original decision's time. The real store is only read; nothing
 * executes; the scratch store is removed afterwards.
 *
 * fs_replay_compare is the pure part (tests/unit/test_replay.c): what differs between a
 * recorded and a replayed investigation, and the one verdict that names it. */
#ifndef FS_EVAL_REPLAY_H
#define FS_EVAL_REPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "eval/planners.h"
#include "planner/investigate.h"
#include "store/store.h"
#include "tools/registry.h"

/* ---- verdicts ------------------------------------------------------------------------------ */

/* X(ENUM, "name", "one", "many") — in precedence order, highest first: an investigation that
 * diverged proves nothing about the rest; a different outcome explains a different action,
 * which explains different params, which explain a different decision. */
#define FS_REPLAY_VERDICTS(X)                                                                      \
    X(DIVERGED, "diverged", "diverged", "diverged")                                                \
    X(OUTCOME_CHANGED, "outcome_changed", "outcome changed", "outcomes changed")                   \
    X(ACTION_CHANGED, "action_changed", "action changed", "actions changed")                       \
    X(PARAMS_CHANGED, "params_changed", "params changed", "params changed")                        \
    X(DECISION_FLIPPED, "decision_flipped", "decision flipped", "decisions flipped")               \
    X(SAME, "same", "same", "same")

enum fs_replay_verdict {
#define FS_RV_ENUM(e, name, one, many) FS_RV_##e,
    FS_REPLAY_VERDICTS(FS_RV_ENUM)
#undef FS_RV_ENUM
        FS_RV__COUNT
};
const char *fs_replay_verdict_name(enum fs_replay_verdict v);
/* "decision flipped" (n == 1) or "decisions flipped". */
const char *fs_replay_verdict_label(enum fs_replay_verdict v, int64_t n);

/* What one side concluded. Strings are "" when there is nothing (no proposal, no decision). */
struct fs_replay_side {
    char outcome[24]; /* the investigation's status: proposed | escalated | no_action | failed */
    char action[128]; /* the proposal's catalog action */
    const json_t *params; /* the proposal's params as stored (normalised); borrowed, may be NULL */
    char decision[32];    /* the gate's decision: execute | needs_approval | ... */
    int risk_score;       /* -1 without a decision */
};

/* What differs, as bits; FS_RC_RISK alone leaves the verdict `same` (reported, not a change of
 * what happens). */
enum {
    FS_RC_OUTCOME = 1 << 0,
    FS_RC_ACTION = 1 << 1,
    FS_RC_PARAMS = 1 << 2,
    FS_RC_DECISION = 1 << 3,
    FS_RC_RISK = 1 << 4,
};

/* Compare; *changes (may be NULL) gets the FS_RC_* bits. Params are compared as JSON values
 * (object key order does not matter). */
enum fs_replay_verdict fs_replay_compare(const struct fs_replay_side *recorded,
                                         const struct fs_replay_side *replayed, bool diverged,
                                         unsigned *changes);
/* The FS_RC_* bits as an array of names: ["outcome", "action", "params", "decision", "risk"]. */
json_t *fs_replay_changes_json(unsigned changes);

/* ---- the run -------------------------------------------------------------------------------- */

struct fs_replay_opts {
    struct fs_store *store;       /* the recorded store: only read */
    const struct fs_config *cfg;  /* incident grouping, routing, dispatch budgets, defaults */
    const struct fs_rules *rules; /* the rules to replay under */
    const struct fs_eval_planner *planner; /* eval/planners.h */
    const char *playbooks_dir;             /* the playbook planner's operator directory, or NULL */
    int64_t since_ms, until_ms;            /* investigations that started in [since, until) */
    int limit;                             /* at most this many (the latest); 0 = all */
    const char *scratch_dir;               /* where the scratch stores go (a fresh directory is made
                                              below it and removed); NULL = $TMPDIR or /tmp */
};

/* Replay and fill *report (caller json_decref's):
 *   {"summary": {"since", "until", "planner", "policy", "catalog", "replayed", "skipped",
 *                "same", "decision_flipped", ...every verdict..., "risk_changed"},
 *    "incidents": [{"incident", "investigation", "startedAt", "verdict", "changes",
 *                   "recorded": {outcome, playbook, action, params, decision, risk, proposal,
 *                                policyVersion, state},
 *                   "replayed": {...the same...},
 *                   "unrecorded": [{tool, args}], "textOnly": n, "notes": [...]}]}
 * Incidents are in the order their investigations started. Returns <0 only when the run could
 * not happen (the store cannot be read, the scratch store cannot be made); an investigation
 * that cannot be replayed is reported with a note and counted as skipped. */
int fs_replay_run(const struct fs_replay_opts *o, json_t **report, struct fs_err *err);

#endif
