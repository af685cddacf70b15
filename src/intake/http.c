/* http: the libmicrohttpd server — route table, bearer auth, body and depth limits, JSON error
 * replies with stable codes, and suspend/resume around the ingest writer so that a 2xx is only
 * ever sent after the durable commit. Holds no business logic: intake bodies go to the parsers
 * and the writer, reads go to the store. */
#include "core/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/hash.h"
#include "audit/audit.h"
#include "core/json.h"
#include "core/log.h"
#include "core/time.h"
#include "incidents/alert.h"
#include "intake/console.h"
#include "intake/http.h"
#include "intake/http_int.h"
#include "intake/ingest.h"
#include "intake/metrics.h"
#include "store/store.h"
#include "version.h"

static void h_intake(struct req *r);
static void intake_answer(struct req *r);
static void h_incidents_list(struct req *r);
static void h_incident_get(struct req *r);
static void h_dead_letters(struct req *r);
static void h_status(struct req *r);
static void h_healthz(struct req *r);
static void h_readyz(struct req *r);
static void h_metrics(struct req *r);

/* Roles: V viewer, G agent, A approver, O overrider, D admin (docs/api.md has the table). */
static const struct route routes[] = {
    {"POST", "/api/v1/alerts/alertmanager", h_intake, FS_SRC_ALERTMANAGER, R_AUTH | R_BODY,
     CAP_NONE,
     "Alertmanager webhook (version 4). Answered only after the alerts are durably stored."},
    {"POST", "/api/v1/alerts/grafana", h_intake, FS_SRC_GRAFANA, R_AUTH | R_BODY, CAP_NONE,
     "Grafana unified alerting webhook contact point (version 1)."},
    {"POST", "/api/v1/events", h_intake, FS_SRC_EVENT, R_AUTH | R_BODY, CAP_NONE,
     "Generic events (provider.unhealthy, budget.exceeded, sla.violation, latency.spike, "
     "custom types); see docs/events.md."},
    {"GET", "/api/v1/incidents", h_incidents_list, 0, R_AUTH, FS_CAP_READ,
     "Incidents, newest first, with their episodes. Query: status=open|resolved, "
     "severity=info|warning|critical, since=RFC3339 (updated at or after), before=inc-N "
     "(page), limit=N (default 100, 0 = all)."},
    {"GET", "/api/v1/incidents/{id}", h_incident_get, 0, R_AUTH, FS_CAP_READ,
     "One incident (id `inc-N` or `N`) with episodes and timeline."},
    {"GET", "/api/v1/incidents/{id}/observations", fs_api_observations, 0, R_AUTH, FS_CAP_READ,
     "The observations (evidence) recorded for an incident, in order."},
    {"GET", "/api/v1/incidents/{id}/postmortem", fs_api_postmortem, 0, R_AUTH, FS_CAP_READ,
     "The incident's post-mortem (docs/postmortems.md): `{\"incidentId\",\"createdAt\","
     "\"markdown\",\"data\",\"stored\"}`; `format=md` answers the Markdown alone (text/markdown). "
     "When none is stored yet (handling has not concluded) one is built on demand from what is "
     "recorded so far, and not stored (`stored: false`)."},
    {"GET", "/api/v1/incidents/{id}/trace", fs_api_trace, 0, R_AUTH, FS_CAP_READ,
     "What forestall did about an incident, in order: `{\"incidentId\",\"state\","
     "\"investigations\",\"observations\",\"proposals\" (each with its gate decision and "
     "approvals),\"executions\" (each with its step log)}`."},
    {"GET", "/api/v1/kpis", fs_api_kpis, 0, R_AUTH, FS_CAP_READ,
     "The KPIs (docs/kpis.md) of incidents created since `since` (RFC 3339; default 30 days "
     "ago): time to first useful action, handled without a human, false remediation, "
     "escalation precision, rollback success — each with its numerator and denominator."},
    {"POST", "/api/v1/observations", fs_api_observe, 0, R_AUTH | R_BODY, FS_CAP_PROPOSE,
     "Record an observation made outside forestall (an operator's check, an external agent's "
     "tool call): `{\"incident\":\"inc-N\",\"tool\",\"input\",\"output\",\"durationMs\"}` → "
     "`{\"id\":\"obs-N\"}`. Proposals cite these ids as evidence. The output is untrusted: it is "
     "kept only after control characters are stripped, secrets redacted and the text capped "
     "(64 KiB)."},
    {"GET", "/api/v1/proposals", fs_api_proposals_list, 0, R_AUTH, FS_CAP_READ,
     "Proposals, newest first. Query: status=pending|approved|rejected|expired|blocked|shadow, "
     "incident=inc-N, before=prop-N, limit=N (default 100)."},
    {"POST", "/api/v1/proposals", fs_api_propose, 0, R_AUTH | R_BODY, FS_CAP_PROPOSE,
     "Submit a proposal (docs/proposals.md: action, params, target, incident.id, "
     "evidence.cited). forestall fills the incident, scope, trace and context itself, runs the "
     "gate, stores the proposal and its decision with their audit records, and answers 201 "
     "with the decision explained."},
    {"GET", "/api/v1/proposals/{id}", fs_api_proposal_get, 0, R_AUTH, FS_CAP_READ,
     "One proposal with the gate's explanation and its approvals."},
    {"POST", "/api/v1/proposals/{id}/approve", fs_api_approve, 0, R_AUTH | R_BODY, FS_CAP_APPROVE,
     "Approve: `{\"as\":NAME,\"comment\":...,\"force_override\":false}`. Refused (and audited) "
     "for the proposer, a critical proposal without force_override (role overrider), an "
     "expired or already decided proposal, or one whose catalog/policy changed."},
    {"POST", "/api/v1/proposals/{id}/reject", fs_api_reject, 0, R_AUTH | R_BODY, FS_CAP_READ,
     "Reject: `{\"as\":NAME,\"reason\":TEXT}` (approvers, or the proposer withdrawing it)."},
    {"POST", "/api/v1/gate/explain", fs_api_explain, 0, R_AUTH | R_BODY, FS_CAP_READ,
     "Dry run: the gate's decision for a complete proposal document under the policy and "
     "catalog in force; nothing is stored."},
    {"GET", "/api/v1/controls", fs_api_controls, 0, R_AUTH, FS_CAP_READ,
     "Kill switch state, runtime mode overrides, policy and catalog versions."},
    {"POST", "/api/v1/freeze", fs_api_freeze, 0, R_AUTH | R_BODY, FS_CAP_FREEZE,
     "Kill switch on: `{\"as\":NAME,\"reason\":TEXT}`. No new action starts until unfrozen."},
    {"POST", "/api/v1/unfreeze", fs_api_unfreeze, 0, R_AUTH | R_BODY, FS_CAP_UNFREEZE,
     "Kill switch off: `{\"as\":NAME,\"reason\":TEXT}` (admin)."},
    {"POST", "/api/v1/modes", fs_api_modes, 0, R_AUTH | R_BODY, FS_CAP_MODE,
     "Runtime mode for a scope: `{\"as\",\"mode\":\"shadow|supervised|autonomous\"|null,"
     "\"service\",\"env\",\"reason\"}`; null clears it (the policy decides again)."},
    {"GET", "/api/v1/audit", fs_api_audit, 0, R_AUTH, FS_CAP_READ,
     "Audit records. Query: format=json|jsonl|csv, since=RFC3339, type=a,b, actor=NAME, "
     "after=SEQ, limit=N (default 1000, 0 = all). An unknown type is 400 `invalid_argument` "
     "(path `type`), naming the valid ones."},
    {"GET", "/api/v1/audit/verify", fs_api_audit_verify, 0, R_AUTH, FS_CAP_READ,
     "Verify the audit chain and its signed checkpoints; 200 with `{\"ok\":...}` either way."},
    {"GET", "/api/v1/catalog", fs_api_catalog, 0, R_AUTH, FS_CAP_READ,
     "The action catalog in force: version and every action with its params schema."},
    {"GET", "/api/v1/policy", fs_api_policy, 0, R_AUTH, FS_CAP_READ,
     "The gate policy in force (merged document) and its version."},
    {"GET", "/api/v1/dead-letters", h_dead_letters, 0, R_AUTH, FS_CAP_READ,
     "Rejected bodies, newest first. Query: limit=N (default 100), body=1 to include bodies."},
    {"GET", "/api/v1/status", h_status, 0, R_AUTH, FS_CAP_READ,
     "Version, uptime, store driver and row counts, readiness."},
    {"POST", "/mcp", fs_api_mcp_post, 0, R_AUTH | R_BODY | R_MINTED, FS_CAP_PROPOSE,
     "The MCP gateway over Streamable HTTP (docs/mcp.md, \"The gateway\"): JSON-RPC requests in, "
     "`application/json` answers out, sessions by `Mcp-Session-Id` (initialize opens one), "
     "`MCP-Protocol-Version` 2025-11-25, 2025-06-18 or 2025-03-26. Read-only tools run and are "
     "recorded as evidence; `action.*` tools are proposals the gate decides. `?incident=inc-N` "
     "binds the session to an incident. GET answers 405: there is no server-initiated stream."},
    {"DELETE", "/mcp", fs_api_mcp_delete, 0, R_AUTH | R_MINTED, FS_CAP_PROPOSE,
     "End an MCP session (`Mcp-Session-Id`): 204, or 404 when there is no such session."},
    /* the web console (api_console.c, docs/console.md); its pages call the routes above */
    {"GET", "/", fs_console_root, 0, 0, CAP_NONE, "Redirects to the web console, `/ui/`."},
    {"GET", "/ui/", fs_console_page, 0, 0, CAP_NONE, "The web console (docs/console.md)."},
    {"GET", "/ui/login", fs_console_page, 0, 0, CAP_NONE, "The console's login page."},
    {"POST", "/ui/login", fs_console_login, 0, R_BODY | R_FORM, CAP_NONE,
     "Console login, a form or JSON: `token` (the same tokens and roles as the API), or `name` "
     "when no tokens are configured (admin). Sets the session cookie `__Host-forestall_session` "
     "(HttpOnly, Secure, SameSite=Strict); JSON answers the session as GET /ui/session does."},
    {"POST", "/ui/logout", fs_console_logout, 0, 0, CAP_NONE,
     "End the console session (with its `X-CSRF-Token`); 204."},
    {"GET", "/ui/session", fs_console_session, 0, 0, CAP_NONE,
     "The console session: `{\"name\",\"role\",\"csrf\",\"authentication\",\"expiresAt\","
     "\"idleTimeoutSeconds\",\"can\"}`; 401 (with `\"login\":\"token\"|\"name\"`) without one."},
    {"GET", "/ui/{id}", fs_console_asset, 0, 0, CAP_NONE,
     "The console's static files, embedded in the binary."},
    /* Slack (api_slack.c, docs/slack.md): Slack's request signature authenticates, not a token */
    {"POST", "/api/v1/slack/interactions", fs_api_slack_interactions, 0, R_BODY | R_FORM, CAP_NONE,
     "Slack interactivity (button clicks, `payload=` form). Authenticated by Slack's request "
     "signature (a slack channel's signing_secret): 401 when wrong, older than 5 minutes or "
     "replayed, 404 when no channel has one. Answers 200 at once; the decision goes through the "
     "same approval rules as the API and its outcome is posted to the response_url."},
    {"POST", "/api/v1/slack/events", fs_api_slack_events, 0, R_BODY, CAP_NONE,
     "Slack Events API: url_verification, and thread replies APPROVE / FORCE_OVERRIDE to a "
     "notice (docs/slack.md). Signed like the interactivity route."},
    {"GET", "/healthz", h_healthz, 0, 0, CAP_NONE, "Liveness: 200 while the process serves HTTP."},
    {"GET", "/readyz", h_readyz, 0, 0, CAP_NONE,
     "Readiness: 200 when alerts can be accepted; 503 while draining or after a fail-stop."},
    {"GET", "/metrics", h_metrics, 0, 0, CAP_NONE, "Prometheus metrics (docs/metrics.md)."},
};

/* ---- responses ----------------------------------------------------------------------------- */

int fs_http_status_for(int code)
{
    switch (code < 0 ? -code : code) {
    case FS_E_OK: return 200;
    case FS_E_INVALID:
    case FS_E_INVALID_JSON:
    case FS_E_INVALID_UTF8:
    case FS_E_INVALID_PAYLOAD:
    case FS_E_TOO_DEEP:
    case FS_E_TOO_MANY:
    case FS_E_USAGE: return 400;
    case FS_E_UNAUTHORIZED: return 401;
    case FS_E_FORBIDDEN:
    case FS_E_SELF_APPROVAL: return 403;
    case FS_E_NOT_FOUND: return 404;
    case FS_E_FORCE_REQUIRED:
    case FS_E_NOT_PENDING:
    case FS_E_EXPIRED:
    case FS_E_STALE:
    case FS_E_FROZEN: return 409;
    case FS_E_METHOD: return 405;
    case FS_E_TOO_LARGE: return 413;
    case FS_E_MEDIA_TYPE: return 415;
    default: return 503; /* store busy, disk full, fail-stop, draining, overload, OOM, ... */
    }
}

/* "POST, DELETE": the methods of every route on path. */
static void allowed_methods(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < FS_ARRAY_LEN(routes); i++) {
        size_t n = strlen(out);
        if (!strcmp(routes[i].path, path) && n + strlen(routes[i].method) + 3 < size)
            snprintf(out + n, size - n, "%s%s", n ? ", " : "", routes[i].method);
    }
}

void fs_http_text(struct req *r, int status, const char *ctype, char *body, size_t len)
{
    fs_http_text_h(r, status, ctype, body, len, NULL, NULL);
}

void fs_http_text_h(struct req *r, int status, const char *ctype, char *body, size_t len,
                    const char *hname, const char *hvalue)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (hname && hvalue)
        MHD_add_response_header(resp, hname, hvalue);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"forestall\"");
    if (status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
    if (status == 405 && r->route) {
        char allow[64];
        allowed_methods(r->route->path, allow, sizeof(allow));
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    if (status == 503 && atomic_load(&r->srv->draining))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (status >= 100 && status < 600)
        fs_counter_add(&fs_metrics.http_responses[status], 1);
}

void fs_http_json(struct req *r, int status, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!text) {
        text = fs_strdup("{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}");
        status = 503;
        if (!text)
            return;
    }
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (withnl) {
        withnl[n] = '\n';
        withnl[n + 1] = '\0';
        text = withnl;
        n++;
    }
    fs_http_text(r, status, "application/json", text, n);
}

/* {"error":{"code":"...","message":"...","path":...}} */
void fs_http_error(struct req *r, int code, const char *path, const char *msg)
{
    int status = fs_http_status_for(code);
    json_t *e = json_pack("{s:s,s:s}", "code", fs_err_name(code), "message",
                          msg && *msg ? msg : fs_err_default_msg(code));
    if (!e)
        e = json_object();
    json_object_set_new(e, "path", path && *path ? json_string(path) : json_null());
    fs_counter_add(&fs_metrics.requests_rejected[code < 0 ? -code : code], 1);
    fs_http_json(r, status, json_pack("{s:o}", "error", e));
}

void fs_http_err(struct req *r, int rc, const struct fs_err *err)
{
    fs_http_error(r, rc, err->path, err->msg);
}

/* ---- helpers ------------------------------------------------------------------------------- */

const char *fs_http_query(struct req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

static bool token_eq(const char *got_digest, const struct fs_secret *want)
{
    return want->value && fs_consttime_eq(got_digest, 64, want->sha256, 64);
}

/* Who is calling. With tokens configured, the bearer token names the caller and its role;
 * without (loopback only, enforced by config), callers are trusted as admin and name
 * themselves with "as". Compares digests so that neither content nor length leaks. */
static bool identify(struct req *r)
{
    if (!MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)) {
        int s = fs_console_identify(r); /* the console's session cookie (api_console.c) */
        if (s != 0)
            return s > 0;
    }
    struct fs_config *cfg = fs_config_acquire();
    bool ok = false;
    if (!fs_config_auth_enabled(cfg)) {
        r->who = (struct fs_identity){.name = r->who_name, .role = FS_ROLE_ADMIN};
        fs_strlcpy(r->who_name, "anonymous", sizeof(r->who_name));
        ok = true;
    } else {
        const char *h =
            MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        char got[FS_SHA256_HEX_LEN + 1];
        if (h && strncasecmp(h, "Bearer ", 7) == 0) {
            const char *t = h + 7;
            while (*t == ' ')
                t++;
            if (*t && fs_sha256_hex(t, strlen(t), got) == 0) {
                /* check every token, so timing does not say which one matched */
                for (size_t i = 0; i < cfg->auth.tokens.n; i++)
                    if (token_eq(got, &cfg->auth.tokens.items[i].token) && !ok) {
                        fs_strlcpy(r->who_name, cfg->auth.tokens.items[i].name,
                                   sizeof(r->who_name));
                        enum fs_role role = FS_ROLE_VIEWER;
                        fs_role_parse(cfg->auth.tokens.items[i].role, &role);
                        r->who = (struct fs_identity){r->who_name, role, true};
                        ok = true;
                    }
                if (token_eq(got, &cfg->auth.token) && !ok) {
                    fs_strlcpy(r->who_name, "admin", sizeof(r->who_name));
                    r->who = (struct fs_identity){r->who_name, FS_ROLE_ADMIN, true};
                    ok = true;
                }
                if (!ok && r->route && (r->route->flags & R_MINTED))
                    ok = fs_gateway_identify(r->srv, r, got);
            }
        }
    }
    fs_config_release(cfg);
    return ok;
}

static void remote_addr(struct req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    r->remote[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    char host[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(r->remote, sizeof(r->remote), "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(r->remote, sizeof(r->remote), "[%s]:%u", host, ntohs(in6->sin6_port));
    }
}

static bool json_content_type(struct req *r)
{
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct)
        return true; /* Alertmanager and Grafana always send it; tolerate tools that do not */
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    /* application/<something>+json */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* ---- intake --------------------------------------------------------------------------------- */

static void job_done(struct fs_ingest_job *job)
{
    struct req *r = job->arg;
    r->state = RS_DONE;
    MHD_resume_connection(r->conn);
}

/* Suspend first, then hand over: the writer's resume can never overtake the suspend. */
void fs_http_wait_for_writer(struct req *r, void (*answer)(struct req *r))
{
    r->answer = answer;
    r->job.done = job_done;
    r->job.arg = r;
    r->state = RS_WAITING;
    MHD_suspend_connection(r->conn);
    int rc = fs_ingest_submit(r->srv->ingest, &r->job);
    if (rc < 0) {
        r->job.rc = rc;
        fs_err_set(&r->job.err, (enum fs_errcode) - rc, NULL, NULL);
        r->state = RS_DONE;
        MHD_resume_connection(r->conn);
    }
}

void fs_http_suspend(struct req *r, void (*answer)(struct req *r))
{
    r->answer = answer;
    r->state = RS_WAITING;
    MHD_suspend_connection(r->conn);
}

void fs_http_resume(struct req *r)
{
    r->resumed = true;
    r->state = RS_DONE;
    MHD_resume_connection(r->conn);
}

static void keep_dead_letter(struct req *r, int code, int status)
{
    struct fs_config *cfg = fs_config_acquire();
    size_t keep = cfg ? cfg->store.dead_letter_max_body : 0;
    fs_config_release(cfg);
    r->err.code = (enum fs_errcode)(code < 0 ? -code : code);
    memset(&r->job, 0, sizeof(r->job));
    r->job.kind = FS_INGEST_DEAD_LETTER;
    r->job.source = (enum fs_alert_source)r->route->source;
    r->job.remote = r->remote;
    r->job.body = r->body.data;
    r->job.body_len = FS_MIN(r->body.len, keep);
    r->job.body_total = r->too_large ? FS_MAX(r->declared, r->received) : r->body.len;
    r->job.received_at = fs_now_ms();
    r->job.reject = &r->err;
    r->job.http_status = status;
    r->dead_letter = true;
    r->reject_status = status;
    fs_http_wait_for_writer(r, intake_answer);
}

struct detached {
    struct fs_ingest_job job;
    struct fs_err err;
    char remote[64];
};

static void detached_done(struct fs_ingest_job *job)
{
    free(job->arg);
}

/* A dead letter for a body refused unread: recorded in the background, nothing to wait for. */
static void note_oversized(struct req *r)
{
    struct detached *d = fs_calloc(1, sizeof(*d));
    if (!d)
        return;
    d->err = r->err;
    memcpy(d->remote, r->remote, sizeof(d->remote));
    d->job.kind = FS_INGEST_DEAD_LETTER;
    d->job.source = (enum fs_alert_source)r->route->source;
    d->job.remote = d->remote;
    d->job.body_total = r->declared;
    d->job.received_at = fs_now_ms();
    d->job.reject = &d->err;
    d->job.http_status = 413;
    d->job.done = detached_done;
    d->job.arg = d;
    if (fs_ingest_submit(r->srv->ingest, &d->job) < 0)
        free(d);
}

static void h_intake(struct req *r)
{
    if (r->too_large) {
        struct fs_config *cfg = fs_config_acquire();
        fs_err_set(&r->err, FS_E_TOO_LARGE, NULL,
                   "the body is larger than %llu bytes (server.max_body)",
                   (unsigned long long)cfg->server.max_body);
        fs_config_release(cfg);
        keep_dead_letter(r, FS_E_TOO_LARGE, 413);
        return;
    }
    int64_t now = fs_now_ms();
    struct fs_alert_batch batch = {0};
    int rc = fs_ingest_parse((enum fs_alert_source)r->route->source, fs_buf_str(&r->body),
                             r->body.len, now, &batch, &r->err);
    if (rc < 0) {
        keep_dead_letter(r, rc, fs_http_status_for(rc));
        return;
    }
    memset(&r->job, 0, sizeof(r->job));
    r->job.kind = FS_INGEST_ALERTS;
    r->job.source = batch.source;
    r->job.batch = batch;
    r->job.remote = r->remote;
    r->job.body = r->body.data;
    r->job.body_len = r->body.len;
    r->job.received_at = now;
    if (batch.truncated > 0)
        FS_LOG_WARN("sender left alerts out of the payload (truncatedAlerts); reconciliation "
                    "can fetch them",
                    "remote", r->remote, "truncated", FS_I64(batch.truncated));
    fs_http_wait_for_writer(r, intake_answer);
}

static void intake_answer(struct req *r)
{
    struct fs_ingest_job *j = &r->job;
    fs_hist_observe(&fs_metrics.ingest_duration, (double)(fs_mono_ns() - r->t_body_ns) / 1e9);
    if (r->dead_letter) {
        if (j->rc < 0) /* could not even keep it: the sender must retry */
            fs_http_err(r, j->rc, &j->err);
        else
            fs_http_error(r, r->err.code, r->err.path, r->err.msg);
        return;
    }
    fs_alert_batch_release(&j->batch);
    if (j->rc < 0) {
        fs_http_err(r, j->rc, &j->err);
        return;
    }
    /* the hot path: formatted directly, no JSON tree to build and free */
    char *text = fs_malloc(160);
    if (!text)
        return fs_http_error(r, FS_E_NOMEM, NULL, NULL);
    int n = snprintf(text, 160,
                     "{\"status\":\"stored\",\"alerts\":%d,\"changed\":%d,\"deduplicated\":%d,"
                     "\"incidentsOpened\":%d}\n",
                     j->stats.alerts, j->stats.changed, j->stats.deduplicated, j->stats.opened);
    fs_http_text(r, 200, "application/json", text, (size_t)n);
}

/* ---- reads ---------------------------------------------------------------------------------- */

static int parse_id(const char *s, int64_t *id)
{
    if (strncmp(s, "inc-", 4) == 0)
        s += 4;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v <= 0)
        return -1;
    *id = v;
    return 0;
}

int fs_http_limit(struct req *r, int def, int *out)
{
    const char *l = fs_http_query(r, "limit");
    *out = def;
    if (!l)
        return 0;
    char *end;
    long v = strtol(l, &end, 10);
    if (*end || end == l || v < 0 || v > 1000000) {
        fs_http_error(r, FS_E_INVALID, "limit", "limit: expected an integer from 0 to 1000000");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static void h_incidents_list(struct req *r)
{
    struct fs_incident_filter f = {.since_ms = FS_TIME_UNSET};
    f.status = fs_http_query(r, "status");
    f.severity = fs_http_query(r, "severity");
    if (f.status && strcmp(f.status, "open") && strcmp(f.status, "resolved") &&
        strcmp(f.status, "all"))
        return fs_http_error(r, FS_E_INVALID, "status", "status: expected open, resolved or all");
    if (f.status && !strcmp(f.status, "all"))
        f.status = NULL;
    enum fs_severity sev;
    if (f.severity &&
        (!fs_severity_parse(f.severity, &sev) || strcmp(f.severity, fs_severity_name(sev)) != 0))
        return fs_http_error(r, FS_E_INVALID, "severity",
                             "severity: expected info, warning or critical");
    const char *since = fs_http_query(r, "since");
    if (since && fs_time_parse_rfc3339(since, (size_t)-1, &f.since_ms) < 0)
        return fs_http_error(r, FS_E_INVALID, "since", "since: expected an RFC 3339 time");
    const char *before = fs_http_query(r, "before");
    if (before && parse_id(before, &f.before_id) < 0)
        return fs_http_error(r, FS_E_INVALID, "before", "before: expected an incident id");
    if (fs_http_limit(r, 100, &f.limit) < 0)
        return;
    json_t *arr;
    struct fs_err err;
    int rc = fs_store_incidents_list(r->srv->store, &f, &arr, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, arr);
}

static void h_incident_get(struct req *r)
{
    int64_t id;
    if (parse_id(r->param, &id) < 0)
        return fs_http_error(r, FS_E_NOT_FOUND, NULL, "no such incident (ids look like inc-42)");
    json_t *o;
    struct fs_err err;
    int rc = fs_store_incident_get(r->srv->store, id, &o, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, o);
}

static void h_dead_letters(struct req *r)
{
    int limit;
    if (fs_http_limit(r, 100, &limit) < 0)
        return;
    const char *b = fs_http_query(r, "body");
    json_t *arr;
    struct fs_err err;
    int rc = fs_store_dead_letters_list(r->srv->store, limit, b && strcmp(b, "1") == 0, &arr, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    fs_http_json(r, 200, arr);
}

static bool ready(struct fs_server *srv, const char **why)
{
    if (atomic_load(&srv->draining)) {
        *why = "shutting down";
        return false;
    }
    if (fs_ingest_failed(srv->ingest)) {
        *why = "a durable write failed (fail-stop)";
        return false;
    }
    *why = "ok";
    return true;
}

static void h_status(struct req *r)
{
    json_t *stats = NULL;
    struct fs_err err;
    int rc = fs_store_stats(r->srv->store, &stats, &err);
    if (rc < 0)
        return fs_http_err(r, rc, &err);
    const char *why;
    bool ok = ready(r->srv, &why);
    struct fs_config *cfg = fs_config_acquire();
    json_t *o = json_pack("{s:s,s:I,s:b,s:s,s:s,s:s,s:o}", "version", FS_VERSION, "uptimeSeconds",
                          (json_int_t)((fs_now_ms() - r->srv->started_ms) / 1000), "ready", ok,
                          "readiness", why, "config", cfg->file ? cfg->file : "", "storeDriver",
                          fs_store_driver(r->srv->store), "store", stats);
    fs_config_release(cfg);
    fs_http_json(r, 200, o);
}

static void h_healthz(struct req *r)
{
    fs_http_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_readyz(struct req *r)
{
    const char *why;
    if (ready(r->srv, &why))
        return fs_http_json(r, 200, json_pack("{s:s}", "status", "ready"));
    fs_http_error(r, atomic_load(&r->srv->draining) ? FS_E_SHUTDOWN : FS_E_FAILSTOP, NULL, why);
}

static void h_metrics(struct req *r)
{
    struct fs_buf b = FS_BUF_INIT(0);
    if (fs_metrics_render(&b, r->srv->store) < 0) {
        fs_buf_release(&b);
        return fs_http_error(r, FS_E_NOMEM, NULL, NULL);
    }
    size_t n;
    char *text = fs_buf_detach(&b, &n);
    if (!text)
        return fs_http_error(r, FS_E_NOMEM, NULL, NULL);
    fs_http_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, n);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

/* Match a path against a pattern segment by segment; "{id}" takes one non-empty segment. */
static bool path_match(const char *pattern, const char *url, char *param, size_t psize)
{
    const char *p = pattern, *u = url;
    while (*p) {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t n = strcspn(u, "/");
            if (n == 0 || n >= psize)
                return false;
            memcpy(param, u, n);
            param[n] = '\0';
            u += n;
            p += 4;
            continue;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    return *u == '\0';
}

static const struct route *find_route(struct req *r, const char *url, const char *method,
                                      bool *path_known)
{
    *path_known = false;
    const struct route *match = NULL;
    char param[sizeof(r->param)];
    for (size_t i = 0; i < FS_ARRAY_LEN(routes); i++) {
        const struct route *rt = &routes[i];
        if (!path_match(rt->path, url, param, sizeof(param)))
            continue;
        *path_known = true;
        memcpy(r->param, param, sizeof(param));
        if (strcmp(method, rt->method) == 0)
            return rt;
        match = rt;
    }
    return match;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    struct fs_server *srv = cls;
    struct req *r = *req_cls;
    if (!r) {
        if (!(r = fs_calloc(1, sizeof(*r))))
            return MHD_NO;
        *req_cls = r;
        r->srv = srv;
        r->conn = conn;
        r->url = url;
        atomic_fetch_add(&srv->inflight, 1);
        remote_addr(r);
        bool known;
        r->route = find_route(r, url, method, &known);
        if (atomic_load(&srv->draining)) {
            fs_http_error(r, FS_E_SHUTDOWN, NULL, "the daemon is shutting down; retry");
            r->state = RS_DONE;
            return MHD_YES;
        }
        if (!r->route) {
            fs_http_error(r, FS_E_NOT_FOUND, NULL, "no such endpoint");
            r->state = RS_DONE;
            return MHD_YES;
        }
        if (strcmp(method, r->route->method) != 0) {
            char msg[96], allow[64];
            allowed_methods(r->route->path, allow, sizeof(allow));
            snprintf(msg, sizeof(msg), "use %s on this path", allow);
            fs_http_error(r, FS_E_METHOD, NULL, msg);
            r->state = RS_DONE;
            return MHD_YES;
        }
        if ((r->route->flags & R_AUTH) && !identify(r)) {
            if (r->csrf_refused)
                fs_console_refuse_csrf(r);
            else
                fs_http_error(r, FS_E_UNAUTHORIZED, NULL,
                              "missing or wrong bearer token (Authorization: Bearer ...)");
            r->state = RS_DONE;
            return MHD_YES;
        }
        if (r->route->cap != CAP_NONE && !fs_role_can(r->who.role, r->route->cap)) {
            char msg[200];
            snprintf(msg, sizeof(msg), "%s (role %s) may not %s %s", r->who.name,
                     fs_role_name(r->who.role), r->route->method, r->route->path);
            fs_http_error(r, FS_E_FORBIDDEN, NULL, msg);
            r->state = RS_DONE;
            return MHD_YES;
        }
        if (r->route->flags & R_BODY) {
            if (!json_content_type(r) &&
                !((r->route->flags & R_FORM) && fs_console_is_form(r))) {
                fs_http_error(r, FS_E_MEDIA_TYPE, NULL,
                              "send the body as Content-Type: application/json");
                r->state = RS_DONE;
                return MHD_YES;
            }
            struct fs_config *cfg = fs_config_acquire();
            size_t max = (size_t)cfg->server.max_body;
            fs_config_release(cfg);
            fs_buf_init(&r->body, max);
            const char *cl =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl) {
                unsigned long long n = strtoull(cl, NULL, 10);
                r->declared = (size_t)n;
                if (n > max) /* refuse before reading a byte of it */
                    r->too_large = true;
            }
            /* one allocation for typical bodies; never more up front than a sender has to send,
             * so a lying Content-Length cannot make us reserve megabytes per connection */
            if (!r->too_large && r->declared > 0 &&
                fs_buf_reserve(&r->body, FS_MIN(r->declared, (size_t)64 * 1024)) < 0)
                return MHD_NO; /* out of memory: drop the connection, the sender retries */
            if (r->too_large) {
                /* Answer before the body is read (MHD can only reply now or after the whole
                 * body); the dead letter records who sent how much, without waiting for it. */
                fs_err_set(&r->err, FS_E_TOO_LARGE, NULL,
                           "the body is %zu bytes; the limit is %zu (server.max_body)", r->declared,
                           max);
                note_oversized(r);
                fs_http_error(r, FS_E_TOO_LARGE, NULL, r->err.msg);
                r->state = RS_DONE;
                return MHD_YES;
            }
        }
        r->state = RS_BODY;
        return MHD_YES;
    }

    if (r->state == RS_BODY && *upload_size > 0) {
        r->received += *upload_size;
        if (!r->too_large && fs_buf_append(&r->body, upload_data, *upload_size) < 0) {
            /* over the limit: keep what fits (for the dead letter), discard the rest */
            size_t room = r->body.max > r->body.len ? r->body.max - r->body.len : 0;
            fs_buf_append(&r->body, upload_data, FS_MIN(room, *upload_size));
            r->too_large = true;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->state == RS_BODY) {
        r->t_body_ns = fs_mono_ns();
        r->route->fn(r);
        if (r->state == RS_BODY)
            r->state = RS_DONE; /* answered synchronously */
        return MHD_YES;
    }
    if (r->state == RS_DONE && r->resumed) {
        r->resumed = false;
        r->answer(r);
        return MHD_YES;
    }
    if (r->state == RS_DONE && r->job.done == job_done) {
        r->job.done = NULL;
        r->answer(r);
        return MHD_YES;
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct fs_server *srv = cls;
    struct req *r = *req_cls;
    if (!r)
        return;
    if (r->job.kind == FS_INGEST_ALERTS)
        fs_alert_batch_release(&r->job.batch);
    fs_api_release(r);
    fs_gateway_release(r);
    fs_buf_release(&r->body);
    free(r);
    *req_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    FS_LOG_WARN("http", "detail", msg);
}

int fs_server_start(const struct fs_server_options *opt, struct fs_store *store,
                    struct fs_ingest *ingest, struct fs_server **out, struct fs_err *err)
{
    char host[256];
    const char *colon = strrchr(opt->listen, ':');
    if (!colon)
        return fs_err_set(err, FS_E_CONFIG, "server.listen", "server.listen: expected HOST:PORT");
    const char *h = opt->listen;
    size_t hl = (size_t)(colon - h);
    if (h[0] == '[' && hl >= 2) {
        h++;
        hl -= 2;
    }
    snprintf(host, sizeof(host), "%.*s", (int)hl, h);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, colon + 1, &hints, &ai);
    if (g != 0)
        return fs_err_set(err, FS_E_CONFIG, "server.listen", "server.listen: cannot resolve %s: %s",
                          host, gai_strerror(g));
    struct fs_server *srv = fs_calloc(1, sizeof(*srv));
    if (!srv) {
        freeaddrinfo(ai);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    srv->store = store;
    srv->ingest = ingest;
    if (opt->checkpoint_file && opt->checkpoint_keylen <= sizeof(srv->checkpoint_key)) {
        srv->checkpoint_file = fs_strdup(opt->checkpoint_file);
        memcpy(srv->checkpoint_key, opt->checkpoint_key, opt->checkpoint_keylen);
        srv->checkpoint_keylen = opt->checkpoint_keylen;
    }
    srv->started_ms = fs_now_ms();
    srv->console =
        fs_console_sessions_new(FS_CONSOLE_MAX_SESSIONS, FS_CONSOLE_IDLE_MS, FS_CONSOLE_MAX_MS);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* the logger must come first so that MHD reports even option errors through it */
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)opt->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)((opt->connection_timeout_ms + 999) / 1000), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->mhd) {
        int e = errno;
        fs_console_sessions_free(srv->console);
        free(srv->checkpoint_file);
        free(srv);
        return fs_err_set(err, FS_E_SYSTEM, "server.listen", "cannot listen on %s: %s", opt->listen,
                          e ? strerror(e) : "libmicrohttpd refused to start");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : 0;
    if (strchr(host, ':'))
        snprintf(srv->url, sizeof(srv->url), "http://[%s]:%d", host, srv->port);
    else
        snprintf(srv->url, sizeof(srv->url), "http://%s:%d", host, srv->port);
    *out = srv;
    return 0;
}

const char *fs_server_url(const struct fs_server *srv)
{
    return srv->url;
}

void fs_server_drain(struct fs_server *srv)
{
    /* New requests are answered 503 shutting_down (with Connection: close) from here on;
     * /readyz turns 503. The listen socket is not quiesced: libmicrohttpd's quiesce races its
     * own epoll workers (a known defect that aborts the process), and an answered 503 is what
     * a retrying sender wants anyway. */
    atomic_store(&srv->draining, true);
}

int fs_server_inflight(struct fs_server *srv)
{
    return atomic_load(&srv->inflight);
}

void fs_server_stop(struct fs_server *srv)
{
    if (!srv)
        return;
    fs_gateway_quiesce(srv->gateway); /* its running calls end before their connections */
    MHD_stop_daemon(srv->mhd);
    fs_gateway_free(srv->gateway);
    fs_console_sessions_free(srv->console);
    free(srv->checkpoint_file);
    explicit_bzero(srv->checkpoint_key, sizeof(srv->checkpoint_key));
    free(srv);
}

int fs_http_doc_markdown(struct fs_buf *b)
{
    fs_buf_puts(b,
                "# HTTP API reference\n\n"
                "<!-- generated by `forestall docs api` from the route table in "
                "src/intake/http.c; do not edit -->\n\n"
                "All bodies are JSON. When `auth.token` or `auth.tokens` is set, routes marked "
                "with a role need `Authorization: Bearer TOKEN` (401 otherwise), and the token's "
                "role must allow the route (403 `forbidden` otherwise). Without tokens (a "
                "loopback listener only) callers act as admin and name themselves with "
                "`\"as\"` in the body. The web console (docs/console.md) calls the same routes "
                "with its session cookie instead of a token; a cookie request other than GET "
                "must carry `X-CSRF-Token` (403 `csrf` otherwise).\n\n"
                "Intake routes answer **200** `{\"status\":\"stored\",\"alerts\":N,\"changed\":N,"
                "\"deduplicated\":N,\"incidentsOpened\":N}` only after the body and its effect "
                "are durably committed. Errors are "
                "`{\"error\":{\"code\":\"...\",\"message\":\"...\",\"path\":\"...\"|null}}` with a "
                "stable machine code; a rejected body is kept in the dead-letter table before "
                "the 4xx is sent. Transient trouble (store busy, disk full, overload, shutting "
                "down, fail-stop) is always 503 with `Retry-After`, never 4xx, because "
                "Alertmanager does not retry 4xx.\n\n"
                "| method | path | roles | description |\n|---|---|---|---|\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(routes); i++) {
        char who[120] = "";
        if (!(routes[i].flags & R_AUTH))
            snprintf(who, sizeof(who), "none");
        else if (routes[i].cap == CAP_NONE)
            snprintf(who, sizeof(who), "any token");
        else
            for (int k = 0; k < FS_ROLE__COUNT; k++)
                if (fs_role_can((enum fs_role)k, (enum fs_capability)routes[i].cap))
                    snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s", *who ? ", " : "",
                             fs_role_name((enum fs_role)k));
        fs_buf_printf(b, "| %s | `%s` | %s | %s |\n", routes[i].method, routes[i].path, who,
                      routes[i].doc);
    }
    fs_buf_puts(b, "\n## Roles\n\n| role | may |\n|---|---|\n");
    for (int k = 0; k < FS_ROLE__COUNT; k++)
        fs_buf_printf(b, "| `%s` | %s |\n", fs_role_name((enum fs_role)k),
                      fs_role_doc((enum fs_role)k));
    fs_buf_puts(b, "\n## Error codes\n\n| code | HTTP | meaning |\n|---|---|---|\n");
    for (int c = 1; c < FS_E__COUNT; c++) {
        if (c == FS_E_USAGE || c == FS_E_CONFIG || c == FS_E_CONNECT || c == FS_E_PROTOCOL ||
            c == FS_E_TIMEOUT || c == FS_E_PERMISSION)
            continue; /* never sent by the server */
        fs_buf_printf(b, "| `%s` | %d | %s |\n", fs_err_name(c), fs_http_status_for(c),
                      fs_err_default_msg(c));
    }
    return 0;
}
