/* Slack: the channel kind (Block Kit messages over an incoming webhook or the Web API's
 * chat.postMessage) and the pure pieces of the inbound side (request signatures, the replay and
 * event-id guards, interactivity payloads, Events API callbacks, thread replies). The HTTP routes
 * that use them are in src/intake/api_slack.c; docs/slack.md is the user's page. */
#ifndef FS_SLACK_H
#define FS_SLACK_H

#include "core/common.h"

#include <jansson.h>
#include <pthread.h>

#include "core/err.h"
#include "notify/notify.h"

extern const struct fs_channel_kind fs_channel_slack;

/* How far X-Slack-Request-Timestamp may be from now, either way (protocols.md §7.2). */
#define FS_SLACK_MAX_SKEW_S 300
#define FS_SLACK_DEFAULT_API "https://slack.com/api"

/* "v0=" + hex HMAC-SHA256(secret, "v0:" + ts + ":" + body) into out (at least 68 bytes). */
int fs_slack_sign(const char *secret, size_t secret_len, const char *ts, const void *body,
                  size_t len, char *out, size_t size);

/* Slack's request signature, exactly as protocols.md §7.2: the timestamp within
 * FS_SLACK_MAX_SKEW_S of now_s, then the signature over the raw body compared in constant time.
 * 0 when authentic; -FS_E_UNAUTHORIZED with the reason in err otherwise. Call before parsing. */
int fs_slack_verify(const char *secret, size_t secret_len, const char *ts_header,
                    const char *sig_header, const void *body, size_t len, int64_t now_s,
                    struct fs_err *err);

/* A bounded set of keys seen recently (signatures, event ids), thread-safe. A key is
 * remembered for window_s; when the set is full the oldest entry is forgotten. */
#define FS_SLACK_SEEN_MAX 4096
struct fs_slack_seen {
    pthread_mutex_t mu;
    struct {
        char key[72]; /* "" when free */
        int64_t at;
    } e[FS_SLACK_SEEN_MAX];
    size_t next; /* ring position */
};
#define FS_SLACK_SEEN_INIT                                                                         \
    {                                                                                              \
        .mu = PTHREAD_MUTEX_INITIALIZER                                                            \
    }
/* true: key is new (now remembered); false: seen within window_s (a replay or a duplicate). */
bool fs_slack_seen_add(struct fs_slack_seen *s, const char *key, int64_t now_s, int64_t window_s);

/* Percent-decode an application/x-www-form-urlencoded value ('+' is a space) of len bytes
 * into a new NUL-terminated string (caller frees); NULL on a malformed escape or NUL byte. */
char *fs_form_decode(const char *s, size_t len);
/* The decoded value of field `name` in a form-encoded body (caller frees), or NULL. */
char *fs_form_field(const char *body, size_t len, const char *name);

/* What a button click asks for. */
enum fs_slack_verb { FS_SLACK_NONE, FS_SLACK_APPROVE, FS_SLACK_REJECT, FS_SLACK_FORCE };
const char *fs_slack_verb_name(enum fs_slack_verb v); /* "approve", "reject", "force_override" */

/* An interactivity callback (type block_actions), from the raw form body. */
struct fs_slack_action {
    enum fs_slack_verb verb; /* FS_SLACK_NONE: a click that decides nothing (a link button) */
    int64_t proposal_id;     /* from the button's value "prop-N" */
    char user_id[64];
    char user_name[96];
    char team_id[64];
    char channel_id[64];
    char message_ts[64];
    char response_url[1024];
};
/* 0, or -FS_E_INVALID_PAYLOAD with the reason in err. */
int fs_slack_parse_interaction(const char *body, size_t len, struct fs_slack_action *out,
                               struct fs_err *err);

/* An Events API request (JSON). */
enum fs_slack_event_kind {
    FS_SLACK_EV_IGNORE,    /* nothing to do (another event, a bot's message, an edit, ...) */
    FS_SLACK_EV_CHALLENGE, /* url_verification: answer challenge */
    FS_SLACK_EV_REPLY,     /* a reply in a thread that says APPROVE or FORCE_OVERRIDE */
};
struct fs_slack_event {
    enum fs_slack_event_kind kind;
    enum fs_slack_verb verb; /* REPLY: FS_SLACK_APPROVE or FS_SLACK_FORCE */
    char challenge[256];
    char event_id[72];
    char user_id[64];
    char channel_id[64];
    char thread_ts[64];
    char ts[64];
};
int fs_slack_parse_event(const char *body, size_t len, struct fs_slack_event *out,
                         struct fs_err *err);

/* A thread reply's text → FS_SLACK_APPROVE for "APPROVE", FS_SLACK_FORCE for
 * "FORCE_OVERRIDE", FS_SLACK_NONE otherwise: the whole message, surrounding white space
 * ignored, upper case exactly (a deliberate word, never part of a conversation). */
enum fs_slack_verb fs_slack_reply_verb(const char *text);

/* The message for a notice: {"text": fallback, "blocks": [...]}. New reference or NULL. */
json_t *fs_slack_message(const struct fs_notice *n);

/* Slack mrkdwn text escaping (&, <, >) of at most max bytes of s (cut at a UTF-8 boundary,
 * "…" appended when cut) into a new string (caller frees). */
char *fs_slack_escape(const char *s, size_t max);

/* Post a JSON body to a Slack URL (a response_url, or api_url + "/chat.postMessage" with
 * token). Web API answers {"ok":false,"error":...} are errors. *ts gets the message ts when
 * the answer has one (may be NULL). Used by deliver and by the inbound follow-ups. */
int fs_slack_post(const char *url, const char *token, const json_t *body, char *ts, size_t ts_size,
                  struct fs_notify_result *res, struct fs_err *err);

#endif
