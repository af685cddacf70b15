/* reconcile: the poller behind reconcile.h. It fetches Alertmanager's alerts with libcurl,
 * parses them with the same parser family as the webhooks, and hands one RECONCILE job to the
 * ingest writer per poll; the episode logic decides what changes. */
#include "core/common.h"

#include <curl/curl.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "intake/ingest.h"
#include "intake/metrics.h"
#include "intake/reconcile.h"

#define RECONCILE_MAX_BODY (64u << 20)

struct fs_reconciler {
    struct fs_ingest *ingest;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    return fs_buf_append(arg, ptr, size * n) < 0 ? 0 : size * n;
}

/* Everything Alertmanager holds is fetched, whatever its receiver: an alert routed elsewhere
 * is still present, and must not be taken for a lost resolve. */
static int fetch(const char *base, struct fs_buf *body, struct fs_err *err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    char url[2048];
    snprintf(url, sizeof(url),
             "%s/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true", base);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "forestall-reconcile");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK)
        return fs_err_set(err, FS_E_CONNECT, NULL, "%s: %s", base, curl_easy_strerror(rc));
    if (status != 200)
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "%s answered HTTP %ld", base, status);
    return 0;
}

/* Alertmanager's receiver filter is a regular expression matched against the whole name. */
static bool routed_to(const struct fs_alert *a, const pcre2_code *re, pcre2_match_data *md)
{
    if (!re)
        return true;
    size_t i;
    json_t *name;
    json_array_foreach(json_object_get(a->extra, "receivers"), i, name)
    {
        const char *n = json_string_value(name);
        if (n && pcre2_match(re, (PCRE2_SPTR)n, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) >= 0)
            return true;
    }
    return false;
}

static void poll_once(struct fs_reconciler *r, const char *base, const char *receiver)
{
    struct fs_buf body = FS_BUF_INIT(RECONCILE_MAX_BODY);
    struct fs_err err;
    struct fs_alert_batch b = {0};
    json_t *present = NULL;
    int64_t now = fs_now_ms();
    pcre2_code *re = NULL;
    pcre2_match_data *md = NULL;
    if (receiver) {
        int ec;
        PCRE2_SIZE eo;
        char anchored[1100];
        snprintf(anchored, sizeof(anchored), "^(?:%s)$", receiver);
        re = pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
        md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
        if (!md) { /* config validation compiles it first; this is only memory */
            pcre2_code_free(re);
            FS_LOG_ERROR("reconciliation skipped: cannot use reconcile.receiver");
            return;
        }
    }
    int rc = fetch(base, &body, &err);
    if (rc == 0)
        rc = fs_ingest_parse(FS_SRC_RECONCILE, fs_buf_str(&body), body.len, now, &b, &err);
    if (rc == 0) {
        /* Everything Alertmanager still holds counts as present (a silenced alert is not
         * resolved); only active, unexpired alerts count as firing. */
        present = json_object();
        size_t keep = 0;
        for (size_t i = 0; i < b.n; i++) {
            struct fs_alert *a = &b.alerts[i];
            bool expired = a->ends_at != FS_TIME_UNSET && a->ends_at <= now;
            if (expired)
                continue;
            json_object_set_new(present, a->fingerprint, json_true());
            const char *state = json_string_value(json_object_get(a->extra, "state"));
            if (state && strcmp(state, "active") == 0 && routed_to(a, re, md)) {
                a->status = FS_ALERT_FIRING;
                b.alerts[keep++] = *a;
            }
        }
        b.n = keep;
        struct fs_ingest_job job = {
            .kind = FS_INGEST_RECONCILE,
            .source = FS_SRC_RECONCILE,
            .remote = base,
            .body = body.data,
            .body_len = body.len,
            .received_at = now,
            .batch = b,
            .present = present,
        };
        rc = fs_ingest_run(r->ingest, &job);
        err = job.err;
        if (rc == 0) {
            fs_counter_add(&fs_metrics.reconcile_corrections[0], (uint64_t)job.stats.changed);
            fs_counter_add(&fs_metrics.reconcile_corrections[1], (uint64_t)job.closed);
            if (job.stats.changed || job.closed)
                FS_LOG_INFO("reconciliation corrected episodes", "alertmanager", base, "firing",
                            FS_I64(job.stats.changed), "resolved", FS_I64(job.closed));
        }
    }
    fs_counter_add(&fs_metrics.reconcile_runs[rc == 0 ? 0 : 1], 1);
    if (rc < 0)
        FS_LOG_WARN("reconciliation failed", "alertmanager", base, "error", err.msg);
    json_decref(present);
    fs_alert_batch_release(&b);
    fs_buf_release(&body);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}

static void *reconcile_main(void *arg)
{
    pthread_setname_np(pthread_self(), "fs-reconcile");
    struct fs_reconciler *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        struct fs_config *cfg = fs_config_acquire();
        int64_t interval = cfg->reconcile.interval_ms;
        char *url =
            cfg->reconcile.alertmanager_url ? fs_strdup(cfg->reconcile.alertmanager_url) : NULL;
        char *recv = cfg->reconcile.receiver ? fs_strdup(cfg->reconcile.receiver) : NULL;
        fs_config_release(cfg);
        if (url) {
            pthread_mutex_unlock(&r->lock);
            poll_once(r, url, recv);
            pthread_mutex_lock(&r->lock);
        }
        free(url);
        free(recv);
        struct timespec ts = fs_deadline_in(CLOCK_REALTIME, interval);
        while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int fs_reconcile_start(struct fs_ingest *ingest, struct fs_reconciler **out, struct fs_err *err)
{
    struct fs_reconciler *r = fs_calloc(1, sizeof(*r));
    if (!r)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    r->ingest = ingest;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, reconcile_main, r) != 0) {
        free(r);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start the reconciliation thread");
    }
    *out = r;
    return 0;
}

void fs_reconcile_stop(struct fs_reconciler *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}
