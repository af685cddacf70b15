/* dispatch: the daemon's investigation pool — a scanner thread that finds incidents waiting in
 * the "new" state (the store is the queue), a bounded set of in-flight incidents, and worker
 * threads that run one investigation each with the config, rules and playbooks of the moment. */
#include "core/common.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/time.h"
#include "planner/dispatch.h"
#include "runner/runner.h"

#define MAX_WORKERS 64
#define SCAN_BATCH 64
#define SCAN_INTERVAL_MS 1000

struct pb_ref {
    struct fs_playbooks *p;
    int refs;
};

struct fs_dispatch {
    struct fs_dispatch_opts opt;
    pthread_mutex_t lock;
    pthread_cond_t scan_cond; /* the scanner waits on it (kick, stop) */
    pthread_cond_t work_cond; /* workers wait on it */
    bool stopping, kicked, first_scan;
    int64_t queue[SCAN_BATCH];
    int nqueue;
    int64_t inflight[MAX_WORKERS + SCAN_BATCH]; /* queued or running */
    int ninflight;
    struct pb_ref *pb;
    pthread_t scanner;
    pthread_t workers[MAX_WORKERS];
    int nworkers;
};

static bool inflight_has(struct fs_dispatch *d, int64_t id)
{
    for (int i = 0; i < d->ninflight; i++)
        if (d->inflight[i] == id)
            return true;
    return false;
}

static void inflight_drop(struct fs_dispatch *d, int64_t id)
{
    for (int i = 0; i < d->ninflight; i++) {
        if (d->inflight[i] == id) {
            d->inflight[i] = d->inflight[--d->ninflight];
            return;
        }
    }
}

static void pb_release(struct pb_ref *r)
{
    if (r && --r->refs == 0) {
        fs_playbooks_free(r->p);
        free(r);
    }
}

static void scan(struct fs_dispatch *d, const char *state)
{
    int64_t ids[SCAN_BATCH];
    int n = 0;
    struct fs_err err;
    if (fs_store_incidents_in_state(d->opt.w->store, state, ids, SCAN_BATCH, &n, &err) < 0) {
        FS_LOG_WARN("dispatch: cannot list incidents", "state", state, "error", err.msg);
        return;
    }
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < n; i++) {
        if (inflight_has(d, ids[i]) || d->nqueue >= SCAN_BATCH ||
            d->ninflight >= (int)FS_ARRAY_LEN(d->inflight))
            continue;
        d->inflight[d->ninflight++] = ids[i];
        d->queue[d->nqueue++] = ids[i];
    }
    if (d->nqueue)
        pthread_cond_broadcast(&d->work_cond);
    pthread_mutex_unlock(&d->lock);
}

/* Post-mortems for incidents whose handling ended elsewhere (or before a crash). */
static void sweep_concluded(struct fs_dispatch *d)
{
    if (!d->opt.conclude)
        return;
    int64_t ids[SCAN_BATCH];
    int n = 0;
    struct fs_err err;
    if (fs_store_incidents_unconcluded(d->opt.w->store, ids, SCAN_BATCH, &n, &err) < 0) {
        FS_LOG_WARN("dispatch: cannot list ended incidents", "error", err.msg);
        return;
    }
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&d->lock);
        bool busy = inflight_has(d, ids[i]) || d->stopping;
        pthread_mutex_unlock(&d->lock);
        if (!busy)
            d->opt.conclude(d->opt.arg, ids[i]);
    }
}

static void *scanner_main(void *arg)
{
    struct fs_dispatch *d = arg;
    pthread_setname_np(pthread_self(), "fs-dispatch");
    /* a crash may have left investigations half done: they only read, so run them again */
    scan(d, "investigating");
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        d->kicked = false;
        pthread_mutex_unlock(&d->lock);
        scan(d, "new");
        sweep_concluded(d);
        pthread_mutex_lock(&d->lock);
        if (d->stopping)
            break;
        if (!d->kicked) {
            struct timespec ts = fs_deadline_in(CLOCK_REALTIME, SCAN_INTERVAL_MS);
            pthread_cond_timedwait(&d->scan_cond, &d->lock, &ts);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static void investigate_one(struct fs_dispatch *d, int64_t id, struct pb_ref *pb)
{
    struct fs_config *cfg = fs_config_acquire();
    struct fs_rules *rules = fs_rules_acquire();
    struct fs_investigation_opts o = {
        .w = d->opt.w,
        .cfg = cfg,
        .rules = rules,
        .tools = d->opt.tools,
        .playbooks = pb->p,
        .batch = true,
    };
    struct fs_investigation_outcome out;
    struct fs_err err = {0};
    /* the LLM planner, made per investigation from the configuration in force (a reload may
     * change the model); fs_investigate asks dispatch.planner / llm_alerts whether this
     * incident is its */
    struct fs_llm *model = NULL;
    struct fs_llm_planner planner;
    char *tdir = NULL;
    if (cfg && rules && cfg->llm.provider) {
        if (fs_llm_planner_setup(cfg, rules->catalog, pb->p, &model, &planner, &err) == 0) {
            tdir = fs_config_data_path(cfg, "transcripts");
            o.llm = &planner;
            o.llm_by_config = true;
            o.llm_fallback = cfg->dispatch.llm_fallback;
            o.transcript_dir = tdir;
        } else {
            FS_LOG_WARN("the LLM planner is configured but cannot be used; the playbooks "
                        "investigate",
                        "error", err.msg);
        }
    }
    /* dispatch.planner claude_code: Claude Code investigates, through the gateway */
    struct fs_runner_opts ro = {0};
    if (cfg && rules && fs_streq(cfg->dispatch.planner, "claude_code")) {
        ro.cfg = cfg;
        ro.tools = d->opt.tools;
        ro.catalog = rules->catalog;
        ro.gateway = d->opt.gateway;
        ro.gateway_arg = d->opt.arg;
        o.runner = &ro;
    }
    int64_t t0 = fs_now_ms();
    int rc = cfg && rules ? fs_investigate(&o, id, &out, &err)
                          : fs_err_set(&err, FS_E_CONFIG, NULL, "no configuration installed");
    if (rc < 0) {
        FS_LOG_WARN("investigation could not be recorded; it will be retried", "incident",
                    FS_I64(id), "error", err.msg);
    } else {
        FS_LOG_INFO("investigation finished", "incident", FS_I64(id), "planner", out.planner,
                    "playbook", out.plan.playbook, "outcome",
                    fs_plan_outcome_name(out.plan.outcome), "decision", out.decision, "state",
                    fs_incident_state_name(out.state), "steps", FS_I64(out.plan.steps), "ms",
                    FS_I64(fs_now_ms() - t0));
        if (d->opt.after)
            d->opt.after(d->opt.arg, id, &out);
        fs_investigation_outcome_release(&out);
    }
    fs_llm_free(model);
    free(tdir);
    fs_rules_release(rules);
    fs_config_release(cfg);
}

static void *worker_main(void *arg)
{
    struct fs_dispatch *d = arg;
    pthread_setname_np(pthread_self(), "fs-investigate");
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->stopping && d->nqueue == 0)
            pthread_cond_wait(&d->work_cond, &d->lock);
        if (d->stopping)
            break;
        int64_t id = d->queue[0];
        memmove(d->queue, d->queue + 1, (size_t)(--d->nqueue) * sizeof(d->queue[0]));
        struct pb_ref *pb = d->pb;
        pb->refs++;
        pthread_mutex_unlock(&d->lock);
        investigate_one(d, id, pb);
        pthread_mutex_lock(&d->lock);
        pb_release(pb);
        inflight_drop(d, id);
        /* an investigation that could not be recorded stays "new"/"investigating": the next
         * scan (within a second) retries it */
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int fs_dispatch_start(const struct fs_dispatch_opts *opt, const struct fs_playbooks *playbooks,
                      struct fs_dispatch **out, struct fs_err *err)
{
    *out = NULL;
    struct fs_dispatch *d = fs_calloc(1, sizeof(*d));
    struct pb_ref *pb = fs_calloc(1, sizeof(*pb));
    if (!d || !pb) {
        free(d);
        free(pb);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    d->opt = *opt;
    pb->p = (struct fs_playbooks *)playbooks;
    pb->refs = 1;
    d->pb = pb;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->scan_cond, NULL);
    pthread_cond_init(&d->work_cond, NULL);
    int n = opt->workers < 1 ? 1 : opt->workers > MAX_WORKERS ? MAX_WORKERS : opt->workers;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&d->workers[i], NULL, worker_main, d) != 0)
            break;
        d->nworkers++;
    }
    if (d->nworkers == 0 || pthread_create(&d->scanner, NULL, scanner_main, d) != 0) {
        fs_dispatch_stop(d);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start dispatch threads");
    }
    *out = d;
    return 0;
}

void fs_dispatch_set_playbooks(struct fs_dispatch *d, struct fs_playbooks *p)
{
    struct pb_ref *r = fs_calloc(1, sizeof(*r));
    if (!r) {
        fs_playbooks_free(p);
        return;
    }
    r->p = p;
    r->refs = 1;
    pthread_mutex_lock(&d->lock);
    struct pb_ref *old = d->pb;
    d->pb = r;
    pb_release(old);
    pthread_mutex_unlock(&d->lock);
}

void fs_dispatch_kick(struct fs_dispatch *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->kicked = true;
    pthread_cond_signal(&d->scan_cond);
    pthread_mutex_unlock(&d->lock);
}

void fs_dispatch_stop(struct fs_dispatch *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    bool had_scanner = d->scanner != 0;
    d->stopping = true;
    pthread_cond_broadcast(&d->scan_cond);
    pthread_cond_broadcast(&d->work_cond);
    pthread_mutex_unlock(&d->lock);
    if (had_scanner)
        pthread_join(d->scanner, NULL);
    for (int i = 0; i < d->nworkers; i++)
        pthread_join(d->workers[i], NULL);
    pb_release(d->pb);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->scan_cond);
    pthread_cond_destroy(&d->work_cond);
    free(d);
}
