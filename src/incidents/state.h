/* The handling state machine of an incident (docs/engine.md): what forestall is doing about it,
 * as opposed to its status (open/resolved), which is what the alerts say.
 *
 *   new → investigating → proposed → awaiting_approval → executing → verifying → resolved
 *                │            │             │               │            └──────→ escalated
 *                │            │             └→ escalated    └→ escalated
 *                │            ├→ executing, shadowed, blocked, escalated
 *                └→ escalated, no_action
 *   any ending state → investigating (the incident reopened or was handed back)
 *
 * Every move writes the new state, a timeline entry and an audit record in the caller's
 * transaction; an illegal move is refused (a bug in the caller), never silently applied. */
#ifndef FS_INCIDENT_STATE_H
#define FS_INCIDENT_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

#define FS_INCIDENT_STATES(X)                                                                      \
    X(NEW, "new", "recorded, not yet picked up")                                                   \
    X(INVESTIGATING, "investigating", "a planner is gathering evidence")                           \
    X(PROPOSED, "proposed", "a remediation was proposed and sent through the gate")                \
    X(AWAITING_APPROVAL, "awaiting_approval", "the gate asked for a person's approval")            \
    X(EXECUTING, "executing", "the executor is running the action")                                \
    X(VERIFYING, "verifying", "the action ran; its verification probe is being checked")           \
    X(RESOLVED, "resolved", "remediated and verified")                                             \
    X(ESCALATED, "escalated", "handed to a person, with a summary")                                \
    X(NO_ACTION, "no_action", "the evidence shows nothing to do")                                  \
    X(SHADOWED, "shadowed", "shadow mode: the decision was recorded, nothing ran")                 \
    X(BLOCKED, "blocked", "the gate refused the proposal; nothing ran")

enum fs_incident_state {
#define FS_ISTATE_ENUM(e, name, doc) FS_ISTATE_##e,
    FS_INCIDENT_STATES(FS_ISTATE_ENUM)
#undef FS_ISTATE_ENUM
        FS_ISTATE__COUNT
};

const char *fs_incident_state_name(enum fs_incident_state s);
int fs_incident_state_parse(const char *name, enum fs_incident_state *out);
/* Does handling end in this state (until the incident reopens)? */
bool fs_incident_state_final(enum fs_incident_state s);
bool fs_incident_transition_allowed(enum fs_incident_state from, enum fs_incident_state to);

/* Move incident id to `to` (writer thread, open transaction). detail (may be NULL) is an object
 * merged into the timeline entry and the audit record ({"from", "to", "actor", ...detail}).
 * Errors: -FS_E_NOT_FOUND, -FS_E_INVALID for a move the machine does not allow (err says which),
 * or the store's error. Moving to the current state is a no-op returning 0. */
int fs_incident_transition(struct fs_store *s, int64_t id, enum fs_incident_state to,
                           const char *actor, const json_t *detail, int64_t now,
                           struct fs_err *err);

/* docs/engine.md's state table. */
int fs_incident_states_doc_markdown(struct fs_buf *b);

#endif
