/* llm_openai: OpenAI-compatible Chat Completions (POST /v1/chat/completions; vLLM, llama.cpp
 * server, Ollama's /v1, OpenAI itself) — the neutral conversation as chat messages (a system
 * message, assistant tool_calls with JSON-string arguments, one "tool" message per result) and
 * the first choice parsed back. Arguments that are not a JSON object become input {} with
 * "input_error" (llm.h); tool calls count whatever finish_reason says. tool_choice "auto" is
 * sent with the tools unless configured off or the endpoint is Ollama's port (it does not
 * support the field). The renderer and parser are pure; llm.c does the exchange. */
#include "core/common.h"

#include <stdlib.h>

#include "core/json.h"
#include "core/redact.h"
#include "llm/llm_int.h"

#define WHO "openai"

/* text blocks of a turn, joined by newlines; NULL when none (or out of memory: *oom) */
static char *joined_text(const json_t *content, bool *oom)
{
    struct fs_buf b = FS_BUF_INIT(0);
    size_t i;
    const json_t *blk;
    int rc = 0;
    json_array_foreach(content, i, blk)
    {
        const char *t = fs_streq(json_string_value(json_object_get(blk, "type")), "text")
                            ? json_string_value(json_object_get(blk, "text"))
                            : NULL;
        if (t && rc == 0)
            rc = fs_buf_printf(&b, "%s%s", b.len ? "\n" : "", t);
    }
    *oom = rc < 0;
    if (rc < 0 || !b.len) {
        fs_buf_release(&b);
        return NULL;
    }
    return fs_buf_detach(&b, NULL);
}

static json_t *function_tool(json_t *fn)
{
    return json_pack("{s:s s:o}", "type", "function", "function", fn);
}

json_t *fs_llm_function_tools(const json_t *tools)
{
    return fs_llm_tool_defs(tools, "parameters", NULL, function_tool);
}

static bool ollama_port(const char *url)
{
    const char *p = url ? strstr(url, ":11434") : NULL;
    return p && (p[6] == '\0' || p[6] == '/');
}

static int render_turn(const json_t *tools, const json_t *turns, size_t ti, json_t *msgs)
{
    const json_t *turn = json_array_get(turns, ti);
    bool user = fs_streq(json_string_value(json_object_get(turn, "role")), "user"), oom = false;
    const json_t *content = json_object_get(turn, "content"), *b;
    size_t i;
    char *text = joined_text(content, &oom);
    if (oom)
        return -FS_E_NOMEM;
    int rc = 0;
    if (user) {
        json_array_foreach(content, i, b)
        {
            if (rc < 0 || !fs_streq(json_string_value(json_object_get(b, "type")), "tool_result"))
                continue;
            char *r = fs_llm_result_text(json_object_get(b, "content"));
            bool bad = json_is_true(json_object_get(b, "is_error"));
            struct fs_buf t = FS_BUF_INIT(0);
            /* Chat Completions has no error flag on a tool message: say it in the text */
            rc = r ? fs_buf_printf(&t, "%s%s", bad ? "ERROR: " : "", r) : -FS_E_NOMEM;
            if (rc == 0 && json_array_append_new(msgs, json_pack("{s:s s:O s:s}", "role", "tool",
                                                                 "tool_call_id",
                                                                 json_object_get(b, "tool_use_id"),
                                                                 "content", fs_buf_str(&t))) < 0)
                rc = -FS_E_NOMEM;
            fs_buf_release(&t);
            free(r);
        }
        if (rc == 0 && text &&
            json_array_append_new(msgs, json_pack("{s:s s:s}", "role", "user", "content", text)) <
                0)
            rc = -FS_E_NOMEM;
        free(text);
        return rc;
    }
    json_t *calls = json_array();
    rc = calls ? 0 : -FS_E_NOMEM;
    json_array_foreach(content, i, b)
    {
        if (rc < 0 || !fs_streq(json_string_value(json_object_get(b, "type")), "tool_use"))
            continue;
        char name[72];
        fs_llm_tool_name_map(tools, json_string_value(json_object_get(b, "name")), name,
                             sizeof(name));
        json_t *in = json_object_get(b, "input");
        char *args = in ? json_dumps(in, JSON_COMPACT) : fs_strdup("{}");
        if (!args ||
            json_array_append_new(
                calls, json_pack("{s:O s:s s:{s:s s:s}}", "id", json_object_get(b, "id"), "type",
                                 "function", "function", "name", name, "arguments", args)) < 0)
            rc = -FS_E_NOMEM;
        free(args);
    }
    json_t *m = rc == 0 ? json_pack("{s:s}", "role", "assistant") : NULL;
    if (m && json_object_set_new(m, "content",
                                 text ? json_string(text)
                                      : (json_array_size(calls) ? json_null() : json_string(""))))
        json_decref(m), m = NULL;
    if (m && json_array_size(calls) && json_object_set(m, "tool_calls", calls) < 0)
        json_decref(m), m = NULL;
    if (!m || json_array_append_new(msgs, m) < 0)
        rc = -FS_E_NOMEM;
    json_decref(calls);
    free(text);
    return rc;
}

int fs_llm_openai_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                         json_t **out, struct fs_err *err)
{
    json_t *msgs = fs_llm_chat_messages(rq, render_turn);
    json_t *body = json_pack("{s:s s:I s:b}", "model", cfg->model ? cfg->model : "", "max_tokens",
                             fs_llm_max_tokens(cfg), "stream", 0);
    bool ok = msgs && body;
    if (ok)
        ok = json_object_set(body, "messages", msgs) == 0;
    if (ok && json_array_size(rq->tools) > 0) {
        json_t *tools = fs_llm_function_tools(rq->tools);
        ok = tools && json_object_set_new(body, "tools", tools) == 0;
        if (ok && !cfg->omit_tool_choice && !ollama_port(cfg->base_url))
            ok = json_object_set_new(body, "tool_choice", json_string("auto")) == 0;
    }
    if (ok && cfg->temperature >= 0)
        ok = json_object_set_new(body, "temperature", json_real(cfg->temperature)) == 0;
    json_decref(msgs);
    return fs_llm_render_done(ok, body, out, err);
}

static int prepare(const struct fs_llm *m, struct fs_llm_http *h, struct fs_err *err)
{
    /* base_url may be the server (http://host:8000) or its /v1 (as the OpenAI SDKs take it) */
    size_t n = strlen(m->base_url);
    bool v1 = n >= 3 && !strcmp(m->base_url + n - 3, "/v1");
    int rc = fs_llm_http_url(h, m->base_url, v1 ? "/chat/completions" : "/v1/chat/completions");
    if (rc == 0 && m->cfg.api_key && *m->cfg.api_key)
        rc = fs_llm_http_bearer(h, m->cfg.api_key);
    return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
}

/* finish_reason */
static const struct fs_llm_stop stops[] = {
    {"stop", "end_turn"},     {"tool_calls", "tool_use"},    {"function_call", "tool_use"},
    {"length", "max_tokens"}, {"content_filter", "refusal"},
};

/* message.content: a string, null, or an array of parts ({type: text, text}) */
static int add_content(json_t *out, const json_t *c)
{
    if (json_is_string(c))
        return fs_llm_add_text(out, json_string_value(c));
    size_t i;
    const json_t *part;
    json_array_foreach(c, i, part)
    {
        int rc = fs_llm_add_text(out, json_string_value(json_object_get(part, "text")));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int fs_llm_error_in_body(const char *who, const json_t *doc, struct fs_err *err)
{
    json_t *e = json_object_get(doc, "error");
    const char *msg =
        json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "message"));
    if (!msg)
        return 0;
    char *clean = fs_sanitize_text(msg, strlen(msg), 300, NULL);
    int rc = fs_err_set(err, FS_E_PROTOCOL, NULL, "%s: an error in a 2xx response: %s", who,
                        clean ? clean : "");
    free(clean);
    if (err)
        fs_utf8_cut(err->msg);
    return rc;
}

int fs_llm_openai_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                        struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *doc;
    int rc = fs_llm_parse_body(WHO, body, len, &doc, err);
    if (rc < 0)
        return rc;
    json_t *choice = json_array_get(json_object_get(doc, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        rc = fs_llm_missing(WHO, doc, "choices[0].message", "an object", err);
        json_decref(doc);
        return rc;
    }
    json_t *out = json_array();
    rc = out ? add_content(out, json_object_get(msg, "content")) : -FS_E_NOMEM;
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call)
    {
        if (rc < 0)
            break;
        json_t *fn = json_object_get(call, "function");
        if (!json_is_object(fn))
            continue; /* not a function call: nothing we offered */
        rc = fs_llm_add_tool_use(px, out, json_string_value(json_object_get(call, "id")),
                                 json_string_value(json_object_get(fn, "name")),
                                 json_object_get(fn, "arguments"));
    }
    json_t *legacy = json_object_get(msg, "function_call");
    if (rc == 0 && json_is_object(legacy))
        rc = fs_llm_add_tool_use(px, out, NULL, json_string_value(json_object_get(legacy, "name")),
                                 json_object_get(legacy, "arguments"));
    const char *stop = json_string_value(json_object_get(choice, "finish_reason"));
    rc = fs_llm_take_content(rs, out, rc, fs_llm_stop_map(stops, FS_ARRAY_LEN(stops), stop), err);
    if (rc == 0) {
        json_t *u = json_object_get(doc, "usage");
        rs->input_tokens = fs_llm_tokens(u, "prompt_tokens");
        rs->output_tokens = fs_llm_tokens(u, "completion_tokens");
        fs_llm_set_model(rs, json_string_value(json_object_get(doc, "model")), px->model);
    }
    json_decref(doc);
    return rc;
}

const struct fs_llm_ops fs_llm_openai_ops = {
    .render = fs_llm_openai_render,
    .prepare = prepare,
    .parse = fs_llm_openai_parse,
};
