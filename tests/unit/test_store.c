/* Unit tests for the SQLite store: migrations, refusing a newer schema, durability errors
 * mapped to fail-stop / disk full / busy through the fault VFS, and dead letters that keep
 * bytes which are not even UTF-8. */
#include "unit.h"

#include <sqlite3.h>
#include <unistd.h>

#include "core/fault.h"
#include "core/time.h"
#include "store/store.h"

static char dir[] = "/tmp/fs-store-XXXXXX";
static char path[128];

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/t.db", dir);
    /* the fault VFS is only used when faults may be armed */
    setenv("FORESTALL_FAULT", "armed-by-test", 1);
    return 0;
}

static struct fs_store *open_store(void)
{
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 100};
    struct fs_store *s = NULL;
    struct fs_err err;
    if (fs_store_open(&o, &s, &err) < 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static int insert_row(struct fs_store *s, const char *body, struct fs_err *err)
{
    struct fs_inbox_row r = {.received_at = fs_now_ms(),
                             .source = "alertmanager",
                             .body = body,
                             .body_len = strlen(body),
                             .alerts = 1,
                             .applied = true};
    int rc = fs_store_begin(s, err);
    if (rc == 0)
        rc = fs_store_inbox_insert(s, &r, NULL, err);
    if (rc == 0)
        return fs_store_commit(s, err);
    fs_store_rollback(s);
    return rc;
}

static void test_migrations_and_reopen(void **state)
{
    struct fs_store *s = open_store();
    assert_int_equal(fs_store_schema_version(s), FS_STORE_SCHEMA_VERSION);
    struct fs_err err;
    assert_int_equal(insert_row(s, "{}", &err), 0);
    fs_store_close(s);
    s = open_store(); /* migrations are not re-applied; data is kept */
    json_t *stats;
    assert_int_equal(fs_store_stats(s, &stats, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "inbox")), 1);
    json_decref(stats);
    fs_store_close(s);
}

static void test_refuses_newer_schema(void **state)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 100};
    struct fs_store *s = NULL;
    struct fs_err err;
    assert_true(fs_store_open(&o, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "newer forestall"));
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char back[64];
    snprintf(back, sizeof(back), "PRAGMA user_version=%d", FS_STORE_SCHEMA_VERSION);
    sqlite3_exec(db, back, NULL, NULL, NULL);
    sqlite3_close(db);
    o.driver = "oracle";
    assert_int_equal(fs_store_open(&o, &s, &err), -FS_E_CONFIG);
}

static void test_fsync_failure_is_failstop(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    assert_int_equal(fs_fault_arm("store.fsync@1"), 0);
    assert_int_equal(insert_row(s, "{\"lost\":true}", &err), -FS_E_FAILSTOP);
    assert_int_equal(err.code, FS_E_FAILSTOP);
    assert_int_equal(fs_fault_arm(NULL), 0);
    fs_store_close(s);
}

/* The checkpointer's fsync fails: the store stops accepting transactions (fail-stop) even though
 * every commit itself went well, because the database file's state is no longer known. */
static void test_checkpoint_fsync_failure_is_failstop(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    assert_int_equal(fs_fault_arm("store.checkpoint_fsync@1"), 0);
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) { /* the checkpointer runs every 500 ms */
        rc = insert_row(s, "{\"before the checkpoint\":true}", &err);
        usleep(50 * 1000);
    }
    assert_int_equal(rc, -FS_E_FAILSTOP);
    assert_non_null(strstr(err.msg, "WAL checkpoint"));
    assert_int_equal(insert_row(s, "{}", &err), -FS_E_FAILSTOP); /* and it stays stopped */
    assert_int_equal(fs_fault_arm(NULL), 0);
    fs_store_close(s);
}

static void test_disk_full_and_busy_are_transient(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    assert_int_equal(fs_fault_arm("store.full@1x1000"), 0);
    char big[8192];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(insert_row(s, big, &err), -FS_E_DISK_FULL);
    assert_int_equal(fs_fault_arm("store.busy@1x1"), 0);
    assert_int_equal(insert_row(s, "{}", &err), -FS_E_BUSY);
    assert_int_equal(fs_fault_arm(NULL), 0);
    assert_int_equal(insert_row(s, "{}", &err), 0); /* and then it works again */
    fs_store_close(s);
}

static void test_dead_letter_keeps_raw_bytes(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    const char raw[] = "{\"alerts\":\"\xff\xfe\"}";
    struct fs_dead_letter d = {.received_at = fs_now_ms(),
                               .source = "alertmanager",
                               .remote = "127.0.0.1:5",
                               .http_status = 400,
                               .code = "invalid_utf8",
                               .message = "invalid UTF-8 at byte 11",
                               .body = raw,
                               .body_len = sizeof(raw) - 1,
                               .body_total = sizeof(raw) - 1};
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(fs_store_dead_letter_insert(s, &d, NULL, &err), 0);
    assert_int_equal(fs_store_commit(s, &err), 0);
    json_t *arr;
    assert_int_equal(fs_store_dead_letters_list(s, 10, true, &arr, &err), 0);
    json_t *dl = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(dl, "code")), "invalid_utf8");
    assert_true(json_is_null(json_object_get(dl, "body"))); /* not representable as JSON text */
    assert_int_equal(json_integer_value(json_object_get(dl, "bodyKept")), sizeof(raw) - 1);
    json_decref(arr);
    fs_store_close(s);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_prepare_v2(db, "SELECT body FROM dead_letters", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), sizeof(raw) - 1);
    assert_memory_equal(sqlite3_column_blob(st, 0), raw, sizeof(raw) - 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_prune_keeps_unapplied(void **state)
{
    struct fs_store *s = open_store();
    struct fs_err err;
    struct fs_inbox_row r = {.received_at = 1000,
                             .source = "alertmanager",
                             .body = "{}",
                             .body_len = 2,
                             .alerts = 0,
                             .applied = false,
                             .error = "x"};
    assert_int_equal(fs_store_begin(s, &err), 0);
    assert_int_equal(fs_store_inbox_insert(s, &r, NULL, &err), 0);
    int64_t deleted = 0;
    assert_int_equal(fs_store_prune(s, fs_now_ms(), fs_now_ms(), fs_now_ms(), &deleted, &err), 0);
    assert_int_equal(fs_store_commit(s, &err), 0);
    json_t *rows;
    assert_int_equal(fs_store_inbox_unapplied(s, 10, &rows, &err), 0);
    assert_int_equal(json_array_size(rows), 1); /* never pruned before it is applied */
    json_decref(rows);
    fs_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_and_reopen),
        cmocka_unit_test(test_refuses_newer_schema),
        cmocka_unit_test(test_fsync_failure_is_failstop),
        cmocka_unit_test(test_checkpoint_fsync_failure_is_failstop),
        cmocka_unit_test(test_disk_full_and_busy_are_transient),
        cmocka_unit_test(test_dead_letter_keeps_raw_bytes),
        cmocka_unit_test(test_prune_keeps_unapplied),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
