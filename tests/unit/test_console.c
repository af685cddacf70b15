/* The web console's sessions and CSRF pieces (intake/console.h): cookies and CSRF tokens are
 * fresh and random, only live sessions are found, idle and absolute expiry, eviction when full,
 * logout, the CSRF comparison, form decoding and the same-origin check of the login form. */
#include "unit.h"

#include "intake/console.h"

static struct fs_console_session who(const char *name, enum fs_role role)
{
    struct fs_console_session w = {0};
    snprintf(w.name, sizeof(w.name), "%s", name);
    w.role = role;
    w.authenticated = true;
    return w;
}

static void test_open_find_close(void **state)
{
    (void)state;
    struct fs_console_sessions *s = fs_console_sessions_new(8, 1000, 10000);
    assert_non_null(s);
    struct fs_console_session w = who("alice", FS_ROLE_APPROVER), a, b, got;
    char c1[FS_CONSOLE_SECRET_LEN + 1], c2[FS_CONSOLE_SECRET_LEN + 1];
    struct fs_err err;
    assert_int_equal(fs_console_session_open(s, &w, 100, c1, &a, &err), 0);
    assert_int_equal(fs_console_session_open(s, &w, 100, c2, &b, &err), 0);
    assert_int_equal(strlen(c1), FS_CONSOLE_SECRET_LEN);
    assert_int_equal(strlen(a.csrf), FS_CONSOLE_SECRET_LEN);
    assert_string_not_equal(c1, c2);         /* fresh cookie per login */
    assert_string_not_equal(a.csrf, b.csrf); /* and fresh CSRF token */
    assert_string_not_equal(c1, a.csrf);
    assert_int_equal(fs_console_session_find(s, c1, 200, &got), 0);
    assert_string_equal(got.name, "alice");
    assert_int_equal(got.role, FS_ROLE_APPROVER);
    assert_string_equal(got.csrf, a.csrf);
    /* a wrong, short or empty cookie finds nothing */
    char wrong[FS_CONSOLE_SECRET_LEN + 1];
    memcpy(wrong, c1, sizeof(wrong));
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    assert_int_equal(fs_console_session_find(s, wrong, 200, &got), -1);
    assert_int_equal(fs_console_session_find(s, "abc", 200, &got), -1);
    assert_int_equal(fs_console_session_find(s, "", 200, &got), -1);
    assert_int_equal(fs_console_session_find(s, NULL, 200, &got), -1);
    /* logout ends one session, not the other */
    fs_console_session_close(s, c1);
    assert_int_equal(fs_console_session_find(s, c1, 200, &got), -1);
    assert_int_equal(fs_console_session_find(s, c2, 200, &got), 0);
    assert_int_equal(fs_console_session_count(s), 1);
    fs_console_sessions_free(s);
    fs_console_sessions_free(NULL);
}

static void test_expiry(void **state)
{
    (void)state;
    struct fs_console_sessions *s = fs_console_sessions_new(4, 1000, 3000);
    struct fs_console_session w = who("bob", FS_ROLE_OVERRIDER), o, got;
    char c[FS_CONSOLE_SECRET_LEN + 1];
    struct fs_err err;
    assert_int_equal(fs_console_session_open(s, &w, 0, c, &o, &err), 0);
    /* use keeps it alive past the idle timeout... */
    assert_int_equal(fs_console_session_find(s, c, 900, &got), 0);
    assert_int_equal(fs_console_session_find(s, c, 1800, &got), 0);
    assert_int_equal(fs_console_session_find(s, c, 2700, &got), 0);
    /* ...but not past the absolute lifetime */
    assert_int_equal(fs_console_session_find(s, c, 3000, &got), -1);
    assert_int_equal(fs_console_session_count(s), 0);
    /* idle: unused for the idle timeout */
    assert_int_equal(fs_console_session_open(s, &w, 10000, c, &o, &err), 0);
    assert_int_equal(fs_console_session_find(s, c, 10999, &got), 0);
    assert_int_equal(fs_console_session_find(s, c, 11999, &got), -1);
    fs_console_sessions_free(s);
}

static void test_full_evicts_least_recently_used(void **state)
{
    (void)state;
    struct fs_console_sessions *s = fs_console_sessions_new(2, 100000, 100000);
    struct fs_console_session w = who("v", FS_ROLE_VIEWER), o, got;
    char c1[FS_CONSOLE_SECRET_LEN + 1], c2[FS_CONSOLE_SECRET_LEN + 1],
        c3[FS_CONSOLE_SECRET_LEN + 1];
    struct fs_err err;
    assert_int_equal(fs_console_session_open(s, &w, 1, c1, &o, &err), 0);
    assert_int_equal(fs_console_session_open(s, &w, 2, c2, &o, &err), 0);
    assert_int_equal(fs_console_session_find(s, c1, 3, &got), 0); /* c1 used last */
    assert_int_equal(fs_console_session_open(s, &w, 4, c3, &o, &err), 0);
    assert_int_equal(fs_console_session_count(s), 2);
    assert_int_equal(fs_console_session_find(s, c2, 5, &got), -1);
    assert_int_equal(fs_console_session_find(s, c1, 5, &got), 0);
    assert_int_equal(fs_console_session_find(s, c3, 5, &got), 0);
    fs_console_sessions_free(s);
}

static void test_csrf(void **state)
{
    (void)state;
    struct fs_console_session ss = {0};
    snprintf(ss.csrf, sizeof(ss.csrf), "%s", "0123456789abcdef");
    assert_true(fs_console_csrf_ok(&ss, "0123456789abcdef"));
    assert_false(fs_console_csrf_ok(&ss, NULL));
    assert_false(fs_console_csrf_ok(&ss, ""));
    assert_false(fs_console_csrf_ok(&ss, "0123456789abcdeF"));
    assert_false(fs_console_csrf_ok(&ss, "0123456789abcde"));
    assert_false(fs_console_csrf_ok(&ss, "0123456789abcdef0"));
    struct fs_console_session none = {0}; /* a session without a token matches nothing */
    assert_false(fs_console_csrf_ok(&none, ""));
}

static void test_form_and_origin(void **state)
{
    (void)state;
    char out[32];
    const char *body = "name=carol+b&token=a%2Bb%3D%26c&x=";
    assert_int_equal(fs_console_form_value(body, strlen(body), "token", out, sizeof(out)), 0);
    assert_string_equal(out, "a+b=&c");
    assert_int_equal(fs_console_form_value(body, strlen(body), "name", out, sizeof(out)), 0);
    assert_string_equal(out, "carol b");
    assert_int_equal(fs_console_form_value(body, strlen(body), "x", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(fs_console_form_value(body, strlen(body), "nam", out, sizeof(out)), -1);
    assert_int_equal(fs_console_form_value("t=%zz", 5, "t", out, sizeof(out)), -1);
    assert_int_equal(fs_console_form_value("t=%00", 5, "t", out, sizeof(out)), -1);
    assert_int_equal(fs_console_form_value("t=%4", 4, "t", out, sizeof(out)), -1);
    assert_int_equal(fs_console_form_value("t=0123456789", 12, "t", out, 5), -1);
    assert_true(fs_console_same_origin("http://127.0.0.1:9797", "127.0.0.1:9797"));
    assert_true(fs_console_same_origin("https://Console.example", "console.example"));
    assert_false(fs_console_same_origin("http://evil.example", "127.0.0.1:9797"));
    assert_false(fs_console_same_origin("http://127.0.0.1:9798", "127.0.0.1:9797"));
    assert_false(fs_console_same_origin("null", "127.0.0.1:9797"));
    assert_false(fs_console_same_origin("http://127.0.0.1:9797", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_find_close),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_full_evicts_least_recently_used),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_form_and_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
