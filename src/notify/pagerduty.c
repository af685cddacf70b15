/* pagerduty: the "pagerduty" channel kind, PagerDuty Events API v2 (protocols.md §7.3). A
 * proposal waiting for a person, an escalation or a failed verification triggers an alert keyed
 * "forestall-inc-N"; an approval (or force-override) acknowledges it; the incident's resolution
 * resolves it. The dedup_key is kept as the delivery's reference, so every later event of the
 * incident uses the one PagerDuty knows. 400 is permanent; 429, 5xx and network errors retry.
 * Keys: routing_key ({env|file}), url (default the public endpoint), source, timeout. */
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/time.h"
#include "notify/notify.h"

#define PD_URL "https://events.pagerduty.com/v2/enqueue"

static const char *pd_severity(const char *s)
{
    static const char *const ok[] = {"critical", "error", "warning", "info"};
    for (size_t i = 0; s && i < FS_ARRAY_LEN(ok); i++)
        if (strcmp(s, ok[i]) == 0)
            return ok[i];
    if (fs_streq(s, "page") || fs_streq(s, "high"))
        return "critical";
    return "warning";
}

/* trigger / acknowledge / resolve for a notice, or NULL when it does not page. */
static const char *pd_action(const struct fs_notice *n)
{
    const char *ev = n->event ? n->event : "";
    if (!strcmp(ev, "proposal_pending") || !strcmp(ev, "escalation") ||
        !strcmp(ev, "verification_failed"))
        return "trigger";
    if (!strcmp(ev, "decision")) {
        const char *d = json_string_value(json_object_get(n->data, "decision"));
        return fs_streq(d, "approved") || fs_streq(d, "overridden") ? "acknowledge" : NULL;
    }
    if (!strcmp(ev, "resolution"))
        return "resolve";
    return NULL;
}

static void pd_dedup_key(const struct fs_notice *n, char *out, size_t size)
{
    if (n->ref && *n->ref)
        snprintf(out, size, "%s", n->ref);
    else if (n->incident_id > 0)
        snprintf(out, size, "forestall-inc-%" PRId64, n->incident_id);
    else
        snprintf(out, size, "forestall-prop-%" PRId64, n->proposal_id);
}

json_t *fs_pagerduty_body(const struct fs_notice *n, const char *routing_key)
{
    const char *action = pd_action(n);
    if (!action)
        return NULL;
    char key[256];
    pd_dedup_key(n, key, sizeof(key));
    json_t *o = json_pack("{s:s,s:s,s:s}", "routing_key", routing_key ? routing_key : "",
                          "event_action", action, "dedup_key", key);
    if (!o || strcmp(action, "trigger") != 0)
        return o;
    const json_t *inc = json_object_get(n->data, "incident");
    const json_t *labels = json_object_get(inc, "labels");
    const char *source = json_string_value(json_object_get(n->data, "_source"));
    static const char *const src_labels[] = {"instance", "host", "node", "service", "job"};
    for (size_t i = 0; !source && i < FS_ARRAY_LEN(src_labels); i++)
        source = json_string_value(json_object_get(labels, src_labels[i]));
    char summary[1024];
    fs_notify_summary(n, summary, sizeof(summary)); /* < 1024 bytes, whole characters */
    char ts[40];
    fs_time_format(fs_now_ms(), ts, sizeof(ts));
    json_t *details = json_pack("{s:s,s:s}", "event", n->event, "link", n->link ? n->link : "");
    const json_t *prop = json_object_get(n->data, "proposal");
    if (details && prop) {
        json_t *p = json_pack(
            "{s:O?,s:O?,s:O?,s:O?,s:O?}", "id", json_object_get(prop, "id"), "action",
            json_object_get(prop, "action"), "decision", json_object_get(prop, "decision"), "score",
            json_object_get(prop, "score"), "reasons", json_object_get(prop, "reasons"));
        json_object_set_new(details, "proposal", p ? p : json_null());
    }
    const char *why =
        json_string_value(json_object_get(json_object_get(n->data, "execution"), "reason"));
    if (details && why)
        json_object_set_new(details, "reason", json_string(why));
    json_t *payload = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "summary", summary, "source",
                                source ? source : "forestall", "severity",
                                pd_severity(json_string_value(json_object_get(inc, "severity"))),
                                "timestamp", ts, "component", "forestall", "class", n->event,
                                "custom_details", details ? details : json_object());
    if (!payload) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "payload", payload);
    json_object_set_new(o, "client", json_string("forestall"));
    if (n->link && *n->link) {
        json_object_set_new(o, "client_url", json_string(n->link));
        json_object_set_new(
            o, "links", json_pack("[{s:s,s:s}]", "href", n->link, "text", "forestall incident"));
    }
    return o;
}

static int pd_check(const json_t *conf, void (*report)(void *arg, const char *key, const char *msg),
                    void *arg)
{
    int n = 0;
    if (!fs_notify_is_secret_ref(json_object_get(conf, "routing_key")))
        report(arg, "routing_key",
               "required: the integration key as {env: FORESTALL_NAME} or {file: PATH}"),
            n++;
    json_t *url = json_object_get(conf, "url");
    const char *u = json_string_value(url);
    if (url && (!u || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))))
        report(arg, "url", "expected an http:// or https:// URL"), n++;
    json_t *src = json_object_get(conf, "source");
    if (src && (!json_is_string(src) || !*json_string_value(src)))
        report(arg, "source", "expected text"), n++;
    static const char *const known[] = {"routing_key", "url", "source", NULL};
    n += fs_notify_unknown_keys(conf, "pagerduty", known, report, arg);
    return n;
}

static int pd_deliver(const json_t *conf, const struct fs_notice *n, struct fs_notify_result *res,
                      struct fs_err *err)
{
    const char *rk = json_string_value(json_object_get(conf, "routing_key"));
    const char *url = json_string_value(json_object_get(conf, "url"));
    char key[256];
    pd_dedup_key(n, key, sizeof(key));
    snprintf(res->ref, sizeof(res->ref), "%s", key);
    if (!rk) {
        res->permanent = true;
        snprintf(res->error, sizeof(res->error), "the channel has no routing_key");
        return fs_err_set(err, FS_E_CONFIG, NULL, "%s", res->error);
    }
    struct fs_notice nn = *n;
    json_t *data = NULL;
    const char *source = json_string_value(json_object_get(conf, "source"));
    if (source && (data = json_deep_copy(n->data))) {
        json_object_set_new(data, "_source", json_string(source));
        nn.data = data;
    }
    json_t *body = fs_pagerduty_body(&nn, rk);
    json_decref(data);
    if (!body)
        return pd_action(n) ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0; /* nothing to page */
    char *text = fs_json_compact(body);
    json_decref(body);
    if (!text)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    long status = 0;
    char *resp = NULL;
    long timeout = (long)json_integer_value(json_object_get(conf, "timeout_ms"));
    int rc = fs_notify_http_post(url ? url : PD_URL, "application/json", text, NULL, timeout,
                                 &status, &resp, err);
    explicit_bzero(text, strlen(text));
    free(text);
    if (rc < 0) {
        snprintf(res->error, sizeof(res->error), "%s", err->msg);
        return rc;
    }
    rc = fs_notify_http_status(status, resp, res, err);
    if (rc == 0 && resp) {
        json_t *r = json_loads(resp, 0, NULL);
        const char *dk = json_string_value(json_object_get(r, "dedup_key"));
        if (dk && *dk)
            snprintf(res->ref, sizeof(res->ref), "%s", dk);
        json_decref(r);
    }
    free(resp);
    return rc;
}

const struct fs_channel_kind fs_channel_pagerduty = {
    .type = "pagerduty", .check = pd_check, .deliver = pd_deliver};
