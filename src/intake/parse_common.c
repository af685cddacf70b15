/* parse_common: what the intake parsers share — loading a body under the limits, the batch
 * skeleton and its ownership (see parse_int.h), label maps, timestamps, fingerprints and the
 * Alertmanager-shaped alert object. Validation only: it never decides incident semantics, and
 * it never touches the network, the store or global state. */
#include "core/common.h"

#include <ctype.h>
#include <stdio.h>

#include "core/json.h"
#include "core/time.h"
#include "intake/parse_int.h"

int fs_parse_nomem(const char *path, struct fs_err *err)
{
    return fs_err_set(err, FS_E_NOMEM, path, "out of memory while parsing%s%s",
                      path && *path ? " " : "", path ? path : "");
}

int fs_parse_load(const char *body, size_t len, const struct fs_parse_limits *lim, json_type want,
                  json_t **doc, struct fs_err *err)
{
    *doc = NULL;
    if (!lim)
        return fs_err_set(err, FS_E_INVALID, "", "no parse limits given");
    if (!body && len)
        return fs_err_set(err, FS_E_INVALID, "", "no body given");
    json_t *v;
    int rc = fs_json_parse(body ? body : "", len, lim->max_depth, &v, err);
    if (rc < 0)
        return rc;
    if (json_typeof(v) != want) {
        rc = fs_err_set(err, FS_E_INVALID_PAYLOAD, "", "expected %s, got %s",
                        want == JSON_ARRAY ? "array" : "object", fs_json_type_name(v));
        json_decref(v);
        return rc;
    }
    *doc = v;
    return 0;
}

int fs_parse_batch_init(struct fs_alert_batch *out, enum fs_alert_source src, json_t *doc, size_t n,
                        const struct fs_parse_limits *lim, const char *arr_path, const char *noun,
                        struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    out->source = src;
    if (n > lim->max_alerts) {
        json_decref(doc);
        return fs_err_set(err, FS_E_TOO_MANY, arr_path, "%s%s%zu %s, more than the limit of %zu",
                          arr_path, *arr_path ? ": " : "", n, noun, lim->max_alerts);
    }
    json_t *root = json_object();
    json_t *kept = json_array();
    if (!root || !kept) {
        json_decref(root);
        json_decref(kept);
        json_decref(doc);
        return fs_parse_nomem("", err);
    }
    /* set_new steals its value even when it fails, so both calls are always made */
    int bad = json_object_set_new(root, "payload", doc);
    bad |= json_object_set_new(root, "alerts", kept);
    if (bad) {
        json_decref(root);
        return fs_parse_nomem("", err);
    }
    out->alerts = fs_calloc(n, sizeof(*out->alerts));
    if (!out->alerts) {
        json_decref(root);
        return fs_parse_nomem("", err);
    }
    out->root = root;
    return 0;
}

void fs_parse_alert_drop(struct fs_alert *a)
{
    json_decref(a->labels);
    json_decref(a->annotations);
    json_decref(a->extra);
    memset(a, 0, sizeof(*a));
}

int fs_parse_keep(struct fs_alert_batch *out, struct fs_alert *a, struct fs_err *err)
{
    json_t *kept = json_object_get(out->root, "alerts");
    json_t *o = json_object();
    if (!o || json_object_set(o, "labels", a->labels) ||
        json_object_set(o, "annotations", a->annotations) ||
        json_object_set(o, "extra", a->extra)) {
        json_decref(o);
        fs_parse_alert_drop(a);
        return fs_parse_nomem("", err);
    }
    if (json_array_append_new(kept, o)) {
        fs_parse_alert_drop(a);
        return fs_parse_nomem("", err);
    }
    /* root now holds every value a points to, so the copy stays valid after the drop */
    out->alerts[out->n++] = *a;
    fs_parse_alert_drop(a);
    return 0;
}

int fs_parse_fail(struct fs_alert_batch *out, int rc)
{
    fs_alert_batch_release(out);
    memset(out, 0, sizeof(*out));
    return rc;
}

void fs_parse_quote(char *out, size_t size, const char *s)
{
    const size_t max_src = 40;
    size_t j = 0;
    if (size < 8) {
        if (size)
            out[0] = '\0';
        return;
    }
    out[j++] = '"';
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    for (; p[i] && i < max_src; i++) {
        unsigned char c = p[i];
        /* room for the widest escape, the closing quote, "..." and the NUL */
        if (j + 6 + 1 + 3 + 1 > size)
            break;
        if (c == '"' || c == '\\') {
            out[j++] = '\\';
            out[j++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            j += (size_t)snprintf(out + j, size - j, "\\u%04x", c);
        } else {
            out[j++] = (char)c;
        }
    }
    if (p[i]) {
        /* cut at a character boundary: drop a partial UTF-8 sequence */
        while (j > 1 && ((unsigned char)out[j - 1] & 0xc0) == 0x80)
            j--;
        if (j > 1 && ((unsigned char)out[j - 1] & 0xc0) == 0xc0)
            j--;
        out[j++] = '"';
        memcpy(out + j, "...", 3);
        j += 3;
    } else {
        out[j++] = '"';
    }
    out[j] = '\0';
}

static bool prom_label_name(const char *k)
{
    if (!(isalpha((unsigned char)*k) || *k == '_'))
        return false;
    for (const char *p = k + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

/* Paths are composed only when there is something to report: this runs for every label of
 * every alert. */
static int map_error(const char *base, const char *key, const char *k, const char *what,
                     const json_t *v, struct fs_err *err)
{
    char path[256], kp[256];
    fs_jpath_key(path, sizeof(path), base, key);
    if (k)
        fs_jpath_key(kp, sizeof(kp), path, k);
    else
        fs_strlcpy(kp, path, sizeof(kp));
    if (!what)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, kp, "%s: expected string, got %s", kp,
                          fs_json_type_name(v));
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, kp, "%s: %s", kp, what);
}

int fs_parse_str_map(const json_t *obj, const char *key, const char *base, bool required,
                     bool nonempty, bool strict_names, json_t **out, struct fs_err *err)
{
    json_t *m = NULL;
    *out = NULL;
    int rc = fs_json_get_obj(obj, key, base, required, &m, err);
    if (rc < 0 || !m)
        return rc;
    if (nonempty && json_object_size(m) == 0)
        return map_error(base, key, NULL, "must not be empty", m, err);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        if (!*k)
            return map_error(base, key, k, "names must not be empty", v, err);
        if (strict_names && !prom_label_name(k))
            return map_error(base, key, k, "a label name must match [A-Za-z_][A-Za-z0-9_]*", v,
                             err);
        if (!json_is_string(v))
            return map_error(base, key, k, NULL, v, err);
        if (strict_names && json_string_length(v) == 0)
            return map_error(base, key, k, "must not be empty (leave the label out instead)", v,
                             err);
    }
    *out = m;
    return 0;
}

int fs_parse_time(const json_t *obj, const char *key, const char *base, bool required,
                  bool allow_zero, int64_t *out, bool *present, struct fs_err *err)
{
    const char *s = NULL;
    if (present)
        *present = false;
    int rc = fs_json_get_str(obj, key, base, required, &s, err);
    if (rc < 0 || !s)
        return rc;
    char path[256], q[64];
    int64_t t;
    /* jansson strings hold no NUL (fs_json_parse rejects \u0000), so strlen is the length */
    int prc = fs_time_parse_rfc3339(s, (size_t)-1, &t);
    if (prc == 0 && (t != FS_TIME_UNSET || allow_zero)) {
        *out = t;
        if (present)
            *present = true;
        return 0;
    }
    fs_jpath_key(path, sizeof(path), base, key);
    if (prc < 0) {
        fs_parse_quote(q, sizeof(q), s);
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path,
                          "%s: expected an RFC 3339 timestamp such as \"2026-11-21T10:43:25Z\", "
                          "got %s",
                          path, q);
    }
    fs_parse_quote(q, sizeof(q), s);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: must be set, got the zero time %s",
                      path, q);
}

int fs_parse_opt_str(const json_t *obj, const char *key, const char *base, json_t *extra,
                     struct fs_err *err)
{
    const char *s = NULL;
    int rc = fs_json_get_str(obj, key, base, false, &s, err);
    if (rc < 0 || !s || !extra)
        return rc;
    /* share the parsed string: it is immutable here and root keeps it alive */
    if (json_object_set(extra, key, json_object_get(obj, key))) {
        char path[256];
        fs_jpath_key(path, sizeof(path), base, key);
        return fs_parse_nomem(path, err);
    }
    return 0;
}

bool fs_parse_fingerprint_ok(const char *s, char out[17])
{
    size_t i;
    for (i = 0; i < 16; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    if (s[16] != '\0')
        return false;
    out[16] = '\0';
    return true;
}

void fs_parse_label_severity(struct fs_alert *a)
{
    const char *sv = json_string_value(json_object_get(a->labels, "severity"));
    enum fs_severity sev = FS_SEV_WARNING;
    a->has_severity = sv && fs_severity_parse(sv, &sev);
    a->severity = a->has_severity ? sev : FS_SEV_WARNING;
}

int fs_parse_am_alert(const json_t *v, const char *path, bool api,
                      const struct fs_parse_limits *lim, struct fs_alert *a, struct fs_err *err)
{
    char p[256], q[64];
    int rc;
    memset(a, 0, sizeof(*a));
    if (!json_is_object(v))
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, path, "%s: expected object, got %s", path,
                          fs_json_type_name(v));

    enum fs_alert_status status = FS_ALERT_FIRING;
    if (!api) {
        const char *st = NULL;
        rc = fs_json_get_str(v, "status", path, true, &st, err);
        if (rc < 0)
            return rc;
        if (strcmp(st, "resolved") == 0) {
            status = FS_ALERT_RESOLVED;
        } else if (strcmp(st, "firing") != 0) {
            fs_jpath_key(p, sizeof(p), path, "status");
            fs_parse_quote(q, sizeof(q), st);
            return fs_err_set(err, FS_E_INVALID_PAYLOAD, p,
                              "%s: expected \"firing\" or \"resolved\", got %s", p, q);
        }
    }

    json_t *labels, *ann;
    rc = fs_parse_str_map(v, "labels", path, true, true, false, &labels, err);
    if (rc < 0)
        return rc;
    rc = fs_parse_str_map(v, "annotations", path, false, false, false, &ann, err);
    if (rc < 0)
        return rc;

    int64_t starts, ends = FS_TIME_UNSET;
    rc = fs_parse_time(v, "startsAt", path, true, false, &starts, NULL, err);
    if (rc < 0)
        return rc;
    rc = fs_parse_time(v, "endsAt", path, false, true, &ends, NULL, err);
    if (rc < 0)
        return rc;

    const char *fp = NULL;
    rc = fs_json_get_str(v, "fingerprint", path, api, &fp, err);
    if (rc < 0)
        return rc;
    if (fp && !fs_parse_fingerprint_ok(fp, a->fingerprint)) {
        fs_jpath_key(p, sizeof(p), path, "fingerprint");
        fs_parse_quote(q, sizeof(q), fp);
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, p, "%s: expected 16 hex digits, got %s", p, q);
    }
    if (!fp)
        fs_alert_fingerprint(labels, a->fingerprint);

    a->extra = json_object();
    a->annotations = ann ? json_incref(ann) : json_object();
    a->labels = json_incref(labels);
    if (!a->extra || !a->annotations) {
        fs_parse_alert_drop(a);
        return fs_parse_nomem(path, err);
    }
    rc = fs_parse_opt_str(v, "generatorURL", path, a->extra, err);
    if (rc < 0) {
        fs_parse_alert_drop(a);
        return rc;
    }

    a->status = status;
    a->starts_at = starts;
    a->starts_known = true;
    if (api) {
        /* the API's endsAt is Alertmanager's guess (now + resolve_timeout), not an end */
        a->ends_at = FS_TIME_UNSET;
    } else {
        a->ends_at = ends;
        if (status == FS_ALERT_RESOLVED && ends == FS_TIME_UNSET)
            a->ends_at = lim->now_ms;
    }
    fs_parse_label_severity(a);
    return 0;
}

int fs_parse_webhook_common(const json_t *doc, struct fs_alert_batch *out, struct fs_err *err)
{
    static const char *const strs[] = {"status", "receiver", "groupKey", "externalURL"};
    static const char *const maps[] = {"groupLabels", "commonLabels", "commonAnnotations"};
    int rc;
    for (size_t i = 0; i < FS_ARRAY_LEN(strs); i++)
        if ((rc = fs_parse_opt_str(doc, strs[i], "", NULL, err)) < 0)
            return rc;
    for (size_t i = 0; i < FS_ARRAY_LEN(maps); i++) {
        json_t *m;
        if ((rc = fs_parse_str_map(doc, maps[i], "", false, false, false, &m, err)) < 0)
            return rc;
    }
    int64_t trunc = 0;
    bool present;
    rc = fs_json_get_int(doc, "truncatedAlerts", "", false, &trunc, &present, err);
    if (rc < 0)
        return rc;
    if (present && trunc < 0)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "truncatedAlerts",
                          "truncatedAlerts: must not be negative, got %lld", (long long)trunc);
    out->truncated = present ? trunc : 0;
    return 0;
}

int fs_parse_webhook(const struct fs_webhook_format *fmt, const char *body, size_t len,
                     const struct fs_parse_limits *lim, struct fs_alert_batch *out,
                     struct fs_err *err)
{
    json_t *doc, *alerts;
    memset(out, 0, sizeof(*out));
    int rc = fs_parse_load(body, len, lim, JSON_OBJECT, &doc, err);
    if (rc < 0)
        return rc;
    if ((rc = fmt->check_version(doc, err)) < 0 ||
        (rc = fs_json_get_arr(doc, "alerts", "", true, &alerts, err)) < 0) {
        json_decref(doc);
        return rc;
    }
    rc = fs_parse_batch_init(out, fmt->source, doc, json_array_size(alerts), lim, "alerts",
                             "alerts", err);
    if (rc < 0)
        return fs_parse_fail(out, rc);
    if ((rc = fs_parse_webhook_common(doc, out, err)) < 0 ||
        (fmt->check_top && (rc = fmt->check_top(doc, err)) < 0))
        return fs_parse_fail(out, rc);
    size_t i;
    json_t *v;
    json_array_foreach(alerts, i, v)
    {
        char path[64];
        struct fs_alert a;
        fs_jpath_index(path, sizeof(path), "alerts", i);
        if ((rc = fs_parse_am_alert(v, path, false, lim, &a, err)) < 0)
            return fs_parse_fail(out, rc);
        if (fmt->alert_extras && (rc = fmt->alert_extras(v, path, a.extra, err)) < 0) {
            fs_parse_alert_drop(&a);
            return fs_parse_fail(out, rc);
        }
        if ((rc = fs_parse_keep(out, &a, err)) < 0)
            return fs_parse_fail(out, rc);
    }
    return 0;
}
