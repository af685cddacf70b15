/* Internals of the observability tools (prometheus.c, loki.c), exported for their unit tests
 * and fuzz targets: the one HTTP request they make (obs_common.c), time and step arguments,
 * form encoding, the response parsers (prom_parse.c, loki_parse.c) and the LogQL builder. */
#ifndef FS_TOOLS_OBS_INT_H
#define FS_TOOLS_OBS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/sim.h"

#define FS_OBS_MAX_BODY (8u * 1024 * 1024) /* bytes of one response */
#define FS_PROM_MAX_POINTS 11000           /* Prometheus refuses (end-start)/step above this */
#define FS_LOKI_MAX_LINE 4096              /* bytes of one log line kept */
#define FS_LOKI_MAX_LIMIT 5000

/* ---- arguments (obs_common.c) ------------------------------------------------------------ */

/* A point in time as a tool argument: "now", "now-1h" / "-1h" (a duration back from now),
 * Unix seconds ("1722506400", "1722506400.25"; fractions past milliseconds dropped) or RFC 3339.
 * Into *out_ms (Unix milliseconds). Returns 0 or -FS_E_INVALID. */
int fs_obs_time_parse(const char *s, int64_t now_ms, int64_t *out_ms);
/* A step or resolution: a duration ("15s", "1m30s") or seconds ("15", "0.5"); > 0. */
int fs_obs_step_parse(const char *s, int64_t *out_ms);
/* Unix milliseconds as Prometheus seconds: "1722506400.123". buf >= 32 bytes. Returns buf. */
char *fs_obs_seconds(int64_t ms, char *buf, size_t size);

/* Append "key=value" (both percent-encoded; '&' before it unless b is empty) to an
 * application/x-www-form-urlencoded string, which is also a valid URL query. */
int fs_obs_form_add(struct fs_buf *b, const char *key, const char *value);

/* ---- HTTP (obs_common.c) ----------------------------------------------------------------- */

struct fs_obs_req {
    const char *base;   /* http(s)://host[:port][/prefix] (tools.prometheus_url, ...) */
    const char *path;   /* "/api/v1/query" */
    const char *form;   /* URL-encoded parameters, or NULL */
    bool post;          /* form as an application/x-www-form-urlencoded body; else ?form */
    int64_t timeout_ms; /* the whole exchange, redirects included */
    size_t max_body;    /* 0 = FS_OBS_MAX_BODY */
    const struct fs_sim *sim; /* non-NULL: the simulated world answers (core/sim.h) */
};

struct fs_obs_reply {
    long status;        /* HTTP status of the final response */
    struct fs_buf body; /* release with fs_obs_reply_release */
};

/* One request with libcurl: http and https only, redirects followed only to the same scheme,
 * host and port (at most 3), body capped. Returns 0 when a response arrived (any status), or
 * -FS_E_INVALID (base is not an http(s) URL), -FS_E_CONNECT (refused, DNS, TLS: err->msg is
 * libcurl's reason), -FS_E_TIMEOUT, -FS_E_TOO_LARGE (body over the cap), -FS_E_PROTOCOL
 * (redirected to another host, or too many redirects), -FS_E_NOMEM. out is zeroed first and
 * must be released in every case. */
int fs_obs_http(const struct fs_obs_req *req, struct fs_obs_reply *out, struct fs_err *err);
void fs_obs_reply_release(struct fs_obs_reply *r);

/* The first max bytes of a body on one line, for an error message ("(empty body)" if none). */
void fs_obs_snippet(const struct fs_buf *body, size_t max, char *dst, size_t size);

/* ---- what both tools write (obs_common.c) ------------------------------------------------- */

struct fs_tool_result;

/* out->text = the message, out->is_error = true. Returns 0, or -FS_E_NOMEM. */
int fs_obs_fail(struct fs_tool_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A failed fs_obs_http (rc, err) as the tool's failure: "prometheus unreachable at URL: ...",
 * "... did not answer within N ms", "...: response too large (more than 8 MiB) ...".
 * -FS_E_NOMEM is returned as is. */
int fs_obs_transport_fail(struct fs_tool_result *out, const char *service, const char *base, int rc,
                          const struct fs_err *err);
/* A label set for text, labels sorted: name{k="v", k2="v2"} (__name__ as the prefix when name is
 * true), or
 * "{}" when empty; values escaped like PromQL (\, \", \n). */
int fs_obs_labels(struct fs_buf *b, const json_t *labels, bool name);

/* ---- Prometheus (prom_parse.c) ----------------------------------------------------------- */

/* A sample value as Prometheus writes it: a decimal or "NaN", "+Inf", "-Inf" (strtod's other
 * spellings are refused: no hex, no "infinity"). Returns 0 or -FS_E_INVALID. */
int fs_prom_value(const char *s, double *out);

struct fs_prom_error {
    char type[64];  /* errorType: "bad_data", "execution", ... ("" when absent) */
    char msg[1024]; /* error */
};

/* Parse a Prometheus HTTP API response body (/api/v1/query, /api/v1/query_range).
 *   0  status "success": *data = {"resultType", "result":[...], "warnings"?:[...]}, new
 *      reference. vector and (instant) scalar/string results become
 *      [{"metric":{...}, "value":V, "time":T}] (scalar and string with an empty metric);
 *      matrix becomes [{"metric":{...}, "values":[[T,V],...]}]. T is float Unix seconds. V is
 *      a number, or the string "NaN", "+Inf", "-Inf" (JSON has no such numbers), or for a
 *      string result the string. Native histogram samples keep only {"count","sum"} under
 *      "histogram" / "histograms".
 *   1  status "error": perr holds errorType and error; *data NULL.
 *  <0  not a Prometheus response: -FS_E_INVALID_JSON, -FS_E_INVALID_PAYLOAD with err->path
 *      ("data.result[3].value[1]"), -FS_E_TOO_DEEP, -FS_E_NOMEM; *data NULL. */
int fs_prom_parse(const char *body, size_t len, json_t **data, struct fs_prom_error *perr,
                  struct fs_err *err);

/* A value from fs_prom_parse (number or "NaN"/"+Inf"/"-Inf" string) as a double; NaN for
 * anything else. */
double fs_prom_json_value(const json_t *v);

/* ---- Loki (loki_parse.c, loki.c) --------------------------------------------------------- */

/* Parse a Loki /loki/api/v1/query_range response of resultType "streams" into
 * {"streams":[{"labels":{...}, "lines":[{"ts":"2024-08-01T10:00:00.123456789Z",
 * "line":"..."}]}]}. Lines longer than max_line bytes are cut on a UTF-8 boundary and get
 * "cut_bytes": N; *cut (may be NULL) counts them. Other result types, a status other than
 * "success", or a malformed body: -FS_E_INVALID_PAYLOAD with err->path, -FS_E_INVALID_JSON,
 * -FS_E_TOO_DEEP, -FS_E_NOMEM; *out NULL. */
int fs_loki_parse(const char *body, size_t len, size_t max_line, json_t **out, size_t *cut,
                  struct fs_err *err);

/* Append s as a LogQL double-quoted string: \ and " escaped, \n \r \t as such, other control
 * bytes as \xHH (Go strconv.Unquote rules, which Loki uses). */
int fs_logql_quote(struct fs_buf *b, const char *s);

/* Build a LogQL log query from loki.query_range's typed arguments: selector {k: v} (sorted by
 * label name, exact match), then |= for each of contains, != not_contains, |~ regex,
 * !~ not_regex. -FS_E_INVALID_PAYLOAD with err->path ("selector.app") for an empty selector,
 * a bad label name, a non-string or empty value. */
int fs_logql_build(const json_t *args, struct fs_buf *out, struct fs_err *err);

#endif
