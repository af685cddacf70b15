/* webhook: the "webhook" channel kind. POSTs the notice as JSON to the configured URL, signed
 * like Stripe/Slack do it: X-Forestall-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
 * "<t>.<body>")>, plus X-Forestall-Event and X-Forestall-Delivery (the outbox id: receivers
 * deduplicate retries by it). Keys: url, secret ({env|file}), headers (NAME: text or reference),
 * timeout. */
#include "core/common.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/hash.h"
#include "core/json.h"
#include "notify/notify.h"

#define MAX_HEADERS 16

int fs_webhook_signature(const char *secret, int64_t t, const char *body, char *out, size_t size)
{
    char *msg = NULL;
    int n = asprintf(&msg, "%" PRId64 ".%s", t, body ? body : "");
    if (n < 0)
        return -FS_E_NOMEM;
    unsigned char mac[32];
    int rc = fs_hmac_sha256(secret, strlen(secret), msg, (size_t)n, mac);
    free(msg);
    if (rc < 0)
        return rc;
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    if ((size_t)snprintf(out, size, "t=%" PRId64 ",v1=%s", t, hex) >= size)
        return -FS_E_TOO_LARGE;
    return 0;
}

static json_t *id_or_null(const char *prefix, int64_t id)
{
    if (id <= 0)
        return json_null();
    char b[40];
    snprintf(b, sizeof(b), "%s-%" PRId64, prefix, id);
    return json_string(b);
}

json_t *fs_webhook_body(const struct fs_notice *n)
{
    char summary[600];
    fs_notify_summary(n, summary, sizeof(summary));
    json_t *o = json_pack("{s:I,s:s,s:o,s:o,s:s,s:s}", "id", (json_int_t)n->id, "event",
                          n->event ? n->event : "", "incidentId", id_or_null("inc", n->incident_id),
                          "proposalId", id_or_null("prop", n->proposal_id), "summary", summary,
                          "link", n->link ? n->link : "");
    if (!o)
        return NULL;
    json_object_set_new(o, "ref", n->ref ? json_string(n->ref) : json_null());
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)n->data, key, v)
    {
        if (!json_object_get(o, key))
            json_object_set(o, key, v);
    }
    return o;
}

static bool header_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 100)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

static bool header_value_ok(const char *s)
{
    if (!s || strlen(s) > 4096)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static int webhook_check(const json_t *conf,
                         void (*report)(void *arg, const char *key, const char *msg), void *arg)
{
    int n = 0;
    const char *url = json_string_value(json_object_get(conf, "url"));
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        report(arg, "url", "expected an http:// or https:// URL"), n++;
    json_t *sec = json_object_get(conf, "secret");
    if (!fs_notify_is_secret_ref(sec))
        report(arg, "secret",
               "required: the HMAC key as {env: FORESTALL_NAME} or {file: PATH} (never the value)"),
            n++;
    json_t *h = json_object_get(conf, "headers");
    if (h && !json_is_object(h)) {
        report(arg, "headers", "expected a mapping NAME: value"), n++;
    } else if (h) {
        const char *k;
        json_t *v;
        if (json_object_size(h) > MAX_HEADERS)
            report(arg, "headers", "at most 16 headers"), n++;
        json_object_foreach(h, k, v)
        {
            char key[160];
            snprintf(key, sizeof(key), "headers.%s", k);
            if (!header_name_ok(k) || !strncasecmp(k, "X-Forestall-", 12) ||
                !strcasecmp(k, "Content-Type") || !strcasecmp(k, "Content-Length") ||
                !strcasecmp(k, "Host"))
                report(arg, key, "not a header name this channel may set"), n++;
            else if (!fs_notify_is_secret_ref(v) && !header_value_ok(json_string_value(v)))
                report(arg, key,
                       "expected text without control characters, or a secret "
                       "reference {env|file, prefix}"),
                    n++;
        }
    }
    static const char *const known[] = {"url", "secret", "headers", NULL};
    n += fs_notify_unknown_keys(conf, "webhook", known, report, arg);
    return n;
}

static int webhook_deliver(const json_t *conf, const struct fs_notice *n,
                           struct fs_notify_result *res, struct fs_err *err)
{
    const char *url = json_string_value(json_object_get(conf, "url"));
    const char *secret = json_string_value(json_object_get(conf, "secret"));
    if (!url || !secret) {
        res->permanent = true;
        snprintf(res->error, sizeof(res->error), "the channel has no url or secret");
        return fs_err_set(err, FS_E_CONFIG, NULL, "%s", res->error);
    }
    json_t *body = fs_webhook_body(n);
    char *text = body ? fs_json_compact(body) : NULL;
    json_decref(body);
    if (!text)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    char sig[120], hsig[160], hev[100], hid[80];
    int rc = fs_webhook_signature(secret, (int64_t)time(NULL), text, sig, sizeof(sig));
    if (rc < 0) {
        free(text);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot compute the signature");
    }
    snprintf(hsig, sizeof(hsig), "X-Forestall-Signature: %s", sig);
    snprintf(hev, sizeof(hev), "X-Forestall-Event: %s", n->event ? n->event : "");
    snprintf(hid, sizeof(hid), "X-Forestall-Delivery: %" PRId64, n->id);
    const char *hdrs[MAX_HEADERS + 4] = {hsig, hev, hid};
    char *extra[MAX_HEADERS] = {0};
    size_t nh = 3, ne = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(conf, "headers"), k, v)
    {
        if (ne >= MAX_HEADERS || !json_is_string(v))
            continue;
        if (asprintf(&extra[ne], "%s: %s", k, json_string_value(v)) < 0) {
            extra[ne] = NULL;
            continue;
        }
        hdrs[nh++] = extra[ne++];
    }
    hdrs[nh] = NULL;
    long status = 0;
    char *resp = NULL;
    long timeout = (long)json_integer_value(json_object_get(conf, "timeout_ms"));
    rc = fs_notify_http_post(url, "application/json", text, hdrs, timeout, &status, &resp, err);
    free(text);
    for (size_t i = 0; i < ne; i++) {
        explicit_bzero(extra[i], strlen(extra[i]));
        free(extra[i]);
    }
    if (rc < 0) {
        snprintf(res->error, sizeof(res->error), "%s", err->msg);
        free(resp);
        return rc;
    }
    rc = fs_notify_http_status(status, resp, res, err);
    free(resp);
    return rc;
}

const struct fs_channel_kind fs_channel_webhook = {
    .type = "webhook", .check = webhook_check, .deliver = webhook_deliver};
