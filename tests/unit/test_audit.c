/* Unit tests for the audit chain in a real SQLite store: a 1,000-record chain verifies; a change
 * to any single byte of any stored field of any record is caught by the per-record check, and a
 * stride sample of those changes made in the database is caught by the full verification at the
 * right record; deletion, reordering, consistent rewrites and tail truncation are caught (the
 * last two through signed checkpoints); checkpoint MACs and keys; export formats and filters. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/time.h"
#include "store/store.h"

#define N 1000
#define TS0 1767225600000LL /* 2026-01-01T00:00:00Z */

static char dir[] = "/tmp/fs-audit-XXXXXX";
static char path[160], ckfile[160];
static int dbno;
static const char key[] = "checkpoint key for the tests";

static const char *const actors[] = {"alice", "bob@example.com",  "svc:forestall",
                                     "Zoë Ω", "o'brien, \"ops\"", "policy"};

static int setup_group(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int setup(void **state)
{
    dbno++;
    snprintf(path, sizeof(path), "%s/a%d.db", dir, dbno);
    snprintf(ckfile, sizeof(ckfile), "%s/a%d.checkpoints", dir, dbno);
    return 0;
}

static struct fs_store *open_store(void)
{
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 5000};
    struct fs_store *s = NULL;
    struct fs_err err;
    if (fs_store_open(&o, &s, &err) < 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static sqlite3 *raw_open(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* What an attacker with write access to the database file does first. */
static sqlite3 *raw_open_writable(void)
{
    sqlite3 *db = raw_open();
    raw_exec(db, "DROP TRIGGER IF EXISTS audit_log_no_update;"
                 "DROP TRIGGER IF EXISTS audit_log_no_delete");
    return db;
}

static json_t *make_data(int i)
{
    switch (i % 5) {
    case 0:
        return json_pack("{s:s,s:i,s:{s:s,s:[i,i]}}", "action", "restart_service", "n", i, "target",
                         "host", "web-1", "list", i, i * 2);
    case 1: return json_pack("{s:s,s:i}", "msg", "comma, \"quote\"\nnewline\ttab", "i", i);
    case 2: return json_pack("{s:f,s:b,s:n,s:s}", "score", 0.1 * i, "ok", i & 1, "none", "z", "");
    case 3: return json_pack("[i,s,{s:s}]", i, "x", "k", "v");
    default:
        return json_pack("{s:s,s:I}", "unicode", "ü→✓ \\ /", "big", (json_int_t)9007199254740993);
    }
}

static int64_t record_ts(int i)
{
    return TS0 + (int64_t)i * 1000 + i % 7;
}

/* Append records first..n-1 in transactions of varied sizes. */
static void build_chain_from(struct fs_store *s, int first, int n)
{
    static const int sizes[] = {1, 3, 10, 50, 100, 250, 7};
    struct fs_err err;
    int i = first, k = 0;
    while (i < n) {
        int size = sizes[k++ % FS_ARRAY_LEN(sizes)];
        assert_int_equal(fs_store_begin(s, &err), 0);
        for (int j = 0; j < size && i < n; j++, i++) {
            json_t *data = make_data(i);
            int64_t seq = 0;
            if (fs_audit_append(s, record_ts(i), (enum fs_audit_type)(i % FS_AUDIT__COUNT),
                                actors[i % FS_ARRAY_LEN(actors)], data, &seq, &err) < 0)
                fail_msg("append %d: %s", i, err.msg);
            json_decref(data);
            assert_int_equal(seq, i + 1);
        }
        if (fs_store_commit(s, &err) < 0)
            fail_msg("commit: %s", err.msg);
    }
}

static void build_chain(struct fs_store *s, int n)
{
    build_chain_from(s, 0, n);
}

/* ---- loading rows ------------------------------------------------------------------------ */

struct rows {
    struct fs_audit_row *r;
    size_t n, cap;
};

static int collect(const struct fs_audit_row *r, void *arg)
{
    struct rows *rs = arg;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 256;
        rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
        assert_non_null(rs->r);
    }
    struct fs_audit_row *c = &rs->r[rs->n++];
    *c = *r;
    c->actor = strdup(r->actor);
    c->data = strdup(r->data);
    return 0;
}

static void load_rows(struct fs_store *s, const struct fs_audit_filter *f, struct rows *rs)
{
    memset(rs, 0, sizeof(*rs));
    struct fs_err err;
    assert_int_equal(fs_store_audit_scan(s, f, collect, rs, &err), 0);
}

static void free_rows(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        fs_audit_row_clear(&rs->r[i]);
    free(rs->r);
    memset(rs, 0, sizeof(*rs));
}

static struct fs_audit_report verify(struct fs_store *s, const char *cpfile, const char *k)
{
    struct fs_audit_report rep;
    struct fs_err err;
    if (fs_audit_verify(s, cpfile, k, k ? strlen(k) : 0, &rep, &err) < 0)
        fail_msg("verify could not run: %s", err.msg);
    return rep;
}

/* ---- single-byte changes ----------------------------------------------------------------- */

enum { F_SEQ, F_TS, F_TYPE, F_ACTOR, F_DATA, F_PREV, F_HASH, F__COUNT };
static const char *const field_col[] = {"seq", "ts", "type", "actor", "data", "prev_hash", "hash"};

/* The stored text of a field (seq and ts as their decimal text). */
static const char *field_text(const struct fs_audit_row *r, int f, char num[24])
{
    switch (f) {
    case F_SEQ: snprintf(num, 24, "%lld", (long long)r->seq); return num;
    case F_TS: snprintf(num, 24, "%lld", (long long)r->ts); return num;
    case F_TYPE: return r->type;
    case F_ACTOR: return r->actor;
    case F_DATA: return r->data;
    case F_PREV: return r->prev_hash;
    default: return r->hash;
    }
}

/* m = r with byte j of field f changed: a digit of seq/ts to another digit (so it stays a
 * number, and a different one), any other byte xor 0x01 (text here never holds 0x01, so it
 * never becomes NUL). Text fields are written into scratch. */
static void mutate(const struct fs_audit_row *r, int f, size_t j, struct fs_audit_row *m,
                   char *scratch)
{
    *m = *r;
    char num[24];
    switch (f) {
    case F_SEQ:
    case F_TS: {
        field_text(r, f, num);
        num[j] = (char)('0' + (num[j] - '0' + 5) % 10);
        long long v = strtoll(num, NULL, 10);
        if (f == F_SEQ)
            m->seq = v;
        else
            m->ts = v;
        break;
    }
    case F_TYPE: m->type[j] ^= 0x01; break;
    case F_PREV: m->prev_hash[j] ^= 0x01; break;
    case F_HASH: m->hash[j] ^= 0x01; break;
    case F_ACTOR:
    case F_DATA: {
        const char *src = f == F_ACTOR ? r->actor : r->data;
        size_t n = strlen(src);
        memcpy(scratch, src, n + 1);
        scratch[j] ^= 0x01;
        if (f == F_ACTOR)
            m->actor = scratch;
        else
            m->data = scratch;
        break;
    }
    }
}

static void test_chain_of_1000_verifies(void **state)
{
    struct fs_store *s = open_store();
    int64_t t0 = fs_mono_ns();
    build_chain(s, N);
    int64_t t1 = fs_mono_ns();
    struct fs_audit_report rep = verify(s, NULL, NULL);
    int64_t t2 = fs_mono_ns();
    print_message("      built %d records in %.0f ms, verified in %.0f ms\n", N, (t1 - t0) / 1e6,
                  (t2 - t1) / 1e6);
    assert_true(rep.ok);
    assert_int_equal(rep.records, N);
    assert_int_equal(rep.head_seq, N);
    assert_int_equal(rep.bad_seq, 0);
    assert_string_equal(rep.problem, "");
    assert_int_equal(rep.checkpoints, 0);
    assert_int_equal(rep.unanchored, N);

    struct rows rs;
    load_rows(s, NULL, &rs);
    assert_int_equal(rs.n, N);
    assert_string_equal(rs.r[0].prev_hash, FS_AUDIT_GENESIS);
    for (size_t i = 0; i < rs.n; i++) {
        assert_int_equal(rs.r[i].seq, (int64_t)i + 1);
        assert_int_equal(rs.r[i].ts, record_ts((int)i));
        assert_string_equal(rs.r[i].type,
                            fs_audit_type_name((enum fs_audit_type)(i % FS_AUDIT__COUNT)));
        /* data is stored canonically: re-serialising it changes nothing */
        json_t *d = json_loads(rs.r[i].data, JSON_DECODE_ANY, NULL);
        char *c = fs_json_canonical(d);
        assert_string_equal(c, rs.r[i].data);
        free(c);
        json_decref(d);
    }
    free_rows(&rs);
    fs_store_close(s);
}

static void test_every_single_byte_change_is_caught(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, N);
    struct rows rs;
    load_rows(s, NULL, &rs);
    assert_int_equal(rs.n, N);
    size_t scratch_size = 0;
    for (size_t i = 0; i < rs.n; i++)
        scratch_size = FS_MAX(scratch_size, FS_MAX(strlen(rs.r[i].data), strlen(rs.r[i].actor)));
    char *scratch = malloc(scratch_size + 1);
    assert_non_null(scratch);

    int64_t t0 = fs_mono_ns(), positions = 0, bytes = 0;
    int64_t per_field[F__COUNT] = {0};
    for (size_t i = 0; i < rs.n; i++) {
        const struct fs_audit_row *prev = i ? &rs.r[i - 1] : NULL;
        const struct fs_audit_row *succ = i + 1 < rs.n ? &rs.r[i + 1] : NULL;
        assert_true(fs_audit_check(prev, &rs.r[i], NULL, 0));
        for (int f = 0; f < F__COUNT; f++) {
            char num[24];
            size_t len = strlen(field_text(&rs.r[i], f, num));
            bytes += (int64_t)len;
            for (size_t j = 0; j < len; j++) {
                struct fs_audit_row m;
                mutate(&rs.r[i], f, j, &m, scratch);
                char why[256] = "";
                bool caught = !fs_audit_check(prev, &m, why, sizeof(why)) ||
                              (succ && !fs_audit_check(&m, succ, why, sizeof(why)));
                if (!caught)
                    fail_msg("record %zu field %s byte %zu: change not detected", i + 1,
                             field_col[f], j);
                positions++;
                per_field[f]++;
            }
        }
    }
    int64_t t1 = fs_mono_ns();
    print_message("      %lld single-byte changes (seq %lld, ts %lld, type %lld, actor %lld, data "
                  "%lld, prev_hash %lld, hash %lld) all caught in %.0f ms\n",
                  (long long)positions, (long long)per_field[F_SEQ], (long long)per_field[F_TS],
                  (long long)per_field[F_TYPE], (long long)per_field[F_ACTOR],
                  (long long)per_field[F_DATA], (long long)per_field[F_PREV],
                  (long long)per_field[F_HASH], (t1 - t0) / 1e6);
    /* every byte of every stored field of every record was changed once */
    assert_int_equal(positions, bytes);
    assert_int_equal(per_field[F_PREV], 64 * N);
    assert_int_equal(per_field[F_HASH], 64 * N);

    /* The same kind of change made in the database, for a stride sample of the positions:
     * the full verification must name the changed record (or, when the change is the record's
     * seq, the successor the chain no longer links to). */
    sqlite3 *db = raw_open_writable();
    const int samples = 50;
    int64_t stride = positions / samples, done = 0;
    for (int k = 0; k < samples; k++) {
        int64_t want = (int64_t)k * stride + 7 * k % stride, pos = 0;
        bool applied = false;
        for (size_t i = 0; i < rs.n && !applied; i++) {
            for (int f = 0; f < F__COUNT && !applied; f++) {
                char num[24];
                size_t len = strlen(field_text(&rs.r[i], f, num));
                for (size_t j = 0; j < len && !applied; j++, pos++) {
                    if (pos < want)
                        continue;
                    struct fs_audit_row m;
                    mutate(&rs.r[i], f, j, &m, scratch);
                    /* a changed seq must name no other record (the key is unique) */
                    if (f == F_SEQ && (m.seq == 0 || m.seq <= (int64_t)rs.n))
                        continue;
                    sqlite3_stmt *st;
                    char sql[96];
                    snprintf(sql, sizeof(sql), "UPDATE audit_log SET %s=?1 WHERE seq=?2",
                             field_col[f]);
                    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
                    char mt[24];
                    if (f == F_SEQ)
                        sqlite3_bind_int64(st, 1, m.seq);
                    else if (f == F_TS)
                        sqlite3_bind_int64(st, 1, m.ts);
                    else
                        sqlite3_bind_text(st, 1, field_text(&m, f, mt), -1, SQLITE_STATIC);
                    sqlite3_bind_int64(st, 2, rs.r[i].seq);
                    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
                    assert_int_equal(sqlite3_changes(db), 1);
                    sqlite3_finalize(st);

                    struct fs_audit_report rep = verify(s, NULL, NULL);
                    int64_t expect = rs.r[i].seq;
                    if (f == F_SEQ)
                        expect = i + 1 < rs.n ? rs.r[i].seq + 1 : m.seq;
                    if (rep.ok || rep.bad_seq != expect)
                        fail_msg("db change of record %lld field %s byte %zu: ok=%d bad_seq=%lld "
                                 "(want %lld): %s",
                                 (long long)rs.r[i].seq, field_col[f], j, rep.ok,
                                 (long long)rep.bad_seq, (long long)expect, rep.problem);
                    /* put it back */
                    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
                    if (f == F_SEQ)
                        sqlite3_bind_int64(st, 1, rs.r[i].seq);
                    else if (f == F_TS)
                        sqlite3_bind_int64(st, 1, rs.r[i].ts);
                    else
                        sqlite3_bind_text(st, 1, field_text(&rs.r[i], f, mt), -1, SQLITE_STATIC);
                    sqlite3_bind_int64(st, 2, f == F_SEQ ? m.seq : rs.r[i].seq);
                    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
                    sqlite3_finalize(st);
                    applied = true;
                    done++;
                }
            }
        }
        assert_true(applied);
    }
    assert_int_equal(done, samples);
    assert_true(verify(s, NULL, NULL).ok); /* everything put back */
    print_message("      %d of the changes made in the database: each named by verify\n", samples);
    sqlite3_close(db);
    free(scratch);
    free_rows(&rs);
    fs_store_close(s);
}

/* ---- deletion, reordering, rewriting, truncation ----------------------------------------- */

static void raw_copy_row(sqlite3 *db, int64_t from, int64_t to)
{
    /* give record `to` the contents (all but seq) of record `from` */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE audit_log SET (ts,type,actor,data,prev_hash,hash)"
                                        "=(SELECT ts,type,actor,data,prev_hash,hash FROM "
                                        "saved WHERE seq=?1) WHERE seq=?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static void test_deletion_and_reordering_are_caught(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, N);
    sqlite3 *db = raw_open_writable();
    raw_exec(db, "CREATE TEMP TABLE saved AS SELECT * FROM audit_log");

    /* a record deleted from the middle */
    raw_exec(db, "DELETE FROM audit_log WHERE seq=500");
    struct fs_audit_report rep = verify(s, NULL, NULL);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 501);
    assert_int_equal(rep.records, N - 1);
    assert_non_null(strstr(rep.problem, "missing"));
    raw_exec(db, "INSERT INTO audit_log SELECT * FROM saved WHERE seq=500");
    assert_true(verify(s, NULL, NULL).ok);

    /* the first record deleted */
    raw_exec(db, "DELETE FROM audit_log WHERE seq=1");
    rep = verify(s, NULL, NULL);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 2);
    raw_exec(db, "INSERT INTO audit_log SELECT * FROM saved WHERE seq=1");

    /* two records' contents swapped: far apart, then neighbours */
    static const int64_t pairs[][2] = {{300, 700}, {10, 11}, {999, 1000}};
    for (size_t k = 0; k < FS_ARRAY_LEN(pairs); k++) {
        raw_copy_row(db, pairs[k][0], pairs[k][1]);
        raw_copy_row(db, pairs[k][1], pairs[k][0]);
        rep = verify(s, NULL, NULL);
        assert_false(rep.ok);
        assert_int_equal(rep.bad_seq, pairs[k][0]);
        raw_copy_row(db, pairs[k][0], pairs[k][0]);
        raw_copy_row(db, pairs[k][1], pairs[k][1]);
        assert_true(verify(s, NULL, NULL).ok);
    }

    /* changes a C string would not show: a longer hash, a fractional ts, bytes after a NUL */
    static const char *const hidden[] = {
        "UPDATE audit_log SET hash=hash||'0' WHERE seq=400",
        "UPDATE audit_log SET prev_hash=prev_hash||'0' WHERE seq=400",
        "UPDATE audit_log SET ts=ts+0.25 WHERE seq=400",
        "UPDATE audit_log SET data=data||x'00'||'{\"more\":1}' WHERE seq=400",
        "UPDATE audit_log SET actor=actor||x'00'||'mallory' WHERE seq=400",
        "UPDATE audit_log SET type=type||x'00' WHERE seq=400",
    };
    for (size_t k = 0; k < FS_ARRAY_LEN(hidden); k++) {
        raw_exec(db, hidden[k]);
        rep = verify(s, NULL, NULL);
        if (rep.ok)
            fail_msg("not detected: %s", hidden[k]);
        assert_int_equal(rep.bad_seq, 400);
        raw_exec(db, "DELETE FROM audit_log WHERE seq=400");
        raw_exec(db, "INSERT INTO audit_log SELECT * FROM saved WHERE seq=400");
        assert_true(verify(s, NULL, NULL).ok);
    }

    /* a whole record moved to the end with a new seq */
    raw_exec(db, "UPDATE audit_log SET seq=1001 WHERE seq=1000");
    raw_exec(db, "UPDATE audit_log SET seq=1000 WHERE seq=999");
    rep = verify(s, NULL, NULL);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 1000);
    sqlite3_close(db);
    fs_store_close(s);
}

static int count_lines(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    int n = 0, c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n')
            n++;
        last = c;
    }
    fclose(f);
    return last == '\n' ? n : -1000; /* a file of whole lines */
}

static struct fs_audit_checkpointer *cp_open(const char *k)
{
    struct fs_audit_checkpointer *cp = NULL;
    struct fs_err err;
    if (fs_audit_checkpointer_open(ckfile, k, strlen(k), &cp, &err) < 0)
        fail_msg("checkpointer: %s", err.msg);
    return cp;
}

static void checkpoint(struct fs_audit_checkpointer *cp, struct fs_store *s, int64_t now)
{
    struct fs_err err;
    if (fs_audit_checkpoint(cp, s, now, &err) < 0)
        fail_msg("checkpoint: %s", err.msg);
}

static void test_tail_truncation_needs_checkpoints(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, N);
    struct fs_audit_checkpointer *cp = cp_open(key);
    checkpoint(cp, s, TS0 + 5000000);
    assert_int_equal(count_lines(ckfile), 1);
    struct fs_audit_report rep = verify(s, ckfile, key);
    assert_true(rep.ok);
    assert_int_equal(rep.checkpoints, 1);
    assert_int_equal(rep.checkpoint_seq, N);
    assert_int_equal(rep.unanchored, 0);

    sqlite3 *db = raw_open_writable();
    raw_exec(db, "DELETE FROM audit_log WHERE seq>990");
    sqlite3_close(db);

    /* the chain alone still looks sound: a shorter chain is a valid chain */
    rep = verify(s, NULL, NULL);
    assert_true(rep.ok);
    assert_int_equal(rep.records, 990);
    assert_int_equal(rep.head_seq, 990);
    /* the checkpoint says what is missing */
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 0);
    assert_int_equal(rep.head_seq, 990);
    assert_non_null(strstr(rep.problem, "10 records are missing at the tail"));
    assert_non_null(strstr(rep.problem, "truncated"));
    /* and the checkpointer refuses to carry on from a shorter chain */
    struct fs_err err;
    assert_true(fs_audit_checkpoint(cp, s, TS0 + 6000000, &err) < 0);
    assert_non_null(strstr(err.msg, "removed"));
    assert_int_equal(count_lines(ckfile), 1);

    /* all of it gone */
    db = raw_open_writable();
    raw_exec(db, "DELETE FROM audit_log");
    sqlite3_close(db);
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_non_null(strstr(rep.problem, "1000 records are missing"));
    fs_audit_checkpointer_free(cp);
    fs_store_close(s);
}

static void test_consistent_rewrite_needs_checkpoints(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, 100);
    struct fs_audit_checkpointer *cp = cp_open(key);
    checkpoint(cp, s, TS0 + 1);
    fs_audit_checkpointer_free(cp);

    /* rewrite record 95 and re-hash everything after it, as someone who knows the scheme */
    struct rows rs;
    load_rows(s, NULL, &rs);
    free(rs.r[94].data);
    rs.r[94].data = strdup("{\"action\":\"nothing to see\"}");
    sqlite3 *db = raw_open_writable();
    for (size_t i = 94; i < rs.n; i++) {
        if (i > 94)
            memcpy(rs.r[i].prev_hash, rs.r[i - 1].hash, 65);
        assert_int_equal(fs_audit_hash(&rs.r[i], rs.r[i].hash), 0);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "UPDATE audit_log SET data=?1,prev_hash=?2,hash=?3 WHERE seq=?4", -1,
                           &st, NULL);
        sqlite3_bind_text(st, 1, rs.r[i].data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rs.r[i].prev_hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, rs.r[i].hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, rs.r[i].seq);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    free_rows(&rs);
    assert_true(verify(s, NULL, NULL).ok);
    struct fs_audit_report rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 100);
    assert_non_null(strstr(rep.problem, "rewritten"));
    fs_store_close(s);
}

/* ---- checkpoints ------------------------------------------------------------------------- */

static char *slurp(const char *file)
{
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    struct fs_buf b = FS_BUF_INIT(0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        assert_int_equal(fs_buf_append(&b, tmp, n), 0);
    fclose(f);
    if (!b.data)
        return strdup("");
    return fs_buf_detach(&b, NULL);
}

static void spew(const char *file, const char *text)
{
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_checkpoints(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, 10);
    struct fs_audit_checkpointer *cp = cp_open(key);
    struct stat st;
    assert_int_equal(stat(ckfile, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    checkpoint(cp, s, TS0 + 100);
    checkpoint(cp, s, TS0 + 200); /* the head did not move: nothing written */
    assert_int_equal(count_lines(ckfile), 1);
    build_chain_from(s, 10, 20);
    checkpoint(cp, s, TS0 + 300);
    assert_int_equal(count_lines(ckfile), 2);
    fs_audit_checkpointer_free(cp);

    /* reopening reads the last checkpoint: still nothing to write */
    cp = cp_open(key);
    checkpoint(cp, s, TS0 + 400);
    assert_int_equal(count_lines(ckfile), 2);
    fs_audit_checkpointer_free(cp);

    build_chain_from(s, 20, 25);
    struct fs_audit_report rep = verify(s, ckfile, key);
    assert_true(rep.ok);
    assert_int_equal(rep.checkpoints, 2);
    assert_int_equal(rep.checkpoint_seq, 20);
    assert_int_equal(rep.unanchored, 5);
    assert_int_equal(rep.records, 25);

    /* a different key: every MAC fails, and the checkpointer will not append under it */
    rep = verify(s, ckfile, "another key");
    assert_false(rep.ok);
    assert_non_null(strstr(rep.problem, "checkpoint line 1"));
    assert_non_null(strstr(rep.problem, "MAC"));
    assert_int_equal(rep.checkpoints, 0);
    struct fs_audit_checkpointer *bad = NULL;
    struct fs_err err;
    assert_int_equal(fs_audit_checkpointer_open(ckfile, "another key", 11, &bad, &err),
                     -FS_E_CONFIG);
    assert_null(bad);
    assert_int_equal(fs_audit_checkpointer_open(ckfile, "", 0, &bad, &err), -FS_E_INVALID);

    char *orig = slurp(ckfile);
    char *second = strchr(orig, '\n') + 1;

    /* a wrong MAC on one line */
    char *t = strdup(orig);
    char *mac = strstr(t, "\"mac\":\"") + 7;
    *mac = *mac == '0' ? '1' : '0';
    spew(ckfile, t);
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_non_null(strstr(rep.problem, "checkpoint line 1: MAC does not verify"));
    assert_int_equal(rep.checkpoints, 1); /* the other line is still good */
    free(t);

    /* a seq changed under a valid-looking line */
    t = strdup(orig);
    char *seq = strstr(second, "\"seq\":20");
    assert_non_null(seq);
    t[(seq - orig) + 7] = '1'; /* 20 -> 21 */
    spew(ckfile, t);
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_non_null(strstr(rep.problem, "checkpoint line 2"));
    free(t);

    /* lines that are not checkpoints at all */
    t = malloc(strlen(orig) + 32);
    snprintf(t, strlen(orig) + 32, "%snot json\n", orig);
    spew(ckfile, t);
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_non_null(strstr(rep.problem, "checkpoint line 3"));
    free(t);

    /* valid lines out of order: seqs must not decrease */
    t = malloc(strlen(orig) + 1);
    size_t l1 = (size_t)(second - orig);
    snprintf(t, strlen(orig) + 1, "%s%.*s", second, (int)l1, orig);
    spew(ckfile, t);
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_non_null(strstr(rep.problem, "below"));
    free(t);

    /* a torn last line (a crash during its write) is cut off when the checkpointer opens */
    t = malloc(strlen(orig) + 32);
    snprintf(t, strlen(orig) + 32, "%s{\"seq\":2", orig);
    spew(ckfile, t);
    free(t);
    cp = cp_open(key);
    assert_int_equal(count_lines(ckfile), 2);
    checkpoint(cp, s, TS0 + 500);
    assert_int_equal(count_lines(ckfile), 3);
    fs_audit_checkpointer_free(cp);
    rep = verify(s, ckfile, key);
    assert_true(rep.ok);
    assert_int_equal(rep.checkpoint_seq, 25);
    assert_int_equal(rep.unanchored, 0);

    /* no key: verification cannot run; an unreadable checkpoint file neither */
    assert_true(fs_audit_verify(s, ckfile, NULL, 0, &rep, &err) < 0);
    assert_true(fs_audit_verify(s, dir, key, strlen(key), &rep, &err) < 0); /* a directory */
    free(orig);
    fs_store_close(s);
}

/* A tail cut together with the checkpoints (file deleted or emptied) must not pass as a sound
 * chain: records and no checkpoint is "not verified", naming the file. */
static void test_missing_or_emptied_checkpoints(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, 100);
    struct fs_audit_checkpointer *cp = cp_open(key);
    checkpoint(cp, s, record_ts(99) + 1);
    fs_audit_checkpointer_free(cp);
    struct fs_audit_report rep = verify(s, ckfile, key);
    assert_true(rep.ok);
    assert_int_equal(rep.checkpoint_ts, record_ts(99) + 1);
    assert_int_equal(rep.head_ts, record_ts(99));
    assert_string_equal(rep.note, "");

    sqlite3 *db = raw_open_writable();
    raw_exec(db, "DELETE FROM audit_log WHERE seq>95");
    sqlite3_close(db);
    char want[400];
    snprintf(want, sizeof(want),
             "no checkpoint found at %s: truncation of the tail cannot be ruled out", ckfile);

    /* the checkpoint file deleted */
    assert_int_equal(unlink(ckfile), 0);
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 0);
    assert_int_equal(rep.records, 95);
    assert_int_equal(rep.checkpoints, 0);
    assert_int_equal(strncmp(rep.problem, want, strlen(want)), 0);

    /* emptied */
    spew(ckfile, "");
    rep = verify(s, ckfile, key);
    assert_false(rep.ok);
    assert_int_equal(strncmp(rep.problem, want, strlen(want)), 0);

    /* the caller that asks for no checkpoint check gets the chain alone */
    rep = verify(s, NULL, NULL);
    assert_true(rep.ok);
    assert_int_equal(rep.records, 95);

    /* no records: nothing to anchor, a missing file is what a fresh install has */
    db = raw_open_writable();
    raw_exec(db, "DELETE FROM audit_log");
    sqlite3_close(db);
    unlink(ckfile);
    rep = verify(s, ckfile, key);
    assert_true(rep.ok);
    assert_int_equal(rep.records, 0);
    fs_store_close(s);
}

/* Records after the last checkpoint are normal for a while; much later ones get a note. */
static void test_stale_checkpoint_is_noted(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, 10);
    struct fs_audit_checkpointer *cp = cp_open(key);
    checkpoint(cp, s, record_ts(9) + 5);
    fs_audit_checkpointer_free(cp);
    build_chain_from(s, 10, 50); /* up to 40 s later: within the interval and its slack */
    struct fs_audit_report rep = verify(s, ckfile, key);
    assert_true(rep.ok);
    assert_int_equal(rep.unanchored, 40);
    assert_string_equal(rep.note, "");
    build_chain_from(s, 50, 100); /* 90 s after the checkpoint */
    rep = verify(s, ckfile, key);
    assert_true(rep.ok); /* informational, not a failure */
    assert_int_equal(rep.unanchored, 90);
    assert_non_null(strstr(rep.note, "the newest checkpoint (seq 10, "));
    assert_non_null(strstr(rep.note, "is 89 s older than the last record (seq 100, "));
    assert_non_null(strstr(rep.note, "90 records were written while no daemon ran"));
    fs_store_close(s);
}

static void test_empty_chain(void **state)
{
    struct fs_store *s = open_store();
    struct fs_audit_report rep = verify(s, NULL, NULL);
    assert_true(rep.ok);
    assert_int_equal(rep.records, 0);
    assert_int_equal(rep.head_seq, 0);
    assert_int_equal(rep.bad_seq, 0);
    struct fs_audit_checkpointer *cp = cp_open(key);
    checkpoint(cp, s, TS0); /* nothing to anchor */
    fs_audit_checkpointer_free(cp);
    assert_int_equal(count_lines(ckfile), 0);
    rep = verify(s, ckfile, key);
    assert_true(rep.ok);
    assert_int_equal(rep.checkpoints, 0);
    assert_int_equal(rep.unanchored, 0);
    fs_store_close(s);
}

static void test_append_rules(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    json_t *d = json_pack("{s:s}", "k", "v");
    assert_int_equal(fs_store_begin(s, &err), 0);
    static const char *const bad_actors[] = {"",
                                             "a\nb",
                                             "tab\there",
                                             "del\x7f",
                                             "\xc3",
                                             "\xc2\x85" /* NEL, a C1 control */,
                                             "\xed\xa0\x80" /* a surrogate */};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad_actors); i++)
        assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT_FREEZE, bad_actors[i], d, NULL, &err),
                         -FS_E_INVALID);
    assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT_FREEZE, NULL, d, NULL, &err), -FS_E_INVALID);
    assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT__COUNT, "alice", d, NULL, &err),
                     -FS_E_INVALID);
    assert_int_equal(fs_audit_append(s, TS0, (enum fs_audit_type) - 1, "alice", d, NULL, &err),
                     -FS_E_INVALID);
    char longactor[300];
    memset(longactor, 'a', sizeof(longactor) - 1);
    longactor[sizeof(longactor) - 1] = '\0';
    assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT_FREEZE, longactor, d, NULL, &err),
                     -FS_E_INVALID);
    int64_t seq = 0;
    assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT_MODE, "Zoë", d, &seq, &err), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT_MODE, "alice", NULL, &seq, &err), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(fs_store_commit(s, &err), 0);

    /* a record rolled back with its transaction leaves no trace and no gap */
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT_UNFREEZE, "bob", d, &seq, &err), 0);
    assert_int_equal(seq, 3);
    fs_store_rollback(s);
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(fs_audit_append(s, TS0, FS_AUDIT_FREEZE, "bob", d, &seq, &err), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(fs_store_commit(s, &err), 0);
    json_decref(d);

    struct rows rs;
    load_rows(s, NULL, &rs);
    assert_int_equal(rs.n, 3);
    assert_string_equal(rs.r[1].data, "{}");
    assert_string_equal(rs.r[2].type, "freeze");
    free_rows(&rs);
    assert_true(verify(s, NULL, NULL).ok);

    assert_string_equal(fs_audit_type_name(FS_AUDIT_PROPOSAL), "proposal");
    assert_string_equal(fs_audit_type_name(FS_AUDIT_EXECUTION), "execution");
    assert_string_equal(fs_audit_type_name(FS_AUDIT__COUNT), "unknown");

    /* the check's own rules */
    struct fs_audit_row r = {.seq = 1, .ts = 1, .actor = "a", .data = "{}"};
    fs_strlcpy(r.type, "no-such-type", sizeof(r.type));
    fs_strlcpy(r.prev_hash, FS_AUDIT_GENESIS, sizeof(r.prev_hash));
    assert_int_equal(fs_audit_hash(&r, r.hash), 0);
    char why[256];
    assert_false(fs_audit_check(NULL, &r, why, sizeof(why)));
    assert_non_null(strstr(why, "unknown type"));
    fs_strlcpy(r.type, "freeze", sizeof(r.type));
    assert_int_equal(fs_audit_hash(&r, r.hash), 0);
    assert_true(fs_audit_check(NULL, &r, why, sizeof(why)));
    assert_string_equal(why, "");
    /* length prefixes: moving a byte between neighbouring fields changes the hash */
    struct fs_audit_row a = r, b = r;
    a.actor = "ab";
    a.data = "c";
    b.actor = "a";
    b.data = "bc";
    char ha[65], hb[65];
    fs_audit_hash(&a, ha);
    fs_audit_hash(&b, hb);
    assert_string_not_equal(ha, hb);
    fs_store_close(s);
}

/* ---- export ------------------------------------------------------------------------------ */

static int to_buf(void *arg, const char *buf, size_t len)
{
    return fs_buf_append(arg, buf, len);
}

static int refuse(void *arg, const char *buf, size_t len)
{
    return -1;
}

static char *export(struct fs_store *s, const struct fs_audit_filter *f, enum fs_audit_format fmt)
{
    struct fs_buf b = FS_BUF_INIT(0);
    struct fs_err err;
    if (fs_audit_export(s, f, fmt, to_buf, &b, &err) < 0)
        fail_msg("export: %s", err.msg);
    return b.data ? fs_buf_detach(&b, NULL) : strdup("");
}

/* A small RFC 4180 reader: records of fields, CRLF between records. */
struct csv {
    char ***rec; /* rec[i][j] */
    int *nf;
    int n;
};

static void csv_parse(const char *p, struct csv *c)
{
    memset(c, 0, sizeof(*c));
    struct fs_buf field = FS_BUF_INIT(0);
    char **fields = NULL;
    int nf = 0;
    while (*p) {
        fs_buf_reset(&field);
        if (*p == '"') {
            for (p++;; p++) {
                assert_true(*p != '\0'); /* unterminated quote */
                if (*p == '"' && p[1] == '"') {
                    fs_buf_putc(&field, '"');
                    p++;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    fs_buf_putc(&field, *p);
                }
            }
        } else {
            while (*p && *p != ',' && *p != '\r' && *p != '\n') {
                assert_true(*p != '"'); /* quotes only inside quoted fields */
                fs_buf_putc(&field, *p++);
            }
        }
        fields = realloc(fields, (size_t)(nf + 1) * sizeof(*fields));
        fields[nf++] = strdup(fs_buf_str(&field));
        if (*p == ',') {
            p++;
            continue;
        }
        assert_true(p[0] == '\r' && p[1] == '\n');
        p += 2;
        c->rec = realloc(c->rec, (size_t)(c->n + 1) * sizeof(*c->rec));
        c->nf = realloc(c->nf, (size_t)(c->n + 1) * sizeof(*c->nf));
        c->rec[c->n] = fields;
        c->nf[c->n++] = nf;
        fields = NULL;
        nf = 0;
    }
    assert_int_equal(nf, 0);
    fs_buf_release(&field);
}

static void csv_free(struct csv *c)
{
    for (int i = 0; i < c->n; i++) {
        for (int j = 0; j < c->nf[i]; j++)
            free(c->rec[i][j]);
        free(c->rec[i]);
    }
    free(c->rec);
    free(c->nf);
}

static void test_export_csv(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, 60);
    /* a record with raw newlines in actor and data (only a direct insert can make one) */
    struct fs_err err;
    int64_t head;
    struct fs_audit_row r = {.ts = TS0, .actor = "multi\nline, \"actor\"", .data = "[1,\r\n2]"};
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(fs_store_audit_head(s, &head, r.prev_hash, &err), 0);
    r.seq = head + 1;
    fs_strlcpy(r.type, "observation", sizeof(r.type));
    fs_audit_hash(&r, r.hash);
    assert_int_equal(fs_store_audit_insert(s, &r, &err), 0);
    assert_int_equal(fs_store_commit(s, &err), 0);

    char *out = export(s, NULL, FS_AUDIT_CSV);
    assert_memory_equal(out, "seq,ts,type,actor,data,prev_hash,hash\r\n", 39);
    /* a field with a comma and quotes is quoted, quotes doubled */
    assert_non_null(strstr(out, ",\"o'brien, \"\"ops\"\"\","));
    struct csv c;
    csv_parse(out, &c);
    struct rows rs;
    load_rows(s, NULL, &rs);
    assert_int_equal(c.n, (int)rs.n + 1);
    for (size_t i = 0; i < rs.n; i++) {
        char **f = c.rec[i + 1];
        assert_int_equal(c.nf[i + 1], 7);
        assert_int_equal(strtoll(f[0], NULL, 10), rs.r[i].seq);
        int64_t ts;
        assert_int_equal(fs_time_parse_rfc3339(f[1], (size_t)-1, &ts), 0);
        assert_int_equal(ts, rs.r[i].ts);
        assert_int_equal(strlen(f[1]), 24); /* with milliseconds */
        assert_string_equal(f[2], rs.r[i].type);
        assert_string_equal(f[3], rs.r[i].actor);
        assert_string_equal(f[4], rs.r[i].data);
        assert_string_equal(f[5], rs.r[i].prev_hash);
        assert_string_equal(f[6], rs.r[i].hash);
    }
    assert_string_equal(c.rec[c.n - 1][3], "multi\nline, \"actor\"");
    assert_string_equal(c.rec[c.n - 1][4], "[1,\r\n2]");
    assert_string_equal(c.rec[2][4], rs.r[1].data); /* "comma, \"quote\"\nnewline" as JSON */
    csv_free(&c);
    free_rows(&rs);
    free(out);
    fs_store_close(s);
}

static void test_export_jsonl_round_trips(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, N);
    struct rows rs;
    load_rows(s, NULL, &rs);
    char *out = export(s, NULL, FS_AUDIT_JSONL);
    size_t i = 0;
    struct fs_audit_row prev;
    for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1, i++) {
        assert_true(i < rs.n);
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, &jerr);
        assert_non_null(o);
        assert_int_equal(json_object_size(o), 7);
        /* rebuild the record from the line alone */
        struct fs_audit_row r = {0};
        r.seq = json_integer_value(json_object_get(o, "seq"));
        assert_int_equal(
            fs_time_parse_rfc3339(json_string_value(json_object_get(o, "ts")), (size_t)-1, &r.ts),
            0);
        fs_strlcpy(r.type, json_string_value(json_object_get(o, "type")), sizeof(r.type));
        r.actor = (char *)json_string_value(json_object_get(o, "actor"));
        r.data = fs_json_canonical(json_object_get(o, "data"));
        fs_strlcpy(r.prev_hash, json_string_value(json_object_get(o, "prev_hash")), 65);
        fs_strlcpy(r.hash, json_string_value(json_object_get(o, "hash")), 65);
        assert_int_equal(r.seq, rs.r[i].seq);
        assert_int_equal(r.ts, rs.r[i].ts);
        assert_string_equal(r.type, rs.r[i].type);
        assert_string_equal(r.actor, rs.r[i].actor);
        assert_string_equal(r.data, rs.r[i].data);
        assert_string_equal(r.prev_hash, rs.r[i].prev_hash);
        assert_string_equal(r.hash, rs.r[i].hash);
        /* the export alone is enough to check the chain */
        assert_true(fs_audit_check(i ? &prev : NULL, &r, NULL, 0));
        prev = r;
        prev.actor = prev.data = NULL;
        free(r.data);
        json_decref(o);
    }
    assert_int_equal(i, rs.n);
    free(out);

    out = export(s, NULL, FS_AUDIT_JSON);
    json_t *arr = json_loads(out, 0, NULL);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), N);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, N - 1), "hash")),
                        rs.r[N - 1].hash);
    json_decref(arr);
    free(out);
    free_rows(&rs);
    fs_store_close(s);
}

static int count_jsonl(struct fs_store *s, const struct fs_audit_filter *f, struct rows *expect)
{
    char *out = export(s, f, FS_AUDIT_JSONL);
    int n = 0;
    for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1, n++) {
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
        assert_non_null(o);
        if (expect) {
            assert_true((size_t)n < expect->n);
            assert_int_equal(json_integer_value(json_object_get(o, "seq")), expect->r[n].seq);
        }
        json_decref(o);
    }
    free(out);
    return n;
}

static void test_export_filters(void **state)
{
    struct fs_store *s = open_store();
    build_chain(s, N);
    struct rows all;
    load_rows(s, NULL, &all);

    struct fs_audit_filter f = {.since_ms = FS_TIME_UNSET};
    assert_int_equal(count_jsonl(s, &f, NULL), N);
    f.since_ms = TS0 + 500 * 1000;
    assert_int_equal(count_jsonl(s, &f, NULL), 500);
    f.since_ms = record_ts(700);
    assert_int_equal(count_jsonl(s, &f, NULL), 300);

    int n_types = 0, n_actor = 0, n_combo = 0;
    for (size_t i = 0; i < all.n; i++) {
        bool t = strcmp(all.r[i].type, "approval") == 0 || strcmp(all.r[i].type, "freeze") == 0;
        bool a = strcmp(all.r[i].actor, "o'brien, \"ops\"") == 0;
        n_types += t;
        n_actor += a;
        n_combo += t && strcmp(all.r[i].actor, "svc:forestall") == 0 && all.r[i].seq > 100;
    }
    assert_true(n_types > 0 && n_actor > 0 && n_combo > 3);
    f = (struct fs_audit_filter){.since_ms = FS_TIME_UNSET, .types = "approval, freeze"};
    assert_int_equal(count_jsonl(s, &f, NULL), n_types);
    f.types = "approval,freeze,approval";
    assert_int_equal(count_jsonl(s, &f, NULL), n_types);
    f.types = "approv"; /* whole names only */
    assert_int_equal(count_jsonl(s, &f, NULL), 0);
    f = (struct fs_audit_filter){.since_ms = FS_TIME_UNSET, .actor = "o'brien, \"ops\""};
    assert_int_equal(count_jsonl(s, &f, NULL), n_actor);
    f = (struct fs_audit_filter){.since_ms = FS_TIME_UNSET, .after_seq = 990};
    struct rows tail = {.r = all.r + 990, .n = 10};
    assert_int_equal(count_jsonl(s, &f, &tail), 10);
    f = (struct fs_audit_filter){.since_ms = FS_TIME_UNSET, .limit = 5};
    assert_int_equal(count_jsonl(s, &f, &all), 5);
    f = (struct fs_audit_filter){.since_ms = FS_TIME_UNSET,
                                 .types = "freeze,approval",
                                 .actor = "svc:forestall",
                                 .after_seq = 100,
                                 .limit = 3};
    struct rows got;
    load_rows(s, &f, &got);
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++) {
        assert_true(got.r[i].seq > 100);
        assert_string_equal(got.r[i].actor, "svc:forestall");
        assert_true(strcmp(got.r[i].type, "freeze") == 0 || strcmp(got.r[i].type, "approval") == 0);
    }
    free_rows(&got);

    /* CSV and JSON honour the same filter; an empty result is still well-formed */
    f = (struct fs_audit_filter){.since_ms = FS_TIME_UNSET, .after_seq = N};
    char *out = export(s, &f, FS_AUDIT_CSV);
    assert_string_equal(out, "seq,ts,type,actor,data,prev_hash,hash\r\n");
    free(out);
    out = export(s, &f, FS_AUDIT_JSON);
    json_t *arr = json_loads(out, 0, NULL);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    free(out);
    out = export(s, &f, FS_AUDIT_JSONL);
    assert_string_equal(out, "");
    free(out);

    /* a writer that fails stops the export */
    struct fs_err err;
    assert_int_equal(fs_audit_export(s, NULL, FS_AUDIT_JSONL, refuse, NULL, &err), -FS_E_IO);
    assert_int_equal(err.code, FS_E_IO);

    enum fs_audit_format fmt;
    assert_int_equal(fs_audit_format_parse("csv", &fmt), 0);
    assert_int_equal(fmt, FS_AUDIT_CSV);
    assert_int_equal(fs_audit_format_parse("jsonl", &fmt), 0);
    assert_int_equal(fmt, FS_AUDIT_JSONL);
    assert_int_equal(fs_audit_format_parse("json", &fmt), 0);
    assert_int_equal(fmt, FS_AUDIT_JSON);
    assert_int_equal(fs_audit_format_parse("xml", &fmt), -FS_E_INVALID);
    assert_int_equal(fs_audit_format_parse(NULL, &fmt), -FS_E_INVALID);
    free_rows(&all);
    fs_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_chain_of_1000_verifies, setup),
        cmocka_unit_test_setup(test_every_single_byte_change_is_caught, setup),
        cmocka_unit_test_setup(test_deletion_and_reordering_are_caught, setup),
        cmocka_unit_test_setup(test_tail_truncation_needs_checkpoints, setup),
        cmocka_unit_test_setup(test_consistent_rewrite_needs_checkpoints, setup),
        cmocka_unit_test_setup(test_checkpoints, setup),
        cmocka_unit_test_setup(test_missing_or_emptied_checkpoints, setup),
        cmocka_unit_test_setup(test_stale_checkpoint_is_noted, setup),
        cmocka_unit_test_setup(test_empty_chain, setup),
        cmocka_unit_test_setup(test_append_rules, setup),
        cmocka_unit_test_setup(test_export_csv, setup),
        cmocka_unit_test_setup(test_export_jsonl_round_trips, setup),
        cmocka_unit_test_setup(test_export_filters, setup),
    };
    return cmocka_run_group_tests(tests, setup_group, NULL);
}
