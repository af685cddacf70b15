/* serve_engine: the daemon's engine glue — the tool registry and playbooks, the MCP hub that
 * adds the registered servers' trusted tools to the registry (refreshed on its own thread), the
 * dispatch pool writing through the ingest writer, concluding incidents whose handling ended
 * (post-mortem and knowledge write-back), the supervised executor process that runs
 * approved actions, and the notifier (notify/notify.h) that tells people. */
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/serve_engine.h"
#include "core/log.h"
#include "core/time.h"
#include "exec/supervisor.h"
#include "intake/http.h"
#include "mcp/hub.h"
#include "notify/notify.h"
#include "planner/dispatch.h"
#include "report/postmortem.h"
#include "safety/service.h"
#include "tools/registry.h"

struct fs_engine {
    struct fs_server *srv; /* the HTTP server: its /mcp gateway serves the runner */
    struct fs_writer w;
    struct fs_registry *reg;
    struct fs_mcp_hub *hub;
    struct fs_dispatch *dispatch;
    struct fs_executor *executor;
    struct fs_notifier *notifier; /* NULL without notify.channels */
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

static void engine_kick_cb(void *arg)
{
    fs_engine_kick(arg);
}

/* dispatch.planner claude_code: the daemon's own /mcp for one incident, with a token minted
 * for it that lives as long as the run may (docs/runner.md). */
static int runner_gateway(void *arg, int64_t incident_id, char *url, size_t url_size, char *token,
                          size_t token_size, struct fs_err *err)
{
    struct fs_engine *e = arg;
    struct fs_config *cfg = fs_config_acquire();
    int64_t ttl = (cfg ? cfg->runner.wall_time_ms : 0) + 60000;
    fs_config_release(cfg);
    int rc = fs_server_mint_token(e->srv, incident_id, ttl, token, token_size, err);
    if (rc < 0)
        return rc;
    /* a wildcard listen address is reached on loopback */
    const char *base = fs_server_url(e->srv);
    const char *rest = NULL;
    if (!strncmp(base, "http://0.0.0.0:", 15))
        rest = base + 14, base = "http://127.0.0.1";
    else if (!strncmp(base, "http://[::]:", 12))
        rest = base + 11, base = "http://[::1]";
    snprintf(url, url_size, "%s%s/mcp?incident=inc-%" PRId64, base, rest ? rest : "", incident_id);
    return 0;
}

int fs_engine_start(struct fs_store *store, struct fs_ingest *ingest, struct fs_server *srv,
                    const struct fs_config *cfg, const char *config_file, const char *data_dir,
                    struct fs_engine **out, struct fs_err *err)
{
    *out = NULL;
    struct fs_engine *e = fs_calloc(1, sizeof(*e));
    if (!e)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    e->srv = srv;
    fs_ingest_writer(ingest, store, &e->w);
    int rc = fs_registry_new(&e->reg, err);
    /* the MCP gateway at /mcp offers the investigations' tools, and pokes the executor when the
     * gate passes an action; it is there before the first investigation may need it */
    struct fs_gateway_opts go = {.tools = e->reg, .kick = engine_kick_cb, .kick_arg = e};
    if (rc == 0 && srv)
        rc = fs_server_set_gateway(srv, &go, err);
    /* remote tools: the hub's thread opens and lists the servers at once, then every
     * mcp.refresh; startup never waits for a server */
    struct fs_mcp_hub_opts ho = {.w = &e->w, .tools = e->reg};
    if (rc == 0 && (rc = fs_mcp_hub_new(&ho, &e->hub, err)) == 0)
        rc = fs_mcp_hub_start(e->hub, cfg->mcp.refresh_ms, err);
    /* notifications: their own threads; a channel that is down never holds anything else */
    if (rc == 0)
        rc = fs_notifier_start(cfg, store, &e->w, srv ? fs_server_url(srv) : NULL, &e->notifier,
                               err);
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
                                     .gateway = srv ? runner_gateway : NULL,
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

void fs_engine_kick(struct fs_engine *e)
{
    if (!e)
        return;
    fs_dispatch_kick(e->dispatch);
    fs_executor_poke(e->executor);
    fs_notifier_kick(e->notifier);
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
    fs_notifier_stop(e->notifier);
    fs_mcp_hub_free(e->hub); /* no tool call is left running; before the registry */
    fs_registry_free(e->reg);
    free(e);
}
