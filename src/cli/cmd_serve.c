/* cmd_serve: `forestall serve` — wires config, log, store, ingest writer, HTTP server and the
 * reconciler together, owns the signals (SIGTERM/SIGINT drain, SIGHUP reload), the data
 * directory and its single-instance lock, and the fail-stop exit. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/serve_engine.h"
#include "core/config.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/time.h"
#include "intake/http.h"
#include "intake/ingest.h"
#include "mcp/registry.h"
#include "intake/metrics.h"
#include "intake/reconcile.h"
#include "safety/service.h"
#include "store/store.h"
#include "version.h"

struct overrides {
    const char *file;
    const char *listen;
    const char *data_dir;
};

static int load_config(const struct overrides *ov, struct fs_config **out, struct fs_err *err)
{
    return fs_cli_load_config(ov->file, ov->listen, ov->data_dir, out, err);
}

/* The secrets forestall holds by value are redacted wherever outside text is kept or shown. */
static void register_secrets(const struct fs_config *cfg)
{
    fs_redact_clear_registered();
    fs_config_register_secrets(cfg); /* every secret of the configuration, the model's key too */
}

static void apply_logging(const struct fs_config *cfg)
{
    enum fs_log_level lvl = FS_LOG_INFO;
    fs_log_level_parse(cfg->log.level, &lvl);
    fs_log_setup(lvl, strcmp(cfg->log.format, "json") == 0 ? FS_LOG_JSON : FS_LOG_LOGFMT);
}

/* Writer-thread hooks: expire proposals whose approval window closed, and checkpoint the
 * audit chain after commits that may have extended it — and at least every
 * FS_AUDIT_CHECKPOINT_EVERY_MS, so that records other processes append (the executor, commands
 * run without the daemon) are anchored too: reporting a change makes the writer run
 * after_commit, which writes a checkpoint only when the head moved. */
static int hook_housekeep(struct fs_store *s, int64_t now, void *arg, struct fs_err *err)
{
    static int64_t last_checkpoint; /* writer thread only */
    int n = 0;
    int rc = fs_safety_expire(s, now, &n, err);
    if (rc < 0)
        return rc;
    if (now - last_checkpoint >= FS_AUDIT_CHECKPOINT_EVERY_MS) {
        last_checkpoint = now;
        n++;
    }
    return n;
}

/* The investigation pool and the executor (serve_engine.c), set once they run. */
static struct fs_engine *engine;

static void hook_after_commit(struct fs_store *s, void *arg)
{
    struct fs_err err;
    if (fs_audit_checkpoint(arg, s, fs_now_ms(), &err) < 0)
        FS_LOG_ERROR("cannot write an audit checkpoint", "error", err.msg);
    /* new incidents for dispatch, approved proposals for the executor */
    fs_engine_kick(__atomic_load_n(&engine, __ATOMIC_ACQUIRE));
}

struct policy_job {
    const struct fs_policy *policy;
    const char *actor;
    bool recorded;
};

static int policy_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct policy_job *j = arg;
    return fs_safety_policy_sync(s, j->policy, j->actor, fs_now_ms(), &j->recorded, err);
}

/* A policy that is not the one the audit trail last recorded is a `policy` record (the modes
 * it sets are mode changes too), written like every other record: by the ingest writer once it
 * runs, in a transaction of its own before (ig NULL, at startup, as the MCP registry is). */
static int record_policy(struct fs_ingest *ig, struct fs_store *s, const struct fs_policy *p,
                         const char *actor, struct fs_err *err)
{
    struct fs_writer w;
    if (ig)
        fs_ingest_writer(ig, s, &w);
    else
        fs_store_direct_writer(s, &w);
    struct policy_job j = {.policy = p, .actor = actor};
    int rc = fs_writer_run(&w, policy_tx, &j, err);
    if (rc == 0 && j.recorded)
        FS_LOG_INFO("policy change audited", "actor", actor, "policy", p->version);
    return rc;
}

/* SIGHUP: re-read the file; keep running on the old config if the new one is invalid, or if the
 * policy change it makes cannot be audited. */
static void reload(const struct overrides *ov, struct fs_ingest *ig, struct fs_store *store)
{
    struct fs_config *next = NULL, *cur = fs_config_acquire();
    struct fs_err err;
    if (load_config(ov, &next, &err) < 0) {
        fs_counter_add(&fs_metrics.config_reloads[1], 1);
        FS_LOG_ERROR("config reload failed; keeping the running config", "error", err.msg);
        fs_config_release(cur);
        return;
    }
    /* keys that need a restart: say so instead of pretending */
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++) {
        if (k->flags & FS_CFG_RELOAD)
            continue;
        const char *a = NULL, *b = NULL;
        if (k->type == FS_CFG_STR || k->type == FS_CFG_PATH || k->type == FS_CFG_ADDR ||
            k->type == FS_CFG_URL || k->type == FS_CFG_ENUM) {
            a = *(char **)((char *)cur + k->offset);
            b = *(char **)((char *)next + k->offset);
            if (!fs_streq(a, b))
                FS_LOG_WARN("config key changed but needs a restart to take effect", "key",
                            k->path);
        } else if (k->type == FS_CFG_INT || k->type == FS_CFG_DURATION) {
            if (*(int64_t *)((char *)cur + k->offset) != *(int64_t *)((char *)next + k->offset))
                FS_LOG_WARN("config key changed but needs a restart to take effect", "key",
                            k->path);
        }
    }
    fs_config_release(cur);
    struct fs_rules *rules = NULL;
    if (fs_cli_load_rules(next, &rules, &err) < 0) {
        fs_counter_add(&fs_metrics.config_reloads[1], 1);
        FS_LOG_ERROR("policy or catalog invalid; keeping the running config, policy and catalog",
                     "error", err.msg);
        fs_config_free(next);
        return;
    }
    if (record_policy(ig, store, rules->policy, "system:sighup", &err) < 0) {
        fs_counter_add(&fs_metrics.config_reloads[1], 1);
        FS_LOG_ERROR("cannot audit the policy change; keeping the running config, policy and "
                     "catalog",
                     "error", err.msg);
        fs_rules_release(rules);
        fs_config_free(next);
        return;
    }
    FS_LOG_INFO("safety rules loaded", "policy", rules->policy->version, "catalog",
                rules->catalog->version);
    fs_rules_install(rules);
    apply_logging(next);
    register_secrets(next);
    fs_config_install(next);
    fs_counter_add(&fs_metrics.config_reloads[0], 1);
    FS_LOG_INFO("configuration reloaded", "file", ov->file ? ov->file : "(embedded)");
    if (fs_engine_reload(engine, next, &err) < 0)
        FS_LOG_ERROR("playbooks invalid; keeping the running playbooks", "error", err.msg);
}

enum { OPT_LISTEN = 1000, OPT_DATA_DIR };

int fs_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"listen", required_argument, NULL, OPT_LISTEN},
                                         {"data-dir", required_argument, NULL, OPT_DATA_DIR},
                                         {NULL, 0, NULL, 0}};
    struct overrides ov = {0};
    int o;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'c': ov.file = optarg; break;
        case OPT_LISTEN: ov.listen = optarg; break;
        case OPT_DATA_DIR: ov.data_dir = optarg; break;
        default: fs_cli_usage("serve", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fs_cli_usage("serve", false);
        return FS_EXIT_USAGE;
    }
    if (fs_fault_arm(getenv("FORESTALL_FAULT")) < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "FORESTALL_FAULT: invalid fault specification");

    /* Signals are taken synchronously by this thread; block them before any thread starts so
     * that none of the library threads receives them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct fs_config *cfg = NULL;
    struct fs_err err;
    if (load_config(&ov, &cfg, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    apply_logging(cfg);
    register_secrets(cfg);
    fs_config_install(cfg);
    cfg = fs_config_acquire();

    int code = FS_EXIT_FAILURE, lockfd = -1;
    struct fs_store *store = NULL;
    struct fs_ingest *ingest = NULL;
    struct fs_server *srv = NULL;
    struct fs_reconciler *rec = NULL;
    struct fs_audit_checkpointer *ckpt = NULL;
    struct fs_rules *rules = NULL;
    unsigned char key[128];
    size_t keylen = 0;
    char *dbpath = fs_config_store_path(cfg);
    char *ckpath = fs_config_data_path(cfg, cfg->audit.checkpoint_file);
    if (!dbpath || !ckpath) {
        fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
        goto out;
    }
    if (fs_cli_lock_data_dir(cfg->data_dir, "forestall.lock",
                             "another forestall runs on it; one daemon per data directory", &lockfd,
                             &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_store_options so = {
        .driver = cfg->store.driver, .path = dbpath, .busy_timeout_ms = cfg->store.busy_timeout_ms};
    if (fs_store_open(&so, &store, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    /* the MCP servers the configuration declares join the registry (docs/mcp.md) */
    struct fs_writer dw;
    fs_store_direct_writer(store, &dw);
    if (fs_mcp_registry_load_config(&dw, cfg, fs_now_ms(), NULL, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "mcp.servers: %s", err.msg);
        goto out;
    }
    if (fs_cli_load_rules(cfg, &rules, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    fs_rules_install(rules);
    if (record_policy(NULL, store, rules->policy, "system:start", &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "cannot audit the policy in force: %s", err.msg);
        goto out;
    }
    if (fs_cli_audit_key(cfg, true, key, sizeof(key), &keylen, &err) < 0 ||
        fs_audit_checkpointer_open(ckpath, key, keylen, &ckpt, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    /* anchor what is already there (records written while no daemon ran) before anything else */
    if (fs_audit_checkpoint(ckpt, store, fs_now_ms(), &err) < 0)
        FS_LOG_ERROR("cannot write an audit checkpoint", "error", err.msg);
    struct fs_ingest_options io = {.max_batch = (int)cfg->store.group_commit_max,
                                   .max_pending = (int)cfg->server.max_pending,
                                   .hooks = {hook_housekeep, hook_after_commit, ckpt}};
    if (fs_ingest_start(store, &io, &ingest, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_server_options hs = {.listen = cfg->server.listen,
                                   .threads = (int)cfg->server.threads,
                                   .max_connections = (int)cfg->server.max_connections,
                                   .connection_timeout_ms = cfg->server.connection_timeout_ms,
                                   .checkpoint_file = ckpath,
                                   .checkpoint_key = key,
                                   .checkpoint_keylen = keylen};
    if (fs_server_start(&hs, store, ingest, &srv, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    if (fs_reconcile_start(ingest, &rec, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_engine *eng = NULL;
    if (fs_engine_start(store, ingest, srv, cfg, ov.file, ov.data_dir, &eng, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    __atomic_store_n(&engine, eng, __ATOMIC_RELEASE);
    FS_LOG_INFO("forestall started", "version", FS_VERSION, "listen", fs_server_url(srv), "config",
                cfg->file, "store", dbpath, "auth", fs_config_auth_enabled(cfg) ? "tokens" : "none",
                "policy", rules->policy->version, "catalog", rules->catalog->version);
    char authdesc[64];
    snprintf(authdesc, sizeof(authdesc), "%zu token(s)",
             cfg->auth.tokens.n + (cfg->auth.token.value ? 1 : 0));
    printf("forestall %s listening on %s\n"
           "  store:   %s (%s, schema v%d)\n"
           "  config:  %s\n"
           "  policy:  %s, from %s\n"
           "  catalog: %s (%zu actions)\n"
           "  audit:   checkpoints in %s\n"
           "  auth:    %s\n"
           "send it an alert:\n"
           "  forestall alert send examples/alertmanager-disk.json\n"
           "  curl -H 'Content-Type: application/json' --data @examples/alertmanager-disk.json "
           "%s/api/v1/alerts/alertmanager\n"
           "then:  forestall incidents list    (Ctrl-C stops it)\n",
           FS_VERSION, fs_server_url(srv), dbpath, fs_store_driver(store),
           fs_store_schema_version(store), cfg->file, rules->policy->version, rules->policy->source,
           rules->catalog->version, rules->catalog->n, ckpath,
           fs_config_auth_enabled(cfg) ? authdesc : "none (loopback only)", fs_server_url(srv));
    fflush(stdout);

    code = FS_EXIT_OK;
    for (;;) {
        struct timespec ts = {0, 200 * 1000000L};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGHUP) {
            reload(&ov, ingest, store);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            FS_LOG_INFO("shutting down: draining in-flight requests", "signal",
                        sig == SIGTERM ? "TERM" : "INT");
            break;
        }
        if (fs_ingest_failed(ingest)) {
            code = FS_EXIT_FAILSTOP;
            break;
        }
    }
    fs_server_drain(srv);
    int64_t deadline = fs_mono_ns() + cfg->server.drain_timeout_ms * 1000000;
    while (fs_server_inflight(srv) > 0 && fs_mono_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (fs_server_inflight(srv) > 0)
        FS_LOG_WARN("drain timeout: closing with requests in flight (they were not acknowledged)",
                    "requests", FS_I64(fs_server_inflight(srv)));
out:
    /* Order matters: the writer finishes (and resumes) every queued request before the server
     * goes away, and the server is gone before the writer's memory is. */
    if (srv)
        fs_server_quiesce_gateway(srv); /* its calls use the engine's tools and the writer */
    fs_engine_stop(__atomic_exchange_n(&engine, NULL, __ATOMIC_ACQ_REL)); /* uses the writer */
    fs_reconcile_stop(rec);
    fs_ingest_stop(ingest);
    fs_server_stop(srv);
    fs_ingest_free(ingest);
    /* the last checkpoint anchors everything written up to the stop */
    if (ckpt && store && code != FS_EXIT_FAILSTOP &&
        fs_audit_checkpoint(ckpt, store, fs_now_ms(), &err) < 0)
        FS_LOG_ERROR("cannot write an audit checkpoint", "error", err.msg);
    fs_audit_checkpointer_free(ckpt);
    fs_store_close(store);
    fs_rules_install(NULL);
    explicit_bzero(key, sizeof(key));
    free(ckpath);
    if (lockfd >= 0)
        close(lockfd);
    free(dbpath);
    if (code == FS_EXIT_FAILSTOP)
        FS_LOG_ERROR("stopped after a failed durable write (fail-stop); restart to recover from "
                     "what is on disk");
    else if (code == FS_EXIT_OK)
        FS_LOG_INFO("stopped");
    fs_config_release(cfg);
    fs_config_install(NULL);
    return code;
}
