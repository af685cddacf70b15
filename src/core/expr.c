/* expr: the expression and template language of playbooks and catalog probes. Owns the lexer,
 * the recursive-descent parser to a node array, the evaluator, the function table
 * (FS_EXPR_FUNCTIONS, which docs/expressions.md is rendered from), templates and the reference
 * page. It must not call out, loop, keep mutable state shared between evaluations, or let data
 * turn into an error: every size it builds is capped and every evaluation is bounded in steps. */
#include "core/common.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/expr.h"
#include "core/json.h"
#include "core/regex.h"

/* The longest string an expression or a template may build ("+", join, str, a rendered
 * template); longer results are null (templates: -FS_E_TOO_LARGE). */
#define MAX_STRING 65536
/* Arguments of a variadic call (min, max). */
#define MAX_ARGS 64
/* Nesting of a JSON value fs_template_render_json and fs_template_check_json walk, and of the
 * values == compares. */
#define MAX_JSON_DEPTH 64

/* ---- values ------------------------------------------------------------------------------ */

bool fs_expr_truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE: return true;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_STRING: return json_string_length(v) != 0;
    case JSON_ARRAY: return json_array_size(v) != 0;
    case JSON_OBJECT: return json_object_size(v) != 0;
    default: return false;
    }
}

static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c < 0xE0)
            k = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c < 0xF0)
            k = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c < 0xF5)
            k = 4, cp = c & 0x07;
        else
            return false;
        if (i + k > n)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k;
    }
    return true;
}

/* Shortest text that reads back as the same double: 90.5 -> "90.5", 0.1 -> "0.1". */
static void fmt_real(double d, char *out, size_t size)
{
    if (d == 0.0) {
        snprintf(out, size, "0");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

static bool to_i64(double d, int64_t *out)
{
    /* -2^63 is exact; 2^63 is the first double that does not fit */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return false;
    *out = (int64_t)d;
    return true;
}

/* Strict decimal number text: [+-]digits[.digits][(e|E)[+-]digits], or .digits after the sign.
 * No hex, inf or nan (strtod would take those). */
static bool parse_number(const char *s, size_t n, json_t **out)
{
    char tmp[128];
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (n == 0 || n >= sizeof(tmp))
        return false;
    size_t i = 0, digits = 0;
    bool integral = true;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        integral = false;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (!ed)
            return false;
    }
    if (i != n)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (integral) {
        errno = 0;
        long long v = strtoll(tmp, NULL, 10);
        if (errno == 0) {
            *out = json_integer(v);
            return true;
        }
    }
    double d = strtod(tmp, NULL);
    if (!isfinite(d))
        return false;
    *out = json_real(d);
    return true;
}

/* ---- the compiled form ------------------------------------------------------------------- */

enum nkind {
    N_LIT,    /* lit */
    N_NAME,   /* name: a member of the scope */
    N_MEMBER, /* a.name */
    N_INDEX,  /* a[b] */
    N_NOT,    /* !a */
    N_NEG,    /* -a */
    N_BIN,    /* a op b */
    N_AND,    /* a && b */
    N_OR,     /* a || b */
    N_COND,   /* a ? b : c */
    N_CALL,   /* fn(kids[a .. a+b)) */
    N_ARRAY,  /* [kids[a .. a+b)] */
};

enum binop { B_ADD, B_SUB, B_MUL, B_DIV, B_MOD, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_MATCH, B_IN };

struct node {
    uint8_t kind;
    uint8_t op;     /* enum binop, or the function's index for N_CALL */
    uint16_t depth; /* of the subtree */
    uint32_t col;   /* 0-based offset in the source */
    int32_t a, b, c;
    json_t *lit;    /* N_LIT */
    char *name;     /* N_NAME, N_MEMBER */
    pcre2_code *re; /* B_MATCH and matches() with a literal pattern: compiled once */
};

struct fs_expr {
    char *src;
    struct node *nodes;
    size_t nnodes, capnodes;
    int32_t *kids;
    size_t nkids, capkids;
    int32_t root;
};

/* ---- evaluation state (one per call: nothing shared between threads) --------------------- */

struct ev {
    const struct fs_expr *e;
    const json_t *scope;
    unsigned long steps;
    int rc;
};

static json_t *ev_fail(struct ev *ev, int rc)
{
    if (!ev->rc)
        ev->rc = rc;
    return NULL;
}

static bool ev_step(struct ev *ev, unsigned long n)
{
    if (ev->rc)
        return false;
    ev->steps += n;
    if (ev->steps > FS_EXPR_MAX_STEPS) {
        ev->rc = -FS_E_TOO_LARGE;
        return false;
    }
    return true;
}

static json_t *chk(struct ev *ev, json_t *v)
{
    return v ? v : ev_fail(ev, -FS_E_NOMEM);
}

static json_t *mk_int(struct ev *ev, int64_t i)
{
    return chk(ev, json_integer(i));
}

static json_t *mk_real(struct ev *ev, double d)
{
    if (!isfinite(d))
        return json_null();
    return chk(ev, json_real(d));
}

/* An integer when d is integral and fits, else a real. */
static json_t *mk_whole(struct ev *ev, double d)
{
    int64_t i;
    if (d == floor(d) && to_i64(d, &i))
        return mk_int(ev, i);
    return mk_real(ev, d);
}

static json_t *mk_str(struct ev *ev, const char *s, size_t n)
{
    if (n > MAX_STRING)
        return json_null();
    return chk(ev, json_stringn(s, n));
}

static json_t *mk_buf(struct ev *ev, struct fs_buf *b)
{
    json_t *v = mk_str(ev, b->data ? b->data : "", b->len);
    fs_buf_release(b);
    return v;
}

static bool is_num(const json_t *v)
{
    return json_is_integer(v) || json_is_real(v);
}

static double num_of(const json_t *v)
{
    return json_number_value(v);
}

/* Text of a value: strings as they are, numbers in shortest form, null as "", true/false,
 * arrays and objects as compact JSON. 0, -FS_E_TOO_LARGE past b's cap, or -FS_E_NOMEM. */
struct dump_ctx {
    struct fs_buf *b;
    int rc;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
    struct dump_ctx *d = data;
    int rc = fs_buf_append(d->b, buf, size);
    if (rc < 0) {
        d->rc = rc;
        return -1;
    }
    return 0;
}

static int to_text(const json_t *v, struct fs_buf *b)
{
    char tmp[40];
    switch (json_typeof(v)) {
    case JSON_STRING: return fs_buf_append(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)json_integer_value(v));
        return fs_buf_puts(b, tmp);
    case JSON_REAL: fmt_real(json_real_value(v), tmp, sizeof(tmp)); return fs_buf_puts(b, tmp);
    case JSON_TRUE: return fs_buf_puts(b, "true");
    case JSON_FALSE: return fs_buf_puts(b, "false");
    case JSON_NULL: return 0;
    default: {
        struct dump_ctx d = {b, 0};
        if (json_dump_callback(v, dump_cb, &d, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
            return d.rc ? d.rc : -FS_E_NOMEM;
        return 0;
    }
    }
}

/* Equality of JSON values, numbers by value (1 == 1.0). Each value visited is a step. */
static bool eq(struct ev *ev, const json_t *a, const json_t *b, int depth)
{
    if (!ev_step(ev, 1) || depth > MAX_JSON_DEPTH)
        return false;
    if (is_num(a) && is_num(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        long double x = json_is_integer(a) ? (long double)json_integer_value(a) : num_of(a);
        long double y = json_is_integer(b) ? (long double)json_integer_value(b) : num_of(b);
        return x == y;
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        if (!ev_step(ev, json_string_length(a) / 1024))
            return false;
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!eq(ev, json_array_get(a, i), json_array_get(b, i), depth + 1))
                return false;
        return true;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        size_t klen;
        json_t *va;
        json_object_keylen_foreach((json_t *)a, k, klen, va)
        {
            json_t *vb = json_object_getn(b, k, klen);
            if (!vb || !eq(ev, va, vb, depth + 1))
                return false;
        }
        return true;
    }
    default: return true; /* true, false, null */
    }
}

/* Ordering of numbers with numbers and strings with strings: *c < 0, 0, > 0. False when the
 * two are not comparable. */
static bool order(const json_t *a, const json_t *b, int *c)
{
    if (is_num(a) && is_num(b)) {
        long double x, y;
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t i = json_integer_value(a), j = json_integer_value(b);
            *c = i < j ? -1 : i > j;
            return true;
        }
        x = json_is_integer(a) ? (long double)json_integer_value(a) : num_of(a);
        y = json_is_integer(b) ? (long double)json_integer_value(b) : num_of(b);
        *c = x < y ? -1 : x > y;
        return true;
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int m = memcmp(json_string_value(a), json_string_value(b), FS_MIN(la, lb));
        *c = m ? m : la < lb ? -1 : la > lb;
        return true;
    }
    return false;
}

/* `x in c`: an element of an array, a substring of a string, a key of an object. */
static bool member(struct ev *ev, const json_t *x, const json_t *c)
{
    if (json_is_string(c)) {
        if (!json_is_string(x))
            return false;
        if (json_string_length(x) == 0)
            return true;
        return memmem(json_string_value(c), json_string_length(c), json_string_value(x),
                      json_string_length(x)) != NULL;
    }
    if (json_is_array(c)) {
        for (size_t i = 0; i < json_array_size(c); i++)
            if (eq(ev, x, json_array_get(c, i), 0))
                return true;
        return false;
    }
    if (json_is_object(c))
        return json_is_string(x) &&
               json_object_getn(c, json_string_value(x), json_string_length(x)) != NULL;
    return false;
}

/* ---- regular expressions ----------------------------------------------------------------- */

/* Tighter than fs_re_full_match's (one expression may hold a few hundred matches): a match
 * that backtracks more than this is no match. Written once, only read after. */
#define RE_MATCH_LIMIT 100000
static pcre2_match_context *re_limits;
static pthread_once_t re_limits_once = PTHREAD_ONCE_INIT;

static void re_limits_init(void)
{
    if ((re_limits = pcre2_match_context_create(NULL))) {
        pcre2_set_match_limit(re_limits, RE_MATCH_LIMIT);
        pcre2_set_depth_limit(re_limits, 10000);
        pcre2_set_heap_limit(re_limits, 16384);
    }
}

/* 1 when re matches anywhere in s, 0 when not, -1 on a limit or no memory. */
static int re_search(const pcre2_code *re, const char *s, size_t n)
{
    pthread_once(&re_limits_once, re_limits_init);
    pcre2_match_data *md = fs_re_match_data();
    if (!md || !re_limits)
        return -1;
    int m = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, re_limits);
    return m >= 0 ? 1 : m == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* s =~ pat. A pattern that is not a literal is compiled here and freed: no cache. */
static json_t *re_test(struct ev *ev, const pcre2_code *re, const json_t *s, const json_t *pat)
{
    if (!json_is_string(s))
        return json_false();
    pcre2_code *own = NULL;
    if (!re) {
        if (!json_is_string(pat) || json_string_length(pat) > FS_EXPR_MAX_SOURCE)
            return json_false();
        char msg[200];
        if (!ev_step(ev, 100))
            return NULL;
        own = fs_re_compile_checked(json_string_value(pat), json_string_length(pat), msg,
                                    sizeof(msg));
        if (!own)
            return json_false();
        re = own;
    }
    int m = re_search(re, json_string_value(s), json_string_length(s));
    pcre2_code_free(own);
    return json_boolean(m == 1);
}

/* ---- functions --------------------------------------------------------------------------- */

typedef json_t *(*fn_t)(struct ev *ev, const struct node *nd, json_t **a, int n);

/* X(name, min args, max args (-1: any), signature, one-line doc, example, example's result as
 * JSON). The examples run over doc_scope below; the unit tests evaluate every one of them
 * from the rendered page. */
#define FS_EXPR_FUNCTIONS(X)                                                                       \
    X(len, 1, 1, "len(x)",                                                                         \
      "Characters in a string, elements in an array, members in an object; null otherwise.",       \
      "len('héllo')", "5")                                                                         \
    X(lower, 1, 1, "lower(s)", "s with ASCII letters in lower case; null when s is not a string.", \
      "lower('WARN')", "\"warn\"")                                                                 \
    X(upper, 1, 1, "upper(s)", "s with ASCII letters in upper case; null when s is not a string.", \
      "upper('warn')", "\"WARN\"")                                                                 \
    X(trim, 1, 1, "trim(s)", "s without leading and trailing white space.", "trim('  ok\\n')",     \
      "\"ok\"")                                                                                    \
    X(str, 1, 1, "str(x)",                                                                         \
      "x as text: a string as it is, a number in shortest form, null as \"\", true/false, "        \
      "arrays and objects as compact JSON.",                                                       \
      "str(90.5) + '%'", "\"90.5%\"")                                                              \
    X(num, 1, 1, "num(x)",                                                                         \
      "A number from a number, a decimal string (\"42\", \"1.5e3\") or a boolean (1 or 0); null "  \
      "otherwise.",                                                                                \
      "num(' 42 ')", "42")                                                                         \
    X(int, 1, 1, "int(x)", "num(x) truncated toward zero; null when it does not fit 64 bits.",     \
      "int('-7.9')", "-7")                                                                         \
    X(round, 1, 2, "round(x[, digits])",                                                           \
      "x rounded half away from zero to digits decimals (default 0; -2 rounds to hundreds).",      \
      "round(90.46, 1)", "90.5")                                                                   \
    X(floor, 1, 1, "floor(x)", "The largest integer not above x.", "floor(2.7)", "2")              \
    X(ceil, 1, 1, "ceil(x)", "The least integer not below x.", "ceil(2.1)", "3")                   \
    X(abs, 1, 1, "abs(x)", "The absolute value of a number.", "abs(-3)", "3")                      \
    X(min, 1, -1, "min(a, b, ...) / min(arr)",                                                     \
      "The least number among the arguments, or among the elements of one array argument; "        \
      "non-numbers are skipped; null when there is none.",                                         \
      "min([3, 1, 'x'])", "1")                                                                     \
    X(max, 1, -1, "max(a, b, ...) / max(arr)", "The greatest number, as for min.", "max(3, 7.5)",  \
      "7.5")                                                                                       \
    X(sum, 1, 1, "sum(arr)",                                                                       \
      "The sum of the numbers in arr (others are skipped); 0 when there is none; null when arr "   \
      "is not an array.",                                                                          \
      "sum(pluck(mounts, 'size'))", "161061273600")                                                \
    X(avg, 1, 1, "avg(arr)", "The mean of the numbers in arr; null when there is none.",           \
      "avg([1, 2, 3, 4])", "2.5")                                                                  \
    X(count, 1, 1, "count(arr)", "The number of elements of an array; null otherwise.",            \
      "count(where(mounts, 'fstype', 'ext4'))", "2")                                               \
    X(default, 2, 2, "default(x, fallback)", "x, or fallback when x is null (or missing).",        \
      "default(labels.team, 'sre')", "\"sre\"")                                                    \
    X(contains, 2, 2, "contains(s|arr|obj, x)",                                                    \
      "Whether string s contains x, the array has an element equal to x, or the object has the "   \
      "key x; same as `x in s`.",                                                                  \
      "contains('Out of memory: Killed', 'memory')", "true")                                       \
    X(startswith, 2, 2, "startswith(s, p)", "Whether string s starts with p.",                     \
      "startswith(path, '/var/')", "true")                                                         \
    X(endswith, 2, 2, "endswith(s, p)", "Whether string s ends with p.", "endswith(path, '.log')", \
      "false")                                                                                     \
    X(matches, 2, 2, "matches(s, re)",                                                             \
      "Whether the PCRE2 pattern re matches anywhere in string s; same as `s =~ re`.",             \
      "matches('HTTP 503', ' 5\\d\\d$')", "true")                                                  \
    X(pluck, 2, 2, "pluck(arr, field)",                                                            \
      "The field of each element that has it, as an array; field may be a dotted path "            \
      "('usage.pct').",                                                                            \
      "pluck(mounts, 'mount')", "[\"/\",\"/var\"]")                                                \
    X(top, 2, 2, "top(arr, field)",                                                                \
      "The element whose field is the greatest number (the first of equals); null when there is "  \
      "none.",                                                                                     \
      "top(mounts, 'used_pct').mount", "\"/var\"")                                                 \
    X(bottom, 2, 2, "bottom(arr, field)", "The element whose field is the least number.",          \
      "bottom(mounts, 'used_pct').mount", "\"/\"")                                                 \
    X(where, 3, 3, "where(arr, field, value)",                                                     \
      "The elements whose field equals value (==), as an array.",                                  \
      "where(mounts, 'used_pct', 93)[0].mount", "\"/var\"")                                        \
    X(grep, 3, 3, "grep(arr, field, re)",                                                          \
      "The elements whose field is a string the PCRE2 pattern re matches anywhere (unanchored, "   \
      "as =~), as an array; field may be a dotted path, or '' for the element itself (an array "   \
      "of strings). Elements without the field or whose field is not a string are left out; "      \
      "null when arr is not an array or re does not compile (a literal re that does not compile "  \
      "is an error when the expression is compiled).",                                             \
      "pluck(grep(mounts, 'mount', '^/v'), 'mount')", "[\"/var\"]")                                \
    X(at_least, 3, 3, "at_least(arr, field, n)",                                                   \
      "The elements whose field is a number greater than or equal to n, as an array, e.g. the "    \
      "files at least a day old: at_least(files, 'age_s', 86400); field '' is the element "        \
      "itself. Elements whose field is missing or not a number are left out; null when arr is "    \
      "not an array or n is not a number.",                                                        \
      "pluck(at_least(mounts, 'used_pct', 90), 'mount')", "[\"/var\"]")                            \
    X(first, 1, 1, "first(arr)", "The first element; null when arr is empty or not an array.",     \
      "first([4, 5])", "4")                                                                        \
    X(last, 1, 1, "last(arr)", "The last element; null when arr is empty or not an array.",        \
      "last(split('a/b/c', '/'))", "\"c\"")                                                        \
    X(join, 2, 2, "join(arr, sep)", "The elements as text (as str()), separated by sep.",          \
      "join([1, 'b', null], ', ')", "\"1, b, \"")                                                  \
    X(split, 2, 2, "split(s, sep)",                                                                \
      "The parts of s between occurrences of sep (not empty), as an array.", "split('a,b', ',')",  \
      "[\"a\",\"b\"]")                                                                             \
    X(basename, 1, 1, "basename(p)", "The last component of a path, as POSIX basename.",           \
      "basename('/var/log/syslog')", "\"syslog\"")                                                 \
    X(dirname, 1, 1, "dirname(p)", "The path without its last component, as POSIX dirname.",       \
      "dirname('/var/log/syslog')", "\"/var/log\"")                                                \
    X(host, 1, 1, "host(instance)",                                                                \
      "The host of a Prometheus instance or URL: scheme, path and port removed, IPv6 brackets "    \
      "too; a bare name or address is left alone.",                                                \
      "host(instance)", "\"::1\"")                                                                 \
    X(bytes, 1, 1, "bytes(s)",                                                                     \
      "Bytes in a size: a number, or a decimal with an optional K, M, G, T or P (1024-based, any " \
      "case) and an optional B or iB (\"500M\", \"1.5GiB\", \"2048\"); null when it is not one.",  \
      "bytes('1.5G')", "1610612736")                                                               \
    X(human_bytes, 1, 1, "human_bytes(n)",                                                         \
      "n bytes as text, 1024-based, one decimal under 10 (\"900 B\", \"1.5 GiB\", \"512 MiB\").",  \
      "human_bytes(1610612736)", "\"1.5 GiB\"")                                                    \
    X(human_duration, 1, 1, "human_duration(secs)",                                                \
      "Seconds as the largest two units of d, h, m, s (\"5d 2h\", \"3h 20m\", \"45s\"); a "        \
      "negative duration is \"0s\".",                                                              \
      "human_duration(439200)", "\"5d 2h\"")                                                       \
    X(pct, 2, 2, "pct(part, whole)",                                                               \
      "100 * part / whole rounded to one decimal; null when whole is 0.", "pct(1, 3)", "33.3")

/* The scope the examples of the reference page are evaluated over. */
static const char doc_scope[] =
    "{\"mounts\": [{\"mount\": \"/\", \"fstype\": \"ext4\", \"used_pct\": 71.5, "
    "\"size\": 53687091200}, {\"mount\": \"/var\", \"fstype\": \"ext4\", \"used_pct\": 93, "
    "\"size\": 107374182400}], \"path\": \"/var/log/syslog\", \"instance\": \"[::1]:9100\", "
    "\"mount\": \"/\", \"used_pct\": 71.5, \"labels\": {\"severity\": \"critical\"}}";

#define FS_EXPR_FN_DECL(f, mn, mx, sig, doc, ex, res)                                              \
    static json_t *fn_##f(struct ev *ev, const struct node *nd, json_t **a, int n);
FS_EXPR_FUNCTIONS(FS_EXPR_FN_DECL)
#undef FS_EXPR_FN_DECL

enum fn_index {
#define FS_EXPR_FN_ENUM(f, mn, mx, sig, doc, ex, res) F_##f,
    FS_EXPR_FUNCTIONS(FS_EXPR_FN_ENUM)
#undef FS_EXPR_FN_ENUM
        F__COUNT
};

static const struct fn_def {
    const char *name;
    int min, max;
    const char *sig, *doc, *example, *result;
    fn_t fn;
} functions[] = {
#define FS_EXPR_FN_ROW(f, mn, mx, sig, doc, ex, res) {#f, mn, mx, sig, doc, ex, res, fn_##f},
    FS_EXPR_FUNCTIONS(FS_EXPR_FN_ROW)
#undef FS_EXPR_FN_ROW
};

static json_t *fn_len(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (json_is_string(a[0])) {
        const unsigned char *s = (const unsigned char *)json_string_value(a[0]);
        size_t l = json_string_length(a[0]), chars = 0;
        for (size_t i = 0; i < l; i++)
            chars += (s[i] & 0xC0) != 0x80;
        return mk_int(ev, (int64_t)chars);
    }
    if (json_is_array(a[0]))
        return mk_int(ev, (int64_t)json_array_size(a[0]));
    if (json_is_object(a[0]))
        return mk_int(ev, (int64_t)json_object_size(a[0]));
    return json_null();
}

static json_t *map_case(struct ev *ev, const json_t *v, bool up)
{
    if (!json_is_string(v) || json_string_length(v) > MAX_STRING)
        return json_null();
    size_t l = json_string_length(v);
    char *s = fs_malloc(l + 1);
    if (!s)
        return ev_fail(ev, -FS_E_NOMEM);
    const char *in = json_string_value(v);
    for (size_t i = 0; i < l; i++) {
        char c = in[i];
        if (up && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!up && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        s[i] = c;
    }
    json_t *r = mk_str(ev, s, l);
    free(s);
    return r;
}

static json_t *fn_lower(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return map_case(ev, a[0], false);
}

static json_t *fn_upper(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return map_case(ev, a[0], true);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static json_t *fn_trim(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_string(a[0]))
        return json_null();
    const char *s = json_string_value(a[0]);
    size_t l = json_string_length(a[0]);
    while (l && is_space(*s))
        s++, l--;
    while (l && is_space(s[l - 1]))
        l--;
    return mk_str(ev, s, l);
}

static json_t *fn_str(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (json_is_string(a[0]))
        return json_incref(a[0]);
    struct fs_buf b = FS_BUF_INIT(MAX_STRING);
    int rc = to_text(a[0], &b);
    if (rc == -FS_E_NOMEM) {
        fs_buf_release(&b);
        return ev_fail(ev, rc);
    }
    if (rc < 0) {
        fs_buf_release(&b);
        return json_null();
    }
    return mk_buf(ev, &b);
}

/* num(x) as a new value, or null. */
static json_t *to_num(struct ev *ev, const json_t *v)
{
    if (is_num(v))
        return json_incref((json_t *)v);
    if (json_is_boolean(v))
        return mk_int(ev, json_is_true(v));
    if (json_is_string(v)) {
        json_t *r = NULL;
        if (!parse_number(json_string_value(v), json_string_length(v), &r))
            return json_null();
        return chk(ev, r);
    }
    return json_null();
}

static json_t *fn_num(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return to_num(ev, a[0]);
}

static json_t *fn_int(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    json_t *v = to_num(ev, a[0]);
    if (!v || !json_is_real(v))
        return v;
    int64_t i;
    bool ok = to_i64(trunc(json_real_value(v)), &i);
    json_decref(v);
    return ok ? mk_int(ev, i) : json_null();
}

static json_t *fn_round(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!is_num(a[0]))
        return json_null();
    int64_t digits = 0;
    if (n > 1) {
        if (!json_is_integer(a[1]) || json_integer_value(a[1]) < -15 ||
            json_integer_value(a[1]) > 15)
            return json_null();
        digits = json_integer_value(a[1]);
    }
    if (json_is_integer(a[0]) && digits >= 0)
        return json_incref(a[0]);
    double x = num_of(a[0]), p = pow(10.0, (double)(digits < 0 ? -digits : digits));
    if (digits == 0)
        return mk_whole(ev, round(x));
    if (digits < 0)
        return mk_whole(ev, round(x / p) * p);
    double r = round(x * p) / p;
    return isfinite(r) ? mk_real(ev, r) : json_incref(a[0]);
}

static json_t *fn_floor(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (json_is_integer(a[0]))
        return json_incref(a[0]);
    return json_is_real(a[0]) ? mk_whole(ev, floor(json_real_value(a[0]))) : json_null();
}

static json_t *fn_ceil(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (json_is_integer(a[0]))
        return json_incref(a[0]);
    return json_is_real(a[0]) ? mk_whole(ev, ceil(json_real_value(a[0]))) : json_null();
}

static json_t *fn_abs(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (json_is_integer(a[0])) {
        json_int_t i = json_integer_value(a[0]);
        if (i >= 0)
            return json_incref(a[0]);
        return i == INT64_MIN ? mk_real(ev, -(double)i) : mk_int(ev, -i);
    }
    return json_is_real(a[0]) ? mk_real(ev, fabs(json_real_value(a[0]))) : json_null();
}

/* min/max: over the arguments, or over the elements of a single array argument. */
static json_t *extreme(struct ev *ev, json_t **a, int n, int sign)
{
    json_t *const *items = a;
    size_t count = (size_t)n;
    if (n == 1 && json_is_array(a[0])) {
        count = json_array_size(a[0]);
        items = NULL;
    }
    json_t *best = NULL;
    for (size_t i = 0; i < count; i++) {
        if (!ev_step(ev, 1))
            return NULL;
        json_t *v = items ? items[i] : json_array_get(a[0], i);
        int c;
        if (!is_num(v))
            continue;
        if (!best || (order(v, best, &c) && c * sign > 0))
            best = v;
    }
    return best ? json_incref(best) : json_null();
}

static json_t *fn_min(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return extreme(ev, a, n, -1);
}

static json_t *fn_max(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return extreme(ev, a, n, 1);
}

/* Sum of the numbers of an array: integer while every term is and no overflow happens. */
static json_t *add_up(struct ev *ev, const json_t *arr, size_t *terms)
{
    int64_t isum = 0;
    long double rsum = 0;
    bool integral = true;
    *terms = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (!ev_step(ev, 1))
            return NULL;
        json_t *v = json_array_get(arr, i);
        if (!is_num(v))
            continue;
        (*terms)++;
        int64_t next;
        if (integral && json_is_integer(v) &&
            !__builtin_add_overflow(isum, (int64_t)json_integer_value(v), &next)) {
            isum = next;
            continue;
        }
        if (integral) {
            /* the overflowing term (or the first real) has not been added yet */
            integral = false;
            rsum = (long double)isum;
        }
        rsum += json_is_integer(v) ? (long double)json_integer_value(v) : num_of(v);
    }
    return integral ? mk_int(ev, isum) : mk_real(ev, (double)rsum);
}

static json_t *fn_sum(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    size_t terms;
    return json_is_array(a[0]) ? add_up(ev, a[0], &terms) : json_null();
}

static json_t *fn_avg(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_array(a[0]))
        return json_null();
    size_t terms;
    json_t *s = add_up(ev, a[0], &terms);
    if (!s || !terms) {
        json_decref(s);
        return s ? json_null() : NULL;
    }
    double mean = num_of(s) / (double)terms;
    json_decref(s);
    return mk_real(ev, mean);
}

static json_t *fn_count(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return json_is_array(a[0]) ? mk_int(ev, (int64_t)json_array_size(a[0])) : json_null();
}

static json_t *fn_default(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return json_incref(json_is_null(a[0]) ? a[1] : a[0]);
}

static json_t *fn_contains(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    bool m = member(ev, a[1], a[0]);
    return ev->rc ? NULL : json_boolean(m);
}

static json_t *affix(const json_t *s, const json_t *p, bool end)
{
    if (!json_is_string(s) || !json_is_string(p))
        return json_false();
    size_t ls = json_string_length(s), lp = json_string_length(p);
    if (lp > ls)
        return json_false();
    return json_boolean(
        memcmp(json_string_value(s) + (end ? ls - lp : 0), json_string_value(p), lp) == 0);
}

static json_t *fn_startswith(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return affix(a[0], a[1], false);
}

static json_t *fn_endswith(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return affix(a[0], a[1], true);
}

static json_t *fn_matches(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return re_test(ev, nd->re, a[0], a[1]);
}

/* A field of an element: "a.b.0" walks objects by key and arrays by index. */
static const json_t *field_get(const json_t *v, const json_t *field)
{
    const char *f = json_string_value(field);
    size_t n = json_string_length(field), i = 0;
    for (;;) {
        size_t j = i;
        while (j < n && f[j] != '.')
            j++;
        if (json_is_object(v)) {
            v = json_object_getn(v, f + i, j - i);
        } else if (json_is_array(v) && j > i && j - i < 10 &&
                   strspn(f + i, "0123456789") >= j - i) {
            size_t idx = 0;
            for (size_t k = i; k < j; k++)
                idx = idx * 10 + (size_t)(f[k] - '0');
            v = json_array_get(v, idx);
        } else {
            v = NULL;
        }
        if (!v || j >= n)
            return v;
        i = j + 1;
    }
}

static json_t *fn_pluck(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_array(a[0]) || !json_is_string(a[1]))
        return json_null();
    json_t *r = json_array();
    if (!r)
        return ev_fail(ev, -FS_E_NOMEM);
    for (size_t i = 0; i < json_array_size(a[0]); i++) {
        if (!ev_step(ev, 1)) {
            json_decref(r);
            return NULL;
        }
        const json_t *v = field_get(json_array_get(a[0], i), a[1]);
        if (v && json_array_append(r, (json_t *)v) < 0) {
            json_decref(r);
            return ev_fail(ev, -FS_E_NOMEM);
        }
    }
    return r;
}

static json_t *pick(struct ev *ev, json_t **a, int sign)
{
    if (!json_is_array(a[0]) || !json_is_string(a[1]))
        return json_null();
    json_t *best = NULL;
    const json_t *bestv = NULL;
    for (size_t i = 0; i < json_array_size(a[0]); i++) {
        if (!ev_step(ev, 1))
            return NULL;
        json_t *el = json_array_get(a[0], i);
        const json_t *v = field_get(el, a[1]);
        int c;
        if (!v || !is_num(v))
            continue;
        if (!best || (order(v, bestv, &c) && c * sign > 0))
            best = el, bestv = v;
    }
    return best ? json_incref(best) : json_null();
}

static json_t *fn_top(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return pick(ev, a, 1);
}

static json_t *fn_bottom(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    return pick(ev, a, -1);
}

static json_t *fn_where(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_array(a[0]) || !json_is_string(a[1]))
        return json_null();
    json_t *r = json_array();
    if (!r)
        return ev_fail(ev, -FS_E_NOMEM);
    for (size_t i = 0; i < json_array_size(a[0]); i++) {
        if (!ev_step(ev, 1))
            break;
        json_t *el = json_array_get(a[0], i);
        const json_t *v = field_get(el, a[1]);
        if (v && eq(ev, v, a[2], 0) && json_array_append(r, el) < 0)
            ev_fail(ev, -FS_E_NOMEM);
    }
    if (ev->rc) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* The pattern is the node's when it was a literal (compiled with the expression), otherwise
 * compiled here once for the whole array and freed. */
static json_t *fn_grep(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_array(a[0]) || !json_is_string(a[1]))
        return json_null();
    const pcre2_code *re = nd->re;
    pcre2_code *own = NULL;
    if (!re) {
        if (!json_is_string(a[2]) || json_string_length(a[2]) > FS_EXPR_MAX_SOURCE)
            return json_null();
        if (!ev_step(ev, 100))
            return NULL;
        char msg[200];
        own = fs_re_compile_checked(json_string_value(a[2]), json_string_length(a[2]), msg,
                                    sizeof(msg));
        if (!own)
            return json_null();
        re = own;
    }
    json_t *r = json_array();
    if (!r) {
        pcre2_code_free(own);
        return ev_fail(ev, -FS_E_NOMEM);
    }
    bool self = json_string_length(a[1]) == 0;
    for (size_t i = 0; i < json_array_size(a[0]); i++) {
        json_t *el = json_array_get(a[0], i);
        const json_t *v = self ? el : field_get(el, a[1]);
        size_t len = json_is_string(v) ? json_string_length(v) : 0;
        if (!ev_step(ev, 1 + len / 1024))
            break;
        if (json_is_string(v) && re_search(re, json_string_value(v), len) == 1 &&
            json_array_append(r, el) < 0) {
            ev_fail(ev, -FS_E_NOMEM);
            break;
        }
    }
    pcre2_code_free(own);
    if (ev->rc) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *fn_at_least(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_array(a[0]) || !json_is_string(a[1]) || !is_num(a[2]))
        return json_null();
    json_t *r = json_array();
    if (!r)
        return ev_fail(ev, -FS_E_NOMEM);
    for (size_t i = 0; i < json_array_size(a[0]); i++) {
        if (!ev_step(ev, 1))
            break;
        json_t *el = json_array_get(a[0], i);
        const json_t *v = json_string_length(a[1]) == 0 ? el : field_get(el, a[1]);
        int c;
        if (v && is_num(v) && order(v, a[2], &c) && c >= 0 && json_array_append(r, el) < 0) {
            ev_fail(ev, -FS_E_NOMEM);
            break;
        }
    }
    if (ev->rc) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *fn_first(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    json_t *v = json_is_array(a[0]) ? json_array_get(a[0], 0) : NULL;
    return v ? json_incref(v) : json_null();
}

static json_t *fn_last(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    size_t l = json_is_array(a[0]) ? json_array_size(a[0]) : 0;
    return l ? json_incref(json_array_get(a[0], l - 1)) : json_null();
}

static json_t *fn_join(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_array(a[0]) || !json_is_string(a[1]))
        return json_null();
    struct fs_buf b = FS_BUF_INIT(MAX_STRING);
    int rc = 0;
    for (size_t i = 0; i < json_array_size(a[0]) && rc == 0; i++) {
        if (!ev_step(ev, 1)) {
            fs_buf_release(&b);
            return NULL;
        }
        if (i)
            rc = fs_buf_append(&b, json_string_value(a[1]), json_string_length(a[1]));
        if (rc == 0)
            rc = to_text(json_array_get(a[0], i), &b);
    }
    if (rc < 0) {
        fs_buf_release(&b);
        return rc == -FS_E_NOMEM ? ev_fail(ev, rc) : json_null();
    }
    return mk_buf(ev, &b);
}

static json_t *fn_split(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_string(a[0]) || !json_is_string(a[1]) || json_string_length(a[1]) == 0)
        return json_null();
    const char *s = json_string_value(a[0]), *sep = json_string_value(a[1]);
    size_t l = json_string_length(a[0]), ls = json_string_length(a[1]), i = 0;
    json_t *r = json_array();
    if (!r)
        return ev_fail(ev, -FS_E_NOMEM);
    for (;;) {
        if (!ev_step(ev, 1)) {
            json_decref(r);
            return NULL;
        }
        const char *hit = memmem(s + i, l - i, sep, ls);
        size_t end = hit ? (size_t)(hit - s) : l;
        json_t *part = json_stringn(s + i, end - i);
        if (!part || json_array_append_new(r, part) < 0) {
            json_decref(r);
            return ev_fail(ev, -FS_E_NOMEM);
        }
        if (!hit)
            return r;
        i = end + ls;
    }
}

static json_t *fn_basename(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_string(a[0]))
        return json_null();
    const char *s = json_string_value(a[0]);
    size_t l = json_string_length(a[0]);
    if (l == 0)
        return mk_str(ev, ".", 1);
    while (l > 1 && s[l - 1] == '/')
        l--;
    if (l == 1 && s[0] == '/')
        return mk_str(ev, "/", 1);
    size_t start = l;
    while (start && s[start - 1] != '/')
        start--;
    return mk_str(ev, s + start, l - start);
}

static json_t *fn_dirname(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_string(a[0]))
        return json_null();
    const char *s = json_string_value(a[0]);
    size_t l = json_string_length(a[0]);
    while (l > 1 && s[l - 1] == '/') /* trailing slashes */
        l--;
    while (l && s[l - 1] != '/') /* the last component */
        l--;
    if (l == 0)
        return mk_str(ev, ".", 1);
    while (l > 1 && s[l - 1] == '/') /* the slashes before it */
        l--;
    return mk_str(ev, s, l);
}

static json_t *fn_host(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!json_is_string(a[0]))
        return json_null();
    const char *s = json_string_value(a[0]);
    size_t l = json_string_length(a[0]);
    const char *scheme = memmem(s, l, "://", 3);
    if (scheme) {
        l -= (size_t)(scheme + 3 - s);
        s = scheme + 3;
    }
    const char *slash = memchr(s, '/', l);
    if (slash)
        l = (size_t)(slash - s);
    const char *at = memchr(s, '@', l);
    if (at && scheme) { /* user:password@host in a URL */
        l -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    if (l && s[0] == '[') {
        const char *close = memchr(s, ']', l);
        if (close)
            return mk_str(ev, s + 1, (size_t)(close - s - 1));
        return mk_str(ev, s, l);
    }
    const char *colon = memchr(s, ':', l);
    if (colon && !memchr(colon + 1, ':', l - (size_t)(colon + 1 - s))) {
        size_t port = l - (size_t)(colon + 1 - s);
        bool digits = true;
        for (size_t i = 0; i < port; i++)
            digits = digits && colon[1 + i] >= '0' && colon[1 + i] <= '9';
        if (digits)
            l = (size_t)(colon - s);
    }
    return mk_str(ev, s, l);
}

static json_t *fn_bytes(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (is_num(a[0]))
        return num_of(a[0]) >= 0 ? json_incref(a[0]) : json_null();
    if (!json_is_string(a[0]))
        return json_null();
    const char *s = json_string_value(a[0]);
    size_t l = json_string_length(a[0]), i = 0, digits = 0;
    while (l && is_space(s[l - 1]))
        l--;
    while (i < l && is_space(s[i]))
        i++;
    size_t start = i;
    while (i < l && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < l && s[i] == '.') {
        i++;
        while (i < l && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits || i - start > 40)
        return json_null();
    char tmp[48];
    memcpy(tmp, s + start, i - start);
    tmp[i - start] = '\0';
    double v = strtod(tmp, NULL);
    while (i < l && s[i] == ' ')
        i++;
    static const char units[] = "kmgtp";
    const char *u = i < l && s[i] ? strchr(units, s[i] | 0x20) : NULL;
    if (u) {
        v *= pow(1024.0, (double)(u - units + 1));
        i++;
        if (i < l && (s[i] | 0x20) == 'i') { /* "iB", never a bare "i" */
            i++;
            if (i >= l || (s[i] | 0x20) != 'b')
                return json_null();
        }
    }
    if (i < l && (s[i] | 0x20) == 'b')
        i++;
    if (i != l)
        return json_null();
    v = round(v);
    int64_t r;
    return to_i64(v, &r) ? mk_int(ev, r) : json_null();
}

static json_t *fn_human_bytes(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (!is_num(a[0]))
        return json_null();
    double v = num_of(a[0]);
    const char *sign = v < 0 ? "-" : "";
    v = fabs(v);
    size_t u = 0;
    while (v >= 1024 && u + 1 < FS_ARRAY_LEN(units))
        v /= 1024, u++;
    char out[64];
    if (u == 0) {
        snprintf(out, sizeof(out), "%s%.0f B", sign, round(v));
        if (round(v) >= 1024) /* 1023.6 B */
            snprintf(out, sizeof(out), "%s1.0 KiB", sign);
    } else if (v < 9.95) {
        snprintf(out, sizeof(out), "%s%.1f %s", sign, v, units[u]);
    } else if (round(v) >= 1024 && u + 1 < FS_ARRAY_LEN(units)) {
        snprintf(out, sizeof(out), "%s1.0 %s", sign, units[u + 1]);
    } else {
        snprintf(out, sizeof(out), "%s%.0f %s", sign, round(v), units[u]);
    }
    return mk_str(ev, out, strlen(out));
}

static json_t *fn_human_duration(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    static const struct {
        int64_t secs;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    if (!is_num(a[0]))
        return json_null();
    double d = floor(num_of(a[0]));
    int64_t s;
    if (d <= 0)
        return mk_str(ev, "0s", 2);
    if (!to_i64(d, &s))
        return json_null();
    char out[64];
    size_t i = 0;
    while (s < units[i].secs)
        i++;
    int64_t big = s / units[i].secs, rest = s % units[i].secs;
    if (i + 1 < FS_ARRAY_LEN(units) && rest / units[i + 1].secs)
        snprintf(out, sizeof(out), "%" PRId64 "%c %" PRId64 "%c", big, units[i].unit,
                 rest / units[i + 1].secs, units[i + 1].unit);
    else
        snprintf(out, sizeof(out), "%" PRId64 "%c", big, units[i].unit);
    return mk_str(ev, out, strlen(out));
}

static json_t *fn_pct(struct ev *ev, const struct node *nd, json_t **a, int n)
{
    if (!is_num(a[0]) || !is_num(a[1]) || num_of(a[1]) == 0)
        return json_null();
    double p = 100.0 * num_of(a[0]) / num_of(a[1]);
    return mk_real(ev, round(p * 10) / 10);
}

/* ---- evaluation -------------------------------------------------------------------------- */

static json_t *eval(struct ev *ev, int32_t i);

static json_t *index_of(const json_t *base, const json_t *idx)
{
    json_t *v = NULL;
    if (json_is_array(base) && is_num(idx)) {
        double d = num_of(idx);
        int64_t k;
        if (d == floor(d) && to_i64(d, &k)) {
            int64_t size = (int64_t)json_array_size(base);
            if (k < 0)
                k += size; /* arr[-1] is the last */
            if (k >= 0 && k < size)
                v = json_array_get(base, (size_t)k);
        }
    } else if (json_is_object(base) && json_is_string(idx)) {
        v = json_object_getn(base, json_string_value(idx), json_string_length(idx));
    }
    return v ? json_incref(v) : json_null();
}

static json_t *concat(struct ev *ev, const json_t *l, const json_t *r)
{
    struct fs_buf b = FS_BUF_INIT(MAX_STRING);
    int rc = to_text(l, &b);
    if (rc == 0)
        rc = to_text(r, &b);
    if (rc < 0) {
        fs_buf_release(&b);
        return rc == -FS_E_NOMEM ? ev_fail(ev, rc) : json_null();
    }
    return mk_buf(ev, &b);
}

static json_t *arith(struct ev *ev, int op, const json_t *l, const json_t *r)
{
    if (!is_num(l) || !is_num(r))
        return json_null();
    if (json_is_integer(l) && json_is_integer(r)) {
        int64_t x = json_integer_value(l), y = json_integer_value(r), z;
        switch (op) {
        case B_ADD:
            if (!__builtin_add_overflow(x, y, &z))
                return mk_int(ev, z);
            return mk_real(ev, (double)x + (double)y);
        case B_SUB:
            if (!__builtin_sub_overflow(x, y, &z))
                return mk_int(ev, z);
            return mk_real(ev, (double)x - (double)y);
        case B_MUL:
            if (!__builtin_mul_overflow(x, y, &z))
                return mk_int(ev, z);
            return mk_real(ev, (double)x * (double)y);
        case B_DIV:
            if (y == 0)
                return json_null();
            if (y == -1 && x == INT64_MIN)
                return mk_real(ev, -(double)x);
            if (x % y == 0)
                return mk_int(ev, x / y);
            return mk_real(ev, (double)x / (double)y);
        default: /* B_MOD */
            if (y == 0)
                return json_null();
            return mk_int(ev, y == -1 ? 0 : x % y);
        }
    }
    double x = num_of(l), y = num_of(r);
    switch (op) {
    case B_ADD: return mk_real(ev, x + y);
    case B_SUB: return mk_real(ev, x - y);
    case B_MUL: return mk_real(ev, x * y);
    case B_DIV: return y == 0 ? json_null() : mk_real(ev, x / y);
    default: return y == 0 ? json_null() : mk_real(ev, fmod(x, y));
    }
}

static size_t text_len(const json_t *v)
{
    return json_is_string(v) ? json_string_length(v) : 0;
}

static json_t *binary(struct ev *ev, const struct node *nd, const json_t *l, const json_t *r)
{
    int c;
    bool b;
    /* scanning strings costs a step per KiB */
    if (!ev_step(ev, (text_len(l) + text_len(r)) / 1024))
        return NULL;
    switch (nd->op) {
    case B_ADD:
        if (json_is_string(l) || json_is_string(r))
            return concat(ev, l, r);
        return arith(ev, B_ADD, l, r);
    case B_SUB:
    case B_MUL:
    case B_DIV:
    case B_MOD: return arith(ev, nd->op, l, r);
    case B_EQ:
    case B_NE: b = eq(ev, l, r, 0); return ev->rc ? NULL : json_boolean(nd->op == B_EQ ? b : !b);
    case B_LT: return json_boolean(order(l, r, &c) && c < 0);
    case B_LE: return json_boolean(order(l, r, &c) && c <= 0);
    case B_GT: return json_boolean(order(l, r, &c) && c > 0);
    case B_GE: return json_boolean(order(l, r, &c) && c >= 0);
    case B_MATCH: return re_test(ev, nd->re, l, r);
    case B_IN: b = member(ev, l, r); return ev->rc ? NULL : json_boolean(b);
    default: FS_BUG("expr: binary operator %d", nd->op);
    }
}

static json_t *call(struct ev *ev, const struct node *nd)
{
    const struct fs_expr *e = ev->e;
    json_t *small[4], **args = small;
    int n = nd->b;
    if (n > (int)FS_ARRAY_LEN(small) && !(args = fs_calloc((size_t)n, sizeof(*args))))
        return ev_fail(ev, -FS_E_NOMEM);
    int got = 0;
    json_t *r = NULL;
    unsigned long kib = 0;
    for (; got < n; got++) {
        if (!(args[got] = eval(ev, e->kids[nd->a + got])))
            goto out;
        kib += text_len(args[got]) / 1024;
    }
    if (!ev_step(ev, kib)) /* a function's work on strings costs a step per KiB */
        goto out;
    r = functions[nd->op].fn(ev, nd, args, n);
out:
    for (int i = 0; i < got; i++)
        json_decref(args[i]);
    if (args != small)
        free(args);
    if (ev->rc) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *eval(struct ev *ev, int32_t i)
{
    if (!ev_step(ev, 1))
        return NULL;
    const struct node *nd = &ev->e->nodes[i];
    json_t *l, *r, *v;
    switch (nd->kind) {
    case N_LIT: return json_incref(nd->lit);
    case N_NAME:
        v = json_is_object(ev->scope) ? json_object_get(ev->scope, nd->name) : NULL;
        return v ? json_incref(v) : json_null();
    case N_MEMBER:
        if (!(l = eval(ev, nd->a)))
            return NULL;
        v = json_is_object(l) ? json_object_get(l, nd->name) : NULL;
        r = v ? json_incref(v) : json_null();
        json_decref(l);
        return r;
    case N_INDEX:
        if (!(l = eval(ev, nd->a)))
            return NULL;
        if (!(r = eval(ev, nd->b))) {
            json_decref(l);
            return NULL;
        }
        v = index_of(l, r);
        json_decref(l);
        json_decref(r);
        return v;
    case N_NOT:
        if (!(l = eval(ev, nd->a)))
            return NULL;
        v = json_boolean(!fs_expr_truthy(l));
        json_decref(l);
        return v;
    case N_NEG:
        if (!(l = eval(ev, nd->a)))
            return NULL;
        if (json_is_integer(l) && json_integer_value(l) != INT64_MIN)
            v = mk_int(ev, -json_integer_value(l));
        else
            v = is_num(l) ? mk_real(ev, -num_of(l)) : json_null();
        json_decref(l);
        return v;
    case N_AND:
    case N_OR: {
        if (!(l = eval(ev, nd->a)))
            return NULL;
        bool t = fs_expr_truthy(l);
        json_decref(l);
        if (t == (nd->kind == N_OR))
            return json_boolean(t);
        if (!(r = eval(ev, nd->b)))
            return NULL;
        t = fs_expr_truthy(r);
        json_decref(r);
        return json_boolean(t);
    }
    case N_COND: {
        if (!(l = eval(ev, nd->a)))
            return NULL;
        bool t = fs_expr_truthy(l);
        json_decref(l);
        return eval(ev, t ? nd->b : nd->c);
    }
    case N_BIN:
        if (!(l = eval(ev, nd->a)))
            return NULL;
        if (!(r = eval(ev, nd->b))) {
            json_decref(l);
            return NULL;
        }
        v = binary(ev, nd, l, r);
        json_decref(l);
        json_decref(r);
        return v;
    case N_CALL: return call(ev, nd);
    case N_ARRAY:
        if (!(r = json_array()))
            return ev_fail(ev, -FS_E_NOMEM);
        for (int32_t k = 0; k < nd->b; k++) {
            if (!(v = eval(ev, ev->e->kids[nd->a + k])) || json_array_append_new(r, v) < 0) {
                json_decref(r);
                return ev_fail(ev, -FS_E_NOMEM);
            }
        }
        return r;
    default: FS_BUG("expr: node kind %d", nd->kind);
    }
}

int fs_expr_eval(const struct fs_expr *e, const json_t *scope, json_t **out, struct fs_err *err)
{
    struct ev ev = {e, scope, 0, 0};
    json_t *v = eval(&ev, e->root);
    if (!v) {
        *out = NULL;
        if (ev.rc == -FS_E_TOO_LARGE)
            return fs_err_set(err, FS_E_TOO_LARGE, NULL, "the expression took more than %d steps",
                              FS_EXPR_MAX_STEPS);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    *out = v;
    return 0;
}

int fs_expr_test(const struct fs_expr *e, const json_t *scope, bool *out, struct fs_err *err)
{
    json_t *v;
    int rc = fs_expr_eval(e, scope, &v, err);
    if (rc < 0)
        return rc;
    *out = fs_expr_truthy(v);
    json_decref(v);
    return 0;
}

/* ---- lexer ------------------------------------------------------------------------------- */

enum tk {
    T_END,
    T_NUM,
    T_STR,
    T_NAME,
    T_TRUE,
    T_FALSE,
    T_NULL,
    T_IN,
    T_LP,
    T_RP,
    T_LB,
    T_RB,
    T_DOT,
    T_COMMA,
    T_QUEST,
    T_COLON,
    T_NOT,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_PCT,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_MATCH,
    T_AND,
    T_OR,
};

struct tok {
    enum tk k;
    size_t pos, len; /* in the source */
    json_t *val;     /* T_NUM, T_STR: owned until taken */
};

struct parser {
    const char *src;
    size_t len, pos, colbase;
    struct tok tok;
    struct fs_expr *e;
    int depth;
    int rc;
    struct fs_err *err;
};

__attribute__((format(printf, 3, 4))) static int perr(struct parser *p, size_t pos, const char *fmt,
                                                      ...)
{
    if (p->rc)
        return -1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->rc = fs_err_set(p->err, FS_E_INVALID, NULL, "column %zu: %s", p->colbase + pos + 1, msg);
    return -1;
}

static int nomem(struct parser *p)
{
    if (!p->rc)
        p->rc = fs_err_set(p->err, FS_E_NOMEM, NULL, NULL);
    return -1;
}

/* What the current token is, for "expected X, found Y". */
static const char *found(const struct parser *p, char *buf, size_t size)
{
    const struct tok *t = &p->tok;
    if (t->k == T_END)
        return "the end of the expression";
    if (t->k == T_STR)
        return "a string";
    int n = (int)FS_MIN(t->len, 24);
    snprintf(buf, size, "'%.*s'%s", n, p->src + t->pos, t->len > 24 ? "..." : "");
    return buf;
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int lex_string(struct parser *p)
{
    char q = p->src[p->pos];
    size_t start = p->pos, i = p->pos + 1;
    struct fs_buf b = FS_BUF_INIT(0);
    for (;;) {
        if (i >= p->len) {
            fs_buf_release(&b);
            return perr(p, start, "the string is not closed (a %c is missing)", q);
        }
        char c = p->src[i];
        if (c == q)
            break;
        int rc;
        if (c == '\\' && i + 1 < p->len) {
            char d = p->src[i + 1], out;
            switch (d) {
            case '\\':
            case '\'':
            case '"': out = d; break;
            case 'n': out = '\n'; break;
            case 't': out = '\t'; break;
            case 'r': out = '\r'; break;
            default:
                out = 0; /* kept as written, so '5\d\d' is the pattern 5\d\d */
                break;
            }
            if (out) {
                rc = fs_buf_putc(&b, out);
                i += 2;
            } else {
                rc = fs_buf_putc(&b, '\\');
                i++;
            }
        } else {
            rc = fs_buf_putc(&b, c);
            i++;
        }
        if (rc < 0) {
            fs_buf_release(&b);
            return nomem(p);
        }
    }
    if (!utf8_valid(b.data ? b.data : "", b.len)) {
        fs_buf_release(&b);
        return perr(p, start, "the string is not valid UTF-8");
    }
    p->tok.val = json_stringn(b.data ? b.data : "", b.len);
    fs_buf_release(&b);
    if (!p->tok.val)
        return nomem(p);
    p->tok.k = T_STR;
    p->pos = i + 1;
    return 0;
}

static int lex_number(struct parser *p)
{
    const char *s = p->src;
    size_t start = p->pos, i = p->pos;
    while (i < p->len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i + 1 < p->len && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
        i++;
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < p->len && s[j] >= '0' && s[j] <= '9') {
            i = j;
            while (i < p->len && s[i] >= '0' && s[i] <= '9')
                i++;
        }
    }
    if (i < p->len && is_name_char(s[i])) {
        size_t end = i;
        while (end < p->len && is_name_char(s[end]))
            end++;
        return perr(p, start, "'%.*s' is not a number", (int)FS_MIN(end - start, 40), s + start);
    }
    json_t *v = NULL;
    if (!parse_number(s + start, i - start, &v))
        return perr(p, start, "'%.*s' is not a number that fits a double",
                    (int)FS_MIN(i - start, 40), s + start);
    if (!v)
        return nomem(p);
    p->tok.k = T_NUM;
    p->tok.val = v;
    p->pos = i;
    return 0;
}

static int lex(struct parser *p)
{
    if (p->rc)
        return -1;
    json_decref(p->tok.val);
    memset(&p->tok, 0, sizeof(p->tok));
    const char *s = p->src;
    while (p->pos < p->len && is_space(s[p->pos]))
        p->pos++;
    size_t start = p->pos;
    p->tok.pos = start;
    int rc = 0;
    if (start >= p->len) {
        p->tok.k = T_END;
        return 0;
    }
    char c = s[start], d = start + 1 < p->len ? s[start + 1] : '\0';
    if (c >= '0' && c <= '9') {
        rc = lex_number(p);
    } else if (c == '\'' || c == '"') {
        rc = lex_string(p);
    } else if (is_name_start(c)) {
        size_t i = start;
        while (i < p->len && is_name_char(s[i]))
            i++;
        static const struct {
            const char *w;
            enum tk k;
        } kw[] = {{"true", T_TRUE}, {"false", T_FALSE}, {"null", T_NULL}, {"in", T_IN}};
        p->tok.k = T_NAME;
        for (size_t k = 0; k < FS_ARRAY_LEN(kw); k++)
            if (strlen(kw[k].w) == i - start && memcmp(kw[k].w, s + start, i - start) == 0)
                p->tok.k = kw[k].k;
        p->pos = i;
    } else {
        static const struct {
            char a, b;
            enum tk k;
        } ops[] = {{'=', '=', T_EQ},    {'!', '=', T_NE},  {'<', '=', T_LE},  {'>', '=', T_GE},
                   {'=', '~', T_MATCH}, {'&', '&', T_AND}, {'|', '|', T_OR},  {'(', 0, T_LP},
                   {')', 0, T_RP},      {'[', 0, T_LB},    {']', 0, T_RB},    {'.', 0, T_DOT},
                   {',', 0, T_COMMA},   {'?', 0, T_QUEST}, {':', 0, T_COLON}, {'!', 0, T_NOT},
                   {'+', 0, T_PLUS},    {'-', 0, T_MINUS}, {'*', 0, T_STAR},  {'/', 0, T_SLASH},
                   {'%', 0, T_PCT},     {'<', 0, T_LT},    {'>', 0, T_GT}};
        size_t k;
        for (k = 0; k < FS_ARRAY_LEN(ops); k++)
            if (ops[k].a == c && (!ops[k].b || ops[k].b == d))
                break;
        if (k == FS_ARRAY_LEN(ops)) {
            if (c == '=')
                return perr(p, start, "'=' is not an operator; compare with '=='");
            if (c == '&')
                return perr(p, start, "'&' is not an operator; did you mean '&&'?");
            if (c == '|')
                return perr(p, start, "'|' is not an operator; did you mean '||'?");
            if (c > 0x20 && c < 0x7f)
                return perr(p, start, "unexpected character '%c'", c);
            return perr(p, start, "unexpected byte 0x%02x", (unsigned char)c);
        }
        p->tok.k = ops[k].k;
        p->pos = start + (ops[k].b ? 2 : 1);
    }
    if (rc < 0)
        return -1;
    p->tok.len = p->pos - start;
    return 0;
}

/* ---- parser ------------------------------------------------------------------------------ */

static int32_t mk(struct parser *p, enum nkind kind, int op, size_t pos, int32_t a, int32_t b,
                  int32_t c)
{
    struct fs_expr *e = p->e;
    if (e->nnodes == e->capnodes) {
        size_t cap = e->capnodes ? e->capnodes * 2 : 16;
        struct node *n = fs_realloc(e->nodes, cap * sizeof(*n));
        if (!n)
            return nomem(p);
        e->nodes = n;
        e->capnodes = cap;
    }
    unsigned depth = 0;
    int32_t ch[3] = {a, b, c};
    if (kind == N_CALL || kind == N_ARRAY) {
        for (int32_t k = 0; k < b; k++)
            depth = FS_MAX(depth, e->nodes[e->kids[a + k]].depth);
    } else if (kind != N_LIT && kind != N_NAME) {
        for (int k = 0; k < 3; k++)
            if (ch[k] >= 0)
                depth = FS_MAX(depth, e->nodes[ch[k]].depth);
    }
    if (depth + 1 > FS_EXPR_MAX_DEPTH)
        return perr(p, pos, "the expression is nested deeper than %d levels", FS_EXPR_MAX_DEPTH);
    struct node *n = &e->nodes[e->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = (uint8_t)kind;
    n->op = (uint8_t)op;
    n->depth = (uint16_t)(depth + 1);
    n->col = (uint32_t)pos;
    n->a = a;
    n->b = b;
    n->c = c;
    return (int32_t)e->nnodes++;
}

/* Consume a token of kind k, or fail with "expected <what> <opener> at column N, found X". */
static int expect(struct parser *p, enum tk k, const char *what, const char *opener, size_t openpos)
{
    if (p->tok.k == k)
        return lex(p);
    char buf[48];
    return perr(p, p->tok.pos, "expected %s %s at column %zu, found %s", what, opener,
                p->colbase + openpos + 1, found(p, buf, sizeof(buf)));
}

/* A literal pattern of =~ or matches() is compiled once, here, into node `at`. */
static int compile_re(struct parser *p, int32_t at, int32_t patnode)
{
    const struct node *pn = &p->e->nodes[patnode];
    if (pn->kind != N_LIT || !json_is_string(pn->lit))
        return 0;
    char msg[200];
    pcre2_code *re = fs_re_compile_checked(json_string_value(pn->lit), json_string_length(pn->lit),
                                           msg, sizeof(msg));
    if (!re)
        return perr(p, pn->col, "%s", msg);
    p->e->nodes[at].re = re;
    return 0;
}

static int32_t parse_expr(struct parser *p);

/* Comma-separated expressions up to `close`; their node indices go to e->kids, contiguous. */
static int parse_list(struct parser *p, enum tk close, const char *what, const char *opener,
                      size_t openpos, int32_t *first, int32_t *count)
{
    int32_t tmp_small[8], *tmp = tmp_small;
    size_t n = 0, cap = FS_ARRAY_LEN(tmp_small);
    int rc = 0;
    if (p->tok.k != close) {
        for (;;) {
            int32_t x = parse_expr(p);
            if (x < 0) {
                rc = -1;
                goto out;
            }
            if (n == cap) {
                int32_t *t = tmp == tmp_small ? fs_malloc(cap * 2 * sizeof(*t))
                                              : fs_realloc(tmp, cap * 2 * sizeof(*t));
                if (!t) {
                    rc = nomem(p);
                    goto out;
                }
                if (tmp == tmp_small)
                    memcpy(t, tmp_small, sizeof(tmp_small));
                tmp = t;
                cap *= 2;
            }
            tmp[n++] = x;
            if (p->tok.k != T_COMMA)
                break;
            if (lex(p) < 0) {
                rc = -1;
                goto out;
            }
        }
    }
    if (expect(p, close, what, opener, openpos) < 0) {
        rc = -1;
        goto out;
    }
    struct fs_expr *e = p->e;
    if (e->nkids + n > e->capkids) {
        size_t c2 = e->capkids ? e->capkids : 16;
        while (c2 < e->nkids + n)
            c2 *= 2;
        int32_t *k = fs_realloc(e->kids, c2 * sizeof(*k));
        if (!k) {
            rc = nomem(p);
            goto out;
        }
        e->kids = k;
        e->capkids = c2;
    }
    if (n)
        memcpy(e->kids + e->nkids, tmp, n * sizeof(*tmp));
    *first = (int32_t)e->nkids;
    *count = (int32_t)n;
    e->nkids += n;
out:
    if (tmp != tmp_small)
        free(tmp);
    return rc;
}

static int32_t parse_call(struct parser *p, size_t namepos, size_t namelen)
{
    const char *name = p->src + namepos;
    size_t f;
    for (f = 0; f < FS_ARRAY_LEN(functions); f++)
        if (strlen(functions[f].name) == namelen && memcmp(functions[f].name, name, namelen) == 0)
            break;
    if (f == FS_ARRAY_LEN(functions))
        return perr(p, namepos, "unknown function '%.*s' (docs/expressions.md lists them)",
                    (int)FS_MIN(namelen, 40), name);
    size_t open = p->tok.pos;
    if (lex(p) < 0)
        return -1;
    int32_t first = 0, count = 0;
    char opener[64];
    snprintf(opener, sizeof(opener), "to close the call of %s()", functions[f].name);
    if (parse_list(p, T_RP, "',' or ')'", opener, open, &first, &count) < 0)
        return -1;
    const struct fn_def *d = &functions[f];
    int max = d->max < 0 ? MAX_ARGS : d->max;
    if (count < d->min || count > max) {
        if (d->min == d->max)
            return perr(p, namepos, "%s() takes %d argument%s, not %d", d->name, d->min,
                        d->min == 1 ? "" : "s", count);
        if (d->max < 0 && count > max)
            return perr(p, namepos, "%s() takes at most %d arguments, not %d", d->name, max, count);
        if (d->max < 0)
            return perr(p, namepos, "%s() takes at least %d argument%s", d->name, d->min,
                        d->min == 1 ? "" : "s");
        return perr(p, namepos, "%s() takes %d to %d arguments, not %d", d->name, d->min, d->max,
                    count);
    }
    int32_t x = mk(p, N_CALL, (int)f, namepos, first, count, -1);
    if (x >= 0 && f == F_matches && compile_re(p, x, p->e->kids[first + 1]) < 0)
        return -1;
    if (x >= 0 && f == F_grep && compile_re(p, x, p->e->kids[first + 2]) < 0)
        return -1;
    return x;
}

static int32_t parse_primary(struct parser *p)
{
    struct tok *t = &p->tok;
    size_t pos = t->pos;
    int32_t x;
    char buf[48];
    switch (t->k) {
    case T_NUM:
    case T_STR:
    case T_TRUE:
    case T_FALSE:
    case T_NULL: {
        json_t *v = t->k == T_TRUE    ? json_true()
                    : t->k == T_FALSE ? json_false()
                    : t->k == T_NULL  ? json_null()
                                      : json_incref(t->val);
        if ((x = mk(p, N_LIT, 0, pos, -1, -1, -1)) < 0) {
            json_decref(v);
            return -1;
        }
        p->e->nodes[x].lit = v;
        return lex(p) < 0 ? -1 : x;
    }
    case T_NAME: {
        size_t len = t->len;
        if (lex(p) < 0)
            return -1;
        if (p->tok.k == T_LP)
            return parse_call(p, pos, len);
        char *name = fs_strndup(p->src + pos, len);
        if (!name)
            return nomem(p);
        if ((x = mk(p, N_NAME, 0, pos, -1, -1, -1)) < 0) {
            free(name);
            return -1;
        }
        p->e->nodes[x].name = name;
        return x;
    }
    case T_LP:
        if (lex(p) < 0 || (x = parse_expr(p)) < 0)
            return -1;
        return expect(p, T_RP, "')'", "to close the '('", pos) < 0 ? -1 : x;
    case T_LB: {
        int32_t first = 0, count = 0;
        if (lex(p) < 0 ||
            parse_list(p, T_RB, "',' or ']'", "to close the '['", pos, &first, &count) < 0)
            return -1;
        return mk(p, N_ARRAY, 0, pos, first, count, -1);
    }
    default: return perr(p, pos, "expected a value, found %s", found(p, buf, sizeof(buf)));
    }
}

static int32_t parse_postfix(struct parser *p)
{
    int32_t x = parse_primary(p);
    while (x >= 0) {
        size_t pos = p->tok.pos;
        if (p->tok.k == T_DOT) {
            if (lex(p) < 0)
                return -1;
            enum tk k = p->tok.k;
            if (k != T_NAME && k != T_TRUE && k != T_FALSE && k != T_NULL && k != T_IN) {
                char buf[48];
                return perr(p, p->tok.pos, "expected a name after '.', found %s",
                            found(p, buf, sizeof(buf)));
            }
            char *name = fs_strndup(p->src + p->tok.pos, p->tok.len);
            if (!name)
                return nomem(p);
            if ((x = mk(p, N_MEMBER, 0, pos, x, -1, -1)) < 0) {
                free(name);
                return -1;
            }
            p->e->nodes[x].name = name;
            if (lex(p) < 0)
                return -1;
        } else if (p->tok.k == T_LB) {
            int32_t idx;
            if (lex(p) < 0 || (idx = parse_expr(p)) < 0 ||
                expect(p, T_RB, "']'", "to close the '['", pos) < 0)
                return -1;
            x = mk(p, N_INDEX, 0, pos, x, idx, -1);
        } else {
            break;
        }
    }
    return x;
}

static int32_t parse_unary(struct parser *p)
{
    if (p->tok.k != T_NOT && p->tok.k != T_MINUS)
        return parse_postfix(p);
    size_t pos = p->tok.pos;
    enum nkind kind = p->tok.k == T_NOT ? N_NOT : N_NEG;
    if (++p->depth > FS_EXPR_MAX_DEPTH)
        return perr(p, pos, "the expression is nested deeper than %d levels", FS_EXPR_MAX_DEPTH);
    int32_t x;
    if (lex(p) < 0 || (x = parse_unary(p)) < 0)
        return -1;
    p->depth--;
    return mk(p, kind, 0, pos, x, -1, -1);
}

static int binop_of(enum tk k, int level)
{
    static const struct {
        enum tk k;
        int level, op;
    } t[] = {{T_STAR, 0, B_MUL},  {T_SLASH, 0, B_DIV}, {T_PCT, 0, B_MOD}, {T_PLUS, 1, B_ADD},
             {T_MINUS, 1, B_SUB}, {T_EQ, 2, B_EQ},     {T_NE, 2, B_NE},   {T_LT, 2, B_LT},
             {T_LE, 2, B_LE},     {T_GT, 2, B_GT},     {T_GE, 2, B_GE},   {T_MATCH, 2, B_MATCH},
             {T_IN, 2, B_IN}};
    for (size_t i = 0; i < FS_ARRAY_LEN(t); i++)
        if (t[i].k == k && t[i].level == level)
            return t[i].op;
    return -1;
}

/* A left-associative level: next (operator next)*. Levels 0 and 1 are the arithmetic ones of
 * binop_of (N_BIN nodes); AND_LEVEL and OR_LEVEL are && and || (N_AND, N_OR). */
#define AND_LEVEL 3
#define OR_LEVEL 4
static int32_t parse_left(struct parser *p, int32_t (*next)(struct parser *), int level)
{
    int32_t x = next(p);
    while (x >= 0) {
        int op = 0;
        enum nkind kind;
        if (level == AND_LEVEL && p->tok.k == T_AND)
            kind = N_AND;
        else if (level == OR_LEVEL && p->tok.k == T_OR)
            kind = N_OR;
        else if (level < 2 && (op = binop_of(p->tok.k, level)) >= 0)
            kind = N_BIN;
        else
            break;
        size_t pos = p->tok.pos;
        int32_t y;
        if (lex(p) < 0 || (y = next(p)) < 0)
            return -1;
        x = mk(p, kind, op, pos, x, y, -1);
    }
    return x;
}

static int32_t parse_prod(struct parser *p)
{
    return parse_left(p, parse_unary, 0);
}

static int32_t parse_sum(struct parser *p)
{
    return parse_left(p, parse_prod, 1);
}

static int32_t parse_cmp(struct parser *p)
{
    int32_t x = parse_sum(p), y;
    int op;
    if (x < 0 || (op = binop_of(p->tok.k, 2)) < 0)
        return x;
    size_t pos = p->tok.pos;
    if (lex(p) < 0 || (y = parse_sum(p)) < 0)
        return -1;
    if ((x = mk(p, N_BIN, op, pos, x, y, -1)) < 0)
        return -1;
    if (op == B_MATCH && compile_re(p, x, y) < 0)
        return -1;
    if (binop_of(p->tok.k, 2) >= 0)
        return perr(p, p->tok.pos, "comparisons do not chain; write 'a < b && b < c'");
    return x;
}

static int32_t parse_and(struct parser *p)
{
    return parse_left(p, parse_cmp, AND_LEVEL);
}

static int32_t parse_or(struct parser *p)
{
    return parse_left(p, parse_and, OR_LEVEL);
}

static int32_t parse_expr(struct parser *p)
{
    if (++p->depth > FS_EXPR_MAX_DEPTH)
        return perr(p, p->tok.pos, "the expression is nested deeper than %d levels",
                    FS_EXPR_MAX_DEPTH);
    int32_t c = parse_or(p);
    if (c >= 0 && p->tok.k == T_QUEST) {
        size_t pos = p->tok.pos;
        int32_t a, b;
        if (lex(p) < 0 || (a = parse_expr(p)) < 0 ||
            expect(p, T_COLON, "':'", "for the '?'", pos) < 0 || (b = parse_expr(p)) < 0)
            return -1;
        c = mk(p, N_COND, 0, pos, c, a, b);
    }
    p->depth--;
    return c;
}

/* Compile len bytes of src; columns in messages are counted from colbase (a template's hole). */
static int compile_n(const char *src, size_t len, size_t colbase, struct fs_expr **out,
                     struct fs_err *err)
{
    *out = NULL;
    if (len > FS_EXPR_MAX_SOURCE)
        return fs_err_set(err, FS_E_TOO_LARGE, NULL,
                          "column %zu: the expression is longer than %d bytes", colbase + 1,
                          FS_EXPR_MAX_SOURCE);
    struct fs_expr *e = fs_calloc(1, sizeof(*e));
    if (!e || !(e->src = fs_strndup(src, len))) {
        free(e);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    struct parser p = {.src = e->src, .len = len, .colbase = colbase, .e = e, .err = err};
    if (memchr(src, '\0', len))
        perr(&p, (size_t)((const char *)memchr(src, '\0', len) - src), "unexpected NUL byte");
    int32_t root = -1;
    if (lex(&p) == 0) {
        if (p.tok.k == T_END)
            perr(&p, p.tok.pos, "expected an expression, found nothing");
        else if ((root = parse_expr(&p)) >= 0 && p.tok.k != T_END) {
            char buf[48];
            perr(&p, p.tok.pos, "expected an operator or the end, found %s",
                 found(&p, buf, sizeof(buf)));
        }
    }
    json_decref(p.tok.val);
    if (p.rc) {
        fs_expr_free(e);
        return p.rc;
    }
    e->root = root;
    *out = e;
    return 0;
}

int fs_expr_compile(const char *src, struct fs_expr **out, struct fs_err *err)
{
    return compile_n(src, strlen(src), 0, out, err);
}

void fs_expr_free(struct fs_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nnodes; i++) {
        json_decref(e->nodes[i].lit);
        free(e->nodes[i].name);
        pcre2_code_free(e->nodes[i].re);
    }
    free(e->nodes);
    free(e->kids);
    free(e->src);
    free(e);
}

const char *fs_expr_source(const struct fs_expr *e)
{
    return e->src;
}

int fs_expr_eval_str(const char *src, const json_t *scope, json_t **out, struct fs_err *err)
{
    struct fs_expr *e;
    *out = NULL;
    int rc = fs_expr_compile(src, &e, err);
    if (rc < 0)
        return rc;
    rc = fs_expr_eval(e, scope, out, err);
    fs_expr_free(e);
    return rc;
}

/* ---- templates --------------------------------------------------------------------------- */

struct piece {
    char *text; /* literal text (braces unescaped), or NULL for a hole */
    size_t len;
    struct fs_expr *e;
};

struct fs_template {
    struct piece *p;
    size_t n;
};

void fs_template_free(struct fs_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->p[i].text);
        fs_expr_free(t->p[i].e);
    }
    free(t->p);
    free(t);
}

static int add_piece(struct fs_template *t, struct fs_buf *text, struct fs_expr *e)
{
    struct piece *np = fs_realloc(t->p, (t->n + 1) * sizeof(*np));
    if (!np)
        return -FS_E_NOMEM;
    t->p = np;
    np = &t->p[t->n];
    memset(np, 0, sizeof(*np));
    if (e) {
        np->e = e;
    } else {
        np->len = text->len;
        np->text = fs_buf_detach(text, NULL);
        if (!np->text)
            return -FS_E_NOMEM;
    }
    t->n++;
    return 0;
}

int fs_template_compile(const char *src, struct fs_template **out, struct fs_err *err)
{
    *out = NULL;
    size_t len = strlen(src);
    if (len > MAX_STRING)
        return fs_err_set(err, FS_E_TOO_LARGE, NULL, "the template is longer than %d bytes",
                          MAX_STRING);
    if (!utf8_valid(src, len))
        return fs_err_set(err, FS_E_INVALID, NULL, "the template is not valid UTF-8");
    struct fs_template *t = fs_calloc(1, sizeof(*t));
    if (!t)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct fs_buf text = FS_BUF_INIT(0);
    int rc = 0;
    size_t i = 0;
    while (i < len && rc == 0) {
        char c = src[i];
        if ((c == '{' || c == '}') && i + 1 < len && src[i + 1] == c) {
            rc = fs_buf_putc(&text, c) < 0 ? -FS_E_NOMEM : 0;
            i += 2;
        } else if (c == '}') {
            rc =
                fs_err_set(err, FS_E_INVALID, NULL,
                           "column %zu: '}' without a '{' (write '}}' for a literal brace)", i + 1);
        } else if (c == '{') {
            size_t j = i + 1;
            char q = 0;
            for (; j < len; j++) {
                if (q) {
                    if (src[j] == '\\' && j + 1 < len)
                        j++;
                    else if (src[j] == q)
                        q = 0;
                } else if (src[j] == '\'' || src[j] == '"') {
                    q = src[j];
                } else if (src[j] == '}') {
                    break;
                }
            }
            if (j >= len) {
                rc = fs_err_set(err, FS_E_INVALID, NULL,
                                "column %zu: '{' is not closed by '}' (write '{{' for a literal "
                                "brace)",
                                i + 1);
                break;
            }
            struct fs_expr *e = NULL;
            if ((rc = compile_n(src + i + 1, j - i - 1, i + 1, &e, err)) < 0)
                break;
            if (text.len && (rc = add_piece(t, &text, NULL)) < 0) {
                fs_expr_free(e);
                break;
            }
            if ((rc = add_piece(t, NULL, e)) < 0) {
                fs_expr_free(e);
                break;
            }
            i = j + 1;
        } else {
            rc = fs_buf_putc(&text, c) < 0 ? -FS_E_NOMEM : 0;
            i++;
        }
    }
    if (rc == 0 && (text.len || t->n == 0))
        rc = add_piece(t, &text, NULL);
    fs_buf_release(&text);
    if (rc < 0) {
        fs_template_free(t);
        if (rc == -FS_E_NOMEM)
            fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        return rc;
    }
    *out = t;
    return 0;
}

int fs_template_render(const struct fs_template *t, const json_t *scope, json_t **out,
                       struct fs_err *err)
{
    *out = NULL;
    if (t->n == 1 && t->p[0].e) /* exactly one hole: the value keeps its type */
        return fs_expr_eval(t->p[0].e, scope, out, err);
    struct fs_buf b = FS_BUF_INIT(MAX_STRING);
    int rc = 0;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        if (t->p[i].text) {
            rc = fs_buf_append(&b, t->p[i].text, t->p[i].len);
        } else {
            json_t *v;
            if ((rc = fs_expr_eval(t->p[i].e, scope, &v, err)) < 0)
                break;
            rc = to_text(v, &b);
            json_decref(v);
        }
        if (rc == -FS_E_TOO_LARGE)
            rc = fs_err_set(err, FS_E_TOO_LARGE, NULL,
                            "the rendered template is longer than %d bytes", MAX_STRING);
        else if (rc == -FS_E_NOMEM)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (rc == 0 && !(*out = json_stringn(b.data ? b.data : "", b.len)))
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    fs_buf_release(&b);
    return rc;
}

/* Render (scope non-NULL or render) or only check every string of v. */
static int walk_json(const json_t *v, const json_t *scope, bool render, json_t **out,
                     const char *path, int depth, struct fs_err *err)
{
    char sub[256];
    int rc = 0;
    if (depth > MAX_JSON_DEPTH)
        return fs_err_set(err, FS_E_TOO_DEEP, path, "%s%snested deeper than %d levels", path,
                          *path ? ": " : "", MAX_JSON_DEPTH);
    if (json_is_string(v)) {
        struct fs_template *t;
        rc = fs_template_compile(json_string_value(v), &t, err);
        if (rc == 0 && render)
            rc = fs_template_render(t, scope, out, err);
        fs_template_free(t);
        if (rc < 0 && err && *path) {
            fs_strlcpy(err->path, path, sizeof(err->path));
            fs_err_prefix(err, "%s: ", path);
        }
        return rc;
    }
    json_t *r = NULL;
    if (json_is_array(v)) {
        if (render && !(r = json_array()))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
            json_t *x = NULL;
            fs_jpath_index(sub, sizeof(sub), path, i);
            rc = walk_json(json_array_get(v, i), scope, render, render ? &x : NULL, sub, depth + 1,
                           err);
            if (rc == 0 && render && json_array_append_new(r, x) < 0)
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
    } else if (json_is_object(v)) {
        const char *k;
        size_t klen;
        json_t *m;
        if (render && !(r = json_object()))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_object_keylen_foreach((json_t *)v, k, klen, m)
        {
            json_t *x = NULL;
            fs_jpath_key(sub, sizeof(sub), path, k);
            if ((rc = walk_json(m, scope, render, render ? &x : NULL, sub, depth + 1, err)) < 0)
                break;
            if (render && json_object_setn_new(r, k, klen, x) < 0) {
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                break;
            }
        }
    } else if (render && !(r = json_deep_copy(v))) {
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (rc < 0) {
        json_decref(r);
        return rc;
    }
    if (render)
        *out = r;
    return 0;
}

int fs_template_render_json(const json_t *v, const json_t *scope, json_t **out, struct fs_err *err)
{
    *out = NULL;
    return walk_json(v, scope, true, out, "", 0, err);
}

int fs_template_check_json(const json_t *v, struct fs_err *err)
{
    return walk_json(v, NULL, false, NULL, "", 0, err);
}

/* ---- docs/expressions.md ----------------------------------------------------------------- */

/* Append s for a markdown table cell: "|" escaped so `a || b` stays in its cell. */
static int cell(struct fs_buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++)
        rc = *s == '|' ? fs_buf_puts(b, "\\|") : fs_buf_putc(b, *s);
    return rc;
}

static const struct {
    const char *op, *meaning, *example, *result;
} operators[] = {
    {"a ? b : c", "b when a is truthy, else c", "used_pct > 90 ? 'crit' : 'ok'", "\"ok\""},
    {"a || b", "true when either is truthy (b is evaluated only when a is not)",
     "missing || labels.severity == 'critical'", "true"},
    {"a && b", "true when both are truthy (b is evaluated only when a is)",
     "used_pct > 50 && used_pct < 90", "true"},
    {"a == b, a != b",
     "equality of any JSON values, numbers by value; objects by members, arrays by elements",
     "1 == 1.0", "true"},
    {"a < b, a <= b, a > b, a >= b",
     "numbers with numbers, strings with strings (byte order); false for anything else", "'10' < 9",
     "false"},
    {"a =~ re", "PCRE2 match of string a anywhere (unanchored); false when a is not a string",
     "path =~ '^/var/'", "true"},
    {"x in c", "x is an element of array c, a substring of string c, or a key of object c",
     "'log' in path", "true"},
    {"a + b",
     "sum of numbers; text of both (as str()) when either is a string; null for anything else",
     "'used ' + used_pct + '%'", "\"used 71.5%\""},
    {"a - b, a * b", "numbers; an integer when both are and the result fits", "7 * 6", "42"},
    {"a / b", "quotient; an integer only when exact; null when b is 0", "7 / 2", "3.5"},
    {"a % b", "remainder (sign of a); null when b is 0", "-7 % 3", "-1"},
    {"!a", "true when a is falsy", "!missing", "true"},
    {"-a", "negation of a number; null otherwise", "-(2 + 3)", "-5"},
    {"a.name, a[i], a['key']",
     "member of an object, element of an array (negative counts from the end); null when missing",
     "mounts[-1].mount", "\"/var\""},
    {"[a, b]", "an array", "len([1, [2, 3]])", "2"},
};

int fs_expr_doc_markdown(struct fs_buf *b)
{
    int rc = 0;
#define P(s) (rc = rc ? rc : fs_buf_puts(b, (s)))
    P("# Expressions\n\n"
      "<!-- generated by `forestall docs expressions` from the function table in "
      "src/core/expr.c; do not edit -->\n\n"
      "Playbooks use expressions for conditions and extracted values, and templates for tool "
      "arguments and proposal parameters; the action catalog uses them for the `expect` of "
      "preconditions and verification probes (`used_pct < 90`, `exists && type == 'file'`, "
      "`installed == candidate`).\n\n"
      "An expression is evaluated over one JSON object, the *scope* (for a probe: its result, "
      "with the action's parameters under `param`). A name is a member of the scope, `a.b[0].c` "
      "walks into it, and anything missing is `null`, never an error. Evaluation has no side "
      "effects and cannot fail on data: a type mismatch gives `null` or `false` as described "
      "below, so a hostile tool output can change a value but never what an expression may "
      "do.\n\n"
      "## Grammar\n\n"
      "Lowest precedence first:\n\n"
      "```\n"
      "expr    := or ('?' expr ':' expr)?\n"
      "or      := and ('||' and)*\n"
      "and     := cmp ('&&' cmp)*\n"
      "cmp     := sum (('=='|'!='|'<'|'<='|'>'|'>='|'=~'|'in') sum)?\n"
      "sum     := prod (('+'|'-') prod)*\n"
      "prod    := unary (('*'|'/'|'%') unary)*\n"
      "unary   := ('!'|'-') unary | postfix\n"
      "postfix := primary ('.' NAME | '[' expr ']')*\n"
      "primary := NUMBER | STRING | true | false | null | NAME | NAME '(' args ')' | '(' expr ')'\n"
      "         | '[' (expr (',' expr)*)? ']'\n"
      "```\n\n"
      "- NUMBER: a decimal integer (`42`, an integer while it fits 64 bits) or float (`90.5`, "
      "`1e3`).\n"
      "- STRING: `'...'` or `\"...\"`; the escapes `\\\\`, `\\'`, `\\\"`, `\\n`, `\\t` and "
      "`\\r`; any other backslash is kept as written, so `'5\\d\\d'` is the pattern "
      "`5\\d\\d`.\n"
      "- NAME: letters, digits and `_`, not starting with a digit. A member whose key is not a "
      "name is reached with `a['key-name']`.\n"
      "- Comparisons do not chain: write `a < b && b < c`.\n"
      "- `&&` and `||` give `true` or `false`; use `default(x, fallback)` for a fallback "
      "value.\n\n"
      "## Truthiness\n\n"
      "`null`, `false`, `0`, `\"\"`, `[]` and `{}` are false; everything else is true. A "
      "condition is the truthiness of its value.\n\n"
      "## Operators\n\n");
    P("Examples are evaluated over the scope\n\n```json\n");
    P(doc_scope);
    P("\n```\n\n"
      "| operator | meaning | example | result |\n|---|---|---|---|\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(operators) && rc == 0; i++) {
        P("| `");
        rc = rc ? rc : cell(b, operators[i].op);
        P("` | ");
        rc = rc ? rc : cell(b, operators[i].meaning);
        P(" | `");
        rc = rc ? rc : cell(b, operators[i].example);
        P("` | `");
        rc = rc ? rc : cell(b, operators[i].result);
        P("` |\n");
    }
    P("\nArithmetic stays integer while both sides are integers and the result fits 64 bits; "
      "otherwise it is a float. A result that is not finite is `null`.\n\n"
      "## Functions\n\n"
      "A call of a function that does not exist, or with the wrong number of arguments, is an "
      "error when the expression is compiled. Arguments of the wrong type give `null` (or "
      "`false` for the predicates). Examples use the scope above.\n\n"
      "| function | what it gives | example | result |\n|---|---|---|---|\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(functions) && rc == 0; i++) {
        P("| `");
        rc = rc ? rc : cell(b, functions[i].sig);
        P("` | ");
        rc = rc ? rc : cell(b, functions[i].doc);
        P(" | `");
        rc = rc ? rc : cell(b, functions[i].example);
        P("` | `");
        rc = rc ? rc : cell(b, functions[i].result);
        P("` |\n");
    }
    if (rc == 0)
        rc = fs_buf_printf(
            b,
            "\n## Templates\n\n"
            "A template is text with `{expr}` holes; `{{` and `}}` are literal braces. A template "
            "that is exactly one hole (`{usage.used_pct}`) keeps the value's JSON type; otherwise "
            "each hole is rendered as text (strings as they are, numbers in shortest form, "
            "`null` as nothing, anything else as compact JSON) and the result is a string: "
            "`\"{mount} is {used_pct}%% full\"` gives `\"/ is 71.5%% full\"`. Tool arguments and "
            "proposal parameters in playbooks are rendered recursively: every string in them "
            "is a template.\n\n"
            "## Limits\n\n"
            "- An expression is at most %d bytes and nests at most %d levels; a longer or deeper "
            "one does not compile.\n"
            "- One evaluation takes at most %d steps (each node visited, each array element a "
            "function walks, each value `==` compares, each KiB of string an operator or a "
            "function scans); past that it stops with an error.\n"
            "- A regular expression match that backtracks more than %d times is no match.\n"
            "- A string an expression builds (`+`, `join`, `str`, ...) is at most %d bytes; a "
            "longer one is `null`, and a longer rendered template is an error.\n"
            "- Errors name the column: `used_pct <` does not compile, with `column 11: expected "
            "a value, found the end of the expression`.\n",
            FS_EXPR_MAX_SOURCE, FS_EXPR_MAX_DEPTH, FS_EXPR_MAX_STEPS, RE_MATCH_LIMIT, MAX_STRING);
#undef P
    return rc < 0 ? -1 : 0;
}
