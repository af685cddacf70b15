/* parse_am_api: Alertmanager's GET /api/v2/alerts answer (an array of gettable alerts) into a
 * batch for reconciliation. Every entry becomes a FIRING alert whatever its state, with
 * extra.state = status.state ("active", "suppressed", "unprocessed") so the caller can both act
 * on the active ones and know every fingerprint Alertmanager still holds; extra also carries
 * silencedBy, inhibitedBy, receivers (names) and generatorURL when present. ends_at is
 * FS_TIME_UNSET: the API's endsAt is a predicted end, not a resolve. Shape checks only; it never
 * decides what to reconcile. */
#include "core/common.h"

#include "core/json.h"
#include "intake/parse_int.h"

static int str_array(const json_t *v, const char *key, const char *base, json_t *extra,
                     struct fs_err *err)
{
    json_t *arr = NULL;
    int rc = fs_json_get_arr(v, key, base, false, &arr, err);
    if (rc < 0 || !arr)
        return rc;
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (!json_is_string(x)) {
            char ip[256];
            fs_jpath_index(ip, sizeof(ip), path, i);
            return fs_err_set(err, FS_E_INVALID_PAYLOAD, ip, "%s: expected string, got %s", ip,
                              fs_json_type_name(x));
        }
    }
    if (json_object_set(extra, key, arr))
        return fs_parse_nomem(path, err);
    return 0;
}

/* receivers: [{"name": "..."}] → extra.receivers: ["..."] */
static int receivers(const json_t *v, const char *base, json_t *extra, struct fs_err *err)
{
    json_t *arr = NULL;
    int rc = fs_json_get_arr(v, "receivers", base, false, &arr, err);
    if (rc < 0 || !arr)
        return rc;
    char path[256];
    fs_jpath_key(path, sizeof(path), base, "receivers");
    json_t *names = json_array();
    if (!names || json_object_set_new(extra, "receivers", names))
        return fs_parse_nomem(path, err);
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        char ip[256];
        const char *name;
        fs_jpath_index(ip, sizeof(ip), path, i);
        if (!json_is_object(x))
            return fs_err_set(err, FS_E_INVALID_PAYLOAD, ip, "%s: expected object, got %s", ip,
                              fs_json_type_name(x));
        if ((rc = fs_json_get_str(x, "name", ip, true, &name, err)) < 0)
            return rc;
        if (json_array_append(names, json_object_get(x, "name")))
            return fs_parse_nomem(ip, err);
    }
    return 0;
}

static int api_extras(const json_t *v, const char *path, json_t *extra, struct fs_err *err)
{
    json_t *status;
    const char *state;
    char sp[256];
    int rc = fs_json_get_obj(v, "status", path, true, &status, err);
    if (rc < 0)
        return rc;
    fs_jpath_key(sp, sizeof(sp), path, "status");
    if ((rc = fs_json_get_str(status, "state", sp, true, &state, err)) < 0)
        return rc;
    if (!*state) {
        char p[256];
        fs_jpath_key(p, sizeof(p), sp, "state");
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, p, "%s: must not be empty", p);
    }
    /* any non-empty state is kept: the caller acts on "active" only, and a state a newer
     * Alertmanager invents must not make the whole reconciliation fail */
    if (json_object_set(extra, "state", json_object_get(status, "state")))
        return fs_parse_nomem(path, err);
    if ((rc = str_array(status, "silencedBy", sp, extra, err)) < 0 ||
        (rc = str_array(status, "inhibitedBy", sp, extra, err)) < 0 ||
        (rc = receivers(v, path, extra, err)) < 0)
        return rc;
    /* updatedAt (and endsAt, checked by fs_parse_am_alert) change on every Prometheus resend
     * while the alert stays the same: they are validated but not kept, so that an unchanged
     * alert has an unchanged extra and the incident logic can count it as a duplicate */
    int64_t t;
    return fs_parse_time(v, "updatedAt", path, false, true, &t, NULL, err);
}

int fs_parse_am_api_alerts(const char *body, size_t len, const struct fs_parse_limits *lim,
                           struct fs_alert_batch *out, struct fs_err *err)
{
    json_t *doc;
    memset(out, 0, sizeof(*out));
    int rc = fs_parse_load(body, len, lim, JSON_ARRAY, &doc, err);
    if (rc < 0)
        return rc;
    json_t *arr = doc;
    rc = fs_parse_batch_init(out, FS_SRC_RECONCILE, doc, json_array_size(arr), lim, "", "alerts",
                             err);
    if (rc < 0)
        return fs_parse_fail(out, rc);

    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char path[64];
        struct fs_alert a;
        fs_jpath_index(path, sizeof(path), "", i);
        if ((rc = fs_parse_am_alert(v, path, true, lim, &a, err)) < 0)
            return fs_parse_fail(out, rc);
        if ((rc = api_extras(v, path, a.extra, err)) < 0) {
            fs_parse_alert_drop(&a);
            return fs_parse_fail(out, rc);
        }
        if ((rc = fs_parse_keep(out, &a, err)) < 0)
            return fs_parse_fail(out, rc);
    }
    return 0;
}
