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

/* HTTP status for an error code (503 for every transient condition). */
int fs_http_status_for(int code);
/* docs/api.md from the route table. */
int fs_http_doc_markdown(struct fs_buf *b);

#endif
