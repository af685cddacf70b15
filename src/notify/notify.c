/* notify: what every channel kind shares — the events, the mapping from audit records to
 * notices, the retry schedule, one HTTP POST over libcurl with its status mapped to
 * retry/permanent, secret references resolved for one delivery, and the check of notify.*.
 * Never touches the store (outbox.c does) and never logs (the edge does). */
#include "core/common.h"

#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/curl.h"
#include "core/redact.h"
#include "notify/notify.h"

/* ---- events ------------------------------------------------------------------------------- */

static const char *const event_names[] = {
#define FS_NOTIFY_EVENT_NAME(e, name) name,
    FS_NOTIFY_EVENTS(FS_NOTIFY_EVENT_NAME)
#undef FS_NOTIFY_EVENT_NAME
};

bool fs_notify_event_known(const char *event)
{
    for (size_t i = 0; event && i < FS_ARRAY_LEN(event_names); i++)
        if (strcmp(event_names[i], event) == 0)
            return true;
    return false;
}

/* "prop-12" (or 12) → 12; 0 when v is neither. */
static int64_t ref_id(const json_t *v, const char *prefix)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    const char *s = json_string_value(v);
    size_t n = strlen(prefix);
    if (!s || strncmp(s, prefix, n) != 0 || s[n] != '-' || !isdigit((unsigned char)s[n + 1]))
        return 0;
    return strtoll(s + n + 1, NULL, 10);
}

static bool starts_with(const char *s, const char *p)
{
    return s && strncmp(s, p, strlen(p)) == 0;
}

int fs_notify_map_audit(const char *type, const json_t *data, const char **out, int max,
                        int64_t *incident_id, int64_t *proposal_id)
{
    *incident_id = ref_id(json_object_get(data, "incident"), "inc");
    *proposal_id = ref_id(json_object_get(data, "proposal"), "prop");
    int n = 0;
#define EMIT(e)                                                                                    \
    do {                                                                                           \
        if (n < max)                                                                               \
            out[n++] = (e);                                                                        \
    } while (0)
    if (!type)
        return 0;
    if (strcmp(type, "decision") == 0) {
        if (fs_streq(json_string_value(json_object_get(data, "status")), "pending"))
            EMIT("proposal_pending");
    } else if (strcmp(type, "approval") == 0 || strcmp(type, "override") == 0 ||
               strcmp(type, "rejection") == 0 || strcmp(type, "expiry") == 0) {
        EMIT("decision");
    } else if (strcmp(type, "execution") == 0) {
        const char *phase = json_string_value(json_object_get(data, "phase"));
        const char *reason = json_string_value(json_object_get(data, "reason"));
        const char *outcome = json_string_value(json_object_get(data, "outcome"));
        bool vfail = starts_with(reason, "verification failed");
        if (fs_streq(phase, "verified") || fs_streq(phase, "rolled_back") ||
            fs_streq(phase, "escalated") || fs_streq(outcome, "refused"))
            EMIT("execution");
        if (vfail && (fs_streq(phase, "rollback_started") || fs_streq(phase, "escalated")))
            EMIT("verification_failed");
    } else if (strcmp(type, "incident") == 0) {
        const char *to = json_string_value(json_object_get(data, "to"));
        if (fs_streq(to, "escalated"))
            EMIT("escalation");
        else if (fs_streq(to, "resolved"))
            EMIT("resolution");
    }
#undef EMIT
    return n;
}

/* ---- retry schedule ----------------------------------------------------------------------- */

int64_t fs_notify_backoff_ms(int attempts, int64_t initial_ms, int64_t max_ms, double jitter01)
{
    if (attempts < 1)
        attempts = 1;
    if (initial_ms < 1)
        initial_ms = 1;
    int64_t d = initial_ms;
    for (int i = 1; i < attempts && d < max_ms; i++)
        d = d > INT64_MAX / 2 ? INT64_MAX : d * 2;
    if (max_ms > 0 && d > max_ms)
        d = max_ms;
    if (jitter01 < 0)
        jitter01 = 0;
    if (jitter01 >= 1)
        jitter01 = 0.999999;
    /* "equal jitter": never less than half the step, so a retry storm spreads but never
     * collapses to zero */
    int64_t half = d / 2;
    return half + (int64_t)((double)(d - half) * jitter01);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct fs_buf *b = arg;
    if (fs_buf_append(b, ptr, size * n) < 0)
        return 0; /* over the cap: abort */
    return size * n;
}

/* The URL without its query and userinfo, for messages. */
static void url_shown(const char *url, char *out, size_t size)
{
    const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        host = at + 1;
    size_t n = strcspn(host, "?#");
    snprintf(out, size, "%.*s%.*s", scheme ? (int)(scheme + 3 - url) : 0, url, (int)n, host);
}

int fs_notify_http_post(const char *url, const char *content_type, const char *body,
                        const char *const *headers, long timeout_ms, long *status, char **resp,
                        struct fs_err *err)
{
    *status = 0;
    if (resp)
        *resp = NULL;
    if (fs_curl_init(err) < 0)
        return -FS_E_SYSTEM;
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char ct[200];
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type ? content_type : "application/json");
    hdr = curl_slist_append(hdr, ct);
    hdr = hdr ? curl_slist_append(hdr, "Expect:") : NULL;
    for (size_t i = 0; hdr && headers && headers[i]; i++)
        hdr = curl_slist_append(hdr, headers[i]);
    if (!h || !hdr) {
        curl_easy_cleanup(h);
        curl_slist_free_all(hdr);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    struct fs_buf b = FS_BUF_INIT(64 * 1024);
    char ebuf[CURL_ERROR_SIZE] = "";
    if (timeout_ms <= 0)
        timeout_ms = 10000;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, FS_MIN(timeout_ms, 5000L));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "forestall-notify");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
    CURLcode cc = curl_easy_perform(h);
    int rc = 0;
    if (cc != CURLE_OK && cc != CURLE_WRITE_ERROR) {
        char shown[300];
        url_shown(url, shown, sizeof(shown));
        rc = fs_err_set(err, cc == CURLE_OPERATION_TIMEDOUT ? FS_E_TIMEOUT : FS_E_CONNECT, NULL,
                        "%s: %s", shown, ebuf[0] ? ebuf : curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (resp && !(*resp = fs_strdup(fs_buf_str(&b))))
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    fs_buf_release(&b);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc;
}

int fs_notify_http_status(long status, const char *body, struct fs_notify_result *res,
                          struct fs_err *err)
{
    if (status >= 200 && status < 300)
        return 0;
    char *clean = body ? fs_sanitize_text(body, strlen(body), 300, NULL) : NULL;
    for (char *c = clean; c && *c; c++)
        if (*c == '\n' || *c == '\t')
            *c = ' ';
    snprintf(res->error, sizeof(res->error), "HTTP %ld%s%s", status, clean && *clean ? ": " : "",
             clean ? clean : "");
    fs_utf8_cut(res->error);
    free(clean);
    res->permanent = status >= 400 && status < 500 && status != 408 && status != 429;
    return fs_err_set(err, FS_E_PROTOCOL, NULL, "%s", res->error);
}

/* ---- notices ------------------------------------------------------------------------------ */

void fs_notify_summary(const struct fs_notice *n, char *buf, size_t size)
{
    const json_t *d = n->data;
    const json_t *inc = json_object_get(d, "incident"), *prop = json_object_get(d, "proposal");
    const char *title = json_string_value(json_object_get(inc, "title"));
    const char *action = json_string_value(json_object_get(prop, "action"));
    const char *actor = json_string_value(json_object_get(d, "actor"));
    const char *decision = json_string_value(json_object_get(d, "decision"));
    const char *outcome =
        json_string_value(json_object_get(json_object_get(d, "execution"), "outcome"));
    char what[200] = "";
    if (action && n->incident_id > 0)
        snprintf(what, sizeof(what), "%s on inc-%" PRId64, action, n->incident_id);
    else if (action)
        snprintf(what, sizeof(what), "%s", action);
    else if (n->incident_id > 0)
        snprintf(what, sizeof(what), "inc-%" PRId64, n->incident_id);
    const char *ev = n->event ? n->event : "";
    if (strcmp(ev, "proposal_pending") == 0)
        snprintf(buf, size, "Approval needed: %s", what);
    else if (strcmp(ev, "decision") == 0)
        snprintf(buf, size, "Proposal %s%s%s: %s", decision ? decision : "decided",
                 actor ? " by " : "", actor ? actor : "", what);
    else if (strcmp(ev, "execution") == 0)
        snprintf(buf, size, "Execution %s: %s", outcome ? outcome : "finished", what);
    else if (strcmp(ev, "verification_failed") == 0)
        snprintf(buf, size, "Verification failed: %s", what);
    else if (strcmp(ev, "escalation") == 0)
        snprintf(buf, size, "Escalated to people: %s", what);
    else if (strcmp(ev, "resolution") == 0)
        snprintf(buf, size, "Resolved: %s", what);
    else
        snprintf(buf, size, "%s: %s", ev, what);
    if (title && *title) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, " — %s", title);
    }
    fs_utf8_cut(buf);
}

/* ---- secrets ------------------------------------------------------------------------------ */

static int read_secret(const char *path, char **out, struct fs_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fs_err_set(err, FS_E_CONFIG, NULL, "secret file %s cannot be read", path);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n == 0 || strlen(buf) != n) {
        explicit_bzero(buf, sizeof(buf));
        return fs_err_set(err, FS_E_CONFIG, NULL, "secret file %s is empty or has NUL bytes", path);
    }
    *out = fs_strdup(buf);
    explicit_bzero(buf, sizeof(buf));
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

/* A private copy of conf with every {env|file[, prefix]} reference replaced by its value.
 * Each value is registered for redaction, so an error text that echoes it never keeps it. */
int fs_notify_resolve_secrets(const json_t *conf, json_t **out, struct fs_err *err)
{
    *out = NULL;
    if (json_is_object(conf)) {
        json_t *env = json_object_get(conf, "env"), *file = json_object_get(conf, "file");
        json_t *prefix = json_object_get(conf, "prefix");
        if ((env || file) && !(env && file) && json_object_size(conf) == 1 + (prefix ? 1u : 0u)) {
            char *value = NULL;
            if (env) {
                const char *v = getenv(json_string_value(env) ? json_string_value(env) : "");
                if (!v || !*v)
                    return fs_err_set(err, FS_E_CONFIG, NULL, "environment variable %s is not set",
                                      json_string_value(env) ? json_string_value(env) : "?");
                value = fs_strdup(v);
            } else {
                int rc = read_secret(json_string_value(file) ? json_string_value(file) : "", &value,
                                     err);
                if (rc < 0)
                    return rc;
            }
            if (!value)
                return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            fs_redact_register(value, "notify");
            const char *p = json_string_value(prefix);
            char *joined = NULL;
            if (p && asprintf(&joined, "%s%s", p, value) < 0)
                joined = NULL;
            *out = json_string(p ? (joined ? joined : "") : value);
            explicit_bzero(value, strlen(value));
            free(value);
            free(joined);
            return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        json_t *o = json_object();
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)conf, key, v)
        {
            json_t *c = NULL;
            int rc =
                o ? fs_notify_resolve_secrets(v, &c, err) : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            if (rc < 0 || json_object_set_new(o, key, c) < 0) {
                json_decref(o);
                return rc < 0 ? rc : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            }
        }
        *out = o;
        return 0;
    }
    if (json_is_array(conf)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(conf, i, v)
        {
            json_t *c = NULL;
            int rc =
                a ? fs_notify_resolve_secrets(v, &c, err) : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            if (rc < 0 || json_array_append_new(a, c) < 0) {
                json_decref(a);
                return rc < 0 ? rc : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            }
        }
        *out = a;
        return 0;
    }
    *out = json_deep_copy(conf);
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

bool fs_notify_is_secret_ref(const json_t *v)
{
    if (!json_is_object(v))
        return false;
    json_t *env = json_object_get(v, "env"), *file = json_object_get(v, "file");
    size_t extra = json_object_get(v, "prefix") ? 1 : 0;
    return (env || file) && !(env && file) && json_object_size(v) == 1 + extra &&
           json_is_string(env ? env : file);
}

/* ---- configuration ------------------------------------------------------------------------ */

struct prefixed {
    void (*report)(void *arg, const char *key, const char *msg);
    void *arg;
    const char *base;
    int problems;
};

static void prefixed_report(void *arg, const char *key, const char *msg)
{
    struct prefixed *p = arg;
    char path[400];
    snprintf(path, sizeof(path), "%s%s%s", p->base, key && *key ? "." : "", key ? key : "");
    p->problems++;
    p->report(p->arg, path, msg);
}

int fs_notify_unknown_keys(const json_t *conf, const char *type, const char *const *known,
                           void (*report)(void *arg, const char *key, const char *msg), void *arg)
{
    static const char *const common[] = {"name", "type", "events", "timeout_ms"};
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "unknown key (%s takes", type);
    for (size_t i = 0; known[i] && n > 0 && (size_t)n < sizeof(msg); i++)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s %s", i ? "," : "", known[i]);
    if (n > 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, ")");
    int problems = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)conf, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < FS_ARRAY_LEN(common) && !ok; i++)
            ok = !strcmp(k, common[i]);
        for (size_t i = 0; known[i] && !ok; i++)
            ok = !strcmp(k, known[i]);
        if (!ok) {
            report(arg, k, msg);
            problems++;
        }
    }
    return problems;
}

json_t *fs_notify_config_json(const struct fs_config *cfg)
{
    json_t *chans = json_array();
    for (size_t i = 0; chans && i < cfg->notify.channels.n; i++)
        json_array_append_new(chans, json_loads(cfg->notify.channels.items[i], 0, NULL));
    return chans ? json_pack("{s:o}", "channels", chans) : NULL;
}

int fs_notify_check_config(const json_t *notify,
                           void (*report)(void *arg, const char *key, const char *msg), void *arg)
{
    int problems = 0;
    const json_t *chans = json_object_get(notify, "channels");
    size_t i;
    json_t *c;
    json_array_foreach(chans, i, c)
    {
        char base[64];
        snprintf(base, sizeof(base), "notify.channels[%zu]", i);
        const char *type = json_string_value(json_object_get(c, "type"));
        const struct fs_channel_kind *k = fs_channel_kind_find(type);
        if (!k) {
            char msg[200];
            snprintf(msg, sizeof(msg), "channel type %s is not available in this build",
                     type ? type : "(none)");
            report(arg, base, msg);
            problems++;
            continue;
        }
        struct prefixed p = {report, arg, base, 0};
        if (k->check)
            k->check(c, prefixed_report, &p);
        problems += p.problems;
    }
    return problems;
}
