/* jira: the "jira" channel kind (fs_channel_jira). The first notice of an incident creates the
 * issue for the permanent fix (POST /rest/api/{2|3}/issue: summary from the incident, the
 * post-mortem summary, the outcome and the deep link; Cloud v3 with an ADF description, Data
 * Center v2 plain) and returns its key as the reference the outbox keeps; later notices of the
 * incident comment on that issue. Basic (email + API token) or bearer (PAT) auth. It owns the
 * request bodies and the mapping of Jira's answers; it never retries by itself and never logs. */
#include "core/common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/redact.h"
#include "notify/notify.h"
#include "notify/tickets_int.h"
#include "version.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_DESCRIPTION (30u * 1024) /* Jira keeps at most 32767 characters */

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int api_version(const json_t *conf)
{
    const json_t *v = json_object_get(conf, "api_version");
    if (!v)
        return 3;
    if (json_is_integer(v))
        return json_integer_value(v) == 2 ? 2 : json_integer_value(v) == 3 ? 3 : 0;
    if (json_is_string(v))
        return !strcmp(json_string_value(v), "2") ? 2 : !strcmp(json_string_value(v), "3") ? 3 : 0;
    return 0;
}

static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* {"id": "10000"} for a numeric reference, {key_name: s} otherwise. */
static json_t *ref_object(const char *s, const char *key_name)
{
    return json_pack("{ss}", all_digits(s) ? "id" : key_name, s);
}

bool fs_jira_key_ok(const char *s)
{
    if (!s || !*s || *s == '-' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

/* ---- ADF --------------------------------------------------------------------------------- */

static json_t *adf_text(const char *s, size_t len)
{
    json_t *t = json_stringn(s, len);
    return t ? json_pack("{ssso}", "type", "text", "text", t) : NULL;
}

/* One paragraph from lines (\n separated, no blank line inside); NULL when it has no text. */
static int adf_paragraph(json_t *content, const char *s, size_t len)
{
    json_t *inline_nodes = json_array();
    if (!inline_nodes)
        return -FS_E_NOMEM;
    size_t i = 0;
    bool any = false;
    while (i < len) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - s) : len;
        if (end > i) {
            if (any && json_array_append_new(inline_nodes, json_pack("{ss}", "type", "hardBreak")))
                goto nomem;
            if (json_array_append_new(inline_nodes, adf_text(s + i, end - i)))
                goto nomem;
            any = true;
        }
        i = end + 1;
    }
    if (!any) {
        json_decref(inline_nodes);
        return 0;
    }
    if (json_array_append_new(content,
                              json_pack("{sssO}", "type", "paragraph", "content", inline_nodes)))
        goto nomem;
    json_decref(inline_nodes);
    return 0;
nomem:
    json_decref(inline_nodes);
    return -FS_E_NOMEM;
}

json_t *fs_jira_adf(const char *text, const char *link)
{
    json_t *content = json_array();
    if (!content)
        return NULL;
    const char *s = text ? text : "";
    size_t len = strlen(s), i = 0;
    while (i < len) {
        /* a paragraph ends at a blank line */
        const char *end = strstr(s + i, "\n\n");
        size_t stop = end ? (size_t)(end - s) : len;
        if (adf_paragraph(content, s + i, stop - i) < 0)
            goto nomem;
        i = stop;
        while (i < len && s[i] == '\n')
            i++;
    }
    if (link && link[0]) {
        json_t *p = json_pack("{ss s[{ss ss} {ss ss s[{ss s{ss}}]}]}", "type", "paragraph",
                              "content", "type", "text", "text", "Open in forestall: ", "type",
                              "text", "text", link, "marks", "type", "link", "attrs", "href", link);
        if (!p || json_array_append_new(content, p))
            goto nomem;
    }
    if (json_array_size(content) == 0 &&
        json_array_append_new(content, json_pack("{ss s[{ss ss}]}", "type", "paragraph", "content",
                                                 "type", "text", "text", "(no details)")))
        goto nomem;
    json_t *doc = json_pack("{ss si sO}", "type", "doc", "version", 1, "content", content);
    json_decref(content);
    return doc;
nomem:
    json_decref(content);
    return NULL;
}

/* ---- bodies ------------------------------------------------------------------------------ */

/* The text of a notice for Jira: sanitized, capped at MAX_DESCRIPTION, with or without the
 * "Open in forestall" line (v3 adds the link as a real link). Caller frees. */
static char *jira_text(const struct fs_notice *n, const char *intro, bool with_link)
{
    struct fs_buf b = FS_BUF_INIT(MAX_DESCRIPTION);
    struct fs_notice copy = *n;
    if (!with_link)
        copy.link = NULL;
    int rc = intro ? fs_buf_printf(&b, "%s\n\n", intro) : 0;
    if (rc == 0)
        rc = fs_notice_text(&copy, &b);
    if (rc < 0 && rc != -FS_E_TOO_LARGE) {
        fs_buf_release(&b);
        return NULL;
    }
    if (rc == -FS_E_TOO_LARGE)
        fs_utf8_cut(b.data);
    return fs_buf_detach(&b, NULL);
}

static const char *clean_link(const struct fs_notice *n)
{
    /* the deep link is ours (public_url + path); only http(s) ever becomes a link mark */
    if (!n->link || (strncmp(n->link, "http://", 7) && strncmp(n->link, "https://", 8)) ||
        strpbrk(n->link, " \t\r\n\"<>"))
        return NULL;
    return n->link;
}

static json_t *description(const json_t *conf, const struct fs_notice *n, const char *intro)
{
    const char *link = clean_link(n);
    if (api_version(conf) == 2) {
        char *t = jira_text(n, intro, true);
        json_t *v = t ? json_string(t) : NULL;
        free(t);
        return v;
    }
    char *t = jira_text(n, intro, link == NULL);
    json_t *v = t ? fs_jira_adf(t, link) : NULL;
    free(t);
    return v;
}

static char *summary_of(const struct fs_notice *n)
{
    const json_t *inc = n->data ? json_object_get(n->data, "incident") : NULL;
    const char *title = str_at(inc, "title");
    char *t = title ? fs_sanitize_text(title, strlen(title), FS_JIRA_SUMMARY_MAX, NULL)
                    : fs_notice_headline(n);
    if (!t)
        return NULL;
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    char s[FS_JIRA_SUMMARY_MAX + 1];
    if (n->incident_id > 0)
        snprintf(s, sizeof(s), "inc-%lld: %s", (long long)n->incident_id, t[0] ? t : "incident");
    else
        snprintf(s, sizeof(s), "%s", t[0] ? t : "forestall notice");
    free(t);
    fs_utf8_cut(s);
    return fs_strdup(s);
}

/* Keys the field mapping may not replace: forestall writes them. */
static const char *const RESERVED[] = {"project", "summary", "issuetype", "description"};

int fs_jira_create_body(const json_t *conf, const struct fs_notice *n, json_t **out,
                        struct fs_err *err)
{
    *out = NULL;
    const char *project = str_at(conf, "project");
    const char *itype = str_at(conf, "issue_type");
    if (!project || !project[0])
        return fs_err_set(err, FS_E_CONFIG, "project", "project: expected a key or an id");
    char intro[200];
    if (n->incident_id > 0)
        snprintf(intro, sizeof(intro),
                 "forestall opened this issue to track the permanent fix for incident inc-%lld.",
                 (long long)n->incident_id);
    else
        snprintf(intro, sizeof(intro), "forestall opened this issue.");
    char *summary = summary_of(n);
    json_t *desc = description(conf, n, intro);
    json_t *fields = summary && desc ? json_object() : NULL;
    int rc = fields ? 0 : -FS_E_NOMEM;
    if (rc == 0 &&
        (json_object_set_new(fields, "project", ref_object(project, "key")) ||
         json_object_set_new(fields, "summary", json_string(summary)) ||
         json_object_set_new(fields, "issuetype", ref_object(itype ? itype : "Task", "name")) ||
         json_object_set(fields, "description", desc)))
        rc = -FS_E_NOMEM;
    const json_t *labels = json_object_get(conf, "labels");
    if (rc == 0 &&
        json_object_set_new(fields, "labels",
                            labels ? json_deep_copy(labels) : json_pack("[s]", "forestall")))
        rc = -FS_E_NOMEM;
    const char *prio = str_at(conf, "priority");
    if (rc == 0 && prio && json_object_set_new(fields, "priority", ref_object(prio, "name")))
        rc = -FS_E_NOMEM;
    const json_t *extra = json_object_get(conf, "fields");
    if (rc == 0 && json_is_object(extra)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)extra, k, v)
        {
            bool reserved = false;
            for (size_t i = 0; i < FS_ARRAY_LEN(RESERVED); i++)
                reserved = reserved || !strcmp(k, RESERVED[i]);
            if (!reserved && json_object_set_new(fields, k, json_deep_copy(v)))
                rc = -FS_E_NOMEM;
        }
    }
    free(summary);
    json_decref(desc);
    if (rc == 0 && !(*out = json_pack("{sO}", "fields", fields)))
        rc = -FS_E_NOMEM;
    json_decref(fields);
    return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
}

int fs_jira_comment_body(const json_t *conf, const struct fs_notice *n, json_t **out,
                         struct fs_err *err)
{
    json_t *body = description(conf, n, NULL);
    *out = body ? json_pack("{so}", "body", body) : NULL;
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

/* ---- answers ----------------------------------------------------------------------------- */

/* Jira's error body ({"errorMessages": [...], "errors": {field: message}}) as one line. */
static void error_details(const char *body, size_t len, char *out, size_t size)
{
    out[0] = '\0';
    json_t *doc = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    struct fs_buf b = FS_BUF_INIT(4096);
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(doc, "errorMessages"), i, v)
    {
        if (json_is_string(v))
            fs_buf_printf(&b, "%s%s", b.len ? "; " : "", json_string_value(v));
    }
    const char *k;
    json_object_foreach(json_object_get(doc, "errors"), k, v)
    {
        if (json_is_string(v))
            fs_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", k, json_string_value(v));
    }
    if (!doc && body && len) /* not JSON: the start of what came back */
        fs_buf_append(&b, body, FS_MIN(len, (size_t)300));
    json_decref(doc);
    fs_strlcpy(out, fs_buf_str(&b), size);
    fs_buf_release(&b);
}

int fs_jira_map_response(long status, const char *body, size_t len, bool create, const char *key,
                         struct fs_notify_result *res, struct fs_err *err)
{
    if (status == 200 || status == 201) {
        if (!create) {
            fs_strlcpy(res->ref, key ? key : "", sizeof(res->ref));
            return 0;
        }
        json_t *doc = json_loadb(body ? body : "", len, 0, NULL);
        const char *k = str_at(doc, "key");
        int rc = 0;
        if (fs_jira_key_ok(k)) {
            fs_strlcpy(res->ref, k, sizeof(res->ref));
        } else {
            /* the issue may exist: another try could make a second one */
            fs_tickets_fail(res, true, "jira: %ld, but the answer names no issue key", status);
            rc = fs_err_set(err, FS_E_PROTOCOL, NULL, "%s", res->error);
        }
        json_decref(doc);
        return rc;
    }
    char details[600];
    error_details(body, len, details, sizeof(details));
    const char *what = create ? "create issue" : "comment";
    enum fs_errcode ec = FS_E_PROTOCOL;
    bool permanent = true;
    const char *hint = "";
    if (status == 401) {
        ec = FS_E_UNAUTHORIZED;
        hint = " (the credentials were refused)";
    } else if (status == 403) {
        ec = FS_E_FORBIDDEN;
        hint = " (the account may not do this)";
    } else if (status == 404) {
        ec = FS_E_NOT_FOUND;
        hint = create ? " (unknown project or issue type for this account)"
                      : " (the issue is gone or not visible)";
    } else if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
        permanent = false;
    }
    fs_tickets_fail(res, permanent, "jira: %s: HTTP %ld%s%s%s", what, status, hint,
                    details[0] ? ": " : "", details);
    return fs_err_set(err, ec, NULL, "%s", res->error);
}

/* ---- delivery ---------------------------------------------------------------------------- */

/* A header-safe token: printable ASCII without spaces. */
static bool token_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static int jira_deliver(const json_t *conf, const struct fs_notice *n, struct fs_notify_result *res,
                        struct fs_err *err)
{
    memset(res, 0, sizeof(*res));
    int rc = 0;
    const char *base = str_at(conf, "url"), *auth = str_at(conf, "auth");
    const char *email = str_at(conf, "email"), *token = str_at(conf, "token");
    bool bearer = auth && !strcmp(auth, "bearer");
    int ver = api_version(conf);
    int64_t timeout;
    if (!base || (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) ||
        (ver != 2 && ver != 3) || !token_ok(token) || (!bearer && !email) ||
        fs_tickets_timeout_ms(conf, DEFAULT_TIMEOUT_MS, &timeout) < 0) {
        fs_tickets_fail(res, true, "jira: the channel's configuration is not valid");
        return fs_err_set(err, FS_E_CONFIG, NULL, "%s", res->error);
    }
    bool create = !(n->ref && n->ref[0]);
    if (!create && !fs_jira_key_ok(n->ref)) {
        fs_tickets_fail(res, true, "jira: the kept issue reference is not an issue key");
        return fs_err_set(err, FS_E_INVALID, NULL, "%s", res->error);
    }
    json_t *doc = NULL;
    rc =
        create ? fs_jira_create_body(conf, n, &doc, err) : fs_jira_comment_body(conf, n, &doc, err);
    char *body = rc == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    struct fs_buf url = FS_BUF_INIT(4096);
    if (body && (create ? fs_buf_printf(&url, "%.*s/rest/api/%d/issue", (int)blen, base, ver)
                        : fs_buf_printf(&url, "%.*s/rest/api/%d/issue/%s/comment", (int)blen, base,
                                        ver, n->ref)) < 0) {
        free(body);
        body = NULL;
    }
    /* the credential as a header of its own: Bearer PAT, or Basic base64(email:token) */
    struct fs_buf auth_h = FS_BUF_INIT(8192);
    if (body && bearer) {
        fs_buf_printf(&auth_h, "Authorization: Bearer %s", token);
    } else if (body) {
        struct fs_buf cred = FS_BUF_INIT(4096);
        fs_buf_printf(&cred, "%s:%s", email, token);
        unsigned char *b64 = cred.data ? malloc(4 * ((cred.len + 2) / 3) + 1) : NULL;
        if (b64) {
            EVP_EncodeBlock(b64, (const unsigned char *)cred.data, (int)cred.len);
            fs_buf_printf(&auth_h, "Authorization: Basic %s", (const char *)b64);
            explicit_bzero(b64, strlen((const char *)b64));
        }
        free(b64);
        if (cred.data)
            explicit_bzero(cred.data, cred.len);
        fs_buf_release(&cred);
    }
    if (!body || !auth_h.data) {
        free(body);
        fs_buf_release(&auth_h);
        fs_buf_release(&url);
        fs_tickets_fail(res, false, "jira: out of memory");
        return rc < 0 ? rc : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    const char *headers[] = {"Accept: application/json", fs_buf_str(&auth_h), NULL};
    long status = 0;
    char *resp = NULL;
    struct fs_err herr = {0};
    rc = fs_notify_http_post(fs_buf_str(&url), "application/json", body, headers, (long)timeout,
                             &status, &resp, &herr);
    explicit_bzero(auth_h.data, auth_h.len);
    fs_buf_release(&auth_h);
    free(body);
    fs_buf_release(&url);
    if (rc == 0)
        rc = fs_jira_map_response(status, resp ? resp : "", resp ? strlen(resp) : 0, create, n->ref,
                                  res, err);
    else
        fs_tickets_fail(res, false, "jira: %s", herr.msg);
    free(resp);
    if (rc < 0 && err && !err->msg[0])
        fs_err_set(err, herr.code ? herr.code : FS_E_CONNECT, NULL, "%s", res->error);
    return rc;
}

/* ---- configuration ----------------------------------------------------------------------- */

typedef void (*report_fn)(void *arg, const char *key, const char *msg);

static int jira_check(const json_t *conf, report_fn report, void *arg)
{
    static const char *const known[] = {"url",      "api_version", "auth",       "email",
                                        "token",    "project",     "issue_type", "labels",
                                        "priority", "fields",      NULL};
    int problems = 0;
#define PROBLEM(key, msg) (problems++, report(arg, key, msg))
    if (!json_is_object(conf)) {
        PROBLEM("", "expected an object");
        return problems;
    }
    problems += fs_notify_unknown_keys(conf, "jira", known, report, arg);
    const char *url = str_at(conf, "url");
    if (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
        PROBLEM("url", "expected the site's base URL (https://example.atlassian.net)");
    else {
        CURLU *u = curl_url();
        char *host = NULL;
        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !host[0] ||
            strpbrk(url, "?#"))
            PROBLEM("url", "not a valid base URL (a host, no query or fragment)");
        curl_free(host);
        curl_url_cleanup(u);
    }
    if (json_object_get(conf, "api_version") && api_version(conf) == 0)
        PROBLEM("api_version", "expected 2 (Data Center, or Cloud with a plain description) or 3 "
                               "(Cloud, ADF description)");
    const char *auth = str_at(conf, "auth");
    if (json_object_get(conf, "auth") &&
        (!auth || (strcmp(auth, "basic") && strcmp(auth, "bearer"))))
        PROBLEM("auth", "expected basic (email + API token) or bearer (personal access token)");
    bool bearer = auth && !strcmp(auth, "bearer");
    const json_t *email = json_object_get(conf, "email");
    if (!bearer && !email)
        PROBLEM("email", "basic auth needs the account's email");
    else if (email && (!json_is_string(email) || !token_ok(json_string_value(email))))
        PROBLEM("email", "expected the account's email (no spaces)");
    if (bearer && email)
        PROBLEM("email", "bearer auth uses the token alone; remove email or use auth: basic");
    const json_t *tok = json_object_get(conf, "token");
    if (json_is_string(tok))
        PROBLEM("token", "a secret is not written in the config; use {env: FORESTALL_NAME} or "
                         "{file: PATH}");
    else if (!fs_tickets_secret_ref_ok(tok))
        PROBLEM("token", "expected {env: FORESTALL_NAME} or {file: PATH} (an API token or a "
                         "personal access token)");
    const char *project = str_at(conf, "project");
    if (!fs_jira_key_ok(project))
        PROBLEM("project", "expected a project key (OPS) or id (10000)");
    const json_t *it = json_object_get(conf, "issue_type");
    if (it && (!json_is_string(it) || !json_string_length(it) || json_string_length(it) > 255))
        PROBLEM("issue_type", "expected an issue type name (Task) or id (10002)");
    const json_t *labels = json_object_get(conf, "labels");
    if (labels) {
        bool ok = json_is_array(labels) && json_array_size(labels) <= 50;
        size_t i;
        const json_t *v;
        json_array_foreach(labels, i, v)
        {
            ok = ok && token_ok(json_string_value(v)) && json_string_length(v) <= 255;
        }
        if (!ok)
            PROBLEM("labels", "expected a list of at most 50 labels, each without spaces");
    }
    const json_t *prio = json_object_get(conf, "priority");
    if (prio && (!json_is_string(prio) || !json_string_length(prio)))
        PROBLEM("priority", "expected a priority name (High) or id");
    const json_t *fields = json_object_get(conf, "fields");
    if (fields && !json_is_object(fields))
        PROBLEM("fields", "expected an object of extra issue fields (customfield_10010: ...)");
    else if (fields)
        for (size_t i = 0; i < FS_ARRAY_LEN(RESERVED); i++)
            if (json_object_get(fields, RESERVED[i]))
                PROBLEM("fields", "project, summary, issuetype and description are written by "
                                  "forestall; use project / issue_type instead");
    int64_t ms;
    if (fs_tickets_timeout_ms(conf, DEFAULT_TIMEOUT_MS, &ms) < 0)
        PROBLEM("timeout_ms", "expected milliseconds between 100 and 600000");
#undef PROBLEM
    return problems;
}

/* a ticket documents what people must do: an escalation, and the incident's end */
static const char *const jira_events[] = {"escalation", "resolution", NULL};

const struct fs_channel_kind fs_channel_jira = {
    .type = "jira",
    .check = jira_check,
    .deliver = jira_deliver,
    .default_events = jira_events,
};
