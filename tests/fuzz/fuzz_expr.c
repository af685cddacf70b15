/* fuzz_expr: libFuzzer target for core/expr. The input is compiled as an expression and as a
 * template. A compile error must carry its code and a "column N: " message with N inside the
 * input (or no column for a template that is too long or not UTF-8), and no compiled value.
 * A compiled expression must evaluate over a fixed sample scope to a value that serialises, or
 * stop at the step limit; evaluating twice gives the same value and fs_expr_test agrees with
 * fs_expr_truthy. Templates render (alone and inside a JSON value with fs_template_render_json)
 * to a value or an error with a code, and fs_template_check_json agrees with the compile. Never a
 * crash, a leak or undefined behaviour. Test code only; it checks, and does not define, expr
 * behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char scope_text[] =
    "{\"n\": 5, \"r\": 2.5, \"big\": 9223372036854775807, \"neg\": -9223372036854775808, "
    "\"s\": \"hello world\", \"e\": \"\", \"t\": true, \"f\": false, \"nul\": null, "
    "\"arr\": [1, 2.5, \"x\", null, [3]], \"empty\": [], \"obj\": {\"k\": 1, \"a-b\": \"c\"}, "
    "\"instance\": \"[::1]:9100\", \"size\": \"1.5GiB\", \"pat\": \"^h(e|a)l+\", "
    "\"mounts\": [{\"mount\": \"/\", \"used_pct\": 71.5, \"size\": 53687091200}, "
    "{\"mount\": \"/var\", \"used_pct\": 93, \"size\": 107374182400}, {\"mount\": 7}], "
    "\"param\": {\"value\": \"64\"}, \"value\": 64}";

static json_t *scope(void)
{
    static json_t *sc;
    if (!sc && !(sc = json_loads(scope_text, 0, NULL)))
        abort();
    return sc;
}

/* "column N: ..." with 1 <= N <= len + 1. */
static void check_column(const char *msg, size_t len)
{
    unsigned long col;
    int used = 0;
    if (sscanf(msg, "column %lu: %n", &col, &used) != 1 || used == 0 || col < 1 || col > len + 1 ||
        !msg[used])
        abort();
}

static void check_value(const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s)
        abort();
    free(s);
}

static void expr_case(const char *src, size_t len)
{
    struct fs_expr *e = (struct fs_expr *)1;
    struct fs_err err;
    memset(&err, 0, sizeof(err));
    int rc = fs_expr_compile(src, &e, &err);
    if (rc < 0) {
        if (e || rc != -(int)err.code || (rc != -FS_E_INVALID && rc != -FS_E_TOO_LARGE))
            abort();
        check_column(err.msg, len);
        return;
    }
    if (rc != 0 || !e || strcmp(fs_expr_source(e), src) != 0)
        abort();
    json_t *a = NULL, *b = NULL;
    int ra = fs_expr_eval(e, scope(), &a, &err);
    int rb = fs_expr_eval(e, scope(), &b, &err);
    if (ra != rb || (ra != 0 && ra != -FS_E_TOO_LARGE))
        abort();
    if (ra == 0) {
        if (!a || !b || !json_equal(a, b))
            abort();
        check_value(a);
        bool t;
        if (fs_expr_test(e, scope(), &t, &err) != 0 || t != fs_expr_truthy(a))
            abort();
    } else if (a || b) {
        abort();
    }
    json_decref(a);
    json_decref(b);
    /* over an empty scope every name is null: still no failure but the step limit */
    json_t *c = NULL;
    rc = fs_expr_eval(e, NULL, &c, &err);
    if (rc != 0 && rc != -FS_E_TOO_LARGE)
        abort();
    json_decref(c);
    fs_expr_free(e);
}

static void template_case(const char *src, size_t len)
{
    struct fs_template *t = (struct fs_template *)1;
    struct fs_err err;
    memset(&err, 0, sizeof(err));
    int rc = fs_template_compile(src, &t, &err);
    if (rc < 0) {
        if (t || rc != -(int)err.code || (rc != -FS_E_INVALID && rc != -FS_E_TOO_LARGE))
            abort();
        if (strncmp(err.msg, "the template is", 15) != 0)
            check_column(err.msg, len);
    } else {
        json_t *out = NULL;
        int rr = fs_template_render(t, scope(), &out, &err);
        if (rr == 0) {
            if (!out)
                abort();
            check_value(out);
        } else if (out || rr != -(int)err.code || (rr != -FS_E_TOO_LARGE)) {
            abort();
        }
        json_decref(out);
        fs_template_free(t);
    }
    /* the same string inside a JSON value: the same verdict, with a path */
    json_t *v = json_pack("{s:[i,s?]}", "args", 1, src);
    if (!v)
        return; /* not UTF-8: jansson refuses it before we see it */
    memset(&err, 0, sizeof(err));
    int rc2 = fs_template_check_json(v, &err);
    if ((rc2 < 0) != (rc < 0) || (rc2 < 0 && strcmp(err.path, "args[1]") != 0))
        abort();
    json_t *out = NULL;
    int rr = fs_template_render_json(v, scope(), &out, &err);
    if (rr == 0) {
        if (!json_is_object(out) || json_array_size(json_object_get(out, "args")) != 2)
            abort();
    } else if (out || rr != -(int)err.code) {
        abort();
    }
    json_decref(out);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = '\0';
    size_t len = strlen(src); /* up to the first NUL */
    expr_case(src, len);
    template_case(src, len);
    free(src);
    return 0;
}
