/* Approvals (architecture.md §6), as pure functions: roles and what each may do, the action
 * hash an approval is bound to, the checks before a person's approval is accepted, and the
 * checks right before an approved action may start. No I/O: service.c reads and writes the
 * store around them, the executor calls fs_approval_check_execution. */
#ifndef FS_APPROVAL_H
#define FS_APPROVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* X(ENUM, "name", "what it may do") — ordered by power; docs are generated from this. */
#define FS_ROLES(X)                                                                                \
    X(VIEWER, "viewer", "read incidents, proposals, controls and the audit trail")                 \
    X(AGENT, "agent",                                                                              \
      "viewer, plus submit proposals and record observations (planners, external agents)")         \
    X(APPROVER, "approver",                                                                        \
      "viewer, plus approve and reject proposals and turn the kill switch on")                     \
    X(OVERRIDER, "overrider", "approver, plus FORCE_OVERRIDE proposals that need it")              \
    X(ADMIN, "admin", "everything: also unfreeze, change modes, propose")

enum fs_role {
#define FS_ROLE_ENUM(e, name, doc) FS_ROLE_##e,
    FS_ROLES(FS_ROLE_ENUM)
#undef FS_ROLE_ENUM
        FS_ROLE__COUNT
};

enum fs_capability {
    FS_CAP_READ,
    FS_CAP_PROPOSE, /* submit proposals, record observations */
    FS_CAP_APPROVE, /* approve, reject */
    FS_CAP_OVERRIDE,
    FS_CAP_FREEZE,
    FS_CAP_UNFREEZE,
    FS_CAP_MODE,
};

const char *fs_role_name(enum fs_role r);
int fs_role_parse(const char *s, enum fs_role *out);
bool fs_role_can(enum fs_role r, enum fs_capability cap);
const char *fs_role_doc(enum fs_role r);

/* Who is asking: the token's identity, or (no auth configured, loopback only) the name the
 * caller gives, with admin rights. */
struct fs_identity {
    const char *name;
    enum fs_role role;
    bool authenticated; /* false: no tokens configured; name is the caller's claim */
};

/* action_hash = hex SHA-256 of the canonical JSON of {catalog_version, action, params,
 * target, policy_version, incident, expires_at, proposal}. params and target as resolved by
 * forestall (defaults filled, paths normalised); incident may be NULL; proposal is the
 * proposal's random key, so that the same action proposed twice in the same millisecond still
 * gets two hashes and an approval of one can never pass for the other. */
int fs_action_hash(const char *catalog_version, const char *action, const json_t *params,
                   const json_t *target, const char *policy_version, const char *incident,
                   int64_t expires_at, const char *proposal, char out[65]);

/* The hash of a stored proposal (its body holds action, params, target, incident) under the
 * given catalog and policy versions. */
int fs_proposal_row_hash(const struct fs_proposal_row *p, const char *catalog_version,
                         const char *policy_version, char out[65], struct fs_err *err);

/* May `who` approve (force = FORCE_OVERRIDE) proposal p now? current_hash is the proposal's hash
 * under the catalog and policy in force now. Returns 0, or an error whose message says why:
 * FORBIDDEN (role), NOT_PENDING, EXPIRED, SELF_APPROVAL, FORCE_REQUIRED, STALE. */
int fs_approval_authorize(const struct fs_proposal_row *p, const struct fs_identity *who,
                          bool force, const char *current_hash, int64_t now, struct fs_err *err);
/* May `who` reject p now? FORBIDDEN or NOT_PENDING. (A proposer may withdraw its own.) */
int fs_rejection_authorize(const struct fs_proposal_row *p, const struct fs_identity *who,
                           struct fs_err *err);

/* Right before an approved action starts: the approval belongs to this proposal, is an
 * approval (force_override where the gate demanded it), was not given by the proposer, has
 * not been used, has not expired, and recomputed_hash (the proposal's hash under the catalog
 * and policy in force now) equals the hash the approver saw. A proposal the gate allowed to
 * execute on its own needs no approval row (a == NULL) but still its stored hash must match. */
int fs_approval_check_execution(const struct fs_proposal_row *p, const struct fs_approval_row *a,
                                const char *recomputed_hash, int64_t now, struct fs_err *err);

#endif
