/* The planners an evaluation (`forestall eval`) or a shadow replay (`forestall replay`) can
 * run, by name: one table both share, so a planner added here (an LLM planner, an external
 * runner) is scored and replayed the same way. open loads what the planner needs once per run
 * (checking tool names against reg and action names against cat), investigate runs one
 * investigation with io already filled (writer, config, rules, tools, time), close frees what
 * open made. */
#ifndef FS_EVAL_PLANNERS_H
#define FS_EVAL_PLANNERS_H

#include "core/buf.h"
#include "core/err.h"
#include "planner/investigate.h"

struct fs_catalog;
struct fs_config;
struct fs_registry;

struct fs_eval_planner {
    const char *name;
    const char *summary;
    int (*open)(const struct fs_config *cfg, const char *playbooks_dir,
                const struct fs_registry *reg, const struct fs_catalog *cat, void **state,
                struct fs_buf *diag, struct fs_err *err);
    int (*investigate)(void *state, struct fs_investigation_opts *io, int64_t incident_id,
                       struct fs_investigation_outcome *out, struct fs_err *err);
    void (*close)(void *state);
};

extern const struct fs_eval_planner fs_eval_planners[]; /* ends with a NULL name */
/* The planner called name, or NULL (name NULL = the default, "playbook"). */
const struct fs_eval_planner *fs_eval_planner_find(const char *name);
/* "playbook" or "a, b": the names, for a usage message. Appends to b. */
void fs_eval_planner_names(struct fs_buf *b);

#endif
