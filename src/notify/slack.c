/* slack: the Slack channel kind and the pure parts of Slack's inbound requests. Owns the Block
 * Kit message of each notice (proposal_pending carries Approve / Reject / Force override
 * buttons), delivery over an incoming webhook or chat.postMessage (later notices of an incident
 * go in the thread of its first message), request signature verification (protocols.md §7.2),
 * the replay guard, and parsing of interactivity payloads and Events API callbacks. It decides
 * nothing about proposals: api_slack.c hands every decision to the safety service. */
#include "notify/slack.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"

/* ---- signatures -------------------------------------------------------------------------- */

int fs_slack_sign(const char *secret, size_t secret_len, const char *ts, const void *body,
                  size_t len, char *out, size_t size)
{
    size_t tl = strlen(ts);
    if (size < 68)
        return -FS_E_INVALID;
    char *base = fs_malloc(3 + tl + 1 + len + 1);
    if (!base)
        return -FS_E_NOMEM;
    memcpy(base, "v0:", 3);
    memcpy(base + 3, ts, tl);
    base[3 + tl] = ':';
    if (len)
        memcpy(base + 4 + tl, body, len);
    unsigned char mac[32];
    int rc = fs_hmac_sha256(secret, secret_len, base, 4 + tl + len, mac);
    free(base);
    if (rc < 0)
        return rc;
    memcpy(out, "v0=", 3);
    for (int i = 0; i < 32; i++)
        snprintf(out + 3 + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

int fs_slack_verify(const char *secret, size_t secret_len, const char *ts_header,
                    const char *sig_header, const void *body, size_t len, int64_t now_s,
                    struct fs_err *err)
{
    if (!ts_header || !sig_header)
        return fs_err_set(err, FS_E_UNAUTHORIZED, NULL,
                          "X-Slack-Request-Timestamp and X-Slack-Signature are required");
    /* digits only: the timestamp is part of the signed string and must be what was signed */
    size_t n = strlen(ts_header);
    if (n == 0 || n > 12 || strspn(ts_header, "0123456789") != n)
        return fs_err_set(err, FS_E_UNAUTHORIZED, NULL,
                          "X-Slack-Request-Timestamp: expected seconds since the epoch");
    int64_t ts = strtoll(ts_header, NULL, 10);
    if (ts > now_s + FS_SLACK_MAX_SKEW_S || ts < now_s - FS_SLACK_MAX_SKEW_S)
        return fs_err_set(err, FS_E_UNAUTHORIZED, NULL,
                          "X-Slack-Request-Timestamp is more than %d s away from now",
                          FS_SLACK_MAX_SKEW_S);
    char want[72];
    int rc = fs_slack_sign(secret, secret_len, ts_header, body, len, want, sizeof(want));
    if (rc < 0)
        return fs_err_set(err, (enum fs_errcode) - rc, NULL, NULL);
    if (!fs_consttime_eq(want, strlen(want), sig_header, strlen(sig_header)))
        return fs_err_set(err, FS_E_UNAUTHORIZED, NULL, "X-Slack-Signature does not match");
    return 0;
}

bool fs_slack_seen_add(struct fs_slack_seen *s, const char *key, int64_t now_s, int64_t window_s)
{
    bool fresh = true;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < FS_SLACK_SEEN_MAX && fresh; i++)
        if (s->e[i].key[0] && now_s - s->e[i].at <= window_s && !strcmp(s->e[i].key, key))
            fresh = false;
    if (fresh) {
        /* a free or outdated slot first; else the oldest (the ring position) */
        size_t slot = s->next;
        for (size_t i = 0; i < FS_SLACK_SEEN_MAX; i++)
            if (!s->e[i].key[0] || now_s - s->e[i].at > window_s) {
                slot = i;
                break;
            }
        if (slot == s->next)
            s->next = (s->next + 1) % FS_SLACK_SEEN_MAX;
        fs_strlcpy(s->e[slot].key, key, sizeof(s->e[slot].key));
        s->e[slot].at = now_s;
    }
    pthread_mutex_unlock(&s->mu);
    return fresh;
}

/* ---- forms -------------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *fs_form_decode(const char *s, size_t len)
{
    char *out = fs_malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            return NULL;
        }
        *o++ = c;
    }
    *o = '\0';
    return out;
}

char *fs_form_field(const char *body, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(fe - p));
        if (eq && (size_t)(eq - p) == nl && !memcmp(p, name, nl))
            return fs_form_decode(eq + 1, (size_t)(fe - eq - 1));
        p = fe + 1;
    }
    return NULL;
}

/* ---- inbound payloads --------------------------------------------------------------------- */

const char *fs_slack_verb_name(enum fs_slack_verb v)
{
    switch (v) {
    case FS_SLACK_APPROVE: return "approve";
    case FS_SLACK_REJECT: return "reject";
    case FS_SLACK_FORCE: return "force_override";
    case FS_SLACK_NONE: break;
    }
    return "none";
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    const char *s = json_string_value(v);
    fs_strlcpy(dst, s ? s : "", size);
}

#define SLACK_MAX_DEPTH 32

int fs_slack_parse_interaction(const char *body, size_t len, struct fs_slack_action *out,
                               struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    char *payload = fs_form_field(body, len, "payload");
    if (!payload)
        return fs_err_set(err, FS_E_INVALID_PAYLOAD, "payload",
                          "expected a form field payload=<JSON>");
    json_t *p = NULL;
    int rc = fs_json_parse(payload, strlen(payload), SLACK_MAX_DEPTH, &p, err);
    free(payload);
    if (rc < 0)
        return rc;
    rc = -FS_E_INVALID_PAYLOAD;
    if (!json_is_object(p) || !json_is_string(json_object_get(p, "type"))) {
        fs_err_set(err, FS_E_INVALID_PAYLOAD, "type", "payload: expected an object with a type");
        goto out;
    }
    if (strcmp(json_string_value(json_object_get(p, "type")), "block_actions") != 0) {
        rc = 0; /* another kind of interaction: nothing to decide */
        goto out;
    }
    json_t *user = json_object_get(p, "user");
    copy_str(out->user_id, sizeof(out->user_id), json_object_get(user, "id"));
    copy_str(out->user_name, sizeof(out->user_name), json_object_get(user, "username"));
    if (!out->user_name[0])
        copy_str(out->user_name, sizeof(out->user_name), json_object_get(user, "name"));
    copy_str(out->team_id, sizeof(out->team_id), json_object_get(json_object_get(p, "team"), "id"));
    copy_str(out->channel_id, sizeof(out->channel_id),
             json_object_get(json_object_get(p, "channel"), "id"));
    copy_str(out->message_ts, sizeof(out->message_ts),
             json_object_get(json_object_get(p, "container"), "message_ts"));
    const char *ru = json_string_value(json_object_get(p, "response_url"));
    if (ru && strlen(ru) < sizeof(out->response_url))
        fs_strlcpy(out->response_url, ru, sizeof(out->response_url));
    if (!out->user_id[0]) {
        fs_err_set(err, FS_E_INVALID_PAYLOAD, "user.id", "payload: user.id is missing");
        goto out;
    }
    json_t *a = json_array_get(json_object_get(p, "actions"), 0);
    const char *aid = json_string_value(json_object_get(a, "action_id"));
    const char *value = json_string_value(json_object_get(a, "value"));
    if (!aid) {
        fs_err_set(err, FS_E_INVALID_PAYLOAD, "actions[0].action_id",
                   "payload: actions[0].action_id is missing");
        goto out;
    }
    out->verb = !strcmp(aid, "approve")          ? FS_SLACK_APPROVE
                : !strcmp(aid, "reject")         ? FS_SLACK_REJECT
                : !strcmp(aid, "force_override") ? FS_SLACK_FORCE
                                                 : FS_SLACK_NONE;
    if (out->verb != FS_SLACK_NONE) {
        char *end = NULL;
        long long id = value && !strncmp(value, "prop-", 5) && value[5] >= '1' && value[5] <= '9'
                           ? strtoll(value + 5, &end, 10)
                           : 0;
        if (id <= 0 || !end || *end) {
            fs_err_set(err, FS_E_INVALID_PAYLOAD, "actions[0].value",
                       "payload: actions[0].value: expected prop-N");
            goto out;
        }
        out->proposal_id = id;
    }
    rc = 0;
out:
    json_decref(p);
    return rc;
}

enum fs_slack_verb fs_slack_reply_verb(const char *text)
{
    if (!text)
        return FS_SLACK_NONE;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' ||
                 text[n - 1] == '\r'))
        n--;
    if (n == 7 && !memcmp(text, "APPROVE", 7))
        return FS_SLACK_APPROVE;
    if (n == 14 && !memcmp(text, "FORCE_OVERRIDE", 14))
        return FS_SLACK_FORCE;
    return FS_SLACK_NONE;
}

int fs_slack_parse_event(const char *body, size_t len, struct fs_slack_event *out,
                         struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *p = NULL;
    int rc = fs_json_parse(body, len, SLACK_MAX_DEPTH, &p, err);
    if (rc < 0)
        return rc;
    rc = 0;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!json_is_object(p) || !type) {
        rc = fs_err_set(err, FS_E_INVALID_PAYLOAD, "type", "expected an object with a type");
        goto out;
    }
    if (!strcmp(type, "url_verification")) {
        const char *c = json_string_value(json_object_get(p, "challenge"));
        if (!c || strlen(c) >= sizeof(out->challenge)) {
            rc = fs_err_set(err, FS_E_INVALID_PAYLOAD, "challenge",
                            "challenge: expected a string of at most 255 bytes");
            goto out;
        }
        out->kind = FS_SLACK_EV_CHALLENGE;
        fs_strlcpy(out->challenge, c, sizeof(out->challenge));
        goto out;
    }
    if (strcmp(type, "event_callback") != 0)
        goto out;
    copy_str(out->event_id, sizeof(out->event_id), json_object_get(p, "event_id"));
    json_t *ev = json_object_get(p, "event");
    const char *etype = json_string_value(json_object_get(ev, "type"));
    const char *subtype = json_string_value(json_object_get(ev, "subtype"));
    /* people's messages only: bots (ourselves included), edits, deletions and joins are not
     * decisions; a reply also sent to the channel (thread_broadcast) is one */
    if (!etype || strcmp(etype, "message") != 0 || json_object_get(ev, "bot_id") ||
        (subtype && strcmp(subtype, "thread_broadcast") != 0))
        goto out;
    copy_str(out->user_id, sizeof(out->user_id), json_object_get(ev, "user"));
    copy_str(out->channel_id, sizeof(out->channel_id), json_object_get(ev, "channel"));
    copy_str(out->thread_ts, sizeof(out->thread_ts), json_object_get(ev, "thread_ts"));
    copy_str(out->ts, sizeof(out->ts), json_object_get(ev, "ts"));
    if (!out->user_id[0] || !out->thread_ts[0] || !strcmp(out->thread_ts, out->ts))
        goto out; /* not a reply in a thread */
    out->verb = fs_slack_reply_verb(json_string_value(json_object_get(ev, "text")));
    if (out->verb != FS_SLACK_NONE)
        out->kind = FS_SLACK_EV_REPLY;
out:
    json_decref(p);
    return rc;
}

/* ---- the message -------------------------------------------------------------------------- */

char *fs_slack_escape(const char *s, size_t max)
{
    struct fs_buf b = FS_BUF_INIT(0);
    size_t n = strlen(s ? s : "");
    bool cut = n > max;
    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* never split a UTF-8 sequence */
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '&')
            fs_buf_puts(&b, "&amp;");
        else if (c == '<')
            fs_buf_puts(&b, "&lt;");
        else if (c == '>')
            fs_buf_puts(&b, "&gt;");
        else
            fs_buf_putc(&b, c);
    }
    if (cut)
        fs_buf_puts(&b, "…");
    size_t len;
    char *out = fs_buf_detach(&b, &len);
    return out;
}

/* A JSON value as short text: strings as they are, the rest compact JSON. Caller frees. */
static char *as_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return fs_strdup("");
    if (json_is_string(v))
        return fs_strdup(json_string_value(v));
    if (json_is_real(v)) {
        char t[40];
        snprintf(t, sizeof(t), "%g", json_real_value(v));
        return fs_strdup(t);
    }
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static json_t *mrkdwn(const char *text)
{
    return json_pack("{s:s,s:s}", "type", "mrkdwn", "text", text);
}

static json_t *plain(const char *text)
{
    return json_pack("{s:s,s:s,s:b}", "type", "plain_text", "text", text, "emoji", 1);
}

static void add_section(json_t *blocks, struct fs_buf *b)
{
    if (b->len == 0)
        return;
    /* a section's text is at most 3000 characters */
    char *t = fs_strdup(fs_buf_str(b));
    if (t && strlen(t) > 2900) {
        size_t n = 2900;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
            n--;
        memcpy(t + n, "…", sizeof("…"));
    }
    if (t)
        json_array_append_new(blocks, json_pack("{s:s,s:o}", "type", "section", "text", mrkdwn(t)));
    free(t);
    fs_buf_reset(b);
}

/* Append "label: escaped value" when v has text. */
static void put_field(struct fs_buf *b, const char *label, const json_t *v, size_t max)
{
    char *t = as_text(v);
    if (t && *t) {
        char *e = fs_slack_escape(t, max);
        if (e)
            fs_buf_printf(b, "*%s:* %s\n", label, e);
        free(e);
    }
    free(t);
}

static const char *event_title(const char *event)
{
    if (!strcmp(event, "proposal_pending"))
        return "Approval needed";
    if (!strcmp(event, "decision"))
        return "Decision";
    if (!strcmp(event, "execution"))
        return "Execution finished";
    if (!strcmp(event, "verification_failed"))
        return "Verification failed";
    if (!strcmp(event, "escalation"))
        return "Escalated to people";
    if (!strcmp(event, "resolution"))
        return "Resolved";
    return "Notice";
}

static void incident_lines(struct fs_buf *b, const struct fs_notice *n, const json_t *inc)
{
    char *title = fs_slack_escape(json_string_value(json_object_get(inc, "title")), 300);
    char id[40];
    snprintf(id, sizeof(id), "inc-%lld", (long long)n->incident_id);
    if (n->link && *n->link && !strpbrk(n->link, "<>| "))
        fs_buf_printf(b, "*Incident* <%s|%s>", n->link, id);
    else
        fs_buf_printf(b, "*Incident* %s", id);
    if (title && *title)
        fs_buf_printf(b, " — %s", title);
    free(title);
    fs_buf_putc(b, '\n');
    const char *sev = json_string_value(json_object_get(inc, "severity"));
    const char *state = json_string_value(json_object_get(inc, "state"));
    if (sev || state) {
        char *es = fs_slack_escape(sev ? sev : "?", 40),
             *et = fs_slack_escape(state ? state : "?", 60);
        fs_buf_printf(b, "*Severity:* %s   *State:* %s\n", es ? es : "", et ? et : "");
        free(es);
        free(et);
    }
    put_field(b, "Summary", json_object_get(inc, "summary"), 600);
}

static void proposal_lines(json_t *blocks, struct fs_buf *b, const json_t *p)
{
    put_field(b, "Action", json_object_get(p, "action"), 100);
    put_field(b, "Target", json_object_get(p, "target"), 400);
    char *params = as_text(json_object_get(p, "params"));
    if (params && *params) {
        char *e = fs_slack_escape(params, 800);
        if (e)
            fs_buf_printf(b, "*Params:* `%s`\n", e);
        free(e);
    }
    free(params);
    put_field(b, "Decision", json_object_get(p, "decision"), 60);
    put_field(b, "Confidence", json_object_get(p, "confidence"), 20);
    put_field(b, "Expires", json_object_get(p, "expiresAt"), 40);
    add_section(blocks, b);
    json_t *score = json_object_get(p, "score");
    if (score) {
        char *s = as_text(score);
        fs_buf_printf(b, "*Risk score %s*", s ? s : "?");
        free(s);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(p, "contributions"), i, c)
        {
            json_int_t pts = json_integer_value(json_object_get(c, "points"));
            if (i >= 12)
                break;
            char *f = fs_slack_escape(json_string_value(json_object_get(c, "factor")), 60);
            char *d = fs_slack_escape(json_string_value(json_object_get(c, "detail")), 200);
            fs_buf_printf(b, "\n• %s %+lld — %s", f ? f : "", (long long)pts, d ? d : "");
            free(f);
            free(d);
        }
        fs_buf_putc(b, '\n');
    }
    size_t i;
    json_t *r;
    json_t *reasons = json_object_get(p, "reasons");
    if (json_array_size(reasons))
        fs_buf_puts(b, "*Why:*");
    json_array_foreach(reasons, i, r)
    {
        if (i >= 8)
            break;
        char *e = fs_slack_escape(json_string_value(r), 300);
        fs_buf_printf(b, "\n• %s", e ? e : "");
        free(e);
    }
    add_section(blocks, b);
    /* the evidence the proposer cites, and its reasoning */
    json_t *ev = json_object_get(p, "evidence");
    if (json_is_object(ev)) {
        size_t nc = json_array_size(json_object_get(ev, "cited"));
        size_t nx = json_array_size(json_object_get(ev, "contradicting"));
        fs_buf_printf(b, "*Evidence:* %zu cited, %zu contradicting\n", nc, nx);
    }
    put_field(b, "Rationale", json_object_get(p, "rationale"), 1200);
    add_section(blocks, b);
}

static json_t *button(const char *text, const char *action_id, const char *value, const char *style)
{
    json_t *o = json_pack("{s:s,s:o,s:s,s:s}", "type", "button", "text", plain(text), "action_id",
                          action_id, "value", value);
    if (o && style)
        json_object_set_new(o, "style", json_string(style));
    return o;
}

json_t *fs_slack_message(const struct fs_notice *n)
{
    const json_t *d = n->data;
    const json_t *inc = json_object_get(d, "incident"), *prop = json_object_get(d, "proposal");
    json_t *blocks = json_array();
    struct fs_buf b = FS_BUF_INIT(0);
    char fallback[600];
    fs_notify_summary(n, fallback, sizeof(fallback));
    char head[160];
    const char *action = json_string_value(json_object_get(prop, "action"));
    if (action && n->incident_id)
        snprintf(head, sizeof(head), "%s: %.60s on inc-%lld", event_title(n->event), action,
                 (long long)n->incident_id);
    else if (n->incident_id)
        snprintf(head, sizeof(head), "%s: inc-%lld", event_title(n->event),
                 (long long)n->incident_id);
    else
        snprintf(head, sizeof(head), "%s", event_title(n->event));
    json_array_append_new(blocks, json_pack("{s:s,s:o}", "type", "header", "text", plain(head)));
    if (inc)
        incident_lines(&b, n, inc);
    if (!strcmp(n->event, "proposal_pending") && prop) {
        add_section(blocks, &b);
        proposal_lines(blocks, &b, prop);
    } else {
        if (prop) {
            put_field(&b, "Proposal", json_object_get(prop, "id"), 40);
            put_field(&b, "Action", json_object_get(prop, "action"), 100);
            put_field(&b, "Decision", json_object_get(prop, "decision"), 60);
        }
        const json_t *ex = json_object_get(d, "execution");
        if (ex) {
            put_field(&b, "Outcome", json_object_get(ex, "outcome"), 60);
            put_field(&b, "Reason", json_object_get(ex, "reason"), 600);
        }
        put_field(&b, "By", json_object_get(d, "actor"), 80);
        put_field(&b, "Channel", json_object_get(d, "channel"), 40);
        put_field(&b, "Post-mortem", json_object_get(json_object_get(d, "postmortem"), "summary"),
                  1500);
        add_section(blocks, &b);
    }
    /* a ticket, when the notice carries one: {"ticket": {"key", "url"}} */
    const json_t *tk = json_object_get(d, "ticket");
    if (!tk) /* the incident's ticket, opened by a ticket channel */
        tk = json_object_get(json_object_get(d, "incident"), "ticket");
    const char *turl = json_string_value(json_object_get(tk, "url"));
    const char *tkey = json_string_value(json_object_get(tk, "key"));
    if (turl && !strpbrk(turl, "<>| ")) {
        char *k = fs_slack_escape(tkey ? tkey : "ticket", 60);
        fs_buf_printf(&b, "*Ticket:* <%s|%s>", turl, k ? k : "");
        free(k);
        add_section(blocks, &b);
    }
    json_t *elements = json_array();
    char value[40];
    snprintf(value, sizeof(value), "prop-%lld", (long long)n->proposal_id);
    if (!strcmp(n->event, "proposal_pending") && n->proposal_id > 0) {
        const char *dec = json_string_value(json_object_get(prop, "decision"));
        if (dec && !strcmp(dec, "needs_force_override")) {
            json_t *bt = button("Force override", "force_override", value, "danger");
            json_object_set_new(
                bt, "confirm",
                json_pack("{s:o,s:o,s:o,s:o,s:s}", "title", plain("FORCE_OVERRIDE?"), "text",
                          mrkdwn("The incident is critical: this overrides the gate and is "
                                 "recorded permanently with your name."),
                          "confirm", plain("Force override"), "deny", plain("Cancel"), "style",
                          "danger"));
            json_array_append_new(elements, bt);
        } else {
            json_array_append_new(elements, button("Approve", "approve", value, "primary"));
        }
        json_array_append_new(elements, button("Reject", "reject", value, "danger"));
    }
    if (n->link && *n->link) {
        json_t *bt = button("Open in forestall", "open", value, NULL);
        json_object_set_new(bt, "url", json_string(n->link));
        json_array_append_new(elements, bt);
    }
    if (json_array_size(elements))
        json_array_append_new(blocks, json_pack("{s:s,s:s,s:o}", "type", "actions", "block_id",
                                                value, "elements", elements));
    else
        json_decref(elements);
    fs_buf_release(&b);
    /* the fallback is mrkdwn too: untrusted text must not mention @channel or forge links */
    char *text = fs_slack_escape(fallback, sizeof(fallback));
    json_t *msg = json_pack("{s:s,s:o}", "text", text ? text : "forestall", "blocks", blocks);
    free(text);
    return msg;
}

/* ---- delivery ----------------------------------------------------------------------------- */

/* Web API errors worth retrying; every other error code is permanent (bad token, unknown
 * channel, missing scope, malformed blocks: retrying does not fix those). */
static bool retryable_error(const char *e)
{
    static const char *const again[] = {"ratelimited",     "internal_error",
                                        "fatal_error",     "service_unavailable",
                                        "request_timeout", "team_added_to_org"};
    for (size_t i = 0; i < FS_ARRAY_LEN(again); i++)
        if (!strcmp(e, again[i]))
            return true;
    return false;
}

int fs_slack_post(const char *url, const char *token, const json_t *body, char *ts, size_t ts_size,
                  struct fs_notify_result *res, struct fs_err *err)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    char auth[600];
    const char *headers[2] = {NULL, NULL};
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[0] = auth;
    }
    long status = 0;
    char *resp = NULL;
    int rc = fs_notify_http_post(url, "application/json; charset=utf-8", text, headers, 10000,
                                 &status, &resp, err);
    explicit_bzero(auth, sizeof(auth));
    free(text);
    if (rc < 0) {
        snprintf(res->error, sizeof(res->error), "%s", err->msg);
        free(resp);
        return rc;
    }
    rc = fs_notify_http_status(status, resp, res, err);
    if (rc == 0 && resp && resp[0] == '{') {
        /* the Web API answers 200 with {"ok": false, "error": ...} */
        json_t *j = json_loads(resp, 0, NULL);
        if (j && json_is_false(json_object_get(j, "ok"))) {
            const char *e = json_string_value(json_object_get(j, "error"));
            char safe[64];
            snprintf(safe, sizeof(safe), "%s", e ? e : "unknown");
            for (char *c = safe; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
                    *c = '?';
            res->permanent = !retryable_error(safe);
            snprintf(res->error, sizeof(res->error), "Slack answered ok=false: %s", safe);
            rc = fs_err_set(err, FS_E_PROTOCOL, NULL, "Slack answered ok=false: %s", safe);
        } else if (j && ts) {
            copy_str(ts, ts_size, json_object_get(j, "ts"));
        }
        json_decref(j);
    }
    free(resp);
    return rc;
}

/* A secret after resolution is a string; NULL when absent. */
static const char *conf_str(const json_t *conf, const char *key)
{
    return json_string_value(json_object_get(conf, key));
}

static int slack_deliver(const json_t *conf, const struct fs_notice *n,
                         struct fs_notify_result *res, struct fs_err *err)
{
    json_t *msg = fs_slack_message(n);
    if (!msg)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const char *hook = conf_str(conf, "webhook_url"), *token = conf_str(conf, "bot_token");
    int rc;
    if (token) {
        char url[600];
        const char *api = conf_str(conf, "api_url");
        snprintf(url, sizeof(url), "%s/chat.postMessage", api ? api : FS_SLACK_DEFAULT_API);
        json_object_set_new(msg, "channel", json_string(conf_str(conf, "channel")));
        if (n->ref && *n->ref)
            json_object_set_new(msg, "thread_ts", json_string(n->ref));
        char ts[64] = "";
        rc = fs_slack_post(url, token, msg, ts, sizeof(ts), res, err);
        /* the thread's root stays the incident's reference, so every later notice (and every
         * APPROVE replied under any of them) finds the same thread */
        if (rc == 0)
            fs_strlcpy(res->ref, n->ref && *n->ref ? n->ref : ts, sizeof(res->ref));
    } else if (hook) {
        rc = fs_slack_post(hook, NULL, msg, NULL, 0, res, err);
    } else {
        res->permanent = true;
        snprintf(res->error, sizeof(res->error), "neither webhook_url nor bot_token is set");
        rc = fs_err_set(err, FS_E_CONFIG, NULL, "%s", res->error);
    }
    json_decref(msg);
    return rc;
}

/* ---- configuration ------------------------------------------------------------------------ */

static int slack_check(const json_t *conf,
                       void (*report)(void *arg, const char *key, const char *msg), void *arg)
{
    static const char *const known[] = {"webhook_url",    "bot_token", "channel", "api_url",
                                        "signing_secret", "users",     NULL};
    int problems = 0;
#define BAD(key, msg) (report(arg, key, msg), problems++)
    problems += fs_notify_unknown_keys(conf, "slack", known, report, arg);
    json_t *hook = json_object_get(conf, "webhook_url"), *tok = json_object_get(conf, "bot_token");
    if (!hook == !tok)
        BAD("webhook_url", "set exactly one of webhook_url (an incoming webhook) or bot_token");
    static const char *const secrets[] = {"webhook_url", "bot_token", "signing_secret"};
    for (size_t i = 0; i < FS_ARRAY_LEN(secrets); i++) {
        json_t *s = json_object_get(conf, secrets[i]);
        if (s && (!fs_notify_is_secret_ref(s) || json_object_get(s, "prefix")))
            BAD(secrets[i], "a secret: expected {env: NAME} or {file: PATH}, never the value");
    }
    json_t *ch = json_object_get(conf, "channel");
    if (tok && (!json_is_string(ch) || !*json_string_value(ch)))
        BAD("channel", "with bot_token: the channel id to post in (C0123...)");
    if (ch && !tok)
        BAD("channel", "only with bot_token (an incoming webhook posts to its own channel)");
    json_t *api = json_object_get(conf, "api_url");
    if (api && (!json_is_string(api) || (strncmp(json_string_value(api), "https://", 8) != 0 &&
                                         strncmp(json_string_value(api), "http://", 7) != 0)))
        BAD("api_url", "expected an http:// or https:// URL (default https://slack.com/api)");
    json_t *users = json_object_get(conf, "users");
    if (users && !json_is_object(users))
        BAD("users", "expected a map of Slack user id to a name of auth.tokens");
    const char *key;
    json_t *v;
    json_object_foreach(users, key, v) if (!json_is_string(v) || !*json_string_value(v))
    {
        char path[120];
        snprintf(path, sizeof(path), "users.%.100s", key);
        BAD(path, "expected the name of an auth.tokens entry");
    }
    if (users && !json_object_get(conf, "signing_secret"))
        BAD("users", "users only matter with signing_secret (inbound requests are verified "
                     "with it)");
#undef BAD
    return problems;
}

const struct fs_channel_kind fs_channel_slack = {
    .type = "slack", .check = slack_check, .deliver = slack_deliver};
