/* auditbench: what the audit hash chain costs, against a baseline measured in the same run.
 *
 *   auditbench [--records N] [--single-records M] [--repeat R] [--dir DIR] [--keep] [--quick]
 *
 * In a fresh temp dir (under $BENCH_TMPDIR or $TMPDIR or /tmp): appends N records with
 * fs_audit_append to a real store (SQLite, WAL, synchronous=FULL) in transactions of 100, and
 * M records one per transaction; as the baseline, inserts the same rows (precomputed text,
 * no canonical JSON, no head lookup, no hashing) with the same transaction sizes through a raw
 * sqlite3 connection into a separate database with the same schema and pragmas. Then verifies
 * the N-record chain with fs_audit_verify against a plain scan of the same rows by a raw
 * connection. Each measurement runs R times, interleaved with its baseline, on fresh
 * databases; every run is printed and the best of each is kept for the summary lines:
 *
 *   audit append (100/tx): 85000 records/s; baseline raw insert 120000/s; ratio 0.71
 *
 * --quick is a smoke run, not a measurement: 2,000 records (100/tx), 200 (1/tx), one run each
 * (options given after it still apply).
 *
 * Exit status: 0 when the measurements ran, 2 on usage or setup errors. */
#include "core/common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/embed.h"
#include "core/json.h"
#include "core/time.h"
#include "store/store.h"

#define TMPFS_MAGIC_ 0x01021994

struct opts {
    int64_t records;        /* N: 100/tx appends and the verify */
    int64_t single_records; /* M: 1/tx appends */
    int repeat;
    const char *dir;
    bool keep;
};

/* One prepared record: the value given to fs_audit_append and, for the baseline, the row the
 * chain would store for it. */
struct rec {
    json_t *data;
    enum fs_audit_type type;
    const char *actor;
    int64_t ts;
    struct fs_audit_row row; /* data owned */
};

static const char *const actors[] = {"alice@example.com",  "bob@example.com", "policy",
                                     "agent:investigator", "svc:executor",    "carol (sre)"};

static void die(const char *what, const struct fs_err *err)
{
    fprintf(stderr, "auditbench: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    exit(2);
}

/* Records shaped like what the safety layer writes: proposals and decisions with targets,
 * parameters, scores and rule contributions; approvals and mode changes are smaller. */
static json_t *make_data(int64_t i)
{
    char host[32], prop[32];
    snprintf(host, sizeof(host), "web-%" PRId64, i % 97);
    snprintf(prop, sizeof(prop), "prop-%" PRId64, i / 4 + 1);
    switch (i % 4) {
    case 0:
        return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:i,s:s},s:[s,s],s:s}", "proposal", prop,
                         "action", "restart_service", "target", "host", host, "service", "api",
                         "params", "grace_seconds", 30, "signal", "TERM", "evidence", "obs-12",
                         "obs-15", "incident", "inc-7");
    case 1:
        return json_pack("{s:s,s:s,s:i,s:s,s:[{s:s,s:i},{s:s,s:i},{s:s,s:i}],s:s}", "proposal",
                         prop, "decision", "REQUIRE_APPROVAL", "score", (int)(i % 100), "level",
                         "medium", "contributions", "rule", "blast_radius", "points", 10, "rule",
                         "recent_failures", "points", 20, "rule", "business_hours", "points", 12,
                         "actionHash",
                         "9f2b8c1d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c");
    case 2:
        return json_pack("{s:s,s:s,s:s}", "proposal", prop, "actionHash",
                         "9f2b8c1d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
                         "comment", "disk at 91%, restart frees the leaked fds");
    default:
        return json_pack("{s:s,s:s,s:s,s:i,s:s}", "proposal", prop, "phase", "result", "outcome",
                         "succeeded", "exitCode", 0, "output", "service api restarted");
    }
}

static struct rec *prepare(int64_t n, int64_t ts0)
{
    struct rec *r = calloc((size_t)n, sizeof(*r));
    if (!r)
        die("out of memory", NULL);
    static const enum fs_audit_type types[] = {FS_AUDIT_PROPOSAL, FS_AUDIT_DECISION,
                                               FS_AUDIT_APPROVAL, FS_AUDIT_EXECUTION};
    char prev[65] = FS_AUDIT_GENESIS;
    for (int64_t i = 0; i < n; i++) {
        r[i].data = make_data(i);
        r[i].type = types[i % 4];
        r[i].actor = actors[i % FS_ARRAY_LEN(actors)];
        r[i].ts = ts0 + i;
        struct fs_audit_row *w = &r[i].row;
        w->seq = i + 1;
        w->ts = r[i].ts;
        fs_strlcpy(w->type, fs_audit_type_name(r[i].type), sizeof(w->type));
        w->actor = (char *)r[i].actor;
        w->data = fs_json_canonical(r[i].data);
        memcpy(w->prev_hash, prev, 65);
        if (!r[i].data || !w->data || fs_audit_hash(w, w->hash) < 0)
            die("cannot prepare the records", NULL);
        memcpy(prev, w->hash, 65);
    }
    return r;
}

static void unlink_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* ---- forestall ----------------------------------------------------------------------------- */

static struct fs_store *store_open(const char *path)
{
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 5000};
    struct fs_store *s = NULL;
    struct fs_err err;
    if (fs_store_open(&o, &s, &err) < 0)
        die("cannot open the store", &err);
    return s;
}

static double audit_append(const char *path, const struct rec *r, int64_t n, int per_tx)
{
    unlink_db(path);
    struct fs_store *s = store_open(path);
    struct fs_err err;
    int64_t t0 = fs_mono_ns();
    for (int64_t i = 0; i < n;) {
        if (fs_store_begin(s, &err) < 0)
            die("begin", &err);
        for (int k = 0; k < per_tx && i < n; k++, i++)
            if (fs_audit_append(s, r[i].ts, r[i].type, r[i].actor, r[i].data, NULL, &err) < 0)
                die("append", &err);
        if (fs_store_commit(s, &err) < 0)
            die("commit", &err);
    }
    int64_t t1 = fs_mono_ns();
    fs_store_close(s);
    return (double)n / ((double)(t1 - t0) / 1e9);
}

static double audit_verify(const char *path, int64_t n)
{
    struct fs_store *s = store_open(path);
    struct fs_audit_report rep;
    struct fs_err err;
    int64_t t0 = fs_mono_ns();
    if (fs_audit_verify(s, NULL, NULL, 0, &rep, &err) < 0)
        die("verify", &err);
    int64_t t1 = fs_mono_ns();
    fs_store_close(s);
    if (!rep.ok || rep.records != n) {
        fprintf(stderr, "auditbench: the chain did not verify: %s\n", rep.problem);
        exit(2);
    }
    return (double)n / ((double)(t1 - t0) / 1e9);
}

/* ---- baseline: raw sqlite3 ----------------------------------------------------------------- */

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "auditbench: sqlite: %.80s: %s\n", sql, msg ? msg : "?");
        exit(2);
    }
}

/* The same schema (the embedded migrations) and the same pragmas as the store's writer. */
static sqlite3 *raw_create(const char *path)
{
    unlink_db(path);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("cannot create the baseline database", NULL);
    sqlite3_busy_timeout(db, 5000);
    raw_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                 "PRAGMA wal_autocheckpoint=0");
    for (const struct fs_embed_file *f = fs_embed_files; f->name; f++)
        if (strncmp(f->name, "src/store/sql/sqlite/", 21) == 0)
            raw_exec(db, (const char *)f->start);
    return db;
}

static double raw_insert(const char *path, const struct rec *r, int64_t n, int per_tx)
{
    sqlite3 *db = raw_create(path);
    sqlite3_stmt *begin, *commit, *ins;
    sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL);
    sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO audit_log(seq,ts,type,actor,data,prev_hash,hash) "
                       "VALUES(?,?,?,?,?,?,?)",
                       -1, &ins, NULL);
    int64_t t0 = fs_mono_ns();
    for (int64_t i = 0; i < n;) {
        sqlite3_reset(begin);
        if (sqlite3_step(begin) != SQLITE_DONE)
            die("baseline begin", NULL);
        for (int k = 0; k < per_tx && i < n; k++, i++) {
            const struct fs_audit_row *w = &r[i].row;
            sqlite3_reset(ins);
            sqlite3_bind_int64(ins, 1, w->seq);
            sqlite3_bind_int64(ins, 2, w->ts);
            sqlite3_bind_text(ins, 3, w->type, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, w->actor, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, w->data, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, w->prev_hash, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 7, w->hash, -1, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                die("baseline insert", NULL);
        }
        sqlite3_reset(commit);
        if (sqlite3_step(commit) != SQLITE_DONE)
            die("baseline commit", NULL);
    }
    int64_t t1 = fs_mono_ns();
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return (double)n / ((double)(t1 - t0) / 1e9);
}

/* Read every row of the chain in seq order, touching every column, nothing checked. */
static double raw_scan(const char *path, int64_t n)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("cannot open the chain for the scan", NULL);
    sqlite3_stmt *st;
    int64_t t0 = fs_mono_ns(), rows = 0, bytes = 0;
    sqlite3_prepare_v2(db,
                       "SELECT seq,ts,type,actor,data,prev_hash,hash FROM audit_log ORDER BY seq",
                       -1, &st, NULL);
    raw_exec(db, "BEGIN");
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        bytes += sqlite3_column_int64(st, 0) + sqlite3_column_int64(st, 1);
        for (int c = 2; c < 7; c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            bytes += t ? (int64_t)strlen((const char *)t) : 0;
        }
    }
    raw_exec(db, "COMMIT");
    int64_t t1 = fs_mono_ns();
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rows != n || bytes == 0)
        die("the baseline scan did not see every row", NULL);
    return (double)n / ((double)(t1 - t0) / 1e9);
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: auditbench [--records N] [--single-records M] [--repeat R] "
                    "[--dir DIR] [--keep] [--quick]\n");
    exit(2);
}

static void summary(const char *what, const char *base, double best, double best_base)
{
    printf("%s: %.0f records/s; %s %.0f/s; ratio %.2f\n", what, best, base, best_base,
           best / best_base);
}

int main(int argc, char **argv)
{
    struct opts o = {.records = 50000, .single_records = -1, .repeat = 3};
    static const struct option longopts[] = {{"records", required_argument, NULL, 'n'},
                                             {"single-records", required_argument, NULL, 'm'},
                                             {"repeat", required_argument, NULL, 'r'},
                                             {"dir", required_argument, NULL, 'd'},
                                             {"keep", no_argument, NULL, 'k'},
                                             {"quick", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:m:r:d:kq", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': o.records = strtoll(optarg, NULL, 10); break;
        case 'm': o.single_records = strtoll(optarg, NULL, 10); break;
        case 'r': o.repeat = atoi(optarg); break;
        case 'd': o.dir = optarg; break;
        case 'k': o.keep = true; break;
        case 'q': /* a smoke run: fewer records, one run */
            o.records = 2000;
            o.single_records = 200;
            o.repeat = 1;
            break;
        default: usage();
        }
    }
    if (optind != argc || o.records < 1 || o.repeat < 1)
        usage();
    if (o.single_records < 0)
        o.single_records = o.records;

    char dir[512];
    if (o.dir) {
        snprintf(dir, sizeof(dir), "%s", o.dir);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            die("cannot create the directory", NULL);
    } else {
        const char *base = getenv("BENCH_TMPDIR");
        if (!base || !*base)
            base = getenv("TMPDIR");
        if (!base || !*base)
            base = "/tmp";
        snprintf(dir, sizeof(dir), "%s/auditbench-XXXXXX", base);
        if (!mkdtemp(dir))
            die("cannot create a temp dir", NULL);
    }
    struct statfs sfs;
    bool tmpfs = statfs(dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_;
    int64_t most = FS_MAX(o.records, o.single_records);
    struct rec *r = prepare(most, 1767225600000LL);
    size_t data_bytes = 0;
    for (int64_t i = 0; i < o.records; i++)
        data_bytes += strlen(r[i].row.data);
    printf("auditbench: %" PRId64 " records (100/tx), %" PRId64 " (1/tx), data mean %zu bytes, "
           "best of %d, dir %s%s\n",
           o.records, o.single_records, data_bytes / (size_t)o.records, o.repeat, dir,
           tmpfs ? " (tmpfs: fsync costs nothing here)" : "");
    fflush(stdout);

    char a100[600], b100[600], a1[600], b1[600];
    snprintf(a100, sizeof(a100), "%s/audit100.db", dir);
    snprintf(b100, sizeof(b100), "%s/raw100.db", dir);
    snprintf(a1, sizeof(a1), "%s/audit1.db", dir);
    snprintf(b1, sizeof(b1), "%s/raw1.db", dir);

    double best_a100 = 0, best_b100 = 0, best_a1 = 0, best_b1 = 0, best_v = 0, best_s = 0;
    for (int k = 1; k <= o.repeat; k++) {
        double a = audit_append(a100, r, o.records, 100);
        double b = raw_insert(b100, r, o.records, 100);
        printf("  run %d  append (100/tx): audit %.0f/s, raw insert %.0f/s\n", k, a, b);
        best_a100 = FS_MAX(best_a100, a);
        best_b100 = FS_MAX(best_b100, b);
        fflush(stdout);
    }
    for (int k = 1; k <= o.repeat; k++) {
        double a = audit_append(a1, r, o.single_records, 1);
        double b = raw_insert(b1, r, o.single_records, 1);
        printf("  run %d  append (1/tx): audit %.0f/s, raw insert %.0f/s\n", k, a, b);
        best_a1 = FS_MAX(best_a1, a);
        best_b1 = FS_MAX(best_b1, b);
        fflush(stdout);
    }
    for (int k = 1; k <= o.repeat; k++) {
        double v = audit_verify(a100, o.records);
        double sc = raw_scan(a100, o.records);
        printf("  run %d  verify: audit %.0f/s, plain scan %.0f/s\n", k, v, sc);
        best_v = FS_MAX(best_v, v);
        best_s = FS_MAX(best_s, sc);
        fflush(stdout);
    }
    summary("audit append (100/tx)", "baseline raw insert", best_a100, best_b100);
    summary("audit append (1/tx)", "baseline raw insert", best_a1, best_b1);
    summary("audit verify", "baseline plain scan", best_v, best_s);

    for (int64_t i = 0; i < most; i++) {
        json_decref(r[i].data);
        free(r[i].row.data);
    }
    free(r);
    if (!o.keep) {
        unlink_db(a100);
        unlink_db(b100);
        unlink_db(a1);
        unlink_db(b1);
        if (!o.dir)
            rmdir(dir);
    }
    return 0;
}
