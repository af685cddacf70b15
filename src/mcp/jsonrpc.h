/* JSON-RPC 2.0 as MCP uses it (protocols.md §1.1): one message per parse, never a batch.
 *
 * fs_jsonrpc_parse reads one message of untrusted bytes (size and depth capped before jansson
 * sees them) and classifies it: request (method + id), notification (method, no id), response
 * (id + result) or error (error, with an id or a null one). Ids are strings or integers and are
 * kept exactly as sent (the json_t the peer sent, never converted). A message that is not valid
 * says which JSON-RPC error answers it (-32700 or -32600) and keeps its id when the id could be
 * read, so the caller can reply to it. The builders make the four kinds; fs_jsonrpc_encode
 * writes the compact one-line form stdio needs. Pure functions: no I/O, no shared state. */
#ifndef FS_MCP_JSONRPC_H
#define FS_MCP_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* X(ENUM, code, "name") — the standard codes, and those MCP peers use. */
#define FS_JSONRPC_CODES(X)                                                                        \
    X(PARSE_ERROR, -32700, "Parse error")                                                          \
    X(INVALID_REQUEST, -32600, "Invalid Request")                                                  \
    X(METHOD_NOT_FOUND, -32601, "Method not found")                                                \
    X(INVALID_PARAMS, -32602, "Invalid params")                                                    \
    X(INTERNAL_ERROR, -32603, "Internal error")                                                    \
    X(URL_ELICITATION_REQUIRED, -32042, "URL elicitation required")                                \
    X(SESSION_NOT_FOUND, -32001, "Session not found")                                              \
    X(TRANSPORT_ERROR, -32000, "Transport error")

enum fs_jsonrpc_code {
#define FS_JSONRPC_ENUM(e, v, name) FS_JSONRPC_##e = v,
    FS_JSONRPC_CODES(FS_JSONRPC_ENUM)
#undef FS_JSONRPC_ENUM
};

/* The name of a code ("Method not found"); "Server error" for -32099..-32000 not listed,
 * "Error" otherwise. */
const char *fs_jsonrpc_code_name(int64_t code);

#define FS_JSONRPC_DEFAULT_MAX_BYTES (4 * 1024 * 1024)
#define FS_JSONRPC_DEFAULT_MAX_DEPTH 64
#define FS_JSONRPC_MAX_METHOD 256    /* bytes of a method name */
#define FS_JSONRPC_MAX_STRING_ID 256 /* bytes of a string id */

enum fs_jsonrpc_kind {
    FS_JSONRPC_INVALID = 0, /* not a valid message: see rpc_code */
    FS_JSONRPC_REQUEST,
    FS_JSONRPC_NOTIFICATION,
    FS_JSONRPC_RESPONSE,
    FS_JSONRPC_ERROR,
};

/* One parsed message. Every pointer borrows from root, which the struct owns: release with
 * fs_jsonrpc_msg_release (also after a failed parse). */
struct fs_jsonrpc_msg {
    enum fs_jsonrpc_kind kind;
    json_t *root;       /* the whole message, or NULL when the bytes were not JSON */
    json_t *id;         /* a JSON string or integer; NULL for a notification, an error whose id
                           is null, or an invalid message whose id could not be read */
    const char *method; /* request, notification */
    json_t *params;     /* request, notification: an object, or NULL when absent */
    json_t *result;     /* response: an object */
    int64_t error_code; /* error */
    const char *error_message;
    json_t *error_data; /* error: any JSON, or NULL */
    /* Invalid message: the code that answers it (FS_JSONRPC_PARSE_ERROR or
     * FS_JSONRPC_INVALID_REQUEST), and whether it can only have meant to be a response (an
     * object without "method"), so a caller can fail the call waiting for that id instead of
     * replying to it. */
    int rpc_code;
    bool looks_like_response;
};

struct fs_jsonrpc_limits {
    size_t max_bytes; /* 0 = FS_JSONRPC_DEFAULT_MAX_BYTES */
    int max_depth;    /* 0 = FS_JSONRPC_DEFAULT_MAX_DEPTH */
};

/* Parse len bytes (one message; surrounding whitespace allowed) into out (zeroed first; lim may
 * be NULL for the defaults). Returns 0 with out->kind set, or a negative code with out->kind ==
 * FS_JSONRPC_INVALID, out->rpc_code set, and err saying what is wrong (the message quotes no
 * input bytes but a method name cut to 64 bytes, so it is safe to log once sanitized):
 *   -FS_E_TOO_LARGE    more than max_bytes                            (rpc_code -32600)
 *   -FS_E_TOO_DEEP     nested deeper than max_depth                   (-32600)
 *   -FS_E_INVALID_JSON, -FS_E_INVALID_UTF8   not JSON                  (-32700)
 *   -FS_E_PROTOCOL     JSON but not a JSON-RPC 2.0 message: an array (a batch: refused since
 *                      2025-06-18), not an object, "jsonrpc" not "2.0", an id that is null (in a
 *                      request), a number with a fraction, a boolean, ..., a method that is not
 *                      a non-empty string, params not an object, both result and error, an
 *                      error without an integer code or a string message      (-32600)
 *   -FS_E_NOMEM
 * When the message is invalid but its id could be read, out->id is set. */
int fs_jsonrpc_parse(const char *buf, size_t len, const struct fs_jsonrpc_limits *lim,
                     struct fs_jsonrpc_msg *out, struct fs_err *err);

/* Free what out holds and zero it. NULL is a no-op. */
void fs_jsonrpc_msg_release(struct fs_jsonrpc_msg *m);

/* Is v a valid id (a string of at most FS_JSONRPC_MAX_STRING_ID bytes, or an integer)? */
bool fs_jsonrpc_id_valid(const json_t *v);
/* Same kind and same value (1 and "1" differ). */
bool fs_jsonrpc_id_equal(const json_t *a, const json_t *b);

/* Builders: a new message object, or NULL when out of memory or an argument is invalid (id not
 * a valid id, empty method, params or result not an object). params, result and data are
 * stolen (decref'd on failure too) and may be NULL: params left out; result {} ; data left out.
 * id is copied. fs_jsonrpc_error takes a NULL id for "id": null (the request's id was not
 * readable). */
json_t *fs_jsonrpc_request(const json_t *id, const char *method, json_t *params);
json_t *fs_jsonrpc_notification(const char *method, json_t *params);
json_t *fs_jsonrpc_result(const json_t *id, json_t *result);
json_t *fs_jsonrpc_error(const json_t *id, int64_t code, const char *message, json_t *data);

/* The compact UTF-8 text of a message on one line (newlines inside strings are escaped, so the
 * text never contains '\n'), without a trailing newline. Caller frees with free(); NULL when
 * out of memory. *len may be NULL. */
char *fs_jsonrpc_encode(const json_t *msg, size_t *len);

#endif
