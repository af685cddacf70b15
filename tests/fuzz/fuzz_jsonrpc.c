/* fuzz_jsonrpc: libFuzzer target for the MCP client's receive path (src/mcp): JSON-RPC framing
 * and the message dispatch. The input is read three ways, as the transports would: as one
 * message, as stdio lines (fed in small chunks) and as a Server-Sent Events stream (same); every
 * message so found goes through fs_mcp_dispatch against a table of waiting calls. Checked:
 * a parse gives a consistent message of one of the four kinds or an invalid one with -32700 /
 * -32600 and an error code that matches; an id, when kept, is a string or an integer; a reply
 * goes only to a request (ping → result {}, anything else → -32601) or to an invalid message
 * with an id, is one line, and reads back as a response to the same id; at most one waiting
 * call is completed, the one with the answer's id, once; framed lines and events respect their
 * caps — never a crash, a leak or undefined behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "mcp/client.h"
#include "mcp/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSLOTS 6
#define LINE_MAX_BYTES 4096
#define SSE_MAX_BYTES 4096

static const struct fs_jsonrpc_limits lim = {.max_bytes = 1 << 20, .max_depth = 32};

static void check_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            abort();
}

static void check_msg(int rc, const struct fs_jsonrpc_msg *m, const struct fs_err *e)
{
    if (m->id && !fs_jsonrpc_id_valid(m->id))
        abort();
    if (rc < 0) {
        if (m->kind != FS_JSONRPC_INVALID || rc != -(int)e->code ||
            (m->rpc_code != FS_JSONRPC_PARSE_ERROR && m->rpc_code != FS_JSONRPC_INVALID_REQUEST))
            abort();
        check_text(e->msg);
        return;
    }
    switch (m->kind) {
    case FS_JSONRPC_REQUEST:
        if (!m->id || !m->method || !*m->method || (m->params && !json_is_object(m->params)))
            abort();
        break;
    case FS_JSONRPC_NOTIFICATION:
        if (m->id || !m->method || !*m->method)
            abort();
        break;
    case FS_JSONRPC_RESPONSE:
        if (!m->id || !json_is_object(m->result) || m->method)
            abort();
        break;
    case FS_JSONRPC_ERROR:
        if (!m->error_message || m->method || m->result)
            abort();
        break;
    default: abort();
    }
}

/* The reply must be one line that reads back as an answer to the same id. */
static void check_reply(const struct fs_jsonrpc_msg *m, const struct fs_mcp_route *r)
{
    size_t len;
    char *s = fs_jsonrpc_encode(r->reply, &len);
    if (!s || memchr(s, '\n', len))
        abort();
    struct fs_jsonrpc_msg back;
    if (fs_jsonrpc_parse(s, len, NULL, &back, NULL) < 0 || !fs_jsonrpc_id_equal(back.id, m->id))
        abort();
    if (m->kind == FS_JSONRPC_REQUEST) {
        bool ping = !strcmp(m->method, "ping");
        if (ping && (back.kind != FS_JSONRPC_RESPONSE || json_object_size(back.result) != 0))
            abort();
        if (!ping && (back.kind != FS_JSONRPC_ERROR || back.error_code != -32601))
            abort();
    } else if (m->kind != FS_JSONRPC_INVALID || m->looks_like_response ||
               back.kind != FS_JSONRPC_ERROR || back.error_code != m->rpc_code) {
        abort();
    }
    fs_jsonrpc_msg_release(&back);
    free(s);
}

static void one_message(const char *buf, size_t len, struct fs_mcp_slot *slots)
{
    struct fs_jsonrpc_msg m;
    struct fs_err e = {0};
    int rc = fs_jsonrpc_parse(buf, len, &lim, &m, &e);
    check_msg(rc, &m, &e);
    struct fs_mcp_route r;
    if (fs_mcp_route(&m, &r) == 0) {
        if ((r.kind == FS_MCP_ROUTE_REPLY) != (r.reply != NULL))
            abort();
        if (r.reply)
            check_reply(&m, &r);
        if (r.kind == FS_MCP_ROUTE_RESPONSE &&
            !(m.kind == FS_JSONRPC_RESPONSE || m.kind == FS_JSONRPC_ERROR))
            abort();
        if (r.kind == FS_MCP_ROUTE_BAD_RESPONSE && m.kind != FS_JSONRPC_INVALID)
            abort();
        if ((r.kind == FS_MCP_ROUTE_TOOLS_CHANGED || r.kind == FS_MCP_ROUTE_LOG) &&
            m.kind != FS_JSONRPC_NOTIFICATION)
            abort();
        fs_mcp_route_release(&r);
    }
    fs_jsonrpc_msg_release(&m);

    /* the same bytes through dispatch: at most one waiting slot completes, the right one */
    struct fs_mcp_slot before[NSLOTS];
    memcpy(before, slots, sizeof(before));
    struct fs_mcp_slot *done = NULL;
    if (fs_mcp_dispatch(slots, buf, len, &lim, &r, &done) < 0)
        return;
    for (int i = 0; i < NSLOTS; i++) {
        struct fs_mcp_slot *s = &slots[i];
        if (s != done) {
            if (s->done != before[i].done || s->result != before[i].result)
                abort();
            continue;
        }
        if (before[i].done || !s->done || s->id != r.call_id ||
            (r.kind != FS_MCP_ROUTE_RESPONSE && r.kind != FS_MCP_ROUTE_BAD_RESPONSE))
            abort();
        if (s->rc == 0 ? !json_is_object(s->result) : (s->result || s->rc != -FS_E_PROTOCOL))
            abort();
        check_text(s->message);
        json_decref(s->result);
        s->result = NULL;
    }
    fs_mcp_route_release(&r);
}

struct feed {
    struct fs_mcp_slot *slots;
    size_t max;
};

static int on_line(void *arg, const char *line, size_t len)
{
    struct feed *f = arg;
    if (len == 0 || len > f->max || memchr(line, '\n', len))
        abort();
    one_message(line, len, f->slots);
    return 0;
}

static int on_event(void *arg, const struct fs_sse_event *ev)
{
    struct feed *f = arg;
    if (!ev->type || !*ev->type || ev->len > f->max || ev->data[ev->len] != '\0')
        abort();
    check_text(ev->id);
    if (ev->len)
        one_message(ev->data, ev->len, f->slots);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct fs_mcp_slot slots[NSLOTS];
    memset(slots, 0, sizeof(slots));
    /* waiting calls 0..5 (the ids the corpus answers), one already given up on */
    for (int i = 0; i < NSLOTS; i++) {
        slots[i].id = i;
        slots[i].next = i + 1 < NSLOTS ? &slots[i + 1] : NULL;
    }
    slots[4].done = true;

    one_message(buf, size, slots);

    size_t chunk = size % 7 + 1;
    struct feed f = {slots, LINE_MAX_BYTES};
    struct fs_mcp_lines lines;
    fs_mcp_lines_init(&lines, LINE_MAX_BYTES);
    for (size_t off = 0; off < size; off += chunk) {
        int rc = fs_mcp_lines_feed(&lines, buf + off, FS_MIN(chunk, size - off), on_line, &f);
        if (rc != 0 && rc != -FS_E_TOO_LARGE)
            abort();
    }
    fs_mcp_lines_release(&lines);

    struct fs_sse sse;
    fs_sse_init(&sse, SSE_MAX_BYTES);
    f.max = SSE_MAX_BYTES;
    for (size_t off = 0; off < size; off += chunk) {
        int rc = fs_sse_feed(&sse, buf + off, FS_MIN(chunk, size - off), on_event, &f);
        if (rc == -FS_E_TOO_LARGE)
            break;
        if (rc != 0)
            abort();
    }
    fs_sse_release(&sse);
    for (int i = 0; i < NSLOTS; i++)
        json_decref(slots[i].result);
    return 0;
}
