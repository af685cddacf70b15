/* `forestall playbook test DIR`: the playbooks run against recorded tool results, each case
 * checked for its expected outcome, action, params and root cause (docs/playbooks.md). */
#ifndef FS_PLAYBOOKTEST_H
#define FS_PLAYBOOKTEST_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"
#include "planner/playbook.h"

struct fs_catalog;

/* Run every *.yaml case of dir (sorted). One line per failed case (and per passed one when
 * verbose) goes to report. Returns <0 only when dir cannot be read. */
int fs_playbook_test_dir(const struct fs_playbooks *pbs, const struct fs_catalog *cat,
                         const char *dir, bool verbose, struct fs_buf *report, int *cases,
                         int *failures, struct fs_err *err);
/* The same, and one record per case appended to results (an array; may be NULL): {"file",
 * "name", "ok", "outcome", "action", "playbook", "root_cause", "params", "summary", "error"}
 * (error: why it failed; members the run did not reach are null). */
int fs_playbook_test_run(const struct fs_playbooks *pbs, const struct fs_catalog *cat,
                         const char *dir, bool verbose, struct fs_buf *report, json_t *results,
                         int *cases, int *failures, struct fs_err *err);

#endif
