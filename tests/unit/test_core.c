/* Unit tests for core: time and duration parsing, buffers with caps, JSON limits and paths,
 * YAML with line numbers, the error vocabulary, hashing, fault points. */
#include "unit.h"

#include "core/buf.h"
#include "core/fault.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "core/yaml.h"

static void test_rfc3339(void **state)
{
    int64_t t;
    assert_int_equal(fs_time_parse_rfc3339("1970-01-01T00:00:00Z", -1, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(fs_time_parse_rfc3339("2026-11-21T10:43:25.506Z", -1, &t), 0);
    assert_int_equal(t, 1795257805506LL);
    /* offsets move the instant; fractional digits beyond ms are truncated */
    int64_t u;
    assert_int_equal(fs_time_parse_rfc3339("2026-11-21T12:43:25.506999999+02:00", -1, &u), 0);
    assert_int_equal(u, t);
    assert_int_equal(fs_time_parse_rfc3339("0001-01-01T00:00:00Z", -1, &t), 0);
    assert_true(t == FS_TIME_UNSET);
    assert_int_equal(fs_time_parse_rfc3339("2024-02-29T00:00:00Z", -1, &t), 0); /* leap day */
    const char *bad[] = {"2023-02-29T00:00:00Z",     "2026-13-01T00:00:00Z",
                         "2026-11-21 10:43",         "2026-11-21T10:43:25",
                         "2026-11-21T10:43:25.Z",    "2026-11-21T25:00:00Z",
                         "2026-11-21T10:43:25Zjunk", "",
                         "2026-11-21T10:43:25+0200"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++)
        assert_int_equal(fs_time_parse_rfc3339(bad[i], -1, &t), -FS_E_INVALID);
    char buf[40];
    assert_string_equal(fs_time_format(1795257805506LL, buf, sizeof(buf)),
                        "2026-11-21T10:43:25.506Z");
    assert_string_equal(fs_time_format(-1, buf, sizeof(buf)), "1969-12-31T23:59:59.999Z");
}

static void test_durations_and_sizes(void **state)
{
    int64_t ms;
    assert_int_equal(fs_duration_parse("1h30m", &ms), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(fs_duration_parse("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(fs_duration_parse("7d", &ms), 0);
    assert_int_equal(ms, 7LL * 86400000);
    assert_int_equal(fs_duration_parse("10", &ms), -FS_E_INVALID);
    assert_int_equal(fs_duration_parse("5x", &ms), -FS_E_INVALID);
    assert_int_equal(fs_duration_parse("99999999999999999999s", &ms), -FS_E_INVALID);
    char buf[32];
    assert_string_equal(fs_duration_format(5400250, buf, sizeof(buf)), "1h30m250ms");
    uint64_t n;
    assert_int_equal(fs_size_parse("2MiB", &n), 0);
    assert_int_equal(n, 2u << 20);
    assert_int_equal(fs_size_parse("4M", &n), 0);
    assert_int_equal(n, 4000000);
    assert_int_equal(fs_size_parse("12", &n), 0);
    assert_int_equal(n, 12);
    assert_int_equal(fs_size_parse("69.6G", &n), 0);
    assert_int_equal(n, 69600000000ULL);
    assert_int_equal(fs_size_parse("2T", &n), 0);
    assert_int_equal(n, 2000000000000ULL);
    assert_int_equal(fs_size_parse("1.5TiB", &n), 0);
    assert_int_equal(n, 3ULL << 39);
    assert_int_equal(fs_size_parse("1.5", &n), -FS_E_INVALID);  /* a fraction of a byte */
    assert_int_equal(fs_size_parse("1.K", &n), -FS_E_INVALID);
    assert_int_equal(fs_size_parse("99999999999T", &n), -FS_E_INVALID);
    assert_int_equal(fs_size_parse("2 MiB", &n), -FS_E_INVALID);
    assert_int_equal(fs_size_parse("lots", &n), -FS_E_INVALID);
}

static void test_buf_cap(void **state)
{
    struct fs_buf b = FS_BUF_INIT(8);
    assert_int_equal(fs_buf_puts(&b, "12345678"), 0);
    assert_int_equal(fs_buf_putc(&b, '9'), -FS_E_TOO_LARGE);
    assert_string_equal(fs_buf_str(&b), "12345678"); /* unchanged by the failed append */
    fs_buf_reset(&b);
    assert_int_equal(fs_buf_json_str(&b, "a\"b\n"), 0);
    assert_string_equal(fs_buf_str(&b), "\"a\\\"b\\n\"");
    fs_buf_reset(&b);
    assert_int_equal(fs_buf_json_str(&b, "\x01\x02\x03\x04"), -FS_E_TOO_LARGE);
    assert_int_equal(b.len, 0); /* rolled back */
    fs_buf_release(&b);
}

static void test_json_limits_and_errors(void **state)
{
    json_t *v;
    struct fs_err err;
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(fs_json_parse(deep, 200, 32, &v, &err), -FS_E_TOO_DEEP);
    assert_int_equal(err.code, FS_E_TOO_DEEP);
    assert_int_equal(fs_json_parse(deep + 68, 64, 32, &v, &err), 0); /* exactly 32 deep */
    json_decref(v);
    /* brackets inside strings do not count */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
    assert_int_equal(fs_json_parse(s, strlen(s), 4, &v, &err), 0);
    json_decref(v);
    assert_int_equal(fs_json_parse("{\"a\":\"\xff\"}", 9, 32, &v, &err), -FS_E_INVALID_UTF8);
    assert_int_equal(fs_json_parse("{\"a\":\"\\u0000\"}", 14, 32, &v, &err), -FS_E_INVALID_JSON);
    assert_non_null(strstr(err.msg, "NUL"));
    assert_int_equal(fs_json_parse("{\"a\":1,\"a\":2}", 13, 32, &v, &err), -FS_E_INVALID_JSON);
    assert_int_equal(fs_json_parse("{\"a\":", 5, 32, &v, &err), -FS_E_INVALID_JSON);
    assert_non_null(strstr(err.msg, "ends early"));
    assert_int_equal(fs_json_parse("", 0, 32, &v, &err), -FS_E_INVALID_JSON);

    json_t *o = json_pack("{s:{s:i}}", "alerts", "x", 1);
    const char *str;
    assert_int_equal(
        fs_json_get_str(json_object_get(o, "alerts"), "x", "alerts[2]", true, &str, &err),
        -FS_E_INVALID_PAYLOAD);
    assert_string_equal(err.path, "alerts[2].x");
    assert_string_equal(err.msg, "alerts[2].x: expected string, got number");
    assert_int_equal(fs_json_get_str(o, "missing", "", true, &str, &err), -FS_E_INVALID_PAYLOAD);
    assert_string_equal(err.path, "missing");
    json_decref(o);
    char p[64];
    fs_jpath_key(p, sizeof(p), "labels", "a.b");
    assert_string_equal(p, "labels[\"a.b\"]");
    /* a key cut to fit keeps whole characters (a fuzzer found a path JSON could not hold) */
    char key[400] = "x ";
    for (int i = 0; i < 120; i++)
        memcpy(key + 2 + 2 * i, "\xc3\xa9", 3); /* é, and the NUL */
    char big[256];
    fs_jpath_key(big, sizeof(big), "params", key);
    json_t *js = json_string(big);
    assert_non_null(js);
    json_decref(js);
    fs_jpath_key(p, sizeof(p), "params", key);
    assert_non_null((js = json_string(p)));
    assert_non_null(strstr(p, "..."));
    json_decref(js);
}

static void test_json_hash_ignores_key_order(void **state)
{
    json_t *a = json_loads("{\"x\":\"1\",\"y\":[1,2.5,{\"z\":null}]}", 0, NULL);
    json_t *b = json_loads("{\"y\":[1,2.5,{\"z\":null}],\"x\":\"1\"}", 0, NULL);
    json_t *c = json_loads("{\"y\":[1,2.5,{\"z\":null}],\"x\":\"2\"}", 0, NULL);
    json_t *e = json_object();
    assert_true(fs_json_hash(a) == fs_json_hash(b));
    assert_true(fs_json_hash(a) != fs_json_hash(c));
    assert_true(fs_json_hash(NULL) == fs_json_hash(e));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(e);
}

static void test_yaml_lines_and_refusals(void **state)
{
    struct fs_yaml_doc doc;
    struct fs_err err;
    const char *y = "server:\n  listen: 1.2.3.4:5\n  threads: 4\nlist: [a, 'b', 3, true, ~]\n";
    assert_int_equal(fs_yaml_parse(y, strlen(y), "t.yaml", &doc, &err), 0);
    assert_int_equal(fs_yaml_line(&doc, "server.listen"), 2);
    assert_int_equal(fs_yaml_line(&doc, "list"), 4);
    json_t *list = json_object_get(doc.root, "list");
    assert_true(json_is_string(json_array_get(list, 1)));
    assert_true(json_is_integer(json_array_get(list, 2)));
    assert_true(json_is_true(json_array_get(list, 3)));
    assert_true(json_is_null(json_array_get(list, 4)));
    fs_yaml_doc_release(&doc);

    const char *alias = "a: &x [1]\nb: *x\n";
    assert_true(fs_yaml_parse(alias, strlen(alias), "t.yaml", &doc, &err) < 0);
    assert_non_null(strstr(err.msg, "t.yaml:1"));
    const char *dup = "a: 1\nb: 2\na: 3\n";
    assert_true(fs_yaml_parse(dup, strlen(dup), "t.yaml", &doc, &err) < 0);
    assert_non_null(strstr(err.msg, "t.yaml:3"));
    assert_non_null(strstr(err.msg, "duplicate"));
    const char *syntax = "a: [1, 2\nb: 3\n";
    assert_true(fs_yaml_parse(syntax, strlen(syntax), "t.yaml", &doc, &err) < 0);
    assert_non_null(strstr(err.msg, "syntax"));
    const char *two = "a: 1\n---\nb: 2\n";
    assert_true(fs_yaml_parse(two, strlen(two), "t.yaml", &doc, &err) < 0);
}

static void test_error_names_are_stable(void **state)
{
    assert_string_equal(fs_err_name(FS_E_INVALID_PAYLOAD), "invalid_payload");
    assert_string_equal(fs_err_name(-FS_E_TOO_LARGE), "too_large");
    assert_string_equal(fs_err_name(FS_E__COUNT + 3), "unknown");
    struct fs_err e;
    assert_int_equal(fs_err_set(&e, FS_E_BUSY, "x", NULL), -FS_E_BUSY);
    assert_string_equal(e.msg, fs_err_default_msg(FS_E_BUSY));
    fs_err_prefix(&e, "f.yaml:3: ");
    assert_int_equal(strncmp(e.msg, "f.yaml:3: ", 10), 0);
}

static void test_hashes(void **state)
{
    char hex[65];
    assert_int_equal(fs_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(fs_consttime_eq("abc", 3, "abc", 3));
    assert_false(fs_consttime_eq("abc", 3, "abd", 3));
    assert_false(fs_consttime_eq("abc", 3, "abcd", 4));
}

static void test_fault_points(void **state)
{
    assert_int_equal(fs_fault_arm("store.fsync@3x2"), 0);
    bool hits[6];
    for (int i = 0; i < 6; i++)
        hits[i] = fs_fault_check(FS_FAULT_FSYNC);
    assert_false(hits[0]);
    assert_false(hits[1]);
    assert_true(hits[2]);
    assert_true(hits[3]);
    assert_false(hits[4]);
    assert_false(fs_fault_check(FS_FAULT_FULL));
    assert_int_equal(fs_fault_arm("nonsense@1"), -FS_E_INVALID);
    assert_int_equal(fs_fault_arm("store.full@0"), -FS_E_INVALID);
    assert_int_equal(fs_fault_arm(NULL), 0);
    assert_false(fs_fault_check(FS_FAULT_FSYNC));
}

/* A text cut at a byte limit drops a UTF-8 character left incomplete, and nothing else. */
static void test_utf8_cut(void **state)
{
    static const struct {
        const char *in, *out;
    } t[] = {{"abc", "abc"},
             {"ab\xc3", "ab"},
             {"ab\xc3\xa9", "ab\xc3\xa9"},
             {"\xe2\x82", ""},
             {"a\xe2\x82\xac", "a\xe2\x82\xac"},
             {"a\xf0\x9f\x98", "a"},
             {"a\xf0\x9f\x98\x80", "a\xf0\x9f\x98\x80"},
             {"", ""}};
    for (size_t i = 0; i < FS_ARRAY_LEN(t); i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "%s", t[i].in);
        fs_utf8_cut(buf);
        assert_string_equal(buf, t[i].out);
    }
    /* the cuts made by fs_strlcpy and error messages */
    char small[4];
    assert_int_equal(fs_strlcpy(small, "a\xc3\xa9\xc3\xa9", sizeof(small)), -FS_E_TOO_LARGE);
    assert_string_equal(small, "a\xc3\xa9");
    struct fs_buf b = FS_BUF_INIT(0);
    for (int i = 0; i < 400; i++)
        fs_buf_puts(&b, "\xc3\xa9");
    struct fs_err err;
    fs_err_set(&err, FS_E_INVALID, NULL, "x%s", fs_buf_str(&b));
    json_t *j = json_string(err.msg);
    assert_non_null(j);
    json_decref(j);
    fs_err_at(&err, FS_E_INVALID, "p", "x%s", fs_buf_str(&b));
    assert_non_null(j = json_string(err.msg));
    json_decref(j);
    fs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_durations_and_sizes),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_json_limits_and_errors),
        cmocka_unit_test(test_json_hash_ignores_key_order),
        cmocka_unit_test(test_yaml_lines_and_refusals),
        cmocka_unit_test(test_error_names_are_stable),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_fault_points),
        cmocka_unit_test(test_utf8_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
