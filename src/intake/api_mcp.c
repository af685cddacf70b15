/* api_mcp: the MCP gateway over Streamable HTTP at /mcp (docs/mcp.md, "The gateway over HTTP").
 * It owns the transport side — sessions (Mcp-Session-Id, bound to the token that opened them,
 * expiring when idle), the MCP-Protocol-Version header, the tokens minted for one runner run
 * (bound to its incident, valid only here), and the worker threads: each JSON-RPC request runs
 * in mcp/server.c on a thread of its own while the connection is suspended, because a tool
 * call may take as long as the tool and an action call waits for the executor's verdict. The
 * protocol (tools/list, tools/call, the gate) is mcp/server.c's, shared with `mcp serve`. */
#include "core/common.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/config.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/time.h"
#include "exec/exec.h"
#include "intake/http.h"
#include "intake/http_int.h"
#include "intake/metrics.h"
#include "mcp/jsonrpc.h"
#include "mcp/server.h"
#include "safety/service.h"
#include "store/store.h"

#define GW_MAX_SESSIONS 256
#define GW_SESSION_IDLE_MS (30 * 60 * 1000)
#define GW_MAX_CALLS 32 /* requests running at once; more are answered 503 */
#define GW_MAX_TOKENS 64
#define GW_DEFAULT_WAIT_MS 60000
#define GW_POLL_MS 100

struct gw_session {
    char id[33];    /* 128 random bits, hex */
    char owner[80]; /* the identity that opened it; nobody else may use it */
    int64_t incident;
    int64_t last_used_ms;
    int refs;            /* the table's + each running call's */
    pthread_mutex_t run; /* one request at a time through the protocol state */
    struct fs_mcp_server *mcp;
    struct gw_session *next;
};

struct gw_token {
    char digest[FS_SHA256_HEX_LEN + 1]; /* "" = free slot */
    int64_t incident;
    int64_t expires_ms;
};

struct fs_gateway {
    struct fs_server *srv;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    struct gw_session *sessions;
    size_t nsessions;
    int running;
    bool closing;
    struct gw_token tokens[GW_MAX_TOKENS];
    struct fs_gateway_opts o;
    struct fs_writer w;
};

struct gw_call {
    struct fs_gateway *g;
    struct req *r;
    struct gw_session *sess;
    bool new_session;
    int rc;
    struct fs_err err;
    json_t *reply;
};

/* ---- sessions ---------------------------------------------------------------------------- */

static void session_unref(struct fs_gateway *g, struct gw_session *s)
{
    pthread_mutex_lock(&g->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&g->lock);
    if (!last)
        return;
    fs_mcp_server_free(s->mcp);
    pthread_mutex_destroy(&s->run);
    free(s);
}

/* Unlink (g->lock held); the caller drops the table's reference afterwards. */
static void session_unlink(struct fs_gateway *g, struct gw_session *s)
{
    for (struct gw_session **p = &g->sessions; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            g->nsessions--;
            return;
        }
}

/* Drop idle sessions (g->lock held); returns those to unref. */
static struct gw_session *expire_sessions(struct fs_gateway *g, int64_t now, bool make_room)
{
    struct gw_session *dead = NULL, *oldest = NULL;
    for (struct gw_session *s = g->sessions, *next; s; s = next) {
        next = s->next;
        if (s->refs == 1 && now - s->last_used_ms > GW_SESSION_IDLE_MS) {
            session_unlink(g, s);
            s->next = dead;
            dead = s;
        } else if (s->refs == 1 && (!oldest || s->last_used_ms < oldest->last_used_ms)) {
            oldest = s;
        }
    }
    if (make_room && g->nsessions >= GW_MAX_SESSIONS && oldest) {
        session_unlink(g, oldest);
        oldest->next = dead;
        dead = oldest;
    }
    return dead;
}

static void free_list(struct fs_gateway *g, struct gw_session *dead)
{
    while (dead) {
        struct gw_session *next = dead->next;
        session_unref(g, dead);
        dead = next;
    }
}

/* A session by id, with a reference for the caller, if the caller opened it. */
static struct gw_session *session_get(struct fs_gateway *g, const char *id, const char *who)
{
    struct gw_session *found = NULL;
    if (strlen(id) != sizeof(found->id) - 1)
        return NULL;
    pthread_mutex_lock(&g->lock);
    for (struct gw_session *s = g->sessions; s; s = s->next)
        if (fs_consttime_eq(s->id, strlen(s->id), id, strlen(id)) && !strcmp(s->owner, who)) {
            found = s;
            found->refs++;
            found->last_used_ms = fs_now_ms();
            break;
        }
    pthread_mutex_unlock(&g->lock);
    return found;
}

/* ---- the executor, as an action call sees it ---------------------------------------------- */

/* An action the gate passed runs in the executor process: poke it, then wait (bounded) for the
 * execution's verdict, so the caller learns what happened rather than only "queued". */
static int wait_for_execution(void *arg, int64_t proposal_id, struct fs_exec_report *rep,
                              struct fs_err *err)
{
    struct fs_gateway *g = arg;
    struct fs_store *st = g->srv->store;
    (void)err;
    if (g->o.kick)
        g->o.kick(g->o.kick_arg);
    int64_t incident = 0;
    json_t *p = NULL;
    struct fs_err e = {0};
    if (fs_store_proposal_get(st, proposal_id, &p, &e) == 0) {
        json_t *v = json_object_get(p, "incidentId");
        if (json_is_integer(v))
            incident = json_integer_value(v);
        else
            fs_parse_id(json_string_value(v), "inc", &incident);
    }
    json_decref(p);
    int64_t wait = g->o.wait_ms > 0 ? g->o.wait_ms : GW_DEFAULT_WAIT_MS;
    int64_t deadline = fs_mono_ns() / 1000000 + wait;
    snprintf(rep->outcome, sizeof(rep->outcome), "queued");
    for (;;) {
        json_t *list = NULL;
        if (incident && fs_store_executions_list(st, incident, &list, &e) == 0) {
            size_t i;
            json_t *x;
            json_array_foreach(list, i, x)
            {
                json_t *pv = json_object_get(x, "proposalId");
                int64_t pid = 0;
                if (json_is_integer(pv))
                    pid = json_integer_value(pv);
                else
                    fs_parse_id(json_string_value(pv), "prop", &pid);
                if (pid != proposal_id)
                    continue;
                const char *oc = json_string_value(json_object_get(x, "outcome"));
                json_t *idv = json_object_get(x, "id");
                if (json_is_integer(idv))
                    rep->execution_id = json_integer_value(idv);
                else
                    fs_parse_id(json_string_value(idv), "exec", &rep->execution_id);
                snprintf(rep->outcome, sizeof(rep->outcome), "%s", oc ? oc : "running");
            }
        }
        json_decref(list);
        bool done = strcmp(rep->outcome, "queued") != 0 && strcmp(rep->outcome, "running") != 0;
        pthread_mutex_lock(&g->lock);
        bool closing = g->closing;
        pthread_mutex_unlock(&g->lock);
        if (done || closing || fs_mono_ns() / 1000000 >= deadline)
            break;
        struct timespec ts = {0, GW_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!strcmp(rep->outcome, "queued") || !strcmp(rep->outcome, "running"))
        snprintf(rep->reason, sizeof(rep->reason),
                 "not finished after %" PRId64 " s; GET /api/v1/proposals/prop-%" PRId64
                 " says how it ends",
                 wait / 1000, proposal_id);
    return 0;
}

/* ---- requests ---------------------------------------------------------------------------- */

/* A transport-level refusal: the HTTP status of code, with a JSON-RPC error body (id null)
 * whose data carries the stable code, as MCP clients read them. */
static void rpc_refuse(struct req *r, int code, int rpc, const char *msg)
{
    json_t *e = fs_jsonrpc_error(NULL, rpc, msg, json_pack("{s:s}", "code", fs_err_name(code)));
    fs_counter_add(&fs_metrics.requests_rejected[code < 0 ? -code : code], 1);
    fs_http_json(r, fs_http_status_for(code), e ? e : json_object());
}

static bool version_ok(const char *v)
{
    return !v || fs_streq(v, FS_MCP_PROTOCOL_LATEST) || fs_streq(v, "2025-06-18") ||
           fs_streq(v, "2025-03-26");
}

static void call_answer(struct req *r)
{
    struct gw_call *c = r->call;
    if (c->rc < 0) {
        fs_http_err(r, c->rc, &c->err);
        return;
    }
    char *text = c->reply ? json_dumps(c->reply, JSON_COMPACT) : NULL;
    if (!text) {
        fs_http_error(r, FS_E_NOMEM, NULL, NULL);
        return;
    }
    fs_http_text_h(r, 200, "application/json", text, strlen(text),
                   c->new_session ? "Mcp-Session-Id" : NULL, c->sess->id);
}

static void *call_thread(void *arg)
{
    struct gw_call *c = arg;
    struct fs_gateway *g = c->g;
    struct req *r = c->r;
    pthread_setname_np(pthread_self(), "fs-mcp-call");
    struct fs_config *cfg = fs_config_acquire();
    struct fs_rules *rules = fs_rules_acquire();
    pthread_mutex_lock(&c->sess->run);
    fs_mcp_server_use(c->sess->mcp, cfg, rules);
    c->rc = fs_mcp_server_handle(c->sess->mcp, r->body.data, r->body.len, &c->reply, &c->err);
    fs_mcp_server_use(c->sess->mcp, NULL, NULL);
    pthread_mutex_unlock(&c->sess->run);
    fs_rules_release(rules);
    fs_config_release(cfg);
    pthread_mutex_lock(&g->lock);
    c->sess->last_used_ms = fs_now_ms();
    pthread_mutex_unlock(&g->lock);
    fs_http_resume(r); /* the last touch of r on this thread */
    pthread_mutex_lock(&g->lock);
    if (--g->running == 0)
        pthread_cond_broadcast(&g->idle);
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

static struct gw_session *session_new(struct fs_gateway *g, struct req *r, int64_t incident,
                                      struct fs_err *err)
{
    struct gw_session *s = fs_calloc(1, sizeof(*s));
    unsigned char raw[16];
    if (!s)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL), NULL;
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        free(s);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "getrandom failed"), NULL;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    fs_strlcpy(s->owner, r->who.name ? r->who.name : "", sizeof(s->owner));
    s->incident = incident;
    s->refs = 2; /* the table's and the caller's */
    s->last_used_ms = fs_now_ms();
    pthread_mutex_init(&s->run, NULL);
    struct fs_mcp_server_opts mo = {.w = &g->w,
                                    .tools = g->o.tools,
                                    .incident_id = incident,
                                    .principal = r->who.authenticated ? r->who.name : NULL,
                                    .execute = wait_for_execution,
                                    .execute_arg = g};
    if (fs_mcp_server_new(&mo, &s->mcp, err) < 0) {
        pthread_mutex_destroy(&s->run);
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&g->lock);
    struct gw_session *dead = expire_sessions(g, s->last_used_ms, true);
    bool full = g->nsessions >= GW_MAX_SESSIONS;
    if (!full) {
        s->next = g->sessions;
        g->sessions = s;
        g->nsessions++;
    }
    pthread_mutex_unlock(&g->lock);
    free_list(g, dead);
    if (full) {
        fs_mcp_server_free(s->mcp);
        pthread_mutex_destroy(&s->run);
        free(s);
        return fs_err_set(err, FS_E_OVERLOADED, NULL, "too many open MCP sessions; retry later"),
               NULL;
    }
    return s;
}

/* The incident a new session works on: a minted token's, or ?incident=inc-N. */
static int session_incident(struct req *r, int64_t *out)
{
    *out = r->bound_incident;
    const char *q = fs_http_query(r, "incident");
    if (!q)
        return 0;
    int64_t id = 0;
    if (fs_parse_id(q, "inc", &id) < 0 || id <= 0) {
        fs_http_error(r, FS_E_INVALID, "incident", "incident: expected inc-N");
        return -1;
    }
    if (r->bound_incident && id != r->bound_incident) {
        fs_http_error(r, FS_E_FORBIDDEN, "incident", "this token is for another incident");
        return -1;
    }
    *out = id;
    return 0;
}

void fs_api_mcp_post(struct req *r)
{
    struct fs_gateway *g = __atomic_load_n(&r->srv->gateway, __ATOMIC_ACQUIRE);
    if (!g)
        return fs_http_error(r, FS_E_SHUTDOWN, NULL, "the MCP gateway is not ready yet; retry");
    if (r->too_large)
        return fs_http_error(r, FS_E_TOO_LARGE, NULL, "the message is larger than allowed");
    const char *ver = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "MCP-Protocol-Version");
    if (!version_ok(ver))
        return rpc_refuse(r, FS_E_INVALID, FS_JSONRPC_INVALID_REQUEST,
                          "unsupported MCP-Protocol-Version (this gateway speaks 2025-11-25, "
                          "2025-06-18 and 2025-03-26)");
    struct fs_jsonrpc_msg m;
    struct fs_err pe = {0};
    int prc = fs_jsonrpc_parse(r->body.data, r->body.len, NULL, &m, &pe);
    if (prc < 0) {
        json_t *e = m.looks_like_response
                        ? NULL
                        : fs_jsonrpc_error(m.id, m.rpc_code ? m.rpc_code : FS_JSONRPC_PARSE_ERROR,
                                           pe.msg, NULL);
        fs_jsonrpc_msg_release(&m);
        if (!e)
            return fs_http_error(r, FS_E_INVALID_PAYLOAD, NULL, pe.msg);
        fs_counter_add(&fs_metrics.requests_rejected[FS_E_INVALID_PAYLOAD], 1);
        return fs_http_json(r, 400, e);
    }
    bool initialize = m.kind == FS_JSONRPC_REQUEST && fs_streq(m.method, "initialize");
    bool request = m.kind == FS_JSONRPC_REQUEST;
    fs_jsonrpc_msg_release(&m);

    struct fs_err err = {0};
    struct gw_session *s = NULL;
    const char *sid = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Mcp-Session-Id");
    if (initialize) {
        int64_t incident = 0;
        if (session_incident(r, &incident) < 0)
            return;
        if (!(s = session_new(g, r, incident, &err)))
            return fs_http_err(r, -(int)err.code, &err);
    } else if (!sid) {
        return rpc_refuse(r, FS_E_INVALID, FS_JSONRPC_INVALID_REQUEST,
                          "Mcp-Session-Id is required (initialize first)");
    } else if (!(s = session_get(g, sid, r->who.name ? r->who.name : ""))) {
        return rpc_refuse(r, FS_E_NOT_FOUND, FS_JSONRPC_INVALID_REQUEST,
                          "no such MCP session (it ended or expired): initialize again");
    }
    if (!request) {
        /* a notification or a response: taken, nothing to answer */
        json_t *reply = NULL;
        pthread_mutex_lock(&s->run);
        int rc = fs_mcp_server_handle(s->mcp, r->body.data, r->body.len, &reply, &err);
        pthread_mutex_unlock(&s->run);
        json_decref(reply);
        session_unref(g, s);
        if (rc < 0)
            return fs_http_err(r, rc, &err);
        return fs_http_text(r, 202, NULL, fs_strdup(""), 0);
    }
    struct gw_call *c = fs_calloc(1, sizeof(*c));
    pthread_mutex_lock(&g->lock);
    bool room = c && !g->closing && g->running < GW_MAX_CALLS;
    if (room)
        g->running++;
    pthread_mutex_unlock(&g->lock);
    if (!room) {
        bool closing = g->closing;
        free(c);
        session_unref(g, s);
        return fs_http_error(r,
                             !c        ? FS_E_NOMEM
                             : closing ? FS_E_SHUTDOWN
                                       : FS_E_OVERLOADED,
                             NULL,
                             closing ? "the daemon is shutting down; retry"
                                     : "too many MCP calls are running; retry later");
    }
    *c = (struct gw_call){.g = g, .r = r, .sess = s, .new_session = initialize};
    r->call = c;
    fs_http_suspend(r, call_answer);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&t, &attr, call_thread, c);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        c->rc = -FS_E_OVERLOADED;
        fs_err_set(&c->err, FS_E_OVERLOADED, NULL, "cannot start a thread for this call");
        pthread_mutex_lock(&g->lock);
        if (--g->running == 0)
            pthread_cond_broadcast(&g->idle);
        pthread_mutex_unlock(&g->lock);
        fs_http_resume(r);
    }
}

void fs_api_mcp_delete(struct req *r)
{
    struct fs_gateway *g = __atomic_load_n(&r->srv->gateway, __ATOMIC_ACQUIRE);
    const char *sid = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Mcp-Session-Id");
    struct gw_session *s = g && sid ? session_get(g, sid, r->who.name ? r->who.name : "") : NULL;
    if (!s)
        return fs_http_error(r, FS_E_NOT_FOUND, NULL, "no such MCP session");
    pthread_mutex_lock(&g->lock);
    bool linked = false;
    for (struct gw_session *x = g->sessions; x; x = x->next)
        linked |= x == s;
    if (linked)
        session_unlink(g, s);
    pthread_mutex_unlock(&g->lock);
    if (linked)
        session_unref(g, s); /* the table's */
    session_unref(g, s);     /* ours; a running call keeps it alive until it ends */
    fs_http_text(r, 204, NULL, fs_strdup(""), 0);
}

void fs_gateway_release(struct req *r)
{
    struct gw_call *c = r->call;
    if (!c)
        return;
    json_decref(c->reply);
    session_unref(c->g, c->sess);
    free(c);
    r->call = NULL;
}

/* ---- minted tokens ----------------------------------------------------------------------- */

bool fs_gateway_identify(struct fs_server *srv, struct req *r, const char *digest)
{
    struct fs_gateway *g = __atomic_load_n(&srv->gateway, __ATOMIC_ACQUIRE);
    if (!g)
        return false;
    int64_t now = fs_now_ms(), incident = 0;
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < GW_MAX_TOKENS; i++) { /* every slot: timing says nothing */
        struct gw_token *t = &g->tokens[i];
        bool live = t->digest[0] && t->expires_ms > now;
        if (fs_consttime_eq(t->digest, FS_SHA256_HEX_LEN, digest, FS_SHA256_HEX_LEN) && live &&
            !incident)
            incident = t->incident;
    }
    pthread_mutex_unlock(&g->lock);
    if (!incident)
        return false;
    snprintf(r->who_name, sizeof(r->who_name), "runner:inc-%" PRId64, incident);
    r->who = (struct fs_identity){r->who_name, FS_ROLE_AGENT, true};
    r->bound_incident = incident;
    return true;
}

int fs_server_mint_token(struct fs_server *srv, int64_t incident_id, int64_t ttl_ms, char *token,
                         size_t size, struct fs_err *err)
{
    struct fs_gateway *g = __atomic_load_n(&srv->gateway, __ATOMIC_ACQUIRE);
    if (!g)
        return fs_err_set(err, FS_E_SHUTDOWN, NULL, "the MCP gateway is not running");
    unsigned char raw[32];
    if (size < 2 * sizeof(raw) + 1 || incident_id <= 0 || ttl_ms <= 0)
        return fs_err_set(err, FS_E_INVALID, NULL, "mint token: bad arguments");
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return fs_err_set(err, FS_E_SYSTEM, NULL, "getrandom failed");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    explicit_bzero(raw, sizeof(raw));
    char digest[FS_SHA256_HEX_LEN + 1];
    if (fs_sha256_hex(token, strlen(token), digest) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int64_t now = fs_now_ms();
    pthread_mutex_lock(&g->lock);
    struct gw_token *slot = NULL;
    for (size_t i = 0; i < GW_MAX_TOKENS && !slot; i++)
        if (!g->tokens[i].digest[0] || g->tokens[i].expires_ms <= now)
            slot = &g->tokens[i];
    if (slot) {
        memcpy(slot->digest, digest, sizeof(slot->digest));
        slot->incident = incident_id;
        slot->expires_ms = now + ttl_ms;
    }
    pthread_mutex_unlock(&g->lock);
    if (!slot) {
        explicit_bzero(token, size);
        return fs_err_set(err, FS_E_OVERLOADED, NULL, "too many runner tokens are live");
    }
    return 0;
}

void fs_server_revoke_token(struct fs_server *srv, const char *token)
{
    struct fs_gateway *g = __atomic_load_n(&srv->gateway, __ATOMIC_ACQUIRE);
    char digest[FS_SHA256_HEX_LEN + 1];
    if (!g || !token || fs_sha256_hex(token, strlen(token), digest) < 0)
        return;
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < GW_MAX_TOKENS; i++)
        if (fs_consttime_eq(g->tokens[i].digest, FS_SHA256_HEX_LEN, digest, FS_SHA256_HEX_LEN))
            memset(&g->tokens[i], 0, sizeof(g->tokens[i]));
    pthread_mutex_unlock(&g->lock);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

int fs_server_set_gateway(struct fs_server *srv, const struct fs_gateway_opts *o,
                          struct fs_err *err)
{
    struct fs_gateway *g = fs_calloc(1, sizeof(*g));
    if (!g)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    g->srv = srv;
    g->o = *o;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->idle, NULL);
    fs_ingest_writer(srv->ingest, srv->store, &g->w);
    struct fs_gateway *none = NULL;
    if (!__atomic_compare_exchange_n(&srv->gateway, &none, g, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        pthread_mutex_destroy(&g->lock);
        pthread_cond_destroy(&g->idle);
        free(g);
        return fs_err_set(err, FS_E_INVALID, NULL, "the MCP gateway is already set");
    }
    return 0;
}

void fs_gateway_quiesce(struct fs_gateway *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->closing = true; /* action calls stop waiting for the executor; no new call starts */
    while (g->running > 0)
        pthread_cond_wait(&g->idle, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

void fs_server_quiesce_gateway(struct fs_server *srv)
{
    fs_gateway_quiesce(__atomic_load_n(&srv->gateway, __ATOMIC_ACQUIRE));
}

void fs_gateway_free(struct fs_gateway *g)
{
    if (!g)
        return;
    fs_gateway_quiesce(g);
    pthread_mutex_lock(&g->lock);
    struct gw_session *all = g->sessions;
    g->sessions = NULL;
    g->nsessions = 0;
    pthread_mutex_unlock(&g->lock);
    free_list(g, all);
    explicit_bzero(g->tokens, sizeof(g->tokens));
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->idle);
    free(g);
}
