/* parse_grafana: the Grafana unified-alerting webhook body (version "1") into a normalized alert
 * batch: the Alertmanager alert shape plus Grafana's per-alert links and values, kept in extra.
 * Shape checks only, naming the JSON path of every failure; unknown fields (embeddedImage, new
 * ones) are ignored and not copied. It must not accept Alertmanager's version "4" body. */
#include "core/common.h"

#include "core/json.h"
#include "intake/parse_int.h"

static int check_version(const json_t *doc, struct fs_err *err)
{
    const char *ver = NULL;
    int rc = fs_json_get_str(doc, "version", "", false, &ver, err);
    if (rc < 0 || !ver || strcmp(ver, "1") == 0)
        return rc;
    char q[64];
    fs_parse_quote(q, sizeof(q), ver);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, "version",
                      "version: expected \"1\" (Grafana webhook), got %s%s", q,
                      strcmp(ver, "4") == 0
                          ? ", which is Alertmanager's format; send it to the Alertmanager intake"
                          : "");
}

static int check_top(const json_t *doc, struct fs_err *err)
{
    static const char *const strs[] = {"state", "title", "message"};
    int rc;
    for (size_t i = 0; i < FS_ARRAY_LEN(strs); i++)
        if ((rc = fs_parse_opt_str(doc, strs[i], "", NULL, err)) < 0)
            return rc;
    int64_t org;
    return fs_json_get_int(doc, "orgId", "", false, &org, NULL, err);
}

/* values: refID -> number (null when the query had no value) */
static int check_values(const json_t *v, const char *path, json_t *extra, struct fs_err *err)
{
    json_t *values = NULL;
    int rc = fs_json_get_obj(v, "values", path, false, &values, err);
    if (rc < 0 || !values)
        return rc;
    char vp[256];
    fs_jpath_key(vp, sizeof(vp), path, "values");
    const char *k;
    json_t *x;
    json_object_foreach(values, k, x)
    {
        if (!json_is_number(x) && !json_is_null(x)) {
            char kp[256];
            fs_jpath_key(kp, sizeof(kp), vp, k);
            return fs_err_set(err, FS_E_INVALID_PAYLOAD, kp, "%s: expected number or null, got %s",
                              kp, fs_json_type_name(x));
        }
    }
    if (json_object_set(extra, "values", values))
        return fs_parse_nomem(vp, err);
    return 0;
}

static int grafana_extras(const json_t *v, const char *path, json_t *extra, struct fs_err *err)
{
    static const char *const strs[] = {"silenceURL", "dashboardURL", "panelURL", "imageURL",
                                       "valueString"};
    int rc;
    for (size_t i = 0; i < FS_ARRAY_LEN(strs); i++)
        if ((rc = fs_parse_opt_str(v, strs[i], path, extra, err)) < 0)
            return rc;
    if ((rc = check_values(v, path, extra, err)) < 0)
        return rc;
    int64_t org;
    bool present;
    if ((rc = fs_json_get_int(v, "orgId", path, false, &org, &present, err)) < 0)
        return rc;
    if (present && json_object_set(extra, "orgId", json_object_get(v, "orgId")))
        return fs_parse_nomem(path, err);
    return 0;
}

int fs_parse_grafana(const char *body, size_t len, const struct fs_parse_limits *lim,
                     struct fs_alert_batch *out, struct fs_err *err)
{
    static const struct fs_webhook_format fmt = {FS_SRC_GRAFANA, check_version, check_top,
                                                 grafana_extras};
    return fs_parse_webhook(&fmt, body, len, lim, out, err);
}
