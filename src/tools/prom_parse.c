/* prom_parse: reads a Prometheus HTTP API response (/api/v1/query, /api/v1/query_range) into
 * the normalized shape the prometheus.* tools return (obs_int.h). It owns the envelope rules —
 * success or error, the four result types, sample values as strings — and refuses anything
 * else with the JSON path of the first thing wrong. Outside bytes: fuzzed
 * (tests/fuzz/fuzz_prom_parse.c); it must not trust a single field. */
#include "core/common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "tools/obs_int.h"

#define MAX_DEPTH 32

int fs_prom_value(const char *s, double *out)
{
    if (!s || !*s)
        return -FS_E_INVALID;
    if (!strcmp(s, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(s, "-Inf")) {
        *out = -INFINITY;
        return 0;
    }
    /* a plain decimal: strtod alone would also take hex, "infinity" and leading spaces */
    for (const char *c = s; *c; c++)
        if (!strchr("0123456789+-.eE", *c))
            return -FS_E_INVALID;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s)
        return -FS_E_INVALID;
    *out = v; /* overflow gives ±HUGE_VAL, which is what the value is */
    return 0;
}

double fs_prom_json_value(const json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    double d;
    if (json_is_string(v) && fs_prom_value(json_string_value(v), &d) == 0 && !isfinite(d))
        return d;
    return NAN;
}

/* A value for the normalized output: a number when finite, else its name. */
static json_t *value_json(double d)
{
    if (isfinite(d))
        return json_real(d);
    return json_string(isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf");
}

/* [t, "v"] at path → *t, *v (v NULL when want_string: the string itself goes to *s). */
static int sample(const json_t *a, const char *path, bool want_string, double *t, double *v,
                  const char **s, struct fs_err *err)
{
    char p[256];
    if (!json_is_array(a) || json_array_size(a) != 2)
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected [time, \"value\"]");
    json_t *jt = json_array_get(a, 0), *jv = json_array_get(a, 1);
    if (!json_is_number(jt) || !isfinite(json_number_value(jt))) {
        fs_jpath_index(p, sizeof(p), path, 0);
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "expected a time in seconds");
    }
    *t = json_number_value(jt);
    fs_jpath_index(p, sizeof(p), path, 1);
    if (!json_is_string(jv))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "expected the value as a string, got %s",
                         fs_json_type_name(jv));
    if (want_string) {
        *s = json_string_value(jv);
        return 0;
    }
    if (fs_prom_value(json_string_value(jv), v) < 0)
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "not a sample value");
    return 0;
}

/* {"count":"3","sum":"1.5",...} → {"count":3,"sum":1.5} (buckets left out). */
static int histogram(const json_t *h, const char *path, json_t **out, struct fs_err *err)
{
    if (!json_is_object(h))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected a histogram object");
    json_t *o = json_object();
    if (!o)
        return -FS_E_NOMEM;
    static const char *const keys[] = {"count", "sum"};
    for (size_t i = 0; i < FS_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(h, keys[i]);
        double d;
        if (!v)
            continue;
        if (!json_is_string(v) || fs_prom_value(json_string_value(v), &d) < 0) {
            json_decref(o);
            char p[256];
            fs_jpath_key(p, sizeof(p), path, keys[i]);
            return fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "not a sample value");
        }
        if (json_object_set_new(o, keys[i], value_json(d)) < 0) {
            json_decref(o);
            return -FS_E_NOMEM;
        }
    }
    *out = o;
    return 0;
}

/* [t, {histogram}] → [t, {count, sum}] */
static int hist_sample(const json_t *a, const char *path, json_t **out, struct fs_err *err)
{
    char p[256];
    if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_number(json_array_get(a, 0)) ||
        !isfinite(json_number_value(json_array_get(a, 0))))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected [time, histogram]");
    fs_jpath_index(p, sizeof(p), path, 1);
    json_t *h = NULL;
    int rc = histogram(json_array_get(a, 1), p, &h, err);
    if (rc < 0)
        return rc;
    *out = json_pack("[f,o]", json_number_value(json_array_get(a, 0)), h);
    return *out ? 0 : -FS_E_NOMEM;
}

static int metric(const json_t *m, const char *path, json_t **out, struct fs_err *err)
{
    if (!m) {
        *out = json_object();
        return *out ? 0 : -FS_E_NOMEM;
    }
    if (!json_is_object(m))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected an object of labels");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        if (!json_is_string(v)) {
            char p[256];
            fs_jpath_key(p, sizeof(p), path, k);
            return fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "expected a string label value");
        }
    }
    *out = json_deep_copy(m);
    return *out ? 0 : -FS_E_NOMEM;
}

/* One element of a vector or matrix result. */
static int series(const json_t *e, const char *path, bool matrix, json_t **out, struct fs_err *err)
{
    char p[256];
    if (!json_is_object(e))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected an object");
    json_t *o = json_object(), *m = NULL;
    if (!o)
        return -FS_E_NOMEM;
    fs_jpath_key(p, sizeof(p), path, "metric");
    int rc = metric(json_object_get(e, "metric"), p, &m, err);
    if (rc == 0 && json_object_set_new(o, "metric", m) < 0)
        rc = -FS_E_NOMEM;
    const char *vk = matrix ? "values" : "value", *hk = matrix ? "histograms" : "histogram";
    json_t *vals = json_object_get(e, vk), *hists = json_object_get(e, hk);
    if (rc == 0 && !vals && !hists)
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "neither \"%s\" nor \"%s\"", vk, hk);
    if (rc == 0 && !matrix && vals) {
        double t, v;
        fs_jpath_key(p, sizeof(p), path, vk);
        rc = sample(vals, p, false, &t, &v, NULL, err);
        if (rc == 0 && (json_object_set_new(o, "value", value_json(v)) < 0 ||
                        json_object_set_new(o, "time", json_real(t)) < 0))
            rc = -FS_E_NOMEM;
    }
    if (rc == 0 && !matrix && hists) {
        json_t *h = NULL;
        fs_jpath_key(p, sizeof(p), path, hk);
        rc = hist_sample(hists, p, &h, err);
        if (rc == 0 && (json_object_set(o, "histogram", json_array_get(h, 1)) < 0 ||
                        json_object_set(o, "time", json_array_get(h, 0)) < 0))
            rc = -FS_E_NOMEM;
        json_decref(h);
        if (rc == 0 && !vals && json_object_set_new(o, "value", json_null()) < 0)
            rc = -FS_E_NOMEM;
    }
    for (int pass = 0; rc == 0 && matrix && pass < 2; pass++) {
        json_t *src = pass == 0 ? vals : hists;
        if (!src)
            continue;
        char ap[256];
        fs_jpath_key(ap, sizeof(ap), path, pass == 0 ? vk : hk);
        if (!json_is_array(src)) {
            rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, ap, "expected an array of samples");
            break;
        }
        json_t *arr = json_array();
        if (!arr || json_object_set_new(o, pass == 0 ? "values" : "histograms", arr) < 0) {
            rc = -FS_E_NOMEM;
            break;
        }
        size_t i;
        json_t *s;
        json_array_foreach(src, i, s)
        {
            fs_jpath_index(p, sizeof(p), ap, i);
            json_t *item = NULL;
            if (pass == 0) {
                double t, v;
                rc = sample(s, p, false, &t, &v, NULL, err);
                if (rc == 0 && !(item = json_pack("[f,o]", t, value_json(v))))
                    rc = -FS_E_NOMEM;
            } else {
                rc = hist_sample(s, p, &item, err);
            }
            if (rc == 0 && json_array_append_new(arr, item) < 0)
                rc = -FS_E_NOMEM;
            if (rc < 0)
                break;
        }
    }
    if (rc == 0 && matrix && !vals && json_object_set_new(o, "values", json_array()) < 0)
        rc = -FS_E_NOMEM;
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* "warnings"/"infos": a list of strings, copied when well formed, ignored otherwise. */
static int notes(const json_t *root, const char *key, json_t *data)
{
    json_t *w = json_object_get(root, key);
    if (!json_is_array(w) || !json_array_size(w))
        return 0;
    json_t *arr = json_array();
    if (!arr || json_object_set_new(data, key, arr) < 0)
        return -FS_E_NOMEM;
    size_t i;
    json_t *s;
    json_array_foreach(w, i, s)
    {
        if (json_is_string(s) && json_array_append(arr, s) < 0)
            return -FS_E_NOMEM;
    }
    return 0;
}

int fs_prom_parse(const char *body, size_t len, json_t **data, struct fs_prom_error *perr,
                  struct fs_err *err)
{
    *data = NULL;
    memset(perr, 0, sizeof(*perr));
    json_t *root = NULL;
    int rc = fs_json_parse(body, len, MAX_DEPTH, &root, err);
    if (rc < 0)
        return rc;
    const char *status = json_string_value(json_object_get(root, "status"));
    if (!json_is_object(root)) {
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "(root)", "expected an object");
    } else if (!status) {
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "status", "required: \"success\" or \"error\"");
    } else if (!strcmp(status, "error")) {
        copy_str(perr->type, sizeof(perr->type), json_object_get(root, "errorType"));
        copy_str(perr->msg, sizeof(perr->msg), json_object_get(root, "error"));
        if (!perr->msg[0])
            snprintf(perr->msg, sizeof(perr->msg), "(no message)");
        json_decref(root);
        return 1;
    } else if (strcmp(status, "success") != 0) {
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "status", "expected \"success\" or \"error\"");
    }
    json_t *d = json_object_get(root, "data"), *out = NULL;
    const char *type = json_string_value(json_object_get(d, "resultType"));
    json_t *res = json_object_get(d, "result");
    if (rc == 0 && !json_is_object(d))
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "data", "expected an object");
    else if (rc == 0 && !type)
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "data.resultType", "required");
    bool vec = fs_streq(type, "vector"), mat = fs_streq(type, "matrix");
    bool one = fs_streq(type, "scalar") || fs_streq(type, "string");
    if (rc == 0 && !vec && !mat && !one)
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "data.resultType",
                       "unknown result type \"%.40s\"", type);
    if (rc == 0 && !(out = json_pack("{s:s,s:[]}", "resultType", type, "result")))
        rc = -FS_E_NOMEM;
    json_t *arr = json_object_get(out, "result");
    if (rc == 0 && one) {
        double t, v = NAN;
        const char *s = NULL;
        rc = sample(res, "data.result", fs_streq(type, "string"), &t, &v, &s, err);
        json_t *item = NULL;
        if (rc == 0 && !(item = json_pack("{s:{},s:o,s:f}", "metric", "value",
                                          s ? json_string(s) : value_json(v), "time", t)))
            rc = -FS_E_NOMEM;
        if (rc == 0 && json_array_append_new(arr, item) < 0)
            rc = -FS_E_NOMEM;
    } else if (rc == 0) {
        if (!json_is_array(res))
            rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "data.result", "expected an array");
        size_t i;
        json_t *e;
        json_array_foreach(res, i, e)
        {
            if (rc < 0)
                break;
            char p[64];
            snprintf(p, sizeof(p), "data.result[%zu]", i);
            json_t *item = NULL;
            rc = series(e, p, mat, &item, err);
            if (rc == 0 && json_array_append_new(arr, item) < 0)
                rc = -FS_E_NOMEM;
        }
    }
    if (rc == 0)
        rc = notes(root, "warnings", out);
    if (rc == 0)
        rc = notes(root, "infos", out);
    json_decref(root);
    if (rc < 0) {
        json_decref(out);
        if (rc == -FS_E_NOMEM)
            fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        return rc;
    }
    *data = out;
    return 0;
}
