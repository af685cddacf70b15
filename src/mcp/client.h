/* An MCP client (protocol 2025-11-25; a server answering 2025-06-18 is accepted too) for one
 * remote tool server, over stdio (a child process speaking newline-delimited JSON-RPC) or
 * Streamable HTTP (libcurl; JSON or SSE responses, sessions, the MCP-Protocol-Version header,
 * the standalone GET stream for what the server sends outside a call, DELETE at close).
 *
 *   fs_mcp_open → initialize + notifications/initialized
 *   fs_mcp_list_tools (every page) · fs_mcp_call_tool · fs_mcp_ping · fs_mcp_request
 *   fs_mcp_tools_changed (after notifications/tools/list_changed: list again)
 *   fs_mcp_close
 *
 * Thread-safe: any number of threads may call at once on one client (each call waits for its
 * own answer). Every call has a timeout; a call that times out is cancelled on the server
 * (notifications/cancelled) and its late answer dropped. The server's pings are answered, its
 * other requests (sampling, roots, elicitation: never declared) get -32601. A stdio server that
 * exits fails the calls in flight at once with a message saying so, and is started again on the
 * next call, after a backoff that doubles with each crash in a row. Every byte from the server
 * is untrusted: lines and messages are capped, the tool list is capped at FS_TOOL_MAX_TOOLS,
 * and what reaches a message or a log is sanitized. The client decides nothing about what may
 * be called: that is the registry's and the gate's job. */
#ifndef FS_MCP_CLIENT_H
#define FS_MCP_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"
#include "mcp/jsonrpc.h"

#define FS_MCP_PROTOCOL_VERSION "2025-11-25"
#define FS_MCP_PROTOCOL_VERSION_PREV "2025-06-18"
#define FS_MCP_DEFAULT_TIMEOUT_MS 30000
#define FS_MCP_DEFAULT_CONNECT_TIMEOUT_MS 15000
#define FS_MCP_DEFAULT_MAX_STDERR (64 * 1024)
#define FS_MCP_DEFAULT_BACKOFF_MS 500
#define FS_MCP_DEFAULT_BACKOFF_MAX_MS 30000
#define FS_MCP_MAX_PAGES 256      /* tools/list pages followed */
#define FS_MCP_MAX_CURSOR 4096    /* bytes of a nextCursor */
#define FS_MCP_MAX_SESSION_ID 256 /* bytes of an Mcp-Session-Id */
#define FS_MCP_MAX_HEADERS 32     /* extra HTTP headers */

enum fs_mcp_transport { FS_MCP_STDIO, FS_MCP_HTTP };

/* What fs_mcp_open needs. Strings and arrays are copied: the caller may free them afterwards. */
struct fs_mcp_options {
    const char *name; /* the server's name in messages and logs; required, at most 64 bytes */
    enum fs_mcp_transport transport;
    /* stdio: started like fs_child_run (core/proc.h): argv only, env the child's whole
     * environment (NULL = empty; the owner decides what to pass), cwd (NULL = "/"), path_env
     * only to find a bare argv[0]. */
    const char *const *argv;
    const char *const *env;
    const char *cwd;
    const char *path_env;
    /* http: the MCP endpoint (http:// or https://), and extra headers "Name: value" (e.g.
     * "Authorization: Bearer ..."), at most FS_MCP_MAX_HEADERS, NULL-terminated. Redirects are
     * not followed. */
    const char *url;
    const char *const *headers;
    int64_t timeout_ms;         /* default per call; 0 = FS_MCP_DEFAULT_TIMEOUT_MS */
    int64_t connect_timeout_ms; /* start + initialize; 0 = FS_MCP_DEFAULT_CONNECT_TIMEOUT_MS */
    size_t max_message;         /* bytes of one message (a stdio line, a JSON body, an SSE
                                   event); 0 = FS_JSONRPC_DEFAULT_MAX_BYTES */
    size_t max_stderr;          /* the tail of a stdio server's stderr kept; 0 = 64 KiB */
    int64_t backoff_ms;         /* first restart delay after a crash; 0 = 500 ms */
    int64_t backoff_max_ms;     /* 0 = 30 s */
    /* Called (from the client's reader thread, or the calling thread over HTTP) when the server
     * says its tool list changed. It must return quickly and must not call into the client;
     * fs_mcp_tools_changed reports the same thing to whoever asks. */
    void (*on_tools_changed)(void *arg);
    void *arg;
};

struct fs_mcp_client;

/* Copy the options, start the server (stdio) and initialize. Returns 0 with *out set, or:
 *   -FS_E_INVALID   bad options (no name, no argv, a URL that is not http(s), a header
 *                   without ':' or with a line break)
 *   -FS_E_NOT_FOUND, -FS_E_PERMISSION, -FS_E_SYSTEM   the program could not be started
 *   -FS_E_CONNECT   the server exited or the URL did not answer during initialize
 *   -FS_E_TIMEOUT   no InitializeResult within connect_timeout_ms
 *   -FS_E_PROTOCOL  the server answered something that is not MCP, an error, or a protocol
 *                   version this client does not speak (the message names it)
 * with the server's name in the message, and nothing left running. */
int fs_mcp_open(const struct fs_mcp_options *o, struct fs_mcp_client **out, struct fs_err *err);

/* Stop the server (stdio: close its stdin, SIGTERM, then SIGKILL its group) or end the HTTP
 * session (DELETE), and free. No call may be in progress or start. NULL is a no-op. */
void fs_mcp_close(struct fs_mcp_client *c);

/* One request: params (stolen; NULL = none) → *result (a new reference to the result object).
 * timeout_ms 0 = the client's default. Returns 0, or:
 *   -FS_E_TIMEOUT   no answer in time: the request was cancelled on the server
 *   -FS_E_PROTOCOL  the server answered with a JSON-RPC error (*rpc_code, when not NULL, gets
 *                   its code; the message quotes its message, sanitized) or with garbage
 *   -FS_E_IO        the server exited (or its stream broke) while the request was in flight
 *   -FS_E_CONNECT   the server could not be (re)started or reached
 *   -FS_E_TOO_LARGE, -FS_E_NOMEM, -FS_E_INVALID (bad method or params) */
int fs_mcp_request(struct fs_mcp_client *c, const char *method, json_t *params, int64_t timeout_ms,
                   json_t **result, int64_t *rpc_code, struct fs_err *err);

/* tools/list, following nextCursor to the end (at most FS_MCP_MAX_PAGES pages; a cursor seen
 * twice is an error). *tools gets a new array of the tool objects as the server sent them, but
 * only those within the registry's limits: a valid name (1..FS_TOOL_MAX_NAME of [A-Za-z0-9_.-],
 * not seen before in this list), an object inputSchema of at most FS_TOOL_MAX_SCHEMA bytes, a
 * string description of at most FS_TOOL_MAX_DESCRIPTION bytes and a string title of at most
 * 2 * FS_TOOL_MAX_NAME when present; *skipped (may be NULL) counts the others, *pages (may be
 * NULL) the pages read. More than FS_TOOL_MAX_TOOLS tools: -FS_E_TOO_LARGE. Also clears the
 * tools-changed flag (set again by a later notification). Errors as fs_mcp_request. */
int fs_mcp_list_tools(struct fs_mcp_client *c, int64_t timeout_ms, json_t **tools, size_t *pages,
                      size_t *skipped, struct fs_err *err);

/* What a tools/call returned. Zero it before the call; release with fs_mcp_result_release. */
struct fs_mcp_result {
    char *text;         /* the text blocks joined with "\n"; other blocks as a note ("[image
                           image/png, 1234 bytes of base64]"); owned, never NULL after success.
                           Raw server text: sanitize before logging or keeping it. */
    json_t *content;    /* the content array as sent (owned reference) */
    json_t *structured; /* structuredContent when it is an object (owned reference) or NULL */
    bool is_error;      /* isError: the tool ran and failed (the text says why) */
    int64_t duration_ms;
};

/* tools/call NAME with args (a JSON object, borrowed; NULL = {}). Returns 0 when the server
 * answered with a CallToolResult — look at out->is_error — or an error as fs_mcp_request (a
 * JSON-RPC error, e.g. -32602 for an unknown tool on some servers, is -FS_E_PROTOCOL). */
int fs_mcp_call_tool(struct fs_mcp_client *c, const char *name, const json_t *args,
                     int64_t timeout_ms, struct fs_mcp_result *out, struct fs_err *err);
void fs_mcp_result_release(struct fs_mcp_result *r);

/* ping: 0 when the server answered. */
int fs_mcp_ping(struct fs_mcp_client *c, int64_t timeout_ms, struct fs_err *err);

/* Whether notifications/tools/list_changed arrived since the last call of this function or of
 * fs_mcp_list_tools; clears it. */
bool fs_mcp_tools_changed(struct fs_mcp_client *c);

/* A snapshot of the connection, for status output and tests. */
struct fs_mcp_info {
    char protocol_version[16]; /* negotiated; "" before the first initialize */
    char server_name[128];     /* serverInfo, sanitized */
    char server_version[64];
    char session_id[FS_MCP_MAX_SESSION_ID + 1]; /* HTTP session, "" when none */
    bool tools_list_changed;                    /* the server declared tools.listChanged */
    bool connected;
    bool listening;    /* HTTP: the standalone GET stream for the server's own messages is open */
    pid_t pid;         /* stdio: the current server process, 0 when none */
    uint64_t starts;   /* stdio processes started (1 + restarts); HTTP initializations */
    uint64_t crashes;  /* stdio servers that exited while the client was open */
    uint64_t requests; /* requests sent */
    uint64_t server_requests;  /* requests from the server (answered) */
    uint64_t notifications;    /* notifications from the server */
    uint64_t late_responses;   /* answers to calls that had timed out (dropped) */
    uint64_t invalid_messages; /* messages that were not valid JSON-RPC (dropped or refused) */
    uint64_t sse_events;       /* SSE events with data read (HTTP) */
};
void fs_mcp_info(struct fs_mcp_client *c, struct fs_mcp_info *out);

/* The tail of a stdio server's stderr (all its processes, oldest first), sanitized, at most
 * size-1 bytes, NUL-terminated. Returns its length. */
size_t fs_mcp_stderr_tail(struct fs_mcp_client *c, char *buf, size_t size);

/* ---- the pure pieces, for tests and the fuzzer -------------------------------------------- */

/* What a message from the server asks of the client. */
enum fs_mcp_route_kind {
    FS_MCP_ROUTE_IGNORE,        /* nothing (an unknown notification, a response to an id that
                                   cannot be ours, bytes that were not JSON-RPC) */
    FS_MCP_ROUTE_RESPONSE,      /* the answer to our request call_id (result or error) */
    FS_MCP_ROUTE_BAD_RESPONSE,  /* an invalid message carrying our id call_id: fail that call */
    FS_MCP_ROUTE_REPLY,         /* send reply: the answer to a server request (or the error for
                                   an invalid one that has an id) */
    FS_MCP_ROUTE_TOOLS_CHANGED, /* notifications/tools/list_changed */
    FS_MCP_ROUTE_LOG,           /* notifications/message: a log line of the server */
};

struct fs_mcp_route {
    enum fs_mcp_route_kind kind;
    enum fs_jsonrpc_kind msg_kind; /* what the message was (FS_JSONRPC_INVALID: not valid) */
    int64_t call_id;               /* RESPONSE, BAD_RESPONSE: our ids are integers */
    json_t *reply;                 /* REPLY: the message to send (owned) */
};

/* Decide what a parsed message (valid or not: pass what fs_jsonrpc_parse left in m) asks for.
 * ping → a result {}; any other request → -32601; an invalid message with an id → -32600 (or
 * BAD_RESPONSE when it looked like a response to an integer id). Never replies to a
 * notification or a response. Returns 0, or -FS_E_NOMEM (out->kind IGNORE). Pure. */
int fs_mcp_route(const struct fs_jsonrpc_msg *m, struct fs_mcp_route *out);
void fs_mcp_route_release(struct fs_mcp_route *r);

/* A call waiting for its answer: the client's table of these is where RESPONSE and
 * BAD_RESPONSE routes land. */
struct fs_mcp_slot {
    int64_t id;
    uint64_t generation; /* the stdio process the request went to */
    bool done;
    int rc;            /* 0: result; -FS_E_PROTOCOL: an error answer or garbage; -FS_E_IO */
    json_t *result;    /* rc 0: the result object (owned until taken) */
    int64_t rpc_code;  /* an error answer's code, 0 otherwise */
    char message[384]; /* rc < 0: what happened, sanitized */
    struct fs_mcp_slot *next;
};

/* The whole receive path for one message of bytes from the server: parse (with lim) → route →
 * complete the matching slot of the list at *slots (a done slot is never completed twice).
 * Returns the route for the caller to act on (a reply to send, a flag to set) and sets
 * *completed to the slot it completed (or NULL). No I/O, no locks: the client calls it with its
 * mutex held. Returns 0 or -FS_E_NOMEM. */
int fs_mcp_dispatch(struct fs_mcp_slot *slots, const char *buf, size_t len,
                    const struct fs_jsonrpc_limits *lim, struct fs_mcp_route *out,
                    struct fs_mcp_slot **completed);

/* The stdio framing: bytes → lines ending in '\n' (a trailing '\r' dropped, empty lines
 * skipped), each at most max bytes. */
struct fs_mcp_lines {
    struct fs_buf line;
    size_t max;
    bool discarding; /* inside a line that was too long */
};
void fs_mcp_lines_init(struct fs_mcp_lines *l, size_t max);
void fs_mcp_lines_release(struct fs_mcp_lines *l);
/* Feed bytes; cb gets each complete line (not NUL-terminated in general; len excludes '\n'). A
 * line longer than max is dropped whole and makes the call return -FS_E_TOO_LARGE after the
 * rest was fed; a non-zero return of cb stops at once and is returned. -FS_E_NOMEM. */
int fs_mcp_lines_feed(struct fs_mcp_lines *l, const char *buf, size_t len,
                      int (*cb)(void *arg, const char *line, size_t len), void *arg);

/* A Server-Sent Events parser (WHATWG EventSource rules): lines end in "\r\n", "\n" or "\r";
 * "field: value" (one space after the colon dropped), ":" comments, "data" lines joined with
 * "\n", "event", "id" (ignored when it holds a NUL), "retry" (digits only); a blank line
 * dispatches an event when it has data. Caps: a line and an event's data at most max bytes. */
struct fs_sse {
    struct fs_buf line;
    struct fs_buf data;
    char event[64];
    char last_id[FS_MCP_MAX_SESSION_ID + 1]; /* the last event id seen (kept across events) */
    long retry_ms;                           /* -1 until a retry field arrived */
    size_t max;
    bool have_data;
    bool after_cr; /* the previous chunk ended in '\r' (a '\n' next is the same line end) */
    bool bom_done;
};
struct fs_sse_event {
    const char *type; /* "message" when the event set none */
    const char *data; /* NUL-terminated; "" possible */
    size_t len;
    const char *id; /* the last event id at dispatch ("" when none) */
};
void fs_sse_init(struct fs_sse *s, size_t max);
void fs_sse_release(struct fs_sse *s);
/* Feed bytes; cb gets each dispatched event. A line or data beyond max: -FS_E_TOO_LARGE (the
 * parser is then unusable). A non-zero return of cb stops at once and is returned. */
int fs_sse_feed(struct fs_sse *s, const char *buf, size_t len,
                int (*cb)(void *arg, const struct fs_sse_event *ev), void *arg);

#endif
