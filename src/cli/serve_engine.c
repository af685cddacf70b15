/* serve_engine: the daemon's engine glue — the tool registry and playbooks, the dispatch pool
 * writing through the ingest writer, concluding incidents whose handling ended (post-mortem and
 * knowledge write-back), and the supervised executor process that runs approved actions. */
#include "core/common.h"

#include "cli/cli.h"
#include "cli/serve_engine.h"
#include "core/log.h"
#include "core/time.h"
#include "exec/supervisor.h"
#include "planner/dispatch.h"
#include "report/postmortem.h"
#include "safety/service.h"
#include "tools/registry.h"

struct fs_engine {
    struct fs_writer w;
    struct fs_registry *reg;
    struct fs_dispatch *dispatch;
    struct fs_executor *executor;
};

static void conclude(void *arg, int64_t incident_id)
{
    struct fs_engine *e = arg;
    struct fs_config *cfg = fs_config_acquire();
    struct fs_err err;
    if (cfg && fs_incident_conclude(&e->w, cfg, incident_id, fs_now_ms(), &err) < 0)
        FS_LOG_WARN("post-mortem could not be written", "incident", FS_I64(incident_id), "error",
                    err.msg);
    fs_config_release(cfg);
}

static void after_investigation(void *arg, int64_t incident_id,
                                const struct fs_investigation_outcome *o)
{
    struct fs_engine *e = arg;
    if (strcmp(o->decision, "execute") == 0)
        fs_executor_poke(e->executor);
    else if (fs_incident_state_final(o->state))
        conclude(e, incident_id);
    /* awaiting approval: an approval commit pokes the executor (fs_engine_kick) */
}

static int load_playbooks(struct fs_engine *e, const struct fs_config *cfg,
                          struct fs_playbooks **out, struct fs_err *err)
{
    struct fs_rules *rules = fs_rules_acquire();
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    int rc = fs_playbooks_load(cfg->dispatch.playbooks, e->reg, rules ? rules->catalog : NULL, out,
                               &diag, err);
    if (rc < 0)
        fs_cli_diag_into(&diag, err);
    fs_buf_release(&diag);
    fs_rules_release(rules);
    return rc;
}

int fs_engine_start(struct fs_store *store, struct fs_ingest *ingest, const struct fs_config *cfg,
                    const char *config_file, const char *data_dir, struct fs_engine **out,
                    struct fs_err *err)
{
    *out = NULL;
    struct fs_engine *e = fs_calloc(1, sizeof(*e));
    if (!e)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    fs_ingest_writer(ingest, store, &e->w);
    int rc = fs_registry_new(&e->reg, err);
    if (rc == 0 && cfg->executor.enabled)
        rc = fs_executor_start("/proc/self/exe", config_file, data_dir, &e->executor, err);
    if (rc == 0 && cfg->dispatch.enabled) {
        struct fs_playbooks *pbs = NULL;
        rc = load_playbooks(e, cfg, &pbs, err);
        struct fs_dispatch_opts o = {.w = &e->w,
                                     .tools = e->reg,
                                     .workers = (int)cfg->dispatch.workers,
                                     .after = after_investigation,
                                     .conclude = conclude,
                                     .arg = e};
        if (rc == 0 && (rc = fs_dispatch_start(&o, pbs, &e->dispatch, err)) < 0)
            fs_playbooks_free(pbs);
    }
    if (rc < 0) {
        fs_engine_stop(e);
        return rc;
    }
    *out = e;
    return 0;
}

const struct fs_registry *fs_engine_tools(struct fs_engine *e)
{
    return e ? e->reg : NULL;
}

void fs_engine_kick(struct fs_engine *e)
{
    if (!e)
        return;
    fs_dispatch_kick(e->dispatch);
    fs_executor_poke(e->executor);
}

int fs_engine_reload(struct fs_engine *e, const struct fs_config *cfg, struct fs_err *err)
{
    if (!e)
        return 0;
    fs_executor_reload(e->executor); /* it judges approvals by the same policy and catalog */
    if (!e->dispatch)
        return 0;
    struct fs_playbooks *pbs = NULL;
    int rc = load_playbooks(e, cfg, &pbs, err);
    if (rc == 0)
        fs_dispatch_set_playbooks(e->dispatch, pbs);
    return rc;
}

void fs_engine_stop(struct fs_engine *e)
{
    if (!e)
        return;
    fs_dispatch_stop(e->dispatch);
    fs_executor_stop(e->executor);
    fs_registry_free(e->reg);
    free(e);
}
