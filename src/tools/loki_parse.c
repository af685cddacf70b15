/* loki_parse: reads a Loki /loki/api/v1/query_range log-stream response into the shape
 * loki.query_range returns (obs_int.h): streams with their labels and lines, nanosecond
 * timestamps as RFC 3339 text, every line cut at a byte cap. Log lines are outside bytes of
 * any content (escapes, NULs, "instructions"): this file keeps them as data and bounds their
 * size; the registry strips and redacts. Fuzzed by tests/fuzz/fuzz_loki_parse.c. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/json.h"
#include "tools/obs_int.h"

#define MAX_DEPTH 32

/* "1569266497240578000" → "2019-09-23T19:21:37.240578000Z"; false when not 1..19 digits that
 * fit in an int64. */
static bool ns_time(const char *s, char *dst, size_t size)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > (unsigned long long)INT64_MAX)
        return false;
    time_t secs = (time_t)(v / 1000000000ULL);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return false;
    snprintf(dst, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, v % 1000000000ULL);
    return true;
}

/* The longest prefix of s[0..len) of at most max bytes that ends on a UTF-8 boundary. */
static size_t cut_at(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static int stream(const json_t *e, const char *path, size_t max_line, json_t **out, size_t *cut,
                  struct fs_err *err)
{
    char p[256], vp[256];
    if (!json_is_object(e))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, path, "expected an object");
    json_t *labels = json_object_get(e, "stream"), *vals = json_object_get(e, "values");
    fs_jpath_key(p, sizeof(p), path, "stream");
    if (!json_is_object(labels))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "expected an object of labels");
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        if (!json_is_string(v)) {
            char lp[256];
            fs_jpath_key(lp, sizeof(lp), p, k);
            return fs_err_at(err, FS_E_INVALID_PAYLOAD, lp, "expected a string label value");
        }
    }
    fs_jpath_key(vp, sizeof(vp), path, "values");
    if (!json_is_array(vals))
        return fs_err_at(err, FS_E_INVALID_PAYLOAD, vp,
                         "expected an array of [\"<ns>\", \"line\"]");
    json_t *o = json_pack("{s:O,s:[]}", "labels", labels, "lines");
    if (!o)
        return -FS_E_NOMEM;
    json_t *lines = json_object_get(o, "lines");
    size_t i;
    json_t *s;
    int rc = 0;
    json_array_foreach(vals, i, s)
    {
        fs_jpath_index(p, sizeof(p), vp, i);
        /* [ts, line] or, with structured metadata, [ts, line, {...}] */
        json_t *ts = json_array_get(s, 0), *line = json_array_get(s, 1);
        char when[48];
        if (!json_is_array(s) || json_array_size(s) < 2 || json_array_size(s) > 3) {
            rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "expected [\"<ns>\", \"line\"]");
        } else if (!json_is_string(ts) || !ns_time(json_string_value(ts), when, sizeof(when))) {
            fs_jpath_index(p + strlen(p), sizeof(p) - strlen(p), "", 0);
            rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, p,
                           "expected a timestamp in nanoseconds as a string");
        } else if (!json_is_string(line)) {
            fs_jpath_index(p + strlen(p), sizeof(p) - strlen(p), "", 1);
            rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, p, "expected the line as a string");
        }
        if (rc < 0)
            break;
        size_t len = json_string_length(line);
        size_t keep = cut_at(json_string_value(line), len, max_line);
        json_t *l = json_pack("{s:s,s:s%}", "ts", when, "line", json_string_value(line), keep);
        if (l && keep < len) {
            if (cut)
                (*cut)++;
            if (json_object_set_new(l, "cut_bytes", json_integer((json_int_t)(len - keep))) < 0)
                rc = -FS_E_NOMEM;
        }
        if (!l || rc < 0 || json_array_append_new(lines, l) < 0) {
            rc = -FS_E_NOMEM;
            break;
        }
    }
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

int fs_loki_parse(const char *body, size_t len, size_t max_line, json_t **out, size_t *cut,
                  struct fs_err *err)
{
    *out = NULL;
    if (cut)
        *cut = 0;
    int rc = fs_json_depth_check(body, len, MAX_DEPTH, err);
    if (rc < 0)
        return rc;
    /* log lines may carry NUL bytes: kept here, stripped by the registry with the rest */
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, &je);
    if (!root)
        return fs_err_set(err, FS_E_INVALID_JSON, NULL, "invalid JSON at byte %d: %s", je.position,
                          je.text);
    const char *status = json_string_value(json_object_get(root, "status"));
    json_t *d = json_object_get(root, "data");
    const char *type = json_string_value(json_object_get(d, "resultType"));
    json_t *res = json_object_get(d, "result"), *o = NULL;
    if (!json_is_object(root))
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "(root)", "expected an object");
    else if (!fs_streq(status, "success"))
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "status", "expected \"success\", got %s%.60s%s",
                       status ? "\"" : "", status ? status : "none", status ? "\"" : "");
    else if (!json_is_object(d))
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "data", "expected an object");
    else if (!fs_streq(type, "streams"))
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "data.resultType",
                       "expected \"streams\" (a log query), got %.40s", type ? type : "none");
    else if (!json_is_array(res))
        rc = fs_err_at(err, FS_E_INVALID_PAYLOAD, "data.result", "expected an array");
    else if (!(o = json_pack("{s:[]}", "streams")))
        rc = -FS_E_NOMEM;
    json_t *arr = json_object_get(o, "streams");
    size_t i;
    json_t *e;
    json_array_foreach(res, i, e)
    {
        if (rc < 0)
            break;
        char p[64];
        snprintf(p, sizeof(p), "data.result[%zu]", i);
        json_t *st = NULL;
        rc = stream(e, p, max_line, &st, cut, err);
        if (rc == 0 && json_array_append_new(arr, st) < 0)
            rc = -FS_E_NOMEM;
    }
    json_decref(root);
    if (rc < 0) {
        json_decref(o);
        if (rc == -FS_E_NOMEM)
            fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        return rc;
    }
    *out = o;
    return 0;
}
