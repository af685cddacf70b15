/* parse_alertmanager: the Prometheus Alertmanager webhook body (version "4") into a normalized
 * alert batch. Shape checks only, each failure naming its JSON path; unknown fields are ignored
 * (Alertmanager adds some in new versions). It must not decide anything about incidents, and
 * it does not accept Grafana's version "1" body, which has its own parser. */
#include "core/common.h"

#include "core/json.h"
#include "intake/parse_int.h"

static int check_version(const json_t *doc, struct fs_err *err)
{
    const char *ver = NULL;
    int rc = fs_json_get_str(doc, "version", "", false, &ver, err);
    if (rc < 0 || !ver || strcmp(ver, "4") == 0)
        return rc;
    if (strcmp(ver, "1") == 0)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "version",
                          "version: expected \"4\" (Alertmanager webhook), got \"1\", which is "
                          "Grafana's format; Grafana payloads belong on /api/v1/alerts/grafana");
    char q[64];
    fs_parse_quote(q, sizeof(q), ver);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, "version",
                      "version: expected \"4\" (Alertmanager webhook), got %s (Grafana payloads, "
                      "version \"1\", belong on /api/v1/alerts/grafana)",
                      q);
}

int fs_parse_alertmanager(const char *body, size_t len, const struct fs_parse_limits *lim,
                          struct fs_alert_batch *out, struct fs_err *err)
{
    json_t *doc, *alerts;
    memset(out, 0, sizeof(*out));
    int rc = fs_parse_load(body, len, lim, JSON_OBJECT, &doc, err);
    if (rc < 0)
        return rc;
    if ((rc = check_version(doc, err)) < 0 ||
        (rc = fs_json_get_arr(doc, "alerts", "", true, &alerts, err)) < 0) {
        json_decref(doc);
        return rc;
    }
    rc = fs_parse_batch_init(out, FS_SRC_ALERTMANAGER, doc, json_array_size(alerts), lim, "alerts",
                             "alerts", err);
    if (rc < 0)
        return fs_parse_fail(out, rc);
    if ((rc = fs_parse_webhook_common(doc, out, err)) < 0)
        return fs_parse_fail(out, rc);

    size_t i;
    json_t *v;
    json_array_foreach(alerts, i, v) {
        char path[64];
        struct fs_alert a;
        fs_jpath_index(path, sizeof(path), "alerts", i);
        if ((rc = fs_parse_am_alert(v, path, false, lim, &a, err)) < 0 ||
            (rc = fs_parse_keep(out, &a, err)) < 0)
            return fs_parse_fail(out, rc);
    }
    return 0;
}
