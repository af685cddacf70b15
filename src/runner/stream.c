/* stream: Claude Code's --output-format stream-json read as untrusted bytes — one JSON object
 * per line (system init, assistant and user messages, the final result) folded into what the
 * runner records: the agent's text, its tool calls with their results, the proposals the
 * gateway named, the turn count and the result. Every kept text is sanitized and
 * capped, every list bounded; nothing here runs or decides anything. Fuzzed
 * (tests/fuzz/fuzz_runner_stream.c). */
#include "core/common.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/redact.h"
#include "runner/runner.h"

#define MAX_DEPTH 64
#define MAX_ENTRIES 256      /* reasoning blocks, calls, proposals */
#define MAX_TEXT 4096        /* one reasoning block */
#define MAX_RESULT_SHOWN 600 /* of a tool's result, in the record */
#define MAX_FINAL 8192       /* the result's text */
#define MAX_INPUT 4096       /* a call's input, as JSON text */
#define PREFIX "mcp__" FS_RUNNER_SERVER "__"

int fs_runner_stream_init(struct fs_runner_stream *s)
{
    const json_t *tools = s->tools;
    fs_trace_fn trace = s->trace;
    void *arg = s->trace_arg;
    memset(s, 0, sizeof(*s));
    s->tools = tools;
    s->trace = trace;
    s->trace_arg = arg;
    s->reasoning = json_array();
    s->calls = json_array();
    s->proposals = json_array();
    if (!s->reasoning || !s->calls || !s->proposals) {
        fs_runner_stream_release(s);
        return -FS_E_NOMEM;
    }
    return 0;
}

void fs_runner_stream_release(struct fs_runner_stream *s)
{
    json_decref(s->reasoning);
    json_decref(s->calls);
    json_decref(s->proposals);
    free(s->result_text);
    s->reasoning = s->calls = s->proposals = NULL;
    s->result_text = NULL;
}

/* ---- tool names -------------------------------------------------------------------------- */

static char claude_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' ? c : '_';
}

void fs_runner_claude_tool_name(const char *name, char *out, size_t size)
{
    if (!size)
        return;
    size_t n = (size_t)snprintf(out, size, "%s", PREFIX);
    for (const char *c = name ? name : ""; *c && n + 1 < size; c++)
        out[n++] = claude_char(*c);
    if (n < size)
        out[n] = '\0';
}

void fs_runner_tool_name(const char *claude_name, const json_t *tools, char *out, size_t size)
{
    if (!size)
        return;
    const char *rest = claude_name ? claude_name : "";
    if (!strncmp(rest, PREFIX, strlen(PREFIX)))
        rest += strlen(PREFIX);
    else {
        fs_strlcpy(out, rest, size);
        return;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *name = json_string_value(t);
        if (!name || strlen(name) != strlen(rest))
            continue;
        size_t k = 0;
        while (name[k] && claude_char(name[k]) == rest[k])
            k++;
        if (!name[k]) {
            fs_strlcpy(out, name, size);
            return;
        }
    }
    fs_strlcpy(out, rest, size);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void copy_field(char *dst, size_t size, const char *src)
{
    dst[0] = '\0';
    if (!src)
        return;
    size_t n = 0;
    for (const char *c = src; *c && n + 1 < size; c++)
        dst[n++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '_' : *c;
    dst[n] = '\0';
    fs_utf8_cut(dst);
}

static void trace(struct fs_runner_stream *s, const char *kind, const char *text, const json_t *d)
{
    if (s->trace)
        s->trace(s->trace_arg, kind, text, d);
}

/* Text of a tool_result's content: a string, or the text blocks of an array. */
static int result_text(const json_t *content, struct fs_buf *b)
{
    if (json_is_string(content))
        return fs_buf_append(b, json_string_value(content), json_string_length(content));
    size_t i;
    json_t *blk;
    json_array_foreach(content, i, blk)
    {
        json_t *t = json_object_get(blk, "text");
        if (!json_is_string(t))
            continue;
        int rc = (b->len ? fs_buf_putc(b, '\n') : 0);
        if (rc == 0)
            rc = fs_buf_append(b, json_string_value(t), json_string_length(t));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The first "<prefix>N" in text as "<prefix>N" (N digits only), or "" */
static void find_id(const char *text, const char *prefix, char out[32])
{
    out[0] = '\0';
    size_t pl = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)); p += pl) {
        const char *d = p + pl;
        size_t n = 0;
        while (isdigit((unsigned char)d[n]) && n < 18)
            n++;
        if (n && !isdigit((unsigned char)d[n])) {
            snprintf(out, 32, "%s%.*s", prefix, (int)n, d);
            return;
        }
    }
}

static bool has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (fs_streq(json_string_value(v), s)) return true;
    return false;
}

/* ---- one message ----------------------------------------------------------------------- */

static int on_text(struct fs_runner_stream *s, const char *text, size_t len)
{
    if (json_array_size(s->reasoning) >= MAX_ENTRIES)
        return 0;
    char *clean = fs_sanitize_text(text, len, MAX_TEXT, NULL);
    if (!clean)
        return -FS_E_NOMEM;
    int rc = 0;
    if (*clean) {
        rc = json_array_append_new(s->reasoning, json_string(clean)) ? -FS_E_NOMEM : 0;
        trace(s, "reasoning", clean, NULL);
    }
    free(clean);
    return rc;
}

static int on_tool_use(struct fs_runner_stream *s, const json_t *blk)
{
    if (json_array_size(s->calls) >= MAX_ENTRIES)
        return 0;
    char id[96], tool[160];
    copy_field(id, sizeof(id), json_string_value(json_object_get(blk, "id")));
    char raw[160];
    copy_field(raw, sizeof(raw), json_string_value(json_object_get(blk, "name")));
    fs_runner_tool_name(raw, s->tools, tool, sizeof(tool));
    json_t *input = json_object_get(blk, "input");
    json_t *in = json_is_object(input) ? json_deep_copy(input) : json_object();
    if (!in)
        return -FS_E_NOMEM;
    fs_redact_json(in, NULL);
    char *text = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text || strlen(text) > MAX_INPUT) {
        json_decref(in);
        in = json_pack("{s:b}", "truncated", 1); /* a call's input is kept only when small */
    }
    char *clean = text ? fs_sanitize_text(text, strlen(text), 400, NULL) : NULL;
    free(text);
    json_t *call = in ? json_pack("{s:s,s:s,s:o}", "id", id, "tool", tool, "input", in) : NULL;
    if (!call || json_array_append_new(s->calls, call) < 0) {
        free(clean);
        return -FS_E_NOMEM;
    }
    char line[700];
    snprintf(line, sizeof(line), "%s %s", tool, clean ? clean : "{}");
    fs_utf8_cut(line);
    free(clean);
    trace(s, "call", line, NULL);
    return 0;
}

static int on_tool_result(struct fs_runner_stream *s, const json_t *blk)
{
    const char *id = json_string_value(json_object_get(blk, "tool_use_id"));
    json_t *call = NULL, *c;
    size_t i;
    json_array_foreach(s->calls, i, c)
    {
        if (id && fs_streq(json_string_value(json_object_get(c, "id")), id) &&
            !json_object_get(c, "result"))
            call = c;
    }
    if (!call)
        return 0; /* a result of a call this did not keep */
    struct fs_buf b = FS_BUF_INIT(1u << 20);
    int rc = result_text(json_object_get(blk, "content"), &b);
    if (rc == -FS_E_NOMEM) {
        fs_buf_release(&b);
        return rc;
    }
    char *clean = fs_sanitize_text(fs_buf_str(&b), b.len, MAX_RESULT_SHOWN, NULL);
    fs_buf_release(&b);
    if (!clean)
        return -FS_E_NOMEM;
    bool is_error = json_is_true(json_object_get(blk, "is_error"));
    const char *tool = json_string_value(json_object_get(call, "tool"));
    /* what the gateway recorded is in the store; only the proposal's id is taken from here */
    char prop[32];
    find_id(clean, "prop-", prop);
    if (!strncmp(tool ? tool : "", "action.", 7) && prop[0] && !has_string(s->proposals, prop) &&
        json_array_size(s->proposals) < MAX_ENTRIES)
        rc = json_array_append_new(s->proposals, json_string(prop));
    if (rc == 0)
        rc = json_object_set_new(call, "result", json_string(clean)) |
             json_object_set_new(call, "isError", json_boolean(is_error));
    if (rc == 0) {
        char line[800];
        snprintf(line, sizeof(line), "%s%s: %.500s", is_error ? "error from " : "",
                 tool ? tool : "?", clean);
        fs_utf8_cut(line);
        trace(s, "result", line, NULL);
    }
    free(clean);
    return rc ? -FS_E_NOMEM : 0;
}

static int on_message(struct fs_runner_stream *s, const json_t *msg, bool assistant)
{
    if (assistant) {
        /* Claude Code writes one line per content block of a model answer, all with the
         * answer's id: a new id is a new turn */
        const char *mid = json_string_value(json_object_get(msg, "id"));
        char id[128];
        copy_field(id, sizeof(id), mid ? mid : "");
        if (!mid || strcmp(id, s->last_message_id) != 0) {
            s->turns++;
            fs_strlcpy(s->last_message_id, id, sizeof(s->last_message_id));
        }
        const char *model = json_string_value(json_object_get(msg, "model"));
        if (model && !s->model[0])
            copy_field(s->model, sizeof(s->model), model);
    }
    json_t *content = json_object_get(msg, "content");
    if (json_is_string(content) && assistant)
        return on_text(s, json_string_value(content), json_string_length(content));
    size_t i;
    json_t *blk;
    json_array_foreach(content, i, blk)
    {
        const char *type = json_string_value(json_object_get(blk, "type"));
        json_t *text = json_object_get(blk, "text");
        int rc = 0;
        if (assistant && fs_streq(type, "text") && json_is_string(text))
            rc = on_text(s, json_string_value(text), json_string_length(text));
        else if (assistant && fs_streq(type, "tool_use"))
            rc = on_tool_use(s, blk);
        else if (!assistant && fs_streq(type, "tool_result"))
            rc = on_tool_result(s, blk);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int on_result(struct fs_runner_stream *s, const json_t *o)
{
    s->has_result = true;
    s->is_error = json_is_true(json_object_get(o, "is_error"));
    copy_field(s->subtype, sizeof(s->subtype), json_string_value(json_object_get(o, "subtype")));
    json_t *v;
    if (json_is_integer(v = json_object_get(o, "num_turns")) && json_integer_value(v) >= 0 &&
        json_integer_value(v) < 1000000)
        s->num_turns = (int)json_integer_value(v);
    if (json_is_number(v = json_object_get(o, "total_cost_usd")) && json_number_value(v) >= 0 &&
        json_number_value(v) < 1e9)
        s->cost_usd = json_number_value(v);
    if (json_is_integer(v = json_object_get(o, "duration_ms")) && json_integer_value(v) >= 0)
        s->duration_ms = json_integer_value(v);
    if (json_is_integer(v = json_object_get(o, "duration_api_ms")) && json_integer_value(v) >= 0)
        s->duration_api_ms = json_integer_value(v);
    json_t *text = json_object_get(o, "result");
    free(s->result_text);
    s->result_text = NULL;
    if (json_is_string(text)) {
        s->result_text =
            fs_sanitize_text(json_string_value(text), json_string_length(text), MAX_FINAL, NULL);
        if (!s->result_text)
            return -FS_E_NOMEM;
    }
    char line[200];
    snprintf(line, sizeof(line), "claude code finished: %s%s, %d turns, %.4f USD, %" PRId64 " ms",
             s->subtype[0] ? s->subtype : "?", s->is_error ? " (error)" : "", s->num_turns,
             s->cost_usd, s->duration_ms);
    trace(s, "reasoning", line, NULL);
    return 0;
}

static void on_init(struct fs_runner_stream *s, const json_t *o)
{
    copy_field(s->session_id, sizeof(s->session_id),
               json_string_value(json_object_get(o, "session_id")));
    const char *model = json_string_value(json_object_get(o, "model"));
    if (model)
        copy_field(s->model, sizeof(s->model), model);
    size_t i;
    json_t *srv;
    json_array_foreach(json_object_get(o, "mcp_servers"), i, srv)
    {
        if (fs_streq(json_string_value(json_object_get(srv, "name")), FS_RUNNER_SERVER))
            copy_field(s->gateway_status, sizeof(s->gateway_status),
                       json_string_value(json_object_get(srv, "status")));
    }
    if (s->gateway_status[0] && strcmp(s->gateway_status, "connected") != 0) {
        char line[120];
        snprintf(line, sizeof(line), "the gateway is not connected: %s", s->gateway_status);
        trace(s, "reasoning", line, NULL);
    }
}

int fs_runner_stream_line(struct fs_runner_stream *s, const char *line, size_t len,
                          struct fs_err *err)
{
    s->lines++;
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (!len)
        return 0;
    json_t *o = NULL;
    struct fs_err pe = {0};
    int rc = fs_json_parse(line, len, MAX_DEPTH, &o, &pe);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0 || !json_is_object(o)) {
        json_decref(o);
        s->bad_lines++;
        return 0;
    }
    const char *type = json_string_value(json_object_get(o, "type"));
    json_t *msg = json_object_get(o, "message");
    rc = 0;
    if (fs_streq(type, "system") &&
        fs_streq(json_string_value(json_object_get(o, "subtype")), "init"))
        on_init(s, o);
    else if (fs_streq(type, "assistant") && json_is_object(msg))
        rc = on_message(s, msg, true);
    else if (fs_streq(type, "user") && json_is_object(msg))
        rc = on_message(s, msg, false);
    else if (fs_streq(type, "result"))
        rc = on_result(s, o);
    json_decref(o);
    return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
}
