/* planners: the table of planners eval and replay run (eval/planners.h). Today the playbooks;
 * each further planner is one row. */
#include "core/common.h"

#include <string.h>

#include "eval/planners.h"
#include "planner/playbook.h"

static int pb_open(const char *playbooks_dir, const struct fs_registry *reg,
                   const struct fs_catalog *cat, void **state, struct fs_buf *diag,
                   struct fs_err *err)
{
    struct fs_playbooks *p = NULL;
    int rc = fs_playbooks_load(playbooks_dir, reg, cat, &p, diag, err);
    *state = p;
    return rc;
}

static int pb_investigate(void *state, struct fs_investigation_opts *io, int64_t incident_id,
                          struct fs_investigation_outcome *out, struct fs_err *err)
{
    io->playbooks = state;
    return fs_investigate(io, incident_id, out, err);
}

static void pb_close(void *state)
{
    fs_playbooks_free(state);
}

const struct fs_eval_planner fs_eval_planners[] = {
    {"playbook",
     "the playbooks: the built-in ones, and --playbooks DIR (or dispatch.playbooks) over them",
     pb_open, pb_investigate, pb_close},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct fs_eval_planner *fs_eval_planner_find(const char *name)
{
    if (!name)
        return &fs_eval_planners[0];
    for (const struct fs_eval_planner *p = fs_eval_planners; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

void fs_eval_planner_names(struct fs_buf *b)
{
    for (const struct fs_eval_planner *p = fs_eval_planners; p->name; p++)
        fs_buf_printf(b, "%s%s", p == fs_eval_planners ? "" : ", ", p->name);
}
