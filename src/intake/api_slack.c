/* api_slack: Slack's inbound requests — button clicks (interactivity) and thread replies
 * (Events API). The request signature is the authentication (Slack cannot send a bearer
 * token): it is verified over the raw body before anything is parsed, a signature is accepted
 * once, the Slack user is mapped to a forestall identity through the channel's `users`, and the
 * decision goes to the safety service on the writer exactly as an API approval does (role, no
 * self-approval, expiry, action hash, FORCE_OVERRIDE), recorded with channel "slack". Slack is
 * answered 200 at once; the outcome is posted back (response_url or the thread) from a
 * short-lived thread. No approval rule lives here. */
#include "core/common.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "intake/http_int.h"
#include "intake/metrics.h"
#include "notify/slack.h"
#include "store/store.h"

/* Signatures are remembered for twice the timestamp window (a timestamp may be up to the
 * window ahead or behind), event ids for an hour (Slack retries within minutes). */
static struct fs_slack_seen seen_signatures = FS_SLACK_SEEN_INIT;
static struct fs_slack_seen seen_events = FS_SLACK_SEEN_INIT;
#define EVENT_WINDOW_S 3600
/* At most this many follow-up posts in flight; beyond, the outcome is only in the audit. */
#define MAX_FOLLOWUPS 32
static atomic_int followups;

/* One Slack channel of notify.channels, with its secrets resolved (private copies). */
struct chan {
    json_t *conf; /* the definition with its secrets resolved (fs_notify_resolve_secrets) */
    const char *name;
    const char *bot_token; /* NULL: an incoming webhook (no way to answer in a thread) */
    char api_url[512];
};

static void chan_release(struct chan *c)
{
    /* the resolved secrets live in conf: wipe them before it goes */
    static const char *const secrets[] = {"signing_secret", "bot_token", "webhook_url"};
    for (size_t i = 0; i < FS_ARRAY_LEN(secrets); i++) {
        const char *v = json_string_value(json_object_get(c->conf, secrets[i]));
        if (v)
            explicit_bzero((char *)v, strlen(v));
    }
    json_decref(c->conf);
    memset(c, 0, sizeof(*c));
}

/* Find the Slack channel whose signing secret authenticates this request. 0 with *c filled;
 * -FS_E_NOT_FOUND when no Slack channel has a signing secret (the endpoint is off);
 * -FS_E_UNAUTHORIZED otherwise. */
static int authenticate(struct req *r, struct chan *c, struct fs_err *err)
{
    const char *ts =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Slack-Request-Timestamp");
    const char *sig = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Slack-Signature");
    int64_t now = fs_now_ms() / 1000;
    int rc = fs_err_set(err, FS_E_NOT_FOUND, NULL,
                        "Slack is not enabled (no slack channel has a signing_secret)");
    struct fs_config *cfg = fs_config_acquire();
    for (size_t i = 0; i < cfg->notify.channels.n && rc < 0; i++) {
        const char *def = cfg->notify.channels.items[i];
        json_t *raw = json_loads(def, 0, NULL), *conf = NULL;
        const char *type = json_string_value(json_object_get(raw, "type"));
        bool slack = type && !strcmp(type, "slack") && json_object_get(raw, "signing_secret");
        struct fs_err rerr;
        if (slack && fs_notify_resolve_secrets(raw, &conf, &rerr) < 0) {
            FS_LOG_WARN("slack channel secrets cannot be resolved", "channel",
                        json_string_value(json_object_get(raw, "name")), "error", rerr.msg);
            rc = fs_err_set(err, FS_E_UNAUTHORIZED, NULL, "the signing secret is not available");
            slack = false;
        }
        json_decref(raw);
        const char *secret = json_string_value(json_object_get(conf, "signing_secret"));
        if (!slack || !secret) {
            json_decref(conf);
            continue;
        }
        rc = fs_slack_verify(secret, strlen(secret), ts, sig, r->body.data ? r->body.data : "",
                             r->body.len, now, err);
        if (rc < 0) {
            json_decref(conf);
            continue;
        }
        c->conf = conf;
        c->name = json_string_value(json_object_get(conf, "name"));
        c->bot_token = json_string_value(json_object_get(conf, "bot_token"));
        const char *api = json_string_value(json_object_get(conf, "api_url"));
        fs_strlcpy(c->api_url, api ? api : FS_SLACK_DEFAULT_API, sizeof(c->api_url));
    }
    fs_config_release(cfg);
    if (rc < 0)
        return rc;
    /* a signature is accepted once: the same request sent again is a replay */
    if (!fs_slack_seen_add(&seen_signatures, sig, now, 2 * FS_SLACK_MAX_SKEW_S)) {
        chan_release(c);
        return fs_err_set(err, FS_E_UNAUTHORIZED, NULL,
                          "this request was already received (replayed signature)");
    }
    return 0;
}

/* The forestall identity of a Slack user: the channel's users map names an auth.tokens entry,
 * whose role applies. false when the user is not mapped (or the name has no token). */
static bool identity_of(const struct chan *c, const char *user_id, char *name, size_t size,
                        enum fs_role *role)
{
    const char *n = json_string_value(json_object_get(json_object_get(c->conf, "users"), user_id));
    if (!n || !*n)
        return false;
    bool found = false;
    struct fs_config *cfg = fs_config_acquire();
    for (size_t i = 0; i < cfg->auth.tokens.n && !found; i++)
        if (!strcmp(cfg->auth.tokens.items[i].name, n)) {
            found = fs_role_parse(cfg->auth.tokens.items[i].role, role) == 0;
        }
    if (!found && cfg->auth.token.value && !strcmp(n, "admin")) {
        *role = FS_ROLE_ADMIN;
        found = true;
    }
    fs_config_release(cfg);
    if (found)
        fs_strlcpy(name, n, size);
    return found;
}

/* ---- follow-ups: posted from a thread of their own, never from the HTTP or writer thread -- */

struct followup {
    char url[1024];
    char *token; /* NULL for a response_url */
    json_t *body;
};

static void *followup_main(void *arg)
{
    struct followup *f = arg;
    struct fs_notify_result res = {0};
    struct fs_err err = {0};
    if (fs_slack_post(f->url, f->token, f->body, NULL, 0, &res, &err) < 0)
        FS_LOG_WARN("slack follow-up not delivered", "error", res.error);
    if (f->token) {
        explicit_bzero(f->token, strlen(f->token));
        free(f->token);
    }
    json_decref(f->body);
    free(f);
    atomic_fetch_sub(&followups, 1);
    return NULL;
}

/* Post body to url (with token: a Web API call) in the background; takes body. */
static void followup(const char *url, const char *token, json_t *body)
{
    struct followup *f = fs_calloc(1, sizeof(*f));
    if (!f || !body || !url || !*url || atomic_fetch_add(&followups, 1) >= MAX_FOLLOWUPS) {
        if (f)
            atomic_fetch_sub(&followups, 1);
        FS_LOG_WARN("slack follow-up dropped", "url", url ? "set" : "none");
        free(f);
        json_decref(body);
        return;
    }
    fs_strlcpy(f->url, url, sizeof(f->url));
    f->token = token ? fs_strdup(token) : NULL;
    f->body = body;
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, followup_main, f) != 0) {
        atomic_fetch_sub(&followups, 1);
        free(f->token);
        json_decref(f->body);
        free(f);
    }
    pthread_attr_destroy(&at);
}

/* Where an answer goes: the click's response_url, or the thread of a reply. */
struct reply_to {
    char response_url[1024];
    char api_url[512];
    char *token;
    char channel[64];
    char thread_ts[64];
    char user_id[64];
};

/* ephemeral: only the person sees it (refusals, so the buttons stay for someone else). */
static void answer(const struct reply_to *to, const char *text, bool ephemeral, bool replace)
{
    if (to->response_url[0]) {
        json_t *b = json_pack("{s:s,s:b}", "text", text, "replace_original", replace);
        if (b && ephemeral)
            json_object_set_new(b, "response_type", json_string("ephemeral"));
        followup(to->response_url, NULL, b);
    } else if (to->token && to->channel[0]) {
        char url[600];
        snprintf(url, sizeof(url), "%s/%s", to->api_url,
                 ephemeral ? "chat.postEphemeral" : "chat.postMessage");
        json_t *b = json_pack("{s:s,s:s,s:s}", "channel", to->channel, "thread_ts", to->thread_ts,
                              "text", text);
        if (b && ephemeral)
            json_object_set_new(b, "user", json_string(to->user_id));
        followup(url, to->token, b);
    }
}

/* ---- the decision, on the writer -------------------------------------------------------- */

struct call {
    struct fs_ingest_job job;
    struct fs_safety_request sq;
    struct fs_identity who;
    char who_name[80];
    struct fs_rules *rules;
    char def_env[64], def_class[64];
    char reason[200];
    enum fs_slack_verb verb;
    struct reply_to to;
};

static int call_run(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct call *c = arg;
    fs_safety_request_reset(&c->sq);
    c->sq.now = fs_now_ms();
    if (c->verb == FS_SLACK_REJECT)
        return fs_safety_reject(s, &c->sq, err);
    return fs_safety_approve(s, &c->sq, err);
}

static void call_free(struct call *c)
{
    fs_safety_request_reset(&c->sq);
    fs_rules_release(c->rules);
    if (c->to.token) {
        explicit_bzero(c->to.token, strlen(c->to.token));
        free(c->to.token);
    }
    free(c);
}

/* On the writer thread once the decision (or its refusal) is durable: count it, answer Slack. */
static void call_done(struct fs_ingest_job *job)
{
    struct call *c = job->arg;
    char text[800];
    long long id = (long long)c->sq.id;
    const char *what = c->verb == FS_SLACK_REJECT  ? "rejected"
                       : c->verb == FS_SLACK_FORCE ? "force-overridden (FORCE_OVERRIDE)"
                                                   : "approved";
    if (job->rc < 0) {
        snprintf(text, sizeof(text),
                 ":warning: prop-%lld: forestall could not record the decision (%s); try again.",
                 id, fs_err_name(job->rc));
        answer(&c->to, text, true, false);
    } else if (c->sq.rc < 0) {
        int code = -c->sq.rc;
        if (code < FS_E__COUNT)
            fs_counter_add(&fs_metrics.approval_refusals[code], 1);
        char *msg =
            fs_slack_escape(c->sq.err.msg[0] ? c->sq.err.msg : fs_err_default_msg(code), 400);
        snprintf(text, sizeof(text), ":no_entry: <@%s> (%s) cannot %s prop-%lld: %s (`%s`)",
                 c->to.user_id, c->who_name, fs_slack_verb_name(c->verb), id, msg ? msg : "",
                 fs_err_name(code));
        free(msg);
        answer(&c->to, text, true, false);
    } else {
        fs_counter_add(&fs_metrics.approvals[c->verb == FS_SLACK_REJECT  ? 2
                                             : c->verb == FS_SLACK_FORCE ? 1
                                                                         : 0],
                       1);
        snprintf(text, sizeof(text), "%s prop-%lld %s by <@%s> (%s) in Slack.",
                 c->verb == FS_SLACK_REJECT ? ":x:" : ":white_check_mark:", id, what, c->to.user_id,
                 c->who_name);
        /* a click's message loses its buttons: the proposal is decided */
        answer(&c->to, text, false, c->to.response_url[0] != '\0');
    }
    call_free(c);
}

/* Hand the decision to the writer. c is consumed. <0: refused (answered by the caller). */
static int submit(struct req *r, struct call *c, struct fs_err *err)
{
    c->rules = fs_rules_acquire();
    if (!c->rules) {
        call_free(c);
        return fs_err_set(err, FS_E_SHUTDOWN, NULL, "the safety rules are not loaded");
    }
    struct fs_config *cfg = fs_config_acquire();
    fs_strlcpy(c->def_env, cfg->safety.default_env, sizeof(c->def_env));
    fs_strlcpy(c->def_class, cfg->safety.default_resource_class, sizeof(c->def_class));
    fs_config_release(cfg);
    c->who.name = c->who_name;
    c->who.authenticated = true; /* Slack's signature vouches for the user */
    c->sq.who = &c->who;
    c->sq.rules = c->rules;
    c->sq.defaults = (struct fs_safety_defaults){c->def_env, c->def_class};
    c->sq.force = c->verb == FS_SLACK_FORCE;
    c->sq.reason = c->reason;
    c->sq.channel = "slack";
    c->job.kind = FS_INGEST_CALL;
    c->job.call = call_run;
    c->job.call_arg = c;
    c->job.done = call_done;
    c->job.arg = c;
    int rc = fs_ingest_submit(r->srv->ingest, &c->job);
    if (rc < 0) {
        call_free(c);
        return fs_err_set(err, (enum fs_errcode) - rc, NULL, NULL);
    }
    return 0;
}

static void ok_empty(struct req *r)
{
    char *t = fs_strdup("");
    if (t)
        fs_http_text(r, 200, "text/plain; charset=utf-8", t, 0);
}

/* Prepare a decision by user_id of the chan; answers unmapped users itself (NULL then). */
static struct call *new_call(const struct chan *ch, const char *user_id, enum fs_slack_verb verb,
                             int64_t proposal_id, struct reply_to *to)
{
    struct call *c = fs_calloc(1, sizeof(*c));
    enum fs_role role;
    if (c && !identity_of(ch, user_id, c->who_name, sizeof(c->who_name), &role)) {
        char text[300];
        snprintf(text, sizeof(text),
                 ":no_entry: <@%s> is not mapped to a forestall identity (channel %s, users); "
                 "nothing was decided.",
                 user_id, ch->name ? ch->name : "?");
        FS_LOG_WARN("slack user not mapped to a forestall identity", "user", user_id, "channel",
                    ch->name);
        answer(to, text, true, false);
        free(to->token);
        to->token = NULL;
        free(c);
        return NULL;
    }
    if (!c) {
        free(to->token);
        to->token = NULL;
        return NULL;
    }
    c->who.role = role;
    c->verb = verb;
    c->sq.id = proposal_id;
    snprintf(c->reason, sizeof(c->reason), "%s in Slack by %s",
             verb == FS_SLACK_REJECT ? "rejected" : "approved", user_id);
    c->to = *to; /* takes the token */
    to->token = NULL;
    return c;
}

static bool body_ok(struct req *r)
{
    if (r->too_large) {
        fs_http_error(r, FS_E_TOO_LARGE, NULL, "the body is larger than server.max_body");
        return false;
    }
    return true;
}

/* POST /api/v1/slack/interactions: a button click (form-encoded payload=JSON). */
void fs_api_slack_interactions(struct req *r)
{
    if (!body_ok(r))
        return;
    struct chan ch = {0};
    struct fs_err err = {0};
    int rc = authenticate(r, &ch, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    struct fs_slack_action a;
    rc = fs_slack_parse_interaction(r->body.data, r->body.len, &a, &err);
    if (rc < 0) {
        chan_release(&ch);
        return fs_http_err(r, rc, &err);
    }
    if (a.verb == FS_SLACK_NONE) { /* the link button, or another kind of interaction */
        chan_release(&ch);
        return ok_empty(r);
    }
    struct reply_to to = {0};
    fs_strlcpy(to.response_url, a.response_url, sizeof(to.response_url));
    fs_strlcpy(to.user_id, a.user_id, sizeof(to.user_id));
    struct call *c = new_call(&ch, a.user_id, a.verb, a.proposal_id, &to);
    chan_release(&ch);
    if (c && submit(r, c, &err) < 0)
        return fs_http_err(r, -(int)err.code, &err);
    ok_empty(r); /* within Slack's 3 s; the outcome follows on response_url */
}

/* The pending proposal a thread is about: the channel's delivery whose reference is the
 * thread's root names the incident; its newest pending proposal (the delivery's own proposal
 * when that one is still pending). 0 when none is pending. */
static int64_t thread_proposal(struct req *r, const struct chan *ch, const char *thread_ts)
{
    json_t *row = NULL, *list = NULL;
    struct fs_err err;
    if (fs_store_notification_by_ref(r->srv->store, ch->name, thread_ts, &row, &err) < 0)
        return 0;
    int64_t inc = json_integer_value(json_object_get(row, "incidentId"));
    int64_t own = json_integer_value(json_object_get(row, "proposalId"));
    json_decref(row);
    if (inc <= 0)
        return 0;
    struct fs_proposal_filter f = {.status = "pending", .incident_id = inc};
    if (fs_store_proposals_list(r->srv->store, &f, &list, &err) < 0)
        return 0;
    int64_t pick = 0;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        int64_t id = 0;
        json_t *jid = json_object_get(p, "id");
        if (json_is_integer(jid))
            id = json_integer_value(jid);
        else if (json_is_string(jid))
            fs_parse_id(json_string_value(jid), "prop", &id);
        if (!pick)
            pick = id; /* newest first */
        if (id == own)
            pick = id;
    }
    json_decref(list);
    return pick;
}

/* POST /api/v1/slack/events: the Events API (url_verification, thread replies). */
void fs_api_slack_events(struct req *r)
{
    if (!body_ok(r))
        return;
    struct chan ch = {0};
    struct fs_err err = {0};
    int rc = authenticate(r, &ch, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    struct fs_slack_event ev;
    rc = fs_slack_parse_event(r->body.data ? r->body.data : "", r->body.len, &ev, &err);
    if (rc < 0) {
        chan_release(&ch);
        return fs_http_err(r, rc, &err);
    }
    if (ev.kind == FS_SLACK_EV_CHALLENGE) {
        chan_release(&ch);
        return fs_http_json(r, 200, json_pack("{s:s}", "challenge", ev.challenge));
    }
    /* Slack retries an event it thinks was not received: decide once per event id */
    int64_t now = fs_now_ms() / 1000;
    if (ev.kind != FS_SLACK_EV_REPLY ||
        (ev.event_id[0] && !fs_slack_seen_add(&seen_events, ev.event_id, now, EVENT_WINDOW_S))) {
        chan_release(&ch);
        return ok_empty(r);
    }
    struct reply_to to = {0};
    fs_strlcpy(to.api_url, ch.api_url, sizeof(to.api_url));
    to.token = ch.bot_token ? fs_strdup(ch.bot_token) : NULL;
    fs_strlcpy(to.channel, ev.channel_id, sizeof(to.channel));
    fs_strlcpy(to.thread_ts, ev.thread_ts, sizeof(to.thread_ts));
    fs_strlcpy(to.user_id, ev.user_id, sizeof(to.user_id));
    int64_t prop = thread_proposal(r, &ch, ev.thread_ts);
    if (!prop) {
        char text[200];
        snprintf(text, sizeof(text),
                 "Nothing in this thread is waiting for a decision; %s was not applied.",
                 ev.verb == FS_SLACK_FORCE ? "FORCE_OVERRIDE" : "APPROVE");
        answer(&to, text, true, false);
        free(to.token);
        chan_release(&ch);
        return ok_empty(r);
    }
    struct call *c = new_call(&ch, ev.user_id, ev.verb, prop, &to);
    chan_release(&ch);
    if (c && submit(r, c, &err) < 0)
        return fs_http_err(r, -(int)err.code, &err);
    ok_empty(r);
}
