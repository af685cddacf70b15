/* The gate: a pure, deterministic function from (policy, catalog, proposal) to a decision,
 * with the risk score, the incident risk, every score contribution and the verdict of every
 * rule, so that an operator can see exactly why. No I/O, no clock, no LLM, no global state:
 * the same input gives the same output, in any thread. architecture.md §5 is the spec.
 *
 * The proposal is the gate's whole input (docs/proposals.md): what to do (action, params,
 * target), the incident it is for, the evidence, the context (blast radius, freeze, mode,
 * history) and `now`. In the daemon the incident, evidence trace and context are filled from
 * the store and the knowledge graph, never taken from the proposer. */
#ifndef FS_GATE_H
#define FS_GATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "safety/catalog.h"
#include "safety/policy.h"

struct fs_strs {
    const char **v; /* borrowed from the proposal's JSON */
    size_t n;
};

struct fs_proposal {
    json_t *root;         /* the parsed document; every pointer below borrows from it */
    const char *id;       /* optional */
    const char *key;      /* optional: forestall's per-proposal key (binds approvals) */
    const char *proposer; /* optional */
    const char *action;
    const json_t *params; /* object (an empty one when absent) */
    const json_t *target; /* object */
    struct {
        const char *host, *service, *env, *resource_class, *namespace, *workload;
    } t;
    struct {
        const char *id, *severity;
        const json_t *labels;
        struct fs_strs hosts, services, workloads; /* scope */
    } incident;
    struct {
        struct fs_strs cited, trace, contradicting;
    } evidence;
    struct {
        int64_t dependents;
        bool change_freeze;
        bool frozen;
        bool has_mode;
        enum fs_mode mode;
        int64_t failures_24h;
        int64_t executions_1h;
    } context;
    int64_t now_ms;
    const char *rationale; /* optional */
};

/* Parse a proposal document. Structural problems (not an object, action not a string, unknown
 * top-level or nested keys, a list that is not a list of strings, a bad `now`) are
 * -FS_E_INVALID_PAYLOAD with err.path naming the field. Whether the action exists and the
 * params fit its schema is not checked here: that is the gate's rule 2 (blocked, explained). */
int fs_proposal_parse(const char *buf, size_t len, struct fs_proposal *out, struct fs_err *err);
/* The same from a value (takes a new reference to v). */
int fs_proposal_from_json(json_t *v, struct fs_proposal *out, struct fs_err *err);
void fs_proposal_release(struct fs_proposal *p);

enum fs_decision {
    FS_DEC_EXECUTE,
    FS_DEC_NEEDS_APPROVAL,
    FS_DEC_NEEDS_FORCE_OVERRIDE,
    FS_DEC_BLOCKED,
    FS_DEC_SHADOW,
};

struct fs_contribution {
    const char *factor; /* "baseline", "production", "dependents", "critical", "irreversible",
                           "recent_failure"; incident risk: "resource_class", "severity",
                           "dependents" */
    int points;         /* 0 when the factor did not apply */
    char detail[160];
};

#define FS_GATE_RULES 13
#define FS_GATE_CONTRIBUTIONS 6
#define FS_GATE_INCIDENT_CONTRIBUTIONS 3

struct fs_rule_verdict {
    int rule;         /* 1..13 */
    const char *name; /* "kill_switch", "invalid_proposal", "forbidden_pattern", "policy_deny",
                         "change_freeze", "evidence", "rate_limit", "shadow_mode",
                         "critical_severity", "approval_required", "score_threshold",
                         "supervised_mode", "default_execute" */
    bool matched;
    char detail[256]; /* why it matched, or why not */
};

struct fs_gate_result {
    enum fs_decision decision;
    int rule; /* the deciding rule (1..13) */
    int score;
    enum fs_level level;
    struct fs_contribution contrib[FS_GATE_CONTRIBUTIONS];
    int incident_score;
    enum fs_level incident_level;
    struct fs_contribution incident_contrib[FS_GATE_INCIDENT_CONTRIBUTIONS];
    struct fs_rule_verdict rules[FS_GATE_RULES]; /* every rule, in order */
    enum fs_mode mode;
    char mode_source[96];           /* "context", "policy modes[0] (line 7)", "policy default" */
    const struct fs_action *action; /* NULL when the action is unknown */
};

/* Decide. Never fails: every problem with the proposal is a rule verdict. Allocation-free. */
void fs_gate_decide(const struct fs_policy *p, const struct fs_catalog *c,
                    const struct fs_proposal *in, struct fs_gate_result *out);

/* {"decision","rule","risk":{"score","level","contributions"},"incident_risk":{...},
 *  "reasons":[matched rules' details, deciding rule first],"rules":[...],"mode":{...},
 *  "policy_version","catalog_version"}. New reference. */
json_t *fs_gate_result_json(const struct fs_gate_result *r, const struct fs_policy *p,
                            const struct fs_catalog *c);
/* The same for people: decision, score, level, contributions, reasons. */
int fs_gate_result_text(const struct fs_gate_result *r, const struct fs_policy *p,
                        struct fs_buf *b);

const char *fs_decision_name(enum fs_decision d); /* "execute", "needs_approval", ... */
int fs_decision_parse(const char *s, enum fs_decision *out);

#endif
