/* The email and Jira channel kinds' pure parts, for their unit tests: the readable text of a
 * notice, the RFC 5322 message, the Jira request bodies (Cloud v3 with ADF, Data Center v2 plain)
 * and the mapping of Jira's answers. Private to src/notify/email.c and src/notify/jira.c. */
#ifndef FS_NOTIFY_TICKETS_INT_H
#define FS_NOTIFY_TICKETS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "notify/notify.h"

#define FS_EMAIL_MAX_RCPT 50
#define FS_JIRA_SUMMARY_MAX 255 /* Jira refuses a longer summary */

extern const struct fs_channel_kind fs_channel_email;
extern const struct fs_channel_kind fs_channel_jira;

/* ---- shared helpers (email.c) ------------------------------------------------------------- */

/* The channel's "timeout_ms" (100..600000; dflt when absent); -FS_E_CONFIG if bad. */
int fs_tickets_timeout_ms(const json_t *conf, int64_t dflt, int64_t *out);
/* res->error = the formatted message, sanitized, one line; res->permanent = permanent. */
void fs_tickets_fail(struct fs_notify_result *res, bool permanent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* {env: FORESTALL_NAME} or {file: PATH}, as the configuration writes a secret. */
bool fs_tickets_secret_ref_ok(const json_t *v);

/* ---- the notice as text (email.c) ------------------------------------------------- */

/* One line saying what happened ("Approval needed: journal.vacuum on node1"), sanitized, no
 * control characters, at most about 200 bytes. Caller frees; NULL when out of memory. */
char *fs_notice_headline(const struct fs_notice *n);
/* The notice as readable plain text (\n line ends): the headline, the incident, the proposal and
 * the gate's reasons, the decision, the execution, the post-mortem summary and the deep link.
 * Every value from data is sanitized. Appends to out. */
int fs_notice_text(const struct fs_notice *n, struct fs_buf *out);

/* ---- email.c ----------------------------------------------------------------------------- */

/* A bare address (local@domain) safe to put in a header and an SMTP command: printable ASCII,
 * no space, no <>()[],;:"\ and exactly one @ before a dotted domain. */
bool fs_email_addr_ok(const char *s);
/* The whole message (headers CRLF, blank line, quoted-printable UTF-8 body) for conf (from, to)
 * and n at now_ms. token makes the Message-ID unique (NULL: random). */
int fs_email_build(const json_t *conf, const struct fs_notice *n, int64_t now_ms, const char *token,
                   struct fs_buf *out, struct fs_err *err);
/* Quoted-printable (RFC 2045 §6.7) of text with \n line ends: CRLF lines of at most 76 columns. */
int fs_email_qp(const char *text, size_t len, struct fs_buf *out);
/* "Subject: ..." value: text with controls replaced by spaces; RFC 2047 encoded words (UTF-8,
 * base64, folded) when it holds any non-ASCII byte. Appends to out. */
int fs_email_header_text(const char *text, struct fs_buf *out);

/* ---- jira.c ------------------------------------------------------------------------------ */

/* An Atlassian Document Format document of text: one paragraph per blank-line-separated block,
 * lines within joined by hardBreak nodes, no empty text node; link (may be NULL) appended as a
 * paragraph whose text carries a link mark. New reference; NULL when out of memory. */
json_t *fs_jira_adf(const char *text, const char *link);
/* The create-issue body {"fields": {...}} for conf and n (api_version 2: plain description;
 * 3: ADF). New reference in *out. */
int fs_jira_create_body(const json_t *conf, const struct fs_notice *n, json_t **out,
                        struct fs_err *err);
/* The comment body {"body": ...} for a later notice. */
int fs_jira_comment_body(const json_t *conf, const struct fs_notice *n, json_t **out,
                         struct fs_err *err);
/* An issue key or id safe in a path: [A-Za-z0-9_-]{1,64} with no leading '-'. */
bool fs_jira_key_ok(const char *s);
/* Jira's answer to a create (create=true) or comment: 0 when accepted (res->ref = the issue key
 * for a create, key for a comment), <0 with res->error and res->permanent otherwise. */
int fs_jira_map_response(long status, const char *body, size_t len, bool create, const char *key,
                         struct fs_notify_result *res, struct fs_err *err);

#endif
