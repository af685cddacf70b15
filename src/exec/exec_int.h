/* Private parts of the executor shared by exec.c (the steps of one run), probe.c (the read-only
 * checks) and resume.c (continuing what a crash interrupted). */
#ifndef FS_EXEC_INT_H
#define FS_EXEC_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "exec/exec.h"

/* ---- probes (probe.c) --------------------------------------------------------------------- */

struct fs_probe_outcome {
    bool ok;          /* expect held */
    bool ran;         /* the tool ran (ok or not) */
    char tool[160];   /* "host.file_stat" */
    char expect[512]; /* the expression */
    char why[512];    /* when !ok: what failed */
    json_t *observed; /* owned: the tool's structured result when small, or NULL */
};
/* Run one probe ({probe, args, expect}) for params and target on host ("" or NULL = here).
 * Returns 0 with o->ok saying whether it passed (a probe that cannot run fails), or <0 only
 * when memory ran out. Release o with fs_probe_outcome_release. */
int fs_exec_probe(const struct fs_exec_env *x, const json_t *probe, const json_t *params,
                  const json_t *target, const char *host, struct fs_probe_outcome *o,
                  struct fs_err *err);
void fs_probe_outcome_release(struct fs_probe_outcome *o);
/* {probe, expect, passed, why?, observed?} — new reference or NULL. */
json_t *fs_probe_outcome_json(const struct fs_probe_outcome *o);

/* ---- one execution in progress (exec.c) --------------------------------------------------- */

/* Step names of the log (exec_steps.state). */
#define FS_STEP_INTENT "intent"
#define FS_STEP_STARTED "started"
#define FS_STEP_RESULT "result"
#define FS_STEP_VERIFIED "verified"
#define FS_STEP_ROLLBACK_STARTED "rollback_started"
#define FS_STEP_ROLLED_BACK "rolled_back"
#define FS_STEP_ROLLBACK_SKIPPED "rollback_skipped" /* frozen: committed with "escalated" */
#define FS_STEP_ESCALATED "escalated"
#define FS_STEP_REFUSED "refused"

struct fs_exec_run {
    const struct fs_exec_env *x;
    struct fs_exec_report *rep;
    int64_t proposal_id, execution_id, incident_id;
    char action_name[128];
    const struct fs_action *a; /* NULL when the catalog in force no longer has it */
    char *target_key;          /* owned */
    json_t *params, *target;   /* owned */
    json_t *argv;              /* owned: what runs */
    enum fs_target_kind kind;
    char host[256];  /* routed host, "" = this machine */
    int attempts;    /* started steps so far */
    char label[200]; /* "exec-3 prop-2 journal_vacuum" */
    /* opened for an mcp target when x->mcp is NULL (owned) */
    struct fs_mcp_hub *own_hub;
};
void fs_exec_run_release(struct fs_exec_run *r);
void fs_exec_run_label(struct fs_exec_run *r);
void fs_exec_say(const struct fs_exec_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The steps from "started" on; each returns <0 only for store or memory failures and leaves
 * r->rep saying what happened. */
int fs_exec_start_and_run(struct fs_exec_run *r, bool resumed);
int fs_exec_after_result(struct fs_exec_run *r, bool ok, bool spawned, const char *why);
int fs_exec_verify(struct fs_exec_run *r);
int fs_exec_probe_decides(struct fs_exec_run *r);
/* Roll back after a failure: rb_argv (may be NULL: render it now) is what a resumed rollback
 * runs again. */
int fs_exec_rollback(struct fs_exec_run *r, const char *reason, const char *rb_action,
                     const json_t *rb_argv, bool resumed);
int fs_exec_rollback_probe_decides(struct fs_exec_run *r, const char *reason,
                                   const char *rb_action);
int fs_exec_escalate(struct fs_exec_run *r, const char *reason, const char *outcome);
/* The bookkeeping after a terminal step: the execution's outcome, the incident's state, the
 * finished hook. */
int fs_exec_conclude(struct fs_exec_run *r, const char *outcome, const char *reason);
/* Is the kill switch on? (a read in a writer transaction) */
int fs_exec_frozen(const struct fs_exec_env *x, bool *frozen, struct fs_err *err);

/* An mcp target's request ({server, tool, arguments} as rendered) made final: the server's
 * tool_mappings applied and the tool's pin checked through the hub (opening the server).
 * 1 ready (*req replaced), 0 refused (why says why; nothing ran), <0 out of memory. */
int fs_exec_mcp_prepare(struct fs_exec_run *r, const char *action, json_t **req, char *why,
                        size_t why_size, struct fs_err *err);

/* A NULL-terminated array of the strings of a JSON array (borrowed); NULL when one is not a
 * string or memory ran out. Caller frees the array only. */
const char **fs_exec_cstrings(const json_t *arr);

#endif
