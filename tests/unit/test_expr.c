/* Unit tests for core/expr: precedence and associativity, every operator (integer/real
 * arithmetic, overflow, division by zero, comparisons across types, =~, in), truthiness and
 * short-circuiting, paths into the scope (missing -> null), every function with its edge cases,
 * number formatting, templates (single hole keeps its type, mixed text, {{ }}, bad holes with
 * columns), fs_template_render_json / check_json, compile errors with columns, the source, depth,
 * step and string limits, the catalog's probe `expect` strings over sample probe results,
 * evaluation from several threads, and every example of the reference page. */
#include "unit.h"

#include <pthread.h>

#include "core/buf.h"
#include "core/expr.h"

/* The scope most cases run over. */
static const char *const S =
    "{\"n\": 5, \"r\": 2.5, \"s\": \"hello\", \"e\": \"\", \"z\": 0, \"zr\": 0.0, \"t\": true, "
    "\"f\": false, \"nul\": null, \"arr\": [1, 2, 3], \"empty\": [], \"eobj\": {}, "
    "\"obj\": {\"k\": 1, \"key-x\": \"dash\", \"in\": \"kw\", \"true\": 7, \"len\": 3}, "
    "\"len\": \"not a function\", \"pat\": \"^h.l\", \"badpat\": \"(\", "
    "\"rows\": [{\"name\": \"a\", \"v\": 3, \"u\": {\"p\": 10}, \"xs\": [7, 8]}, "
    "{\"name\": \"b\", \"v\": 9.5, \"u\": {\"p\": 20}}, {\"name\": \"c\"}, "
    "{\"name\": \"d\", \"v\": 9.5}, {\"name\": \"e\", \"v\": \"100\"}, {\"name\": \"f\", "
    "\"v\": -1}, 42]}";

static json_t *load(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad JSON in the test: %s: %s", s, je.text);
    return v;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
}

/* json_equal is strict about integer vs real, which is what these tests want. */
static void check_at(int line, const char *src, const char *scope, const char *want)
{
    json_t *sc = scope ? load(scope) : NULL, *w = load(want), *got = NULL;
    struct fs_err err = {0};
    int rc = fs_expr_eval_str(src, sc, &got, &err);
    if (rc != 0)
        fail_msg("line %d: %s: rc %d: %s", line, src, rc, err.msg);
    if (!json_equal(got, w)) {
        char *g = dump(got);
        fail_msg("line %d: %s\n  got:  %s\n  want: %s", line, src, g, want);
    }
    json_decref(got);
    json_decref(w);
    json_decref(sc);
}
#define CHECK(src, want) check_at(__LINE__, (src), S, (want))
#define CHECK_IN(scope, src, want) check_at(__LINE__, (src), (scope), (want))

static void compile_fails_at(int line, const char *src, int code, const char *msg_prefix)
{
    struct fs_expr *e = (struct fs_expr *)1;
    struct fs_err err = {0};
    int rc = fs_expr_compile(src, &e, &err);
    if (rc != -code)
        fail_msg("line %d: %s: rc %d, want %d (%s)", line, src, rc, -code, err.msg);
    if (e != NULL)
        fail_msg("line %d: %s: *out not NULL after an error", line, src);
    if (strncmp(err.msg, msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("line %d: %s\n  got:  %s\n  want: %s...", line, src, err.msg, msg_prefix);
}
#define FAILS(src, msg) compile_fails_at(__LINE__, (src), FS_E_INVALID, (msg))

/* ---- grammar ------------------------------------------------------------------------------ */

static void test_precedence(void **state)
{
    CHECK("1 + 2 * 3", "7");
    CHECK("(1 + 2) * 3", "9");
    CHECK("10 - 4 - 3", "3");   /* left associative */
    CHECK("100 / 10 / 5", "2"); /* left associative */
    CHECK("2 * 3 % 4", "2");    /* same level, left to right */
    CHECK("-2 * 3", "-6");      /* unary binds tighter */
    CHECK("- -2", "2");
    CHECK("!t || t", "true"); /* (!t) || t */
    CHECK("!(t || t)", "false");
    CHECK("f || t && f", "false"); /* && binds tighter than || */
    CHECK("t || f && f", "true");
    CHECK("1 + 2 < 4 && 'a' == 'a'", "true");
    CHECK("1 + 2 == 3", "true");     /* arithmetic before comparison */
    CHECK("t ? 1 : 0 ? 2 : 3", "1"); /* the ternary nests to the right */
    CHECK("f ? 1 : z ? 2 : 3", "3");
    CHECK("f ? 1 : t ? 2 : 3", "2");
    CHECK("n > 3 ? 'big' : 'small'", "\"big\"");
    CHECK("(t ? arr : empty)[1]", "2");
    CHECK("!z", "true");
    CHECK("-arr[2]", "-3"); /* postfix binds tighter than unary */
    CHECK("!obj.k", "false");
}

static void test_whitespace_and_literals(void **state)
{
    CHECK(" \t1\n+\r2 ", "3");
    CHECK("'it\\'s'", "\"it's\"");
    CHECK("\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\"");
    CHECK("'a\\nb\\tc\\rd\\\\'", "\"a\\nb\\tc\\rd\\\\\"");
    CHECK("'5\\d'", "\"5\\\\d\""); /* other escapes keep their backslash */
    CHECK("'héllo'", "\"héllo\"");
    CHECK("42", "42");
    CHECK("4.25", "4.25");
    CHECK("1e3", "1000.0");
    CHECK("2.5E-1", "0.25");
    CHECK("99999999999999999999", "1e20"); /* too big for an integer: a real */
    CHECK("9223372036854775807", "9223372036854775807");
    CHECK("true", "true");
    CHECK("false", "false");
    CHECK("null", "null");
    CHECK("[]", "[]");
    CHECK("[1, 'a', [null], n]", "[1, \"a\", [null], 5]");
}

/* ---- operators ---------------------------------------------------------------------------- */

static void test_arithmetic(void **state)
{
    CHECK("7 * 6", "42");
    CHECK("7 + 1.5", "8.5");
    CHECK("7 - 7.0", "0.0");
    CHECK("8 / 2", "4"); /* exact: stays an integer */
    CHECK("7 / 2", "3.5");
    CHECK("-7 / 2", "-3.5");
    CHECK("7.5 / 2.5", "3.0");
    CHECK("1 / 0", "null");
    CHECK("1.5 / 0", "null");
    CHECK("1 / 0.0", "null");
    CHECK("5 % 0", "null");
    CHECK("5 % 0.0", "null");
    CHECK("-7 % 3", "-1");
    CHECK("7 % -3", "1");
    CHECK("7.5 % 2", "1.5");
    CHECK("0.1 + 0.2", "0.30000000000000004");
    /* integer overflow becomes a real, never wraps */
    CHECK("9223372036854775807 + 1", "9223372036854775808.0");
    CHECK("-9223372036854775807 - 2", "-9223372036854775808.0");
    CHECK("-9223372036854775807 - 1", "-9223372036854775808"); /* fits: integer */
    CHECK("4611686018427387904 * 2", "9223372036854775808.0");
    CHECK("(-9223372036854775807 - 1) / -1", "9223372036854775808.0");
    CHECK("(-9223372036854775807 - 1) % -1", "0");
    CHECK("-(-9223372036854775807 - 1)", "9223372036854775808.0");
    CHECK("1e308 * 10", "null"); /* not finite */
    CHECK("-r", "-2.5");
    /* mismatches are null */
    CHECK("null + 1", "null");
    CHECK("t + 1", "null");
    CHECK("arr + arr", "null");
    CHECK("'a' - 1", "null");
    CHECK("s * 2", "null");
    CHECK("-'a'", "null");
    CHECK("-nul", "null");
    CHECK("missing / 2", "null");
}

static void test_concatenation(void **state)
{
    CHECK("'a' + 'b'", "\"ab\"");
    CHECK("'a' + 1", "\"a1\"");
    CHECK("1 + 'a'", "\"1a\"");
    CHECK("'n=' + 2.50", "\"n=2.5\"");
    CHECK("'x' + null", "\"x\"");
    CHECK("'x' + t", "\"xtrue\"");
    CHECK("'' + arr", "\"[1,2,3]\"");
    CHECK("'' + obj.k + obj['key-x']", "\"1dash\"");
    CHECK("1 + 2 + 'a'", "\"3a\""); /* left to right */
    CHECK("'a' + 1 + 2", "\"a12\"");
}

static void test_comparisons(void **state)
{
    CHECK("1 == 1.0", "true");
    CHECK("1.0 == 1", "true");
    CHECK("1 != 1.0", "false");
    CHECK("1 == 2", "false");
    CHECK("1 != 2", "true");
    CHECK("'a' == 'a'", "true");
    CHECK("'1' == 1", "false");
    CHECK("null == null", "true");
    CHECK("nul == missing", "true");
    CHECK("null == false", "false");
    CHECK("z == false", "false");
    CHECK("e == null", "false");
    CHECK("[1, 2] == [1, 2.0]", "true");
    CHECK("[1, 2] == [2, 1]", "false");
    CHECK("[1] == [1, 1]", "false");
    CHECK("obj == obj", "true");
    CHECK("eobj == empty", "false");
    CHECK_IN("{\"a\": {\"x\": 1, \"y\": [1]}, \"b\": {\"y\": [1.0], \"x\": 1.0}, "
             "\"c\": {\"x\": 1, \"z\": [1]}}",
             "a == b && a != c", "true");
    CHECK("1 < 2", "true");
    CHECK("2 < 1", "false");
    CHECK("2 <= 2", "true");
    CHECK("2 >= 2.0", "true");
    CHECK("3 > 2.5", "true");
    CHECK("1 < 1.5", "true");
    /* beyond double precision: compared exactly */
    CHECK("9007199254740993 > 9007199254740992.0", "true");
    CHECK("9007199254740993 > 9007199254740992", "true");
    CHECK("'a' < 'b'", "true");
    CHECK("'B' < 'a'", "true"); /* byte order */
    CHECK("'ab' < 'abc'", "true");
    CHECK("'10' < '9'", "true"); /* strings compare as strings */
    CHECK("10 < 9", "false");
    /* mixed types: every ordering is false */
    CHECK("'10' < 9", "false");
    CHECK("'10' >= 9", "false");
    CHECK("null < 1", "false");
    CHECK("null >= 1", "false");
    CHECK("t > f", "false");
    CHECK("arr < arr", "false");
}

static void test_match_and_in(void **state)
{
    CHECK("s =~ 'l+'", "true");
    CHECK("s =~ '^l'", "false"); /* unanchored, but ^ still means the start */
    CHECK("s =~ 'L'", "false");
    CHECK("s =~ '(?i)L'", "true");
    CHECK("s =~ pat", "true");     /* a pattern from the scope, compiled at eval time */
    CHECK("s =~ badpat", "false"); /* ... that does not compile: false */
    CHECK("s =~ n", "false");
    CHECK("n =~ '5'", "false"); /* only strings match */
    CHECK("missing =~ '.*'", "false");
    CHECK("'a\\nb' =~ 'a$'", "false"); /* $ only at the very end */
    CHECK("'ll' in s", "true");
    CHECK("'' in s", "true");
    CHECK("'x' in s", "false");
    CHECK("2 in arr", "true");
    CHECK("2.0 in arr", "true");
    CHECK("'2' in arr", "false");
    CHECK("4 in arr", "false");
    CHECK("'k' in obj", "true");
    CHECK("'q' in obj", "false");
    CHECK("1 in obj", "false");
    CHECK("1 in 'a1'", "false");
    CHECK("'z' in nul", "false");
    CHECK("[1] in [[1], 2]", "true");
}

static void test_logic_and_truthiness(void **state)
{
    const char *falsy[] = {"null", "false", "0", "0.0", "\"\"", "[]", "{}"};
    const char *truthy[] = {"true", "1", "-1", "0.5", "\"0\"", "\" \"", "[0]", "{\"a\": null}"};
    for (size_t i = 0; i < FS_ARRAY_LEN(falsy); i++) {
        json_t *v = load(falsy[i]);
        if (fs_expr_truthy(v))
            fail_msg("%s should be falsy", falsy[i]);
        json_decref(v);
    }
    for (size_t i = 0; i < FS_ARRAY_LEN(truthy); i++) {
        json_t *v = load(truthy[i]);
        if (!fs_expr_truthy(v))
            fail_msg("%s should be truthy", truthy[i]);
        json_decref(v);
    }
    assert_false(fs_expr_truthy(NULL));
    CHECK("z || e", "false");
    CHECK("zr || empty || eobj || nul", "false");
    CHECK("s && n", "true"); /* && and || give booleans */
    CHECK("s || n", "true");
    CHECK("!e", "true");
    CHECK("!!s", "true");
    CHECK("empty ? 1 : 2", "2");
    CHECK("arr ? 1 : 2", "1");
    CHECK("eobj ? 1 : 2", "2");
    /* fs_expr_test applies the same rule */
    struct fs_expr *e;
    bool b = true;
    assert_int_equal(fs_expr_compile("arr[0] - 1", &e, NULL), 0);
    assert_int_equal(fs_expr_test(e, NULL, &b, NULL), 0);
    assert_false(b);
    fs_expr_free(e);
}

static void test_short_circuit(void **state)
{
    /* 200000 elements: summing them is past the step limit, so only an evaluation that skips
     * the right-hand side succeeds */
    json_t *sc = json_object(), *big = json_array();
    for (int i = 0; i < 200000; i++)
        json_array_append_new(big, json_integer(1));
    json_object_set_new(sc, "big", big);
    json_t *out = NULL;
    struct fs_err err;
    assert_int_equal(fs_expr_eval_str("false && sum(big) > 0", sc, &out, &err), 0);
    assert_true(json_is_false(out));
    json_decref(out);
    assert_int_equal(fs_expr_eval_str("true || sum(big) > 0", sc, &out, &err), 0);
    assert_true(json_is_true(out));
    json_decref(out);
    assert_int_equal(fs_expr_eval_str("false ? sum(big) : 1", sc, &out, &err), 0);
    assert_int_equal(json_integer_value(out), 1);
    json_decref(out);
    assert_int_equal(fs_expr_eval_str("true && sum(big) > 0", sc, &out, &err), -FS_E_TOO_LARGE);
    assert_null(out);
    json_decref(sc);
}

/* ---- paths -------------------------------------------------------------------------------- */

static void test_paths(void **state)
{
    CHECK("n", "5");
    CHECK("missing", "null");
    CHECK("missing.a.b[3].c", "null");
    CHECK("obj.k", "1");
    CHECK("obj.nope", "null");
    CHECK("obj['key-x']", "\"dash\"");
    CHECK("obj['k' + '']", "1");
    CHECK("obj[1]", "null");
    CHECK("obj.in", "\"kw\""); /* keywords are fine as member names */
    CHECK("obj.true", "7");
    CHECK("obj.len", "3");
    CHECK("len", "\"not a function\""); /* a function's name alone is a member */
    CHECK("arr[0]", "1");
    CHECK("arr[2]", "3");
    CHECK("arr[3]", "null");
    CHECK("arr[-1]", "3");
    CHECK("arr[-3]", "1");
    CHECK("arr[-4]", "null");
    CHECK("arr[1.0]", "2");
    CHECK("arr[1.5]", "null");
    CHECK("arr['0']", "null");
    CHECK("arr[nul]", "null");
    CHECK("arr[9223372036854775807]", "null");
    CHECK("arr[1e300]", "null");
    CHECK("s[0]", "null"); /* strings are not indexable */
    CHECK("n.x", "null");
    CHECK("arr.x", "null");
    CHECK("rows[0].u.p", "10");
    CHECK("rows[0].xs[1]", "8");
    CHECK("rows[2].v", "null");
    CHECK("[10, 20][1]", "20");
    CHECK_IN("[1, 2]", "x", "null"); /* a scope that is not an object has no members */
    check_at(__LINE__, "x", NULL, "null");
    check_at(__LINE__, "1 + 1", NULL, "2");
}

/* ---- functions ---------------------------------------------------------------------------- */

static void test_text_functions(void **state)
{
    CHECK("len('héllo')", "5");
    CHECK("len(e)", "0");
    CHECK("len(arr)", "3");
    CHECK("len(empty)", "0");
    CHECK("len(obj)", "5");
    CHECK("len(n)", "null");
    CHECK("len(nul)", "null");
    CHECK("lower('WaRN')", "\"warn\"");
    CHECK("lower('ÉA')", "\"Éa\""); /* ASCII only */
    CHECK("upper('warn-1')", "\"WARN-1\"");
    CHECK("upper(n)", "null");
    CHECK("lower(nul)", "null");
    CHECK("trim(' \\t x y \\n')", "\"x y\"");
    CHECK("trim('   ')", "\"\"");
    CHECK("trim(n)", "null");
    CHECK("str('a')", "\"a\"");
    CHECK("str(5)", "\"5\"");
    CHECK("str(nul)", "\"\"");
    CHECK("str(t)", "\"true\"");
    CHECK("str(f)", "\"false\"");
    CHECK("str([1, 'a'])", "\"[1,\\\"a\\\"]\"");
    CHECK("str(rows[0].u)", "\"{\\\"p\\\":10}\"");
    CHECK("contains(s, 'ell')", "true");
    CHECK("contains(s, '')", "true");
    CHECK("contains(s, 1)", "false");
    CHECK("contains(arr, 3.0)", "true");
    CHECK("contains(arr, 4)", "false");
    CHECK("contains(obj, 'k')", "true");
    CHECK("contains(n, 5)", "false");
    CHECK("startswith(s, 'he')", "true");
    CHECK("startswith(s, 'hello!')", "false");
    CHECK("startswith(s, '')", "true");
    CHECK("startswith(n, '5')", "false");
    CHECK("startswith(s, nul)", "false");
    CHECK("endswith(s, 'llo')", "true");
    CHECK("endswith(s, 'he')", "false");
    CHECK("endswith('a', 'ba')", "false");
    CHECK("matches(s, 'h.l')", "true");
    CHECK("matches(s, '^ell')", "false");
    CHECK("matches(s, pat)", "true");
    CHECK("matches(s, badpat)", "false");
    CHECK("matches(s, n)", "false");
    CHECK("matches(n, '5')", "false");
    CHECK("split('a,,b', ',')", "[\"a\", \"\", \"b\"]");
    CHECK("split('a::b::', '::')", "[\"a\", \"b\", \"\"]");
    CHECK("split('', ',')", "[\"\"]");
    CHECK("split('abc', ',')", "[\"abc\"]");
    CHECK("split('abc', '')", "null");
    CHECK("split(n, ',')", "null");
    CHECK("join(['a', 'b'], ', ')", "\"a, b\"");
    CHECK("join([], ',')", "\"\"");
    CHECK("join([1, 2.5, null, t, [1]], '|')", "\"1|2.5||true|[1]\"");
    CHECK("join(arr, n)", "null");
    CHECK("join(s, ',')", "null");
    CHECK("join(split('a b c', ' '), '-')", "\"a-b-c\"");
}

static void test_number_functions(void **state)
{
    CHECK("num('42')", "42");
    CHECK("num(' -3 ')", "-3");
    CHECK("num('1.5e3')", "1500.0");
    CHECK("num('.5')", "0.5");
    CHECK("num('99999999999999999999')", "1e20");
    CHECK("num('abc')", "null");
    CHECK("num('')", "null");
    CHECK("num('0x10')", "null");
    CHECK("num('inf')", "null");
    CHECK("num('nan')", "null");
    CHECK("num('1e999')", "null");
    CHECK("num('5 apples')", "null");
    CHECK("num(t)", "1");
    CHECK("num(f)", "0");
    CHECK("num(nul)", "null");
    CHECK("num(arr)", "null");
    CHECK("num(r)", "2.5");
    CHECK("int('7.9')", "7");
    CHECK("int(-7.9)", "-7");
    CHECK("int(3)", "3");
    CHECK("int(1e19)", "null");
    CHECK("int('x')", "null");
    CHECK("int(t)", "1");
    CHECK("round(2.5)", "3");
    CHECK("round(-2.5)", "-3");
    CHECK("round(2.4)", "2");
    CHECK("round(7)", "7");
    CHECK("round(1.25, 1)", "1.3");
    CHECK("round(90.46, 1)", "90.5");
    CHECK("round(1234, -2)", "1200");
    CHECK("round(1250, -2)", "1300");
    CHECK("round(1e300, 2)", "1e300");
    CHECK("round(1e300)", "1e300");
    CHECK("round(2.5, 16)", "null");
    CHECK("round(2.5, 'x')", "null");
    CHECK("round(2.5, 1.0)", "null");
    CHECK("round('2.5')", "null");
    CHECK("floor(2.7)", "2");
    CHECK("floor(-2.5)", "-3");
    CHECK("floor(5)", "5");
    CHECK("floor(1e300)", "1e300");
    CHECK("floor('a')", "null");
    CHECK("ceil(2.1)", "3");
    CHECK("ceil(-2.5)", "-2");
    CHECK("ceil(nul)", "null");
    CHECK("abs(-3)", "3");
    CHECK("abs(-2.5)", "2.5");
    CHECK("abs(4)", "4");
    CHECK("abs(-9223372036854775807 - 1)", "9223372036854775808.0");
    CHECK("abs('x')", "null");
    CHECK("pct(1, 3)", "33.3");
    CHECK("pct(2, 3)", "66.7");
    CHECK("pct(50, 200)", "25.0");
    CHECK("pct(1, 0)", "null");
    CHECK("pct(1, 0.0)", "null");
    CHECK("pct('a', 1)", "null");
}

static void test_array_functions(void **state)
{
    CHECK("min(3, 1, 2)", "1");
    CHECK("min([3, 1.5, 'x'])", "1.5");
    CHECK("min([])", "null");
    CHECK("min(['a'])", "null");
    CHECK("min('a')", "null");
    CHECK("min(7)", "7");
    CHECK("min(4, [0])", "4"); /* an array among several arguments is not a number */
    CHECK("max(1, 2.5)", "2.5");
    CHECK("max([5])", "5");
    CHECK("max(arr)", "3");
    CHECK("sum(arr)", "6");
    CHECK("sum([])", "0");
    CHECK("sum([1, 'x', 2.5, nul])", "3.5");
    CHECK("sum([9223372036854775807, 1])", "9223372036854775808.0");
    CHECK("sum([9223372036854775807, 1, -1])", "9223372036854775807.0");
    CHECK("sum(5)", "null");
    CHECK("avg([1, 2])", "1.5");
    CHECK("avg([2, 2])", "2.0");
    CHECK("avg([])", "null");
    CHECK("avg(['a'])", "null");
    CHECK("avg(s)", "null");
    CHECK("count(arr)", "3");
    CHECK("count(empty)", "0");
    CHECK("count(s)", "null");
    CHECK("count(obj)", "null");
    CHECK("default(nul, 1)", "1");
    CHECK("default(missing.x, 'd')", "\"d\"");
    CHECK("default(z, 1)", "0"); /* only null falls back */
    CHECK("default(f, 1)", "false");
    CHECK("first(arr)", "1");
    CHECK("first(empty)", "null");
    CHECK("first(s)", "null");
    CHECK("last(arr)", "3");
    CHECK("last(empty)", "null");
    CHECK("last(obj)", "null");
    /* pluck skips elements without the field; the field may be a dotted path */
    CHECK("pluck(rows, 'name')", "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]");
    CHECK("pluck(rows, 'v')", "[3, 9.5, 9.5, \"100\", -1]");
    CHECK("pluck(rows, 'u.p')", "[10, 20]");
    CHECK("pluck(rows, 'xs.1')", "[8]");
    CHECK("pluck(rows, 'xs.9')", "[]");
    CHECK("pluck(empty, 'v')", "[]");
    CHECK("pluck(s, 'v')", "null");
    CHECK("pluck(rows, 1)", "null");
    /* top/bottom: numbers only ("100" is a string), the first of equals */
    CHECK("top(rows, 'v').name", "\"b\"");
    CHECK("bottom(rows, 'v').name", "\"f\"");
    CHECK("top(rows, 'u.p').name", "\"b\"");
    CHECK("top(rows, 'nope')", "null");
    CHECK("top(empty, 'v')", "null");
    CHECK("bottom(s, 'v')", "null");
    CHECK("top(rows, nul)", "null");
    CHECK("pluck(where(rows, 'v', 9.5), 'name')", "[\"b\", \"d\"]");
    CHECK("pluck(where(rows, 'v', 3.0), 'name')", "[\"a\"]");
    CHECK("where(rows, 'v', 'x')", "[]");
    CHECK("where(rows, 'nope', nul)", "[]"); /* a missing field equals nothing */
    CHECK("where(empty, 'v', 1)", "[]");
    CHECK("where(s, 'v', 1)", "null");
    CHECK("count(where(rows, 'u.p', 20))", "1");
}

/* grep and at_least: the filters disk_pressure uses to count only rotated log names and only
 * files old enough for the cleanup. */
static void test_filter_functions(void **state)
{
    static const char files[] =
        "{\"files\": [{\"path\": \"/var/log/syslog\", \"age_s\": 60, \"size_bytes\": 10}, "
        "{\"path\": \"/var/log/syslog.1\", \"age_s\": 90000, \"size_bytes\": 20}, "
        "{\"path\": \"/var/log/syslog.2.gz\", \"age_s\": 200000, \"size_bytes\": 30}, "
        "{\"path\": \"/var/log/app.log.old\", \"age_s\": 172800, \"size_bytes\": 40}, "
        "{\"path\": \"/var/log/syslog.12\", \"age_s\": 900000, \"size_bytes\": 50}, "
        "{\"path\": \"/var/log/gzip.log\", \"age_s\": 900000.5, \"size_bytes\": 60}, "
        "{\"path\": 7, \"age_s\": \"900000\"}, {\"age_s\": null}, 3], "
        "\"re\": \"\\\\.gz$\", \"bad\": \"(\"}";
    const char *rot = "'\\\\.(gz|[0-9]|old)$'";
    char src[256];
    /* unanchored, like =~; only string fields; elements without the field are left out */
    snprintf(src, sizeof(src), "pluck(grep(files, 'path', %s), 'size_bytes')", rot);
    CHECK_IN(files, src, "[20, 30, 40]");
    CHECK_IN(files, "pluck(grep(files, 'path', 'syslog'), 'size_bytes')", "[10, 20, 30, 50]");
    CHECK_IN(files, "count(grep(files, 'path', ''))", "6");
    CHECK_IN(files, "grep(files, 'path', '^nothing$')", "[]");
    /* a pattern from the scope is compiled at run time; one that does not compile is null */
    CHECK_IN(files, "pluck(grep(files, 'path', re), 'size_bytes')", "[30]");
    CHECK_IN(files, "grep(files, 'path', bad)", "null");
    CHECK_IN(files, "grep(files, 'path', 5)", "null");
    CHECK_IN(files, "grep(files, 5, 'x')", "null");
    CHECK_IN(files, "grep('files', 'path', 'x')", "null");
    CHECK_IN(files, "grep(empty, 'path', 'x')", "null"); /* missing: not an array */
    CHECK("pluck(grep(rows, 'name', '[b-d]'), 'name')", "[\"b\", \"c\", \"d\"]");
    CHECK("count(grep(rows, 'u.p', '1'))", "0"); /* a number is not a string */
    /* field '' is the element itself: an array of strings (log lines) */
    CHECK("grep(['a: error', 'ok', 3, 'b: ERROR'], '', '(?i)error')",
          "[\"a: error\", \"b: ERROR\"]");
    CHECK("last(grep(['x fatal', 'systemd[1]: x failed'], '', '^(?!.*systemd\\[1\\]).*fa'))",
          "\"x fatal\"");
    CHECK("at_least([1, 5.5, 'x', 9, nul], '', 5)", "[5.5, 9]");
    /* at_least: numbers only (the string "900000" is not one), >= n, integers and reals */
    CHECK_IN(files, "pluck(at_least(files, 'age_s', 172800), 'size_bytes')", "[30, 40, 50, 60]");
    CHECK_IN(files, "pluck(at_least(files, 'age_s', 172800.5), 'size_bytes')", "[30, 50, 60]");
    CHECK_IN(files, "pluck(at_least(files, 'age_s', 900000.5), 'size_bytes')", "[60]");
    CHECK_IN(files, "at_least(files, 'age_s', 1e9)", "[]");
    CHECK_IN(files, "at_least(files, 'age_s', '1')", "null");
    CHECK_IN(files, "at_least(files, 'age_s', nul)", "null");
    CHECK_IN(files, "at_least(nul, 'age_s', 1)", "null");
    CHECK("pluck(at_least(rows, 'u.p', 15), 'name')", "[\"b\"]");
    CHECK("pluck(at_least(rows, 'v', -1), 'name')", "[\"a\", \"b\", \"d\", \"f\"]");
    /* together: rotated names at least two days old, and what they weigh */
    snprintf(src, sizeof(src),
             "sum(pluck(at_least(grep(files, 'path', %s), 'age_s', 2 * 86400), 'size_bytes'))",
             rot);
    CHECK_IN(files, src, "70");
    /* a literal pattern is checked when the expression is compiled */
    FAILS("grep(files, 'path', '(')", "column 21: not a valid regular expression");
    FAILS("grep(files, 'path')", "column 1: grep() takes 3 arguments, not 2");
    FAILS("at_least(files, 'age_s')", "column 1: at_least() takes 3 arguments, not 2");
}

static void test_path_and_host_functions(void **state)
{
    static const char *const base[][2] = {
        {"'/var/log/syslog'", "syslog"},
        {"'/'", "/"},
        {"''", "."},
        {"'a'", "a"},
        {"'/a/b/'", "b"},
        {"'//'", "/"},
        {"'a/b'", "b"},
        {"'a//'", "a"},
    };
    static const char *const dir[][2] = {
        {"'/var/log/syslog'", "/var/log"},
        {"'/'", "/"},
        {"''", "."},
        {"'a'", "."},
        {"'/a'", "/"},
        {"'/a/b/'", "/a"},
        {"'a/b'", "a"},
        {"'//a'", "/"},
        {"'/a//b'", "/a"},
    };
    char src[64], want[64];
    for (size_t i = 0; i < FS_ARRAY_LEN(base); i++) {
        snprintf(src, sizeof(src), "basename(%s)", base[i][0]);
        snprintf(want, sizeof(want), "\"%s\"", base[i][1]);
        CHECK(src, want);
    }
    for (size_t i = 0; i < FS_ARRAY_LEN(dir); i++) {
        snprintf(src, sizeof(src), "dirname(%s)", dir[i][0]);
        snprintf(want, sizeof(want), "\"%s\"", dir[i][1]);
        CHECK(src, want);
    }
    CHECK("basename(n)", "null");
    CHECK("dirname(nul)", "null");
    CHECK("host('web-1:9100')", "\"web-1\"");
    CHECK("host('[::1]:9100')", "\"::1\"");
    CHECK("host('[fe80::1]')", "\"fe80::1\"");
    CHECK("host('web-1')", "\"web-1\"");
    CHECK("host('::1')", "\"::1\""); /* a bare IPv6 address has no port to strip */
    CHECK("host('10.0.0.5:22')", "\"10.0.0.5\"");
    CHECK("host('http://user:pw@web-1:8080/metrics')", "\"web-1\"");
    CHECK("host('https://[2001:db8::2]:443/x')", "\"2001:db8::2\"");
    CHECK("host('web-1:http')", "\"web-1:http\"");
    CHECK("host('')", "\"\"");
    CHECK("host(n)", "null");
}

static void test_size_and_duration_functions(void **state)
{
    CHECK("bytes('500M')", "524288000");
    CHECK("bytes('500MB')", "524288000");
    CHECK("bytes('500MiB')", "524288000");
    CHECK("bytes('500mib')", "524288000");
    CHECK("bytes('1.5G')", "1610612736");
    CHECK("bytes('1.5 GiB')", "1610612736");
    CHECK("bytes('2048')", "2048");
    CHECK("bytes('10K')", "10240");
    CHECK("bytes('10k')", "10240");
    CHECK("bytes('1T')", "1099511627776");
    CHECK("bytes('1P')", "1125899906842624");
    CHECK("bytes('900B')", "900");
    CHECK("bytes(' 900 b ')", "900");
    CHECK("bytes('1.5')", "2");
    CHECK("bytes(2048)", "2048");
    CHECK("bytes(2.5)", "2.5");
    const char *bad[] = {"'5Ki'", "'abc'", "''",    "'-5M'", "'1X'", "'1MBs'", "'8E'", "'99999P'",
                         "'.'",   "'M'",   "'1 2'", "-1",    "t",    "nul",    "arr"};
    char src[64];
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        snprintf(src, sizeof(src), "bytes(%s)", bad[i]);
        CHECK(src, "null");
    }
    CHECK("human_bytes(900)", "\"900 B\"");
    CHECK("human_bytes(0)", "\"0 B\"");
    CHECK("human_bytes(1024)", "\"1.0 KiB\"");
    CHECK("human_bytes(1536)", "\"1.5 KiB\"");
    CHECK("human_bytes(10188)", "\"9.9 KiB\"");
    CHECK("human_bytes(10240)", "\"10 KiB\"");
    CHECK("human_bytes(536870912)", "\"512 MiB\"");
    CHECK("human_bytes(1610612736)", "\"1.5 GiB\"");
    CHECK("human_bytes(1023.6)", "\"1.0 KiB\"");
    CHECK("human_bytes(1048575)", "\"1.0 MiB\"");
    CHECK("human_bytes(-2048)", "\"-2.0 KiB\"");
    CHECK("human_bytes(bytes('3T'))", "\"3.0 TiB\"");
    CHECK("human_bytes('1G')", "null");
    CHECK("human_duration(439200)", "\"5d 2h\"");
    CHECK("human_duration(12000)", "\"3h 20m\"");
    CHECK("human_duration(45)", "\"45s\"");
    CHECK("human_duration(59.9)", "\"59s\"");
    CHECK("human_duration(60)", "\"1m\"");
    CHECK("human_duration(61)", "\"1m 1s\"");
    CHECK("human_duration(3601)", "\"1h\""); /* the two largest units: 1h 0m */
    CHECK("human_duration(90061)", "\"1d 1h\"");
    CHECK("human_duration(0)", "\"0s\"");
    CHECK("human_duration(-5)", "\"0s\"");
    CHECK("human_duration(1e300)", "null");
    CHECK("human_duration('1h')", "null");
}

static void test_number_formatting(void **state)
{
    CHECK("str(90.5)", "\"90.5\"");
    CHECK("str(0.1)", "\"0.1\"");
    CHECK("str(0.1 + 0.2)", "\"0.30000000000000004\"");
    CHECK("str(1 / 3)", "\"0.3333333333333333\"");
    CHECK("str(100.0)", "\"100\"");
    CHECK("str(-0.0)", "\"0\"");
    CHECK("str(1e21)", "\"1e+21\"");
    CHECK("str(-9223372036854775807 - 1)", "\"-9223372036854775808\"");
    CHECK("str(12345678901234567890)", "\"1.2345678901234567e+19\"");
    CHECK("'' + 2.50 + '/' + 3", "\"2.5/3\"");
}

/* ---- templates ---------------------------------------------------------------------------- */

static void tpl_at(int line, const char *src, const char *want)
{
    json_t *sc = load(S), *w = load(want), *got = NULL;
    struct fs_template *t = NULL;
    struct fs_err err = {0};
    if (fs_template_compile(src, &t, &err) != 0)
        fail_msg("line %d: template %s: %s", line, src, err.msg);
    if (fs_template_render(t, sc, &got, &err) != 0)
        fail_msg("line %d: template %s: render: %s", line, src, err.msg);
    if (!json_equal(got, w)) {
        char *g = dump(got);
        fail_msg("line %d: template %s\n  got:  %s\n  want: %s", line, src, g, want);
    }
    fs_template_free(t);
    json_decref(got);
    json_decref(w);
    json_decref(sc);
}
#define TPL(src, want) tpl_at(__LINE__, (src), (want))

static void tpl_fails_at(int line, const char *src, const char *msg)
{
    struct fs_template *t = (struct fs_template *)1;
    struct fs_err err = {0};
    int rc = fs_template_compile(src, &t, &err);
    if (rc != -FS_E_INVALID || t != NULL)
        fail_msg("line %d: template %s: rc %d", line, src, rc);
    if (strncmp(err.msg, msg, strlen(msg)) != 0)
        fail_msg("line %d: template %s\n  got:  %s\n  want: %s...", line, src, err.msg, msg);
}
#define TPL_FAILS(src, msg) tpl_fails_at(__LINE__, (src), (msg))

static void test_templates(void **state)
{
    /* exactly one hole keeps the value's type */
    TPL("{n}", "5");
    TPL("{r}", "2.5");
    TPL("{arr}", "[1, 2, 3]");
    TPL("{obj.k > 0}", "true");
    TPL("{nul}", "null");
    TPL("{missing}", "null");
    TPL("{ n }", "5");
    /* anything else is text */
    TPL("n={n}", "\"n=5\"");
    TPL("{n} ", "\"5 \"");
    TPL("{n}{n}", "\"55\"");
    TPL("{r}%", "\"2.5%\"");
    TPL("{0.1 + 0.2}!", "\"0.30000000000000004!\"");
    TPL("v={100.0}", "\"v=100\"");
    TPL("[{nul}]", "\"[]\"");
    TPL("{t}/{f}", "\"true/false\"");
    TPL("a={arr} o={rows[0].u}", "\"a=[1,2,3] o={\\\"p\\\":10}\"");
    TPL("{s}, {upper(s)}", "\"hello, HELLO\"");
    TPL("plain", "\"plain\"");
    TPL("", "\"\"");
    /* braces */
    TPL("{{x}}", "\"{x}\"");
    TPL("a}}b{{", "\"a}b{\"");
    TPL("{{{n}}}", "\"{5}\"");
    TPL("{'}'}", "\"}\""); /* a brace inside a string does not close the hole */
    TPL("{join(['a', 'b'], '}{')}", "\"a}{b\"");
    TPL("{\"it\\\"}s\"}", "\"it\\\"}s\"");
    /* bad holes: columns count from the start of the template */
    TPL_FAILS("a {b", "column 3: '{' is not closed by '}'");
    TPL_FAILS("a } b", "column 3: '}' without a '{'");
    TPL_FAILS("x {1 +} y", "column 7: expected a value, found the end of the expression");
    TPL_FAILS("ab{}", "column 4: expected an expression, found nothing");
    TPL_FAILS("{n} and {nope(1)}", "column 10: unknown function 'nope'");
    TPL_FAILS("{'}", "column 1: '{' is not closed by '}'");
    TPL_FAILS("{s =~ '('}", "column 7: not a valid regular expression");
    struct fs_template *t = NULL;
    struct fs_err err;
    assert_int_equal(fs_template_compile("\xff{n}", &t, &err), -FS_E_INVALID);
    assert_null(t);
}

static void test_template_limits(void **state)
{
    json_t *sc = json_object();
    char *big = malloc(40001);
    memset(big, 'a', 40000);
    big[40000] = '\0';
    json_object_set_new(sc, "big", json_string(big));
    struct fs_template *t = NULL;
    struct fs_err err;
    json_t *out = NULL;
    /* one hole: the value itself, whatever its size */
    assert_int_equal(fs_template_compile("{big}", &t, &err), 0);
    assert_int_equal(fs_template_render(t, sc, &out, &err), 0);
    assert_int_equal(json_string_length(out), 40000);
    json_decref(out);
    fs_template_free(t);
    /* rendered text past 64 KiB is an error, not a truncated string */
    assert_int_equal(fs_template_compile("{big}{big}", &t, &err), 0);
    assert_int_equal(fs_template_render(t, sc, &out, &err), -FS_E_TOO_LARGE);
    assert_null(out);
    assert_non_null(strstr(err.msg, "longer than 65536"));
    fs_template_free(t);
    /* a template longer than 64 KiB does not compile */
    char *huge = malloc(70001);
    memset(huge, 'x', 70000);
    huge[70000] = '\0';
    assert_int_equal(fs_template_compile(huge, &t, &err), -FS_E_TOO_LARGE);
    free(huge);
    free(big);
    json_decref(sc);
}

static void test_render_json(void **state)
{
    json_t *sc = load(S);
    json_t *in = load("{\"path\": \"{s}\", \"n\": \"{n}\", \"msg\": \"n is {n}\", "
                      "\"list\": [\"{arr[1]}\", 5, true, null, 2.5, \"{{lit}}\"], "
                      "\"nested\": {\"deep\": [{\"x\": \"{obj}\"}]}, \"{key}\": \"k\"}");
    char *before = dump(in);
    json_t *out = NULL;
    struct fs_err err;
    assert_int_equal(fs_template_render_json(in, sc, &out, &err), 0);
    json_t *want = load("{\"path\": \"hello\", \"n\": 5, \"msg\": \"n is 5\", "
                        "\"list\": [2, 5, true, null, 2.5, \"{lit}\"], "
                        "\"nested\": {\"deep\": [{\"x\": {\"k\": 1, \"key-x\": \"dash\", "
                        "\"in\": \"kw\", \"true\": 7, \"len\": 3}}]}, \"{key}\": \"k\"}");
    if (!json_equal(out, want))
        fail_msg("render_json: %s", dump(out));
    char *after = dump(in);
    assert_string_equal(before, after); /* the input is not changed */
    free(before);
    free(after);
    json_decref(out);
    json_decref(want);
    /* a plain string or scalar renders too */
    json_t *s1 = json_string("{n * 2}");
    assert_int_equal(fs_template_render_json(s1, sc, &out, &err), 0);
    assert_int_equal(json_integer_value(out), 10);
    json_decref(out);
    json_decref(s1);
    /* errors carry the JSON path of the bad string */
    json_t *bad = load("{\"args\": {\"list\": [\"ok {n}\", \"{n +}\"]}}");
    memset(&err, 0, sizeof(err));
    assert_int_equal(fs_template_check_json(bad, &err), -FS_E_INVALID);
    assert_string_equal(err.path, "args.list[1]");
    assert_string_equal(err.msg, "args.list[1]: column 5: expected a value, found the end of "
                                 "the expression");
    memset(&err, 0, sizeof(err));
    out = (json_t *)1;
    assert_int_equal(fs_template_render_json(bad, sc, &out, &err), -FS_E_INVALID);
    assert_null(out);
    assert_string_equal(err.path, "args.list[1]");
    assert_int_equal(fs_template_check_json(in, &err), 0);
    json_decref(bad);
    /* nesting beyond the limit is refused, not recursed into */
    json_t *deep = json_string("{n}");
    for (int i = 0; i < 100; i++) {
        json_t *a = json_array();
        json_array_append_new(a, deep);
        deep = a;
    }
    assert_int_equal(fs_template_check_json(deep, &err), -FS_E_TOO_DEEP);
    json_decref(deep);
    json_decref(in);
    json_decref(sc);
}

/* ---- compile errors ----------------------------------------------------------------------- */

static void test_compile_errors(void **state)
{
    FAILS("", "column 1: expected an expression, found nothing");
    FAILS("   ", "column 4: expected an expression, found nothing");
    FAILS("1 +", "column 4: expected a value, found the end of the expression");
    FAILS("used_pct <", "column 11: expected a value, found the end of the expression");
    FAILS("(a", "column 3: expected ')' to close the '(' at column 1, found the end of the "
                "expression");
    FAILS("a)", "column 2: expected an operator or the end, found ')'");
    FAILS("a b", "column 3: expected an operator or the end, found 'b'");
    FAILS("a 'x'", "column 3: expected an operator or the end, found a string");
    FAILS("foo(1)", "column 1: unknown function 'foo'");
    FAILS("n + Len(s)", "column 5: unknown function 'Len'");
    FAILS("len(1, 2)", "column 1: len() takes 1 argument, not 2");
    FAILS("where(a, 'b')", "column 1: where() takes 3 arguments, not 2");
    FAILS("round()", "column 1: round() takes 1 to 2 arguments, not 0");
    FAILS("min()", "column 1: min() takes at least 1 argument");
    FAILS("len(1", "column 6: expected ',' or ')' to close the call of len() at column 4, found "
                   "the end of the expression");
    FAILS("len(1 2)", "column 7: expected ',' or ')' to close the call of len() at column 4, "
                      "found '2'");
    FAILS("[1, 2", "column 6: expected ',' or ']' to close the '[' at column 1");
    FAILS("[1,]", "column 4: expected a value, found ']'");
    FAILS("a[1", "column 4: expected ']' to close the '[' at column 2");
    FAILS("x ? 1", "column 6: expected ':' for the '?' at column 3, found the end of the "
                   "expression");
    FAILS("'abc", "column 1: the string is not closed");
    FAILS("x == \"abc", "column 6: the string is not closed");
    FAILS("a = b", "column 3: '=' is not an operator; compare with '=='");
    FAILS("a & b", "column 3: '&' is not an operator; did you mean '&&'?");
    FAILS("a | b", "column 3: '|' is not an operator; did you mean '||'?");
    FAILS("a # b", "column 3: unexpected character '#'");
    FAILS("a \x01", "column 3: unexpected byte 0x01");
    FAILS("a é", "column 3: unexpected byte 0xc3");
    FAILS("1 < 2 < 3", "column 7: comparisons do not chain");
    FAILS("a =~ 'x' == true", "column 10: comparisons do not chain");
    FAILS("2 in arr == true", "column 10: comparisons do not chain");
    FAILS("a =~ '('", "column 6: not a valid regular expression at offset 1");
    FAILS("matches(x, '[')", "column 12: not a valid regular expression");
    FAILS("a.", "column 3: expected a name after '.', found the end of the expression");
    FAILS("a.1", "column 3: expected a name after '.', found '1'");
    FAILS("10K", "column 1: '10K' is not a number");
    FAILS("1e", "column 1: '1e' is not a number");
    FAILS("1e999", "column 1: '1e999' is not a number that fits a double");
    FAILS("'\xff'", "column 1: the string is not valid UTF-8");
    FAILS("true(1)", "column 5: expected an operator or the end, found '('");
    FAILS("in", "column 1: expected a value, found 'in'");
    FAILS("!", "column 2: expected a value, found the end of the expression");
    /* a 65-argument call */
    char src[400] = "max(0";
    for (int i = 0; i < 64; i++)
        strncat(src, ",1", sizeof(src) - strlen(src) - 1);
    strncat(src, ")", sizeof(src) - strlen(src) - 1);
    FAILS(src, "column 1: max() takes at most 64 arguments, not 65");
    /* the error has the code; out stays NULL; err may be NULL */
    struct fs_expr *e = (struct fs_expr *)1;
    assert_int_equal(fs_expr_compile("1 +", &e, NULL), -FS_E_INVALID);
    assert_null(e);
    json_t *out = (json_t *)1;
    assert_int_equal(fs_expr_eval_str("(", NULL, &out, NULL), -FS_E_INVALID);
    assert_null(out);
}

/* ---- limits ------------------------------------------------------------------------------- */

static char *repeat(const char *pre, const char *unit, int n, const char *mid, const char *unit2,
                    int n2)
{
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, pre);
    for (int i = 0; i < n; i++)
        fs_buf_puts(&b, unit);
    fs_buf_puts(&b, mid);
    for (int i = 0; i < n2; i++)
        fs_buf_puts(&b, unit2);
    return fs_buf_detach(&b, NULL);
}

static void compiles(const char *src, bool ok, int code)
{
    struct fs_expr *e = NULL;
    struct fs_err err = {0};
    int rc = fs_expr_compile(src, &e, &err);
    if (ok && rc != 0)
        fail_msg("%.60s...: %s", src, err.msg);
    if (!ok && rc != -code)
        fail_msg("%.60s...: rc %d, want %d", src, rc, -code);
    if (!ok && code == FS_E_INVALID && !strstr(err.msg, "nested deeper than 64 levels"))
        fail_msg("%.60s...: %s", src, err.msg);
    fs_expr_free(e);
}

static void test_limits(void **state)
{
    /* source length */
    char *s = repeat("'", "a", FS_EXPR_MAX_SOURCE - 2, "'", "", 0);
    compiles(s, true, 0);
    free(s);
    s = repeat("'", "a", FS_EXPR_MAX_SOURCE - 1, "'", "", 0);
    compiles(s, false, FS_E_TOO_LARGE);
    free(s);
    /* nesting: parentheses, unary operators, operator chains, calls */
    s = repeat("", "(", 63, "1", ")", 63);
    compiles(s, true, 0);
    free(s);
    s = repeat("", "(", 64, "1", ")", 64);
    compiles(s, false, FS_E_INVALID);
    free(s);
    s = repeat("", "(", 2000, "1", ")", 2000); /* fails early, without deep recursion */
    compiles(s, false, FS_E_INVALID);
    free(s);
    s = repeat("", "!", 62, "x", "", 0);
    compiles(s, true, 0);
    free(s);
    s = repeat("", "!", 1000, "x", "", 0);
    compiles(s, false, FS_E_INVALID);
    free(s);
    s = repeat("1", "+1", 63, "", "", 0); /* 64 levels: 63 additions over a leaf */
    compiles(s, true, 0);
    free(s);
    s = repeat("1", "+1", 64, "", "", 0);
    compiles(s, false, FS_E_INVALID);
    free(s);
    s = repeat("", "abs(", 64, "1", ")", 64);
    compiles(s, false, FS_E_INVALID);
    free(s);
    s = repeat("", "[", 64, "1", "]", 64);
    compiles(s, false, FS_E_INVALID);
    free(s);

    /* steps: each element a function walks counts */
    json_t *sc = json_object(), *big = json_array(), *ok = json_array();
    for (int i = 0; i < 200000; i++)
        json_array_append_new(big, json_integer(i));
    for (int i = 0; i < 1000; i++)
        json_array_append_new(ok, json_integer(i));
    json_object_set_new(sc, "big", big);
    json_object_set_new(sc, "ok", ok);
    const char *heavy[] = {"sum(big)",
                           "big == big",
                           "-1 in big",
                           "where(big, 'x', 1)",
                           "max(big)",
                           "pluck(big, 'x')",
                           "count(where(big, 'x', 1))",
                           "grep(big, 'x', 'y')",
                           "at_least(big, 'x', 1)"};
    json_t *out;
    struct fs_err err;
    for (size_t i = 0; i < FS_ARRAY_LEN(heavy); i++) {
        out = (json_t *)1;
        if (fs_expr_eval_str(heavy[i], sc, &out, &err) != -FS_E_TOO_LARGE)
            fail_msg("%s: not stopped by the step limit", heavy[i]);
        assert_null(out);
        assert_non_null(strstr(err.msg, "100000 steps"));
    }
    /* ... but a lookup, and a walk under the limit, are fine */
    assert_int_equal(fs_expr_eval_str("len(big) + big[-1] + sum(ok)", sc, &out, &err), 0);
    assert_int_equal(json_integer_value(out), 200000 + 199999 + 499500);
    json_decref(out);
    json_decref(sc);

    /* scanning a string costs a step per KiB: 1 MiB scanned 120 times is past the limit */
    sc = json_object();
    char *mib = repeat("", "a", 1 << 20, "", "", 0);
    json_object_set_new(sc, "s", json_string(mib));
    free(mib);
    assert_int_equal(fs_expr_eval_str("'b' in s || len(s) == 0", sc, &out, &err), 0);
    assert_true(json_is_false(out));
    json_decref(out);
    char *scan = repeat("['b' in s", ", 'b' in s", 119, "]", "", 0);
    assert_int_equal(fs_expr_eval_str(scan, sc, &out, &err), -FS_E_TOO_LARGE);
    free(scan);
    scan = repeat("[len(s)", ", len(s)", 119, "]", "", 0);
    assert_int_equal(fs_expr_eval_str(scan, sc, &out, &err), -FS_E_TOO_LARGE);
    free(scan);
    /* catastrophic backtracking is cut short: no match */
    json_object_set_new(sc, "bt", json_string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    assert_int_equal(fs_expr_eval_str("bt =~ '^(a+)+$'", sc, &out, &err), 0);
    assert_true(json_is_false(out));
    json_decref(out);
    json_decref(sc);

    /* strings an expression builds are capped at 64 KiB: past that, null */
    sc = json_object();
    char *a = repeat("", "a", 40000, "", "", 0);
    json_object_set_new(sc, "s", json_string(a));
    free(a);
    json_t *objs = json_object();
    for (int i = 0; i < 5000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "key%d", i);
        json_object_set_new(objs, k, json_integer(i));
    }
    json_object_set_new(sc, "o", objs);
    const char *capped[] = {"s + s",  "join([s, s], '')", "upper(s + s)",
                            "str(o)", "'' + o",           "s + s + s + s"};
    for (size_t i = 0; i < FS_ARRAY_LEN(capped); i++) {
        assert_int_equal(fs_expr_eval_str(capped[i], sc, &out, &err), 0);
        if (!json_is_null(out))
            fail_msg("%s: not capped", capped[i]);
        json_decref(out);
    }
    assert_int_equal(fs_expr_eval_str("len(s + s[0] + 'b')", sc, &out, &err), 0);
    assert_int_equal(json_integer_value(out), 40001);
    json_decref(out);
    assert_int_equal(fs_expr_eval_str("len(upper(s))", sc, &out, &err), 0);
    assert_int_equal(json_integer_value(out), 40000);
    json_decref(out);
    json_decref(sc);
}

/* ---- the catalog's probe expectations ----------------------------------------------------- */

struct probe_case {
    const char *expect, *result;
    bool want;
};

static void test_catalog_expects(void **state)
{
    static const struct probe_case cases[] = {
        {"used_pct < 90", "{\"mount\": \"/var/log/journal\", \"used_pct\": 85.2}", true},
        {"used_pct < 90", "{\"used_pct\": 90}", false},
        {"used_pct < 90", "{\"used_pct\": 93.4}", false},
        {"used_pct < 90", "{\"used_pct\": \"12\"}", false}, /* a string is not a number */
        {"used_pct < 90", "{}", false},                     /* missing: null < 90 is false */
        {"exists && type == 'file'", "{\"exists\": true, \"type\": \"file\"}", true},
        {"exists && type == 'file'", "{\"exists\": true, \"type\": \"directory\"}", false},
        {"exists && type == 'file'", "{\"exists\": false}", false},
        {"exists", "{\"exists\": true}", true},
        {"!exists", "{\"exists\": false}", true},
        {"!exists", "{}", true},
        {"!exists", "{\"exists\": true, \"pid\": 4242}", false},
        {"value == param.value", "{\"value\": \"64\", \"param\": {\"value\": \"64\"}}", true},
        {"value == param.value", "{\"value\": 64, \"param\": {\"value\": 64.0}}", true},
        {"value == param.value", "{\"value\": \"64\", \"param\": {\"value\": 64}}", false},
        {"value == param.value", "{\"value\": \"32\", \"param\": {\"value\": \"64\"}}", false},
        {"active_state == 'active'", "{\"active_state\": \"active\", \"sub_state\": \"running\"}",
         true},
        {"active_state == 'active'", "{\"active_state\": \"failed\"}", false},
        {"load_state == 'loaded'", "{\"load_state\": \"loaded\"}", true},
        {"days_left > 30", "{\"days_left\": 45}", true},
        {"days_left > 30", "{\"days_left\": 30.5}", true},
        {"days_left > 30", "{\"days_left\": 12}", false},
        {"days_left > 30", "{\"days_left\": \"45\"}", false},
        {"installed == candidate", "{\"installed\": \"1.2.3-1\", \"candidate\": \"1.2.3-1\"}",
         true},
        {"installed == candidate", "{\"installed\": \"1.2.2-1\", \"candidate\": \"1.2.3-1\"}",
         false},
        {"installed == candidate", "{\"installed\": null, \"candidate\": \"1.0\"}", false},
        {"installed", "{\"installed\": \"1.0\"}", true},
        {"installed", "{\"installed\": null}", false},
        {"bytes > 0", "{\"bytes\": 1073741824}", true},
        {"bytes > 0", "{\"bytes\": 0}", false},
        {"status == 200", "{\"status\": 200}", true},
        {"status == 200", "{\"status\": 503}", false},
        {"updated_replicas == replicas && available_replicas == replicas",
         "{\"replicas\": 3, \"updated_replicas\": 3, \"available_replicas\": 3}", true},
        {"updated_replicas == replicas && available_replicas == replicas",
         "{\"replicas\": 3, \"updated_replicas\": 3, \"available_replicas\": 2}", false},
        {"available_replicas == param.replicas",
         "{\"available_replicas\": 5, \"param\": {\"replicas\": 5}}", true},
        {"circuit == 'open'", "{\"circuit\": \"open\"}", true},
        {"enabled == false", "{\"enabled\": false}", true},
        {"enabled == false", "{}", false},
        {"enabled == true", "{\"enabled\": true}", true},
        {"remaining_usd > 0", "{\"remaining_usd\": 12.5}", true},
        {"provider == param.to_provider",
         "{\"provider\": \"b\", \"param\": {\"to_provider\": \"b\"}}", true},
        {"raised", "{\"raised\": true}", true},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_expr *e;
        struct fs_err err;
        if (fs_expr_compile(cases[i].expect, &e, &err) != 0)
            fail_msg("%s: %s", cases[i].expect, err.msg);
        assert_string_equal(fs_expr_source(e), cases[i].expect);
        json_t *sc = load(cases[i].result);
        bool got;
        assert_int_equal(fs_expr_test(e, sc, &got, &err), 0);
        if (got != cases[i].want)
            fail_msg("%s over %s: got %d", cases[i].expect, cases[i].result, got);
        json_decref(sc);
        fs_expr_free(e);
    }
}

/* ---- threads ------------------------------------------------------------------------------ */

struct thread_arg {
    const struct fs_expr *e;
    const json_t *scope;
    int bad;
};

static void *eval_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 3000; i++) {
        json_t *out;
        if (fs_expr_eval(a->e, a->scope, &out, NULL) != 0 || !json_is_string(out) ||
            strcmp(json_string_value(out), "ok:hello:6:2.5") != 0)
            a->bad++;
        json_decref(out);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fs_expr *e;
    assert_int_equal(fs_expr_compile("s =~ '^h.l' && matches(s, pat) && 'x' in ['x'] ? 'ok:' + s "
                                     "+ ':' + sum(arr) + ':' + r : 'bad'",
                                     &e, NULL),
                     0);
    json_t *sc = load(S);
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){e, sc, 0};
        assert_int_equal(pthread_create(&th[i], NULL, eval_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].bad, 0);
    }
    json_decref(sc);
    fs_expr_free(e);
}

/* ---- the reference page ------------------------------------------------------------------- */

/* Split a markdown table row into cells ("\|" is an escaped pipe inside a cell). */
static int row_cells(const char *line, char cells[][512], int max)
{
    int n = 0;
    size_t k = 0;
    if (*line != '|')
        return 0;
    for (const char *p = line + 1; *p && *p != '\n'; p++) {
        if (*p == '\\' && p[1] == '|') {
            if (k + 1 < 512)
                cells[n][k++] = '|';
            p++;
        } else if (*p == '|') {
            cells[n][k] = '\0';
            if (++n == max)
                return n;
            k = 0;
        } else if (k + 1 < 512) {
            cells[n][k++] = *p;
        }
    }
    return n;
}

/* A cell "`code`" without its spaces and backticks. */
static bool code_cell(char *c)
{
    size_t l = strlen(c);
    while (l && c[l - 1] == ' ')
        c[--l] = '\0';
    size_t i = 0;
    while (c[i] == ' ')
        i++;
    if (l - i < 2 || c[i] != '`' || c[l - 1] != '`')
        return false;
    c[l - 1] = '\0';
    memmove(c, c + i + 1, l - i - 1);
    return true;
}

static void test_doc_examples(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_expr_doc_markdown(&b), 0);
    const char *doc = fs_buf_str(&b);
    /* the scope the examples run over is on the page */
    const char *js = strstr(doc, "```json\n");
    assert_non_null(js);
    js += 8;
    const char *je = strstr(js, "\n```");
    assert_non_null(je);
    json_error_t jerr;
    json_t *sc = json_loadb(js, (size_t)(je - js), 0, &jerr);
    assert_non_null(sc);
    int examples = 0;
    for (const char *line = doc; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        char cells[5][512];
        if (strncmp(line, "| `", 3) != 0 || row_cells(line, cells, 5) != 4)
            continue;
        if (!code_cell(cells[2]) || !code_cell(cells[3]))
            fail_msg("row without an example: %.80s", line);
        json_t *want = load(cells[3]), *got = NULL;
        struct fs_err err;
        if (fs_expr_eval_str(cells[2], sc, &got, &err) != 0)
            fail_msg("example %s: %s", cells[2], err.msg);
        if (!json_equal(got, want))
            fail_msg("example %s\n  got:  %s\n  page: %s", cells[2], dump(got), cells[3]);
        json_decref(got);
        json_decref(want);
        examples++;
    }
    /* every function of the header is on the page, with an example */
    static const char *const fns[] = {
        "len",   "lower",    "upper",   "trim",     "str",        "num",         "int",
        "round", "floor",    "ceil",    "abs",      "min",        "max",         "sum",
        "avg",   "count",    "default", "contains", "startswith", "endswith",    "matches",
        "pluck", "top",      "bottom",  "where",    "first",      "last",        "join",
        "split", "basename", "dirname", "host",     "bytes",      "human_bytes", "human_duration",
        "pct"};
    for (size_t i = 0; i < FS_ARRAY_LEN(fns); i++) {
        char want[48];
        snprintf(want, sizeof(want), "\n| `%s(", fns[i]);
        if (!strstr(doc, want))
            fail_msg("function %s is not on the page", fns[i]);
    }
    assert_true(examples >= (int)FS_ARRAY_LEN(fns) + 15);
    assert_non_null(strstr(doc, "## Grammar"));
    assert_non_null(strstr(doc, "## Truthiness"));
    assert_non_null(strstr(doc, "## Templates"));
    json_decref(sc);
    fs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_whitespace_and_literals),
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_concatenation),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_match_and_in),
        cmocka_unit_test(test_logic_and_truthiness),
        cmocka_unit_test(test_short_circuit),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_text_functions),
        cmocka_unit_test(test_number_functions),
        cmocka_unit_test(test_array_functions),
        cmocka_unit_test(test_filter_functions),
        cmocka_unit_test(test_path_and_host_functions),
        cmocka_unit_test(test_size_and_duration_functions),
        cmocka_unit_test(test_number_formatting),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_template_limits),
        cmocka_unit_test(test_render_json),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_catalog_expects),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_doc_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
