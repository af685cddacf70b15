/* The ingest writer: one thread that owns every write to the store and commits them in
 * groups. Requests hand it a job and are answered from its completion callback, after the
 * commit that contains them is durable (group commit: all jobs queued while one commit runs
 * share the next one). Also runs housekeeping (expiring event episodes, pruning) between
 * batches, and re-applies inbox rows left unapplied by an earlier failure at startup.
 *
 * Fail-stop: when a commit cannot be made durable the writer stops; every queued and later job
 * fails with -FS_E_FAILSTOP and fs_ingest_failed() turns true. */
#ifndef FS_INGEST_H
#define FS_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "incidents/alert.h"
#include "incidents/incidents.h"

struct fs_store;
struct fs_ingest;

enum fs_ingest_kind {
    FS_INGEST_ALERTS,      /* store the body in the inbox, apply its alerts */
    FS_INGEST_DEAD_LETTER, /* keep a rejected body */
    FS_INGEST_RECONCILE,   /* Alertmanager's view: apply firings, close what it no longer has */
    FS_INGEST_CALL,        /* run call(store, call_arg) inside the group's transaction */
};

/* A CALL job's function: writes through the store inside the open transaction. Return 0 to
 * have its writes committed (a refusal that must be audited is a 0 return with the refusal in
 * the caller's own result), <0 to have them rolled back: the batch is then run again without
 * this job, and the job completes with this error. It may run more than once (batch redo), so
 * it must reset whatever result it builds. */
typedef int (*fs_ingest_call_fn)(struct fs_store *s, void *arg, struct fs_err *err);

struct fs_ingest_job {
    enum fs_ingest_kind kind;
    /* in; borrowed until done() is called */
    enum fs_alert_source source;
    const char *remote;
    const char *body;
    size_t body_len;
    size_t body_total;           /* dead letters: bytes sent (body may be a prefix) */
    int64_t received_at;         /* ms */
    struct fs_alert_batch batch; /* ALERTS, RECONCILE */
    const json_t *present;       /* RECONCILE: object whose keys are the fingerprints AM has */
    const struct fs_err *reject; /* DEAD_LETTER: why */
    fs_ingest_call_fn call;      /* CALL */
    void *call_arg;              /* CALL */
    int http_status;             /* DEAD_LETTER */
    /* out, valid in done() */
    int rc;
    struct fs_err err;
    struct fs_apply_stats stats;
    int closed;        /* RECONCILE: episodes closed as missing */
    bool apply_failed; /* set by the writer: store the body without applying it (CALL: skip) */
    int call_rc;       /* CALL: the error that made the writer skip it */
    /* completion: called on the writer thread; the job may be freed from then on */
    void (*done)(struct fs_ingest_job *job);
    void *arg;
    struct fs_ingest_job *next; /* owned by the queue */
};

/* Hooks run on the writer thread. housekeep: inside the housekeeping transaction (about once a
 * second); returns <0 to roll it back, or the number of changes it made. after_commit: after a
 * durable commit that ran CALL jobs, changed episodes or housekeeping changes (e.g. to checkpoint the audit
 * chain). */
struct fs_ingest_hooks {
    int (*housekeep)(struct fs_store *s, int64_t now, void *arg, struct fs_err *err);
    void (*after_commit)(struct fs_store *s, void *arg);
    void *arg;
};

struct fs_ingest_options {
    int max_batch;        /* store.group_commit_max */
    int max_pending;      /* server.max_pending */
    size_t cache_entries; /* fingerprints remembered by the writer; 0 = default (65536) */
    struct fs_ingest_hooks hooks;
};

int fs_ingest_start(struct fs_store *store, const struct fs_ingest_options *opt,
                    struct fs_ingest **out, struct fs_err *err);
/* Queue a job. 0: done() will be called exactly once. <0 (-FS_E_SHUTDOWN, -FS_E_OVERLOADED,
 * -FS_E_FAILSTOP): refused, done() will not be called. */
int fs_ingest_submit(struct fs_ingest *ig, struct fs_ingest_job *job);
/* Queue a job and wait for it; returns job->rc. */
int fs_ingest_run(struct fs_ingest *ig, struct fs_ingest_job *job);
/* A writer (store/store.h) whose run() is a CALL job on this ingest writer. */
void fs_ingest_writer(struct fs_ingest *ig, struct fs_store *s, struct fs_writer *w);
/* Refuse new jobs (-FS_E_SHUTDOWN), finish the queued ones, stop the thread. */
void fs_ingest_stop(struct fs_ingest *ig);
/* Stop if needed, then free; only once nothing can call fs_ingest_submit any more. */
void fs_ingest_free(struct fs_ingest *ig);
bool fs_ingest_failed(struct fs_ingest *ig);

/* Parse a stored inbox body of the given source (the same parsers intake uses). */
int fs_ingest_parse(enum fs_alert_source src, const char *body, size_t len, int64_t now,
                    struct fs_alert_batch *out, struct fs_err *err);

#endif
