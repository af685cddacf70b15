/* api_engine: the HTTP routes that show what the engine did about an incident — its post-mortem
 * (the stored one, or one built on demand and not stored while handling has not concluded) and
 * its trace (investigations, observations, proposals with approvals, executions with their step
 * logs) for the console and `forestall incidents show`. Read-only: nothing here goes through the
 * writer, and no rule lives here. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/time.h"
#include "intake/http_int.h"
#include "report/kpi.h"
#include "report/postmortem.h"
#include "store/store.h"

/* The {id} segment as an incident id; answers 404 and returns <0 when it is not one. */
static int incident_param(struct req *r, int64_t *id)
{
    if (fs_parse_id(r->param, "inc", id) < 0) {
        fs_http_error(r, FS_E_NOT_FOUND, NULL, "no such incident (ids look like inc-42)");
        return -1;
    }
    return 0;
}

/* GET /api/v1/incidents/{id}/postmortem[?format=json|md] */
void fs_api_postmortem(struct req *r)
{
    int64_t id;
    if (incident_param(r, &id) < 0)
        return;
    const char *format = fs_http_query(r, "format");
    bool md = false;
    if (format && strcmp(format, "md") == 0)
        md = true;
    else if (format && strcmp(format, "json") != 0)
        return fs_http_error(r, FS_E_INVALID, "format", "format: expected json or md");
    struct fs_err err;
    json_t *pm = NULL;
    int rc = fs_store_postmortem_get(r->srv->store, id, &pm, &err);
    if (rc == -FS_E_NOT_FOUND) {
        /* not concluded yet: build one now, from what is recorded so far, without storing it */
        json_t *data;
        char *text;
        int64_t now = fs_now_ms();
        rc = fs_postmortem_build(r->srv->store, id, now, &data, &text, &err);
        if (rc == 0) {
            char ts[40], idbuf[32];
            snprintf(idbuf, sizeof(idbuf), "inc-%lld", (long long)id);
            pm = json_pack("{s:s,s:s,s:s,s:o,s:b}", "incidentId", idbuf, "createdAt",
                           fs_time_format(now, ts, sizeof(ts)), "markdown", text, "data", data,
                           "stored", false);
            free(text);
            rc = pm ? 0 : fs_err_set(&err, FS_E_NOMEM, NULL, NULL);
        }
    } else if (rc == 0) {
        json_object_set_new(pm, "stored", json_true());
    }
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    if (!md)
        return fs_http_json(r, 200, pm);
    const char *text = json_string_value(json_object_get(pm, "markdown"));
    char *body = fs_strdup(text ? text : "");
    json_decref(pm);
    if (!body)
        return fs_http_error(r, FS_E_NOMEM, NULL, NULL);
    fs_http_text(r, 200, "text/markdown; charset=utf-8", body, strlen(body));
}

/* GET /api/v1/incidents/{id}/trace */
void fs_api_trace(struct req *r)
{
    int64_t id;
    if (incident_param(r, &id) < 0)
        return;
    struct fs_store *s = r->srv->store;
    struct fs_err err;
    json_t *inc = NULL, *invs = NULL, *obs = NULL, *list = NULL, *props = NULL, *execs = NULL;
    struct fs_proposal_filter f = {.incident_id = id};
    int rc = fs_store_incident_get(s, id, &inc, &err);
    if (rc == 0)
        rc = fs_store_investigations_list(s, id, &invs, &err);
    if (rc == 0)
        rc = fs_store_observations_list(s, id, &obs, &err);
    if (rc == 0)
        rc = fs_store_proposals_list(s, &f, &list, &err);
    if (rc == 0)
        rc = fs_store_executions_list(s, id, &execs, &err);
    if (rc == 0 && !(props = json_array()))
        rc = fs_err_set(&err, FS_E_NOMEM, NULL, NULL);
    /* oldest first, each with its approvals, like the rest of the trace */
    for (size_t i = json_array_size(list); rc == 0 && i > 0; i--) {
        int64_t pid;
        json_t *one;
        if (fs_parse_id(json_string_value(json_object_get(json_array_get(list, i - 1), "id")),
                        "prop", &pid) < 0)
            continue;
        rc = fs_store_proposal_get(s, pid, &one, &err);
        if (rc == -FS_E_NOT_FOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0 && json_array_append_new(props, one) < 0)
            rc = fs_err_set(&err, FS_E_NOMEM, NULL, NULL);
    }
    json_t *out = NULL;
    if (rc == 0) {
        out = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "incidentId", json_object_get(inc, "id"),
                        "state", json_object_get(inc, "state"), "investigations", invs,
                        "observations", obs, "proposals", props, "executions", execs);
        if (!out)
            rc = fs_err_set(&err, FS_E_NOMEM, NULL, NULL);
    }
    json_decref(inc);
    json_decref(invs);
    json_decref(obs);
    json_decref(list);
    json_decref(props);
    json_decref(execs);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, out);
}

/* GET /api/v1/kpis[?since=RFC3339] */
void fs_api_kpis(struct req *r)
{
    int64_t now = fs_now_ms(), since = now - 30LL * 86400000;
    const char *q = fs_http_query(r, "since");
    if (q && fs_time_parse_rfc3339(q, (size_t)-1, &since) < 0)
        return fs_http_error(r, FS_E_INVALID, "since", "since: expected an RFC 3339 time");
    json_t *k = NULL;
    struct fs_err err;
    int rc = fs_kpis_compute(r->srv->store, since, now, &k, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, k);
}
