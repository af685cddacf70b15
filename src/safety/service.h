/* The safety service: what the daemon does with proposals, approvals, the kill switch and
 * runtime modes. It builds the gate's input from the store (incident, scope, evidence trace,
 * freeze, modes, execution history) — never from the proposer — runs the gate, and records
 * every change together with its audit record in the caller's transaction.
 *
 * Every operation runs on the writer thread inside an open store transaction (intake wraps
 * them in CALL jobs). Returning <0 means the store is in trouble: roll back. Business outcomes
 * (refused approval, invalid request) are in q->rc / q->err with 0 returned, so that a refusal
 * and its audit record are committed. */
#ifndef FS_SAFETY_SERVICE_H
#define FS_SAFETY_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "safety/approval.h"
#include "safety/catalog.h"
#include "safety/policy.h"
#include "store/store.h"

/* The policy, catalog and knowledge graph in force, swapped together on reload. */
struct fs_rules {
    struct fs_policy *policy;
    struct fs_catalog *catalog;
    struct fs_graph *graph; /* never NULL: an empty graph when none is configured */
    int refs;               /* owned by service.c */
};

/* Load the policy (NULL = embedded default), the catalog (embedded + optional operator file)
 * and the knowledge graph (NULL = empty). diag gets every problem, "file:line: key: message". */
int fs_rules_load(const char *policy_file, const char *catalog_file, const char *graph_file,
                  struct fs_rules **out, struct fs_buf *diag, struct fs_err *err);
void fs_rules_install(struct fs_rules *r); /* takes ownership; replaces the current rules */
struct fs_rules *fs_rules_acquire(void);   /* NULL before the first install */
void fs_rules_release(struct fs_rules *r);

/* What forestall assumes about a target the knowledge graph does not describe. */
struct fs_safety_defaults {
    const char *env;            /* safety.default_env ("production": assume the worst) */
    const char *resource_class; /* safety.default_resource_class */
};

struct fs_safety_request {
    /* in */
    const struct fs_identity *who;
    const struct fs_rules *rules;
    struct fs_safety_defaults defaults;
    int64_t now;
    const json_t *body; /* request body (borrowed): propose, mode, observe */
    int64_t id;         /* approve, reject, begin_execution: proposal id */
    bool force;         /* approve: FORCE_OVERRIDE */
    const char *reason; /* reject (required), freeze (required), approve comment, unfreeze */
    /* approve, reject: where the person decided — "api" (NULL), "cli", "console", "slack", ...;
     * recorded in the audit record with who decided */
    const char *channel;
    /* out */
    json_t *result; /* answer (new reference) when rc == 0 */
    int rc;         /* 0, or the refusal */
    struct fs_err err;
};
void fs_safety_request_reset(struct fs_safety_request *q); /* drop result, clear rc/err */

int fs_safety_propose(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
int fs_safety_approve(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
int fs_safety_reject(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
int fs_safety_freeze(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
int fs_safety_unfreeze(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
/* body: {"mode": "shadow|supervised|autonomous" or null to clear, "service", "env", "reason"} */
int fs_safety_set_mode(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
/* body: {"incident": "inc-N", "tool", "input", "output", "durationMs"} */
int fs_safety_observe(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
/* The last checks before an approved proposal runs (the executor calls it in the transaction
 * that records its intent): kill switch off, approval bound to exactly this proposal's current
 * hash, unexpired, not self-given, not used before. Consumes the approval, records the
 * execution as running and audits the intent. result: {"execution": id, "proposal": "prop-N"}. */
int fs_safety_begin_execution(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);

/* The policy in force against the one the store last recorded (control "policy"): when its
 * version or hash differs, append a `policy` audit record — old and new version, hash and
 * source, the top-level keys that changed, and {"from","to"} of the global `mode` and of the
 * `modes` list when they changed — and remember p, in the caller's transaction. The first
 * policy a store sees is remembered without a record. actor: "system:sighup", "system:start".
 * *recorded (may be NULL): whether a record was appended. */
int fs_safety_policy_sync(struct fs_store *s, const struct fs_policy *p, const char *actor,
                          int64_t now, bool *recorded, struct fs_err *err);

/* Housekeeping: expire pending proposals whose approval window closed. *n = how many. */
int fs_safety_expire(struct fs_store *s, int64_t now, int *n, struct fs_err *err);

/* Read side (any thread): {"frozen", "freeze", "modes": [...], "policy": {...},
 * "catalog": {...}}. */
int fs_safety_controls(struct fs_store *s, const struct fs_rules *rules, json_t **out,
                       struct fs_err *err);

/* "inc-12" or "12" → 12; prefix is "inc", "prop", "obs", ... Returns -FS_E_INVALID. */
int fs_parse_id(const char *s, const char *prefix, int64_t *out);

#endif
