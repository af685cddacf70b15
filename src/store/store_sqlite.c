/* store_sqlite: the SQLite backend of store.h. One write connection (WAL, synchronous=FULL,
 * BEGIN IMMEDIATE) used only by the writer thread, a small pool of read-only connections for
 * API reads, and a checkpointer thread so WAL checkpoints never sit on the commit path (a
 * checkpoint that fails its I/O puts the whole store into fail-stop, like a failed commit).
 * Versioned migrations are the embedded src/store/sql/sqlite/NNNN_*.sql files.
 * Owns SQL for SQLite only; no business rules (those are in incidents/ and safety/). */
#include "core/common.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "core/embed.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/time.h"
#include "store/sqlite_int.h"
#include "store/store_int.h"

#define READERS 4
#define MIGRATION_PREFIX "src/store/sql/sqlite/"

#define EP_COLS                                                                                    \
    "id,fingerprint,source,status,starts_at,starts_at_max,ends_at,end_inferred,expires_at,"        \
    "severity,alertname,labels,annotations,extra,incident_id,created_at,updated_at"
#define INC_COLS                                                                                   \
    "id,group_key,status,severity,title,labels,open_episodes,created_at,updated_at,resolved_at,"   \
    "state,state_at"

#define PROP_COLS                                                                                  \
    "id,incident_id,status,decision,proposer,action,target_key,body,gate,risk_score,risk_level,"   \
    "action_hash,catalog_version,policy_version,created_at,updated_at,expires_at,decided_by,"      \
    "decided_at,reason"
#define APR_COLS                                                                                   \
    "id,proposal_id,created_at,expires_at,consumed_at,kind,actor,role,reason,action_hash"
#define AUDIT_COLS "seq,ts,type,actor,data,prev_hash,hash"
#define AUDIT_HEAD_SQL "SELECT seq,hash FROM audit_log ORDER BY seq DESC LIMIT 1"

#define SQ_STMTS(X)                                                                                \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                    \
    X(COMMIT, "COMMIT")                                                                            \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(INBOX_INSERT, "INSERT INTO inbox(received_at,source,remote,body,alerts,applied,error) "      \
                    "VALUES(?,?,?,?,?,?,?)")                                                       \
    X(INBOX_APPLIED, "UPDATE inbox SET applied=?,error=? WHERE id=?")                              \
    X(DL_INSERT, "INSERT INTO dead_letters(received_at,source,remote,http_status,code,message,"    \
                 "path,body,body_len,body_total) VALUES(?,?,?,?,?,?,?,?,?,?)")                     \
    X(EVID_INSERT, "INSERT OR IGNORE INTO event_ids(id,received_at) VALUES(?,?)")                  \
    X(EP_OPEN, "SELECT " EP_COLS " FROM episodes WHERE fingerprint=? AND status='firing'")         \
    X(EP_BEFORE, "SELECT " EP_COLS " FROM episodes WHERE fingerprint=? AND starts_at<=? "          \
                 "ORDER BY starts_at DESC, id DESC LIMIT 1")                                       \
    X(EP_AFTER, "SELECT " EP_COLS " FROM episodes WHERE fingerprint=? AND starts_at>? "            \
                "ORDER BY starts_at ASC, id ASC LIMIT 1")                                          \
    X(EP_INSERT, "INSERT INTO episodes(fingerprint,source,status,starts_at,starts_at_max,"         \
                 "ends_at,end_inferred,expires_at,severity,alertname,labels,annotations,extra,"    \
                 "incident_id,created_at,updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")     \
    X(EP_UPDATE, "UPDATE episodes SET status=?,starts_at=?,starts_at_max=?,ends_at=?,"             \
                 "end_inferred=?,expires_at=?,severity=?,annotations=?,extra=?,incident_id=?,"     \
                 "updated_at=? WHERE id=?")                                                        \
    X(EP_EXPIRED, "SELECT " EP_COLS " FROM episodes WHERE status='firing' AND "                    \
                  "expires_at IS NOT NULL AND expires_at<=? ORDER BY expires_at LIMIT ?")          \
    X(EP_FIRING_FPS, "SELECT fingerprint FROM episodes WHERE status='firing' AND source=?")        \
    X(INC_LATEST, "SELECT " INC_COLS " FROM incidents WHERE group_key=? ORDER BY id DESC "         \
                  "LIMIT 1")                                                                       \
    X(INC_LOAD, "SELECT " INC_COLS " FROM incidents WHERE id=?")                                   \
    X(INC_INSERT, "INSERT INTO incidents(group_key,status,severity,title,labels,open_episodes,"    \
                  "created_at,updated_at,resolved_at) VALUES(?,?,?,?,?,?,?,?,?)")                  \
    X(INC_UPDATE, "UPDATE incidents SET status=?,severity=?,title=?,labels=?,open_episodes=?,"     \
                  "updated_at=?,resolved_at=? WHERE id=?")                                         \
    X(INC_EVENT, "INSERT INTO incident_events(incident_id,ts,kind,episode_id,detail) "             \
                 "VALUES(?,?,?,?,?)")                                                              \
    X(PRUNE_INBOX, "DELETE FROM inbox WHERE applied=1 AND received_at<?")                          \
    X(PRUNE_DL, "DELETE FROM dead_letters WHERE received_at<?")                                    \
    X(PRUNE_EVID, "DELETE FROM event_ids WHERE received_at<?")                                     \
    X(PROP_INSERT, "INSERT INTO proposals(incident_id,status,decision,proposer,action,target_key," \
                   "body,gate,risk_score,risk_level,action_hash,catalog_version,policy_version,"   \
                   "created_at,updated_at,expires_at,decided_by,decided_at,reason) "               \
                   "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")                                \
    X(PROP_LOAD, "SELECT " PROP_COLS " FROM proposals WHERE id=?")                                 \
    X(PROP_STATUS, "UPDATE proposals SET status=?,decided_by=?,decided_at=?,reason=?,"             \
                   "updated_at=? WHERE id=?")                                                      \
    X(PROP_DUE, "SELECT id FROM proposals WHERE status='pending' AND expires_at IS NOT NULL AND "  \
                "expires_at<=? ORDER BY expires_at, id LIMIT ?")                                   \
    X(APR_INSERT, "INSERT INTO approvals(proposal_id,kind,actor,role,reason,action_hash,"          \
                  "created_at,expires_at,consumed_at) VALUES(?,?,?,?,?,?,?,?,?)")                  \
    X(APR_LATEST, "SELECT " APR_COLS " FROM approvals WHERE proposal_id=? AND "                    \
                  "kind IN ('approve','force_override') ORDER BY id DESC LIMIT 1")                 \
    X(APR_CONSUME, "UPDATE approvals SET consumed_at=? WHERE id=? AND consumed_at IS NULL")        \
    X(APR_EXISTS, "SELECT 1 FROM approvals WHERE id=?")                                            \
    X(CTL_GET, "SELECT value FROM controls WHERE key=?")                                           \
    X(CTL_PUT, "INSERT INTO controls(key,value,updated_by,updated_at) VALUES(?1,?2,?3,?4) "        \
               "ON CONFLICT(key) DO UPDATE SET value=excluded.value,"                              \
               "updated_by=excluded.updated_by,updated_at=excluded.updated_at")                    \
    X(CTL_DELETE, "DELETE FROM controls WHERE key=?")                                              \
    X(OBS_INSERT, "INSERT INTO observations(incident_id,ts,tool,input,output,duration_ms,actor,"   \
                  "investigation_id) VALUES(?,?,?,?,?,?,?,?)")                                     \
    X(OBS_IDS, "SELECT id FROM observations WHERE incident_id=? ORDER BY id")                      \
    X(EP_LABELS, "SELECT labels FROM episodes WHERE incident_id=? ORDER BY starts_at, id")         \
    X(EXEC_INSERT, "INSERT INTO executions(proposal_id,action,target_key,started_at,finished_at,"  \
                   "outcome,incident_id,target_kind,spec) VALUES(?,?,?,?,?,?,?,?,?)")              \
    X(EXEC_HISTORY, "SELECT coalesce(sum(started_at>?3-3600000),0),"                               \
                    "coalesce(sum(outcome IN ('failed','rolled_back')),0) FROM executions "        \
                    "WHERE action=?1 AND target_key=?2 AND started_at>?3-86400000 AND "            \
                    "started_at<=?3")                                                              \
    X(AUDIT_HEAD, AUDIT_HEAD_SQL)                                                                  \
    X(AUDIT_INSERT, "INSERT INTO audit_log(" AUDIT_COLS ") VALUES(?,?,?,?,?,?,?)")

enum sq_stmt {
#define SQ_ENUM(e, sql) SQ_##e,
    SQ_STMTS(SQ_ENUM)
#undef SQ_ENUM
        SQ__COUNT
};

static const char *const sq_sql[] = {
#define SQ_SQL(e, sql) sql,
    SQ_STMTS(SQ_SQL)
#undef SQ_SQL
};

struct sq_reader {
    sqlite3 *db;
    bool busy;
};

struct sq_store {
    struct fs_store base; /* must be first */
    char *path;
    const char *vfs;
    sqlite3 *db; /* writer */
    sqlite3_stmt *stmts[SQ__COUNT];
    int version;
    bool in_tx;

    pthread_mutex_t rlock;
    pthread_cond_t rcond;
    struct sq_reader readers[READERS];

    pthread_t ckpt_thread;
    bool ckpt_started;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    bool ckpt_stop;

    /* Fail-stop: set once, by a commit or a WAL checkpoint that could not be made durable.
     * From then on no transaction begins or commits and nothing is checkpointed (not even on
     * close), so the next start recovers from what really is on disk. failed_msg is written
     * once, before failed is set. */
    atomic_bool failed;
    char failed_msg[sizeof(((struct fs_err *)0)->msg)];
    pthread_mutex_t failed_lock;
};

static const struct fs_store_ops sq_ops;

#define SQ(s) ((struct sq_store *)(s))

/* ---- errors ------------------------------------------------------------------------------ */

static int sq_err(sqlite3 *db, int rc, bool committing, struct fs_err *err, const char *what)
{
    int primary = rc & 0xff;
    enum fs_errcode code;
    switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = FS_E_BUSY; break;
    case SQLITE_FULL: code = FS_E_DISK_FULL; break;
    case SQLITE_NOMEM: code = FS_E_NOMEM; break;
    case SQLITE_IOERR:
        /* An fsync that failed may have dropped dirty pages (the kernel forgets them): the state
         * on disk is unknown. Any I/O error while making a commit durable means the same. */
        if (committing || rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC ||
            rc == SQLITE_IOERR_WRITE)
            code = FS_E_FAILSTOP;
        else
            code = FS_E_IO;
        break;
    default: code = FS_E_STORE; break;
    }
    return fs_err_set(err, code, NULL, "sqlite: %s: %s (%s)", what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), sqlite3_errstr(rc));
}

static sqlite3_stmt *stmt(struct sq_store *s, enum sq_stmt id)
{
    sqlite3_stmt *st = s->stmts[id];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int exec_simple(struct sq_store *s, enum sq_stmt id, bool committing, struct fs_err *err)
{
    sqlite3_stmt *st = stmt(s, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_err(s->db, rc, committing, err, sq_sql[id]);
    return 0;
}

/* Enter fail-stop (the first reason is kept). */
static void mark_failed(struct sq_store *s, const char *msg)
{
    pthread_mutex_lock(&s->failed_lock);
    if (!atomic_load(&s->failed)) {
        fs_strlcpy(s->failed_msg, msg, sizeof(s->failed_msg));
        atomic_store(&s->failed, true);
    }
    pthread_mutex_unlock(&s->failed_lock);
}

/* 0, or -FS_E_FAILSTOP with the reason when the store has entered fail-stop. */
static int check_failed(struct sq_store *s, struct fs_err *err)
{
    if (!atomic_load(&s->failed))
        return 0;
    return fs_err_set(err, FS_E_FAILSTOP, NULL, "%s", s->failed_msg);
}

/* ---- opening ----------------------------------------------------------------------------- */

static int pragma(sqlite3 *db, const char *sql, const char *expect, struct fs_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_err(db, rc, false, err, sql);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return sq_err(db, rc, false, err, sql);
    }
    if (expect && (rc != SQLITE_ROW || !sqlite3_column_text(st, 0) ||
                   strcmp((const char *)sqlite3_column_text(st, 0), expect) != 0)) {
        int r = fs_err_set(err, FS_E_STORE, NULL, "sqlite: %s did not take effect (got %s)", sql,
                           rc == SQLITE_ROW && sqlite3_column_text(st, 0)
                               ? (const char *)sqlite3_column_text(st, 0)
                               : "nothing");
        sqlite3_finalize(st);
        return r;
    }
    sqlite3_finalize(st);
    return 0;
}

static int open_conn(struct sq_store *s, bool readonly, sqlite3 **out, struct fs_err *err)
{
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(s->path, &db, flags, s->vfs);
    if (rc != SQLITE_OK) {
        int r = fs_err_set(err, rc == SQLITE_CANTOPEN ? FS_E_IO : FS_E_STORE, NULL,
                           "sqlite: cannot open %s: %s", s->path,
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return r;
    }
    sqlite3_extended_result_codes(db, 1);
    *out = db;
    return 0;
}

static int setup_writer(struct sq_store *s, int64_t busy_ms, struct fs_err *err)
{
    int rc;
    if ((rc = open_conn(s, false, &s->db, err)) < 0)
        return rc;
    sqlite3_busy_timeout(s->db, (int)FS_MIN(busy_ms, INT32_MAX));
    if ((rc = pragma(s->db, "PRAGMA journal_mode=WAL", "wal", err)) < 0 ||
        (rc = pragma(s->db, "PRAGMA synchronous=FULL", NULL, err)) < 0 ||
        (rc = pragma(s->db, "PRAGMA foreign_keys=ON", NULL, err)) < 0 ||
        /* checkpoints run on their own thread, not on the commit path */
        (rc = pragma(s->db, "PRAGMA wal_autocheckpoint=0", NULL, err)) < 0)
        return rc;
    return 0;
}

static const char *migration_name(const struct fs_embed_file *f)
{
    return f->name + strlen(MIGRATION_PREFIX);
}

static int user_version(sqlite3 *db, int *v, struct fs_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_err(db, rc, false, err, "PRAGMA user_version");
    rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

/* Apply every embedded migration newer than the database, each in its own transaction that
 * also bumps user_version and records it in schema_migrations. */
static int migrate(struct sq_store *s, struct fs_err *err)
{
    int rc, have = 0;
    if ((rc = user_version(s->db, &have, err)) < 0)
        return rc;
    char *errmsg = NULL;
    if (sqlite3_exec(s->db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                     NULL, NULL, &errmsg) != SQLITE_OK) {
        rc = fs_err_set(err, FS_E_STORE, NULL, "sqlite: %s", errmsg ? errmsg : "?");
        sqlite3_free(errmsg);
        return rc;
    }
    int latest = 0;
    for (const struct fs_embed_file *f = fs_embed_files; f->name; f++) {
        if (strncmp(f->name, MIGRATION_PREFIX, strlen(MIGRATION_PREFIX)) != 0)
            continue;
        int v = atoi(migration_name(f));
        if (v <= 0)
            FS_BUG("migration %s has no version number", f->name);
        latest = FS_MAX(latest, v);
        if (v <= have)
            continue;
        if (v != have + 1)
            return fs_err_set(err, FS_E_STORE, NULL,
                              "sqlite: migration %s does not follow version %d", f->name, have);
        char *sql = NULL;
        size_t n = fs_embed_len(f);
        char head[200];
        snprintf(head, sizeof(head),
                 "BEGIN IMMEDIATE;\n%%s\nPRAGMA user_version=%d;\n"
                 "INSERT INTO schema_migrations VALUES(%d,'%s',%lld);\nCOMMIT;",
                 v, v, migration_name(f), (long long)fs_now_ms());
        size_t total = n + strlen(head) + 1;
        if (!(sql = fs_malloc(total)))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        /* head contains one %s placeholder for the migration text */
        char *pct = strstr(head, "%s");
        size_t pre = (size_t)(pct - head);
        memcpy(sql, head, pre);
        memcpy(sql + pre, f->start, n);
        snprintf(sql + pre + n, total - pre - n, "%s", pct + 2);
        int erc = sqlite3_exec(s->db, sql, NULL, NULL, &errmsg);
        free(sql);
        if (erc != SQLITE_OK) {
            rc = fs_err_set(err, FS_E_STORE, NULL, "sqlite: migration %s failed: %s", f->name,
                            errmsg ? errmsg : sqlite3_errstr(erc));
            sqlite3_free(errmsg);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        have = v;
    }
    if (have > latest)
        return fs_err_set(err, FS_E_STORE, NULL,
                          "sqlite: the database is at schema version %d but this forestall only "
                          "knows up to %d; use a newer forestall",
                          have, latest);
    s->version = have;
    return 0;
}

/* ---- the checkpointer -------------------------------------------------------------------- */

/* A checkpoint that could not copy the WAL into the database file durably. BUSY and LOCKED
 * (a reader or the writer is in the way) are routine; a full disk or a failed allocation
 * leaves the WAL as it was and the next checkpoint copies the same frames again. Anything else
 * (an I/O error, above all a failed fsync, or corruption) leaves the database file in a state
 * nobody knows. */
static bool ckpt_failed(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_INTERRUPT: return false;
    default: return true;
    }
}

static bool ckpt_run(struct sq_store *s, sqlite3 *db, int mode, int *logpages, int *done)
{
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, mode, logpages, done);
    if (!ckpt_failed(rc))
        return true;
    char msg[sizeof(s->failed_msg)];
    snprintf(msg, sizeof(msg),
             "sqlite: WAL checkpoint: %s (code %d); the database file may not hold what was "
             "committed",
             sqlite3_errmsg(db), rc);
    mark_failed(s, msg);
    return false;
}

static void *checkpointer(void *arg)
{
    pthread_setname_np(pthread_self(), "fs-checkpoint");
    struct sq_store *s = arg;
    sqlite3 *db = NULL;
    struct fs_err err;
    if (open_conn(s, false, &db, &err) < 0) {
        /* nothing is lost (the WAL holds every commit) but it grows until the next start */
        FS_LOG_ERROR("the WAL checkpointer cannot open the database; the WAL grows until restart",
                     "error", err.msg);
        return NULL;
    }
    sqlite3_busy_timeout(db, 1000);
    pragma(db, "PRAGMA synchronous=FULL", NULL, &err);
    pragma(db, "PRAGMA wal_autocheckpoint=0", NULL, &err);
    if (s->vfs) /* the fault VFS: store.checkpoint_fsync fails this file's fsync */
        fs_sqlite_fault_mark_checkpointer(db);
    pthread_mutex_lock(&s->ckpt_lock);
    while (!s->ckpt_stop && !atomic_load(&s->failed)) {
        struct timespec ts = fs_deadline_in(CLOCK_REALTIME, 500);
        pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &ts);
        if (s->ckpt_stop || atomic_load(&s->failed))
            break;
        pthread_mutex_unlock(&s->ckpt_lock);
        int logpages = 0, done = 0;
        /* When everything was copied back, restart the WAL from its beginning so it does not
         * keep growing under constant load. */
        if (ckpt_run(s, db, SQLITE_CHECKPOINT_PASSIVE, &logpages, &done) && logpages > 4096 &&
            done == logpages)
            ckpt_run(s, db, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        pthread_mutex_lock(&s->ckpt_lock);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    if (!atomic_load(&s->failed))
        ckpt_run(s, db, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (atomic_load(&s->failed))
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    sqlite3_close(db);
    return NULL;
}

static void sq_close(struct fs_store *base)
{
    struct sq_store *s = SQ(base);
    if (s->ckpt_started) {
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_stop = true;
        pthread_cond_signal(&s->ckpt_cond);
        pthread_mutex_unlock(&s->ckpt_lock);
        pthread_join(s->ckpt_thread, NULL);
    }
    for (int i = 0; i < SQ__COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    for (int i = 0; i < READERS; i++)
        sqlite3_close(s->readers[i].db);
    /* the last connection to close checkpoints the WAL into the database file: not after a
     * fail-stop, whose point is that nothing more is written */
    if (s->db && atomic_load(&s->failed))
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->rcond);
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    pthread_mutex_destroy(&s->failed_lock);
    free(s->path);
    free(s);
}

int fs_store_sqlite_open(const struct fs_store_options *opt, struct fs_store **out,
                         struct fs_err *err)
{
    struct sq_store *s = fs_calloc(1, sizeof(*s));
    if (!s)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    s->base.ops = &sq_ops;
    pthread_mutex_init(&s->rlock, NULL);
    pthread_cond_init(&s->rcond, NULL);
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    pthread_mutex_init(&s->failed_lock, NULL);
    int rc = 0;
    if (!(s->path = fs_strdup(opt->path))) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto fail;
    }
    const char *faults = getenv("FORESTALL_FAULT");
    if (faults && *faults && !(s->vfs = fs_sqlite_fault_vfs())) {
        rc = fs_err_set(err, FS_E_STORE, NULL, "sqlite: cannot register the fault VFS");
        goto fail;
    }
    if ((rc = setup_writer(s, opt->busy_timeout_ms, err)) < 0 || (rc = migrate(s, err)) < 0)
        goto fail;
    for (int i = 0; i < SQ__COUNT; i++) {
        int r =
            sqlite3_prepare_v3(s->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i], NULL);
        if (r != SQLITE_OK) {
            rc = sq_err(s->db, r, false, err, sq_sql[i]);
            goto fail;
        }
    }
    for (int i = 0; i < READERS; i++) {
        if ((rc = open_conn(s, true, &s->readers[i].db, err)) < 0)
            goto fail;
        sqlite3_busy_timeout(s->readers[i].db, 5000);
    }
    if (pthread_create(&s->ckpt_thread, NULL, checkpointer, s) != 0) {
        rc = fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start the checkpoint thread");
        goto fail;
    }
    s->ckpt_started = true;
    *out = &s->base;
    return 0;
fail:
    sq_close(&s->base);
    return rc;
}

static int sq_schema_version(struct fs_store *base)
{
    return SQ(base)->version;
}

/* ---- transactions ------------------------------------------------------------------------ */

static int sq_begin(struct fs_store *base, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int rc = check_failed(s, err);
    if (rc < 0)
        return rc;
    if (fs_fault_check(FS_FAULT_BUSY))
        return fs_err_set(err, FS_E_BUSY, NULL, "sqlite: database is locked (injected)");
    rc = exec_simple(s, SQ_BEGIN, false, err);
    if (rc == 0)
        s->in_tx = true;
    return rc;
}

static void sq_rollback(struct fs_store *base)
{
    struct sq_store *s = SQ(base);
    if (!sqlite3_get_autocommit(s->db)) {
        struct fs_err ignore;
        exec_simple(s, SQ_ROLLBACK, false, &ignore);
    }
    s->in_tx = false;
}

static int sq_commit(struct fs_store *base, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    struct fs_err e;
    int rc = check_failed(s, &e);
    if (rc == 0 && (rc = exec_simple(s, SQ_COMMIT, true, &e)) == -FS_E_FAILSTOP)
        mark_failed(s, e.msg);
    /* The checkpointer may have failed while this commit ran: it is on disk, but nothing is
     * acknowledged once the store has stopped (the sender retries; duplicates are harmless). */
    if (rc == 0)
        rc = check_failed(s, &e);
    if (rc < 0) {
        sq_rollback(base);
        if (err)
            *err = e;
    }
    s->in_tx = false;
    return rc;
}

/* ---- binding helpers --------------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t t)
{
    if (t == FS_TIME_UNSET)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, t);
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? FS_TIME_UNSET : sqlite3_column_int64(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? fs_strdup((const char *)t) : NULL;
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    fs_strlcpy(dst, t ? (const char *)t : "", size);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

static int step_done(struct sq_store *s, sqlite3_stmt *st, enum sq_stmt id, struct fs_err *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_err(s->db, rc, false, err, sq_sql[id]);
    return 0;
}

/* step_done for an INSERT: *rowid (if not NULL) is the new row's id. */
static int step_insert(struct sq_store *s, sqlite3_stmt *st, enum sq_stmt id, int64_t *rowid,
                       struct fs_err *err)
{
    int rc = step_done(s, st, id, err);
    if (rc == 0 && rowid)
        *rowid = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int not_found(struct fs_err *err, const char *what, const char *prefix, int64_t id)
{
    return fs_err_set(err, FS_E_NOT_FOUND, NULL, "no %s %s-%lld", what, prefix, (long long)id);
}

/* ---- stepping through rows --------------------------------------------------------------- */

/* Called for each row: 0 to go on, > 0 to stop (step_rows returns that value), < 0 an error
 * (err filled). The row function of a reader that reports the value it stops with (the audit
 * scan) may also return a negative value of its own: it is returned as it is. */
typedef int (*row_fn)(sqlite3_stmt *st, void *arg, struct fs_err *err);

/* Step st through its rows until the end or until row() stops; a failed step is an sq_err about
 * what. The caller resets or finalizes st. */
static int step_rows(sqlite3 *db, sqlite3_stmt *st, const char *what, row_fn row, void *arg,
                     struct fs_err *err)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int r = row(st, arg, err);
        if (r != 0)
            return r;
    }
    return rc == SQLITE_DONE ? 0 : sq_err(db, rc, false, err, what);
}

/* step_rows on a writer statement bound by the caller. */
static int writer_rows(struct sq_store *s, enum sq_stmt id, sqlite3_stmt *st, row_fn row, void *arg,
                       struct fs_err *err)
{
    int rc = step_rows(s->db, st, sq_sql[id], row, arg, err);
    sqlite3_reset(st);
    return rc;
}

/* A row as a new JSON value; NULL when it cannot be made (no memory, text that is not UTF-8). */
typedef json_t *(*json_row_fn)(sqlite3_stmt *st, const void *ctx);

/* Rows turned into JSON values by make(st, ctx) and appended to arr. A row make() cannot turn
 * into JSON fails the read with -FS_E_NOMEM, or is left out when skip_failed. */
struct json_rows {
    json_t *arr;
    json_row_fn make;
    const void *ctx;
    bool skip_failed;
};

static int append_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    struct json_rows *j = arg;
    if (json_array_append_new(j->arr, j->make(st, j->ctx)) < 0 && !j->skip_failed)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

/* Hand v over to *out on success (rc >= 0); drop it on failure. */
static int json_result(int rc, json_t *v, json_t **out)
{
    if (rc < 0) {
        json_decref(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* The rows of a writer statement bound by the caller, as a new JSON array in *out. */
static int writer_array(struct sq_store *s, enum sq_stmt id, sqlite3_stmt *st,
                        struct json_rows rows, json_t **out, struct fs_err *err)
{
    if (!(rows.arr = json_array())) {
        sqlite3_reset(st);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    return json_result(writer_rows(s, id, st, append_row, &rows, err), rows.arr, out);
}

/* ---- writes ------------------------------------------------------------------------------ */

static int sq_inbox_insert(struct fs_store *base, const struct fs_inbox_row *r, int64_t *id,
                           struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_INBOX_INSERT);
    sqlite3_bind_int64(st, 1, r->received_at);
    bind_text(st, 2, r->source);
    bind_text(st, 3, r->remote);
    sqlite3_bind_blob64(st, 4, r->body ? r->body : "", r->body_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, r->alerts);
    sqlite3_bind_int(st, 6, r->applied);
    bind_text(st, 7, r->error);
    return step_insert(s, st, SQ_INBOX_INSERT, id, err);
}

static int sq_inbox_set_applied(struct fs_store *base, int64_t id, bool applied, const char *error,
                                struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_INBOX_APPLIED);
    sqlite3_bind_int(st, 1, applied);
    bind_text(st, 2, error);
    sqlite3_bind_int64(st, 3, id);
    return step_done(s, st, SQ_INBOX_APPLIED, err);
}

static int sq_dead_letter_insert(struct fs_store *base, const struct fs_dead_letter *d, int64_t *id,
                                 struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_DL_INSERT);
    sqlite3_bind_int64(st, 1, d->received_at);
    bind_text(st, 2, d->source);
    bind_text(st, 3, d->remote);
    sqlite3_bind_int(st, 4, d->http_status);
    bind_text(st, 5, d->code);
    bind_text(st, 6, d->message);
    bind_text(st, 7, d->path && *d->path ? d->path : NULL);
    if (d->body)
        sqlite3_bind_blob64(st, 8, d->body, d->body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)d->body_len);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)d->body_total);
    return step_insert(s, st, SQ_DL_INSERT, id, err);
}

static int sq_event_id_claim(struct fs_store *base, const char *id, int64_t now, bool *seen,
                             struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EVID_INSERT);
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    int rc = step_done(s, st, SQ_EVID_INSERT, err);
    if (rc == 0)
        *seen = sqlite3_changes(s->db) == 0;
    return rc;
}

static void read_episode(sqlite3_stmt *st, struct fs_episode *e)
{
    memset(e, 0, sizeof(*e));
    e->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, e->fingerprint, sizeof(e->fingerprint));
    col_copy(st, 2, e->source, sizeof(e->source));
    const unsigned char *status = sqlite3_column_text(st, 3);
    e->status =
        status && strcmp((const char *)status, "firing") == 0 ? FS_EP_FIRING : FS_EP_RESOLVED;
    e->starts_at = sqlite3_column_int64(st, 4);
    e->starts_at_max = sqlite3_column_int64(st, 5);
    e->ends_at = col_time(st, 6);
    e->end_inferred = sqlite3_column_int(st, 7) != 0;
    e->expires_at = col_time(st, 8);
    col_copy(st, 9, e->severity, sizeof(e->severity));
    e->alertname = col_dup(st, 10);
    e->labels = col_dup(st, 11);
    e->annotations = col_dup(st, 12);
    e->extra = col_dup(st, 13);
    e->incident_id = sqlite3_column_int64(st, 14);
    e->created_at = sqlite3_column_int64(st, 15);
    e->updated_at = sqlite3_column_int64(st, 16);
}

/* Step a prepared single-row query: 1 and *out filled when a row came back, 0 when none.
 * read() fills out and reports whether every allocation succeeded (else it cleared out). */
typedef bool (*read_fn)(sqlite3_stmt *st, void *out);

static int query_one(struct sq_store *s, enum sq_stmt id, sqlite3_stmt *st, read_fn read, void *out,
                     struct fs_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool ok = read(st, out);
        sqlite3_reset(st);
        return ok ? 1 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_err(s->db, rc, false, err, sq_sql[id]);
    return 0;
}

static bool read_episode_complete(sqlite3_stmt *st, void *out)
{
    struct fs_episode *e = out;
    read_episode(st, e);
    if (e->labels && e->annotations && e->extra)
        return true;
    fs_episode_clear(e);
    return false;
}

static int sq_episode_open(struct fs_store *base, const char *fp, struct fs_episode *out,
                           struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_OPEN);
    bind_text(st, 1, fp);
    return query_one(s, SQ_EP_OPEN, st, read_episode_complete, out, err);
}

static int sq_episode_at_or_before(struct fs_store *base, const char *fp, int64_t t,
                                   struct fs_episode *out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_BEFORE);
    bind_text(st, 1, fp);
    sqlite3_bind_int64(st, 2, t);
    return query_one(s, SQ_EP_BEFORE, st, read_episode_complete, out, err);
}

static int sq_episode_after(struct fs_store *base, const char *fp, int64_t t,
                            struct fs_episode *out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_AFTER);
    bind_text(st, 1, fp);
    sqlite3_bind_int64(st, 2, t);
    return query_one(s, SQ_EP_AFTER, st, read_episode_complete, out, err);
}

static const char *ep_status_name(enum fs_episode_status st)
{
    return st == FS_EP_FIRING ? "firing" : "resolved";
}

static int sq_episode_insert(struct fs_store *base, struct fs_episode *e, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_INSERT);
    bind_text(st, 1, e->fingerprint);
    bind_text(st, 2, e->source);
    bind_text(st, 3, ep_status_name(e->status));
    sqlite3_bind_int64(st, 4, e->starts_at);
    sqlite3_bind_int64(st, 5, e->starts_at_max);
    bind_time(st, 6, e->ends_at);
    sqlite3_bind_int(st, 7, e->end_inferred);
    bind_time(st, 8, e->expires_at);
    bind_text(st, 9, e->severity);
    bind_text(st, 10, e->alertname);
    bind_text(st, 11, e->labels);
    bind_text(st, 12, e->annotations);
    bind_text(st, 13, e->extra);
    sqlite3_bind_int64(st, 14, e->incident_id);
    sqlite3_bind_int64(st, 15, e->created_at);
    sqlite3_bind_int64(st, 16, e->updated_at);
    return step_insert(s, st, SQ_EP_INSERT, &e->id, err);
}

static int sq_episode_update(struct fs_store *base, const struct fs_episode *e, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_UPDATE);
    bind_text(st, 1, ep_status_name(e->status));
    sqlite3_bind_int64(st, 2, e->starts_at);
    sqlite3_bind_int64(st, 3, e->starts_at_max);
    bind_time(st, 4, e->ends_at);
    sqlite3_bind_int(st, 5, e->end_inferred);
    bind_time(st, 6, e->expires_at);
    bind_text(st, 7, e->severity);
    bind_text(st, 8, e->annotations);
    bind_text(st, 9, e->extra);
    sqlite3_bind_int64(st, 10, e->incident_id);
    sqlite3_bind_int64(st, 11, e->updated_at);
    sqlite3_bind_int64(st, 12, e->id);
    return step_done(s, st, SQ_EP_UPDATE, err);
}

/* Rows read into a caller's array of at most max entries; reading stops when it is full. */
struct capped_rows {
    void *out;
    int max, *n;
};

static int expired_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    struct capped_rows *c = arg;
    if (*c->n >= c->max)
        return 1;
    read_episode(st, (struct fs_episode *)c->out + (*c->n)++);
    return 0;
}

static int sq_episodes_expired(struct fs_store *base, int64_t now, struct fs_episode *out, int max,
                               int *n, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_EXPIRED);
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, max);
    *n = 0;
    int rc =
        writer_rows(s, SQ_EP_EXPIRED, st, expired_row, &(struct capped_rows){out, max, n}, err);
    if (rc < 0) {
        for (int i = 0; i < *n; i++)
            fs_episode_clear(&out[i]);
        *n = 0;
        return rc;
    }
    return 0;
}

static json_t *text_row(sqlite3_stmt *st, const void *ctx)
{
    return json_string((const char *)sqlite3_column_text(st, 0));
}

static int sq_episodes_firing_fps(struct fs_store *base, const char *source, json_t **out,
                                  struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_FIRING_FPS);
    bind_text(st, 1, source);
    return writer_array(s, SQ_EP_FIRING_FPS, st,
                        (struct json_rows){.make = text_row, .skip_failed = true}, out, err);
}

static void read_incident(sqlite3_stmt *st, struct fs_incident *i)
{
    memset(i, 0, sizeof(*i));
    i->id = sqlite3_column_int64(st, 0);
    i->group_key = col_dup(st, 1);
    col_copy(st, 2, i->status, sizeof(i->status));
    col_copy(st, 3, i->severity, sizeof(i->severity));
    i->title = col_dup(st, 4);
    i->labels = col_dup(st, 5);
    i->open_episodes = sqlite3_column_int64(st, 6);
    i->created_at = sqlite3_column_int64(st, 7);
    i->updated_at = sqlite3_column_int64(st, 8);
    i->resolved_at = col_time(st, 9);
    col_copy(st, 10, i->state, sizeof(i->state));
    i->state_at = col_time(st, 11);
}

static bool read_incident_complete(sqlite3_stmt *st, void *out)
{
    struct fs_incident *i = out;
    read_incident(st, i);
    if (i->group_key && i->title && i->labels)
        return true;
    fs_incident_clear(i);
    return false;
}

static int sq_incident_latest(struct fs_store *base, const char *key, struct fs_incident *out,
                              struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_INC_LATEST);
    bind_text(st, 1, key);
    return query_one(s, SQ_INC_LATEST, st, read_incident_complete, out, err);
}

static int sq_incident_load(struct fs_store *base, int64_t id, struct fs_incident *out,
                            struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_INC_LOAD);
    sqlite3_bind_int64(st, 1, id);
    return query_one(s, SQ_INC_LOAD, st, read_incident_complete, out, err);
}

static int sq_incident_insert(struct fs_store *base, struct fs_incident *i, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_INC_INSERT);
    bind_text(st, 1, i->group_key);
    bind_text(st, 2, i->status);
    bind_text(st, 3, i->severity);
    bind_text(st, 4, i->title);
    bind_text(st, 5, i->labels);
    sqlite3_bind_int64(st, 6, i->open_episodes);
    sqlite3_bind_int64(st, 7, i->created_at);
    sqlite3_bind_int64(st, 8, i->updated_at);
    bind_time(st, 9, i->resolved_at);
    return step_insert(s, st, SQ_INC_INSERT, &i->id, err);
}

static int sq_incident_update(struct fs_store *base, const struct fs_incident *i,
                              struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_INC_UPDATE);
    bind_text(st, 1, i->status);
    bind_text(st, 2, i->severity);
    bind_text(st, 3, i->title);
    bind_text(st, 4, i->labels);
    sqlite3_bind_int64(st, 5, i->open_episodes);
    sqlite3_bind_int64(st, 6, i->updated_at);
    bind_time(st, 7, i->resolved_at);
    sqlite3_bind_int64(st, 8, i->id);
    return step_done(s, st, SQ_INC_UPDATE, err);
}

static int sq_incident_event(struct fs_store *base, int64_t incident_id, int64_t ts,
                             const char *kind, int64_t episode_id, const char *detail,
                             struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_INC_EVENT);
    sqlite3_bind_int64(st, 1, incident_id);
    sqlite3_bind_int64(st, 2, ts);
    bind_text(st, 3, kind);
    if (episode_id > 0)
        sqlite3_bind_int64(st, 4, episode_id);
    else
        sqlite3_bind_null(st, 4);
    bind_text(st, 5, detail ? detail : "{}");
    return step_done(s, st, SQ_INC_EVENT, err);
}

static int sq_prune(struct fs_store *base, int64_t inbox_before, int64_t dl_before,
                    int64_t evid_before, int64_t *deleted, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    const struct {
        enum sq_stmt id;
        int64_t t;
    } steps[] = {
        {SQ_PRUNE_INBOX, inbox_before}, {SQ_PRUNE_DL, dl_before}, {SQ_PRUNE_EVID, evid_before}};
    int64_t total = 0;
    for (size_t i = 0; i < FS_ARRAY_LEN(steps); i++) {
        sqlite3_stmt *st = stmt(s, steps[i].id);
        sqlite3_bind_int64(st, 1, steps[i].t);
        int rc = step_done(s, st, steps[i].id, err);
        if (rc < 0)
            return rc;
        total += sqlite3_changes(s->db);
    }
    if (deleted)
        *deleted = total;
    return 0;
}

/* ---- safety: writes and writer-side reads ------------------------------------------------ */

/* col_dup of a column that may be NULL: false only when a non-NULL value could not be copied. */
static bool col_dup_opt(sqlite3_stmt *st, int i, char **out)
{
    *out = col_dup(st, i);
    return *out || sqlite3_column_type(st, i) == SQLITE_NULL;
}

static int sq_proposal_insert(struct fs_store *base, struct fs_proposal_row *r, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_PROP_INSERT);
    bind_id(st, 1, r->incident_id);
    bind_text(st, 2, r->status);
    bind_text(st, 3, r->decision);
    bind_text(st, 4, r->proposer);
    bind_text(st, 5, r->action);
    bind_text(st, 6, r->target_key);
    bind_text(st, 7, r->body ? r->body : "{}");
    bind_text(st, 8, r->gate ? r->gate : "{}");
    sqlite3_bind_int(st, 9, r->risk_score);
    bind_text(st, 10, r->risk_level);
    bind_text(st, 11, r->action_hash);
    bind_text(st, 12, r->catalog_version);
    bind_text(st, 13, r->policy_version);
    sqlite3_bind_int64(st, 14, r->created_at);
    sqlite3_bind_int64(st, 15, r->updated_at);
    bind_time(st, 16, r->expires_at);
    bind_text(st, 17, r->decided_by);
    bind_time(st, 18, r->decided_at);
    bind_text(st, 19, r->reason);
    return step_insert(s, st, SQ_PROP_INSERT, &r->id, err);
}

static bool read_proposal(sqlite3_stmt *st, void *out)
{
    struct fs_proposal_row *r = out;
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->incident_id = sqlite3_column_int64(st, 1); /* NULL reads as 0: none */
    col_copy(st, 2, r->status, sizeof(r->status));
    col_copy(st, 3, r->decision, sizeof(r->decision));
    /* every column is read even when one fails, so clear() frees whatever was allocated */
    bool ok = col_dup_opt(st, 4, &r->proposer);
    ok = col_dup_opt(st, 5, &r->action) && ok;
    ok = col_dup_opt(st, 6, &r->target_key) && ok;
    ok = col_dup_opt(st, 7, &r->body) && ok;
    ok = col_dup_opt(st, 8, &r->gate) && ok;
    r->risk_score = sqlite3_column_int(st, 9);
    col_copy(st, 10, r->risk_level, sizeof(r->risk_level));
    col_copy(st, 11, r->action_hash, sizeof(r->action_hash));
    col_copy(st, 12, r->catalog_version, sizeof(r->catalog_version));
    col_copy(st, 13, r->policy_version, sizeof(r->policy_version));
    r->created_at = sqlite3_column_int64(st, 14);
    r->updated_at = sqlite3_column_int64(st, 15);
    r->expires_at = col_time(st, 16);
    ok &= col_dup_opt(st, 17, &r->decided_by);
    r->decided_at = col_time(st, 18);
    ok &= col_dup_opt(st, 19, &r->reason);
    if (!ok)
        fs_proposal_row_clear(r);
    return ok;
}

static int sq_proposal_load(struct fs_store *base, int64_t id, struct fs_proposal_row *out,
                            struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_PROP_LOAD);
    sqlite3_bind_int64(st, 1, id);
    return query_one(s, SQ_PROP_LOAD, st, read_proposal, out, err);
}

static int sq_proposal_set_status(struct fs_store *base, int64_t id, const char *status,
                                  const char *decided_by, int64_t decided_at, const char *reason,
                                  int64_t now, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_PROP_STATUS);
    bind_text(st, 1, status);
    bind_text(st, 2, decided_by);
    bind_time(st, 3, decided_at);
    bind_text(st, 4, reason);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, id);
    int rc = step_done(s, st, SQ_PROP_STATUS, err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        return not_found(err, "proposal", "prop", id);
    return rc;
}

static int due_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    struct capped_rows *c = arg;
    if (*c->n >= c->max)
        return 1;
    ((int64_t *)c->out)[(*c->n)++] = sqlite3_column_int64(st, 0);
    return 0;
}

static int sq_proposals_due(struct fs_store *base, int64_t now, int64_t *ids, int max, int *n,
                            struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_PROP_DUE);
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, max);
    *n = 0;
    int rc = writer_rows(s, SQ_PROP_DUE, st, due_row, &(struct capped_rows){ids, max, n}, err);
    if (rc < 0) {
        *n = 0;
        return rc;
    }
    return 0;
}

static int sq_approval_insert(struct fs_store *base, struct fs_approval_row *r, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_APR_INSERT);
    sqlite3_bind_int64(st, 1, r->proposal_id);
    bind_text(st, 2, r->kind);
    bind_text(st, 3, r->actor);
    bind_text(st, 4, r->role);
    bind_text(st, 5, r->reason);
    bind_text(st, 6, r->action_hash);
    sqlite3_bind_int64(st, 7, r->created_at);
    bind_time(st, 8, r->expires_at);
    bind_time(st, 9, r->consumed_at);
    return step_insert(s, st, SQ_APR_INSERT, &r->id, err);
}

static bool read_approval(sqlite3_stmt *st, void *out)
{
    struct fs_approval_row *r = out;
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->proposal_id = sqlite3_column_int64(st, 1);
    r->created_at = sqlite3_column_int64(st, 2);
    r->expires_at = col_time(st, 3);
    r->consumed_at = col_time(st, 4);
    col_copy(st, 5, r->kind, sizeof(r->kind));
    bool ok = col_dup_opt(st, 6, &r->actor);
    col_copy(st, 7, r->role, sizeof(r->role));
    ok &= col_dup_opt(st, 8, &r->reason);
    col_copy(st, 9, r->action_hash, sizeof(r->action_hash));
    if (!ok)
        fs_approval_row_clear(r);
    return ok;
}

static int sq_approval_latest(struct fs_store *base, int64_t proposal_id,
                              struct fs_approval_row *out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_APR_LATEST);
    sqlite3_bind_int64(st, 1, proposal_id);
    return query_one(s, SQ_APR_LATEST, st, read_approval, out, err);
}

static bool read_nothing(sqlite3_stmt *st, void *out)
{
    return true;
}

static int sq_approval_consume(struct fs_store *base, int64_t id, int64_t now, bool *changed,
                               struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_APR_CONSUME);
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    int rc = step_done(s, st, SQ_APR_CONSUME, err);
    if (rc < 0)
        return rc;
    *changed = sqlite3_changes(s->db) > 0;
    if (*changed)
        return 0;
    st = stmt(s, SQ_APR_EXISTS);
    sqlite3_bind_int64(st, 1, id);
    rc = query_one(s, SQ_APR_EXISTS, st, read_nothing, NULL, err);
    if (rc == 0)
        return not_found(err, "approval", "apr", id);
    return rc < 0 ? rc : 0;
}

static bool read_text_dup(sqlite3_stmt *st, void *out)
{
    char **v = out;
    return (*v = col_dup(st, 0)) != NULL;
}

static int sq_control_get(struct fs_store *base, const char *key, char **value, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_CTL_GET);
    bind_text(st, 1, key);
    *value = NULL;
    return query_one(s, SQ_CTL_GET, st, read_text_dup, value, err);
}

static int sq_control_put(struct fs_store *base, const char *key, const char *value,
                          const char *actor, int64_t now, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    if (!value) {
        sqlite3_stmt *st = stmt(s, SQ_CTL_DELETE);
        bind_text(st, 1, key);
        return step_done(s, st, SQ_CTL_DELETE, err);
    }
    sqlite3_stmt *st = stmt(s, SQ_CTL_PUT);
    bind_text(st, 1, key);
    bind_text(st, 2, value);
    bind_text(st, 3, actor);
    sqlite3_bind_int64(st, 4, now);
    return step_done(s, st, SQ_CTL_PUT, err);
}

static int sq_observation_insert(struct fs_store *base, const struct fs_observation_row *o,
                                 int64_t *id, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_OBS_INSERT);
    bind_id(st, 1, o->incident_id);
    sqlite3_bind_int64(st, 2, o->ts);
    bind_text(st, 3, o->tool);
    bind_text(st, 4, o->input);
    bind_text(st, 5, o->output ? o->output : "");
    sqlite3_bind_int64(st, 6, o->duration_ms);
    bind_text(st, 7, o->actor);
    bind_id(st, 8, o->investigation_id);
    return step_insert(s, st, SQ_OBS_INSERT, id, err);
}

static json_t *json_id(const char *prefix, int64_t id);
static json_t *json_text_obj(const char *text);

static json_t *obs_id_row(sqlite3_stmt *st, const void *ctx)
{
    return json_id("obs", sqlite3_column_int64(st, 0));
}

static int sq_observation_ids(struct fs_store *base, int64_t incident_id, json_t **out,
                              struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_OBS_IDS);
    sqlite3_bind_int64(st, 1, incident_id);
    return writer_array(s, SQ_OBS_IDS, st, (struct json_rows){.make = obs_id_row}, out, err);
}

static json_t *labels_row(sqlite3_stmt *st, const void *ctx)
{
    return json_text_obj((const char *)sqlite3_column_text(st, 0));
}

static int sq_incident_episode_labels(struct fs_store *base, int64_t incident_id, json_t **out,
                                      struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EP_LABELS);
    sqlite3_bind_int64(st, 1, incident_id);
    return writer_array(s, SQ_EP_LABELS, st, (struct json_rows){.make = labels_row}, out, err);
}

static int sq_execution_insert(struct fs_store *base, const struct fs_execution_row *e, int64_t *id,
                               struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EXEC_INSERT);
    bind_id(st, 1, e->proposal_id);
    bind_text(st, 2, e->action);
    bind_text(st, 3, e->target_key);
    sqlite3_bind_int64(st, 4, e->started_at);
    bind_time(st, 5, e->finished_at);
    bind_text(st, 6, e->outcome);
    bind_id(st, 7, e->incident_id);
    bind_text(st, 8, e->target_kind);
    bind_text(st, 9, e->spec);
    return step_insert(s, st, SQ_EXEC_INSERT, id, err);
}

struct history {
    int64_t n1h, fail24h;
};

static bool read_history(sqlite3_stmt *st, void *out)
{
    struct history *h = out;
    h->n1h = sqlite3_column_int64(st, 0);
    h->fail24h = sqlite3_column_int64(st, 1);
    return true;
}

static int sq_action_history(struct fs_store *base, const char *action, const char *target_key,
                             int64_t now, int64_t *executions_1h, int64_t *failures_24h,
                             struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_EXEC_HISTORY);
    bind_text(st, 1, action);
    bind_text(st, 2, target_key);
    sqlite3_bind_int64(st, 3, now);
    struct history h = {0, 0};
    int rc = query_one(s, SQ_EXEC_HISTORY, st, read_history, &h, err);
    if (rc < 0)
        return rc;
    if (executions_1h)
        *executions_1h = h.n1h;
    if (failures_24h)
        *failures_24h = h.fail24h;
    return 0;
}

/* ---- audit chain ------------------------------------------------------------------------- */

struct audit_head {
    int64_t seq;
    char *hash; /* 65 bytes */
};

static bool read_audit_head(sqlite3_stmt *st, void *out)
{
    struct audit_head *h = out;
    h->seq = sqlite3_column_int64(st, 0);
    col_copy(st, 1, h->hash, 65);
    return true;
}

/* After a query for the head: rc 1, the head read into h; rc 0, an empty chain, whose head is
 * the genesis (seq 0, a hash of zeros); rc < 0, the error. */
static int audit_head_result(int rc, const struct audit_head *h, int64_t *seq, char hash[65])
{
    if (rc < 0)
        return rc;
    if (rc == 0) {
        *seq = 0;
        memset(hash, '0', 64);
        hash[64] = '\0';
    } else {
        *seq = h->seq;
    }
    return 0;
}

static int sq_audit_head(struct fs_store *base, int64_t *seq, char hash[65], struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_AUDIT_HEAD);
    struct audit_head h = {0, hash};
    int rc = query_one(s, SQ_AUDIT_HEAD, st, read_audit_head, &h, err);
    return audit_head_result(rc, &h, seq, hash);
}

static int sq_audit_insert(struct fs_store *base, const struct fs_audit_row *r, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st = stmt(s, SQ_AUDIT_INSERT);
    sqlite3_bind_int64(st, 1, r->seq);
    sqlite3_bind_int64(st, 2, r->ts);
    bind_text(st, 3, r->type);
    bind_text(st, 4, r->actor);
    bind_text(st, 5, r->data);
    bind_text(st, 6, r->prev_hash);
    bind_text(st, 7, r->hash);
    return step_done(s, st, SQ_AUDIT_INSERT, err);
}

/* ---- reads ------------------------------------------------------------------------------- */

/* Every API read runs on a connection of the read pool (waiting for a free one) inside one read
 * transaction, between read_begin and read_end: all it queries (a listing, an incident with its
 * episodes and timeline, a proposal with its approvals, an audit scan) is one snapshot. */
static sqlite3 *read_begin(struct sq_store *s, int *slot)
{
    pthread_mutex_lock(&s->rlock);
    for (;;) {
        for (int i = 0; i < READERS; i++) {
            if (!s->readers[i].busy) {
                s->readers[i].busy = true;
                pthread_mutex_unlock(&s->rlock);
                *slot = i;
                sqlite3_exec(s->readers[i].db, "BEGIN", NULL, NULL, NULL);
                return s->readers[i].db;
            }
        }
        pthread_cond_wait(&s->rcond, &s->rlock);
    }
}

static void read_end(struct sq_store *s, sqlite3 *db, int slot)
{
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_lock(&s->rlock);
    s->readers[slot].busy = false;
    pthread_cond_signal(&s->rcond);
    pthread_mutex_unlock(&s->rlock);
}

/* A value for a parameter of a read query; they are bound in order from ?1. */
struct sq_param {
    enum { SQP_NULL, SQP_INT, SQP_TEXT } type;
    int64_t i;
    const char *text;
};

#define PARAMS(...)                                                                                \
    (const struct sq_param[]){__VA_ARGS__}, FS_ARRAY_LEN(((const struct sq_param[]){__VA_ARGS__}))
#define NO_PARAMS NULL, 0

static struct sq_param p_int(int64_t v)
{
    return (struct sq_param){.type = SQP_INT, .i = v};
}

/* NULL binds NULL, as bind_text */
static struct sq_param p_text(const char *v)
{
    return (struct sq_param){.type = v ? SQP_TEXT : SQP_NULL, .text = v};
}

/* 0 or less binds NULL (none), as bind_id */
static struct sq_param p_id(int64_t id)
{
    return id > 0 ? p_int(id) : (struct sq_param){.type = SQP_NULL};
}

/* FS_TIME_UNSET binds NULL, as bind_time */
static struct sq_param p_time(int64_t t)
{
    return t == FS_TIME_UNSET ? (struct sq_param){.type = SQP_NULL} : p_int(t);
}

/* a LIMIT: 0 or less is none (-1) */
static struct sq_param p_limit(int64_t n)
{
    return p_int(n > 0 ? n : -1);
}

static void bind_params(sqlite3_stmt *st, const struct sq_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int at = (int)i + 1;
        switch (p[i].type) {
        case SQP_NULL: sqlite3_bind_null(st, at); break;
        case SQP_INT: sqlite3_bind_int64(st, at, p[i].i); break;
        case SQP_TEXT: sqlite3_bind_text(st, at, p[i].text, -1, SQLITE_STATIC); break;
        }
    }
}

/* Prepare sql on a read connection (inside read_begin), bind p[0..np) and step_rows through
 * it. what names the query in an error; NULL: the SQL itself. */
static int read_rows(sqlite3 *db, const char *sql, const char *what, const struct sq_param *p,
                     size_t np, row_fn row, void *arg, struct fs_err *err)
{
    sqlite3_stmt *st;
    if (!what)
        what = sql;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_err(db, rc, false, err, what);
    bind_params(st, p, np);
    rc = step_rows(db, st, what, row, arg, err);
    sqlite3_finalize(st);
    return rc;
}

/* An API read of a single query: read_rows in a read transaction of its own. */
static int read_query(struct sq_store *s, const char *sql, const char *what,
                      const struct sq_param *p, size_t np, row_fn row, void *arg,
                      struct fs_err *err)
{
    int slot;
    sqlite3 *db = read_begin(s, &slot);
    int rc = read_rows(db, sql, what, p, np, row, arg, err);
    read_end(s, db, slot);
    return rc;
}

/* An API read of a single query whose rows, as JSON, make a new array: *out, the caller's. */
static int read_array(struct sq_store *s, const char *sql, const char *what,
                      const struct sq_param *p, size_t np, struct json_rows rows, json_t **out,
                      struct fs_err *err)
{
    if (!(rows.arr = json_array()))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return json_result(read_query(s, sql, what, p, np, append_row, &rows, err), rows.arr, out);
}

struct one_json {
    json_row_fn make;
    json_t *v;
};

static int one_json_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    struct one_json *o = arg;
    if (!(o->v = o->make(st, NULL)))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 1; /* the first row is the one */
}

/* Within a read: the row of sql (whose ?1 is id) as JSON, made by make, in *out (the caller's);
 * -FS_E_NOT_FOUND "no <noun> <prefix>-<id>" when there is none. */
static int read_by_id(sqlite3 *db, const char *sql, const char *what, int64_t id, const char *noun,
                      const char *prefix, json_row_fn make, json_t **out, struct fs_err *err)
{
    struct one_json one = {make, NULL};
    int rc = read_rows(db, sql, what, PARAMS(p_int(id)), one_json_row, &one, err);
    if (rc == 0)
        return not_found(err, noun, prefix, id);
    if (rc < 0)
        return rc;
    *out = one.v;
    return 0;
}

/* Within a read: o[key] = a new array of the rows of sql (whose ?1 is id), such as an
 * incident's episodes or a proposal's approvals. */
static int read_child_array(sqlite3 *db, json_t *o, const char *key, const char *sql,
                            const char *what, int64_t id, struct json_rows rows, struct fs_err *err)
{
    rows.arr = json_array();
    if (json_object_set_new(o, key, rows.arr) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return read_rows(db, sql, what, PARAMS(p_int(id)), append_row, &rows, err);
}

static json_t *json_time(int64_t t)
{
    if (t == FS_TIME_UNSET)
        return json_null();
    char buf[40];
    return json_string(fs_time_format(t, buf, sizeof(buf)));
}

static json_t *json_text_obj(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    return v ? v : json_object();
}

static json_t *json_id(const char *prefix, int64_t id)
{
    char buf[40];
    snprintf(buf, sizeof(buf), "%s-%lld", prefix, (long long)id);
    return json_string(buf);
}

static json_t *col_text_or_null(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? json_string((const char *)t) : json_null();
}

static json_t *episode_json(const struct fs_episode *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_id("ep", e->id));
    json_object_set_new(o, "fingerprint", json_string(e->fingerprint));
    json_object_set_new(o, "source", json_string(e->source));
    json_object_set_new(o, "status", json_string(ep_status_name(e->status)));
    json_object_set_new(o, "alertname", e->alertname ? json_string(e->alertname) : json_null());
    json_object_set_new(o, "severity", json_string(e->severity));
    json_object_set_new(o, "startsAt", json_time(e->starts_at));
    json_object_set_new(o, "endsAt", json_time(e->ends_at));
    json_object_set_new(o, "endInferred", json_boolean(e->end_inferred));
    json_object_set_new(o, "labels", json_text_obj(e->labels));
    json_object_set_new(o, "annotations", json_text_obj(e->annotations));
    json_object_set_new(o, "extra", json_text_obj(e->extra));
    json_object_set_new(o, "createdAt", json_time(e->created_at));
    json_object_set_new(o, "updatedAt", json_time(e->updated_at));
    return o;
}

static json_t *incident_json(const struct fs_incident *i)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_id("inc", i->id));
    json_object_set_new(o, "status", json_string(i->status));
    json_object_set_new(o, "severity", json_string(i->severity));
    json_object_set_new(o, "title", json_string(i->title ? i->title : ""));
    json_object_set_new(o, "groupKey", json_string(i->group_key ? i->group_key : ""));
    json_object_set_new(o, "labels", json_text_obj(i->labels));
    json_object_set_new(o, "openEpisodes", json_integer(i->open_episodes));
    json_object_set_new(o, "createdAt", json_time(i->created_at));
    json_object_set_new(o, "updatedAt", json_time(i->updated_at));
    json_object_set_new(o, "resolvedAt", json_time(i->resolved_at));
    json_object_set_new(o, "state", json_string(i->state[0] ? i->state : "new"));
    json_object_set_new(o, "stateAt", json_time(i->state_at));
    return o;
}

static json_t *episode_row_json(sqlite3_stmt *st, const void *ctx)
{
    struct fs_episode e;
    read_episode(st, &e);
    json_t *o = episode_json(&e);
    fs_episode_clear(&e);
    return o;
}

static json_t *incident_row_json(sqlite3_stmt *st, const void *ctx)
{
    struct fs_incident inc;
    read_incident(st, &inc);
    json_t *o = incident_json(&inc);
    fs_incident_clear(&inc);
    return o;
}

/* o["episodes"]: an incident's episodes, by start. */
static int read_episodes_of(sqlite3 *db, json_t *o, int64_t incident_id, struct fs_err *err)
{
    return read_child_array(db, o, "episodes",
                            "SELECT " EP_COLS
                            " FROM episodes WHERE incident_id=? ORDER BY starts_at, id",
                            "episodes of incident", incident_id,
                            (struct json_rows){.make = episode_row_json, .skip_failed = true}, err);
}

struct incident_rows {
    sqlite3 *db;
    json_t *arr;
};

static int incident_with_episodes_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    struct incident_rows *r = arg;
    json_t *o = incident_row_json(st, NULL);
    int rc = read_episodes_of(r->db, o, sqlite3_column_int64(st, 0), err);
    json_array_append_new(r->arr, o);
    return rc;
}

static int sq_incidents_list(struct fs_store *base, const struct fs_incident_filter *f,
                             json_t **out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    struct incident_rows rows = {NULL, json_array()};
    if (!rows.arr)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int slot;
    rows.db = read_begin(s, &slot);
    int rc = read_rows(rows.db,
                       "SELECT " INC_COLS " FROM incidents WHERE (?1 IS NULL OR status=?1)"
                       " AND (?2 IS NULL OR severity=?2) AND (?3 IS NULL OR updated_at>=?3)"
                       " AND (?4 IS NULL OR id<?4) ORDER BY id DESC LIMIT ?5",
                       "list incidents",
                       PARAMS(p_text(f->status), p_text(f->severity), p_time(f->since_ms),
                              p_id(f->before_id), p_limit(f->limit)),
                       incident_with_episodes_row, &rows, err);
    read_end(s, rows.db, slot);
    return json_result(rc, rows.arr, out);
}

static json_t *timeline_row_json(sqlite3_stmt *st, const void *ctx)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "ts", json_time(sqlite3_column_int64(st, 0)));
    json_object_set_new(ev, "kind", json_string((const char *)sqlite3_column_text(st, 1)));
    json_object_set_new(ev, "episodeId",
                        sqlite3_column_type(st, 2) == SQLITE_NULL
                            ? json_null()
                            : json_id("ep", sqlite3_column_int64(st, 2)));
    json_object_set_new(ev, "detail", json_text_obj((const char *)sqlite3_column_text(st, 3)));
    return ev;
}

static int sq_incident_get(struct fs_store *base, int64_t id, json_t **out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int slot;
    sqlite3 *db = read_begin(s, &slot);
    json_t *o = NULL;
    int rc = read_by_id(db, "SELECT " INC_COLS " FROM incidents WHERE id=?", "get incident", id,
                        "incident", "inc", incident_row_json, &o, err);
    if (rc == 0)
        rc = read_episodes_of(db, o, id, err);
    if (rc == 0)
        rc = read_child_array(db, o, "timeline",
                              "SELECT ts,kind,episode_id,detail FROM incident_events WHERE "
                              "incident_id=? ORDER BY id",
                              "incident timeline", id,
                              (struct json_rows){.make = timeline_row_json, .skip_failed = true},
                              err);
    read_end(s, db, slot);
    return json_result(rc, o, out);
}

static int count_row(sqlite3_stmt *st, void *n, struct fs_err *err)
{
    *(int64_t *)n = sqlite3_column_int64(st, 0);
    return 1;
}

static int sq_incidents_count(struct fs_store *base, const char *status, int64_t *n,
                              struct fs_err *err)
{
    int rc = read_query(SQ(base), "SELECT count(*) FROM incidents WHERE ?1 IS NULL OR status=?1",
                        NULL, PARAMS(p_text(status)), count_row, n, err);
    return rc < 0 ? rc : 0;
}

static int sq_proposals_count(struct fs_store *base, const char *status, int64_t *n,
                              struct fs_err *err)
{
    int rc = read_query(SQ(base), "SELECT count(*) FROM proposals WHERE ?1 IS NULL OR status=?1",
                        NULL, PARAMS(p_text(status)), count_row, n, err);
    return rc < 0 ? rc : 0;
}

static json_t *unapplied_row(sqlite3_stmt *st, const void *arg)
{
    return json_pack(
        "{s:I,s:o,s:I,s:o}", "id", (json_int_t)sqlite3_column_int64(st, 0), "source",
        col_text_or_null(st, 1), "received_at", (json_int_t)sqlite3_column_int64(st, 2), "body",
        json_stringn_nocheck(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3)));
}

/* A row whose JSON cannot be made (an empty body, text that is not UTF-8) is left out. */
static int sq_inbox_unapplied(struct fs_store *base, int limit, json_t **out, struct fs_err *err)
{
    return read_array(SQ(base),
                      "SELECT id,source,received_at,body FROM inbox WHERE applied=0 ORDER BY id "
                      "LIMIT ?1",
                      NULL, PARAMS(p_limit(limit)),
                      (struct json_rows){.make = unapplied_row, .skip_failed = true}, out, err);
}

static json_t *dead_letter_row(sqlite3_stmt *st, const void *arg)
{
    bool with_body = *(const bool *)arg;
    json_t *o =
        json_pack("{s:o,s:o,s:o,s:o,s:i,s:o,s:o,s:o,s:I,s:I}", "id",
                  json_id("dl", sqlite3_column_int64(st, 0)), "receivedAt",
                  json_time(sqlite3_column_int64(st, 1)), "source", col_text_or_null(st, 2),
                  "remote", col_text_or_null(st, 3), "httpStatus", sqlite3_column_int(st, 4),
                  "code", col_text_or_null(st, 5), "message", col_text_or_null(st, 6), "path",
                  col_text_or_null(st, 7), "bodyKept", (json_int_t)sqlite3_column_int64(st, 9),
                  "bodyTotal", (json_int_t)sqlite3_column_int64(st, 10));
    if (o && with_body) {
        /* bodies may be invalid UTF-8 (that can be why they were rejected): null then */
        const void *b = sqlite3_column_blob(st, 8);
        json_t *bs = b ? json_stringn(b, (size_t)sqlite3_column_bytes(st, 8)) : NULL;
        json_object_set_new(o, "body", bs ? bs : json_null());
    }
    return o;
}

/* A row whose JSON cannot be made (text that is not UTF-8) is left out. */
static int sq_dead_letters_list(struct fs_store *base, int limit, bool with_body, json_t **out,
                                struct fs_err *err)
{
    return read_array(
        SQ(base),
        "SELECT id,received_at,source,remote,http_status,code,message,path,body,"
        "body_len,body_total FROM dead_letters ORDER BY id DESC LIMIT ?1",
        NULL, PARAMS(p_limit(limit)),
        (struct json_rows){.make = dead_letter_row, .ctx = &with_body, .skip_failed = true}, out,
        err);
}

/* ---- safety: reads ----------------------------------------------------------------------- */

/* Stored JSON text as a value: NULL → null; text that does not parse is returned as a string,
 * so nothing stored is hidden. */
static json_t *json_text_value(const char *text)
{
    if (!text)
        return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

static json_t *json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *proposal_json(const struct fs_proposal_row *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_id("prop", r->id));
    json_object_set_new(o, "incidentId",
                        r->incident_id > 0 ? json_id("inc", r->incident_id) : json_null());
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "decision", json_string(r->decision));
    json_object_set_new(o, "proposer", json_str_or_null(r->proposer));
    json_object_set_new(o, "action", json_str_or_null(r->action));
    json_object_set_new(o, "targetKey", json_str_or_null(r->target_key));
    json_object_set_new(o, "proposal", json_text_value(r->body));
    json_object_set_new(o, "gate", json_text_value(r->gate));
    json_object_set_new(o, "risk",
                        json_pack("{s:i,s:s}", "score", r->risk_score, "level", r->risk_level));
    json_object_set_new(o, "actionHash", json_string(r->action_hash));
    json_object_set_new(o, "catalogVersion", json_string(r->catalog_version));
    json_object_set_new(o, "policyVersion", json_string(r->policy_version));
    json_object_set_new(o, "createdAt", json_time(r->created_at));
    json_object_set_new(o, "updatedAt", json_time(r->updated_at));
    json_object_set_new(o, "expiresAt", json_time(r->expires_at));
    json_object_set_new(o, "decidedBy", json_str_or_null(r->decided_by));
    json_object_set_new(o, "decidedAt", json_time(r->decided_at));
    json_object_set_new(o, "reason", json_str_or_null(r->reason));
    return o;
}

static json_t *approval_json(const struct fs_approval_row *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_id("apr", r->id));
    json_object_set_new(o, "kind", json_string(r->kind));
    json_object_set_new(o, "actor", json_str_or_null(r->actor));
    json_object_set_new(o, "role", json_string(r->role));
    json_object_set_new(o, "reason", json_str_or_null(r->reason));
    json_object_set_new(o, "actionHash",
                        r->action_hash[0] ? json_string(r->action_hash) : json_null());
    json_object_set_new(o, "createdAt", json_time(r->created_at));
    json_object_set_new(o, "expiresAt", json_time(r->expires_at));
    json_object_set_new(o, "consumedAt", json_time(r->consumed_at));
    return o;
}

static json_t *proposal_row_json(sqlite3_stmt *st, const void *ctx)
{
    struct fs_proposal_row r;
    if (!read_proposal(st, &r))
        return NULL;
    json_t *o = proposal_json(&r);
    fs_proposal_row_clear(&r);
    return o;
}

static json_t *approval_row_json(sqlite3_stmt *st, const void *ctx)
{
    struct fs_approval_row r;
    if (!read_approval(st, &r))
        return NULL;
    json_t *o = approval_json(&r);
    fs_approval_row_clear(&r);
    return o;
}

static int sq_proposals_list(struct fs_store *base, const struct fs_proposal_filter *f,
                             json_t **out, struct fs_err *err)
{
    return read_array(SQ(base),
                      "SELECT " PROP_COLS " FROM proposals WHERE (?1 IS NULL OR "
                      "status=?1) AND (?2 IS NULL OR incident_id=?2) AND (?3 IS NULL OR "
                      "id<?3) ORDER BY id DESC LIMIT ?4",
                      "list proposals",
                      PARAMS(p_text(f ? f->status : NULL), p_id(f ? f->incident_id : 0),
                             p_id(f ? f->before_id : 0), p_limit(f ? f->limit : 0)),
                      (struct json_rows){.make = proposal_row_json}, out, err);
}

static int sq_proposal_get(struct fs_store *base, int64_t id, json_t **out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int slot;
    sqlite3 *db = read_begin(s, &slot);
    json_t *o = NULL;
    int rc = read_by_id(db, "SELECT " PROP_COLS " FROM proposals WHERE id=?", "get proposal", id,
                        "proposal", "prop", proposal_row_json, &o, err);
    if (rc == 0)
        rc = read_child_array(db, o, "approvals",
                              "SELECT " APR_COLS " FROM approvals WHERE proposal_id=? ORDER BY id",
                              "approvals of proposal", id,
                              (struct json_rows){.make = approval_row_json}, err);
    read_end(s, db, slot);
    return json_result(rc, o, out);
}

static int control_row(sqlite3_stmt *st, void *controls, struct fs_err *err)
{
    json_t *c = json_object();
    json_object_set_new(c, "value", json_text_value((const char *)sqlite3_column_text(st, 1)));
    json_object_set_new(c, "updatedBy", col_text_or_null(st, 2));
    json_object_set_new(c, "updatedAt", json_time(sqlite3_column_int64(st, 3)));
    json_object_set_new(controls, (const char *)sqlite3_column_text(st, 0), c);
    return 0;
}

static int sq_controls_list(struct fs_store *base, json_t **out, struct fs_err *err)
{
    json_t *o = json_object();
    if (!o)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc =
        read_query(SQ(base), "SELECT key,value,updated_by,updated_at FROM controls ORDER BY key",
                   "list controls", NO_PARAMS, control_row, o, err);
    return json_result(rc, o, out);
}

static json_t *observation_row_json(sqlite3_stmt *st, const void *ctx)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_id("obs", sqlite3_column_int64(st, 0)));
    json_object_set_new(o, "incidentId",
                        sqlite3_column_type(st, 1) == SQLITE_NULL
                            ? json_null()
                            : json_id("inc", sqlite3_column_int64(st, 1)));
    json_object_set_new(o, "ts", json_time(sqlite3_column_int64(st, 2)));
    json_object_set_new(o, "tool", col_text_or_null(st, 3));
    json_object_set_new(o, "input", json_text_value((const char *)sqlite3_column_text(st, 4)));
    json_object_set_new(o, "output", col_text_or_null(st, 5));
    json_object_set_new(o, "durationMs", json_integer(sqlite3_column_int64(st, 6)));
    json_object_set_new(o, "actor", col_text_or_null(st, 7));
    return o;
}

static int sq_observations_list(struct fs_store *base, int64_t incident_id, json_t **out,
                                struct fs_err *err)
{
    return read_array(SQ(base),
                      "SELECT id,incident_id,ts,tool,input,output,duration_ms,actor "
                      "FROM observations WHERE incident_id=? ORDER BY id",
                      "list observations", PARAMS(p_int(incident_id)),
                      (struct json_rows){.make = observation_row_json}, out, err);
}

/* An audit row as stored. A column the row cannot carry faithfully (not an integer, NULL, an
 * embedded NUL, longer than its field) is handed over with an empty hash, so any check of the
 * row fails: the store never smooths over a difference in the chain. */
static void read_audit_row(sqlite3_stmt *st, struct fs_audit_row *r)
{
    memset(r, 0, sizeof(*r));
    bool sound = sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
                 sqlite3_column_type(st, 1) == SQLITE_INTEGER;
    r->seq = sqlite3_column_int64(st, 0);
    r->ts = sqlite3_column_int64(st, 1);
    static const struct {
        int col;
        size_t size; /* 0: pointer field */
    } cols[] = {
        {2, sizeof(r->type)}, {3, 0}, {4, 0}, {5, sizeof(r->prev_hash)}, {6, sizeof(r->hash)}};
    for (size_t i = 0; i < FS_ARRAY_LEN(cols); i++) {
        int c = cols[i].col;
        const char *t = (const char *)sqlite3_column_text(st, c);
        size_t n = (size_t)sqlite3_column_bytes(st, c);
        if (!t || strlen(t) != n || (cols[i].size && n >= cols[i].size)) {
            sound = false;
            t = "";
        }
        switch (c) {
        case 2: fs_strlcpy(r->type, t, sizeof(r->type)); break;
        case 3: r->actor = (char *)t; break;
        case 4: r->data = (char *)t; break;
        case 5: fs_strlcpy(r->prev_hash, t, sizeof(r->prev_hash)); break;
        default: fs_strlcpy(r->hash, t, sizeof(r->hash)); break;
        }
    }
    if (!sound)
        r->hash[0] = '\0';
}

struct audit_rows {
    fs_audit_row_fn fn;
    void *arg;
};

static int audit_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    const struct audit_rows *a = arg;
    struct fs_audit_row r;
    read_audit_row(st, &r);
    return a->fn(&r, a->arg);
}

static int sq_audit_scan(struct fs_store *base, const struct fs_audit_filter *f, fs_audit_row_fn fn,
                         void *arg, struct fs_err *err)
{
    /* the type list without blanks, matched as ",a,b," contains ",type," */
    char *types = NULL;
    if (f && f->types && *f->types) {
        if (!(types = fs_malloc(strlen(f->types) + 1)))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        size_t n = 0;
        for (const char *p = f->types; *p; p++)
            if (*p != ' ' && *p != '\t')
                types[n++] = *p;
        types[n] = '\0';
    }
    int rc = read_query(SQ(base),
                        "SELECT " AUDIT_COLS " FROM audit_log WHERE seq>?1 AND (?2 IS "
                        "NULL OR ts>=?2) AND (?3 IS NULL OR instr(','||?3||',', "
                        "','||type||',')>0) AND (?4 IS NULL OR actor=?4) ORDER BY seq "
                        "LIMIT ?5",
                        "scan audit log",
                        PARAMS(p_int(f && f->after_seq > 0 ? f->after_seq : 0),
                               p_time(f ? f->since_ms : FS_TIME_UNSET), p_text(types),
                               p_text(f ? f->actor : NULL), p_limit(f ? f->limit : 0)),
                        audit_row, &(struct audit_rows){fn, arg}, err);
    free(types);
    return rc;
}

static int audit_head_row(sqlite3_stmt *st, void *head, struct fs_err *err)
{
    read_audit_head(st, head);
    return 1;
}

static int sq_audit_last(struct fs_store *base, int64_t *seq, char hash[65], struct fs_err *err)
{
    struct audit_head h = {0, hash};
    int rc = read_query(SQ(base), AUDIT_HEAD_SQL, "audit head", NO_PARAMS, audit_head_row, &h, err);
    return audit_head_result(rc, &h, seq, hash);
}

static int sq_stats(struct fs_store *base, json_t **out, struct fs_err *err)
{
    static const char *const tables[] = {
        "inbox",     "dead_letters", "episodes",     "incidents",  "incident_events", "proposals",
        "approvals", "controls",     "observations", "executions", "audit_log"};
    struct sq_store *s = SQ(base);
    json_t *o = json_object();
    if (!o)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int slot, rc = 0;
    sqlite3 *db = read_begin(s, &slot);
    for (size_t i = 0; i < FS_ARRAY_LEN(tables) && rc >= 0; i++) {
        char sql[96];
        int64_t n = 0;
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE ?1 IS NULL", tables[i]);
        if ((rc = read_rows(db, sql, NULL, PARAMS(p_text(NULL)), count_row, &n, err)) >= 0)
            json_object_set_new(o, tables[i], json_integer(n));
    }
    read_end(s, db, slot);
    json_object_set_new(o, "schema_version", json_integer(s->version));
    return json_result(rc, o, out);
}

/* ---- engine ------------------------------------------------------------------------------ *
 * Not hot paths: each statement is prepared per call (the cached SQ_STMTS are for intake). */

/* On the writer connection: run sql with params to completion; *rowid (may be NULL) gets the
 * inserted row's id. */
static int writer_exec(struct sq_store *s, const char *sql, const char *what,
                       const struct sq_param *p, size_t np, int64_t *rowid, struct fs_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_err(s->db, rc, false, err, what);
    bind_params(st, p, np);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_err(s->db, rc, false, err, what);
    if (rowid)
        *rowid = sqlite3_last_insert_rowid(s->db);
    return 0;
}

struct id_list {
    int64_t *ids;
    int max, n;
};

static int id_list_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    struct id_list *l = arg;
    if (l->n < l->max)
        l->ids[l->n++] = sqlite3_column_int64(st, 0);
    return 0;
}

/* A row as an object keyed by column name in camelCase. Columns named *_id that hold another
 * record's id become "prefix-N" strings (incident_id → "inc-N"); ts and *_at become times;
 * JSON text columns (detail, result, spec, data, input) become values. */
static json_t *auto_row_json(sqlite3_stmt *st, const void *ctx)
{
    static const struct {
        const char *col, *prefix;
    } ids[] = {{"incident_id", "inc"},
               {"proposal_id", "prop"},
               {"execution_id", "exec"},
               {"investigation_id", "inv"}};
    static const char *const json_cols[] = {"detail", "result", "spec", "data", "input"};
    const char *self = ctx; /* prefix of the row's own "id", or NULL */
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        char key[64];
        size_t k = 0;
        for (const char *c = name; *c && k + 1 < sizeof(key); c++) {
            if (*c == '_' && c[1]) {
                key[k++] = (char)toupper((unsigned char)*++c);
            } else {
                key[k++] = *c;
            }
        }
        key[k] = '\0';
        json_t *v = NULL;
        int type = sqlite3_column_type(st, i);
        size_t len = strlen(name);
        if (type == SQLITE_NULL) {
            v = json_null();
        } else if (strcmp(name, "id") == 0 && self) {
            v = json_id(self, sqlite3_column_int64(st, i));
        } else if (strcmp(name, "ts") == 0 || (len > 3 && strcmp(name + len - 3, "_at") == 0)) {
            v = json_time(sqlite3_column_int64(st, i));
        } else {
            for (size_t j = 0; j < FS_ARRAY_LEN(ids) && !v; j++)
                if (strcmp(name, ids[j].col) == 0)
                    v = json_id(ids[j].prefix, sqlite3_column_int64(st, i));
            for (size_t j = 0; j < FS_ARRAY_LEN(json_cols) && !v; j++)
                if (strcmp(name, json_cols[j]) == 0)
                    v = json_text_value((const char *)sqlite3_column_text(st, i));
            if (!v)
                v = type == SQLITE_INTEGER ? json_integer(sqlite3_column_int64(st, i))
                                           : json_string((const char *)sqlite3_column_text(st, i));
        }
        if (json_object_set_new(o, key, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int sq_incident_set_state(struct fs_store *base, int64_t id, const char *state, int64_t now,
                                 struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int rc = writer_exec(s, "UPDATE incidents SET state=?,state_at=?,updated_at=? WHERE id=?",
                         "set incident state",
                         PARAMS(p_text(state), p_int(now), p_int(now), p_int(id)), NULL, err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        return not_found(err, "incident", "inc", id);
    return rc;
}

static int sq_incidents_in_state(struct fs_store *base, const char *state, int64_t *ids, int max,
                                 int *n, struct fs_err *err)
{
    struct id_list l = {ids, max, 0};
    int rc =
        read_query(SQ(base), "SELECT id FROM incidents WHERE state=? ORDER BY id LIMIT ?",
                   "incidents in state", PARAMS(p_text(state), p_int(max)), id_list_row, &l, err);
    *n = l.n;
    return rc < 0 ? rc : 0;
}

static int sq_investigation_insert(struct fs_store *base, const struct fs_investigation_row *r,
                                   int64_t *id, struct fs_err *err)
{
    return writer_exec(SQ(base),
                       "INSERT INTO investigations(incident_id,planner,playbook,status,started_at,"
                       "steps) VALUES(?,?,?,?,?,?)",
                       "insert investigation",
                       PARAMS(p_int(r->incident_id), p_text(r->planner), p_text(r->playbook),
                              p_text(r->status ? r->status : "running"), p_int(r->started_at),
                              p_int(r->steps)),
                       id, err);
}

static int sq_investigation_finish(struct fs_store *base, int64_t id,
                                   const struct fs_investigation_row *r, struct fs_err *err)
{
    return writer_exec(SQ(base),
                       "UPDATE investigations SET playbook=?,status=?,finished_at=?,steps=?,"
                       "root_cause=?,summary=?,result=? WHERE id=?",
                       "finish investigation",
                       PARAMS(p_text(r->playbook), p_text(r->status), p_time(r->finished_at),
                              p_int(r->steps), p_text(r->root_cause), p_text(r->summary),
                              p_text(r->result), p_int(id)),
                       NULL, err);
}

static int sq_investigations_list(struct fs_store *base, int64_t incident_id, json_t **out,
                                  struct fs_err *err)
{
    return read_array(SQ(base),
                      "SELECT id,incident_id,planner,playbook,status,started_at,finished_at,steps,"
                      "root_cause,summary,result FROM investigations WHERE incident_id=? "
                      "ORDER BY id",
                      "list investigations", PARAMS(p_int(incident_id)),
                      (struct json_rows){.make = auto_row_json, .ctx = "inv"}, out, err);
}

static int sq_proposals_ready(struct fs_store *base, int64_t *ids, int max, int *n,
                              struct fs_err *err)
{
    struct id_list l = {ids, max, 0};
    int rc = read_rows(SQ(base)->db,
                       "SELECT p.id FROM proposals p WHERE p.status='approved' AND NOT EXISTS "
                       "(SELECT 1 FROM executions e WHERE e.proposal_id=p.id) ORDER BY p.id "
                       "LIMIT ?",
                       "ready proposals", PARAMS(p_int(max)), id_list_row, &l, err);
    *n = l.n;
    return rc < 0 ? rc : 0;
}

static int sq_execution_of_proposal(struct fs_store *base, int64_t proposal_id, int64_t *id,
                                    struct fs_err *err)
{
    struct id_list l = {id, 1, 0};
    int rc =
        read_rows(SQ(base)->db, "SELECT id FROM executions WHERE proposal_id=? ORDER BY id LIMIT 1",
                  "execution of proposal", PARAMS(p_int(proposal_id)), id_list_row, &l, err);
    return rc < 0 ? rc : l.n;
}

static int sq_execution_describe(struct fs_store *base, int64_t id, int64_t incident_id,
                                 const char *target_kind, const char *spec, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int rc = writer_exec(s, "UPDATE executions SET incident_id=?,target_kind=?,spec=? WHERE id=?",
                         "describe execution",
                         PARAMS(p_id(incident_id), p_text(target_kind), p_text(spec), p_int(id)),
                         NULL, err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        return not_found(err, "execution", "exec", id);
    return rc;
}

static int sq_execution_finish(struct fs_store *base, int64_t id, const char *outcome,
                               int64_t finished_at, const char *result, struct fs_err *err)
{
    return writer_exec(
        SQ(base), "UPDATE executions SET outcome=?,finished_at=?,result=? WHERE id=?",
        "finish execution", PARAMS(p_text(outcome), p_time(finished_at), p_text(result), p_int(id)),
        NULL, err);
}

static int sq_exec_step_insert(struct fs_store *base, int64_t execution_id, int64_t ts,
                               const char *state, const char *detail, struct fs_err *err)
{
    return writer_exec(
        SQ(base), "INSERT INTO exec_steps(execution_id,ts,state,detail) VALUES(?,?,?,?)",
        "insert exec step",
        PARAMS(p_int(execution_id), p_int(ts), p_text(state), p_text(detail ? detail : "{}")), NULL,
        err);
}

#define EXEC_COLS                                                                                  \
    "id,proposal_id,incident_id,action,target_key,target_kind,spec,outcome,started_at,"            \
    "finished_at,result"

struct exec_rows {
    sqlite3 *db;
    json_t *arr;
};

/* An execution with its step log, read on the same connection. */
static int exec_with_steps_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    struct exec_rows *r = arg;
    json_t *o = auto_row_json(st, "exec");
    if (!o || json_array_append_new(r->arr, o) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return read_child_array(r->db, o, "steps",
                            "SELECT state,ts,detail FROM exec_steps WHERE execution_id=? "
                            "ORDER BY id",
                            "execution steps", sqlite3_column_int64(st, 0),
                            (struct json_rows){.make = auto_row_json}, err);
}

static int sq_executions_open(struct fs_store *base, json_t **out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    struct exec_rows r = {s->db, json_array()};
    if (!r.arr)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc =
        read_rows(s->db, "SELECT " EXEC_COLS " FROM executions WHERE outcome='running' ORDER BY id",
                  "open executions", NULL, 0, exec_with_steps_row, &r, err);
    return json_result(rc, r.arr, out);
}

static int sq_executions_list(struct fs_store *base, int64_t incident_id, json_t **out,
                              struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int slot;
    sqlite3 *db = read_begin(s, &slot);
    struct exec_rows r = {db, json_array()};
    int rc = r.arr ? read_rows(db,
                               "SELECT " EXEC_COLS " FROM executions WHERE incident_id=? "
                               "ORDER BY id",
                               "list executions", PARAMS(p_int(incident_id)), exec_with_steps_row,
                               &r, err)
                   : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    read_end(s, db, slot);
    return json_result(rc, r.arr, out);
}

/* One row per (entity, incident): concluding an incident again (it reopened, or a retry)
 * replaces its row instead of adding a second one. */
static int sq_entity_history_insert(struct fs_store *base, const struct fs_entity_history_row *r,
                                    struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int rc = writer_exec(s,
                         "UPDATE entity_history SET ts=?,outcome=?,action=?,root_cause=?,summary=? "
                         "WHERE entity=? AND incident_id=?",
                         "update entity history",
                         PARAMS(p_int(r->ts), p_text(r->outcome), p_text(r->action),
                                p_text(r->root_cause), p_text(r->summary), p_text(r->entity),
                                p_int(r->incident_id)),
                         NULL, err);
    if (rc < 0 || sqlite3_changes(s->db) > 0)
        return rc;
    return writer_exec(s,
                       "INSERT INTO entity_history(entity,incident_id,ts,outcome,action,root_cause,"
                       "summary) VALUES(?,?,?,?,?,?,?)",
                       "insert entity history",
                       PARAMS(p_text(r->entity), p_int(r->incident_id), p_int(r->ts),
                              p_text(r->outcome), p_text(r->action), p_text(r->root_cause),
                              p_text(r->summary)),
                       NULL, err);
}

static int sq_entity_history(struct fs_store *base, const char *entity, int limit, json_t **out,
                             struct fs_err *err)
{
    return read_array(SQ(base),
                      "SELECT incident_id,ts,outcome,action,root_cause,summary FROM entity_history "
                      "WHERE entity=? ORDER BY ts DESC, id DESC LIMIT ?",
                      "entity history", PARAMS(p_text(entity), p_int(limit > 0 ? limit : 20)),
                      (struct json_rows){.make = auto_row_json}, out, err);
}

static int group_count_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    json_t *o = json_object_get(arg, (const char *)sqlite3_column_text(st, 0));
    const char *k = (const char *)sqlite3_column_text(st, 1);
    if (o && k && json_object_set_new(o, k, json_integer(sqlite3_column_int64(st, 2))) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

/* Every column of one row into the object arg, integers and reals as they are. */
static int number_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    json_t *o = arg;
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        json_t *v = sqlite3_column_type(st, i) == SQLITE_FLOAT
                        ? json_real(sqlite3_column_double(st, i))
                        : json_integer(sqlite3_column_int64(st, i));
        if (json_object_set_new(o, sqlite3_column_name(st, i), v) < 0)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    return 1;
}

static int sq_engine_counts(struct fs_store *base, json_t **out, struct fs_err *err)
{
    json_t *o = json_pack("{s:{},s:{},s:{}}", "incidents", "investigations", "executions");
    if (!o)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc = read_query(SQ(base),
                        "SELECT 'incidents', state, count(*) FROM incidents GROUP BY state "
                        "UNION ALL SELECT 'investigations', status, count(*) FROM investigations "
                        "GROUP BY status UNION ALL SELECT 'executions', outcome, count(*) FROM "
                        "executions GROUP BY outcome",
                        "engine counts", NULL, 0, group_count_row, o, err);
    /* what the LLM planner spent, over every investigation that asked a model */
    json_t *llm = rc == 0 ? json_object() : NULL;
    if (rc == 0 && (!llm || json_object_set_new(o, "llm", llm) < 0))
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0)
        rc = read_query(SQ(base),
                        "SELECT count(*) AS investigations, "
                        "coalesce(sum(json_extract(result,'$.llm.calls')),0) AS calls, "
                        "coalesce(sum(json_extract(result,'$.llm.inputTokens')),0) AS inputTokens, "
                        "coalesce(sum(json_extract(result,'$.llm.outputTokens')),0) AS "
                        "outputTokens, "
                        "coalesce(sum(json_extract(result,'$.llm.costUsd')),0.0) AS costUsd, "
                        "coalesce(sum(json_extract(result,'$.llm.refusals')),0) AS refusals, "
                        "coalesce(sum(json_extract(result,'$.llm.fellBack')),0) AS fallbacks "
                        "FROM investigations WHERE json_extract(result,'$.llm') IS NOT NULL",
                        "llm counts", NULL, 0, number_row, llm, err);
    return json_result(rc, o, out);
}

static int kpi_int_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    json_t *o = arg;
    for (int i = 0; i < sqlite3_column_count(st); i++)
        if (json_object_set_new(o, sqlite3_column_name(st, i),
                                json_integer(sqlite3_column_int64(st, i))) < 0)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 1;
}

static int kpi_delta_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    return json_array_append_new(arg, json_integer(sqlite3_column_int64(st, 0))) < 0
               ? fs_err_set(err, FS_E_NOMEM, NULL, NULL)
               : 0;
}

static int kpi_outcome_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    return json_object_set_new(arg, (const char *)sqlite3_column_text(st, 0),
                               json_integer(sqlite3_column_int64(st, 1))) < 0
               ? fs_err_set(err, FS_E_NOMEM, NULL, NULL)
               : 0;
}

#define KPI_HUMAN                                                                                  \
    "EXISTS (SELECT 1 FROM approvals a JOIN proposals p ON p.id = a.proposal_id WHERE "            \
    "p.incident_id = i.id AND a.kind IN "

static int sq_kpi_facts(struct fs_store *base, int64_t since, int64_t now, int64_t settle_ms,
                        json_t **out, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    json_t *o = json_pack("{s:[],s:{}}", "first_action_ms", "executions");
    if (!o)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int slot;
    sqlite3 *db = read_begin(s, &slot);
    int rc = read_rows(db,
                       "SELECT (SELECT min(e.started_at) FROM executions e WHERE e.incident_id = "
                       "i.id AND e.outcome = 'succeeded') - i.created_at AS d FROM incidents i "
                       "WHERE i.created_at >= ?1 AND i.created_at < ?2 AND d IS NOT NULL",
                       "kpi first action", PARAMS(p_int(since), p_int(now)), kpi_delta_row,
                       json_object_get(o, "first_action_ms"), err);
    if (rc >= 0)
        rc = read_rows(db,
                       "SELECT count(*) AS ended, coalesce(sum(i.state IN ('resolved','no_action') "
                       "AND NOT " KPI_HUMAN "('approve','force_override'))), 0) AS autonomous "
                       "FROM incidents i WHERE i.created_at >= ?1 AND i.created_at < ?2 AND "
                       "i.state IN ('resolved','escalated','no_action','shadowed','blocked')",
                       "kpi autonomy", PARAMS(p_int(since), p_int(now)), kpi_int_row, o, err);
    if (rc >= 0)
        rc = read_rows(db,
                       "SELECT e.outcome, count(*) FROM executions e JOIN incidents i ON i.id = "
                       "e.incident_id WHERE i.created_at >= ?1 AND i.created_at < ?2 AND "
                       "e.outcome NOT IN ('running','queued') GROUP BY e.outcome",
                       "kpi executions", PARAMS(p_int(since), p_int(now)), kpi_outcome_row,
                       json_object_get(o, "executions"), err);
    if (rc >= 0)
        rc = read_rows(db,
                       "SELECT count(DISTINCT b.execution_id) AS rollback_started, count(DISTINCT "
                       "r.execution_id) AS rolled_back FROM exec_steps b JOIN executions e ON "
                       "e.id = b.execution_id JOIN incidents i ON i.id = e.incident_id LEFT JOIN "
                       "exec_steps r ON r.execution_id = b.execution_id AND r.state = "
                       "'rolled_back' WHERE b.state = 'rollback_started' AND i.created_at >= ?1 "
                       "AND i.created_at < ?2",
                       "kpi rollbacks", PARAMS(p_int(since), p_int(now)), kpi_int_row, o, err);
    if (rc >= 0)
        rc = read_rows(db,
                       "SELECT count(*) AS escalated, coalesce(sum(" KPI_HUMAN
                       "('approve','force_override','reject')) OR (i.status = 'open') OR "
                       "(i.resolved_at IS NOT NULL AND i.resolved_at >= i.state_at + ?3)), 0) AS "
                       "escalated_warranted FROM incidents i WHERE i.created_at >= ?1 AND "
                       "i.created_at < ?2 AND i.state = 'escalated' AND i.state_at <= ?2 - ?3",
                       "kpi escalations", PARAMS(p_int(since), p_int(now), p_int(settle_ms)),
                       kpi_int_row, o, err);
    read_end(s, db, slot);
    return json_result(rc < 0 ? rc : 0, o, out);
}

static int sq_incidents_unconcluded(struct fs_store *base, int64_t *ids, int max, int *n,
                                    struct fs_err *err)
{
    struct id_list l = {ids, max, 0};
    int rc = read_query(SQ(base),
                        "SELECT i.id FROM incidents i LEFT JOIN postmortems p ON "
                        "p.incident_id = i.id WHERE i.state IN ('resolved','escalated',"
                        "'no_action','shadowed','blocked') AND (p.incident_id IS NULL OR "
                        "p.created_at < i.state_at) ORDER BY i.id LIMIT ?",
                        "unconcluded incidents", PARAMS(p_int(max)), id_list_row, &l, err);
    *n = l.n;
    return rc < 0 ? rc : 0;
}

static int sq_postmortem_put(struct fs_store *base, int64_t incident_id, int64_t now,
                             const char *markdown, const char *data, struct fs_err *err)
{
    return writer_exec(SQ(base),
                       "INSERT INTO postmortems(incident_id,created_at,markdown,data) "
                       "VALUES(?1,?2,?3,?4) ON CONFLICT(incident_id) DO UPDATE SET "
                       "created_at=excluded.created_at,markdown=excluded.markdown,"
                       "data=excluded.data",
                       "put postmortem",
                       PARAMS(p_int(incident_id), p_int(now), p_text(markdown), p_text(data)), NULL,
                       err);
}

static int sq_postmortem_get(struct fs_store *base, int64_t incident_id, json_t **out,
                             struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int slot;
    sqlite3 *db = read_begin(s, &slot);
    int rc = read_by_id(db,
                        "SELECT incident_id,created_at,markdown,data FROM postmortems "
                        "WHERE incident_id=?",
                        "get postmortem", incident_id, "post-mortem for incident", "inc",
                        auto_row_json, out, err);
    read_end(s, db, slot);
    return rc;
}

/* ---- MCP server registry ------------------------------------------------------------------ */

#define MCP_COLS                                                                                   \
    "name,transport,command,args,env,url,headers,enabled,trust,read_only_tools,tool_mappings,"     \
    "source,created_at,updated_at"
#define PIN_COLS                                                                                   \
    "server,tool,sha256,status,first_seen,last_seen,approved_by,approved_at,approved_sha256,"      \
    "definition"

/* A row of MCP_COLS or PIN_COLS as an object keyed by column name: *_at and *_seen as times,
 * enabled as a boolean, the JSON columns as values. */
static json_t *mcp_row_json(sqlite3_stmt *st, const void *ctx)
{
    static const char *const json_cols[] = {
        "args", "env", "headers", "read_only_tools", "tool_mappings", "definition"};
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        size_t len = strlen(name);
        json_t *v = NULL;
        if (sqlite3_column_type(st, i) == SQLITE_NULL)
            v = json_null();
        else if ((len > 3 && strcmp(name + len - 3, "_at") == 0) ||
                 (len > 5 && strcmp(name + len - 5, "_seen") == 0))
            v = json_time(sqlite3_column_int64(st, i));
        else if (strcmp(name, "enabled") == 0)
            v = json_boolean(sqlite3_column_int(st, i) != 0);
        for (size_t j = 0; j < FS_ARRAY_LEN(json_cols) && !v; j++)
            if (strcmp(name, json_cols[j]) == 0)
                v = json_text_value((const char *)sqlite3_column_text(st, i));
        if (!v)
            v = json_string((const char *)sqlite3_column_text(st, i));
        if (json_object_set_new(o, name, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int sq_mcp_server_upsert(struct fs_store *base, const struct fs_mcp_server_row *r,
                                int64_t now, struct fs_err *err)
{
    return writer_exec(
        SQ(base),
        "INSERT INTO mcp_servers(" MCP_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
        "?13) ON CONFLICT(name) DO UPDATE SET transport=excluded.transport,"
        "command=excluded.command,args=excluded.args,env=excluded.env,url=excluded.url,"
        "headers=excluded.headers,enabled=excluded.enabled,trust=excluded.trust,"
        "read_only_tools=excluded.read_only_tools,tool_mappings=excluded.tool_mappings,"
        "source=excluded.source,updated_at=excluded.updated_at",
        "upsert mcp server",
        PARAMS(p_text(r->name), p_text(r->transport), p_text(r->command),
               p_text(r->args ? r->args : "[]"), p_text(r->env ? r->env : "{}"), p_text(r->url),
               p_text(r->headers ? r->headers : "{}"), p_int(r->enabled ? 1 : 0),
               p_text(r->trust ? r->trust : "none"),
               p_text(r->read_only_tools ? r->read_only_tools : "[]"),
               p_text(r->tool_mappings ? r->tool_mappings : "{}"),
               p_text(r->source ? r->source : "cli"), p_int(now)),
        NULL, err);
}

/* On the writer connection: the first row of sql bound with p, made by make, in *out; 0 and
 * *out NULL when there is none. */
static int writer_one(struct sq_store *s, const char *sql, const char *what,
                      const struct sq_param *p, size_t np, json_row_fn make, json_t **out,
                      struct fs_err *err)
{
    *out = NULL;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_err(s->db, rc, false, err, what);
    bind_params(st, p, np);
    struct one_json one = {make, NULL};
    rc = step_rows(s->db, st, what, one_json_row, &one, err);
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    *out = one.v;
    return 0;
}

static int sq_mcp_server_get(struct fs_store *base, const char *name, json_t **out,
                             struct fs_err *err)
{
    int rc = writer_one(SQ(base), "SELECT " MCP_COLS " FROM mcp_servers WHERE name=?",
                        "get mcp server", PARAMS(p_text(name)), mcp_row_json, out, err);
    if (rc == 0 && !*out)
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "no MCP server %s", name);
    return rc;
}

static int sq_mcp_servers_list(struct fs_store *base, json_t **out, struct fs_err *err)
{
    return read_array(SQ(base), "SELECT " MCP_COLS " FROM mcp_servers ORDER BY name",
                      "list mcp servers", NO_PARAMS, (struct json_rows){.make = mcp_row_json}, out,
                      err);
}

static int sq_mcp_server_remove(struct fs_store *base, const char *name, int64_t *pins,
                                struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int rc = writer_exec(s, "DELETE FROM mcp_tool_pins WHERE server=?", "remove mcp tool pins",
                         PARAMS(p_text(name)), NULL, err);
    int64_t n = rc == 0 ? sqlite3_changes(s->db) : 0;
    if (rc == 0)
        rc = writer_exec(s, "DELETE FROM mcp_servers WHERE name=?", "remove mcp server",
                         PARAMS(p_text(name)), NULL, err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "no MCP server %s", name);
    if (rc == 0 && pins)
        *pins = n;
    return rc;
}

static int sq_mcp_pin_put(struct fs_store *base, const struct fs_mcp_pin_row *r, int64_t now,
                          struct fs_err *err)
{
    return writer_exec(SQ(base),
                       "INSERT INTO mcp_tool_pins(server,tool,sha256,status,first_seen,last_seen,"
                       "definition) VALUES(?1,?2,?3,?4,?5,?5,?6) ON CONFLICT(server,tool) DO "
                       "UPDATE SET sha256=excluded.sha256,status=excluded.status,"
                       "last_seen=excluded.last_seen,definition=excluded.definition",
                       "put mcp tool pin",
                       PARAMS(p_text(r->server), p_text(r->tool), p_text(r->sha256),
                              p_text(r->status), p_int(now), p_text(r->definition)),
                       NULL, err);
}

static int sq_mcp_pins_get(struct fs_store *base, const char *server, json_t **out,
                           struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    sqlite3_stmt *st;
    const char *sql = "SELECT " PIN_COLS " FROM mcp_tool_pins WHERE server=? ORDER BY tool";
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_err(s->db, rc, false, err, "get mcp tool pins");
    bind_params(st, PARAMS(p_text(server)));
    struct json_rows rows = {.arr = json_array(), .make = mcp_row_json};
    if (!rows.arr) {
        sqlite3_finalize(st);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    rc = step_rows(s->db, st, "get mcp tool pins", append_row, &rows, err);
    sqlite3_finalize(st);
    return json_result(rc, rows.arr, out);
}

static int sq_mcp_pin_approve(struct fs_store *base, const char *server, const char *tool,
                              const char *sha256, const char *actor, int64_t now, bool *changed,
                              struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int rc = writer_exec(
        s,
        "UPDATE mcp_tool_pins SET status='approved',approved_by=?4,"
        "approved_at=?5,approved_sha256=sha256 WHERE server=?1 AND tool=?2 AND "
        "sha256=?3 AND status<>'approved'",
        "approve mcp tool pin",
        PARAMS(p_text(server), p_text(tool), p_text(sha256), p_text(actor), p_int(now)), NULL, err);
    if (rc == 0 && changed)
        *changed = sqlite3_changes(s->db) > 0;
    return rc;
}

/* ---- notifications: the outbox and the notifier's cursor ------------------------------------ */

/* A row as an object keyed by column name (the SQL names them in camelCase): integers as
 * integers, the notice column as a value, NULL as null. */
static json_t *plain_row_json(sqlite3_stmt *st, const void *ctx)
{
    json_t *o = json_object();
    for (int i = 0; o && i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        json_t *v;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL: v = json_null(); break;
        case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
        default:
            v = strcmp(name, "notice") == 0
                    ? json_text_value((const char *)sqlite3_column_text(st, i))
                    : json_string((const char *)sqlite3_column_text(st, i));
        }
        if (json_object_set_new(o, name, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int sq_delivery_insert(struct fs_store *base, const struct fs_delivery_row *r,
                              bool *inserted, struct fs_err *err)
{
    struct sq_store *s = SQ(base);
    int rc = writer_exec(s,
                         "INSERT OR IGNORE INTO deliveries(channel,event,audit_seq,incident_id,"
                         "proposal_id,notice,status,attempts,next_at,created_at) "
                         "VALUES(?,?,?,?,?,?,'pending',0,?,?)",
                         "queue delivery",
                         PARAMS(p_text(r->channel), p_text(r->event), p_int(r->audit_seq),
                                p_id(r->incident_id), p_id(r->proposal_id), p_text(r->notice),
                                p_int(r->next_at), p_int(r->created_at)),
                         NULL, err);
    if (rc == 0 && inserted)
        *inserted = sqlite3_changes(s->db) > 0;
    return rc;
}

static int sq_delivery_update(struct fs_store *base, int64_t id, const char *status,
                              int64_t attempts, int64_t next_at, const char *last_error,
                              const char *ref, int64_t sent_at, struct fs_err *err)
{
    return writer_exec(SQ(base),
                       "UPDATE deliveries SET status=?2,attempts=?3,next_at=?4,last_error=?5,"
                       "ref=coalesce(?6,ref),sent_at=?7 WHERE id=?1",
                       "record delivery attempt",
                       PARAMS(p_int(id), p_text(status), p_int(attempts), p_int(next_at),
                              p_text(last_error), p_text(ref), p_time(sent_at)),
                       NULL, err);
}

static int sq_notify_cursor_get(struct fs_store *base, int64_t *seq, struct fs_err *err)
{
    json_t *row = NULL;
    int rc = writer_one(SQ(base), "SELECT seq FROM notify_cursor WHERE id=1", "notify cursor",
                        NO_PARAMS, plain_row_json, &row, err);
    if (rc < 0)
        return rc;
    if (!row)
        return 0;
    *seq = json_integer_value(json_object_get(row, "seq"));
    json_decref(row);
    return 1;
}

static int sq_notify_cursor_set(struct fs_store *base, int64_t seq, int64_t now, struct fs_err *err)
{
    return writer_exec(SQ(base),
                       "INSERT INTO notify_cursor(id,seq,updated_at) VALUES(1,?1,?2) "
                       "ON CONFLICT(id) DO UPDATE SET seq=excluded.seq,"
                       "updated_at=excluded.updated_at",
                       "move notify cursor", PARAMS(p_int(seq), p_int(now)), NULL, err);
}

static int sq_deliveries_due(struct fs_store *base, const char *channel, int64_t now, int limit,
                             json_t **out, struct fs_err *err)
{
    return read_array(
        SQ(base),
        "SELECT d.id AS id,d.channel AS channel,d.event AS event,d.audit_seq AS auditSeq,"
        "coalesce(d.incident_id,0) AS incidentId,coalesce(d.proposal_id,0) AS proposalId,"
        "d.notice AS notice,d.attempts AS attempts,d.created_at AS createdAt,"
        "d.next_at AS nextAt FROM deliveries d WHERE d.channel=?1 AND d.status='pending' AND "
        "d.next_at<=?2 AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.channel=d.channel "
        "AND e.incident_id IS d.incident_id AND e.status='pending' AND e.id<d.id) "
        "ORDER BY d.id LIMIT ?3",
        "due deliveries", PARAMS(p_text(channel), p_int(now), p_limit(limit)),
        (struct json_rows){.make = plain_row_json}, out, err);
}

static int sq_delivery_next_at(struct fs_store *base, const char *channel, int64_t *next_at,
                               struct fs_err *err)
{
    int64_t n = -1;
    int rc = read_query(SQ(base),
                        "SELECT coalesce(min(next_at),-1) FROM deliveries WHERE channel=? AND "
                        "status='pending'",
                        "next delivery", PARAMS(p_text(channel)), count_row, &n, err);
    if (rc < 0)
        return rc;
    if (n < 0)
        return 0;
    *next_at = n;
    return 1;
}

static int sq_delivery_ref(struct fs_store *base, const char *channel, int64_t incident_id,
                           char **ref, struct fs_err *err)
{
    *ref = NULL;
    json_t *arr = NULL;
    int rc = read_array(SQ(base),
                        "SELECT ref FROM deliveries WHERE channel=? AND incident_id=? AND "
                        "status='sent' AND ref IS NOT NULL ORDER BY id DESC LIMIT 1",
                        "delivery ref", PARAMS(p_text(channel), p_int(incident_id)),
                        (struct json_rows){.make = plain_row_json}, &arr, err);
    if (rc < 0)
        return rc;
    const char *v = json_string_value(json_object_get(json_array_get(arr, 0), "ref"));
    if (v && !(*ref = fs_strdup(v)))
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(arr);
    return rc < 0 ? rc : *ref ? 1 : 0;
}

static int sq_notification_by_ref(struct fs_store *base, const char *channel, const char *ref,
                                  json_t **row, struct fs_err *err)
{
    json_t *arr = NULL;
    int rc = read_array(SQ(base),
                        "SELECT id,channel,event,coalesce(incident_id,0) AS incidentId,"
                        "coalesce(proposal_id,0) AS proposalId,ref FROM deliveries WHERE "
                        "channel=? AND ref=? ORDER BY proposal_id IS NULL, id DESC LIMIT 1",
                        "notification by ref", PARAMS(p_text(channel), p_text(ref)),
                        (struct json_rows){.make = plain_row_json}, &arr, err);
    if (rc < 0)
        return rc;
    json_t *o = json_array_get(arr, 0);
    if (!o) {
        json_decref(arr);
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "no notification of %s with that reference",
                          channel);
    }
    *row = json_incref(o);
    json_decref(arr);
    return 0;
}

static int sq_deliveries_list(struct fs_store *base, int64_t incident_id, int limit, json_t **out,
                              struct fs_err *err)
{
    return read_array(SQ(base),
                      "SELECT id,channel,event,incident_id,proposal_id,status,attempts,next_at,"
                      "last_error,ref,created_at,sent_at FROM deliveries WHERE "
                      "(?1=0 OR incident_id=?1) ORDER BY id DESC LIMIT ?2",
                      "list deliveries", PARAMS(p_int(incident_id), p_limit(limit)),
                      (struct json_rows){.make = auto_row_json}, out, err);
}

static int delivery_count_row(sqlite3_stmt *st, void *arg, struct fs_err *err)
{
    json_t *o = arg;
    const char *ch = (const char *)sqlite3_column_text(st, 0);
    json_t *per = json_object_get(o, ch);
    if (!per && (!(per = json_object()) || json_object_set_new(o, ch, per) < 0))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (json_object_set_new(per, (const char *)sqlite3_column_text(st, 1),
                            json_integer(sqlite3_column_int64(st, 2))) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

static int sq_deliveries_counts(struct fs_store *base, json_t **out, struct fs_err *err)
{
    json_t *o = json_object();
    if (!o)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc = read_query(SQ(base),
                        "SELECT channel,status,count(*) FROM deliveries GROUP BY channel,status",
                        "count deliveries", NO_PARAMS, delivery_count_row, o, err);
    return json_result(rc, o, out);
}

static const struct fs_store_ops sq_ops = {
    .driver = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .inbox_insert = sq_inbox_insert,
    .inbox_set_applied = sq_inbox_set_applied,
    .dead_letter_insert = sq_dead_letter_insert,
    .event_id_claim = sq_event_id_claim,
    .episode_open = sq_episode_open,
    .episode_at_or_before = sq_episode_at_or_before,
    .episode_after = sq_episode_after,
    .episode_insert = sq_episode_insert,
    .episode_update = sq_episode_update,
    .episodes_expired = sq_episodes_expired,
    .episodes_firing_fps = sq_episodes_firing_fps,
    .incident_latest = sq_incident_latest,
    .incident_load = sq_incident_load,
    .incident_insert = sq_incident_insert,
    .incident_update = sq_incident_update,
    .incident_event = sq_incident_event,
    .prune = sq_prune,
    .inbox_unapplied = sq_inbox_unapplied,
    .incidents_list = sq_incidents_list,
    .incident_get = sq_incident_get,
    .incidents_count = sq_incidents_count,
    .proposals_count = sq_proposals_count,
    .dead_letters_list = sq_dead_letters_list,
    .stats = sq_stats,
    .proposal_insert = sq_proposal_insert,
    .proposal_load = sq_proposal_load,
    .proposal_set_status = sq_proposal_set_status,
    .proposals_due = sq_proposals_due,
    .proposals_list = sq_proposals_list,
    .proposal_get = sq_proposal_get,
    .approval_insert = sq_approval_insert,
    .approval_latest = sq_approval_latest,
    .approval_consume = sq_approval_consume,
    .control_get = sq_control_get,
    .control_put = sq_control_put,
    .controls_list = sq_controls_list,
    .observation_insert = sq_observation_insert,
    .observation_ids = sq_observation_ids,
    .observations_list = sq_observations_list,
    .incident_episode_labels = sq_incident_episode_labels,
    .execution_insert = sq_execution_insert,
    .action_history = sq_action_history,
    .audit_head = sq_audit_head,
    .audit_insert = sq_audit_insert,
    .audit_scan = sq_audit_scan,
    .audit_last = sq_audit_last,
    .incident_set_state = sq_incident_set_state,
    .incidents_in_state = sq_incidents_in_state,
    .investigation_insert = sq_investigation_insert,
    .investigation_finish = sq_investigation_finish,
    .investigations_list = sq_investigations_list,
    .proposals_ready = sq_proposals_ready,
    .execution_of_proposal = sq_execution_of_proposal,
    .execution_describe = sq_execution_describe,
    .execution_finish = sq_execution_finish,
    .exec_step_insert = sq_exec_step_insert,
    .executions_open = sq_executions_open,
    .executions_list = sq_executions_list,
    .entity_history_insert = sq_entity_history_insert,
    .entity_history = sq_entity_history,
    .kpi_facts = sq_kpi_facts,
    .engine_counts = sq_engine_counts,
    .incidents_unconcluded = sq_incidents_unconcluded,
    .postmortem_put = sq_postmortem_put,
    .postmortem_get = sq_postmortem_get,
    .mcp_server_upsert = sq_mcp_server_upsert,
    .mcp_server_get = sq_mcp_server_get,
    .mcp_servers_list = sq_mcp_servers_list,
    .mcp_server_remove = sq_mcp_server_remove,
    .mcp_pin_put = sq_mcp_pin_put,
    .mcp_pins_get = sq_mcp_pins_get,
    .mcp_pin_approve = sq_mcp_pin_approve,
    .delivery_insert = sq_delivery_insert,
    .delivery_update = sq_delivery_update,
    .notify_cursor_get = sq_notify_cursor_get,
    .notify_cursor_set = sq_notify_cursor_set,
    .deliveries_due = sq_deliveries_due,
    .delivery_next_at = sq_delivery_next_at,
    .delivery_ref = sq_delivery_ref,
    .notification_by_ref = sq_notification_by_ref,
    .deliveries_list = sq_deliveries_list,
    .deliveries_counts = sq_deliveries_counts,
};
