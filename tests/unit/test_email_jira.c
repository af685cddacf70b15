/* Unit tests for the email and Jira channel kinds (src/notify/email.c, jira.c): addresses, the
 * RFC 2047 subject, quoted-printable (decoded back), the whole RFC 5322 message with header
 * injection attempts in every field that comes from data, the Jira create bodies (v3 with a valid
 * ADF description, v2 plain, project/issue type by key or id, labels, priority, the field
 * mapping), comment bodies, the mapping of Jira's answers, and the config checks of both kinds. */
#include "unit.h"

#include <jansson.h>

#include "core/buf.h"
#include "notify/notify.h"
#include "notify/tickets_int.h"

#define LINK "https://forestall.example/ui/#/incidents/inc-7"

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON: %s: %s", e.text, text);
    return v;
}

/* An escalation notice; title may carry an attack. */
static struct fs_notice notice(json_t **data, const char *event, const char *title)
{
    *data = json_pack("{s{sisssssss{ssss}ss} s{sisssss{ss}sssf} s{siss} s{ss}}", "incident", "id",
                      7, "title", title, "severity", "warning", "state", "escalated", "labels",
                      "alertname", "DiskFilling", "instance", "node1:9100", "summary",
                      "Disk / on node1 fills in ~4h.", "proposal", "id", 5, "action",
                      "journal.vacuum", "decision", "needs_approval", "target", "host", "node1",
                      "rationale", "The journal holds 3 GiB.", "score", 42.0, "execution", "id", 3,
                      "outcome", "failed", "postmortem", "summary",
                      "Root cause: a runaway journal.\nPermanent fix: cap SystemMaxUse.");
    assert_non_null(*data);
    struct fs_notice n = {.id = 11,
                          .event = event,
                          .incident_id = 7,
                          .proposal_id = 5,
                          .data = *data,
                          .link = LINK,
                          .ref = NULL};
    return n;
}

/* ---- addresses and headers ---------------------------------------------------------------- */

static void test_addr(void **state)
{
    assert_true(fs_email_addr_ok("ops@example.com"));
    assert_true(fs_email_addr_ok("first.last+tag@mail.example.co.uk"));
    static const char *const bad[] = {NULL,
                                      "",
                                      "ops",
                                      "@example.com",
                                      "ops@",
                                      "ops@@example.com",
                                      "a@b@example.com",
                                      "ops @example.com",
                                      "ops@example.com\r\nBcc: evil@example.net",
                                      "ops@example.com\nBcc: x@y.z",
                                      "<ops@example.com>",
                                      "ops@example.com>",
                                      "Ops <ops@example.com>",
                                      "ops@exa mple.com",
                                      "ops@.example.com",
                                      "ops@example..com",
                                      "o,ps@example.com",
                                      "ops@example.com."};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++)
        if (fs_email_addr_ok(bad[i]))
            fail_msg("accepted %s", bad[i] ? bad[i] : "NULL");
}

static int b64v(char c)
{
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(a, c);
    return c && p ? (int)(p - a) : -1;
}

/* Decode a header value made of RFC 2047 B words folded with CRLF SP. */
static char *decode_words(const char *s)
{
    struct fs_buf out = FS_BUF_INIT(0);
    while (*s) {
        if (!strncmp(s, "\r\n ", 3)) {
            s += 3;
            continue;
        }
        assert_int_equal(strncmp(s, "=?UTF-8?B?", 10), 0);
        s += 10;
        const char *end = strstr(s, "?=");
        assert_non_null(end);
        assert_true(end - s + 12 <= 75); /* a word is at most 75 characters */
        uint32_t acc = 0;
        int bits = 0;
        for (; s < end; s++) {
            if (*s == '=')
                continue;
            int v = b64v(*s);
            assert_true(v >= 0);
            acc = (acc << 6) | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                fs_buf_putc(&out, (char)((acc >> bits) & 0xff));
            }
        }
        s = end + 2;
    }
    return fs_buf_detach(&out, NULL);
}

static void test_header_text(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_email_header_text("Disk / fills", &b), 0);
    assert_string_equal(fs_buf_str(&b), "Disk / fills");

    fs_buf_reset(&b);
    assert_int_equal(fs_email_header_text("x\r\nBcc: evil@example.net\nX-A: 1", &b), 0);
    assert_null(strchr(fs_buf_str(&b), '\r'));
    assert_null(strchr(fs_buf_str(&b), '\n'));

    /* non-ASCII: encoded words that decode to the text, split on character boundaries */
    const char *u = "Füllstand kritisch – Datenträger / auf node1 läuft in ~4 h voll ✓✓✓ "
                    "日本語のタイトルも大丈夫";
    fs_buf_reset(&b);
    assert_int_equal(fs_email_header_text(u, &b), 0);
    for (const unsigned char *p = (const unsigned char *)fs_buf_str(&b); *p; p++)
        assert_true(*p < 0x80);
    char *back = decode_words(fs_buf_str(&b));
    assert_string_equal(back, u);
    free(back);

    /* an injection inside non-ASCII text cannot survive either */
    fs_buf_reset(&b);
    assert_int_equal(fs_email_header_text("é\r\nBcc: evil@example.net", &b), 0);
    back = decode_words(fs_buf_str(&b));
    assert_null(strchr(back, '\n'));
    assert_null(strchr(back, '\r'));
    free(back);
    fs_buf_release(&b);
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *qp_decode(const char *s)
{
    struct fs_buf out = FS_BUF_INIT(0);
    while (*s) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        } else if (s[0] == '=') {
            assert_true(hexv(s[1]) >= 0 && hexv(s[2]) >= 0);
            fs_buf_putc(&out, (char)(hexv(s[1]) * 16 + hexv(s[2])));
            s += 3;
        } else if (s[0] == '\r' && s[1] == '\n') {
            fs_buf_putc(&out, '\n');
            s += 2;
        } else {
            assert_true(*s != '\r' && *s != '\n'); /* bare CR or LF never appear */
            fs_buf_putc(&out, *s++);
        }
    }
    return fs_buf_detach(&out, NULL);
}

static void check_qp_lines(const char *s)
{
    const char *line = s;
    while (*line) {
        const char *end = strstr(line, "\r\n");
        assert_non_null(end);
        assert_true(end - line <= 76);
        if (end > line)
            assert_true(end[-1] != ' ' && end[-1] != '\t'); /* no trailing whitespace */
        for (const char *p = line; p < end; p++)
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
        assert_true(*line != '.'); /* a line never starts with a dot */
        line = end + 2;
    }
}

static void test_qp(void **state)
{
    const char *texts[] = {
        "short line\n",
        "a=b and trailing space \nnext\t\n.leading dot\n..two\n",
        "Überlänge: äöü ÄÖÜ ß € 日本 — "
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789\nno final newline",
        "=================================================================================\n",
        "0123456789012345678901234567890123456789012345678901234567890123456789012345.x\n",
        "\n\n",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(texts); i++) {
        struct fs_buf b = FS_BUF_INIT(0);
        assert_int_equal(fs_email_qp(texts[i], strlen(texts[i]), &b), 0);
        check_qp_lines(fs_buf_str(&b));
        char *back = qp_decode(fs_buf_str(&b));
        size_t tl = strlen(texts[i]);
        bool nl = tl && texts[i][tl - 1] == '\n';
        if (nl)
            assert_string_equal(back, texts[i]);
        else { /* a final line end is added */
            assert_int_equal(strlen(back), tl + 1);
            assert_memory_equal(back, texts[i], tl);
        }
        free(back);
        fs_buf_release(&b);
    }
}

/* ---- the whole message ------------------------------------------------------------------- */

/* Headers of a message: every line before the blank line; each must be a known field or a
 * continuation (starting with a space). */
static void check_headers(const char *msg, const char *const *allowed, size_t nallowed)
{
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    const char *line = msg;
    while (line < end + 2) {
        const char *eol = strstr(line, "\r\n");
        assert_non_null(eol);
        for (const char *p = line; p < eol; p++)
            assert_true(*p != '\r' && *p != '\n' && (unsigned char)*p < 0x80);
        if (*line != ' ') {
            bool ok = false;
            for (size_t i = 0; i < nallowed && !ok; i++)
                ok = !strncmp(line, allowed[i], strlen(allowed[i]));
            if (!ok)
                fail_msg("unexpected header line: %.*s", (int)(eol - line), line);
        }
        assert_true(eol - line <= 998);
        line = eol + 2;
    }
}

static const char *const HEADERS[] = {"Date: ",
                                      "From: ",
                                      "To: ",
                                      "Subject: ",
                                      "Message-ID: ",
                                      "References: ",
                                      "MIME-Version: 1.0",
                                      "Content-Type: text/plain; charset=UTF-8",
                                      "Content-Transfer-Encoding: quoted-printable",
                                      "Auto-Submitted: auto-generated",
                                      "X-Forestall-Event: ",
                                      "X-Forestall-Incident: "};

static void test_message(void **state)
{
    json_t *conf = load("{\"from\":\"forestall@example.com\","
                        "\"to\":[\"ops@example.com\",\"sre@example.org\"]}");
    json_t *data;
    struct fs_notice n =
        notice(&data, "escalation", "Disk / on node1\r\nBcc: evil@example.net\r\n\r\nbody");
    struct fs_buf m = FS_BUF_INIT(0);
    struct fs_err err = {0};
    /* 2026-11-21T10:43:25Z, a Saturday */
    assert_int_equal(fs_email_build(conf, &n, 1795257805000LL, "tok42", &m, &err), 0);
    const char *s = fs_buf_str(&m);
    check_headers(s, HEADERS, FS_ARRAY_LEN(HEADERS));
    assert_non_null(strstr(s, "Date: Sat, 21 Nov 2026 10:43:25 +0000\r\n"));
    assert_non_null(strstr(s, "From: forestall <forestall@example.com>\r\n"));
    assert_non_null(strstr(s, "To: <ops@example.com>,\r\n <sre@example.org>\r\n"));
    assert_non_null(strstr(s, "Message-ID: <forestall.11.tok42@example.com>\r\n"));
    assert_non_null(strstr(s, "References: <forestall.incident.7@example.com>\r\n"));
    assert_non_null(strstr(s, "X-Forestall-Event: escalation\r\n"));
    assert_non_null(strstr(s, "X-Forestall-Incident: inc-7\r\n"));
    assert_null(strstr(s, "\r\nBcc:"));
    assert_non_null(strstr(
        s, "Subject: [forestall] Escalated to people: Disk / on node1 Bcc: evil@example.net  "
           "body (inc-7)\r\n"));
    /* the body: readable text with the deep link (QP-decoded) */
    char *body = qp_decode(strstr(s, "\r\n\r\n") + 4);
    assert_non_null(strstr(body, "Escalated to people: Disk / on node1"));
    assert_non_null(strstr(body, "Open in forestall: " LINK "\n"));
    assert_non_null(
        strstr(body, "Root cause: a runaway journal.\nPermanent fix: cap SystemMaxUse."));
    assert_non_null(strstr(body, "Proposal #5: journal.vacuum on node1"));
    assert_non_null(strstr(body, "Gate: needs_approval (risk score 42)"));
    assert_non_null(strstr(body, "Execution #3: failed"));
    assert_non_null(strstr(body, "Severity: warning\nState: escalated\n"));
    assert_non_null(strstr(body, "Summary: Disk / on node1 fills in ~4h.\n"));
    assert_non_null(strstr(body, "Labels: alertname=DiskFilling instance=node1:9100\n"));
    free(body);
    json_decref(data);

    /* a non-ASCII title: the subject is encoded, the body is UTF-8 quoted-printable */
    n = notice(&data, "resolution", "Datenträger voll – node1");
    fs_buf_reset(&m);
    assert_int_equal(fs_email_build(conf, &n, 1795257805000LL, NULL, &m, &err), 0);
    s = fs_buf_str(&m);
    check_headers(s, HEADERS, FS_ARRAY_LEN(HEADERS));
    const char *subj = strstr(s, "Subject: ") + 9;
    assert_int_equal(strncmp(subj, "=?UTF-8?B?", 10), 0);
    const char *hend = subj;
    while ((hend = strstr(hend, "\r\n")) && hend[2] == ' ')
        hend += 2;
    char *hdr = strndup(subj, (size_t)(hend - subj));
    char *dec = decode_words(hdr);
    assert_string_equal(dec, "[forestall] Resolved: Datenträger voll – node1 (inc-7)");
    free(dec);
    free(hdr);
    body = qp_decode(strstr(s, "\r\n\r\n") + 4);
    assert_non_null(strstr(body, "Resolved: Datenträger voll – node1"));
    free(body);
    json_decref(data);

    /* a hostile event name never reaches a header as written */
    n = notice(&data, "escalation\r\nBcc: evil@example.net", "t");
    fs_buf_reset(&m);
    assert_int_equal(fs_email_build(conf, &n, 1795257805000LL, "a\r\nb", &m, &err), 0);
    check_headers(fs_buf_str(&m), HEADERS, FS_ARRAY_LEN(HEADERS));
    assert_non_null(strstr(fs_buf_str(&m), "X-Forestall-Event: notice\r\n"));
    assert_non_null(strstr(fs_buf_str(&m), "Message-ID: <forestall.11.ab@example.com>"));
    json_decref(data);

    /* addresses are checked again when building: a bad one is a config error, not a header */
    json_t *bad = load("{\"from\":\"forestall@example.com\","
                       "\"to\":[\"ops@example.com\\r\\nBcc: evil@example.net\"]}");
    n = notice(&data, "escalation", "t");
    fs_buf_reset(&m);
    assert_int_equal(fs_email_build(bad, &n, 0, NULL, &m, &err), -FS_E_CONFIG);
    json_decref(bad);
    json_decref(data);
    json_decref(conf);
    fs_buf_release(&m);
}

/* ---- Jira -------------------------------------------------------------------------------- */

/* ADF as Jira accepts it: doc version 1, paragraphs of non-empty text nodes and hardBreaks, link
 * marks with an href. */
static void check_adf(const json_t *doc)
{
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "doc");
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
    const json_t *content = json_object_get(doc, "content");
    assert_true(json_is_array(content) && json_array_size(content) > 0);
    size_t i, j, k;
    const json_t *p, *t, *mk;
    json_array_foreach(content, i, p)
    {
        assert_string_equal(json_string_value(json_object_get(p, "type")), "paragraph");
        const json_t *inl = json_object_get(p, "content");
        assert_true(json_is_array(inl) && json_array_size(inl) > 0);
        json_array_foreach(inl, j, t)
        {
            const char *type = json_string_value(json_object_get(t, "type"));
            assert_non_null(type);
            if (!strcmp(type, "hardBreak")) {
                assert_int_equal(json_object_size(t), 1);
                continue;
            }
            assert_string_equal(type, "text");
            const char *text = json_string_value(json_object_get(t, "text"));
            assert_true(text && text[0]);
            json_array_foreach(json_object_get(t, "marks"), k, mk)
            {
                assert_string_equal(json_string_value(json_object_get(mk, "type")), "link");
                assert_non_null(
                    json_string_value(json_object_get(json_object_get(mk, "attrs"), "href")));
            }
        }
    }
}

/* All text of an ADF document, paragraphs separated by \n\n, hardBreaks by \n. */
static void adf_flatten(const json_t *doc, struct fs_buf *out)
{
    size_t i, j;
    const json_t *p, *t;
    json_array_foreach(json_object_get(doc, "content"), i, p)
    {
        json_array_foreach(json_object_get(p, "content"), j, t)
        {
            const char *text = json_string_value(json_object_get(t, "text"));
            fs_buf_puts(out, text ? text : "\n");
        }
        fs_buf_puts(out, "\n\n");
    }
}

static void test_adf(void **state)
{
    json_t *d = fs_jira_adf("first line\nsecond line\n\n\n\nnext paragraph\n", "https://x.y/#/a");
    check_adf(d);
    const json_t *c = json_object_get(d, "content");
    assert_int_equal(json_array_size(c), 3);
    const json_t *p0 = json_object_get(json_array_get(c, 0), "content");
    assert_int_equal(json_array_size(p0), 3); /* text, hardBreak, text */
    assert_string_equal(json_string_value(json_object_get(json_array_get(p0, 1), "type")),
                        "hardBreak");
    const json_t *linkp = json_object_get(json_array_get(c, 2), "content");
    const json_t *lt = json_array_get(linkp, 1);
    assert_string_equal(json_string_value(json_object_get(lt, "text")), "https://x.y/#/a");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(lt, "marks"), 0), "attrs"), "href")),
        "https://x.y/#/a");
    json_decref(d);
    /* nothing to say still makes a valid document */
    d = fs_jira_adf("\n\n", NULL);
    check_adf(d);
    json_decref(d);
}

static const char *JIRA3 =
    "{\"url\":\"https://acme.atlassian.net/\",\"api_version\":3,\"auth\":\"basic\","
    "\"email\":\"bot@acme.com\",\"token\":{\"env\":\"FORESTALL_JIRA_TOKEN\"},\"project\":\"OPS\","
    "\"issue_type\":\"Bug\",\"labels\":[\"sre\",\"forestall\"],\"priority\":\"High\","
    "\"fields\":{\"customfield_10010\":{\"value\":\"infra\"},\"components\":[{\"name\":\"disk\"}]}"
    "}";

static void test_create_v3(void **state)
{
    json_t *conf = load(JIRA3), *data, *body = NULL;
    struct fs_notice n = notice(&data, "escalation", "Disk / on node1 fills\nin 4h");
    struct fs_err err = {0};
    assert_int_equal(fs_jira_create_body(conf, &n, &body, &err), 0);
    const json_t *f = json_object_get(body, "fields");
    assert_int_equal(json_object_size(body), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(f, "project"), "key")),
                        "OPS");
    assert_string_equal(json_string_value(json_object_get(f, "summary")),
                        "inc-7: Disk / on node1 fills in 4h");
    assert_string_equal(json_string_value(json_object_get(json_object_get(f, "issuetype"), "name")),
                        "Bug");
    assert_string_equal(json_string_value(json_object_get(json_object_get(f, "priority"), "name")),
                        "High");
    assert_int_equal(json_array_size(json_object_get(f, "labels")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f, "customfield_10010"), "value")),
        "infra");
    assert_true(json_is_array(json_object_get(f, "components")));
    const json_t *desc = json_object_get(f, "description");
    check_adf(desc);
    struct fs_buf flat = FS_BUF_INIT(0);
    adf_flatten(desc, &flat);
    const char *t = fs_buf_str(&flat);
    assert_non_null(strstr(t, "permanent fix for incident inc-7"));
    assert_non_null(strstr(t, "Root cause: a runaway journal.\nPermanent fix: cap SystemMaxUse."));
    assert_non_null(strstr(t, "Execution #3: failed"));
    assert_non_null(strstr(t, "Open in forestall: " LINK));
    fs_buf_release(&flat);
    /* the link is a link mark on the last paragraph */
    const json_t *c = json_object_get(desc, "content");
    const json_t *last = json_object_get(json_array_get(c, json_array_size(c) - 1), "content");
    assert_non_null(json_object_get(json_array_get(last, 1), "marks"));
    json_decref(body);

    /* a comment on a later notice */
    n.event = "resolution";
    n.ref = "OPS-24";
    assert_int_equal(fs_jira_comment_body(conf, &n, &body, &err), 0);
    assert_int_equal(json_object_size(body), 1);
    check_adf(json_object_get(body, "body"));
    json_decref(body);
    json_decref(data);
    json_decref(conf);
}

static void test_create_v2(void **state)
{
    json_t *conf = load("{\"url\":\"https://jira.acme.com\",\"api_version\":2,\"auth\":\"bearer\","
                        "\"token\":{\"env\":\"FORESTALL_JIRA_PAT\"},\"project\":\"10000\","
                        "\"issue_type\":\"10002\","
                        "\"fields\":{\"summary\":\"ignored\",\"customfield_1\":\"x\"}}");
    json_t *data, *body = NULL;
    struct fs_notice n = notice(&data, "escalation", "Disk fills");
    struct fs_err err = {0};
    assert_int_equal(fs_jira_create_body(conf, &n, &body, &err), 0);
    const json_t *f = json_object_get(body, "fields");
    assert_string_equal(json_string_value(json_object_get(json_object_get(f, "project"), "id")),
                        "10000");
    assert_string_equal(json_string_value(json_object_get(json_object_get(f, "issuetype"), "id")),
                        "10002");
    assert_string_equal(json_string_value(json_object_get(f, "summary")), "inc-7: Disk fills");
    assert_string_equal(json_string_value(json_object_get(f, "customfield_1")), "x");
    assert_null(json_object_get(f, "priority"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(f, "labels"), 0)),
                        "forestall");
    const char *d = json_string_value(json_object_get(f, "description"));
    assert_non_null(d);
    assert_non_null(strstr(d, "Permanent fix: cap SystemMaxUse."));
    assert_non_null(strstr(d, "Open in forestall: " LINK));
    json_decref(body);
    n.ref = "OPS-24";
    n.event = "resolution";
    assert_int_equal(fs_jira_comment_body(conf, &n, &body, &err), 0);
    assert_non_null(strstr(json_string_value(json_object_get(body, "body")), "Resolved: "));
    json_decref(body);

    /* a summary longer than Jira takes is cut on a character boundary */
    json_decref(data);
    char longt[600];
    for (size_t i = 0; i + 2 < sizeof(longt); i += 2)
        memcpy(longt + i, "é", 2);
    longt[sizeof(longt) - 2] = '\0';
    n = notice(&data, "escalation", longt);
    assert_int_equal(fs_jira_create_body(conf, &n, &body, &err), 0);
    const char *s = json_string_value(json_object_get(json_object_get(body, "fields"), "summary"));
    assert_non_null(s); /* jansson refuses invalid UTF-8: a cut character would make it NULL */
    assert_true(strlen(s) <= FS_JIRA_SUMMARY_MAX);
    json_decref(body);
    json_decref(data);
    json_decref(conf);
}

static void test_responses(void **state)
{
    struct fs_notify_result r;
    struct fs_err err;
    const char *ok =
        "{\"id\":\"10000\",\"key\":\"OPS-24\",\"self\":\"https://x/rest/api/3/issue/1\"}";
    memset(&r, 0, sizeof(r));
    assert_int_equal(fs_jira_map_response(201, ok, strlen(ok), true, NULL, &r, &err), 0);
    assert_string_equal(r.ref, "OPS-24");
    memset(&r, 0, sizeof(r));
    assert_int_equal(fs_jira_map_response(201, "{}", 2, false, "OPS-24", &r, &err), 0);
    assert_string_equal(r.ref, "OPS-24");

    memset(&r, 0, sizeof(r));
    assert_true(fs_jira_map_response(201, "{\"id\":\"1\"}", 10, true, NULL, &r, &err) < 0);
    assert_true(r.permanent);

    const char *e400 = "{\"errorMessages\":[\"Field 'x' cannot be set\"],"
                       "\"errors\":{\"summary\":\"You must specify a summary of the issue.\","
                       "\"customfield_1\":\"bad \\u001b[31mvalue\"}}";
    memset(&r, 0, sizeof(r));
    assert_int_equal(fs_jira_map_response(400, e400, strlen(e400), true, NULL, &r, &err),
                     -FS_E_PROTOCOL);
    assert_true(r.permanent);
    assert_non_null(strstr(r.error, "HTTP 400"));
    assert_non_null(strstr(r.error, "Field 'x' cannot be set"));
    assert_non_null(strstr(r.error, "summary: You must specify a summary of the issue."));
    assert_null(strchr(r.error, '\x1b'));
    assert_null(strchr(r.error, '\n'));

    struct {
        long status;
        bool permanent;
        int rc;
    } cases[] = {{401, true, -FS_E_UNAUTHORIZED}, {403, true, -FS_E_FORBIDDEN},
                 {404, true, -FS_E_NOT_FOUND},    {409, true, -FS_E_PROTOCOL},
                 {302, true, -FS_E_PROTOCOL},     {408, false, -FS_E_PROTOCOL},
                 {429, false, -FS_E_PROTOCOL},    {500, false, -FS_E_PROTOCOL},
                 {503, false, -FS_E_PROTOCOL}};
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        memset(&r, 0, sizeof(r));
        assert_int_equal(fs_jira_map_response(cases[i].status, "oops", 4, i % 2, "OPS-1", &r, &err),
                         cases[i].rc);
        assert_int_equal(r.permanent, cases[i].permanent);
        assert_true(r.error[0]);
        assert_string_equal(r.ref, "");
    }
}

static void test_key(void **state)
{
    assert_true(fs_jira_key_ok("OPS-24"));
    assert_true(fs_jira_key_ok("10000"));
    assert_false(fs_jira_key_ok(""));
    assert_false(fs_jira_key_ok(NULL));
    assert_false(fs_jira_key_ok("-1"));
    assert_false(fs_jira_key_ok("OPS-1/../../admin"));
    assert_false(fs_jira_key_ok("OPS 1"));
    assert_false(fs_jira_key_ok("OPS-1?x=1"));
}

/* ---- config checks ------------------------------------------------------------------------ */

struct problems {
    int n;
    char keys[256];
};

static void on_problem(void *arg, const char *key, const char *msg)
{
    struct problems *p = arg;
    p->n++;
    size_t l = strlen(p->keys);
    snprintf(p->keys + l, sizeof(p->keys) - l, "%s;", key);
    assert_non_null(msg);
}

struct check_case {
    const char *conf;
    const char *keys; /* the keys reported, in order ("" = none) */
};

static void run_checks(const struct fs_channel_kind *k, const struct check_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *conf = load(c[i].conf);
        struct problems p = {0};
        int got = k->check(conf, on_problem, &p);
        if (strcmp(p.keys, c[i].keys) != 0 || got != p.n)
            fail_msg("%s check %zu: reported \"%s\" (returned %d), want \"%s\"", k->type, i, p.keys,
                     got, c[i].keys);
        json_decref(conf);
    }
}

static void test_checks(void **state)
{
#define MAIL "\"from\":\"f@example.com\",\"to\":[\"a@b.cd\"]"
    static const struct check_case mail[] = {
        {"{\"name\":\"mail\",\"type\":\"email\",\"events\":[\"escalation\"],"
         "\"url\":\"smtp://mail.example.com:587\"," MAIL ",\"username\":\"f\","
         "\"password\":{\"env\":\"FORESTALL_SMTP_PASSWORD\"},\"starttls\":true,\"timeout_ms\":"
         "20000}",
         ""},
        {"{\"url\":\"smtps://mail.example.com\"," MAIL "}", ""},
        {"{\"url\":\"http://mail.example.com\"," MAIL "}", "url;"},
        {"{\"url\":\"smtp://x\",\"from\":\"f@example.com\",\"to\":[]}", "to;"},
        {"{\"url\":\"smtp://x\",\"from\":\"f@example.com\",\"to\":[\"a@b.cd\\nBcc: e@x.y\"]}",
         "to;"},
        {"{\"url\":\"smtp://x\",\"from\":\"F <f@example.com>\",\"to\":[\"a@b.cd\"]}", "from;"},
        {"{\"url\":\"smtp://x\"," MAIL ",\"username\":\"u\",\"password\":\"plain\"}", "password;"},
        {"{\"url\":\"smtp://x\"," MAIL ",\"username\":\"u\"}", "password;"},
        {"{\"url\":\"smtps://x\"," MAIL ",\"starttls\":true}", "starttls;"},
        {"{\"url\":\"smtp://x\"," MAIL ",\"timeout\":\"1s\"}", "timeout;"},
        {"{\"url\":\"smtp://x\"," MAIL ",\"timeout_ms\":5}", "timeout_ms;"},
    };
    run_checks(&fs_channel_email, mail, FS_ARRAY_LEN(mail));
#define TOK "\"token\":{\"env\":\"FORESTALL_JIRA_TOKEN\"}"
    static const struct check_case jira[] = {
        {NULL, ""}, /* JIRA3, filled below */
        {"{\"url\":\"https://jira.acme.com\",\"api_version\":2,\"auth\":\"bearer\"," TOK
         ",\"project\":\"10000\"}",
         ""},
        {"{\"url\":\"ftp://jira\",\"email\":\"a@b.c\"," TOK ",\"project\":\"OPS\"}", "url;"},
        {"{\"url\":\"https://j\",\"api_version\":4,\"email\":\"a@b.c\"," TOK
         ",\"project\":\"OPS\"}",
         "api_version;"},
        {"{\"url\":\"https://j\"," TOK ",\"project\":\"OPS\"}", "email;"},
        {"{\"url\":\"https://j\",\"auth\":\"bearer\",\"email\":\"a@b.c\"," TOK
         ",\"project\":\"OPS\"}",
         "email;"},
        {"{\"url\":\"https://j\",\"email\":\"a@b.c\",\"token\":\"abc\",\"project\":\"OPS\"}",
         "token;"},
        {"{\"url\":\"https://j\",\"email\":\"a@b.c\"," TOK "}", "project;"},
        {"{\"url\":\"https://j\",\"email\":\"a@b.c\"," TOK
         ",\"project\":\"OPS\",\"labels\":[\"has space\"]}",
         "labels;"},
        {"{\"url\":\"https://j\",\"email\":\"a@b.c\"," TOK
         ",\"project\":\"OPS\",\"fields\":{\"summary\":\"x\"}}",
         "fields;"},
        {"{\"url\":\"https://j\",\"auth\":\"oauth\",\"email\":\"a@b.c\"," TOK
         ",\"project\":\"OPS\"}",
         "auth;"},
    };
    struct check_case j[FS_ARRAY_LEN(jira)];
    memcpy(j, jira, sizeof(j));
    j[0].conf = JIRA3;
    run_checks(&fs_channel_jira, j, FS_ARRAY_LEN(j));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr),      cmocka_unit_test(test_header_text),
        cmocka_unit_test(test_qp),        cmocka_unit_test(test_message),
        cmocka_unit_test(test_adf),       cmocka_unit_test(test_create_v3),
        cmocka_unit_test(test_create_v2), cmocka_unit_test(test_responses),
        cmocka_unit_test(test_key),       cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
