/* fuzz_proposal: libFuzzer target for the proposal parser and the gate. Any bytes must give
 * either a proposal the gate decides without failing (a rule in 1..13 with the decision that
 * rule gives, scores in 0..100, every verdict explained, JSON and text output) or an error
 * whose message starts with the path it names — never a crash, a leak or undefined behaviour.
 * The default policy and catalog are loaded once. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "safety/catalog.h"
#include "safety/gate.h"
#include "safety/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_policy *policy;
static struct fs_catalog *catalog;

static void check(const struct fs_proposal *in, const struct fs_gate_result *r)
{
    static const enum fs_decision by_rule[FS_GATE_RULES] = {
        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,
        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,
        FS_DEC_BLOCKED,        FS_DEC_SHADOW,         FS_DEC_NEEDS_FORCE_OVERRIDE,
        FS_DEC_NEEDS_APPROVAL, FS_DEC_NEEDS_APPROVAL, FS_DEC_NEEDS_APPROVAL,
        FS_DEC_EXECUTE};
    if (r->rule < 1 || r->rule > FS_GATE_RULES || r->decision != by_rule[r->rule - 1])
        abort();
    if (r->score < 0 || r->score > 100 || r->incident_score < 0 || r->incident_score > 100)
        abort();
    if (r->level != fs_policy_level(policy, r->score) ||
        r->incident_level != fs_policy_level(policy, r->incident_score))
        abort();
    for (int i = 0; i < FS_GATE_RULES; i++) {
        /* the deciding rule is the first that matched */
        if (r->rules[i].rule != i + 1 || !r->rules[i].detail[0] ||
            (i + 1 < r->rule && r->rules[i].matched) || (i + 1 == r->rule && !r->rules[i].matched))
            abort();
    }
    if (in->context.frozen && r->rule != 1)
        abort();
    if (!r->action && r->rule > 2)
        abort(); /* an unknown action never gets past rule 2 */
    json_t *j = fs_gate_result_json(r, policy, catalog);
    if (!j)
        abort();
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s)
        abort();
    free(s);
    json_decref(j);
    struct fs_buf b = FS_BUF_INIT(0);
    if (fs_gate_result_text(r, policy, &b) < 0)
        abort();
    fs_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fs_err err;
    if (!policy && (fs_policy_load(NULL, &policy, NULL, &err) < 0 ||
                    fs_catalog_load(NULL, &catalog, NULL, &err) < 0))
        abort();
    struct fs_proposal in;
    int rc = fs_proposal_parse((const char *)data, size, &in, &err);
    if (rc < 0) {
        if (rc != -(int)err.code || !err.msg[0] || in.root)
            abort();
        if (err.path[0] && strncmp(err.msg, err.path, strlen(err.path)) != 0)
            abort();
        return 0;
    }
    if (!in.root || !in.action || !json_is_object(in.params) || !json_is_object(in.target) ||
        !in.incident.severity)
        abort();
    struct fs_gate_result r;
    fs_gate_decide(policy, catalog, &in, &r);
    check(&in, &r);
    fs_proposal_release(&in);
    return 0;
}
