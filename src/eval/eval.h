/* `forestall eval DIR` (docs/scenarios.md): every scenario of a directory run through the
 * production pipeline — intake, incident, investigation by the chosen planner, the gate, the
 * executor with verification, the post-mortem — against its simulated world, each in a scratch
 * store of its own; then judged against its expectation and summed up in a scorecard. */
#ifndef FS_EVAL_H
#define FS_EVAL_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"

struct fs_eval_opts {
    const char *dir;           /* scenarios: every *.yaml, sorted */
    const char *planner;       /* eval/planners.h; NULL = "playbook" */
    const char *config_file;   /* NULL = the embedded configuration */
    const char *policy_file;   /* NULL = the configuration's (or the embedded) policy */
    const char *catalog_file;  /* NULL = the configuration's operator catalog, if any */
    const char *playbooks_dir; /* NULL = the configuration's (or the embedded) playbooks */
    const char *work_dir;      /* scratch stores go below it; NULL = a new directory in /tmp */
    const char *only;          /* run only scenarios whose file name contains this; NULL = all */
    bool verbose;              /* a line per scenario, passed or not, and the trace of failures */
};

struct fs_catalog;

/* Parse and check one scenario (len bytes named name) without running it: 0, or
 * -FS_E_INVALID with every problem in diag ("name:line: key: message", one per line),
 * -FS_E_NOMEM. Action names are checked against cat. The fuzz target's entry point. */
int fs_eval_scenario_check(const char *buf, size_t len, const char *name,
                           const struct fs_catalog *cat, struct fs_buf *diag, struct fs_err *err);

/* Run the scenarios. *report = {"summary":{...}, "scenarios":[...]} (docs/scenarios.md,
 * "Scorecard"); text gets the scorecard for people. Returns <0 only when the run could not
 * happen (no such directory, a broken configuration, policy or playbook, out of memory): a
 * scenario that does not load is a failed scenario with its problems listed. */
int fs_eval_run(const struct fs_eval_opts *o, json_t **report, struct fs_buf *text,
                struct fs_err *err);

#endif
