/* fuzz_prom_parse: libFuzzer target for the Prometheus API response parser
 * (src/tools/prom_parse.c). Any body must give either the normalized result (an object with a
 * known resultType and a result array of objects with a metric of string labels, values that
 * are numbers or the strings the parser promises, JSON that serialises and reads back), or
 * Prometheus's own error with a message, or a parse error with a code and a message — never a
 * crash, a leak or undefined behaviour. */
#include "core/common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tools/obs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const json_t *v, bool string_result)
{
    if (json_is_null(v) || json_is_number(v))
        return;
    if (!json_is_string(v))
        abort();
    if (string_result)
        return;
    const char *s = json_string_value(v);
    if (strcmp(s, "NaN") && strcmp(s, "+Inf") && strcmp(s, "-Inf"))
        abort();
    if (isfinite(fs_prom_json_value(v)))
        abort();
}

static void check_series(const json_t *s, bool matrix, bool string_result)
{
    const char *k;
    json_t *v;
    if (!json_is_object(s) || !json_is_object(json_object_get(s, "metric")))
        abort();
    json_object_foreach(json_object_get(s, "metric"), k, v)
    {
        if (!json_is_string(v))
            abort();
    }
    if (!matrix) {
        if (!json_is_number(json_object_get(s, "time")))
            abort();
        check_value(json_object_get(s, "value"), string_result);
        return;
    }
    json_t *vals = json_object_get(s, "values");
    size_t i;
    json_t *p;
    if (!json_is_array(vals))
        abort();
    json_array_foreach(vals, i, p)
    {
        if (json_array_size(p) != 2 || !json_is_number(json_array_get(p, 0)))
            abort();
        check_value(json_array_get(p, 1), false);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *out = NULL;
    struct fs_prom_error pe;
    struct fs_err e = {0};
    int rc = fs_prom_parse((const char *)data, size, &out, &pe, &e);
    if (rc < 0) {
        if (out || !e.msg[0] || rc != -(int)e.code)
            abort();
        return 0;
    }
    if (rc == 1) {
        if (out || !pe.msg[0] || memchr(pe.type, '\0', sizeof(pe.type)) == NULL)
            abort();
        return 0;
    }
    if (rc != 0 || !json_is_object(out))
        abort();
    const char *type = json_string_value(json_object_get(out, "resultType"));
    json_t *res = json_object_get(out, "result");
    if (!type || !json_is_array(res))
        abort();
    bool matrix = !strcmp(type, "matrix");
    bool one = !strcmp(type, "scalar") || !strcmp(type, "string");
    if (!matrix && !one && strcmp(type, "vector"))
        abort();
    if (one && json_array_size(res) != 1)
        abort();
    size_t i;
    json_t *s;
    json_array_foreach(res, i, s) check_series(s, matrix, !strcmp(type, "string"));
    char *txt = json_dumps(out, JSON_COMPACT);
    if (!txt)
        abort();
    json_t *back = json_loads(txt, 0, NULL);
    if (!back)
        abort();
    json_decref(back);
    free(txt);
    json_decref(out);
    return 0;
}
