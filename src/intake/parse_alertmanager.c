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
    static const struct fs_webhook_format fmt = {FS_SRC_ALERTMANAGER, check_version, NULL, NULL};
    return fs_parse_webhook(&fmt, body, len, lim, out, err);
}
