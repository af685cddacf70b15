/* planners: the table of planners eval and replay run (eval/planners.h): the playbooks and the
 * LLM planner; each further planner is one row. */
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

#include "eval/planners.h"
#include "planner/llm.h"
#include "planner/playbook.h"

static int pb_open(const struct fs_config *cfg, const char *playbooks_dir,
                   const struct fs_registry *reg, const struct fs_catalog *cat, void **state,
                   struct fs_buf *diag, struct fs_err *err)
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

/* The LLM planner with the configured model (llm.*); the playbooks give it hints and take
 * over when the model cannot be reached (dispatch.llm_fallback). */
struct llm_state {
    struct fs_playbooks *pbs;
    struct fs_llm *model;
    struct fs_llm_planner planner;
    bool fallback;
};

static int llm_open(const struct fs_config *cfg, const char *playbooks_dir,
                    const struct fs_registry *reg, const struct fs_catalog *cat, void **state,
                    struct fs_buf *diag, struct fs_err *err)
{
    struct llm_state *st = fs_calloc(1, sizeof(*st));
    if (!st)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc = fs_playbooks_load(playbooks_dir, reg, cat, &st->pbs, diag, err);
    if (rc == 0)
        rc = fs_llm_planner_setup(cfg, cat, st->pbs, &st->model, &st->planner, err);
    if (rc < 0) {
        fs_playbooks_free(st->pbs);
        free(st);
        return rc;
    }
    st->fallback = cfg->dispatch.llm_fallback;
    *state = st;
    return 0;
}

static int llm_investigate(void *state, struct fs_investigation_opts *io, int64_t incident_id,
                           struct fs_investigation_outcome *out, struct fs_err *err)
{
    struct llm_state *st = state;
    io->playbooks = st->pbs;
    io->llm = &st->planner;
    io->llm_fallback = st->fallback;
    return fs_investigate(io, incident_id, out, err);
}

static void llm_close(void *state)
{
    struct llm_state *st = state;
    if (!st)
        return;
    fs_llm_free(st->model);
    fs_playbooks_free(st->pbs);
    free(st);
}

const struct fs_eval_planner fs_eval_planners[] = {
    {"playbook",
     "the playbooks: the built-in ones, and --playbooks DIR (or dispatch.playbooks) over them",
     pb_open, pb_investigate, pb_close},
    {"llm", "the LLM planner with the configured model (llm.*, docs/llm.md)", llm_open,
     llm_investigate, llm_close},
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
