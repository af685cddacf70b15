/* ingest: the writer thread and its group commit (see ingest.h). It is the only code that
 * opens store transactions for intake, so the one-writer rule SQLite needs is structural.
 * Applying alerts to episodes is delegated to incidents/; this file only sequences, commits
 * and reports. */
#include "core/common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/config.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/time.h"
#include "intake/ingest.h"
#include "intake/metrics.h"
#include "store/store.h"

#define HOUSEKEEP_EVERY_MS 1000
#define PRUNE_EVERY_MS (10 * 60 * 1000)
#define RECOVER_MAX 100000

struct fs_ingest {
    struct fs_store *store;
    struct fs_ingest_options opt;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct fs_ingest_job *head, *tail;
    int pending;
    struct fs_episode_cache *cache; /* writer thread only */
    bool stopping;
    bool joined;
    atomic_bool failed;
    int64_t last_housekeep, last_prune;
};

bool fs_ingest_failed(struct fs_ingest *ig)
{
    return atomic_load(&ig->failed);
}

int fs_ingest_parse(enum fs_alert_source src, const char *body, size_t len, int64_t now,
                    struct fs_alert_batch *out, struct fs_err *err)
{
    struct fs_config *cfg = fs_config_acquire();
    struct fs_parse_limits lim = {
        .max_depth = cfg ? (int)cfg->server.max_json_depth : 32,
        .max_alerts = cfg ? (size_t)cfg->server.max_alerts : 1000,
        .now_ms = now,
    };
    fs_config_release(cfg);
    switch (src) {
    case FS_SRC_ALERTMANAGER: return fs_parse_alertmanager(body, len, &lim, out, err);
    case FS_SRC_GRAFANA: return fs_parse_grafana(body, len, &lim, out, err);
    case FS_SRC_EVENT: return fs_parse_event(body, len, &lim, out, err);
    case FS_SRC_RECONCILE: return fs_parse_am_api_alerts(body, len, &lim, out, err);
    default: return fs_err_set(err, FS_E_INVALID, NULL, "unknown source");
    }
}

/* Errors that say the store itself is in trouble: they abort the whole group commit. Anything
 * else is about one item and stays with that item. */
static bool store_trouble(int rc)
{
    switch (-rc) {
    case FS_E_BUSY:
    case FS_E_DISK_FULL:
    case FS_E_FAILSTOP:
    case FS_E_IO:
    case FS_E_STORE: return true;
    default: return false;
    }
}

static void count_stats(const struct fs_ingest_job *j)
{
    int src = j->batch.source;
    if (src < 0 || src >= FS_SRC__COUNT)
        return;
    fs_counter_add(&fs_metrics.alerts_received[src], (uint64_t)j->stats.alerts);
    fs_counter_add(&fs_metrics.alerts_deduplicated[src], (uint64_t)j->stats.deduplicated);
    fs_counter_add(&fs_metrics.incidents_opened, (uint64_t)j->stats.opened);
    fs_counter_add(&fs_metrics.incidents_resolved, (uint64_t)j->stats.resolved);
}

/* One job inside the open transaction. */
static int run_job(struct fs_ingest *ig, const struct fs_incidents_params *params,
                   struct fs_ingest_job *j)
{
    struct fs_store *s = ig->store;
    int rc;
    memset(&j->stats, 0, sizeof(j->stats));
    if (j->kind == FS_INGEST_CALL)
        return j->apply_failed ? 0 : j->call(s, j->call_arg, &j->err);
    if (j->kind == FS_INGEST_DEAD_LETTER) {
        struct fs_dead_letter dl = {
            .received_at = j->received_at,
            .source = fs_alert_source_name(j->source),
            .remote = j->remote,
            .http_status = j->http_status,
            .code = fs_err_name(j->reject->code),
            .message = j->reject->msg,
            .path = j->reject->path,
            .body = j->body,
            .body_len = j->body_len,
            .body_total = j->body_total,
        };
        return fs_store_dead_letter_insert(s, &dl, NULL, &j->err);
    }

    /* Apply, then store the body. A batch runs without savepoints (they cost more than the
     * rest of a duplicate's work); when one job fails to apply, process_batch rolls the batch
     * back and runs it again with that job's body stored unapplied. */
    char why[600] = "";
    bool applied = !j->apply_failed;
    if (applied) {
        rc = fs_incidents_apply(s, params, &j->batch, j->received_at, &j->stats, &j->err);
        if (rc == 0 && j->kind == FS_INGEST_RECONCILE && j->present)
            rc = fs_incidents_close_missing(s, params, j->present, j->received_at, &j->closed,
                                            &j->err);
        if (rc < 0)
            return rc;
    } else {
        snprintf(why, sizeof(why), "%s: %s", fs_err_name(j->err.code), j->err.msg);
        memset(&j->stats, 0, sizeof(j->stats));
    }
    /* A poll that changed nothing carries no information worth keeping. */
    if (j->kind == FS_INGEST_RECONCILE && applied && j->stats.changed == 0 && j->closed == 0)
        return 0;
    struct fs_inbox_row row = {
        .received_at = j->received_at,
        .source = fs_alert_source_name(j->kind == FS_INGEST_RECONCILE ? FS_SRC_RECONCILE
                                                                      : j->batch.source),
        .remote = j->remote,
        .body = j->body,
        .body_len = j->body_len,
        .alerts = (int)j->batch.n,
        .applied = applied,
        .error = applied ? NULL : why,
    };
    rc = fs_store_inbox_insert(s, &row, NULL, &j->err);
    return rc;
}

static void finish(struct fs_ingest_job *list, int rc, const struct fs_err *err)
{
    while (list) {
        struct fs_ingest_job *next = list->next;
        list->rc = rc;
        if (rc < 0 && err)
            list->err = *err;
        if (rc == 0 && list->kind == FS_INGEST_CALL && list->apply_failed)
            list->rc = list->call_rc; /* skipped: its own error, list->err kept */
        if (rc == 0) {
            if (list->kind == FS_INGEST_DEAD_LETTER)
                fs_counter_add(&fs_metrics.dead_letters, 1);
            else
                count_stats(list);
        }
        list->done(list); /* list may be freed from here on */
        list = next;
    }
}

static void enter_failstop(struct fs_ingest *ig, const struct fs_err *err)
{
    if (!atomic_exchange(&ig->failed, true)) {
        atomic_store(&fs_metrics.failstop, 1);
        FS_LOG_ERROR("a durable write failed; no longer acknowledging anything (fail-stop)",
                     "error", err->msg);
    }
}

static void process_batch(struct fs_ingest *ig, struct fs_ingest_job *list, int n)
{
    int64_t t0 = fs_mono_ns();
    struct fs_err err = {0};
    struct fs_config *cfg = fs_config_acquire();
    struct fs_incidents_params params;
    fs_incidents_params_from_config(cfg, &params);
    params.cache = ig->cache;
    bool calls = false, intake = false;
    for (struct fs_ingest_job *j = list; j; j = j->next) {
        j->apply_failed = false;
        calls |= j->kind == FS_INGEST_CALL;
        intake |= j->kind == FS_INGEST_ALERTS || j->kind == FS_INGEST_DEAD_LETTER;
    }
    int rc;
    for (;;) {
        struct fs_ingest_job *bad = NULL;
        if (atomic_load(&ig->failed))
            rc = fs_err_set(&err, FS_E_FAILSTOP, NULL, NULL);
        else if (intake && fs_fault_check(FS_FAULT_INTAKE_BUSY))
            rc = fs_err_set(&err, FS_E_BUSY, NULL, "sqlite: database is locked (injected)");
        else
            rc = fs_store_begin(ig->store, &err);
        if (rc < 0)
            break;
        for (struct fs_ingest_job *j = list; j; j = j->next) {
            if ((rc = run_job(ig, &params, j)) < 0) {
                err = j->err;
                if (!store_trouble(rc) && !j->apply_failed)
                    bad = j;
                break;
            }
        }
        if (rc == 0) {
            rc = fs_store_commit(ig->store, &err);
        } else {
            fs_store_rollback(ig->store);
        }
        if (rc < 0)
            fs_episode_cache_clear(ig->cache); /* it mirrored writes that are gone */
        if (!bad)
            break;
        /* Keep the body that could not be applied, apply the others: run the batch again. A
         * CALL job that failed is left out of the rerun and answered with its error. */
        bad->apply_failed = true;
        if (bad->kind == FS_INGEST_CALL) {
            bad->call_rc = rc;
            continue;
        }
        FS_LOG_ERROR("alert could not be applied; storing it unapplied (retried at startup)",
                     "error", bad->err.msg);
    }
    /* also after alerts changed episodes: a new or reopened incident is work for dispatch */
    for (struct fs_ingest_job *j = list; j && !calls; j = j->next)
        calls |= j->stats.changed > 0 || j->closed > 0;
    if (rc == 0 && calls && ig->opt.hooks.after_commit)
        ig->opt.hooks.after_commit(ig->store, ig->opt.hooks.arg);
    fs_config_release(cfg);
    if (rc == -FS_E_FAILSTOP)
        enter_failstop(ig, &err);
    else if (rc < 0)
        FS_LOG_WARN("group commit failed; requests answered 503", "error", err.msg, "requests",
                    FS_I64(n));
    fs_hist_observe(&fs_metrics.commit_duration, (double)(fs_mono_ns() - t0) / 1e9);
    fs_hist_observe(&fs_metrics.commit_batch, n);
    finish(list, rc, &err);
}

static void housekeep(struct fs_ingest *ig, int64_t now)
{
    if (atomic_load(&ig->failed))
        return;
    struct fs_config *cfg = fs_config_acquire();
    struct fs_incidents_params params;
    fs_incidents_params_from_config(cfg, &params);
    params.cache = ig->cache;
    struct fs_err err;
    int closed = 0;
    bool prune = now - ig->last_prune >= PRUNE_EVERY_MS;
    int64_t deleted = 0;
    bool hooked = false;
    int rc = fs_store_begin(ig->store, &err);
    if (rc == 0) {
        rc = fs_incidents_expire(ig->store, &params, now, &closed, &err);
        int changes = 0;
        if (rc == 0 && ig->opt.hooks.housekeep &&
            (changes = ig->opt.hooks.housekeep(ig->store, now, ig->opt.hooks.arg, &err)) < 0)
            rc = changes;
        hooked = rc == 0 && changes > 0;
        if (rc == 0 && prune)
            rc = fs_store_prune(ig->store, now - cfg->store.inbox_retention_ms,
                                now - cfg->store.dead_letter_retention_ms,
                                now - cfg->store.inbox_retention_ms, &deleted, &err);
        if (rc == 0)
            rc = fs_store_commit(ig->store, &err);
        else
            fs_store_rollback(ig->store);
    }
    fs_config_release(cfg);
    if (rc < 0)
        fs_episode_cache_clear(ig->cache);
    if (rc == -FS_E_FAILSTOP) {
        enter_failstop(ig, &err);
        return;
    }
    if (rc < 0) {
        FS_LOG_WARN("housekeeping failed; will retry", "error", err.msg);
        return;
    }
    if (hooked && ig->opt.hooks.after_commit)
        ig->opt.hooks.after_commit(ig->store, ig->opt.hooks.arg);
    if (prune)
        ig->last_prune = now;
    if (closed)
        fs_counter_add(&fs_metrics.episodes_expired, (uint64_t)closed);
    if (deleted)
        FS_LOG_INFO("pruned old inbox rows and dead letters", "rows", FS_I64(deleted));
}

/* Inbox rows stored but not applied (an earlier apply failed): try them again. */
static void recover(struct fs_ingest *ig)
{
    json_t *rows = NULL;
    struct fs_err err;
    if (fs_store_inbox_unapplied(ig->store, RECOVER_MAX, &rows, &err) < 0) {
        FS_LOG_ERROR("cannot read unapplied inbox rows", "error", err.msg);
        return;
    }
    size_t i, done = 0;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *src = json_string_value(json_object_get(row, "source"));
        const char *body = json_string_value(json_object_get(row, "body"));
        int64_t id = json_integer_value(json_object_get(row, "id"));
        int64_t at = json_integer_value(json_object_get(row, "received_at"));
        enum fs_alert_source s = FS_SRC__COUNT;
        for (int k = 0; k < FS_SRC__COUNT; k++)
            if (fs_streq(src, fs_alert_source_name(k)))
                s = k;
        struct fs_alert_batch b = {0};
        if (!body || s == FS_SRC__COUNT ||
            fs_ingest_parse(s, body, json_string_length(json_object_get(row, "body")), at, &b,
                            &err) < 0)
            continue;
        struct fs_config *cfg = fs_config_acquire();
        struct fs_incidents_params params;
        fs_incidents_params_from_config(cfg, &params);
        params.cache = ig->cache;
        struct fs_apply_stats st = {0};
        int rc = fs_store_begin(ig->store, &err);
        if (rc == 0) {
            rc = fs_incidents_apply(ig->store, &params, &b, at, &st, &err);
            if (rc == 0)
                rc = fs_store_inbox_set_applied(ig->store, id, true, NULL, &err);
            rc = rc == 0 ? fs_store_commit(ig->store, &err) : (fs_store_rollback(ig->store), rc);
        }
        fs_config_release(cfg);
        fs_alert_batch_release(&b);
        if (rc < 0)
            fs_episode_cache_clear(ig->cache);
        if (rc == -FS_E_FAILSTOP) {
            enter_failstop(ig, &err);
            break;
        }
        if (rc == 0)
            done++;
    }
    if (json_array_size(rows))
        FS_LOG_INFO("re-applied stored alerts", "rows", FS_I64(json_array_size(rows)), "applied",
                    FS_I64(done));
    json_decref(rows);
}

static void *writer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "fs-writer");
    struct fs_ingest *ig = arg;
    recover(ig);
    pthread_mutex_lock(&ig->lock);
    for (;;) {
        while (!ig->head && !ig->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            if (pthread_cond_timedwait(&ig->cond, &ig->lock, &ts) != 0 && !ig->head)
                break;
        }
        int64_t now = fs_now_ms();
        if (now - ig->last_housekeep >= HOUSEKEEP_EVERY_MS) {
            ig->last_housekeep = now;
            pthread_mutex_unlock(&ig->lock);
            housekeep(ig, now);
            pthread_mutex_lock(&ig->lock);
        }
        if (!ig->head) {
            if (ig->stopping)
                break;
            continue;
        }
        struct fs_ingest_job *list = ig->head, *last = list;
        int n = 1;
        while (last->next && n < ig->opt.max_batch) {
            last = last->next;
            n++;
        }
        ig->head = last->next;
        if (!ig->head)
            ig->tail = NULL;
        last->next = NULL;
        ig->pending -= n;
        atomic_store(&fs_metrics.ingest_queue, ig->pending);
        pthread_mutex_unlock(&ig->lock);
        process_batch(ig, list, n);
        pthread_mutex_lock(&ig->lock);
    }
    pthread_mutex_unlock(&ig->lock);
    return NULL;
}

int fs_ingest_start(struct fs_store *store, const struct fs_ingest_options *opt,
                    struct fs_ingest **out, struct fs_err *err)
{
    struct fs_ingest *ig = fs_calloc(1, sizeof(*ig));
    if (!ig)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    ig->store = store;
    ig->opt = *opt;
    if (ig->opt.max_batch < 1)
        ig->opt.max_batch = 1;
    ig->last_prune = fs_now_ms();
    if (!(ig->cache = fs_episode_cache_new(opt->cache_entries ? opt->cache_entries : 65536))) {
        free(ig);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    pthread_mutex_init(&ig->lock, NULL);
    pthread_cond_init(&ig->cond, NULL);
    if (pthread_create(&ig->thread, NULL, writer_main, ig) != 0) {
        pthread_mutex_destroy(&ig->lock);
        pthread_cond_destroy(&ig->cond);
        fs_episode_cache_free(ig->cache);
        free(ig);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start the writer thread");
    }
    *out = ig;
    return 0;
}

int fs_ingest_submit(struct fs_ingest *ig, struct fs_ingest_job *job)
{
    if (atomic_load(&ig->failed))
        return -FS_E_FAILSTOP;
    pthread_mutex_lock(&ig->lock);
    if (ig->stopping) {
        pthread_mutex_unlock(&ig->lock);
        return -FS_E_SHUTDOWN;
    }
    if (ig->pending >= ig->opt.max_pending) {
        pthread_mutex_unlock(&ig->lock);
        return -FS_E_OVERLOADED;
    }
    job->next = NULL;
    if (ig->tail)
        ig->tail->next = job;
    else
        ig->head = job;
    ig->tail = job;
    ig->pending++;
    atomic_store(&fs_metrics.ingest_queue, ig->pending);
    pthread_cond_signal(&ig->cond);
    pthread_mutex_unlock(&ig->lock);
    return 0;
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void wake(struct fs_ingest_job *job)
{
    struct waiter *w = job->arg;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int fs_ingest_run(struct fs_ingest *ig, struct fs_ingest_job *job)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    job->done = wake;
    job->arg = &w;
    int rc = fs_ingest_submit(ig, job);
    if (rc < 0) {
        job->rc = rc;
        fs_err_set(&job->err, (enum fs_errcode) - rc, NULL, NULL);
        return rc;
    }
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    return job->rc;
}

static int ingest_writer_run(const struct fs_writer *w, fs_store_tx_fn fn, void *arg,
                             struct fs_err *err)
{
    struct fs_ingest_job job = {.kind = FS_INGEST_CALL, .call = fn, .call_arg = arg};
    int rc = fs_ingest_run(w->impl, &job);
    if (rc < 0 && err)
        *err = job.err;
    return rc;
}

void fs_ingest_writer(struct fs_ingest *ig, struct fs_store *s, struct fs_writer *w)
{
    *w = (struct fs_writer){.store = s, .run = ingest_writer_run, .impl = ig};
}

void fs_ingest_stop(struct fs_ingest *ig)
{
    if (!ig)
        return;
    pthread_mutex_lock(&ig->lock);
    bool joined = ig->joined;
    ig->stopping = true;
    ig->joined = true;
    pthread_cond_signal(&ig->cond);
    pthread_mutex_unlock(&ig->lock);
    if (!joined)
        pthread_join(ig->thread, NULL);
}

void fs_ingest_free(struct fs_ingest *ig)
{
    if (!ig)
        return;
    fs_ingest_stop(ig);
    pthread_mutex_destroy(&ig->lock);
    pthread_cond_destroy(&ig->cond);
    fs_episode_cache_free(ig->cache);
    free(ig);
}
