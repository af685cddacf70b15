/* email: the "email" channel kind (fs_channel_email) and the readable text of a notice that the
 * Jira kind shares. It owns the RFC 5322 message — headers built only from checked addresses
 * and from sanitized text (RFC 2047 encoded when not ASCII), so nothing from an alert or a model
 * can add a header line — and its delivery over SMTP through libcurl (smtp:// with optional
 * STARTTLS, smtps://, AUTH). It never retries by itself (the outbox does) and never logs. */
#include "core/common.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/curl.h"
#include "core/redact.h"
#include "core/time.h"
#include "notify/notify.h"
#include "notify/tickets_int.h"

#define MAX_MESSAGE (1024u * 1024)
#define DEFAULT_TIMEOUT_MS 30000

/* ---- the notice as text ------------------------------------------------------------------ */

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A value from data, sanitized and capped, as one line (newlines and tabs become spaces) when
 * one_line. Strings as they are, numbers and booleans printed, anything else compact JSON.
 * Caller frees; NULL when v is absent or null (or out of memory). */
static char *value_text(const json_t *v, size_t max, bool one_line)
{
    if (!v || json_is_null(v))
        return NULL;
    char *raw = NULL;
    const char *s;
    char num[64];
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        snprintf(num, sizeof(num), "%g", json_real_value(v));
        s = num;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
    } else {
        raw = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (!raw)
            return NULL;
        s = raw;
    }
    char *out = fs_sanitize_text(s, strlen(s), max, NULL);
    free(raw);
    if (out && one_line)
        for (char *p = out; *p; p++)
            if (*p == '\n' || *p == '\t')
                *p = ' ';
    return out;
}

/* The target of a proposal in a few words: a string as it is, an object by its host/name. */
static char *target_text(const json_t *t)
{
    if (json_is_object(t)) {
        static const char *const keys[] = {"host", "name", "service", "id"};
        for (size_t i = 0; i < FS_ARRAY_LEN(keys); i++) {
            const json_t *v = json_object_get(t, keys[i]);
            if (json_is_string(v) && json_string_length(v) > 0)
                return value_text(v, 120, true);
        }
    }
    return value_text(t, 120, true);
}

static const json_t *sub(const struct fs_notice *n, const char *key)
{
    const json_t *v = n->data ? json_object_get(n->data, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

char *fs_notice_headline(const struct fs_notice *n)
{
    const json_t *inc = sub(n, "incident"), *prop = sub(n, "proposal"), *ex = sub(n, "execution");
    char *title = value_text(json_object_get(inc, "title"), 140, true);
    char *action = value_text(json_object_get(prop, "action"), 80, true);
    char *target = prop ? target_text(json_object_get(prop, "target")) : NULL;
    char *actor = value_text(n->data ? json_object_get(n->data, "actor") : NULL, 60, true);
    char *decision = value_text(json_object_get(prop, "decision"), 40, true);
    char *outcome = value_text(json_object_get(ex, "outcome"), 40, true);
    char what[256];
    if (action && target)
        snprintf(what, sizeof(what), "%s on %s", action, target);
    else if (action)
        snprintf(what, sizeof(what), "%s", action);
    else if (n->proposal_id > 0)
        snprintf(what, sizeof(what), "proposal #%lld", (long long)n->proposal_id);
    else
        snprintf(what, sizeof(what), "%s", title ? title : "an incident");
    fs_utf8_cut(what);
    const char *ev = n->event ? n->event : "";
    char line[320];
    if (!strcmp(ev, "proposal_pending"))
        snprintf(line, sizeof(line), "Approval needed: %s", what);
    else if (!strcmp(ev, "decision"))
        snprintf(line, sizeof(line), "Proposal %s%s%s: %s", decision ? decision : "decided",
                 actor ? " by " : "", actor ? actor : "", what);
    else if (!strcmp(ev, "execution"))
        snprintf(line, sizeof(line), "Execution %s: %s", outcome ? outcome : "finished", what);
    else if (!strcmp(ev, "verification_failed"))
        snprintf(line, sizeof(line), "Verification failed: %s", what);
    else if (!strcmp(ev, "escalation"))
        snprintf(line, sizeof(line), "Escalated to people: %s", title ? title : what);
    else if (!strcmp(ev, "resolution"))
        snprintf(line, sizeof(line), "Resolved: %s", title ? title : what);
    else
        snprintf(line, sizeof(line), "forestall notice: %s", title ? title : what);
    fs_utf8_cut(line);
    free(title);
    free(action);
    free(target);
    free(actor);
    free(decision);
    free(outcome);
    return fs_strdup(line);
}

/* "Label: value\n" when the value is there. */
static int field_line(struct fs_buf *out, const char *label, const json_t *v, size_t max)
{
    char *t = value_text(v, max, true);
    if (!t)
        return 0;
    int rc = t[0] ? fs_buf_printf(out, "%s: %s\n", label, t) : 0;
    free(t);
    return rc;
}

/* Text under a heading: on the heading's line when it is one line, below it otherwise. */
static int block(struct fs_buf *out, const char *heading, const json_t *v, size_t max)
{
    char *t = value_text(v, max, false);
    if (!t)
        return 0;
    size_t len = strlen(t);
    while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == ' '))
        t[--len] = '\0';
    int rc = !len              ? 0
             : strchr(t, '\n') ? fs_buf_printf(out, "%s:\n%s\n", heading, t)
                               : fs_buf_printf(out, "%s: %s\n", heading, t);
    free(t);
    return rc;
}

static int incident_part(struct fs_buf *out, const struct fs_notice *n, const json_t *inc)
{
    char *title = value_text(json_object_get(inc, "title"), 300, true);
    int rc;
    if (n->incident_id > 0)
        rc = fs_buf_printf(out, "\nIncident inc-%lld%s%s\n", (long long)n->incident_id,
                           title ? ": " : "", title ? title : "");
    else
        rc = fs_buf_printf(out, "\nIncident%s%s\n", title ? ": " : "", title ? title : "");
    free(title);
    if (rc < 0 || !inc)
        return rc;
    if ((rc = field_line(out, "Severity", json_object_get(inc, "severity"), 40)) < 0 ||
        (rc = field_line(out, "State", json_object_get(inc, "state"), 40)) < 0)
        return rc;
    const json_t *labels = json_object_get(inc, "labels");
    if (json_is_object(labels) && json_object_size(labels) > 0) {
        if ((rc = fs_buf_puts(out, "Labels:")) < 0)
            return rc;
        const char *k;
        const json_t *v;
        size_t i = 0;
        json_object_foreach((json_t *)labels, k, v)
        {
            if (i++ == 20) {
                rc = fs_buf_puts(out, " ...");
                break;
            }
            char *kt = fs_sanitize_text(k, strlen(k), 80, NULL);
            char *vt = value_text(v, 160, true);
            rc = kt ? fs_buf_printf(out, " %s=%s", kt, vt ? vt : "") : -FS_E_NOMEM;
            free(kt);
            free(vt);
            if (rc < 0)
                return rc;
        }
        if (rc < 0 || (rc = fs_buf_putc(out, '\n')) < 0)
            return rc;
    }
    return block(out, "Summary", json_object_get(inc, "summary"), 2000);
}

static int proposal_part(struct fs_buf *out, const struct fs_notice *n, const json_t *p)
{
    char *action = value_text(json_object_get(p, "action"), 120, true);
    char *target = target_text(json_object_get(p, "target"));
    int64_t id = json_is_integer(json_object_get(p, "id"))
                     ? (int64_t)json_integer_value(json_object_get(p, "id"))
                     : n->proposal_id;
    int rc =
        fs_buf_printf(out, "\nProposal #%lld: %s%s%s\n", (long long)id,
                      action ? action : "(no action)", target ? " on " : "", target ? target : "");
    free(action);
    free(target);
    if (rc < 0)
        return rc;
    const json_t *params = json_object_get(p, "params");
    if (json_is_object(params) && json_object_size(params) > 0 &&
        (rc = field_line(out, "Parameters", params, 600)) < 0)
        return rc;
    char *decision = value_text(json_object_get(p, "decision"), 60, true);
    char *score = value_text(json_object_get(p, "score"), 30, true);
    if (decision && score)
        rc = fs_buf_printf(out, "Gate: %s (risk score %s)\n", decision, score);
    else if (decision)
        rc = fs_buf_printf(out, "Gate: %s\n", decision);
    else if (score)
        rc = fs_buf_printf(out, "Risk score: %s\n", score);
    free(decision);
    free(score);
    if (rc < 0)
        return rc;
    const json_t *reasons = json_object_get(p, "reasons");
    if (json_is_array(reasons) && json_array_size(reasons) > 0) {
        if ((rc = fs_buf_puts(out, "Reasons:\n")) < 0)
            return rc;
        size_t i;
        const json_t *r;
        json_array_foreach(reasons, i, r)
        {
            if (i == 20)
                return fs_buf_puts(out, "- ...\n");
            char *t = value_text(r, 300, true);
            rc = t ? fs_buf_printf(out, "- %s\n", t) : 0;
            free(t);
            if (rc < 0)
                return rc;
        }
    }
    if ((rc = block(out, "Rationale", json_object_get(p, "rationale"), 2000)) < 0)
        return rc;
    return field_line(out, "Expires", json_object_get(p, "expiresAt"), 40);
}

int fs_notice_text(const struct fs_notice *n, struct fs_buf *out)
{
    char *head = fs_notice_headline(n);
    if (!head)
        return -FS_E_NOMEM;
    int rc = fs_buf_printf(out, "%s\n", head);
    free(head);
    const json_t *inc = sub(n, "incident"), *p = sub(n, "proposal"), *ex = sub(n, "execution");
    const json_t *pm = sub(n, "postmortem");
    if (rc == 0 && (inc || n->incident_id > 0))
        rc = incident_part(out, n, inc);
    if (rc == 0 && p)
        rc = proposal_part(out, n, p);
    const char *ev = n->event ? n->event : "";
    if (rc == 0 && n->data && !strcmp(ev, "decision")) {
        char *actor = value_text(json_object_get(n->data, "actor"), 80, true);
        char *chan = value_text(json_object_get(n->data, "channel"), 40, true);
        char *dec = value_text(json_object_get(p, "decision"), 40, true);
        rc = fs_buf_printf(out, "\nDecision: %s by %s%s%s\n", dec ? dec : "decided",
                           actor ? actor : "(unknown)", chan ? " via " : "", chan ? chan : "");
        free(actor);
        free(chan);
        free(dec);
    }
    if (rc == 0 && ex) {
        char *outcome = value_text(json_object_get(ex, "outcome"), 60, true);
        char *reason = value_text(json_object_get(ex, "reason"), 600, true);
        const json_t *id = json_object_get(ex, "id");
        char idt[32] = "";
        if (json_is_integer(id))
            snprintf(idt, sizeof(idt), " #%lld", (long long)json_integer_value(id));
        rc = fs_buf_printf(out, "\nExecution%s: %s%s%s\n", idt, outcome ? outcome : "finished",
                           reason && reason[0] ? " - " : "", reason ? reason : "");
        free(outcome);
        free(reason);
    }
    if (rc == 0 && pm) {
        if ((rc = fs_buf_putc(out, '\n')) == 0)
            rc = block(out, "Post-mortem", json_object_get(pm, "summary"), 4000);
    }
    if (rc == 0 && n->link && n->link[0]) {
        char *l = fs_sanitize_text(n->link, strlen(n->link), 1000, NULL);
        rc = l ? fs_buf_printf(out, "\nOpen in forestall: %s\n", l) : -FS_E_NOMEM;
        free(l);
    }
    return rc;
}

/* ---- the message ------------------------------------------------------------------------- */

bool fs_email_addr_ok(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    const char *at = strrchr(s, '@');
    if (len < 3 || len > 254 || !at || at == s || !at[1] || strchr(s, '@') != at)
        return false;
    for (const char *p = s; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\"\\", c))
            return false;
    }
    const char *d = at + 1;
    if (*d == '.' || *d == '-' || d[strlen(d) - 1] == '.' || strstr(d, ".."))
        return false;
    for (const char *p = d; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            return false;
    return true;
}

/* n bytes as base64 (OpenSSL's encoder), appended to out. */
static int base64(struct fs_buf *out, const unsigned char *p, size_t n)
{
    unsigned char *enc = malloc(4 * ((n + 2) / 3) + 1);
    if (!enc)
        return -FS_E_NOMEM;
    int len = EVP_EncodeBlock(enc, p, (int)n);
    int rc = fs_buf_append(out, enc, (size_t)len);
    free(enc);
    return rc;
}

int fs_email_header_text(const char *text, struct fs_buf *out)
{
    /* repaired UTF-8, no controls, then every remaining whitespace control a plain space: no
     * byte of the text can end the header line */
    char *t = fs_sanitize_text(text ? text : "", text ? strlen(text) : 0, 900, NULL);
    if (!t)
        return -FS_E_NOMEM;
    bool ascii = !strstr(t, "=?");
    for (unsigned char *p = (unsigned char *)t; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
        else if (*p >= 0x80)
            ascii = false;
    }
    int rc;
    if (ascii) {
        rc = fs_buf_puts(out, t);
        free(t);
        return rc;
    }
    /* RFC 2047: encoded words of at most 75 characters (45 bytes → 60 base64), each holding
     * whole UTF-8 characters, folded onto continuation lines */
    size_t len = strlen(t), i = 0;
    rc = 0;
    while (i < len && rc == 0) {
        size_t take = FS_MIN(len - i, (size_t)45);
        while (i + take < len && take > 0 && ((unsigned char)t[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = FS_MIN(len - i, (size_t)45);
        if (i > 0)
            rc = fs_buf_puts(out, "\r\n ");
        if (rc == 0)
            rc = fs_buf_puts(out, "=?UTF-8?B?");
        if (rc == 0)
            rc = base64(out, (const unsigned char *)t + i, take);
        if (rc == 0)
            rc = fs_buf_puts(out, "?=");
        i += take;
    }
    free(t);
    return rc;
}

int fs_email_qp(const char *text, size_t len, struct fs_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    size_t col = 0;
    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            rc = fs_buf_puts(out, "\r\n");
            col = 0;
            continue;
        }
        if (c == '\r')
            continue;
        bool eol = i + 1 == len || text[i + 1] == '\n' || text[i + 1] == '\r';
        char enc[4];
        size_t w;
        if ((c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
            ((c == ' ' || c == '\t') && !eol)) {
            enc[0] = (char)c;
            w = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            w = 3;
        }
        /* a soft break keeps every line at 76 columns including its '=' */
        if (col + w > 75 && !(eol && col + w <= 76)) {
            if ((rc = fs_buf_puts(out, "=\r\n")) < 0)
                break;
            col = 0;
            if (enc[0] == '.' && w == 1) {
                enc[0] = '=';
                enc[1] = '2';
                enc[2] = 'E';
                w = 3;
            }
        }
        rc = fs_buf_append(out, enc, w);
        col += w;
    }
    if (rc == 0 && len > 0 && text[len - 1] != '\n')
        rc = fs_buf_puts(out, "\r\n");
    return rc;
}

static int rfc5322_date(int64_t ms, char *buf, size_t size)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -FS_E_INVALID;
    snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}

int fs_email_build(const json_t *conf, const struct fs_notice *n, int64_t now_ms, const char *token,
                   struct fs_buf *out, struct fs_err *err)
{
    const char *from = str_at(conf, "from");
    const json_t *to = json_object_get(conf, "to");
    if (!fs_email_addr_ok(from))
        return fs_err_set(err, FS_E_CONFIG, "from", "from: not an email address");
    if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > FS_EMAIL_MAX_RCPT)
        return fs_err_set(err, FS_E_CONFIG, "to", "to: expected 1 to %d addresses",
                          FS_EMAIL_MAX_RCPT);
    size_t i;
    const json_t *a;
    json_array_foreach(to, i, a)
    {
        if (!fs_email_addr_ok(json_string_value(a)))
            return fs_err_set(err, FS_E_CONFIG, "to", "to[%zu]: not an email address", i);
    }
    char date[64], tok[40] = "";
    if (rfc5322_date(now_ms, date, sizeof(date)) < 0)
        return fs_err_set(err, FS_E_INVALID, NULL, "the clock is out of range");
    if (token) {
        size_t k = 0;
        for (const char *p = token; *p && k + 1 < sizeof(tok); p++)
            if (isalnum((unsigned char)*p))
                tok[k++] = *p;
        tok[k] = '\0';
    }
    if (!tok[0]) {
        unsigned char rnd[8] = {0};
        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
            uint64_t v = (uint64_t)fs_mono_ns() ^ (uint64_t)now_ms;
            memcpy(rnd, &v, sizeof(rnd));
        }
        for (size_t k = 0; k < sizeof(rnd); k++)
            snprintf(tok + 2 * k, sizeof(tok) - 2 * k, "%02x", rnd[k]);
    }
    const char *domain = strrchr(from, '@') + 1;
    const char *ev = n->event ? n->event : "";
    bool ev_ok = ev[0] && strlen(ev) < 40;
    for (const char *p = ev; *p; p++)
        if (!islower((unsigned char)*p) && *p != '_')
            ev_ok = false;

    char *head = fs_notice_headline(n);
    if (!head)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct fs_buf subj = FS_BUF_INIT(4096), text = FS_BUF_INIT(256 * 1024);
    int rc = n->incident_id > 0 ? fs_buf_printf(&subj, "[forestall] %s (inc-%lld)", head,
                                                (long long)n->incident_id)
                                : fs_buf_printf(&subj, "[forestall] %s", head);
    free(head);
    if (rc == 0)
        rc = fs_notice_text(n, &text);
    if (rc == -FS_E_TOO_LARGE) /* the text is complete up to the cap: send what fits */
        rc = 0;
    rc = rc < 0 ? rc : fs_buf_printf(out, "Date: %s\r\nFrom: forestall <%s>\r\nTo: ", date, from);
    json_array_foreach(to, i, a)
    {
        if (rc == 0)
            rc = fs_buf_printf(out, "%s<%s>", i ? ",\r\n " : "", json_string_value(a));
    }
    if (rc == 0)
        rc = fs_buf_puts(out, "\r\nSubject: ");
    if (rc == 0)
        rc = fs_email_header_text(fs_buf_str(&subj), out);
    if (rc == 0)
        rc = fs_buf_printf(out, "\r\nMessage-ID: <forestall.%lld.%s@%s>\r\n", (long long)n->id, tok,
                           domain);
    if (rc == 0 && n->incident_id > 0) /* mail clients thread one incident's notices */
        rc = fs_buf_printf(out, "References: <forestall.incident.%lld@%s>\r\n",
                           (long long)n->incident_id, domain);
    if (rc == 0)
        rc = fs_buf_printf(out,
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: text/plain; charset=UTF-8\r\n"
                           "Content-Transfer-Encoding: quoted-printable\r\n"
                           "Auto-Submitted: auto-generated\r\n"
                           "X-Forestall-Event: %s\r\n",
                           ev_ok ? ev : "notice");
    if (rc == 0 && n->incident_id > 0)
        rc = fs_buf_printf(out, "X-Forestall-Incident: inc-%lld\r\n", (long long)n->incident_id);
    if (rc == 0)
        rc = fs_buf_puts(out, "\r\n");
    if (rc == 0)
        rc = fs_email_qp(fs_buf_str(&text), text.len, out);
    fs_buf_release(&subj);
    fs_buf_release(&text);
    if (rc == -FS_E_TOO_LARGE)
        return fs_err_set(err, FS_E_TOO_LARGE, NULL, "the message is larger than allowed");
    return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
}

/* ---- SMTP -------------------------------------------------------------------------------- */

int fs_tickets_timeout_ms(const json_t *conf, int64_t dflt, int64_t *out)
{
    const json_t *t = json_object_get(conf, "timeout_ms");
    *out = dflt;
    if (!t)
        return 0;
    if (!json_is_integer(t) || json_integer_value(t) < 100 || json_integer_value(t) > 600000)
        return -FS_E_CONFIG;
    *out = (int64_t)json_integer_value(t);
    return 0;
}

struct reader {
    const char *p;
    size_t left;
};

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
    struct reader *r = arg;
    size_t k = FS_MIN(size * n, r->left);
    memcpy(dst, r->p, k);
    r->p += k;
    r->left -= k;
    return k;
}

/* The error of a delivery, sanitized (no secret can be in it: libcurl's messages never repeat a
 * password, and the registered secrets are redacted anyway). */
void fs_tickets_fail(struct fs_notify_result *res, bool permanent, const char *fmt, ...)
{
    char raw[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    fs_utf8_cut(raw);
    char *clean = fs_sanitize_text(raw, strlen(raw), sizeof(res->error) - 64, NULL);
    fs_strlcpy(res->error, clean ? clean : "out of memory", sizeof(res->error));
    free(clean);
    for (char *p = res->error; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    res->permanent = permanent;
}

static int email_deliver(const json_t *conf, const struct fs_notice *n,
                         struct fs_notify_result *res, struct fs_err *err)
{
    memset(res, 0, sizeof(*res));
    int rc = fs_curl_init(err);
    if (rc < 0) {
        fs_tickets_fail(res, false, "%s", err ? err->msg : "cannot initialise libcurl");
        return rc;
    }
    const char *url = str_at(conf, "url"), *user = str_at(conf, "username");
    const json_t *pw = json_object_get(conf, "password");
    int64_t timeout;
    if (!url || (strncmp(url, "smtp://", 7) && strncmp(url, "smtps://", 8)) ||
        fs_tickets_timeout_ms(conf, DEFAULT_TIMEOUT_MS, &timeout) < 0 ||
        (pw && !json_is_string(pw))) {
        fs_tickets_fail(res, true, "email: the channel's configuration is not valid");
        return fs_err_set(err, FS_E_CONFIG, NULL, "%s", res->error);
    }
    struct fs_buf msg = FS_BUF_INIT(MAX_MESSAGE);
    if ((rc = fs_email_build(conf, n, fs_now_ms(), NULL, &msg, err)) < 0) {
        fs_tickets_fail(res, rc == -FS_E_CONFIG, "email: %s", err ? err->msg : "cannot build");
        fs_buf_release(&msg);
        return rc;
    }
    char from[300];
    snprintf(from, sizeof(from), "<%s>", str_at(conf, "from"));
    struct curl_slist *rcpt = NULL;
    size_t i;
    const json_t *a;
    bool nomem = false;
    json_array_foreach(json_object_get(conf, "to"), i, a)
    {
        char one[300];
        snprintf(one, sizeof(one), "<%s>", json_string_value(a));
        struct curl_slist *r2 = curl_slist_append(rcpt, one);
        if (!r2)
            nomem = true;
        else
            rcpt = r2;
    }
    CURL *c = nomem ? NULL : curl_easy_init();
    if (!c) {
        curl_slist_free_all(rcpt);
        fs_buf_release(&msg);
        fs_tickets_fail(res, false, "email: out of memory");
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    struct reader rd = {fs_buf_str(&msg), msg.len};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)FS_MIN(timeout, 10000));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &rd);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
    if (json_is_true(json_object_get(conf, "starttls")))
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (user && user[0]) {
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pw ? json_string_value(pw) : "");
    }
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(rcpt);
    fs_buf_release(&msg);
    if (cc == CURLE_OK)
        return 0;
    const char *why = ebuf[0] ? ebuf : curl_easy_strerror(cc);
    /* a 5xx reply (unknown mailbox, refused sender, authentication) or a configuration the
     * server cannot serve fails for good; 4xx and the network are worth another try */
    bool permanent = (code >= 500 && code < 600) || cc == CURLE_LOGIN_DENIED ||
                     cc == CURLE_USE_SSL_FAILED || cc == CURLE_URL_MALFORMAT ||
                     cc == CURLE_UNSUPPORTED_PROTOCOL;
    if (code > 0)
        fs_tickets_fail(res, permanent, "smtp: %s (last reply %ld)", why, code);
    else
        fs_tickets_fail(res, permanent, "smtp: %s", why);
    enum fs_errcode ec = cc == CURLE_OPERATION_TIMEDOUT ? FS_E_TIMEOUT
                         : cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST
                             ? FS_E_CONNECT
                             : FS_E_PROTOCOL;
    return fs_err_set(err, ec, NULL, "%s", res->error);
}

/* ---- configuration ----------------------------------------------------------------------- */

typedef void (*report_fn)(void *arg, const char *key, const char *msg);

/* A secret reference as the config writes one: {env: FORESTALL_NAME} or {file: PATH}. */
bool fs_tickets_secret_ref_ok(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 1)
        return false;
    const char *env = str_at(v, "env"), *file = str_at(v, "file");
    if (env)
        return strncmp(env, "FORESTALL_", 10) == 0 && env[10];
    return file && file[0];
}

static int email_check(const json_t *conf, report_fn report, void *arg)
{
    static const char *const known[] = {"url",      "from",     "to", "username",
                                        "password", "starttls", NULL};
    int problems = 0;
#define PROBLEM(key, msg) (problems++, report(arg, key, msg))
    if (!json_is_object(conf)) {
        PROBLEM("", "expected an object");
        return problems;
    }
    problems += fs_notify_unknown_keys(conf, "email", known, report, arg);
    const char *url = str_at(conf, "url");
    bool smtps = url && !strncmp(url, "smtps://", 8);
    if (!url || (!smtps && strncmp(url, "smtp://", 7)))
        PROBLEM("url", "expected smtp://HOST[:PORT] or smtps://HOST[:PORT]");
    else {
        CURLU *u = curl_url();
        char *host = NULL;
        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !host[0])
            PROBLEM("url", "not a valid URL with a host");
        curl_free(host);
        curl_url_cleanup(u);
    }
    if (!fs_email_addr_ok(str_at(conf, "from")))
        PROBLEM("from", "expected an email address (local@domain)");
    const json_t *to = json_object_get(conf, "to");
    if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > FS_EMAIL_MAX_RCPT)
        PROBLEM("to", "expected a list of 1 to 50 email addresses");
    else {
        size_t i;
        const json_t *v;
        json_array_foreach(to, i, v)
        {
            if (!fs_email_addr_ok(json_string_value(v)))
                PROBLEM("to", "every entry must be an email address (local@domain)");
        }
    }
    const json_t *user = json_object_get(conf, "username"), *pw = json_object_get(conf, "password");
    if (user && (!json_is_string(user) || !json_string_length(user) ||
                 strpbrk(json_string_value(user), "\r\n")))
        PROBLEM("username", "expected a non-empty string");
    if (pw && json_is_string(pw))
        PROBLEM("password", "a secret is not written in the config; use {env: FORESTALL_NAME} "
                            "or {file: PATH}");
    else if (pw && !fs_tickets_secret_ref_ok(pw))
        PROBLEM("password", "expected {env: FORESTALL_NAME} or {file: PATH}");
    if (user && !pw)
        PROBLEM("password", "username is set: the password is required too");
    if (pw && !user)
        PROBLEM("username", "password is set: the username is required too");
    const json_t *st = json_object_get(conf, "starttls");
    if (st && !json_is_boolean(st))
        PROBLEM("starttls", "expected true or false");
    else if (json_is_true(st) && smtps)
        PROBLEM("starttls", "smtps:// is TLS from the start; starttls applies to smtp:// only");
    int64_t ms;
    if (fs_tickets_timeout_ms(conf, DEFAULT_TIMEOUT_MS, &ms) < 0)
        PROBLEM("timeout_ms", "expected milliseconds between 100 and 600000");
#undef PROBLEM
    return problems;
}

const struct fs_channel_kind fs_channel_email = {
    .type = "email",
    .check = email_check,
    .deliver = email_deliver,
};
