/* `forestall policy test DIR`: table cases for the gate, like `opa test`. Each *.yaml file in
 * DIR holds `cases:`, each a proposal (docs/proposals.md) and what the gate must say about it:
 *
 *   cases:
 *     - name: journal vacuum on a staging host runs on its own
 *       proposal: {action: journal_vacuum, params: {max_size: 1G}, ...}
 *       expect: {decision: execute, level: LOW, score: 5, rule: 13}
 *
 * expect keys: decision (required), score, level, rule, incident_score, incident_level,
 * reasons_include (list of substrings that must appear among the matched rules' details).
 * Used by operators for their own policies and by forestall's own test suite (tests/cases). */
#ifndef FS_POLICYTEST_H
#define FS_POLICYTEST_H

#include "core/buf.h"
#include "core/err.h"
#include "safety/catalog.h"
#include "safety/policy.h"

struct fs_policy_test_report {
    int files, cases, passed, failed;
};

/* Run every case of every *.yaml file in dir (sorted by name) against p and c. out gets one
 * line per failed case ("file:line: name: expected decision execute, got blocked (rule 6: ...)")
 * and, when verbose, one per passed case. Returns 0 when the files could be read and parsed
 * (whether or not cases failed: see rep), or an error naming file, line and key. */
int fs_policy_test_dir(const char *dir, const struct fs_policy *p, const struct fs_catalog *c,
                       bool verbose, struct fs_buf *out, struct fs_policy_test_report *rep,
                       struct fs_err *err);

#endif
