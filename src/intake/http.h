/* The daemon's HTTP server (libmicrohttpd): the route table, authentication, request limits,
 * JSON error replies, and the hand-off of intake requests to the ingest writer. A request that
 * changes state is suspended until its group commit is durable and only then answered. */
#ifndef FS_HTTP_H
#define FS_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct fs_store;
struct fs_ingest;
struct fs_server;

struct fs_server_options {
    const char *listen; /* HOST:PORT; port 0 picks one */
    int threads;
    int max_connections;
    int64_t connection_timeout_ms;
    const char *checkpoint_file; /* audit checkpoints (for verify over HTTP), may be NULL */
    const void *checkpoint_key;
    size_t checkpoint_keylen;
};

int fs_server_start(const struct fs_server_options *opt, struct fs_store *store,
                    struct fs_ingest *ingest, struct fs_server **out, struct fs_err *err);
/* The base URL it listens on ("http://127.0.0.1:9797"). */
const char *fs_server_url(const struct fs_server *srv);
/* Stop taking work: requests that still arrive get 503 shutting_down, /readyz 503. */
void fs_server_drain(struct fs_server *srv);
/* Requests currently being handled. */
int fs_server_inflight(struct fs_server *srv);
void fs_server_stop(struct fs_server *srv);

/* The MCP gateway at /mcp (docs/mcp.md): set once the engine's tools exist; until then /mcp
 * answers 503. */
struct fs_registry;
struct fs_gateway_opts {
    const struct fs_registry *tools; /* the read-only tools it offers (borrowed, outlives srv) */
    void (*kick)(void *arg);         /* poke the executor: an action the gate passed is ready */
    void *kick_arg;
    int64_t wait_ms; /* how long an action call waits for its execution's verdict; 0 = 60 s */
};
int fs_server_set_gateway(struct fs_server *srv, const struct fs_gateway_opts *o,
                          struct fs_err *err);
/* A bearer token for one runner run: valid only on /mcp, for ttl_ms, as "runner:inc-N" (role
 * agent), and its sessions are bound to the incident. token gets 64 hex characters + NUL. */
int fs_server_mint_token(struct fs_server *srv, int64_t incident_id, int64_t ttl_ms, char *token,
                         size_t size, struct fs_err *err);
void fs_server_revoke_token(struct fs_server *srv, const char *token);
/* Start no new gateway call and wait for the running ones (before the tools go away). */
void fs_server_quiesce_gateway(struct fs_server *srv);

/* HTTP status for an error code (503 for every transient condition). */
int fs_http_status_for(int code);
/* docs/api.md from the route table. */
int fs_http_doc_markdown(struct fs_buf *b);

#endif
