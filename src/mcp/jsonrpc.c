/* jsonrpc: JSON-RPC 2.0 framing for MCP — fs_jsonrpc_parse (one message of outside bytes →
 * bounded parse → shape check → request / notification / response / error, the id kept as
 * sent) and the builders and encoder for the messages forestall sends. Knows nothing about
 * transports, MCP methods or calls in flight; does no I/O. */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "mcp/jsonrpc.h"

const char *fs_jsonrpc_code_name(int64_t code)
{
    switch (code) {
#define FS_JSONRPC_NAME(e, v, name)                                                                \
    case v: return name;
        FS_JSONRPC_CODES(FS_JSONRPC_NAME)
#undef FS_JSONRPC_NAME
    default: return code >= -32099 && code <= -32000 ? "Server error" : "Error";
    }
}

bool fs_jsonrpc_id_valid(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    return json_is_string(v) && json_string_length(v) <= FS_JSONRPC_MAX_STRING_ID;
}

bool fs_jsonrpc_id_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_string(a) && json_is_string(b))
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    return false;
}

void fs_jsonrpc_msg_release(struct fs_jsonrpc_msg *m)
{
    if (!m)
        return;
    json_decref(m->root);
    memset(m, 0, sizeof(*m));
}

/* Mark out invalid (-32600) and fill err; returns -FS_E_PROTOCOL. */
static int invalid(struct fs_jsonrpc_msg *out, struct fs_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int invalid(struct fs_jsonrpc_msg *out, struct fs_err *err, const char *fmt, ...)
{
    va_list ap;
    out->kind = FS_JSONRPC_INVALID;
    out->rpc_code = FS_JSONRPC_INVALID_REQUEST;
    out->method = NULL;
    out->params = out->result = out->error_data = NULL;
    out->error_message = NULL;
    out->error_code = 0;
    va_start(ap, fmt);
    int rc = fs_err_vset(err, FS_E_PROTOCOL, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

/* A method name safe to quote in a message: at most 64 bytes of printable ASCII. */
static void quote_method(const char *m, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = m; *p && n + 1 < size && n < 64; p++)
        out[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    out[n] = '\0';
}

int fs_jsonrpc_parse(const char *buf, size_t len, const struct fs_jsonrpc_limits *lim,
                     struct fs_jsonrpc_msg *out, struct fs_err *err)
{
    size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : FS_JSONRPC_DEFAULT_MAX_BYTES;
    int max_depth = lim && lim->max_depth > 0 ? lim->max_depth : FS_JSONRPC_DEFAULT_MAX_DEPTH;
    struct fs_err perr = {0};
    json_t *root = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > max_bytes) {
        out->rpc_code = FS_JSONRPC_INVALID_REQUEST;
        return fs_err_set(err, FS_E_TOO_LARGE, NULL,
                          "JSON-RPC message of %zu bytes is larger than the limit of %zu", len,
                          max_bytes);
    }
    rc = fs_json_parse(buf, len, max_depth, &root, &perr);
    if (rc < 0) {
        out->rpc_code = rc == -FS_E_TOO_DEEP || rc == -FS_E_NOMEM ? FS_JSONRPC_INVALID_REQUEST
                                                                  : FS_JSONRPC_PARSE_ERROR;
        if (rc == -FS_E_TOO_DEEP)
            return fs_err_set(err, FS_E_TOO_DEEP, NULL,
                              "JSON-RPC message nested deeper than %d levels", max_depth);
        if (rc == -FS_E_NOMEM)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        /* jansson's text may quote input bytes: say where only */
        return fs_err_set(err, (enum fs_errcode) - rc, NULL, "JSON-RPC message is not valid JSON%s",
                          rc == -FS_E_INVALID_UTF8 ? " (invalid UTF-8)" : "");
    }
    out->root = root;
    if (json_is_array(root))
        return invalid(out, err, "JSON-RPC batches (arrays) are not supported");
    if (!json_is_object(root))
        return invalid(out, err, "a JSON-RPC message must be an object, not %s",
                       fs_json_type_name(root));

    /* the id first, so that an otherwise invalid message can still be answered */
    json_t *id = json_object_get(root, "id");
    if (id && fs_jsonrpc_id_valid(id))
        out->id = id;
    json_t *result = json_object_get(root, "result");
    json_t *error = json_object_get(root, "error");
    json_t *method = json_object_get(root, "method");
    out->looks_like_response = !method; /* only a response may lack a method */

    const char *ver = json_string_value(json_object_get(root, "jsonrpc"));
    if (!ver || strcmp(ver, "2.0") != 0)
        return invalid(out, err, "\"jsonrpc\" must be \"2.0\"");
    if (id && !out->id && !(json_is_null(id) && error && !method))
        return invalid(out, err,
                       "\"id\" must be a string of at most 256 bytes or an integer, not %s",
                       json_is_string(id) ? "a longer string" : fs_json_type_name(id));

    if (method) {
        const char *m = json_string_value(method);
        if (!m || !*m || json_string_length(method) > FS_JSONRPC_MAX_METHOD ||
            strlen(m) != json_string_length(method))
            return invalid(out, err, "\"method\" must be a non-empty string of at most 256 bytes");
        char q[72];
        quote_method(m, q, sizeof(q));
        if (result || error)
            return invalid(out, err, "message %s has both \"method\" and \"result\" or \"error\"",
                           q);
        json_t *params = json_object_get(root, "params");
        if (params && !json_is_object(params))
            return invalid(out, err, "%s: \"params\" must be an object", q);
        out->method = m;
        out->params = params;
        out->kind = out->id ? FS_JSONRPC_REQUEST : FS_JSONRPC_NOTIFICATION;
        return 0;
    }
    if (result && error)
        return invalid(out, err, "a response has both \"result\" and \"error\"");
    if (result) {
        if (!out->id)
            return invalid(out, err, "a response needs a string or integer \"id\"");
        if (!json_is_object(result))
            return invalid(out, err, "\"result\" must be an object, not %s",
                           fs_json_type_name(result));
        out->result = result;
        out->kind = FS_JSONRPC_RESPONSE;
        return 0;
    }
    if (error) {
        json_t *code = json_object_get(error, "code");
        json_t *msg = json_object_get(error, "message");
        if (!json_is_object(error) || !json_is_integer(code) || !json_is_string(msg))
            return invalid(out, err,
                           "\"error\" must be an object with an integer \"code\" and a string "
                           "\"message\"");
        out->error_code = json_integer_value(code);
        out->error_message = json_string_value(msg);
        out->error_data = json_object_get(error, "data");
        out->kind = FS_JSONRPC_ERROR;
        return 0;
    }
    return invalid(out, err, "a JSON-RPC message needs \"method\", \"result\" or \"error\"");
}

/* --- builders ---------------------------------------------------------------------------- */

static json_t *base(void)
{
    json_t *m = json_object();
    if (m && json_object_set_new(m, "jsonrpc", json_string("2.0")) < 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* Set key to a copy of id (or null); 0 or -1. */
static int set_id(json_t *m, const json_t *id)
{
    json_t *copy = id ? json_copy((json_t *)id) : json_null();
    return copy ? json_object_set_new(m, "id", copy) : -1;
}

static json_t *with_method(const json_t *id, const char *method, json_t *params)
{
    json_t *m = NULL;
    if (!method || !*method || strlen(method) > FS_JSONRPC_MAX_METHOD ||
        (params && !json_is_object(params)) || (id && !fs_jsonrpc_id_valid(id)))
        goto fail;
    if (!(m = base()))
        goto fail;
    if ((id && set_id(m, id) < 0) || json_object_set_new(m, "method", json_string(method)) < 0)
        goto fail;
    if (params && json_object_set(m, "params", params) < 0)
        goto fail;
    json_decref(params);
    return m;
fail:
    json_decref(params);
    json_decref(m);
    return NULL;
}

json_t *fs_jsonrpc_request(const json_t *id, const char *method, json_t *params)
{
    if (!id) {
        json_decref(params);
        return NULL;
    }
    return with_method(id, method, params);
}

json_t *fs_jsonrpc_notification(const char *method, json_t *params)
{
    return with_method(NULL, method, params);
}

json_t *fs_jsonrpc_result(const json_t *id, json_t *result)
{
    json_t *m = NULL;
    if (!result)
        result = json_object();
    if (!result || !json_is_object(result) || !fs_jsonrpc_id_valid(id) || !(m = base()) ||
        set_id(m, id) < 0 || json_object_set(m, "result", result) < 0) {
        json_decref(result);
        json_decref(m);
        return NULL;
    }
    json_decref(result);
    return m;
}

json_t *fs_jsonrpc_error(const json_t *id, int64_t code, const char *message, json_t *data)
{
    json_t *m = NULL, *e = NULL;
    if ((id && !fs_jsonrpc_id_valid(id)) || !(m = base()) || set_id(m, id) < 0 ||
        !(e = json_object()) || json_object_set_new(e, "code", json_integer(code)) < 0 ||
        json_object_set_new(e, "message",
                            json_string(message ? message : fs_jsonrpc_code_name(code))) < 0 ||
        (data && json_object_set(e, "data", data) < 0) || json_object_set(m, "error", e) < 0) {
        json_decref(data);
        json_decref(e);
        json_decref(m);
        return NULL;
    }
    json_decref(data);
    json_decref(e);
    return m;
}

char *fs_jsonrpc_encode(const json_t *msg, size_t *len)
{
    char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (s && len)
        *len = strlen(s);
    return s;
}
