/* Private to the HTTP server: the request state, the route table entry, and the helpers the
 * route handlers share (http.c holds the server and the intake/read routes, api_safety.c the
 * proposal, approval, control and audit routes). */
#ifndef FS_HTTP_INT_H
#define FS_HTTP_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/err.h"
#include "intake/ingest.h"
#include "safety/approval.h"
#include "safety/service.h"

struct fs_server {
    struct MHD_Daemon *mhd;
    struct fs_store *store;
    struct fs_ingest *ingest;
    int port;
    char url[300];
    atomic_bool draining;
    atomic_int inflight;
    int64_t started_ms;
    char *checkpoint_file; /* audit checkpoints, for /api/v1/audit/verify */
    unsigned char checkpoint_key[128];
    size_t checkpoint_keylen;
    struct fs_gateway *gateway; /* /mcp (api_mcp.c) */
    struct fs_console_sessions *console; /* the web console's sessions (api_console.c) */
};

struct req;
typedef void (*route_fn)(struct req *r);

enum route_flags {
    R_AUTH = 1,   /* needs a caller identity (a valid token when auth is configured) */
    R_BODY = 2,   /* reads a JSON body */
    R_MINTED = 4, /* also takes a token minted for one runner run (api_mcp.c) */
    R_FORM = 8,   /* R_BODY may also be application/x-www-form-urlencoded (api_console.c) */
};

#define CAP_NONE (-1)

struct route {
    const char *method;
    const char *path; /* segments; "{id}" matches one non-empty segment */
    route_fn fn;
    int source; /* intake routes: enum fs_alert_source */
    unsigned flags;
    int cap; /* enum fs_capability the caller's role needs, or CAP_NONE */
    const char *doc;
};

enum req_state { RS_NEW, RS_BODY, RS_WAITING, RS_DONE };

struct req {
    struct fs_server *srv;
    struct MHD_Connection *conn;
    const struct route *route;
    const char *url;
    char param[128]; /* the {id} segment */
    enum req_state state;
    struct fs_buf body;
    size_t received;
    size_t declared;
    bool too_large;
    int64_t t_body_ns;
    char remote[64];
    struct fs_ingest_job job;
    struct fs_err err;
    bool dead_letter; /* the waiting job keeps a rejected body */
    int reject_status;
    /* the caller */
    struct fs_identity who;
    char who_name[80];
    /* safety calls */
    void (*answer)(struct req *r); /* runs when the writer is done with job */
    json_t *json;                  /* parsed body */
    struct fs_rules *rules;        /* held while a call runs */
    struct fs_safety_request sq;
    char def_env[64], def_class[64];
    int created; /* answer 201 instead of 200 */
    int (*op)(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err);
    /* the MCP gateway (api_mcp.c) */
    bool resumed;           /* fs_http_resume: call answer on the next turn */
    int64_t bound_incident; /* a minted token's incident, 0 otherwise */
    struct gw_call *call;   /* the gateway call this request waits for */
    /* the web console (api_console.c) */
    bool via_session;  /* identified by the console's session cookie */
    bool csrf_refused; /* a cookie request that changes state came without its CSRF token */
};

void fs_http_text(struct req *r, int status, const char *ctype, char *body, size_t len);
/* The same with one more header (name NULL: none). */
void fs_http_text_h(struct req *r, int status, const char *ctype, char *body, size_t len,
                    const char *hname, const char *hvalue);
void fs_http_json(struct req *r, int status, json_t *v); /* steals v */
void fs_http_error(struct req *r, int code, const char *path, const char *msg);
void fs_http_err(struct req *r, int rc, const struct fs_err *err);
const char *fs_http_query(struct req *r, const char *key);
int fs_http_limit(struct req *r, int def, int *out); /* <0: already answered */
/* Suspend the request, hand r->job to the writer, and call answer(r) once it is done. */
void fs_http_wait_for_writer(struct req *r, void (*answer)(struct req *r));
/* Suspend the request until another thread calls fs_http_resume; answer(r) then runs on the
 * server's thread. Call only from a route handler. */
void fs_http_suspend(struct req *r, void (*answer)(struct req *r));
void fs_http_resume(struct req *r);

/* api_safety.c */
void fs_api_proposals_list(struct req *r);
void fs_api_proposal_get(struct req *r);
void fs_api_propose(struct req *r);
void fs_api_approve(struct req *r);
void fs_api_reject(struct req *r);
void fs_api_explain(struct req *r);
void fs_api_controls(struct req *r);
void fs_api_freeze(struct req *r);
void fs_api_unfreeze(struct req *r);
void fs_api_modes(struct req *r);
void fs_api_observe(struct req *r);
void fs_api_observations(struct req *r);
void fs_api_audit(struct req *r);
void fs_api_audit_verify(struct req *r);
void fs_api_catalog(struct req *r);
void fs_api_policy(struct req *r);
void fs_api_release(struct req *r); /* on completion: drop what the safety call held */

/* api_mcp.c: the gateway's routes, its minted tokens, and its teardown */
struct fs_gateway;
void fs_api_mcp_post(struct req *r);
void fs_api_mcp_delete(struct req *r);
/* A minted token's identity for this request (sets r->who, r->bound_incident), or false. */
bool fs_gateway_identify(struct fs_server *srv, struct req *r, const char *digest);
void fs_gateway_quiesce(struct fs_gateway *g); /* no new calls; wait for the running ones */
void fs_gateway_free(struct fs_gateway *g);    /* after the server stopped */
void fs_gateway_release(struct req *r);        /* on completion */

/* api_console.c: the console's routes, and its session cookie for identify() in http.c:
 * 1 identified (r->who, r->via_session), 0 no session cookie, -1 refused (r->csrf_refused when
 * for want of the CSRF token). */
void fs_console_root(struct req *r);
void fs_console_page(struct req *r);
void fs_console_asset(struct req *r);
void fs_console_login(struct req *r);
void fs_console_logout(struct req *r);
void fs_console_session(struct req *r);
int fs_console_identify(struct req *r);
bool fs_console_is_form(struct req *r);
void fs_console_refuse_csrf(struct req *r); /* 403 with the stable code "csrf" */

/* api_slack.c: Slack's signed inbound requests (docs/slack.md) */
void fs_api_slack_interactions(struct req *r);
void fs_api_slack_events(struct req *r);

/* api_engine.c */
void fs_api_postmortem(struct req *r);
void fs_api_trace(struct req *r);
void fs_api_kpis(struct req *r);

#endif
